/* redact.c: mask configured secret values and common token shapes in text */
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/redact.h"
#include "banned.h"

#define REDACTED   "[REDACTED]"
#define SECRET_MIN 6

struct pb_redactor {
	char **v; /* owned copies, longest first */
	size_t *len;
	size_t n;
	size_t alloc;
};

int pb_redactor_new(struct pb_redactor **out)
{
	struct pb_redactor *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return pb_err_set("out of memory");
	*out = r;
	return 0;
}

void pb_redactor_free(struct pb_redactor *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	free(r->len);
	free(r);
}

static int redactor_grow(struct pb_redactor *r)
{
	size_t n = r->alloc ? r->alloc * 2 : 8;
	char **v;
	size_t *len;

	if (r->n < r->alloc)
		return 0;
	v = realloc(r->v, n * sizeof(*v));
	if (!v)
		return pb_err_set("out of memory");
	r->v = v;
	len = realloc(r->len, n * sizeof(*len));
	if (!len)
		return pb_err_set("out of memory");
	r->len = len;
	r->alloc = n;
	return 0;
}

int pb_redactor_add(struct pb_redactor *r, const char *secret)
{
	size_t n, i;
	char *copy;

	if (!secret)
		return pb_err_setc(PB_EINVAL, "secret value is missing");
	n = strlen(secret);
	/* never echo the value itself: the message may be logged */
	if (n < SECRET_MIN)
		return pb_err_setc(PB_EINVAL,
				   "secret value is %zu bytes: too short to "
				   "mask in logs (use %d bytes or more)",
				   n, SECRET_MIN);
	for (i = 0; i < r->n; i++)
		if (r->len[i] == n && !memcmp(r->v[i], secret, n))
			return 0;
	if (redactor_grow(r) < 0)
		return PB_ERROR;
	if (!(copy = strdup(secret)))
		return pb_err_set("out of memory");
	/* keep longest first, so a secret holding another is found whole */
	for (i = r->n; i > 0 && r->len[i - 1] < n; i--) {
		r->v[i] = r->v[i - 1];
		r->len[i] = r->len[i - 1];
	}
	r->v[i] = copy;
	r->len[i] = n;
	r->n++;
	return 0;
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static int is_upper_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int is_b64token(char c)
{
	return is_alnum(c) || strchr("-._~+/=", c);
}

static int has_prefix(const char *s, size_t n, size_t i, const char *p)
{
	size_t m = strlen(p);

	return n - i >= m && !memcmp(s + i, p, m);
}

static int has_prefix_nocase(const char *s, size_t n, size_t i, const char *p)
{
	size_t k, m = strlen(p);

	if (n - i < m)
		return 0;
	for (k = 0; k < m; k++) {
		char c = s[i + k];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != p[k])
			return 0;
	}
	return 1;
}

/* Length of the run of bytes at s[i] that pass ok(). */
static size_t run_len(const char *s, size_t n, size_t i, int (*ok)(char))
{
	size_t k = i;

	while (k < n && ok(s[k]))
		k++;
	return k - i;
}

static int is_alnum_us(char c)
{
	return is_alnum(c) || c == '_';
}

static int is_alnum_dash(char c)
{
	return is_alnum(c) || c == '-';
}

static int is_url_path(char c)
{
	return is_alnum(c) || c == '/' || c == '_' || c == '-';
}

static int is_not_space(char c)
{
	return !is_space(c) && c != '\n' && c != '\r';
}

/*
 * Each shape matcher looks at s[i]; on a match it returns the end of the
 * masked range and sets *ms to its start, else it returns 0.
 */
typedef size_t (*shape_fn)(const char *s, size_t n, size_t i, size_t *ms);

static size_t shape_github(const char *s, size_t n, size_t i, size_t *ms)
{
	static const char *const pfx[] = { "ghp_", "gho_", "ghu_", "ghs_",
					   "ghr_" };
	size_t k, m;

	if (has_prefix(s, n, i, "github_pat_")) {
		m = run_len(s, n, i + 11, is_alnum_us);
		*ms = i;
		return m >= 22 ? i + 11 + m : 0;
	}
	for (k = 0; k < sizeof(pfx) / sizeof(pfx[0]); k++) {
		if (!has_prefix(s, n, i, pfx[k]))
			continue;
		m = run_len(s, n, i + 4, is_alnum);
		*ms = i;
		return m >= 36 ? i + 4 + m : 0;
	}
	return 0;
}

static size_t shape_slack_token(const char *s, size_t n, size_t i, size_t *ms)
{
	size_t m;

	if (!has_prefix(s, n, i, "xox") || n - i < 5 ||
	    !strchr("bpars", s[i + 3]) || s[i + 4] != '-')
		return 0;
	m = run_len(s, n, i + 5, is_alnum_dash);
	*ms = i;
	return m >= 10 ? i + 5 + m : 0;
}

/* An incoming webhook, or a slash command's response_url: capabilities. */
static size_t shape_slack_hook(const char *s, size_t n, size_t i, size_t *ms)
{
	static const char *const hooks[] = { "hooks.slack.com/services/",
					     "hooks.slack.com/commands/" };
	size_t m, k, len;

	for (k = 0; k < sizeof(hooks) / sizeof(hooks[0]); k++) {
		if (!has_prefix(s, n, i, hooks[k]))
			continue;
		len = strlen(hooks[k]);
		m = run_len(s, n, i + len, is_url_path);
		*ms = i;
		return m >= 8 ? i + len + m : 0;
	}
	return 0;
}

/* AWS key ids are exactly 20 characters: no [A-Z0-9] on either side. */
static size_t shape_aws(const char *s, size_t n, size_t i, size_t *ms)
{
	if (!has_prefix(s, n, i, "AKIA") && !has_prefix(s, n, i, "ASIA"))
		return 0;
	if (i > 0 && is_upper_alnum(s[i - 1]))
		return 0;
	if (run_len(s, n, i + 4, is_upper_alnum) != 16)
		return 0;
	*ms = i;
	return i + 20;
}

/* "Bearer X": X is masked; short words keep prose ("bearer of") intact. */
static size_t shape_bearer(const char *s, size_t n, size_t i, size_t *ms)
{
	size_t k, m;

	if (!has_prefix_nocase(s, n, i, "bearer") ||
	    (i > 0 && is_alnum(s[i - 1])))
		return 0;
	k = i + 6;
	if (k >= n || !is_space(s[k]))
		return 0;
	while (k < n && is_space(s[k]))
		k++;
	m = run_len(s, n, k, is_b64token);
	if (m < 8)
		return 0;
	*ms = k;
	return k + m;
}

/* "Authorization: SCHEME CREDENTIALS": the credentials, whatever SCHEME. */
static size_t shape_authz(const char *s, size_t n, size_t i, size_t *ms)
{
	size_t k, m;

	if (!has_prefix_nocase(s, n, i, "authorization:"))
		return 0;
	k = i + 14;
	while (k < n && is_space(s[k]))
		k++;
	m = run_len(s, n, k, is_alnum);
	if (!m)
		return 0;
	k += m;
	if (k >= n || !is_space(s[k]))
		return 0;
	while (k < n && is_space(s[k]))
		k++;
	m = run_len(s, n, k, is_not_space);
	if (!m)
		return 0;
	*ms = k;
	return k + m;
}

/* Index of p in s[from..n), or n. */
static size_t find(const char *s, size_t n, size_t from, const char *p)
{
	size_t m = strlen(p);

	for (; from + m <= n; from++)
		if (s[from] == p[0] && !memcmp(s + from, p, m))
			return from;
	return n;
}

/*
 * "-----BEGIN ... PRIVATE KEY-----" through its END line; without an END
 * line the rest of the text goes, since the key body follows.
 */
static size_t shape_pem(const char *s, size_t n, size_t i, size_t *ms)
{
	size_t k, label, end;

	if (!has_prefix(s, n, i, "-----BEGIN "))
		return 0;
	label = i + 11;
	for (k = label; k < n && k - label < 64; k++)
		if (!((s[k] >= 'A' && s[k] <= 'Z') || s[k] == ' '))
			break;
	if (!has_prefix(s, n, k, "-----"))
		return 0;
	if (find(s, k, label, "PRIVATE KEY") == k)
		return 0;
	*ms = i;
	end = find(s, n, k + 5, "-----END ");
	if (end == n)
		return n;
	end = find(s, n, end + 9, "-----");
	return end == n ? n : end + 5;
}

static const shape_fn shapes[] = { shape_github,     shape_slack_token,
				   shape_slack_hook, shape_aws,
				   shape_bearer,     shape_authz,
				   shape_pem };

static void mark_range(unsigned char *mark, size_t from, size_t to)
{
	memset(mark + from, 1, to - from);
}

static void mark_secrets(const struct pb_redactor *r, const char *s, size_t n,
			 unsigned char *mark)
{
	size_t i, k;

	for (k = 0; r && k < r->n; k++) {
		size_t m = r->len[k];

		for (i = 0; i + m <= n; i++) {
			i = find(s, n, i, r->v[k]);
			if (i == n)
				break;
			mark_range(mark, i, i + m);
		}
	}
}

static void mark_shapes(const char *s, size_t n, unsigned char *mark)
{
	size_t i, k, ms, end;

	for (i = 0; i < n; i++) {
		if (!s[i] || !strchr("gxhABba-", s[i]))
			continue;
		for (k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
			end = shapes[k](s, n, i, &ms);
			if (end)
				mark_range(mark, ms, end);
		}
	}
}

/* Each maximal marked range becomes one REDACTED. */
static int rebuild(struct pb_buf *out, const char *s, size_t n,
		   const unsigned char *mark)
{
	size_t i = 0, j;

	while (i < n) {
		if (mark[i]) {
			while (i < n && mark[i])
				i++;
			if (pb_buf_add(out, REDACTED, sizeof(REDACTED) - 1) < 0)
				return PB_ERROR;
			continue;
		}
		for (j = i; j < n && !mark[j]; j++)
			;
		if (pb_buf_add(out, s + i, j - i) < 0)
			return PB_ERROR;
		i = j;
	}
	return 0;
}

int pb_redact_buf(const struct pb_redactor *r, struct pb_buf *text)
{
	struct pb_buf out = PB_BUF_INIT;
	unsigned char *mark;
	size_t i, n = text->len;
	int rc = 0;

	if (!text->ptr || !n)
		return 0;
	if (!(mark = calloc(n, 1))) {
		pb_buf_release(text);
		return pb_err_set("out of memory");
	}
	mark_secrets(r, text->ptr, n, mark);
	mark_shapes(text->ptr, n, mark);
	for (i = 0; i < n && !mark[i]; i++)
		;
	if (i == n)
		goto out;
	if ((rc = rebuild(&out, text->ptr, n, mark)) < 0) {
		pb_buf_release(text);
		goto out;
	}
	if (text->cap && out.len > text->cap) {
		pb_buf_release(&out);
		pb_buf_release(text);
		rc = pb_err_setc(PB_ETOOBIG,
				 "redacted text is over its %zu-byte cap",
				 text->cap);
		goto out;
	}
	free(text->ptr);
	text->ptr = out.ptr;
	text->len = out.len;
	text->alloc = out.alloc;
out:
	free(mark);
	return rc;
}

char *pb_redact_str(const struct pb_redactor *r, const char *s)
{
	struct pb_buf b = PB_BUF_INIT;

	if (pb_buf_puts(&b, s) < 0 || pb_redact_buf(r, &b) < 0) {
		pb_buf_release(&b);
		return NULL;
	}
	return pb_buf_detach(&b);
}
