/* state_queue.c: a delivery and its jobs into the queue, in one transaction */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/state.h"
#include "state_db.h"
#include "banned.h"

static const char SQL_DELIVERY_SEEN[] =
	"SELECT 1 FROM deliveries WHERE delivery_id = ?1";
static const char SQL_DELIVERY_PUT[] =
	"INSERT INTO deliveries (delivery_id, source, event, received_at, "
	"outcome) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_COMMENT_LINE[] =
	"SELECT id FROM jobs WHERE comment_id = ?1 AND command_index = ?2";
static const char SQL_JOB_PUT[] =
	"INSERT INTO jobs (repo, pr, head_sha, ref, base_ref, command, args, "
	"actor, source, delivery_id, comment_id, command_index, state, "
	"max_attempts, created_at, reply) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	"?8, ?9, ?10, ?11, ?12, 'queued', ?13, ?14, ?15)";
static const char SQL_OLDER_SAME[] =
	"SELECT id FROM jobs WHERE repo = ?1 AND pr = ?2 AND command = ?3 "
	"AND id < ?4 AND state IN ('queued', 'running') ORDER BY id";

void pb_accept_release(struct pb_accept *a)
{
	if (!a)
		return;
	free(a->ids);
	pb_job_list_release(&a->superseded);
	pb_env_lock_list_release(&a->unlocked);
	memset(a, 0, sizeof(*a));
}

static int accept_check(const struct pb_delivery *d,
			const struct pb_job_new *jobs, size_t n)
{
	const char *missing = NULL;
	size_t i;

	if (!d->id || !*d->id || !d->source || !d->event)
		return pb_err_setc(PB_EINVAL,
				   "cannot record a delivery without an id, "
				   "source and event");
	if (d->unlock_pr && !d->unlock_repo)
		return pb_err_setc(PB_EINVAL,
				   "cannot release the locks of pull request "
				   "#%" PRId64 " of delivery '%s': its "
				   "repository is missing",
				   d->unlock_pr, d->id);
	/* i ends one past the culprit: the message counts from 1 */
	for (i = 0; i < n && !missing; i++)
		missing = !jobs[i].repo	   ? "repo" :
			  !jobs[i].command ? "command" :
			  !jobs[i].actor   ? "actor" :
			  !jobs[i].source  ? "source" :
					     NULL;
	if (missing)
		return pb_err_setc(PB_EINVAL,
				   "cannot queue job %zu of delivery '%s': "
				   "its %s is missing",
				   i, d->id, missing);
	return 0;
}

/* 1 when the delivery id is stored already. */
static int delivery_seen(struct pb_state *st, const char *id)
{
	sqlite3_stmt *s;

	return pb_db_row(st, &s, SQL_DELIVERY_SEEN, "t", id);
}

/* 1 when another delivery queued this comment's command line already. */
static int comment_line_seen(struct pb_state *st, const struct pb_job_new *j)
{
	sqlite3_stmt *s;

	if (!j->comment_id)
		return 0;
	return pb_db_row(st, &s, SQL_COMMENT_LINE, "tn", j->comment_id,
			 j->command_index);
}

static int job_insert(struct pb_state *st, const struct pb_delivery *d,
		      const struct pb_job_new *j, int64_t *id)
{
	int max = j->max_attempts > 0 ? j->max_attempts : PB_STATE_MAX_ATTEMPTS;
	int rc;

	rc = pb_db_exec(st, SQL_JOB_PUT, "titttttttttnnit", j->repo, j->pr,
			j->head_sha, j->ref, j->base_ref, j->command,
			j->args ? j->args : "[]", j->actor, j->source, d->id,
			j->comment_id, j->command_index, max, d->received_at,
			j->reply ? j->reply : "{}");
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

/* Cancel the older live jobs of j's PR and command in favour of id. */
static int supersede(struct pb_state *st, const struct pb_job_new *j,
		     int64_t id, int64_t now, struct pb_db_ids *done)
{
	struct pb_db_ids older = { 0 };
	sqlite3_stmt *s;
	size_t i;
	int rc;

	if ((rc = pb_db_stmt(st, &s, SQL_OLDER_SAME, "titi", j->repo, j->pr,
			     j->command, id)) < 0 ||
	    (rc = pb_db_ids_collect(st, s, &older)) < 0)
		goto out;
	for (i = 0; i < older.n && rc == 0; i++)
		if ((rc = pb_db_job_cancel(st, older.v[i], j->actor, now,
					   id)) == 0)
			rc = pb_db_ids_add(done, older.v[i]);
out:
	free(older.v);
	return rc;
}

int pb_db_queue_room(struct pb_state *st, const char *then)
{
	int64_t queued;
	int rc;

	if (!st->queue_max)
		return 0;
	if ((rc = pb_db_count_queued(st, &queued)) < 0)
		return rc;
	if (queued <= st->queue_max)
		return 0;
	return pb_err_setc(PB_ETOOBIG,
			   "state store '%s': cannot %s: the queue is full "
			   "(it would hold %" PRId64 " jobs and [server] "
			   "queue_max is %d); %s",
			   st->path, st->op, queued, st->queue_max, then);
}

static const char *accept_outcome(const struct pb_delivery *d,
				  struct pb_accept *a, size_t n)
{
	a->outcome = a->n_queued ? PB_ACCEPT_QUEUED :
		     n		 ? PB_ACCEPT_SKIPPED :
				   PB_ACCEPT_IGNORED;
	if (d->outcome)
		return d->outcome;
	return a->n_queued   ? "queued" :
	       n	     ? "skipped" :
	       a->unlocked.n ? "unlocked" :
			       "ignored";
}

static int accept_tx(struct pb_state *st, const struct pb_delivery *d,
		     const struct pb_job_new *jobs, size_t n,
		     struct pb_accept *out)
{
	struct pb_db_ids superseded = { 0 };
	const char *outcome;
	size_t i;
	int rc;

	if ((rc = delivery_seen(st, d->id)) != 0) {
		if (rc > 0) {
			out->outcome = PB_ACCEPT_DUPLICATE;
			rc = 0;
		}
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((rc = comment_line_seen(st, &jobs[i])) < 0)
			goto out;
		if (rc > 0)
			continue;
		if ((rc = job_insert(st, d, &jobs[i], &out->ids[i])) < 0)
			goto out;
		out->n_queued++;
		if (jobs[i].supersede && jobs[i].pr &&
		    (rc = supersede(st, &jobs[i], out->ids[i], d->received_at,
				    &superseded)) < 0)
			goto out;
	}
	rc = 0;
	if (out->n_queued && (rc = pb_db_queue_room(st, "try again later")) < 0)
		goto out;
	if (d->unlock_pr &&
	    (rc = pb_db_unlock_pr(st, d->unlock_repo, d->unlock_pr,
				  &out->unlocked)) < 0)
		goto out;
	outcome = accept_outcome(d, out, n);
	if ((rc = pb_db_exec(st, SQL_DELIVERY_PUT, "tttit", d->id, d->source,
			     d->event, d->received_at, outcome)) < 0)
		goto out;
	rc = pb_db_ids_jobs(st, &superseded, &out->superseded);
out:
	free(superseded.v);
	return rc;
}

/* Fill req->out within the open transaction; req->rc says how it went. */
static void accept_one(struct pb_state *st, struct pb_accept_req *req)
{
	struct pb_accept *out = &req->out;
	int rc;

	memset(out, 0, sizeof(*out));
	pb_db_op(st, "record delivery '%.60s'", req->d->id);
	if ((rc = accept_check(req->d, req->jobs, req->n)) < 0)
		goto out;
	if (req->n && !(out->ids = calloc(req->n, sizeof(*out->ids)))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	out->n_ids = req->n;
	if ((rc = pb_db_savepoint(st)) < 0)
		goto out;
	rc = pb_db_savepoint_end(st,
				 accept_tx(st, req->d, req->jobs, req->n, out));
out:
	req->rc = rc;
	if (rc < 0) {
		snprintf(req->err, sizeof(req->err), "%s", pb_err_last());
		pb_accept_release(out);
	}
}

int pb_state_accept_batch(struct pb_state *st, struct pb_accept_req *v,
			  size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		memset(&v[i].out, 0, sizeof(v[i].out));
		v[i].rc = 0;
		v[i].err[0] = '\0';
	}
	rc = n == 1 ? pb_db_begin(st, 1, "record delivery '%.60s'", v->d->id) :
		      pb_db_begin(st, 1, "record %zu deliveries", n);
	if (rc == 0) {
		for (i = 0; i < n && rc == 0; i++) {
			accept_one(st, &v[i]);
			/* some errors (disk full, I/O) roll back everything */
			if (pb_db_tx_lost(st))
				rc = v[i].rc < 0 ? v[i].rc : PB_ERROR;
		}
		if (n != 1)
			pb_db_op(st, "record %zu deliveries", n);
		rc = pb_db_end(st, rc);
	}
	if (rc == 0)
		return 0;
	for (i = 0; i < n; i++) {
		pb_accept_release(&v[i].out);
		v[i].rc = rc;
		snprintf(v[i].err, sizeof(v[i].err), "%s", pb_err_last());
	}
	return rc;
}

int pb_state_accept_delivery(struct pb_state *st, const struct pb_delivery *d,
			     const struct pb_job_new *jobs, size_t n,
			     struct pb_accept *out)
{
	struct pb_accept_req req = { d, jobs, n, 0, "", { 0 } };
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = pb_state_accept_batch(st, &req, 1)) == 0 &&
	    (rc = req.rc) == 0)
		*out = req.out;
	else if (rc < 0)
		pb_err_setc(rc, "%s", req.err);
	return rc;
}
