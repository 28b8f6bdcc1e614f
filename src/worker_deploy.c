/* worker_deploy.c: /deploy's words, and the evaluation a deploy reuses */
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/log.h"
#include "worker_deploy.h"
#include "banned.h"

#define DEPLOY_USAGE "deploy [ENV] [--dry-run]"

void pb_wdeploy_release(struct pb_wdeploy *d)
{
	json_decref(d->manifest);
	memset(d, 0, sizeof(*d));
}

int pb_wdeploy_args(struct pb_wdeploy *d, const json_t *args)
{
	const char *w;
	size_t i;
	int rc;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < json_array_size(args); i++) {
		if (!(w = json_string_value(json_array_get(args, i))))
			continue;
		if (!strcmp(w, "--dry-run")) {
			d->dry_run = 1;
			continue;
		}
		if (w[0] == '-')
			return pb_err_setc(
				PB_EINVAL,
				"'deploy' does not take '%s': usage: "
				"%s",
				w, DEPLOY_USAGE);
		if (d->env)
			return pb_err_setc(PB_EINVAL,
					   "'deploy' takes one environment, "
					   "not '%s' and '%s': usage: %s",
					   d->env, w, DEPLOY_USAGE);
		if ((rc = pb_env_name_check(w)) < 0)
			return rc;
		d->env = w;
	}
	return 0;
}

void pb_wdeploy_reuse(struct pb_wdeploy *d, struct pb_state *st,
		      const char *repo, const char *sha)
{
	struct pb_evaluation e;
	struct pb_job job;
	json_t *report = NULL, *m;
	int rc;

	memset(&e, 0, sizeof(e));
	memset(&job, 0, sizeof(job));
	if (!sha)
		return;
	rc = pb_state_evaluation_of_sha(st, repo, sha, &e);
	if (rc < 0) {
		if (rc != PB_ENOTFOUND)
			pb_log_warnx(
				"cannot look up the evaluation of %s@%.12s: "
				"%s",
				repo, sha, pb_err_last());
		return;
	}
	if (!e.job_id || pb_state_job_get(st, e.job_id, &job) < 0 ||
	    !job.report)
		goto out;
	report = json_loads(job.report, 0, NULL);
	m = json_object_get(report, "manifest");
	if (!json_is_object(m) ||
	    !json_is_string(json_object_get(m, "model_md5_hash")))
		goto out;
	d->manifest = json_incref(m);
	d->reused = 1;
	d->eval_job = e.job_id;
out:
	json_decref(report);
	pb_job_release(&job);
	pb_evaluation_release(&e);
}
