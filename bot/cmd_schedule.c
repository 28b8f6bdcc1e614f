/* cmd_schedule.c: prbot schedule next, a cron expression's next fire times */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prbot/cron.h"
#include "prbot/err.h"
#include "bot.h"
#include "../src/banned.h"

#define COUNT_DEFAULT 5
#define COUNT_MAX     1000

static const char schedule_usage[] =
	"usage: prbot schedule next \"CRON\" [--from ISO8601] [--count N]\n"
	"\n"
	"Print the next N times (default 5, at most 1000) that CRON fires,\n"
	"strictly after --from (default: now), one a line in UTC such as\n"
	"2026-11-23T03:00:00Z. --from takes 2026-11-23T03:00:00Z or\n"
	"2026-11-23T03:00Z (UTC only; +00:00 is taken for Z).\n"
	"\n"
	"CRON is what [schedule \"NAME\"] cron takes in bot.conf, in UTC:\n"
	"minute hour day-of-month month day-of-week, each '*', N, A-B or a\n"
	"comma list of them, any with a step /S (N/S runs from N to the end);\n"
	"JAN-DEC, SUN-SAT, 0 or 7 for Sunday; when both day fields are\n"
	"restricted a day matching either fires. Or @hourly, @daily, @weekly,\n"
	"@monthly, @yearly. A bad expression exits 2 naming the field.\n";

/* "N" from 1 to COUNT_MAX into *out; -1 otherwise. */
static int parse_count(int *out, const char *s)
{
	int n = 0;

	if (!*s || strlen(s) > 4 || strspn(s, "0123456789") != strlen(s))
		return -1;
	for (; *s; s++)
		n = n * 10 + (*s - '0');
	if (n < 1 || n > COUNT_MAX)
		return -1;
	*out = n;
	return 0;
}

static int print_next(const char *expr, time_t from, int count)
{
	char when[PB_CRON_TIME_LEN];
	struct pb_cron cron;
	time_t t = from;
	int i;

	if (pb_cron_parse(&cron, expr) < 0) {
		bot_error("schedule: %s", pb_err_last());
		return EXIT_USAGE;
	}
	for (i = 0; i < count; i++) {
		int rc = pb_cron_next(&cron, t, &t);

		if (rc == PB_ENOTFOUND) {
			bot_error("schedule: '%s' never fires: %s", expr,
				  pb_err_last());
			return EXIT_USAGE;
		}
		if (rc < 0 || pb_cron_time_format(when, t) < 0) {
			bot_error("schedule: %s", pb_err_last());
			return EXIT_USAGE;
		}
		printf("%s\n", when);
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
}

static int cmd_schedule_next(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int c, count = COUNT_DEFAULT;
	time_t from = time(NULL);

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f') {
			if (pb_cron_time_parse(&from, optarg) < 0) {
				bot_error("schedule: --from: %s",
					  pb_err_last());
				return EXIT_USAGE;
			}
		} else if (c == 'n') {
			if (parse_count(&count, optarg) < 0) {
				bot_error("schedule: --count: expected a "
					  "whole number from 1 to %d, got "
					  "'%s'",
					  COUNT_MAX, optarg);
				return EXIT_USAGE;
			}
		} else {
			bot_error("schedule: unknown or incomplete option "
				  "'%s': see 'prbot schedule --help'",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		bot_error("schedule: next: missing the cron expression, such "
			  "as prbot schedule next \"0 3 * * *\"");
		return EXIT_USAGE;
	}
	if (argc - optind > 1) {
		bot_error("schedule: next: expected one cron expression in "
			  "quotes, got %d arguments: write prbot schedule "
			  "next \"0 3 * * *\"",
			  argc - optind);
		return EXIT_USAGE;
	}
	return print_next(argv[optind], from, count);
}

int cmd_schedule(int argc, char **argv)
{
	if (bot_wants_help(argc, argv)) {
		fputs(schedule_usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "next")) {
		bot_error(
			"schedule: %s%s%s: use 'prbot schedule next \"CRON\"' "
			"(see 'prbot schedule --help')",
			argc < 2 ? "missing subcommand" :
				   "unknown subcommand '",
			argc < 2 ? "" : argv[1], argc < 2 ? "" : "'");
		return EXIT_USAGE;
	}
	return cmd_schedule_next(argc - 1, argv + 1);
}
