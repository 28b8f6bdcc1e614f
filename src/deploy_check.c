/* deploy_check.c: what a deploy checks before it publishes, without I/O */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prbot/deploy.h"
#include "prbot/err.h"
#include "banned.h"

#define OWN_PREFIX "prbot/" /* the contexts of prbot's own statuses */

static int envs_list(struct pb_buf *b, const struct pb_repo_config *rc)
{
	size_t i;
	int rc_ = 0;

	for (i = 0; rc_ == 0 && i < rc->deploy.n_envs; i++)
		rc_ = pb_buf_printf(b, "%s`%s`", i ? ", " : "",
				    rc->deploy.envs[i].name);
	return rc_;
}

const struct pb_environment *pb_deploy_env_find(const struct pb_repo_config *rc,
						const char *name)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	if (!rc || !rc->deploy.n_envs) {
		pb_err_setc(PB_EINVAL,
			    "%s has no `deploy:` section with environments: "
			    "add `deploy: { inference: [...], environments: "
			    "{ staging: { repo: URL } } }` to deploy from it",
			    rc && rc->file ? rc->file : ".prbot.yml");
		return NULL;
	}
	if (!name)
		return &rc->deploy.envs[0];
	for (i = 0; i < rc->deploy.n_envs; i++)
		if (!strcmp(rc->deploy.envs[i].name, name))
			return &rc->deploy.envs[i];
	if (envs_list(&b, rc) < 0)
		pb_err_set("out of memory");
	else
		pb_err_setc(PB_ENOTFOUND,
			    "`%s` is not an environment of %s: the known "
			    "ones are %s",
			    name, rc->file ? rc->file : ".prbot.yml", b.ptr);
	pb_buf_release(&b);
	return NULL;
}

/* The latest approving or blocking review of each reviewer. */
static int approved(struct pb_buf *why, const struct pb_gh_reviews *l)
{
	struct pb_buf blockers = PB_BUF_INIT;
	size_t i, j;
	int approvals = 0, rc = 0;

	for (i = 0; l && i < l->n; i++) {
		const char *who = l->v[i].user_login, *st = NULL;

		/* a later review of the same person decides: skip this one */
		for (j = i + 1; j < l->n; j++)
			if (!strcmp(l->v[j].user_login, who) &&
			    (!strcmp(l->v[j].state, "APPROVED") ||
			     !strcmp(l->v[j].state, "CHANGES_REQUESTED") ||
			     !strcmp(l->v[j].state, "DISMISSED")))
				break;
		if (j < l->n)
			continue;
		st = l->v[i].state;
		if (!strcmp(st, "APPROVED"))
			approvals++;
		else if (!strcmp(st, "CHANGES_REQUESTED"))
			rc = pb_buf_printf(&blockers, "%s@%s",
					   blockers.len ? ", " : "", who);
		if (rc < 0)
			goto out;
	}
	if (blockers.len)
		rc = pb_buf_printf(why,
				   "- `approved`: changes requested by %s\n",
				   blockers.ptr);
	else if (!approvals)
		rc = pb_buf_puts(why, "- `approved`: no approving review\n");
	if (rc == 0)
		rc = blockers.len || !approvals;
out:
	pb_buf_release(&blockers);
	return rc;
}

static int checks_ok(struct pb_buf *why, const struct pb_gh_checks *l)
{
	struct pb_buf pending = PB_BUF_INIT, failing = PB_BUF_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; l && i < l->n && rc == 0; i++) {
		const struct pb_gh_check *c = &l->v[i];

		if (!c->is_run &&
		    !strncmp(c->name, OWN_PREFIX, strlen(OWN_PREFIX)))
			continue;
		if (!strcmp(c->state, "success"))
			continue;
		if (!strcmp(c->state, "pending"))
			rc = pb_buf_printf(&pending, "%s`%s`",
					   pending.len ? ", " : "", c->name);
		else
			rc = pb_buf_printf(&failing, "%s`%s` (%s)",
					   failing.len ? ", " : "", c->name,
					   c->state);
	}
	if (rc == 0 && pending.len)
		rc = pb_buf_printf(why, "- `checks`: still pending: %s\n",
				   pending.ptr);
	if (rc == 0 && failing.len)
		rc = pb_buf_printf(why, "- `checks`: not successful: %s\n",
				   failing.ptr);
	if (rc == 0)
		rc = pending.len || failing.len;
	pb_buf_release(&pending);
	pb_buf_release(&failing);
	return rc;
}

int pb_deploy_requires(struct pb_buf *why, const struct pb_environment *env,
		       const struct pb_gh_reviews *reviews,
		       const struct pb_gh_checks *checks)
{
	size_t i;
	int unmet = 0, rc;

	for (i = 0; i < env->n_requires; i++) {
		const char *r = env->requires[i];

		if (!strcmp(r, "approved"))
			rc = approved(why, reviews);
		else if (!strcmp(r, "checks"))
			rc = checks_ok(why, checks);
		else if ((rc = pb_buf_printf(why,
					     "- `%s`: prbot does not know this "
					     "requirement (use approved or "
					     "checks)\n",
					     r)) == 0)
			rc = 1;
		if (rc < 0)
			return pb_err_set("out of memory");
		unmet += rc;
	}
	return unmet;
}

const char *pb_deploy_job_env(const char *command, const json_t *args,
			      const char *default_env)
{
	const char *w, *env = NULL;
	size_t i;
	int deploy = !strcmp(command, "deploy");

	if (!deploy && strcmp(command, "rollback"))
		return NULL;
	for (i = 0; i < json_array_size(args); i++) {
		if (!(w = json_string_value(json_array_get(args, i))))
			continue;
		if (!strcmp(w, "--dry-run"))
			return NULL;
		if (!env && w[0] != '-')
			env = w;
		if (!deploy)
			break; /* /rollback ENV [VERSION] */
	}
	return env ? env : deploy ? default_env : NULL;
}

/* Not an environment's name (pb_env_name_check): a /deploy not resolved. */
static const char unresolved[] = "?";

const struct pb_job *pb_deploy_running(const struct pb_job_list *jobs,
				       int64_t me, const char *env,
				       const char *default_env)
{
	const struct pb_job *found = NULL;
	const char *other;
	json_t *args;
	size_t i;

	for (i = 0; i < jobs->n; i++) {
		const struct pb_job *j = &jobs->v[i];

		if (j->id >= me || j->state != PB_JOB_RUNNING)
			continue;
		args = json_loads(j->args ? j->args : "[]", 0, NULL);
		other = pb_deploy_job_env(j->command, args,
					  default_env ? default_env :
							unresolved);
		/* what the job resolved beats the guess from its words */
		if (other && j->environment && !strcmp(j->command, "deploy"))
			other = j->environment;
		if (other && (other == unresolved || !strcmp(other, env)) &&
		    (!found || j->id < found->id))
			found = j;
		json_decref(args);
	}
	return found;
}

json_t *pb_deploy_manifest(const json_t *evaluated, const char *version,
			   const char *environment)
{
	json_t *m = json_deep_copy(evaluated);

	if (!m || !json_is_object(m) ||
	    json_object_set_new(m, "version", json_string(version)) < 0 ||
	    json_object_set_new(m, "environment", json_string(environment)) <
		    0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

int pb_deploy_status(struct pb_buf *b, struct pb_state *st, const char *repo)
{
	struct pb_deployment_list l = { NULL, 0 };
	size_t i;
	int rc;

	if ((rc = pb_state_deployed(st, repo, &l)) < 0 || !l.n)
		goto out;
	rc = pb_buf_puts(b, "\n**Deployed**\n\n| environment | version | "
			    "serving commit | from | by | when |\n| --- | --- "
			    "| --- | --- | --- | --- |\n");
	for (i = 0; rc == 0 && i < l.n; i++) {
		const struct pb_deployment *d = &l.v[i];
		time_t t = (time_t)d->created_at;
		struct tm tm;
		char when[32] = "?";

		if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
		rc = pb_buf_printf(b,
				   "| `%s` | %s%s | `%.12s` | #%lld `%.12s` | "
				   "@%s | %s |\n",
				   d->environment, d->version,
				   strcmp(d->kind, "rollback") ? "" :
								 " (rollback)",
				   d->serving_commit, (long long)d->pr, d->sha,
				   d->actor, when);
	}
out:
	pb_deployment_list_release(&l);
	return rc;
}
