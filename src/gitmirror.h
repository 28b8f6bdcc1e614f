/* gitmirror.h: libgit2 plumbing that checkout and publish share (private) */
#ifndef PRBOT_GITMIRROR_H
#define PRBOT_GITMIRROR_H

#include <git2.h>

#include "prbot/buf.h"

/* Where the repository comes from, worked out before any network call. */
struct pb_git_source {
	char *origin;	  /* owned: URL handed to libgit2 */
	char *owner_repo; /* owned: "OWNER/NAME" or "local/NAME" */
	char *subdir;	  /* owned: project directory inside the repository */
	char *host;   /* owned: http(s): the only host the token may go to */
	int token_ok; /* https, or plain http to this machine */
};

/* What the credential callback needs; all borrowed from the caller. */
struct pb_git_auth {
	const char *origin;
	const char *token; /* may be NULL; never logged */
	const char *host;
	int token_ok;
	int token_sent; /* set by pb_git_cred_cb: a second ask is a refusal */
};

/*
 * Start libgit2 once per process (and read SSL_CERT_FILE/SSL_CERT_DIR);
 * every entry point that uses libgit2 calls this first.
 */
int pb_git_ready(void);

/* libgit2's last message (borrowed), and its code converted to PB_E*. */
const char *pb_git_msg(void);
int pb_git_err(int gerr);

/*
 * A local path, file:// or http(s):// URL, checked and named without any
 * network call. s is filled (release it) on success and on failure.
 */
int pb_git_source_locate(struct pb_git_source *s, const char *repo);
void pb_git_source_release(struct pb_git_source *s);

/* KEY for WORKDIR/.../KEY.git: readable and unique per origin. */
int pb_git_mirror_key(struct pb_buf *out, const char *owner_repo,
		      const char *origin);

/* An exclusive flock() on path (created); *fd is the caller's to close. */
int pb_git_lock(int *fd, const char *path);

/* git_remote_callbacks.credentials; payload: a struct pb_git_auth. */
int pb_git_cred_cb(git_credential **out, const char *url,
		   const char *username_from_url, unsigned int allowed,
		   void *payload);

/* A failed fetch (push 0) or push (push 1) as PB_E* with a message. */
int pb_git_remote_fail(const struct pb_git_auth *f, int gerr, int push);

/* Fetch everything into the open mirror (pruning); caller holds the lock. */
int pb_git_mirror_fetch(git_repository *repo, struct pb_git_auth *f);

/*
 * Open the bare mirror at path and fetch, or clone it there (*created 1).
 * The caller holds the lock and owns *repo (git_repository_free()).
 */
int pb_git_mirror_update(git_repository **repo, int *created, const char *path,
			 struct pb_git_auth *f);

/* Write tree's files into dest (files only, no .git); dest may exist. */
int pb_git_write_tree(git_repository *repo, git_tree *tree, const char *dest);

#endif
