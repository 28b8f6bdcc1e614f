/* stage_upload.c: store the model artifact and write model_manifest.json */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "prbot/err.h"
#include "prbot/manifest.h"
#include "prbot/sign.h"
#include "stage.h"
#include "banned.h"

#define MANIFEST_NAME "model_manifest.json"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* The job's store, as [store] configures it. */
static int store_open(struct pb_store **out, const struct pb_run_ctx *ctx)
{
	struct pb_store_config sc;

	pb_store_config_from(&sc, ctx->req->cfg);
	sc.redactor = ctx->req->redact;
	return pb_store_open(out, &sc);
}

int pb_stage_upload(struct pb_run_ctx *ctx, struct pb_stage_record *rec)
{
	struct pb_store *store = NULL;
	struct pb_buf key = PB_BUF_INIT;
	int rc;

	if ((rc = pb_buf_printf(&key, "%s/%s/%s", ctx->co.owner_repo,
				ctx->co.sha, base_name(ctx->rc->model))) < 0)
		return pb_stage_fail(rec, rc, "out of memory");
	if ((rc = store_open(&store, ctx)) < 0) {
		rc = pb_stage_fail(rec, rc, "%s", pb_err_last());
		goto out;
	}
	rc = pb_store_put(&ctx->artifact, store, key.ptr, ctx->model_path);
	if (rc < 0) {
		rc = pb_stage_fail(rec, rc, "model '%s': %s", ctx->rc->model,
				   pb_err_last());
		goto out;
	}
	ctx->have_artifact = 1;
	pb_job_log(ctx, "artifact %s md5 %s sha256 %s size %llu%s",
		   ctx->artifact.url, ctx->artifact.digest.md5,
		   ctx->artifact.digest.sha256,
		   (unsigned long long)ctx->artifact.digest.size,
		   ctx->artifact.skipped ? " (already stored)" : "");
	if (ctx->artifact.skipped)
		pb_stage_note(rec, "same content already stored: upload "
				   "skipped");
	else if (ctx->artifact.parts)
		pb_stage_note(rec, "%llu bytes stored in %d parts",
			      (unsigned long long)ctx->artifact.digest.size,
			      ctx->artifact.parts);
	else
		pb_stage_note(rec, "%llu bytes stored",
			      (unsigned long long)ctx->artifact.digest.size);
out:
	pb_store_free(store);
	pb_buf_release(&key);
	return rc;
}

static json_t *gates_object(const struct pb_run_ctx *ctx)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < ctx->n_gates; i++) {
		const struct pb_gate_result *g = &ctx->gates[i];
		json_t *v = json_pack(
			"{s:s,s:o,s:b}", "expr", g->gate->expr, "actual",
			g->found ? json_real(g->actual) : json_null(), "passed",
			g->passed);

		if (!v || json_object_set_new(o, g->gate->metric, v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/*
 * Without a key, a .sig left by an earlier signed run of the same commit
 * would sit next to a manifest it does not sign: it goes.
 */
static int remove_stale_sig(const char *manifest)
{
	struct pb_buf sig = PB_BUF_INIT;
	int rc;

	if ((rc = pb_buf_printf(&sig, "%s%s", manifest, PB_SIGN_SUFFIX)) < 0)
		return rc;
	if (unlink(sig.ptr) < 0 && errno != ENOENT)
		rc = pb_err_set("cannot remove the stale signature '%s': %s",
				sig.ptr, strerror(errno));
	pb_buf_release(&sig);
	return rc;
}

/*
 * A store that is not a local folder (s3://) gets the manifest, and its
 * .sig when signed, next to the artifact, from the job folder's copy.
 */
static int store_manifest(struct pb_run_ctx *ctx, struct pb_stage_record *rec,
			  int signed_too)
{
	struct pb_store *store = NULL;
	struct pb_buf key = PB_BUF_INIT, file = PB_BUF_INIT;
	struct pb_put_result r;
	int rc, i;

	memset(&r, 0, sizeof(r));
	if ((rc = store_open(&store, ctx)) < 0) {
		rc = pb_stage_fail(rec, rc, "%s", pb_err_last());
		goto out;
	}
	for (i = 0; i < 1 + signed_too; i++) {
		pb_buf_reset(&key);
		pb_buf_reset(&file);
		if ((rc = pb_buf_printf(&key, "%s/%s/" MANIFEST_NAME "%s",
					ctx->co.owner_repo, ctx->co.sha,
					i ? PB_SIGN_SUFFIX : "")) < 0 ||
		    (rc = pb_buf_printf(&file, "%s%s", ctx->manifest_path,
					i ? PB_SIGN_SUFFIX : "")) < 0)
			goto out;
		if ((rc = pb_store_put(&r, store, key.ptr, file.ptr)) < 0) {
			rc = pb_stage_fail(rec, rc, "%s", pb_err_last());
			goto out;
		}
		pb_job_log(ctx, "stored %s", r.url);
		pb_put_result_release(&r);
	}
out:
	pb_put_result_release(&r);
	pb_buf_release(&file);
	pb_buf_release(&key);
	pb_store_free(store);
	return rc;
}

/* The manifest in dir, and its .sig next to it when key is set. */
static int write_copy(struct pb_run_ctx *ctx, struct pb_stage_record *rec,
		      const struct pb_sign_key *key, const char *dir,
		      char **out_path)
{
	char *path = pb_path_join(dir, MANIFEST_NAME);
	int rc;

	if (!path)
		return pb_stage_fail(rec, PB_ERROR, "out of memory");
	if ((rc = pb_manifest_write(path, ctx->manifest)) < 0 ||
	    (rc = key ? pb_sign_file(key, path) : remove_stale_sig(path)) < 0) {
		rc = pb_stage_fail(rec, rc, "%s", pb_err_last());
		free(path);
		return rc;
	}
	if (out_path)
		*out_path = path;
	else
		free(path);
	return 0;
}

int pb_stage_manifest(struct pb_run_ctx *ctx, struct pb_stage_record *rec)
{
	const struct pb_run_request *req = ctx->req;
	const char *pem = req->cfg->deploy.signing_key.value;
	struct pb_manifest_info info;
	struct pb_sign_key *key = NULL;
	json_t *metrics = NULL, *gates = NULL;
	char *artifact_dir = NULL, *slash;
	int rc;

	if (!ctx->have_artifact)
		return pb_stage_fail(rec, PB_EINVAL,
				     "no artifact: the upload stage must run "
				     "first");
	/* checked when bot.conf was read; parsed again here, never logged */
	if (pem &&
	    (rc = pb_sign_key_private(&key, pem, "[deploy] signing_key")) < 0) {
		rc = pb_stage_fail(rec, rc, "%s", pb_err_last());
		goto out;
	}
	if (!(metrics = pb_metrics_json(&ctx->metrics)) ||
	    !(gates = gates_object(ctx))) {
		rc = pb_stage_fail(rec, PB_ERROR, "out of memory");
		goto out;
	}
	memset(&info, 0, sizeof(info));
	info.model_filepath = ctx->artifact.path ? ctx->artifact.path :
						   ctx->artifact.url;
	info.digest = &ctx->artifact.digest;
	info.origin_repo = ctx->co.origin;
	info.origin_ref = ctx->co.ref;
	info.commit_sha = ctx->co.sha;
	info.commit_msg = ctx->co.message;
	info.uploaded = time(NULL);
	info.metrics = metrics;
	info.gates = gates;
	info.job.id = req->job.id;
	info.job.command = req->job.command;
	info.job.actor = req->job.actor;
	info.job.source = req->job.source;
	if (!(ctx->manifest = pb_manifest_build(&info))) {
		rc = pb_stage_fail(rec, PB_ERROR, "out of memory");
		goto out;
	}
	/* next to the artifact first: that copy is the one serving reads */
	if (ctx->artifact.path) {
		if (!(artifact_dir = strdup(ctx->artifact.path))) {
			rc = pb_stage_fail(rec, PB_ERROR, "out of memory");
			goto out;
		}
		if ((slash = strrchr(artifact_dir, '/')))
			*slash = '\0';
		if ((rc = write_copy(ctx, rec, key, artifact_dir,
				     &ctx->manifest_path)) < 0)
			goto out;
	}
	if ((rc = write_copy(ctx, rec, key, ctx->co.project_dir, NULL)) < 0 ||
	    (rc = write_copy(ctx, rec, key, ctx->job_dir,
			     ctx->manifest_path ? NULL : &ctx->manifest_path)) <
		    0)
		goto out;
	if (!ctx->artifact.path &&
	    (rc = store_manifest(ctx, rec, key != NULL)) < 0)
		goto out;
	if (key) {
		pb_job_log(ctx, "manifests signed with Ed25519 key %s",
			   pb_sign_key_id(key));
		pb_stage_note(rec, "%s (signed with key %s)",
			      ctx->manifest_path, pb_sign_key_id(key));
	} else {
		pb_stage_note(rec, "%s", ctx->manifest_path);
	}
out:
	pb_sign_key_free(key);
	free(artifact_dir);
	json_decref(gates);
	json_decref(metrics);
	return rc;
}
