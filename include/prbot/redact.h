/* redact.h: mask secret values and token shapes in text before it leaves */
#ifndef PRBOT_REDACT_H
#define PRBOT_REDACT_H

#include "prbot/buf.h"

/*
 * A redactor knows the configured secret values (it keeps its own copies)
 * and the common token shapes (GitHub ghp_/gho_/ghs_/ghu_/ghr_/github_pat_,
 * Slack xox?-, AWS AKIA/ASIA key ids, "Bearer ..." and PEM private keys).
 * Every match is replaced by "[REDACTED]".
 */
struct pb_redactor;

int pb_redactor_new(struct pb_redactor **out);
void pb_redactor_free(struct pb_redactor *r);

/* Values shorter than 6 bytes are refused with PB_EINVAL (too many hits). */
int pb_redactor_add(struct pb_redactor *r, const char *secret);

/* Redact text in place; r may be NULL (token shapes are still masked). */
int pb_redact_buf(const struct pb_redactor *r, struct pb_buf *text);

/* A redacted copy of s (caller frees), or NULL when out of memory. */
char *pb_redact_str(const struct pb_redactor *r, const char *s);

#endif
