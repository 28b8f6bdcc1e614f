/* test_worker_notify.c: a scheduled run's notice, to Slack and an issue */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <cmocka.h>
#include <jansson.h>
#include "prbot/config.h"
#include "prbot/err.h"
#include "prbot/gh.h"
#include "prbot/redact.h"
#include "prbot/state.h"
#include "worker_notify.h"
#include "testutil.h"

#define TOKEN	  "notify-test-token-0123456789"
#define HOOK_PATH "/slack/webhook/T0/B0/hook-secret-part"

static struct {
	char dir[PB_TEST_DIR_MAX];
	struct pb_test_fake_github fake;
	struct pb_gh *gh;
	struct pb_redactor *red;
	char hook[128];
} N;

static int group_setup(void **state)
{
	static const char *const extra[] = { "--max-seconds", "280", NULL };
	struct pb_gh_opts go;
	char fixture[PATH_MAX];

	(void)state;
	if (!getenv("PRBOT_SOURCE_DIR")) {
		fprintf(stderr, "test_worker_notify: run it with ctest\n");
		return -1;
	}
	if (pb_test_tmpdir(N.dir, sizeof(N.dir), "notify") < 0)
		return -1;
	snprintf(fixture, sizeof(fixture), "%s/fixture.json", N.dir);
	pb_test_write_text(fixture, "{}\n");
	if (pb_test_fake_github_start(&N.fake, fixture, TOKEN, NULL, extra))
		return -1;
	snprintf(N.hook, sizeof(N.hook), "%s%s", N.fake.base, HOOK_PATH);
	pb_gh_opts_init(&go);
	go.api_url = N.fake.base;
	go.token = TOKEN;
	go.http.max_retries = 0;
	go.http.timeout_ms = 5000;
	if (pb_gh_new(&N.gh, &go) < 0 || pb_redactor_new(&N.red) < 0 ||
	    pb_redactor_add(N.red, "very-secret-value") < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	pb_redactor_free(N.red);
	pb_gh_free(N.gh);
	pb_test_fake_github_stop(&N.fake);
	return pb_test_rmtree(N.dir);
}

static int store_setup(void **state)
{
	pb_test_fake_github_reset(&N.fake);
	return pb_test_store_setup(state, "notify");
}

/* A schedule "nightly" with the given targets and threshold. */
struct sched {
	struct pb_config cfg;
	struct pb_conf_schedule s;
	struct pb_notify_target t[2];
};

static void sched_init(struct sched *x, const char *hook, int issue,
		       const char *threshold)
{
	memset(x, 0, sizeof(*x));
	x->s.name = "nightly";
	x->s.regression_threshold = (char *)threshold;
	x->s.targets = x->t;
	if (hook) {
		x->t[x->s.n_targets].kind = PB_NOTIFY_SLACK;
		x->t[x->s.n_targets].webhook.ref = "env:NOTIFY_HOOK";
		x->t[x->s.n_targets].webhook.value = (char *)hook;
		x->s.n_targets++;
	}
	if (issue) {
		x->t[x->s.n_targets].kind = PB_NOTIFY_ISSUE;
		x->t[x->s.n_targets].repo = "octo/ml";
		x->t[x->s.n_targets].issue = issue;
		x->s.n_targets++;
	}
	x->cfg.schedules = &x->s;
	x->cfg.n_schedules = 1;
}

static json_t *report(double accuracy, const char *status, const char *error)
{
	json_t *r = json_pack("{s:s,s:s,s:{s:f},s:[{s:s,s:s,s:f,s:b}]}", "sha",
			      "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
			      "status", status, "metrics", "accuracy", accuracy,
			      "gates", "metric", "accuracy", "expr", ">= 0.9",
			      "actual", accuracy, "passed", accuracy >= 0.9);

	assert_non_null(r);
	if (error)
		json_object_set_new(r, "error", json_string(error));
	return r;
}

static void run_init(struct pb_notify_run *n, const struct sched *x,
		     struct pb_state *st, const json_t *rep)
{
	memset(n, 0, sizeof(*n));
	n->cfg = &x->cfg;
	n->redact = N.red;
	n->st = st;
	n->gh = N.gh;
	n->job_id = "j-1";
	n->actor = "schedule:nightly";
	n->repo = "octo/ml";
	n->ref = "main";
	n->report = rep;
}

static void add_eval(struct pb_state *st, const char *sha, double accuracy,
		     int64_t at)
{
	struct pb_evaluation e;
	char metrics[64];

	snprintf(metrics, sizeof(metrics), "{\"accuracy\": %g}", accuracy);
	memset(&e, 0, sizeof(e));
	e.repo = "octo/ml";
	e.ref = "main";
	e.sha = sha;
	e.metrics = metrics;
	e.passed = 1;
	e.created_at = at;
	assert_int_equal(pb_state_evaluation_add(st, &e, NULL), 0);
}

/* The bodies of the POSTs to a path ending in suffix, in order. */
static json_t *posted(const char *suffix)
{
	json_t *all = pb_test_fake_github_requests(&N.fake), *r, *out;
	size_t i, len = strlen(suffix);

	out = json_array();
	json_array_foreach(all, i, r)
	{
		const char *p = json_string_value(json_object_get(r, "path"));
		const char *m = json_string_value(json_object_get(r, "method"));

		if (p && m && !strcmp(m, "POST") && strlen(p) >= len &&
		    !strcmp(p + strlen(p) - len, suffix))
			json_array_append(out, json_object_get(r, "json"));
	}
	json_decref(all);
	return out;
}

static const char *text_of(const json_t *bodies, size_t i, const char *key)
{
	return json_string_value(
		json_object_get(json_array_get(bodies, i), key));
}

static void test_notify_schedule_found_by_actor(void **state)
{
	struct sched x;

	(void)state;
	sched_init(&x, NULL, 5, NULL);
	assert_ptr_equal(pb_notify_schedule_find(&x.cfg, "schedule:nightly"),
			 &x.s);
	assert_null(pb_notify_schedule_find(&x.cfg, "schedule:weekly"));
	assert_null(pb_notify_schedule_find(&x.cfg, "nightly"));
	assert_null(pb_notify_schedule_find(&x.cfg, NULL));
	assert_null(pb_notify_schedule_find(NULL, "schedule:nightly"));
}

/* A passing run with no history: one short line, in both formats. */
static void test_notify_text_short_line_when_all_is_well(void **state)
{
	struct pb_evaluation_list h = { NULL, 0 };
	struct pb_notify_run n;
	struct sched x;
	json_t *rep = report(0.95, "succeeded", NULL);
	char *text = NULL;

	(void)state;
	sched_init(&x, NULL, 5, NULL);
	run_init(&n, &x, NULL, rep);
	assert_int_equal(pb_notify_text(&text, PB_TREND_SLACK, &n, &x.s, &h),
			 0);
	assert_string_equal(text,
			    "nightly: octo/ml@main `a1b2c3d` accuracy 0.95\n");
	free(text);
	assert_int_equal(pb_notify_text(&text, PB_TREND_MARKDOWN, &n, &x.s, &h),
			 0);
	assert_string_equal(text,
			    "nightly: octo/ml@main `a1b2c3d` accuracy 0.95\n");
	free(text);
	json_decref(rep);
}

/* A failed run's error is redacted like everything that goes out. */
static void test_notify_text_prominent_and_redacted_on_failure(void **state)
{
	struct pb_evaluation_list h = { NULL, 0 };
	struct pb_notify_run n;
	struct sched x;
	json_t *rep = report(0.5, "failed", "train: very-secret-value leaked");
	char *text = NULL;

	(void)state;
	sched_init(&x, NULL, 5, NULL);
	run_init(&n, &x, NULL, rep);
	assert_int_equal(pb_notify_text(&text, PB_TREND_SLACK, &n, &x.s, &h),
			 0);
	assert_non_null(strstr(text, ":red_circle: *nightly: octo/ml@main"));
	assert_non_null(strstr(text, "1 gate failed"));
	assert_null(strstr(text, "very-secret-value"));
	assert_non_null(strstr(text, "[REDACTED]"));
	free(text);
	json_decref(rep);
}

/* Against the previous run, a drop past the threshold is a regression
   and the trend of the runs follows: Slack and the issue each get theirs. */
static void test_notify_send_posts_to_slack_and_the_issue(void **state)
{
	struct pb_test_store *ts = *state;
	struct pb_notify_run n;
	struct sched x;
	json_t *rep = report(0.91, "succeeded", NULL), *slack, *issue;
	const char *s, *md;

	sched_init(&x, N.hook, 5, "1%");
	add_eval(ts->st, "1111111111111111111111111111111111111111", 0.96,
		 1000);
	add_eval(ts->st, "2222222222222222222222222222222222222222", 0.97,
		 2000);
	run_init(&n, &x, ts->st, rep);
	assert_int_equal(pb_notify_send(&n), 0);
	slack = posted(HOOK_PATH);
	issue = posted("/repos/octo/ml/issues/5/comments");
	assert_int_equal(json_array_size(slack), 1);
	assert_int_equal(json_array_size(issue), 1);
	s = text_of(slack, 0, "text");
	md = text_of(issue, 0, "body");
	assert_non_null(s);
	assert_non_null(md);
	assert_non_null(strstr(s, ":red_circle: *nightly: octo/ml@main"));
	assert_non_null(strstr(s, "regressed: 0.97 → 0.91"));
	assert_non_null(strstr(s, "▁"));
	assert_non_null(strstr(md, "### 🔴 nightly: octo/ml@main"));
	assert_non_null(strstr(md, "```mermaid"));
	json_decref(slack);
	json_decref(issue);
	json_decref(rep);
}

/* Within the threshold: the short line, and a schedule of another name
   or another source's actor sends nothing. */
static void test_notify_send_short_line_and_nothing_for_others(void **state)
{
	struct pb_test_store *ts = *state;
	struct pb_notify_run n;
	struct sched x;
	json_t *rep = report(0.955, "succeeded", NULL), *slack;

	sched_init(&x, N.hook, 0, "1%");
	add_eval(ts->st, "2222222222222222222222222222222222222222", 0.96,
		 2000);
	run_init(&n, &x, ts->st, rep);
	n.actor = "alice";
	assert_int_equal(pb_notify_send(&n), 0);
	n.actor = "schedule:weekly";
	assert_int_equal(pb_notify_send(&n), 0);
	slack = posted(HOOK_PATH);
	assert_int_equal(json_array_size(slack), 0);
	json_decref(slack);

	n.actor = "schedule:nightly";
	assert_int_equal(pb_notify_send(&n), 0);
	slack = posted(HOOK_PATH);
	assert_int_equal(json_array_size(slack), 1);
	assert_non_null(strstr(text_of(slack, 0, "text"),
			       "nightly: octo/ml@main `a1b2c3d` accuracy "
			       "0.955 (-0.005"));
	assert_null(strstr(text_of(slack, 0, "text"), ":red_circle:"));
	json_decref(slack);
	json_decref(rep);
}

/* A webhook that does not answer is counted, not fatal: the issue still
   gets its comment, and the message never holds the URL. */
static void test_notify_send_failure_is_counted_not_fatal(void **state)
{
	struct pb_test_store *ts = *state;
	struct pb_notify_run n;
	struct sched x;
	json_t *rep = report(0.95, "succeeded", NULL), *issue;

	sched_init(&x, "http://127.0.0.1:1/services/T0/B0/hook-secret-part", 5,
		   NULL);
	run_init(&n, &x, ts->st, rep);
	assert_int_equal(pb_notify_send(&n), 1);
	assert_null(strstr(pb_err_last(), "hook-secret-part"));
	issue = posted("/repos/octo/ml/issues/5/comments");
	assert_int_equal(json_array_size(issue), 1);
	json_decref(issue);
	json_decref(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_schedule_found_by_actor),
		cmocka_unit_test(test_notify_text_short_line_when_all_is_well),
		cmocka_unit_test(
			test_notify_text_prominent_and_redacted_on_failure),
		cmocka_unit_test_setup_teardown(
			test_notify_send_posts_to_slack_and_the_issue,
			store_setup, pb_test_store_teardown),
		cmocka_unit_test_setup_teardown(
			test_notify_send_short_line_and_nothing_for_others,
			store_setup, pb_test_store_teardown),
		cmocka_unit_test_setup_teardown(
			test_notify_send_failure_is_counted_not_fatal,
			store_setup, pb_test_store_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
