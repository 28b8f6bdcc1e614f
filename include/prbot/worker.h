/* worker.h: one worker's turn: claim a queued job and carry it to the end */
#ifndef PRBOT_WORKER_H
#define PRBOT_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#define PB_WORKER_STOP_NOW 2 /* *stopping: cancel the current run */

struct pb_config;
struct pb_redactor;
struct pb_state;
struct pb_gh;
struct pb_worker_cache;

/* What a worker thread works with; all borrowed for the worker's life. */
struct pb_worker_env {
	const struct pb_config *cfg;
	const struct pb_redactor *redact;
	struct pb_state *state;
	struct pb_gh *gh;      /* the GitHub client; NULL: no GitHub */
	const char *worker_id; /* unique per thread and process: lease owner */
	/*
	 * Set when the daemon stops. Non-zero: no new job is claimed (the
	 * call returns 0) and the current one goes on to its end (the grace
	 * period). PB_WORKER_STOP_NOW (once the grace period is over): the
	 * current run is cancelled and its job left running in the store, so
	 * the next start's pb_state_requeue() takes it again as a retry.
	 */
	atomic_int *stopping;
	/*
	 * Collaborator permissions read from GitHub, kept for a short while
	 * in the state store (pb_worker_cache_new()), so every job process
	 * sees what another read; owned by the caller. NULL: every job asks
	 * GitHub.
	 */
	struct pb_worker_cache *cache;
};

/* How long a claimed job's lease lasts; the heartbeat renews it at 1/3. */
#define PB_WORKER_LEASE_SEC 60

/* How long a permission read from GitHub is believed. */
#define PB_WORKER_PERM_TTL 60

/*
 * A permission cache keeping each (repo, login) answer ttl_sec seconds in
 * the state store st (borrowed: it must outlive the cache), where every
 * job process of the daemon finds it (pb_state_perm_get()); older answers
 * are dropped as new ones are kept. A store failure only costs a GitHub
 * call. Returns 0 or PB_ERROR (out of memory). Caller owns *out:
 * pb_worker_cache_free() (NULL is a no-op).
 */
struct pb_worker_cache;
int pb_worker_cache_new(struct pb_worker_cache **out, struct pb_state *st,
			int ttl_sec);
void pb_worker_cache_free(struct pb_worker_cache *c);

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

/*
 * What pb_worker_run_one() does after its claim, for job_id claimed already
 * (by the daemon, for the prbot-job process it spawned) under
 * env->worker_id. A job that is not running under that worker is left
 * alone (logged). Returns 0, or a negative code when the store failed (the
 * job is left for retry).
 */
int pb_worker_run_claimed(const struct pb_worker_env *env, int64_t job_id);

/*
 * Answer for a job that pb_state_requeue_job() failed (its last attempt
 * died) or cancelled: its report comment (or a new one) says so with the
 * store's note, the commit status fails, the comment gets a "confused"
 * reaction. Failures to post are logged. Returns 0 or the store's error.
 */
int pb_worker_report_lost(const struct pb_worker_env *env, int64_t job_id);

#endif
