/* report_slack.h: a job's result as a Slack (or Mattermost) message, posted
 * to the slash command's response_url, or to an incoming webhook */
#ifndef PRBOT_REPORT_SLACK_H
#define PRBOT_REPORT_SLACK_H

#include <jansson.h>

#include "prbot/buf.h"

struct pb_evaluation;

/* What the message says; all borrowed, NULL where unknown. */
struct pb_slack_report {
	const char *job_id;    /* "j-7" */
	const char *what;      /* "/deploy staging on acme/churn#42" */
	const char *status;    /* "succeeded", "failed", "cancelled" */
	const char *sha;       /* the full commit the job ran on */
	const char *error;     /* why it failed */
	const json_t *metrics; /* object of numbers */
	const struct pb_evaluation *baseline; /* its metrics compared */
	const char *url; /* the report comment on the pull request */
};

/*
 * Append the message in Slack's mrkdwn (Mattermost reads it as Markdown):
 * a title line with the status, the full SHA, one line per metric with the
 * baseline's value and the change when the baseline has it, the error,
 * and a link to the report comment. '&', '<' and '>' of the values are
 * escaped as Slack asks. Returns 0, or PB_ERROR (out of memory: b is
 * released).
 */
int pb_slack_report_text(struct pb_buf *b, const struct pb_slack_report *r);

/*
 * POST {"response_type": "in_channel" or "ephemeral", "text": text} to
 * url, a response_url (a capability: neither the message nor the log line
 * of a failure holds it; Slack takes five posts within 30 minutes of the
 * command). At most one retry, 10 s per attempt. Returns 0, or a negative
 * code with a message such as "Slack's response_url answered HTTP 404".
 */
int pb_slack_respond(const char *url, const char *text, int in_channel);

/*
 * POST {"text": text} to url, a Slack incoming webhook (a secret: neither
 * the message nor the log line of a failure holds it). At most one retry,
 * 10 s per attempt. Returns 0, or a negative code with a message such as
 * "Slack's incoming webhook answered HTTP 404".
 */
int pb_slack_webhook_post(const char *url, const char *text);

#endif
