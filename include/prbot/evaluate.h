/* evaluate.h: metrics files, gates and TEST_CASES.json judging */
#ifndef PRBOT_EVALUATE_H
#define PRBOT_EVALUATE_H

#include <jansson.h>
#include <stddef.h>

/* ---- metrics: a JSON object of numbers, nested keys flatten to a.b ---- */

struct pb_metric {
	char *name; /* owned: "a.b.c" */
	double value;
};

struct pb_metrics {
	struct pb_metric *v; /* owned, in file order */
	size_t n;
};

/*
 * Flatten obj into out. Booleans, strings, arrays and null are refused with
 * PB_EINVAL and a message naming file and the flattened key, e.g.
 * "metrics.json: key 'eval.loss' is a string, expected a number".
 */
int pb_metrics_from_json(struct pb_metrics *out, const json_t *obj,
			 const char *file);

/* Read and flatten a metrics file; PB_ENOTFOUND when it is missing. */
int pb_metrics_load(struct pb_metrics *out, const char *path);

/* The value of name, or NULL. Borrowed from m. */
const double *pb_metrics_get(const struct pb_metrics *m, const char *name);

/* {name: value, ...} in file order; new reference, NULL when out of
 * memory. */
json_t *pb_metrics_json(const struct pb_metrics *m);

void pb_metrics_release(struct pb_metrics *m);

/* ---- gates: "accuracy: >= 0.90" ---- */

enum pb_gate_op { PB_GATE_GE, PB_GATE_LE, PB_GATE_GT, PB_GATE_LT, PB_GATE_EQ };

struct pb_gate {
	char *metric; /* owned */
	enum pb_gate_op op;
	double value;
	char *expr; /* owned: the text as written, e.g. ">= 0.90" */
};

/* Parse ">= 0.90" (ops >= <= > < ==, spaces optional); PB_EINVAL with a
 * message naming the metric and the expected form. */
int pb_gate_parse(struct pb_gate *out, const char *metric, const char *expr);
void pb_gate_release(struct pb_gate *g);
const char *pb_gate_op_str(enum pb_gate_op op);

struct pb_gate_result {
	const struct pb_gate *gate; /* borrowed */
	int found;		    /* metric present in the metrics file */
	double actual;
	int passed; /* found and the comparison holds */
};

/* One result per gate, in order; out has n slots. */
void pb_gates_check(struct pb_gate_result *out, const struct pb_gate *gates,
		    size_t n, const struct pb_metrics *m);

/* ---- TEST_CASES.json ---- */

enum pb_case_type {
	PB_CASE_EXACT_MATCH = 0, /* default */
	PB_CASE_GREATER_OR_EQUAL,
	PB_CASE_LESS_OR_EQUAL,
	PB_CASE_NO_EXCEPTION,
	PB_CASE_EXCEPTION
};

const char *pb_case_type_name(enum pb_case_type t);

struct pb_test_case {
	char *name;	  /* owned: case_name */
	json_t *input;	  /* owned reference */
	json_t *expected; /* owned reference; NULL when absent */
	enum pb_case_type type;
	char **tree; /* owned: keys (array indexes as decimal text) */
	size_t n_tree;
};

struct pb_test_cases {
	struct pb_test_case *v;
	size_t n;
};

/*
 * Read and validate TEST_CASES.json: a list of objects with case_name
 * (string), input (any JSON), expected_output (required except for
 * NO_EXCEPTION and EXCEPTION; a number for GREATER_OR_EQUAL and
 * LESS_OR_EQUAL), type (one of the five names; default EXACT_MATCH), tree (list
 * of strings or integers; default []). Errors name the file, line and the
 * case: "TEST_CASES.json:12: case 'tall': type 'FOO' is not one of ...".
 */
int pb_test_cases_load(struct pb_test_cases *out, const char *path);
int pb_test_cases_parse(struct pb_test_cases *out, const char *text, size_t len,
			const char *file);
void pb_test_cases_release(struct pb_test_cases *c);

/* What the predict command did for one case. */
struct pb_predict_outcome {
	int exit_code;		 /* 0: success; -1: killed or failed to start */
	const char *stdout_text; /* borrowed: everything it printed */
	const char *stderr_tail; /* borrowed: the end of stderr, may be NULL */
};

struct pb_case_result {
	char *name; /* owned */
	enum pb_case_type type;
	int passed;
	char *expected; /* owned: compact JSON, or NULL */
	char *actual;	/* owned: compact JSON of the value compared (after
			   walking tree), or a short description */
	char *error;	/* owned: why it failed, or NULL */
};

/*
 * Judge one case. EXACT_MATCH: the value at tree equals expected (numbers
 * compare by value, 1 == 1.0). GREATER_OR_EQUAL / LESS_OR_EQUAL: the value at
 * tree is a number >= / <= expected. NO_EXCEPTION: the command exited 0 and
 * printed JSON. EXCEPTION: the command exited non-zero. For every type but
 * EXCEPTION a non-zero exit or non-JSON output is a failure whose error says
 * so. A missing tree key fails with the key named.
 */
int pb_test_case_judge(struct pb_case_result *out,
		       const struct pb_test_case *tc,
		       const struct pb_predict_outcome *o);
void pb_case_result_release(struct pb_case_result *r);

#endif
