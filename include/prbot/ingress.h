/* ingress.h: the POST /webhooks/github route: verify, parse, enqueue, answer */
#ifndef PRBOT_INGRESS_H
#define PRBOT_INGRESS_H

#include <stdint.h>

#include "prbot/http_server.h"

struct pb_config;
struct pb_state;

/*
 * The webhook route of prbot serve. It makes no network call and no slow
 * work (DESIGN.md): it checks the delivery with pb_gh_webhook_parse(), reads
 * the command lines of a comment (or of a label's mapped text) with
 * pb_parse_comment(), and hands the delivery with one job per command line
 * to its committer thread, which records all deliveries waiting at that
 * moment in one transaction (pb_state_accept_batch()) and then answers each
 * (pb_http_server_defer()): no 202 leaves before its jobs are on disk, and
 * one fsync covers many deliveries. Workers do the rest.
 *
 * A closed pull request (merged or not) queues no job: the committer
 * releases the environment locks it holds in the transaction that records
 * the delivery (pb_delivery.unlock_pr), so a lock never outlives its PR
 * even when no worker runs.
 *
 * Answers (text/plain, one line saying why):
 *   202  "queued j-1, j-2": the delivery and its jobs are on disk;
 *        "O/N #1 merged: unlocked staging (locked by @alice)": a closed
 *        pull request's locks were released, on disk
 *   200  ping, an ignored event (the reason), "no command", "noted" (a
 *        closed pull request that held no lock), "duplicate delivery", or
 *        every command line already queued by another delivery
 *   400  malformed: the header or JSON field named
 *   401  missing or bad signature; nothing is parsed or stored
 *   503  queue full ([server] queue_max): nothing stored, GitHub may
 *        deliver again later
 *   500  the store failed (logged with the delivery id)
 * The 413 for a body over 25 MiB comes from the HTTP server itself.
 *
 * Jobs: one per command line, command = the descriptor's name, args = a JSON
 * array of the words after the name, comment_id and command_index from the
 * comment (so the same line is never queued twice, whatever delivery brings
 * it), supersede set for "evaluate". Lines that cannot run (an unknown
 * command after a mention, bad arguments, too many commands) become one job
 * whose command is "reply" (no descriptor: the worker posts its text),
 * args = a JSON array of one string, "line N: message" lines joined
 * with newlines, command_index =
 * PB_INGRESS_REPLY_INDEX. Every job's reply handle is a JSON object:
 *   {"comments": "/repos/O/N/issues/PR/comments", "comment_id": 1,
 *    "comment_node_id": "IC_...", "installation_id": 2,
 *    "delivery": "GUID", "event": "issue_comment", "label": "name"}
 * (label only for a label event, where the worker removes the label; ids 0
 * and node id absent when unknown).
 *
 * Each delivery is logged in one line with its id, event and answer.
 */

/* The command_index of a comment's "reply" job: after every command line. */
#define PB_INGRESS_REPLY_INDEX 10 /* PB_PARSE_MAX_COMMANDS */

/* The command name of a job that only posts parse problems. */
#define PB_INGRESS_REPLY_COMMAND "reply"

struct pb_ingress_opts {
	/* [github] webhook_secret (required), bot_login and [labels] are read
	   from it; borrowed for the ingress's life */
	const struct pb_config *cfg;
	struct pb_state *state; /* borrowed; shared with the workers */
	/* called (on the committer thread) after jobs were queued, to wake the
	   workers; may be NULL */
	void (*on_queued)(void *arg);
	void *on_queued_arg;
	/* the clock for received_at; NULL: time(NULL) */
	int64_t (*now)(void);
};

/* The statuses the route answers itself, in the order of by_status[]. */
#define PB_INGRESS_N_STATUS 7
extern const int pb_ingress_statuses[PB_INGRESS_N_STATUS]; /* 200, 202,
							       400, 401, 500,
							       503, other */

/* Counters since the ingress was made (for /metrics). */
struct pb_ingress_stats {
	uint64_t by_status[PB_INGRESS_N_STATUS]; /* answers per status */
	uint64_t jobs_queued; /* jobs the store queued (not skipped ones) */
	/* the committer: transactions, and the deliveries they recorded
	   (more deliveries than transactions: one fsync served several) */
	uint64_t commits;
	uint64_t committed;
};

struct pb_ingress;

/*
 * Make the route's context and start its committer thread. PB_EINVAL when
 * opts has no config or state, or the config has no webhook secret (the
 * message says how to set it); PB_ERROR when the thread cannot start.
 * Caller owns *out: pb_ingress_free() after pb_http_server_stop() and
 * before pb_http_server_free() (it answers what is still being committed).
 */
int pb_ingress_new(struct pb_ingress **out, const struct pb_ingress_opts *o);
void pb_ingress_free(struct pb_ingress *in);

/*
 * The route handler: pass it with arg = the struct pb_ingress in a
 * struct pb_http_server_route for POST /webhooks/github. Returns 0 with
 * resp filled (every answer above, 500 included), or PB_ERROR when out of
 * memory (the server answers 500).
 */
int pb_ingress_github(const struct pb_http_server_request *req,
		      struct pb_http_server_response *resp, void *arg);

/*
 * The POST /chat/slack route: a Slack (or Mattermost) slash command, with
 * arg = the same struct pb_ingress (its committer, its counters). It checks
 * the request with pb_slack_command_parse(), reads the command line it
 * makes with pb_parse_comment(), and hands the request with its one job to
 * the committer, as a webhook: the answer leaves after the job is on disk.
 * Answers (Slack shows "text" to the user who typed the command only):
 *   200  {"response_type":"ephemeral","text":"queued j-7: /deploy staging
 *        on acme/churn#42"}; help, a refusal (unmapped user, channel,
 *        unknown command, repository not served, bad arguments), a
 *        repeated request ("already queued") or a full queue: the same
 *        shape with the message, and no job
 *   400  not a slash command's form (text/plain)
 *   401  bad or stale signature, or a bad Mattermost token (text/plain)
 *   500  the store failed
 * The job: source "slack", command and args as for a comment line,
 * comment_id NULL, ref = ref=REF when there is no PR; its reply handle is
 * the source's (response_url, channel_id, ...) with "delivery" added.
 * response_url is a capability URL: it is never logged.
 */
int pb_ingress_slack(const struct pb_http_server_request *req,
		     struct pb_http_server_response *resp, void *arg);

/* A snapshot of the counters; safe from any thread. */
void pb_ingress_stats(const struct pb_ingress *in,
		      struct pb_ingress_stats *out);

#endif
