/* test_locks.c: environment locks in the state store */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "prbot/err.h"
#include "prbot/state.h"
#include "testutil.h"

#define NOW  ((int64_t)1700000000)
#define REPO "octo/models"

static int setup(void **state)
{
	return pb_test_store_setup(state, "locks");
}

static int teardown(void **state)
{
	return pb_test_store_teardown(state);
}

static void reopen(struct pb_test_store *f)
{
	pb_state_close(f->st);
	f->st = NULL;
	if (pb_state_open(&f->st, f->path) < 0)
		fail_msg("reopen: %s", pb_err_last());
}

static struct pb_env_lock want(const char *env, int64_t pr, const char *actor,
			       const char *reason)
{
	struct pb_env_lock l = { REPO, env, pr, actor, reason, 0 };

	return l;
}

/* Take env for pr and expect rc and taken; the lock as it is now. */
static struct pb_env_lock take(struct pb_state *st, const char *env, int64_t pr,
			       const char *actor, const char *reason,
			       int64_t now, int want_rc, int want_taken)
{
	struct pb_env_lock w = want(env, pr, actor, reason), held;
	int taken = -1, rc;

	rc = pb_state_lock_take(st, &w, now, &taken, &held);
	if (rc != want_rc)
		fail_msg("take %s for #%lld: %d (%s), expected %d", env,
			 (long long)pr, rc, pb_err_last(), want_rc);
	assert_int_equal(taken, want_taken);
	return held;
}

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_take_then_again_by_the_same_pr_is_idempotent(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_env_lock l;

	l = take(f->st, "staging", 1, "alice", "load test", NOW, 0, 1);
	assert_string_equal(l.repo, REPO);
	assert_string_equal(l.environment, "staging");
	assert_int_equal(l.pr, 1);
	assert_string_equal(l.actor, "alice");
	assert_string_equal(l.reason, "load test");
	assert_int_equal(l.created_at, NOW);
	pb_env_lock_release(&l);

	/* again, by someone else of the same PR: the first taker stays */
	l = take(f->st, "staging", 1, "bob", NULL, NOW + 60, 0, 0);
	assert_int_equal(l.pr, 1);
	assert_string_equal(l.actor, "alice");
	assert_string_equal(l.reason, "load test");
	assert_int_equal(l.created_at, NOW);
	pb_env_lock_release(&l);
}

static void test_take_held_by_another_pr_is_busy_and_names_it(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_env_lock l;

	l = take(f->st, "staging", 1, "alice", NULL, NOW, 0, 1);
	pb_env_lock_release(&l);
	l = take(f->st, "staging", 2, "bob", "hotfix", NOW + 5, PB_EBUSY, 0);
	assert_string_equal(pb_err_last(), "'staging' of " REPO " is locked "
					   "by pull request #1 (taken by "
					   "@alice)");
	assert_int_equal(l.pr, 1);
	assert_string_equal(l.actor, "alice");
	assert_null(l.reason);
	assert_int_equal(l.created_at, NOW);
	pb_env_lock_release(&l);

	/* other environments and repositories are free */
	l = take(f->st, "production", 2, "bob", NULL, NOW, 0, 1);
	pb_env_lock_release(&l);
	{
		struct pb_env_lock w = { "octo/other", "staging", 2,
					 "bob",	       NULL,	  0 };
		int taken;

		assert_int_equal(pb_state_lock_take(f->st, &w, NOW, &taken, &l),
				 0);
		assert_int_equal(taken, 1);
		pb_env_lock_release(&l);
	}
}

static void test_take_refuses_bad_input_with_nothing_held(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_env_lock w = want("../prod", 1, "alice", NULL), held;
	struct pb_env_lock_list all;
	int taken = 7;

	assert_int_equal(pb_state_lock_take(f->st, &w, NOW, &taken, &held),
			 PB_EINVAL);
	assert_int_equal(taken, 0);
	assert_null(held.environment);
	assert_string_equal(pb_err_last(),
			    "'../prod' is not an environment name: use "
			    "letters, digits, '-', '_' and '.' (at most 64, "
			    "starting with a letter or a digit)");
	w = want("staging", 0, "alice", NULL);
	assert_int_equal(pb_state_lock_take(f->st, &w, NOW, &taken, &held),
			 PB_EINVAL);
	w = want("staging", 1, NULL, NULL);
	assert_int_equal(pb_state_lock_take(f->st, &w, NOW, &taken, &held),
			 PB_EINVAL);
	assert_int_equal(pb_state_locks(f->st, REPO, &all), 0);
	assert_int_equal(all.n, 0);
	pb_env_lock_list_release(&all);
}

static void test_env_name_check_accepts_only_plain_names(void **state)
{
	static const char *const good[] = { "staging", "prod-eu.1", "a", "Q_a",
					    "9" };
	static const char *const bad[] = { "",	     "-x",  ".hidden", "_x",
					   "a b",    "a/b", "é",       "x|y",
					   "st\"ag", NULL };
	char long_name[PB_ENV_NAME_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (pb_env_name_check(good[i]) != 0)
			fail_msg("'%s' refused: %s", good[i], pb_err_last());
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pb_env_name_check(bad[i]) != PB_EINVAL)
			fail_msg("'%s' accepted", bad[i] ? bad[i] : "(null)");
	memset(long_name, 'a', sizeof(long_name));
	long_name[PB_ENV_NAME_MAX] = '\0';
	assert_int_equal(pb_env_name_check(long_name), 0);
	long_name[PB_ENV_NAME_MAX] = 'a';
	long_name[PB_ENV_NAME_MAX + 1] = '\0';
	assert_int_equal(pb_env_name_check(long_name), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "...' is not an environment"));
}

static void test_unlock_releases_whoever_holds_it(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_env_lock l, was;

	l = take(f->st, "staging", 1, "alice", "demo", NOW, 0, 1);
	pb_env_lock_release(&l);
	assert_int_equal(pb_state_unlock(f->st, REPO, "staging", &was), 0);
	assert_int_equal(was.pr, 1);
	assert_string_equal(was.actor, "alice");
	assert_string_equal(was.reason, "demo");
	pb_env_lock_release(&was);

	assert_int_equal(pb_state_unlock(f->st, REPO, "staging", &was),
			 PB_ENOTFOUND);
	assert_string_equal(pb_err_last(),
			    "'staging' of " REPO " is not locked");
	assert_null(was.actor);
	assert_int_equal(pb_state_unlock(f->st, REPO, "staging", NULL),
			 PB_ENOTFOUND);

	/* free again: another PR takes it */
	l = take(f->st, "staging", 2, "bob", NULL, NOW, 0, 1);
	pb_env_lock_release(&l);
}

static void test_unlock_pr_releases_all_its_locks_only(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_env_lock_list out, all;
	struct pb_env_lock l;

	l = take(f->st, "staging", 1, "alice", NULL, NOW, 0, 1);
	pb_env_lock_release(&l);
	l = take(f->st, "production", 1, "alice", NULL, NOW, 0, 1);
	pb_env_lock_release(&l);
	l = take(f->st, "qa", 2, "bob", NULL, NOW, 0, 1);
	pb_env_lock_release(&l);

	assert_int_equal(pb_state_unlock_pr(f->st, REPO, 1, &out), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0].environment, "production");
	assert_string_equal(out.v[1].environment, "staging");
	assert_int_equal(out.v[1].pr, 1);
	pb_env_lock_list_release(&out);

	assert_int_equal(pb_state_locks(f->st, REPO, &all), 0);
	assert_int_equal(all.n, 1);
	assert_string_equal(all.v[0].environment, "qa");
	pb_env_lock_list_release(&all);

	/* a PR without locks, or another repository's PR 2: nothing */
	assert_int_equal(pb_state_unlock_pr(f->st, REPO, 1, &out), 0);
	assert_int_equal(out.n, 0);
	assert_null(out.v);
	assert_int_equal(pb_state_unlock_pr(f->st, "octo/other", 2, &out), 0);
	assert_int_equal(out.n, 0);
}

static void test_locks_lists_a_repository_by_environment(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_env_lock_list all;
	struct pb_env_lock l,
		w = { "octo/other", "alpha", 4, "carol", NULL, 0 };
	int taken;

	l = take(f->st, "staging", 1, "alice", "why not", NOW + 1, 0, 1);
	pb_env_lock_release(&l);
	l = take(f->st, "canary", 2, "bob", NULL, NOW + 2, 0, 1);
	pb_env_lock_release(&l);
	assert_int_equal(pb_state_lock_take(f->st, &w, NOW, &taken, &l), 0);
	pb_env_lock_release(&l);

	assert_int_equal(pb_state_locks(f->st, REPO, &all), 0);
	assert_int_equal(all.n, 2);
	assert_string_equal(all.v[0].environment, "canary");
	assert_int_equal(all.v[0].pr, 2);
	assert_string_equal(all.v[0].actor, "bob");
	assert_null(all.v[0].reason);
	assert_int_equal(all.v[0].created_at, NOW + 2);
	assert_string_equal(all.v[1].environment, "staging");
	assert_string_equal(all.v[1].reason, "why not");
	pb_env_lock_list_release(&all);

	assert_int_equal(pb_state_locks(f->st, "octo/none", &all), 0);
	assert_int_equal(all.n, 0);
	pb_env_lock_list_release(&all);
}

static void test_locks_survive_a_restart(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_env_lock_list all;
	struct pb_env_lock l;

	l = take(f->st, "staging", 1, "alice", "freeze", NOW, 0, 1);
	pb_env_lock_release(&l);
	reopen(f);
	assert_int_equal(pb_state_locks(f->st, REPO, &all), 0);
	assert_int_equal(all.n, 1);
	assert_string_equal(all.v[0].actor, "alice");
	assert_string_equal(all.v[0].reason, "freeze");
	pb_env_lock_list_release(&all);
	l = take(f->st, "staging", 2, "bob", NULL, NOW, PB_EBUSY, 0);
	pb_env_lock_release(&l);
}

/* A closed PR's delivery releases its locks in its own transaction, once. */
static void test_closed_delivery_releases_the_pr_locks(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_delivery d = {
		.id = "d-closed",
		.source = "github",
		.event = "pull_request",
		.received_at = NOW,
		.unlock_repo = REPO,
		.unlock_pr = 1,
	};
	struct pb_env_lock_list all;
	struct pb_accept a;
	struct pb_env_lock l;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	l = take(f->st, "staging", 1, "alice", NULL, NOW, 0, 1);
	pb_env_lock_release(&l);
	l = take(f->st, "qa", 2, "bob", NULL, NOW, 0, 1);
	pb_env_lock_release(&l);

	assert_int_equal(pb_state_accept_delivery(f->st, &d, NULL, 0, &a), 0);
	assert_int_equal(a.outcome, PB_ACCEPT_IGNORED);
	assert_int_equal(a.n_queued, 0);
	assert_int_equal(a.unlocked.n, 1);
	assert_string_equal(a.unlocked.v[0].environment, "staging");
	assert_string_equal(a.unlocked.v[0].actor, "alice");
	pb_accept_release(&a);
	assert_int_equal(pb_state_locks(f->st, REPO, &all), 0);
	assert_int_equal(all.n, 1);
	assert_string_equal(all.v[0].environment, "qa");
	pb_env_lock_list_release(&all);

	/* recorded with what it did */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT outcome FROM deliveries "
					    "WHERE delivery_id = 'd-closed'",
					    -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0),
			    "unlocked");
	sqlite3_finalize(s);
	sqlite3_close(db);

	/* the same delivery again (PR 1 locked meanwhile): nothing done */
	l = take(f->st, "staging", 1, "alice", NULL, NOW, 0, 1);
	pb_env_lock_release(&l);
	assert_int_equal(pb_state_accept_delivery(f->st, &d, NULL, 0, &a), 0);
	assert_int_equal(a.outcome, PB_ACCEPT_DUPLICATE);
	assert_int_equal(a.unlocked.n, 0);
	pb_accept_release(&a);

	/* a PR without locks: recorded, nothing released */
	d.id = "d-closed-2";
	d.unlock_pr = 3;
	assert_int_equal(pb_state_accept_delivery(f->st, &d, NULL, 0, &a), 0);
	assert_int_equal(a.outcome, PB_ACCEPT_IGNORED);
	assert_int_equal(a.unlocked.n, 0);
	pb_accept_release(&a);

	d.id = "d-closed-3";
	d.unlock_repo = NULL;
	assert_int_equal(pb_state_accept_delivery(f->st, &d, NULL, 0, &a),
			 PB_EINVAL);
}

/* Version 1's locks table (never written by a release) becomes version 4's. */
static void test_migration_4_keeps_the_locks_of_pull_requests(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_env_lock_list all;

	pb_state_close(f->st);
	f->st = NULL;
	/* a version 3 store: the old locks table, nothing of 4 and later */
	raw_exec(f->path,
		 "DROP TABLE schedule_slots;"
		 "DROP TABLE deployments; DROP INDEX evaluations_sha;"
		 "DROP TABLE permissions;"
		 "ALTER TABLE jobs DROP COLUMN environment;"
		 "DROP INDEX locks_pr; DROP TABLE locks;"
		 "CREATE TABLE locks (environment TEXT NOT NULL, repo TEXT NOT "
		 "NULL, holder_pr INTEGER, holder_actor TEXT NOT NULL, reason "
		 "TEXT, created_at INTEGER NOT NULL, PRIMARY KEY (repo, "
		 "environment));"
		 "INSERT INTO locks VALUES ('staging', 'octo/models', 3, "
		 "'alice', 'old', 1600000000);"
		 "INSERT INTO locks VALUES ('qa', 'octo/models', NULL, 'bob', "
		 "NULL, 1600000000);"
		 "PRAGMA user_version = 3;");
	reopen(f);
	assert_int_equal(pb_state_locks(f->st, REPO, &all), 0);
	assert_int_equal(all.n, 1);
	assert_string_equal(all.v[0].environment, "staging");
	assert_int_equal(all.v[0].pr, 3);
	assert_string_equal(all.v[0].actor, "alice");
	assert_string_equal(all.v[0].reason, "old");
	assert_int_equal(all.v[0].created_at, 1600000000);
	pb_env_lock_list_release(&all);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_take_then_again_by_the_same_pr_is_idempotent),
		T(test_take_held_by_another_pr_is_busy_and_names_it),
		T(test_take_refuses_bad_input_with_nothing_held),
		cmocka_unit_test(test_env_name_check_accepts_only_plain_names),
		T(test_unlock_releases_whoever_holds_it),
		T(test_unlock_pr_releases_all_its_locks_only),
		T(test_locks_lists_a_repository_by_environment),
		T(test_locks_survive_a_restart),
		T(test_closed_delivery_releases_the_pr_locks),
		T(test_migration_4_keeps_the_locks_of_pull_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
