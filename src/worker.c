/* worker.c: one worker's turn: claim a job, run it, answer on the PR */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "prbot/checkout.h"
#include "prbot/command.h"
#include "prbot/deploy.h"
#include "prbot/err.h"
#include "prbot/gh.h"
#include "prbot/log.h"
#include "prbot/redact.h"
#include "prbot/report_pr.h"
#include "prbot/report_slack.h"
#include "prbot/report_trend.h"
#include "prbot/source_github.h"
#include "prbot/state.h"
#include "prbot/fs.h"
#include "prbot/worker.h"
#include "worker_deploy.h"
#include "worker_locks.h"
#include "worker_notify.h"
#include "banned.h"

/* ---- the permission cache: in the state store, for every job process ---- */

struct pb_worker_cache {
	struct pb_state *st;
	int ttl;
};

int pb_worker_cache_new(struct pb_worker_cache **out, struct pb_state *st,
			int ttl_sec)
{
	struct pb_worker_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return pb_err_set("out of memory");
	c->st = st;
	c->ttl = ttl_sec;
	*out = c;
	return 0;
}

void pb_worker_cache_free(struct pb_worker_cache *c)
{
	free(c);
}

/* 1 and *out when a fresh answer is kept; a store failure is a miss. */
static int cache_get(struct pb_worker_cache *c, const char *repo,
		     const char *login, enum pb_perm *out, time_t now)
{
	char level[16];

	if (!c || pb_state_perm_get(c->st, repo, login, (int64_t)now - c->ttl,
				    level, sizeof(level)) <= 0)
		return 0;
	return pb_perm_parse(out, level) == 0;
}

/* Keep an answer; failing to is only logged (the next job asks again). */
static void cache_put(struct pb_worker_cache *c, const char *repo,
		      const char *login, enum pb_perm perm, time_t now)
{
	if (c && pb_state_perm_put(c->st, repo, login, pb_perm_name(perm),
				   (int64_t)now, (int64_t)now - c->ttl) < 0)
		pb_log_warnx("permission of %s on %s not kept: %s", login, repo,
			     pb_err_last());
}

/* ---- one job ---- */

struct run {
	const struct pb_worker_env *env;
	struct pb_job job;
	const struct pb_command *cmd;
	json_t *reply;	      /* the job's reply handle, parsed (or {}) */
	long long comment_id; /* the command comment; 0: unknown */
	struct pb_gh_pr pr;
	int have_pr;
	const char *sha; /* borrowed from job or pr */
	long long report_id;
	char *report_url; /* owned: the report comment's html_url, or NULL */
	int lost;	  /* the lease went to someone else: never finish */
	/* the stages run: the command's, or fewer (a deploy that reuses) */
	const enum pb_stage_id *stages;
	size_t n_stages;
	int quiet; /* a dry run: no commit status */
};

static const struct pb_conf_repo *repo_conf(const struct pb_config *cfg,
					    const char *repo)
{
	size_t i;

	for (i = 0; cfg && i < cfg->n_repos; i++)
		if (!strcmp(cfg->repos[i].name, repo))
			return &cfg->repos[i];
	return NULL;
}

/* A number or a numeric string of the reply handle; 0 when missing. */
static long long reply_id(const json_t *reply, const char *key)
{
	const json_t *v = json_object_get(reply, key);

	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

/* Post body as a comment on the job's PR (redacted); logged on failure. */
static int post(struct run *r, const char *body)
{
	const struct pb_worker_env *env = r->env;
	char *text;
	int rc;

	if (!env->gh || !r->job.pr) {
		pb_log_info("job %s: no pull request to answer on: %s",
			    r->job.public_id, body);
		return 0;
	}
	if (!(text = pb_redact_str(env->redact, body)))
		return pb_err_set("out of memory");
	rc = pb_gh_comment_create(env->gh, NULL, r->job.repo, (long)r->job.pr,
				  text);
	if (rc < 0)
		pb_log_warnx("job %s: cannot post a reply: %s",
			     r->job.public_id, pb_err_last());
	free(text);
	return rc;
}

static void react(struct run *r, const char *content)
{
	if (!r->env->gh)
		return;
	if (!r->comment_id) {
		pb_log_debug("job %s: no comment_id in its reply handle: no "
			     "'%s' reaction",
			     r->job.public_id, content);
		return;
	}
	if (pb_gh_reaction_add(r->env->gh, r->job.repo, r->comment_id,
			       content) < 0)
		pb_log_warnx("job %s: cannot add the '%s' reaction: %s",
			     r->job.public_id, content, pb_err_last());
}

/* ---- the chat a job came from (a Slack or Mattermost slash command) ---- */

/* The job's response_url, or NULL when it did not come from a chat. */
static const char *chat_url(const struct run *r)
{
	const char *url;

	if (!r->job.source || strcmp(r->job.source, "slack"))
		return NULL;
	url = json_string_value(json_object_get(r->reply, "response_url"));
	return url && *url ? url : NULL;
}

/* "/deploy staging on acme/churn#42", as the chat acknowledged it. */
static int chat_what(struct pb_buf *b, const struct run *r)
{
	json_t *args = json_loads(r->job.args ? r->job.args : "[]", 0, NULL);
	const char *w;
	size_t i;
	int rc;

	rc = pb_buf_printf(b, "/%s", r->job.command);
	for (i = 0; rc == 0 && i < json_array_size(args); i++)
		if ((w = json_string_value(json_array_get(args, i))))
			rc = pb_buf_printf(b, " %s", w);
	json_decref(args);
	if (rc == 0 && r->job.pr)
		rc = pb_buf_printf(b, " on %s#%lld", r->job.repo,
				   (long long)r->job.pr);
	else if (rc == 0 && r->job.ref)
		rc = pb_buf_printf(b, " on %s@%s", r->job.repo, r->job.ref);
	else if (rc == 0)
		rc = pb_buf_printf(b, " on %s", r->job.repo);
	return rc;
}

/* Post text (redacted) to the chat; a failure is a warning, never the
   job's. in_channel: the channel sees it, not only who typed the command. */
static void chat_post(struct run *r, const char *text, int in_channel)
{
	const char *url = chat_url(r);
	char *red;

	if (!url || !text)
		return;
	if (!(red = pb_redact_str(r->env->redact, text)))
		return;
	if (pb_slack_respond(url, red, in_channel) < 0)
		pb_log_warnx("job %s: the chat reply was not delivered: %s",
			     r->job.public_id, pb_err_last());
	free(red);
}

/* The job's state in the chat: rep's what, job_id, sha and url filled in. */
static void chat_report(struct run *r, struct pb_slack_report *rep,
			int in_channel)
{
	struct pb_buf what = PB_BUF_INIT, text = PB_BUF_INIT;

	if (!chat_url(r) || chat_what(&what, r) < 0)
		goto out;
	rep->job_id = r->job.public_id;
	rep->what = what.ptr;
	if (!rep->sha)
		rep->sha = r->sha;
	if (!rep->url)
		rep->url = r->report_url ? r->report_url :
			   r->have_pr	 ? r->pr.html_url :
					   NULL;
	if (pb_slack_report_text(&text, rep) == 0)
		chat_post(r, text.ptr, in_channel);
out:
	pb_buf_release(&text);
	pb_buf_release(&what);
}

/* A job that ends without a run: its one line of why in the chat. */
static void chat_failed(struct run *r, const char *why)
{
	struct pb_slack_report rep;

	memset(&rep, 0, sizeof(rep));
	rep.status = "failed";
	rep.error = why;
	chat_report(r, &rep, 0);
}

/* A job cancelled before its end was reported (its process died). */
static void chat_cancelled(struct run *r, const char *why)
{
	struct pb_slack_report rep;

	memset(&rep, 0, sizeof(rep));
	rep.status = "cancelled";
	rep.error = why;
	chat_report(r, &rep, 0);
}

static void set_status(struct run *r, enum pb_gh_state s, const char *desc)
{
	char *text;

	if (!r->env->gh || !r->sha || r->quiet)
		return;
	if (!(text = pb_redact_str(r->env->redact, desc)))
		return;
	if (pb_gh_status_create(r->env->gh, r->job.repo, r->sha, s,
				r->job.command, text, NULL) < 0)
		pb_log_warnx("job %s: cannot set the commit status: %s",
			     r->job.public_id, pb_err_last());
	free(text);
}

/* End the job in the store; a lost lease is not an error of the run. */
static int finish(struct run *r, enum pb_job_state final, const char *report,
		  const struct pb_stage_row *rows, size_t n)
{
	int rc;

	if (r->lost)
		return 0;
	rc = pb_state_finish(r->env->state, r->job.id, r->env->worker_id, final,
			     report, rows, n, (int64_t)time(NULL));
	if (rc == PB_EPERM) {
		pb_log_warnx("job %s: %s", r->job.public_id, pb_err_last());
		return 0;
	}
	return rc;
}

/*
 * A scheduled run's notification (nothing for other sources), before the
 * run's evaluation is recorded: the previous run is the one compared with.
 */
static void notify_schedule(struct run *r, const json_t *report)
{
	struct pb_notify_run n;

	if (!r->job.source || strcmp(r->job.source, "cron"))
		return;
	memset(&n, 0, sizeof(n));
	n.cfg = r->env->cfg;
	n.redact = r->env->redact;
	n.st = r->env->state;
	n.gh = r->env->gh;
	n.job_id = r->job.public_id;
	n.actor = r->job.actor;
	n.repo = r->job.repo;
	n.ref = r->job.ref;
	n.report = report;
	pb_notify_send(&n);
}

/* Fail the job without a run: note in the store, text on the PR. */
static int fail_with(struct run *r, const char *note, const char *reply)
{
	json_t *rep;
	char *text;
	int rc;

	if (reply)
		post(r, reply);
	chat_failed(r, reply ? reply : note);
	rep = json_pack("{s:s,s:s,s:s}", "status", "failed", "note", note,
			"command", r->job.command);
	text = rep ? json_dumps(rep, JSON_COMPACT) : NULL;
	pb_log_info("job %s: failed: %s", r->job.public_id, note);
	/* what a scheduled run's notice says went wrong (note may be
	   pb_err_last(): the copy in rep is used) */
	if (rep && !json_object_set(rep, "error", json_object_get(rep, "note")))
		notify_schedule(r, rep);
	rc = finish(r, PB_JOB_FAILED, text, NULL, 0);
	free(text);
	json_decref(rep);
	return rc;
}

/* Read the PR and pin its head; 1 when the job was failed instead. */
static int read_pr(struct run *r)
{
	const struct pb_worker_env *env = r->env;
	struct pb_buf msg = PB_BUF_INIT;
	struct pb_job again;
	int rc;

	rc = pb_gh_pr_get(env->gh, &r->pr, r->job.repo, (long)r->job.pr);
	if (rc < 0) {
		int nf = rc == PB_ENOTFOUND;

		pb_log_warnx("job %s: %s", r->job.public_id, pb_err_last());
		if (nf)
			pb_buf_printf(&msg,
				      "@%s: pull request #%lld of %s no longer "
				      "exists, so /%s did not run.",
				      r->job.actor, (long long)r->job.pr,
				      r->job.repo, r->job.command);
		else
			pb_buf_printf(&msg,
				      "@%s: /%s did not run: prbot could not "
				      "read pull request #%lld from GitHub "
				      "(%s).",
				      r->job.actor, r->job.command,
				      (long long)r->job.pr, pb_err_last());
		rc = fail_with(r,
			       nf ? "the pull request no longer exists" :
				    "cannot read the pull request",
			       msg.ptr);
		pb_buf_release(&msg);
		return rc < 0 ? rc : 1;
	}
	r->have_pr = 1;
	if (!r->job.head_sha) {
		rc = pb_state_job_pin(env->state, r->job.id, r->pr.head_sha,
				      r->pr.head_ref, r->pr.base_ref);
		if (rc < 0)
			return rc;
		/* another attempt may have pinned first: read what won */
		memset(&again, 0, sizeof(again));
		if ((rc = pb_state_job_get(env->state, r->job.id, &again)) < 0)
			return rc;
		pb_job_release(&r->job);
		r->job = again;
	}
	r->sha = r->job.head_sha;
	return 0;
}

/* 1 when the actor may run the command (or the job was failed: 2). */
static int authorize(struct run *r)
{
	const struct pb_worker_env *env = r->env;
	enum pb_perm need = pb_pr_command_level(r->cmd, env->cfg), have;
	const struct pb_conf_repo *rc_repo = repo_conf(env->cfg, r->job.repo);
	struct pb_buf msg = PB_BUF_INIT;
	time_t now = time(NULL);
	int rc = 0;

	if (!env->gh)
		return 1; /* no GitHub: a local source, trusted */
	if (!strcmp(r->job.source, "cron"))
		return 1; /* bot.conf's [schedule]: its author runs prbot */
	if (!cache_get(env->cache, r->job.repo, r->job.actor, &have, now)) {
		rc = pb_gh_permission(env->gh, &have, r->job.repo,
				      r->job.actor);
		if (rc < 0) {
			pb_log_warnx("job %s: %s", r->job.public_id,
				     pb_err_last());
			pb_buf_printf(&msg,
				      "@%s: /%s did not run: prbot could not "
				      "read your permission on %s from GitHub.",
				      r->job.actor, r->job.command,
				      r->job.repo);
			rc = fail_with(r, "cannot read the permission",
				       msg.ptr);
			goto out;
		}
		cache_put(env->cache, r->job.repo, r->job.actor, have, now);
	}
	if (have < need) {
		pb_buf_printf(&msg,
			      "@%s: /%s needs %s permission on %s; you have "
			      "%s.",
			      r->job.actor, r->job.command, pb_perm_name(need),
			      r->job.repo, pb_perm_name(have));
		rc = fail_with(r, "refused", msg.ptr);
		goto out;
	}
	if (r->cmd->n_stages && r->have_pr && r->pr.from_fork &&
	    !(rc_repo && rc_repo->allow_forks)) {
		pb_buf_printf(&msg,
			      "@%s: /%s does not run on pull requests from "
			      "forks in %s (its [repo \"%s\"] section of "
			      "bot.conf does not set allow_forks = true).",
			      r->job.actor, r->job.command, r->job.repo,
			      r->job.repo);
		rc = fail_with(r, "refused: pull request from a fork", msg.ptr);
		goto out;
	}
	rc = 1;
out:
	pb_buf_release(&msg);
	return rc < 0 ? rc : rc == 1 ? 1 : 2;
}

/* The first string of the job's args (a JSON array), or NULL. */
static const char *first_arg(const json_t *args)
{
	return json_string_value(json_array_get(args, 0));
}

static int do_cancel(struct run *r, struct pb_buf *b, const json_t *args)
{
	const struct pb_worker_env *env = r->env;
	const char *which = first_arg(args);
	struct pb_job_list jobs = { NULL, 0 };
	struct pb_job got;
	char id[PB_JOB_ID_MAX];
	size_t i;
	int rc;

	memset(&got, 0, sizeof(got));
	if (!which) {
		rc = pb_state_jobs_of_pr(env->state, r->job.repo, r->job.pr, 0,
					 &jobs);
		if (rc < 0)
			return rc;
		for (i = 0; i < jobs.n; i++)
			if (jobs.v[i].id != r->job.id &&
			    (jobs.v[i].state == PB_JOB_QUEUED ||
			     jobs.v[i].state == PB_JOB_RUNNING))
				break;
		if (i == jobs.n) {
			pb_job_list_release(&jobs);
			return pb_buf_printf(b,
					     "@%s: no queued or running job "
					     "on this pull request to cancel.",
					     r->job.actor);
		}
		memcpy(id, jobs.v[i].public_id, sizeof(id));
		pb_job_list_release(&jobs);
		which = id;
	}
	rc = pb_state_cancel_job(env->state, r->job.repo, which, r->job.actor,
				 (int64_t)time(NULL), &got);
	if (rc == PB_EINVAL || rc == PB_ENOTFOUND)
		return pb_buf_printf(b, "@%s: cannot cancel `%s`: %s.",
				     r->job.actor, which, pb_err_last());
	if (rc < 0)
		return rc;
	rc = pb_buf_printf(b, "@%s cancelled `%s` (/%s)%s.", r->job.actor,
			   got.public_id, got.command,
			   got.state == PB_JOB_RUNNING ?
				   ": it was running and stops within a "
				   "minute" :
				   "");
	pb_job_release(&got);
	return rc;
}

/* The first word of args without '=' (the ENV of /lock), or NULL. */
static const char *first_word(const json_t *args)
{
	const char *w;
	size_t i;

	for (i = 0; i < json_array_size(args); i++)
		if ((w = json_string_value(json_array_get(args, i))) &&
		    !strchr(w, '='))
			return w;
	return NULL;
}

/* The value of reason=... among args, or NULL (also when empty). */
static const char *reason_arg(const json_t *args)
{
	const char *w;
	size_t i;

	for (i = 0; i < json_array_size(args); i++)
		if ((w = json_string_value(json_array_get(args, i))) &&
		    !strncmp(w, "reason=", 7) && w[7])
			return w + 7;
	return NULL;
}

/* /lock, /unlock, /locks: the store and the reply (worker_locks.c). */
static int do_lock(struct run *r, struct pb_buf *b, const json_t *args)
{
	const char *name = r->job.command, *env = first_word(args);
	struct pb_lock_ask a = {
		.st = r->env->state,
		.repo = r->job.repo,
		.pr = r->job.pr,
		.actor = r->job.actor,
		.pr_closed = r->have_pr && r->pr.state &&
			     strcmp(r->pr.state, "open") != 0,
		.now = (int64_t)time(NULL),
	};

	if (!strcmp(name, "locks"))
		return pb_worker_locks(b, &a);
	if (!env) /* the parser checked it: a job from elsewhere */
		return pb_err_setc(PB_EINVAL, "'%s' needs an environment",
				   name);
	if (!strcmp(name, "lock"))
		return pb_worker_lock(b, &a, env, reason_arg(args));
	return pb_worker_unlock(b, &a, env);
}

static void report_comment_open(struct run *r, const char *body);
static const char *report_url(struct run *r, struct pb_buf *b);

/*
 * /rollback ENV [VERSION]: republish from the history (src/deploy.c), in a
 * scratch folder of the job's own under [server] workdir. The reply is
 * posted first (the GitHub deployment's log_url names it), then edited.
 */
static int do_rollback(struct run *r, struct pb_buf *b, const json_t *args)
{
	const struct pb_worker_env *env = r->env;
	const char *name = first_arg(args);
	const char *version = json_string_value(json_array_get(args, 1));
	struct pb_deploy_result res;
	struct pb_deploy_req q;
	struct pb_buf scratch = PB_BUF_INIT, start = PB_BUF_INIT;
	struct pb_buf url = PB_BUF_INIT;
	char *token = NULL;
	int rc;

	memset(&res, 0, sizeof(res));
	if (!name || pb_env_name_check(name) < 0)
		return pb_buf_printf(b,
				     "@%s: %s: usage: rollback ENV "
				     "[VERSION].",
				     r->job.actor,
				     name ? pb_err_last() :
					    "which environment?");
	if ((rc = pb_mkdirs(env->cfg->server.workdir, 0700)) < 0)
		return rc;
	if ((rc = pb_buf_printf(&scratch, "%s/rollback-%s",
				env->cfg->server.workdir, r->job.public_id)) <
	    0)
		return rc;
	pb_rmtree(scratch.ptr); /* left by an attempt that died */
	if ((rc = pb_buf_printf(&start,
				"prbot `%s`: rolling back `%s`%s%s...\n",
				r->job.public_id, name, version ? " to " : "",
				version ? version : "")) < 0)
		goto out;
	report_comment_open(r, start.ptr);
	if (env->gh && pb_gh_token(env->gh, &token, r->job.repo) < 0)
		pb_log_warnx("job %s: no token for the serving repository: %s",
			     r->job.public_id, pb_err_last());
	memset(&q, 0, sizeof(q));
	q.cfg = env->cfg;
	q.st = env->state;
	q.gh = env->gh;
	q.repo = r->job.repo;
	q.pr = r->job.pr;
	q.actor = r->job.actor;
	q.job_id = r->job.public_id;
	q.job_row = r->job.id;
	q.environment = name;
	q.version = version;
	q.token = token;
	q.scratch = scratch.ptr;
	q.log_url = r->report_url ? r->report_url : report_url(r, &url);
	if ((rc = pb_rollback_run(&res, &q)) == 0)
		rc = pb_buf_puts(b, res.md.ptr ? res.md.ptr : "");
	if (rc == 0 && res.outcome == PB_DEPLOY_DONE)
		react(r, "rocket");
	pb_deploy_result_release(&res);
out:
	pb_gh_token_free(token);
	pb_buf_release(&url);
	pb_buf_release(&start);
	pb_buf_release(&scratch);
	return rc;
}

/* The reply of an immediate command: the report comment edited, if any. */
static int reply_final(struct run *r, const char *body)
{
	const struct pb_worker_env *env = r->env;
	char *text;
	int rc;

	if (!r->report_id || !env->gh)
		return post(r, body);
	if (!(text = pb_redact_str(env->redact, body)))
		return pb_err_set("out of memory");
	rc = pb_gh_comment_update(env->gh, NULL, r->job.repo, r->report_id,
				  text);
	free(text);
	if (rc == 0)
		return 0;
	pb_log_warnx("job %s: cannot edit the reply, posting it: %s",
		     r->job.public_id, pb_err_last());
	return post(r, body);
}

/* /status: the base branch's trend, if any; the store's errors only logged */
static int status_trend(struct run *r, struct pb_buf *b,
			enum pb_trend_format fmt)
{
	const char *base = r->job.base_ref ? r->job.base_ref :
			   r->have_pr	   ? r->pr.base_ref :
					     NULL;

	if (pb_trend_status(b, r->env->state, fmt, r->job.repo, base) == 0)
		return 0;
	pb_log_warnx("job %s: /status without the trend of %s: %s",
		     r->job.public_id, base, pb_err_last());
	return b->ptr ? 0 : pb_err_set("out of memory");
}

/* help, status, cancel, lock, unlock, locks: one comment, no run. */
static int run_immediate(struct run *r)
{
	const struct pb_worker_env *env = r->env;
	struct pb_job_list jobs = { NULL, 0 };
	struct pb_buf b = PB_BUF_INIT, chat = PB_BUF_INIT;
	json_t *args = json_loads(r->job.args ? r->job.args : "[]", 0, NULL);
	const char *name = r->job.command;
	int rc;

	if (!strcmp(name, "help")) {
		rc = pb_pr_help(&b, env->cfg, 1);
	} else if (!strcmp(name, "status")) {
		rc = pb_state_jobs_of_pr(env->state, r->job.repo, r->job.pr, 20,
					 &jobs);
		if (rc == 0)
			rc = pb_pr_status(&b, r->job.repo, (long long)r->job.pr,
					  &jobs);
		if (rc == 0)
			rc = pb_deploy_status(&b, env->state, r->job.repo);
		/* the chat gets a sparkline where GitHub draws a chart */
		if (rc == 0 && chat_url(r) &&
		    (rc = pb_buf_add(&chat, b.ptr ? b.ptr : "", b.len)) == 0)
			rc = status_trend(r, &chat, PB_TREND_SLACK);
		if (rc == 0)
			rc = status_trend(r, &b, PB_TREND_MARKDOWN);
		pb_job_list_release(&jobs);
	} else if (!strcmp(name, "cancel")) {
		rc = do_cancel(r, &b, args);
	} else if (!strcmp(name, "lock") || !strcmp(name, "unlock") ||
		   !strcmp(name, "locks")) {
		rc = do_lock(r, &b, args);
	} else if (!strcmp(name, "rollback")) {
		rc = do_rollback(r, &b, args);
	} else {
		rc = pb_err_set("job %s: command '%s' has no PR handler",
				r->job.public_id, name);
	}
	json_decref(args);
	if (rc < 0) {
		pb_buf_release(&chat);
		pb_buf_release(&b);
		return fail_with(r, pb_err_last(), NULL);
	}
	reply_final(r, b.ptr);
	chat_post(r, chat.ptr ? chat.ptr : b.ptr, 0);
	pb_buf_release(&chat);
	pb_buf_release(&b);
	return finish(r, PB_JOB_SUCCEEDED, NULL, NULL, 0);
}

/* The hidden "reply" command: post the message its args hold. */
static int run_reply(struct run *r)
{
	json_t *args = json_loads(r->job.args ? r->job.args : "", 0, NULL);
	const char *text = json_string_value(args);
	int rc;

	if (!text && json_is_array(args))
		text = first_arg(args);
	if (!text && json_is_object(args)) {
		text = json_string_value(json_object_get(args, "message"));
		if (!text)
			text = json_string_value(json_object_get(args, "body"));
	}
	if (!text) {
		json_decref(args);
		return fail_with(r, "reply job without a message in its args",
				 NULL);
	}
	rc = post(r, text);
	chat_post(r, text, 0);
	json_decref(args);
	if (rc < 0)
		return fail_with(r, "cannot post the reply", NULL);
	return finish(r, PB_JOB_SUCCEEDED, NULL, NULL, 0);
}

/* ---- pipeline jobs ---- */

struct beat {
	struct run *r;
	atomic_int cancel;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	int stopped; /* the daemon said stop now: leave the job for retry */
};

static void *heartbeat_main(void *arg)
{
	struct beat *h = arg;
	const struct pb_worker_env *env = h->r->env;
	int period = PB_WORKER_LEASE_SEC / 3, cancel, rc;

	pthread_mutex_lock(&h->mu);
	while (!h->done) {
		struct timespec until;
		int waited = 0;

		/* wake each second to see a stop request, beat each period */
		while (!h->done && waited < period) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&h->cv, &h->mu, &until);
			waited++;
			if (env->stopping &&
			    atomic_load(env->stopping) >= PB_WORKER_STOP_NOW) {
				h->stopped = 1;
				atomic_store(&h->cancel, 1);
			}
		}
		if (h->done)
			break;
		pthread_mutex_unlock(&h->mu);
		cancel = 0;
		rc = pb_state_heartbeat(env->state, h->r->job.id,
					env->worker_id, PB_WORKER_LEASE_SEC,
					(int64_t)time(NULL), &cancel);
		pthread_mutex_lock(&h->mu);
		if (rc == PB_EPERM) {
			pb_log_warnx("job %s: lease lost: %s",
				     h->r->job.public_id, pb_err_last());
			h->r->lost = 1;
			atomic_store(&h->cancel, 1);
		} else if (rc < 0) {
			pb_log_warnx("job %s: heartbeat: %s",
				     h->r->job.public_id, pb_err_last());
		} else if (cancel) {
			atomic_store(&h->cancel, 1);
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Tell the heartbeat thread to end and wait for it. */
static void beat_stop(struct beat *h, pthread_t tid)
{
	pthread_mutex_lock(&h->mu);
	h->done = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(tid, NULL);
}

struct live {
	struct run *r;
	const struct pb_run_request *req;
	const char *note;
};

/* Edit the report comment to show the checklist of recs (may be NULL). */
static void checklist_edit(struct run *r, const char *note,
			   const enum pb_stage_id *stages, size_t n,
			   const struct pb_stage_record *recs)
{
	struct pb_buf b = PB_BUF_INIT;
	char *text;

	if (!r->report_id || !r->env->gh)
		return;
	if (pb_pr_checklist(&b, r->job.command, r->job.public_id, r->sha, note,
			    stages, n, recs) < 0)
		return;
	text = pb_redact_str(r->env->redact, b.ptr);
	if (text && pb_gh_comment_update(r->env->gh, NULL, r->job.repo,
					 r->report_id, text) < 0)
		pb_log_warnx("job %s: cannot edit the report: %s",
			     r->job.public_id, pb_err_last());
	free(text);
	pb_buf_release(&b);
}

/* Edit the report comment when a stage ends (one edit per stage). */
static void on_stage(const struct pb_run_ctx *ctx, enum pb_stage_id id,
		     void *arg)
{
	struct live *l = arg;

	if (ctx->stages[id].state == PB_STAGE_RUNNING)
		return;
	checklist_edit(l->r, l->note, l->req->stages, l->req->n_stages,
		       ctx->stages);
}

/*
 * Post body (redacted) as the report comment, or edit the one an earlier
 * attempt made; r->report_id and r->report_url name it after.
 */
static void report_comment_open(struct run *r, const char *body)
{
	const struct pb_worker_env *env = r->env;
	struct pb_gh_comment c;
	char *text = NULL, *handle = NULL;

	if (!env->gh || !r->job.pr ||
	    !(text = pb_redact_str(env->redact, body)))
		return;
	r->report_id = reply_id(r->reply, "report_comment_id");
	if (r->report_id) {
		if (pb_gh_comment_update(env->gh, NULL, r->job.repo,
					 r->report_id, text) == 0)
			goto out;
		pb_log_warnx("job %s: cannot edit report comment %lld, "
			     "posting a new one: %s",
			     r->job.public_id, r->report_id, pb_err_last());
	}
	memset(&c, 0, sizeof(c));
	if (pb_gh_comment_create(env->gh, &c, r->job.repo, (long)r->job.pr,
				 text) < 0) {
		pb_log_warnx("job %s: cannot post the report comment: %s",
			     r->job.public_id, pb_err_last());
		r->report_id = 0;
		goto out;
	}
	r->report_id = c.id;
	free(r->report_url);
	r->report_url = c.html_url ? strdup(c.html_url) : NULL;
	pb_gh_comment_release(&c);
	json_object_set_new(r->reply, "report_comment_id",
			    json_integer((json_int_t)r->report_id));
	handle = json_dumps(r->reply, JSON_COMPACT);
	if (!handle || pb_state_set_reply(env->state, r->job.id, handle) < 0)
		pb_log_warnx("job %s: cannot store the report comment id: %s",
			     r->job.public_id, pb_err_last());
out:
	free(handle);
	free(text);
}

/* Create the report comment, or reuse the one an earlier attempt made. */
static void report_comment_start(struct run *r, const char *note)
{
	struct pb_buf b = PB_BUF_INIT;

	if (!r->env->gh || !r->job.pr)
		return;
	if (pb_pr_checklist(&b, r->job.command, r->job.public_id, r->sha, note,
			    r->stages, r->n_stages, NULL) == 0)
		report_comment_open(r, b.ptr);
	pb_buf_release(&b);
}

/* The one-line summary for the commit status. */
static void status_line(struct pb_buf *b, const struct pb_run_ctx *ctx,
			const char *cancelled_by)
{
	size_t i;

	switch (ctx->outcome) {
	case PB_OUTCOME_SUCCEEDED:
		pb_buf_puts(b, "succeeded");
		for (i = 0; i < ctx->metrics.n && i < 3; i++)
			pb_buf_printf(b, "%s %s=%.4g", i ? "," : ":",
				      ctx->metrics.v[i].name,
				      ctx->metrics.v[i].value);
		break;
	case PB_OUTCOME_CANCELLED:
		pb_buf_printf(b, "cancelled%s%s", cancelled_by ? " by @" : "",
			      cancelled_by ? cancelled_by : "");
		break;
	default:
		pb_buf_printf(b, "failed: %s",
			      ctx->error ? ctx->error : "see the report");
	}
}

/*
 * The baseline of a pipeline job: baseline=REF of /evaluate (ref), looked up
 * in the store or evaluated on demand; without it, the PR's base branch.
 */
struct baseline {
	const char *ref; /* baseline=REF (borrowed from the args), or NULL */
	struct pb_evaluation eval; /* owned when have */
	int have;
	int ran;     /* this job evaluated ref: it had no stored evaluation */
	char *error; /* owned or NULL: why ref could not be evaluated */
};

/* The final comment: the report's Markdown with retry/cancel/baseline. */
static char *final_body(struct run *r, const json_t *report, const char *note,
			const char *cancelled_by, const struct baseline *bl)
{
	const struct pb_worker_env *env = r->env;
	struct pb_evaluation base;
	struct pb_buf b = PB_BUF_INIT;
	char *md = pb_report_markdown(report), *red = NULL, *cut = NULL;
	const json_t *metrics = json_object_get(report, "metrics");
	const char *base_ref = r->job.base_ref;
	size_t title_len;
	int rc;

	memset(&base, 0, sizeof(base));
	if (!md)
		return NULL;
	/* the marker and title line first, then what the worker knows beyond
	   the run; a failed append released b, but a later one would start it
	   again: stop at the first */
	title_len = strcspn(md, "\n");
	if (md[title_len])
		title_len++;
	rc = pb_pr_marker(&b, r->job.command, r->job.public_id);
	if (rc == 0)
		rc = pb_buf_add(&b, md, title_len);
	if (rc == 0 && note)
		rc = pb_buf_printf(&b, "\n> %s\n", note);
	if (rc == 0 && cancelled_by)
		rc = pb_buf_printf(&b, "\n> Cancelled by @%s.\n", cancelled_by);
	if (rc == 0)
		rc = pb_buf_puts(&b, md + title_len);
	if (rc == 0 && bl->ref) {
		if (bl->have)
			rc = pb_pr_baseline(&b, metrics, &bl->eval);
		else if (bl->error)
			rc = pb_pr_baseline_failed(&b, bl->ref, bl->error);
	} else if (rc == 0 && base_ref &&
		   pb_state_evaluation_latest(env->state, r->job.repo, base_ref,
					      &base) == 0) {
		rc = pb_pr_baseline(&b, metrics, &base);
		pb_evaluation_release(&base);
	}
	free(md);
	if (rc < 0) {
		pb_buf_release(&b);
		return NULL;
	}
	red = pb_redact_str(env->redact, b.ptr);
	pb_buf_release(&b);
	if (red)
		cut = pb_pr_comment_cut(red, PB_PR_COMMENT_MAX);
	free(red);
	return cut;
}

/*
 * Minimize as outdated prbot's older results of this command on the PR, so
 * the newest one is what a reader sees. GitHub's comment list does not say
 * which are minimized already: minimizing one again is harmless. Failures
 * are only logged: the new result is posted already.
 */
static void minimize_older(struct run *r)
{
	const struct pb_worker_env *env = r->env;
	const char *bot = env->cfg && env->cfg->github.bot_login ?
				  env->cfg->github.bot_login :
				  "prbot";
	struct pb_gh_comments l = { NULL, 0, 0 };
	char job[PB_JOB_ID_MAX + 1]; /* a longer id, cut, differs from ours */
	size_t i, n = 0;

	if (!env->gh || !r->job.pr)
		return;
	if (pb_gh_comments_list(env->gh, &l, r->job.repo, (long)r->job.pr, 0) <
	    0) {
		pb_log_warnx("job %s: cannot list the comments to minimize "
			     "older results: %s",
			     r->job.public_id, pb_err_last());
		return;
	}
	if (l.truncated)
		pb_log_debug("job %s: %s#%lld has more comments than prbot "
			     "reads: the oldest results stay as they are",
			     r->job.public_id, r->job.repo,
			     (long long)r->job.pr);
	for (i = 0; i < l.n; i++) {
		const struct pb_gh_comment *c = &l.v[i];

		if (c->id == r->report_id || !c->node_id ||
		    !pb_gh_is_bot_login(c->user_login, bot) ||
		    !pb_pr_marker_parse(c->body, r->job.command, job,
					sizeof(job)) ||
		    !strcmp(job, r->job.public_id))
			continue;
		if (pb_gh_comment_minimize(env->gh, r->job.repo, c->node_id) <
		    0) {
			pb_log_warnx("job %s: cannot minimize the older result "
				     "%lld: %s",
				     r->job.public_id, c->id, pb_err_last());
			continue;
		}
		n++;
	}
	if (n)
		pb_log_info("job %s: %zu older /%s result(s) minimized as "
			    "outdated",
			    r->job.public_id, n, r->job.command);
	pb_gh_comments_release(&l);
}

/*
 * Record a successful evaluation of ref at sha (each NULL: the report's) as
 * a baseline candidate. Returns 0 or the store's error (logged).
 */
/*
 * Record the run's metrics for repo@ref. passed 0: a run whose gates or
 * test cases failed, kept as history (trends, the previous scheduled run)
 * but never a baseline or a deploy's evaluation.
 */
static int record_evaluation(struct run *r, const json_t *report,
			     const char *ref, const char *sha, int passed)
{
	struct pb_evaluation e;
	char *metrics = json_dumps(json_object_get(report, "metrics"),
				   JSON_COMPACT | JSON_SORT_KEYS);
	const char *rref = json_string_value(json_object_get(report, "ref"));
	int rc = 0;

	memset(&e, 0, sizeof(e));
	e.repo = r->job.repo;
	e.ref = ref ? ref : rref ? rref : "";
	e.sha = sha ? sha : json_string_value(json_object_get(report, "sha"));
	e.job_id = r->job.id;
	e.metrics = metrics ? metrics : "{}";
	e.passed = passed;
	e.created_at = (int64_t)time(NULL);
	if (!e.sha)
		rc = pb_err_set("the run of '%s' has no commit to record",
				e.ref);
	else
		rc = pb_state_evaluation_add(r->env->state, &e, NULL);
	if (rc < 0)
		pb_log_warnx("job %s: cannot record the evaluation: %s",
			     r->job.public_id, pb_err_last());
	free(metrics);
	return rc;
}

static const char *clone_url(struct run *r)
{
	const struct pb_conf_repo *rc = repo_conf(r->env->cfg, r->job.repo);

	if (r->have_pr && r->pr.head_clone_url)
		return r->pr.head_clone_url;
	if (rc && rc->clone_url)
		return rc->clone_url;
	return NULL;
}

/* The value of key=VALUE among the job's args (a JSON array), or NULL. */
static const char *job_arg(const json_t *args, const char *key)
{
	char *words[16];
	struct pb_invocation inv = { NULL, words, 0 };
	const char *w;
	size_t i;

	for (i = 0; i < json_array_size(args) && inv.n_args < 16; i++)
		if ((w = json_string_value(json_array_get(args, i))))
			words[inv.n_args++] = (char *)w;
	w = pb_invocation_get(&inv, key);
	return w && *w ? w : NULL;
}

/*
 * Where the baseline ref lives: the PR's own repository, not the fork a PR
 * may come from (its branches need not match the base repository's).
 */
static const char *baseline_url(struct run *r, const char *pr_url,
				struct pb_buf *own)
{
	const struct pb_conf_repo *rc = repo_conf(r->env->cfg, r->job.repo);

	if (!r->have_pr || !r->pr.from_fork)
		return pr_url;
	if (rc && rc->clone_url)
		return rc->clone_url;
	if (pb_buf_printf(own, "https://github.com/%s.git", r->job.repo) < 0)
		return NULL;
	return own->ptr;
}

static void baseline_fail(struct baseline *bl, const char *why)
{
	free(bl->error);
	bl->error = strdup(why && *why ? why : "unknown error");
}

/*
 * Evaluate bl->ref on demand in its own job folder (ID-baseline): checkout,
 * setup, train and evaluate only, so no artifact is published. When it
 * passes its metrics are stored for (repo, ref, sha) and become bl->eval;
 * otherwise bl->error says why. The PR's own run is over: own holds its
 * stages for the checklist shown meanwhile.
 */
static void baseline_run(struct run *r, struct baseline *bl, const char *url,
			 atomic_int *cancel, const struct pb_run_request *own,
			 const struct pb_run_ctx *own_ctx, const char *note)
{
	static const enum pb_stage_id stages[] = {
		PB_STAGE_CHECKOUT,
		PB_STAGE_SETUP,
		PB_STAGE_TRAIN,
		PB_STAGE_EVALUATE,
	};
	struct pb_buf id = PB_BUF_INIT, line = PB_BUF_INIT;
	struct pb_run_request req;
	struct pb_run_ctx ctx;
	json_t *report = NULL;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.log_fd = -1;
	if (pb_buf_printf(&id, "%s-baseline", r->job.public_id) < 0 ||
	    pb_buf_printf(&line,
			  "%s%sEvaluating the baseline `%s` (no stored "
			  "evaluation of it) to compare with.",
			  note ? note : "", note ? " " : "", bl->ref) < 0) {
		baseline_fail(bl, "out of memory");
		goto out;
	}
	pb_log_info("job %s: no stored evaluation of %s@%s: evaluating it "
		    "as %s",
		    r->job.public_id, r->job.repo, bl->ref, id.ptr);
	checklist_edit(r, line.ptr, own->stages, own->n_stages,
		       own_ctx->stages);

	memset(&req, 0, sizeof(req));
	req.cfg = own->cfg;
	req.token = own->token;
	req.redact = r->env->redact;
	req.job = own->job;
	req.job.id = id.ptr;
	req.repo = url;
	req.ref = bl->ref;
	req.stages = stages;
	req.n_stages = sizeof(stages) / sizeof(stages[0]);
	req.cancel = cancel;
	if ((rc = pb_pipeline_run(&ctx, &req)) < 0) {
		baseline_fail(bl, pb_err_last());
		goto out;
	}
	if (ctx.outcome != PB_OUTCOME_SUCCEEDED) {
		baseline_fail(bl, ctx.error ? ctx.error :
				  ctx.outcome == PB_OUTCOME_CANCELLED ?
					      "cancelled" :
					      "its run failed");
		goto out;
	}
	if (!(report = pb_report_json(&ctx))) {
		baseline_fail(bl, "out of memory");
		goto out;
	}
	if (record_evaluation(r, report, bl->ref, NULL, 1) < 0 ||
	    pb_state_evaluation_latest(r->env->state, r->job.repo, bl->ref,
				       &bl->eval) < 0) {
		baseline_fail(bl, pb_err_last());
		goto out;
	}
	bl->have = 1;
	bl->ran = 1;
out:
	if (bl->error)
		pb_log_warnx("job %s: the baseline %s could not be evaluated: "
			     "%s",
			     r->job.public_id, bl->ref, bl->error);
	json_decref(report);
	pb_run_ctx_release(&ctx);
	pb_buf_release(&id);
	pb_buf_release(&line);
}

/*
 * The baseline=REF of the job: its latest passing evaluation in the store,
 * else (when the PR's run has metrics to compare and was not stopped) an
 * evaluation of REF now.
 */
static void baseline_resolve(struct run *r, struct baseline *bl,
			     const char *pr_url, atomic_int *cancel,
			     const struct pb_run_request *own,
			     const struct pb_run_ctx *own_ctx, const char *note)
{
	struct pb_buf own_url = PB_BUF_INIT;
	const char *url;
	int rc;

	rc = pb_state_evaluation_latest(r->env->state, r->job.repo, bl->ref,
					&bl->eval);
	if (rc == 0) {
		bl->have = 1;
		pb_log_info("job %s: baseline %s@%.12s from the store",
			    r->job.public_id, bl->ref, bl->eval.sha);
		return;
	}
	if (rc != PB_ENOTFOUND) {
		baseline_fail(bl, pb_err_last());
		return;
	}
	if (!own_ctx->metrics.n || atomic_load(cancel))
		return;
	if (!(url = baseline_url(r, pr_url, &own_url)))
		baseline_fail(bl, "out of memory");
	else
		baseline_run(r, bl, url, cancel, own, own_ctx, note);
	pb_buf_release(&own_url);
}

/* ---- /deploy around the run ---- */

static const enum pb_stage_id checkout_only[] = { PB_STAGE_CHECKOUT };

/*
 * Read /deploy's words and look for an evaluation of the head to reuse
 * (then only the checkout runs, for the inference files). 1 when the job
 * was failed instead (bad words).
 */
static int deploy_prepare(struct run *r, struct pb_wdeploy *d,
			  const json_t *args)
{
	struct pb_buf msg = PB_BUF_INIT;
	int rc;

	if (pb_wdeploy_args(d, args) < 0) {
		pb_buf_printf(&msg, "@%s: %s.", r->job.actor, pb_err_last());
		rc = fail_with(r, "refused: bad arguments", msg.ptr);
		pb_buf_release(&msg);
		return rc < 0 ? rc : 1;
	}
	r->quiet = d->dry_run;
	pb_wdeploy_reuse(d, r->env->state, r->job.repo, r->sha);
	if (d->reused) {
		pb_log_info("job %s: reusing the evaluation of %.12s by job "
			    "j-%lld",
			    r->job.public_id, r->sha, (long long)d->eval_job);
		r->stages = checkout_only;
		r->n_stages = 1;
	}
	return 0;
}

/*
 * A retry edits the comment an earlier attempt made, whose URL it did not
 * read: the PR's URL and the comment's anchor, as GitHub forms them.
 */
static const char *report_url(struct run *r, struct pb_buf *b)
{
	if (!r->report_id || !r->have_pr || !r->pr.html_url ||
	    pb_buf_printf(b, "%s#issuecomment-%lld", r->pr.html_url,
			  r->report_id) < 0)
		return NULL;
	return b->ptr;
}

static int deploy_run(struct run *r, struct pb_deploy_result *out,
		      const struct pb_wdeploy *d, const struct pb_run_ctx *ctx,
		      const char *token)
{
	struct pb_buf url = PB_BUF_INIT;
	struct pb_deploy_req q;
	int rc;

	memset(&q, 0, sizeof(q));
	q.cfg = r->env->cfg;
	q.st = r->env->state;
	q.gh = r->env->gh;
	q.repo = r->job.repo;
	q.pr = r->job.pr;
	q.sha = r->sha ? r->sha : ctx->co.sha;
	q.actor = r->job.actor;
	q.job_id = r->job.public_id;
	q.job_row = r->job.id;
	q.environment = d->env;
	q.dry_run = d->dry_run;
	q.token = token;
	q.log_url = r->report_url ? r->report_url : report_url(r, &url);
	q.rc = ctx->rc;
	q.source_root = ctx->co.project_dir;
	q.manifest = d->reused ? d->manifest : ctx->manifest;
	q.passed = q.manifest != NULL;
	rc = pb_deploy_run(out, &q);
	pb_buf_release(&url);
	return rc;
}

/* body (freed) with the deploy's section after it, redacted and cut. */
static char *deploy_body(struct run *r, char *body,
			 const struct pb_deploy_result *d,
			 const struct pb_run_ctx *ctx)
{
	struct pb_buf b = PB_BUF_INIT;
	char *red = NULL, *cut = NULL;
	int rc;

	rc = pb_buf_puts(&b, body);
	if (rc == 0 && d)
		rc = pb_buf_printf(&b, "\n%s", d->md.ptr ? d->md.ptr : "");
	else if (rc == 0 && ctx->outcome != PB_OUTCOME_SUCCEEDED &&
		 ctx->outcome != PB_OUTCOME_CANCELLED)
		rc = pb_buf_puts(&b, "\n**Not deployed**: the evaluation did "
				     "not pass at this commit, so nothing was "
				     "published.\n");
	free(body);
	if (rc < 0)
		return NULL;
	red = pb_redact_str(r->env->redact, b.ptr);
	if (red)
		cut = pb_pr_comment_cut(red, PB_PR_COMMENT_MAX);
	free(red);
	pb_buf_release(&b);
	return cut;
}

/* The result in the chat: status, SHA, metrics against the baseline. */
static void chat_final(struct run *r, const json_t *report,
		       const struct pb_run_ctx *ctx,
		       const struct pb_deploy_result *dres,
		       const struct baseline *bl)
{
	struct pb_evaluation base;
	struct pb_slack_report rep;

	if (!chat_url(r))
		return;
	memset(&base, 0, sizeof(base));
	memset(&rep, 0, sizeof(rep));
	rep.status = ctx->outcome == PB_OUTCOME_SUCCEEDED ? "succeeded" :
		     ctx->outcome == PB_OUTCOME_CANCELLED ? "cancelled" :
							    "failed";
	rep.error = ctx->error;
	if (dres && dres->outcome != PB_DEPLOY_DONE && !rep.error)
		rep.error = dres->status;
	rep.sha = json_string_value(json_object_get(report, "sha"));
	rep.metrics = json_object_get(report, "metrics");
	if (bl->ref && bl->have)
		rep.baseline = &bl->eval;
	else if (!bl->ref && r->job.base_ref &&
		 pb_state_evaluation_latest(r->env->state, r->job.repo,
					    r->job.base_ref, &base) == 0)
		rep.baseline = &base;
	chat_report(r, &rep, 1);
	pb_evaluation_release(&base);
}

static int run_pipeline(struct run *r)
{
	const struct pb_worker_env *env = r->env;
	struct pb_run_request req;
	struct pb_run_ctx ctx;
	struct pb_stage_row rows[PB_STAGE_COUNT];
	struct pb_buf note = PB_BUF_INIT, url = PB_BUF_INIT, line = PB_BUF_INIT;
	struct beat h;
	struct live l;
	struct pb_job now;
	struct baseline bl;
	struct pb_wdeploy dep;
	struct pb_deploy_result dres;
	int deploy = !strcmp(r->job.command, "deploy"), deployed = 0;
	int evaluated, failed_eval;
	pthread_t tid;
	json_t *report = NULL, *args = NULL;
	char *token = NULL, *body = NULL, *json = NULL, *dump;
	const char *cancelled_by = NULL;
	const char *repo_url = clone_url(r);
	enum pb_job_state final;
	int rc, started = 0, posted = 0;
	size_t i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.log_fd = -1;
	memset(&now, 0, sizeof(now));
	memset(&bl, 0, sizeof(bl));
	memset(&dep, 0, sizeof(dep));
	memset(&dres, 0, sizeof(dres));
	/* before anything is taken: nothing to free but url, which a failed
	   append released */
	if (!repo_url) {
		if ((rc = pb_buf_printf(&url, "https://github.com/%s.git",
					r->job.repo)) < 0)
			return rc;
		repo_url = url.ptr;
	}
	args = json_loads(r->job.args ? r->job.args : "[]", 0, NULL);
	bl.ref = job_arg(args, "baseline");
	if (deploy && (rc = deploy_prepare(r, &dep, args)) != 0) {
		/* nothing else is taken yet (the heartbeat's mutex neither) */
		pb_wdeploy_release(&dep);
		json_decref(args);
		pb_buf_release(&url);
		return rc < 0 ? rc : 0;
	}
	if (r->job.attempts > 1)
		pb_buf_printf(&note, "Retry: attempt %d of %d%s%s%s.",
			      r->job.attempts, r->job.max_attempts,
			      r->job.note ? " (" : "",
			      r->job.note ? r->job.note : "",
			      r->job.note ? ")" : "");
	if (dep.reused)
		pb_buf_printf(&note,
			      "%sReusing the passing evaluation of this commit "
			      "by job `j-%lld` (its metrics and gates are in "
			      "the manifest below): only the checkout runs.",
			      note.len ? " " : "", (long long)dep.eval_job);
	if (env->gh && pb_gh_token(env->gh, &token, r->job.repo) < 0)
		pb_log_warnx("job %s: no token to clone with: %s",
			     r->job.public_id, pb_err_last());
	set_status(r, PB_GH_PENDING, "running the pipeline");
	report_comment_start(r, note.ptr);

	memset(&req, 0, sizeof(req));
	req.cfg = env->cfg;
	req.token = token; /* NULL: [github] token */
	req.redact = env->redact;
	req.job.id = r->job.public_id;
	req.job.command = r->job.command;
	req.job.actor = r->job.actor;
	req.job.source = r->job.source;
	req.repo = repo_url;
	req.ref = r->job.ref;
	req.sha = r->sha;
	req.stages = r->stages;
	req.n_stages = r->n_stages;
	l.r = r;
	l.req = &req;
	l.note = note.ptr;
	req.on_stage = on_stage;
	req.on_stage_arg = &l;

	memset(&h, 0, sizeof(h));
	h.r = r;
	atomic_init(&h.cancel, 0);
	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	req.cancel = &h.cancel;
	if ((rc = pthread_create(&tid, NULL, heartbeat_main, &h)) != 0) {
		rc = pb_err_set("cannot start the heartbeat thread: %s",
				strerror(rc));
		goto out;
	}
	started = 1;
	rc = pb_pipeline_run(&ctx, &req);
	/* under the same heartbeat: the lease and a cancel cover both runs */
	if (rc == 0 && bl.ref)
		baseline_resolve(r, &bl, repo_url, &h.cancel, &req, &ctx,
				 note.ptr);
	if (rc == 0 && deploy && !r->lost && !h.stopped &&
	    ctx.outcome == PB_OUTCOME_SUCCEEDED) {
		if ((rc = deploy_run(r, &dres, &dep, &ctx, token)) < 0)
			goto out;
		deployed = 1;
	}
	beat_stop(&h, tid);
	started = 0;
	if (rc < 0) {
		/* the GitHub calls below may set their own message */
		char *why = strdup(pb_err_last());

		pb_log_error("job %s: %s", r->job.public_id, pb_err_last());
		set_status(r, PB_GH_ERROR, "prbot could not set up the job");
		react(r, "confused");
		rc = fail_with(r, why ? why : "cannot set up the job", NULL);
		free(why);
		goto out;
	}
	if (r->lost || h.stopped) {
		/* someone else runs it now, or the next start will */
		pb_log_info("job %s: left for a retry (%s)", r->job.public_id,
			    r->lost ? "lease lost" : "prbot stops or died");
		rc = 0;
		goto out;
	}
	if (ctx.outcome == PB_OUTCOME_CANCELLED &&
	    pb_state_job_get(env->state, r->job.id, &now) == 0)
		cancelled_by = now.cancel_requested_by;

	report = pb_report_json(&ctx);
	if (!report) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	json_object_set_new(report, "attempts", json_integer(r->job.attempts));
	json_object_set_new(report, "retry", json_boolean(r->job.attempts > 1));
	json_object_set_new(report, "cancelled_by",
			    cancelled_by ? json_string(cancelled_by) :
					   json_null());
	if (bl.ref)
		json_object_set_new(
			report, "baseline",
			json_pack("{s:s,s:s?,s:b,s:s?}", "ref", bl.ref, "sha",
				  bl.have ? bl.eval.sha : NULL, "evaluated",
				  bl.ran, "error", bl.error));
	if (deployed)
		json_object_set_new(
			report, "deploy",
			json_pack("{s:s,s:s?,s:b,s:b}", "outcome",
				  dres.outcome == PB_DEPLOY_DONE ? "done" :
				  dres.outcome == PB_DEPLOY_REFUSED ?
								   "refused" :
								   "failed",
				  "status", dres.status, "dry_run", dep.dry_run,
				  "reused", dep.reused));
	body = final_body(r, report, note.ptr, cancelled_by, &bl);
	if (body && deploy)
		body = deploy_body(r, body, deployed ? &dres : NULL, &ctx);
	if (body && env->gh && r->report_id) {
		if (pb_gh_comment_update(env->gh, NULL, r->job.repo,
					 r->report_id, body) < 0)
			pb_log_warnx("job %s: cannot post the report: %s",
				     r->job.public_id, pb_err_last());
		else
			posted = 1;
	} else if (body && env->gh && r->job.pr) {
		posted = post(r, body) == 0;
	}
	status_line(&line, &ctx, cancelled_by);
	evaluated = ctx.outcome == PB_OUTCOME_SUCCEEDED && !dep.reused &&
		    (!strcmp(r->job.command, "evaluate") || deploy);
	/* gates or test cases failed, but the metrics are real: history */
	failed_eval = ctx.outcome == PB_OUTCOME_FAILED && !dep.reused &&
		      !strcmp(r->job.command, "evaluate") &&
		      json_object_size(json_object_get(report, "metrics")) > 0;
	if (deployed && dres.outcome != PB_DEPLOY_DONE) {
		/* the run went well, the deploy did not */
		ctx.outcome = PB_OUTCOME_FAILED;
		pb_buf_reset(&line);
	}
	set_status(r,
		   ctx.outcome == PB_OUTCOME_SUCCEEDED ? PB_GH_SUCCESS :
		   ctx.outcome == PB_OUTCOME_CANCELLED ? PB_GH_ERROR :
							 PB_GH_FAILURE,
		   deployed && dres.status ? dres.status :
		   line.ptr		   ? line.ptr :
					     "finished");
	react(r, ctx.outcome == PB_OUTCOME_SUCCEEDED ? "rocket" : "confused");
	chat_final(r, report, &ctx, deployed ? &dres : NULL, &bl);
	notify_schedule(r, report);
	if (evaluated || failed_eval)
		record_evaluation(r, report, r->job.ref, r->sha, evaluated);
	/* housekeeping, after the status: one call per older report */
	if (posted)
		minimize_older(r);

	dump = json_dumps(report, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json = dump ? pb_redact_str(env->redact, dump) : NULL;
	free(dump);
	for (i = 0; i < req.n_stages; i++) {
		const struct pb_stage_record *s = &ctx.stages[req.stages[i]];

		rows[i].name = pb_stage_name(req.stages[i]);
		rows[i].state = pb_stage_state_name(s->state);
		rows[i].seconds = s->seconds;
		rows[i].note = s->note;
		rows[i].error = s->error;
	}
	final = ctx.outcome == PB_OUTCOME_SUCCEEDED ? PB_JOB_SUCCEEDED :
		ctx.outcome == PB_OUTCOME_CANCELLED ? PB_JOB_CANCELLED :
						      PB_JOB_FAILED;
	rc = finish(r, final, json, rows, req.n_stages);
out:
	if (started)
		beat_stop(&h, tid);
	pthread_cond_destroy(&h.cv);
	pthread_mutex_destroy(&h.mu);
	pb_run_ctx_release(&ctx);
	pb_job_release(&now);
	if (bl.have)
		pb_evaluation_release(&bl.eval);
	free(bl.error);
	pb_deploy_result_release(&dres);
	pb_wdeploy_release(&dep);
	json_decref(args);
	json_decref(report);
	free(json);
	free(body);
	pb_gh_token_free(token);
	pb_buf_release(&note);
	pb_buf_release(&url);
	pb_buf_release(&line);
	return rc;
}

/*
 * A job queued by a pull_request "labeled" event: take the label off the PR
 * now the job is taken, so adding it again queues the command again. A label
 * already gone (removed by hand, or by an earlier attempt) is fine.
 */
static void label_remove(struct run *r)
{
	const char *label =
		json_string_value(json_object_get(r->reply, "label"));
	int rc;

	if (!label || !*label || !r->env->gh || !r->job.pr)
		return;
	rc = pb_gh_label_remove(r->env->gh, r->job.repo, (long)r->job.pr,
				label);
	if (rc == PB_ENOTFOUND)
		pb_log_debug("job %s: label '%s' was already off %s#%lld",
			     r->job.public_id, label, r->job.repo,
			     (long long)r->job.pr);
	else if (rc < 0)
		pb_log_warnx("job %s: cannot remove the label '%s': %s",
			     r->job.public_id, label, pb_err_last());
}

static int run_job(struct run *r)
{
	struct pb_slack_report started;
	int rc;

	r->comment_id = reply_id(r->reply, "comment_id");
	if (!strcmp(r->job.command, "reply")) {
		label_remove(r);
		return run_reply(r);
	}
	if (!(r->cmd = pb_command_find(r->job.command)))
		return fail_with(r, "unknown command", NULL);
	/* first of all: the comment was received (the issue asks for eyes
	   as soon as the job is queued); a refusal still follows below */
	react(r, "eyes");
	label_remove(r);
	if (r->job.pr && r->env->gh && (rc = read_pr(r)) != 0)
		return rc > 0 ? 0 : rc;
	if (!r->sha)
		r->sha = r->job.head_sha;
	if ((rc = authorize(r)) != 1)
		return rc < 0 ? rc : 0;
	if (r->cmd->handler)
		return run_immediate(r);
	if (!r->cmd->n_stages)
		return fail_with(r, "command has neither handler nor stages",
				 NULL);
	r->stages = r->cmd->stages;
	r->n_stages = r->cmd->n_stages;
	memset(&started, 0, sizeof(started));
	chat_report(r, &started, 0);
	return run_pipeline(r);
}

/* Carry r->job (claimed under env->worker_id) to its end; r is released. */
static int run_taken(struct run *r)
{
	int rc;

	if (r->job.pr)
		pb_log_info("job %s: /%s on %s#%lld by @%s (attempt %d)",
			    r->job.public_id, r->job.command, r->job.repo,
			    (long long)r->job.pr, r->job.actor,
			    r->job.attempts);
	else /* a schedule's job, or one on a ref: no PR to name */
		pb_log_info("job %s: /%s on %s@%s by %s (attempt %d)",
			    r->job.public_id, r->job.command, r->job.repo,
			    r->job.ref ? r->job.ref : "?", r->job.actor,
			    r->job.attempts);
	r->reply = json_loads(r->job.reply ? r->job.reply : "{}", 0, NULL);
	if (!json_is_object(r->reply)) {
		pb_log_warnx("job %s: its reply handle is not a JSON object: "
			     "no acknowledgement",
			     r->job.public_id);
		json_decref(r->reply);
		r->reply = json_object();
	}
	rc = r->reply ? run_job(r) : pb_err_set("out of memory");
	free(r->report_url);
	if (r->have_pr)
		pb_gh_pr_release(&r->pr);
	json_decref(r->reply);
	pb_job_release(&r->job);
	return rc;
}

int pb_worker_run_one(const struct pb_worker_env *env)
{
	struct run r;
	int rc;

	if (env->stopping && atomic_load(env->stopping))
		return 0;
	memset(&r, 0, sizeof(r));
	r.env = env;
	rc = pb_state_claim(env->state, env->worker_id, PB_WORKER_LEASE_SEC,
			    (int64_t)time(NULL), &r.job);
	if (rc < 0)
		return rc;
	if (r.job.id == 0)
		return 0;
	rc = run_taken(&r);
	return rc < 0 ? rc : 1;
}

/* 1 when job runs under worker; else logged, 0. */
static int held_by(const struct pb_job *job, const char *worker)
{
	if (job->state == PB_JOB_RUNNING && job->lease_owner &&
	    !strcmp(job->lease_owner, worker))
		return 1;
	pb_log_warnx("job %s: not running under worker '%s' (it is %s%s%s): "
		     "nothing to do",
		     job->public_id, worker, pb_job_state_name(job->state),
		     job->lease_owner ? " under " : "",
		     job->lease_owner ? job->lease_owner : "");
	return 0;
}

int pb_worker_run_claimed(const struct pb_worker_env *env, int64_t job_id)
{
	struct run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.env = env;
	if ((rc = pb_state_job_get(env->state, job_id, &r.job)) < 0)
		return rc;
	if (!held_by(&r.job, env->worker_id)) {
		pb_job_release(&r.job);
		return 0;
	}
	return run_taken(&r);
}

/* The comment that ends a job taken back from a dead job process. */
static int lost_body(struct pb_buf *b, const struct pb_job *job)
{
	const char *why = job->note ? job->note : "its job process stopped";
	int rc;

	if ((rc = pb_pr_marker(b, job->command, job->public_id)) < 0)
		return rc;
	if (job->state == PB_JOB_CANCELLED)
		return pb_buf_printf(b, "**/%s `%s` cancelled**%s%s: %s.\n",
				     job->command, job->public_id,
				     job->cancel_requested_by ? " by @" : "",
				     job->cancel_requested_by ?
					     job->cancel_requested_by :
					     "",
				     why);
	return pb_buf_printf(b,
			     "**/%s `%s` failed**: %s. prbot did not "
			     "finish it; comment /%s to try again.\n",
			     job->command, job->public_id, why, job->command);
}

int pb_worker_report_lost(const struct pb_worker_env *env, int64_t job_id)
{
	struct pb_buf body = PB_BUF_INIT;
	struct run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.env = env;
	if ((rc = pb_state_job_get(env->state, job_id, &r.job)) < 0)
		return rc;
	if (r.job.state != PB_JOB_FAILED && r.job.state != PB_JOB_CANCELLED) {
		pb_log_warnx("job %s: it is %s: no end to report",
			     r.job.public_id, pb_job_state_name(r.job.state));
		goto out;
	}
	r.reply = json_loads(r.job.reply ? r.job.reply : "{}", 0, NULL);
	r.comment_id = reply_id(r.reply, "comment_id");
	r.report_id = reply_id(r.reply, "report_comment_id");
	r.sha = r.job.head_sha;
	/* lost before it read its PR: the status goes on the PR's head */
	if (!r.sha && r.job.pr > 0 && env->gh) {
		if (pb_gh_pr_get(env->gh, &r.pr, r.job.repo, r.job.pr) == 0) {
			r.have_pr = 1;
			r.sha = r.pr.head_sha;
		} else {
			pb_log_warnx("job %s: no commit status: %s",
				     r.job.public_id, pb_err_last());
		}
	}
	pb_log_info("job %s: %s: %s", r.job.public_id,
		    pb_job_state_name(r.job.state),
		    r.job.note ? r.job.note : "no note");
	if ((rc = lost_body(&body, &r.job)) < 0)
		goto out;
	if (r.report_id && env->gh) {
		char *text = pb_redact_str(env->redact, body.ptr);

		if (!text || pb_gh_comment_update(env->gh, NULL, r.job.repo,
						  r.report_id, text) < 0) {
			pb_log_warnx("job %s: cannot edit the report, posting "
				     "a new comment: %s",
				     r.job.public_id, pb_err_last());
			post(&r, body.ptr);
		}
		free(text);
	} else {
		post(&r, body.ptr);
	}
	set_status(&r,
		   r.job.state == PB_JOB_CANCELLED ? PB_GH_ERROR :
						     PB_GH_FAILURE,
		   r.job.note ? r.job.note : "prbot did not finish the job");
	react(&r, "confused");
	if (r.job.state == PB_JOB_CANCELLED)
		chat_cancelled(&r, r.job.note);
	else
		chat_failed(&r, r.job.note ? r.job.note :
					     "prbot did not finish the job");
out:
	if (r.have_pr)
		pb_gh_pr_release(&r.pr);
	json_decref(r.reply);
	pb_buf_release(&body);
	pb_job_release(&r.job);
	return rc;
}
