/* stage_train.c: execute the notebook or the command, or use the checked-in
 * model */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "prbot/err.h"
#include "stage.h"
#include "banned.h"

static int model_present(const struct pb_run_ctx *ctx)
{
	struct stat st;

	return stat(ctx->model_path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Jupyter's state goes to the job folder, never to the bot's HOME. */
static int notebook_env(struct pb_env *env, const struct pb_run_ctx *ctx)
{
	struct pb_buf p = PB_BUF_INIT;
	int rc;

	if ((rc = pb_stage_env(env, ctx)) < 0)
		return rc;
	if ((rc = pb_buf_printf(&p, "%s/.jupyter", ctx->job_dir)) < 0 ||
	    (rc = pb_env_set(env, "JUPYTER_CONFIG_DIR", p.ptr)) < 0 ||
	    (rc = pb_buf_puts(&p, "/runtime")) < 0 ||
	    (rc = pb_env_set(env, "JUPYTER_RUNTIME_DIR", p.ptr)) < 0)
		goto out;
	pb_buf_reset(&p);
	if ((rc = pb_buf_printf(&p, "%s/.ipython", ctx->job_dir)) < 0 ||
	    (rc = pb_env_set(env, "IPYTHONDIR", p.ptr)) < 0)
		goto out;
	if (ctx->venv) {
		pb_buf_reset(&p);
		if ((rc = pb_buf_printf(&p, "%s/share/jupyter", ctx->venv)) <
			    0 ||
		    (rc = pb_env_set(env, "JUPYTER_PATH", p.ptr)) < 0)
			goto out;
	}
out:
	pb_buf_release(&p);
	if (rc < 0)
		pb_env_release(env);
	return rc;
}

static int executed_name(struct pb_buf *out, const char *notebook)
{
	const char *base = strrchr(notebook, '/');
	const char *dot;

	base = base ? base + 1 : notebook;
	dot = strrchr(base, '.');
	return pb_buf_printf(out, "%.*s.executed",
			     (int)(dot ? (size_t)(dot - base) : strlen(base)),
			     base);
}

static int run_notebook(struct pb_run_ctx *ctx, struct pb_stage_record *rec,
			struct pb_run_result *res, struct pb_buf *tail)
{
	const char *nb = ctx->rc->train.notebook;
	struct pb_buf outdir = PB_BUF_INIT, name = PB_BUF_INIT;
	struct pb_buf kernel = PB_BUF_INIT;
	struct pb_env env = { NULL, 0 };
	const char *argv[16];
	struct stage_cmd cmd;
	size_t n = 0;
	int rc;

	if ((rc = pb_buf_printf(&outdir, "%s/notebook", ctx->job_dir)) < 0 ||
	    (rc = executed_name(&name, nb)) < 0 ||
	    (rc = pb_buf_printf(&kernel, "--ExecutePreprocessor.kernel_name=%s",
				"prbot-venv")) < 0 ||
	    (rc = notebook_env(&env, ctx)) < 0)
		goto out;
	argv[n++] = "jupyter";
	argv[n++] = "nbconvert";
	argv[n++] = "--to";
	argv[n++] = "notebook";
	argv[n++] = "--execute";
	/* prbot's own wall-clock timeout covers the whole run */
	argv[n++] = "--ExecutePreprocessor.timeout=-1";
	if (ctx->venv)
		argv[n++] = kernel.ptr;
	argv[n++] = "--output-dir";
	argv[n++] = outdir.ptr;
	argv[n++] = "--output";
	argv[n++] = name.ptr;
	argv[n++] = nb;
	argv[n] = NULL;
	memset(&cmd, 0, sizeof(cmd));
	cmd.argv = argv;
	cmd.env = &env;
	cmd.tail = tail;
	if ((rc = pb_stage_exec(ctx, rec, &cmd, res)) < 0) {
		rc = pb_stage_fail(rec, rc,
				   "%s (install jupyter-nbconvert "
				   "and python3-ipykernel)",
				   pb_err_last());
		goto out;
	}
	if (!(ctx->notebook_out = malloc(outdir.len + name.len + 8))) {
		rc = pb_stage_fail(rec, PB_ERROR, "out of memory");
		goto out;
	}
	snprintf(ctx->notebook_out, outdir.len + name.len + 8, "%s/%s.ipynb",
		 outdir.ptr, name.ptr);
out:
	pb_env_release(&env);
	pb_buf_release(&kernel);
	pb_buf_release(&name);
	pb_buf_release(&outdir);
	return rc;
}

static void format_duration(char *out, size_t len, long sec)
{
	if (sec % 3600 == 0 && sec >= 3600)
		snprintf(out, len, "%ldh", sec / 3600);
	else if (sec % 60 == 0 && sec >= 60)
		snprintf(out, len, "%ldm", sec / 60);
	else
		snprintf(out, len, "%lds", sec);
}

int pb_stage_train(struct pb_run_ctx *ctx, struct pb_stage_record *rec)
{
	const struct pb_repo_config *rc = ctx->rc;
	const char *what = rc->train.notebook ? "notebook" : "command";
	const char *subject = rc->train.notebook ? rc->train.notebook :
						   rc->train.command;
	const char *sh[] = { "/bin/sh", "-c", rc->train.command, NULL };
	struct pb_buf tail = PB_BUF_INIT;
	struct pb_run_result res;
	char desc[128], last[300], limit[32];
	int err;

	if (!rc->train.notebook && !rc->train.command) {
		if (!model_present(ctx))
			return pb_stage_fail(rec, PB_ENOTFOUND,
					     "model file '%s' is not in commit "
					     "%.12s and .prbot.yml has no "
					     "train.notebook or train.command "
					     "to make it",
					     rc->model, ctx->co.sha);
		pb_stage_note(rec, "model checked in: training skipped");
		return 1;
	}
	if (rc->train.notebook) {
		err = run_notebook(ctx, rec, &res, &tail);
	} else {
		struct stage_cmd cmd;

		memset(&cmd, 0, sizeof(cmd));
		cmd.argv = sh;
		cmd.tail = &tail;
		err = pb_stage_exec(ctx, rec, &cmd, &res);
		if (err < 0)
			pb_stage_fail(rec, err, "%s", pb_err_last());
	}
	if (err < 0)
		goto out;
	pb_last_line(last, sizeof(last), pb_buf_cstr(&tail));
	if (res.cancelled) {
		err = pb_stage_fail(rec, PB_ECANCELLED, "%s '%s' cancelled",
				    what, subject);
	} else if (res.timed_out) {
		format_duration(limit, sizeof(limit), rc->train.timeout_sec);
		err = pb_stage_fail(rec, PB_ETIMEOUT,
				    "%s '%s' timed out after %s (raise "
				    "train.timeout in .prbot.yml)",
				    what, subject, limit);
	} else if (!res.exited || res.exit_code) {
		err = pb_stage_fail(rec, PB_ERROR, "%s '%s' failed: %s%s%s",
				    what, subject,
				    pb_run_describe(&res, desc, sizeof(desc)),
				    *last ? ": " : "", last);
	} else if (!model_present(ctx)) {
		err = pb_stage_fail(rec, PB_ENOTFOUND,
				    "model file '%s' not found after training "
				    "(the %s must write it)",
				    rc->model, what);
	} else {
		pb_stage_note(rec, "%s '%s' ran in %.1fs", what, subject,
			      res.seconds);
	}
out:
	pb_buf_release(&tail);
	return err;
}
