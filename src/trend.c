/* trend.c: a metric over the last runs: sparkline, chart and regressions */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/trend.h"
#include "banned.h"

/* U+2581..U+2588, lowest to highest */
static const char *const blocks[8] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };

/* The lowest and highest number of v; 0 when there is none. */
static int range(const double *v, size_t n, double *lo, double *hi)
{
	size_t i;
	int any = 0;

	for (i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (!any || v[i] < *lo)
			*lo = v[i];
		if (!any || v[i] > *hi)
			*hi = v[i];
		any = 1;
	}
	return any;
}

int pb_trend_sparkline(struct pb_buf *out, const double *v, size_t n)
{
	double lo = 0, hi = 0;
	size_t i;
	long k;
	int rc = 0;

	range(v, n, &lo, &hi);
	for (i = 0; rc == 0 && i < n; i++) {
		if (isnan(v[i])) {
			rc = pb_buf_putc(out, ' ');
			continue;
		}
		k = hi > lo ? lround((v[i] - lo) / (hi - lo) * 7.0) : 3;
		rc = pb_buf_puts(out, blocks[k < 0 ? 0 : k > 7 ? 7 : k]);
	}
	return rc;
}

/* s with '"', '`' and control characters as '_': one quoted Mermaid word. */
static int put_quoted(struct pb_buf *out, const char *s)
{
	int rc = pb_buf_putc(out, '"');

	for (; rc == 0 && s && *s; s++)
		rc = pb_buf_putc(out, (*s == '"' || *s == '`' ||
				       iscntrl((unsigned char)*s)) ?
					      '_' :
					      *s);
	return rc ? rc : pb_buf_putc(out, '"');
}

/* lo..hi widened by a tenth of the span (or of the value when flat). */
static void pad(double *lo, double *hi)
{
	double d = (*hi - *lo) / 10.0;

	if (d == 0)
		d = *lo != 0 ? fabs(*lo) / 10.0 : 1.0;
	*lo -= d;
	*hi += d;
}

/*
 * v with 6 significant digits and no exponent: Mermaid's numbers are
 * [+-]digits[.digits] only, so 1e-05 is written 0.00001.
 */
static int put_plain(struct pb_buf *out, double v)
{
	char text[400], *p; /* 1e308 without an exponent fits */
	int exp10, prec;

	snprintf(text, sizeof(text), "%.6g", v);
	if (!strchr(text, 'e'))
		return pb_buf_puts(out, text);
	exp10 = (int)floor(log10(fabs(v)));
	prec = 5 - exp10;
	snprintf(text, sizeof(text), "%.*f",
		 prec < 0  ? 0 :
		 prec > 30 ? 30 :
			     prec,
		 v);
	if (strchr(text, '.')) {
		p = text + strlen(text);
		while (p[-1] == '0')
			*--p = '\0';
		if (p[-1] == '.')
			p[-1] = '\0';
	}
	return pb_buf_puts(out, text);
}

int pb_trend_mermaid(struct pb_buf *out, const char *metric,
		     const char *const *labels, const double *v, size_t n)
{
	double lo = 0, hi = 0;
	size_t i;
	int rc, first = 1;

	if (!range(v, n, &lo, &hi))
		return pb_err_setc(PB_EINVAL, "no value of '%s' to chart",
				   metric ? metric : "");
	pad(&lo, &hi);
	rc = pb_buf_puts(out, "```mermaid\nxychart-beta\n    title ");
	if (rc == 0)
		rc = put_quoted(out, metric);
	if (rc == 0)
		rc = pb_buf_puts(out, "\n    x-axis [");
	for (i = 0; rc == 0 && i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (!first)
			rc = pb_buf_puts(out, ", ");
		if (rc == 0)
			rc = put_quoted(out,
					labels && labels[i] ? labels[i] : "");
		first = 0;
	}
	if (rc == 0)
		rc = pb_buf_puts(out, "]\n    y-axis ");
	if (rc == 0)
		rc = put_quoted(out, metric);
	if (rc == 0)
		rc = pb_buf_putc(out, ' ');
	if (rc == 0)
		rc = put_plain(out, lo);
	if (rc == 0)
		rc = pb_buf_puts(out, " --> ");
	if (rc == 0)
		rc = put_plain(out, hi);
	if (rc == 0)
		rc = pb_buf_puts(out, "\n    line [");
	for (first = 1, i = 0; rc == 0 && i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (!first)
			rc = pb_buf_puts(out, ", ");
		if (rc == 0)
			rc = put_plain(out, v[i]);
		first = 0;
	}
	return rc ? rc : pb_buf_puts(out, "]\n```\n");
}

enum pb_trend_dir pb_trend_direction(const char *gate_expr)
{
	const char *s = gate_expr ? gate_expr : "";

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '>')
		return PB_TREND_HIGHER;
	if (*s == '<')
		return PB_TREND_LOWER;
	return PB_TREND_UNKNOWN;
}

int pb_trend_threshold_parse(struct pb_trend_threshold *out, const char *text)
{
	const char *s = text ? text : "", *p;
	char *end = NULL;
	double v;

	memset(out, 0, sizeof(*out));
	while (isspace((unsigned char)*s))
		s++;
	/* digits and one point only: strtod alone takes "inf", "nan", hex */
	for (p = s; isdigit((unsigned char)*p) || *p == '.'; p++)
		;
	v = p > s ? strtod(s, &end) : 0;
	if (p == s || end != p || !isfinite(v))
		goto bad;
	if (*p == '%') {
		out->relative = 1;
		v /= 100.0;
		p++;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		goto bad;
	out->value = v;
	return 0;
bad:
	return pb_err_setc(PB_EINVAL,
			   "regression threshold '%s': expected an absolute "
			   "change such as 0.01 or a relative one such as 2%%",
			   text ? text : "");
}

/* 1 when after is worse than before by more than th. */
static int worse(double before, double after, enum pb_trend_dir dir,
		 const struct pb_trend_threshold *th)
{
	double by = dir == PB_TREND_HIGHER ? before - after : after - before;
	double limit = th->relative ? fabs(before) * th->value : th->value;

	return dir != PB_TREND_UNKNOWN && by > 0 && by > limit;
}

void pb_trend_regressions(struct pb_trend_regression *out, size_t *n_out,
			  const struct pb_metrics *prev,
			  const struct pb_metrics *cur,
			  const struct pb_gate *gates, size_t n_gates,
			  const struct pb_trend_threshold *th)
{
	const double *b, *a;
	enum pb_trend_dir dir;
	size_t i, k;

	*n_out = 0;
	for (i = 0; prev && cur && i < n_gates; i++) {
		for (k = 0; k < i; k++)
			if (!strcmp(gates[k].metric, gates[i].metric))
				break;
		if (k < i) /* compared at its first gate */
			continue;
		dir = pb_trend_direction(gates[i].expr);
		b = pb_metrics_get(prev, gates[i].metric);
		a = pb_metrics_get(cur, gates[i].metric);
		if (!b || !a || !worse(*b, *a, dir, th))
			continue;
		out[*n_out].metric = gates[i].metric;
		out[*n_out].before = *b;
		out[*n_out].after = *a;
		out[*n_out].dir = dir;
		(*n_out)++;
	}
}

const char *pb_trend_main_metric(const struct pb_gate *gates, size_t n_gates,
				 const struct pb_metrics *cur)
{
	if (n_gates && gates[0].metric)
		return gates[0].metric;
	if (cur && cur->n)
		return cur->v[0].name;
	return NULL;
}

size_t pb_trend_series(double *v, const struct pb_evaluation_list *h,
		       const char *metric)
{
	json_t *m, *x;
	size_t i, found = 0;

	for (i = 0; i < h->n; i++) {
		m = json_loads(h->v[i].metrics ? h->v[i].metrics : "", 0, NULL);
		x = json_object_get(m, metric ? metric : "");
		v[i] = json_is_number(x) ? json_number_value(x) : NAN;
		found += !isnan(v[i]);
		json_decref(m);
	}
	return found;
}
