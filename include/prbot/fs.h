/* fs.h: folders and files written whole or not at all */
#ifndef PRBOT_FS_H
#define PRBOT_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "prbot/buf.h"

/* mkdir -p */
int pb_mkdirs(const char *path, int mode);

/* Write data to path atomically: temp name, write, fsync, rename, fsync dir. */
int pb_write_atomic(const char *path, const void *data, size_t len);

/*
 * A temp file next to path (same file system, so the rename is atomic; a
 * dot name keeps it out of globs), opened O_CLOEXEC with the given mode.
 * Commit it (fsync, rename onto path, fsync the folder) or abandon it.
 */
struct pb_tempfile {
	struct pb_buf name;
	const char *path; /* borrowed: the final name */
	int fd;		  /* -1 once closed */
};

int pb_tempfile_open(struct pb_tempfile *t, const char *path, int mode);
int pb_tempfile_commit(struct pb_tempfile *t);
/* After a failure or instead of a commit: the temp file goes. Safe to call
   after a commit, and on a tempfile whose open failed. */
void pb_tempfile_abandon(struct pb_tempfile *t);

/* read(2) until len bytes or end of file: the count, or -1 (errno set) */
ssize_t pb_read_full(int fd, void *buf, size_t len);

/* write(2) until done; -1 with errno set */
int pb_write_all(int fd, const void *data, size_t len);

/* The folder part of path ("." when there is none); caller frees. */
char *pb_dir_of(const char *path);

#endif
