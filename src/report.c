/* report.c: one run's result as a JSON object, and as Markdown from it */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/pipeline.h"
#include "banned.h"

static const char *const outcome_names[] = {
	[PB_OUTCOME_SUCCEEDED] = "succeeded",
	[PB_OUTCOME_FAILED] = "failed",
	[PB_OUTCOME_CONFIG_ERROR] = "config_error",
	[PB_OUTCOME_CANCELLED] = "cancelled",
};

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *stages_json(const struct pb_run_ctx *ctx)
{
	const struct pb_run_request *req = ctx->req;
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < req->n_stages; i++) {
		const struct pb_stage_record *r = &ctx->stages[req->stages[i]];
		json_t *s = json_pack("{s:s,s:s,s:f,s:f,s:o,s:o}", "name",
				      pb_stage_name(req->stages[i]), "state",
				      pb_stage_state_name(r->state), "seconds",
				      r->seconds, "child_seconds",
				      r->child_seconds, "note",
				      str_or_null(r->note), "error",
				      str_or_null(r->error));

		if (json_array_append_new(a, s) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *gates_json(const struct pb_run_ctx *ctx)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < ctx->n_gates; i++) {
		const struct pb_gate_result *g = &ctx->gates[i];
		json_t *v = json_pack(
			"{s:s,s:s,s:o,s:b}", "metric", g->gate->metric, "expr",
			g->gate->expr, "actual",
			g->found ? json_real(g->actual) : json_null(), "passed",
			g->passed);

		if (json_array_append_new(a, v) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *cases_json(const struct pb_run_ctx *ctx)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < ctx->n_cases; i++) {
		const struct pb_case_result *c = &ctx->cases[i];
		json_t *v = json_pack(
			"{s:s,s:s,s:b,s:o,s:o,s:o}", "name", c->name, "type",
			pb_case_type_name(c->type), "passed", c->passed,
			"expected", str_or_null(c->expected), "actual",
			str_or_null(c->actual), "error", str_or_null(c->error));

		if (json_array_append_new(a, v) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *artifact_json(const struct pb_run_ctx *ctx)
{
	const struct pb_put_result *a = &ctx->artifact;

	if (!ctx->have_artifact)
		return json_null();
	return json_pack("{s:s,s:o,s:s,s:s,s:I,s:b}", "url", a->url, "path",
			 str_or_null(a->path), "md5", a->digest.md5, "sha256",
			 a->digest.sha256, "size", (json_int_t)a->digest.size,
			 "skipped", a->skipped);
}

json_t *pb_report_json(const struct pb_run_ctx *ctx)
{
	const struct pb_run_request *req = ctx->req;
	const struct pb_checkout *co = &ctx->co;
	int have = ctx->have_checkout;

	return json_pack(
		"{s:{s:s,s:s,s:s,s:s},s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,"
		"s:o,s:o,s:o,s:o,s:O?,s:o,s:o,s:o,s:o}",
		"job", "id", req->job.id, "command", req->job.command, "actor",
		req->job.actor, "source", req->job.source, "status",
		outcome_names[ctx->outcome], "error", str_or_null(ctx->error),
		"repo", req->repo, "origin",
		str_or_null(have ? co->origin : NULL), "owner_repo",
		str_or_null(have ? co->owner_repo : NULL), "ref",
		str_or_null(have ? co->ref : req->ref), "sha",
		str_or_null(have ? co->sha : req->sha), "commit_message",
		str_or_null(have ? co->message : NULL), "stages",
		stages_json(ctx), "metrics", pb_metrics_json(&ctx->metrics),
		"gates", gates_json(ctx), "test_cases", cases_json(ctx),
		"artifact", artifact_json(ctx), "manifest", ctx->manifest,
		"manifest_path", str_or_null(ctx->manifest_path), "notebook",
		str_or_null(ctx->notebook_out), "log",
		str_or_null(ctx->log_path), "job_dir",
		str_or_null(ctx->job_dir));
}

/* ---- Markdown, rendered from the JSON so both always agree ---- */

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/*
 * The Markdown under construction. A failed append releases a pb_buf and a
 * later one would start it afresh, so the first failure is kept here and the
 * whole text is refused rather than posted without its head.
 */
struct md {
	struct pb_buf b;
	int bad;
};

static void md_printf(struct md *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void md_printf(struct md *m, const char *fmt, ...)
{
	va_list ap;

	if (m->bad)
		return;
	va_start(ap, fmt);
	if (pb_buf_vprintf(&m->b, fmt, ap) < 0)
		m->bad = 1;
	va_end(ap);
}

static void md_puts(struct md *m, const char *s)
{
	if (!m->bad && pb_buf_puts(&m->b, s) < 0)
		m->bad = 1;
}

static void md_putc(struct md *m, char c)
{
	if (!m->bad && pb_buf_putc(&m->b, c) < 0)
		m->bad = 1;
}

/* A table cell: no newlines, pipes escaped, long text cut. */
static void put_cell(struct md *b, const char *s)
{
	size_t n = 0;

	for (; *s && n < 200; s++, n++) {
		if (*s == '|')
			md_puts(b, "\\|");
		else if (*s == '\n' || *s == '\r')
			md_putc(b, ' ');
		else
			md_putc(b, *s);
	}
	if (*s)
		md_puts(b, "…");
}

static void put_number(struct md *b, const json_t *v)
{
	if (json_is_number(v))
		md_printf(b, "%.6g", json_number_value(v));
	else
		md_puts(b, "—");
}

static const char *state_mark(const char *state)
{
	if (!strcmp(state, "succeeded"))
		return "- [x]";
	if (!strcmp(state, "skipped"))
		return "- [x] ~";
	return "- [ ]";
}

static void md_stages(struct md *b, const json_t *stages)
{
	const json_t *s;
	size_t i;

	md_puts(b, "\n### Stages\n\n");
	json_array_foreach(stages, i, s)
	{
		const char *state = jstr(s, "state");
		const char *note = jstr(s, "note");
		const char *err = jstr(s, "error");

		md_printf(b, "%s **%s** %s", state_mark(state), jstr(s, "name"),
			  state);
		if (strcmp(state, "pending") && strcmp(state, "skipped"))
			md_printf(b, " in %.2fs",
				  json_number_value(
					  json_object_get(s, "seconds")));
		if (*err)
			md_printf(b, ": %s", err);
		else if (*note)
			md_printf(b, ": %s", note);
		md_puts(b, "\n");
	}
}

static void md_metrics(struct md *b, const json_t *metrics)
{
	const char *k;
	const json_t *v;

	if (!json_object_size(metrics))
		return;
	md_puts(b, "\n### Metrics\n\n| metric | value |\n| --- | ---: |\n");
	json_object_foreach((json_t *)metrics, k, v)
	{
		md_puts(b, "| ");
		put_cell(b, k);
		md_puts(b, " | ");
		put_number(b, v);
		md_puts(b, " |\n");
	}
}

static void md_gates(struct md *b, const json_t *gates)
{
	const json_t *g;
	size_t i;

	if (!json_array_size(gates))
		return;
	md_puts(b, "\n### Gates\n\n| metric | gate | actual | result |\n"
		   "| --- | --- | ---: | --- |\n");
	json_array_foreach(gates, i, g)
	{
		md_puts(b, "| ");
		put_cell(b, jstr(g, "metric"));
		md_puts(b, " | `");
		put_cell(b, jstr(g, "expr"));
		md_puts(b, "` | ");
		put_number(b, json_object_get(g, "actual"));
		md_printf(b, " | %s |\n",
			  json_is_true(json_object_get(g, "passed")) ?
				  "passed" :
				  "**failed**");
	}
}

static void md_cases(struct md *b, const json_t *cases)
{
	const json_t *c;
	size_t i;

	if (!json_array_size(cases))
		return;
	md_puts(b, "\n### Test cases\n\n| case | type | expected | "
		   "actual | result |\n| --- | --- | --- | --- | --- |\n");
	json_array_foreach(cases, i, c)
	{
		int ok = json_is_true(json_object_get(c, "passed"));

		md_puts(b, "| ");
		put_cell(b, jstr(c, "name"));
		md_printf(b, " | %s | `", jstr(c, "type"));
		put_cell(b, jstr(c, "expected"));
		md_puts(b, "` | `");
		put_cell(b, jstr(c, "actual"));
		md_printf(b, "` | %s", ok ? "passed" : "**failed**");
		if (!ok && *jstr(c, "error")) {
			md_puts(b, ": ");
			put_cell(b, jstr(c, "error"));
		}
		md_puts(b, " |\n");
	}
}

static void md_artifact(struct md *b, const json_t *a)
{
	if (!json_is_object(a))
		return;
	md_printf(b,
		  "\n### Artifact\n\n- URL: %s%s\n- MD5: `%s`\n"
		  "- SHA-256: `%s`\n- size: %lld bytes\n",
		  jstr(a, "url"),
		  json_is_true(json_object_get(a, "skipped")) ?
			  " (already stored: upload skipped)" :
			  "",
		  jstr(a, "md5"), jstr(a, "sha256"),
		  (long long)json_integer_value(json_object_get(a, "size")));
}

static void md_manifest(struct md *b, const json_t *report)
{
	const json_t *m = json_object_get(report, "manifest");
	char *text;

	if (!json_is_object(m))
		return;
	text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS |
				     JSON_REAL_PRECISION(15));
	if (!text) {
		b->bad = 1;
		return;
	}
	md_printf(b, "\n### Manifest\n\n`%s`\n\n```json\n%s\n```\n",
		  jstr(report, "manifest_path"), text);
	free(text);
}

char *pb_report_markdown(const json_t *r)
{
	struct md b = { PB_BUF_INIT, 0 };
	const json_t *job = json_object_get(r, "job");
	const char *status = jstr(r, "status");
	const char *msg = jstr(r, "commit_message");
	const char *nl = strchr(msg, '\n');

	md_printf(&b, "## prbot %s: %s\n\n", jstr(job, "command"), status);
	if (*jstr(r, "sha"))
		md_printf(&b, "- commit: `%s`%s%s%s\n", jstr(r, "sha"),
			  *jstr(r, "ref") ? " (" : "", jstr(r, "ref"),
			  *jstr(r, "ref") ? ")" : "");
	if (*msg)
		md_printf(&b, "- message: %.*s\n",
			  (int)(nl ? (size_t)(nl - msg) : strlen(msg)), msg);
	md_printf(&b, "- repository: %s\n- job: `%s`\n",
		  *jstr(r, "origin") ? jstr(r, "origin") : jstr(r, "repo"),
		  jstr(job, "id"));
	if (*jstr(r, "error"))
		md_printf(&b, "\n**Error:** %s\n", jstr(r, "error"));
	md_stages(&b, json_object_get(r, "stages"));
	md_metrics(&b, json_object_get(r, "metrics"));
	md_gates(&b, json_object_get(r, "gates"));
	md_cases(&b, json_object_get(r, "test_cases"));
	md_artifact(&b, json_object_get(r, "artifact"));
	md_manifest(&b, r);
	if (*jstr(r, "notebook"))
		md_printf(&b, "\nExecuted notebook: `%s`\n",
			  jstr(r, "notebook"));
	if (*jstr(r, "log"))
		md_printf(&b, "\nLog: `%s`\n", jstr(r, "log"));
	if (b.bad) {
		pb_buf_release(&b.b);
		return NULL;
	}
	return pb_buf_detach(&b.b);
}
