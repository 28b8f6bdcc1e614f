/* report_trend.c: a branch's metric trend in /status and scheduled notices */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/evaluate.h"
#include "prbot/report_trend.h"
#include "banned.h"

#define SHORT_SHA      7  /* as git log --oneline shows a commit */
#define NOTICE_RUNS    10 /* the points of a notice's trend, this run too */
#define SECTION_VALUES 5  /* the last values /status writes out */

/* A metric's value as the reports show it: "0.912", "45.25", "1.2e+06". */
static int put_num(struct pb_buf *b, double v)
{
	return pb_buf_printf(b, "%.4g", v);
}

/* "+0.003", "-5", "±0" */
static int put_delta(struct pb_buf *b, double d)
{
	return d == 0 ? pb_buf_puts(b, "±0") : pb_buf_printf(b, "%+.3g", d);
}

/* " (+0.003)" or, with pct and a before that is not 0, " (+5, +12.5%)" */
static int put_change(struct pb_buf *b, double before, double after, int pct)
{
	int rc = pb_buf_puts(b, " (");

	if (rc == 0)
		rc = put_delta(b, after - before);
	if (rc == 0 && pct && before != 0)
		rc = pb_buf_printf(b, ", %+.1f%%",
				   (after - before) / fabs(before) * 100.0);
	return rc ? rc : pb_buf_putc(b, ')');
}

/* s for fmt: Slack wants &, < and > as entities, Markdown takes it as is. */
static int put_text(struct pb_buf *b, enum pb_trend_format fmt, const char *s)
{
	int rc = 0;

	if (fmt != PB_TREND_SLACK)
		return pb_buf_puts(b, s ? s : "");
	for (; rc == 0 && s && *s; s++)
		rc = *s == '&' ? pb_buf_puts(b, "&amp;") :
		     *s == '<' ? pb_buf_puts(b, "&lt;") :
		     *s == '>' ? pb_buf_puts(b, "&gt;") :
				 pb_buf_putc(b, *s);
	return rc;
}

static int put_code(struct pb_buf *b, enum pb_trend_format fmt, const char *s)
{
	int rc = pb_buf_putc(b, '`');

	if (rc == 0)
		rc = put_text(b, fmt, s);
	return rc ? rc : pb_buf_putc(b, '`');
}

/* ---- /status ---- */

/* The short SHAs of h as chart labels: one block of 8-byte strings. */
static char *short_labels(const struct pb_evaluation_list *h,
			  const char **labels)
{
	char *text = calloc(h->n ? h->n : 1, SHORT_SHA + 1);
	size_t i;

	for (i = 0; text && i < h->n; i++) {
		labels[i] = text + i * (SHORT_SHA + 1);
		memcpy(text + i * (SHORT_SHA + 1),
		       h->v[i].sha ? h->v[i].sha : "",
		       strnlen(h->v[i].sha ? h->v[i].sha : "", SHORT_SHA));
	}
	return text;
}

/* "Last: `a1` 0.9, `b2` 0.91, `c3` **0.93** (+0.02)" */
static int last_values(struct pb_buf *b, const double *v, const char **labels,
		       size_t n)
{
	size_t i, shown = 0, first = n, prev = n, last = n;
	int rc;

	for (i = n; i-- > 0 && shown < SECTION_VALUES;)
		if (!isnan(v[i])) {
			first = i;
			shown++;
			if (last == n)
				last = i;
			else if (prev == n)
				prev = i;
		}
	rc = pb_buf_puts(b, "Last:");
	for (i = first; rc == 0 && i < n; i++) {
		if (isnan(v[i]))
			continue;
		rc = pb_buf_printf(b, "%s `%s` %s", i == first ? "" : ",",
				   labels[i], i == last ? "**" : "");
		if (rc == 0)
			rc = put_num(b, v[i]);
		if (rc == 0 && i == last)
			rc = pb_buf_puts(b, "**");
	}
	if (rc == 0 && prev < n)
		rc = put_change(b, v[prev], v[last], 0);
	return rc ? rc : pb_buf_putc(b, '\n');
}

/* "\n*Trend of `accuracy` on `main`*: ▁ █ `c3d4e5f` 0.93 (+0.03)\n" */
static int section_slack(struct pb_buf *b, const char *ref, const char *metric,
			 const double *v, const char **labels, size_t n)
{
	size_t i, last = n, prev = n;
	int rc;

	for (i = n; i-- > 0 && prev == n;)
		if (!isnan(v[i])) {
			if (last == n)
				last = i;
			else
				prev = i;
		}
	rc = pb_buf_puts(b, "\n*Trend of ");
	if (rc == 0)
		rc = put_code(b, PB_TREND_SLACK, metric);
	if (rc == 0)
		rc = pb_buf_puts(b, " on ");
	if (rc == 0)
		rc = put_code(b, PB_TREND_SLACK, ref);
	if (rc == 0)
		rc = pb_buf_puts(b, "*: ");
	if (rc == 0)
		rc = pb_trend_sparkline(b, v, n);
	if (rc == 0)
		rc = pb_buf_printf(b, " `%s` ", labels[last]);
	if (rc == 0)
		rc = put_num(b, v[last]);
	if (rc == 0)
		rc = put_change(b, v[prev], v[last], 0);
	return rc ? rc : pb_buf_putc(b, '\n');
}

static int section_markdown(struct pb_buf *b, const char *ref,
			    const char *metric, const double *v,
			    const char **labels, size_t n)
{
	int rc = pb_buf_printf(b,
			       "\n**Trend of `%s` on `%s`** (last %zu "
			       "evaluations)\n\n",
			       metric, ref, n);

	if (rc == 0)
		rc = pb_trend_mermaid(b, metric, labels, v, n);
	if (rc == 0)
		rc = pb_buf_putc(b, '\n');
	return rc ? rc : last_values(b, v, labels, n);
}

int pb_trend_section(struct pb_buf *b, enum pb_trend_format fmt,
		     const char *ref, const char *metric,
		     const struct pb_evaluation_list *h)
{
	double *v = calloc(h->n ? h->n : 1, sizeof(*v));
	const char **labels = calloc(h->n ? h->n : 1, sizeof(*labels));
	char *text = NULL;
	int rc = 0;

	if (!v || !labels || !(text = short_labels(h, labels))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	if (!metric || pb_trend_series(v, h, metric) < 2)
		goto out;
	if (fmt == PB_TREND_SLACK)
		rc = section_slack(b, ref, metric, v, labels, h->n);
	else
		rc = section_markdown(b, ref, metric, v, labels, h->n);
out:
	free(text);
	free(labels);
	free(v);
	return rc;
}

/* The metric of the first gate in the stored report of job id, or NULL. */
static char *report_gate_metric(struct pb_state *st, int64_t id)
{
	struct pb_job job;
	json_t *report, *g;
	char *metric = NULL;

	memset(&job, 0, sizeof(job));
	if (!id || pb_state_job_get(st, id, &job) < 0)
		return NULL;
	report = json_loads(job.report ? job.report : "", 0, NULL);
	g = json_object_get(json_array_get(json_object_get(report, "gates"), 0),
			    "metric");
	if (json_string_value(g) && *json_string_value(g))
		metric = strdup(json_string_value(g));
	json_decref(report);
	pb_job_release(&job);
	return metric;
}

char *pb_trend_status_metric(struct pb_state *st,
			     const struct pb_evaluation_list *h)
{
	const struct pb_evaluation *last;
	json_t *m;
	void *it;
	char *metric;

	if (!h->n)
		return NULL;
	last = &h->v[h->n - 1];
	if ((metric = report_gate_metric(st, last->job_id)))
		return metric;
	m = json_loads(last->metrics ? last->metrics : "", 0, NULL);
	for (it = json_object_iter(m); it && !metric;
	     it = json_object_iter_next(m, it))
		if (json_is_number(json_object_iter_value(it)))
			metric = strdup(json_object_iter_key(it));
	json_decref(m);
	return metric;
}

int pb_trend_status(struct pb_buf *b, struct pb_state *st,
		    enum pb_trend_format fmt, const char *repo, const char *ref)
{
	struct pb_evaluation_list h = { NULL, 0 };
	char *metric = NULL;
	int rc;

	if (!ref || !*ref)
		return 0;
	rc = pb_state_evaluation_history(st, repo, ref, PB_TREND_STATUS_RUNS,
					 &h);
	if (rc == 0 && h.n >= 2 && (metric = pb_trend_status_metric(st, &h)))
		rc = pb_trend_section(b, fmt, ref, metric, &h);
	free(metric);
	pb_evaluation_list_release(&h);
	return rc;
}

/* ---- scheduled notices ---- */

/* What a notice is made of, read once from the report and the history. */
struct notice {
	const struct pb_trend_notice *n;
	enum pb_trend_format fmt;
	const char *sha, *status, *error;
	struct pb_metrics cur;	/* this run's */
	struct pb_metrics prev; /* the previous run's, or empty */
	int have_prev;
	struct pb_gate *gates; /* borrowed strings: never pb_gate_release */
	const json_t **results;
	size_t n_gates, n_failed;
	struct pb_trend_regression *regs;
	size_t n_regs;
	const char *main; /* the main metric, or NULL */
	double v[NOTICE_RUNS];
	const char *labels[NOTICE_RUNS];
	char label_text[NOTICE_RUNS][SHORT_SHA + 1];
	size_t n_points;
};

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The report's gates as pb_gate (for directions) and their results. */
static int notice_gates(struct notice *x, const json_t *gates)
{
	const json_t *g;
	size_t i, n = json_array_size(gates);

	x->gates = calloc(n ? n : 1, sizeof(*x->gates));
	x->results = calloc(n ? n : 1, sizeof(*x->results));
	x->regs = calloc(n ? n : 1, sizeof(*x->regs));
	if (!x->gates || !x->results || !x->regs)
		return pb_err_set("out of memory");
	json_array_foreach(gates, i, g)
	{
		if (!*jstr(g, "metric"))
			continue;
		x->gates[x->n_gates].metric = (char *)jstr(g, "metric");
		x->gates[x->n_gates].expr = (char *)jstr(g, "expr");
		x->results[x->n_gates] = g;
		x->n_failed += !json_is_true(json_object_get(g, "passed"));
		x->n_gates++;
	}
	return 0;
}

/* A metrics object into m; anything else, or a bad one, leaves m empty. */
static void notice_metrics(struct pb_metrics *m, const json_t *obj)
{
	if (!json_is_object(obj) || !json_object_size(obj))
		return;
	if (pb_metrics_from_json(m, obj, "report") < 0) {
		pb_metrics_release(m);
		memset(m, 0, sizeof(*m));
	}
}

/* The trend: the main metric over the last runs of history and this one. */
static void notice_points(struct notice *x)
{
	const struct pb_evaluation_list *h = x->n->history;
	size_t from = 0, i, n = h ? h->n : 0;
	struct pb_evaluation_list tail;
	const double *now;

	if (n > NOTICE_RUNS - 1)
		from = n - (NOTICE_RUNS - 1);
	tail.v = h ? h->v + from : NULL;
	tail.n = n - from;
	if (tail.n)
		pb_trend_series(x->v, &tail, x->main);
	for (i = 0; i < tail.n; i++)
		memcpy(x->label_text[i], tail.v[i].sha ? tail.v[i].sha : "",
		       strnlen(tail.v[i].sha ? tail.v[i].sha : "", SHORT_SHA));
	now = pb_metrics_get(&x->cur, x->main);
	x->v[tail.n] = now ? *now : NAN;
	memcpy(x->label_text[tail.n], x->sha, strnlen(x->sha, SHORT_SHA));
	x->n_points = tail.n + 1;
	for (i = 0; i < x->n_points; i++)
		x->labels[i] = x->label_text[i];
}

static int notice_read(struct notice *x)
{
	const struct pb_trend_notice *n = x->n;
	const struct pb_evaluation_list *h = n->history;
	struct pb_trend_threshold def;
	const struct pb_trend_threshold *th = n->threshold;
	json_t *pm;
	int rc;

	x->sha = jstr(n->report, "sha");
	x->status = jstr(n->report, "status");
	x->error = jstr(n->report, "error");
	if ((rc = notice_gates(x, json_object_get(n->report, "gates"))) < 0)
		return rc;
	notice_metrics(&x->cur, json_object_get(n->report, "metrics"));
	if (h && h->n) {
		pm = json_loads(
			h->v[h->n - 1].metrics ? h->v[h->n - 1].metrics : "", 0,
			NULL);
		notice_metrics(&x->prev, pm);
		x->have_prev = 1;
		json_decref(pm);
	}
	if (!th) {
		pb_trend_threshold_parse(&def, PB_TREND_THRESHOLD_DEFAULT);
		th = &def;
	}
	pb_trend_regressions(x->regs, &x->n_regs,
			     x->have_prev ? &x->prev : NULL, &x->cur, x->gates,
			     x->n_gates, th);
	x->main = pb_trend_main_metric(x->gates, x->n_gates, &x->cur);
	if (x->main)
		notice_points(x);
	return 0;
}

static void notice_release(struct notice *x)
{
	free(x->regs);
	free(x->results);
	free(x->gates);
	pb_metrics_release(&x->prev);
	pb_metrics_release(&x->cur);
}

/* "nightly: acme/churn@main `a1b2c3d`" */
static int put_run(struct pb_buf *b, struct notice *x)
{
	int rc = put_text(b, x->fmt, x->n->schedule);

	if (rc == 0)
		rc = pb_buf_puts(b, ": ");
	if (rc == 0)
		rc = put_text(b, x->fmt, x->n->repo);
	if (rc == 0)
		rc = pb_buf_putc(b, '@');
	if (rc == 0)
		rc = put_text(b, x->fmt, x->n->ref);
	if (rc == 0)
		rc = pb_buf_printf(b, " `%.*s`", SHORT_SHA, x->sha);
	return rc;
}

/* "accuracy 0.912 (+0.003)": the main metric against the previous run */
static int put_main(struct pb_buf *b, struct notice *x)
{
	const double *now = x->main ? pb_metrics_get(&x->cur, x->main) : NULL;
	const double *before =
		now && x->have_prev ? pb_metrics_get(&x->prev, x->main) : NULL;
	int rc;

	if (!now)
		return 0;
	rc = pb_buf_putc(b, ' ');
	if (rc == 0)
		rc = put_text(b, x->fmt, x->main);
	if (rc == 0)
		rc = pb_buf_putc(b, ' ');
	if (rc == 0)
		rc = put_num(b, *now);
	if (rc == 0 && before)
		rc = put_change(b, *before, *now, 0);
	return rc;
}

static int put_sparkline(struct pb_buf *b, struct notice *x)
{
	return x->n_points < 2 ? 0 : pb_trend_sparkline(b, x->v, x->n_points);
}

/* The Mermaid chart (Markdown) with at least 2 points; else nothing. */
static int put_chart(struct pb_buf *b, struct notice *x)
{
	size_t i, found = 0;
	int rc;

	for (i = 0; i < x->n_points; i++)
		found += !isnan(x->v[i]);
	if (x->fmt != PB_TREND_MARKDOWN || found < 2)
		return 0;
	rc = pb_buf_putc(b, '\n');
	return rc ? rc :
		    pb_trend_mermaid(b, x->main, x->labels, x->v, x->n_points);
}

static int put_short(struct pb_buf *b, struct notice *x)
{
	int rc = put_run(b, x);

	if (rc == 0)
		rc = put_main(b, x);
	if (rc == 0 && x->fmt == PB_TREND_SLACK && x->n_points >= 2) {
		rc = pb_buf_putc(b, ' ');
		if (rc == 0)
			rc = put_sparkline(b, x);
	}
	if (rc == 0)
		rc = pb_buf_putc(b, '\n');
	return rc ? rc : put_chart(b, x);
}

/* "- ❌ gate `accuracy >= 0.9` failed: 0.88" */
static int put_failed_gate(struct pb_buf *b, struct notice *x, size_t i)
{
	const json_t *actual = json_object_get(x->results[i], "actual");
	struct pb_buf code = PB_BUF_INIT;
	int rc;

	rc = pb_buf_printf(&code, "%s %s", x->gates[i].metric,
			   x->gates[i].expr);
	if (rc == 0)
		rc = pb_buf_puts(b, x->fmt == PB_TREND_SLACK ? "• :x: gate " :
							       "- ❌ gate ");
	if (rc == 0)
		rc = put_code(b, x->fmt, pb_buf_cstr(&code));
	if (rc == 0 && json_is_number(actual)) {
		rc = pb_buf_puts(b, " failed: ");
		if (rc == 0)
			rc = put_num(b, json_number_value(actual));
	} else if (rc == 0) {
		rc = pb_buf_puts(b, " failed: the metric is missing");
	}
	pb_buf_release(&code);
	return rc ? rc : pb_buf_putc(b, '\n');
}

/* "- 📉 `latency_ms` regressed: 40 → 45 (+5, +12.5%)" */
static int put_regression(struct pb_buf *b, struct notice *x,
			  const struct pb_trend_regression *r)
{
	int rc = pb_buf_puts(b, x->fmt == PB_TREND_SLACK ?
					"• :chart_with_downwards_trend: " :
					"- 📉 ");

	if (rc == 0)
		rc = put_code(b, x->fmt, r->metric);
	if (rc == 0)
		rc = pb_buf_puts(b, " regressed: ");
	if (rc == 0)
		rc = put_num(b, r->before);
	if (rc == 0)
		rc = pb_buf_puts(b, " → ");
	if (rc == 0)
		rc = put_num(b, r->after);
	if (rc == 0)
		rc = put_change(b, r->before, r->after, 1);
	return rc ? rc : pb_buf_putc(b, '\n');
}

static int run_failed(const struct notice *x)
{
	return *x->error || strcmp(x->status, "succeeded") != 0;
}

/* " — the run failed, 2 gates failed, 1 metric regressed" */
static int put_summary(struct pb_buf *b, struct notice *x)
{
	const char *sep = " — ";
	int rc = 0;

	if (run_failed(x)) {
		rc = pb_buf_printf(b, "%s%s", sep,
				   strcmp(x->status, "cancelled") ?
					   "the run failed" :
					   "the run was cancelled");
		sep = ", ";
	}
	if (rc == 0 && x->n_failed) {
		rc = pb_buf_printf(b, "%s%zu gate%s failed", sep, x->n_failed,
				   x->n_failed == 1 ? "" : "s");
		sep = ", ";
	}
	if (rc == 0 && x->n_regs)
		rc = pb_buf_printf(b, "%s%zu metric%s regressed", sep,
				   x->n_regs, x->n_regs == 1 ? "" : "s");
	return rc;
}

static int put_prominent(struct pb_buf *b, struct notice *x)
{
	size_t i;
	int rc = pb_buf_puts(b, x->fmt == PB_TREND_SLACK ? ":red_circle: *" :
							   "### 🔴 ");

	if (rc == 0)
		rc = put_run(b, x);
	if (rc == 0)
		rc = put_summary(b, x);
	if (rc == 0)
		rc = pb_buf_puts(b, x->fmt == PB_TREND_SLACK ? "*\n" : "\n\n");
	if (rc == 0 && *x->error) {
		rc = pb_buf_puts(b,
				 x->fmt == PB_TREND_SLACK ? "• :x: " : "- ❌ ");
		if (rc == 0)
			rc = put_text(b, x->fmt, x->error);
		if (rc == 0)
			rc = pb_buf_putc(b, '\n');
	}
	for (i = 0; rc == 0 && i < x->n_gates; i++)
		if (!json_is_true(json_object_get(x->results[i], "passed")))
			rc = put_failed_gate(b, x, i);
	for (i = 0; rc == 0 && i < x->n_regs; i++)
		rc = put_regression(b, x, &x->regs[i]);
	if (rc == 0 && x->fmt == PB_TREND_SLACK && x->n_points >= 2 &&
	    pb_metrics_get(&x->cur, x->main)) {
		rc = put_text(b, x->fmt, x->main);
		if (rc == 0)
			rc = pb_buf_putc(b, ' ');
		if (rc == 0)
			rc = put_sparkline(b, x);
		if (rc == 0)
			rc = pb_buf_putc(b, '\n');
	}
	return rc ? rc : put_chart(b, x);
}

int pb_trend_notice(struct pb_buf *out, enum pb_trend_format fmt,
		    const struct pb_trend_notice *n)
{
	struct notice x;
	int rc;

	memset(&x, 0, sizeof(x));
	x.n = n;
	x.fmt = fmt;
	if ((rc = notice_read(&x)) < 0)
		goto out;
	if (run_failed(&x) || x.n_failed || x.n_regs)
		rc = put_prominent(out, &x);
	else
		rc = put_short(out, &x);
out:
	notice_release(&x);
	return rc;
}
