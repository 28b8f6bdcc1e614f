/* source_slack.h: Slack (and Mattermost) slash commands verified and turned
 * into one pb_event */
#ifndef PRBOT_SOURCE_SLACK_H
#define PRBOT_SOURCE_SLACK_H

#include <stddef.h>
#include <stdint.h>

#include "prbot/config.h"
#include "prbot/event.h"

/*
 * Pure functions: no network, no state, no logging. The HTTP server reads
 * the headers and the body, calls pb_slack_command_parse() and answers with
 * the status of the verdict.
 */

/* "v0=" and 64 lowercase hex digits, as Slack sends X-Slack-Signature. */
#define PB_SLACK_SIGNATURE_LEN 67

/* Slack's advice: refuse a request whose timestamp is further than five
   minutes from now (either way), so a captured request cannot be replayed
   later; within the window the delivery id dedupes a replay. */
#define PB_SLACK_MAX_SKEW 300

/* Bounds on what a request may carry; more is a 400. */
#define PB_SLACK_BODY_MAX  65536 /* the whole form */
#define PB_SLACK_FIELD_MAX 8192	 /* one decoded field */

/*
 * Write "v0=HEX" of HMAC-SHA256(secret, "v0:" timestamp ":" body) into out,
 * as Slack computes X-Slack-Signature (for tests and clients). Returns 0, or
 * PB_ERROR with a message when OpenSSL fails. body may be NULL when len is 0.
 */
int pb_slack_sign(char out[PB_SLACK_SIGNATURE_LEN + 1], const char *secret,
		  const char *timestamp, const void *body, size_t len);

/*
 * Check X-Slack-Request-Timestamp (timestamp: decimal Unix seconds, within
 * PB_SLACK_MAX_SKEW of now) and X-Slack-Signature (signature: "v0=" and 64
 * lowercase hex digits, compared in constant time) over the raw body. Either
 * header NULL when absent. Returns 0 when both hold; PB_EPERM with a message
 * naming what is wrong (missing, stale, malformed, no match, no secret).
 */
int pb_slack_verify_signature(const char *secret, const char *timestamp,
			      const char *signature, const void *body,
			      size_t len, int64_t now);

/* The fields of a slash command's form, percent-decoded; NULL when absent.
   Owned; pb_slack_form_release(). */
struct pb_slack_form {
	char *token; /* Mattermost's (and Slack's legacy) verification token */
	char *team_id;
	char *channel_id;
	char *user_id;
	char *user_name;
	char *command; /* "/prbot" */
	char *text;    /* what was typed after the command */
	char *response_url;
	char *trigger_id;
	char *ssl_check; /* "1": Slack checks the URL's certificate, with no
			    command in the form */
};

/*
 * Read an application/x-www-form-urlencoded body ("a=1&b=x+y%21"): '+' is a
 * space, %XX a byte; other keys are skipped. content_type is the request's
 * Content-Type (NULL when absent: the body is read as a form). Returns 0, or
 * PB_EINVAL with a message (another Content-Type, a JSON body, a bad %
 * escape, a NUL byte, a field given twice or over PB_SLACK_FIELD_MAX);
 * *out is empty then. *out is overwritten, not released first.
 */
int pb_slack_form_parse(struct pb_slack_form *out, const char *content_type,
			const char *body, size_t len);
void pb_slack_form_release(struct pb_slack_form *f);

/* The headers a request is read with; each NULL when absent. Borrowed. */
struct pb_slack_headers {
	const char *timestamp;	  /* X-Slack-Request-Timestamp */
	const char *signature;	  /* X-Slack-Signature */
	const char *content_type; /* Content-Type */
};

enum pb_slack_verdict {
	PB_SLACK_ACCEPT = 0,  /* 200 after queueing: the event is filled in */
	PB_SLACK_HELP,	      /* 200 at once: reason is the help text */
	PB_SLACK_PING,	      /* 200 "ok": Slack's ssl_check=1 request */
	PB_SLACK_REFUSE,      /* 200 at once: reason says why and what to do
				 (unmapped user, channel not allowed, unknown
				 command, repository not served, bad text) */
	PB_SLACK_BAD_REQUEST, /* 400: not a form, a required field missing */
	PB_SLACK_UNAUTHORIZED /* 401: bad or stale signature, bad token */
};

/* Room for the reason: the help text is the longest. */
#define PB_SLACK_REASON_MAX 4096

struct pb_slack_result {
	enum pb_slack_verdict verdict;
	char reason[PB_SLACK_REASON_MAX]; /* "" for PB_SLACK_ACCEPT */
};

/*
 * Verify, then read one slash command, in this order:
 *   1. who sent it: with X-Slack-Signature, Slack's signature and timestamp
 *      under cfg [slack] signing_secret (pb_slack_verify_signature());
 *      without it, when [slack] mattermost_token is set, the form's token
 *      compared with it in constant time: PB_SLACK_UNAUTHORIZED;
 *   2. the form (ssl_check=1, Slack checking the certificate:
 *      PB_SLACK_PING), with team_id, channel_id, user_id and command:
 *      PB_SLACK_BAD_REQUEST naming the field;
 *   3. channel_id in [slack] channels (when any are listed);
 *   4. text "help" or empty: PB_SLACK_HELP;
 *   5. user_id mapped by [slack.users] to a GitHub login (the actor);
 *   6. the text: COMMAND OWNER/REPO#PR [ARGS], COMMAND OWNER/REPO
 *      [ref=REF] [ARGS] for a command that needs no pull request, with
 *      OWNER/REPO optional when [slack] default_repo is set (#PR, or
 *      nothing); COMMAND a name or alias of pb_commands[] (a leading '/'
 *      allowed); the repository served (a [repo "OWNER/NAME"] section or
 *      default_repo, ASCII case ignored, the configured spelling kept).
 *   Steps 3 to 6 refuse with PB_SLACK_REFUSE.
 * For PB_SLACK_ACCEPT the event is: source slack, kind comment, repo, pr
 * (0 without one), head_ref (ref=REF without a PR), actor = the GitHub
 * login, text = "/COMMAND ARGS" (read by pb_parse_comment() as a comment
 * line), delivery = "slack:TIMESTAMP:SIGNATURE-HEX" (Slack's retries of one
 * request share it) or "mattermost:TRIGGER_ID", reply = a JSON object
 * {"response_url": ..., "channel_id": ..., "team_id": ..., "user_id": ...,
 * "user_name": ..., "platform": "slack" | "mattermost", "delivery": the
 * delivery id}. response_url is a capability: never log the reply handle.
 * now is Unix seconds. Returns 0 with *res set whatever the verdict;
 * PB_ERROR (out of memory, OpenSSL failure) with a message otherwise. *ev is
 * zeroed first and filled for PB_SLACK_ACCEPT only; the caller owns it and
 * calls pb_event_release() in every case.
 */
int pb_slack_command_parse(struct pb_event *ev, struct pb_slack_result *res,
			   const struct pb_config *cfg,
			   const struct pb_slack_headers *hdr, const void *body,
			   size_t len, int64_t now);

/* The HTTP status of a verdict: 200, 200, 200, 200, 400, 401. */
int pb_slack_verdict_status(enum pb_slack_verdict v);

#endif
