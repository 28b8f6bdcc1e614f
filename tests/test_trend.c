/* test_trend.c: sparklines, Mermaid charts, directions and regressions */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prbot/err.h"
#include "prbot/trend.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- sparkline ---- */

static const struct {
	double v[8];
	size_t n;
	const char *want;
} spark_rows[] = {
	{ { 0 }, 0, "" },
	{ { 1, 2, 3, 4, 5, 6, 7, 8 }, 8, "▁▂▃▄▅▆▇█" },
	{ { 8, 1 }, 2, "█▁" },
	{ { 0.5, 0.5, 0.5 }, 3, "▄▄▄" },
	{ { 42 }, 1, "▄" },
	{ { 0.90, NAN, 0.95 }, 3, "▁ █" },
	{ { NAN, NAN }, 2, "  " },
	{ { NAN, 3, NAN }, 3, " ▄ " },
	{ { 0, 0.5, 1 }, 3, "▁▅█" }, /* 3.5 rounds up */
	{ { -1, 0, 1 }, 3, "▁▅█" },
};

static void test_sparkline_scales_from_lowest_to_highest(void **state)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < N(spark_rows); i++) {
		pb_buf_reset(&b);
		assert_int_equal(pb_trend_sparkline(&b, spark_rows[i].v,
						    spark_rows[i].n),
				 0);
		assert_string_equal(pb_buf_cstr(&b), spark_rows[i].want);
	}
	pb_buf_release(&b);
}

/* ---- mermaid ---- */

static const char *const labels3[] = { "a1b2c3d", "e4f5a6b", "c7d8e9f" };

static const struct {
	const char *metric;
	const char *const *labels;
	double v[3];
	size_t n;
	const char *want;
} mermaid_rows[] = {
	{ "accuracy",
	  labels3,
	  { 0.90, 0.95, 0.92 },
	  3,
	  "```mermaid\nxychart-beta\n    title \"accuracy\"\n"
	  "    x-axis [\"a1b2c3d\", \"e4f5a6b\", \"c7d8e9f\"]\n"
	  "    y-axis \"accuracy\" 0.895 --> 0.955\n"
	  "    line [0.9, 0.95, 0.92]\n```\n" },
	/* a missing point leaves the chart with its label */
	{ "latency_ms",
	  labels3,
	  { 40, NAN, 50 },
	  3,
	  "```mermaid\nxychart-beta\n    title \"latency_ms\"\n"
	  "    x-axis [\"a1b2c3d\", \"c7d8e9f\"]\n"
	  "    y-axis \"latency_ms\" 39 --> 51\n"
	  "    line [40, 50]\n```\n" },
	/* flat: padded by a tenth of the value; zero by 1 */
	{ "f1",
	  labels3,
	  { 2, 2 },
	  2,
	  "```mermaid\nxychart-beta\n    title \"f1\"\n"
	  "    x-axis [\"a1b2c3d\", \"e4f5a6b\"]\n"
	  "    y-axis \"f1\" 1.8 --> 2.2\n    line [2, 2]\n```\n" },
	{ "loss",
	  NULL,
	  { 0 },
	  1,
	  "```mermaid\nxychart-beta\n    title \"loss\"\n"
	  "    x-axis [\"\"]\n"
	  "    y-axis \"loss\" -1 --> 1\n    line [0]\n```\n" },
	/* Mermaid reads no exponents: 1e-05 is written out */
	{ "lr",
	  labels3,
	  { 1e-5, 2e-5 },
	  2,
	  "```mermaid\nxychart-beta\n    title \"lr\"\n"
	  "    x-axis [\"a1b2c3d\", \"e4f5a6b\"]\n"
	  "    y-axis \"lr\" 0.000009 --> 0.000021\n"
	  "    line [0.00001, 0.00002]\n```\n" },
	{ "rows",
	  labels3,
	  { 1e6, 3e6, -2.5e7 },
	  3,
	  "```mermaid\nxychart-beta\n    title \"rows\"\n"
	  "    x-axis [\"a1b2c3d\", \"e4f5a6b\", \"c7d8e9f\"]\n"
	  "    y-axis \"rows\" -27800000 --> 5800000\n"
	  "    line [1000000, 3000000, -25000000]\n```\n" },
	/* quotes, backticks and line breaks cannot end the chart */
	{ "a\"b`\n```",
	  labels3,
	  { 1 },
	  1,
	  "```mermaid\nxychart-beta\n    title \"a_b_____\"\n"
	  "    x-axis [\"a1b2c3d\"]\n"
	  "    y-axis \"a_b_____\" 0.9 --> 1.1\n    line [1]\n```\n" },
};

static void test_mermaid_charts_the_points_with_a_padded_axis(void **state)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < N(mermaid_rows); i++) {
		pb_buf_reset(&b);
		assert_int_equal(pb_trend_mermaid(&b, mermaid_rows[i].metric,
						  mermaid_rows[i].labels,
						  mermaid_rows[i].v,
						  mermaid_rows[i].n),
				 0);
		assert_string_equal(pb_buf_cstr(&b), mermaid_rows[i].want);
	}
	pb_buf_release(&b);
}

static void test_mermaid_refuses_a_series_without_numbers(void **state)
{
	static const double none[] = { NAN, NAN };
	struct pb_buf b = PB_BUF_INIT;

	(void)state;
	assert_int_equal(pb_trend_mermaid(&b, "accuracy", labels3, none, 2),
			 PB_EINVAL);
	assert_string_equal(pb_err_last(), "no value of 'accuracy' to chart");
	assert_int_equal(pb_trend_mermaid(&b, "accuracy", labels3, none, 0),
			 PB_EINVAL);
	assert_null(b.ptr);
}

/* ---- direction ---- */

static const struct {
	const char *expr;
	enum pb_trend_dir want;
} dir_rows[] = {
	{ ">= 0.9", PB_TREND_HIGHER },	{ "> 0.9", PB_TREND_HIGHER },
	{ "  >=0.9", PB_TREND_HIGHER }, { "<= 50", PB_TREND_LOWER },
	{ "< 50", PB_TREND_LOWER },	{ "== 1", PB_TREND_UNKNOWN },
	{ "", PB_TREND_UNKNOWN },	{ NULL, PB_TREND_UNKNOWN },
	{ "0.9", PB_TREND_UNKNOWN },
};

static void test_direction_follows_the_gate_operator(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(dir_rows); i++)
		assert_int_equal(pb_trend_direction(dir_rows[i].expr),
				 dir_rows[i].want);
}

/* ---- threshold ---- */

static const struct {
	const char *text;
	int ok;
	double value;
	int relative;
} th_rows[] = {
	{ "0", 1, 0, 0 },	 { "0.01", 1, 0.01, 0 },
	{ " 0.5 ", 1, 0.5, 0 },	 { "2%", 1, 0.02, 1 },
	{ "0.5%", 1, 0.005, 1 }, { " 10% ", 1, 0.10, 1 },
	{ "3", 1, 3, 0 },	 { ".5", 1, 0.5, 0 },
	{ "", 0, 0, 0 },	 { "   ", 0, 0, 0 },
	{ "-0.01", 0, 0, 0 },	 { "+1", 0, 0, 0 },
	{ "2 %", 0, 0, 0 },	 { "2%%", 0, 0, 0 },
	{ "%", 0, 0, 0 },	 { "1e-3", 0, 0, 0 },
	{ "nan", 0, 0, 0 },	 { "inf", 0, 0, 0 },
	{ "0x10", 0, 0, 0 },	 { "1.2.3", 0, 0, 0 },
	{ ".", 0, 0, 0 },	 { "0.01 abs", 0, 0, 0 },
};

static void test_threshold_is_absolute_or_relative_with_percent(void **state)
{
	struct pb_trend_threshold th;
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < N(th_rows); i++) {
		int rc = pb_trend_threshold_parse(&th, th_rows[i].text);

		if (!th_rows[i].ok) {
			assert_int_equal(rc, PB_EINVAL);
			snprintf(want, sizeof(want),
				 "regression threshold '%s': expected an "
				 "absolute change such as 0.01 or a relative "
				 "one such as 2%%",
				 th_rows[i].text);
			assert_string_equal(pb_err_last(), want);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_true(fabs(th.value - th_rows[i].value) < 1e-12);
		assert_int_equal(th.relative, th_rows[i].relative);
	}
}

/* ---- regressions ---- */

struct kv {
	const char *name;
	double value;
};

/* A pb_metrics over rows (names borrowed: never released). */
static struct pb_metrics metrics_of(struct pb_metric *buf, const struct kv *kv,
				    size_t n)
{
	struct pb_metrics m = { buf, 0 };

	for (m.n = 0; m.n < n && kv[m.n].name; m.n++) {
		buf[m.n].name = (char *)kv[m.n].name;
		buf[m.n].value = kv[m.n].value;
	}
	return m;
}

static const struct {
	const char *why;
	struct kv prev[3], cur[3];
	const char *threshold;
	const char *want; /* "metric:before>after" ... */
} reg_rows[] = {
	{ "higher-is-better dropped past an absolute threshold",
	  { { "accuracy", 0.92 }, { "latency_ms", 40 } },
	  { { "accuracy", 0.90 }, { "latency_ms", 40 } },
	  "0.01",
	  "accuracy:0.92>0.9" },
	{ "a drop of exactly the threshold is not more than it",
	  { { "accuracy", 0.5 }, { "latency_ms", 40 } },
	  { { "accuracy", 0.25 }, { "latency_ms", 40 } },
	  "0.25",
	  "" },
	{ "improvements are never regressions",
	  { { "accuracy", 0.80 }, { "latency_ms", 60 } },
	  { { "accuracy", 0.95 }, { "latency_ms", 20 } },
	  "0",
	  "" },
	{ "lower-is-better rose past a relative threshold",
	  { { "accuracy", 0.90 }, { "latency_ms", 40 } },
	  { { "accuracy", 0.90 }, { "latency_ms", 41 } },
	  "2%",
	  "latency_ms:40>41" },
	{ "within the relative threshold",
	  { { "accuracy", 0.90 }, { "latency_ms", 40 } },
	  { { "accuracy", 0.899 }, { "latency_ms", 40.5 } },
	  "2%",
	  "" },
	{ "0 reports any worsening, both ways in gate order",
	  { { "accuracy", 0.90 }, { "latency_ms", 40 } },
	  { { "accuracy", 0.899 }, { "latency_ms", 40.5 } },
	  "0",
	  "accuracy:0.9>0.899 latency_ms:40>40.5" },
	{ "a metric either run lacks is not compared",
	  { { "latency_ms", 40 } },
	  { { "accuracy", 0.1 } },
	  "0",
	  "" },
	{ "an ungated metric and an == gate have no direction",
	  { { "accuracy", 0.9 }, { "f1", 0.9 }, { "exact", 1 } },
	  { { "accuracy", 0.9 }, { "f1", 0.1 }, { "exact", 0 } },
	  "0",
	  "" },
};

static void
test_regressions_are_wrong_way_moves_past_the_threshold(void **state)
{
	static const struct pb_gate gates[] = {
		{ "accuracy", PB_GATE_GE, 0.8, ">= 0.8" },
		{ "latency_ms", PB_GATE_LE, 50, "<= 50" },
		{ "accuracy", PB_GATE_LE, 0.99, "<= 0.99" }, /* once only */
		{ "exact", PB_GATE_EQ, 1, "== 1" },
	};
	struct pb_trend_regression out[N(gates)];
	struct pb_metric pb[3], cb[3];
	struct pb_metrics prev, cur;
	struct pb_trend_threshold th;
	struct pb_buf got = PB_BUF_INIT;
	size_t i, k, n;

	(void)state;
	for (i = 0; i < N(reg_rows); i++) {
		prev = metrics_of(pb, reg_rows[i].prev, 3);
		cur = metrics_of(cb, reg_rows[i].cur, 3);
		assert_int_equal(
			pb_trend_threshold_parse(&th, reg_rows[i].threshold),
			0);
		pb_trend_regressions(out, &n, &prev, &cur, gates, N(gates),
				     &th);
		pb_buf_reset(&got);
		for (k = 0; k < n; k++)
			assert_int_equal(
				pb_buf_printf(&got, "%s%s:%g>%g", k ? " " : "",
					      out[k].metric, out[k].before,
					      out[k].after),
				0);
		if (strcmp(pb_buf_cstr(&got), reg_rows[i].want))
			fail_msg("%s: got '%s', want '%s'", reg_rows[i].why,
				 pb_buf_cstr(&got), reg_rows[i].want);
	}
	/* no previous run: nothing to compare */
	pb_trend_regressions(out, &n, NULL, &cur, gates, N(gates), &th);
	assert_int_equal(n, 0);
	pb_buf_release(&got);
}

/* ---- main metric and series ---- */

static void
test_main_metric_is_the_first_gate_else_the_first_metric(void **state)
{
	static const struct pb_gate gates[] = {
		{ "latency_ms", PB_GATE_LE, 50, "<= 50" },
		{ "accuracy", PB_GATE_GE, 0.8, ">= 0.8" },
	};
	static const struct kv kv[] = { { "f1", 0.5 }, { "accuracy", 0.9 } };
	struct pb_metric buf[2];
	struct pb_metrics m = metrics_of(buf, kv, 2), none = { NULL, 0 };

	(void)state;
	assert_string_equal(pb_trend_main_metric(gates, 2, &m), "latency_ms");
	assert_string_equal(pb_trend_main_metric(NULL, 0, &m), "f1");
	assert_null(pb_trend_main_metric(NULL, 0, &none));
	assert_null(pb_trend_main_metric(NULL, 0, NULL));
}

static void test_series_reads_the_metric_of_each_evaluation(void **state)
{
	struct pb_evaluation ev[] = {
		{ 0, "o/r", "main", "a1", 0, "{\"accuracy\":0.9}", 1, 1 },
		{ 0, "o/r", "main", "a2", 0, "{\"f1\":0.5}", 1, 2 },
		{ 0, "o/r", "main", "a3", 0, "not json", 1, 3 },
		{ 0, "o/r", "main", "a4", 0, "{\"accuracy\":\"x\"}", 1, 4 },
		{ 0, "o/r", "main", "a5", 0, "{\"accuracy\":1}", 1, 5 },
	};
	struct pb_evaluation_list h = { ev, N(ev) };
	double v[N(ev)];

	(void)state;
	assert_int_equal(pb_trend_series(v, &h, "accuracy"), 2);
	assert_true(v[0] == 0.9);
	assert_true(isnan(v[1]) && isnan(v[2]) && isnan(v[3]));
	assert_true(v[4] == 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sparkline_scales_from_lowest_to_highest),
		cmocka_unit_test(
			test_mermaid_charts_the_points_with_a_padded_axis),
		cmocka_unit_test(test_mermaid_refuses_a_series_without_numbers),
		cmocka_unit_test(test_direction_follows_the_gate_operator),
		cmocka_unit_test(
			test_threshold_is_absolute_or_relative_with_percent),
		cmocka_unit_test(
			test_regressions_are_wrong_way_moves_past_the_threshold),
		cmocka_unit_test(
			test_main_metric_is_the_first_gate_else_the_first_metric),
		cmocka_unit_test(
			test_series_reads_the_metric_of_each_evaluation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
