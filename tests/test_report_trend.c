/* test_report_trend.c: the trend in /status and the scheduled notices */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "prbot/err.h"
#include "prbot/report_trend.h"
#include "prbot/state.h"
#include "testutil.h"

#define N(a)  (sizeof(a) / sizeof((a)[0]))
#define REPO  "acme/churn"
#define SHA_A "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
#define SHA_B "b2c3d4e5f60718293a4b5c6d7e8f9012345678a1"
#define SHA_C "c3d4e5f60718293a4b5c6d7e8f9012345678a1b2"
#define SHA_D "d4e5f60718293a4b5c6d7e8f9012345678a1b2c3"

#define EVAL(sha, metrics, t)                          \
	{                                              \
		0, REPO, "main", sha, 0, metrics, 1, t \
	}

/* ---- the /status section ---- */

static const struct pb_evaluation three[] = {
	EVAL(SHA_A, "{\"accuracy\":0.9,\"loss\":0.3}", 1),
	EVAL(SHA_B, "{\"loss\":0.25}", 2),
	EVAL(SHA_C, "{\"accuracy\":0.93,\"loss\":0.2}", 3),
};

static const struct {
	const char *metric;
	size_t n;
	const char *want;
} section_rows[] = {
	{ "accuracy", 3,
	  "\n**Trend of `accuracy` on `main`** (last 3 evaluations)\n\n"
	  "```mermaid\nxychart-beta\n    title \"accuracy\"\n"
	  "    x-axis [\"a1b2c3d\", \"c3d4e5f\"]\n"
	  "    y-axis \"accuracy\" 0.897 --> 0.933\n"
	  "    line [0.9, 0.93]\n```\n\n"
	  "Last: `a1b2c3d` 0.9, `c3d4e5f` **0.93** (+0.03)\n" },
	{ "loss", 3,
	  "\n**Trend of `loss` on `main`** (last 3 evaluations)\n\n"
	  "```mermaid\nxychart-beta\n    title \"loss\"\n"
	  "    x-axis [\"a1b2c3d\", \"b2c3d4e\", \"c3d4e5f\"]\n"
	  "    y-axis \"loss\" 0.19 --> 0.31\n"
	  "    line [0.3, 0.25, 0.2]\n```\n\n"
	  "Last: `a1b2c3d` 0.3, `b2c3d4e` 0.25, `c3d4e5f` **0.2** (-0.05)\n" },
	/* fewer than 2 points: nothing */
	{ "accuracy", 2, "" },
	{ "f1", 3, "" },
	{ NULL, 3, "" },
};

static void test_section_charts_the_metric_when_two_runs_have_it(void **state)
{
	struct pb_evaluation_list h = { (struct pb_evaluation *)three, 0 };
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < N(section_rows); i++) {
		h.n = section_rows[i].n;
		pb_buf_reset(&b);
		assert_int_equal(pb_trend_section(&b, PB_TREND_MARKDOWN, "main",
						  section_rows[i].metric, &h),
				 0);
		assert_string_equal(pb_buf_cstr(&b), section_rows[i].want);
	}
	pb_buf_release(&b);
}

static void test_section_for_slack_is_one_sparkline_line(void **state)
{
	struct pb_evaluation_list h = { (struct pb_evaluation *)three, 3 };
	struct pb_buf b = PB_BUF_INIT;

	(void)state;
	assert_int_equal(pb_trend_section(&b, PB_TREND_SLACK, "main",
					  "accuracy", &h),
			 0);
	assert_string_equal(pb_buf_cstr(&b),
			    "\n*Trend of `accuracy` on `main`*: ▁ █ `c3d4e5f` "
			    "0.93 (+0.03)\n");
	pb_buf_reset(&b);
	assert_int_equal(
		pb_trend_section(&b, PB_TREND_SLACK, "a<b", "loss", &h), 0);
	assert_string_equal(
		pb_buf_cstr(&b),
		"\n*Trend of `loss` on `a&lt;b`*: █▅▁ `c3d4e5f` 0.2 "
		"(-0.05)\n");
	pb_buf_release(&b);
}

static void test_section_shows_only_the_last_five_values(void **state)
{
	struct pb_evaluation v[7];
	struct pb_evaluation_list h = { v, N(v) };
	static const char *const metrics[] = {
		"{\"a\":1}", "{\"a\":2}", "{\"a\":3}", "{\"a\":4}",
		"{\"a\":5}", "{\"a\":6}", "{\"a\":7}",
	};
	static const char *const shas[] = { "s1", "s2", "s3", "s4",
					    "s5", "s6", "s7" };
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < N(v); i++) {
		struct pb_evaluation e = EVAL(shas[i], metrics[i], (int64_t)i);

		v[i] = e;
	}
	assert_int_equal(
		pb_trend_section(&b, PB_TREND_MARKDOWN, "main", "a", &h), 0);
	assert_non_null(strstr(pb_buf_cstr(&b),
			       "\nLast: `s3` 3, `s4` 4, `s5` "
			       "5, `s6` 6, `s7` **7** (+1)\n"));
	assert_non_null(strstr(pb_buf_cstr(&b), "line [1, 2, 3, 4, 5, 6, 7]"));
	pb_buf_release(&b);
}

/* ---- /status from the store ---- */

/* A finished job of REPO whose report has gates; its id. */
static int64_t job_with_report(struct pb_state *st, const char *report)
{
	struct pb_delivery d = { "d-1", "github", "issue_comment", 1, NULL,
				 NULL,	0 };
	struct pb_job_new j;
	struct pb_accept acc;
	struct pb_job got;
	int64_t id;

	memset(&j, 0, sizeof(j));
	j.repo = REPO;
	j.command = "evaluate";
	j.actor = "alice";
	j.source = "github";
	assert_int_equal(pb_state_accept_delivery(st, &d, &j, 1, &acc), 0);
	pb_accept_release(&acc);
	assert_int_equal(pb_state_claim(st, "w1", 60, 2, &got), 0);
	id = got.id;
	pb_job_release(&got);
	assert_int_equal(pb_state_finish(st, id, "w1", PB_JOB_SUCCEEDED, report,
					 NULL, 0, 3),
			 0);
	return id;
}

static void
test_status_charts_the_first_gate_else_the_first_metric(void **state)
{
	struct pb_test_store *f = *state;
	struct pb_evaluation e[] = {
		EVAL(SHA_A, "{\"accuracy\":0.9,\"latency_ms\":40}", 10),
		EVAL(SHA_B, "{\"accuracy\":0.91,\"latency_ms\":45}", 20),
	};
	struct pb_evaluation other = EVAL(SHA_D, "{\"accuracy\":0.5}", 30);
	struct pb_buf b = PB_BUF_INIT;

	/* one evaluation: no trend yet */
	assert_int_equal(pb_state_evaluation_add(f->st, &e[0], NULL), 0);
	assert_int_equal(
		pb_trend_status(&b, f->st, PB_TREND_MARKDOWN, REPO, "main"), 0);
	assert_null(b.ptr);
	/* two without a job: the first metric, by name */
	assert_int_equal(pb_state_evaluation_add(f->st, &e[1], NULL), 0);
	other.ref = "dev";
	assert_int_equal(pb_state_evaluation_add(f->st, &other, NULL), 0);
	assert_int_equal(
		pb_trend_status(&b, f->st, PB_TREND_MARKDOWN, REPO, "main"), 0);
	assert_non_null(strstr(pb_buf_cstr(&b),
			       "**Trend of `accuracy` on `main`** (last 2 "));
	assert_non_null(strstr(pb_buf_cstr(&b), "line [0.9, 0.91]"));
	/* the newest one's job gated latency_ms first */
	e[1].job_id = job_with_report(
		f->st, "{\"gates\":[{\"metric\":\"latency_ms\",\"expr\":\"<= "
		       "50\",\"actual\":45,\"passed\":true},{\"metric\":"
		       "\"accuracy\",\"expr\":\">= 0.9\"}]}");
	e[1].created_at = 25;
	assert_int_equal(pb_state_evaluation_add(f->st, &e[1], NULL), 0);
	pb_buf_reset(&b);
	assert_int_equal(
		pb_trend_status(&b, f->st, PB_TREND_MARKDOWN, REPO, "main"), 0);
	assert_non_null(strstr(pb_buf_cstr(&b), "**Trend of `latency_ms` on "
						"`main`** (last 3 "));
	assert_non_null(strstr(pb_buf_cstr(&b), "line [40, 45, 45]"));
	/* no ref, an unknown ref: nothing */
	pb_buf_reset(&b);
	assert_int_equal(
		pb_trend_status(&b, f->st, PB_TREND_MARKDOWN, REPO, NULL), 0);
	assert_int_equal(pb_trend_status(&b, f->st, PB_TREND_MARKDOWN, REPO,
					 "feature"),
			 0);
	assert_string_equal(pb_buf_cstr(&b), "");
	pb_buf_release(&b);
}

/* ---- scheduled notices ---- */

static const struct pb_evaluation earlier[] = {
	EVAL(SHA_A, "{\"accuracy\":0.905,\"latency_ms\":40}", 1),
	EVAL(SHA_B, "{\"accuracy\":0.909,\"latency_ms\":40}", 2),
};

#define GATES_OK                                                        \
	"\"gates\":[{\"metric\":\"accuracy\",\"expr\":\">= 0.9\","      \
	"\"actual\":0.912,\"passed\":true},{\"metric\":\"latency_ms\"," \
	"\"expr\":\"<= 50\",\"actual\":41,\"passed\":true}]"

static const struct {
	const char *why;
	const char *report;
	size_t n_history;
	const char *threshold;
	const char *markdown, *slack;
} notice_rows[] = {
	{ "all good: one short line and the trend",
	  "{\"sha\":\"" SHA_C "\",\"status\":\"succeeded\",\"error\":null,"
	  "\"metrics\":{\"accuracy\":0.912,\"latency_ms\":40}," GATES_OK "}",
	  2, "1%",
	  "nightly: acme/churn@main `c3d4e5f` accuracy 0.912 (+0.003)\n\n"
	  "```mermaid\nxychart-beta\n    title \"accuracy\"\n"
	  "    x-axis [\"a1b2c3d\", \"b2c3d4e\", \"c3d4e5f\"]\n"
	  "    y-axis \"accuracy\" 0.9043 --> 0.9127\n"
	  "    line [0.905, 0.909, 0.912]\n```\n",
	  "nightly: acme/churn@main `c3d4e5f` accuracy 0.912 (+0.003) ▁▅█\n" },
	{ "the first run: no change, no trend",
	  "{\"sha\":\"" SHA_C "\",\"status\":\"succeeded\","
	  "\"metrics\":{\"accuracy\":0.912,\"latency_ms\":40}," GATES_OK "}",
	  0, NULL, "nightly: acme/churn@main `c3d4e5f` accuracy 0.912\n",
	  "nightly: acme/churn@main `c3d4e5f` accuracy 0.912\n" },
	{ "a regression past the threshold, with gates passing",
	  "{\"sha\":\"" SHA_C "\",\"status\":\"succeeded\","
	  "\"metrics\":{\"accuracy\":0.912,\"latency_ms\":41}," GATES_OK "}",
	  2, "0.5",
	  "### 🔴 nightly: acme/churn@main `c3d4e5f` — 1 metric regressed\n\n"
	  "- 📉 `latency_ms` regressed: 40 → 41 (+1, +2.5%)\n\n"
	  "```mermaid\nxychart-beta\n    title \"accuracy\"\n"
	  "    x-axis [\"a1b2c3d\", \"b2c3d4e\", \"c3d4e5f\"]\n"
	  "    y-axis \"accuracy\" 0.9043 --> 0.9127\n"
	  "    line [0.905, 0.909, 0.912]\n```\n",
	  ":red_circle: *nightly: acme/churn@main `c3d4e5f` — 1 metric "
	  "regressed*\n"
	  "• :chart_with_downwards_trend: `latency_ms` regressed: 40 → 41 "
	  "(+1, +2.5%)\n"
	  "accuracy ▁▅█\n" },
	{ "a failed gate and a regression",
	  "{\"sha\":\"" SHA_C "\",\"status\":\"failed\","
	  "\"error\":\"evaluate: 1 of 2 gates failed\","
	  "\"metrics\":{\"accuracy\":0.85,\"latency_ms\":40},"
	  "\"gates\":[{\"metric\":\"accuracy\",\"expr\":\">= 0.9\","
	  "\"actual\":0.85,\"passed\":false},{\"metric\":\"latency_ms\","
	  "\"expr\":\"<= 50\",\"actual\":40,\"passed\":true}]}",
	  2, "1%",
	  "### 🔴 nightly: acme/churn@main `c3d4e5f` — the run failed, 1 gate "
	  "failed, 1 metric regressed\n\n"
	  "- ❌ evaluate: 1 of 2 gates failed\n"
	  "- ❌ gate `accuracy >= 0.9` failed: 0.85\n"
	  "- 📉 `accuracy` regressed: 0.909 → 0.85 (-0.059, -6.5%)\n\n"
	  "```mermaid\nxychart-beta\n    title \"accuracy\"\n"
	  "    x-axis [\"a1b2c3d\", \"b2c3d4e\", \"c3d4e5f\"]\n"
	  "    y-axis \"accuracy\" 0.8441 --> 0.9149\n"
	  "    line [0.905, 0.909, 0.85]\n```\n",
	  ":red_circle: *nightly: acme/churn@main `c3d4e5f` — the run failed, "
	  "1 gate failed, 1 metric regressed*\n"
	  "• :x: evaluate: 1 of 2 gates failed\n"
	  "• :x: gate `accuracy &gt;= 0.9` failed: 0.85\n"
	  "• :chart_with_downwards_trend: `accuracy` regressed: 0.909 → 0.85 "
	  "(-0.059, -6.5%)\n"
	  "accuracy ██▁\n" },
	{ "a run that failed before its metrics",
	  "{\"sha\":\"" SHA_C "\",\"status\":\"failed\","
	  "\"error\":\"train: exit status 1 <see log> & more\","
	  "\"metrics\":{},\"gates\":[]}",
	  2, NULL,
	  "### 🔴 nightly: acme/churn@main `c3d4e5f` — the run failed\n\n"
	  "- ❌ train: exit status 1 <see log> & more\n",
	  ":red_circle: *nightly: acme/churn@main `c3d4e5f` — the run "
	  "failed*\n"
	  "• :x: train: exit status 1 &lt;see log&gt; &amp; more\n" },
};

static void
test_notice_is_short_unless_something_failed_or_regressed(void **state)
{
	struct pb_evaluation_list h = { (struct pb_evaluation *)earlier, 0 };
	struct pb_trend_threshold th;
	struct pb_trend_notice n = { "nightly", REPO, "main", NULL, &h, NULL };
	struct pb_buf b = PB_BUF_INIT;
	json_error_t jerr;
	json_t *report;
	size_t i;

	(void)state;
	for (i = 0; i < N(notice_rows); i++) {
		report = json_loads(notice_rows[i].report, 0, &jerr);
		if (!report)
			fail_msg("%s: %s", notice_rows[i].why, jerr.text);
		n.report = report;
		h.n = notice_rows[i].n_history;
		n.threshold = NULL;
		if (notice_rows[i].threshold) {
			assert_int_equal(pb_trend_threshold_parse(
						 &th, notice_rows[i].threshold),
					 0);
			n.threshold = &th;
		}
		pb_buf_reset(&b);
		assert_int_equal(pb_trend_notice(&b, PB_TREND_MARKDOWN, &n), 0);
		if (strcmp(pb_buf_cstr(&b), notice_rows[i].markdown))
			fail_msg("%s (markdown):\n%s", notice_rows[i].why,
				 pb_buf_cstr(&b));
		pb_buf_reset(&b);
		assert_int_equal(pb_trend_notice(&b, PB_TREND_SLACK, &n), 0);
		if (strcmp(pb_buf_cstr(&b), notice_rows[i].slack))
			fail_msg("%s (slack):\n%s", notice_rows[i].why,
				 pb_buf_cstr(&b));
		json_decref(report);
	}
	pb_buf_release(&b);
}

static void test_notice_trend_keeps_the_last_ten_runs(void **state)
{
	struct pb_evaluation v[12];
	struct pb_evaluation_list h = { v, N(v) };
	static const char *const metrics[] = {
		"{\"a\":1}", "{\"a\":2}",  "{\"a\":3}",	 "{\"a\":4}",
		"{\"a\":5}", "{\"a\":6}",  "{\"a\":7}",	 "{\"a\":8}",
		"{\"a\":9}", "{\"a\":10}", "{\"a\":11}", "{\"a\":12}",
	};
	struct pb_trend_notice n = { "nightly", REPO, "main", NULL, &h, NULL };
	struct pb_buf b = PB_BUF_INIT;
	json_t *report = json_pack("{s:s,s:s,s:{s:i},s:[]}", "sha", SHA_D,
				   "status", "succeeded", "metrics", "a", 13,
				   "gates");
	size_t i;

	(void)state;
	for (i = 0; i < N(v); i++) {
		struct pb_evaluation e = EVAL(SHA_A, metrics[i], (int64_t)i);

		v[i] = e;
	}
	n.report = report;
	assert_int_equal(pb_trend_notice(&b, PB_TREND_SLACK, &n), 0);
	assert_string_equal(pb_buf_cstr(&b),
			    "nightly: acme/churn@main `d4e5f60` a 13 (+1) "
			    "▁▂▃▃▄▅▆▆▇█\n");
	pb_buf_reset(&b);
	assert_int_equal(pb_trend_notice(&b, PB_TREND_MARKDOWN, &n), 0);
	assert_non_null(strstr(pb_buf_cstr(&b),
			       "line [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]"));
	json_decref(report);
	pb_buf_release(&b);
}

static int store_setup(void **state)
{
	return pb_test_store_setup(state, "report-trend");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_section_charts_the_metric_when_two_runs_have_it),
		cmocka_unit_test(test_section_for_slack_is_one_sparkline_line),
		cmocka_unit_test(test_section_shows_only_the_last_five_values),
		cmocka_unit_test_setup_teardown(
			test_status_charts_the_first_gate_else_the_first_metric,
			store_setup, pb_test_store_teardown),
		cmocka_unit_test(
			test_notice_is_short_unless_something_failed_or_regressed),
		cmocka_unit_test(test_notice_trend_keeps_the_last_ten_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
