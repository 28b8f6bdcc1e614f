/* test_source_slack.c: Slack's request signature, the form, and the command
 * text read into pb_event */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "prbot/buf.h"
#include "prbot/config.h"
#include "prbot/diag.h"
#include "prbot/err.h"
#include "prbot/event.h"
#include "prbot/source_slack.h"
#include "testutil.h"

/* Slack's worked example (tests/data/slack/SOURCE) */
#define DOC_SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define DOC_TS	   "1531420618"
#define DOC_SIG \
	"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
#define DOC_NOW 1531420618LL

#define FORM "application/x-www-form-urlencoded"

static char *doc_body(size_t *len)
{
	char path[4096];
	const char *dir = getenv("PRBOT_TEST_DATA");

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/slack/doc_example.body", dir);
	return pb_test_read_file(path, len);
}

static struct pb_config *load_conf(void)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;
	char path[4096];
	const char *dir = getenv("PRBOT_TEST_DATA");

	assert_non_null(dir);
	setenv("PRBOT_TEST_SLACK_SECRET", DOC_SECRET, 1);
	setenv("PRBOT_TEST_WEBHOOK_SECRET", "webhook-secret", 1);
	snprintf(path, sizeof(path), "%s/slack/bot.conf", dir);
	assert_int_equal(pb_config_load(&c, path, &diags), 0);
	pb_test_assert_diags(&diags, "");
	return c;
}

/* ---- the signature ---- */

static void test_slack_sign_matches_slacks_documented_example(void **state)
{
	char sig[PB_SLACK_SIGNATURE_LEN + 1];
	size_t len;
	char *body = doc_body(&len);

	(void)state;
	assert_int_equal(pb_slack_sign(sig, DOC_SECRET, DOC_TS, body, len), 0);
	assert_string_equal(sig, DOC_SIG);
	assert_int_equal(pb_slack_verify_signature(DOC_SECRET, DOC_TS, DOC_SIG,
						   body, len, DOC_NOW + 60),
			 0);
	free(body);
}

static void test_slack_verify_refuses_bad_signatures(void **state)
{
	static const struct {
		const char *name, *secret, *ts, *sig;
		long long now;
		const char *msg;
	} cases[] = {
		{ "one digit changed", DOC_SECRET, DOC_TS,
		  "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c"
		  "69b504",
		  DOC_NOW,
		  "X-Slack-Signature does not match: check [slack] "
		  "signing_secret" },
		{ "another secret", "not-the-secret", DOC_TS, DOC_SIG, DOC_NOW,
		  "X-Slack-Signature does not match: check [slack] "
		  "signing_secret" },
		{ "missing signature", DOC_SECRET, DOC_TS, NULL, DOC_NOW,
		  "missing X-Slack-Signature header" },
		{ "missing timestamp", DOC_SECRET, NULL, DOC_SIG, DOC_NOW,
		  "missing X-Slack-Request-Timestamp header" },
		{ "timestamp not a number", DOC_SECRET, "1531420618.5", DOC_SIG,
		  DOC_NOW, "X-Slack-Request-Timestamp is not Unix seconds" },
		{ "stale: over five minutes old", DOC_SECRET, DOC_TS, DOC_SIG,
		  DOC_NOW + 301,
		  "stale request: X-Slack-Request-Timestamp is 301 s from the "
		  "server's clock (at most 300 allowed)" },
		{ "from the future", DOC_SECRET, DOC_TS, DOC_SIG, DOC_NOW - 400,
		  "stale request: X-Slack-Request-Timestamp is 400 s from the "
		  "server's clock (at most 300 allowed)" },
		{ "uppercase hex", DOC_SECRET, DOC_TS,
		  "v0=A2114D57B48EAC39B9AD189DD8316235A7B4A8D21A10BD27519666489C"
		  "69B503",
		  DOC_NOW,
		  "X-Slack-Signature is not 'v0=' and 64 lowercase hex digits" },
		{ "wrong version", DOC_SECRET, DOC_TS,
		  "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c"
		  "69b503",
		  DOC_NOW,
		  "X-Slack-Signature is not 'v0=' and 64 lowercase hex digits" },
		{ "cut short", DOC_SECRET, DOC_TS, "v0=a2114d57", DOC_NOW,
		  "X-Slack-Signature is not 'v0=' and 64 lowercase hex digits" },
		{ "no secret configured", NULL, DOC_TS, DOC_SIG, DOC_NOW,
		  "Slack commands are not enabled: set [slack] signing_secret "
		  "in bot.conf" },
	};
	size_t i, len;
	char *body = doc_body(&len);

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = pb_slack_verify_signature(cases[i].secret, cases[i].ts,
						   cases[i].sig, body, len,
						   cases[i].now);

		if (rc != PB_EPERM || strcmp(pb_err_last(), cases[i].msg))
			fail_msg("%s: got %d '%s'", cases[i].name, rc,
				 pb_err_last());
	}
	/* a body changed after signing */
	body[len - 1] ^= 1;
	assert_int_equal(pb_slack_verify_signature(DOC_SECRET, DOC_TS, DOC_SIG,
						   body, len, DOC_NOW),
			 PB_EPERM);
	free(body);
}

/* ---- the form ---- */

static void test_slack_form_decodes_fields(void **state)
{
	struct pb_slack_form f;
	size_t len;
	char *body = doc_body(&len);
	static const char plus[] = "text=deploy+acme%2Fchurn%2342+%22a+b%22"
				   "&user_id=U1&other=%ZZ";

	(void)state;
	assert_int_equal(pb_slack_form_parse(&f, FORM, body, len), 0);
	assert_string_equal(f.token, "xyzz0WbapA4vBCDEFasx0q6G");
	assert_string_equal(f.team_id, "T1DC2JH3J");
	assert_string_equal(f.channel_id, "G8PSS9T3V");
	assert_string_equal(f.user_id, "U2CERLKJA");
	assert_string_equal(f.user_name, "roadrunner");
	assert_string_equal(f.command, "/webhook-collect");
	assert_string_equal(f.text, "");
	assert_string_equal(f.response_url,
			    "https://hooks.slack.com/commands/T1DC2JH3J/"
			    "397700885554/96rGlfmibIGlgcZRskXaIFfN");
	assert_string_equal(f.trigger_id, "398738663015.47445629121."
					  "803a0bc887a14d10d2c447fce8b6703c");
	pb_slack_form_release(&f);
	/* '+' is a space; unknown keys are skipped, even malformed */
	assert_int_equal(pb_slack_form_parse(&f, FORM "; charset=utf-8", plus,
					     strlen(plus)),
			 0);
	assert_string_equal(f.text, "deploy acme/churn#42 \"a b\"");
	assert_string_equal(f.user_id, "U1");
	assert_null(f.team_id);
	pb_slack_form_release(&f);
	free(body);
}

static void test_slack_form_refuses_what_is_not_a_form(void **state)
{
	static const struct {
		const char *ct, *body, *msg;
	} cases[] = {
		{ "application/json", "{\"text\":\"x\"}",
		  "expected a form (Content-Type: "
		  "application/x-www-form-urlencoded), got 'application/json': "
		  "point a Slack slash command here" },
		{ NULL, "{\"text\":\"x\"}",
		  "expected a form (a=1&b=2), got JSON: point a Slack slash "
		  "command here" },
		{ FORM, "text=50%",
		  "form field 'text': a '%' not followed by two hex digits" },
		{ FORM, "text=%4",
		  "form field 'text': a '%' not followed by two hex digits" },
		{ FORM, "text=a%00b", "form field 'text' holds a NUL byte" },
		{ FORM, "user_id=U1&user_id=U2",
		  "form field 'user_id' is given twice" },
	};
	struct pb_slack_form f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = pb_slack_form_parse(&f, cases[i].ct, cases[i].body,
					     strlen(cases[i].body));

		if (rc != PB_EINVAL || strcmp(pb_err_last(), cases[i].msg))
			fail_msg("case %zu: got %d '%s'", i, rc, pb_err_last());
		assert_null(f.text);
	}
}

/* ---- the command ---- */

#define NOW 1700000000LL

/* A signed slash command from channel and user typing text. */
struct req {
	struct pb_buf body;
	char ts[24];
	char sig[PB_SLACK_SIGNATURE_LEN + 1];
	struct pb_slack_headers h;
};

static void form_add(struct pb_buf *b, const char *key, const char *value)
{
	const unsigned char *p;

	if (!value)
		return;
	assert_int_equal(pb_buf_printf(b, "%s%s=", b->len ? "&" : "", key), 0);
	for (p = (const unsigned char *)value; *p; p++) {
		if (*p == ' ')
			assert_int_equal(pb_buf_putc(b, '+'), 0);
		else if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
				"VWXYZ0123456789-_.~",
				*p))
			assert_int_equal(pb_buf_putc(b, (char)*p), 0);
		else
			assert_int_equal(pb_buf_printf(b, "%%%02X", *p), 0);
	}
}

static void req_make(struct req *r, const char *channel, const char *user,
		     const char *text, const char *secret, long long ts)
{
	memset(r, 0, sizeof(*r));
	form_add(&r->body, "token", "legacy-token");
	form_add(&r->body, "team_id", "T1DC2JH3J");
	form_add(&r->body, "channel_id", channel);
	form_add(&r->body, "user_id", user);
	form_add(&r->body, "user_name", "roadrunner");
	form_add(&r->body, "command", "/prbot");
	form_add(&r->body, "text", text);
	form_add(&r->body, "response_url",
		 "https://hooks.slack.com/commands/T1/2/secretpart");
	form_add(&r->body, "trigger_id", "398738663015.47445629121.803a0b");
	snprintf(r->ts, sizeof(r->ts), "%lld", ts);
	assert_int_equal(pb_slack_sign(r->sig, secret, r->ts, r->body.ptr,
				       r->body.len),
			 0);
	r->h.timestamp = r->ts;
	r->h.signature = r->sig;
	r->h.content_type = FORM;
}

static void test_slack_command_table(void **state)
{
	static const struct {
		const char *channel, *user, *text, *default_repo;
		enum pb_slack_verdict verdict;
		const char *repo; /* or the reason when not accepted */
		long long pr;
		const char *ev_text, *ref;
	} cases[] = {
		{ "G8PSS9T3V", "U2CERLKJA", "deploy acme/churn#42 staging",
		  NULL, PB_SLACK_ACCEPT, "acme/churn", 42, "/deploy staging",
		  NULL },
		{ "G8PSS9T3V", "U2CERLKJA", "  /evaluate   acme/churn#7  ",
		  NULL, PB_SLACK_ACCEPT, "acme/churn", 7, "/evaluate", NULL },
		/* case ignored, the configured spelling kept */
		{ "C0123ABCD", "W012A3CDE",
		  "evaluate acme/iris#3 baseline=main", NULL, PB_SLACK_ACCEPT,
		  "Acme/Iris", 3, "/evaluate baseline=main", NULL },
		/* key=value with a '/' is an argument, not a repository */
		{ "G8PSS9T3V", "U2CERLKJA", "evaluate baseline=feature/x",
		  "acme/churn", PB_SLACK_ACCEPT, "acme/churn", 0,
		  "/evaluate baseline=feature/x", NULL },
		/* a command that needs no PR, on a ref */
		{ "G8PSS9T3V", "U2CERLKJA", "evaluate acme/churn ref=develop",
		  NULL, PB_SLACK_ACCEPT, "acme/churn", 0, "/evaluate",
		  "develop" },
		/* quotes go through to the comment parser as typed */
		{ "G8PSS9T3V", "U2CERLKJA",
		  "lock acme/churn#42 staging reason=\"demo day\"", NULL,
		  PB_SLACK_ACCEPT, "acme/churn", 42,
		  "/lock staging reason=\"demo day\"", NULL },
		/* [slack] default_repo */
		{ "G8PSS9T3V", "U2CERLKJA", "evaluate #42", "acme/churn",
		  PB_SLACK_ACCEPT, "acme/churn", 42, "/evaluate", NULL },
		{ "G8PSS9T3V", "U2CERLKJA", "evaluate", "acme/churn",
		  PB_SLACK_ACCEPT, "acme/churn", 0, "/evaluate", NULL },
		{ "G8PSS9T3V", "U2CERLKJA", "deploy #42 staging", "acme/churn",
		  PB_SLACK_ACCEPT, "acme/churn", 42, "/deploy staging", NULL },
		{ "G8PSS9T3V", "U2CERLKJA", "evaluate #42", NULL,
		  PB_SLACK_REFUSE,
		  "Name the repository: `/prbot evaluate OWNER/REPO ...` (no "
		  "[slack] default_repo is set).",
		  0, NULL, NULL },
		{ "G8PSS9T3V", "U2CERLKJA", "deploy staging", NULL,
		  PB_SLACK_REFUSE,
		  "Name the repository: `/prbot deploy OWNER/REPO#PR ...` (no "
		  "[slack] default_repo is set).",
		  0, NULL, NULL },
		{ "G8PSS9T3V", "U2CERLKJA", "deploy acme/churn staging", NULL,
		  PB_SLACK_REFUSE,
		  "/deploy works on a pull request: `/prbot deploy "
		  "acme/churn#PR ...`.",
		  0, NULL, NULL },
		{ "G8PSS9T3V", "U2CERLKJA", "frobnicate acme/churn#42", NULL,
		  PB_SLACK_REFUSE,
		  "Unknown command 'frobnicate': try `/prbot help` for the "
		  "list.",
		  0, NULL, NULL },
		{ "G8PSS9T3V", "U2CERLKJA", "evaluate other/repo#1", NULL,
		  PB_SLACK_REFUSE,
		  "prbot does not serve other/repo: an admin adds a [repo "
		  "\"other/repo\"] section to bot.conf for it.",
		  0, NULL, NULL },
		{ "G8PSS9T3V", "U2CERLKJA", "evaluate acme/churn#x1", NULL,
		  PB_SLACK_REFUSE,
		  "'acme/churn#x1' is not OWNER/REPO#PR (such as "
		  "acme/churn#42): try `/prbot help`.",
		  0, NULL, NULL },
		{ "G8PSS9T3V", "U9UNKNOWN", "evaluate acme/churn#42", NULL,
		  PB_SLACK_REFUSE,
		  "Your Slack user U9UNKNOWN is not mapped to a GitHub login, so "
		  "prbot cannot check your permission. Ask a prbot admin to add "
		  "`U9UNKNOWN = your-github-login` under [slack.users] in "
		  "bot.conf.",
		  0, NULL, NULL },
		{ "C9OTHER", "U2CERLKJA", "evaluate acme/churn#42", NULL,
		  PB_SLACK_REFUSE,
		  "prbot does not take commands in this channel (C9OTHER): use "
		  "one listed in [slack] channels of bot.conf.",
		  0, NULL, NULL },
		{ "G8PSS9T3V", "U2CERLKJA", "evaluate acme/churn#42\n/deploy",
		  NULL, PB_SLACK_REFUSE,
		  "One command per /prbot: the text holds a line break.", 0,
		  NULL, NULL },
		/* help needs no mapping */
		{ "G8PSS9T3V", "U9UNKNOWN", "help", NULL, PB_SLACK_HELP,
		  "Usage: /prbot COMMAND OWNER/REPO#PR [ARGS]", 0, NULL, NULL },
		{ "G8PSS9T3V", "U9UNKNOWN", " ", NULL, PB_SLACK_HELP,
		  "Usage: /prbot COMMAND OWNER/REPO#PR [ARGS]", 0, NULL, NULL },
	};
	struct pb_config *cfg = load_conf();
	struct pb_slack_result res;
	struct pb_event ev;
	struct req r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		free(cfg->slack.default_repo);
		cfg->slack.default_repo =
			cases[i].default_repo ? strdup(cases[i].default_repo) :
						NULL;
		req_make(&r, cases[i].channel, cases[i].user, cases[i].text,
			 DOC_SECRET, NOW);
		assert_int_equal(pb_slack_command_parse(&ev, &res, cfg, &r.h,
							r.body.ptr, r.body.len,
							NOW + 2),
				 0);
		if (res.verdict != cases[i].verdict)
			fail_msg("case %zu '%s': verdict %d, want %d (%s)", i,
				 cases[i].text, res.verdict, cases[i].verdict,
				 res.reason);
		if (res.verdict == PB_SLACK_HELP) {
			assert_non_null(strstr(res.reason, cases[i].repo));
			assert_non_null(strstr(res.reason, "`deploy "));
			assert_null(ev.repo);
		} else if (res.verdict != PB_SLACK_ACCEPT) {
			if (strcmp(res.reason, cases[i].repo))
				fail_msg("case %zu: reason '%s'", i,
					 res.reason);
			assert_null(ev.repo);
			assert_null(ev.delivery);
		} else {
			assert_int_equal(ev.source, PB_SOURCE_SLACK);
			assert_int_equal(ev.kind, PB_EVENT_COMMENT);
			assert_string_equal(ev.repo, cases[i].repo);
			assert_int_equal(ev.pr, cases[i].pr);
			assert_string_equal(ev.text, cases[i].ev_text);
			if (cases[i].ref)
				assert_string_equal(ev.head_ref, cases[i].ref);
			else
				assert_null(ev.head_ref);
			assert_string_equal(ev.actor, !strcmp(cases[i].user,
							      "U2CERLKJA") ?
							      "roadrunner-gh" :
							      "bob");
		}
		pb_event_release(&ev);
		pb_buf_release(&r.body);
	}
	pb_config_free(cfg);
}

static void test_slack_command_event_delivery_and_reply(void **state)
{
	struct pb_config *cfg = load_conf();
	struct pb_slack_result res;
	struct pb_event ev, again;
	struct req r;
	json_t *reply;
	char want[128];

	(void)state;
	req_make(&r, "G8PSS9T3V", "U2CERLKJA", "deploy acme/churn#42 staging",
		 DOC_SECRET, NOW);
	assert_int_equal(pb_slack_command_parse(&ev, &res, cfg, &r.h,
						r.body.ptr, r.body.len, NOW),
			 0);
	assert_int_equal(res.verdict, PB_SLACK_ACCEPT);
	snprintf(want, sizeof(want), "slack:%lld:%s", NOW, r.sig + 3);
	assert_string_equal(ev.delivery, want);
	reply = json_loads(ev.reply, 0, NULL);
	assert_non_null(reply);
	assert_string_equal(
		json_string_value(json_object_get(reply, "response_url")),
		"https://hooks.slack.com/commands/T1/2/secretpart");
	assert_string_equal(
		json_string_value(json_object_get(reply, "channel_id")),
		"G8PSS9T3V");
	assert_string_equal(
		json_string_value(json_object_get(reply, "platform")), "slack");
	assert_string_equal(
		json_string_value(json_object_get(reply, "delivery")), want);
	json_decref(reply);

	/* a replay within the window: the same delivery id, deduped by the
	   state store; after it: refused */
	assert_int_equal(pb_slack_command_parse(&again, &res, cfg, &r.h,
						r.body.ptr, r.body.len,
						NOW + 299),
			 0);
	assert_int_equal(res.verdict, PB_SLACK_ACCEPT);
	assert_string_equal(again.delivery, ev.delivery);
	pb_event_release(&again);
	assert_int_equal(pb_slack_command_parse(&again, &res, cfg, &r.h,
						r.body.ptr, r.body.len,
						NOW + 301),
			 0);
	assert_int_equal(res.verdict, PB_SLACK_UNAUTHORIZED);
	assert_int_equal(pb_slack_verdict_status(res.verdict), 401);
	assert_null(again.repo);
	pb_event_release(&again);
	pb_event_release(&ev);
	pb_buf_release(&r.body);
	pb_config_free(cfg);
}

static void test_slack_command_refuses_before_reading(void **state)
{
	struct pb_config *cfg = load_conf();
	struct pb_slack_result res;
	struct pb_event ev;
	struct req r;
	static const char no_user[] = "team_id=T1&channel_id=G8PSS9T3V&"
				      "command=%2Fprbot&text=help";
	static const char ssl[] = "ssl_check=1&token=legacy-token";
	char sig[PB_SLACK_SIGNATURE_LEN + 1];

	(void)state;
	/* signed with another secret */
	req_make(&r, "G8PSS9T3V", "U2CERLKJA", "evaluate acme/churn#1",
		 "another-secret", NOW);
	assert_int_equal(pb_slack_command_parse(&ev, &res, cfg, &r.h,
						r.body.ptr, r.body.len, NOW),
			 0);
	assert_int_equal(res.verdict, PB_SLACK_UNAUTHORIZED);
	assert_string_equal(res.reason, "X-Slack-Signature does not match: "
					"check [slack] signing_secret");
	/* no headers at all */
	r.h.signature = NULL;
	r.h.timestamp = NULL;
	assert_int_equal(pb_slack_command_parse(&ev, &res, cfg, &r.h,
						r.body.ptr, r.body.len, NOW),
			 0);
	assert_int_equal(res.verdict, PB_SLACK_UNAUTHORIZED);
	assert_string_equal(res.reason, "missing X-Slack-Signature header");
	pb_buf_release(&r.body);

	/* signed, but JSON */
	snprintf(r.ts, sizeof(r.ts), "%lld", NOW);
	assert_int_equal(pb_slack_sign(sig, DOC_SECRET, r.ts, "{}", 2), 0);
	r.h.signature = sig;
	r.h.timestamp = r.ts;
	r.h.content_type = "application/json";
	assert_int_equal(
		pb_slack_command_parse(&ev, &res, cfg, &r.h, "{}", 2, NOW), 0);
	assert_int_equal(res.verdict, PB_SLACK_BAD_REQUEST);
	assert_int_equal(pb_slack_verdict_status(res.verdict), 400);
	assert_non_null(strstr(res.reason, "expected a form"));

	/* Slack's certificate check */
	assert_int_equal(pb_slack_sign(sig, DOC_SECRET, r.ts, ssl, strlen(ssl)),
			 0);
	r.h.content_type = FORM;
	assert_int_equal(pb_slack_command_parse(&ev, &res, cfg, &r.h, ssl,
						strlen(ssl), NOW),
			 0);
	assert_int_equal(res.verdict, PB_SLACK_PING);
	assert_int_equal(pb_slack_verdict_status(res.verdict), 200);

	/* signed form without user_id */
	assert_int_equal(pb_slack_sign(sig, DOC_SECRET, r.ts, no_user,
				       strlen(no_user)),
			 0);
	r.h.content_type = FORM;
	assert_int_equal(pb_slack_command_parse(&ev, &res, cfg, &r.h, no_user,
						strlen(no_user), NOW),
			 0);
	assert_int_equal(res.verdict, PB_SLACK_BAD_REQUEST);
	assert_string_equal(res.reason, "the form has no 'user_id' field: is "
					"this a slash command?");
	pb_config_free(cfg);
}

static void test_slack_docs_example_is_help(void **state)
{
	struct pb_config *cfg = load_conf();
	struct pb_slack_headers h = { DOC_TS, DOC_SIG, FORM };
	struct pb_slack_result res;
	struct pb_event ev;
	size_t len;
	char *body = doc_body(&len);

	(void)state;
	assert_int_equal(pb_slack_command_parse(&ev, &res, cfg, &h, body, len,
						DOC_NOW + 1),
			 0);
	assert_int_equal(res.verdict, PB_SLACK_HELP);
	assert_non_null(strstr(res.reason, "Usage: /webhook-collect COMMAND"));
	free(body);
	pb_config_free(cfg);
}

static void test_mattermost_token_instead_of_signature(void **state)
{
	struct pb_config *cfg = load_conf();
	struct pb_slack_headers h = { NULL, NULL, FORM };
	struct pb_slack_result res;
	struct pb_event ev;
	static const char good[] =
		"token=mm-token-123&team_id=T1&channel_id=G8PSS9T3V&user_id="
		"U2CERLKJA&command=%2Fprbot&text=evaluate+acme%2Fchurn%2342&"
		"response_url=http%3A%2F%2F127.0.0.1%2Fhooks%2Fx&trigger_id=tr1";
	static const char bad[] =
		"token=mm-token-12&team_id=T1&channel_id=G8PSS9T3V&user_id="
		"U2CERLKJA&command=%2Fprbot&text=evaluate+acme%2Fchurn%2342";
	json_t *reply;

	(void)state;
	/* without mattermost_token, a request without a signature is 401 */
	assert_int_equal(pb_slack_command_parse(&ev, &res, cfg, &h, good,
						strlen(good), NOW),
			 0);
	assert_int_equal(res.verdict, PB_SLACK_UNAUTHORIZED);
	cfg->slack.mattermost_token.value = strdup("mm-token-123");
	assert_int_equal(pb_slack_command_parse(&ev, &res, cfg, &h, bad,
						strlen(bad), NOW),
			 0);
	assert_int_equal(res.verdict, PB_SLACK_UNAUTHORIZED);
	assert_string_equal(res.reason,
			    "missing X-Slack-Signature header, and the form's "
			    "token is not [slack] mattermost_token");
	assert_int_equal(pb_slack_command_parse(&ev, &res, cfg, &h, good,
						strlen(good), NOW),
			 0);
	assert_int_equal(res.verdict, PB_SLACK_ACCEPT);
	assert_string_equal(ev.delivery, "mattermost:tr1");
	assert_string_equal(ev.actor, "roadrunner-gh");
	assert_int_equal(ev.pr, 42);
	reply = json_loads(ev.reply, 0, NULL);
	assert_string_equal(
		json_string_value(json_object_get(reply, "platform")),
		"mattermost");
	json_decref(reply);
	pb_event_release(&ev);
	pb_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_slack_sign_matches_slacks_documented_example),
		cmocka_unit_test(test_slack_verify_refuses_bad_signatures),
		cmocka_unit_test(test_slack_form_decodes_fields),
		cmocka_unit_test(test_slack_form_refuses_what_is_not_a_form),
		cmocka_unit_test(test_slack_command_table),
		cmocka_unit_test(test_slack_command_event_delivery_and_reply),
		cmocka_unit_test(test_slack_command_refuses_before_reading),
		cmocka_unit_test(test_slack_docs_example_is_help),
		cmocka_unit_test(test_mattermost_token_instead_of_signature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
