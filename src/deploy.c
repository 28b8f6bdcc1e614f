/* deploy.c: /deploy and /rollback: lock, requires, publish, GitHub, history */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prbot/checkout.h"
#include "prbot/deploy.h"
#include "prbot/err.h"
#include "prbot/log.h"
#include "prbot/manifest.h"
#include "prbot/publish.h"
#include "prbot/sign.h"
#include "banned.h"

#define MANIFEST_NAME "model_manifest.json"

void pb_deploy_result_release(struct pb_deploy_result *r)
{
	if (!r)
		return;
	pb_buf_release(&r->md);
	free(r->status);
	r->status = NULL;
}

/* End with outcome, a status line and (already in md) the Markdown. */
static int result_set(struct pb_deploy_result *out,
		      enum pb_deploy_outcome outcome, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int result_set(struct pb_deploy_result *out,
		      enum pb_deploy_outcome outcome, const char *fmt, ...)
{
	struct pb_buf b = PB_BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = pb_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return rc;
	free(out->status);
	out->status = pb_buf_detach(&b);
	out->outcome = outcome;
	return 0;
}

/* A refusal: "@actor: /deploy to `env` refused: WHY" and its status. */
static int refuse(struct pb_deploy_result *out, const struct pb_deploy_req *q,
		  const char *what, const char *env, const char *why)
{
	int rc = pb_buf_printf(&out->md, "@%s: /%s%s%s%s refused: %s\n",
			       q->actor, what, env ? " to `" : "",
			       env ? env : "", env ? "`" : "", why);

	if (rc == 0)
		rc = result_set(out, PB_DEPLOY_REFUSED, "refused: %s", why);
	return rc;
}

/* ---- the manifest pb_publish writes ---- */

struct man_arg {
	const json_t *evaluated; /* /deploy: the evaluation's manifest */
	const char *environment;
	const char *fixed; /* /rollback: the bytes published before */
	const struct pb_sign_key *key;
};

static int manifest_cb(struct pb_buf *manifest, struct pb_buf *sig,
		       const char *version, void *arg)
{
	const struct man_arg *a = arg;
	json_t *m;
	int rc;

	if (a->fixed) {
		rc = pb_buf_puts(manifest, a->fixed);
	} else {
		if (!(m = pb_deploy_manifest(a->evaluated, version,
					     a->environment)))
			return pb_err_set("cannot build the manifest: out of "
					  "memory");
		rc = pb_manifest_dump(manifest, m);
		json_decref(m);
	}
	if (rc == 0 && a->key)
		rc = pb_sign_line(sig, a->key, manifest->ptr, manifest->len);
	return rc;
}

/* ---- checks ---- */

/* 1 when another pull request holds env's lock (refusal written). */
static int lock_held(struct pb_deploy_result *out,
		     const struct pb_deploy_req *q, const char *what,
		     const char *env)
{
	struct pb_env_lock_list l = { NULL, 0 };
	struct pb_buf why = PB_BUF_INIT;
	size_t i;
	int rc;

	if ((rc = pb_state_locks(q->st, q->repo, &l)) < 0)
		return rc;
	for (i = 0; i < l.n; i++)
		if (!strcmp(l.v[i].environment, env) && l.v[i].pr != q->pr)
			break;
	if (i < l.n) {
		rc = pb_buf_printf(
			&why,
			"`%s` is locked by #%lld (taken by @%s%s%s); "
			"/unlock %s first",
			env, (long long)l.v[i].pr, l.v[i].actor,
			l.v[i].reason ? ", reason: " : "",
			l.v[i].reason ? l.v[i].reason : "", env);
		if (rc == 0)
			rc = refuse(out, q, what, env, why.ptr);
		if (rc == 0)
			rc = 1;
	}
	pb_buf_release(&why);
	pb_env_lock_list_release(&l);
	return rc;
}

/*
 * 1 when an older job of this pull request deploys to or rolls back env
 * now (refusal written): two at once would publish two versions of one
 * commit, as each evaluation writes its own manifest.
 */
static int job_running(struct pb_deploy_result *out,
		       const struct pb_deploy_req *q, const char *what,
		       const char *env)
{
	struct pb_job_list jobs = { NULL, 0 };
	struct pb_buf why = PB_BUF_INIT;
	const struct pb_job *j;
	const char *dflt = q->rc && q->rc->deploy.n_envs ?
				   q->rc->deploy.envs[0].name :
				   NULL;
	json_t *args;
	int known, rc;

	if (q->dry_run || !q->job_row)
		return 0;
	if ((rc = pb_state_jobs_of_pr(q->st, q->repo, q->pr, 0, &jobs)) < 0)
		return rc;
	if ((j = pb_deploy_running(&jobs, q->job_row, env, dflt))) {
		args = json_loads(j->args ? j->args : "[]", 0, NULL);
		known = j->environment ||
			pb_deploy_job_env(j->command, args, dflt);
		json_decref(args);
		rc = pb_buf_printf(&why,
				   "/%s `%s` of this pull request (by @%s) is "
				   "running %s `%s` now; comment again when it "
				   "has ended",
				   j->command, j->public_id, j->actor,
				   known ? "on" : "and may deploy to", env);
		if (rc == 0)
			rc = refuse(out, q, what, env, why.ptr);
		if (rc == 0)
			rc = 1;
	}
	pb_buf_release(&why);
	pb_job_list_release(&jobs);
	return rc;
}

/* 1 when a requirement of env is not met (refusal written). */
static int requires_unmet(struct pb_deploy_result *out,
			  const struct pb_deploy_req *q,
			  const struct pb_environment *env)
{
	struct pb_gh_reviews reviews = { NULL, 0 };
	struct pb_gh_checks checks = { NULL, 0 };
	struct pb_buf why = PB_BUF_INIT;
	int need_rev = 0, need_chk = 0, rc = 0;
	size_t i;

	if (!env->n_requires)
		return 0;
	for (i = 0; i < env->n_requires; i++) {
		need_rev |= !strcmp(env->requires[i], "approved");
		need_chk |= !strcmp(env->requires[i], "checks");
	}
	if (!q->gh && (need_rev || need_chk)) {
		rc = refuse(out, q, "deploy", env->name,
			    "its `requires:` need GitHub's reviews and checks, "
			    "and prbot has no [github] token");
		return rc < 0 ? rc : 1;
	}
	if ((need_rev &&
	     pb_gh_reviews_list(q->gh, &reviews, q->repo, (long)q->pr) < 0) ||
	    (need_chk &&
	     pb_gh_checks_list(q->gh, &checks, q->repo, q->sha) < 0)) {
		rc = pb_buf_printf(&why,
				   "prbot could not read what `requires:` "
				   "needs from GitHub (%s)",
				   pb_err_last());
		if (rc == 0)
			rc = refuse(out, q, "deploy", env->name, why.ptr);
		rc = rc < 0 ? rc : 1;
		goto out;
	}
	if ((rc = pb_deploy_requires(&why, env, &reviews, &checks)) <= 0)
		goto out;
	rc = pb_buf_printf(&out->md,
			   "@%s: /deploy to `%s` refused: what it requires is "
			   "not met:\n\n%s",
			   q->actor, env->name, why.ptr);
	if (rc == 0)
		rc = result_set(out, PB_DEPLOY_REFUSED,
				"refused: requirements of %s not met",
				env->name);
	rc = rc < 0 ? rc : 1;
out:
	pb_buf_release(&why);
	pb_gh_reviews_release(&reviews);
	pb_gh_checks_release(&checks);
	return rc;
}

/* 1 when an inference path is missing from the checkout (refused). */
static int inference_missing(struct pb_deploy_result *out,
			     const struct pb_deploy_req *q, const char *env)
{
	struct pb_buf path = PB_BUF_INIT, why = PB_BUF_INIT;
	struct stat sb;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < q->rc->deploy.n_inference; i++) {
		const char *p = q->rc->deploy.inference[i];

		pb_buf_reset(&path);
		if ((rc = pb_buf_printf(&path, "%s/%s", q->source_root, p)) < 0)
			break;
		if (lstat(path.ptr, &sb) == 0)
			continue;
		rc = pb_buf_printf(&why,
				   "`%s` of %s's `deploy.inference` does not "
				   "exist in this commit: add it or fix the "
				   "path",
				   p, q->rc->file ? q->rc->file : ".prbot.yml");
		if (rc == 0)
			rc = refuse(out, q, "deploy", env, why.ptr);
		if (rc == 0)
			rc = 1;
	}
	pb_buf_release(&path);
	pb_buf_release(&why);
	return rc;
}

/* ---- GitHub's deployment ---- */

static long long gh_deployment_start(const struct pb_deploy_req *q,
				     const char *sha, const char *env,
				     const char *desc)
{
	long long id = 0;

	if (!q->gh || q->dry_run)
		return 0;
	if (pb_gh_deployment_create(q->gh, &id, q->repo, sha, env, desc) < 0) {
		pb_log_warnx("job %s: cannot create the GitHub deployment: %s",
			     q->job_id, pb_err_last());
		return 0;
	}
	if (pb_gh_deployment_status(q->gh, q->repo, id, "in_progress",
				    q->log_url, desc) < 0)
		pb_log_warnx("job %s: cannot set the deployment in progress: "
			     "%s",
			     q->job_id, pb_err_last());
	return id;
}

static void gh_deployment_end(const struct pb_deploy_req *q, long long id,
			      int ok, const char *desc)
{
	if (!id)
		return;
	if (pb_gh_deployment_status(q->gh, q->repo, id,
				    ok ? "success" : "failure", q->log_url,
				    desc) < 0)
		pb_log_warnx("job %s: cannot end the GitHub deployment: %s",
			     q->job_id, pb_err_last());
}

/* ---- publishing, the reply and the record ---- */

/* What pb_publish needs beyond the environment, and what it gave. */
struct publish_job {
	const char *what; /* "deploy" or "rollback" */
	const char *env, *serving, *branch, *path;
	const char *sha;	 /* the ML commit */
	const char *rollback_of; /* /rollback: the version published again */
	const char *source_root;
	const char *const *inference;
	size_t n_inference;
	enum pb_version_schema schema;
	struct man_arg man;
	struct pb_publish_result res;
};

static int files_md(struct pb_buf *b, const struct pb_publish_result *r)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < r->n_files; i++)
		rc = pb_buf_printf(b, "%s`%s`", i ? ", " : "", r->files[i]);
	return rc;
}

/* The manifest bytes for version, as published. */
static int manifest_text(struct pb_buf *b, const struct man_arg *a,
			 const char *version)
{
	struct pb_buf sig = PB_BUF_INIT;
	struct man_arg plain = *a;
	int rc;

	plain.key = NULL;
	rc = manifest_cb(b, &sig, version, &plain);
	pb_buf_release(&sig);
	return rc;
}

static int reply_md(struct pb_deploy_result *out, const struct pb_deploy_req *q,
		    const struct publish_job *p, const char *manifest)
{
	const struct pb_publish_result *r = &p->res;
	json_t *m = json_loads(manifest, 0, NULL);
	const char *artifact =
		json_string_value(json_object_get(m, "model_filepath"));
	int rc;

	if (q->dry_run && r->already_deployed)
		rc = pb_buf_printf(&out->md,
				   "### Dry run: /%s to `%s`\n\n`%s` already "
				   "has this content (**%s**, serving commit "
				   "`%s`): a deploy would say \"already "
				   "deployed\" and change nothing.\n",
				   p->what, p->env, p->env,
				   r->version ? r->version : "untagged",
				   r->commit);
	else if (q->dry_run)
		rc = pb_buf_printf(&out->md,
				   "### Dry run: /%s to `%s`\n\nWould publish "
				   "**%s** to `%s` (branch `%s`, path `%s`); "
				   "nothing was pushed, locked or recorded.\n",
				   p->what, p->env, r->version, p->serving,
				   p->branch, p->path);
	else if (r->already_deployed)
		rc = pb_buf_printf(&out->md,
				   "### /%s to `%s`: already deployed\n\n`%s` "
				   "already has this content: **%s**, serving "
				   "commit `%s` of `%s`. No commit was made.\n",
				   p->what, p->env, p->env,
				   r->version ? r->version : "(untagged)",
				   r->commit, p->serving);
	else
		rc = pb_buf_printf(&out->md,
				   "### %s to `%s`\n\n| environment | version "
				   "| serving commit | artifact |\n| --- | --- "
				   "| --- | --- |\n| `%s` | **%s** | `%s` of "
				   "`%s` (branch `%s`) | %s |\n",
				   strcmp(p->what, "rollback") ? "Deployed" :
								 "Rolled back",
				   p->env, p->env, r->version, r->commit,
				   p->serving, p->branch,
				   artifact ? artifact : "?");
	if (rc == 0)
		rc = pb_buf_puts(&out->md, "\nFiles: ");
	if (rc == 0)
		rc = files_md(&out->md, r);
	if (rc == 0)
		rc = pb_buf_printf(&out->md,
				   "\n\n<details><summary>model_manifest.json "
				   "in `%s`</summary>\n\n```json\n%s```\n"
				   "</details>\n",
				   p->env, manifest);
	json_decref(m);
	return rc;
}

/* The schema as the deploy history stores it, and back. */
static const char *schema_name(enum pb_version_schema s)
{
	return s == PB_VERSION_MAJOR ? "major" :
	       s == PB_VERSION_MINOR ? "minor" :
				       "revision";
}

static enum pb_version_schema schema_of(const char *name)
{
	if (name && !strcmp(name, "major"))
		return PB_VERSION_MAJOR;
	if (name && !strcmp(name, "minor"))
		return PB_VERSION_MINOR;
	return PB_VERSION_REVISION;
}

static int record(const struct pb_deploy_req *q, const struct publish_job *p,
		  const char *manifest)
{
	struct pb_deployment d;
	int rc;

	memset(&d, 0, sizeof(d));
	d.repo = q->repo;
	d.environment = p->env;
	d.version = p->res.version;
	d.serving_repo = p->serving;
	d.serving_branch = p->branch;
	d.serving_path = p->path;
	d.serving_commit = p->res.commit;
	d.manifest = manifest;
	d.pr = q->pr;
	d.sha = p->sha;
	d.actor = q->actor;
	d.job_id = q->job_row;
	d.kind = p->what;
	d.created_at = (int64_t)time(NULL);
	d.version_schema = schema_name(p->schema);
	if ((rc = pb_state_deployment_add(q->st, &d, NULL)) < 0)
		pb_log_warnx("job %s: published %s to %s but cannot record it: "
			     "%s",
			     q->job_id, p->res.version, p->env, pb_err_last());
	return rc;
}

/* Publish p, tell GitHub, reply, record. */
static int publish(struct pb_deploy_result *out, const struct pb_deploy_req *q,
		   struct publish_job *p)
{
	struct pb_publish_opts o;
	struct pb_buf desc = PB_BUF_INIT, man = PB_BUF_INIT;
	long long dep;
	int rc;

	if ((rc = pb_buf_printf(&desc, "prbot %s %s of %s#%lld (%.12s)",
				q->job_id, p->what, q->repo, (long long)q->pr,
				p->sha)) < 0)
		return rc;
	dep = gh_deployment_start(q, p->sha, p->env, desc.ptr);
	memset(&o, 0, sizeof(o));
	o.repo = p->serving;
	o.branch = p->branch;
	o.path = p->path;
	o.workdir = q->cfg->server.workdir;
	o.token = q->token;
	o.source_root = p->source_root;
	o.inference = p->inference;
	o.n_inference = p->n_inference;
	o.schema = p->schema;
	o.manifest = manifest_cb;
	o.manifest_arg = &p->man;
	o.author_name = q->cfg->deploy.author_name;
	o.author_email = q->cfg->deploy.author_email;
	o.source_repo = q->repo;
	o.pr = (int)q->pr;
	o.source_sha = p->sha;
	o.environment = p->env;
	o.rollback_of = p->rollback_of;
	o.replace_path = p->rollback_of != NULL;
	o.dry_run = q->dry_run;
	if (pb_publish(&p->res, &o) < 0) {
		pb_buf_reset(&desc);
		rc = pb_buf_printf(&desc, "%s", pb_err_last());
		pb_log_warnx("job %s: %s to %s failed: %s", q->job_id, p->what,
			     p->env, desc.ptr);
		gh_deployment_end(q, dep, 0, desc.ptr);
		if (rc == 0)
			rc = pb_buf_printf(&out->md,
					   "@%s: /%s to `%s` failed, nothing "
					   "was published: %s\n",
					   q->actor, p->what, p->env, desc.ptr);
		if (rc == 0)
			rc = result_set(out, PB_DEPLOY_FAILED, "failed: %s",
					desc.ptr);
		goto out;
	}
	if ((rc = manifest_text(&man, &p->man,
				p->res.version ? p->res.version : "")) < 0 ||
	    (rc = reply_md(out, q, p, man.ptr)) < 0)
		goto out;
	pb_buf_reset(&desc);
	if (q->dry_run && p->res.already_deployed)
		rc = result_set(out, PB_DEPLOY_DONE,
				"dry run: %s already deployed", p->env);
	else if (q->dry_run)
		rc = result_set(out, PB_DEPLOY_DONE,
				"dry run: would publish %s", p->res.version);
	else if (p->res.already_deployed)
		rc = result_set(out, PB_DEPLOY_DONE, "%s already deployed (%s)",
				p->env,
				p->res.version ? p->res.version : "untagged");
	else
		rc = result_set(out, PB_DEPLOY_DONE, "%s: %s to %s at %.12s",
				p->what, p->res.version, p->env, p->res.commit);
	if (rc == 0)
		gh_deployment_end(q, dep, 1, out->status);
	if (rc == 0 && !q->dry_run && !p->res.already_deployed)
		record(q, p, man.ptr);
out:
	pb_buf_release(&desc);
	pb_buf_release(&man);
	return rc;
}

static int key_load(struct pb_sign_key **key, const struct pb_config *cfg)
{
	const char *pem = cfg->deploy.signing_key.value;

	*key = NULL;
	return pem ? pb_sign_key_private(key, pem, "[deploy] signing_key") : 0;
}

int pb_deploy_run(struct pb_deploy_result *out, const struct pb_deploy_req *q)
{
	const struct pb_environment *env;
	struct pb_env_lock want, held;
	struct publish_job p;
	struct pb_sign_key *key = NULL;
	int rc, taken = 0;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	memset(&held, 0, sizeof(held));
	if (!(env = pb_deploy_env_find(q->rc, q->environment))) {
		rc = refuse(out, q, "deploy", NULL, pb_err_last());
		goto out;
	}
	if (!q->passed) {
		rc = refuse(out, q, "deploy", env->name,
			    "a gate or a test case failed at this commit");
		goto out;
	}
	/* before the check: a newer /rollback then sees where this goes */
	if (!q->dry_run && q->job_row &&
	    pb_state_job_set_environment(q->st, q->job_row, env->name) < 0)
		pb_log_warnx("job %s: cannot record its environment: %s",
			     q->job_id, pb_err_last());
	if ((rc = job_running(out, q, "deploy", env->name)) != 0 ||
	    (rc = lock_held(out, q, "deploy", env->name)) != 0 ||
	    (rc = requires_unmet(out, q, env)) != 0 ||
	    (rc = inference_missing(out, q, env->name)) != 0)
		goto out;
	if (!q->dry_run) {
		memset(&want, 0, sizeof(want));
		want.repo = q->repo;
		want.environment = env->name;
		want.pr = q->pr;
		want.actor = q->actor;
		want.reason = "deployed";
		rc = pb_state_lock_take(q->st, &want, (int64_t)time(NULL),
					&taken, &held);
		if (rc == PB_EBUSY) { /* taken meanwhile */
			rc = refuse(out, q, "deploy", env->name, pb_err_last());
			goto out;
		}
		if (rc < 0)
			goto out;
	}
	if ((rc = key_load(&key, q->cfg)) < 0) {
		rc = refuse(out, q, "deploy", env->name, pb_err_last());
		goto out;
	}
	p.what = "deploy";
	p.env = env->name;
	p.serving = env->repo;
	p.branch = env->branch ? env->branch : "main";
	p.path = env->path ? env->path : ".";
	p.sha = q->sha;
	p.source_root = q->source_root;
	p.inference = (const char *const *)q->rc->deploy.inference;
	p.n_inference = q->rc->deploy.n_inference;
	p.schema = q->rc->deploy.version_schema;
	p.man.evaluated = q->manifest;
	p.man.environment = env->name;
	p.man.key = key;
	rc = publish(out, q, &p);
out:
	pb_publish_result_release(&p.res);
	pb_sign_key_free(key);
	pb_env_lock_release(&held);
	return rc < 0 ? rc : 0; /* 1: refused, as out says */
}

/* ---- rollback ---- */

/* The top-level names of dir but the manifest and its signature. */
static int dir_names(char ***out, size_t *n, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, **grown;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return pb_err_set("cannot read '%s': %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, MANIFEST_NAME) ||
		    !strcmp(e->d_name, MANIFEST_NAME PB_SIGN_SUFFIX))
			continue;
		if (!(grown = realloc(v, (*n + 1) * sizeof(*v))) ||
		    !(grown[*n] = strdup(e->d_name))) {
			v = grown ? grown : v;
			rc = pb_err_set("out of memory");
			break;
		}
		v = grown;
		(*n)++;
	}
	closedir(d);
	*out = v;
	return rc;
}

static void names_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The deployment to go back to, from hist (newest first); NULL: refused. */
static const struct pb_deployment *
rollback_target(struct pb_deploy_result *out, const struct pb_deploy_req *q,
		const struct pb_deployment_list *hist, const char *env, int *rc)
{
	struct pb_buf why = PB_BUF_INIT;
	size_t i;

	*rc = 0;
	if (q->version) {
		for (i = 0; i < hist->n; i++)
			if (!strcmp(hist->v[i].version, q->version))
				return &hist->v[i];
		*rc = pb_buf_printf(&why,
				    "`%s` never had %s from %s (see /status "
				    "for what it has)",
				    env, q->version, q->repo);
	} else if (hist->n > 1) {
		return &hist->v[1];
	} else {
		*rc = pb_buf_printf(
			&why,
			"`%s` has %s from %s: nothing to roll "
			"back to",
			env, hist->n ? "only one deployment" : "no deployment",
			q->repo);
	}
	if (*rc == 0)
		*rc = refuse(out, q, "rollback", env, why.ptr);
	pb_buf_release(&why);
	return NULL;
}

int pb_rollback_run(struct pb_deploy_result *out, const struct pb_deploy_req *q)
{
	struct pb_deployment_list hist = { NULL, 0 };
	const struct pb_deployment *t;
	struct pb_publish_read_opts ro;
	struct publish_job p;
	struct pb_sign_key *key = NULL;
	char *commit = NULL, **names = NULL;
	size_t n_names = 0;
	int rc, made = 0;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	if ((rc = pb_state_deployments(q->st, q->repo, q->environment, 0,
				       &hist)) < 0)
		goto out;
	if (!(t = rollback_target(out, q, &hist, q->environment, &rc)) ||
	    (rc = job_running(out, q, "rollback", q->environment)) != 0 ||
	    (rc = lock_held(out, q, "rollback", q->environment)) != 0)
		goto out;
	if ((rc = key_load(&key, q->cfg)) < 0) {
		rc = refuse(out, q, "rollback", q->environment, pb_err_last());
		goto out;
	}
	memset(&ro, 0, sizeof(ro));
	ro.repo = t->serving_repo;
	ro.workdir = q->cfg->server.workdir;
	ro.token = q->token;
	ro.rev = t->version;
	ro.path = t->serving_path;
	ro.dest = q->scratch;
	if (pb_publish_read(&commit, &ro) < 0) {
		rc = pb_buf_printf(&out->md,
				   "@%s: /rollback of `%s` failed, nothing was "
				   "published: %s\n",
				   q->actor, q->environment, pb_err_last());
		if (rc == 0)
			rc = result_set(out, PB_DEPLOY_FAILED, "failed: %s",
					pb_err_last());
		goto out;
	}
	made = 1;
	if ((rc = dir_names(&names, &n_names, q->scratch)) < 0)
		goto out;
	p.what = "rollback";
	p.env = t->environment;
	p.serving = t->serving_repo;
	p.branch = t->serving_branch;
	p.path = t->serving_path;
	p.sha = t->sha;
	p.rollback_of = t->version;
	p.source_root = q->scratch;
	p.inference = (const char *const *)names;
	p.n_inference = n_names;
	/* no checkout: bump as the environment's latest publish did */
	p.schema = schema_of(hist.v[0].version_schema);
	p.man.fixed = t->manifest;
	p.man.key = key;
	if ((rc = publish(out, q, &p)) == 0 && out->outcome == PB_DEPLOY_DONE &&
	    !q->dry_run)
		rc = pb_buf_printf(&out->md,
				   "\nThe files and manifest of **%s** (#%lld, "
				   "`%.12s`) again.\n",
				   t->version, (long long)t->pr, t->sha);
out:
	if (made)
		pb_rmtree(q->scratch);
	names_free(names, n_names);
	free(commit);
	pb_publish_result_release(&p.res);
	pb_sign_key_free(key);
	pb_deployment_list_release(&hist);
	return rc < 0 ? rc : 0; /* 1: refused, as out says */
}
