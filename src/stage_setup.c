/* stage_setup.c: a fresh Python venv per requirements, cached by SHA-256 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "prbot/fs.h"
#include "prbot/err.h"
#include "prbot/hash.h"
#include "stage.h"
#include "banned.h"

#define READY_MARK  ".prbot-ready"
#define KERNEL_NAME "prbot-venv"

/* The cache key: interpreter, setup command and requirements content. */
static int venv_key(char out[65], const struct pb_run_ctx *ctx)
{
	const struct pb_repo_config *rc = ctx->rc;
	struct pb_buf k = PB_BUF_INIT;
	struct pb_digest d;
	char *req = pb_path_join(ctx->co.project_dir, rc->train.requirements);
	int err = 0;

	if (!req)
		return pb_err_set("out of memory");
	memset(&d, 0, sizeof(d));
	if (access(req, F_OK) == 0 && pb_hash_file(&d, req) < 0) {
		err = pb_err_prefix(PB_ERROR, "requirements '%s'",
				    rc->train.requirements);
		goto out;
	}
	if ((err = pb_buf_printf(&k, "prbot-venv-1\n%s\n%s\n%s\n",
				 ctx->req->cfg->server.python, rc->train.setup,
				 d.sha256)) < 0)
		goto out;
	pb_sha256_hex(out, k.ptr, k.len);
out:
	pb_buf_release(&k);
	free(req);
	return err;
}

/* A kernelspec inside the venv, so notebooks run on the venv's python. */
static int write_kernelspec(const char *venv)
{
	struct pb_buf dir = PB_BUF_INIT, py = PB_BUF_INIT, file = PB_BUF_INIT;
	json_t *spec = NULL;
	char *text = NULL;
	int rc;

	if ((rc = pb_buf_printf(&dir, "%s/share/jupyter/kernels/%s", venv,
				KERNEL_NAME)) < 0 ||
	    (rc = pb_buf_printf(&py, "%s/bin/python", venv)) < 0 ||
	    (rc = pb_buf_printf(&file, "%s/kernel.json", dir.ptr)) < 0)
		goto out;
	if ((rc = pb_mkdirs(dir.ptr, 0755)) < 0)
		goto out;
	/* frozen_modules=off keeps the debugger's warning out of the log */
	spec = json_pack("{s:[s,s,s,s,s,s],s:s,s:s}", "argv", py.ptr,
			 "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
			 "-f", "{connection_file}", "display_name",
			 "prbot venv", "language", "python");
	if (!spec || !(text = json_dumps(spec, JSON_INDENT(1)))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	rc = pb_write_atomic(file.ptr, text, strlen(text));
out:
	free(text);
	json_decref(spec);
	pb_buf_release(&file);
	pb_buf_release(&py);
	pb_buf_release(&dir);
	return rc;
}

/* Create the venv, run train.setup in it, and last write its ready mark. */
static int venv_build(struct pb_run_ctx *ctx, struct pb_stage_record *rec,
		      const char *venv, const char *mark)
{
	const char *python = ctx->req->cfg->server.python;
	const char *mk[] = { python, "-m", "venv", "--system-site-packages",
			     venv,   NULL };
	const char *sh[] = { "/bin/sh", "-c", ctx->rc->train.setup, NULL };
	struct pb_buf tail = PB_BUF_INIT;
	struct pb_run_result res;
	struct stage_cmd cmd;
	char what[128], last[256];
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.argv = mk;
	cmd.tail = &tail;
	if ((rc = pb_stage_exec(ctx, rec, &cmd, &res)) < 0) {
		rc = pb_stage_fail(rec, rc,
				   "cannot create a venv with '%s': %s"
				   " (set [server] python)",
				   python, pb_err_last());
		goto out;
	}
	if (!res.exited || res.exit_code) {
		pb_last_line(last, sizeof(last), pb_buf_cstr(&tail));
		rc = pb_stage_fail(rec, PB_ERROR,
				   "'%s -m venv' %s: %s (is python3-venv "
				   "installed?)",
				   python,
				   pb_run_describe(&res, what, sizeof(what)),
				   last);
		goto out;
	}
	if (!(ctx->venv = strdup(venv))) {
		rc = pb_stage_fail(rec, PB_ERROR, "out of memory");
		goto out;
	}
	pb_buf_reset(&tail);
	cmd.argv = sh;
	if ((rc = pb_stage_exec(ctx, rec, &cmd, &res)) < 0) {
		rc = pb_stage_fail(rec, rc, "%s", pb_err_last());
		goto out;
	}
	if (res.cancelled) {
		rc = pb_stage_fail(rec, PB_ECANCELLED, "cancelled");
		goto out;
	}
	if (!res.exited || res.exit_code) {
		pb_last_line(last, sizeof(last), pb_buf_cstr(&tail));
		rc = pb_stage_fail(rec, PB_ERROR, "train.setup '%s' %s: %s",
				   ctx->rc->train.setup,
				   pb_run_describe(&res, what, sizeof(what)),
				   last);
		goto out;
	}
	if ((rc = write_kernelspec(venv)) < 0) {
		rc = pb_stage_fail(rec, rc, "venv kernelspec: %s",
				   pb_err_last());
		goto out;
	}
	if ((rc = pb_write_atomic(mark, "ready\n", 6)) < 0)
		rc = pb_stage_fail(rec, PB_ERROR, "venv '%s': %s", venv,
				   pb_err_last());
out:
	pb_buf_release(&tail);
	return rc;
}

/* Exclusive while one job builds a venv; others wait and then reuse it. */
static int venv_lock(const char *venvs, const char *key)
{
	struct pb_buf p = PB_BUF_INIT;
	int fd;

	if (pb_buf_printf(&p, "%s/%s.lock", venvs, key) < 0)
		return -1;
	fd = open(p.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		pb_err_set("cannot lock '%s': %s", p.ptr, strerror(errno));
	pb_buf_release(&p);
	return fd;
}

int pb_stage_setup(struct pb_run_ctx *ctx, struct pb_stage_record *rec)
{
	char abs[PATH_MAX], key[65];
	char *venvs = NULL, *venv = NULL, *mark = NULL;
	int rc, lock = -1;

	if (!ctx->rc->train.setup) {
		pb_stage_note(rec, "no train.setup: commands use the system "
				   "Python");
		return 1;
	}
	if ((rc = venv_key(key, ctx)) < 0)
		return pb_stage_fail(rec, rc, "%s", pb_err_last());
	key[16] = '\0';
	if (!realpath(ctx->req->cfg->server.workdir, abs))
		return pb_stage_fail(rec, PB_ERROR, "workdir '%s': %s",
				     ctx->req->cfg->server.workdir,
				     strerror(errno));
	if (!(venvs = pb_path_join(abs, "venvs")) ||
	    !(venv = pb_path_join(venvs, key)) ||
	    !(mark = pb_path_join(venv, READY_MARK))) {
		rc = pb_stage_fail(rec, PB_ERROR, "out of memory");
		goto out;
	}
	if ((rc = pb_mkdirs(venvs, 0700)) < 0 ||
	    (lock = venv_lock(venvs, key)) < 0) {
		rc = pb_stage_fail(rec, PB_ERROR, "%s", pb_err_last());
		goto out;
	}
	if (access(mark, F_OK) == 0) {
		if (!(ctx->venv = strdup(venv)))
			rc = pb_stage_fail(rec, PB_ERROR, "out of memory");
		else
			pb_stage_note(rec,
				      "environment reused (cache hit, "
				      "key %s)",
				      key);
		goto out;
	}
	/* A folder without the mark is a build that died: start over. */
	pb_rmtree(venv);
	pb_job_log(ctx, "creating venv %s", venv);
	rc = venv_build(ctx, rec, venv, mark);
	if (rc < 0) {
		free(ctx->venv);
		ctx->venv = NULL;
		pb_rmtree(venv);
		goto out;
	}
	pb_stage_note(rec, "environment created (key %s)", key);
out:
	if (lock >= 0)
		close(lock);
	free(mark);
	free(venv);
	free(venvs);
	return rc;
}
