/* test_worker_locks.c: what /lock, /unlock and /locks answer on a PR */
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

#include "prbot/err.h"
#include "prbot/state.h"
#include "worker_locks.h"
#include "testutil.h"

#define REPO "octo/ml"
/* 2023-11-14 22:13:20 UTC */
#define NOW ((int64_t)1700000000)

static int setup(void **state)
{
	return pb_test_store_setup(state, "worker-locks");
}

static int teardown(void **state)
{
	return pb_test_store_teardown(state);
}

static struct pb_lock_ask ask(struct pb_test_store *f, int64_t pr,
			      const char *actor)
{
	struct pb_lock_ask a = { f->st, REPO, pr, actor, 0, NOW };

	return a;
}

/* The reply of /lock ENV [reason] by actor on pr, compared with want. */
static void lock_says(struct pb_test_store *f, int64_t pr, const char *actor,
		      const char *env, const char *reason, const char *want)
{
	struct pb_lock_ask a = ask(f, pr, actor);
	struct pb_buf b = PB_BUF_INIT;

	if (pb_worker_lock(&b, &a, env, reason) < 0)
		fail_msg("lock: %s", pb_err_last());
	assert_string_equal(pb_buf_cstr(&b), want);
	pb_buf_release(&b);
}

static void unlock_says(struct pb_test_store *f, int64_t pr, const char *actor,
			const char *env, const char *want)
{
	struct pb_lock_ask a = ask(f, pr, actor);
	struct pb_buf b = PB_BUF_INIT;

	if (pb_worker_unlock(&b, &a, env) < 0)
		fail_msg("unlock: %s", pb_err_last());
	assert_string_equal(pb_buf_cstr(&b), want);
	pb_buf_release(&b);
}

static void locks_say(struct pb_test_store *f, const char *want)
{
	struct pb_lock_ask a = ask(f, 2, "carol");
	struct pb_buf b = PB_BUF_INIT;

	if (pb_worker_locks(&b, &a) < 0)
		fail_msg("locks: %s", pb_err_last());
	assert_string_equal(pb_buf_cstr(&b), want);
	pb_buf_release(&b);
}

static void test_lock_then_again_then_from_another_pr(void **state)
{
	struct pb_test_store *f = *state;

	lock_says(f, 1, "alice", "staging", "load test",
		  "@alice locked `staging` for this pull request (reason: "
		  "load test). Deploys of `staging` from other pull requests "
		  "are refused until `/unlock staging`, or until this pull "
		  "request is merged or closed.");
	lock_says(f, 1, "dave", "staging", NULL,
		  "@dave: this pull request already holds the lock of "
		  "`staging`: #1 (@alice, since 2023-11-14 22:13 UTC, reason: "
		  "load test). Nothing changed.");
	lock_says(f, 2, "bob", "staging", NULL,
		  "@bob: cannot lock `staging`: it is locked by #1 (@alice, "
		  "since 2023-11-14 22:13 UTC, reason: load test). It stays "
		  "locked until `/unlock staging`, or until #1 is merged or "
		  "closed.");
	lock_says(f, 2, "bob", "production", NULL,
		  "@bob locked `production` for this pull request. Deploys of "
		  "`production` from other pull requests are refused until "
		  "`/unlock production`, or until this pull request is merged "
		  "or closed.");
}

static void test_lock_refuses_a_bad_name_and_a_closed_pr(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_lock_ask a = ask(f, 3, "alice");
	struct pb_buf b = PB_BUF_INIT;

	lock_says(f, 1, "alice", "stag/ing", NULL,
		  "@alice: cannot lock: 'stag/ing' is not an environment "
		  "name: use letters, digits, '-', '_' and '.' (at most 64, "
		  "starting with a letter or a digit).");
	a.pr_closed = 1;
	assert_int_equal(pb_worker_lock(&b, &a, "staging", NULL), 0);
	assert_string_equal(pb_buf_cstr(&b),
			    "@alice: cannot lock `staging`: #3 is closed.");
	pb_buf_release(&b);
	locks_say(f, "No environment of " REPO " is locked.");
}

static void test_unlock_names_the_holder_or_says_not_locked(void **state)
{
	struct pb_test_store *f = *state;

	unlock_says(f, 2, "carol", "staging",
		    "@carol: `staging` is not locked in " REPO
		    ": nothing to unlock.");
	lock_says(f, 1, "alice", "staging", NULL,
		  "@alice locked `staging` for this pull request. Deploys of "
		  "`staging` from other pull requests are refused until "
		  "`/unlock staging`, or until this pull request is merged or "
		  "closed.");
	unlock_says(f, 2, "carol", "staging",
		    "@carol unlocked `staging`; it was locked by #1 (@alice, "
		    "since 2023-11-14 22:13 UTC).");
	unlock_says(f, 2, "carol", "staging",
		    "@carol: `staging` is not locked in " REPO
		    ": nothing to unlock.");
	unlock_says(f, 2, "carol", "a b",
		    "@carol: cannot unlock: 'a b' is not an environment name: "
		    "use letters, digits, '-', '_' and '.' (at most 64, "
		    "starting with a letter or a digit).");
}

static void test_locks_is_a_table_by_environment(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_buf b = PB_BUF_INIT;

	lock_says(f, 1, "alice", "staging", "demo | v2",
		  "@alice locked `staging` for this pull request (reason: "
		  "demo | v2). Deploys of `staging` from other pull requests "
		  "are refused until `/unlock staging`, or until this pull "
		  "request is merged or closed.");
	{
		struct pb_lock_ask a = ask(f, 4, "bob");

		assert_int_equal(pb_worker_lock(&b, &a, "canary", NULL), 0);
		pb_buf_release(&b);
	}
	locks_say(f, "Environment locks of " REPO ":\n\n"
		     "| environment | pull request | by | reason | since |\n"
		     "| --- | --- | --- | --- | --- |\n"
		     "| `canary` | #4 | @bob | — | 2023-11-14 22:13 UTC |\n"
		     "| `staging` | #1 | @alice | demo \\| v2 | 2023-11-14 "
		     "22:13 UTC |\n");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lock_then_again_then_from_another_pr),
		T(test_lock_refuses_a_bad_name_and_a_closed_pr),
		T(test_unlock_names_the_holder_or_says_not_locked),
		T(test_locks_is_a_table_by_environment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
