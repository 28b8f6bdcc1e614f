/* state.c: the state store's SQLite connection, schema and transactions */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prbot/err.h"
#include "prbot/state.h"
#include "prbot/fs.h"
#include "state_db.h"
#include "banned.h"

/* The database holds tokens' effects and people's names: owner only. */
#define STATE_FILE_MODE 0600
#define STATE_DIR_MODE	0700

/*
 * The numbered migrations: migrations[v] takes the schema from version v to
 * v + 1. Append, never edit one that has shipped.
 */
static const char MIGRATION_1[] =
	"CREATE TABLE deliveries ("
	" delivery_id TEXT PRIMARY KEY,"
	" source TEXT NOT NULL,"
	" event TEXT NOT NULL,"
	" received_at INTEGER NOT NULL,"
	" outcome TEXT NOT NULL);"
	"CREATE TABLE jobs ("
	" id INTEGER PRIMARY KEY,"
	" repo TEXT NOT NULL,"
	" pr INTEGER NOT NULL,"
	" head_sha TEXT,"
	" ref TEXT,"
	" base_ref TEXT,"
	" command TEXT NOT NULL,"
	" args TEXT NOT NULL,"
	" actor TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	/* deferred: the delivery row is written after its jobs */
	" delivery_id TEXT REFERENCES deliveries(delivery_id)"
	"  DEFERRABLE INITIALLY DEFERRED,"
	" comment_id TEXT,"
	" command_index INTEGER NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN"
	"  ('queued', 'running', 'succeeded', 'failed', 'cancelled')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" max_attempts INTEGER NOT NULL,"
	" lease_owner TEXT,"
	" lease_until INTEGER,"
	" heartbeat_at INTEGER,"
	" created_at INTEGER NOT NULL,"
	" started_at INTEGER,"
	" finished_at INTEGER,"
	" cancel_requested_by TEXT,"
	" superseded_by INTEGER REFERENCES jobs(id),"
	" note TEXT,"
	" reply TEXT NOT NULL,"
	" report TEXT);"
	"CREATE UNIQUE INDEX jobs_comment_line ON jobs(comment_id, command_index)"
	" WHERE comment_id IS NOT NULL;"
	"CREATE INDEX jobs_state ON jobs(state, id);"
	"CREATE INDEX jobs_pr ON jobs(repo, pr, id);"
	"CREATE TABLE job_stages ("
	" job_id INTEGER NOT NULL REFERENCES jobs(id),"
	" seq INTEGER NOT NULL,"
	" name TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" seconds REAL NOT NULL,"
	" note TEXT,"
	" error TEXT,"
	" PRIMARY KEY (job_id, seq));"
	"CREATE TABLE evaluations ("
	" id INTEGER PRIMARY KEY,"
	" repo TEXT NOT NULL,"
	" ref TEXT NOT NULL,"
	" sha TEXT NOT NULL,"
	" job_id INTEGER REFERENCES jobs(id),"
	" metrics TEXT NOT NULL,"
	" passed INTEGER NOT NULL CHECK (passed IN (0, 1)),"
	" created_at INTEGER NOT NULL);"
	"CREATE INDEX evaluations_baseline"
	" ON evaluations(repo, ref, passed, created_at);"
	/* issue 4's /lock: one holder per (repo, environment) */
	"CREATE TABLE locks ("
	" environment TEXT NOT NULL,"
	" repo TEXT NOT NULL,"
	" holder_pr INTEGER,"
	" holder_actor TEXT NOT NULL,"
	" reason TEXT,"
	" created_at INTEGER NOT NULL,"
	" PRIMARY KEY (repo, environment));";

/*
 * 2: the number of queued jobs kept by triggers in the same transactions,
 * so the queue bound checked on every accepted delivery costs one row read
 * instead of a scan that grew with the queue.
 */
#define MIGRATION_2                                                              \
	"CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);" \
	"INSERT INTO counters SELECT 'queued', count(*) FROM jobs"               \
	" WHERE state = 'queued';"                                               \
	"CREATE TRIGGER jobs_queued_insert AFTER INSERT ON jobs"                 \
	" WHEN NEW.state = 'queued' BEGIN"                                       \
	" UPDATE counters SET value = value + 1 WHERE name = 'queued'; END;"     \
	"CREATE TRIGGER jobs_queued_delete AFTER DELETE ON jobs"                 \
	" WHEN OLD.state = 'queued' BEGIN"                                       \
	" UPDATE counters SET value = value - 1 WHERE name = 'queued'; END;"     \
	"CREATE TRIGGER jobs_queued_update AFTER UPDATE OF state ON jobs"        \
	" WHEN (OLD.state = 'queued') != (NEW.state = 'queued') BEGIN"           \
	" UPDATE counters SET value = value +"                                   \
	"  CASE NEW.state WHEN 'queued' THEN 1 ELSE -1 END"                      \
	" WHERE name = 'queued'; END;"

/*
 * 3: indexes on the child columns of foreign keys. Without one on
 * jobs(delivery_id), recording a delivery (the parent of its deferred jobs)
 * made SQLite scan every job to settle the deferred constraint.
 */
#define MIGRATION_3                                               \
	"CREATE INDEX jobs_delivery ON jobs(delivery_id);"        \
	"CREATE INDEX jobs_superseded_by ON jobs(superseded_by);" \
	"CREATE INDEX evaluations_job ON evaluations(job_id);"

/*
 * 4: environment locks as /lock and deploys use them. Version 1's locks
 * table, which nothing wrote, is rebuilt with the names the code uses; a
 * lock always belongs to a pull request, and an index finds a PR's locks
 * when it is closed.
 */
#define MIGRATION_4                                                         \
	"CREATE TABLE locks_v4 ("                                           \
	" repo TEXT NOT NULL,"                                              \
	" environment TEXT NOT NULL,"                                       \
	" pr INTEGER NOT NULL CHECK (pr > 0),"                              \
	" actor TEXT NOT NULL,"                                             \
	" reason TEXT,"                                                     \
	" created_at INTEGER NOT NULL,"                                     \
	" PRIMARY KEY (repo, environment));"                                \
	"INSERT INTO locks_v4 SELECT repo, environment, holder_pr,"         \
	" holder_actor, reason, created_at FROM locks WHERE holder_pr > 0;" \
	"DROP TABLE locks;"                                                 \
	"ALTER TABLE locks_v4 RENAME TO locks;"                             \
	"CREATE INDEX locks_pr ON locks(repo, pr);"

/*
 * 5: collaborator permissions read from GitHub, kept briefly: each job runs
 * in a process of its own, so a cache in memory would last one job.
 */
#define MIGRATION_5                     \
	"CREATE TABLE permissions ("    \
	" repo TEXT NOT NULL,"          \
	" login TEXT NOT NULL,"         \
	" level TEXT NOT NULL,"         \
	" fetched_at INTEGER NOT NULL," \
	" PRIMARY KEY (repo, login)) WITHOUT ROWID;"

/*
 * 6: issue 4's deploy history. Version 1 had no deployments table: each
 * publish (a deploy or a rollback) is one row, with the manifest as
 * written to the serving repository, so /rollback and /status read it back.
 */
#define MIGRATION_6                                                           \
	"CREATE TABLE deployments ("                                          \
	" id INTEGER PRIMARY KEY,"                                            \
	" repo TEXT NOT NULL,"                                                \
	" environment TEXT NOT NULL,"                                         \
	" version TEXT NOT NULL,"                                             \
	" serving_repo TEXT NOT NULL,"                                        \
	" serving_branch TEXT NOT NULL,"                                      \
	" serving_path TEXT NOT NULL,"                                        \
	" serving_commit TEXT NOT NULL,"                                      \
	" manifest TEXT NOT NULL,"                                            \
	" pr INTEGER NOT NULL,"                                               \
	" sha TEXT NOT NULL,"                                                 \
	" actor TEXT NOT NULL,"                                               \
	" job_id INTEGER REFERENCES jobs(id),"                                \
	" kind TEXT NOT NULL CHECK (kind IN ('deploy', 'rollback')),"         \
	" created_at INTEGER NOT NULL);"                                      \
	"CREATE INDEX deployments_env ON deployments(repo, environment, id);" \
	"CREATE INDEX deployments_job ON deployments(job_id);"                \
	"CREATE INDEX evaluations_sha ON evaluations(repo, sha, passed);"

/*
 * 7: the version schema each publish bumped by, so a /rollback (which has
 * no checkout to read .prbot.yml from) bumps as the deploys do. Rows from
 * before get 'revision', the only schema a rollback used then.
 */
#define MIGRATION_7                                                       \
	"ALTER TABLE deployments ADD COLUMN version_schema TEXT NOT NULL" \
	" DEFAULT 'revision'"                                             \
	" CHECK (version_schema IN ('major', 'minor', 'revision'));"

/*
 * 8: the environment a running /deploy resolved (its words may name none:
 * .prbot.yml's first), so a /rollback of this pull request, which has no
 * checkout to read the default from, sees that deploy running.
 */
#define MIGRATION_8 "ALTER TABLE jobs ADD COLUMN environment TEXT;"

/*
 * 9: the slots of [schedule "NAME"] sections that were claimed, each with
 * the job it queued: the primary key lets one replica alone claim a slot.
 */
#define MIGRATION_9                                     \
	"CREATE TABLE schedule_slots ("                 \
	" name TEXT NOT NULL,"                          \
	" slot INTEGER NOT NULL,"                       \
	" job_id INTEGER NOT NULL REFERENCES jobs(id)," \
	" claimed_at INTEGER NOT NULL,"                 \
	" PRIMARY KEY (name, slot)) WITHOUT ROWID;"     \
	"CREATE INDEX schedule_slots_job ON schedule_slots(job_id);"

static const char *const migrations[] = {
	MIGRATION_1, MIGRATION_2, MIGRATION_3, MIGRATION_4, MIGRATION_5,
	MIGRATION_6, MIGRATION_7, MIGRATION_8, MIGRATION_9
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
		       PB_STATE_SCHEMA_VERSION,
	       "PB_STATE_SCHEMA_VERSION counts the migrations");

static const char SQL_USER_VERSION[] = "PRAGMA user_version";
static const char SQL_PING[] = "SELECT 1 FROM jobs LIMIT 1";

void pb_db_op(struct pb_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->op, sizeof(st->op), fmt, ap);
	va_end(ap);
}

/* What the person running prbot can do about rc, or "". */
static const char *err_hint(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return " (restore it from a backup, or move it away and "
		       "prbot starts an empty one)";
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return " (check that this user can write the file and its "
		       "folder)";
	case SQLITE_FULL:
		return " (free some disk space)";
	case SQLITE_IOERR:
		return " (check the disk and the file system it is on)";
	default:
		return "";
	}
}

int pb_db_err(struct pb_state *st, int rc)
{
	const char *why = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return pb_err_setc(PB_ETIMEOUT,
				   "state store '%s': cannot %s: %s for %d ms "
				   "(is another process using it?)",
				   st->path, st->op, why, PB_STATE_BUSY_MS);
	case SQLITE_NOMEM:
		return pb_err_set("state store '%s': cannot %s: out of memory",
				  st->path, st->op);
	default:
		return pb_err_set("state store '%s': cannot %s: %s%s", st->path,
				  st->op, why, err_hint(rc));
	}
}

/* Prepared once and kept, as every statement of the store: parsing them on
   each transaction was a fifth of the committer's work. */
static const char SQL_BEGIN[] = "BEGIN";
static const char SQL_BEGIN_WRITE[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_SAVEPOINT[] = "SAVEPOINT one";
static const char SQL_RELEASE[] = "RELEASE one";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO one";

int pb_db_begin(struct pb_state *st, int write, const char *fmt, ...)
{
	char op[PB_DB_OP_MAX];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(op, sizeof(op), fmt, ap);
	va_end(ap);
	if (!st || !st->db)
		return pb_err_setc(PB_EINVAL,
				   "cannot %s: the state store is not open",
				   op);
	pthread_mutex_lock(&st->mu);
	memcpy(st->op, op, sizeof(op));
	if ((rc = pb_db_exec(st, write ? SQL_BEGIN_WRITE : SQL_BEGIN, "")) < 0)
		pthread_mutex_unlock(&st->mu);
	return rc;
}

/* Reset every statement still part-way through its rows. */
static void stmts_reset(struct pb_state *st)
{
	sqlite3_stmt *s = NULL;

	while ((s = sqlite3_next_stmt(st->db, s)))
		if (sqlite3_stmt_busy(s))
			sqlite3_reset(s);
}

int pb_db_end(struct pb_state *st, int rc)
{
	stmts_reset(st);
	if (rc == 0)
		rc = pb_db_exec(st, SQL_COMMIT, "");
	/* a failed statement may have rolled back already */
	if (rc < 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int pb_db_savepoint(struct pb_state *st)
{
	return pb_db_exec(st, SQL_SAVEPOINT, "");
}

int pb_db_savepoint_end(struct pb_state *st, int rc)
{
	stmts_reset(st);
	if (pb_db_tx_lost(st))
		return rc < 0 ? rc :
				pb_err_set("state store '%s': cannot %s: "
					   "the transaction was rolled "
					   "back",
					   st->path, st->op);
	if (rc == 0)
		return pb_db_exec(st, SQL_RELEASE, "");
	if (pb_db_exec(st, SQL_ROLLBACK_TO, "") == 0 &&
	    pb_db_exec(st, SQL_RELEASE, "") == 0)
		return rc;
	/* half a savepoint must never commit: drop the whole transaction
	   (pb_db_tx_lost() says so); rc's message says what went wrong */
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int pb_db_tx_lost(struct pb_state *st)
{
	return sqlite3_get_autocommit(st->db) != 0;
}

/* The cached statement for sql, prepared on first use. */
static int stmt_get(struct pb_state *st, sqlite3_stmt **out, const char *sql)
{
	struct pb_db_stmt *grown;
	sqlite3_stmt *s = NULL;
	size_t i, alloc;
	int rc;

	for (i = 0; i < st->n_stmts; i++)
		if (st->stmts[i].sql == sql) {
			*out = st->stmts[i].stmt;
			return 0;
		}
	if (st->n_stmts == st->alloc_stmts) {
		alloc = st->alloc_stmts ? 2 * st->alloc_stmts : 32;
		grown = realloc(st->stmts, alloc * sizeof(*grown));
		if (!grown)
			return pb_err_set("out of memory");
		st->stmts = grown;
		st->alloc_stmts = alloc;
	}
	rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
				NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return pb_db_err(st, rc);
	}
	st->stmts[st->n_stmts].sql = sql;
	st->stmts[st->n_stmts++].stmt = s;
	*out = s;
	return 0;
}

static int bindv(struct pb_state *st, sqlite3_stmt *s, const char *types,
		 va_list ap)
{
	const char *t;
	int i, rc = SQLITE_OK;

	for (i = 1, t = types; *t && rc == SQLITE_OK; i++, t++) {
		if (*t == 't')
			rc = sqlite3_bind_text(s, i, va_arg(ap, const char *),
					       -1, SQLITE_STATIC);
		else if (*t == 'i')
			rc = sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
		else if (*t == 'n')
			rc = sqlite3_bind_int(s, i, va_arg(ap, int));
		else if (*t == 'd')
			rc = sqlite3_bind_double(s, i, va_arg(ap, double));
		else
			return pb_err_set("state store '%s': cannot %s: bad "
					  "bind type '%c'",
					  st->path, st->op, *t);
	}
	return rc == SQLITE_OK ? 0 : pb_db_err(st, rc);
}

static int stmt_vprepare(struct pb_state *st, sqlite3_stmt **out,
			 const char *sql, const char *types, va_list ap)
{
	int rc;

	if ((rc = stmt_get(st, out, sql)) < 0)
		return rc;
	sqlite3_reset(*out);
	sqlite3_clear_bindings(*out);
	return bindv(st, *out, types, ap);
}

int pb_db_stmt(struct pb_state *st, sqlite3_stmt **out, const char *sql,
	       const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = stmt_vprepare(st, out, sql, types, ap);
	va_end(ap);
	return rc;
}

int pb_db_step(struct pb_state *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return pb_db_err(st, rc);
}

int pb_db_row(struct pb_state *st, sqlite3_stmt **out, const char *sql,
	      const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = stmt_vprepare(st, out, sql, types, ap);
	va_end(ap);
	return rc < 0 ? rc : pb_db_step(st, *out);
}

int pb_db_exec(struct pb_state *st, const char *sql, const char *types, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = stmt_vprepare(st, &s, sql, types, ap);
	va_end(ap);
	if (rc < 0)
		return rc;
	while ((rc = pb_db_step(st, s)) > 0)
		;
	return rc;
}

char *pb_db_col_dup(sqlite3_stmt *s, int i, int *oom)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	char *d;

	if (!t)
		return NULL;
	if (!(d = strdup((const char *)t)))
		*oom = 1;
	return d;
}

/* The file's schema version; the caller has named the operation. */
static int user_version(struct pb_state *st, int *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = pb_db_row(st, &s, SQL_USER_VERSION, "")) < 0)
		return rc;
	*out = rc ? sqlite3_column_int(s, 0) : 0;
	sqlite3_reset(s);
	return 0;
}

/* Version v to v + 1, unless another process did it meanwhile. */
static int migrate_one(struct pb_state *st, const char *sql, int v)
{
	/* PRAGMA takes no parameters: the number is ours, never input */
	char set[64];
	int rc, cur, src;

	if ((rc = pb_db_begin(st, 1, "migrate to schema version %d", v + 1)) <
	    0)
		return rc;
	if ((rc = user_version(st, &cur)) < 0 || cur != v)
		goto out;
	snprintf(set, sizeof(set), "PRAGMA user_version = %d", v + 1);
	if ((src = sqlite3_exec(st->db, sql, NULL, NULL, NULL)) != SQLITE_OK ||
	    (src = sqlite3_exec(st->db, set, NULL, NULL, NULL)) != SQLITE_OK)
		rc = pb_db_err(st, src);
out:
	return pb_db_end(st, rc);
}

int pb_db_migrate(struct pb_state *st, const char *const *list, int n)
{
	int rc, v;

	pb_db_op(st, "read the schema version");
	if ((rc = user_version(st, &v)) < 0)
		return rc;
	if (v > n)
		return pb_err_setc(PB_EINVAL,
				   "state store '%s' has schema version %d, "
				   "newer than the %d this prbot %s knows: run "
				   "a newer prbot, or set [server] state to "
				   "another file",
				   st->path, v, n, PRBOT_VERSION);
	for (; v < n; v++)
		if ((rc = migrate_one(st, list[v], v)) < 0)
			return rc;
	return 0;
}

/* mkdir -p the folder part of path, for a first start. */
static int make_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int rc;

	if (!slash || slash == path)
		return 0;
	if (!(dir = strndup(path, (size_t)(slash - path))))
		return pb_err_set("out of memory");
	rc = pb_mkdirs(dir, STATE_DIR_MODE);
	free(dir);
	return rc;
}

/* Create the file with our mode; SQLite gives -wal and -shm the same. */
static int make_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, STATE_FILE_MODE);

	if (fd < 0)
		return pb_err_set("state store '%s': cannot open: %s "
				  "(check [server] state and the folder's "
				  "permissions)",
				  path, strerror(errno));
	close(fd);
	return 0;
}

/* WAL, foreign keys, full sync: each commit is on disk before we answer. */
static int configure(struct pb_state *st)
{
	const unsigned char *mode;
	sqlite3_stmt *s;
	int rc;

	pb_db_op(st, "open");
	if ((rc = sqlite3_busy_timeout(st->db, PB_STATE_BUSY_MS)) !=
		    SQLITE_OK ||
	    (rc = sqlite3_exec(st->db, "PRAGMA foreign_keys = ON", NULL, NULL,
			       NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(st->db, "PRAGMA synchronous = FULL", NULL, NULL,
			       NULL)) != SQLITE_OK)
		return pb_db_err(st, rc);
	/* not cached: it is run once */
	if ((rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1,
				     &s, NULL)) != SQLITE_OK)
		return pb_db_err(st, rc);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		rc = pb_db_err(st, rc);
	} else {
		mode = sqlite3_column_text(s, 0);
		rc = 0;
		if (!mode || strcmp((const char *)mode, "wal") != 0)
			rc = pb_err_set("state store '%s': cannot switch to "
					"WAL mode (the journal mode stayed "
					"'%s'): put the file on a local file "
					"system",
					st->path,
					mode ? (const char *)mode : "unknown");
	}
	sqlite3_finalize(s);
	return rc;
}

int pb_state_open(struct pb_state **out, const char *path)
{
	struct pb_state *st = NULL;
	int rc, src;

	*out = NULL;
	if (!path || !*path)
		return pb_err_setc(PB_EINVAL, "cannot open the state store: "
					      "[server] state is empty");
	if ((rc = make_parent(path)) < 0 || (rc = make_file(path)) < 0)
		return rc;
	if (!(st = calloc(1, sizeof(*st))) || !(st->path = strdup(path))) {
		free(st);
		return pb_err_set("out of memory");
	}
	pthread_mutex_init(&st->mu, NULL);
	st->queue_max = PB_STATE_QUEUE_MAX;
	pb_db_op(st, "open");
	/* our mutex serializes each connection's use: SQLite's is not needed */
	src = sqlite3_open_v2(path, &st->db,
			      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			      NULL);
	if (src != SQLITE_OK) {
		rc = pb_db_err(st, src);
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if ((rc = configure(st)) < 0)
		goto out;
	rc = pb_db_migrate(st, migrations, PB_STATE_SCHEMA_VERSION);
out:
	if (rc < 0)
		pb_state_close(st);
	else
		*out = st;
	return rc;
}

void pb_state_close(struct pb_state *st)
{
	size_t i;

	if (!st)
		return;
	/* first: the main connection, closing last, checkpoints what is left */
	pb_state_checkpointer_stop(st);
	for (i = 0; i < st->n_stmts; i++)
		sqlite3_finalize(st->stmts[i].stmt);
	free(st->stmts);
	sqlite3_close_v2(st->db);
	pthread_mutex_destroy(&st->mu);
	free(st->path);
	free(st);
}

void pb_state_set_queue_max(struct pb_state *st, int queue_max)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	st->queue_max = queue_max > 0 ? queue_max : 0;
	pthread_mutex_unlock(&st->mu);
}

int pb_state_ping(struct pb_state *st)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = pb_db_begin(st, 0, "answer a health check")) < 0)
		return rc;
	if ((rc = pb_db_row(st, &s, SQL_PING, "")) > 0)
		rc = 0;
	return pb_db_end(st, rc);
}
