/* ingress_github.c: the GitHub webhook route: verify, parse, enqueue, answer */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "prbot/config.h"
#include "prbot/err.h"
#include "prbot/event.h"
#include "prbot/ingress.h"
#include "prbot/log.h"
#include "prbot/parse.h"
#include "prbot/source_github.h"
#include "prbot/state.h"
#include "accept_queue.h"
#include "ingress_int.h"
#include "jsonutil.h"
#include "banned.h"

const int pb_ingress_statuses[PB_INGRESS_N_STATUS] = { 200, 202, 400, 401,
						       500, 503, 0 };

/* The jobs of one delivery, and the strings they point to. */
struct job_set {
	struct pb_job_new v[PB_PARSE_MAX_COMMANDS + 1];
	char *args[PB_PARSE_MAX_COMMANDS + 1];
	size_t n;
	char *reply;
	char comment_id[24];
};

/* A delivery on its way to the committer; owns what its jobs point to. */
struct item {
	struct pb_accept_item base; /* first: the queue hands it back */
	struct pb_ingress *in;
	struct pb_http_server_later *later;
	struct pb_event ev;
	struct job_set js;
	struct pb_delivery d;
	char *event;
};

/* The committer queued jobs: count them, wake the workers. */
static void after_batch(size_t n_queued, void *arg)
{
	struct pb_ingress *in = arg;

	atomic_fetch_add(&in->jobs_queued, n_queued);
	if (in->o.on_queued)
		in->o.on_queued(in->o.on_queued_arg);
}

int pb_ingress_new(struct pb_ingress **out, const struct pb_ingress_opts *o)
{
	struct pb_ingress *in;

	*out = NULL;
	if (!o || !o->cfg || !o->state)
		return pb_err_setc(PB_EINVAL,
				   "webhook route: needs a config and a state "
				   "store");
	if (!o->cfg->github.webhook_secret.value ||
	    !*o->cfg->github.webhook_secret.value)
		return pb_err_setc(PB_EINVAL,
				   "bot.conf: [github] 'webhook_secret' is not "
				   "set: add webhook_secret = env:NAME or "
				   "file:PATH");
	if (!(in = calloc(1, sizeof(*in))))
		return pb_err_set("webhook route: out of memory");
	in->o = *o;
	in->gh.secret = o->cfg->github.webhook_secret.value;
	in->gh.bot_login = o->cfg->github.bot_login;
	in->gh.labels = o->cfg->labels;
	in->gh.n_labels = o->cfg->n_labels;
	if (pb_accept_queue_start(&in->queue, o->state, after_batch, in) < 0) {
		free(in);
		return PB_ERROR;
	}
	*out = in;
	return 0;
}

void pb_ingress_free(struct pb_ingress *in)
{
	if (!in)
		return;
	pb_accept_queue_free(in->queue);
	free(in);
}

void pb_ingress_stats(const struct pb_ingress *in, struct pb_ingress_stats *out)
{
	struct pb_accept_queue_stats q;
	size_t i;

	for (i = 0; i < PB_INGRESS_N_STATUS; i++)
		out->by_status[i] = atomic_load(&in->by_status[i]);
	out->jobs_queued = atomic_load(&in->jobs_queued);
	pb_accept_queue_stats(in->queue, &q);
	out->commits = q.batches;
	out->committed = q.deliveries;
}

void pb_ingress_count(struct pb_ingress *in, int status)
{
	size_t i;

	for (i = 0; i < PB_INGRESS_N_STATUS - 1; i++)
		if (pb_ingress_statuses[i] == status)
			break;
	atomic_fetch_add(&in->by_status[i], 1);
}

static void job_set_release(struct job_set *js)
{
	size_t i;

	for (i = 0; i < js->n; i++)
		free(js->args[i]);
	free(js->reply);
}

/* The handle a worker answers with; see ingress.h. */
static char *reply_json(const struct pb_event *ev, const char *event)
{
	json_t *o = json_object();
	char *s = NULL;
	int bad = !o;

	bad = bad ||
	      json_object_set_new(o, "comments",
				  json_string(ev->reply ? ev->reply : ""));
	bad = bad || json_object_set_new(o, "comment_id",
					 json_integer(ev->comment_id));
	if (ev->comment_node_id)
		bad = bad ||
		      json_object_set_new(o, "comment_node_id",
					  json_string(ev->comment_node_id));
	bad = bad || json_object_set_new(o, "installation_id",
					 json_integer(ev->installation_id));
	bad = bad ||
	      json_object_set_new(o, "delivery", json_string(ev->delivery));
	bad = bad || json_object_set_new(o, "event", json_string(event));
	if (ev->label)
		bad = bad ||
		      json_object_set_new(o, "label", json_string(ev->label));
	if (!bad)
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/*
 * The problems of a comment as one "reply" job's args: one string, a line
 * per problem, so one comment answers them all.
 */
static char *problems_json(const struct pb_parsed *p)
{
	struct pb_buf text = PB_BUF_INIT;
	char *s = NULL, *line;
	size_t i;
	int bad = 0;

	for (i = 0; !bad && i < p->n_problems; i++)
		bad = pb_buf_printf(&text, "%sline %d: %s", i ? "\n" : "",
				    p->problems[i].line,
				    p->problems[i].msg) < 0;
	line = bad ? NULL : text.ptr;
	if (line)
		s = pb_json_strings(&line, 1);
	pb_buf_release(&text);
	return s;
}

static void job_fill(struct pb_job_new *j, const struct pb_event *ev,
		     const struct job_set *js)
{
	memset(j, 0, sizeof(*j));
	j->repo = ev->repo;
	j->pr = ev->pr;
	j->head_sha = ev->sha;
	j->base_ref = ev->base_ref;
	j->ref = ev->head_ref;
	j->actor = ev->actor;
	j->source = pb_event_source_name(ev->source);
	j->comment_id = ev->comment_id ? js->comment_id : NULL;
	j->reply = js->reply;
}

/* One job per command line, then one for the problems if any. */
static int make_jobs(struct job_set *js, const struct pb_event *ev,
		     const struct pb_parsed *p, const char *event)
{
	struct pb_job_new *j;
	size_t i;

	if (ev->comment_id)
		snprintf(js->comment_id, sizeof(js->comment_id), "%lld",
			 ev->comment_id);
	if (!(js->reply = reply_json(ev, event)))
		return pb_err_set("webhook: cannot build the reply handle: out "
				  "of memory");
	for (i = 0; i < p->n && js->n < PB_PARSE_MAX_COMMANDS; i++) {
		const struct pb_invocation *inv = &p->v[i].inv;

		j = &js->v[js->n];
		job_fill(j, ev, js);
		if (!(js->args[js->n] =
			      pb_json_strings(inv->args, inv->n_args)))
			return pb_err_set("webhook: out of memory");
		j->args = js->args[js->n++];
		j->command = inv->cmd->name;
		j->command_index = (int)p->v[i].index;
		j->supersede = !strcmp(inv->cmd->name, "evaluate");
	}
	if (p->n_problems) {
		j = &js->v[js->n];
		job_fill(j, ev, js);
		if (!(js->args[js->n] = problems_json(p)))
			return pb_err_set("webhook: out of memory");
		j->args = js->args[js->n++];
		j->command = PB_INGRESS_REPLY_COMMAND;
		j->command_index = PB_INGRESS_REPLY_INDEX;
	}
	return 0;
}

int64_t pb_ingress_now(const struct pb_ingress *in)
{
	return in->o.now ? in->o.now() : (int64_t)time(NULL);
}

/*
 * A closed pull request: 202 naming the environments whose locks it
 * released, else 200 "noted" (or "duplicate delivery").
 */
static int closed_answer(struct pb_http_server_response *resp,
			 const struct pb_event *ev, const struct pb_accept *acc)
{
	size_t i;
	int rc;

	if (acc->outcome == PB_ACCEPT_DUPLICATE)
		return pb_buf_puts(&resp->body, "duplicate delivery\n");
	if (!acc->unlocked.n)
		return pb_buf_puts(&resp->body, "noted\n");
	resp->status = 202;
	rc = pb_buf_printf(&resp->body, "%s #%lld %s: unlocked", ev->repo,
			   ev->pr, ev->merged ? "merged" : "closed");
	for (i = 0; rc == 0 && i < acc->unlocked.n; i++)
		rc = pb_buf_printf(&resp->body, "%s %s (locked by @%s)",
				   i ? "," : "", acc->unlocked.v[i].environment,
				   acc->unlocked.v[i].actor);
	return rc == 0 ? pb_buf_putc(&resp->body, '\n') : rc;
}

/* The answer to a delivery the committer has recorded (or not). */
static int accept_answer(struct pb_http_server_response *resp,
			 const struct pb_event *ev,
			 const struct pb_accept_req *req)
{
	const struct pb_accept *acc = &req->out;
	char id[PB_JOB_ID_MAX];
	size_t i;
	int rc, first = 1;

	if (req->rc == PB_ETOOBIG) {
		resp->status = 503;
		return pb_buf_puts(&resp->body,
				   "queue full: try again later\n");
	}
	if (req->rc < 0) {
		pb_log_error("delivery %s: %s", ev->delivery, req->err);
		resp->status = 500;
		return pb_buf_puts(&resp->body, "state store failed\n");
	}
	resp->status = 200;
	if (ev->kind == PB_EVENT_PR_CLOSED)
		return closed_answer(resp, ev, acc);
	switch (acc->outcome) {
	case PB_ACCEPT_QUEUED:
		resp->status = 202;
		rc = pb_buf_puts(&resp->body, "queued");
		for (i = 0; rc == 0 && i < acc->n_ids; i++) {
			if (!acc->ids[i])
				continue;
			pb_job_id_format(id, acc->ids[i]);
			rc = pb_buf_printf(&resp->body, "%s%s",
					   first ? " " : ", ", id);
			first = 0;
		}
		return rc == 0 ? pb_buf_putc(&resp->body, '\n') : rc;
	case PB_ACCEPT_DUPLICATE:
		return pb_buf_puts(&resp->body, "duplicate delivery\n");
	case PB_ACCEPT_SKIPPED:
		return pb_buf_puts(&resp->body, "already queued by another "
						"delivery\n");
	case PB_ACCEPT_IGNORED:
		break;
	}
	return pb_buf_puts(&resp->body, "no command\n");
}

static void log_delivery(const char *delivery, const char *event,
			 const struct pb_http_server_response *resp,
			 const struct pb_event *ev)
{
	const char *body = pb_buf_cstr(&resp->body);
	int n = (int)strcspn(body, "\n");

	pb_log_info("delivery %.128s: event %.64s repo %.256s pr %lld by "
		    "%.256s: %d %.*s",
		    delivery ? delivery : "-", event ? event : "-",
		    ev->repo ? ev->repo : "-", ev->pr,
		    ev->actor ? ev->actor : "-", resp->status,
		    n > 200 ? 200 : n, body);
}

static void item_free(struct item *it)
{
	pb_accept_release(&it->base.req.out);
	job_set_release(&it->js);
	pb_event_release(&it->ev);
	free(it->event);
	free(it);
}

/* On the committer thread, after the commit: answer, log, count. */
static void item_done(struct pb_accept_item *base)
{
	struct item *it = (struct item *)base;
	struct pb_http_server_response resp;

	memset(&resp, 0, sizeof(resp));
	if (accept_answer(&resp, &it->ev, &base->req) < 0) {
		pb_log_error("delivery %.128s: out of memory", it->ev.delivery);
		pb_buf_reset(&resp.body);
		resp.status = 500;
	}
	log_delivery(it->ev.delivery, it->event, &resp, &it->ev);
	pb_ingress_count(it->in, resp.status);
	pb_http_server_answer(it->later, &resp);
	item_free(it);
}

/*
 * Hand the delivery to the committer: ev moves into the item (ev is left
 * empty) and parsed's command lines become its jobs there, pointing into
 * it; parsed NULL: no job (a closed pull request). Returns 0 with the
 * answer deferred, or a negative code with nothing handed over.
 */
static int enqueue(struct pb_ingress *in,
		   const struct pb_http_server_request *req,
		   struct pb_event *ev, const char *event,
		   const struct pb_parsed *parsed)
{
	struct item *it = calloc(1, sizeof(*it));
	int rc;

	if (!it || !(it->event = strdup(event))) {
		free(it);
		return pb_err_set("webhook: out of memory");
	}
	it->ev = *ev;
	memset(ev, 0, sizeof(*ev));
	if (parsed &&
	    (rc = make_jobs(&it->js, &it->ev, parsed, it->event)) < 0) {
		item_free(it);
		return rc;
	}
	/* last: a deferred answer must be given, a failure before has none */
	if (!(it->later = pb_http_server_defer(req))) {
		item_free(it);
		return PB_ERROR;
	}
	it->in = in;
	it->d = (struct pb_delivery){
		.id = it->ev.delivery,
		.source = "github",
		.event = it->event,
		.received_at = pb_ingress_now(in),
	};
	if (it->ev.kind == PB_EVENT_PR_CLOSED) {
		it->d.unlock_repo = it->ev.repo;
		it->d.unlock_pr = it->ev.pr;
	}
	it->base.req.d = &it->d;
	it->base.req.jobs = it->js.v;
	it->base.req.n = it->js.n;
	it->base.done = item_done;
	pb_accept_queue_push(in->queue, &it->base);
	return 0;
}

#define DEFERRED 1 /* accept_event(): answered by the committer */

/* An accepted event: its command lines as jobs, then the committer. */
static int accept_event(struct pb_ingress *in,
			const struct pb_http_server_request *req,
			struct pb_http_server_response *resp,
			struct pb_event *ev, const char *event)
{
	struct pb_parsed parsed = PB_PARSED_INIT;
	int rc;

	/* no job: the committer releases the PR's locks as it records it */
	if (ev->kind == PB_EVENT_PR_CLOSED)
		return (rc = enqueue(in, req, ev, event, NULL)) < 0 ? rc :
								      DEFERRED;
	if ((rc = pb_parse_comment(&parsed, ev->text ? ev->text : "",
				   ev->text ? strlen(ev->text) : 0,
				   in->gh.bot_login)) < 0)
		goto out;
	if (!parsed.n && !parsed.n_problems) {
		resp->status = 200;
		rc = pb_buf_puts(&resp->body, "no command\n");
		goto out;
	}
	if ((rc = enqueue(in, req, ev, event, &parsed)) == 0)
		rc = DEFERRED;
out:
	pb_parsed_release(&parsed);
	return rc;
}

int pb_ingress_github(const struct pb_http_server_request *req,
		      struct pb_http_server_response *resp, void *arg)
{
	struct pb_ingress *in = arg;
	struct pb_gh_headers h;
	struct pb_gh_result res;
	struct pb_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	h.event = pb_http_server_header(req, "X-GitHub-Event");
	h.delivery = pb_http_server_header(req, "X-GitHub-Delivery");
	h.signature = pb_http_server_header(req, "X-Hub-Signature-256");
	if ((rc = pb_gh_webhook_parse(&ev, &res, &in->gh, &h, req->body,
				      req->body_len)) < 0)
		goto out;
	resp->status = pb_gh_verdict_status(res.verdict);
	switch (res.verdict) {
	case PB_GH_ACCEPT:
		if ((rc = accept_event(in, req, resp, &ev, h.event)) ==
		    DEFERRED) {
			pb_event_release(&ev);
			return 0;
		}
		break;
	case PB_GH_PING:
		rc = pb_buf_puts(&resp->body, "pong\n");
		break;
	default:
		rc = pb_buf_printf(&resp->body, "%s\n", res.reason);
		break;
	}
out:
	if (rc < 0) {
		pb_log_error("delivery %.128s: %s",
			     h.delivery ? h.delivery : "-", pb_err_last());
		resp->status = 500;
	} else {
		log_delivery(h.delivery, h.event, resp, &ev);
	}
	pb_ingress_count(in, resp->status);
	pb_event_release(&ev);
	return rc;
}
