/* jsonutil.h: small Jansson helpers shared inside src/ */
#ifndef PRBOT_JSONUTIL_H
#define PRBOT_JSONUTIL_H

#include <stddef.h>

#include <jansson.h>

/* What a person calls v's JSON type: "a string", "a list", "null", ... */
const char *pb_json_kind(const json_t *v);

/* words as a compact JSON list of strings (a job's args); caller frees;
   NULL when out of memory. */
char *pb_json_strings(char *const *words, size_t n);

#endif
