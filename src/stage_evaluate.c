/* stage_evaluate.c: metrics, gates and TEST_CASES.json through predict */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prbot/err.h"
#include "stage.h"
#include "banned.h"

#define PREDICT_OUTPUT_MAX  (4 * 1024 * 1024)
#define PREDICT_TIMEOUT_MAX 600
#define CASES_FILE_MAX	    (64 * 1024 * 1024)

static int load_metrics(struct pb_run_ctx *ctx, struct pb_stage_record *rec)
{
	const char *name = ctx->rc->metrics;
	char *path = pb_path_join(ctx->co.project_dir, name);
	json_error_t jerr;
	json_t *obj = NULL;
	int rc = 0;

	if (!path)
		return pb_stage_fail(rec, PB_ERROR, "out of memory");
	obj = json_load_file(path, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			     &jerr);
	if (!obj) {
		if (json_error_code(&jerr) == json_error_cannot_open_file)
			rc = pb_stage_fail(rec, PB_ENOTFOUND,
					   "metrics file '%s' not found (the "
					   "training step must write it)",
					   name);
		else
			rc = pb_stage_fail(rec, PB_EINVAL, "%s:%d: %s", name,
					   jerr.line, jerr.text);
		goto out;
	}
	if ((rc = pb_metrics_from_json(&ctx->metrics, obj, name)) < 0)
		rc = pb_stage_fail(rec, rc, "%s", pb_err_last());
out:
	json_decref(obj);
	free(path);
	return rc;
}

static int load_cases(struct pb_test_cases *cases, struct pb_run_ctx *ctx,
		      struct pb_stage_record *rec)
{
	const char *name = ctx->rc->evaluate.test_cases;
	char *path = pb_path_join(ctx->co.project_dir, name);
	struct pb_buf text = PB_BUF_INIT;
	int rc;

	if (!path)
		return pb_stage_fail(rec, PB_ERROR, "out of memory");
	rc = pb_buf_read_file(&text, path, CASES_FILE_MAX);
	if (rc < 0) {
		rc = pb_stage_fail(rec, rc, "test cases file '%s': %s", name,
				   pb_err_last());
		goto out;
	}
	rc = pb_test_cases_parse(cases, pb_buf_cstr(&text), text.len, name);
	if (rc < 0)
		rc = pb_stage_fail(rec, rc, "%s", pb_err_last());
out:
	pb_buf_release(&text);
	free(path);
	return rc;
}

static int run_case(struct pb_run_ctx *ctx, struct pb_stage_record *rec,
		    const struct pb_test_case *tc, struct pb_case_result *out)
{
	const char *sh[] = { "/bin/sh", "-c", ctx->rc->evaluate.predict, NULL };
	struct pb_buf out_buf = PB_BUF_INIT, tail = PB_BUF_INIT;
	struct pb_predict_outcome o;
	struct pb_run_result res;
	struct stage_cmd cmd;
	char *input;
	long timeout = ctx->rc->train.timeout_sec;
	int rc;

	input = json_dumps(tc->input, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!input)
		return pb_stage_fail(rec, PB_ERROR, "out of memory");
	pb_buf_init(&out_buf, PREDICT_OUTPUT_MAX);
	memset(&cmd, 0, sizeof(cmd));
	cmd.argv = sh;
	cmd.timeout_sec = timeout > 0 && timeout < PREDICT_TIMEOUT_MAX ?
				  timeout :
				  PREDICT_TIMEOUT_MAX;
	cmd.stdin_data = input;
	cmd.stdin_len = strlen(input);
	cmd.capture_stdout = &out_buf;
	cmd.tail = &tail;
	pb_job_log(ctx, "test case '%s'", tc->name);
	if ((rc = pb_stage_exec(ctx, rec, &cmd, &res)) < 0) {
		rc = pb_stage_fail(rec, rc, "predict: %s", pb_err_last());
		goto out;
	}
	if (res.cancelled) {
		rc = pb_stage_fail(rec, PB_ECANCELLED, "cancelled");
		goto out;
	}
	o.exit_code = res.exited ? res.exit_code : -1;
	o.stdout_text = pb_buf_cstr(&out_buf);
	o.stderr_tail = pb_buf_cstr(&tail);
	if ((rc = pb_test_case_judge(out, tc, &o)) < 0)
		rc = pb_stage_fail(rec, rc, "test case '%s': %s", tc->name,
				   pb_err_last());
out:
	pb_buf_release(&tail);
	pb_buf_release(&out_buf);
	free(input);
	return rc;
}

static int run_cases(struct pb_run_ctx *ctx, struct pb_stage_record *rec)
{
	struct pb_test_cases cases = { NULL, 0 };
	size_t i;
	int rc;

	if (!ctx->rc->evaluate.predict)
		return pb_stage_fail(rec, PB_EINVAL,
				     "evaluate.test_cases needs "
				     "evaluate.predict in .prbot.yml");
	if ((rc = load_cases(&cases, ctx, rec)) < 0)
		return rc;
	ctx->cases = calloc(cases.n ? cases.n : 1, sizeof(*ctx->cases));
	if (!ctx->cases) {
		rc = pb_stage_fail(rec, PB_ERROR, "out of memory");
		goto out;
	}
	for (i = 0; i < cases.n; i++) {
		if ((rc = run_case(ctx, rec, &cases.v[i], &ctx->cases[i])) < 0)
			goto out;
		ctx->n_cases++;
		pb_job_log(ctx, "test case '%s' %s%s%s", cases.v[i].name,
			   ctx->cases[i].passed ? "passed" : "failed",
			   ctx->cases[i].error ? ": " : "",
			   ctx->cases[i].error ? ctx->cases[i].error : "");
	}
out:
	pb_test_cases_release(&cases);
	return rc;
}

/* What failed first, for the one error line: a gate, else a test case. */
static void first_failure(char *out, size_t len, const struct pb_run_ctx *ctx)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < ctx->n_gates; i++) {
		const struct pb_gate_result *g = &ctx->gates[i];

		if (g->passed)
			continue;
		if (g->found)
			snprintf(out, len, "%s is %g, needs %s",
				 g->gate->metric, g->actual, g->gate->expr);
		else
			snprintf(out, len, "%s is not in the metrics file",
				 g->gate->metric);
		return;
	}
	for (i = 0; i < ctx->n_cases; i++) {
		const struct pb_case_result *c = &ctx->cases[i];

		if (!c->passed) {
			snprintf(out, len, "case '%s': %s", c->name,
				 c->error ? c->error : "failed");
			return;
		}
	}
}

/* "1 of 3 gates and 2 of 8 test cases failed", naming only what failed. */
static void failure_counts(char *out, size_t len, size_t gates_failed,
			   size_t n_gates, size_t cases_failed, size_t n_cases)
{
	if (gates_failed && cases_failed)
		snprintf(out, len,
			 "%zu of %zu gates and %zu of %zu test cases "
			 "failed",
			 gates_failed, n_gates, cases_failed, n_cases);
	else if (gates_failed)
		snprintf(out, len, "%zu of %zu gates failed", gates_failed,
			 n_gates);
	else
		snprintf(out, len, "%zu of %zu test cases failed", cases_failed,
			 n_cases);
}

int pb_stage_evaluate(struct pb_run_ctx *ctx, struct pb_stage_record *rec)
{
	const struct pb_repo_config *rc = ctx->rc;
	size_t i, gates_failed = 0, cases_failed = 0;
	char what[400], counts[128];
	int err;

	if (!rc->metrics && !rc->evaluate.n_gates && !rc->evaluate.test_cases) {
		pb_stage_note(rec, "no metrics, gates or test cases in "
				   ".prbot.yml: nothing to evaluate");
		return 1;
	}
	if (rc->metrics && (err = load_metrics(ctx, rec)) < 0)
		return err;
	if (rc->evaluate.n_gates) {
		ctx->gates = calloc(rc->evaluate.n_gates, sizeof(*ctx->gates));
		if (!ctx->gates)
			return pb_stage_fail(rec, PB_ERROR, "out of memory");
		ctx->n_gates = rc->evaluate.n_gates;
		pb_gates_check(ctx->gates, rc->evaluate.gates, ctx->n_gates,
			       &ctx->metrics);
		for (i = 0; i < ctx->n_gates; i++)
			gates_failed += !ctx->gates[i].passed;
	}
	if (rc->evaluate.test_cases && (err = run_cases(ctx, rec)) < 0)
		return err;
	for (i = 0; i < ctx->n_cases; i++)
		cases_failed += !ctx->cases[i].passed;
	if (gates_failed || cases_failed) {
		first_failure(what, sizeof(what), ctx);
		failure_counts(counts, sizeof(counts), gates_failed,
			       ctx->n_gates, cases_failed, ctx->n_cases);
		return pb_stage_fail(rec, PB_ERROR, "%s: %s", counts, what);
	}
	pb_stage_note(rec,
		      "%zu metrics, %zu gates passed, %zu test cases "
		      "passed",
		      ctx->metrics.n, ctx->n_gates, ctx->n_cases);
	return 0;
}
