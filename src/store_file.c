/* store_file.c: the file:// artifact store, a folder on this machine */
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
#include "prbot/fs.h"
#include "prbot/hash.h"
#include "store_backend.h"
#include "banned.h"

#define FILE_SCHEME "file://"
/* objects and manifests are read by serving code, often as another user */
#define FILE_MODE 0644
/* sha256sum's format, so `sha256sum -c` works in the folder too */
#define SIDECAR_EXT ".sha256"

struct file_store {
	struct pb_store base;
	char *dir; /* absolute, without a trailing slash */
};

#define FILE_STORE(s) ((struct file_store *)(s))

static int file_open(struct pb_store **out, const struct pb_store_url *u,
		     const struct pb_store_config *c)
{
	struct file_store *s = NULL;
	struct pb_buf dir = PB_BUF_INIT;
	char cwd[PATH_MAX];
	const char *p = u->dir;
	int rc;

	(void)c;
	if (*p != '/') {
		/* resolved now: a later chdir must not move the store */
		if (!getcwd(cwd, sizeof(cwd)))
			return pb_err_set("store url '%s%s': cannot read the "
					  "current folder: %s",
					  FILE_SCHEME, u->dir, strerror(errno));
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
	*out = &s->base;
out:
	pb_buf_release(&dir);
	return rc;
}

static void file_free(struct pb_store *base)
{
	struct file_store *s = FILE_STORE(base);

	free(s->dir);
	free(s);
}

/* The object's path: DIR/KEY */
static char *object_path(const struct pb_store *base, const char *key)
{
	struct pb_buf b = PB_BUF_INIT;

	if (pb_buf_printf(&b, "%s/%s", FILE_STORE(base)->dir, key) < 0)
		return NULL;
	return pb_buf_detach(&b);
}

static char *file_url(const struct pb_store *base, const char *key)
{
	struct pb_buf b = PB_BUF_INIT;

	if (pb_buf_printf(&b, FILE_SCHEME "%s/%s", FILE_STORE(base)->dir, key) <
	    0)
		return NULL;
	return pb_buf_detach(&b);
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
	if ((rc = pb_store_src_changed(src_fd, src_st, out->size, src)) < 0)
		return rc;
	*same = strcmp(have, out->sha256) == 0;
	if (!*same && lseek(src_fd, 0, SEEK_SET) < 0)
		return pb_err_set("cannot read '%s' again: %s", src,
				  strerror(errno));
	return 0;
}

/* Copy src_fd to a temp name in path's folder, hashing, then rename it. */
static int copy_in(struct pb_digest *out, int src_fd, const char *src,
		   const struct stat *src_st, const char *path,
		   const char *sidecar, const char *name)
{
	struct pb_tempfile t;
	int rc;

	if ((rc = pb_tempfile_open(&t, path, FILE_MODE)) < 0)
		return rc;
	if ((rc = pb_hash_copy(out, src_fd, t.fd)) < 0) {
		rc = pb_err_prefix(rc, "copying '%s' to '%s'", src, path);
		goto out;
	}
	if ((rc = pb_store_src_changed(src_fd, src_st, out->size, src)) < 0)
		goto out;
	/* no sidecar may vouch for the new object until it is rewritten */
	if (unlink(sidecar) < 0 && errno != ENOENT) {
		rc = pb_err_set("cannot remove '%s': %s", sidecar,
				strerror(errno));
		goto out;
	}
	if ((rc = pb_tempfile_commit(&t)) < 0)
		goto out;
	rc = sidecar_write(sidecar, name, out->sha256);
out:
	pb_tempfile_abandon(&t);
	return rc;
}

static int file_put(struct pb_put_result *out, struct pb_store *base,
		    const char *key, const char *src)
{
	struct pb_buf sidecar = PB_BUF_INIT;
	const char *name = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
	char *path = object_path(base, key), *dir = NULL;
	struct stat st;
	int fd = -1, rc, same;

	if (!path || !(out->url = file_url(base, key)) ||
	    !(dir = pb_dir_of(path))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	if ((rc = pb_buf_printf(&sidecar, "%s" SIDECAR_EXT, path)) < 0 ||
	    (rc = pb_store_src_open(&fd, &st, src)) < 0 ||
	    (rc = pb_mkdirs(dir, 0755)) < 0 ||
	    (rc = same_object(&same, &out->digest, path, sidecar.ptr, fd, src,
			      &st)) < 0)
		goto out;
	if (same)
		out->skipped = 1;
	else if ((rc = copy_in(&out->digest, fd, src, &st, path, sidecar.ptr,
			       name)) < 0)
		goto out;
	out->path = path;
	path = NULL;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	free(path);
	pb_buf_release(&sidecar);
	return rc;
}

static int file_head(struct pb_store_object *out, struct pb_store *base,
		     const char *key)
{
	struct pb_buf sidecar = PB_BUF_INIT;
	char *path = object_path(base, key);
	struct stat st;
	int rc;

	if (!path)
		return pb_err_set("out of memory");
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = pb_err_setc(PB_ENOTFOUND, "no object at '%s'", path);
		goto out;
	}
	out->size = (uint64_t)st.st_size;
	if ((rc = pb_buf_printf(&sidecar, "%s" SIDECAR_EXT, path)) == 0)
		rc = existing_sha256(out->sha256, path, sidecar.ptr, &st);
out:
	pb_buf_release(&sidecar);
	free(path);
	return rc;
}

static int file_get(struct pb_digest *out, struct pb_store *base,
		    const char *key, const char *dst)
{
	struct pb_tempfile t = { PB_BUF_INIT, NULL, -1 };
	char *path = object_path(base, key);
	struct stat st;
	int fd = -1, rc;

	if (!path)
		return pb_err_set("out of memory");
	if ((rc = pb_store_src_open(&fd, &st, path)) < 0 ||
	    (dst && (rc = pb_tempfile_open(&t, dst, FILE_MODE)) < 0))
		goto out;
	if ((rc = pb_hash_copy(out, fd, t.fd)) < 0) {
		rc = pb_err_prefix(rc, "reading '%s'", path);
		goto out;
	}
	if (dst)
		rc = pb_tempfile_commit(&t);
out:
	pb_tempfile_abandon(&t);
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

const struct pb_store_ops pb_store_file_ops = {
	.name = "file",
	.open = file_open,
	.free = file_free,
	.url = file_url,
	.put = file_put,
	.head = file_head,
	.get = file_get,
};
