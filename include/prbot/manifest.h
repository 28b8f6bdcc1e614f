/* manifest.h: model_manifest.json, written and verified */
#ifndef PRBOT_MANIFEST_H
#define PRBOT_MANIFEST_H

#include <jansson.h>
#include <time.h>

#include "prbot/buf.h"
#include "prbot/hash.h"

struct pb_manifest_info {
	const char *model_filepath; /* where the artifact is: a local absolute
				       path for file://, the URL otherwise */
	const struct pb_digest *digest;
	const char *origin_repo;
	const char *origin_ref; /* may be NULL: written as null */
	const char *commit_sha;
	const char *commit_msg;
	time_t uploaded;	 /* written as ISO 8601 UTC "...Z" */
	const json_t *metrics;	 /* borrowed object {name: number} or NULL */
	const json_t *gates;	 /* borrowed object {name: {expr, actual,
				    passed}} or NULL */
	const char *version;	 /* may be NULL */
	const char *environment; /* may be NULL */
	struct {
		const char *id;
		const char *command;
		const char *actor;
		const char *source;
	} job;
};

/*
 * The manifest object with the established keys (model_filepath,
 * model_md5_hash, model_origin_repo, model_origin_ref,
 * model_origin_commit_SHA, model_origin_commit_msg, model_uploaded_utc) and
 * the added ones (model_sha256, model_size_bytes, metrics, gates, version,
 * environment, job{id, command, actor, source, prbot_version}). New
 * reference: caller json_decref()s it; NULL when out of memory.
 */
json_t *pb_manifest_build(const struct pb_manifest_info *info);

/*
 * The bytes of model_manifest.json appended to out: pretty-printed with
 * sorted keys and a final newline, so equal objects give equal bytes.
 */
int pb_manifest_dump(struct pb_buf *out, const json_t *manifest);

/* pb_manifest_dump()'s bytes, written atomically (temp, fsync, rename). */
int pb_manifest_write(const char *path, const json_t *manifest);

/*
 * The model the manifest's model_filepath names: an s3:// URL as written
 * (*is_url set), or a local path (a relative one is taken from the
 * manifest's folder; file:///PATH gives PATH). Caller frees *out.
 */
int pb_manifest_model(char **out, int *is_url, const char *manifest_path);

/*
 * Compare d, the digest of model (named in messages), with the hashes and
 * size the manifest records; d NULL checks only that the manifest is valid.
 * Returns as pb_manifest_verify() does.
 */
int pb_manifest_check(const char *manifest_path, const struct pb_digest *d,
		      const char *model);

/*
 * Recompute MD5 and SHA-256 of model (NULL: the manifest's model_filepath,
 * when that is a local path or file:// URL) and compare. Returns 0 when every
 * recorded hash and the size match; PB_ERROR naming the mismatching field
 * ("model_md5_hash mismatch: manifest has X, FILE has Y"); PB_EINVAL when
 * the manifest is not valid (names the file and key); PB_ENOTFOUND when a
 * file is missing. out (may be NULL) gets the computed digest.
 */
int pb_manifest_verify(struct pb_digest *out, const char *manifest_path,
		       const char *model_path);

#endif
