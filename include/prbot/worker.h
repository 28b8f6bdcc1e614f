/* worker.h: one worker's turn: claim a queued job and carry it to the end */
#ifndef PRBOT_WORKER_H
#define PRBOT_WORKER_H

#include <stdatomic.h>

struct pb_config;
struct pb_redactor;
struct pb_state;
struct pb_gh;

/* What a worker thread works with; all borrowed for the worker's life. */
struct pb_worker_env {
	const struct pb_config *cfg;
	const struct pb_redactor *redact;
	struct pb_state *state;
	struct pb_gh *gh;      /* the GitHub client; NULL: no GitHub */
	const char *worker_id; /* unique per thread and process: lease owner */
	/* set when the daemon stops: the current job is finished (within the
	   grace period, else cancelled and left for a retry), no new one is
	   claimed */
	atomic_int *stopping;
};

/*
 * Claim the oldest queued job and run it: read the PR and pin its head SHA,
 * check the actor's permission, acknowledge (reaction), run the command's
 * handler or pipeline stages while heartbeating the lease (a cancel request
 * stops the child's process group), post the report and the commit status,
 * record the evaluation, and finish the job in the store. Returns 1 when a
 * job was taken (whatever its outcome), 0 when the queue was empty, and a
 * negative code when the store failed (the job, if any, is left for retry).
 */
int pb_worker_run_one(const struct pb_worker_env *env);

#endif
