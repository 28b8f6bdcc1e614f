/* stage_checkout.c: check out the exact commit and read its .prbot.yml */
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "stage.h"
#include "banned.h"

#define REPO_CONFIG_MAX (1024 * 1024)

static const char *repo_config_name(const struct pb_run_ctx *ctx)
{
	const struct pb_config *cfg = ctx->req->cfg;
	size_t i;

	for (i = 0; i < cfg->n_repos; i++)
		if (!strcmp(cfg->repos[i].name, ctx->co.owner_repo) &&
		    cfg->repos[i].config)
			return cfg->repos[i].config;
	return ".prbot.yml";
}

static int load_repo_config(struct pb_run_ctx *ctx, struct pb_stage_record *rec)
{
	const char *name = repo_config_name(ctx);
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_buf text = PB_BUF_INIT;
	char *path = pb_path_join(ctx->co.project_dir, name);
	char *first = NULL;
	size_t i;
	int rc;

	if (!path)
		return pb_stage_fail(rec, PB_ERROR, "out of memory");
	rc = pb_buf_read_file(&text, path, REPO_CONFIG_MAX);
	if (rc == PB_ENOTFOUND) {
		rc = pb_stage_fail(rec, PB_EINVAL,
				   "%s: not found in commit %.12s (add a "
				   ".prbot.yml at the project root; see "
				   "README)",
				   name, ctx->co.sha);
		goto out;
	}
	if (rc < 0) {
		rc = pb_stage_fail(rec, PB_EINVAL, "%s: cannot read: %s", name,
				   pb_err_last());
		goto out;
	}
	rc = pb_repo_config_parse(&ctx->rc, pb_buf_cstr(&text), text.len, name,
				  &diags);
	if (rc < 0) {
		for (i = 0; i < diags.n; i++) {
			char *line = pb_diag_format(&diags.v[i]);

			pb_job_log(ctx, "%s", line ? line : "?");
			if (i == 0)
				first = line;
			else
				free(line);
		}
		if (diags.n > 1)
			rc = pb_stage_fail(rec, PB_EINVAL,
					   "%s (and %zu more problems: see "
					   "the job log)",
					   first ? first : name, diags.n - 1);
		else
			rc = pb_stage_fail(rec, PB_EINVAL, "%s",
					   first ? first : pb_err_last());
	}
out:
	if (rc < 0)
		ctx->outcome = PB_OUTCOME_CONFIG_ERROR;
	free(first);
	pb_diags_release(&diags);
	pb_buf_release(&text);
	free(path);
	return rc;
}

int pb_stage_checkout(struct pb_run_ctx *ctx, struct pb_stage_record *rec)
{
	const struct pb_config *cfg = ctx->req->cfg;
	struct pb_checkout_opts o;
	char *dest = pb_path_join(ctx->job_dir, "workspace");
	int rc;

	if (!dest)
		return pb_stage_fail(rec, PB_ERROR, "out of memory");
	memset(&o, 0, sizeof(o));
	o.repo = ctx->req->repo;
	o.ref = ctx->req->ref;
	o.sha = ctx->req->sha;
	o.workdir = cfg->server.workdir;
	o.dest = dest;
	o.token = ctx->req->token ? ctx->req->token : cfg->github.token.value;
	rc = pb_checkout(&ctx->co, &o);
	free(dest);
	if (rc < 0)
		return pb_stage_fail(rec, rc, "%s", pb_err_last());
	ctx->have_checkout = 1;
	pb_job_log(ctx, "checked out %s at %s", ctx->co.origin, ctx->co.sha);
	if ((rc = load_repo_config(ctx, rec)) < 0)
		return rc;
	if (!(ctx->model_path =
		      pb_path_join(ctx->co.project_dir, ctx->rc->model)))
		return pb_stage_fail(rec, PB_ERROR, "out of memory");
	pb_stage_note(rec, "%s %.12s (mirror %s)",
		      ctx->co.ref ? ctx->co.ref : "commit", ctx->co.sha,
		      ctx->co.mirror_created ? "created" : "fetched");
	return 0;
}
