/* state.h: the durable state store: deliveries, the job queue, evaluations,
 * environment locks, deployments */
#ifndef PRBOT_STATE_H
#define PRBOT_STATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * One SQLite file in WAL mode, changed only by numbered migrations (the
 * schema version is the file's PRAGMA user_version).
 *
 * Thread model: ONE struct pb_state per process, opened once by the daemon
 * and shared by the HTTP thread and every worker thread. Each function holds
 * the handle's mutex for its whole transaction, so threads never interleave
 * inside one and never wait on SQLite's file locks for each other. Another
 * process on the same file (a second prbot, the sqlite3 shell) is kept apart
 * by SQLite's locks: writes take the write lock when they begin (BEGIN
 * IMMEDIATE) and wait up to PB_STATE_BUSY_MS for it. Several handles on one
 * file in one process are therefore safe too, only slower.
 *
 * Each function is one transaction, on disk (synchronous=FULL) before it
 * returns: a delivery answered 202 survives a crash or a power cut.
 *
 * Times are integer Unix seconds that the caller passes in ("now"), so tests
 * move the clock without sleeping.
 *
 * Every function returns 0 or a negative PB_E* code with this thread's
 * message (pb_err_last()) naming the file, the operation and SQLite's reason:
 * "state store 'var/prbot.db': cannot claim a job: database disk image is
 * malformed (...)". PB_ETIMEOUT means another process kept the file locked;
 * PB_ENOTFOUND, PB_EINVAL, PB_EPERM and PB_ETOOBIG where a function says so;
 * PB_ERROR otherwise. A NULL handle gives PB_EINVAL ("... is not open").
 *
 * Ownership: input structs (pb_delivery, pb_job_new, pb_stage_row given to
 * pb_state_finish, pb_evaluation given to pb_state_evaluation_add,
 * pb_env_lock given to pb_state_lock_take, pb_deployment given to
 * pb_state_deployment_add) are
 * borrowed for the call. Everything a function fills in is owned by the
 * caller and released with the matching *_release function, which leaves
 * the struct empty and may be called on an empty (zeroed) one. On failure
 * the outputs are left empty: there is nothing to release.
 */

struct pb_state;

#define PB_STATE_BUSY_MS	5000 /* wait for another process's lock */
#define PB_STATE_QUEUE_MAX	1000 /* default bound on queued jobs */
#define PB_STATE_MAX_ATTEMPTS	3    /* default starts before a job fails */
#define PB_STATE_SCHEMA_VERSION 9    /* the migrations this prbot knows */

/*
 * Open (creating the folders and the file, mode 0600, when missing) and
 * migrate the database at path. A database whose schema is newer than this
 * prbot knows is refused (PB_EINVAL), and so is a file that is not an SQLite
 * database (PB_ERROR); the message says what to do. *out is set only on
 * success; close it with pb_state_close().
 */
int pb_state_open(struct pb_state **out, const char *path);

/* Close the connection and free st; NULL is a no-op. No call may be running. */
void pb_state_close(struct pb_state *st);

/* ---- permissions read from GitHub, kept briefly (all job processes) ---- */

/*
 * The level GitHub gave login on repo ("write", ...) into level (size n),
 * if it was read at or after since: 1 then, 0 when there is none as fresh.
 */
int pb_state_perm_get(struct pb_state *st, const char *repo, const char *login,
		      int64_t since, char *level, size_t n);

/* Keep level for (repo, login) as read at now; older rows than drop_before
   go at the same time, so the table stays small. */
int pb_state_perm_put(struct pb_state *st, const char *repo, const char *login,
		      const char *level, int64_t now, int64_t drop_before);

/* WAL frames after which a checkpoint copies them into the database. */
#define PB_STATE_CKPT_FRAMES 1000
/* ... and after which a commit finishes the copy itself (see below) */
#define PB_STATE_CKPT_MAX_FRAMES 4000

/*
 * For the daemon: checkpoint the WAL on a thread with its own connection
 * (PASSIVE: writers never wait for it) instead of inside the commit that
 * crosses PB_STATE_CKPT_FRAMES, whose answers would wait for the copy and
 * its fsync. Under steady writes the thread never reaches the last frame,
 * so past PB_STATE_CKPT_MAX_FRAMES a commit copies the few frames left
 * itself and the WAL starts over: the -wal file stays bounded.
 * Returns 0 (also when started already), or a negative code with
 * the store left as it was. pb_state_close() stops it; so does
 * pb_state_checkpointer_stop(), which hands checkpoints back to SQLite.
 */
int pb_state_checkpointer_start(struct pb_state *st);
void pb_state_checkpointer_stop(struct pb_state *st);

/* Checkpoints the thread has run so far (0 without one). */
unsigned long long pb_state_checkpoints(struct pb_state *st);

/* The bound pb_state_accept_delivery() enforces (0: none). Default 1000. */
void pb_state_set_queue_max(struct pb_state *st, int queue_max);

/* For /healthz: 0 when the database answers a read of the jobs table. */
int pb_state_ping(struct pb_state *st);

/* ---- jobs ---- */

enum pb_job_state {
	PB_JOB_QUEUED = 0,
	PB_JOB_RUNNING,
	PB_JOB_SUCCEEDED,
	PB_JOB_FAILED,
	PB_JOB_CANCELLED
};

/* "queued", "running", "succeeded", "failed", "cancelled". */
const char *pb_job_state_name(enum pb_job_state s);

/* Room for a public job id: "j-" and up to 19 digits. */
#define PB_JOB_ID_MAX 24

/*
 * A job's public id, the short form people type in `/cancel j-12`: "j-"
 * followed by the row id. pb_job_id_parse() takes "j-12", "J-12" or "12";
 * anything else is PB_EINVAL with a message quoting the text.
 */
void pb_job_id_format(char buf[PB_JOB_ID_MAX], int64_t id);
int pb_job_id_parse(int64_t *out, const char *text);

/* A job as stored. Strings are owned; those marked "or NULL" may be NULL. */
struct pb_job {
	int64_t id;
	char public_id[PB_JOB_ID_MAX]; /* "j-<id>" */
	char *repo;		       /* OWNER/NAME */
	int64_t pr;		       /* 0: not a pull request's job */
	char *head_sha;		       /* or NULL until pb_state_job_pin() */
	char *ref;		       /* or NULL */
	char *base_ref;		       /* or NULL */
	char *command;		       /* the descriptor's name: "evaluate" */
	char *args;		       /* JSON array, as given */
	char *actor;
	char *source;	   /* "github", "slack", "cron", "cli" */
	char *delivery_id; /* or NULL */
	char *comment_id;  /* or NULL */
	int command_index;
	enum pb_job_state state;
	/*
	 * Starts so far: pb_state_claim() adds one, so a claimed job with
	 * attempts > 1 is a retry (note says why) and its report says so.
	 */
	int attempts;
	int max_attempts;
	char *lease_owner;	   /* the worker that runs or ran it, or NULL */
	int64_t lease_until;	   /* 0 when not leased */
	int64_t heartbeat_at;	   /* 0: never */
	int64_t created_at;	   /* when it was queued */
	int64_t started_at;	   /* its latest claim; 0: never */
	int64_t finished_at;	   /* 0 while queued or running */
	char *cancel_requested_by; /* or NULL: who cancelled or superseded it */
	int64_t superseded_by;	   /* the newer job's id, or 0 */
	char *note;  /* or NULL: "retry: ...", or why it failed without a run */
	char *reply; /* JSON the source wrote to answer later (opaque here) */
	char *report; /* JSON of the final report, or NULL until finished */
	char *environment; /* /deploy: the one it resolved, or NULL until then
			    */
};

void pb_job_release(struct pb_job *j);

struct pb_job_list {
	struct pb_job *v; /* owned, n of them */
	size_t n;
};

void pb_job_list_release(struct pb_job_list *l);

/* ---- environment locks: the types (functions at the end) ---- */

/*
 * An environment's lock: one per (repo, environment), held by a pull
 * request. Given to pb_state_lock_take() the strings are borrowed
 * (created_at is ignored: now is passed); filled by a function here they
 * are owned until pb_env_lock_release().
 */
struct pb_env_lock {
	const char *repo;	 /* OWNER/NAME */
	const char *environment; /* a key of .prbot.yml deploy.environments */
	int64_t pr;		 /* the pull request that holds it (> 0) */
	const char *actor;	 /* who took it (a /lock, or a deploy) */
	const char *reason;	 /* or NULL */
	int64_t created_at;	 /* when it was taken */
};

void pb_env_lock_release(struct pb_env_lock *l);

struct pb_env_lock_list {
	struct pb_env_lock *v; /* owned, n of them */
	size_t n;
};

void pb_env_lock_list_release(struct pb_env_lock_list *l);

/* ---- accepting a delivery ---- */

struct pb_delivery {
	const char *id;	     /* X-GitHub-Delivery, or another unique id */
	const char *source;  /* "github", "slack", "cron", "cli" */
	const char *event;   /* "issue_comment", "pull_request", ... */
	int64_t received_at; /* "now": the jobs' created_at, supersede time */
	/* recorded outcome, or NULL for "queued" / "skipped" / "ignored" /
	   "unlocked" */
	const char *outcome;
	/*
	 * A pull request that was closed (merged or not): when unlock_pr is
	 * not 0, the locks it holds in unlock_repo are released in the same
	 * transaction as the delivery is recorded (pb_accept.unlocked lists
	 * them). A duplicate delivery releases nothing.
	 */
	const char *unlock_repo;
	int64_t unlock_pr;
};

/* One job to queue. Only repo, command, actor and source are required. */
struct pb_job_new {
	const char *repo;
	int64_t pr;	      /* 0: none (a schedule on a ref) */
	const char *head_sha; /* the commit it always runs on, or NULL */
	const char *ref;
	const char *base_ref;
	const char *command;
	const char *args; /* JSON array of the words after the name; NULL: [] */
	const char *actor;
	const char *source;
	/*
	 * A comment's (comment_id, command_index) is queued once, whatever
	 * delivery brings it: an App and a repository webhook deliver one
	 * comment under two delivery ids.
	 */
	const char *comment_id; /* NULL: not from a comment */
	int command_index;	/* the command line's index in the comment */
	int max_attempts;	/* 0: PB_STATE_MAX_ATTEMPTS */
	const char *reply;	/* JSON handle for answering; NULL: {} */
	/*
	 * Set for /evaluate: the older queued jobs with the same repo, pr (not
	 * 0) and command are cancelled at once, and the running ones get a
	 * cancel request, all with superseded_by = this job.
	 */
	int supersede;
};

enum pb_accept_outcome {
	PB_ACCEPT_QUEUED = 0, /* at least one job was queued */
	PB_ACCEPT_SKIPPED,  /* every job was queued before, by another delivery
			     */
	PB_ACCEPT_IGNORED,  /* no jobs given: recorded for dedupe (and the
			       locks of unlock_pr released: see unlocked) */
	PB_ACCEPT_DUPLICATE /* this delivery id was seen before: nothing done */
};

struct pb_accept {
	enum pb_accept_outcome outcome;
	int64_t *ids; /* owned, one per job given: its id, 0 where skipped */
	size_t n_ids;
	size_t n_queued;
	/* the older jobs this delivery superseded, as they are now */
	struct pb_job_list superseded;
	/* the locks released for pb_delivery.unlock_pr, as they were */
	struct pb_env_lock_list unlocked;
};

void pb_accept_release(struct pb_accept *a);

/*
 * In one transaction: record the delivery and queue its jobs, or do nothing
 * at all for a delivery id seen before (outcome PB_ACCEPT_DUPLICATE). When
 * the jobs it queues would leave more queued jobs than queue_max, nothing is
 * stored and PB_ETOOBIG is returned (answer 503; the source may deliver it
 * again later). PB_EINVAL when a required field is missing.
 */
int pb_state_accept_delivery(struct pb_state *st, const struct pb_delivery *d,
			     const struct pb_job_new *jobs, size_t n,
			     struct pb_accept *out);

/* One delivery of a batch, and how it went. */
struct pb_accept_req {
	const struct pb_delivery *d; /* borrowed, as for the call above */
	const struct pb_job_new *jobs;
	size_t n;
	int rc;		      /* 0, or what the call above would return */
	char err[256];	      /* rc's message when rc < 0 */
	struct pb_accept out; /* filled when rc is 0: pb_accept_release() */
};

/*
 * Several deliveries in one transaction, so one fsync covers them all: each
 * is recorded as pb_state_accept_delivery() would, in order, inside its own
 * savepoint, so one that fails (queue full, a missing field) leaves the
 * others. Returns 0 when the transaction committed (each v[i].rc says how
 * its delivery went), or a negative code when it did not: then nothing is
 * stored and every v[i].rc and err are set to it. Deliveries later in v see
 * the earlier ones: a repeated delivery id or comment line is a duplicate.
 */
int pb_state_accept_batch(struct pb_state *st, struct pb_accept_req *v,
			  size_t n);

/* ---- workers ---- */

/*
 * Take the oldest queued job: it becomes running, leased by worker (an id
 * unique to the worker, such as "HOST:PID:3") until now + lease_sec, with
 * attempts one higher. Two callers never get the same job. 0 with out->id
 * == 0 when nothing is queued.
 */
int pb_state_claim(struct pb_state *st, const char *worker, int lease_sec,
		   int64_t now, struct pb_job *out);

/*
 * Extend the worker's lease to now + lease_sec. *cancel is set to 1 when a
 * cancel was requested (pb_state_job_get() says by whom and whether a newer
 * job superseded it): stop the run's processes and finish as cancelled.
 * PB_EPERM when the job is no longer this worker's (its lease expired and
 * it was requeued, or it finished): stop without reporting.
 * PB_ENOTFOUND for an unknown id.
 */
int pb_state_heartbeat(struct pb_state *st, int64_t job_id, const char *worker,
		       int lease_sec, int64_t now, int *cancel);

/* A finished stage, as the report shows it. */
struct pb_stage_row {
	const char *name;  /* "checkout" */
	const char *state; /* "ok", "failed", "skipped", ... */
	double seconds;
	const char *note;  /* or NULL */
	const char *error; /* or NULL */
};

struct pb_stage_list {
	struct pb_stage_row *v; /* owned, with their strings */
	size_t n;
};

void pb_stage_list_release(struct pb_stage_list *l);

/*
 * End the worker's job: final is PB_JOB_SUCCEEDED, PB_JOB_FAILED or
 * PB_JOB_CANCELLED (else PB_EINVAL); report is its JSON (may be NULL); the
 * stage rows replace any stored before. PB_EPERM when the job is not running
 * under this worker (as for pb_state_heartbeat), PB_ENOTFOUND for an unknown
 * id.
 */
int pb_state_finish(struct pb_state *st, int64_t job_id, const char *worker,
		    enum pb_job_state final, const char *report,
		    const struct pb_stage_row *stages, size_t n_stages,
		    int64_t now);

/*
 * Fill in the commit (and refs, when not NULL) of a job queued without one,
 * once: a retry keeps the commit its first attempt pinned, so a later call
 * changes nothing (read the job to see the pinned commit). PB_ENOTFOUND for
 * an unknown id.
 */
int pb_state_job_pin(struct pb_state *st, int64_t job_id, const char *sha,
		     const char *ref, const char *base_ref);

/*
 * Replace the job's reply handle, e.g. to add the id of the comment the
 * report edits, so a retry edits that comment instead of adding one.
 */
int pb_state_set_reply(struct pb_state *st, int64_t job_id, const char *reply);

/*
 * Record the environment a /deploy job resolved (its words may name none),
 * so other jobs of the pull request see where it deploys. PB_ENOTFOUND for
 * an unknown id.
 */
int pb_state_job_set_environment(struct pb_state *st, int64_t job_id,
				 const char *environment);

enum pb_requeue {
	/* running jobs whose lease ended at or before now */
	PB_REQUEUE_EXPIRED = 0,
	/*
	 * every running job: at start-up, when this is the only process on
	 * the file, all of them belong to a process that died
	 */
	PB_REQUEUE_ALL
};

/*
 * Take back jobs left running by dead workers: each goes back to queued with
 * a "retry: ..." note, or, once attempts reached max_attempts, to failed with
 * the reason in note (post its report), or to cancelled when a cancel had
 * been requested. out lists them as they are now. Call it at start-up and
 * then every so often (a worker that hangs loses its job after its lease).
 */
int pb_state_requeue(struct pb_state *st, enum pb_requeue which, int64_t now,
		     struct pb_job_list *out);

/*
 * The same for one job, when the process that ran it under worker ended
 * without finishing it: why ("the job process was killed by signal 9")
 * goes into the note in place of "worker 'W' stopped". *out is the job as
 * it is now. PB_EPERM when the job is not running under worker (it
 * finished, or was taken back already), PB_ENOTFOUND for an unknown id.
 */
int pb_state_requeue_job(struct pb_state *st, int64_t job_id,
			 const char *worker, const char *why, int64_t now,
			 struct pb_job *out);

/* ---- /cancel, /status ---- */

/*
 * Cancel the job that public_id ("j-12") names, which must belong to repo
 * (NULL: any repository). A queued job is cancelled at once; a running one
 * gets cancel_requested_by = actor and stops at its next heartbeat. *out is
 * the job as it is now. PB_EINVAL for a malformed id or a job that has
 * already finished, PB_ENOTFOUND for none in repo.
 */
int pb_state_cancel_job(struct pb_state *st, const char *repo,
			const char *public_id, const char *actor, int64_t now,
			struct pb_job *out);

/* The same for every queued or running job of (repo, pr); out may be empty. */
int pb_state_cancel_pr(struct pb_state *st, const char *repo, int64_t pr,
		       const char *actor, int64_t now, struct pb_job_list *out);

/* One job by id; PB_ENOTFOUND when there is none. */
int pb_state_job_get(struct pb_state *st, int64_t job_id, struct pb_job *out);

/* The jobs of (repo, pr), newest first, at most limit of them (0: all). */
int pb_state_jobs_of_pr(struct pb_state *st, const char *repo, int64_t pr,
			size_t limit, struct pb_job_list *out);

/* The stage rows pb_state_finish() stored, in their order. */
int pb_state_job_stages(struct pb_state *st, int64_t job_id,
			struct pb_stage_list *out);

/* How many jobs are queued (for /metrics). */
int pb_state_count_queued(struct pb_state *st, int64_t *out);

/* ---- evaluations (baselines) ---- */

/*
 * One evaluation of a commit. Given to pb_state_evaluation_add(), the
 * strings are borrowed (id is ignored); filled by
 * pb_state_evaluation_latest(), they are owned until
 * pb_evaluation_release().
 */
struct pb_evaluation {
	int64_t id;
	const char *repo;
	const char *ref; /* the branch evaluated: "main" */
	const char *sha;
	int64_t job_id;	     /* 0: none */
	const char *metrics; /* JSON object of numbers */
	int passed;	     /* 1: the run succeeded and every gate passed */
	int64_t created_at;
};

void pb_evaluation_release(struct pb_evaluation *e);

/* Store e; *id (may be NULL) gets its id. */
int pb_state_evaluation_add(struct pb_state *st, const struct pb_evaluation *e,
			    int64_t *id);

/*
 * The baseline of (repo, ref): its latest evaluation that passed (newest
 * created_at, then newest id). PB_ENOTFOUND when it has none.
 */
int pb_state_evaluation_latest(struct pb_state *st, const char *repo,
			       const char *ref, struct pb_evaluation *out);

/*
 * The latest passing evaluation of the commit sha in repo, whatever ref it
 * was evaluated on (a /deploy reuses it). PB_ENOTFOUND when there is none.
 */
int pb_state_evaluation_of_sha(struct pb_state *st, const char *repo,
			       const char *sha, struct pb_evaluation *out);

struct pb_evaluation_list {
	struct pb_evaluation *v; /* owned, n of them */
	size_t n;
};

void pb_evaluation_list_release(struct pb_evaluation_list *l);

/* The most evaluations pb_state_evaluation_history() returns at once. */
#define PB_STATE_HISTORY_MAX 1000

/*
 * The last n (1 to PB_STATE_HISTORY_MAX, else PB_EINVAL) evaluations of
 * (repo, ref), passed or not, oldest first (by created_at, then id): the
 * trend of a branch's metrics. An empty list when there are none.
 */
int pb_state_evaluation_history(struct pb_state *st, const char *repo,
				const char *ref, size_t n,
				struct pb_evaluation_list *out);

/* ---- deployments (/deploy, /rollback, /status) ---- */

/*
 * One publish to a serving repository. Given to pb_state_deployment_add()
 * the strings are borrowed (id is ignored); filled by a function here they
 * are owned until pb_deployment_release().
 */
struct pb_deployment {
	int64_t id;
	const char *repo;	    /* OWNER/NAME of the ML repository */
	const char *environment;    /* "staging" */
	const char *version;	    /* the tag pushed: "v1.2.3" */
	const char *serving_repo;   /* the environment's repo URL */
	const char *serving_branch; /* its branch */
	const char *serving_path;   /* its folder: "." for the root */
	const char *serving_commit; /* 40 hex */
	const char *manifest;	    /* model_manifest.json as published */
	int64_t pr;		    /* 0: none */
	const char *sha;	    /* the ML commit deployed */
	const char *actor;
	int64_t job_id;	  /* 0: none */
	const char *kind; /* "deploy" or "rollback" */
	int64_t created_at;
	/* .prbot.yml's deploy.version_schema the publish bumped by: "major",
	 * "minor" or "revision" (NULL given: "revision") */
	const char *version_schema;
};

void pb_deployment_release(struct pb_deployment *d);

struct pb_deployment_list {
	struct pb_deployment *v; /* owned, n of them */
	size_t n;
};

void pb_deployment_list_release(struct pb_deployment_list *l);

/* Store d; *id (may be NULL) gets its id. PB_EINVAL for a missing field. */
int pb_state_deployment_add(struct pb_state *st, const struct pb_deployment *d,
			    int64_t *id);

/*
 * The deployments of (repo, environment), newest first, at most limit (0:
 * all). *out may be empty.
 */
int pb_state_deployments(struct pb_state *st, const char *repo,
			 const char *environment, size_t limit,
			 struct pb_deployment_list *out);

/*
 * What each environment of repo has now: its newest deployment, by
 * environment name. *out may be empty.
 */
int pb_state_deployed(struct pb_state *st, const char *repo,
		      struct pb_deployment_list *out);

/* ---- environment locks (/lock, /unlock, /locks, deploys) ---- */

/* The longest environment name a lock takes. */
#define PB_ENV_NAME_MAX 64

/*
 * 0 when name can be an environment's name: 1 to PB_ENV_NAME_MAX ASCII
 * letters, digits, '-', '_' and '.', starting with a letter or a digit.
 * Else PB_EINVAL with a message quoting it (cut) and saying what is
 * accepted. Names are not checked against a repository's .prbot.yml: a
 * lock may be taken on an environment a pull request is about to add.
 */
int pb_env_name_check(const char *name);

/*
 * Take the lock of (want->repo, want->environment) for the pull request
 * want->pr on behalf of want->actor, with want->reason (or NULL), at now.
 * Idempotent for the same pull request: *taken is 1 when this call took
 * it, 0 when want->pr held it already (then nothing changes: the first
 * taker, reason and time stay). *held is the lock as it is now, owned.
 * PB_EBUSY when another pull request holds it: *held is that lock, and the
 * message names the environment, the holder PR and who took it. PB_EINVAL
 * for a bad environment name, a pr under 1 or a missing repo or actor
 * (*held left empty). The caller checks that the pull request is open.
 */
int pb_state_lock_take(struct pb_state *st, const struct pb_env_lock *want,
		       int64_t now, int *taken, struct pb_env_lock *held);

/*
 * Release the lock of (repo, environment), whoever holds it (the caller
 * checked the actor may). *was (may be NULL) is the lock as it was, owned.
 * PB_ENOTFOUND when nobody holds it.
 */
int pb_state_unlock(struct pb_state *st, const char *repo,
		    const char *environment, struct pb_env_lock *was);

/*
 * Release every lock the pull request pr holds in repo (when it is merged
 * or closed). *out lists them as they were, by environment; it may be
 * empty.
 */
int pb_state_unlock_pr(struct pb_state *st, const char *repo, int64_t pr,
		       struct pb_env_lock_list *out);

/* The locks held in repo, by environment name; *out may be empty. */
int pb_state_locks(struct pb_state *st, const char *repo,
		   struct pb_env_lock_list *out);

/* ---- scheduled runs ([schedule "NAME"] in bot.conf) ---- */

/*
 * Claim the fire time slot (Unix seconds) of the schedule name and queue
 * job for it, created at now, in one transaction: of several processes
 * claiming one slot, one alone queues a job. *job_id gets the job's id.
 * PB_EEXISTS when the slot was claimed before (by any process): nothing is
 * written and *job_id is the job that claim queued. PB_ETOOBIG when the
 * queue is full (nothing is stored: the slot may be claimed later),
 * PB_EINVAL for a missing name or a job without repo, command, actor or
 * source.
 */
int pb_state_schedule_claim(struct pb_state *st, const char *name, int64_t slot,
			    const struct pb_job_new *job, int64_t now,
			    int64_t *job_id);

/*
 * The latest slot of the schedule name claimed so far: 1 with *slot set,
 * 0 when none was (*slot is then 0).
 */
int pb_state_schedule_last(struct pb_state *st, const char *name,
			   int64_t *slot);

#endif
