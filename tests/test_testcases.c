/* test_testcases.c: TEST_CASES.json validation and judging predict's output */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/evaluate.h"
#include "testutil.h"

/* Errors name the test cases file as given: run in the data folder. */
static int enter_data_dir(void **state)
{
	(void)state;
	return pb_test_enter_data_dir("evaluate");
}

static int parse_text(struct pb_test_cases *c, const char *text)
{
	return pb_test_cases_parse(c, text, strlen(text), "TEST_CASES.json");
}

/* ---- the sample file ---- */

static void test_cases_load_sample_file(void **state)
{
	struct pb_test_cases c = { (void *)1, 9 };
	const struct pb_test_case *tc;
	char *s;

	(void)state;
	assert_int_equal(pb_test_cases_load(&c, "TEST_CASES.json"), 0);
	assert_int_equal(c.n, 7);

	tc = &c.v[0];
	assert_string_equal(tc->name, "short petals are setosa");
	assert_int_equal(tc->type, PB_CASE_EXACT_MATCH);
	assert_string_equal(json_string_value(tc->expected), "setosa");
	assert_int_equal(tc->n_tree, 1);
	assert_string_equal(tc->tree[0], "label");
	s = json_dumps(tc->input, JSON_COMPACT | JSON_REAL_PRECISION(15));
	assert_string_equal(s, "{\"sepal_length\":5.1,\"sepal_width\":3.5,"
			       "\"petal_length\":1.4,\"petal_width\":0.2}");
	free(s);

	/* no "type": EXACT_MATCH; an integer in tree becomes its digits */
	tc = &c.v[1];
	assert_int_equal(tc->type, PB_CASE_EXACT_MATCH);
	assert_int_equal(tc->n_tree, 2);
	assert_string_equal(tc->tree[0], "top");
	assert_string_equal(tc->tree[1], "0");

	tc = &c.v[2];
	assert_string_equal(tc->name,
			    "tall flower is virginica with probability >= 0.8");
	assert_int_equal(tc->type, PB_CASE_GREATER_OR_EQUAL);
	assert_true(json_real_value(tc->expected) == 0.8);
	assert_int_equal(c.v[3].type, PB_CASE_LESS_OR_EQUAL);

	tc = &c.v[4];
	assert_true(json_is_array(tc->input));
	assert_string_equal(tc->tree[0], "1");
	assert_string_equal(tc->tree[1], "label");

	/* no tree, no expected_output where the type needs none */
	tc = &c.v[5];
	assert_int_equal(tc->type, PB_CASE_NO_EXCEPTION);
	assert_null(tc->expected);
	assert_int_equal(tc->n_tree, 0);
	assert_null(tc->tree);
	assert_int_equal(c.v[6].type, PB_CASE_EXCEPTION);

	pb_test_cases_release(&c);
	assert_null(c.v);
	assert_int_equal(c.n, 0);
	pb_test_cases_release(&c);
	pb_test_cases_release(NULL);
}

static void test_cases_load_names_file_and_line(void **state)
{
	struct pb_test_cases c;

	(void)state;
	pb_test_assert_error(pb_test_cases_load(&c, "TEST_CASES_bad_type.json"),
			     PB_EINVAL,
			     "TEST_CASES_bad_type.json:9: case 3 ('tall "
			     "flower'): 'type' must be one of EXACT_MATCH, "
			     "GREATER_OR_EQUAL, LESS_OR_EQUAL, NO_EXCEPTION, "
			     "EXCEPTION, got 'GREATER_OR_EQUALS'");
	assert_null(c.v);
	assert_int_equal(c.n, 0);

	pb_test_assert_error(pb_test_cases_load(&c, "TEST_CASES_syntax.json"),
			     PB_EINVAL,
			     "TEST_CASES_syntax.json:4: string "
			     "or '}' expected near '}'");

	pb_test_assert_error(pb_test_cases_load(&c, "NO_SUCH_CASES.json"),
			     PB_ENOTFOUND,
			     "test cases file 'NO_SUCH_CASES.json' not found");
}

/* The bundled example must stay valid for the end-to-end test. */
static void test_cases_parse_the_iris_example(void **state)
{
	const char *src = getenv("PRBOT_SOURCE_DIR");
	unsigned int types = 0;
	struct pb_test_cases c;
	char path[4096];
	size_t i;

	(void)state;
	if (!src)
		skip();
	snprintf(path, sizeof(path), "%s/examples/iris/TEST_CASES.json", src);
	if (pb_test_cases_load(&c, path) < 0)
		fail_msg("%s", pb_err_last());
	for (i = 0; i < c.n; i++)
		types |= 1u << c.v[i].type;
	assert_int_equal(types, 0x1f);
	pb_test_cases_release(&c);
}

/* ---- schema refusals ---- */

struct schema_row {
	const char *what;
	const char *text;
	const char *msg;
};

static const struct schema_row schema_rows[] = {
	{ "not JSON", "[\n  {\"case_name\": \"a\",\n   \"input\": nope}\n]",
	  "TEST_CASES.json:3: invalid token near 'nope'" },
	{ "empty file", "",
	  "TEST_CASES.json:1: unexpected token near end of "
	  "file" },
	{ "top level object", "{\"case_name\": \"a\", \"input\": 1}",
	  "TEST_CASES.json: expected a list of test cases ([{\"case_name\": "
	  "..., \"input\": ...}]), got an object" },
	{ "top level string", "\"cases\"",
	  "TEST_CASES.json: expected a list of test cases ([{\"case_name\": "
	  "..., \"input\": ...}]), got a string" },
	{ "duplicate key",
	  "[{\"case_name\": \"a\", \"input\": 1,\n"
	  "  \"input\": 2}]",
	  "TEST_CASES.json:2: duplicate object key near '\"input\"'" },
	{ "item not an object",
	  "[\n  {\"case_name\": \"a\", \"input\": 1, "
	  "\"type\": \"NO_EXCEPTION\"},\n"
	  "  \"b\"\n]",
	  "TEST_CASES.json:3: case 2: expected an object with case_name and "
	  "input, got a string" },
	{ "case_name missing", "[{\"input\": 1}]",
	  "TEST_CASES.json:1: case 1: 'case_name' is missing: give each case "
	  "a unique name" },
	{ "case_name a number", "[{\"case_name\": 7, \"input\": 1}]",
	  "TEST_CASES.json:1: case 1: 'case_name' must be a non-empty string, "
	  "got a number" },
	{ "case_name empty", "[{\"case_name\": \"\", \"input\": 1}]",
	  "TEST_CASES.json:1: case 1: 'case_name' must be a non-empty string, "
	  "got an empty one" },
	{ "case_name twice",
	  "[\n{\"case_name\": \"tall\", \"input\": 1, "
	  "\"expected_output\": 1},\n"
	  "{\"case_name\": \"short\", \"input\": 1, "
	  "\"expected_output\": 1},\n"
	  "{\"case_name\": \"tall\", \"input\": 2}\n]",
	  "TEST_CASES.json:4: case 3 ('tall'): 'case_name' is already used by "
	  "case 1: give each case a unique name" },
	{ "misspelt expected_output",
	  "[{\"case_name\": \"tall\", \"input\": 1, \"expected\": 2}]",
	  "TEST_CASES.json:1: case 1 ('tall'): unknown key 'expected' (the "
	  "keys are case_name, input, expected_output, type, tree)" },
	{ "misspelt case_name",
	  "[{\"case_nme\": \"tall\", \"input\": 1, \"expected_output\": 2}]",
	  "TEST_CASES.json:1: case 1: unknown key 'case_nme' (the keys are "
	  "case_name, input, expected_output, type, tree)" },
	{ "input missing",
	  "[{\"case_name\": \"tall\", \"expected_output\": 2}]",
	  "TEST_CASES.json:1: case 1 ('tall'): 'input' is missing (the JSON "
	  "written to predict's stdin)" },
	{ "type unknown",
	  "[{\"case_name\": \"tall flower\", \"input\": 1, "
	  "\"expected_output\": 1, \"type\": \"exact_match\"}]",
	  "TEST_CASES.json:1: case 1 ('tall flower'): 'type' must be one of "
	  "EXACT_MATCH, GREATER_OR_EQUAL, LESS_OR_EQUAL, NO_EXCEPTION, "
	  "EXCEPTION, got 'exact_match'" },
	{ "type not a string",
	  "[{\"case_name\": \"tall\", \"input\": 1, \"type\": null}]",
	  "TEST_CASES.json:1: case 1 ('tall'): 'type' must be one of "
	  "EXACT_MATCH, GREATER_OR_EQUAL, LESS_OR_EQUAL, NO_EXCEPTION, "
	  "EXCEPTION, got null" },
	{ "EXACT_MATCH without expected_output",
	  "[{\"case_name\": \"tall\", \"input\": 1}]",
	  "TEST_CASES.json:1: case 1 ('tall'): 'expected_output' is missing "
	  "(EXACT_MATCH needs it)" },
	{ "GREATER_OR_EQUAL without expected_output",
	  "[{\"case_name\": \"tall\", \"input\": 1, "
	  "\"type\": \"GREATER_OR_EQUAL\"}]",
	  "TEST_CASES.json:1: case 1 ('tall'): 'expected_output' is missing "
	  "(GREATER_OR_EQUAL needs it)" },
	{ "LESS_OR_EQUAL with a string",
	  "[{\"case_name\": \"tall\", \"input\": 1, "
	  "\"type\": \"LESS_OR_EQUAL\", \"expected_output\": \"0.2\"}]",
	  "TEST_CASES.json:1: case 1 ('tall'): 'expected_output' must be a "
	  "number for LESS_OR_EQUAL, got a string" },
	{ "tree not a list",
	  "[{\"case_name\": \"tall\", \"input\": 1, \"expected_output\": 1, "
	  "\"tree\": \"label\"}]",
	  "TEST_CASES.json:1: case 1 ('tall'): 'tree' must be a list of keys, "
	  "got a string" },
	{ "tree with a negative index",
	  "[{\"case_name\": \"tall\", \"input\": 1, \"expected_output\": 1, "
	  "\"tree\": [\"top\", -1]}]",
	  "TEST_CASES.json:1: case 1 ('tall'): 'tree' item 2 must be a string "
	  "(object key) or a non-negative integer (list index), got a "
	  "negative number" },
	{ "tree with a real",
	  "[{\"case_name\": \"tall\", \"input\": 1, \"expected_output\": 1, "
	  "\"tree\": [1.5]}]",
	  "TEST_CASES.json:1: case 1 ('tall'): 'tree' item 1 must be a string "
	  "(object key) or a non-negative integer (list index), got a "
	  "number" },
	{ "tree with an object",
	  "[{\"case_name\": \"tall\", \"input\": 1, \"expected_output\": 1, "
	  "\"tree\": [\"a\", \"b\", {}]}]",
	  "TEST_CASES.json:1: case 1 ('tall'): 'tree' item 3 must be a string "
	  "(object key) or a non-negative integer (list index), got an "
	  "object" },
};

static void test_cases_schema_refusals(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(schema_rows) / sizeof(schema_rows[0]); i++) {
		struct pb_test_cases c = { NULL, 0 };

		print_message("schema: %s\n", schema_rows[i].what);
		pb_test_assert_error(parse_text(&c, schema_rows[i].text),
				     PB_EINVAL, schema_rows[i].msg);
		assert_null(c.v);
		assert_int_equal(c.n, 0);
	}
}

static void test_cases_accepts_empty_list_and_optional_keys(void **state)
{
	struct pb_test_cases c;

	(void)state;
	assert_int_equal(parse_text(&c, " [ ] "), 0);
	assert_int_equal(c.n, 0);
	pb_test_cases_release(&c);

	/* EXCEPTION may keep an expected_output; null is a valid input */
	assert_int_equal(parse_text(&c, "[{\"case_name\": \"x\", \"input\": "
					"null, \"type\": \"EXCEPTION\", "
					"\"expected_output\": \"ValueError\", "
					"\"tree\": []}]"),
			 0);
	assert_int_equal(c.n, 1);
	assert_true(json_is_null(c.v[0].input));
	assert_string_equal(json_string_value(c.v[0].expected), "ValueError");
	assert_int_equal(c.v[0].n_tree, 0);
	pb_test_cases_release(&c);
}

static void test_case_type_names(void **state)
{
	(void)state;
	assert_string_equal(pb_case_type_name(PB_CASE_EXACT_MATCH),
			    "EXACT_MATCH");
	assert_string_equal(pb_case_type_name(PB_CASE_GREATER_OR_EQUAL),
			    "GREATER_OR_EQUAL");
	assert_string_equal(pb_case_type_name(PB_CASE_LESS_OR_EQUAL),
			    "LESS_OR_EQUAL");
	assert_string_equal(pb_case_type_name(PB_CASE_NO_EXCEPTION),
			    "NO_EXCEPTION");
	assert_string_equal(pb_case_type_name(PB_CASE_EXCEPTION), "EXCEPTION");
}

/* ---- judging ---- */

#define TRACEBACK                                           \
	"Traceback (most recent call last):\n"              \
	"  File \"src/predict.py\", line 40, in <module>\n" \
	"ValueError: missing petal_width\n\n"

struct judge_row {
	const char *what;
	const char *tc; /* the keys of one case, without case_name/input */
	int exit_code;
	const char *out;
	const char *err;
	int passed;
	const char *expected; /* NULL: no expected_output */
	const char *actual;   /* NULL: none */
	const char *error;    /* NULL: none */
};

static const struct judge_row judge_rows[] = {
	{ "exact string through a key",
	  "\"expected_output\": \"setosa\", "
	  "\"tree\": [\"label\"]",
	  0, "{\"label\": \"setosa\", \"proba\": {\"setosa\": 0.98}}\n", "", 1,
	  "\"setosa\"", "\"setosa\"", NULL },
	{ "exact string mismatch",
	  "\"expected_output\": \"setosa\", "
	  "\"tree\": [\"label\"]",
	  0, "{\"label\": \"virginica\"}", "", 0, "\"setosa\"", "\"virginica\"",
	  "expected \"setosa\" got \"virginica\"" },
	{ "exact integer mismatch", "\"expected_output\": 0", 0, "2", NULL, 0,
	  "0", "2", "expected 0 got 2" },
	{ "1 equals 1.0", "\"expected_output\": 1", 0, "1.0", NULL, 1, "1",
	  "1.0", NULL },
	{ "1.0 equals 1 inside lists and objects",
	  "\"expected_output\": {\"a\": [1, 2.5], \"b\": null}", 0,
	  "{\"b\": null, \"a\": [1.0, 2.5]}", NULL, 1,
	  "{\"a\":[1,2.5],\"b\":null}", "{\"b\":null,\"a\":[1.0,2.5]}", NULL },
	{ "list order matters", "\"expected_output\": [1, 2]", 0, "[2, 1]",
	  NULL, 0, "[1,2]", "[2,1]", "expected [1,2] got [2,1]" },
	{ "an extra key is a mismatch", "\"expected_output\": {\"a\": 1}", 0,
	  "{\"a\": 1, \"b\": 2}", NULL, 0, "{\"a\":1}", "{\"a\":1,\"b\":2}",
	  "expected {\"a\":1} got {\"a\":1,\"b\":2}" },
	{ "true is not 1", "\"expected_output\": true", 0, "1", NULL, 0, "true",
	  "1", "expected true got 1" },
	{ "reals show their shortest exact digits", "\"expected_output\": 0.3",
	  0, "0.30000000000000004", NULL, 0, "0.3", "0.30000000000000004",
	  "expected 0.3 got 0.30000000000000004" },
	{ "tree into a list by integer",
	  "\"expected_output\": \"virginica\", \"tree\": [1, \"label\"]", 0,
	  "[{\"label\": \"setosa\"}, {\"label\": \"virginica\"}]", NULL, 1,
	  "\"virginica\"", "\"virginica\"", NULL },
	{ "tree into a list by a decimal string",
	  "\"expected_output\": \"setosa\", \"tree\": [\"0\", \"label\"]", 0,
	  "[{\"label\": \"setosa\"}]", NULL, 1, "\"setosa\"", "\"setosa\"",
	  NULL },
	{ "tree key missing in an object",
	  "\"expected_output\": 0.9, \"tree\": [\"proba\", \"virginica\"]", 0,
	  "{\"label\":\"setosa\",\"proba\":{\"setosa\":0.98}}", NULL, 0, "0.9",
	  "{\"label\":\"setosa\",\"proba\":{\"setosa\":0.98}}",
	  "key 'virginica' not found at tree [\"proba\",\"virginica\"]" },
	{ "tree walks past a string",
	  "\"expected_output\": 1, \"tree\": [\"label\", \"proba\"]", 0,
	  "{\"label\":\"setosa\"}", NULL, 0, "1", "{\"label\":\"setosa\"}",
	  "key 'proba' not found at tree [\"label\",\"proba\"]: the value "
	  "there is a string" },
	{ "tree index past the end of a list",
	  "\"expected_output\": 1, \"tree\": [2]", 0, "[5, 6]", NULL, 0, "1",
	  "[5,6]",
	  "key '2' not found at tree [\"2\"]: the value there is a list of "
	  "length 2" },
	{ "tree name on a list", "\"expected_output\": 1, \"tree\": [\"a\"]", 0,
	  "[5]", NULL, 0, "1", "[5]",
	  "key 'a' not found at tree [\"a\"]: the value there is a list of "
	  "length 1" },
	{ "greater or equal passes above",
	  "\"type\": \"GREATER_OR_EQUAL\", \"expected_output\": 0.8, "
	  "\"tree\": [\"proba\", \"virginica\"]",
	  0, "{\"proba\": {\"virginica\": 0.93}}", NULL, 1, "0.8", "0.93",
	  NULL },
	{ "greater or equal passes at equality",
	  "\"type\": \"GREATER_OR_EQUAL\", \"expected_output\": 1", 0, "1.0",
	  NULL, 1, "1", "1.0", NULL },
	{ "greater or equal fails below",
	  "\"type\": \"GREATER_OR_EQUAL\", \"expected_output\": 0.8", 0, "0.5",
	  NULL, 0, "0.8", "0.5", "expected >= 0.8 got 0.5" },
	{ "greater or equal refuses a string",
	  "\"type\": \"GREATER_OR_EQUAL\", \"expected_output\": 0.8", 0,
	  "\"0.9\"", NULL, 0, "0.8", "\"0.9\"",
	  "expected >= 0.8 got a string, not a number" },
	{ "less or equal passes below",
	  "\"type\": \"LESS_OR_EQUAL\", \"expected_output\": 0.2", 0, "0.01",
	  NULL, 1, "0.2", "0.01", NULL },
	{ "less or equal passes at equality",
	  "\"type\": \"LESS_OR_EQUAL\", \"expected_output\": 0.2", 0, "0.2",
	  NULL, 1, "0.2", "0.2", NULL },
	{ "less or equal fails above",
	  "\"type\": \"LESS_OR_EQUAL\", \"expected_output\": 50", 0, "51", NULL,
	  0, "50", "51", "expected <= 50 got 51" },
	{ "no exception passes on JSON", "\"type\": \"NO_EXCEPTION\"", 0,
	  "{\"label\": \"setosa\"}", "a warning\n", 1, NULL,
	  "{\"label\":\"setosa\"}", NULL },
	{ "no exception fails on a crash", "\"type\": \"NO_EXCEPTION\"", 1, "",
	  TRACEBACK, 0, NULL, "raised: ValueError: missing petal_width",
	  "predict exited with status 1: ValueError: missing petal_width" },
	{ "no exception fails on text", "\"type\": \"NO_EXCEPTION\"", 0,
	  "setosa\n", NULL, 0, NULL, "setosa", "output is not JSON: setosa" },
	{ "no exception checks the tree exists",
	  "\"type\": \"NO_EXCEPTION\", \"tree\": [\"label\"]", 0,
	  "{\"lable\": 1}", NULL, 0, NULL, "{\"lable\":1}",
	  "key 'label' not found at tree [\"label\"]" },
	{ "exception passes on a crash", "\"type\": \"EXCEPTION\"", 1, "",
	  TRACEBACK, 1, NULL, "raised: ValueError: missing petal_width", NULL },
	{ "exception passes on a silent exit", "\"type\": \"EXCEPTION\"", 2, "",
	  "", 1, NULL, "exited with status 2", NULL },
	{ "exception passes when killed", "\"type\": \"EXCEPTION\"", -1, "",
	  NULL, 1, NULL, "killed or could not start", NULL },
	{ "exception fails on an answer", "\"type\": \"EXCEPTION\"", 0,
	  "{\"label\": \"setosa\"}", NULL, 0, NULL, "{\"label\":\"setosa\"}",
	  "predict exited 0, expected it to fail on this input" },
	{ "exact match fails on a crash", "\"expected_output\": 1", 3, "",
	  "model.pkl does not match its manifest\n", 0, "1",
	  "raised: model.pkl does not match its manifest",
	  "predict exited with status 3: model.pkl does not match its "
	  "manifest" },
	{ "killed predict", "\"expected_output\": 1", -1, "", NULL, 0, "1",
	  "killed or could not start",
	  "predict was killed or could not start" },
	{ "empty output", "\"expected_output\": 1", 0, "  \n", NULL, 0, "1",
	  NULL, "predict printed nothing on stdout, expected JSON" },
	{ "log lines before the JSON are not JSON", "\"expected_output\": 1", 0,
	  "loading model\n{\"label\": \"setosa\"}\n", NULL, 0, "1",
	  "loading model {\"label\": \"setosa\"}",
	  "output is not JSON: loading model {\"label\": \"setosa\"}" },
	{ "surrounding blank lines are fine",
	  "\"expected_output\": \"setosa\", \"tree\": [\"label\"]", 0,
	  "\n\n  {\"label\": \"setosa\"}  \n\n", NULL, 1, "\"setosa\"",
	  "\"setosa\"", NULL },
	{ "a bare string is an answer", "\"expected_output\": \"setosa\"", 0,
	  "\"setosa\"\n", NULL, 1, "\"setosa\"", "\"setosa\"", NULL },
	{ "invalid UTF-8 is shown as ?", "\"expected_output\": 1", 0,
	  "caf\xc3\xa9 \xff\xfe ok", NULL, 0, "1", "caf\xc3\xa9 ?? ok",
	  "output is not JSON: caf\xc3\xa9 ?? ok" },
};

/* "[{"case_name": "c", "input": {...}, ROW}]" parsed into one case. */
static void parse_row_case(struct pb_test_cases *c, const char *keys)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "[{\"case_name\": \"c\", \"input\": {\"x\": 1}, %s}]", keys);
	if (parse_text(c, text) < 0)
		fail_msg("%s", pb_err_last());
	assert_int_equal(c->n, 1);
}

static void assert_maybe_string(const char *got, const char *want)
{
	if (want)
		assert_string_equal(got, want);
	else
		assert_null(got);
}

static void test_case_judge_each_type_passes_and_fails(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(judge_rows) / sizeof(judge_rows[0]); i++) {
		const struct judge_row *r = &judge_rows[i];
		struct pb_predict_outcome o = { r->exit_code, r->out, r->err };
		struct pb_test_cases c;
		struct pb_case_result res;

		print_message("judge: %s\n", r->what);
		parse_row_case(&c, r->tc);
		assert_int_equal(pb_test_case_judge(&res, &c.v[0], &o), 0);
		assert_string_equal(res.name, "c");
		assert_int_equal(res.type, c.v[0].type);
		assert_int_equal(res.passed, r->passed);
		assert_maybe_string(res.expected, r->expected);
		assert_maybe_string(res.actual, r->actual);
		assert_maybe_string(res.error, r->error);
		pb_case_result_release(&res);
		assert_null(res.name);
		pb_case_result_release(&res);
		pb_test_cases_release(&c);
	}
	pb_case_result_release(NULL);
}

static void test_case_judge_cuts_long_text(void **state)
{
	struct pb_buf out = PB_BUF_INIT, err = PB_BUF_INIT;
	struct pb_predict_outcome o = { 0, NULL, NULL };
	struct pb_test_cases c;
	struct pb_case_result res;
	char want[128];
	int i;

	(void)state;
	/* a long JSON answer: actual keeps about 500 bytes */
	parse_row_case(&c, "\"expected_output\": []");
	assert_int_equal(pb_buf_puts(&out, "["), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(pb_buf_printf(&out, "%s%d", i ? "," : "", i),
				 0);
	assert_int_equal(pb_buf_puts(&out, "]"), 0);
	o.stdout_text = pb_buf_cstr(&out);
	assert_int_equal(pb_test_case_judge(&res, &c.v[0], &o), 0);
	assert_false(res.passed);
	assert_int_equal(strlen(res.actual), 503);
	assert_memory_equal(res.actual, "[0,1,2,3,", 9);
	assert_string_equal(res.actual + 500, "...");
	assert_int_equal(strncmp(res.error, "expected [] got [0,1,2", 22), 0);
	assert_true(strlen(res.error) < 250);
	pb_case_result_release(&res);

	/* long non-JSON text: the error quotes the first 80 bytes */
	pb_buf_reset(&out);
	for (i = 0; i < 100; i++)
		assert_int_equal(pb_buf_puts(&out, "loading... "), 0);
	o.stdout_text = pb_buf_cstr(&out);
	assert_int_equal(pb_test_case_judge(&res, &c.v[0], &o), 0);
	snprintf(want, sizeof(want), "output is not JSON: %.80s...",
		 pb_buf_cstr(&out));
	assert_string_equal(res.error, want);
	assert_int_equal(strlen(res.actual), 503);
	pb_case_result_release(&res);

	/* a cut never splits a UTF-8 character */
	pb_buf_reset(&out);
	assert_int_equal(pb_buf_puts(&out, "x"), 0);
	for (i = 0; i < 60; i++)
		assert_int_equal(pb_buf_puts(&out, "\xc3\xa9"), 0);
	o.stdout_text = pb_buf_cstr(&out);
	assert_int_equal(pb_test_case_judge(&res, &c.v[0], &o), 0);
	assert_int_equal(strlen(res.error),
			 strlen("output is not JSON: ") + 79 + 3);
	pb_case_result_release(&res);

	/* the last line of a long stderr, itself cut */
	pb_buf_reset(&out);
	assert_int_equal(pb_buf_puts(&err, "first line\n"), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(pb_buf_puts(&err, "0123456789"), 0);
	o.exit_code = 1;
	o.stdout_text = "";
	o.stderr_tail = pb_buf_cstr(&err);
	assert_int_equal(pb_test_case_judge(&res, &c.v[0], &o), 0);
	assert_int_equal(strncmp(res.error,
				 "predict exited with status 1: 0123456789",
				 40),
			 0);
	assert_int_equal(strlen(res.error),
			 strlen("predict exited with status 1: ") + 300 + 3);
	pb_case_result_release(&res);

	pb_buf_release(&err);
	pb_buf_release(&out);
	pb_test_cases_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases_load_sample_file),
		cmocka_unit_test(test_cases_load_names_file_and_line),
		cmocka_unit_test(test_cases_parse_the_iris_example),
		cmocka_unit_test(test_cases_schema_refusals),
		cmocka_unit_test(
			test_cases_accepts_empty_list_and_optional_keys),
		cmocka_unit_test(test_case_type_names),
		cmocka_unit_test(test_case_judge_each_type_passes_and_fails),
		cmocka_unit_test(test_case_judge_cuts_long_text),
	};

	return cmocka_run_group_tests(tests, enter_data_dir, NULL);
}
