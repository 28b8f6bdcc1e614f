/* worker_locks.c: /lock, /unlock and /locks on a pull request: store, reply */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "prbot/err.h"
#include "prbot/log.h"
#include "worker_locks.h"
#include "banned.h"

/* "2026-11-23 13:05 UTC" */
static void since(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm))
		snprintf(out, 32, "%" PRId64, t);
}

/* "#1 (@alice, since 2026-11-23 13:05 UTC, reason: demo)" */
static int holder(struct pb_buf *b, const struct pb_env_lock *l)
{
	char at[32];

	since(at, l->created_at);
	return pb_buf_printf(b, "#%" PRId64 " (@%s, since %s%s%s)", l->pr,
			     l->actor, at, l->reason ? ", reason: " : "",
			     l->reason ? l->reason : "");
}

int pb_worker_lock(struct pb_buf *reply, const struct pb_lock_ask *a,
		   const char *env, const char *reason)
{
	struct pb_env_lock want = { a->repo, env, a->pr, a->actor, reason, 0 };
	struct pb_env_lock held;
	int rc, taken = 0;

	if (pb_env_name_check(env) < 0)
		return pb_buf_printf(reply, "@%s: cannot lock: %s.", a->actor,
				     pb_err_last());
	if (a->pr_closed)
		return pb_buf_printf(reply,
				     "@%s: cannot lock `%s`: #%" PRId64
				     " is closed.",
				     a->actor, env, a->pr);
	rc = pb_state_lock_take(a->st, &want, a->now, &taken, &held);
	if (rc < 0 && rc != PB_EBUSY)
		return rc;
	if (rc == PB_EBUSY) {
		pb_log_info("%s#%" PRId64 ": /lock by @%s refused: %s", a->repo,
			    a->pr, a->actor, pb_err_last());
		rc = pb_buf_printf(reply,
				   "@%s: cannot lock `%s`: it is locked by ",
				   a->actor, env);
		if (rc == 0)
			rc = holder(reply, &held);
		if (rc == 0)
			rc = pb_buf_printf(reply,
					   ". It stays locked until `/unlock "
					   "%s`, or until #%" PRId64
					   " is merged or closed.",
					   env, held.pr);
	} else if (!taken) {
		rc = pb_buf_printf(reply,
				   "@%s: this pull request already holds the "
				   "lock of `%s`: ",
				   a->actor, env);
		if (rc == 0)
			rc = holder(reply, &held);
		if (rc == 0)
			rc = pb_buf_puts(reply, ". Nothing changed.");
	} else {
		pb_log_info("%s: '%s' locked by #%" PRId64 " (@%s)", a->repo,
			    env, a->pr, a->actor);
		rc = pb_buf_printf(
			reply,
			"@%s locked `%s` for this pull request%s%s%s. "
			"Deploys of `%s` from other pull requests "
			"are refused until `/unlock %s`, or until "
			"this pull request is merged or closed.",
			a->actor, env, reason ? " (reason: " : "",
			reason ? reason : "", reason ? ")" : "", env, env);
	}
	pb_env_lock_release(&held);
	return rc;
}

int pb_worker_unlock(struct pb_buf *reply, const struct pb_lock_ask *a,
		     const char *env)
{
	struct pb_env_lock was;
	int rc;

	if (pb_env_name_check(env) < 0)
		return pb_buf_printf(reply, "@%s: cannot unlock: %s.", a->actor,
				     pb_err_last());
	rc = pb_state_unlock(a->st, a->repo, env, &was);
	if (rc == PB_ENOTFOUND)
		return pb_buf_printf(reply,
				     "@%s: `%s` is not locked in %s: nothing "
				     "to unlock.",
				     a->actor, env, a->repo);
	if (rc < 0)
		return rc;
	pb_log_info("%s: '%s' unlocked by @%s (#%" PRId64 "), held by #%" PRId64
		    " (@%s)",
		    a->repo, env, a->actor, a->pr, was.pr, was.actor);
	rc = pb_buf_printf(reply, "@%s unlocked `%s`; it was locked by ",
			   a->actor, env);
	if (rc == 0)
		rc = holder(reply, &was);
	if (rc == 0)
		rc = pb_buf_putc(reply, '.');
	pb_env_lock_release(&was);
	return rc;
}

/* A table cell: '|' would end it. */
static int cell(struct pb_buf *b, const char *s)
{
	int rc = 0;

	for (; rc == 0 && *s; s++)
		rc = *s == '|' ? pb_buf_puts(b, "\\|") : pb_buf_putc(b, *s);
	return rc;
}

int pb_worker_locks(struct pb_buf *reply, const struct pb_lock_ask *a)
{
	struct pb_env_lock_list all;
	char at[32];
	size_t i;
	int rc;

	if ((rc = pb_state_locks(a->st, a->repo, &all)) < 0)
		return rc;
	if (!all.n)
		return pb_buf_printf(reply, "No environment of %s is locked.",
				     a->repo);
	rc = pb_buf_printf(reply,
			   "Environment locks of %s:\n\n| environment | pull "
			   "request | by | reason | since |\n| --- | --- | --- "
			   "| --- | --- |\n",
			   a->repo);
	for (i = 0; rc == 0 && i < all.n; i++) {
		const struct pb_env_lock *l = &all.v[i];

		since(at, l->created_at);
		rc = pb_buf_printf(reply, "| `%s` | #%" PRId64 " | @%s | ",
				   l->environment, l->pr, l->actor);
		if (rc == 0)
			rc = cell(reply, l->reason ? l->reason : "—");
		if (rc == 0)
			rc = pb_buf_printf(reply, " | %s |\n", at);
	}
	pb_env_lock_list_release(&all);
	return rc;
}
