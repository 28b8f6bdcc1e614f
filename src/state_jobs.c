/* state_jobs.c: job rows as they are stored, /status, /cancel */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/state.h"
#include "state_db.h"
#include "banned.h"

/* The columns job_read() reads, in its order. */
#define JOB_COLS                                                              \
	"id, repo, pr, head_sha, ref, base_ref, command, args, actor, "       \
	"source, delivery_id, comment_id, command_index, state, attempts, "   \
	"max_attempts, lease_owner, lease_until, heartbeat_at, created_at, "  \
	"started_at, finished_at, cancel_requested_by, superseded_by, note, " \
	"reply, report, environment"

static const char SQL_JOB_GET[] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1";
static const char SQL_JOB_EXISTS[] = "SELECT 1 FROM jobs WHERE id = ?1";
/*
 * Cancel one job: a queued one at once, a running one by request (its
 * worker sees it at the next heartbeat). SET reads the old row, so each CASE
 * looks at the state before this update. The first canceller is kept; the
 * newest superseding job wins.
 */
static const char SQL_CANCEL[] =
	"UPDATE jobs SET"
	" state = CASE state WHEN 'queued' THEN 'cancelled' ELSE state END,"
	" finished_at = CASE state WHEN 'queued' THEN ?3 ELSE finished_at END,"
	" cancel_requested_by = COALESCE(cancel_requested_by, ?2),"
	" superseded_by = COALESCE(NULLIF(?4, 0), superseded_by)"
	" WHERE id = ?1 AND state IN ('queued', 'running')";
static const char SQL_COUNT_QUEUED[] =
	"SELECT value FROM counters WHERE name = 'queued'";
static const char SQL_JOB_REPO[] = "SELECT repo, state FROM jobs WHERE id = ?1";
static const char SQL_LIVE_OF_PR[] =
	"SELECT id FROM jobs WHERE repo = ?1 AND pr = ?2"
	" AND state IN ('queued', 'running') ORDER BY id";
static const char SQL_JOBS_OF_PR[] = "SELECT " JOB_COLS
				     " FROM jobs WHERE repo = ?1 AND pr = ?2"
				     " ORDER BY id DESC LIMIT ?3";

static const char *const state_names[] = {
	[PB_JOB_QUEUED] = "queued",	  [PB_JOB_RUNNING] = "running",
	[PB_JOB_SUCCEEDED] = "succeeded", [PB_JOB_FAILED] = "failed",
	[PB_JOB_CANCELLED] = "cancelled",
};

#define N_STATES (sizeof(state_names) / sizeof(state_names[0]))

const char *pb_job_state_name(enum pb_job_state s)
{
	return (size_t)s < N_STATES ? state_names[s] : "unknown";
}

static enum pb_job_state state_parse(const unsigned char *name)
{
	size_t i;

	for (i = 0; name && i < N_STATES; i++)
		if (strcmp((const char *)name, state_names[i]) == 0)
			return (enum pb_job_state)i;
	/* the table's CHECK keeps other names out */
	return PB_JOB_FAILED;
}

void pb_job_id_format(char buf[PB_JOB_ID_MAX], int64_t id)
{
	snprintf(buf, PB_JOB_ID_MAX, "j-%" PRId64, id);
}

int pb_job_id_parse(int64_t *out, const char *text)
{
	const char *p = text;
	int64_t v = 0;

	if ((p[0] == 'j' || p[0] == 'J') && p[1] == '-')
		p += 2;
	if (!*p)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > (INT64_MAX - (*p - '0')) / 10)
			goto bad;
		v = v * 10 + (*p - '0');
	}
	if (v == 0)
		goto bad;
	*out = v;
	return 0;
bad:
	return pb_err_setc(PB_EINVAL,
			   "'%.40s' is not a job id: use one that /status "
			   "shows, such as j-12",
			   text);
}

void pb_job_release(struct pb_job *j)
{
	if (!j)
		return;
	free(j->repo);
	free(j->head_sha);
	free(j->ref);
	free(j->base_ref);
	free(j->command);
	free(j->args);
	free(j->actor);
	free(j->source);
	free(j->delivery_id);
	free(j->comment_id);
	free(j->lease_owner);
	free(j->cancel_requested_by);
	free(j->note);
	free(j->reply);
	free(j->report);
	free(j->environment);
	memset(j, 0, sizeof(*j));
}

void pb_job_list_release(struct pb_job_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		pb_job_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* The row s stands on (selected as JOB_COLS) into j. */
static int job_read(struct pb_job *j, sqlite3_stmt *s)
{
	int oom = 0;

	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(s, 0);
	pb_job_id_format(j->public_id, j->id);
	j->repo = pb_db_col_dup(s, 1, &oom);
	j->pr = sqlite3_column_int64(s, 2);
	j->head_sha = pb_db_col_dup(s, 3, &oom);
	j->ref = pb_db_col_dup(s, 4, &oom);
	j->base_ref = pb_db_col_dup(s, 5, &oom);
	j->command = pb_db_col_dup(s, 6, &oom);
	j->args = pb_db_col_dup(s, 7, &oom);
	j->actor = pb_db_col_dup(s, 8, &oom);
	j->source = pb_db_col_dup(s, 9, &oom);
	j->delivery_id = pb_db_col_dup(s, 10, &oom);
	j->comment_id = pb_db_col_dup(s, 11, &oom);
	j->command_index = sqlite3_column_int(s, 12);
	j->state = state_parse(sqlite3_column_text(s, 13));
	j->attempts = sqlite3_column_int(s, 14);
	j->max_attempts = sqlite3_column_int(s, 15);
	j->lease_owner = pb_db_col_dup(s, 16, &oom);
	j->lease_until = sqlite3_column_int64(s, 17);
	j->heartbeat_at = sqlite3_column_int64(s, 18);
	j->created_at = sqlite3_column_int64(s, 19);
	j->started_at = sqlite3_column_int64(s, 20);
	j->finished_at = sqlite3_column_int64(s, 21);
	j->cancel_requested_by = pb_db_col_dup(s, 22, &oom);
	j->superseded_by = sqlite3_column_int64(s, 23);
	j->note = pb_db_col_dup(s, 24, &oom);
	j->reply = pb_db_col_dup(s, 25, &oom);
	j->report = pb_db_col_dup(s, 26, &oom);
	j->environment = pb_db_col_dup(s, 27, &oom);
	if (oom) {
		pb_job_release(j);
		return pb_err_set("out of memory");
	}
	return 0;
}

/* One job by id inside a transaction; PB_ENOTFOUND names it. */
int pb_db_job_get(struct pb_state *st, int64_t id, struct pb_job *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = pb_db_row(st, &s, SQL_JOB_GET, "i", id)) < 0)
		return rc;
	if (rc == 0)
		return pb_db_no_job(st);
	return job_read(out, s);
}

int pb_db_no_job(struct pb_state *st)
{
	return pb_err_setc(PB_ENOTFOUND,
			   "state store '%s': cannot %s: there is no such job",
			   st->path, st->op);
}

int pb_db_job_exists(struct pb_state *st, int64_t id)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = pb_db_row(st, &s, SQL_JOB_EXISTS, "i", id)) < 0)
		return rc;
	return rc ? 0 : pb_db_no_job(st);
}

/* Room for one more job at the end of l; NULL when out of memory. */
static struct pb_job *list_push(struct pb_job_list *l)
{
	struct pb_job *grown = realloc(l->v, (l->n + 1) * sizeof(*grown));

	if (!grown)
		return NULL;
	l->v = grown;
	return &l->v[l->n];
}

/* Append job id to l, read afresh. */
int pb_db_jobs_add(struct pb_state *st, struct pb_job_list *l, int64_t id)
{
	struct pb_job *j = list_push(l);
	int rc;

	if (!j)
		return pb_err_set("out of memory");
	if ((rc = pb_db_job_get(st, id, j)) == 0)
		l->n++;
	return rc;
}

/* Add id unless it is there already. */
int pb_db_ids_add(struct pb_db_ids *l, int64_t id)
{
	int64_t *grown;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return 0;
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 8;
		if (!(grown = realloc(l->v, l->alloc * sizeof(*grown))))
			return pb_err_set("out of memory");
		l->v = grown;
	}
	l->v[l->n++] = id;
	return 0;
}

/* The first column of every row of a prepared statement, as ids. */
int pb_db_ids_collect(struct pb_state *st, sqlite3_stmt *s,
		      struct pb_db_ids *out)
{
	int rc;

	while ((rc = pb_db_step(st, s)) > 0)
		if ((rc = pb_db_ids_add(out, sqlite3_column_int64(s, 0))) < 0)
			return rc;
	return rc;
}

int pb_db_ids_jobs(struct pb_state *st, const struct pb_db_ids *ids,
		   struct pb_job_list *out)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < ids->n && rc == 0; i++)
		rc = pb_db_jobs_add(st, out, ids->v[i]);
	return rc;
}

int pb_db_job_cancel(struct pb_state *st, int64_t id, const char *actor,
		     int64_t now, int64_t superseded_by)
{
	return pb_db_exec(st, SQL_CANCEL, "itii", id, actor, now,
			  superseded_by);
}

int pb_db_count_queued(struct pb_state *st, int64_t *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = pb_db_row(st, &s, SQL_COUNT_QUEUED, "")) < 0)
		return rc;
	*out = rc ? sqlite3_column_int64(s, 0) : 0;
	return 0;
}

/* ---- /cancel, /status ---- */

/* Check job id can be cancelled by someone in repo. */
static int cancel_check(struct pb_state *st, const char *repo, int64_t id)
{
	const unsigned char *jrepo, *state;
	sqlite3_stmt *s;
	int rc;

	if ((rc = pb_db_row(st, &s, SQL_JOB_REPO, "i", id)) < 0)
		return rc;
	jrepo = rc ? sqlite3_column_text(s, 0) : NULL;
	if (!jrepo || (repo && strcmp(repo, (const char *)jrepo) != 0))
		return pb_err_setc(PB_ENOTFOUND,
				   "no job 'j-%" PRId64 "' in '%s': /status "
				   "lists this pull request's jobs",
				   id, repo ? repo : "any repository");
	state = sqlite3_column_text(s, 1);
	if (state && strcmp((const char *)state, "queued") != 0 &&
	    strcmp((const char *)state, "running") != 0)
		return pb_err_setc(PB_EINVAL,
				   "job 'j-%" PRId64 "' has already %s: "
				   "there is nothing to cancel",
				   id,
				   strcmp((const char *)state, "cancelled") ?
					   (const char *)state :
					   "been cancelled");
	return 0;
}

int pb_state_cancel_job(struct pb_state *st, const char *repo,
			const char *public_id, const char *actor, int64_t now,
			struct pb_job *out)
{
	int64_t id;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!public_id || !actor)
		return pb_err_setc(PB_EINVAL, "cannot cancel a job without "
					      "its id and who cancels it");
	if ((rc = pb_job_id_parse(&id, public_id)) < 0)
		return rc;
	if ((rc = pb_db_begin(st, 1, "cancel job 'j-%" PRId64 "'", id)) < 0)
		return rc;
	if ((rc = cancel_check(st, repo, id)) < 0 ||
	    (rc = pb_db_job_cancel(st, id, actor, now, 0)) < 0)
		goto out;
	rc = pb_db_job_get(st, id, out);
out:
	return pb_db_end(st, rc);
}

int pb_state_cancel_pr(struct pb_state *st, const char *repo, int64_t pr,
		       const char *actor, int64_t now, struct pb_job_list *out)
{
	struct pb_db_ids ids = { 0 };
	sqlite3_stmt *s;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!repo || !actor)
		return pb_err_setc(PB_EINVAL, "cannot cancel jobs without the "
					      "repository and who cancels "
					      "them");
	if ((rc = pb_db_begin(st, 1, "cancel the jobs of %s#%" PRId64, repo,
			      pr)) < 0)
		return rc;
	if ((rc = pb_db_stmt(st, &s, SQL_LIVE_OF_PR, "ti", repo, pr)) < 0 ||
	    (rc = pb_db_ids_collect(st, s, &ids)) < 0)
		goto out;
	for (i = 0; i < ids.n && rc == 0; i++)
		rc = pb_db_job_cancel(st, ids.v[i], actor, now, 0);
	if (rc == 0)
		rc = pb_db_ids_jobs(st, &ids, out);
out:
	free(ids.v);
	rc = pb_db_end(st, rc);
	if (rc < 0)
		pb_job_list_release(out);
	return rc;
}

int pb_state_job_get(struct pb_state *st, int64_t job_id, struct pb_job *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = pb_db_begin(st, 0, "read job 'j-%" PRId64 "'", job_id)) < 0)
		return rc;
	return pb_db_end(st, pb_db_job_get(st, job_id, out));
}

int pb_state_jobs_of_pr(struct pb_state *st, const char *repo, int64_t pr,
			size_t limit, struct pb_job_list *out)
{
	struct pb_job *j;
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!repo)
		return pb_err_setc(PB_EINVAL, "cannot list the jobs of a pull "
					      "request without its repository");
	if ((rc = pb_db_begin(st, 0, "list the jobs of %s#%" PRId64, repo,
			      pr)) < 0)
		return rc;
	/* LIMIT -1: no bound */
	if ((rc = pb_db_stmt(st, &s, SQL_JOBS_OF_PR, "tii", repo, pr,
			     limit ? (int64_t)limit : (int64_t)-1)) < 0)
		goto out;
	while ((rc = pb_db_step(st, s)) > 0) {
		if (!(j = list_push(out))) {
			rc = pb_err_set("out of memory");
			goto out;
		}
		if ((rc = job_read(j, s)) < 0)
			goto out;
		out->n++;
	}
out:
	rc = pb_db_end(st, rc);
	if (rc < 0)
		pb_job_list_release(out);
	return rc;
}

int pb_state_count_queued(struct pb_state *st, int64_t *out)
{
	int rc;

	*out = 0;
	if ((rc = pb_db_begin(st, 0, "count the queued jobs")) < 0)
		return rc;
	return pb_db_end(st, pb_db_count_queued(st, out));
}
