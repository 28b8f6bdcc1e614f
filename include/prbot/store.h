/* store.h: where model artifacts go (file:// now; s3:// later) */
#ifndef PRBOT_STORE_H
#define PRBOT_STORE_H

#include <stddef.h>

#include "prbot/hash.h"

struct pb_store;

/* url: "file://DIR" (relative DIR is taken from the current directory). */
int pb_store_open(struct pb_store **out, const char *url);
void pb_store_free(struct pb_store *s);

struct pb_put_result {
	struct pb_digest digest; /* of the bytes stored */
	int skipped;		 /* same content was already there */
	char *url;		 /* owned: where it is, e.g. file:///abs/path */
	char *path;		 /* owned: local path for file://, else NULL */
};

/*
 * Store the file src under key ("OWNER/REPO/SHA/FILENAME"). The bytes are
 * read once: copied to a temporary name next to the target while MD5 and
 * SHA-256 are computed, fsynced, renamed, and the folder fsynced. When an
 * object with the same size and SHA-256 is already at key, nothing is written
 * and skipped is set (the digest is still computed). A different object at
 * key is replaced atomically.
 */
int pb_store_put(struct pb_put_result *out, struct pb_store *s, const char *key,
		 const char *src);
void pb_put_result_release(struct pb_put_result *r);

/* Write data to path atomically: temp name, write, fsync, rename, fsync dir. */
int pb_write_atomic(const char *path, const void *data, size_t len);

/* mkdir -p */
int pb_mkdirs(const char *path, int mode);

#endif
