/* suggest.h: "did you mean ...?" for mistyped keys and command names */
#ifndef PRBOT_SUGGEST_H
#define PRBOT_SUGGEST_H

#include <stddef.h>

/* Optimal string alignment distance (a swapped pair is one edit);
 * SIZE_MAX for words of 32 bytes or more. */
size_t pb_edit_distance(const char *a, const char *b);

/*
 * Whether typed is close enough to known to be a typo of it (at most 2
 * edits, and fewer than half of known) and closer than *best, which is then
 * updated. Start with *best = SIZE_MAX and keep the last known that matched.
 */
int pb_suggest_close(const char *typed, const char *known, size_t *best);

#endif
