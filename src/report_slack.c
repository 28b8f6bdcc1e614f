/* report_slack.c: a job's result in Slack's mrkdwn, posted to response_url */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prbot/err.h"
#include "prbot/http_client.h"
#include "prbot/redact.h"
#include "prbot/report_slack.h"
#include "prbot/state.h"
#include "banned.h"

/* s with Slack's three control characters escaped. */
static int put_escaped(struct pb_buf *b, const char *s)
{
	int rc = 0;

	for (; rc == 0 && *s; s++) {
		if (*s == '&')
			rc = pb_buf_puts(b, "&amp;");
		else if (*s == '<')
			rc = pb_buf_puts(b, "&lt;");
		else if (*s == '>')
			rc = pb_buf_puts(b, "&gt;");
		else
			rc = pb_buf_putc(b, *s);
	}
	return rc;
}

static const char *status_mark(const char *status)
{
	if (!status)
		return ":hourglass_flowing_sand:";
	if (!strcmp(status, "succeeded"))
		return ":white_check_mark:";
	if (!strcmp(status, "cancelled"))
		return ":no_entry_sign:";
	return ":x:";
}

static int metrics_lines(struct pb_buf *b, const struct pb_slack_report *r)
{
	json_t *old = NULL, *v, *o;
	const char *k;
	int rc = 0;

	if (!json_object_size(r->metrics))
		return 0;
	if (r->baseline && r->baseline->metrics)
		old = json_loads(r->baseline->metrics, 0, NULL);
	rc = pb_buf_puts(b, "\n*Metrics*");
	if (rc == 0 && json_is_object(old))
		rc = pb_buf_printf(b, " (baseline: `%s` at `%.12s`)",
				   r->baseline->ref ? r->baseline->ref : "?",
				   r->baseline->sha ? r->baseline->sha : "?");
	json_object_foreach((json_t *)r->metrics, k, v)
	{
		double now = json_number_value(v);

		if (rc < 0)
			break;
		o = json_is_object(old) ? json_object_get(old, k) : NULL;
		rc = pb_buf_puts(b, "\n• ");
		if (rc == 0)
			rc = put_escaped(b, k);
		if (rc == 0 && json_is_number(o))
			rc = pb_buf_printf(b, ": %.6g (baseline %.6g, %+.6g)",
					   now, json_number_value(o),
					   now - json_number_value(o));
		else if (rc == 0)
			rc = pb_buf_printf(b, ": %.6g", now);
	}
	json_decref(old);
	return rc;
}

int pb_slack_report_text(struct pb_buf *b, const struct pb_slack_report *r)
{
	int rc;

	rc = pb_buf_printf(b, "%s *%s* ", status_mark(r->status),
			   r->job_id ? r->job_id : "job");
	if (rc == 0)
		rc = put_escaped(b, r->what ? r->what : "");
	if (rc == 0)
		rc = pb_buf_printf(b, ": *%s*",
				   r->status ? r->status : "started");
	if (rc == 0 && r->sha)
		rc = pb_buf_printf(b, "\nCommit `%s`", r->sha);
	if (rc == 0 && r->error) {
		rc = pb_buf_puts(b, "\nError: ");
		if (rc == 0)
			rc = put_escaped(b, r->error);
	}
	if (rc == 0)
		rc = metrics_lines(b, r);
	if (rc == 0 && r->url) {
		rc = pb_buf_puts(b, "\n<");
		if (rc == 0)
			rc = put_escaped(b, r->url);
		if (rc == 0)
			rc = pb_buf_puts(b, "|The report on the pull request>");
	}
	if (rc < 0) {
		pb_buf_release(b);
		return pb_err_set("slack: out of memory");
	}
	return 0;
}

/* A redactor that masks url and its path, for the client's messages. */
static int url_redactor(struct pb_redactor **out, const char *url,
			const char *service)
{
	char *path = NULL;
	int rc;

	if ((rc = pb_redactor_new(out)) < 0)
		return rc;
	if ((rc = pb_http_url_split(url, NULL, &path)) < 0)
		return pb_err_setc(PB_EINVAL, "%s is not an http(s) URL",
				   service);
	if (strlen(url) >= 6)
		rc = pb_redactor_add(*out, url);
	if (rc == 0 && path && strlen(path) >= 6)
		rc = pb_redactor_add(*out, path);
	free(path);
	return rc;
}

/* POST msg to url, a capability that no message or log line repeats. */
static int slack_post(const char *url, const char *service, const json_t *msg)
{
	struct pb_http_response resp = PB_HTTP_RESPONSE_INIT;
	struct pb_http_client *http = NULL;
	struct pb_redactor *red = NULL;
	struct pb_http_request req;
	struct pb_http_opts o;
	char *body = NULL;
	int rc;

	if ((rc = url_redactor(&red, url, service)) < 0)
		goto out;
	pb_http_opts_init(&o);
	o.service = service;
	o.timeout_ms = 10000;
	o.max_retries = 1;
	o.rate_limit_max_wait_s = 0;
	o.max_response = 64 * 1024;
	o.redactor = red;
	if ((rc = pb_http_client_new(&http, &o)) < 0)
		goto out;
	if (!msg || !(body = json_dumps(msg, JSON_COMPACT))) {
		rc = pb_err_set("slack: out of memory");
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.body = body;
	rc = pb_http_request(http, &resp, &req);
	if (rc < 0 && resp.status)
		rc = pb_err_setc(rc, "%s answered HTTP %ld", service,
				 resp.status);
	else if (rc < 0)
		rc = pb_err_setc(rc, "%s did not answer", service);
out:
	pb_http_response_release(&resp);
	pb_http_client_free(http);
	pb_redactor_free(red);
	free(body);
	return rc;
}

int pb_slack_respond(const char *url, const char *text, int in_channel)
{
	json_t *msg;
	int rc;

	if (!url || !*url)
		return pb_err_setc(PB_EINVAL, "no response_url to answer on");
	msg = json_pack("{s:s,s:s}", "response_type",
			in_channel ? "in_channel" : "ephemeral", "text", text);
	rc = slack_post(url, "Slack's response_url", msg);
	json_decref(msg);
	return rc;
}

int pb_slack_webhook_post(const char *url, const char *text)
{
	json_t *msg;
	int rc;

	if (!url || !*url)
		return pb_err_setc(PB_EINVAL, "no incoming-webhook URL");
	msg = json_pack("{s:s}", "text", text);
	rc = slack_post(url, "Slack's incoming webhook", msg);
	json_decref(msg);
	return rc;
}
