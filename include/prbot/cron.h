/* cron.h: five-field cron expressions (UTC) and their next fire times */
#ifndef PRBOT_CRON_H
#define PRBOT_CRON_H

#include <stdint.h>
#include <time.h>

/*
 * A parsed expression: one bitset per field, bit N set when value N
 * matches. Day-of-week 7 is stored as 0 (Sunday). dom_star and dow_star
 * say whether the field starts with '*' (stepped or not): only when both
 * day fields are restricted does a day match when EITHER matches; otherwise
 * both must. This is cron's rule (Vixie cron, cronie: the DOM_STAR and
 * DOW_STAR flags); robfig/cron counts a stepped '*' as restricted.
 * Plain data: nothing to free.
 */
struct pb_cron {
	uint64_t minute; /* bits 0-59 */
	uint32_t hour;	 /* bits 0-23 */
	uint32_t dom;	 /* bits 1-31 */
	uint16_t month;	 /* bits 1-12 */
	uint8_t dow;	 /* bits 0-6, Sunday 0 */
	unsigned char dom_star, dow_star;
};

/*
 * How far pb_cron_next() looks: a satisfiable expression fires at least
 * once every 8 years (February 29 across a century year such as 2100).
 */
#define PB_CRON_HORIZON_YEARS 10

/*
 * Parse expr: "minute hour day-of-month month day-of-week" separated by
 * spaces or tabs, each a comma list of '*', N or A-B, any of them with a
 * step /S; N/S runs from N to the field's maximum (as robfig/cron,
 * croniter and Quartz read it; cronie refuses it);
 * JAN-DEC and SUN-SAT in any case, also in ranges; day-of-week 0-7, 7 being
 * Sunday (its maximum for '*' and N/S is 6). Or one of @yearly (@annually),
 * @monthly, @weekly, @daily (@midnight), @hourly.
 * PB_EINVAL with a message naming the field and quoting expr, such as
 * "day-of-month: 32 is out of range 1-31 in '0 0 32 * *'".
 */
int pb_cron_parse(struct pb_cron *out, const char *expr);

/*
 * The first minute strictly after `after` that c matches, in UTC.
 * PB_ENOTFOUND when none comes in the PB_CRON_HORIZON_YEARS years after
 * `after` (such as '0 0 30 2 *'; the search runs to the end of the year
 * PB_CRON_HORIZON_YEARS after after's), PB_EINVAL when it would pass the
 * year 9999 or `after` is outside the years 1-9999.
 */
int pb_cron_next(const struct pb_cron *c, time_t after, time_t *out);

/* Room for "YYYY-MM-DDTHH:MM:SSZ" and its NUL. */
#define PB_CRON_TIME_LEN 21

/* t as "2026-11-23T03:00:00Z" into buf; -1 for a year outside 0-9999. */
int pb_cron_time_format(char buf[PB_CRON_TIME_LEN], time_t t);

/*
 * "2026-11-23T03:00:00Z" or "2026-11-23T03:00Z" (UTC only; +00:00 is
 * taken for Z) into *out;
 * PB_EINVAL with a message quoting s otherwise (another offset is refused
 * by name: convert it to UTC).
 */
int pb_cron_time_parse(time_t *out, const char *s);

#endif
