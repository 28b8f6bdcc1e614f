/* test_metrics.c: metrics files flattened to a.b.c, and what is refused */
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

/* Errors name the metrics file as given: run in the data folder. */
static int enter_data_dir(void **state)
{
	(void)state;
	return pb_test_enter_data_dir("evaluate");
}

/* "a=1;b.c=2.5": the flattened metrics in order, for one comparison. */
static char *render(const struct pb_metrics *m)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	for (i = 0; i < m->n; i++)
		assert_int_equal(pb_buf_printf(&b, "%s%s=%.17g", i ? ";" : "",
					       m->v[i].name, m->v[i].value),
				 0);
	return pb_buf_detach(&b);
}

struct flatten_row {
	const char *what;
	const char *json;
	int rc;
	const char *want; /* rendered metrics, or the error message */
};

static const struct flatten_row flatten_rows[] = {
	{ "flat", "{\"accuracy\": 0.93, \"loss\": 0.25}", 0,
	  "accuracy=0.93000000000000005;loss=0.25" },
	{ "nested keys in file order, not sorted",
	  "{\"z\": 1, \"eval\": {\"loss\": 0.5, \"acc\": {\"top1\": 0.75}}, "
	  "\"a\": 2}",
	  0, "z=1;eval.loss=0.5;eval.acc.top1=0.75;a=2" },
	{ "integers and reals", "{\"n\": 150, \"neg\": -3, \"r\": 1.5e2}", 0,
	  "n=150;neg=-3;r=150" },
	{ "empty object", "{}", 0, "" },
	{ "empty nested object adds nothing", "{\"a\": {}, \"b\": 1}", 0,
	  "b=1" },
	{ "top-level list", "[1, 2]", PB_EINVAL,
	  "m.json: expected a JSON object of numbers, got a list" },
	{ "top-level number", "0.9", PB_EINVAL,
	  "m.json: expected a JSON object of numbers, got a number" },
	{ "string leaf", "{\"eval\": {\"loss\": \"0.2\"}}", PB_EINVAL,
	  "m.json: key 'eval.loss' is a string, expected a number" },
	{ "boolean leaf", "{\"ok\": true}", PB_EINVAL,
	  "m.json: key 'ok' is a boolean, expected a number" },
	{ "null leaf", "{\"a\": {\"b\": {\"c\": null}}}", PB_EINVAL,
	  "m.json: key 'a.b.c' is null, expected a number" },
	{ "list leaf", "{\"per_class\": [0.9, 0.8]}", PB_EINVAL,
	  "m.json: key 'per_class' is a list, expected a number" },
	{ "dotted key then the same name nested",
	  "{\"a.b\": 1, \"a\": {\"b\": 2}}", PB_EINVAL,
	  "m.json: key 'a.b' appears twice after nested keys are joined "
	  "with '.': rename one" },
	{ "nested then the same name dotted", "{\"a\": {\"b\": 2}, \"a.b\": 1}",
	  PB_EINVAL,
	  "m.json: key 'a.b' appears twice after nested keys are joined "
	  "with '.': rename one" },
	{ "empty key at the top", "{\"\": 1}", PB_EINVAL,
	  "m.json: an empty key at the top: give the metric a name" },
	{ "empty key nested", "{\"eval\": {\"\": 1}}", PB_EINVAL,
	  "m.json: an empty key under 'eval': give the metric a name" },
};

static void test_metrics_flattens_numbers_and_refuses_other_leaves(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(flatten_rows) / sizeof(flatten_rows[0]); i++) {
		const struct flatten_row *r = &flatten_rows[i];
		struct pb_metrics m = { NULL, 0 };
		json_error_t jerr;
		json_t *j = json_loads(r->json, JSON_DECODE_ANY, &jerr);
		char *got;
		int rc;

		print_message("flatten: %s\n", r->what);
		assert_non_null(j);
		rc = pb_metrics_from_json(&m, j, "m.json");
		assert_int_equal(rc, r->rc);
		if (rc == 0) {
			got = render(&m);
			assert_string_equal(got, r->want);
			free(got);
		} else {
			assert_string_equal(pb_err_last(), r->want);
			assert_null(m.v);
			assert_int_equal(m.n, 0);
		}
		pb_metrics_release(&m);
		json_decref(j);
	}
}

static void test_metrics_load_flattens_the_sample_file(void **state)
{
	struct pb_metrics m = { (void *)1, 7 };
	const double *v;
	char *got;

	(void)state;
	assert_int_equal(pb_metrics_load(&m, "metrics.json"), 0);
	got = render(&m);
	/* the integer past 2^64 loads as a double instead of failing */
	assert_string_equal(got,
			    "accuracy=0.93333333333333335;"
			    "f1.macro=0.93000000000000005;"
			    "f1.weighted=0.93310000000000004;"
			    "eval.loss=0.18740000000000001;"
			    "eval.samples=150;"
			    "eval.per_class.setosa=1;"
			    "eval.per_class.versicolor=0.90000000000000002;"
			    "latency_ms=12;"
			    "train_rows=1.2345678901234568e+22");
	free(got);
	v = pb_metrics_get(&m, "eval.per_class.versicolor");
	assert_non_null(v);
	assert_true(*v == 0.9);
	assert_null(pb_metrics_get(&m, "eval.per_class"));
	assert_null(pb_metrics_get(&m, "missing"));
	pb_metrics_release(&m);
	assert_null(m.v);
	assert_int_equal(m.n, 0);
	pb_metrics_release(&m);
	pb_metrics_release(NULL);
}

struct load_row {
	const char *file;
	int rc;
	const char *msg;
};

static const struct load_row load_rows[] = {
	{ "missing.json", PB_ENOTFOUND,
	  "metrics file 'missing.json' not found (the training step must "
	  "write it)" },
	{ "metrics_bad_syntax.json", PB_EINVAL,
	  "metrics_bad_syntax.json:4: '}' expected near '\"loss\"'" },
	{ "metrics_list.json", PB_EINVAL,
	  "metrics_list.json: expected a JSON object of numbers, got a list" },
	{ "metrics_duplicate_key.json", PB_EINVAL,
	  "metrics_duplicate_key.json:3: duplicate object key near "
	  "'\"accuracy\"'" },
};

static void test_metrics_load_refusals_name_the_file_and_line(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(load_rows) / sizeof(load_rows[0]); i++) {
		struct pb_metrics m = { NULL, 0 };

		print_message("load: %s\n", load_rows[i].file);
		pb_test_assert_error(pb_metrics_load(&m, load_rows[i].file),
				     load_rows[i].rc, load_rows[i].msg);
		assert_null(m.v);
		assert_int_equal(m.n, 0);
	}
}

static void test_metrics_rejects_null_json(void **state)
{
	struct pb_metrics m;

	(void)state;
	pb_test_assert_error(pb_metrics_from_json(&m, NULL, NULL), PB_EINVAL,
			     "metrics: expected a JSON object "
			     "of numbers, got nothing");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_metrics_flattens_numbers_and_refuses_other_leaves),
		cmocka_unit_test(test_metrics_load_flattens_the_sample_file),
		cmocka_unit_test(
			test_metrics_load_refusals_name_the_file_and_line),
		cmocka_unit_test(test_metrics_rejects_null_json),
	};

	return cmocka_run_group_tests(tests, enter_data_dir, NULL);
}
