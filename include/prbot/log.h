/* log.h: one line per event, level checked before formatting */
#ifndef PRBOT_LOG_H
#define PRBOT_LOG_H

#include <stdio.h>

enum pb_log_level {
	PB_LOG_ERROR = 0,
	PB_LOG_WARN = 1,
	PB_LOG_INFO = 2,
	PB_LOG_DEBUG = 3
};

struct pb_redactor;

/* Messages at or below level go to out (stderr when NULL). */
void pb_log_init(enum pb_log_level level, FILE *out);
enum pb_log_level pb_log_level(void);

/* Every logged line passes through r (borrowed; NULL to stop) first. */
void pb_log_set_redactor(const struct pb_redactor *r);

/* "error", "warn", "info", "debug"; returns 0 or PB_EINVAL. */
int pb_log_level_parse(enum pb_log_level *out, const char *name);

void pb_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pb_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pb_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pb_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pb_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
