/* store_file.c: the file:// artifact store and atomic file writes */
#define _GNU_SOURCE /* mkostemp: the temp file is O_CLOEXEC from birth */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/hash.h"
#include "prbot/store.h"
#include "banned.h"

#define FILE_SCHEME "file://"
/* objects and manifests are read by serving code, often as another user */
#define FILE_MODE 0644
/* sha256sum's format, so `sha256sum -c` works in the folder too */
#define SIDECAR_EXT ".sha256"

struct pb_store {
	char *dir; /* absolute, without a trailing slash */
};

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

/* The folder part of path ("." when there is none); caller frees. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/*
 * A temp file next to path, so the rename is atomic (same file system); a
 * dot name keeps it out of globs. tmp gets its name; *fd is open on it.
 */
static int temp_open(struct pb_buf *tmp, int *fd, const char *path)
{
	const char *slash = strrchr(path, '/');
	int rc;

	if (slash)
		rc = pb_buf_printf(tmp, "%.*s/.%s.tmp.XXXXXX",
				   (int)(slash - path), path, slash + 1);
	else
		rc = pb_buf_printf(tmp, ".%s.tmp.XXXXXX", path);
	if (rc < 0)
		return rc;
	if ((*fd = mkostemp(tmp->ptr, O_CLOEXEC)) < 0)
		return pb_err_set("cannot create a file next to '%s': %s", path,
				  strerror(errno));
	if (fchmod(*fd, FILE_MODE) < 0) {
		rc = pb_err_set("cannot set the mode of '%s': %s", tmp->ptr,
				strerror(errno));
		close(*fd);
		unlink(tmp->ptr);
		*fd = -1;
	}
	return rc;
}

/* fsync fd, close it, rename tmp to path, fsync the folder. */
static int temp_commit(int *fd, const char *tmp, const char *path)
{
	char *dir = NULL;
	int rc = 0;

	if (fsync(*fd) < 0) {
		rc = pb_err_set("cannot sync '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (close(*fd) < 0) {
		*fd = -1;
		rc = pb_err_set("cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	*fd = -1;
	if (rename(tmp, path) < 0) {
		rc = pb_err_set("cannot rename '%s' to '%s': %s", tmp, path,
				strerror(errno));
		goto out;
	}
	if (!(dir = dir_of(path))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	rc = fsync_dir(dir);
out:
	free(dir);
	return rc;
}

/* After a failure: the temp file goes, the final name was never touched. */
static void temp_abandon(int fd, const char *tmp)
{
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
}

static int write_all(int fd, const void *data, size_t len)
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
	struct pb_buf tmp = PB_BUF_INIT;
	int fd = -1, rc, made = 0;

	if ((rc = temp_open(&tmp, &fd, path)) < 0)
		goto out;
	made = 1;
	if (write_all(fd, data, len) < 0) {
		rc = pb_err_set("cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = temp_commit(&fd, tmp.ptr, path);
out:
	if (rc < 0)
		temp_abandon(fd, made ? tmp.ptr : NULL);
	pb_buf_release(&tmp);
	return rc;
}

int pb_store_open(struct pb_store **out, const char *url)
{
	struct pb_store *s = NULL;
	struct pb_buf dir = PB_BUF_INIT;
	char cwd[PATH_MAX];
	const char *p;
	int rc;

	*out = NULL;
	if (strncmp(url, FILE_SCHEME, strlen(FILE_SCHEME)) != 0)
		return pb_err_setc(PB_EINVAL,
				   "store url '%s': unsupported scheme (use "
				   "file://DIR; s3:// comes later)",
				   url);
	p = url + strlen(FILE_SCHEME);
	if (!*p)
		return pb_err_setc(PB_EINVAL,
				   "store url '%s': no folder (use "
				   "file://DIR)",
				   url);
	if (*p != '/') {
		/* resolved now: a later chdir must not move the store */
		if (!getcwd(cwd, sizeof(cwd)))
			return pb_err_set("store url '%s': cannot read the "
					  "current folder: %s",
					  url, strerror(errno));
		if ((rc = pb_buf_printf(&dir, "%s/", cwd)) < 0)
			goto out;
		while (p[0] == '.' && p[1] == '/')
			p += 2;
	}
	if ((rc = pb_buf_puts(&dir, p)) < 0)
		goto out;
	while (dir.len > 1 && dir.ptr[dir.len - 1] == '/')
		dir.ptr[--dir.len] = '\0';
	if (!(s = calloc(1, sizeof(*s)))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	s->dir = pb_buf_detach(&dir);
	*out = s;
out:
	pb_buf_release(&dir);
	return rc;
}

void pb_store_free(struct pb_store *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s);
}

void pb_put_result_release(struct pb_put_result *r)
{
	free(r->url);
	free(r->path);
	r->url = NULL;
	r->path = NULL;
}

/* A key is relative segments: no "", ".", ".." and no leading "/". */
static int key_check(const char *key)
{
	const char *seg = key, *end;
	size_t n;

	if (!*key)
		return pb_err_setc(PB_EINVAL, "store key is empty: expected "
					      "OWNER/REPO/SHA/FILENAME");
	if (*key == '/')
		return pb_err_setc(PB_EINVAL,
				   "store key '%s': must be relative "
				   "(OWNER/REPO/SHA/FILENAME)",
				   key);
	for (;;) {
		end = strchr(seg, '/');
		n = end ? (size_t)(end - seg) : strlen(seg);
		if (n == 0)
			return pb_err_setc(PB_EINVAL,
					   "store key '%s': empty segment",
					   key);
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return pb_err_setc(PB_EINVAL,
					   "store key '%s': '.' and '..' are "
					   "not allowed",
					   key);
		if (!end)
			return 0;
		seg = end + 1;
	}
}

/*
 * The SHA-256 of what is at path, when it is sure: from the sidecar written
 * after it, unless the object changed since; else by hashing it.
 */
static int existing_sha256(char out[65], const char *path, const char *sidecar,
			   const struct stat *obj)
{
	struct pb_digest d;
	struct stat st;
	char text[65];
	ssize_t n;
	int fd;

	out[0] = '\0';
	if ((fd = open(sidecar, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, text, 64);
		if (fstat(fd, &st) == 0 && n == 64 &&
		    (st.st_mtim.tv_sec > obj->st_mtim.tv_sec ||
		     (st.st_mtim.tv_sec == obj->st_mtim.tv_sec &&
		      st.st_mtim.tv_nsec >= obj->st_mtim.tv_nsec))) {
			memcpy(out, text, 64);
			out[64] = '\0';
		}
		close(fd);
		if (out[0])
			return 0;
	}
	if (pb_hash_file(&d, path) < 0)
		return pb_err_prefix(PB_ERROR, "stored object");
	memcpy(out, d.sha256, sizeof(d.sha256));
	return 0;
}

static int sidecar_write(const char *sidecar, const char *name,
			 const char *sha256)
{
	struct pb_buf b = PB_BUF_INIT;
	int rc;

	if ((rc = pb_buf_printf(&b, "%s  %s\n", sha256, name)) < 0)
		return rc;
	rc = pb_write_atomic(sidecar, b.ptr, b.len);
	pb_buf_release(&b);
	return rc;
}

/* Open src for reading: a regular file, or a message naming it. */
static int src_open(int *fd, struct stat *st, const char *src)
{
	if ((*fd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return pb_err_setc(errno == ENOENT ? PB_ENOTFOUND : PB_ERROR,
				   "cannot read '%s': %s", src,
				   strerror(errno));
	if (fstat(*fd, st) < 0)
		return pb_err_set("cannot read '%s': %s", src, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return pb_err_setc(PB_EINVAL, "'%s' is not a regular file",
				   src);
	return 0;
}

/*
 * Is the object at path the same as src? Then out has src's digest. Else
 * src_fd is back at the start for the copy.
 */
static int same_object(int *same, struct pb_digest *out, const char *path,
		       const char *sidecar, int src_fd, const char *src,
		       const struct stat *src_st)
{
	struct stat obj;
	char have[65];
	int rc;

	*same = 0;
	if (stat(path, &obj) < 0 || !S_ISREG(obj.st_mode) ||
	    obj.st_size != src_st->st_size)
		return 0; /* nothing there, or surely different: copy */
	if ((rc = existing_sha256(have, path, sidecar, &obj)) < 0)
		return rc;
	if ((rc = pb_hash_copy(out, src_fd, -1)) < 0)
		return pb_err_prefix(rc, "reading '%s'", src);
	*same = strcmp(have, out->sha256) == 0;
	if (!*same && lseek(src_fd, 0, SEEK_SET) < 0)
		return pb_err_set("cannot read '%s' again: %s", src,
				  strerror(errno));
	return 0;
}

/* Copy src_fd to a temp name in path's folder, hashing, then rename it. */
static int copy_in(struct pb_digest *out, int src_fd, const char *src,
		   const char *path, const char *sidecar, const char *name)
{
	struct pb_buf tmp = PB_BUF_INIT;
	int fd = -1, rc, made = 0;

	if ((rc = temp_open(&tmp, &fd, path)) < 0)
		goto out;
	made = 1;
	if ((rc = pb_hash_copy(out, src_fd, fd)) < 0) {
		rc = pb_err_prefix(rc, "copying '%s' to '%s'", src, path);
		goto out;
	}
	/* no sidecar may vouch for the new object until it is rewritten */
	if (unlink(sidecar) < 0 && errno != ENOENT) {
		rc = pb_err_set("cannot remove '%s': %s", sidecar,
				strerror(errno));
		goto out;
	}
	if ((rc = temp_commit(&fd, tmp.ptr, path)) < 0)
		goto out;
	made = 0;
	rc = sidecar_write(sidecar, name, out->sha256);
out:
	if (rc < 0)
		temp_abandon(fd, made ? tmp.ptr : NULL);
	pb_buf_release(&tmp);
	return rc;
}

int pb_store_put(struct pb_put_result *out, struct pb_store *s, const char *key,
		 const char *src)
{
	struct pb_buf path = PB_BUF_INIT, sidecar = PB_BUF_INIT,
		      url = PB_BUF_INIT;
	const char *name = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
	struct stat st;
	char *dir = NULL;
	int fd = -1, rc, same;

	memset(out, 0, sizeof(*out));
	if ((rc = key_check(key)) < 0)
		return rc;
	if ((rc = pb_buf_printf(&path, "%s/%s", s->dir, key)) < 0 ||
	    (rc = pb_buf_printf(&sidecar, "%s" SIDECAR_EXT, path.ptr)) < 0 ||
	    (rc = pb_buf_printf(&url, FILE_SCHEME "%s", path.ptr)) < 0)
		goto out;
	if (!(dir = dir_of(path.ptr))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	if ((rc = src_open(&fd, &st, src)) < 0 ||
	    (rc = pb_mkdirs(dir, 0755)) < 0 ||
	    (rc = same_object(&same, &out->digest, path.ptr, sidecar.ptr, fd,
			      src, &st)) < 0)
		goto out;
	if (same)
		out->skipped = 1;
	else if ((rc = copy_in(&out->digest, fd, src, path.ptr, sidecar.ptr,
			       name)) < 0)
		goto out;
	out->path = pb_buf_detach(&path);
	out->url = pb_buf_detach(&url);
out:
	if (rc < 0)
		memset(&out->digest, 0, sizeof(out->digest));
	if (fd >= 0)
		close(fd);
	free(dir);
	pb_buf_release(&url);
	pb_buf_release(&sidecar);
	pb_buf_release(&path);
	return rc;
}
