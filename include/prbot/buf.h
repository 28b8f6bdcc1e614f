/* buf.h: the one growable text/byte buffer */
#ifndef PRBOT_BUF_H
#define PRBOT_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * ptr is always NUL-terminated when non-NULL. cap bounds len (0: no bound);
 * a buffer filled from the network or a child process is created with a cap.
 * An append that would pass the cap, or that cannot allocate, releases the
 * buffer and fails with PB_ETOOBIG or PB_ERROR (as curl's dynbuf does), so a
 * half-built text is never used by mistake.
 */
struct pb_buf {
	char *ptr;
	size_t len;
	size_t alloc;
	size_t cap;
};

#define PB_BUF_INIT           \
	{                     \
		NULL, 0, 0, 0 \
	}

void pb_buf_init(struct pb_buf *b, size_t cap);
int pb_buf_add(struct pb_buf *b, const void *data, size_t len);
int pb_buf_puts(struct pb_buf *b, const char *s);
int pb_buf_putc(struct pb_buf *b, char c);
int pb_buf_printf(struct pb_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int pb_buf_vprintf(struct pb_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* The text, or "" when empty. Borrowed until the next change to b. */
const char *pb_buf_cstr(const struct pb_buf *b);

/* Empty the buffer, keep the memory and the cap. */
void pb_buf_reset(struct pb_buf *b);

/* Drop the first n bytes (keeps a tail). */
void pb_buf_consume(struct pb_buf *b, size_t n);

/* Hand ptr to the caller (free() it); b is left empty. Never NULL. */
char *pb_buf_detach(struct pb_buf *b);

/* Free the memory; b is left empty with its cap kept. */
void pb_buf_release(struct pb_buf *b);

/*
 * The whole of the file at path into out, initialised here with cap max:
 * PB_ENOTFOUND when it does not exist, PB_ETOOBIG when it is larger than
 * max, PB_ERROR otherwise; the message is strerror's (callers add the file).
 * out is the caller's to release whatever the result.
 */
int pb_buf_read_file(struct pb_buf *out, const char *path, size_t max);

#endif
