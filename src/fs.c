/* fs.c: folders, and files written whole or not at all */
#define _GNU_SOURCE /* mkostemp: the temp file is O_CLOEXEC from birth */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prbot/err.h"
#include "prbot/fs.h"
#include "banned.h"

/* files written whole are read by serving code, often as another user */
#define FILE_MODE 0644

/* Is path a folder already? A refused mkdir is fine then. */
static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int pb_mkdirs(const char *path, int mode)
{
	struct pb_buf b = PB_BUF_INIT;
	char *p, c;
	int rc, e;

	if (!*path)
		return pb_err_setc(PB_EINVAL, "cannot create a folder with "
					      "an empty name");
	if ((rc = pb_buf_puts(&b, path)) < 0)
		return rc;
	/* each prefix in turn; the last round creates path itself */
	for (p = b.ptr + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(b.ptr, (mode_t)mode) < 0 && (e = errno) &&
		    !is_dir(b.ptr)) {
			rc = pb_err_set("cannot create folder '%s': %s", b.ptr,
					e == EEXIST ? "a file has that name" :
						      strerror(e));
			goto out;
		}
		*p = c;
		if (c == '\0')
			break;
	}
out:
	pb_buf_release(&b);
	return rc;
}

static int fsync_dir(const char *dir)
{
	int fd, rc = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return pb_err_set("cannot open folder '%s': %s", dir,
				  strerror(errno));
	if (fsync(fd) < 0)
		rc = pb_err_set("cannot sync folder '%s': %s", dir,
				strerror(errno));
	close(fd);
	return rc;
}

char *pb_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int pb_tempfile_open(struct pb_tempfile *t, const char *path, int mode)
{
	const char *slash = strrchr(path, '/');
	int rc;

	pb_buf_init(&t->name, 0);
	t->path = path;
	t->fd = -1;
	if (slash)
		rc = pb_buf_printf(&t->name, "%.*s/.%s.tmp.XXXXXX",
				   (int)(slash - path), path, slash + 1);
	else
		rc = pb_buf_printf(&t->name, ".%s.tmp.XXXXXX", path);
	if (rc < 0)
		return rc;
	if ((t->fd = mkostemp(t->name.ptr, O_CLOEXEC)) < 0) {
		rc = pb_err_set("cannot create a file next to '%s': %s", path,
				strerror(errno));
		pb_buf_release(&t->name);
		return rc;
	}
	if (fchmod(t->fd, (mode_t)mode) < 0) {
		rc = pb_err_set("cannot set the mode of '%s': %s", t->name.ptr,
				strerror(errno));
		pb_tempfile_abandon(t);
	}
	return rc;
}

int pb_tempfile_commit(struct pb_tempfile *t)
{
	char *dir = NULL;
	int rc = 0;

	if (fsync(t->fd) < 0) {
		rc = pb_err_set("cannot sync '%s': %s", t->name.ptr,
				strerror(errno));
		goto out;
	}
	rc = close(t->fd);
	t->fd = -1;
	if (rc < 0) {
		rc = pb_err_set("cannot write '%s': %s", t->name.ptr,
				strerror(errno));
		goto out;
	}
	if (rename(t->name.ptr, t->path) < 0) {
		rc = pb_err_set("cannot rename '%s' to '%s': %s", t->name.ptr,
				t->path, strerror(errno));
		goto out;
	}
	pb_buf_release(&t->name); /* renamed: nothing to remove any more */
	if (!(dir = pb_dir_of(t->path))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	rc = fsync_dir(dir);
out:
	free(dir);
	return rc;
}

void pb_tempfile_abandon(struct pb_tempfile *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->name.ptr)
		unlink(t->name.ptr);
	pb_buf_release(&t->name);
}

ssize_t pb_read_full(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int pb_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EIO;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pb_write_atomic(const char *path, const void *data, size_t len)
{
	struct pb_tempfile t;
	int rc;

	if ((rc = pb_tempfile_open(&t, path, FILE_MODE)) < 0)
		return rc;
	if (pb_write_all(t.fd, data, len) < 0)
		rc = pb_err_set("cannot write '%s': %s", path, strerror(errno));
	else
		rc = pb_tempfile_commit(&t);
	pb_tempfile_abandon(&t);
	return rc;
}
