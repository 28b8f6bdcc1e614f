/* publish_tree.h: git trees for publish, built from files on disk (private) */
#ifndef PRBOT_PUBLISH_TREE_H
#define PRBOT_PUBLISH_TREE_H

#include <stddef.h>

#include <git2.h>

/* A growable list of owned strings. */
struct pb_strlist {
	char **v; /* owned, each owned */
	size_t n;
	size_t alloc;
};

/* Append a copy of s; 0 or PB_ERROR (out of memory). */
int pb_strlist_add(struct pb_strlist *l, const char *s);
void pb_strlist_release(struct pb_strlist *l);

/*
 * Write root/rel into repo's object database: a file as a blob, a folder as
 * a tree (".git" entries skipped), a symbolic link as a link whose target
 * must stay inside root (never followed). *empty: a folder with no file in
 * it (*id then unset). Each file's dst/PATH-BELOW-rel goes to files. rel is
 * normalized ("a/b", no "." or ".."); a missing rel is PB_ENOTFOUND naming
 * deploy.inference.
 */
int pb_ptree_from_disk(git_oid *id, git_filemode_t *mode, int *empty,
		       git_repository *repo, const char *root, const char *rel,
		       const char *dst, struct pb_strlist *files);

/*
 * The tree base (NULL: empty) with path ("a/b/c") set to (id, mode), or
 * removed when id is NULL; folders on the way are made or replaced, and a
 * folder left empty goes. The new root tree's id in *out.
 */
int pb_ptree_put(git_oid *out, git_repository *repo, const git_oid *base,
		 const char *path, const git_oid *id, git_filemode_t mode);

/*
 * "./a//b/" -> "a/b": a relative path split on '/', empty and "." parts
 * dropped; PB_EINVAL for an absolute path or a ".." part (what names it).
 * *out is owned ("" for the root).
 */
int pb_ptree_norm(char **out, const char *path, const char *what);

#endif
