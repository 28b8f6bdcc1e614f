/* test_cron.c: cron expressions against robfig/cron's vectors and our own */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prbot/cron.h"
#include "prbot/err.h"
#include "testutil.h"

static int group_setup(void **state)
{
	(void)state;
	return pb_test_enter_data_dir("cron");
}

static time_t utc(const char *iso)
{
	time_t t = 0;

	if (pb_cron_time_parse(&t, iso) < 0)
		fail_msg("bad time in the test: %s: %s", iso, pb_err_last());
	return t;
}

/* The fire times after from, as "T1 T2 ..." (or "ERR message"). */
static void next_times(char *out, size_t n, const char *expr, const char *from,
		       int count)
{
	struct pb_cron c;
	char when[PB_CRON_TIME_LEN];
	time_t t = utc(from), next;
	size_t used = 0;
	int i;

	out[0] = '\0';
	if (pb_cron_parse(&c, expr) < 0) {
		snprintf(out, n, "ERR %s", pb_err_last());
		return;
	}
	for (i = 0; i < count; i++) {
		if (pb_cron_next(&c, t, &next) < 0) {
			snprintf(out + used, n - used, "%sERR %s", i ? " " : "",
				 pb_err_last());
			return;
		}
		assert_int_equal(pb_cron_time_format(when, next), 0);
		used += (size_t)snprintf(out + used, n - used, "%s%s",
					 i ? " " : "", when);
		assert_true(used < n);
		t = next;
	}
}

/* s without the spaces at both ends, in place. */
static char *trim(char *s)
{
	char *end;

	while (*s == ' ')
		s++;
	end = s + strlen(s);
	while (end > s && end[-1] == ' ')
		*--end = '\0';
	return s;
}

static void test_cron_matches_published_vectors(void **state)
{
	char *text = pb_test_read_file("next.txt", NULL), *line, *save = NULL;
	char got[256];
	int lineno = 0, rows = 0;

	(void)state;
	for (line = text; line; line = save) {
		char *expr, *from, *want, *bar1, *bar2;

		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		if (!*line || *line == '#')
			continue;
		bar1 = strchr(line, '|');
		bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
		if (!bar2)
			fail_msg("next.txt:%d: expected EXPR | FROM | EXPECTED",
				 lineno);
		*bar1 = *bar2 = '\0';
		expr = trim(line);
		from = trim(bar1 + 1);
		want = trim(bar2 + 1);
		next_times(got, sizeof(got), expr, from, 1);
		if (!strcmp(want, "none")) {
			if (strncmp(got, "ERR no time matches", 19))
				fail_msg("next.txt:%d: '%s' after %s: want "
					 "none, got %s",
					 lineno, expr, from, got);
		} else if (want[0] == '!') {
			if (!strcmp(got, want + 1) || !strncmp(got, "ERR", 3))
				fail_msg("next.txt:%d: '%s' after %s: want "
					 "not %s, got %s",
					 lineno, expr, from, want + 1, got);
		} else if (strcmp(got, want)) {
			fail_msg("next.txt:%d: '%s' after %s: want %s, got %s",
				 lineno, expr, from, want, got);
		}
		rows++;
	}
	assert_true(rows >= 50);
	free(text);
}

static void test_cron_refuses_published_bad_expressions(void **state)
{
	char *text = pb_test_read_file("errors.txt", NULL), *line, *save = NULL;
	struct pb_cron c;
	int rows = 0;

	(void)state;
	for (line = text; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		if (!*line || *line == '#')
			continue;
		if (pb_cron_parse(&c, line) != PB_EINVAL)
			fail_msg("errors.txt: '%s' was accepted", line);
		assert_non_null(strstr(pb_err_last(), line));
		rows++;
	}
	assert_int_equal(rows, 4);
	free(text);
}

struct next_row {
	const char *expr, *from;
	const char *want; /* the next 4 times, space-separated */
};

static const struct next_row next_rows[] = {
	/* both day fields restricted: either one (Dec 13 2026 is a Sunday) */
	{ "0 0 13 * 5", "2026-12-01T00:00Z",
	  "2026-12-04T00:00:00Z 2026-12-11T00:00:00Z 2026-12-13T00:00:00Z "
	  "2026-12-18T00:00:00Z" },
	/* one of them '*': the other alone */
	{ "0 0 13 * *", "2026-12-01T00:00Z",
	  "2026-12-13T00:00:00Z 2027-01-13T00:00:00Z 2027-02-13T00:00:00Z "
	  "2027-03-13T00:00:00Z" },
	{ "0 0 * * 5", "2026-12-01T00:00Z",
	  "2026-12-04T00:00:00Z 2026-12-11T00:00:00Z 2026-12-18T00:00:00Z "
	  "2026-12-25T00:00:00Z" },
	/* '*' /1 is still '*': both must match, Friday the 13th only */
	{ "0 0 13 * */1", "2026-01-01T00:00Z",
	  "2026-01-13T00:00:00Z 2026-02-13T00:00:00Z 2026-03-13T00:00:00Z "
	  "2026-04-13T00:00:00Z" },
	{ "0 0 13 * FRI", "2026-01-01T00:00Z",
	  "2026-01-02T00:00:00Z 2026-01-09T00:00:00Z 2026-01-13T00:00:00Z "
	  "2026-01-16T00:00:00Z" },
	/* a stepped '*' does not restrict, as in cron: both must match */
	{ "0 0 */10 * MON", "2026-11-23T00:00Z",
	  "2026-12-21T00:00:00Z 2027-01-11T00:00:00Z 2027-02-01T00:00:00Z "
	  "2027-03-01T00:00:00Z" },
	/* 7 and 0 are Sunday; SUN at a range's end too */
	{ "0 12 * * 7", "2026-11-23T00:00Z",
	  "2026-11-29T12:00:00Z 2026-12-06T12:00:00Z 2026-12-13T12:00:00Z "
	  "2026-12-20T12:00:00Z" },
	{ "0 0 * * 0,7", "2026-11-23T00:00Z",
	  "2026-11-29T00:00:00Z 2026-12-06T00:00:00Z 2026-12-13T00:00:00Z "
	  "2026-12-20T00:00:00Z" },
	{ "30 9 * * fri-SUN", "2026-11-23T00:00Z",
	  "2026-11-27T09:30:00Z 2026-11-28T09:30:00Z 2026-11-29T09:30:00Z "
	  "2026-12-04T09:30:00Z" },
	{ "30 9 * * 5-7", "2026-11-23T00:00Z",
	  "2026-11-27T09:30:00Z 2026-11-28T09:30:00Z 2026-11-29T09:30:00Z "
	  "2026-12-04T09:30:00Z" },
	/* names in any case, in lists and ranges */
	{ "0 0 1 jan,JUL *", "2026-11-23T00:00Z",
	  "2027-01-01T00:00:00Z 2027-07-01T00:00:00Z 2028-01-01T00:00:00Z "
	  "2028-07-01T00:00:00Z" },
	{ "0 6 * Nov-Dec Mon-Wed", "2026-12-29T07:00Z",
	  "2026-12-30T06:00:00Z 2027-11-01T06:00:00Z 2027-11-02T06:00:00Z "
	  "2027-11-03T06:00:00Z" },
	/* steps: N/S runs to the field's end; day-of-week's end is 6 */
	{ "0 22/2 * * *", "2026-11-23T00:00Z",
	  "2026-11-23T22:00:00Z 2026-11-24T22:00:00Z 2026-11-25T22:00:00Z "
	  "2026-11-26T22:00:00Z" },
	{ "0 0 * * 1/2", "2026-11-23T00:00Z",
	  "2026-11-25T00:00:00Z 2026-11-27T00:00:00Z 2026-11-30T00:00:00Z "
	  "2026-12-02T00:00:00Z" },
	{ "5,10-12,*/30 * * * *", "2026-11-23T03:00Z",
	  "2026-11-23T03:05:00Z 2026-11-23T03:10:00Z 2026-11-23T03:11:00Z "
	  "2026-11-23T03:12:00Z" },
	{ "10-50/20 */12 * * *", "2026-11-23T12:30Z",
	  "2026-11-23T12:50:00Z 2026-11-24T00:10:00Z 2026-11-24T00:30:00Z "
	  "2026-11-24T00:50:00Z" },
	/* leap years, across 2100 which is not one */
	{ "0 0 29 2 *", "2026-11-23T00:00Z",
	  "2028-02-29T00:00:00Z 2032-02-29T00:00:00Z 2036-02-29T00:00:00Z "
	  "2040-02-29T00:00:00Z" },
	{ "0 0 29 2 *", "2096-02-29T00:00Z",
	  "2104-02-29T00:00:00Z 2108-02-29T00:00:00Z 2112-02-29T00:00:00Z "
	  "2116-02-29T00:00:00Z" },
	{ "0 0 29 2 *", "1999-03-01T00:00Z",
	  "2000-02-29T00:00:00Z 2004-02-29T00:00:00Z 2008-02-29T00:00:00Z "
	  "2012-02-29T00:00:00Z" },
	/* month ends: the 31st skips the short months */
	{ "59 23 31 * *", "2026-11-23T00:00Z",
	  "2026-12-31T23:59:00Z 2027-01-31T23:59:00Z 2027-03-31T23:59:00Z "
	  "2027-05-31T23:59:00Z" },
	{ "0 0 30 * *", "2027-01-30T00:00Z",
	  "2027-03-30T00:00:00Z 2027-04-30T00:00:00Z 2027-05-30T00:00:00Z "
	  "2027-06-30T00:00:00Z" },
	/* the macros */
	{ "@yearly", "2026-11-23T00:00Z",
	  "2027-01-01T00:00:00Z 2028-01-01T00:00:00Z 2029-01-01T00:00:00Z "
	  "2030-01-01T00:00:00Z" },
	{ "@annually", "2026-11-23T00:00Z",
	  "2027-01-01T00:00:00Z 2028-01-01T00:00:00Z 2029-01-01T00:00:00Z "
	  "2030-01-01T00:00:00Z" },
	{ "@monthly", "2026-11-23T00:00Z",
	  "2026-12-01T00:00:00Z 2027-01-01T00:00:00Z 2027-02-01T00:00:00Z "
	  "2027-03-01T00:00:00Z" },
	{ "@weekly", "2026-11-23T00:00Z",
	  "2026-11-29T00:00:00Z 2026-12-06T00:00:00Z 2026-12-13T00:00:00Z "
	  "2026-12-20T00:00:00Z" },
	{ "@daily", "2026-11-23T03:00Z",
	  "2026-11-24T00:00:00Z 2026-11-25T00:00:00Z 2026-11-26T00:00:00Z "
	  "2026-11-27T00:00:00Z" },
	{ "@midnight", "2026-11-23T03:00Z",
	  "2026-11-24T00:00:00Z 2026-11-25T00:00:00Z 2026-11-26T00:00:00Z "
	  "2026-11-27T00:00:00Z" },
	{ "@hourly", "2026-11-23T23:00Z",
	  "2026-11-24T00:00:00Z 2026-11-24T01:00:00Z 2026-11-24T02:00:00Z "
	  "2026-11-24T03:00:00Z" },
	{ " @Daily ", "2026-11-23T03:00Z",
	  "2026-11-24T00:00:00Z 2026-11-25T00:00:00Z 2026-11-26T00:00:00Z "
	  "2026-11-27T00:00:00Z" },
	/* strictly after: a matching FROM is not given again */
	{ "0 3 * * *", "2026-11-23T03:00:00Z",
	  "2026-11-24T03:00:00Z 2026-11-25T03:00:00Z 2026-11-26T03:00:00Z "
	  "2026-11-27T03:00:00Z" },
	{ "\t0\t3 * *  *  ", "2026-11-23T02:59:59Z",
	  "2026-11-23T03:00:00Z 2026-11-24T03:00:00Z 2026-11-25T03:00:00Z "
	  "2026-11-26T03:00:00Z" },
	{ "* * * * *", "2026-12-31T23:59:59Z",
	  "2027-01-01T00:00:00Z 2027-01-01T00:01:00Z 2027-01-01T00:02:00Z "
	  "2027-01-01T00:03:00Z" },
	/* before 1970 too */
	{ "0 0 1 1 *", "1969-06-01T00:00Z",
	  "1970-01-01T00:00:00Z 1971-01-01T00:00:00Z 1972-01-01T00:00:00Z "
	  "1973-01-01T00:00:00Z" },
};

static void test_cron_next_table(void **state)
{
	char got[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(next_rows) / sizeof(next_rows[0]); i++) {
		next_times(got, sizeof(got), next_rows[i].expr,
			   next_rows[i].from, 4);
		if (strcmp(got, next_rows[i].want))
			fail_msg("'%s' after %s:\n want %s\n  got %s",
				 next_rows[i].expr, next_rows[i].from,
				 next_rows[i].want, got);
	}
}

static void test_cron_parse_sets_bits_and_stars(void **state)
{
	struct pb_cron c;

	(void)state;
	assert_int_equal(pb_cron_parse(&c, "* * * * *"), 0);
	assert_true(c.minute == (UINT64_C(1) << 60) - 1);
	assert_int_equal(c.hour, (1u << 24) - 1);
	assert_int_equal(c.dom, 0xfffffffeu);
	assert_int_equal(c.month, 0x1ffe);
	assert_int_equal(c.dow, 0x7f);
	assert_true(c.dom_star && c.dow_star);

	assert_int_equal(pb_cron_parse(&c, "0 0 */1 * 7"), 0);
	assert_int_equal(c.dow, 1);
	assert_true(c.dom_star);
	assert_false(c.dow_star);

	assert_int_equal(pb_cron_parse(&c, "0 0 */2 * 5-7"), 0);
	assert_int_equal(c.dow, 1 | 1 << 5 | 1 << 6);
	assert_true(c.dom_star);
	assert_int_equal(c.dom & 0xe, 0xa); /* 1, 3 */

	assert_int_equal(pb_cron_parse(&c, "0 0 * * */2"), 0);
	assert_int_equal(c.dow, 1 | 1 << 2 | 1 << 4 | 1 << 6);
	assert_true(c.dow_star);

	assert_int_equal(pb_cron_parse(&c, "0 0 * * SUN-SUN"), 0);
	assert_int_equal(c.dow, 1);
	assert_int_equal(pb_cron_parse(&c, "0 0 * * SAT-SUN"), 0);
	assert_int_equal(c.dow, 1 | 1 << 6);
	assert_int_equal(pb_cron_parse(&c, "0 0 * * 1-7/2"), 0);
	assert_int_equal(c.dow, 1 | 1 << 1 | 1 << 3 | 1 << 5);
	assert_int_equal(pb_cron_parse(&c, "0 0 * * 7/3"), 0);
	assert_int_equal(c.dow, 1);

	assert_int_equal(pb_cron_parse(&c, "55/2 0 * * *"), 0);
	assert_true(c.minute == (UINT64_C(1) << 55 | UINT64_C(1) << 57 |
				 UINT64_C(1) << 59));
}

struct error_row {
	const char *expr, *msg;
};

static const struct error_row error_rows[] = {
	{ "",
	  "expected 5 fields (minute hour day-of-month month day-of-week) or "
	  "a macro such as @daily, got 0 in ''" },
	{ "0 3 * * * *",
	  "expected 5 fields (minute hour day-of-month month day-of-week) or "
	  "a macro such as @daily, got 6 in '0 3 * * * *'" },
	{ "0 3 * *",
	  "expected 5 fields (minute hour day-of-month month day-of-week) or "
	  "a macro such as @daily, got 4 in '0 3 * *'" },
	{ "x 0 * * *",
	  "minute: expected a number, '*' or a range, got 'x' in 'x 0 * * *'" },
	{ "0 0 * x *",
	  "month: unknown name 'x': use JAN to DEC in '0 0 * x *'" },
	{ "0 0 * * 1.5",
	  "day-of-week: expected a number, a name, '*' or a range, got '1.5' "
	  "in '0 0 * * 1.5'" },
	{ "0 0 32 * *",
	  "day-of-month: 32 is out of range 1-31 in '0 0 32 * *'" },
	{ "0 0 0 * *", "day-of-month: 0 is out of range 1-31 in '0 0 0 * *'" },
	{ "60 0 * * *", "minute: 60 is out of range 0-59 in '60 0 * * *'" },
	{ "0 24 * * *", "hour: 24 is out of range 0-23 in '0 24 * * *'" },
	{ "0 0 * 13 *", "month: 13 is out of range 1-12 in '0 0 * 13 *'" },
	{ "0 0 * * 8", "day-of-week: 8 is out of range 0-7 in '0 0 * * 8'" },
	{ "99999 * * * *",
	  "minute: 99999 is out of range 0-59 in '99999 * * * *'" },
	{ "0 0 * JUNE *",
	  "month: unknown name 'JUNE': use JAN to DEC in '0 0 * JUNE *'" },
	{ "0 0 * * monday",
	  "day-of-week: unknown name 'monday': use SUN to SAT in '0 0 * * "
	  "monday'" },
	{ "0 0 * jan-x *",
	  "month: unknown name 'x': use JAN to DEC in '0 0 * jan-x *'" },
	{ "5-1 * * * *",
	  "minute: range '5-1' goes backwards: write the smaller value first "
	  "in '5-1 * * * *'" },
	{ "0 0 * DEC-JAN *",
	  "month: range 'DEC-JAN' goes backwards: write the smaller value "
	  "first in '0 0 * DEC-JAN *'" },
	{ "*/0 * * * *",
	  "minute: step 0 is out of range 1-60 in '*/0 * * * *'" },
	{ "0 0 * * 1/8",
	  "day-of-week: step 8 is out of range 1-7 in '0 0 * * 1/8'" },
	{ "*/x * * * *",
	  "minute: expected a number after '/', got 'x' in '*/x * * * *'" },
	{ "5/ * * * *",
	  "minute: expected a number after '/', got '' in '5/ * * * *'" },
	{ "1,,2 * * * *",
	  "minute: a comma with nothing on one side in '1,,2 * * * *'" },
	{ "0 1, * * *",
	  "hour: a comma with nothing on one side in '0 1, * * *'" },
	{ "-5 * * * *",
	  "minute: expected a number, '*' or a range, got '-5' in '-5 * * * *'" },
	{ "5- * * * *",
	  "minute: expected a number, '*' or a range, got '5-' in '5- * * * *'" },
	{ "*-5 * * * *",
	  "minute: expected a number, '*' or a range, got '*-5' in '*-5 * * * "
	  "*'" },
	{ "0 0 ? * *",
	  "day-of-month: expected a number, '*' or a range, got '?' in '0 0 ? "
	  "* *'" },
	{ "0 0 L * *",
	  "day-of-month: expected a number, '*' or a range, got 'L' in '0 0 L "
	  "* *'" },
	{ "@often",
	  "unknown macro '@often': use @yearly, @monthly, @weekly, @daily or "
	  "@hourly in '@often'" },
	{ "@daily 3",
	  "a macro such as @daily stands alone, got 2 fields in '@daily 3'" },
	{ "@reboot",
	  "@reboot has no fire time: use a schedule such as @daily in "
	  "'@reboot'" },
};

static void test_cron_parse_errors_name_the_field(void **state)
{
	struct pb_cron c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(error_rows) / sizeof(error_rows[0]); i++) {
		int rc = pb_cron_parse(&c, error_rows[i].expr);

		if (rc != PB_EINVAL || strcmp(pb_err_last(), error_rows[i].msg))
			fail_msg("'%s': rc %d\n want %s\n  got %s",
				 error_rows[i].expr, rc, error_rows[i].msg,
				 pb_err_last());
	}
}

static void test_cron_unsatisfiable_is_not_found_after_the_horizon(void **st)
{
	static const char *const never[] = { "0 0 30 2 *", "0 0 31 2,4,6 *",
					     "0 0 31 SEP,NOV *" };
	struct pb_cron c;
	time_t t = 42;
	size_t i;

	(void)st;
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		assert_int_equal(pb_cron_parse(&c, never[i]), 0);
		pb_test_assert_error(pb_cron_next(&c, utc("2026-11-23T03:00Z"),
						  &t),
				     PB_ENOTFOUND,
				     "no time matches in the 10 years after "
				     "2026-11-23T03:00:00Z");
		assert_int_equal(t, 42);
	}
	/* and near the end of time, the search stops at 9999 */
	assert_int_equal(pb_cron_parse(&c, "0 0 1 1 *"), 0);
	pb_test_assert_error(pb_cron_next(&c, utc("9999-06-01T00:00Z"), &t),
			     PB_EINVAL,
			     "cron: the search passed the year 9999");
}

struct time_row {
	const char *text;
	long long t;	 /* when ok */
	const char *msg; /* NULL: ok */
};

static const struct time_row time_rows[] = {
	{ "2026-11-23T03:00:00Z", 1795402800LL, NULL },
	{ "2026-11-23T03:00Z", 1795402800LL, NULL },
	{ "1970-01-01T00:00:00Z", 0, NULL },
	{ "2026-11-23T03:00:00+00:00", 1795402800LL, NULL },
	{ "2026-11-23T03:00+00:00", 1795402800LL, NULL },
	{ "2028-02-29T23:59:59Z", 1835481599LL, NULL },
	{ "2026-11-23T03:00:00+02:00", 0,
	  "'2026-11-23T03:00:00+02:00' has the offset +02:00: prbot schedules "
	  "in UTC, write the time in UTC with a final Z" },
	{ "2026-11-23T03:00-05:00", 0,
	  "'2026-11-23T03:00-05:00' has the offset -05:00: prbot schedules in "
	  "UTC, write the time in UTC with a final Z" },
	{ "2026-11-23T03:00:00", 0,
	  "'2026-11-23T03:00:00' has no time zone: write a final Z for UTC "
	  "(such as 2026-11-23T03:00:00Z)" },
	{ "2027-02-29T00:00:00Z", 0,
	  "expected a UTC time such as 2026-11-23T03:00:00Z or "
	  "2026-11-23T03:00Z, got '2027-02-29T00:00:00Z'" },
	{ "2026-11-23 03:00:00Z", 0,
	  "expected a UTC time such as 2026-11-23T03:00:00Z or "
	  "2026-11-23T03:00Z, got '2026-11-23 03:00:00Z'" },
	{ "2026-11-23T24:00Z", 0,
	  "expected a UTC time such as 2026-11-23T03:00:00Z or "
	  "2026-11-23T03:00Z, got '2026-11-23T24:00Z'" },
	{ "2026-11-23T03:00:00.5Z", 0,
	  "expected a UTC time such as 2026-11-23T03:00:00Z or "
	  "2026-11-23T03:00Z, got '2026-11-23T03:00:00.5Z'" },
	{ "2026-11-23T03:00:00-00:00", 0,
	  "'2026-11-23T03:00:00-00:00' has the offset -00:00: prbot schedules "
	  "in UTC, write the time in UTC with a final Z" },
	{ "2026-11-23T03:00:00Zulu", 0,
	  "expected a UTC time such as 2026-11-23T03:00:00Z or "
	  "2026-11-23T03:00Z, got '2026-11-23T03:00:00Zulu'" },
	{ "tomorrow", 0,
	  "expected a UTC time such as 2026-11-23T03:00:00Z or "
	  "2026-11-23T03:00Z, got 'tomorrow'" },
};

static void test_cron_time_parse_is_utc_only(void **state)
{
	char text[PB_CRON_TIME_LEN];
	size_t i;
	time_t t;

	(void)state;
	for (i = 0; i < sizeof(time_rows) / sizeof(time_rows[0]); i++) {
		const struct time_row *r = &time_rows[i];
		int rc = pb_cron_time_parse(&t, r->text);

		if (!r->msg) {
			if (rc != 0 || (long long)t != r->t)
				fail_msg("'%s': rc %d, %lld, want %lld: %s",
					 r->text, rc, (long long)t, r->t,
					 pb_err_last());
			continue;
		}
		if (rc != PB_EINVAL || strcmp(pb_err_last(), r->msg))
			fail_msg("'%s': rc %d\n want %s\n  got %s", r->text, rc,
				 r->msg, pb_err_last());
	}
	assert_int_equal(pb_cron_time_format(text, 1795402800), 0);
	assert_string_equal(text, "2026-11-23T03:00:00Z");
	assert_int_equal(pb_cron_time_format(text, -1), 0);
	assert_string_equal(text, "1969-12-31T23:59:59Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cron_matches_published_vectors),
		cmocka_unit_test(test_cron_refuses_published_bad_expressions),
		cmocka_unit_test(test_cron_next_table),
		cmocka_unit_test(test_cron_parse_sets_bits_and_stars),
		cmocka_unit_test(test_cron_parse_errors_name_the_field),
		cmocka_unit_test(
			test_cron_unsatisfiable_is_not_found_after_the_horizon),
		cmocka_unit_test(test_cron_time_parse_is_utc_only),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
