/* test_source_github.c: webhook signatures and GitHub's real example payloads
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "prbot/config.h"
#include "prbot/err.h"
#include "prbot/event.h"
#include "prbot/source_github.h"

#define SECRET	 "It's a Secret to Everybody"
#define DELIVERY "72d3162e-cc78-11e3-81ab-4c9367dc0958"
#define EXAMPLES                                                  \
	"tests/webhooks/node_modules/@octokit/webhooks-examples/" \
	"api.github.com/index.json"
#define NPM_HINT "run `npm ci` in tests/webhooks (./dev.sh test does it)"

/* ---- GitHub's example payloads (@octokit/webhooks-examples) ---- */

static json_t *all_examples; /* the package's index.json, loaded once */

static const char *source_dir(void)
{
	const char *dir = getenv("PRBOT_SOURCE_DIR");

	if (!dir)
		fail_msg(
			"PRBOT_SOURCE_DIR is not set: run the test with ctest");
	return dir;
}

/* The list of every event's examples; fails the test when not installed. */
static json_t *examples(void)
{
	char path[4096];
	json_error_t jerr;

	if (all_examples)
		return all_examples;
	snprintf(path, sizeof(path), "%s/%s", source_dir(), EXAMPLES);
	if (access(path, R_OK))
		fail_msg("GitHub's example payloads '%s' are not installed: %s",
			 path, NPM_HINT);
	all_examples = json_load_file(path, 0, &jerr);
	if (!all_examples)
		fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
	return all_examples;
}

static int teardown_group(void **state)
{
	json_decref(all_examples);
	all_examples = NULL;
	return 0;
}

/* The examples of one event (a list). Borrowed. */
static json_t *event_examples(const char *event)
{
	json_t *list = examples(), *e;
	size_t i;

	json_array_foreach(
		list, i,
		e) if (!strcmp(json_string_value(json_object_get(e, "name")),
			       event)) return json_object_get(e, "examples");
	fail_msg("@octokit/webhooks-examples has no '%s' event", event);
	return NULL;
}

/* A deep copy of the nth example of event with action (NULL: any). */
static json_t *example(const char *event, const char *action, int nth)
{
	json_t *list = event_examples(event), *x;
	const char *a;
	size_t i;

	json_array_foreach(list, i, x)
	{
		a = json_string_value(json_object_get(x, "action"));
		if (action && (!a || strcmp(a, action)))
			continue;
		if (nth-- == 0)
			return json_deep_copy(x);
	}
	fail_msg("no example %d of '%s' '%s'", nth, event, action);
	return NULL;
}

/* Set (value non-NULL, stolen) or remove the value at a dotted path. */
static void set_path(json_t *root, const char *path, json_t *value)
{
	char buf[256], *dot, *seg = buf;
	json_t *obj = root;

	snprintf(buf, sizeof(buf), "%s", path);
	while ((dot = strchr(seg, '.'))) {
		*dot = '\0';
		/* a missing object on the way is added (installation.id) */
		if (!json_object_get(obj, seg) && value)
			assert_int_equal(json_object_set_new(obj, seg,
							     json_object()),
					 0);
		obj = json_object_get(obj, seg);
		assert_non_null(obj);
		seg = dot + 1;
	}
	if (value)
		assert_int_equal(json_object_set_new(obj, seg, value), 0);
	else
		assert_int_equal(json_object_del(obj, seg), 0);
}

/* A comment on a pull request: GitHub's issue_comment example, whose issue
 * gets the issue.pull_request marker of tests/data/webhooks. */
static json_t *pr_comment(const char *action, int nth)
{
	json_t *x = example("issue_comment", action, nth), *marker;
	char path[4096];
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s/webhooks/issue-pull_request.json",
		 getenv("PRBOT_TEST_DATA"));
	marker = json_load_file(path, 0, &jerr);
	if (!marker)
		fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
	set_path(x, "issue.pull_request", marker);
	return x;
}

/* ---- delivering ---- */

static const struct pb_kv default_labels[] = {
	{ "prbot:evaluate", "/evaluate", 1 },
};

static const struct pb_gh_options default_opt = {
	SECRET,
	"prbot",
	default_labels,
	1,
};

/* Sign body as GitHub does, then parse it. */
static int deliver_raw(struct pb_event *ev, struct pb_gh_result *res,
		       const struct pb_gh_options *opt, const char *event,
		       const char *body, size_t len)
{
	char sig[PB_GH_SIGNATURE_LEN + 1];
	struct pb_gh_headers h = { event, DELIVERY, sig };

	assert_int_equal(pb_gh_sign(sig, SECRET, body, len), 0);
	return pb_gh_webhook_parse(ev, res, opt, &h, body, len);
}

/* Deliver payload (decref'd here) as event; asserts the call worked. */
static void deliver(struct pb_event *ev, struct pb_gh_result *res,
		    const struct pb_gh_options *opt, const char *event,
		    json_t *payload)
{
	char *body = json_dumps(payload, JSON_COMPACT);

	assert_non_null(body);
	json_decref(payload);
	assert_int_equal(deliver_raw(ev, res, opt, event, body, strlen(body)),
			 0);
	free(body);
}

static void assert_ignored(const struct pb_event *ev,
			   const struct pb_gh_result *res, const char *reason)
{
	static const struct pb_event zero;

	assert_int_equal(res->verdict, PB_GH_IGNORE);
	assert_string_equal(res->reason, reason);
	assert_int_equal(pb_gh_verdict_status(res->verdict), 200);
	/* nothing half-filled is left for the caller to act on */
	assert_memory_equal(ev, &zero, sizeof(zero));
}

/* ---- signatures ---- */

static void test_sign_matches_github_docs_vector(void **state)
{
	char sig[PB_GH_SIGNATURE_LEN + 1];

	assert_int_equal(pb_gh_sign(sig, SECRET, "Hello, World!", 13), 0);
	assert_string_equal(sig, "sha256=757107ea0eb2509fc211221cce984b8a3757"
				 "0b6d7586c22c46f4379c8b043e17");
	assert_int_equal(
		pb_gh_verify_signature(SECRET, "Hello, World!", 13, sig), 0);
}

enum sig_edit {
	SIG_AS_IS,
	SIG_NONE,  /* header absent */
	SIG_EMPTY, /* header present, empty */
	SIG_SHA1,  /* the older X-Hub-Signature form */
	SIG_PREFIX_UP,
	SIG_SHORT,    /* last digit dropped */
	SIG_LONG,     /* one digit added */
	SIG_UPPER,    /* hex digits in capitals */
	SIG_NOT_HEX,  /* a 'g' among the digits */
	SIG_FLIP_BIT, /* last bit of the digest flipped */
	SIG_FIRST_BIT /* first bit of the digest flipped */
};

struct sig_case {
	const char *name;
	const char *secret; /* verify with this */
	const char *signed_body;
	enum sig_edit edit;
	int rc;
	const char *message;
};

static const char *const mismatch =
	"X-Hub-Signature-256 does not match the body: check that [github] "
	"webhook_secret is the webhook's secret";
static const char *const not_hex =
	"X-Hub-Signature-256 is not 'sha256=' and 64 lowercase hex digits";
static const char *const no_prefix =
	"X-Hub-Signature-256 does not start with 'sha256='";

static const struct sig_case sig_cases[] = {
	{ "valid", SECRET, "{}", SIG_AS_IS, 0, NULL },
	{ "missing", SECRET, "{}", SIG_NONE, PB_EPERM,
	  "missing X-Hub-Signature-256 header: set a secret on the GitHub "
	  "webhook" },
	{ "empty", SECRET, "{}", SIG_EMPTY, PB_EPERM, no_prefix },
	{ "sha1 prefix", SECRET, "{}", SIG_SHA1, PB_EPERM, no_prefix },
	{ "capital prefix", SECRET, "{}", SIG_PREFIX_UP, PB_EPERM, no_prefix },
	{ "one digit short", SECRET, "{}", SIG_SHORT, PB_EPERM,
	  "X-Hub-Signature-256 has 70 characters, expected 71" },
	{ "one digit long", SECRET, "{}", SIG_LONG, PB_EPERM,
	  "X-Hub-Signature-256 has more than 71 characters, expected 71" },
	{ "uppercase hex", SECRET, "{}", SIG_UPPER, PB_EPERM, not_hex },
	{ "not hex", SECRET, "{}", SIG_NOT_HEX, PB_EPERM, not_hex },
	{ "last bit flipped", SECRET, "{}", SIG_FLIP_BIT, PB_EPERM, mismatch },
	{ "first bit flipped", SECRET, "{}", SIG_FIRST_BIT, PB_EPERM,
	  mismatch },
	{ "other body", SECRET, "{ }", SIG_AS_IS, PB_EPERM, mismatch },
	{ "other secret", "It's a secret to everybody", "{}", SIG_AS_IS,
	  PB_EPERM, mismatch },
	{ "no secret configured", "", "{}", SIG_AS_IS, PB_EPERM,
	  "no webhook secret is configured: set [github] webhook_secret" },
};

/* The header a case sends: GitHub's signature of signed_body, edited. */
static const char *sig_header(char *buf, const struct sig_case *c)
{
	size_t i, n;

	assert_int_equal(pb_gh_sign(buf, SECRET, c->signed_body,
				    strlen(c->signed_body)),
			 0);
	n = strlen(buf);
	switch (c->edit) {
	case SIG_AS_IS:
		break;
	case SIG_NONE:
		return NULL;
	case SIG_EMPTY:
		buf[0] = '\0';
		break;
	case SIG_SHA1:
		memcpy(buf, "sha1=", 5);
		memmove(buf + 5, buf + 7, n - 7 + 1);
		buf[5 + 40] = '\0';
		break;
	case SIG_PREFIX_UP:
		memcpy(buf, "SHA256", 6);
		break;
	case SIG_SHORT:
		buf[n - 1] = '\0';
		break;
	case SIG_LONG:
		buf[n] = '0';
		buf[n + 1] = '\0';
		break;
	case SIG_UPPER:
		for (i = 7; i < n; i++)
			if (buf[i] >= 'a' && buf[i] <= 'f')
				buf[i] = (char)(buf[i] - 'a' + 'A');
		break;
	case SIG_NOT_HEX:
		buf[20] = 'g';
		break;
	case SIG_FLIP_BIT:
		buf[n - 1] = "1032547698badcfe"[strchr("0123456789abcdef",
						       buf[n - 1]) -
						"0123456789abcdef"];
		break;
	case SIG_FIRST_BIT:
		buf[7] = "89abcdef01234567"[strchr("0123456789abcdef", buf[7]) -
					    "0123456789abcdef"];
		break;
	}
	return buf;
}

static void test_verify_signature_table(void **state)
{
	char buf[PB_GH_SIGNATURE_LEN + 8];
	const struct sig_case *c;
	const char *header;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(sig_cases) / sizeof(sig_cases[0]); i++) {
		c = &sig_cases[i];
		header = sig_header(buf, c);
		pb_err_clear();
		rc = pb_gh_verify_signature(c->secret, "{}", 2, header);
		if (rc != c->rc)
			fail_msg("%s: rc %d, expected %d (%s)", c->name, rc,
				 c->rc, pb_err_last());
		if (c->message && strcmp(pb_err_last(), c->message))
			fail_msg("%s: message '%s', expected '%s'", c->name,
				 pb_err_last(), c->message);
	}
}

/* A signature failure is a 401 before anything else of the delivery is
 * read: a broken body or missing headers do not get a 400. */
static void test_bad_signature_is_401_before_parsing(void **state)
{
	struct pb_gh_headers h = { NULL, NULL, "sha256=00" };
	struct pb_gh_result res;
	struct pb_event ev;

	assert_int_equal(pb_gh_webhook_parse(&ev, &res, &default_opt, &h,
					     "not json", 8),
			 0);
	assert_int_equal(res.verdict, PB_GH_UNAUTHORIZED);
	assert_int_equal(pb_gh_verdict_status(res.verdict), 401);
	assert_string_equal(res.reason, "X-Hub-Signature-256 has 9 "
					"characters, expected 71");
	assert_null(ev.delivery);
	h.signature = NULL;
	assert_int_equal(pb_gh_webhook_parse(&ev, &res, &default_opt, &h,
					     "not json", 8),
			 0);
	assert_int_equal(res.verdict, PB_GH_UNAUTHORIZED);
	pb_event_release(&ev);
}

/* ---- agreement with @octokit/webhooks-methods ---- */

/* Run node on tests/webhooks/sign.js; its first output line into out.
 * Returns the exit code. */
static int sign_js(char *out, size_t outlen, const char *mode,
		   const char *secret, const char *file, const char *sig)
{
	char script[4096];
	char *argv[] = { "node",       script,
			 (char *)mode, (char *)secret,
			 (char *)file, (char *)sig,
			 NULL };
	int fds[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	snprintf(script, sizeof(script), "%s/tests/webhooks/sign.js",
		 source_dir());
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp("node", argv);
		_exit(127);
	}
	close(fds[1]);
	while (got + 1 < (ssize_t)outlen &&
	       (n = read(fds[0], out + got, outlen - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		got += n;
	}
	out[got] = '\0';
	out[strcspn(out, "\n")] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 127)
		fail_msg(
			"cannot run node: install Node.js (./dev.sh deps does)");
	if (WEXITSTATUS(status) == 2 || WEXITSTATUS(status) > 127)
		fail_msg("node sign.js %s failed (exit %d): %s", mode,
			 WEXITSTATUS(status), NPM_HINT);
	return WEXITSTATUS(status);
}

static void test_signatures_agree_with_octokit(void **state)
{
	char file[] = "/tmp/prbot-test-webhook.XXXXXX";
	char ours[PB_GH_SIGNATURE_LEN + 1], theirs[128], out[128];
	json_t *x = pr_comment("created", 0);
	char *body = json_dumps(x, JSON_INDENT(2));
	size_t len = strlen(body), i;
	int fd = mkstemp(file);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, len), (ssize_t)len);
	close(fd);

	/* octokit's signature passes our check */
	assert_int_equal(
		sign_js(theirs, sizeof(theirs), "sign", SECRET, file, NULL), 0);
	assert_int_equal(strlen(theirs), PB_GH_SIGNATURE_LEN);
	assert_int_equal(pb_gh_verify_signature(SECRET, body, len, theirs), 0);

	/* ours passes octokit's, and is the same text */
	assert_int_equal(pb_gh_sign(ours, SECRET, body, len), 0);
	assert_string_equal(ours, theirs);
	assert_int_equal(
		sign_js(out, sizeof(out), "verify", SECRET, file, ours), 0);

	/* and both refuse a flipped bit and capital hex digits */
	ours[PB_GH_SIGNATURE_LEN - 1] ^= 1;
	assert_int_equal(
		sign_js(out, sizeof(out), "verify", SECRET, file, ours), 1);
	assert_int_equal(pb_gh_verify_signature(SECRET, body, len, ours),
			 PB_EPERM);
	assert_int_equal(pb_gh_sign(ours, SECRET, body, len), 0);
	for (i = 7; i < PB_GH_SIGNATURE_LEN; i++)
		if (ours[i] >= 'a' && ours[i] <= 'f')
			ours[i] = (char)(ours[i] - 'a' + 'A');
	assert_int_equal(
		sign_js(out, sizeof(out), "verify", SECRET, file, ours), 1);
	assert_int_equal(pb_gh_verify_signature(SECRET, body, len, ours),
			 PB_EPERM);

	unlink(file);
	free(body);
	json_decref(x);
}

/* ---- the handled events, every field checked ---- */

static void test_pr_comment_is_accepted_with_every_field(void **state)
{
	struct pb_gh_result res;
	struct pb_event ev;

	/* the example delivered by a GitHub App installation */
	deliver(&ev, &res, &default_opt, "issue_comment",
		pr_comment("created", 3));
	assert_int_equal(res.verdict, PB_GH_ACCEPT);
	assert_string_equal(res.reason, "");
	assert_int_equal(pb_gh_verdict_status(res.verdict), 202);
	assert_int_equal(ev.source, PB_SOURCE_GITHUB);
	assert_int_equal(ev.kind, PB_EVENT_COMMENT);
	assert_string_equal(ev.delivery, DELIVERY);
	assert_string_equal(ev.repo, "Codertocat/Hello-World");
	assert_int_equal(ev.pr, 1);
	assert_null(ev.sha); /* the PR must be read for its head */
	assert_null(ev.base_ref);
	assert_null(ev.head_ref);
	assert_null(ev.head_repo);
	assert_null(ev.head_clone_url);
	assert_int_equal(ev.head_origin, PB_HEAD_UNKNOWN);
	assert_string_equal(ev.actor, "Codertocat");
	assert_int_equal(ev.actor_type, PB_ACTOR_USER);
	assert_string_equal(ev.text,
			    "You are totally right! I'll get this fixed right "
			    "away.");
	assert_null(ev.label);
	assert_int_equal(ev.merged, 0);
	assert_int_equal(ev.comment_id, 492700400);
	assert_string_equal(ev.comment_node_id,
			    "MDEyOklzc3VlQ29tbWVudDQ5MjcwMDQwMA==");
	assert_int_equal(ev.installation_id, 1);
	assert_string_equal(ev.reply,
			    "/repos/Codertocat/Hello-World/issues/1/comments");
	pb_event_release(&ev);

	/* a plain repository webhook: no installation */
	deliver(&ev, &res, &default_opt, "issue_comment",
		pr_comment("created", 0));
	assert_int_equal(res.verdict, PB_GH_ACCEPT);
	assert_int_equal(ev.installation_id, 0);
	assert_string_equal(ev.actor, "Codertocat");
	pb_event_release(&ev);
}

static void test_comment_on_plain_issue_is_ignored(void **state)
{
	struct pb_gh_result res;
	struct pb_event ev;

	deliver(&ev, &res, &default_opt, "issue_comment",
		example("issue_comment", "created", 0));
	assert_ignored(&ev, &res, "comment on an issue, not a pull request");
	pb_event_release(&ev);
}

static void test_comment_edited_or_deleted_is_ignored(void **state)
{
	struct pb_gh_result res;
	struct pb_event ev;

	deliver(&ev, &res, &default_opt, "issue_comment",
		pr_comment("edited", 0));
	assert_ignored(&ev, &res, "comment was edited, not created");
	deliver(&ev, &res, &default_opt, "issue_comment",
		pr_comment("deleted", 0));
	assert_ignored(&ev, &res, "comment was deleted, not created");
	pb_event_release(&ev);
}

struct author_case {
	const char *bot_login; /* configured */
	const char *login;     /* comment.user.login */
	const char *type;      /* comment.user.type */
	const char *reason;    /* NULL: accepted */
};

static const struct author_case author_cases[] = {
	{ "prbot", "prbot", "User", "comment by the bot itself" },
	{ "prbot", "PrBot", "User", "comment by the bot itself" },
	{ "PRBOT", "prbot", "User", "comment by the bot itself" },
	{ "prbot", "prbot[bot]", "Bot", "comment by the bot itself" },
	{ "prbot", "dependabot[bot]", "Bot", "comment by a Bot account" },
	{ "prbot", "ci-helper", "Bot", "comment by a Bot account" },
	{ "prbot", "prbot2", "User", NULL },
	{ "prbot", "prbo", "User", NULL },
	{ NULL, "prbot", "User", NULL },
	{ "prbot", "octocat", "Organization", NULL },
};

/* The bot's own account, under a token or as a GitHub App. */
static void test_bot_login_matches_token_and_app_accounts(void **state)
{
	static const struct {
		const char *login, *bot;
		int want;
	} t[] = {
		{ "prbot", "prbot", 1 },
		{ "prbot[bot]", "prbot", 1 },
		{ "prbot", "prbot[bot]", 1 },
		{ "PrBot[BOT]", "prbot", 1 },
		{ "prbot2", "prbot", 0 },
		{ "prbo", "prbot", 0 },
		{ "prbot[bot]x", "prbot", 0 },
		{ "[bot]", "prbot", 0 },
		{ "prbot", "", 0 },
		{ "prbot", NULL, 0 },
		{ NULL, "prbot", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (pb_gh_is_bot_login(t[i].login, t[i].bot) != t[i].want)
			fail_msg("'%s' as '%s': want %d",
				 t[i].login ? t[i].login : "(null)",
				 t[i].bot ? t[i].bot : "(null)", t[i].want);
}

static void test_comments_by_bots_are_ignored(void **state)
{
	struct pb_gh_options opt = default_opt;
	const struct author_case *c;
	struct pb_gh_result res;
	struct pb_event ev;
	json_t *x;
	size_t i;

	for (i = 0; i < sizeof(author_cases) / sizeof(author_cases[0]); i++) {
		c = &author_cases[i];
		opt.bot_login = c->bot_login;
		x = pr_comment("created", 0);
		set_path(x, "comment.user.login", json_string(c->login));
		set_path(x, "comment.user.type", json_string(c->type));
		deliver(&ev, &res, &opt, "issue_comment", x);
		if (c->reason) {
			assert_ignored(&ev, &res, c->reason);
		} else {
			if (res.verdict != PB_GH_ACCEPT)
				fail_msg("%s (%s) by %s: %s", c->login, c->type,
					 c->bot_login, res.reason);
			assert_string_equal(ev.actor, c->login);
		}
		pb_event_release(&ev);
	}
}

static void test_mapped_label_is_accepted_with_every_field(void **state)
{
	/* matched as GitHub matches label names: whatever the case */
	static const struct pb_kv labels[] = {
		{ "prbot:evaluate", "/evaluate", 1 },
		{ "BUG", "/evaluate baseline=main", 2 },
	};
	struct pb_gh_options opt = { SECRET, "prbot", labels, 2 };
	struct pb_gh_result res;
	struct pb_event ev;

	deliver(&ev, &res, &opt, "pull_request",
		example("pull_request", "labeled", 0));
	assert_int_equal(res.verdict, PB_GH_ACCEPT);
	assert_int_equal(ev.source, PB_SOURCE_GITHUB);
	assert_int_equal(ev.kind, PB_EVENT_LABEL);
	assert_string_equal(ev.delivery, DELIVERY);
	assert_string_equal(ev.repo, "Codertocat/Hello-World");
	assert_int_equal(ev.pr, 2);
	assert_string_equal(ev.sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
	assert_string_equal(ev.base_ref, "master");
	assert_string_equal(ev.head_ref, "changes");
	assert_string_equal(ev.head_repo, "Codertocat/Hello-World");
	assert_string_equal(ev.head_clone_url,
			    "https://github.com/Codertocat/Hello-World.git");
	assert_int_equal(ev.head_origin, PB_HEAD_SAME_REPO);
	assert_string_equal(ev.actor, "Codertocat");
	assert_int_equal(ev.actor_type, PB_ACTOR_USER);
	assert_string_equal(ev.text, "/evaluate baseline=main");
	assert_string_equal(ev.label, "bug");
	assert_int_equal(ev.comment_id, 0);
	assert_null(ev.comment_node_id);
	assert_int_equal(ev.installation_id, 1);
	assert_string_equal(ev.reply,
			    "/repos/Codertocat/Hello-World/issues/2/comments");
	pb_event_release(&ev);
}

static void test_unmapped_label_is_ignored(void **state)
{
	struct pb_gh_result res;
	struct pb_event ev;

	deliver(&ev, &res, &default_opt, "pull_request",
		example("pull_request", "labeled", 0));
	assert_ignored(&ev, &res, "label 'bug' is not mapped in [labels]");
	pb_event_release(&ev);
}

static void test_label_added_by_a_bot_is_ignored(void **state)
{
	json_t *x = example("pull_request", "labeled", 0);
	struct pb_gh_result res;
	struct pb_event ev;

	set_path(x, "label.name", json_string("prbot:evaluate"));
	set_path(x, "sender.login", json_string("PRBOT[bot]"));
	set_path(x, "sender.type", json_string("Bot"));
	deliver(&ev, &res, &default_opt, "pull_request", x);
	assert_ignored(&ev, &res, "label added by the bot itself");

	x = example("pull_request", "labeled", 0);
	set_path(x, "label.name", json_string("prbot:evaluate"));
	set_path(x, "sender.login", json_string("github-actions[bot]"));
	set_path(x, "sender.type", json_string("Bot"));
	deliver(&ev, &res, &default_opt, "pull_request", x);
	assert_ignored(&ev, &res, "label added by a Bot account");
	pb_event_release(&ev);
}

static void test_pr_closed_is_accepted_with_merged_flag(void **state)
{
	struct pb_gh_result res;
	struct pb_event ev;
	json_t *x;

	deliver(&ev, &res, &default_opt, "pull_request",
		example("pull_request", "closed", 0));
	assert_int_equal(res.verdict, PB_GH_ACCEPT);
	assert_int_equal(ev.kind, PB_EVENT_PR_CLOSED);
	assert_string_equal(ev.delivery, DELIVERY);
	assert_string_equal(ev.repo, "Codertocat/Hello-World");
	assert_int_equal(ev.pr, 2);
	assert_int_equal(ev.merged, 0);
	assert_string_equal(ev.sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
	assert_string_equal(ev.actor, "Codertocat");
	assert_null(ev.text);
	assert_null(ev.label);
	assert_int_equal(ev.installation_id, 1);
	assert_int_equal(ev.head_origin, PB_HEAD_SAME_REPO);
	pb_event_release(&ev);

	x = example("pull_request", "closed", 0);
	set_path(x, "pull_request.merged", json_true());
	deliver(&ev, &res, &default_opt, "pull_request", x);
	assert_int_equal(res.verdict, PB_GH_ACCEPT);
	assert_int_equal(ev.merged, 1);
	pb_event_release(&ev);
}

static void test_pr_from_fork_is_marked(void **state)
{
	struct pb_gh_result res;
	struct pb_event ev;
	json_t *x;

	x = example("pull_request", "closed", 0);
	set_path(x, "pull_request.head.repo.full_name",
		 json_string("mallory/Hello-World"));
	deliver(&ev, &res, &default_opt, "pull_request", x);
	assert_int_equal(res.verdict, PB_GH_ACCEPT);
	assert_string_equal(ev.head_repo, "mallory/Hello-World");
	assert_int_equal(ev.head_origin, PB_HEAD_FORK);
	pb_event_release(&ev);

	/* the fork was deleted: GitHub sends head.repo null */
	x = example("pull_request", "closed", 0);
	set_path(x, "pull_request.head.repo", json_null());
	deliver(&ev, &res, &default_opt, "pull_request", x);
	assert_int_equal(res.verdict, PB_GH_ACCEPT);
	assert_null(ev.head_repo);
	assert_null(ev.head_clone_url);
	assert_int_equal(ev.head_origin, PB_HEAD_FORK);
	pb_event_release(&ev);

	/* the same repository whatever the case GitHub spelled it in */
	x = example("pull_request", "closed", 0);
	set_path(x, "pull_request.head.repo.full_name",
		 json_string("codertocat/hello-world"));
	deliver(&ev, &res, &default_opt, "pull_request", x);
	assert_int_equal(ev.head_origin, PB_HEAD_SAME_REPO);
	pb_event_release(&ev);
}

static void test_ping_is_answered(void **state)
{
	struct pb_gh_result res;
	struct pb_event ev;

	deliver(&ev, &res, &default_opt, "ping", example("ping", NULL, 0));
	assert_int_equal(res.verdict, PB_GH_PING);
	assert_int_equal(pb_gh_verdict_status(res.verdict), 200);
	assert_string_equal(res.reason, "pong");
	assert_int_equal(ev.kind, PB_EVENT_PING);
	assert_string_equal(ev.delivery, DELIVERY);
	assert_string_equal(ev.repo, "Octocoders/Hello-World");
	assert_string_equal(ev.text, "Anything added dilutes everything else.");
	pb_event_release(&ev);

	/* an organization's hook: no repository */
	deliver(&ev, &res, &default_opt, "ping", example("ping", NULL, 3));
	assert_int_equal(res.verdict, PB_GH_PING);
	assert_null(ev.repo);
	pb_event_release(&ev);
}

static void test_unhandled_event_is_ignored(void **state)
{
	struct pb_gh_result res;
	struct pb_event ev;

	deliver(&ev, &res, &default_opt, "star", example("star", NULL, 0));
	assert_ignored(&ev, &res, "event 'star' is not handled");
	deliver(&ev, &res, &default_opt, "pull_request",
		example("pull_request", "opened", 0));
	assert_ignored(&ev, &res,
		       "pull_request action 'opened' is not handled");
	pb_event_release(&ev);
}

/* Every example of every event in the package: never a 400 or an error,
 * and accepted exactly when prbot handles it. */
static void test_every_example_payload_is_classified(void **state)
{
	static const struct pb_kv labels[] = { { "bug", "/evaluate", 1 } };
	struct pb_gh_options opt = { SECRET, "prbot", labels, 1 };
	json_t *list = examples(), *e, *x;
	enum pb_gh_verdict want;
	const char *name, *action;
	struct pb_gh_result res;
	struct pb_event ev;
	size_t i, j, n = 0;

	json_array_foreach(list, i, e)
	{
		name = json_string_value(json_object_get(e, "name"));
		json_array_foreach(json_object_get(e, "examples"), j, x)
		{
			action =
				json_string_value(json_object_get(x, "action"));
			want = PB_GH_IGNORE;
			if (!strcmp(name, "ping"))
				want = PB_GH_PING;
			else if (!strcmp(name, "pull_request") &&
				 (!strcmp(action, "labeled") ||
				  !strcmp(action, "closed")))
				want = PB_GH_ACCEPT;
			deliver(&ev, &res, &opt, name, json_incref(x));
			if (res.verdict != want)
				fail_msg("%s example %zu (%s): verdict %d, "
					 "expected %d: %s",
					 name, j, action ? action : "-",
					 res.verdict, want, res.reason);
			pb_event_release(&ev);
			n++;
		}
	}
	assert_true(n > 300); /* the whole package was read */
}

/* ---- bad input ---- */

struct header_case {
	const char *event;
	const char *delivery;
	const char *reason;
};

static void test_bad_headers_are_400(void **state)
{
	static const struct header_case cases[] = {
		{ NULL, DELIVERY,
		  "missing X-GitHub-Event header: send the event name as "
		  "GitHub does" },
		{ "ping", NULL,
		  "missing X-GitHub-Delivery header: send the delivery id as "
		  "GitHub does" },
		{ "", DELIVERY,
		  "X-GitHub-Event is not an event name (lowercase letters, "
		  "digits and '_', at most 64)" },
		{ "Ping\r\nX-Evil: 1", DELIVERY,
		  "X-GitHub-Event is not an event name (lowercase letters, "
		  "digits and '_', at most 64)" },
		{ "ping", "",
		  "X-GitHub-Delivery is not a delivery id (letters, digits, "
		  "'-', '_', '.' and ':', at most 128)" },
		{ "ping", "a b",
		  "X-GitHub-Delivery is not a delivery id (letters, digits, "
		  "'-', '_', '.' and ':', at most 128)" },
	};
	char sig[PB_GH_SIGNATURE_LEN + 1], long_id[PB_GH_DELIVERY_MAX + 2];
	struct pb_gh_headers h;
	struct pb_gh_result res;
	struct pb_event ev;
	size_t i;

	assert_int_equal(pb_gh_sign(sig, SECRET, "{}", 2), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h.event = cases[i].event;
		h.delivery = cases[i].delivery;
		h.signature = sig;
		assert_int_equal(pb_gh_webhook_parse(&ev, &res, &default_opt,
						     &h, "{}", 2),
				 0);
		assert_int_equal(res.verdict, PB_GH_BAD_REQUEST);
		assert_int_equal(pb_gh_verdict_status(res.verdict), 400);
		assert_string_equal(res.reason, cases[i].reason);
		assert_null(ev.delivery);
	}
	/* delivery ids are bounded: 128 characters pass, 129 do not */
	memset(long_id, 'a', sizeof(long_id));
	long_id[PB_GH_DELIVERY_MAX] = '\0';
	h.event = "star";
	h.delivery = long_id;
	assert_int_equal(
		pb_gh_webhook_parse(&ev, &res, &default_opt, &h, "{}", 2), 0);
	assert_int_equal(res.verdict, PB_GH_IGNORE);
	pb_event_release(&ev);
	long_id[PB_GH_DELIVERY_MAX] = 'a';
	long_id[PB_GH_DELIVERY_MAX + 1] = '\0';
	assert_int_equal(
		pb_gh_webhook_parse(&ev, &res, &default_opt, &h, "{}", 2), 0);
	assert_int_equal(res.verdict, PB_GH_BAD_REQUEST);
}

struct body_case {
	const char *name;
	const char *body;
	size_t len; /* 0: strlen */
	const char *reason;
};

static void test_bad_bodies_are_400(void **state)
{
	static const struct body_case cases[] = {
		{ "empty", "", 0, "empty body: expected the JSON payload" },
		{ "form-encoded", "payload=%7B%22zen%22%3A%22x%22%7D", 0,
		  "the body is form-encoded: set the webhook's content type "
		  "to application/json" },
		{ "malformed", "{\n  \"zen\": \"x\",\n  \"hook_id\": \n}", 0,
		  "malformed JSON at line 4, column 1: unexpected token near "
		  "'}'" },
		{ "cut short", "{\"zen\": \"x\"", 0,
		  "malformed JSON at line 1, column 11: '}' expected near end "
		  "of file" },
		{ "not UTF-8", "{\"zen\": \"caf\xe9\"}", 0,
		  "the body is not valid UTF-8 (at byte offset 12): GitHub "
		  "sends JSON "
		  "in UTF-8" },
		{ "NUL byte", "{\"zen\": \"a\0b\"}", 14,
		  "malformed JSON at line 1, column 10: control character "
		  "0x0 near '\"a'" },
		{ "escaped NUL", "{\"zen\": \"a\\u0000b\"}", 0,
		  "the body has a \\u0000 in a string at line 1, column 18: "
		  "prbot refuses NUL characters" },
		{ "a list", "[1, 2]", 0,
		  "the body is a list, expected a JSON object" },
		{ "a string", "\"zen\"", 0,
		  "malformed JSON at line 1, column 5: '[' or '{' expected "
		  "near '\"zen\"'" },
		{ "duplicate key", "{\"zen\": \"a\", \"zen\": \"b\"}", 0,
		  "malformed JSON at line 1, column 18: duplicate object key "
		  "near '\"zen\"'" },
	};
	struct pb_gh_result res;
	struct pb_event ev;
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len ? cases[i].len : strlen(cases[i].body);
		assert_int_equal(deliver_raw(&ev, &res, &default_opt, "ping",
					     cases[i].body, len),
				 0);
		if (res.verdict != PB_GH_BAD_REQUEST ||
		    strcmp(res.reason, cases[i].reason))
			fail_msg("%s: verdict %d '%s', expected 400 '%s'",
				 cases[i].name, res.verdict, res.reason,
				 cases[i].reason);
		assert_null(ev.delivery);
	}
}

struct field_case {
	const char *event;  /* "issue_comment": PR comment; "pull_request":
			       the labeled example */
	const char *path;   /* edited in the example */
	const char *value;  /* JSON text set there; NULL: removed */
	const char *reason; /* the 400's reason */
};

static const struct field_case field_cases[] = {
	{ "issue_comment", "comment.body", NULL,
	  "issue_comment: 'comment.body' is missing" },
	{ "issue_comment", "comment", NULL,
	  "issue_comment: 'comment' is missing" },
	{ "issue_comment", "action", NULL,
	  "issue_comment: 'action' is missing" },
	{ "issue_comment", "action", "7",
	  "issue_comment: 'action' is a number, expected a string" },
	{ "issue_comment", "action", "\"Created!\"",
	  "issue_comment: 'action' is not a lowercase name" },
	{ "issue_comment", "comment.body", "42",
	  "issue_comment: 'comment.body' is a number, expected a string" },
	{ "issue_comment", "comment.body", "null",
	  "issue_comment: 'comment.body' is null, expected a string" },
	{ "issue_comment", "comment.id", "\"492700400\"",
	  "issue_comment: 'comment.id' is a string, expected a whole number" },
	{ "issue_comment", "comment.id", "4.5",
	  "issue_comment: 'comment.id' is a fractional number, expected a "
	  "whole number" },
	{ "issue_comment", "comment.id", "0",
	  "issue_comment: 'comment.id' is 0, expected a number from 1" },
	{ "issue_comment", "comment.user", "null",
	  "issue_comment: 'comment.user' is null, expected an object" },
	{ "issue_comment", "comment.user", "\"Codertocat\"",
	  "issue_comment: 'comment.user' is a string, expected an object" },
	{ "issue_comment", "comment.user.login", "\"\"",
	  "issue_comment: 'comment.user.login' is empty" },
	{ "issue_comment", "comment.user.login", "\"../../admin\"",
	  "issue_comment: 'comment.user.login' is not a GitHub login" },
	{ "issue_comment", "comment.user.type", NULL,
	  "issue_comment: 'comment.user.type' is missing" },
	{ "issue_comment", "issue.number", "-1",
	  "issue_comment: 'issue.number' is -1, expected a number from 1" },
	{ "issue_comment", "issue.pull_request", "[]",
	  "issue_comment: 'issue.pull_request' is a list, expected an "
	  "object" },
	{ "issue_comment", "repository.full_name", "\"Hello-World\"",
	  "issue_comment: 'repository.full_name' is not OWNER/NAME" },
	{ "issue_comment", "repository.full_name", "\"a/b/c\"",
	  "issue_comment: 'repository.full_name' is not OWNER/NAME" },
	{ "issue_comment", "repository.full_name", "\"a/b?x=1\"",
	  "issue_comment: 'repository.full_name' is not OWNER/NAME" },
	{ "issue_comment", "comment.node_id", "\"a\\nb\"",
	  "issue_comment: 'comment.node_id' contains a control character" },
	{ "issue_comment", "installation.id", "\"1\"",
	  "issue_comment: 'installation.id' is a string, expected a whole "
	  "number" },
	{ "pull_request", "label.name", NULL,
	  "pull_request: 'label.name' is missing" },
	{ "pull_request", "label", "\"prbot:evaluate\"",
	  "pull_request: 'label' is a string, expected an object" },
	{ "pull_request", "number", NULL, "pull_request: 'number' is missing" },
	{ "pull_request", "pull_request.head.sha", "\"ec26c3e\"",
	  "pull_request: 'pull_request.head.sha' is not a full commit id (40 "
	  "or 64 hex digits)" },
	{ "pull_request", "pull_request.head.sha",
	  "\"EC26C3E57CA3A959CA5AAD62DE7213C562F8C821\"",
	  "pull_request: 'pull_request.head.sha' is not a full commit id (40 "
	  "or 64 lowercase hex digits)" },
	{ "pull_request", "pull_request.head", NULL,
	  "pull_request: 'pull_request.head' is missing" },
	{ "pull_request", "pull_request.base.ref", "false",
	  "pull_request: 'pull_request.base.ref' is a boolean, expected a "
	  "string" },
	{ "pull_request", "pull_request.head.repo.full_name", NULL,
	  "pull_request: 'pull_request.head.repo.full_name' is missing" },
	{ "pull_request", "sender.type", "1",
	  "pull_request: 'sender.type' is a number, expected a string" },
};

static void test_wrong_types_and_missing_fields_are_400(void **state)
{
	const struct field_case *c;
	struct pb_gh_result res;
	struct pb_event ev;
	json_error_t jerr;
	json_t *x, *v;
	size_t i;

	for (i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++) {
		c = &field_cases[i];
		if (!strcmp(c->event, "issue_comment")) {
			x = pr_comment("created", 0);
		} else {
			x = example("pull_request", "labeled", 0);
			set_path(x, "label.name",
				 json_string("prbot:evaluate"));
		}
		v = NULL;
		if (c->value) {
			v = json_loads(c->value, JSON_DECODE_ANY, &jerr);
			assert_non_null(v);
		}
		set_path(x, c->path, v);
		deliver(&ev, &res, &default_opt, c->event, x);
		if (res.verdict != PB_GH_BAD_REQUEST ||
		    strcmp(res.reason, c->reason))
			fail_msg("%s = %s: verdict %d '%s', expected 400 '%s'",
				 c->path, c->value ? c->value : "(removed)",
				 res.verdict, res.reason, c->reason);
		assert_null(ev.delivery);
		pb_event_release(&ev);
	}
}

/* Strings are bounded: a comment body up to GitHub's limit passes, a
 * longer one is a 400; a name (here a label) likewise. */
static void test_long_strings_are_bounded(void **state)
{
	char *text = malloc(PB_GH_TEXT_MAX + 2);
	struct pb_gh_result res;
	struct pb_event ev;
	json_t *x;

	assert_non_null(text);
	memset(text, 'x', PB_GH_TEXT_MAX + 1);
	memcpy(text, "/evaluate\n", 10);
	text[PB_GH_TEXT_MAX] = '\0';
	x = pr_comment("created", 0);
	set_path(x, "comment.body", json_string(text));
	deliver(&ev, &res, &default_opt, "issue_comment", x);
	assert_int_equal(res.verdict, PB_GH_ACCEPT);
	assert_int_equal(strlen(ev.text), PB_GH_TEXT_MAX);
	pb_event_release(&ev);

	text[PB_GH_TEXT_MAX] = 'x';
	text[PB_GH_TEXT_MAX + 1] = '\0';
	x = pr_comment("created", 0);
	set_path(x, "comment.body", json_string(text));
	deliver(&ev, &res, &default_opt, "issue_comment", x);
	assert_int_equal(res.verdict, PB_GH_BAD_REQUEST);
	assert_string_equal(res.reason, "issue_comment: 'comment.body' is "
					"longer than 262144 bytes");
	pb_event_release(&ev);

	/* names: 256 bytes pass (an unmapped label), 257 do not */
	memset(text, 'l', PB_GH_NAME_MAX + 1);
	text[PB_GH_NAME_MAX] = '\0';
	x = example("pull_request", "labeled", 0);
	set_path(x, "label.name", json_string(text));
	deliver(&ev, &res, &default_opt, "pull_request", x);
	assert_int_equal(res.verdict, PB_GH_IGNORE);
	text[PB_GH_NAME_MAX] = 'l';
	x = example("pull_request", "labeled", 0);
	set_path(x, "label.name", json_string(text));
	deliver(&ev, &res, &default_opt, "pull_request", x);
	assert_int_equal(res.verdict, PB_GH_BAD_REQUEST);
	assert_string_equal(res.reason, "pull_request: 'label.name' is "
					"longer than 256 bytes");
	pb_event_release(&ev);
	free(text);
}

static void test_event_names(void **state)
{
	struct pb_event ev;

	assert_string_equal(pb_event_source_name(PB_SOURCE_GITHUB), "github");
	assert_string_equal(pb_event_source_name(PB_SOURCE_SLACK), "slack");
	assert_string_equal(pb_event_source_name(PB_SOURCE_CRON), "cron");
	assert_string_equal(pb_event_source_name(PB_SOURCE_CLI), "cli");
	assert_string_equal(pb_event_kind_name(PB_EVENT_COMMENT), "comment");
	assert_string_equal(pb_event_kind_name(PB_EVENT_LABEL), "label");
	assert_string_equal(pb_event_kind_name(PB_EVENT_PR_CLOSED),
			    "pr_closed");
	assert_string_equal(pb_event_kind_name(PB_EVENT_PING), "ping");
	memset(&ev, 0, sizeof(ev));
	pb_event_release(&ev);
	pb_event_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_matches_github_docs_vector),
		cmocka_unit_test(test_verify_signature_table),
		cmocka_unit_test(test_bot_login_matches_token_and_app_accounts),
		cmocka_unit_test(test_bad_signature_is_401_before_parsing),
		cmocka_unit_test(test_signatures_agree_with_octokit),
		cmocka_unit_test(test_pr_comment_is_accepted_with_every_field),
		cmocka_unit_test(test_comment_on_plain_issue_is_ignored),
		cmocka_unit_test(test_comment_edited_or_deleted_is_ignored),
		cmocka_unit_test(test_comments_by_bots_are_ignored),
		cmocka_unit_test(
			test_mapped_label_is_accepted_with_every_field),
		cmocka_unit_test(test_unmapped_label_is_ignored),
		cmocka_unit_test(test_label_added_by_a_bot_is_ignored),
		cmocka_unit_test(test_pr_closed_is_accepted_with_merged_flag),
		cmocka_unit_test(test_pr_from_fork_is_marked),
		cmocka_unit_test(test_ping_is_answered),
		cmocka_unit_test(test_unhandled_event_is_ignored),
		cmocka_unit_test(test_every_example_payload_is_classified),
		cmocka_unit_test(test_bad_headers_are_400),
		cmocka_unit_test(test_bad_bodies_are_400),
		cmocka_unit_test(test_wrong_types_and_missing_fields_are_400),
		cmocka_unit_test(test_long_strings_are_bounded),
		cmocka_unit_test(test_event_names),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_group);
}
