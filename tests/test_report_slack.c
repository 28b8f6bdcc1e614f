/* test_report_slack.c: a job's result as a Slack message, and a
 * response_url that fails without naming itself */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/report_slack.h"
#include "prbot/state.h"

#define SHA "0123456789abcdef0123456789abcdef01234567"

static void test_slack_report_text_table(void **state)
{
	struct pb_evaluation base = { 0,      "acme/churn",
				      "main", "fedcba9876543210",
				      0,      "{\"accuracy\":0.9,\"f1\":0.5}",
				      1,      0 };
	json_t *metrics = json_pack("{s:f,s:f,s:i}", "accuracy", 0.95, "f1",
				    0.25, "latency_ms", 12);
	const struct {
		struct pb_slack_report r;
		const char *want;
	} cases[] = {
		{ { "j-7", "/deploy staging on acme/churn#42", NULL, SHA, NULL,
		    NULL, NULL, NULL },
		  ":hourglass_flowing_sand: *j-7* /deploy staging on "
		  "acme/churn#42: *started*\nCommit `" SHA "`" },
		{ { "j-7", "/evaluate on acme/churn#42", "succeeded", SHA, NULL,
		    metrics, &base,
		    "https://github.com/acme/churn/pull/42#issuecomment-9" },
		  ":white_check_mark: *j-7* /evaluate on acme/churn#42: "
		  "*succeeded*\nCommit `" SHA "`\n*Metrics* (baseline: `main` "
		  "at `fedcba987654`)\n• accuracy: 0.95 (baseline 0.9, "
		  "+0.05)\n• f1: 0.25 (baseline 0.5, -0.25)\n• latency_ms: "
		  "12\n<https://github.com/acme/churn/pull/42#issuecomment-9|"
		  "The report on the pull request>" },
		{ { "j-8", "/evaluate on a<b>&c#1", "failed", NULL,
		    "gate accuracy >= 0.9 & <1", metrics, NULL, NULL },
		  ":x: *j-8* /evaluate on a&lt;b&gt;&amp;c#1: *failed*\nError: "
		  "gate accuracy &gt;= 0.9 &amp; &lt;1\n*Metrics*\n• accuracy: "
		  "0.95\n• f1: 0.25\n• latency_ms: 12" },
		{ { "j-9", "/evaluate on acme/churn#1", "cancelled", NULL, NULL,
		    NULL, NULL, NULL },
		  ":no_entry_sign: *j-9* /evaluate on acme/churn#1: "
		  "*cancelled*" },
	};
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pb_buf_reset(&b);
		assert_int_equal(pb_slack_report_text(&b, &cases[i].r), 0);
		if (strcmp(pb_buf_cstr(&b), cases[i].want))
			fail_msg("case %zu:\n got: %s\nwant: %s", i,
				 pb_buf_cstr(&b), cases[i].want);
	}
	pb_buf_release(&b);
	json_decref(metrics);
}

static void test_slack_respond_failures_do_not_name_the_url(void **state)
{
	int rc;

	(void)state;
	rc = pb_slack_respond("ftp://hooks.example/commands/secret-part", "x",
			      0);
	assert_int_equal(rc, PB_EINVAL);
	assert_null(strstr(pb_err_last(), "secret-part"));
	assert_int_equal(pb_slack_respond(NULL, "x", 0), PB_EINVAL);
	/* nothing listens on port 1 */
	rc = pb_slack_respond("http://127.0.0.1:1/commands/T1/2/secret-part",
			      "x", 1);
	assert_true(rc < 0);
	assert_string_equal(pb_err_last(),
			    "Slack's response_url did not answer");
}

static void test_slack_webhook_failures_do_not_name_the_url(void **state)
{
	int rc;

	(void)state;
	rc = pb_slack_webhook_post("ftp://hooks.example/services/secret-part",
				   "x");
	assert_int_equal(rc, PB_EINVAL);
	assert_null(strstr(pb_err_last(), "secret-part"));
	assert_int_equal(pb_slack_webhook_post(NULL, "x"), PB_EINVAL);
	/* nothing listens on port 1 */
	rc = pb_slack_webhook_post(
		"http://127.0.0.1:1/services/T1/B2/secret-part", "x");
	assert_true(rc < 0);
	assert_string_equal(pb_err_last(),
			    "Slack's incoming webhook did not answer");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slack_report_text_table),
		cmocka_unit_test(
			test_slack_respond_failures_do_not_name_the_url),
		cmocka_unit_test(
			test_slack_webhook_failures_do_not_name_the_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
