/* publish_tree.c: git trees for publish, built from files on disk */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "gitmirror.h"
#include "publish_tree.h"
#include "banned.h"

/* What one walk of the checkout shares. */
struct walk {
	git_repository *repo;
	const char *root;
	struct pb_strlist *files;
	struct pb_buf rel; /* the entry's path below root */
	struct pb_buf dst; /* the entry's path in the serving repository */
};

int pb_strlist_add(struct pb_strlist *l, const char *s)
{
	char *copy;

	if (l->n == l->alloc) {
		size_t alloc = l->alloc ? 2 * l->alloc : 16;
		char **v = realloc(l->v, alloc * sizeof(*v));

		if (!v)
			return pb_err_set("out of memory");
		l->v = v;
		l->alloc = alloc;
	}
	if (!(copy = strdup(s)))
		return pb_err_set("out of memory");
	l->v[l->n++] = copy;
	return 0;
}

void pb_strlist_release(struct pb_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int pb_ptree_norm(char **out, const char *path, const char *what)
{
	struct pb_buf b = PB_BUF_INIT;
	const char *p = path, *end;
	int rc = 0;

	if (*path == '/')
		return pb_err_setc(PB_EINVAL,
				   "%s '%s' is an absolute path (give a path "
				   "relative to the repository)",
				   what, path);
	for (; rc == 0 && *p; p = *end ? end + 1 : end) {
		size_t n;

		end = strchr(p, '/');
		if (!end)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			pb_buf_release(&b);
			return pb_err_setc(PB_EINVAL,
					   "%s '%s' leaves the repository "
					   "(remove '..' from it)",
					   what, path);
		}
		if (b.len > 0)
			rc = pb_buf_putc(&b, '/');
		if (rc == 0)
			rc = pb_buf_add(&b, p, n);
	}
	if (rc < 0)
		return rc;
	*out = pb_buf_detach(&b);
	return 0;
}

/* A file's bytes as a blob, read in pieces (a model file may be large). */
static int blob_from_fd(git_oid *id, git_repository *repo, int fd,
			const char *shown)
{
	git_writestream *ws = NULL;
	char chunk[65536];
	ssize_t n;
	int e;

	if ((e = git_blob_create_from_stream(&ws, repo, NULL)) < 0)
		return pb_err_prefix(pb_git_err(e), "cannot store '%s'", shown);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			ws->free(ws);
			return pb_err_set("cannot read '%s': %s", shown,
					  strerror(e));
		}
		if ((e = ws->write(ws, chunk, (size_t)n)) < 0) {
			ws->free(ws);
			return pb_err_prefix(pb_git_err(e), "cannot store '%s'",
					     shown);
		}
	}
	/* commits and frees the stream */
	if ((e = git_blob_create_from_stream_commit(id, ws)) < 0)
		return pb_err_prefix(pb_git_err(e), "cannot store '%s'", shown);
	return 0;
}

/*
 * A link at rel (below root) pointing at target stays inside root when,
 * read from the link's folder, its ".." parts never climb above root.
 */
static int link_inside(const char *rel, const char *target)
{
	const char *p;
	long depth = 0;

	if (*target == '/' || *target == '\0')
		return 0;
	for (p = rel; *p; p++)
		if (*p == '/')
			depth++;
	for (p = target; *p;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.')
			depth--;
		else if (n > 0 && !(n == 1 && p[0] == '.'))
			depth++;
		if (depth < 0)
			return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return 1;
}

static int link_write(git_oid *id, struct walk *w, int dirfd, const char *name)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	int e;

	if (n < 0)
		return pb_err_set("cannot read link '%s' in '%s': %s",
				  w->rel.ptr, w->root, strerror(errno));
	target[n] = '\0';
	if (!link_inside(w->rel.ptr, target))
		return pb_err_setc(PB_EINVAL,
				   "'%s' in '%s' is a symbolic link to '%s', "
				   "outside the checkout (commit the file "
				   "itself, or leave it out of .prbot.yml's "
				   "deploy.inference)",
				   w->rel.ptr, w->root, target);
	if ((e = git_blob_create_from_buffer(id, w->repo, target, (size_t)n)) <
	    0)
		return pb_err_prefix(pb_git_err(e), "cannot store link '%s'",
				     w->rel.ptr);
	return 0;
}

static int file_write(git_oid *id, struct walk *w, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return pb_err_set("cannot open '%s' in '%s': %s", w->rel.ptr,
				  w->root, strerror(errno));
	rc = blob_from_fd(id, w->repo, fd, w->rel.ptr);
	close(fd);
	return rc;
}

static int entry_write(git_oid *id, git_filemode_t *mode, int *empty,
		       struct walk *w, int dirfd, const char *name);

/* The folder open on fd (taken over and closed) as a tree. */
static int dir_write(git_oid *id, int *empty, struct walk *w, int fd)
{
	git_treebuilder *bld = NULL;
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int e, rc = 0;

	if (!d) {
		rc = pb_err_set("cannot read '%s' in '%s': %s", w->rel.ptr,
				w->root, strerror(errno));
		close(fd);
		return rc;
	}
	if ((e = git_treebuilder_new(&bld, w->repo, NULL)) < 0) {
		rc = pb_err_prefix(pb_git_err(e), "cannot build a tree");
		goto out;
	}
	for (;;) {
		size_t rel_len = w->rel.len, dst_len = w->dst.len;
		git_filemode_t m;
		git_oid child;
		int child_empty = 0;

		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				rc = pb_err_set("cannot read '%s' in '%s': %s",
						w->rel.ptr, w->root,
						strerror(errno));
			break;
		}
		/* git cannot hold a .git entry; a checkout has none anyway */
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, ".git"))
			continue;
		if ((rc = pb_buf_printf(&w->rel, "/%s", de->d_name)) < 0 ||
		    (rc = pb_buf_printf(&w->dst, "/%s", de->d_name)) < 0)
			break;
		rc = entry_write(&child, &m, &child_empty, w, dirfd(d),
				 de->d_name);
		if (rc == 0 && !child_empty &&
		    (e = git_treebuilder_insert(NULL, bld, de->d_name, &child,
						m)) < 0)
			rc = pb_err_prefix(pb_git_err(e), "cannot add '%s'",
					   w->rel.ptr);
		w->rel.len = rel_len;
		w->rel.ptr[rel_len] = '\0';
		w->dst.len = dst_len;
		w->dst.ptr[dst_len] = '\0';
		if (rc < 0)
			break;
	}
	if (rc == 0) {
		*empty = git_treebuilder_entrycount(bld) == 0;
		if (!*empty && (e = git_treebuilder_write(id, bld)) < 0)
			rc = pb_err_prefix(pb_git_err(e), "cannot write tree");
	}
out:
	git_treebuilder_free(bld);
	closedir(d);
	return rc;
}

/* name in dirfd, never following a link; w->rel and w->dst name it. */
static int entry_write(git_oid *id, git_filemode_t *mode, int *empty,
		       struct walk *w, int dirfd, const char *name)
{
	struct stat st;
	int fd, rc;

	*empty = 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return pb_err_setc(errno == ENOENT ? PB_ENOTFOUND : PB_ERROR,
				   "cannot read '%s' in '%s': %s", w->rel.ptr,
				   w->root, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		fd = openat(dirfd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return pb_err_set("cannot open '%s' in '%s': %s",
					  w->rel.ptr, w->root, strerror(errno));
		*mode = GIT_FILEMODE_TREE;
		return dir_write(id, empty, w, fd);
	}
	if (S_ISREG(st.st_mode)) {
		*mode = (st.st_mode & 0111) ? GIT_FILEMODE_BLOB_EXECUTABLE :
					      GIT_FILEMODE_BLOB;
		rc = file_write(id, w, dirfd, name);
	} else if (S_ISLNK(st.st_mode)) {
		*mode = GIT_FILEMODE_LINK;
		rc = link_write(id, w, dirfd, name);
	} else {
		return pb_err_setc(PB_EINVAL,
				   "'%s' in '%s' is not a file, folder or link "
				   "(leave it out of .prbot.yml's "
				   "deploy.inference)",
				   w->rel.ptr, w->root);
	}
	if (rc == 0)
		rc = pb_strlist_add(w->files, w->dst.ptr);
	return rc;
}

/* Open rel's folder below rootfd, one part at a time, following no link. */
static int open_parent(int *out, int rootfd, const char *root, const char *rel)
{
	const char *p = rel, *slash;
	int fd = dup(rootfd), next;
	char part[NAME_MAX + 1];

	if (fd < 0)
		return pb_err_set("cannot open '%s': %s", root,
				  strerror(errno));
	while ((slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);

		if (n > NAME_MAX) {
			close(fd);
			return pb_err_setc(PB_EINVAL, "'%s': name too long",
					   rel);
		}
		memcpy(part, p, n);
		part[n] = '\0';
		next = openat(fd, part,
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			int err = errno;

			close(fd);
			if (err == ENOENT)
				return PB_ENOTFOUND;
			return pb_err_setc(
				PB_EINVAL,
				"inference path '%s' in '%s': '%.*s' "
				"is not a folder (a link is never "
				"followed; fix .prbot.yml's "
				"deploy.inference)",
				rel, root, (int)(slash - rel), rel);
		}
		close(fd);
		fd = next;
		p = slash + 1;
	}
	*out = fd;
	return 0;
}

int pb_ptree_from_disk(git_oid *id, git_filemode_t *mode, int *empty,
		       git_repository *repo, const char *root, const char *rel,
		       const char *dst, struct pb_strlist *files)
{
	struct walk w = { repo, root, files, PB_BUF_INIT, PB_BUF_INIT };
	const char *name = strrchr(rel, '/');
	int rootfd, fd = -1, rc;

	name = name ? name + 1 : rel;
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return pb_err_setc(errno == ENOENT ? PB_ENOTFOUND : PB_ERROR,
				   "cannot open the checkout '%s': %s", root,
				   strerror(errno));
	if ((rc = pb_buf_puts(&w.rel, rel)) < 0 ||
	    (rc = pb_buf_puts(&w.dst, dst)) < 0)
		goto out;
	rc = open_parent(&fd, rootfd, root, rel);
	if (rc == 0)
		rc = entry_write(id, mode, empty, &w, fd, name);
	if (rc == PB_ENOTFOUND)
		rc = pb_err_setc(
			PB_ENOTFOUND,
			"inference path '%s' not found in the "
			"checkout '%s' (commit it, or fix .prbot.yml's "
			"deploy.inference)",
			rel, root);
out:
	if (fd >= 0)
		close(fd);
	close(rootfd);
	pb_buf_release(&w.dst);
	pb_buf_release(&w.rel);
	return rc;
}

static int remove_entry(git_treebuilder *bld, const char *name)
{
	int e;

	if (!git_treebuilder_get(bld, name))
		return 0;
	if ((e = git_treebuilder_remove(bld, name)) < 0)
		return pb_err_prefix(pb_git_err(e), "cannot remove '%s'", name);
	return 0;
}

static int put_in(git_oid *out, int *empty, git_repository *repo,
		  git_tree *base, const char *path, const git_oid *id,
		  git_filemode_t mode)
{
	const char *slash = strchr(path, '/');
	git_treebuilder *bld = NULL;
	git_tree *sub = NULL;
	char *name;
	int e = 0, rc = 0;

	name = slash ? strndup(path, (size_t)(slash - path)) : strdup(path);
	if (!name)
		return pb_err_set("out of memory");
	if ((e = git_treebuilder_new(&bld, repo, base)) < 0)
		goto out;
	if (slash) {
		const git_tree_entry *te =
			base ? git_tree_entry_byname(base, name) : NULL;
		git_oid child;
		int child_empty;

		if (te && git_tree_entry_type(te) == GIT_OBJECT_TREE &&
		    (e = git_tree_lookup(&sub, repo, git_tree_entry_id(te))) <
			    0)
			goto out;
		rc = put_in(&child, &child_empty, repo, sub, slash + 1, id,
			    mode);
		if (rc == 0 && child_empty)
			rc = remove_entry(bld, name);
		else if (rc == 0)
			e = git_treebuilder_insert(NULL, bld, name, &child,
						   GIT_FILEMODE_TREE);
	} else if (id) {
		e = git_treebuilder_insert(NULL, bld, name, id, mode);
	} else {
		rc = remove_entry(bld, name);
	}
	if (rc == 0 && e == 0) {
		*empty = git_treebuilder_entrycount(bld) == 0;
		e = git_treebuilder_write(out, bld);
	}
out:
	if (e < 0)
		rc = pb_err_prefix(pb_git_err(e), "cannot write '%s'", path);
	git_tree_free(sub);
	git_treebuilder_free(bld);
	free(name);
	return rc;
}

int pb_ptree_put(git_oid *out, git_repository *repo, const git_oid *base,
		 const char *path, const git_oid *id, git_filemode_t mode)
{
	git_tree *tree = NULL;
	int empty, e, rc;

	if (base && (e = git_tree_lookup(&tree, repo, base)) < 0)
		return pb_err_prefix(pb_git_err(e), "cannot read tree");
	rc = put_in(out, &empty, repo, tree, path, id, mode);
	git_tree_free(tree);
	return rc;
}
