/* source_github.h: GitHub webhooks verified and turned into one pb_event */
#ifndef PRBOT_SOURCE_GITHUB_H
#define PRBOT_SOURCE_GITHUB_H

#include <stddef.h>

#include "prbot/config.h"
#include "prbot/event.h"

/*
 * Pure functions: no network, no state, no logging. The HTTP server reads
 * the headers and the body (capped at 25 MiB while reading), calls
 * pb_gh_webhook_parse() and answers with the status of the verdict.
 */

/* "sha256=" and 64 lowercase hex digits, as GitHub sends it. */
#define PB_GH_SIGNATURE_LEN 71

/* Bounds on what a delivery may carry; longer is a 400. */
#define PB_GH_EVENT_MAX	   64  /* X-GitHub-Event */
#define PB_GH_DELIVERY_MAX 128 /* X-GitHub-Delivery (a GUID: 36) */
#define PB_GH_NAME_MAX                               \
	256 /* logins, OWNER/NAME, labels, node ids, \
	       refs, URLs */
#define PB_GH_TEXT_MAX                              \
	262144 /* a comment body in bytes: GitHub's \
		  65,536 characters of up to 4 bytes */

/*
 * Write "sha256=HEX" of the HMAC-SHA256 of body under secret into out, as
 * GitHub computes X-Hub-Signature-256 (for tests, benchmarks and a client
 * that forwards deliveries). Returns 0, or PB_ERROR with a message when
 * OpenSSL fails. body may be NULL when len is 0.
 */
int pb_gh_sign(char out[PB_GH_SIGNATURE_LEN + 1], const char *secret,
	       const void *body, size_t len);

/*
 * Check header (the X-Hub-Signature-256 value, NULL when absent) against
 * body: "sha256=" then exactly 64 lowercase hex digits (uppercase is
 * refused, as @octokit/webhooks-methods refuses it: GitHub never sends it),
 * compared with the expected HMAC in constant time. The body is not parsed.
 * Returns 0 when it matches; PB_EPERM with a message naming what is wrong
 * (missing, prefix, length, not hex, no match, no secret configured).
 */
int pb_gh_verify_signature(const char *secret, const void *body, size_t len,
			   const char *header);

/* The headers a delivery is read with; each NULL when absent. Borrowed. */
struct pb_gh_headers {
	const char *event;     /* X-GitHub-Event */
	const char *delivery;  /* X-GitHub-Delivery */
	const char *signature; /* X-Hub-Signature-256 */
};

enum pb_gh_verdict {
	PB_GH_ACCEPT = 0,  /* 202: the event is filled in: make jobs of it */
	PB_GH_PING,	   /* 200: GitHub checks the hook; event filled in */
	PB_GH_IGNORE,	   /* 200: a valid delivery prbot has nothing to do
			      for; reason says why */
	PB_GH_BAD_REQUEST, /* 400: reason names the header or JSON field */
	PB_GH_UNAUTHORIZED /* 401: reason says what is wrong with the
			      signature; nothing was parsed */
};

/* The reason is for the body of the answer (one line, no secrets). */
#define PB_GH_REASON_MAX 512

struct pb_gh_result {
	enum pb_gh_verdict verdict;
	char reason[PB_GH_REASON_MAX]; /* "" for PB_GH_ACCEPT */
};

/* What a delivery is classified against; all borrowed. */
struct pb_gh_options {
	const char *secret;	    /* [github] webhook_secret; required */
	const char *bot_login;	    /* [github] bot_login: its comments (also as
				       LOGIN[bot]) are ignored; may be NULL */
	const struct pb_kv *labels; /* [labels]: label name (matched without
				       regard to ASCII case, as GitHub
				       does) = command text */
	size_t n_labels;
};

/*
 * Verify, then classify one delivery, in this order:
 *   1. the signature over the raw body (pb_gh_verify_signature), before
 *      anything else is read: PB_GH_UNAUTHORIZED;
 *   2. X-GitHub-Event and X-GitHub-Delivery present and well formed:
 *      PB_GH_BAD_REQUEST naming the header;
 *   3. the body: UTF-8 JSON object (a form-encoded body, malformed JSON
 *      with line and column, invalid UTF-8, a non-object):
 *      PB_GH_BAD_REQUEST;
 *   4. the event:
 *      - ping: PB_GH_PING (kind PB_EVENT_PING, text = zen, repo if any);
 *      - issue_comment "created" on a pull request (issue.pull_request
 *        present): PB_GH_ACCEPT, kind PB_EVENT_COMMENT; on a plain issue,
 *        another action, by bot_login or by a user of type Bot:
 *        PB_GH_IGNORE;
 *      - pull_request "labeled" with a label mapped in labels: PB_GH_ACCEPT,
 *        kind PB_EVENT_LABEL, text = the mapped command text; an unmapped
 *        label, or one added by the bot or a Bot account: PB_GH_IGNORE;
 *      - pull_request "closed": PB_GH_ACCEPT, kind PB_EVENT_PR_CLOSED with
 *        merged set;
 *      - any other event or action: PB_GH_IGNORE;
 *      a field the handled event needs that is missing or of the wrong type
 *      is PB_GH_BAD_REQUEST naming its JSON path ("issue_comment:
 *      'comment.body' is missing").
 * Returns 0 with *res set whatever the verdict; PB_ERROR (out of memory,
 * OpenSSL failure) with a message otherwise, then answer 500. *ev is
 * zeroed first and filled for PB_GH_ACCEPT and PB_GH_PING only; the caller
 * owns it and calls pb_event_release() in every case.
 */
int pb_gh_webhook_parse(struct pb_event *ev, struct pb_gh_result *res,
			const struct pb_gh_options *opt,
			const struct pb_gh_headers *hdr, const void *body,
			size_t len);

/* The HTTP status of a verdict: 202, 200, 200, 400, 401. */
/*
 * 1 when login is the bot's own account: bot_login itself or with "[bot]"
 * after it (a GitHub App's account), either side may carry the suffix;
 * ASCII case is ignored, as GitHub does. 0 when bot_login is empty.
 */
int pb_gh_is_bot_login(const char *login, const char *bot_login);

int pb_gh_verdict_status(enum pb_gh_verdict v);

#endif
