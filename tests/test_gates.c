/* test_gates.c: gate expressions parsed, and checked against metrics */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prbot/err.h"
#include "prbot/evaluate.h"
#include "testutil.h"

struct parse_row {
	const char *expr;
	int ok;
	enum pb_gate_op op;
	double value;
};

static const struct parse_row parse_rows[] = {
	{ ">= 0.90", 1, PB_GATE_GE, 0.90 },
	{ ">=0.9", 1, PB_GATE_GE, 0.9 },
	{ "<= 50", 1, PB_GATE_LE, 50 },
	{ "> 1e-3", 1, PB_GATE_GT, 1e-3 },
	{ "< 2", 1, PB_GATE_LT, 2 },
	{ "== 1", 1, PB_GATE_EQ, 1 },
	{ "  >=   0.5  ", 1, PB_GATE_GE, 0.5 },
	{ ">= -1", 1, PB_GATE_GE, -1 },
	{ "<= +2.5E2", 1, PB_GATE_LE, 250 },
	{ "<.5", 1, PB_GATE_LT, 0.5 },
	{ "about 0.9", 0, 0, 0 },
	{ "0.9", 0, 0, 0 },
	{ "", 0, 0, 0 },
	{ "   ", 0, 0, 0 },
	{ ">=", 0, 0, 0 },
	{ "=> 0.9", 0, 0, 0 },
	{ "= 0.9", 0, 0, 0 },
	{ "!= 0.9", 0, 0, 0 },
	{ ">== 1", 0, 0, 0 },
	{ ">= abc", 0, 0, 0 },
	{ ">= 90%", 0, 0, 0 },
	{ ">= 0.9.1", 0, 0, 0 },
	{ ">= 1 2", 0, 0, 0 },
	{ ">= 1e", 0, 0, 0 },
	{ ">= inf", 0, 0, 0 },
	{ ">= nan", 0, 0, 0 },
	{ ">= 0x10", 0, 0, 0 },
	{ ">= 1e999", 0, 0, 0 },
	{ ">= - 1", 0, 0, 0 },
};

static void test_gate_parse_accepts_operator_number_only(void **state)
{
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		const struct parse_row *r = &parse_rows[i];
		struct pb_gate g;
		int rc;

		print_message("gate '%s'\n", r->expr);
		rc = pb_gate_parse(&g, "accuracy", r->expr);
		if (!r->ok) {
			snprintf(want, sizeof(want),
				 "gate 'accuracy': expected OPERATOR NUMBER "
				 "like '>= 0.90' (operators >= <= > < ==), "
				 "got '%s'",
				 r->expr);
			pb_test_assert_error(rc, PB_EINVAL, want);
			assert_null(g.metric);
			assert_null(g.expr);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(g.metric, "accuracy");
		assert_string_equal(g.expr, r->expr);
		assert_int_equal(g.op, r->op);
		assert_true(g.value == r->value);
		pb_gate_release(&g);
		assert_null(g.metric);
		pb_gate_release(&g);
	}
}

static void test_gate_parse_refuses_missing_parts(void **state)
{
	struct pb_gate g;

	(void)state;
	pb_test_assert_error(pb_gate_parse(&g, "latency_ms", NULL), PB_EINVAL,
			     "gate 'latency_ms': expected OPERATOR NUMBER like "
			     "'>= 0.90' (operators >= <= > < ==), got ''");
	pb_test_assert_error(pb_gate_parse(&g, "", ">= 1"), PB_EINVAL,
			     "gate with an empty metric name: write it as "
			     "METRIC: \"OPERATOR NUMBER\"");
	pb_gate_release(NULL);
}

static void test_gate_op_str_round_trips(void **state)
{
	static const enum pb_gate_op ops[] = { PB_GATE_GE, PB_GATE_LE,
					       PB_GATE_GT, PB_GATE_LT,
					       PB_GATE_EQ };
	char expr[16];
	struct pb_gate g;
	size_t i;

	(void)state;
	assert_string_equal(pb_gate_op_str(PB_GATE_GE), ">=");
	assert_string_equal(pb_gate_op_str(PB_GATE_LE), "<=");
	assert_string_equal(pb_gate_op_str(PB_GATE_GT), ">");
	assert_string_equal(pb_gate_op_str(PB_GATE_LT), "<");
	assert_string_equal(pb_gate_op_str(PB_GATE_EQ), "==");
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		snprintf(expr, sizeof(expr), "%s 3", pb_gate_op_str(ops[i]));
		assert_int_equal(pb_gate_parse(&g, "m", expr), 0);
		assert_int_equal(g.op, ops[i]);
		pb_gate_release(&g);
	}
}

struct check_row {
	const char *expr;
	double actual;
	int passed;
};

static const struct check_row check_rows[] = {
	{ ">= 0.9", 0.95, 1 }, { ">= 0.9", 0.9, 1 },  { ">= 0.9", 0.89, 0 },
	{ "<= 50", 49, 1 },    { "<= 50", 50, 1 },    { "<= 50", 50.5, 0 },
	{ "> 0.5", 0.6, 1 },   { "> 0.5", 0.5, 0 },   { "> 0.5", 0.4, 0 },
	{ "< 2", 1.9, 1 },     { "< 2", 2, 0 },	      { "< 2", 3, 0 },
	{ "== 1", 1, 1 },      { "== 1", 1.0001, 0 }, { "== 0", -0.0, 1 },
};

static void test_gates_check_each_operator_at_its_boundary(void **state)
{
	struct pb_metrics m;
	struct pb_metric one;
	struct pb_gate g;
	struct pb_gate_result res;
	size_t i;

	(void)state;
	one.name = "score";
	m.v = &one;
	m.n = 1;
	for (i = 0; i < sizeof(check_rows) / sizeof(check_rows[0]); i++) {
		print_message("score %g %s\n", check_rows[i].actual,
			      check_rows[i].expr);
		one.value = check_rows[i].actual;
		assert_int_equal(pb_gate_parse(&g, "score", check_rows[i].expr),
				 0);
		pb_gates_check(&res, &g, 1, &m);
		assert_ptr_equal(res.gate, &g);
		assert_true(res.found);
		assert_true(res.actual == check_rows[i].actual);
		assert_int_equal(res.passed, check_rows[i].passed);
		pb_gate_release(&g);
	}
}

static void test_gates_check_missing_metric_fails_in_order(void **state)
{
	struct pb_metric v[] = { { "accuracy", 0.93 }, { "latency_ms", 60 } };
	struct pb_metrics m = { v, 2 };
	struct pb_gate g[3];
	struct pb_gate_result res[3];

	(void)state;
	assert_int_equal(pb_gate_parse(&g[0], "accuracy", ">= 0.90"), 0);
	assert_int_equal(pb_gate_parse(&g[1], "f1", ">= 0.5"), 0);
	assert_int_equal(pb_gate_parse(&g[2], "latency_ms", "<= 50"), 0);
	pb_gates_check(res, g, 3, &m);
	assert_ptr_equal(res[0].gate, &g[0]);
	assert_true(res[0].found);
	assert_true(res[0].passed);
	assert_ptr_equal(res[1].gate, &g[1]);
	assert_false(res[1].found);
	assert_false(res[1].passed);
	assert_ptr_equal(res[2].gate, &g[2]);
	assert_true(res[2].found);
	assert_true(res[2].actual == 60);
	assert_false(res[2].passed);
	pb_gate_release(&g[0]);
	pb_gate_release(&g[1]);
	pb_gate_release(&g[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gate_parse_accepts_operator_number_only),
		cmocka_unit_test(test_gate_parse_refuses_missing_parts),
		cmocka_unit_test(test_gate_op_str_round_trips),
		cmocka_unit_test(
			test_gates_check_each_operator_at_its_boundary),
		cmocka_unit_test(
			test_gates_check_missing_metric_fails_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
