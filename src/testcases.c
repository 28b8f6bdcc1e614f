/* testcases.c: TEST_CASES.json read, validated, and each case judged */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/evaluate.h"
#include "jsonutil.h"
#include "banned.h"

#define CASES_FILE_MAX (64 * 1024 * 1024)
#define ACTUAL_MAX     500 /* bytes of output kept in a result */
#define QUOTE_MAX      80  /* bytes of non-JSON output quoted in an error */
#define VALUE_MAX      200 /* bytes of a value quoted in an error */
#define STDERR_MAX     300 /* bytes of the last stderr line */

static const char *const case_type_names[] = {
	[PB_CASE_EXACT_MATCH] = "EXACT_MATCH",
	[PB_CASE_GREATER_OR_EQUAL] = "GREATER_OR_EQUAL",
	[PB_CASE_LESS_OR_EQUAL] = "LESS_OR_EQUAL",
	[PB_CASE_NO_EXCEPTION] = "NO_EXCEPTION",
	[PB_CASE_EXCEPTION] = "EXCEPTION",
};

#define N_CASE_TYPES (sizeof(case_type_names) / sizeof(case_type_names[0]))

static const char *const case_keys[] = { "case_name", "input",
					 "expected_output", "type", "tree" };

const char *pb_case_type_name(enum pb_case_type t)
{
	if ((size_t)t < N_CASE_TYPES)
		return case_type_names[t];
	return "UNKNOWN";
}

/* ---- reading and validating ---- */

/*
 * Jansson keeps no positions for values, so the line of a case is found by
 * scanning the (already valid) text for the start of the idx-th element of
 * the top-level list. Returns 0 when it cannot be found.
 */
static int case_line(const char *text, size_t len, size_t idx)
{
	int line = 1, in_str = 0, esc = 0, want = 0;
	size_t i, depth = 0, seen = 0;
	char c;

	for (i = 0; i < len; i++) {
		c = text[i];
		if (c == '\n')
			line++;
		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (isspace((unsigned char)c))
			continue;
		if (depth == 1 && want && c != ']') {
			if (seen++ == idx)
				return line;
			want = 0;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (depth++ == 0)
				want = 1;
		} else if (c == ']' || c == '}') {
			depth--;
		} else if (c == ',' && depth == 1) {
			want = 1;
		}
	}
	return 0;
}

struct parse_ctx {
	const char *text;
	size_t len;
	const char *file;
};

/* "TEST_CASES.json:14: case 3 ('tall'): " then the reason. */
static int case_fail(const struct parse_ctx *p, size_t idx, const char *name,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int case_fail(const struct parse_ctx *p, size_t idx, const char *name,
		     const char *fmt, ...)
{
	struct pb_buf b = PB_BUF_INIT;
	int line = case_line(p->text, p->len, idx);
	va_list ap;
	int rc;

	if (line)
		rc = pb_buf_printf(&b, "%s:%d: case %zu", p->file, line,
				   idx + 1);
	else
		rc = pb_buf_printf(&b, "%s: case %zu", p->file, idx + 1);
	if (rc == 0 && name)
		rc = pb_buf_printf(&b, " ('%s')", name);
	if (rc == 0)
		rc = pb_buf_puts(&b, ": ");
	if (rc == 0) {
		va_start(ap, fmt);
		rc = pb_buf_vprintf(&b, fmt, ap);
		va_end(ap);
	}
	if (rc == 0)
		rc = pb_err_setc(PB_EINVAL, "%s", pb_buf_cstr(&b));
	pb_buf_release(&b);
	return rc;
}

static void case_release(struct pb_test_case *tc)
{
	size_t i;

	free(tc->name);
	json_decref(tc->input);
	json_decref(tc->expected);
	for (i = 0; i < tc->n_tree; i++)
		free(tc->tree[i]);
	free(tc->tree);
	memset(tc, 0, sizeof(*tc));
}

static int check_keys(const struct parse_ctx *p, size_t idx, const char *name,
		      json_t *obj)
{
	const char *key;
	void *it;
	size_t i;

	for (it = json_object_iter(obj); it;
	     it = json_object_iter_next(obj, it)) {
		key = json_object_iter_key(it);
		for (i = 0; i < sizeof(case_keys) / sizeof(case_keys[0]); i++)
			if (!strcmp(key, case_keys[i]))
				break;
		if (i == sizeof(case_keys) / sizeof(case_keys[0]))
			return case_fail(p, idx, name,
					 "unknown key '%s' (the keys are "
					 "case_name, input, expected_output, "
					 "type, tree)",
					 key);
	}
	return 0;
}

static int parse_type(const struct parse_ctx *p, size_t idx, const char *name,
		      const json_t *v, enum pb_case_type *out)
{
	size_t t;

	*out = PB_CASE_EXACT_MATCH;
	if (!v)
		return 0;
	for (t = 0; json_is_string(v) && t < N_CASE_TYPES; t++)
		if (!strcmp(json_string_value(v), case_type_names[t])) {
			*out = (enum pb_case_type)t;
			return 0;
		}
	if (json_is_string(v))
		return case_fail(p, idx, name,
				 "'type' must be one of EXACT_MATCH, "
				 "GREATER_OR_EQUAL, LESS_OR_EQUAL, "
				 "NO_EXCEPTION, EXCEPTION, got '%s'",
				 json_string_value(v));
	return case_fail(p, idx, name,
			 "'type' must be one of EXACT_MATCH, GREATER_OR_EQUAL, "
			 "LESS_OR_EQUAL, NO_EXCEPTION, EXCEPTION, got %s",
			 pb_json_kind(v));
}

static int parse_tree(const struct parse_ctx *p, size_t idx,
		      struct pb_test_case *tc, const json_t *tree)
{
	char num[32];
	const char *key;
	json_t *k;
	size_t i;

	if (!tree)
		return 0;
	if (!json_is_array(tree))
		return case_fail(p, idx, tc->name,
				 "'tree' must be a list of keys, got %s",
				 pb_json_kind(tree));
	if (!json_array_size(tree))
		return 0;
	tc->tree = calloc(json_array_size(tree), sizeof(*tc->tree));
	if (!tc->tree)
		return pb_err_set("out of memory");
	for (i = 0; i < json_array_size(tree); i++) {
		k = json_array_get(tree, i);
		if (json_is_string(k)) {
			key = json_string_value(k);
		} else if (json_is_integer(k) && json_integer_value(k) >= 0) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(k));
			key = num;
		} else {
			return case_fail(p, idx, tc->name,
					 "'tree' item %zu must be a string "
					 "(object key) or a non-negative "
					 "integer (list index), got %s",
					 i + 1,
					 json_is_integer(k) ?
						 "a negative number" :
						 pb_json_kind(k));
		}
		if (!(tc->tree[i] = strdup(key)))
			return pb_err_set("out of memory");
		tc->n_tree++;
	}
	return 0;
}

static int parse_expected(const struct parse_ctx *p, size_t idx,
			  struct pb_test_case *tc, json_t *expected)
{
	int numeric = tc->type == PB_CASE_GREATER_OR_EQUAL ||
		      tc->type == PB_CASE_LESS_OR_EQUAL;

	if (!expected && (numeric || tc->type == PB_CASE_EXACT_MATCH))
		return case_fail(p, idx, tc->name,
				 "'expected_output' is missing (%s needs "
				 "it)",
				 pb_case_type_name(tc->type));
	if (numeric && !json_is_number(expected))
		return case_fail(p, idx, tc->name,
				 "'expected_output' must be a number for %s, "
				 "got %s",
				 pb_case_type_name(tc->type),
				 pb_json_kind(expected));
	tc->expected = json_incref(expected);
	return 0;
}

/* Names seen so far map to their 1-based case number, to name the first. */
static int parse_case(const struct parse_ctx *p, size_t idx, json_t *obj,
		      json_t *names, struct pb_test_case *tc)
{
	const json_t *name, *input, *first;
	int rc;

	if (!json_is_object(obj))
		return case_fail(p, idx, NULL,
				 "expected an object with case_name and "
				 "input, got %s",
				 pb_json_kind(obj));
	name = json_object_get(obj, "case_name");
	/* a usable name labels the messages about the other keys */
	if ((rc = check_keys(
		     p, idx,
		     json_string_length(name) ? json_string_value(name) : NULL,
		     obj)) < 0)
		return rc;
	if (!name)
		return case_fail(p, idx, NULL,
				 "'case_name' is missing: give each case a "
				 "unique name");
	if (!json_is_string(name) || !json_string_length(name))
		return case_fail(p, idx, NULL,
				 "'case_name' must be a non-empty string, "
				 "got %s",
				 json_is_string(name) ? "an empty one" :
							pb_json_kind(name));
	if ((first = json_object_get(names, json_string_value(name))))
		return case_fail(p, idx, json_string_value(name),
				 "'case_name' is already used by case %zu: "
				 "give each case a unique name",
				 (size_t)json_integer_value(first));
	if (json_object_set_new(names, json_string_value(name),
				json_integer((json_int_t)idx + 1)) < 0)
		return pb_err_set("out of memory");
	if (!(tc->name = strdup(json_string_value(name))))
		return pb_err_set("out of memory");
	if (!(input = json_object_get(obj, "input")))
		return case_fail(p, idx, tc->name,
				 "'input' is missing (the JSON written to "
				 "predict's stdin)");
	tc->input = json_incref((json_t *)input);
	if ((rc = parse_type(p, idx, tc->name, json_object_get(obj, "type"),
			     &tc->type)) < 0 ||
	    (rc = parse_expected(p, idx, tc,
				 json_object_get(obj, "expected_output"))) < 0)
		return rc;
	return parse_tree(p, idx, tc, json_object_get(obj, "tree"));
}

int pb_test_cases_parse(struct pb_test_cases *out, const char *text, size_t len,
			const char *file)
{
	struct parse_ctx p = { text, len, file ? file : "TEST_CASES.json" };
	struct pb_test_cases c = { NULL, 0 };
	json_t *root = NULL, *names = NULL, *item;
	json_error_t jerr;
	size_t i;
	int rc = 0;

	out->v = NULL;
	out->n = 0;
	root = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!root) {
		rc = pb_err_setc(PB_EINVAL, "%s:%d: %s", p.file,
				 jerr.line > 0 ? jerr.line : 1, jerr.text);
		goto out;
	}
	if (!json_is_array(root)) {
		rc = pb_err_setc(PB_EINVAL,
				 "%s: expected a list of test cases "
				 "([{\"case_name\": ..., \"input\": ...}]), "
				 "got %s",
				 p.file, pb_json_kind(root));
		goto out;
	}
	names = json_object();
	c.v = calloc(json_array_size(root) ? json_array_size(root) : 1,
		     sizeof(*c.v));
	if (!names || !c.v) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	for (i = 0; i < json_array_size(root); i++) {
		item = json_array_get(root, i);
		/* counted first so a half-built case is released too */
		c.n++;
		if ((rc = parse_case(&p, i, item, names, &c.v[i])) < 0)
			goto out;
	}
	*out = c;
	c.v = NULL;
	c.n = 0;
out:
	pb_test_cases_release(&c);
	json_decref(names);
	json_decref(root);
	return rc;
}

int pb_test_cases_load(struct pb_test_cases *out, const char *path)
{
	struct pb_buf text;
	int rc;

	out->v = NULL;
	out->n = 0;
	rc = pb_buf_read_file(&text, path, CASES_FILE_MAX);
	if (rc == PB_ENOTFOUND)
		rc = pb_err_setc(PB_ENOTFOUND, "test cases file '%s' not found",
				 path);
	else if (rc == PB_ETOOBIG)
		rc = pb_err_prefix(rc, "test cases file '%s'", path);
	else if (rc < 0)
		rc = pb_err_prefix(rc, "cannot read test cases file '%s'",
				   path);
	else
		rc = pb_test_cases_parse(out, pb_buf_cstr(&text), text.len,
					 path);
	pb_buf_release(&text);
	return rc;
}

void pb_test_cases_release(struct pb_test_cases *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		case_release(&c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* ---- judging ---- */

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), or 0. Results
 * end up in json_pack("s") for the report, which refuses invalid UTF-8, and
 * predict may print anything.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/*
 * Up to max bytes of s[0..n) as one line of valid UTF-8: control characters
 * become spaces, invalid bytes '?', and "..." marks a cut.
 */
static int put_excerpt(struct pb_buf *b, const char *s, size_t n, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, used = 0;
	int rc = 0;

	while (rc == 0 && i < n) {
		k = utf8_len(u + i, n - i);
		if (used + (k ? k : 1) > max)
			return pb_buf_puts(b, "...");
		if (!k)
			rc = pb_buf_putc(b, '?');
		else if (k == 1 && (u[i] < 0x20 || u[i] == 0x7f))
			rc = pb_buf_putc(b, ' ');
		else
			rc = pb_buf_add(b, s + i, k);
		i += k ? k : 1;
		used += k ? k : 1;
	}
	return rc;
}

/* put_excerpt of s without its surrounding blank space; s may be NULL. */
static int put_text(struct pb_buf *b, const char *s, size_t max)
{
	size_t n;

	if (!s)
		return 0;
	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return put_excerpt(b, s, n, max);
}

/* The last non-blank line of stderr: a traceback ends with its reason. */
static void last_line(const char *s, size_t *start, size_t *len)
{
	size_t end = s ? strlen(s) : 0, b;

	while (end && isspace((unsigned char)s[end - 1]))
		end--;
	b = end;
	while (b && s[b - 1] != '\n')
		b--;
	while (b < end && isspace((unsigned char)s[b]))
		b++;
	*start = b;
	*len = end - b;
}

static int numbers_equal(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	return json_number_value(a) == json_number_value(b);
}

/* json_equal, except that numbers compare by value: 1 == 1.0. */
static int values_equal(const json_t *a, const json_t *b)
{
	const json_t *vb;
	void *it;
	size_t i;

	if (json_is_number(a) && json_is_number(b))
		return numbers_equal(a, b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!values_equal(json_array_get(a, i),
					  json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		for (it = json_object_iter((json_t *)a); it;
		     it = json_object_iter_next((json_t *)a, it)) {
			vb = json_object_get(b, json_object_iter_key(it));
			if (!vb ||
			    !values_equal(json_object_iter_value(it), vb))
				return 0;
		}
		return 1;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

/*
 * Compact JSON with the fewest real digits (15, 16 or 17) that read back as
 * the same value, so 0.9 shows as 0.9 and 0.1+0.2 as 0.30000000000000004.
 */
static char *dump_value(const json_t *v)
{
	size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
	json_t *back;
	char *s;
	int prec;

	for (prec = 15; prec < 17; prec++) {
		if (!(s = json_dumps(v, flags | JSON_REAL_PRECISION(prec))))
			return NULL;
		back = json_loads(s, JSON_DECODE_ANY, NULL);
		if (back && values_equal(v, back)) {
			json_decref(back);
			return s;
		}
		json_decref(back);
		free(s);
	}
	return json_dumps(v, flags | JSON_REAL_PRECISION(17));
}

/* Compact JSON of v, cut to max bytes. */
static int put_value(struct pb_buf *b, const json_t *v, size_t max)
{
	char *s = dump_value(v);
	int rc;

	if (!s)
		return pb_err_set("out of memory");
	rc = put_excerpt(b, s, strlen(s), max);
	free(s);
	return rc;
}

static int put_tree(struct pb_buf *b, const struct pb_test_case *tc,
		    size_t upto)
{
	json_t *a = json_array(), *k;
	size_t i;
	int rc;

	for (i = 0; a && i < upto; i++) {
		k = json_string(tc->tree[i]);
		if (!k || json_array_append_new(a, k) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	if (!a)
		return pb_err_set("out of memory");
	rc = put_value(b, a, VALUE_MAX);
	json_decref(a);
	return rc;
}

/* A decimal list index, or -1. */
static long long tree_index(const char *key)
{
	long long n = 0;

	if (!*key || strlen(key) > 18)
		return -1;
	for (; *key; key++) {
		if (!isdigit((unsigned char)*key))
			return -1;
		n = n * 10 + (*key - '0');
	}
	return n;
}

/* Walk tc->tree from root; on a miss, describe it in err and return NULL. */
static const json_t *walk_tree(const struct pb_test_case *tc,
			       const json_t *root, struct pb_buf *err, int *rc)
{
	const json_t *cur = root, *next;
	long long ix;
	size_t i;

	*rc = 0;
	for (i = 0; i < tc->n_tree; i++) {
		next = NULL;
		if (json_is_object(cur)) {
			next = json_object_get(cur, tc->tree[i]);
		} else if (json_is_array(cur)) {
			ix = tree_index(tc->tree[i]);
			if (ix >= 0 && (size_t)ix < json_array_size(cur))
				next = json_array_get(cur, (size_t)ix);
		}
		if (next) {
			cur = next;
			continue;
		}
		if ((*rc = pb_buf_printf(err, "key '%s' not found at tree ",
					 tc->tree[i])) < 0 ||
		    (*rc = put_tree(err, tc, tc->n_tree)) < 0)
			return NULL;
		if (json_is_array(cur))
			*rc = pb_buf_printf(err,
					    ": the value there is a list "
					    "of length %zu",
					    json_array_size(cur));
		else if (!json_is_object(cur))
			*rc = pb_buf_printf(err, ": the value there is %s",
					    pb_json_kind(cur));
		return NULL;
	}
	return cur;
}

struct judge {
	const struct pb_test_case *tc;
	const struct pb_predict_outcome *o;
	json_t *output; /* stdout parsed, or NULL */
	struct pb_buf actual, error;
	int passed;
};

/* "raised: ValueError: ..." or "exited with status 1". */
static int describe_exit(struct pb_buf *b, const struct pb_predict_outcome *o)
{
	size_t start, len;
	int rc;

	last_line(o->stderr_tail, &start, &len);
	if (len) {
		if ((rc = pb_buf_puts(b, "raised: ")) < 0)
			return rc;
		return put_excerpt(b, o->stderr_tail + start, len, STDERR_MAX);
	}
	if (o->exit_code < 0)
		return pb_buf_puts(b, "killed or could not start");
	return pb_buf_printf(b, "exited with status %d", o->exit_code);
}

/* predict failed where it should have answered. */
static int judge_crash(struct judge *j)
{
	const struct pb_predict_outcome *o = j->o;
	size_t start, len;
	int rc;

	last_line(o->stderr_tail, &start, &len);
	if (o->exit_code < 0)
		rc = pb_buf_puts(&j->error, "predict was killed or could not "
					    "start");
	else
		rc = pb_buf_printf(&j->error, "predict exited with status %d",
				   o->exit_code);
	if (rc == 0 && len && (rc = pb_buf_puts(&j->error, ": ")) == 0)
		rc = put_excerpt(&j->error, o->stderr_tail + start, len,
				 STDERR_MAX);
	return rc < 0 ? rc : describe_exit(&j->actual, o);
}

static int judge_exception(struct judge *j)
{
	int rc;

	if (j->o->exit_code != 0) {
		j->passed = 1;
		return describe_exit(&j->actual, j->o);
	}
	rc = pb_buf_puts(&j->error, "predict exited 0, expected it to fail on "
				    "this input");
	if (rc == 0 && j->output)
		rc = put_value(&j->actual, j->output, ACTUAL_MAX);
	else if (rc == 0)
		rc = put_text(&j->actual, j->o->stdout_text, ACTUAL_MAX);
	return rc;
}

/* "expected >= 0.8 got 0.5": what the case wanted, then what came. */
static int put_mismatch(struct pb_buf *b, const char *op,
			const json_t *expected, const json_t *got)
{
	int rc;

	if ((rc = pb_buf_printf(b, "expected %s", op)) < 0 ||
	    (rc = put_value(b, expected, VALUE_MAX)) < 0 ||
	    (rc = pb_buf_puts(b, " got ")) < 0)
		return rc;
	if (got)
		return put_value(b, got, VALUE_MAX);
	return 0;
}

static int judge_compare(struct judge *j, const json_t *v)
{
	const struct pb_test_case *tc = j->tc;
	const char *op = tc->type == PB_CASE_GREATER_OR_EQUAL ? ">= " : "<= ";
	double got, want;
	int rc;

	if (tc->type == PB_CASE_NO_EXCEPTION) {
		j->passed = 1;
		return 0;
	}
	if (tc->type == PB_CASE_EXACT_MATCH) {
		if ((j->passed = values_equal(v, tc->expected)))
			return 0;
		return put_mismatch(&j->error, "", tc->expected, v);
	}
	if (!json_is_number(v)) {
		if ((rc = put_mismatch(&j->error, op, tc->expected, NULL)) < 0)
			return rc;
		return pb_buf_printf(&j->error, "%s, not a number",
				     pb_json_kind(v));
	}
	got = json_number_value(v);
	want = json_number_value(tc->expected);
	j->passed = tc->type == PB_CASE_GREATER_OR_EQUAL ? got >= want :
							   got <= want;
	if (j->passed)
		return 0;
	return put_mismatch(&j->error, op, tc->expected, v);
}

static int judge_output(struct judge *j)
{
	const char *text = j->o->stdout_text ? j->o->stdout_text : "";
	const json_t *v;
	int rc;

	if (!j->output && !text[strspn(text, " \t\r\n")])
		return pb_buf_puts(&j->error, "predict printed nothing on "
					      "stdout, expected JSON");
	if (!j->output) {
		if ((rc = pb_buf_puts(&j->error, "output is not JSON: ")) < 0 ||
		    (rc = put_text(&j->error, text, QUOTE_MAX)) < 0)
			return rc;
		return put_text(&j->actual, text, ACTUAL_MAX);
	}
	v = walk_tree(j->tc, j->output, &j->error, &rc);
	if (!v)
		return rc ? rc : put_value(&j->actual, j->output, ACTUAL_MAX);
	if ((rc = put_value(&j->actual, v, ACTUAL_MAX)) < 0)
		return rc;
	return judge_compare(j, v);
}

static int judge_run(struct judge *j)
{
	const char *text = j->o->stdout_text ? j->o->stdout_text : "";

	/* the whole of stdout is the answer: surrounding spaces allowed */
	j->output = json_loads(text, JSON_DECODE_ANY, NULL);
	if (j->tc->type == PB_CASE_EXCEPTION)
		return judge_exception(j);
	if (j->o->exit_code != 0)
		return judge_crash(j);
	return judge_output(j);
}

int pb_test_case_judge(struct pb_case_result *out,
		       const struct pb_test_case *tc,
		       const struct pb_predict_outcome *o)
{
	struct judge j = { tc, o, NULL, PB_BUF_INIT, PB_BUF_INIT, 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	out->type = tc->type;
	if (!(out->name = strdup(tc->name))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	if (tc->expected && !(out->expected = dump_value(tc->expected))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	if ((rc = judge_run(&j)) < 0)
		goto out;
	out->passed = j.passed;
	out->actual = j.actual.len ? pb_buf_detach(&j.actual) : NULL;
	out->error = j.error.len ? pb_buf_detach(&j.error) : NULL;
out:
	if (rc < 0)
		pb_case_result_release(out);
	pb_buf_release(&j.error);
	pb_buf_release(&j.actual);
	json_decref(j.output);
	return rc;
}

void pb_case_result_release(struct pb_case_result *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->expected);
	free(r->actual);
	free(r->error);
	memset(r, 0, sizeof(*r));
}
