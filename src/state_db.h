/* state_db.h: the connection, statements and transactions of the state files */
#ifndef PRBOT_STATE_DB_H
#define PRBOT_STATE_DB_H

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "prbot/state.h"

/* Room for an operation's name in messages: "finish job 'j-12'". */
#define PB_DB_OP_MAX 128

/* A prepared statement, kept for the connection's life. */
struct pb_db_stmt {
	const char *sql; /* the key: the address of a static string */
	sqlite3_stmt *stmt;
};

struct pb_state_ckpt;

struct pb_state {
	sqlite3 *db;
	struct pb_state_ckpt *ckpt; /* NULL: SQLite checkpoints in commits */
	char *path;
	pthread_mutex_t mu; /* held for each function's whole transaction */
	int queue_max;
	char op[PB_DB_OP_MAX]; /* what the current transaction does */
	struct pb_db_stmt *stmts;
	size_t n_stmts;
	size_t alloc_stmts;
};

/* Name what st is doing, for the messages pb_db_err() writes. */
void pb_db_op(struct pb_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* SQLite's rc (and sqlite3_errmsg) as a PB_E* code with a message. */
int pb_db_err(struct pb_state *st, int rc);

/*
 * Lock st and begin a transaction: write takes SQLite's write lock at once
 * (BEGIN IMMEDIATE), so two writers never both read and then collide. On
 * failure st is unlocked again.
 */
int pb_db_begin(struct pb_state *st, int write, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Commit when rc is 0, else roll back; unlock st. Returns rc or commit's. */
int pb_db_end(struct pb_state *st, int rc);

/*
 * Inside a transaction: open the savepoint (one at a time), then end it
 * with rc: 0 releases it (its changes stay in the transaction), negative
 * rolls back to it first. Returns rc, or the savepoint's own failure.
 */
int pb_db_savepoint(struct pb_state *st);
int pb_db_savepoint_end(struct pb_state *st, int rc);

/* 1 when SQLite rolled the whole open transaction back after an error. */
int pb_db_tx_lost(struct pb_state *st);

/*
 * The prepared statement for sql (a static string: its address is the
 * cache key), reset, with the values bound in order as types says: 't' a
 * const char * (NULL binds NULL), 'i' an int64_t, 'n' an int, 'd' a double.
 */
int pb_db_stmt(struct pb_state *st, sqlite3_stmt **out, const char *sql,
	       const char *types, ...);

/* sqlite3_step: 1 for a row, 0 when done, negative on error. */
int pb_db_step(struct pb_state *st, sqlite3_stmt *s);

/*
 * pb_db_stmt() and one pb_db_step(): 1 with *out standing on the first row,
 * 0 when there is none, negative on error.
 */
int pb_db_row(struct pb_state *st, sqlite3_stmt **out, const char *sql,
	      const char *types, ...);

/* Prepare, bind and run a statement that returns no rows. */
int pb_db_exec(struct pb_state *st, const char *sql, const char *types, ...);

/* Column i as an owned string, NULL for NULL; *oom set when out of memory. */
char *pb_db_col_dup(sqlite3_stmt *s, int i, int *oom);

/* ---- shared by the job files, inside a transaction ---- */

/* A set of job ids, in the order added. */
struct pb_db_ids {
	int64_t *v; /* owned */
	size_t n, alloc;
};

/* Add id unless it is there already. */
int pb_db_ids_add(struct pb_db_ids *l, int64_t id);

/* The first column of each row s gives, into out. */
int pb_db_ids_collect(struct pb_state *st, sqlite3_stmt *s,
		      struct pb_db_ids *out);

/* Append each job of ids to out, read afresh. */
int pb_db_ids_jobs(struct pb_state *st, const struct pb_db_ids *ids,
		   struct pb_job_list *out);

/* One job by id; PB_ENOTFOUND (as pb_db_no_job) when there is none. */
int pb_db_job_get(struct pb_state *st, int64_t id, struct pb_job *out);

/* 0 when job id exists, else PB_ENOTFOUND as pb_db_no_job. */
int pb_db_job_exists(struct pb_state *st, int64_t id);

/* PB_ENOTFOUND: "state store 'P': cannot OP: there is no such job". */
int pb_db_no_job(struct pb_state *st);

/* Append job id to l, read afresh. */
int pb_db_jobs_add(struct pb_state *st, struct pb_job_list *l, int64_t id);

/*
 * Cancel a queued job at once, or ask a running one to stop; superseded_by
 * (0: none) names the newer job that replaces it. The first canceller stays.
 */
int pb_db_job_cancel(struct pb_state *st, int64_t id, const char *actor,
		     int64_t now, int64_t superseded_by);

int pb_db_count_queued(struct pb_state *st, int64_t *out);

/* PB_ETOOBIG, saying what happens then, when more than [server] queue_max
   jobs are queued now (inside the transaction that queued them). */
int pb_db_queue_room(struct pb_state *st, const char *then);

/* Release the locks pr holds in repo, appending them to out (as they were). */
int pb_db_unlock_pr(struct pb_state *st, const char *repo, int64_t pr,
		    struct pb_env_lock_list *out);

/*
 * Bring st's database to version n of migrations (migrations[v] takes
 * version v to v + 1), each in its own transaction. Refuses a newer file.
 * For pb_state_open() (and tests): no other thread may be using st.
 */
int pb_db_migrate(struct pb_state *st, const char *const *migrations, int n);

#endif
