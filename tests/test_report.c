/* test_report.c: the Markdown report shows what a reviewer needs */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "prbot/pipeline.h"

static const char report_text[] =
	"{\"job\": {\"id\": \"run-1\", \"command\": \"evaluate\", "
	"\"actor\": \"ana\", \"source\": \"cli\"},"
	"\"status\": \"failed\", \"error\": \"evaluate: 1 of 1 gates failed\","
	"\"repo\": \"/r\", \"origin\": \"file:///r\", \"ref\": \"main\","
	"\"sha\": \"0123456789abcdef0123456789abcdef01234567\","
	"\"commit_message\": \"Tune the model\\n\\nlong body\","
	"\"stages\": [{\"name\": \"checkout\", \"state\": \"succeeded\", "
	"\"seconds\": 0.5, \"note\": \"main 0123456789ab\", \"error\": null},"
	"{\"name\": \"evaluate\", \"state\": \"failed\", \"seconds\": 1.25, "
	"\"note\": null, \"error\": \"1 of 1 gates failed\"},"
	"{\"name\": \"upload\", \"state\": \"skipped\", \"seconds\": 0, "
	"\"note\": null, \"error\": null}],"
	"\"metrics\": {\"accuracy\": 0.85, \"per|class\": 1},"
	"\"gates\": [{\"metric\": \"accuracy\", \"expr\": \">= 0.90\", "
	"\"actual\": 0.85, \"passed\": false}],"
	"\"test_cases\": [{\"name\": \"tall\", \"type\": \"EXACT_MATCH\", "
	"\"passed\": false, \"expected\": \"\\\"a\\\"\", \"actual\": "
	"\"\\\"b\\\"\", \"error\": \"expected \\\"a\\\" got \\\"b\\\"\"}],"
	"\"artifact\": null, \"manifest\": null, \"log\": \"/w/job.log\"}";

static void test_markdown_shows_sha_stages_metrics_gates_and_cases(void **state)
{
	json_error_t err;
	json_t *r = json_loads(report_text, 0, &err);
	char *md;

	(void)state;
	assert_non_null(r);
	md = pb_report_markdown(r);
	assert_non_null(md);
	assert_non_null(strstr(md, "## prbot evaluate: failed"));
	assert_non_null(strstr(md, "0123456789abcdef0123456789abcdef01234567"));
	assert_non_null(strstr(md, "- message: Tune the model\n"));
	assert_null(strstr(md, "long body"));
	assert_non_null(strstr(md, "- [x] **checkout** succeeded in 0.50s"));
	assert_non_null(strstr(md, "- [ ] **evaluate** failed in 1.25s: 1 of "
				   "1 gates failed"));
	assert_non_null(strstr(md, "**upload** skipped"));
	assert_non_null(strstr(md, "| accuracy | 0.85 |"));
	assert_non_null(strstr(md, "| per\\|class | 1 |"));
	assert_non_null(strstr(md, "| accuracy | `>= 0.90` | 0.85 | "
				   "**failed** |"));
	assert_non_null(strstr(md, "| tall | EXACT_MATCH |"));
	assert_non_null(strstr(md, "Log: `/w/job.log`"));
	assert_null(strstr(md, "### Artifact"));
	free(md);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_markdown_shows_sha_stages_metrics_gates_and_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
