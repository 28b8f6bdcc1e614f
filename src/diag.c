/* diag.c: collect problems found in input files, with their place */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/buf.h"
#include "prbot/diag.h"
#include "prbot/err.h"
#include "banned.h"

int pb_diag_add(struct pb_diags *d, const char *file, int line, const char *fmt,
		...)
{
	struct pb_buf msg = PB_BUF_INIT;
	struct pb_diag *v;
	char *f;
	va_list ap;

	if (d->n == d->alloc) {
		size_t n = d->alloc ? d->alloc * 2 : 8;

		v = realloc(d->v, n * sizeof(*v));
		if (!v)
			return PB_EINVAL;
		d->v = v;
		d->alloc = n;
	}
	va_start(ap, fmt);
	if (pb_buf_vprintf(&msg, fmt, ap) < 0) {
		va_end(ap);
		return PB_EINVAL;
	}
	va_end(ap);
	f = strdup(file ? file : "-");
	if (!f) {
		pb_buf_release(&msg);
		return PB_EINVAL;
	}
	d->v[d->n].file = f;
	d->v[d->n].line = line;
	d->v[d->n].msg = pb_buf_detach(&msg);
	d->n++;
	return PB_EINVAL;
}

char *pb_diag_format(const struct pb_diag *d)
{
	struct pb_buf b = PB_BUF_INIT;

	if (d->line > 0)
		pb_buf_printf(&b, "%s:%d: %s", d->file, d->line, d->msg);
	else
		pb_buf_printf(&b, "%s: %s", d->file, d->msg);
	return pb_buf_detach(&b);
}

void pb_diags_release(struct pb_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
	d->alloc = 0;
}
