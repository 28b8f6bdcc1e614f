/* jsonutil.h: small Jansson helpers shared inside src/ */
#ifndef PRBOT_JSONUTIL_H
#define PRBOT_JSONUTIL_H

#include <jansson.h>

/* What a person calls v's JSON type: "a string", "a list", "null", ... */
const char *pb_json_kind(const json_t *v);

#endif
