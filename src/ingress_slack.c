/* ingress_slack.c: the Slack slash command route: verify, parse, enqueue,
 * answer */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prbot/config.h"
#include "prbot/err.h"
#include "prbot/event.h"
#include "prbot/ingress.h"
#include "prbot/log.h"
#include "prbot/parse.h"
#include "prbot/source_slack.h"
#include "prbot/state.h"
#include "accept_queue.h"
#include "ingress_int.h"
#include "jsonutil.h"
#include "banned.h"

/* A slash command on its way to the committer; owns what its job points
   to. */
struct item {
	struct pb_accept_item base; /* first: the queue hands it back */
	struct pb_ingress *in;
	struct pb_http_server_later *later;
	struct pb_event ev;
	struct pb_job_new job;
	struct pb_delivery d;
	char *args;
	char *what; /* "/deploy staging on acme/churn#42", for the answer */
};

/* Slack's immediate answer: a message only its typist sees. */
static int ephemeral(struct pb_http_server_response *resp, const char *text)
{
	json_t *o = json_pack("{s:s,s:s}", "response_type", "ephemeral", "text",
			      text);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc;

	json_decref(o);
	if (!s)
		return pb_err_set("slack: out of memory");
	resp->content_type = "application/json";
	rc = pb_buf_puts(&resp->body, s);
	free(s);
	return rc;
}

/* One line per request; never the reply handle (its response_url is a
   capability). */
static void log_request(const struct pb_event *ev, const char *delivery,
			int status, const char *what)
{
	pb_log_info("slack %.128s: repo %.256s pr %lld by %.64s: %d %.200s",
		    delivery ? delivery : "-", ev->repo ? ev->repo : "-",
		    ev->pr, ev->actor ? ev->actor : "-", status, what);
}

static void item_free(struct item *it)
{
	pb_accept_release(&it->base.req.out);
	pb_event_release(&it->ev);
	free(it->args);
	free(it->what);
	free(it);
}

/* The text of the answer to a request the committer recorded (or not). */
static const char *accept_text(struct pb_buf *b, const struct item *it,
			       int *status)
{
	const struct pb_accept_req *req = &it->base.req;
	char id[PB_JOB_ID_MAX];

	*status = 200;
	if (req->rc == PB_ETOOBIG)
		return "prbot's queue is full: try again in a few minutes.";
	if (req->rc < 0) {
		pb_log_error("slack %s: %s", it->ev.delivery, req->err);
		*status = 500;
		return "prbot's state store failed: see its log.";
	}
	if (req->out.outcome != PB_ACCEPT_QUEUED || !req->out.n_ids ||
	    !req->out.ids[0])
		return "already queued: Slack sent this command again.";
	pb_job_id_format(id, req->out.ids[0]);
	if (pb_buf_printf(b, "queued %s: %s", id, it->what) < 0)
		return "queued";
	return b->ptr;
}

/* On the committer thread, after the commit: answer, log, count. */
static void item_done(struct pb_accept_item *base)
{
	struct item *it = (struct item *)base;
	struct pb_http_server_response resp;
	struct pb_buf text = PB_BUF_INIT;
	const char *msg;

	memset(&resp, 0, sizeof(resp));
	msg = accept_text(&text, it, &resp.status);
	if (ephemeral(&resp, msg) < 0) {
		pb_buf_reset(&resp.body);
		resp.status = 500;
	}
	log_request(&it->ev, it->ev.delivery, resp.status, msg);
	pb_ingress_count(it->in, resp.status);
	pb_http_server_answer(it->later, &resp);
	pb_buf_release(&text);
	item_free(it);
}

static int item_fill(struct item *it, const struct pb_invocation *inv)
{
	struct pb_buf what = PB_BUF_INIT;
	const struct pb_event *ev = &it->ev;
	int rc;

	if (!(it->args = pb_json_strings(inv->args, inv->n_args)))
		return pb_err_set("slack: out of memory");
	rc = pb_buf_printf(&what, "%s on %s", ev->text, ev->repo);
	if (rc == 0 && ev->pr)
		rc = pb_buf_printf(&what, "#%lld", ev->pr);
	else if (rc == 0 && ev->head_ref)
		rc = pb_buf_printf(&what, "@%s", ev->head_ref);
	if (rc < 0)
		return pb_err_set("slack: out of memory");
	it->what = pb_buf_detach(&what);
	it->job = (struct pb_job_new){
		.repo = ev->repo,
		.pr = ev->pr,
		.ref = ev->head_ref,
		.command = inv->cmd->name,
		.args = it->args,
		.actor = ev->actor,
		.source = pb_event_source_name(ev->source),
		.reply = ev->reply, /* the source's handle, delivery in it */
		.supersede = ev->pr && !strcmp(inv->cmd->name, "evaluate"),
	};
	it->d = (struct pb_delivery){
		.id = ev->delivery,
		.source = "slack",
		.event = "slash_command",
		.received_at = pb_ingress_now(it->in),
	};
	return 0;
}

/*
 * Hand the command to the committer: ev moves into the item (ev is left
 * empty). Returns 0 with the answer deferred, or a negative code with
 * nothing handed over.
 */
static int enqueue(struct pb_ingress *in,
		   const struct pb_http_server_request *req,
		   struct pb_event *ev, const struct pb_invocation *inv)
{
	struct item *it = calloc(1, sizeof(*it));
	int rc;

	if (!it)
		return pb_err_set("slack: out of memory");
	it->in = in;
	it->ev = *ev;
	memset(ev, 0, sizeof(*ev));
	if ((rc = item_fill(it, inv)) < 0) {
		item_free(it);
		return rc;
	}
	/* last: a deferred answer must be given, a failure before has none */
	if (!(it->later = pb_http_server_defer(req))) {
		item_free(it);
		return PB_ERROR;
	}
	it->base.req.d = &it->d;
	it->base.req.jobs = &it->job;
	it->base.req.n = 1;
	it->base.done = item_done;
	pb_accept_queue_push(in->queue, &it->base);
	return 0;
}

#define DEFERRED 1 /* accept_command(): answered by the committer */

/* An accepted command: its one line checked, then the committer. */
static int accept_command(struct pb_ingress *in,
			  const struct pb_http_server_request *req,
			  struct pb_http_server_response *resp,
			  struct pb_event *ev)
{
	struct pb_parsed parsed = PB_PARSED_INIT;
	int rc;

	if ((rc = pb_parse_comment(&parsed, ev->text, strlen(ev->text), NULL)) <
	    0)
		goto out;
	if (parsed.n_problems) {
		rc = ephemeral(resp, parsed.problems[0].msg);
		log_request(ev, ev->delivery, resp->status,
			    parsed.problems[0].msg);
		goto out;
	}
	if (parsed.n != 1) {
		rc = ephemeral(resp, "prbot could not read that command: try "
				     "help.");
		goto out;
	}
	if ((rc = enqueue(in, req, ev, &parsed.v[0].inv)) == 0)
		rc = DEFERRED;
out:
	pb_parsed_release(&parsed);
	return rc;
}

int pb_ingress_slack(const struct pb_http_server_request *req,
		     struct pb_http_server_response *resp, void *arg)
{
	struct pb_ingress *in = arg;
	struct pb_slack_headers h;
	struct pb_slack_result *res = calloc(1, sizeof(*res));
	struct pb_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	if (!res) {
		rc = pb_err_set("slack: out of memory");
		goto out;
	}
	h.timestamp = pb_http_server_header(req, "X-Slack-Request-Timestamp");
	h.signature = pb_http_server_header(req, "X-Slack-Signature");
	h.content_type = pb_http_server_header(req, "Content-Type");
	if ((rc = pb_slack_command_parse(&ev, res, in->o.cfg, &h, req->body,
					 req->body_len, pb_ingress_now(in))) <
	    0)
		goto out;
	resp->status = pb_slack_verdict_status(res->verdict);
	switch (res->verdict) {
	case PB_SLACK_ACCEPT:
		rc = accept_command(in, req, resp, &ev);
		if (rc == DEFERRED) {
			free(res);
			pb_event_release(&ev);
			return 0;
		}
		break;
	case PB_SLACK_HELP:
		rc = ephemeral(resp, res->reason);
		log_request(&ev, NULL, resp->status, "help");
		break;
	case PB_SLACK_PING:
		rc = pb_buf_puts(&resp->body, "ok\n");
		break;
	case PB_SLACK_REFUSE:
		rc = ephemeral(resp, res->reason);
		log_request(&ev, NULL, resp->status, res->reason);
		break;
	default:
		rc = pb_buf_printf(&resp->body, "%s\n", res->reason);
		log_request(&ev, NULL, resp->status, res->reason);
		break;
	}
out:
	if (rc < 0) {
		pb_log_error("slack: %s", pb_err_last());
		pb_buf_reset(&resp->body);
		resp->status = 500;
	}
	pb_ingress_count(in, resp->status);
	pb_event_release(&ev);
	free(res);
	return rc < 0 ? rc : 0;
}
