/* source_slack.c: a Slack or Mattermost slash command verified and read into
 * pb_event */
#include <ctype.h>
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
#include "prbot/command.h"
#include "prbot/err.h"
#include "prbot/hash.h"
#include "prbot/source_slack.h"
#include "banned.h"

#define SIG_PREFIX     "v0="
#define SIG_PREFIX_LEN 3
#define SHA256_LEN     32

/* ---- signature ---- */

static int hmac_sha256(unsigned char md[SHA256_LEN], const char *secret,
		       const char *timestamp, const void *body, size_t len)
{
	struct pb_buf base = PB_BUF_INIT;
	unsigned int n = 0;
	int rc = 0;

	if (pb_buf_printf(&base, "v0:%s:", timestamp) < 0 ||
	    (len && pb_buf_add(&base, body, len) < 0)) {
		rc = pb_err_set("slack: out of memory");
		goto out;
	}
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
		  (const unsigned char *)base.ptr, base.len, md, &n) ||
	    n != SHA256_LEN) {
		ERR_clear_error();
		rc = pb_err_set("openssl: HMAC-SHA256 failed");
	}
out:
	pb_buf_release(&base);
	return rc;
}

int pb_slack_sign(char out[PB_SLACK_SIGNATURE_LEN + 1], const char *secret,
		  const char *timestamp, const void *body, size_t len)
{
	unsigned char md[SHA256_LEN];
	int rc;

	out[0] = '\0';
	if (!secret || !timestamp)
		return pb_err_set("slack: no signing secret or timestamp to "
				  "sign with");
	if ((rc = hmac_sha256(md, secret, timestamp, body, len)) < 0)
		return rc;
	memcpy(out, SIG_PREFIX, SIG_PREFIX_LEN);
	pb_hex(out + SIG_PREFIX_LEN, md, SHA256_LEN);
	return 0;
}

/* Lowercase hex digit value, or -1: Slack sends lowercase. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decimal Unix seconds within PB_SLACK_MAX_SKEW of now. */
static int check_timestamp(const char *ts, int64_t now)
{
	int64_t t = 0;
	size_t i, n = ts ? strlen(ts) : 0;

	if (!ts)
		return pb_err_setc(PB_EPERM, "missing X-Slack-Request-"
					     "Timestamp header");
	if (!n || n > 12 || strspn(ts, "0123456789") != n)
		return pb_err_setc(PB_EPERM,
				   "X-Slack-Request-Timestamp is not Unix "
				   "seconds");
	for (i = 0; i < n; i++)
		t = t * 10 + (ts[i] - '0');
	if (t < now - PB_SLACK_MAX_SKEW || t > now + PB_SLACK_MAX_SKEW)
		return pb_err_setc(PB_EPERM,
				   "stale request: X-Slack-Request-Timestamp "
				   "is %lld s from the server's clock (at most "
				   "%d allowed)",
				   (long long)(t > now ? t - now : now - t),
				   PB_SLACK_MAX_SKEW);
	return 0;
}

int pb_slack_verify_signature(const char *secret, const char *timestamp,
			      const char *signature, const void *body,
			      size_t len, int64_t now)
{
	unsigned char want[SHA256_LEN], got[SHA256_LEN];
	const char *hex;
	size_t i;
	int rc, hi, lo;

	if (!secret || !*secret)
		return pb_err_setc(PB_EPERM, "Slack commands are not enabled: "
					     "set [slack] signing_secret in "
					     "bot.conf");
	if (!signature)
		return pb_err_setc(PB_EPERM,
				   "missing X-Slack-Signature header");
	if ((rc = check_timestamp(timestamp, now)) < 0)
		return rc;
	if (strncmp(signature, SIG_PREFIX, SIG_PREFIX_LEN) ||
	    strlen(signature) != PB_SLACK_SIGNATURE_LEN)
		return pb_err_setc(PB_EPERM, "X-Slack-Signature is not 'v0=' "
					     "and 64 lowercase hex digits");
	hex = signature + SIG_PREFIX_LEN;
	for (i = 0; i < SHA256_LEN; i++) {
		hi = hexval(hex[2 * i]);
		lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return pb_err_setc(PB_EPERM,
					   "X-Slack-Signature is not 'v0=' "
					   "and 64 lowercase hex digits");
		got[i] = (unsigned char)(hi << 4 | lo);
	}
	if ((rc = hmac_sha256(want, secret, timestamp, body, len)) < 0)
		return rc;
	if (CRYPTO_memcmp(want, got, SHA256_LEN))
		return pb_err_setc(PB_EPERM, "X-Slack-Signature does not "
					     "match: check [slack] "
					     "signing_secret");
	return 0;
}

/* Constant time whatever the lengths: compare digests of both. */
static int token_equal(const char *a, const char *b)
{
	unsigned char da[SHA256_LEN], db[SHA256_LEN];
	unsigned int n = 0, m = 0;

	if (!EVP_Digest(a, strlen(a), da, &n, EVP_sha256(), NULL) ||
	    !EVP_Digest(b, strlen(b), db, &m, EVP_sha256(), NULL)) {
		ERR_clear_error();
		return 0;
	}
	return CRYPTO_memcmp(da, db, SHA256_LEN) == 0;
}

/* ---- the form ---- */

void pb_slack_form_release(struct pb_slack_form *f)
{
	if (!f)
		return;
	free(f->token);
	free(f->team_id);
	free(f->channel_id);
	free(f->user_id);
	free(f->user_name);
	free(f->command);
	free(f->text);
	free(f->response_url);
	free(f->trigger_id);
	free(f->ssl_check);
	memset(f, 0, sizeof(*f));
}

static char **form_field(struct pb_slack_form *f, const char *key, size_t n)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "token", offsetof(struct pb_slack_form, token) },
		{ "team_id", offsetof(struct pb_slack_form, team_id) },
		{ "channel_id", offsetof(struct pb_slack_form, channel_id) },
		{ "user_id", offsetof(struct pb_slack_form, user_id) },
		{ "user_name", offsetof(struct pb_slack_form, user_name) },
		{ "command", offsetof(struct pb_slack_form, command) },
		{ "text", offsetof(struct pb_slack_form, text) },
		{ "response_url",
		  offsetof(struct pb_slack_form, response_url) },
		{ "trigger_id", offsetof(struct pb_slack_form, trigger_id) },
		{ "ssl_check", offsetof(struct pb_slack_form, ssl_check) },
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i].name) == n &&
		    !memcmp(fields[i].name, key, n))
			return (char **)((char *)f + fields[i].off);
	return NULL;
}

/*
 * Percent-decode s (n bytes, '+' a space) into a new string. The daemon
 * links no libcurl (curl_easy_unescape would not turn '+' into a space
 * anyway), so the few lines are here.
 */
static int form_decode(char **out, const char *s, size_t n, const char *name)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t i;
	int hi, lo;

	*out = NULL;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			hi = i + 2 < n ? hexval((char)tolower(
						 (unsigned char)s[i + 1])) :
					 -1;
			lo = i + 2 < n ? hexval((char)tolower(
						 (unsigned char)s[i + 2])) :
					 -1;
			if (hi < 0 || lo < 0) {
				pb_buf_release(&b);
				return pb_err_setc(PB_EINVAL,
						   "form field '%s': a '%%' "
						   "not followed by two hex "
						   "digits",
						   name);
			}
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (!c) {
			pb_buf_release(&b);
			return pb_err_setc(PB_EINVAL,
					   "form field '%s' holds a NUL byte",
					   name);
		}
		if (pb_buf_putc(&b, c) < 0)
			return pb_err_set("slack: out of memory");
	}
	if (b.len > PB_SLACK_FIELD_MAX) {
		pb_buf_release(&b);
		return pb_err_setc(PB_EINVAL,
				   "form field '%s' is over %d bytes", name,
				   PB_SLACK_FIELD_MAX);
	}
	*out = b.ptr ? pb_buf_detach(&b) : strdup("");
	return *out ? 0 : pb_err_set("slack: out of memory");
}

/* application/x-www-form-urlencoded, with or without parameters. */
static int form_content_type(const char *ct)
{
	static const char want[] = "application/x-www-form-urlencoded";
	size_t n = sizeof(want) - 1;

	if (!ct)
		return 1;
	return !strncasecmp(ct, want, n) &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int form_pair(struct pb_slack_form *f, const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);
	size_t klen = eq ? (size_t)(eq - p) : n;
	char **dst = form_field(f, p, klen);
	char name[16];

	if (!dst)
		return 0;
	snprintf(name, sizeof(name), "%.*s", (int)klen, p);
	if (*dst)
		return pb_err_setc(PB_EINVAL, "form field '%s' is given twice",
				   name);
	return form_decode(dst, eq ? eq + 1 : p + n, eq ? n - klen - 1 : 0,
			   name);
}

int pb_slack_form_parse(struct pb_slack_form *out, const char *content_type,
			const char *body, size_t len)
{
	const char *p = body, *end = body + len, *amp;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!form_content_type(content_type))
		return pb_err_setc(PB_EINVAL,
				   "expected a form (Content-Type: "
				   "application/x-www-form-urlencoded), got "
				   "'%.64s': point a Slack slash command here",
				   content_type);
	if (len > PB_SLACK_BODY_MAX)
		return pb_err_setc(PB_EINVAL, "the form is over %d bytes",
				   PB_SLACK_BODY_MAX);
	if (len && (*body == '{' || *body == '['))
		return pb_err_setc(PB_EINVAL,
				   "expected a form (a=1&b=2), got JSON: point "
				   "a Slack slash command here");
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (!amp)
			amp = end;
		if (amp > p && (rc = form_pair(out, p, (size_t)(amp - p))) < 0)
			break;
		p = amp + 1;
	}
	if (rc < 0)
		pb_slack_form_release(out);
	return rc;
}

/* ---- the command text ---- */

static void reason(struct pb_slack_result *res, enum pb_slack_verdict v,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void reason(struct pb_slack_result *res, enum pb_slack_verdict v,
		   const char *fmt, ...)
{
	va_list ap;

	res->verdict = v;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

/* The next word of *p (blanks skipped), as [*w, *w + *n); 0 at the end. */
static int next_word(const char **p, const char **w, size_t *n)
{
	const char *s = *p;

	while (*s == ' ' || *s == '\t')
		s++;
	*w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	*n = (size_t)(s - *w);
	*p = s;
	return *n > 0;
}

static const char *mapped_login(const struct pb_config *cfg, const char *user)
{
	size_t i;

	for (i = 0; i < cfg->slack.n_users; i++)
		if (!strcmp(cfg->slack.users[i].key, user))
			return cfg->slack.users[i].value;
	return NULL;
}

static int channel_allowed(const struct pb_config *cfg, const char *channel)
{
	size_t i;

	if (!cfg->slack.n_channels)
		return 1;
	for (i = 0; i < cfg->slack.n_channels; i++)
		if (!strcmp(cfg->slack.channels[i], channel))
			return 1;
	return 0;
}

/* The configured spelling of repo (n bytes) when served, else NULL. */
static const char *served_repo(const struct pb_config *cfg, const char *repo,
			       size_t n)
{
	const char *d = cfg->slack.default_repo;
	size_t i;

	for (i = 0; i < cfg->n_repos; i++)
		if (strlen(cfg->repos[i].name) == n &&
		    !strncasecmp(cfg->repos[i].name, repo, n))
			return cfg->repos[i].name;
	if (d && strlen(d) == n && !strncasecmp(d, repo, n))
		return d;
	return NULL;
}

static int help_text(struct pb_slack_result *res, const char *slash)
{
	struct pb_buf b = PB_BUF_INIT;
	const struct pb_command *const *c;
	int rc;

	rc = pb_buf_printf(&b,
			   "Usage: %s COMMAND OWNER/REPO#PR [ARGS], or %s "
			   "COMMAND OWNER/REPO [ref=REF] for a command that "
			   "needs no pull request, or %s help. Commands:",
			   slash, slash, slash);
	for (c = pb_commands; rc == 0 && *c; c++)
		rc = pb_buf_printf(&b, "\n- `%s`: %s%s", (*c)->usage,
				   (*c)->summary,
				   (*c)->flags & PB_CMD_NEEDS_PR ?
					   "" :
					   " (a pull request or a ref)");
	if (rc < 0)
		return pb_err_set("slack: out of memory");
	res->verdict = PB_SLACK_HELP;
	snprintf(res->reason, sizeof(res->reason), "%s", b.ptr);
	pb_buf_release(&b);
	return 0;
}

/* "OWNER/REPO#PR", "OWNER/REPO", "#PR": 1 when w is one, 0 when not. */
static int read_target(const char *w, size_t n, const char **repo,
		       size_t *repo_len, long long *pr)
{
	const char *hash = memchr(w, '#', n), *slash;
	size_t rlen = hash ? (size_t)(hash - w) : n, i;
	long long v = 0;

	*pr = 0;
	if (memchr(w, '=', n))
		return 0; /* key=value, a value may hold '/' or '#' */
	slash = memchr(w, '/', rlen);
	if (rlen && !slash)
		return 0;
	if (slash && (slash == w || slash + 1 == w + rlen ||
		      memchr(slash + 1, '/', (size_t)(w + rlen - slash - 1))))
		return -1;
	if (hash) {
		if (hash + 1 == w + n)
			return -1;
		for (i = (size_t)(hash - w) + 1; i < n; i++) {
			if (!isdigit((unsigned char)w[i]) || v > 999999999)
				return -1;
			v = v * 10 + (w[i] - '0');
		}
		if (!v)
			return -1;
	}
	*repo = rlen ? w : NULL;
	*repo_len = rlen;
	*pr = v;
	return 1;
}

/*
 * The target after the command: 1 when the next word of *p is one (*p then
 * moves past it), 0 when it is not (*p stays), -1 when it looks like one
 * but is malformed. *w and *n name the word.
 */
static int take_target(const char **p, const char **w, size_t *n,
		       const char **repo, size_t *repo_len, long long *pr)
{
	const char *q = *p;
	int t;

	*repo = NULL;
	*pr = 0;
	if (!next_word(&q, w, n))
		return 0;
	t = read_target(*w, *n, repo, repo_len, pr);
	if (t > 0)
		*p = q;
	return t;
}

/* The reply handle: where and how the job answers in the chat, and the
   delivery id the worker logs. */
static char *reply_json(const struct pb_slack_form *f, int mattermost,
			const char *delivery)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "platform",
			      mattermost ? "mattermost" : "slack",
			      "response_url",
			      f->response_url ? f->response_url : "",
			      "channel_id", f->channel_id, "team_id",
			      f->team_id, "user_id", f->user_id, "user_name",
			      f->user_name ? f->user_name : "", "delivery",
			      delivery);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* "mattermost:NOW:HEX": a request without a trigger id is one per
   second and body. */
static int body_digest(struct pb_buf *b, int64_t now, const void *body,
		       size_t len)
{
	unsigned char md[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	unsigned int n = 0;

	if (!EVP_Digest(len ? body : "", len, md, &n, EVP_sha256(), NULL)) {
		ERR_clear_error();
		return pb_err_set("openssl: SHA-256 failed");
	}
	pb_hex(hex, md, 8);
	return pb_buf_printf(b, "mattermost:%lld:%s", (long long)now, hex);
}

static int delivery_id(struct pb_event *ev, const struct pb_slack_headers *h,
		       const struct pb_slack_form *f, int mattermost,
		       int64_t now, const void *body, size_t len)
{
	struct pb_buf b = PB_BUF_INIT;
	int rc;

	if (!mattermost)
		rc = pb_buf_printf(&b, "slack:%s:%s", h->timestamp,
				   h->signature + SIG_PREFIX_LEN);
	else if (f->trigger_id && *f->trigger_id)
		rc = pb_buf_printf(&b, "mattermost:%.100s", f->trigger_id);
	else
		rc = body_digest(&b, now, body, len);
	if (rc < 0)
		return pb_err_set("slack: out of memory");
	ev->delivery = pb_buf_detach(&b);
	return 0;
}

/* ARGS: what follows the target; ref=REF taken out when pr is 0. */
static int command_text(struct pb_event *ev, const struct pb_command *cmd,
			const char *rest)
{
	struct pb_buf b = PB_BUF_INIT;
	const char *p = rest, *w;
	size_t n;
	int rc;

	rc = pb_buf_printf(&b, "/%s", cmd->name);
	while (rc == 0 && next_word(&p, &w, &n)) {
		if (!ev->pr && n > 4 && !strncmp(w, "ref=", 4) &&
		    !ev->head_ref) {
			if (!(ev->head_ref = strndup(w + 4, n - 4)))
				rc = PB_ERROR;
			continue;
		}
		rc = pb_buf_printf(&b, " %.*s", (int)n, w);
	}
	if (rc < 0) {
		pb_buf_release(&b);
		return pb_err_set("slack: out of memory");
	}
	ev->text = pb_buf_detach(&b);
	return 0;
}

/* Steps 5 and 6 of pb_slack_command_parse(): fill ev or refuse. */
static int read_command(struct pb_event *ev, struct pb_slack_result *res,
			const struct pb_config *cfg,
			const struct pb_slack_form *f)
{
	const char *slash = f->command, *p = f->text, *w, *repo = NULL, *name;
	const char *login = mapped_login(cfg, f->user_id), *served;
	const struct pb_command *cmd;
	char word[64];
	size_t n, repo_len = 0;
	long long pr = 0;
	int t;

	if (!login) {
		reason(res, PB_SLACK_REFUSE,
		       "Your Slack user %s is not mapped to a GitHub login, "
		       "so prbot cannot check your permission. Ask a prbot "
		       "admin to add `%s = your-github-login` under "
		       "[slack.users] in bot.conf.",
		       f->user_id, f->user_id);
		return 0;
	}
	if (strpbrk(p, "\r\n")) {
		reason(res, PB_SLACK_REFUSE,
		       "One command per %s: the text holds a line break.",
		       slash);
		return 0;
	}
	next_word(&p, &w, &n);
	snprintf(word, sizeof(word), "%.*s", (int)n, w);
	name = *word == '/' ? word + 1 : word;
	if (!(cmd = pb_command_find(name))) {
		reason(res, PB_SLACK_REFUSE,
		       "Unknown command '%s': try `%s help` for the list.",
		       word, slash);
		return 0;
	}
	t = take_target(&p, &w, &n, &repo, &repo_len, &pr);
	if (t < 0) {
		reason(res, PB_SLACK_REFUSE,
		       "'%.*s' is not OWNER/REPO#PR (such as "
		       "acme/churn#42): try `%s help`.",
		       (int)n, w, slash);
		return 0;
	}
	if (!repo) {
		repo = cfg->slack.default_repo;
		repo_len = repo ? strlen(repo) : 0;
	}
	if (!repo) {
		reason(res, PB_SLACK_REFUSE,
		       "Name the repository: `%s %s OWNER/REPO%s ...` (no "
		       "[slack] default_repo is set).",
		       slash, cmd->name,
		       cmd->flags & PB_CMD_NEEDS_PR ? "#PR" : "");
		return 0;
	}
	if (!(served = served_repo(cfg, repo, repo_len))) {
		reason(res, PB_SLACK_REFUSE,
		       "prbot does not serve %.*s: an admin adds a [repo "
		       "\"%.*s\"] section to bot.conf for it.",
		       (int)repo_len, repo, (int)repo_len, repo);
		return 0;
	}
	if ((cmd->flags & PB_CMD_NEEDS_PR) && !pr) {
		reason(res, PB_SLACK_REFUSE,
		       "/%s works on a pull request: `%s %s %s#PR ...`.",
		       cmd->name, slash, cmd->name, served);
		return 0;
	}
	ev->pr = pr;
	if (!(ev->repo = strdup(served)) || !(ev->actor = strdup(login)))
		return pb_err_set("slack: out of memory");
	return command_text(ev, cmd, p);
}

/* Step 1: Slack's signature, or Mattermost's token. */
static int authenticate(struct pb_slack_result *res, int *mattermost,
			const struct pb_config *cfg,
			const struct pb_slack_headers *hdr, const void *body,
			size_t len, int64_t now)
{
	const char *mm = cfg->slack.mattermost_token.value;
	struct pb_slack_form f;
	int rc;

	*mattermost = 0;
	if (hdr->signature || !mm || !*mm) {
		rc = pb_slack_verify_signature(cfg->slack.signing_secret.value,
					       hdr->timestamp, hdr->signature,
					       body, len, now);
		if (rc == PB_EPERM)
			reason(res, PB_SLACK_UNAUTHORIZED, "%s", pb_err_last());
		return rc == PB_EPERM ? 0 : rc;
	}
	if (pb_slack_form_parse(&f, hdr->content_type, body, len) < 0) {
		reason(res, PB_SLACK_BAD_REQUEST, "%s", pb_err_last());
		return 0;
	}
	if (!f.token || !token_equal(f.token, mm))
		reason(res, PB_SLACK_UNAUTHORIZED,
		       "missing X-Slack-Signature header, and the form's "
		       "token is not [slack] mattermost_token");
	else
		*mattermost = 1;
	pb_slack_form_release(&f);
	return 0;
}

int pb_slack_command_parse(struct pb_event *ev, struct pb_slack_result *res,
			   const struct pb_config *cfg,
			   const struct pb_slack_headers *hdr, const void *body,
			   size_t len, int64_t now)
{
	static const char *const required[] = { "team_id", "channel_id",
						"user_id", "command" };
	struct pb_slack_form f;
	const char *have[4];
	int rc, mattermost = 0;
	size_t i;

	memset(ev, 0, sizeof(*ev));
	memset(&f, 0, sizeof(f));
	res->verdict = PB_SLACK_ACCEPT;
	res->reason[0] = '\0';
	if ((rc = authenticate(res, &mattermost, cfg, hdr, body, len, now)) <
		    0 ||
	    res->verdict != PB_SLACK_ACCEPT)
		return rc;
	if (pb_slack_form_parse(&f, hdr->content_type, body, len) < 0) {
		reason(res, PB_SLACK_BAD_REQUEST, "%s", pb_err_last());
		return 0;
	}
	if (f.ssl_check && !strcmp(f.ssl_check, "1")) {
		reason(res, PB_SLACK_PING, "ok");
		goto out;
	}
	have[0] = f.team_id;
	have[1] = f.channel_id;
	have[2] = f.user_id;
	have[3] = f.command;
	for (i = 0; i < 4; i++) {
		if (!have[i] || !*have[i]) {
			reason(res, PB_SLACK_BAD_REQUEST,
			       "the form has no '%s' field: is this a slash "
			       "command?",
			       required[i]);
			goto out;
		}
	}
	if (!f.text && !(f.text = strdup(""))) {
		rc = pb_err_set("slack: out of memory");
		goto out;
	}
	if (!channel_allowed(cfg, f.channel_id)) {
		reason(res, PB_SLACK_REFUSE,
		       "prbot does not take commands in this channel (%s): "
		       "use one listed in [slack] channels of bot.conf.",
		       f.channel_id);
		goto out;
	}
	if (!f.text[strspn(f.text, " \t")] ||
	    !strcmp(f.text + strspn(f.text, " \t"), "help")) {
		rc = help_text(res, f.command);
		goto out;
	}
	ev->source = PB_SOURCE_SLACK;
	ev->kind = PB_EVENT_COMMENT;
	if ((rc = read_command(ev, res, cfg, &f)) < 0 ||
	    res->verdict != PB_SLACK_ACCEPT)
		goto out;
	if ((rc = delivery_id(ev, hdr, &f, mattermost, now, body, len)) < 0)
		goto out;
	if (!(ev->reply = reply_json(&f, mattermost, ev->delivery)))
		rc = pb_err_set("slack: out of memory");
out:
	if (rc < 0 || res->verdict != PB_SLACK_ACCEPT)
		pb_event_release(ev);
	pb_slack_form_release(&f);
	return rc;
}

int pb_slack_verdict_status(enum pb_slack_verdict v)
{
	switch (v) {
	case PB_SLACK_ACCEPT:
	case PB_SLACK_HELP:
	case PB_SLACK_PING:
	case PB_SLACK_REFUSE:
		return 200;
	case PB_SLACK_BAD_REQUEST:
		return 400;
	case PB_SLACK_UNAUTHORIZED:
		return 401;
	}
	return 500;
}
