/* state_schedule.c: the claimed slots of schedules, each with its job */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "prbot/cron.h"
#include "prbot/err.h"
#include "prbot/state.h"
#include "state_db.h"
#include "banned.h"

static const char SQL_SLOT_GET[] =
	"SELECT job_id FROM schedule_slots WHERE name = ?1 AND slot = ?2";
static const char SQL_SLOT_PUT[] =
	"INSERT INTO schedule_slots (name, slot, job_id, claimed_at) "
	"VALUES (?1, ?2, ?3, ?4)";
static const char SQL_SLOT_LAST[] =
	"SELECT max(slot) FROM schedule_slots WHERE name = ?1";
static const char SQL_SCHED_JOB_PUT[] =
	"INSERT INTO jobs (repo, pr, head_sha, ref, base_ref, command, args, "
	"actor, source, command_index, state, max_attempts, created_at, "
	"reply) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, 'queued', "
	"?10, ?11, ?12)";

static int claim_check(const char *name, const struct pb_job_new *j)
{
	const char *missing = !name || !*name ? "schedule name" :
			      !j->repo	      ? "repo" :
			      !j->command     ? "command" :
			      !j->actor	      ? "actor" :
			      !j->source      ? "source" :
						NULL;

	if (!missing)
		return 0;
	return pb_err_setc(PB_EINVAL,
			   "cannot claim a slot of schedule '%.60s': its %s "
			   "is missing",
			   name ? name : "", missing);
}

/* slot as people read it: "2026-11-24T03:00:00Z" */
static void slot_format(char when[PB_CRON_TIME_LEN], int64_t slot)
{
	if (pb_cron_time_format(when, (time_t)slot) < 0)
		snprintf(when, PB_CRON_TIME_LEN, "%" PRId64, slot);
}

static int claim_tx(struct pb_state *st, const char *name, int64_t slot,
		    const struct pb_job_new *j, int64_t now, int64_t *job_id)
{
	int max = j->max_attempts > 0 ? j->max_attempts : PB_STATE_MAX_ATTEMPTS;
	sqlite3_stmt *s;
	int rc;

	/* the write lock is ours since BEGIN: nobody claims in between */
	if ((rc = pb_db_row(st, &s, SQL_SLOT_GET, "ti", name, slot)) < 0)
		return rc;
	if (rc > 0) {
		*job_id = sqlite3_column_int64(s, 0);
		return pb_err_setc(PB_EEXISTS,
				   "state store '%s': cannot %s: it was "
				   "claimed already (job j-%" PRId64 ")",
				   st->path, st->op, *job_id);
	}
	rc = pb_db_exec(st, SQL_SCHED_JOB_PUT, "titttttttnit", j->repo, j->pr,
			j->head_sha, j->ref, j->base_ref, j->command,
			j->args ? j->args : "[]", j->actor, j->source, max, now,
			j->reply ? j->reply : "{}");
	if (rc < 0)
		return rc;
	*job_id = sqlite3_last_insert_rowid(st->db);
	if ((rc = pb_db_queue_room(st, "the next slot will try again")) < 0)
		return rc;
	return pb_db_exec(st, SQL_SLOT_PUT, "tiii", name, slot, *job_id, now);
}

int pb_state_schedule_claim(struct pb_state *st, const char *name, int64_t slot,
			    const struct pb_job_new *job, int64_t now,
			    int64_t *job_id)
{
	char when[PB_CRON_TIME_LEN];
	int64_t id = 0;
	int rc;

	*job_id = 0;
	if (st && (rc = claim_check(name, job)) < 0)
		return rc;
	slot_format(when, slot);
	if ((rc = pb_db_begin(st, 1, "claim slot %s of schedule '%.60s'", when,
			      name ? name : "")) < 0)
		return rc;
	rc = claim_tx(st, name, slot, job, now, &id);
	rc = pb_db_end(st, rc);
	if (rc == 0 || rc == PB_EEXISTS)
		*job_id = id;
	return rc;
}

int pb_state_schedule_last(struct pb_state *st, const char *name, int64_t *slot)
{
	sqlite3_stmt *s;
	int rc, end;

	*slot = 0;
	if ((rc = pb_db_begin(st, 0, "read the last slot of schedule '%.60s'",
			      name ? name : "")) < 0)
		return rc;
	rc = pb_db_row(st, &s, SQL_SLOT_LAST, "t", name);
	if (rc > 0) {
		rc = sqlite3_column_type(s, 0) != SQLITE_NULL;
		if (rc)
			*slot = sqlite3_column_int64(s, 0);
	}
	end = pb_db_end(st, rc < 0 ? rc : 0);
	return end < 0 ? end : rc;
}
