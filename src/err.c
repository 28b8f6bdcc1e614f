/* err.c: the per-thread error message behind pb_err_last() */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "prbot/err.h"
#include "banned.h"

#define ERR_MAX 1024

static _Thread_local char err_msg[ERR_MAX];
static _Thread_local int err_isset;

static void err_vset(const char *fmt, va_list ap)
{
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	err_isset = 1;
}

int pb_err_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(fmt, ap);
	va_end(ap);
	return PB_ERROR;
}

int pb_err_setc(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(fmt, ap);
	va_end(ap);
	return code;
}

int pb_err_prefix(int code, const char *fmt, ...)
{
	char old[ERR_MAX];
	size_t n, m;
	va_list ap;

	memcpy(old, err_isset ? err_msg : "unknown error",
	       err_isset ? sizeof(old) : sizeof("unknown error"));
	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	/* "PREFIX: OLD", cut at ERR_MAX */
	n = strlen(err_msg);
	if (n + 2 < sizeof(err_msg)) {
		memcpy(err_msg + n, ": ", 2);
		n += 2;
		m = strnlen(old, sizeof(old) - 1);
		if (m > sizeof(err_msg) - 1 - n)
			m = sizeof(err_msg) - 1 - n;
		memcpy(err_msg + n, old, m);
		err_msg[n + m] = '\0';
	}
	err_isset = 1;
	return code;
}

const char *pb_err_last(void)
{
	return err_isset ? err_msg : "unknown error";
}

void pb_err_clear(void)
{
	err_msg[0] = '\0';
	err_isset = 0;
}
