/* state_worker.c: the workers' side of the queue: claim, lease, finish, requeue
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/state.h"
#include "state_db.h"
#include "banned.h"

static const char SQL_OLDEST_QUEUED[] =
	"SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1";
static const char SQL_CLAIM[] =
	"UPDATE jobs SET state = 'running', attempts = attempts + 1,"
	" lease_owner = ?2, lease_until = ?3, heartbeat_at = ?4,"
	" started_at = ?4 WHERE id = ?1";
static const char SQL_HEARTBEAT[] =
	"UPDATE jobs SET lease_until = ?3, heartbeat_at = ?4"
	" WHERE id = ?1 AND state = 'running' AND lease_owner = ?2";
static const char SQL_CANCEL_ASKED[] =
	"SELECT cancel_requested_by IS NOT NULL FROM jobs WHERE id = ?1";
static const char SQL_LEASE_STATE[] =
	"SELECT state, lease_owner FROM jobs WHERE id = ?1";
static const char SQL_FINISH[] =
	"UPDATE jobs SET state = ?3, report = ?4, finished_at = ?5,"
	" lease_until = NULL"
	" WHERE id = ?1 AND state = 'running' AND lease_owner = ?2";
static const char SQL_STAGES_CLEAR[] =
	"DELETE FROM job_stages WHERE job_id = ?1";
static const char SQL_STAGE_PUT[] =
	"INSERT INTO job_stages (job_id, seq, name, state, seconds, note, "
	"error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_STAGES_GET[] =
	"SELECT name, state, seconds, note, error FROM job_stages"
	" WHERE job_id = ?1 ORDER BY seq";
static const char SQL_PIN[] =
	"UPDATE jobs SET head_sha = ?2, ref = COALESCE(?3, ref),"
	" base_ref = COALESCE(?4, base_ref)"
	" WHERE id = ?1 AND head_sha IS NULL";
static const char SQL_SET_REPLY[] = "UPDATE jobs SET reply = ?2 WHERE id = ?1";
static const char SQL_SET_ENV[] =
	"UPDATE jobs SET environment = ?2 WHERE id = ?1";
static const char SQL_RUNNING[] =
	"SELECT id, attempts, max_attempts, lease_owner,"
	" cancel_requested_by IS NOT NULL FROM jobs WHERE state = 'running'"
	" AND (?1 OR lease_until <= ?2) ORDER BY id";
static const char SQL_RUNNING_UNDER[] =
	"SELECT id, attempts, max_attempts, lease_owner,"
	" cancel_requested_by IS NOT NULL FROM jobs WHERE id = ?1"
	" AND state = 'running' AND lease_owner = ?2";
static const char SQL_REQUEUE[] =
	"UPDATE jobs SET state = ?2, note = ?3,"
	" finished_at = CASE ?2 WHEN 'queued' THEN NULL ELSE ?4 END,"
	" lease_until = NULL WHERE id = ?1";

int pb_state_claim(struct pb_state *st, const char *worker, int lease_sec,
		   int64_t now, struct pb_job *out)
{
	sqlite3_stmt *s;
	int64_t id;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!worker || lease_sec <= 0)
		return pb_err_setc(PB_EINVAL, "cannot claim a job without a "
					      "worker id and a lease");
	if ((rc = pb_db_begin(st, 1, "claim a job for worker '%.60s'",
			      worker)) < 0)
		return rc;
	if ((rc = pb_db_row(st, &s, SQL_OLDEST_QUEUED, "")) <= 0)
		goto out;
	id = sqlite3_column_int64(s, 0);
	if ((rc = pb_db_exec(st, SQL_CLAIM, "itii", id, worker, now + lease_sec,
			     now)) < 0)
		goto out;
	rc = pb_db_job_get(st, id, out);
out:
	return pb_db_end(st, rc);
}

/*
 * Why job id is not running under worker: PB_EPERM naming its state now, or
 * PB_ENOTFOUND.
 */
static int lease_lost(struct pb_state *st, int64_t id, const char *worker)
{
	const unsigned char *state, *owner;
	sqlite3_stmt *s;
	int rc;

	if ((rc = pb_db_row(st, &s, SQL_LEASE_STATE, "i", id)) < 0)
		return rc;
	if (rc == 0)
		return pb_db_no_job(st);
	state = sqlite3_column_text(s, 0);
	/* a requeued job keeps its last worker's name: not its holder */
	owner = state && strcmp((const char *)state, "running") == 0 ?
			sqlite3_column_text(s, 1) :
			NULL;
	return pb_err_setc(PB_EPERM,
			   "state store '%s': cannot %s: worker '%s' no "
			   "longer holds it (its state is '%s'%s%s%s); stop "
			   "without reporting",
			   st->path, st->op, worker,
			   state ? (const char *)state : "?",
			   owner ? " under worker '" : "",
			   owner ? (const char *)owner : "", owner ? "'" : "");
}

int pb_state_heartbeat(struct pb_state *st, int64_t job_id, const char *worker,
		       int lease_sec, int64_t now, int *cancel)
{
	sqlite3_stmt *s;
	int rc;

	*cancel = 0;
	if (!worker || lease_sec <= 0)
		return pb_err_setc(PB_EINVAL, "cannot extend a lease without "
					      "a worker id and a lease");
	if ((rc = pb_db_begin(st, 1, "extend the lease of job 'j-%" PRId64 "'",
			      job_id)) < 0)
		return rc;
	if ((rc = pb_db_exec(st, SQL_HEARTBEAT, "itii", job_id, worker,
			     now + lease_sec, now)) < 0)
		goto out;
	if (sqlite3_changes(st->db) == 0) {
		rc = lease_lost(st, job_id, worker);
		goto out;
	}
	if ((rc = pb_db_row(st, &s, SQL_CANCEL_ASKED, "i", job_id)) < 0)
		goto out;
	*cancel = rc > 0 && sqlite3_column_int(s, 0);
	rc = 0;
out:
	return pb_db_end(st, rc);
}

void pb_stage_list_release(struct pb_stage_list *l)
{
	size_t i;

	if (!l)
		return;
	/* the rows' strings are const for callers, owned by the list */
	for (i = 0; i < l->n; i++) {
		free((char *)l->v[i].name);
		free((char *)l->v[i].state);
		free((char *)l->v[i].note);
		free((char *)l->v[i].error);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int stages_put(struct pb_state *st, int64_t id,
		      const struct pb_stage_row *rows, size_t n)
{
	size_t i;
	int rc;

	if ((rc = pb_db_exec(st, SQL_STAGES_CLEAR, "i", id)) < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		if (!rows[i].name || !rows[i].state)
			return pb_err_setc(PB_EINVAL,
					   "state store '%s': cannot %s: stage "
					   "%zu has no name or state",
					   st->path, st->op, i + 1);
		rc = pb_db_exec(st, SQL_STAGE_PUT, "inttdtt", id, (int)i,
				rows[i].name, rows[i].state, rows[i].seconds,
				rows[i].note, rows[i].error);
	}
	return rc;
}

int pb_state_finish(struct pb_state *st, int64_t job_id, const char *worker,
		    enum pb_job_state final, const char *report,
		    const struct pb_stage_row *stages, size_t n_stages,
		    int64_t now)
{
	int rc;

	if (final != PB_JOB_SUCCEEDED && final != PB_JOB_FAILED &&
	    final != PB_JOB_CANCELLED)
		return pb_err_setc(PB_EINVAL,
				   "cannot finish job 'j-%" PRId64 "' as '%s': "
				   "use succeeded, failed or cancelled",
				   job_id, pb_job_state_name(final));
	if (!worker)
		return pb_err_setc(PB_EINVAL, "cannot finish a job without a "
					      "worker id");
	if ((rc = pb_db_begin(st, 1, "finish job 'j-%" PRId64 "'", job_id)) < 0)
		return rc;
	if ((rc = pb_db_exec(st, SQL_FINISH, "ittti", job_id, worker,
			     pb_job_state_name(final), report, now)) < 0)
		goto out;
	if (sqlite3_changes(st->db) == 0) {
		rc = lease_lost(st, job_id, worker);
		goto out;
	}
	rc = stages_put(st, job_id, stages, n_stages);
out:
	return pb_db_end(st, rc);
}

int pb_state_job_stages(struct pb_state *st, int64_t job_id,
			struct pb_stage_list *out)
{
	struct pb_stage_row *grown, *r;
	sqlite3_stmt *s;
	int rc, oom = 0;

	memset(out, 0, sizeof(*out));
	if ((rc = pb_db_begin(st, 0, "read the stages of job 'j-%" PRId64 "'",
			      job_id)) < 0)
		return rc;
	if ((rc = pb_db_stmt(st, &s, SQL_STAGES_GET, "i", job_id)) < 0)
		goto out;
	while ((rc = pb_db_step(st, s)) > 0) {
		if (!(grown = realloc(out->v, (out->n + 1) * sizeof(*grown)))) {
			rc = pb_err_set("out of memory");
			goto out;
		}
		out->v = grown;
		r = &out->v[out->n++];
		r->name = pb_db_col_dup(s, 0, &oom);
		r->state = pb_db_col_dup(s, 1, &oom);
		r->seconds = sqlite3_column_double(s, 2);
		r->note = pb_db_col_dup(s, 3, &oom);
		r->error = pb_db_col_dup(s, 4, &oom);
		if (oom) {
			rc = pb_err_set("out of memory");
			goto out;
		}
	}
out:
	rc = pb_db_end(st, rc);
	if (rc < 0)
		pb_stage_list_release(out);
	return rc;
}

int pb_state_job_pin(struct pb_state *st, int64_t job_id, const char *sha,
		     const char *ref, const char *base_ref)
{
	int rc;

	if (!sha)
		return pb_err_setc(PB_EINVAL,
				   "cannot pin job 'j-%" PRId64
				   "' to no commit",
				   job_id);
	if ((rc = pb_db_begin(st, 1, "pin the commit of job 'j-%" PRId64 "'",
			      job_id)) < 0)
		return rc;
	if ((rc = pb_db_job_exists(st, job_id)) == 0)
		rc = pb_db_exec(st, SQL_PIN, "ittt", job_id, sha, ref,
				base_ref);
	return pb_db_end(st, rc);
}

int pb_state_set_reply(struct pb_state *st, int64_t job_id, const char *reply)
{
	int rc;

	if ((rc = pb_db_begin(st, 1,
			      "store the reply handle of job 'j-%" PRId64 "'",
			      job_id)) < 0)
		return rc;
	if ((rc = pb_db_job_exists(st, job_id)) == 0)
		rc = pb_db_exec(st, SQL_SET_REPLY, "it", job_id,
				reply ? reply : "{}");
	return pb_db_end(st, rc);
}

int pb_state_job_set_environment(struct pb_state *st, int64_t job_id,
				 const char *environment)
{
	int rc;

	if ((rc = pb_db_begin(st, 1,
			      "store the environment of job 'j-%" PRId64 "'",
			      job_id)) < 0)
		return rc;
	if ((rc = pb_db_job_exists(st, job_id)) == 0)
		rc = pb_db_exec(st, SQL_SET_ENV, "it", job_id, environment);
	return pb_db_end(st, rc);
}

/* A running job whose worker is gone, as SQL_RUNNING selects it. */
struct orphan {
	int64_t id;
	int attempts;
	int max_attempts;
	int cancelled; /* a cancel was requested */
	char owner[64];
};

struct orphan_list {
	struct orphan *v;
	size_t n;
};

static int orphans_collect(struct pb_state *st, sqlite3_stmt *s,
			   struct orphan_list *out)
{
	const unsigned char *owner;
	struct orphan *grown, *o;
	int rc;

	while ((rc = pb_db_step(st, s)) > 0) {
		if (!(grown = realloc(out->v, (out->n + 1) * sizeof(*grown))))
			return pb_err_set("out of memory");
		out->v = grown;
		o = &out->v[out->n++];
		o->id = sqlite3_column_int64(s, 0);
		o->attempts = sqlite3_column_int(s, 1);
		o->max_attempts = sqlite3_column_int(s, 2);
		owner = sqlite3_column_text(s, 3);
		snprintf(o->owner, sizeof(o->owner), "%s",
			 owner ? (const char *)owner : "?");
		o->cancelled = sqlite3_column_int(s, 4);
	}
	return rc;
}

/*
 * Queued again, failed at the last attempt, or cancelled if asked. why says
 * what happened to the run ("worker 'W' stopped" when NULL).
 */
static int requeue_one(struct pb_state *st, const struct orphan *o,
		       const char *why, int64_t now)
{
	const char *state = "queued";
	char note[256], dflt[96];

	if (!why) {
		snprintf(dflt, sizeof(dflt), "worker '%s' stopped", o->owner);
		why = dflt;
	}
	snprintf(note, sizeof(note), "retry: %s during attempt %d of %d", why,
		 o->attempts, o->max_attempts);
	if (o->cancelled) {
		state = "cancelled";
		snprintf(note, sizeof(note), "%s after the cancel request",
			 why);
	} else if (o->attempts >= o->max_attempts) {
		state = "failed";
		snprintf(note, sizeof(note),
			 "not retried: %s during attempt %d of %d", why,
			 o->attempts, o->max_attempts);
	}
	return pb_db_exec(st, SQL_REQUEUE, "itti", o->id, state, note, now);
}

static int requeue_tx(struct pb_state *st, enum pb_requeue which, int64_t now,
		      struct pb_job_list *out)
{
	struct orphan_list orphans = { 0 };
	sqlite3_stmt *s;
	size_t i;
	int rc;

	/* read them all first: never change the rows a scan is walking */
	if ((rc = pb_db_stmt(st, &s, SQL_RUNNING, "ni", which == PB_REQUEUE_ALL,
			     now)) < 0 ||
	    (rc = orphans_collect(st, s, &orphans)) < 0)
		goto out;
	for (i = 0; i < orphans.n && rc == 0; i++)
		rc = requeue_one(st, &orphans.v[i], NULL, now);
	for (i = 0; i < orphans.n && rc == 0; i++)
		rc = pb_db_jobs_add(st, out, orphans.v[i].id);
out:
	free(orphans.v);
	return rc;
}

int pb_state_requeue(struct pb_state *st, enum pb_requeue which, int64_t now,
		     struct pb_job_list *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = pb_db_begin(st, 1, "requeue the jobs of stopped workers")) <
	    0)
		return rc;
	rc = pb_db_end(st, requeue_tx(st, which, now, out));
	if (rc < 0)
		pb_job_list_release(out);
	return rc;
}

static int requeue_job_tx(struct pb_state *st, int64_t job_id,
			  const char *worker, const char *why, int64_t now,
			  struct pb_job *out)
{
	struct orphan_list one = { 0 };
	sqlite3_stmt *s;
	int rc;

	if ((rc = pb_db_stmt(st, &s, SQL_RUNNING_UNDER, "it", job_id, worker)) <
		    0 ||
	    (rc = orphans_collect(st, s, &one)) < 0)
		goto out;
	if (!one.n) {
		rc = lease_lost(st, job_id, worker);
		goto out;
	}
	if ((rc = requeue_one(st, &one.v[0], why, now)) == 0)
		rc = pb_db_job_get(st, job_id, out);
out:
	free(one.v);
	return rc;
}

int pb_state_requeue_job(struct pb_state *st, int64_t job_id,
			 const char *worker, const char *why, int64_t now,
			 struct pb_job *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!worker)
		return pb_err_setc(PB_EINVAL, "cannot take back a job without "
					      "a worker id");
	if ((rc = pb_db_begin(st, 1, "take back job 'j-%" PRId64 "'", job_id)) <
	    0)
		return rc;
	rc = pb_db_end(st, requeue_job_tx(st, job_id, worker, why, now, out));
	if (rc < 0)
		pb_job_release(out);
	return rc;
}
