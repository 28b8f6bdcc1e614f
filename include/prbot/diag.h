/* diag.h: a list of "FILE:LINE: message" problems found in an input file */
#ifndef PRBOT_DIAG_H
#define PRBOT_DIAG_H

#include <stddef.h>

struct pb_diag {
	char *file; /* owned */
	int line;   /* 0: the whole file */
	char *msg;  /* owned */
};

struct pb_diags {
	struct pb_diag *v;
	size_t n;
	size_t alloc;
};

#define PB_DIAGS_INIT      \
	{                  \
		NULL, 0, 0 \
	}

/* Append one problem; returns PB_EINVAL (so parsers can return it). */
int pb_diag_add(struct pb_diags *d, const char *file, int line, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));

/* "FILE:LINE: message" (or "FILE: message" when line is 0), caller frees. */
char *pb_diag_format(const struct pb_diag *d);

void pb_diags_release(struct pb_diags *d);

#endif
