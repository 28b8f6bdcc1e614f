/* buf.c: growable buffer with an optional size cap */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "banned.h"

void pb_buf_init(struct pb_buf *b, size_t cap)
{
	b->ptr = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

static int buf_grow(struct pb_buf *b, size_t extra)
{
	size_t want, n;
	char *p;

	if (b->cap && (extra > b->cap || b->len > b->cap - extra)) {
		pb_buf_release(b);
		return pb_err_setc(PB_ETOOBIG, "text is over its %zu-byte cap",
				   b->cap);
	}
	if (extra > (size_t)-1 / 2 - b->len) {
		pb_buf_release(b);
		return pb_err_setc(PB_ETOOBIG, "text is too large");
	}
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n < want)
		n *= 2;
	p = realloc(b->ptr, n);
	if (!p) {
		pb_buf_release(b);
		return pb_err_set("out of memory");
	}
	b->ptr = p;
	b->alloc = n;
	return 0;
}

int pb_buf_add(struct pb_buf *b, const void *data, size_t len)
{
	int rc;

	if ((rc = buf_grow(b, len)) < 0)
		return rc;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int pb_buf_puts(struct pb_buf *b, const char *s)
{
	return pb_buf_add(b, s, strlen(s));
}

int pb_buf_putc(struct pb_buf *b, char c)
{
	return pb_buf_add(b, &c, 1);
}

int pb_buf_vprintf(struct pb_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return pb_err_set("cannot format text");
	if ((rc = buf_grow(b, (size_t)n)) < 0)
		return rc;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int pb_buf_printf(struct pb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = pb_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

const char *pb_buf_cstr(const struct pb_buf *b)
{
	return b->ptr ? b->ptr : "";
}

void pb_buf_reset(struct pb_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void pb_buf_consume(struct pb_buf *b, size_t n)
{
	if (n >= b->len) {
		pb_buf_reset(b);
		return;
	}
	memmove(b->ptr, b->ptr + n, b->len - n);
	b->len -= n;
	b->ptr[b->len] = '\0';
}

char *pb_buf_detach(struct pb_buf *b)
{
	char *p = b->ptr;

	if (!p)
		p = calloc(1, 1);
	b->ptr = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}

void pb_buf_release(struct pb_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = 0;
	b->alloc = 0;
}

int pb_buf_read_file(struct pb_buf *out, const char *path, size_t max)
{
	char chunk[16384];
	FILE *f;
	size_t n;
	int rc = 0;

	pb_buf_init(out, max);
	if (!(f = fopen(path, "rbe")))
		return pb_err_setc(errno == ENOENT ? PB_ENOTFOUND : PB_ERROR,
				   "%s", strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((rc = pb_buf_add(out, chunk, n)) < 0)
			break;
	if (rc == 0 && ferror(f))
		rc = pb_err_set("%s", strerror(errno));
	fclose(f);
	return rc;
}
