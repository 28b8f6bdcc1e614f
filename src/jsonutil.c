/* jsonutil.c: small Jansson helpers shared inside src/ */
#include "jsonutil.h"
#include "banned.h"

const char *pb_json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "an unknown value";
}

char *pb_json_strings(char *const *words, size_t n)
{
	json_t *a = json_array();
	char *s = NULL;
	size_t i;
	int bad = !a;

	for (i = 0; !bad && i < n; i++)
		bad = json_array_append_new(a, json_string(words[i])) < 0;
	if (!bad)
		s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}
