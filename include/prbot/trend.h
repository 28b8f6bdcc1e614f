/* trend.h: a metric over the last runs: sparkline, chart and regressions */
#ifndef PRBOT_TREND_H
#define PRBOT_TREND_H

#include <stddef.h>

#include "prbot/buf.h"
#include "prbot/evaluate.h"
#include "prbot/state.h"

/*
 * Pure functions: no I/O, no state. Every function appending to a struct
 * pb_buf returns 0 or the negative code of the failed append (which, as
 * pb_buf does, released the buffer), or PB_EINVAL where it says so.
 * A missing value in a series is NaN.
 */

/*
 * v as one block character per value, ▁▂▃▄▅▆▇█ from the series' lowest to
 * its highest; a flat series is all ▄, a NaN (missing) value a space.
 */
int pb_trend_sparkline(struct pb_buf *out, const double *v, size_t n);

/*
 * A ```mermaid fenced xychart-beta block (GitHub renders it): the title
 * metric, labels (short SHAs) on the x axis, a y axis padded around the
 * values, one line. NaN points are left out with their labels. PB_EINVAL
 * when fewer than one value is a number. Quotes and line breaks in metric
 * and labels are replaced, so the block always stays one chart.
 */
int pb_trend_mermaid(struct pb_buf *out, const char *metric,
		     const char *const *labels, const double *v, size_t n);

enum pb_trend_dir {
	PB_TREND_UNKNOWN = 0, /* "== 1", or no gate: never a regression */
	PB_TREND_HIGHER,      /* ">= 0.9", "> 0.9": higher is better */
	PB_TREND_LOWER	      /* "<= 50", "< 50": lower is better */
};

/* The better direction a gate expression (">= 0.90") implies. */
enum pb_trend_dir pb_trend_direction(const char *gate_expr);

/*
 * How far a metric may move the wrong way before it is a regression:
 * "0.01" is absolute (in the metric's units), "2%" relative to the
 * previous value's magnitude. Only a move of MORE than the threshold
 * counts, so "0" reports any worsening at all.
 */
struct pb_trend_threshold {
	double value; /* >= 0; a fraction (0.02) when relative */
	int relative; /* 1: written with % */
};

/* The default of [schedule] regression_threshold. */
#define PB_TREND_THRESHOLD_DEFAULT "1%"

/*
 * Parse text as above (spaces around allowed). PB_EINVAL, with a message
 * quoting text and giving both forms, for anything else (negative, NaN,
 * empty, words after the number).
 */
int pb_trend_threshold_parse(struct pb_trend_threshold *out, const char *text);

/* One metric that moved the wrong way by more than the threshold. */
struct pb_trend_regression {
	const char *metric; /* borrowed from the gate */
	double before;	    /* the previous run's value */
	double after;	    /* this run's */
	enum pb_trend_dir dir;
};

/*
 * Into out (room for n_gates), the metrics of the gates, in gate order,
 * whose value in cur moved from prev the wrong way (by the gate's
 * direction) by more than th; *n_out says how many. A metric is compared
 * once (its first gate), and only when both runs have it. prev NULL: none.
 */
void pb_trend_regressions(struct pb_trend_regression *out, size_t *n_out,
			  const struct pb_metrics *prev,
			  const struct pb_metrics *cur,
			  const struct pb_gate *gates, size_t n_gates,
			  const struct pb_trend_threshold *th);

/*
 * The metric a trend shows: the first gate's, else cur's first metric (in
 * its order: a stored evaluation's are sorted by name), else NULL.
 * Borrowed from gates or cur.
 */
const char *pb_trend_main_metric(const struct pb_gate *gates, size_t n_gates,
				 const struct pb_metrics *cur);

/*
 * metric's value in each evaluation of h (oldest first) into v (room for
 * h->n), NaN where an evaluation lacks it or its metrics are not JSON.
 * Returns how many are numbers.
 */
size_t pb_trend_series(double *v, const struct pb_evaluation_list *h,
		       const char *metric);

#endif
