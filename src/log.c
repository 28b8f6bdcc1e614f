/* log.c: the pb_log_* family (relayd-style), every line redacted */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prbot/err.h"
#include "prbot/log.h"
#include "prbot/redact.h"
#include "banned.h"

/* Process-wide by nature, like stderr itself: set once at start-up. */
static enum pb_log_level log_level = PB_LOG_INFO;
static FILE *log_out;
static const struct pb_redactor *log_redactor;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void pb_log_init(enum pb_log_level level, FILE *out)
{
	log_level = level;
	log_out = out;
}

enum pb_log_level pb_log_level(void)
{
	return log_level;
}

void pb_log_set_redactor(const struct pb_redactor *r)
{
	log_redactor = r;
}

int pb_log_level_parse(enum pb_log_level *out, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(name, level_names[i])) {
			*out = (enum pb_log_level)i;
			return 0;
		}
	}
	return pb_err_setc(
		PB_EINVAL,
		"unknown log level '%s': use error, warn, info or debug", name);
}

static void log_vwrite(enum pb_log_level level, const char *errtext,
		       const char *fmt, va_list ap)
{
	struct pb_buf line = PB_BUF_INIT;
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	FILE *out = log_out ? log_out : stderr;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (pb_buf_printf(&line, "%s %s ", stamp, level_names[level]) < 0 ||
	    pb_buf_vprintf(&line, fmt, ap) < 0)
		goto out;
	if (errtext && pb_buf_printf(&line, ": %s", errtext) < 0)
		goto out;
	if (pb_redact_buf(log_redactor, &line) < 0)
		goto out;
	fprintf(out, "%s\n", pb_buf_cstr(&line));
	fflush(out);
out:
	pb_buf_release(&line);
}

#define LOG_BODY(level, errtext)                         \
	do {                                             \
		va_list ap;                              \
		if ((level) > log_level)                 \
			return;                          \
		va_start(ap, fmt);                       \
		log_vwrite((level), (errtext), fmt, ap); \
		va_end(ap);                              \
	} while (0)

void pb_log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(PB_LOG_WARN, e);
}

void pb_log_warnx(const char *fmt, ...)
{
	LOG_BODY(PB_LOG_WARN, NULL);
}

void pb_log_error(const char *fmt, ...)
{
	LOG_BODY(PB_LOG_ERROR, NULL);
}

void pb_log_info(const char *fmt, ...)
{
	LOG_BODY(PB_LOG_INFO, NULL);
}

void pb_log_debug(const char *fmt, ...)
{
	LOG_BODY(PB_LOG_DEBUG, NULL);
}
