/* report_trend.h: a branch's metric trend in /status and scheduled notices */
#ifndef PRBOT_REPORT_TREND_H
#define PRBOT_REPORT_TREND_H

#include <jansson.h>
#include <stddef.h>

#include "prbot/buf.h"
#include "prbot/state.h"
#include "prbot/trend.h"

/*
 * Every function appending to a struct pb_buf returns 0 or the negative
 * code of the failed append (which, as pb_buf does, released the buffer).
 */

enum pb_trend_format {
	PB_TREND_MARKDOWN = 0, /* GitHub: Markdown and a Mermaid chart */
	PB_TREND_SLACK	       /* Slack mrkdwn and a sparkline */
};

/* How many evaluations of the base branch /status charts, at most. */
#define PB_TREND_STATUS_RUNS 10

/*
 * A "**Trend of `METRIC` on `REF`**" section: a Mermaid chart of metric
 * over the evaluations of h (oldest first) and the last values with the
 * latest change; for Slack one line, the sparkline and the last value with
 * its change. Nothing is appended when fewer than 2 of them have metric.
 */
int pb_trend_section(struct pb_buf *b, enum pb_trend_format fmt,
		     const char *ref, const char *metric,
		     const struct pb_evaluation_list *h);

/*
 * The main metric of the newest evaluation of h: the first gate of the
 * report its job stored in st (when it has one), else the evaluation's
 * first metric; NULL when h is empty or has no metric. Owned: free() it.
 */
char *pb_trend_status_metric(struct pb_state *st,
			     const struct pb_evaluation_list *h);

/*
 * /status: pb_trend_section() for the last PB_TREND_STATUS_RUNS
 * evaluations of (repo, ref) and their main metric. Nothing when ref is
 * NULL or there is too little history; the store's errors are returned.
 */
int pb_trend_status(struct pb_buf *b, struct pb_state *st,
		    enum pb_trend_format fmt, const char *repo,
		    const char *ref);

/* What a scheduled run's notification says. Everything is borrowed. */
struct pb_trend_notice {
	const char *schedule; /* the NAME of [schedule "NAME"] */
	const char *repo;     /* OWNER/NAME */
	const char *ref;      /* the branch run on */
	/*
	 * The run's report (pb_report_json()): its sha, status, error,
	 * metrics ({name: number}) and gates ([{metric, expr, actual,
	 * passed}]) are read.
	 */
	const json_t *report;
	/*
	 * The ref's earlier evaluations, oldest first, read BEFORE this run
	 * was recorded (pb_state_evaluation_history()), or NULL: the last
	 * one is the previous run that regressions compare with; up to the
	 * last 9 and this run make the trend.
	 */
	const struct pb_evaluation_list *history;
	/* NULL: PB_TREND_THRESHOLD_DEFAULT */
	const struct pb_trend_threshold *threshold;
};

/*
 * The notification of a scheduled run. When the run failed, a gate failed
 * or a gated metric regressed (pb_trend_regressions() against the previous
 * run), a heading naming the run, then one line per failure: the error,
 * each failed gate with its value, each regression as old → new with the
 * change. Otherwise one short line: "nightly: acme/churn@main `a1b2c3d`
 * accuracy 0.912 (+0.003)". Either way the main metric's trend follows: a
 * Mermaid chart (Markdown; with at least 2 points) or a sparkline at the
 * end of the short line, or on a last line (Slack). Slack text escapes &,
 * < and >.
 */
int pb_trend_notice(struct pb_buf *out, enum pb_trend_format fmt,
		    const struct pb_trend_notice *n);

#endif
