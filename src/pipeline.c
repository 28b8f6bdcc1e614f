/* pipeline.c: run a command's stages in order over one run context */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "prbot/fs.h"
#include "prbot/err.h"
#include "prbot/log.h"
#include "prbot/redact.h"
#include "stage.h"
#include "banned.h"

/* in the order of enum pb_stage_id; their names are in stage_name.c */
static const stage_fn stage_table[PB_STAGE_COUNT] = {
	[PB_STAGE_CHECKOUT] = pb_stage_checkout,
	[PB_STAGE_SETUP] = pb_stage_setup,
	[PB_STAGE_TRAIN] = pb_stage_train,
	[PB_STAGE_EVALUATE] = pb_stage_evaluate,
	[PB_STAGE_UPLOAD] = pb_stage_upload,
	[PB_STAGE_MANIFEST] = pb_stage_manifest,
};

char *pb_path_join(const char *a, const char *b)
{
	struct pb_buf p = PB_BUF_INIT;

	if (!*b || !strcmp(b, "."))
		return strdup(a);
	if (pb_buf_printf(&p, "%s/%s", a, b) < 0)
		return NULL;
	return pb_buf_detach(&p);
}

void pb_last_line(char *out, size_t max, const char *text)
{
	const char *end, *start;
	size_t n;

	out[0] = '\0';
	if (!text || !max)
		return;
	end = text + strlen(text);
	while (end > text &&
	       (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	start = end;
	while (start > text && start[-1] != '\n')
		start--;
	n = (size_t)(end - start);
	if (n >= max)
		n = max - 1;
	memcpy(out, start, n);
	out[n] = '\0';
}

static char *vformat(const char *fmt, va_list ap)
{
	struct pb_buf b = PB_BUF_INIT;

	if (pb_buf_vprintf(&b, fmt, ap) < 0)
		return NULL;
	return pb_buf_detach(&b);
}

int pb_stage_fail(struct pb_stage_record *rec, int code, const char *fmt, ...)
{
	va_list ap;

	free(rec->error);
	va_start(ap, fmt);
	rec->error = vformat(fmt, ap);
	va_end(ap);
	return code < 0 ? code : PB_ERROR;
}

void pb_stage_note(struct pb_stage_record *rec, const char *fmt, ...)
{
	va_list ap;

	free(rec->note);
	va_start(ap, fmt);
	rec->note = vformat(fmt, ap);
	va_end(ap);
}

void pb_job_log(struct pb_run_ctx *ctx, const char *fmt, ...)
{
	struct pb_buf line = PB_BUF_INIT;
	va_list ap;
	ssize_t n;

	if (ctx->log_fd < 0)
		return;
	va_start(ap, fmt);
	if (pb_buf_puts(&line, "prbot: ") < 0 ||
	    pb_buf_vprintf(&line, fmt, ap) < 0 ||
	    pb_buf_putc(&line, '\n') < 0 ||
	    pb_redact_buf(ctx->req->redact, &line) < 0) {
		va_end(ap);
		pb_buf_release(&line);
		return;
	}
	va_end(ap);
	n = write(ctx->log_fd, line.ptr, line.len);
	(void)n;
	pb_buf_release(&line);
}

int pb_stage_env(struct pb_env *env, const struct pb_run_ctx *ctx)
{
	const struct pb_config *cfg = ctx->req->cfg;
	const struct pb_checkout *co = &ctx->co;
	char *bin = NULL;
	int rc;

	rc = pb_env_init(env, (const char *const *)cfg->server.env_pass,
			 cfg->server.n_env_pass);
	if (rc < 0)
		return rc;
	if ((rc = pb_env_set(env, "PRBOT_JOB_ID", ctx->req->job.id)) < 0 ||
	    (rc = pb_env_set(env, "PRBOT_REPO",
			     co->origin ? co->origin : ctx->req->repo)) < 0 ||
	    (rc = pb_env_set(env, "PRBOT_REF", co->ref ? co->ref : "")) < 0 ||
	    (rc = pb_env_set(env, "PRBOT_SHA", co->sha ? co->sha : "")) < 0 ||
	    (rc = pb_env_set(env, "PRBOT_WORKSPACE",
			     co->project_dir ? co->project_dir : "")) < 0 ||
	    (rc = pb_env_set(env, "PRBOT_JOB_DIR", ctx->job_dir)) < 0)
		goto out;
	if (ctx->model_path &&
	    (rc = pb_env_set(env, "PRBOT_MODEL", ctx->model_path)) < 0)
		goto out;
	if (ctx->venv) {
		if (!(bin = pb_path_join(ctx->venv, "bin"))) {
			rc = pb_err_set("out of memory");
			goto out;
		}
		if ((rc = pb_env_path_prepend(env, bin)) < 0 ||
		    (rc = pb_env_set(env, "VIRTUAL_ENV", ctx->venv)) < 0)
			goto out;
	}
out:
	free(bin);
	if (rc < 0)
		pb_env_release(env);
	return rc;
}

/* "$ cmd args..." in the job log; "sh -c TEXT" shows as TEXT. */
static void log_command(struct pb_run_ctx *ctx, const char *const *argv)
{
	struct pb_buf line = PB_BUF_INIT;
	size_t i;

	if (argv[0] && argv[1] && !strcmp(argv[1], "-c") && argv[2]) {
		pb_job_log(ctx, "$ %s", argv[2]);
		return;
	}
	for (i = 0; argv[i]; i++)
		if (pb_buf_printf(&line, "%s%s", i ? " " : "", argv[i]) < 0)
			return;
	pb_job_log(ctx, "$ %s", pb_buf_cstr(&line));
	pb_buf_release(&line);
}

int pb_stage_exec(struct pb_run_ctx *ctx, struct pb_stage_record *rec,
		  const struct stage_cmd *cmd, struct pb_run_result *res)
{
	const struct pb_config *cfg = ctx->req->cfg;
	struct pb_env own_env = { NULL, 0 };
	struct pb_buf own_tail = PB_BUF_INIT;
	struct pb_run_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	if (!cmd->env && (rc = pb_stage_env(&own_env, ctx)) < 0)
		return rc;
	o.argv = cmd->argv;
	o.cwd = cmd->cwd ? cmd->cwd : ctx->co.project_dir;
	o.env = cmd->env ? cmd->env : &own_env;
	o.timeout_sec = cmd->timeout_sec ? cmd->timeout_sec :
			ctx->rc		 ? ctx->rc->train.timeout_sec :
					   0;
	o.limits.cpu_sec = cfg->server.limit_cpu_sec;
	o.limits.as_bytes = cfg->server.limit_memory;
	o.limits.fsize = cfg->server.limit_fsize;
	o.limits.nofile = cfg->server.limit_nofile;
	o.stdin_data = cmd->stdin_data;
	o.stdin_len = cmd->stdin_len;
	o.capture_stdout = cmd->capture_stdout;
	o.log_fd = ctx->log_fd;
	o.tail = cmd->tail ? cmd->tail : &own_tail;
	o.tail_max = 4096;
	o.redact = ctx->req->redact;
	o.cancel = ctx->req->cancel;
	log_command(ctx, cmd->argv);
	rc = pb_run(res, &o);
	if (rc == 0) {
		char what[128];

		rec->child_seconds += res->seconds;
		pb_job_log(ctx, "%s (%.2fs)",
			   pb_run_describe(res, what, sizeof(what)),
			   res->seconds);
	}
	pb_buf_release(&own_tail);
	pb_env_release(&own_env);
	return rc;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * WORKDIR/jobs/ID, or ID.2, ID.3, ... when an earlier attempt of the same job
 * left its folder (a retry after the daemon died): each attempt starts from
 * a fresh folder, and an orphaned child of the dead attempt never writes into
 * the new one.
 */
static int job_dir_make(struct pb_run_ctx *ctx, const char *jobs)
{
	struct pb_buf dir = PB_BUF_INIT;
	int n, rc;

	for (n = 1; n <= 100; n++) {
		pb_buf_reset(&dir);
		rc = n == 1 ? pb_buf_printf(&dir, "%s/%s", jobs,
					    ctx->req->job.id) :
			      pb_buf_printf(&dir, "%s/%s.%d", jobs,
					    ctx->req->job.id, n);
		if (rc < 0)
			return rc;
		if (mkdir(dir.ptr, 0700) == 0) {
			ctx->job_dir = pb_buf_detach(&dir);
			return 0;
		}
		if (errno != EEXIST) {
			rc = pb_err_set("cannot create job folder '%s': %s",
					dir.ptr, strerror(errno));
			pb_buf_release(&dir);
			return rc;
		}
	}
	rc = pb_err_set("job '%s' has 100 folders under '%s': remove old ones",
			ctx->req->job.id, jobs);
	pb_buf_release(&dir);
	return rc;
}

static int job_dir_create(struct pb_run_ctx *ctx)
{
	const struct pb_config *cfg = ctx->req->cfg;
	char abs[PATH_MAX];
	char *jobs = NULL;
	int rc;

	if ((rc = pb_mkdirs(cfg->server.workdir, 0700)) < 0)
		return pb_err_prefix(rc, "workdir '%s'", cfg->server.workdir);
	if (!realpath(cfg->server.workdir, abs))
		return pb_err_set("workdir '%s': %s", cfg->server.workdir,
				  strerror(errno));
	if (!(jobs = pb_path_join(abs, "jobs"))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	if ((rc = pb_mkdirs(jobs, 0700)) < 0 ||
	    (rc = job_dir_make(ctx, jobs)) < 0)
		goto out;
	if (!(ctx->log_path = pb_path_join(ctx->job_dir, "job.log"))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	ctx->log_fd = open(ctx->log_path,
			   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (ctx->log_fd < 0)
		rc = pb_err_set("cannot open job log '%s': %s", ctx->log_path,
				strerror(errno));
out:
	free(jobs);
	return rc;
}

static void run_fail(struct pb_run_ctx *ctx, enum pb_stage_id id,
		     enum pb_outcome outcome)
{
	struct pb_stage_record *rec = &ctx->stages[id];

	if (outcome > ctx->outcome)
		ctx->outcome = outcome;
	if (!ctx->error) {
		struct pb_buf b = PB_BUF_INIT;

		pb_buf_printf(&b, "%s: %s", pb_stage_name(id),
			      rec->error ? rec->error : "failed");
		ctx->error = pb_buf_detach(&b);
	}
}

static int cancelled(const struct pb_run_ctx *ctx)
{
	return ctx->req->cancel && atomic_load(ctx->req->cancel);
}

int pb_pipeline_run(struct pb_run_ctx *ctx, const struct pb_run_request *req)
{
	size_t i;
	int stopped = 0, rc;

	memset(ctx, 0, sizeof(*ctx));
	ctx->req = req;
	ctx->log_fd = -1;
	if ((rc = job_dir_create(ctx)) < 0)
		return rc;
	pb_job_log(ctx, "job %s: %s on %s%s%s", req->job.id, req->job.command,
		   req->repo, req->ref ? " ref " : "",
		   req->ref ? req->ref : "");
	for (i = 0; i < req->n_stages; i++) {
		enum pb_stage_id id = req->stages[i];
		struct pb_stage_record *rec = &ctx->stages[id];
		double t0;

		if (stopped) {
			rec->state = PB_STAGE_SKIPPED;
			continue;
		}
		if (cancelled(ctx)) {
			rec->state = PB_STAGE_CANCELLED;
			ctx->outcome = PB_OUTCOME_CANCELLED;
			stopped = 1;
			continue;
		}
		rec->state = PB_STAGE_RUNNING;
		if (req->on_stage)
			req->on_stage(ctx, id, req->on_stage_arg);
		pb_job_log(ctx, "stage %s started", pb_stage_name(id));
		t0 = now_sec();
		pb_err_clear();
		rc = stage_table[id](ctx, rec);
		rec->seconds = now_sec() - t0;
		if (rc >= 0) {
			rec->state = rc > 0 ? PB_STAGE_SKIPPED : PB_STAGE_OK;
			pb_job_log(ctx, "stage %s %s in %.2fs%s%s",
				   pb_stage_name(id),
				   pb_stage_state_name(rec->state),
				   rec->seconds, rec->note ? ": " : "",
				   rec->note ? rec->note : "");
			if (req->on_stage)
				req->on_stage(ctx, id, req->on_stage_arg);
			continue;
		}
		if (!rec->error)
			pb_stage_fail(rec, rc, "%s", pb_err_last());
		stopped = 1;
		if (rc == PB_ECANCELLED || cancelled(ctx)) {
			rec->state = PB_STAGE_CANCELLED;
			run_fail(ctx, id, PB_OUTCOME_CANCELLED);
		} else {
			rec->state = PB_STAGE_FAILED;
			run_fail(ctx, id,
				 ctx->outcome == PB_OUTCOME_CONFIG_ERROR ?
					 PB_OUTCOME_CONFIG_ERROR :
					 PB_OUTCOME_FAILED);
		}
		pb_job_log(ctx, "stage %s %s: %s", pb_stage_name(id),
			   pb_stage_state_name(rec->state), rec->error);
		if (req->on_stage)
			req->on_stage(ctx, id, req->on_stage_arg);
	}
	if (!req->cfg->server.keep_workspace && ctx->have_checkout)
		pb_rmtree(ctx->co.workspace);
	return 0;
}

void pb_run_ctx_release(struct pb_run_ctx *ctx)
{
	size_t i;

	for (i = 0; i < PB_STAGE_COUNT; i++) {
		free(ctx->stages[i].note);
		free(ctx->stages[i].error);
	}
	free(ctx->error);
	free(ctx->manifest_path);
	json_decref(ctx->manifest);
	if (ctx->have_artifact)
		pb_put_result_release(&ctx->artifact);
	for (i = 0; i < ctx->n_cases; i++)
		pb_case_result_release(&ctx->cases[i]);
	free(ctx->cases);
	free(ctx->gates);
	pb_metrics_release(&ctx->metrics);
	free(ctx->model_path);
	free(ctx->notebook_out);
	free(ctx->venv);
	pb_repo_config_free(ctx->rc);
	if (ctx->have_checkout)
		pb_checkout_release(&ctx->co);
	if (ctx->log_fd >= 0)
		close(ctx->log_fd);
	free(ctx->log_path);
	free(ctx->job_dir);
	memset(ctx, 0, sizeof(*ctx));
	ctx->log_fd = -1;
}
