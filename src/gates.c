/* gates.c: "accuracy: >= 0.90" parsed and checked against the metrics */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/evaluate.h"
#include "banned.h"

/* Two-character operators first, so ">=" is not read as ">" then "=". */
static const struct {
	const char *text;
	enum pb_gate_op op;
} gate_ops[] = {
	{ ">=", PB_GATE_GE }, { "<=", PB_GATE_LE }, { "==", PB_GATE_EQ },
	{ ">", PB_GATE_GT },  { "<", PB_GATE_LT },
};

const char *pb_gate_op_str(enum pb_gate_op op)
{
	size_t i;

	for (i = 0; i < sizeof(gate_ops) / sizeof(gate_ops[0]); i++)
		if (gate_ops[i].op == op)
			return gate_ops[i].text;
	return "?";
}

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static int parse_op(enum pb_gate_op *op, const char **s)
{
	size_t i, n;

	for (i = 0; i < sizeof(gate_ops) / sizeof(gate_ops[0]); i++) {
		n = strlen(gate_ops[i].text);
		if (!strncmp(*s, gate_ops[i].text, n)) {
			*op = gate_ops[i].op;
			*s += n;
			return 0;
		}
	}
	return -1;
}

/*
 * A decimal number and nothing after it but spaces. strtod alone would also
 * take "inf", "nan" and hex floats, which no one means in a gate.
 */
static int parse_number(double *out, const char *s)
{
	const char *p;
	char *end;

	if (!*s)
		return -1;
	*out = strtod(s, &end);
	if (end == s || *skip_space(end) || !isfinite(*out))
		return -1;
	for (p = s; p < end; p++)
		if (!strchr("0123456789+-.eE", *p))
			return -1;
	return 0;
}

int pb_gate_parse(struct pb_gate *out, const char *metric, const char *expr)
{
	enum pb_gate_op op;
	const char *s;
	double value;

	memset(out, 0, sizeof(*out));
	if (!metric || !*metric)
		return pb_err_setc(PB_EINVAL,
				   "gate with an empty metric name: write it "
				   "as METRIC: \"OPERATOR NUMBER\"");
	s = skip_space(expr ? expr : "");
	if (parse_op(&op, &s) < 0 || parse_number(&value, skip_space(s)) < 0)
		return pb_err_setc(PB_EINVAL,
				   "gate '%s': expected OPERATOR NUMBER like "
				   "'>= 0.90' (operators >= <= > < ==), got "
				   "'%s'",
				   metric, expr ? expr : "");
	out->metric = strdup(metric);
	out->expr = strdup(expr);
	if (!out->metric || !out->expr) {
		pb_gate_release(out);
		return pb_err_set("out of memory");
	}
	out->op = op;
	out->value = value;
	return 0;
}

void pb_gate_release(struct pb_gate *g)
{
	if (!g)
		return;
	free(g->metric);
	free(g->expr);
	g->metric = NULL;
	g->expr = NULL;
}

/* == compares exactly: a gate on a real-valued metric wants >= or <=. */
static int gate_holds(enum pb_gate_op op, double actual, double want)
{
	switch (op) {
	case PB_GATE_GE:
		return actual >= want;
	case PB_GATE_LE:
		return actual <= want;
	case PB_GATE_GT:
		return actual > want;
	case PB_GATE_LT:
		return actual < want;
	case PB_GATE_EQ:
		return actual == want;
	}
	return 0;
}

void pb_gates_check(struct pb_gate_result *out, const struct pb_gate *gates,
		    size_t n, const struct pb_metrics *m)
{
	const double *v;
	size_t i;

	for (i = 0; i < n; i++) {
		v = pb_metrics_get(m, gates[i].metric);
		out[i].gate = &gates[i];
		out[i].found = v != NULL;
		out[i].actual = v ? *v : 0.0;
		out[i].passed = v &&
				gate_holds(gates[i].op, *v, gates[i].value);
	}
}
