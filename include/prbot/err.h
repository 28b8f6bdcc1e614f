/* err.h: error codes and the per-thread error message */
#ifndef PRBOT_ERR_H
#define PRBOT_ERR_H

/*
 * Functions that can fail return int: 0 on success, a negative PB_E* code on
 * failure, with a message for a person set by pb_err_set() in this thread.
 */
enum pb_errcode {
	PB_OK = 0,
	PB_ERROR = -1,	    /* generic failure: the message says what */
	PB_ENOTFOUND = -2,  /* a file, key, ref or object does not exist */
	PB_EPERM = -3,	    /* not allowed */
	PB_ETOOBIG = -4,    /* over a size cap */
	PB_ERATELIMIT = -5, /* an API said to slow down */
	PB_EINVAL = -6,	  /* bad input: the message names file/line or field */
	PB_ETIMEOUT = -7, /* ran out of time */
	PB_ECANCELLED = -8, /* stopped on request */
	PB_EEXISTS = -9,    /* already there */
	PB_EBUSY = -10,	    /* held by someone else: the message names who */
	PB_ECHANGED = -11   /* an input changed while it was read */
};

/* Set this thread's message; returns PB_ERROR so callers can `return`. */
int pb_err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Set this thread's message; returns code. */
int pb_err_setc(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the current message with "PREFIX: " (adds context on the way up). */
int pb_err_prefix(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * This thread's last message, or "unknown error". Borrowed: valid until the
 * next pb_err_* call in this thread.
 */
const char *pb_err_last(void);

void pb_err_clear(void);

#endif
