/* cron.c: parse five-field cron expressions, find their next fire time */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "prbot/cron.h"
#include "prbot/err.h"
#include "banned.h"

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

static const char *const month_names[] = { "jan", "feb", "mar", "apr",
					   "may", "jun", "jul", "aug",
					   "sep", "oct", "nov", "dec" };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed",
					 "thu", "fri", "sat" };

struct field {
	const char *name;
	int lo, hi;  /* the values one may write */
	int star_hi; /* where '*' and N/S end: 6 for day-of-week, else hi */
	const char *const *names; /* names[i] is lo + i */
	int n_names;
	const char *name_range; /* for messages: "JAN to DEC" */
};

static const struct field fields[F_COUNT] = {
	{ "minute", 0, 59, 59, NULL, 0, NULL },
	{ "hour", 0, 23, 23, NULL, 0, NULL },
	{ "day-of-month", 1, 31, 31, NULL, 0, NULL },
	{ "month", 1, 12, 12, month_names, 12, "JAN to DEC" },
	{ "day-of-week", 0, 7, 6, dow_names, 7, "SUN to SAT" },
};

static const struct {
	const char *name;
	const char *expr;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" },  { "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },   { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* What one may write in f, for "expected ..." messages. */
static const char *expected(const struct field *f)
{
	return f->names ? "a number, a name, '*' or a range" :
			  "a number, '*' or a range";
}

static int all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return n > 0;
}

static int all_alpha(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isalpha((unsigned char)s[i]))
			return 0;
	return n > 0;
}

/* The digits' value; more than 4 digits give 99999, out of every range. */
static int digits_value(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	if (n > 4)
		return 99999;
	for (i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* One value of a range: a number in f's bounds or one of f's names. */
static int parse_value(int *out, const struct field *f, const char *s, size_t n,
		       const char *item, size_t item_n, const char *expr)
{
	int i, v;

	if (all_digits(s, n)) {
		v = digits_value(s, n);
		if (v < f->lo || v > f->hi)
			return pb_err_setc(PB_EINVAL,
					   "%s: %.*s is out of range %d-%d in "
					   "'%s'",
					   f->name, (int)n, s, f->lo, f->hi,
					   expr);
		*out = v;
		return 0;
	}
	if (f->names && all_alpha(s, n)) {
		for (i = 0; i < f->n_names; i++) {
			if (n == 3 && !strncasecmp(s, f->names[i], 3)) {
				*out = f->lo + i;
				return 0;
			}
		}
		return pb_err_setc(PB_EINVAL,
				   "%s: unknown name '%.*s': use %s in '%s'",
				   f->name, (int)n, s, f->name_range, expr);
	}
	/* an empty side ('-5', '5-') or a stray '*': show the whole item */
	if (!n || memchr(item, '*', item_n)) {
		s = item;
		n = item_n;
	}
	return pb_err_setc(PB_EINVAL, "%s: expected %s, got '%.*s' in '%s'",
			   f->name, expected(f), (int)n, s, expr);
}

/* The S of "/S": from 1 to the number of values f has. */
static int parse_step(int *out, const struct field *f, const char *s, size_t n,
		      const char *expr)
{
	int most = f->star_hi - f->lo + 1, v;

	if (!all_digits(s, n))
		return pb_err_setc(PB_EINVAL,
				   "%s: expected a number after '/', got "
				   "'%.*s' in '%s'",
				   f->name, (int)n, s, expr);
	v = digits_value(s, n);
	if (v < 1 || v > most)
		return pb_err_setc(PB_EINVAL,
				   "%s: step %.*s is out of range 1-%d in '%s'",
				   f->name, (int)n, s, most, expr);
	*out = v;
	return 0;
}

/*
 * One item of a comma list: '*', N, A-B, each with an optional /S.
 * Sets its bits; *star when it is '*', with or without a step.
 */
static int parse_item(uint64_t *bits, int *star, const struct field *f,
		      const char *item, size_t n, const char *expr)
{
	const char *slash = memchr(item, '/', n), *dash;
	size_t base_n = slash ? (size_t)(slash - item) : n;
	int lo, hi, step = 1, v, rc;

	if (!n)
		return pb_err_setc(PB_EINVAL,
				   "%s: a comma with nothing on one side in "
				   "'%s'",
				   f->name, expr);
	if (slash &&
	    (rc = parse_step(&step, f, slash + 1, n - base_n - 1, expr)) < 0)
		return rc;
	if (base_n == 1 && item[0] == '*') {
		lo = f->lo;
		hi = f->star_hi;
		/* as cron (Vixie, cronie): a field that starts with '*',
		   stepped or not, leaves the day to the other day field */
		*star = 1;
	} else {
		dash = memchr(item, '-', base_n);
		if ((rc = parse_value(&lo, f, item,
				      dash ? (size_t)(dash - item) : base_n,
				      item, n, expr)) < 0)
			return rc;
		if (dash) {
			if ((rc = parse_value(&hi, f, dash + 1,
					      base_n - (size_t)(dash - item) - 1,
					      item, n, expr)) < 0)
				return rc;
			/* FRI-SUN: Sunday as 7 at a range's end, as cronie */
			if (f == &fields[F_DOW] && hi == 0 && lo > 0)
				hi = 7;
			if (lo > hi)
				return pb_err_setc(PB_EINVAL,
						   "%s: range '%.*s' goes "
						   "backwards: write the "
						   "smaller value first in "
						   "'%s'",
						   f->name, (int)base_n, item,
						   expr);
		} else {
			/* N/S: from N to the field's end; plain N: N alone */
			hi = slash ? (lo > f->star_hi ? lo : f->star_hi) : lo;
		}
	}
	for (v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << v;
	return 0;
}

static int parse_field(uint64_t *bits, int *star, const struct field *f,
		       const char *s, size_t n, const char *expr)
{
	const char *end = s + n, *comma;
	int rc;

	*bits = 0;
	*star = 0;
	for (;;) {
		comma = memchr(s, ',', (size_t)(end - s));
		if ((rc = parse_item(bits, star, f, s,
				     (size_t)((comma ? comma : end) - s),
				     expr)) < 0)
			return rc;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int parse_macro(struct pb_cron *out, const char *s, size_t n,
		       const char *expr)
{
	size_t i;

	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (strlen(macros[i].name) == n &&
		    !strncasecmp(s, macros[i].name, n))
			return pb_cron_parse(out, macros[i].expr);
	if (n == 7 && !strncasecmp(s, "@reboot", n))
		return pb_err_setc(PB_EINVAL,
				   "@reboot has no fire time: use a schedule "
				   "such as @daily in '%s'",
				   expr);
	return pb_err_setc(PB_EINVAL,
			   "unknown macro '%.*s': use @yearly, @monthly, "
			   "@weekly, @daily or @hourly in '%s'",
			   (int)n, s, expr);
}

int pb_cron_parse(struct pb_cron *out, const char *expr)
{
	const char *start[F_COUNT + 1], *p = expr;
	size_t len[F_COUNT + 1];
	uint64_t bits[F_COUNT];
	int star[F_COUNT], n = 0, i, rc;

	memset(out, 0, sizeof(*out));
	while (*p) {
		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		if (n <= F_COUNT)
			start[n] = p;
		while (*p && !is_blank(*p))
			p++;
		if (n <= F_COUNT)
			len[n] = (size_t)(p - start[n]);
		n++;
	}
	if (n >= 1 && start[0][0] == '@') {
		if (n > 1)
			return pb_err_setc(PB_EINVAL,
					   "a macro such as @daily stands "
					   "alone, got %d fields in '%s'",
					   n, expr);
		return parse_macro(out, start[0], len[0], expr);
	}
	if (n != F_COUNT)
		return pb_err_setc(PB_EINVAL,
				   "expected 5 fields (minute hour "
				   "day-of-month month day-of-week) or a "
				   "macro such as @daily, got %d in '%s'",
				   n, expr);
	for (i = 0; i < F_COUNT; i++)
		if ((rc = parse_field(&bits[i], &star[i], &fields[i], start[i],
				      len[i], expr)) < 0)
			return rc;
	if (bits[F_DOW] & (UINT64_C(1) << 7))
		bits[F_DOW] = (bits[F_DOW] | 1) & 0x7f;
	out->minute = bits[F_MINUTE];
	out->hour = (uint32_t)bits[F_HOUR];
	out->dom = (uint32_t)bits[F_DOM];
	out->month = (uint16_t)bits[F_MONTH];
	out->dow = (uint8_t)bits[F_DOW];
	out->dom_star = (unsigned char)star[F_DOM];
	out->dow_star = (unsigned char)star[F_DOW];
	return 0;
}

/* ---- calendar arithmetic (proleptic Gregorian, UTC) ---- */

/* Days since 1970-01-01 (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return days[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The lowest set bit of set at from or above (up to 63), or -1. */
static int next_bit(uint64_t set, int from)
{
	int i;

	for (i = from; i < 64; i++)
		if (set & (UINT64_C(1) << i))
			return i;
	return -1;
}

static int day_matches(const struct pb_cron *c, int64_t y, int m, int d)
{
	int64_t wd = (days_from_civil(y, m, d) % 7 + 11) % 7; /* 0 Sunday */
	int dom = !!(c->dom & (UINT32_C(1) << d));
	int dow = !!(c->dow & (1u << wd));

	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

/* The day after y-m-d. */
static void next_day(int64_t *y, int *m, int *d)
{
	if (++*d > days_in_month(*y, *m)) {
		*d = 1;
		if (++*m > 12) {
			*m = 1;
			++*y;
		}
	}
}

/*
 * From the first whole minute after `after`, skip months, days and hours
 * that cannot match before looking at minutes: at most about 12 + 366 +
 * 24 steps a year.
 */
int pb_cron_next(const struct pb_cron *c, time_t after, time_t *out)
{
	/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z */
	const int64_t first = -62135596800LL, last = 253402300799LL;
	int64_t t, days, limit, y;
	int m, d, h, mi, next, sod;
	char when[PB_CRON_TIME_LEN];

	if ((int64_t)after < first || (int64_t)after > last)
		return pb_err_setc(PB_EINVAL,
				   "cron: time %lld is outside the years "
				   "1-9999",
				   (long long)after);
	t = (floor_div((int64_t)after, 60) + 1) * 60;
	days = floor_div(t, 86400);
	sod = (int)(t - days * 86400);
	civil_from_days(days, &y, &m, &d);
	h = sod / 3600;
	mi = sod % 3600 / 60;
	/* to the end of the year, then the horizon: at least 10 whole years */
	limit = y + PB_CRON_HORIZON_YEARS + 1;
	while (y < limit && y <= 9999) {
		if (!(c->month & (1u << m))) {
			h = mi = 0;
			if ((next = next_bit(c->month, m + 1)) < 0) {
				next = next_bit(c->month, 1);
				y++;
			}
			if (next < 0)
				break; /* no month at all: not from the parser
					*/
			m = next;
			d = 1;
			continue;
		}
		if (!day_matches(c, y, m, d)) {
			h = mi = 0;
			next_day(&y, &m, &d);
			continue;
		}
		if ((next = next_bit(c->hour, h)) != h) {
			mi = 0;
			if (next < 0) {
				h = 0;
				next_day(&y, &m, &d);
			} else {
				h = next;
			}
			continue;
		}
		if ((next = next_bit(c->minute, mi)) < 0) {
			mi = 0;
			if (++h > 23) {
				h = 0;
				next_day(&y, &m, &d);
			}
			continue;
		}
		mi = next;
		if (y > 9999)
			break;
		*out = (time_t)(days_from_civil(y, m, d) * 86400 + h * 3600 +
				mi * 60);
		return 0;
	}
	if (y > 9999)
		return pb_err_setc(PB_EINVAL,
				   "cron: the search passed the year 9999");
	if (pb_cron_time_format(when, after) < 0)
		when[0] = '\0';
	return pb_err_setc(PB_ENOTFOUND,
			   "no time matches in the %d years after %s",
			   PB_CRON_HORIZON_YEARS, when);
}

int pb_cron_time_format(char buf[PB_CRON_TIME_LEN], time_t t)
{
	int64_t days = floor_div((int64_t)t, 86400), y;
	int sod = (int)((int64_t)t - days * 86400), m, d;
	char text[64]; /* room for any int, so no truncation to reason about */

	civil_from_days(days, &y, &m, &d);
	buf[0] = '\0';
	if (y < 0 || y > 9999)
		return -1;
	snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y,
		 m, d, sod / 3600, sod % 3600 / 60, sod % 60);
	memcpy(buf, text, PB_CRON_TIME_LEN - 1);
	buf[PB_CRON_TIME_LEN - 1] = '\0';
	return 0;
}

/* n digits at s as a number in [lo, hi], or -1. */
static int digits_at(const char *s, int n, int lo, int hi)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

int pb_cron_time_parse(time_t *out, const char *s)
{
	int y, mo, d, h, mi, sec = 0;
	const char *p = s + 16;

	if (strlen(s) < 16 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || (y = digits_at(s, 4, 0, 9999)) < 0 ||
	    (mo = digits_at(s + 5, 2, 1, 12)) < 0 ||
	    (d = digits_at(s + 8, 2, 1, 31)) < 0 ||
	    (h = digits_at(s + 11, 2, 0, 23)) < 0 ||
	    (mi = digits_at(s + 14, 2, 0, 59)) < 0 || d > days_in_month(y, mo))
		goto bad;
	if (*p == ':') {
		if ((sec = digits_at(p + 1, 2, 0, 59)) < 0)
			goto bad;
		p += 3;
	}
	/* Z, or UTC written as an offset */
	if (strcmp(p, "Z") && strcmp(p, "+00:00")) {
		if (*p == '+' || *p == '-')
			return pb_err_setc(
				PB_EINVAL,
				"'%s' has the offset %s: prbot "
				"schedules in UTC, write the time in "
				"UTC with a final Z",
				s, p);
		if (!*p)
			return pb_err_setc(PB_EINVAL,
					   "'%s' has no time zone: write a "
					   "final Z for UTC (such as "
					   "2026-11-23T03:00:00Z)",
					   s);
		goto bad;
	}
	*out = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
			sec);
	return 0;
bad:
	return pb_err_setc(PB_EINVAL,
			   "expected a UTC time such as 2026-11-23T03:00:00Z "
			   "or 2026-11-23T03:00Z, got '%s'",
			   s);
}
