/* test_scheduler.c: due slots, start-up catch-up and replicas, on a test clock
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prbot/config.h"
#include "prbot/cron.h"
#include "prbot/err.h"
#include "prbot/scheduler.h"
#include "prbot/state.h"
#include "testutil.h"

#define REPO "octo/models"

/* A time as the tests write it. */
static int64_t at(const char *iso)
{
	time_t t;

	if (pb_cron_time_parse(&t, iso) < 0)
		fail_msg("%s", pb_err_last());
	return (int64_t)t;
}

/* ---- pb_sched_due ---- */

static struct pb_cron cron(const char *expr)
{
	struct pb_cron c;

	if (pb_cron_parse(&c, expr) < 0)
		fail_msg("%s", pb_err_last());
	return c;
}

static const struct {
	const char *expr, *after, *now;
	const char *want; /* NULL: none due */
} due_cases[] = {
	/* down for three nights: the latest alone */
	{ "0 3 * * *", "2026-11-21T03:00Z", "2026-11-24T05:00Z",
	  "2026-11-24T03:00Z" },
	/* nothing missed since the last slot */
	{ "0 3 * * *", "2026-11-24T03:00Z", "2026-11-25T02:59Z", NULL },
	/* a slot exactly now is due */
	{ "0 3 * * *", "2026-11-24T03:00Z", "2026-11-25T03:00Z",
	  "2026-11-25T03:00Z" },
	{ "* * * * *", "2026-11-24T03:00Z", "2026-11-24T03:00:59Z", NULL },
	{ "* * * * *", "2026-11-24T03:00Z", "2026-11-24T03:07:30Z",
	  "2026-11-24T03:07Z" },
	/* years of pause, a rare expression: found in few steps */
	{ "0 0 29 2 *", "2019-01-01T00:00Z", "2026-11-24T05:00Z",
	  "2024-02-29T00:00Z" },
	{ "*/5 * * * *", "2020-01-01T00:00Z", "2026-11-24T05:03Z",
	  "2026-11-24T05:00Z" },
	{ "0 12 1 1 *", "2026-01-01T12:00Z", "2026-11-24T05:00Z", NULL },
	/* the clock went back before the last slot */
	{ "0 3 * * *", "2026-11-24T03:00Z", "2026-11-24T02:00Z", NULL },
};

static void test_due_is_the_latest_slot_since_the_last(void **state)
{
	struct pb_cron c;
	int64_t slot;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(due_cases) / sizeof(due_cases[0]); i++) {
		c = cron(due_cases[i].expr);
		rc = pb_sched_due(&c, at(due_cases[i].after),
				  at(due_cases[i].now), &slot);
		if (rc != (due_cases[i].want != NULL))
			fail_msg("case %zu ('%s'): returned %d", i,
				 due_cases[i].expr, rc);
		if (rc && slot != at(due_cases[i].want))
			fail_msg("case %zu ('%s'): slot %" PRId64, i,
				 due_cases[i].expr, slot);
	}
}

/* ---- the scheduler on a test clock ---- */

struct fixture {
	struct pb_test_store store; /* first: a pb_test_fixture_new() one */
	struct pb_config *cfg;
	struct pb_scheduler *sch;
	int64_t now;
	int queued; /* on_queued calls */
};

static int setup(void **state)
{
	struct fixture *f = pb_test_fixture_new(sizeof(*f), "scheduler");

	if (!f)
		return -1;
	snprintf(f->store.path, sizeof(f->store.path), "%s/prbot.db",
		 f->store.dir);
	if (pb_state_open(&f->store.st, f->store.path) < 0) {
		fprintf(stderr, "open: %s\n", pb_err_last());
		pb_test_fixture_free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pb_scheduler_free(f->sch);
	pb_config_free(f->cfg);
	pb_state_close(f->store.st);
	return pb_test_fixture_free(f);
}

static int64_t test_now(void *arg)
{
	return ((struct fixture *)arg)->now;
}

static void count_queued(void *arg)
{
	((struct fixture *)arg)->queued++;
}

/* bot.conf text into f->cfg. */
static void config(struct fixture *f, const char *text)
{
	struct pb_diags d = PB_DIAGS_INIT;
	char path[PB_TEST_DIR_MAX + 16];

	snprintf(path, sizeof(path), "%s/bot.conf", f->store.dir);
	pb_test_write_text(path, text);
	pb_config_free(f->cfg);
	if (pb_config_load(&f->cfg, path, &d) < 0) {
		char *all = pb_test_render_diags(&d);

		fail_msg("bot.conf: %s", all);
	}
	pb_diags_release(&d);
}

static struct pb_scheduler *scheduler_on(struct fixture *f, struct pb_state *st)
{
	struct pb_scheduler_opts o = {
		.cfg = f->cfg,
		.state = st,
		.now = test_now,
		.now_arg = f,
		.on_queued = count_queued,
		.on_queued_arg = f,
	};
	struct pb_scheduler *s;

	if (pb_scheduler_new(&s, &o) < 0)
		fail_msg("scheduler: %s", pb_err_last());
	return s;
}

static const char NIGHTLY[] = "[schedule \"nightly\"]\n"
			      "cron = 0 3 * * *\n"
			      "repo = " REPO "\n";

static void nightly(struct fixture *f)
{
	config(f, NIGHTLY);
	f->sch = scheduler_on(f, f->store.st);
	assert_int_equal(pb_scheduler_count(f->sch), 1);
}

/* Pass at now; the wake time it gives. */
static int64_t tick_at(struct fixture *f, const char *now)
{
	int64_t wake = -1;

	f->now = at(now);
	assert_int_equal(pb_scheduler_tick(f->sch, &wake), 0);
	return wake;
}

static int64_t jobs(struct fixture *f)
{
	int64_t n;

	assert_int_equal(pb_state_count_queued(f->store.st, &n), 0);
	return n;
}

static void assert_last(struct fixture *f, const char *want)
{
	int64_t slot;

	assert_int_equal(pb_state_schedule_last(f->store.st, "nightly", &slot),
			 1);
	assert_int_equal(slot, at(want));
}

/* The nightly slot at iso claimed, and its job run, before prbot stopped. */
static void claimed_before(struct fixture *f, const char *iso)
{
	struct pb_job_new j = { .repo = REPO,
				.command = "evaluate",
				.actor = "schedule:nightly",
				.source = "cron" };
	struct pb_job done;
	int64_t id;

	assert_int_equal(pb_state_schedule_claim(f->store.st, "nightly",
						 at(iso), &j, at(iso), &id),
			 0);
	assert_int_equal(pb_state_claim(f->store.st, "w", 60, at(iso), &done),
			 0);
	assert_int_equal(done.id, id);
	assert_int_equal(pb_state_finish(f->store.st, id, "w", PB_JOB_SUCCEEDED,
					 NULL, NULL, 0, at(iso)),
			 0);
	pb_job_release(&done);
}

static void test_missed_slots_while_down_queue_one_job(void **state)
{
	struct fixture *f = *state;
	struct pb_job j;
	int64_t wake;

	nightly(f);
	claimed_before(f, "2026-11-21T03:00Z");
	wake = tick_at(f, "2026-11-24T05:00Z");
	assert_int_equal(jobs(f), 1);
	assert_int_equal(f->queued, 1);
	assert_last(f, "2026-11-24T03:00Z");
	assert_int_equal(wake, at("2026-11-25T03:00Z"));

	assert_int_equal(pb_state_claim(f->store.st, "w", 60, f->now, &j), 0);
	assert_string_equal(j.repo, REPO);
	assert_int_equal(j.pr, 0);
	assert_string_equal(j.ref, "main");
	assert_string_equal(j.command, "evaluate");
	assert_string_equal(j.args, "[]");
	assert_string_equal(j.actor, "schedule:nightly");
	assert_string_equal(j.source, "cron");
	pb_job_release(&j);

	/* the same pass again: nothing more */
	assert_int_equal(tick_at(f, "2026-11-24T05:00:30Z"), wake);
	assert_int_equal(f->queued, 1);
}

static void test_nothing_missed_queues_nothing(void **state)
{
	struct fixture *f = *state;

	nightly(f);
	claimed_before(f, "2026-11-24T03:00Z");
	assert_int_equal(tick_at(f, "2026-11-24T17:00Z"),
			 at("2026-11-25T03:00Z"));
	assert_int_equal(jobs(f), 0);
	assert_int_equal(f->queued, 0);
}

static void test_slot_fires_at_the_wake_time_it_gave(void **state)
{
	struct fixture *f = *state;

	nightly(f);
	assert_int_equal(tick_at(f, "2026-11-24T01:00Z"),
			 at("2026-11-24T03:00Z"));
	assert_int_equal(jobs(f), 0);
	assert_int_equal(tick_at(f, "2026-11-24T03:00Z"),
			 at("2026-11-25T03:00Z"));
	assert_int_equal(jobs(f), 1);
	assert_last(f, "2026-11-24T03:00Z");
	/* woken late (a suspended machine): the slot it slept through */
	assert_int_equal(tick_at(f, "2026-11-27T08:00Z"),
			 at("2026-11-28T03:00Z"));
	assert_int_equal(jobs(f), 2);
	assert_last(f, "2026-11-27T03:00Z");
}

/* Never claimed: only a slot of the last PB_SCHED_GRACE_SEC fires. */
static void test_first_start_fires_only_a_slot_just_due(void **state)
{
	struct fixture *f = *state;

	nightly(f);
	assert_int_equal(tick_at(f, "2026-11-24T03:01:00Z"),
			 at("2026-11-25T03:00Z"));
	assert_int_equal(jobs(f), 0);

	pb_scheduler_free(f->sch);
	f->sch = scheduler_on(f, f->store.st);
	tick_at(f, "2026-11-24T03:00:59Z");
	assert_int_equal(jobs(f), 1);
	assert_last(f, "2026-11-24T03:00Z");
}

/* Restarted in the same minute: the slot is claimed, it does not fire. */
static void test_restart_does_not_fire_a_claimed_slot_again(void **state)
{
	struct fixture *f = *state;

	config(f, "[schedule \"nightly\"]\ncron = * * * * *\nrepo = " REPO
		  "\nref = dev\ncommand = /evaluate baseline=main\n");
	f->sch = scheduler_on(f, f->store.st);
	assert_int_equal(tick_at(f, "2026-11-24T03:00:20Z"),
			 at("2026-11-24T03:01Z"));
	assert_int_equal(jobs(f), 1);
	pb_scheduler_free(f->sch);
	f->sch = scheduler_on(f, f->store.st);
	assert_int_equal(tick_at(f, "2026-11-24T03:00:40Z"),
			 at("2026-11-24T03:01Z"));
	assert_int_equal(jobs(f), 1);
	assert_int_equal(f->queued, 1);
	{
		struct pb_job j;

		assert_int_equal(
			pb_state_claim(f->store.st, "w", 60, f->now, &j), 0);
		assert_string_equal(j.ref, "dev");
		assert_string_equal(j.args, "[\"baseline=main\"]");
		pb_job_release(&j);
	}
}

/* Two replicas on one store: one job per slot, whoever passes first. */
static void test_two_replicas_queue_one_job_per_slot(void **state)
{
	struct fixture *f = *state;
	struct pb_scheduler *other;
	struct pb_state *st2;
	int64_t wake;
	int i;

	nightly(f);
	assert_int_equal(pb_state_open(&st2, f->store.path), 0);
	other = scheduler_on(f, st2);
	for (i = 0; i < 3; i++) {
		char now[32];

		snprintf(now, sizeof(now), "2026-11-2%dT03:00:0%dZ", 4 + i, i);
		tick_at(f, now);
		assert_int_equal(pb_scheduler_tick(other, &wake), 0);
		assert_int_equal(jobs(f), i + 1);
	}
	assert_int_equal(f->queued, 3);
	pb_scheduler_free(other);
	pb_state_close(st2);
}

static void test_bad_schedules_are_refused(void **state)
{
	static const struct {
		const char *conf, *msg;
	} cases[] = {
		{ "[schedule \"d\"]\ncron = 0 3 * * *\nrepo = " REPO
		  "\ncommand = /deploy staging\n",
		  "[schedule \"d\"]: /deploy runs on a pull request only, and "
		  "a schedule has none: schedule /evaluate instead" },
		{ "[schedule \"x\"]\ncron = 0 3 * * *\nrepo = " REPO
		  "\ncommand = /evaluat\n",
		  "[schedule \"x\"]: command '/evaluat' is not one prbot "
		  "command (such as command = /evaluate)" },
		{ "[repo \"octo/other\"]\n[schedule \"n\"]\ncron = 0 3 * * *\n"
		  "repo = " REPO "\n",
		  "[schedule \"n\"]: repo '" REPO "' has no [repo \"" REPO
		  "\"] section: prbot serves only the repositories bot.conf "
		  "names; add one or fix the name" },
	};
	struct fixture *f = *state;
	struct pb_scheduler_opts o;
	struct pb_scheduler *s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config(f, cases[i].conf);
		memset(&o, 0, sizeof(o));
		o.cfg = f->cfg;
		o.state = f->store.st;
		pb_test_assert_error(pb_scheduler_new(&s, &o), PB_EINVAL,
				     cases[i].msg);
		assert_null(s);
	}
	/* a served repository, and no schedule at all, are fine */
	config(f, "[repo \"" REPO "\"]\n[schedule \"n\"]\ncron = @daily\n"
		  "repo = " REPO "\ncommand = evaluate\n");
	f->sch = scheduler_on(f, f->store.st);
	assert_int_equal(pb_scheduler_count(f->sch), 1);
	config(f, "");
	o.cfg = f->cfg;
	assert_int_equal(pb_scheduler_new(&s, &o), 0);
	assert_int_equal(pb_scheduler_count(s), 0);
	assert_int_equal(pb_scheduler_start(s), 0); /* no thread: nothing */
	pb_scheduler_free(s);
}

/* The thread stops at once when asked, however long it would sleep. */
static void test_stop_wakes_the_sleeping_thread(void **state)
{
	struct fixture *f = *state;

	config(f, NIGHTLY);
	f->now = at("2026-11-24T04:00Z");
	f->sch = scheduler_on(f, f->store.st);
	assert_int_equal(pb_scheduler_start(f->sch), 0);
	pb_scheduler_stop(f->sch);
	pb_scheduler_stop(f->sch); /* twice: a no-op */
	assert_int_equal(jobs(f), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_due_is_the_latest_slot_since_the_last),
		T(test_missed_slots_while_down_queue_one_job),
		T(test_nothing_missed_queues_nothing),
		T(test_slot_fires_at_the_wake_time_it_gave),
		T(test_first_start_fires_only_a_slot_just_due),
		T(test_restart_does_not_fire_a_claimed_slot_again),
		T(test_two_replicas_queue_one_job_per_slot),
		T(test_bad_schedules_are_refused),
		T(test_stop_wakes_the_sleeping_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
