/* test_state_schedule.c: claiming a schedule's slot queues one job, once */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "prbot/err.h"
#include "prbot/state.h"
#include "testutil.h"

#define NOW  ((int64_t)1795489200) /* 2026-11-24T03:00:00Z */
#define REPO "octo/models"

static int setup(void **state)
{
	return pb_test_store_setup(state, "state-schedule");
}

static int teardown(void **state)
{
	return pb_test_store_teardown(state);
}

/* One integer from sql on a connection of its own. */
static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3_stmt *s = NULL;
	sqlite3 *db = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static struct pb_job_new nightly_job(void)
{
	struct pb_job_new j = {
		.repo = REPO,
		.ref = "main",
		.command = "evaluate",
		.args = "[]",
		.actor = "schedule:nightly",
		.source = "cron",
	};

	return j;
}

static void test_slot_claimed_twice_queues_one_job(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_job_new j = nightly_job();
	struct pb_job got;
	int64_t id = -1, again = -1;

	assert_int_equal(pb_state_schedule_claim(f->st, "nightly", NOW, &j,
						 NOW + 2, &id),
			 0);
	assert_true(id > 0);
	assert_int_equal(pb_state_job_get(f->st, id, &got), 0);
	assert_string_equal(got.repo, REPO);
	assert_int_equal(got.pr, 0);
	assert_string_equal(got.ref, "main");
	assert_null(got.head_sha);
	assert_string_equal(got.command, "evaluate");
	assert_string_equal(got.args, "[]");
	assert_string_equal(got.actor, "schedule:nightly");
	assert_string_equal(got.source, "cron");
	assert_null(got.delivery_id);
	assert_int_equal(got.state, PB_JOB_QUEUED);
	assert_int_equal(got.created_at, NOW + 2);
	assert_int_equal(got.max_attempts, PB_STATE_MAX_ATTEMPTS);
	pb_job_release(&got);

	assert_int_equal(pb_state_schedule_claim(f->st, "nightly", NOW, &j,
						 NOW + 5, &again),
			 PB_EEXISTS);
	assert_int_equal(again, id);
	assert_int_equal(strncmp(pb_err_last(), "state store '/tmp/", 18), 0);
	assert_non_null(strstr(pb_err_last(),
			       "cannot claim slot 2026-11-24T03:00:00Z of "
			       "schedule 'nightly': it was claimed already "
			       "(job j-"));
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM "
					  "schedule_slots"),
			 1);
	assert_int_equal(raw_int(f->path, "SELECT claimed_at FROM "
					  "schedule_slots"),
			 NOW + 2);
	/* another schedule's slot at the same time is its own */
	assert_int_equal(pb_state_schedule_claim(f->st, "weekly", NOW, &j, NOW,
						 &again),
			 0);
	assert_true(again > id);
}

static void test_last_is_the_latest_claimed_slot(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_job_new j = nightly_job();
	int64_t id, slot = -1;

	assert_int_equal(pb_state_schedule_last(f->st, "nightly", &slot), 0);
	assert_int_equal(slot, 0);
	assert_int_equal(pb_state_schedule_claim(f->st, "nightly", NOW, &j, NOW,
						 &id),
			 0);
	assert_int_equal(pb_state_schedule_claim(f->st, "nightly", NOW - 86400,
						 &j, NOW, &id),
			 0);
	assert_int_equal(pb_state_schedule_claim(f->st, "other", NOW + 60, &j,
						 NOW, &id),
			 0);
	assert_int_equal(pb_state_schedule_last(f->st, "nightly", &slot), 1);
	assert_int_equal(slot, NOW);
	assert_int_equal(pb_state_schedule_last(f->st, "other", &slot), 1);
	assert_int_equal(slot, NOW + 60);
	assert_int_equal(pb_state_schedule_last(f->st, "none", &slot), 0);
	assert_int_equal(slot, 0);
}

static void test_full_queue_claims_nothing(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_job_new j = nightly_job();
	int64_t id, slot;

	pb_state_set_queue_max(f->st, 1);
	assert_int_equal(pb_state_schedule_claim(f->st, "nightly", NOW, &j, NOW,
						 &id),
			 0);
	assert_int_equal(pb_state_schedule_claim(f->st, "nightly", NOW + 60, &j,
						 NOW + 60, &id),
			 PB_ETOOBIG);
	assert_int_equal(id, 0);
	assert_non_null(strstr(pb_err_last(), "the queue is full"));
	assert_int_equal(pb_state_schedule_last(f->st, "nightly", &slot), 1);
	assert_int_equal(slot, NOW);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), 1);
}

static void test_claim_refuses_a_job_without_an_actor(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_job_new j = nightly_job();
	int64_t id;

	j.actor = NULL;
	assert_int_equal(pb_state_schedule_claim(f->st, "nightly", NOW, &j, NOW,
						 &id),
			 PB_EINVAL);
	assert_string_equal(pb_err_last(), "cannot claim a slot of schedule "
					   "'nightly': its actor is missing");
	assert_int_equal(pb_state_schedule_claim(f->st, "", NOW, &j, NOW, &id),
			 PB_EINVAL);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), 0);
}

static void test_closed_store_is_refused(void **state)
{
	struct pb_job_new j = nightly_job();
	int64_t id, slot;

	(void)state;
	assert_int_equal(pb_state_schedule_claim(NULL, "nightly", NOW, &j, NOW,
						 &id),
			 PB_EINVAL);
	assert_string_equal(pb_err_last(),
			    "cannot claim slot 2026-11-24T03:00:00Z of "
			    "schedule 'nightly': the state store is not open");
	assert_int_equal(pb_state_schedule_last(NULL, "nightly", &slot),
			 PB_EINVAL);
	assert_string_equal(pb_err_last(),
			    "cannot read the last slot of schedule 'nightly': "
			    "the state store is not open");
}

/* ---- replicas: handles of their own on one file ---- */

#define RACERS 4
#define SLOTS  25

struct racer {
	const char *path;
	int won[SLOTS];
	int lost;
	int rc;
	char err[256];
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct pb_job_new j = nightly_job();
	struct pb_state *st = NULL;
	int64_t id;
	int i, rc;

	if ((r->rc = pb_state_open(&st, r->path)) < 0)
		goto out;
	for (i = 0; i < SLOTS; i++) {
		rc = pb_state_schedule_claim(st, "nightly", NOW + 60 * i, &j,
					     NOW, &id);
		if (rc == 0)
			r->won[i] = 1;
		else if (rc == PB_EEXISTS && id > 0)
			r->lost++;
		else if ((r->rc = rc < 0 ? rc : PB_ERROR) < 0)
			goto out;
	}
	r->rc = 0;
out:
	if (r->rc < 0)
		snprintf(r->err, sizeof(r->err), "%s", pb_err_last());
	pb_state_close(st);
	return NULL;
}

static void test_replicas_racing_for_slots_queue_one_job_each(void **state)
{
	struct pb_test_store *f = *state;
	static struct racer r[RACERS];
	pthread_t t[RACERS];
	int i, k, winners, lost = 0;

	memset(r, 0, sizeof(r));
	for (i = 0; i < RACERS; i++) {
		r[i].path = f->path;
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < RACERS; i++) {
		if (r[i].rc < 0)
			fail_msg("racer %d: %s", i, r[i].err);
		lost += r[i].lost;
	}
	for (k = 0; k < SLOTS; k++) {
		for (winners = 0, i = 0; i < RACERS; i++)
			winners += r[i].won[k];
		if (winners != 1)
			fail_msg("slot %d was won %d times", k, winners);
	}
	assert_int_equal(lost, (RACERS - 1) * SLOTS);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), SLOTS);
	assert_int_equal(raw_int(f->path, "SELECT count(DISTINCT job_id) FROM "
					  "schedule_slots"),
			 SLOTS);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_slot_claimed_twice_queues_one_job),
		T(test_last_is_the_latest_claimed_slot),
		T(test_full_queue_claims_nothing),
		T(test_claim_refuses_a_job_without_an_actor),
		cmocka_unit_test(test_closed_store_is_refused),
		T(test_replicas_racing_for_slots_queue_one_job_each),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
