/* publish.h: publish inference code and the manifest to a serving repository */
#ifndef PRBOT_PUBLISH_H
#define PRBOT_PUBLISH_H

#include <stddef.h>

#include "prbot/buf.h"
#include "prbot/repoconf.h"

/* A vMAJOR.MINOR.REVISION tag. */
struct pb_version {
	unsigned long major;
	unsigned long minor;
	unsigned long revision;
};

/*
 * Read a tag name: "v" and three dot-separated numbers without leading
 * zeros, nothing else ("v1.2", "v1.2.3-rc1", "release-1" are not versions).
 * 0, or PB_EINVAL without touching the thread's message (callers skip).
 */
int pb_version_parse(struct pb_version *out, const char *tag);

/*
 * The version after latest by schema, the lower parts reset; latest NULL
 * (no version tag yet) gives v0.0.1 (revision), v0.1.0 (minor) or v1.0.0
 * (major). 0, or PB_ETOOBIG when a part would pass 999999999.
 */
int pb_version_next(struct pb_version *out, const struct pb_version *latest,
		    enum pb_version_schema schema);

/*
 * Write the manifest for version ("v1.2.3") into manifest, and the bytes of
 * model_manifest.json.sig into sig, or leave sig empty for no signature (a
 * signature left over from an earlier deploy is then removed, as it would
 * not match). Both buffers are empty and owned by pb_publish(). Called once
 * or twice per attempt (see already_deployed), with the same arg; give the
 * same bytes for the same content and version, or every deploy is a change.
 * 0, or a negative PB_E* code with pb_err_set().
 */
typedef int (*pb_publish_manifest_fn)(struct pb_buf *manifest,
				      struct pb_buf *sig, const char *version,
				      void *arg);

/* Every pointer is borrowed for the call. */
struct pb_publish_opts {
	/* a bare repository's path, a file:// URL, or an http(s):// URL */
	const char *repo;
	const char *branch;  /* NULL: "main"; created when missing */
	const char *path;    /* folder inside repo; NULL, "" or ".": the root */
	const char *workdir; /* mirror: WORKDIR/serving/KEY.git (+ KEY.lock) */
	const char *token;   /* http(s): user x-access-token; never logged */

	/*
	 * The PR's checkout and .prbot.yml's deploy.inference: files or
	 * folders relative to source_root ("src/", "requirements.txt"),
	 * copied to path/NAME. Each replaces what path/NAME held (a file
	 * removed from a folder in the PR is removed in repo); the rest of
	 * path is kept. Folders are copied whole; symbolic links are never
	 * followed: a link is published as a link if its target stays
	 * inside source_root, and refused otherwise.
	 */
	const char *source_root;
	const char *const *inference;
	size_t n_inference;

	enum pb_version_schema schema;
	pb_publish_manifest_fn manifest; /* writes path/model_manifest.json */
	void *manifest_arg;

	/* the commit's and the tag's author ([github] bot_login) */
	const char *author_name;
	const char *author_email;

	/* named in the commit message: "Deploy v1.2.3 from o/n#12" */
	const char *source_repo; /* "OWNER/NAME" */
	int pr;			 /* 0: none */
	const char *source_sha;	 /* the PR commit deployed */
	const char *environment; /* "staging"; may be NULL */
	/*
	 * A rollback: the version whose files and manifest are published
	 * again ("v0.0.1"); the message then reads "Roll back to v0.0.1 as
	 * v0.0.3 from o/n#12". NULL for a deploy.
	 */
	const char *rollback_of;
	/*
	 * Replace path whole: its content becomes exactly the inference
	 * paths and the manifest (what a rollback needs, so files added to
	 * path after the version rolled back to go). Folders outside path
	 * are kept. 0: each inference path replaces its own name only.
	 */
	int replace_path;

	/*
	 * Compute everything and write the commit object into the mirror,
	 * but move no ref and push nothing: the result says what would be.
	 */
	int dry_run;

	/*
	 * Tests only: called before each push with the attempt (1..3), so a
	 * test can move the serving branch under the deploy. Non-zero stops.
	 */
	int (*before_push)(void *arg, int attempt);
	void *before_push_arg;
};

struct pb_publish_result {
	/*
	 * owned: "v1.2.3", the tag pushed (or, for dry_run, that would be).
	 * already_deployed: the highest version tag on the branch head, or
	 * NULL when no version tag points at it.
	 */
	char *version;
	char *commit;	      /* owned: 40 hex; the new commit, or the head */
	int already_deployed; /* the tree equals the head's: no commit,
				 no tag, nothing pushed */
	char **files; /* owned: the files written (already_deployed: that
			 would be), relative to the serving repo's root,
			 sorted, each once */
	size_t n_files;
	int attempts; /* pushes tried: 1 unless the branch moved */
};

/*
 * Publish to o->repo's o->branch: fetch the mirror (clone it the first
 * time), build the new tree against the mirror's objects (nothing is
 * checked out), commit it on the branch head as the author, tag it with the
 * version after the latest vMAJOR.MINOR.REVISION tag of the repository, and
 * push.
 *
 * Push order: the branch first, then the tag, so a tag never names a commit
 * the branch lacks. The branch push expects the remote branch where the
 * fetch saw it (and the tag to be free); if another commit landed or the
 * tag was taken meanwhile, nothing is pushed, the mirror is fetched again,
 * the files are applied on the new head with the version recomputed, and
 * the push is tried again: 3 attempts, then PB_ERROR ("kept moving").
 *
 * Tag collision: the tag chosen is always the next free one after the
 * latest existing tag; a tag created by someone else before the branch push
 * makes the next attempt pick the one after it. Only a tag created in the
 * moment between the branch push and the tag push fails (PB_EEXISTS); the
 * message names the commit now on the branch and the tag to add by hand.
 *
 * Errors, with nothing pushed: PB_ENOTFOUND for a missing repository or an
 * inference path missing in source_root (naming .prbot.yml's
 * deploy.inference), PB_EPERM for credentials refused, PB_EINVAL for bad
 * options or paths. out is filled only on success (release it).
 */
int pb_publish(struct pb_publish_result *out, const struct pb_publish_opts *o);
void pb_publish_result_release(struct pb_publish_result *r);

/* Every pointer is borrowed for the call. */
struct pb_publish_read_opts {
	const char *repo;    /* as pb_publish_opts */
	const char *workdir; /* as pb_publish_opts: the same mirror */
	const char *token;
	const char *rev;  /* a tag ("v1.2.3"), branch or commit SHA */
	const char *path; /* folder inside repo; NULL, "" or ".": the root */
	const char *dest; /* a new folder; must not exist */
};

/*
 * For a rollback: fetch the mirror and write the files under path at rev
 * into dest (files only; links as small files holding their target), so a
 * later pb_publish() can republish them. *commit gets rev's commit (40 hex,
 * owned, free()). On failure dest is removed if this call created it.
 */
int pb_publish_read(char **commit, const struct pb_publish_read_opts *o);

#endif
