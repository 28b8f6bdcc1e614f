/* checkout.c: mirror a repository with libgit2 and check out one commit */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "prbot/buf.h"
#include "prbot/checkout.h"
#include "prbot/err.h"
#include "prbot/fs.h"
#include "gitmirror.h"
#include "banned.h"

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		pb_err_set("out of memory");
	return p;
}

/* Create dest (new) and its parents; *created says dest is ours. */
static int dest_create(const char *dest, int *created)
{
	char *parent = xstrdup(dest);
	char *slash;
	int rc = 0;

	if (!parent)
		return PB_ERROR;
	slash = strrchr(parent, '/');
	while (slash && slash > parent && slash[1] == '\0') {
		*slash = '\0';
		slash = strrchr(parent, '/');
	}
	if (slash && slash > parent) {
		*slash = '\0';
		rc = pb_mkdirs(parent, 0700);
	}
	free(parent);
	if (rc < 0)
		return rc;
	if (mkdir(dest, 0700) < 0) {
		if (errno == EEXIST)
			return pb_err_setc(PB_EEXISTS,
					   "workspace '%s' already exists "
					   "(remove it, or give a new "
					   "directory)",
					   dest);
		return pb_err_set("cannot create workspace '%s': %s", dest,
				  strerror(errno));
	}
	*created = 1;
	return 0;
}

static int is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return 0;
	return 1;
}

static int peel_commit(git_commit **out, git_object *obj, const char *what,
		       const char *name, const char *origin)
{
	git_object *peeled = NULL;

	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0)
		return pb_err_setc(
			PB_EINVAL,
			"%s '%s' in '%s' is a %s, not a commit "
			"(give a commit)",
			what, name, origin,
			git_object_type2string(git_object_type(obj)));
	*out = (git_commit *)peeled;
	return 0;
}

static int resolve_sha(git_commit **out, git_repository *repo, const char *sha,
		       const char *origin)
{
	size_t n = strlen(sha);
	git_object *obj = NULL;
	git_oid id;
	int e, rc;

	if (n < 4 || n > GIT_OID_HEXSZ || !is_hex(sha))
		return pb_err_setc(PB_EINVAL,
				   "sha '%s' is not a commit id (give 4 to "
				   "40 hex digits)",
				   sha);
	if ((e = git_oid_fromstrn(&id, sha, n)) < 0)
		return pb_err_prefix(pb_git_err(e), "sha '%s'", sha);
	e = git_object_lookup_prefix(&obj, repo, &id, n, GIT_OBJECT_ANY);
	if (e == GIT_ENOTFOUND)
		return pb_err_setc(PB_ENOTFOUND,
				   "commit '%s' not found in '%s' (fetch it "
				   "or check the SHA)",
				   sha, origin);
	if (e == GIT_EAMBIGUOUS)
		return pb_err_setc(PB_EINVAL,
				   "sha '%s' is ambiguous in '%s' (give more "
				   "digits)",
				   sha, origin);
	if (e < 0)
		return pb_err_prefix(pb_git_err(e),
				     "cannot look up '%s' in '%s'", sha,
				     origin);
	rc = peel_commit(out, obj, "object", sha, origin);
	git_object_free(obj);
	return rc;
}

/* refs/heads/REF, then refs/tags/REF, then whatever revparse reads. */
static int resolve_ref(git_commit **out, git_repository *repo, const char *ref,
		       const char *origin)
{
	static const char *const prefixes[] = { "refs/heads/", "refs/tags/" };
	struct pb_buf full = PB_BUF_INIT;
	git_reference *r = NULL;
	git_object *obj = NULL;
	size_t i;
	int e = GIT_ENOTFOUND, rc;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		pb_buf_reset(&full);
		if ((rc = pb_buf_printf(&full, "%s%s", prefixes[i], ref)) < 0)
			return rc;
		e = git_reference_lookup(&r, repo, full.ptr);
		if (e == 0)
			e = git_reference_peel(&obj, r, GIT_OBJECT_ANY);
		git_reference_free(r);
		r = NULL;
		if (e != GIT_ENOTFOUND && e != GIT_EINVALIDSPEC)
			break;
	}
	pb_buf_release(&full);
	if (e == GIT_ENOTFOUND || e == GIT_EINVALIDSPEC)
		e = git_revparse_single(&obj, repo, ref);
	if (e == GIT_ENOTFOUND || e == GIT_EINVALIDSPEC)
		return pb_err_setc(PB_ENOTFOUND, "ref '%s' not found in '%s'",
				   ref, origin);
	if (e == GIT_EAMBIGUOUS)
		return pb_err_setc(PB_EINVAL,
				   "ref '%s' is ambiguous in '%s' (give "
				   "refs/heads/NAME or refs/tags/NAME)",
				   ref, origin);
	if (e < 0)
		return pb_err_prefix(pb_git_err(e),
				     "cannot resolve ref '%s' in "
				     "'%s'",
				     ref, origin);
	rc = peel_commit(out, obj, "ref", ref, origin);
	git_object_free(obj);
	return rc;
}

/* The mirror's HEAD is the remote's HEAD as of the fetch just done. */
static int resolve_head(git_commit **out, char **name, git_repository *repo,
			const char *origin)
{
	git_reference *head = NULL;
	git_object *obj = NULL;
	int e, rc;

	e = git_repository_head(&head, repo);
	if (e == GIT_EUNBORNBRANCH || e == GIT_ENOTFOUND)
		return pb_err_setc(PB_ENOTFOUND,
				   "repository '%s' has no commit on its "
				   "default branch (push one, or give a ref)",
				   origin);
	if (e < 0)
		return pb_err_prefix(pb_git_err(e), "cannot read HEAD of '%s'",
				     origin);
	if ((e = git_reference_peel(&obj, head, GIT_OBJECT_COMMIT)) < 0) {
		rc = pb_err_prefix(pb_git_err(e), "cannot read HEAD of '%s'",
				   origin);
		goto out;
	}
	*out = (git_commit *)obj;
	rc = 0;
	if (git_reference_is_branch(head) &&
	    !(*name = xstrdup(git_reference_shorthand(head))))
		rc = PB_ERROR;
out:
	git_reference_free(head);
	return rc;
}

/* "refs/heads/main" -> "main": the short name a person would type. */
static char *ref_short(const char *ref)
{
	if (!strncmp(ref, "refs/heads/", 11))
		return xstrdup(ref + 11);
	if (!strncmp(ref, "refs/tags/", 10))
		return xstrdup(ref + 10);
	return xstrdup(ref);
}

static int resolve(git_commit **out, char **name, git_repository *repo,
		   const struct pb_checkout_opts *o, const char *origin)
{
	int rc;

	if (o->sha && *o->sha)
		rc = resolve_sha(out, repo, o->sha, origin);
	else if (o->ref && *o->ref)
		rc = resolve_ref(out, repo, o->ref, origin);
	else
		return resolve_head(out, name, repo, origin);
	if (rc == 0 && o->ref && *o->ref && !(*name = ref_short(o->ref)))
		rc = PB_ERROR;
	return rc;
}

static int check_subdir(git_tree *tree, const char *subdir, const char *sha)
{
	git_tree_entry *entry = NULL;
	int isdir;

	if (!*subdir)
		return 0;
	if (git_tree_entry_bypath(&entry, tree, subdir) < 0) {
		git_error_clear();
		isdir = 0;
	} else {
		isdir = git_tree_entry_type(entry) == GIT_OBJECT_TREE;
	}
	git_tree_entry_free(entry);
	if (!isdir)
		return pb_err_setc(PB_ENOTFOUND,
				   "directory '%s' not found in commit %.12s "
				   "(commit it, or check the path)",
				   subdir, sha);
	return 0;
}

static int fill_result(struct pb_checkout *out, struct pb_git_source *src,
		       git_commit *commit, const char *mirror, const char *dest)
{
	char sha[GIT_OID_HEXSZ + 1];
	const char *msg = git_commit_message_raw(commit);
	struct pb_buf pd = PB_BUF_INIT;
	int rc;

	git_oid_tostr(sha, sizeof(sha), git_commit_id(commit));
	if (*src->subdir)
		rc = pb_buf_printf(&pd, "%s/%s", dest, src->subdir);
	else
		rc = pb_buf_puts(&pd, dest);
	if (rc < 0)
		return rc;
	out->project_dir = pb_buf_detach(&pd);
	out->origin = src->origin;
	out->owner_repo = src->owner_repo;
	out->subdir = src->subdir;
	src->origin = src->owner_repo = src->subdir = NULL;
	if (!(out->sha = xstrdup(sha)) ||
	    !(out->message = xstrdup(msg ? msg : "")) ||
	    !(out->mirror = xstrdup(mirror)) ||
	    !(out->workspace = xstrdup(dest)))
		return PB_ERROR;
	return 0;
}

static int check_opts(const struct pb_checkout_opts *o)
{
	if (!o->repo || !*o->repo)
		return pb_err_setc(PB_EINVAL, "checkout: no repository given "
					      "(give a path or URL)");
	if (!o->workdir || !*o->workdir)
		return pb_err_setc(PB_EINVAL, "checkout: no work directory "
					      "given (set [server] workdir)");
	if (!o->dest || !*o->dest)
		return pb_err_setc(PB_EINVAL, "checkout: no workspace "
					      "directory given");
	return 0;
}

/* Keep the first failure's message over what cleaning up says. */
static void dest_remove(const char *dest, int rc)
{
	struct pb_buf msg = PB_BUF_INIT;

	if (pb_buf_puts(&msg, pb_err_last()) < 0)
		return;
	pb_rmtree(dest);
	pb_err_setc(rc, "%s", msg.ptr);
	pb_buf_release(&msg);
}

int pb_checkout(struct pb_checkout *out, const struct pb_checkout_opts *o)
{
	struct pb_buf key = PB_BUF_INIT, mirrors = PB_BUF_INIT;
	struct pb_buf mirror = PB_BUF_INIT, lock = PB_BUF_INIT;
	struct pb_git_source src;
	struct pb_git_auth f;
	git_repository *repo = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	char sha[GIT_OID_HEXSZ + 1];
	int created = 0, lock_fd = -1, e, rc;

	memset(out, 0, sizeof(*out));
	memset(&src, 0, sizeof(src));
	if ((rc = check_opts(o)) < 0 || (rc = pb_git_ready()) < 0)
		return rc;
	if ((rc = pb_git_source_locate(&src, o->repo)) < 0)
		goto out;
	if ((rc = pb_buf_printf(&mirrors, "%s/mirrors", o->workdir)) < 0 ||
	    (rc = pb_git_mirror_key(&key, src.owner_repo, src.origin)) < 0 ||
	    (rc = pb_buf_printf(&mirror, "%s/%s.git", mirrors.ptr, key.ptr)) <
		    0 ||
	    (rc = pb_buf_printf(&lock, "%s/%s.lock", mirrors.ptr, key.ptr)) < 0)
		goto out;
	if ((rc = dest_create(o->dest, &created)) < 0 ||
	    (rc = pb_mkdirs(mirrors.ptr, 0700)) < 0 ||
	    (rc = pb_git_lock(&lock_fd, lock.ptr)) < 0)
		goto out;
	memset(&f, 0, sizeof(f));
	f.origin = src.origin;
	f.token = o->token;
	f.host = src.host;
	f.token_ok = src.token_ok;
	rc = pb_git_mirror_update(&repo, &out->mirror_created, mirror.ptr, &f);
	if (rc < 0 ||
	    (rc = resolve(&commit, &out->ref, repo, o, src.origin)) < 0)
		goto out;
	git_oid_tostr(sha, sizeof(sha), git_commit_id(commit));
	if ((e = git_commit_tree(&tree, commit)) < 0) {
		rc = pb_err_prefix(pb_git_err(e), "cannot read commit %s", sha);
		goto out;
	}
	if ((rc = check_subdir(tree, src.subdir, sha)) < 0 ||
	    (rc = pb_git_write_tree(repo, tree, o->dest)) < 0)
		goto out;
	rc = fill_result(out, &src, commit, mirror.ptr, o->dest);
out:
	git_tree_free(tree);
	git_commit_free(commit);
	git_repository_free(repo);
	if (lock_fd >= 0)
		close(lock_fd);
	if (rc < 0) {
		if (created)
			dest_remove(o->dest, rc);
		pb_checkout_release(out);
	}
	pb_buf_release(&lock);
	pb_buf_release(&mirror);
	pb_buf_release(&mirrors);
	pb_buf_release(&key);
	pb_git_source_release(&src);
	return rc;
}

void pb_checkout_release(struct pb_checkout *c)
{
	if (!c)
		return;
	free(c->origin);
	free(c->owner_repo);
	free(c->ref);
	free(c->sha);
	free(c->message);
	free(c->subdir);
	free(c->mirror);
	free(c->workspace);
	free(c->project_dir);
	memset(c, 0, sizeof(*c));
}

static int rm_entry(int dirfd, const char *name, struct pb_buf *path);

/* Empty the directory open on fd (taken over and closed). */
static int rm_contents(int fd, struct pb_buf *path)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		rc = pb_err_set("cannot read '%s': %s", path->ptr,
				strerror(errno));
		close(fd);
		return rc;
	}
	for (;;) {
		size_t keep = path->len;

		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				rc = pb_err_set("cannot read '%s': %s",
						path->ptr, strerror(errno));
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((rc = pb_buf_printf(path, "/%s", de->d_name)) < 0)
			break;
		rc = rm_entry(dirfd(d), de->d_name, path);
		path->len = keep;
		path->ptr[keep] = '\0';
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

/*
 * Remove name in dirfd: files and symlinks are unlinked (a link is never
 * followed), directories emptied first; a directory a job made read-only
 * is given back its owner's permissions so it can be emptied.
 */
static int rm_entry(int dirfd, const char *name, struct pb_buf *path)
{
	struct stat st;
	int fd, rc;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return pb_err_set("cannot remove '%s': %s", path->ptr,
				  strerror(errno));
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return pb_err_set("cannot remove '%s': %s", path->ptr,
					  strerror(errno));
		return 0;
	}
	if ((st.st_mode & S_IRWXU) != S_IRWXU)
		fchmodat(dirfd, name, (st.st_mode & 07777) | S_IRWXU, 0);
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pb_err_set("cannot open '%s': %s", path->ptr,
				  strerror(errno));
	if ((rc = rm_contents(fd, path)) < 0)
		return rc;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return pb_err_set("cannot remove '%s': %s", path->ptr,
				  strerror(errno));
	return 0;
}

int pb_rmtree(const char *path)
{
	struct pb_buf p = PB_BUF_INIT;
	int rc;

	if (!path || !*path || !strcmp(path, "/"))
		return pb_err_setc(PB_EINVAL, "refusing to remove '%s'",
				   path ? path : "(null)");
	if ((rc = pb_buf_puts(&p, path)) < 0)
		return rc;
	rc = rm_entry(AT_FDCWD, path, &p);
	pb_buf_release(&p);
	return rc;
}
