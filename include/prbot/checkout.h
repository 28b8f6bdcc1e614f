/* checkout.h: mirror a repository and check out one commit (libgit2) */
#ifndef PRBOT_CHECKOUT_H
#define PRBOT_CHECKOUT_H

#include <stddef.h>

struct pb_checkout_opts {
	/*
	 * A local path (a work tree, a subdirectory of one, or a bare
	 * repository), a file:// URL, or an https:// URL. For a subdirectory
	 * of a work tree, the enclosing repository is mirrored and the
	 * subdirectory becomes the project directory (monorepos).
	 */
	const char *repo;
	const char *ref;     /* branch or tag; NULL: the remote's HEAD */
	const char *sha;     /* full or abbreviated; NULL: tip of ref */
	const char *workdir; /* mirrors go to WORKDIR/mirrors/KEY.git */
	const char *dest;    /* fresh workspace directory; must not exist */
	/* token for https URLs (borrowed; never logged); may be NULL */
	const char *token;
};

struct pb_checkout {
	char *origin;	   /* owned: the repository as a URL (local paths become
			      file:// URLs of the absolute path) */
	char *owner_repo;  /* owned: "OWNER/NAME" from the URL, or "local/NAME"
			      for local paths (NAME: the directory name) */
	char *ref;	   /* owned: the ref resolved ("main"), or NULL for a
			      detached SHA */
	char *sha;	   /* owned: the full 40-hex commit id */
	char *message;	   /* owned: the commit message, full */
	char *subdir;	   /* owned: project subdirectory ("" for the root) */
	char *mirror;	   /* owned: the mirror's path */
	char *workspace;   /* owned: dest */
	char *project_dir; /* owned: workspace/subdir */
	int mirror_created; /* 1: cloned now; 0: existing mirror fetched */
};

/*
 * Mirror (clone once, fetch after: all branches and tags), resolve the commit
 * and check it out into dest. Errors: PB_ENOTFOUND for a repository, ref or
 * SHA that does not exist ("repository '...' not found", "commit 'abc' not
 * found in '...'"), PB_EINVAL for bad arguments, PB_ERROR otherwise with
 * libgit2's message. On failure dest is removed if this call created it.
 */
int pb_checkout(struct pb_checkout *out, const struct pb_checkout_opts *o);
void pb_checkout_release(struct pb_checkout *c);

/* Remove a directory tree (used for workspaces). */
int pb_rmtree(const char *path);

#endif
