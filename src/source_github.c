/* source_github.c: a GitHub webhook delivery verified and read into pb_event */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/source_github.h"
#include "jsonutil.h"
#include "banned.h"

#define SIG_PREFIX     "sha256="
#define SIG_PREFIX_LEN 7
#define SHA256_LEN     32

/* A helper set res to a 400 or a 200-ignore: stop reading the payload. */
#define STOP 1

/* ---- signature ---- */

static int hmac_sha256(unsigned char md[SHA256_LEN], const char *secret,
		       const void *body, size_t len)
{
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
		  len ? body : (const void *)"", len, md, &n) ||
	    n != SHA256_LEN) {
		ERR_clear_error();
		return pb_err_set("openssl: HMAC-SHA256 failed");
	}
	return 0;
}

int pb_gh_sign(char out[PB_GH_SIGNATURE_LEN + 1], const char *secret,
	       const void *body, size_t len)
{
	unsigned char md[SHA256_LEN];
	size_t i;
	int rc;

	out[0] = '\0';
	if (!secret)
		return pb_err_set("no webhook secret to sign with");
	if ((rc = hmac_sha256(md, secret, body, len)) < 0)
		return rc;
	memcpy(out, SIG_PREFIX, SIG_PREFIX_LEN);
	for (i = 0; i < SHA256_LEN; i++)
		snprintf(out + SIG_PREFIX_LEN + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Lowercase hex digit value, or -1: GitHub and octokit use lowercase only. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int pb_gh_verify_signature(const char *secret, const void *body, size_t len,
			   const char *header)
{
	unsigned char want[SHA256_LEN], got[SHA256_LEN];
	const char *hex;
	size_t n, i;
	int hi, lo, rc;

	if (!secret || !*secret)
		return pb_err_setc(PB_EPERM,
				   "no webhook secret is configured: set "
				   "[github] webhook_secret");
	if (!header)
		return pb_err_setc(PB_EPERM,
				   "missing X-Hub-Signature-256 header: set a "
				   "secret on the GitHub webhook");
	if (strncmp(header, SIG_PREFIX, SIG_PREFIX_LEN))
		return pb_err_setc(PB_EPERM,
				   "X-Hub-Signature-256 does not start with "
				   "'" SIG_PREFIX "'");
	n = strnlen(header, PB_GH_SIGNATURE_LEN + 1);
	if (n != PB_GH_SIGNATURE_LEN)
		return pb_err_setc(PB_EPERM,
				   "X-Hub-Signature-256 has %s%zu characters, "
				   "expected %d",
				   n > PB_GH_SIGNATURE_LEN ? "more than " : "",
				   n > PB_GH_SIGNATURE_LEN ? n - 1 : n,
				   PB_GH_SIGNATURE_LEN);
	hex = header + SIG_PREFIX_LEN;
	for (i = 0; i < SHA256_LEN; i++) {
		hi = hexval(hex[2 * i]);
		lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return pb_err_setc(
				PB_EPERM,
				"X-Hub-Signature-256 is not '" SIG_PREFIX
				"' and 64 lowercase hex digits");
		got[i] = (unsigned char)(hi << 4 | lo);
	}
	if ((rc = hmac_sha256(want, secret, body, len)) < 0)
		return rc;
	/* constant time: a mismatch must not tell how many bytes agreed */
	if (CRYPTO_memcmp(want, got, SHA256_LEN))
		return pb_err_setc(
			PB_EPERM,
			"X-Hub-Signature-256 does not match the body: "
			"check that [github] webhook_secret is the "
			"webhook's secret");
	return 0;
}

int pb_gh_verdict_status(enum pb_gh_verdict v)
{
	switch (v) {
	case PB_GH_ACCEPT:
		return 202;
	case PB_GH_PING:
	case PB_GH_IGNORE:
		return 200;
	case PB_GH_BAD_REQUEST:
		return 400;
	case PB_GH_UNAUTHORIZED:
		return 401;
	}
	return 500;
}

/* ---- reading the payload ---- */

struct payload {
	const char *event; /* X-GitHub-Event, checked: names the messages */
	json_t *root;
	struct pb_gh_result *res;
	struct pb_event *ev;
	const struct pb_gh_options *opt;
};

static int verdict(struct pb_gh_result *res, enum pb_gh_verdict v,
		   const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static int verdict(struct pb_gh_result *res, enum pb_gh_verdict v,
		   const char *fmt, va_list ap)
{
	char *c;

	res->verdict = v;
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	/* one line for the answer and the log, whatever Jansson quoted */
	for (c = res->reason; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return STOP;
}

static int bad(struct payload *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct payload *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verdict(p->res, PB_GH_BAD_REQUEST, fmt, ap);
	va_end(ap);
	return STOP;
}

static int ignore(struct payload *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int ignore(struct payload *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verdict(p->res, PB_GH_IGNORE, fmt, ap);
	va_end(ap);
	return STOP;
}

enum want { W_OBJECT, W_STRING, W_INTEGER, W_BOOLEAN };

static int has_type(const json_t *v, enum want w)
{
	switch (w) {
	case W_OBJECT:
		return json_is_object(v);
	case W_STRING:
		return json_is_string(v);
	case W_INTEGER:
		return json_is_integer(v);
	case W_BOOLEAN:
		return json_is_boolean(v);
	}
	return 0;
}

static const char *want_name(enum want w)
{
	static const char *const names[] = { "an object", "a string",
					     "a whole number", "a boolean" };

	return names[w];
}

/*
 * The value at path ("comment.user.login") under the root, of type w.
 * Optional: *out is NULL when any part of the path is absent or the value
 * is null. Otherwise a missing or mistyped part is a 400 naming the path
 * up to that part.
 */
static int field(struct payload *p, const char *path, enum want w, int optional,
		 json_t **out)
{
	const json_t *v = p->root;
	const char *seg = path, *dot;
	char key[64];
	size_t n;

	*out = NULL;
	for (;;) {
		dot = strchr(seg, '.');
		n = dot ? (size_t)(dot - seg) : strlen(seg);
		if (n >= sizeof(key))
			return pb_err_set("json path '%s' is too long", path);
		memcpy(key, seg, n);
		key[n] = '\0';
		v = json_object_get(v, key);
		if (!v || (optional && json_is_null(v))) {
			if (optional)
				return 0;
			return bad(p, "%s: '%.*s' is missing", p->event,
				   (int)(seg + n - path), path);
		}
		if (!dot)
			break;
		if (!json_is_object(v))
			return bad(p, "%s: '%.*s' is %s, expected an object",
				   p->event, (int)(seg + n - path), path,
				   pb_json_kind(v));
		seg = dot + 1;
	}
	if (!has_type(v, w))
		return bad(p, "%s: '%s' is %s, expected %s", p->event, path,
			   json_is_real(v) ? "a fractional number" :
					     pb_json_kind(v),
			   want_name(w));
	*out = (json_t *)v;
	return 0;
}

enum str_flags {
	S_OPTIONAL = 1 << 0,
	S_MULTILINE = 1 << 1, /* a text: newlines and tabs allowed */
	S_LOGIN = 1 << 2,     /* a GitHub login (goes into API paths) */
	S_REPO = 1 << 3,      /* OWNER/NAME (goes into API paths) */
	S_SHA = 1 << 4,	      /* a full commit id */
	S_TOKEN = 1 << 5      /* an event or action name: [a-z0-9_] */
};

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* Whether s has the shape flags ask for; s is NUL-free (Jansson's). */
static const char *shape_error(const char *s, size_t len, unsigned flags)
{
	const char *slash;
	size_t i;

	if (flags & S_LOGIN) {
		/* logins, and App bots' "name[bot]" */
		for (i = 0; i < len; i++)
			if (!name_char(s[i]) && s[i] != '[' && s[i] != ']')
				return "is not a GitHub login";
	} else if (flags & S_REPO) {
		slash = strchr(s, '/');
		if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
			return "is not OWNER/NAME";
		for (i = 0; i < len; i++)
			if (!name_char(s[i]) && s + i != slash)
				return "is not OWNER/NAME";
	} else if (flags & S_SHA) {
		if (len != 40 && len != 64)
			return "is not a full commit id (40 or 64 hex digits)";
		for (i = 0; i < len; i++)
			if (hexval(s[i]) < 0)
				return "is not a full commit id (40 or 64 "
				       "lowercase hex digits)";
	} else if (flags & S_TOKEN) {
		for (i = 0; i < len; i++)
			if (!(s[i] >= 'a' && s[i] <= 'z') &&
			    !(s[i] >= '0' && s[i] <= '9') && s[i] != '_')
				return "is not a lowercase name";
	}
	if (flags & S_MULTILINE)
		return NULL;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "contains a control character";
	return NULL;
}

/*
 * The string at path, checked for length and shape: borrowed from the
 * payload into *out (NULL when S_OPTIONAL and absent).
 */
static int string_at(struct payload *p, const char *path, unsigned flags,
		     const char **out)
{
	size_t max = flags & S_MULTILINE ? PB_GH_TEXT_MAX : PB_GH_NAME_MAX;
	const char *why;
	json_t *v;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = field(p, path, W_STRING, flags & S_OPTIONAL, &v)) != 0 || !v)
		return rc;
	len = json_string_length(v);
	if (len > max)
		return bad(p, "%s: '%s' is longer than %zu bytes", p->event,
			   path, max);
	if (!len && !(flags & S_MULTILINE))
		return bad(p, "%s: '%s' is empty", p->event, path);
	if ((why = shape_error(json_string_value(v), len, flags)))
		return bad(p, "%s: '%s' %s", p->event, path, why);
	*out = json_string_value(v);
	return 0;
}

/* An owned copy of the string at path into *dst (left NULL when absent). */
static int copy_at(struct payload *p, const char *path, unsigned flags,
		   char **dst)
{
	const char *s;
	int rc;

	if ((rc = string_at(p, path, flags, &s)) != 0 || !s)
		return rc;
	if (!(*dst = strdup(s)))
		return pb_err_set("out of memory");
	return 0;
}

/* A GitHub id or number at path: a whole number from 1 (0 when optional
 * and absent). */
static int id_at(struct payload *p, const char *path, int optional,
		 long long *out)
{
	json_t *v;
	int rc;

	*out = 0;
	if ((rc = field(p, path, W_INTEGER, optional, &v)) != 0 || !v)
		return rc;
	if (json_integer_value(v) < 1)
		return bad(p,
			   "%s: '%s' is %" JSON_INTEGER_FORMAT
			   ", expected a number from 1",
			   p->event, path, json_integer_value(v));
	*out = json_integer_value(v);
	return 0;
}

/* login without a final "[bot]" (how GitHub names an App's account) */
static size_t login_base(const char *login)
{
	size_t n = strlen(login);

	return n > 5 && !strcasecmp(login + n - 5, "[bot]") ? n - 5 : n;
}

int pb_gh_is_bot_login(const char *login, const char *bot_login)
{
	size_t n, m;

	if (!login || !bot_login || !*bot_login)
		return 0;
	n = login_base(login);
	m = login_base(bot_login);
	return n == m && !strncasecmp(login, bot_login, n);
}

/* The author at path ("comment.user"): login and type into the event. */
static int actor_at(struct payload *p, const char *login_path,
		    const char *type_path)
{
	const char *login, *type;
	int rc;

	if ((rc = string_at(p, login_path, S_LOGIN, &login)) != 0 ||
	    (rc = string_at(p, type_path, 0, &type)) != 0)
		return rc;
	p->ev->actor_type = strcmp(type, "Bot") ? PB_ACTOR_USER : PB_ACTOR_BOT;
	if (!(p->ev->actor = strdup(login)))
		return pb_err_set("out of memory");
	return 0;
}

/* repository, installation and the reply path: common to PR events. */
static int common_fields(struct payload *p)
{
	struct pb_buf reply = PB_BUF_INIT;
	int rc;

	if ((rc = copy_at(p, "repository.full_name", S_REPO, &p->ev->repo)) ||
	    (rc = id_at(p, "installation.id", 1, &p->ev->installation_id)))
		return rc;
	if ((rc = pb_buf_printf(&reply, "/repos/%s/issues/%lld/comments",
				p->ev->repo, p->ev->pr)) < 0)
		return rc;
	p->ev->reply = pb_buf_detach(&reply);
	return 0;
}

static int read_ping(struct payload *p)
{
	int rc;

	if ((rc = copy_at(p, "zen", S_OPTIONAL, &p->ev->text)) ||
	    (rc = copy_at(p, "repository.full_name", S_OPTIONAL | S_REPO,
			  &p->ev->repo)) ||
	    (rc = id_at(p, "installation.id", 1, &p->ev->installation_id)))
		return rc;
	p->ev->kind = PB_EVENT_PING;
	p->res->verdict = PB_GH_PING;
	snprintf(p->res->reason, sizeof(p->res->reason), "pong");
	return 0;
}

static int read_comment(struct payload *p)
{
	struct pb_event *ev = p->ev;
	const char *action;
	json_t *marker;
	int rc;

	if ((rc = string_at(p, "action", S_TOKEN, &action)))
		return rc;
	if (strcmp(action, "created"))
		return ignore(p, "comment was %s, not created", action);
	/* GitHub marks the issue of a pull request with this object */
	if ((rc = field(p, "issue.pull_request", W_OBJECT, 1, &marker)))
		return rc;
	if (!marker)
		return ignore(p, "comment on an issue, not a pull request");
	if ((rc = actor_at(p, "comment.user.login", "comment.user.type")))
		return rc;
	if (pb_gh_is_bot_login(ev->actor, p->opt->bot_login))
		return ignore(p, "comment by the bot itself");
	if (ev->actor_type == PB_ACTOR_BOT)
		return ignore(p, "comment by a Bot account");
	ev->kind = PB_EVENT_COMMENT;
	if ((rc = id_at(p, "issue.number", 0, &ev->pr)) ||
	    (rc = id_at(p, "comment.id", 0, &ev->comment_id)) ||
	    (rc = copy_at(p, "comment.node_id", S_OPTIONAL,
			  &ev->comment_node_id)) ||
	    (rc = copy_at(p, "comment.body", S_MULTILINE, &ev->text)))
		return rc;
	return common_fields(p);
}

/* The mapped command text of label, or NULL. Borrowed from the options. */
static const char *label_command(const struct pb_gh_options *opt,
				 const char *label)
{
	size_t i;

	for (i = 0; i < opt->n_labels; i++)
		if (!strcasecmp(opt->labels[i].key, label))
			return opt->labels[i].value;
	return NULL;
}

static int read_label(struct payload *p)
{
	struct pb_event *ev = p->ev;
	const char *label, *command;
	int rc;

	if ((rc = string_at(p, "label.name", 0, &label)))
		return rc;
	if (!(command = label_command(p->opt, label)))
		return ignore(p, "label '%s' is not mapped in [labels]", label);
	if ((rc = actor_at(p, "sender.login", "sender.type")))
		return rc;
	if (pb_gh_is_bot_login(ev->actor, p->opt->bot_login))
		return ignore(p, "label added by the bot itself");
	if (ev->actor_type == PB_ACTOR_BOT)
		return ignore(p, "label added by a Bot account");
	ev->kind = PB_EVENT_LABEL;
	if (!(ev->label = strdup(label)) || !(ev->text = strdup(command)))
		return pb_err_set("out of memory");
	return 0;
}

static int read_closed(struct payload *p)
{
	json_t *merged;
	int rc;

	if ((rc = field(p, "pull_request.merged", W_BOOLEAN, 0, &merged)) ||
	    (rc = actor_at(p, "sender.login", "sender.type")))
		return rc;
	p->ev->kind = PB_EVENT_PR_CLOSED;
	p->ev->merged = json_is_true(merged);
	return 0;
}

/* Head and base of the PR: where its commits come from. */
static int read_head(struct payload *p)
{
	struct pb_event *ev = p->ev;
	json_t *repo;
	int rc;

	if ((rc = copy_at(p, "pull_request.head.sha", S_SHA, &ev->sha)) ||
	    (rc = copy_at(p, "pull_request.head.ref", 0, &ev->head_ref)) ||
	    (rc = copy_at(p, "pull_request.base.ref", 0, &ev->base_ref)) ||
	    (rc = field(p, "pull_request.head.repo", W_OBJECT, 1, &repo)))
		return rc;
	/* null when the fork was deleted: its commits are still the PR's */
	if (!repo) {
		ev->head_origin = PB_HEAD_FORK;
		return 0;
	}
	if ((rc = copy_at(p, "pull_request.head.repo.full_name", S_REPO,
			  &ev->head_repo)) ||
	    (rc = copy_at(p, "pull_request.head.repo.clone_url", S_OPTIONAL,
			  &ev->head_clone_url)))
		return rc;
	/* GitHub's names are case-insensitive */
	ev->head_origin = strcasecmp(ev->head_repo, ev->repo) ?
				  PB_HEAD_FORK :
				  PB_HEAD_SAME_REPO;
	return 0;
}

static int read_pull_request(struct payload *p)
{
	const char *action;
	int rc;

	if ((rc = string_at(p, "action", S_TOKEN, &action)))
		return rc;
	if (!strcmp(action, "labeled"))
		rc = read_label(p);
	else if (!strcmp(action, "closed"))
		rc = read_closed(p);
	else
		return ignore(p, "pull_request action '%s' is not handled",
			      action);
	if (rc || (rc = id_at(p, "number", 0, &p->ev->pr)) ||
	    (rc = common_fields(p)))
		return rc;
	return read_head(p);
}

/* ---- the delivery ---- */

/* Whether s is 1..max characters, each one accepted by ok. */
static int header_ok(const char *s, size_t max, int (*ok)(char))
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= max || !ok(s[i]))
			return 0;
	return i > 0;
}

static int event_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static int delivery_char(char c)
{
	return name_char(c) || c == ':';
}

static int check_headers(struct payload *p, const struct pb_gh_headers *hdr)
{
	if (!hdr->event)
		return bad(p, "missing X-GitHub-Event header: send the event "
			      "name as GitHub does");
	if (!header_ok(hdr->event, PB_GH_EVENT_MAX, event_char))
		return bad(p,
			   "X-GitHub-Event is not an event name (lowercase "
			   "letters, digits and '_', at most %d)",
			   PB_GH_EVENT_MAX);
	if (!hdr->delivery)
		return bad(p, "missing X-GitHub-Delivery header: send the "
			      "delivery id as GitHub does");
	if (!header_ok(hdr->delivery, PB_GH_DELIVERY_MAX, delivery_char))
		return bad(p,
			   "X-GitHub-Delivery is not a delivery id "
			   "(letters, digits, '-', '_', '.' and ':', at "
			   "most %d)",
			   PB_GH_DELIVERY_MAX);
	p->event = hdr->event;
	return 0;
}

static int load_body(struct payload *p, const void *body, size_t len)
{
	json_error_t jerr;

	if (!len)
		return bad(p, "empty body: expected the JSON payload");
	/* the webhook's other content type: the signature matched, so say
	   what to change rather than "malformed JSON" */
	if (len >= 8 && !memcmp(body, "payload=", 8))
		return bad(p, "the body is form-encoded: set the webhook's "
			      "content type to application/json");
	p->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!p->root) {
		if (json_error_code(&jerr) == json_error_invalid_utf8)
			return bad(p,
				   "the body is not valid UTF-8 (at byte "
				   "offset %d): GitHub sends JSON in UTF-8",
				   jerr.position);
		if (json_error_code(&jerr) == json_error_null_character)
			return bad(p,
				   "the body has a \\u0000 in a string at "
				   "line %d, column %d: prbot refuses NUL "
				   "characters",
				   jerr.line, jerr.column);
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return pb_err_set("out of memory");
		return bad(p, "malformed JSON at line %d, column %d: %s",
			   jerr.line, jerr.column, jerr.text);
	}
	if (!json_is_object(p->root))
		return bad(p, "the body is %s, expected a JSON object",
			   pb_json_kind(p->root));
	return 0;
}

static int classify(struct payload *p, const struct pb_gh_headers *hdr,
		    const void *body, size_t len)
{
	int rc;

	if ((rc = check_headers(p, hdr)) || (rc = load_body(p, body, len)))
		return rc;
	if (!strcmp(p->event, "ping"))
		return read_ping(p);
	if (!strcmp(p->event, "issue_comment"))
		return read_comment(p);
	if (!strcmp(p->event, "pull_request"))
		return read_pull_request(p);
	return ignore(p, "event '%s' is not handled", p->event);
}

int pb_gh_webhook_parse(struct pb_event *ev, struct pb_gh_result *res,
			const struct pb_gh_options *opt,
			const struct pb_gh_headers *hdr, const void *body,
			size_t len)
{
	struct payload p = { "webhook", NULL, res, ev, opt };
	int rc;

	memset(ev, 0, sizeof(*ev));
	res->verdict = PB_GH_ACCEPT;
	res->reason[0] = '\0';
	/* before anything of the delivery is read */
	rc = pb_gh_verify_signature(opt->secret, body, len, hdr->signature);
	if (rc == PB_EPERM) {
		res->verdict = PB_GH_UNAUTHORIZED;
		snprintf(res->reason, sizeof(res->reason), "%s", pb_err_last());
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = classify(&p, hdr, body, len);
	if (!rc && !(ev->delivery = strdup(hdr->delivery)))
		rc = pb_err_set("out of memory");
	json_decref(p.root);
	if (rc < 0 || rc == STOP)
		pb_event_release(ev);
	if (rc < 0)
		return rc;
	ev->source = PB_SOURCE_GITHUB;
	return 0;
}
