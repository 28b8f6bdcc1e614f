/* test_state.c: the SQLite state store: migrations, queue, leases, baselines */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/state.h"
#include "state_db.h"

#define NOW  ((int64_t)1700000000)
#define REPO "octo/models"
#define SHA  "0123456789abcdef0123456789abcdef01234567"

/* A fresh folder per test; the store lives in a folder it must create. */
struct fixture {
	char dir[64];
	char sub[96];
	char path[128];
	struct pb_state *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/prbot-test-state.XXXXXX");
	if (!mkdtemp(f->dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		free(f);
		return -1;
	}
	snprintf(f->sub, sizeof(f->sub), "%s/var", f->dir);
	snprintf(f->path, sizeof(f->path), "%s/prbot.db", f->sub);
	*state = f;
	return 0;
}

/* The store is the only thing in the folder: its file, -wal and -shm. */
static int teardown(void **state)
{
	static const char *const ext[] = { "", "-wal", "-shm", "-journal" };
	struct fixture *f = *state;
	char p[160];
	size_t i;
	int rc = 0;

	pb_state_close(f->st);
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, ext[i]);
		if (unlink(p) < 0 && errno != ENOENT)
			rc = -1;
	}
	if ((rmdir(f->sub) < 0 && errno != ENOENT) || rmdir(f->dir) < 0) {
		fprintf(stderr, "cannot remove '%s': %s\n", f->dir,
			strerror(errno));
		rc = -1;
	}
	free(f);
	return rc;
}

/* The thread's error is exactly the printf-formatted text. */
static void assert_msg(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void assert_msg(const char *fmt, ...)
{
	char want[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	assert_string_equal(pb_err_last(), want);
}

static struct pb_state *open_ok(struct fixture *f)
{
	if (pb_state_open(&f->st, f->path) < 0)
		fail_msg("open: %s", pb_err_last());
	return f->st;
}

/* One integer from sql on a connection of its own. */
static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3_stmt *s = NULL;
	sqlite3 *db = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* A /evaluate-like job for pr of REPO. */
static struct pb_job_new job_new(int64_t pr, const char *command,
				 const char *comment_id, int index)
{
	struct pb_job_new j = {
		.repo = REPO,
		.pr = pr,
		.head_sha = SHA,
		.ref = "feature",
		.base_ref = "main",
		.command = command,
		.args = "[\"baseline=main\"]",
		.actor = "alice",
		.source = "github",
		.comment_id = comment_id,
		.command_index = index,
		.reply = "{\"comment\":1}",
	};

	return j;
}

static struct pb_delivery delivery(const char *id, int64_t at)
{
	struct pb_delivery d = {
		.id = id,
		.source = "github",
		.event = "issue_comment",
		.received_at = at,
	};

	return d;
}

/* Accept one job under delivery id; its id. */
static int64_t enqueue(struct pb_state *st, const char *id,
		       const struct pb_job_new *j)
{
	struct pb_delivery d = delivery(id, NOW);
	struct pb_accept a;
	int64_t job;

	if (pb_state_accept_delivery(st, &d, j, 1, &a) < 0)
		fail_msg("accept: %s", pb_err_last());
	assert_int_equal(a.outcome, PB_ACCEPT_QUEUED);
	job = a.ids[0];
	pb_accept_release(&a);
	return job;
}

static int64_t claim(struct pb_state *st, const char *worker, int64_t now)
{
	struct pb_job j;
	int64_t id;

	if (pb_state_claim(st, worker, 30, now, &j) < 0)
		fail_msg("claim: %s", pb_err_last());
	id = j.id;
	pb_job_release(&j);
	return id;
}

/* Open the store with one /evaluate job of PR 7 running under w1; its id. */
static int64_t start_job(struct fixture *f)
{
	struct pb_job_new j = job_new(7, "evaluate", NULL, 0);
	int64_t id;

	id = enqueue(open_ok(f), "d-1", &j);
	assert_int_equal(claim(f->st, "w1", NOW), id);
	return id;
}

static struct pb_job get(struct pb_state *st, int64_t id)
{
	struct pb_job j;

	if (pb_state_job_get(st, id, &j) < 0)
		fail_msg("get: %s", pb_err_last());
	return j;
}

/* ---- opening and migrations ---- */

static void test_open_creates_folder_and_private_file_in_wal_mode(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", NULL, 0);
	char wal[160];
	struct stat sb;

	open_ok(f);
	assert_int_equal(stat(f->sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	enqueue(f->st, "d-1", &j);
	/* the log SQLite writes first gets the file's mode too */
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
			 PB_STATE_SCHEMA_VERSION);
	assert_int_equal(raw_int(f->path,
				 "SELECT count(*) FROM sqlite_schema "
				 "WHERE type = 'table' AND name IN "
				 "('deliveries', 'jobs', 'job_stages', "
				 "'evaluations', 'locks', 'permissions', "
				 "'deployments')"),
			 7);
	/* WAL is a property of the file: a fresh connection sees it */
	assert_int_equal(raw_int(f->path, "SELECT journal_mode = 'wal' FROM "
					  "pragma_journal_mode"),
			 1);
}

static void test_reopen_keeps_jobs_and_deliveries(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", "c-1", 0);
	struct pb_delivery d = delivery("d-1", NOW);
	struct pb_accept a;
	struct pb_job got;
	int64_t id, n;

	id = enqueue(open_ok(f), "d-1", &j);
	pb_state_close(f->st);
	f->st = NULL;

	open_ok(f);
	got = get(f->st, id);
	assert_string_equal(got.repo, REPO);
	assert_string_equal(got.head_sha, SHA);
	assert_int_equal(got.state, PB_JOB_QUEUED);
	pb_job_release(&got);
	assert_int_equal(pb_state_count_queued(f->st, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pb_state_accept_delivery(f->st, &d, &j, 1, &a), 0);
	assert_int_equal(a.outcome, PB_ACCEPT_DUPLICATE);
	pb_accept_release(&a);
}

static void test_open_refuses_a_newer_schema(void **state)
{
	struct fixture *f = *state;

	open_ok(f);
	pb_state_close(f->st);
	f->st = NULL;
	raw_exec(f->path, "PRAGMA user_version = 99");

	assert_int_equal(pb_state_open(&f->st, f->path), PB_EINVAL);
	assert_null(f->st);
	assert_msg("state store '%s' has schema version 99, newer than the %d "
		   "this prbot %s knows: run a newer prbot, or set [server] "
		   "state to another file",
		   f->path, PB_STATE_SCHEMA_VERSION, PRBOT_VERSION);
}

static void test_open_refuses_a_file_that_is_not_a_database(void **state)
{
	struct fixture *f = *state;
	FILE *fp;

	assert_int_equal(mkdir(f->sub, 0700), 0);
	assert_non_null(fp = fopen(f->path, "w"));
	for (int i = 0; i < 200; i++)
		fputs("[server]\nlisten = 127.0.0.1:8080\n", fp);
	fclose(fp);

	assert_int_equal(pb_state_open(&f->st, f->path), PB_ERROR);
	assert_null(f->st);
	assert_msg("state store '%s': cannot open: file is not a database "
		   "(restore it from a backup, or move it away and prbot "
		   "starts an empty one)",
		   f->path);
}

static void test_open_refuses_an_empty_path(void **state)
{
	struct pb_state *st = NULL;

	assert_int_equal(pb_state_open(&st, ""), PB_EINVAL);
	assert_null(st);
	assert_msg("cannot open the state store: [server] state is empty");
}

/* Each migration is one transaction: a failing one leaves no trace. */
static void test_failed_migration_keeps_the_previous_version(void **state)
{
	enum { NEXT = PB_STATE_SCHEMA_VERSION + 1 };
	const char *bad[NEXT], *good[NEXT];
	struct fixture *f = *state;
	int i;

	for (i = 0; i < NEXT - 1; i++) /* there already: not run */
		bad[i] = good[i] = "not run: this version is there already";
	bad[NEXT - 1] =
		"CREATE TABLE extra (a); INSERT INTO nosuch VALUES (1);";
	good[NEXT - 1] = "CREATE TABLE extra (a);";
	open_ok(f);
	assert_int_equal(pb_db_migrate(f->st, bad, NEXT), PB_ERROR);
	assert_msg("state store '%s': cannot migrate to schema version %d: no "
		   "such table: nosuch",
		   f->path, (int)NEXT);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
			 PB_STATE_SCHEMA_VERSION);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema "
					  "WHERE name = 'extra'"),
			 0);

	assert_int_equal(pb_db_migrate(f->st, good, NEXT), 0);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), NEXT);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM extra"), 0);
	/* and this prbot, which knows only the versions before, refuses it */
	pb_state_close(f->st);
	f->st = NULL;
	assert_int_equal(pb_state_open(&f->st, f->path), PB_EINVAL);
}

struct opener {
	const char *path;
	int rc;
	char err[256];
};

static void *open_close(void *arg)
{
	struct opener *o = arg;
	struct pb_state *st = NULL;

	if ((o->rc = pb_state_open(&st, o->path)) < 0)
		snprintf(o->err, sizeof(o->err), "%s", pb_err_last());
	pb_state_close(st);
	return NULL;
}

/* Processes starting together on a new file migrate it once, all of them. */
static void test_handles_opened_at_once_migrate_a_new_file_once(void **state)
{
	struct fixture *f = *state;
	struct opener o[4];
	pthread_t t[4];
	size_t i;

	for (i = 0; i < 4; i++) {
		o[i].path = f->path;
		assert_int_equal(pthread_create(&t[i], NULL, open_close, &o[i]),
				 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++)
		if (o[i].rc < 0)
			fail_msg("opener %zu: %s", i, o[i].err);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
			 PB_STATE_SCHEMA_VERSION);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema "
					  "WHERE name = 'jobs'"),
			 1);
}

/* ---- accepting deliveries ---- */

static void test_duplicate_delivery_does_nothing(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", "c-1", 0);
	struct pb_job_new other = job_new(8, "evaluate", "c-2", 0);
	struct pb_delivery d = delivery("d-1", NOW);
	struct pb_accept a;
	int64_t n;

	open_ok(f);
	assert_int_equal(pb_state_accept_delivery(f->st, &d, &j, 1, &a), 0);
	assert_int_equal(a.outcome, PB_ACCEPT_QUEUED);
	assert_int_equal(a.n_queued, 1);
	assert_int_equal(a.ids[0], 1);
	pb_accept_release(&a);

	/* the same delivery id again, whatever it carries */
	d.received_at = NOW + 5;
	assert_int_equal(pb_state_accept_delivery(f->st, &d, &other, 1, &a), 0);
	assert_int_equal(a.outcome, PB_ACCEPT_DUPLICATE);
	assert_int_equal(a.n_queued, 0);
	assert_int_equal(a.n_ids, 1);
	assert_int_equal(a.ids[0], 0);
	pb_accept_release(&a);

	assert_int_equal(pb_state_count_queued(f->st, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM deliveries"),
			 1);
	assert_int_equal(raw_int(f->path, "SELECT received_at FROM deliveries"),
			 NOW);
}

/* An App and a repository webhook deliver one comment twice. */
static void
test_same_comment_line_under_two_deliveries_is_queued_once(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new lines[] = {
		job_new(7, "evaluate", "c-555", 0),
		job_new(7, "status", "c-555", 1),
	};
	struct pb_delivery app = delivery("d-app", NOW);
	struct pb_delivery hook = delivery("d-hook", NOW + 1);
	struct pb_accept a;

	open_ok(f);
	assert_int_equal(pb_state_accept_delivery(f->st, &app, lines, 2, &a),
			 0);
	assert_int_equal(a.outcome, PB_ACCEPT_QUEUED);
	assert_int_equal(a.n_queued, 2);
	pb_accept_release(&a);

	assert_int_equal(pb_state_accept_delivery(f->st, &hook, lines, 2, &a),
			 0);
	assert_int_equal(a.outcome, PB_ACCEPT_SKIPPED);
	assert_int_equal(a.n_queued, 0);
	assert_int_equal(a.ids[0], 0);
	assert_int_equal(a.ids[1], 0);
	pb_accept_release(&a);

	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), 2);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM deliveries "
					  "WHERE delivery_id = 'd-hook' AND "
					  "outcome = 'skipped'"),
			 1);
}

static void test_delivery_without_jobs_is_recorded_for_dedupe(void **state)
{
	struct fixture *f = *state;
	struct pb_delivery d = delivery("d-ping", NOW);
	struct pb_accept a;

	d.event = "ping";
	d.outcome = "ignored: ping";
	open_ok(f);
	assert_int_equal(pb_state_accept_delivery(f->st, &d, NULL, 0, &a), 0);
	assert_int_equal(a.outcome, PB_ACCEPT_IGNORED);
	pb_accept_release(&a);
	assert_int_equal(pb_state_accept_delivery(f->st, &d, NULL, 0, &a), 0);
	assert_int_equal(a.outcome, PB_ACCEPT_DUPLICATE);
	pb_accept_release(&a);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM deliveries "
					  "WHERE outcome = 'ignored: ping'"),
			 1);
}

static void test_accept_refuses_a_job_without_an_actor(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j[] = { job_new(7, "evaluate", NULL, 0),
				  job_new(7, "evaluate", NULL, 1) };
	struct pb_delivery d = delivery("d-1", NOW);
	struct pb_accept a;

	j[1].actor = NULL;
	open_ok(f);
	assert_int_equal(pb_state_accept_delivery(f->st, &d, j, 2, &a),
			 PB_EINVAL);
	assert_msg("cannot queue job 2 of delivery 'd-1': its actor is "
		   "missing");
	assert_null(a.ids);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), 0);
}

static void test_queue_bound_refuses_with_nothing_stored(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new two[] = { job_new(7, "evaluate", "c-1", 0),
				    job_new(7, "status", "c-1", 1) };
	struct pb_job_new one = job_new(8, "evaluate", "c-2", 0);
	struct pb_job_new more = job_new(9, "evaluate", "c-3", 0);
	struct pb_delivery d1 = delivery("d-1", NOW);
	struct pb_delivery d3 = delivery("d-3", NOW);
	struct pb_delivery again = delivery("d-1-again", NOW);
	struct pb_accept a;

	open_ok(f);
	pb_state_set_queue_max(f->st, 3);
	assert_int_equal(pb_state_accept_delivery(f->st, &d1, two, 2, &a), 0);
	pb_accept_release(&a);
	enqueue(f->st, "d-2", &one);

	assert_int_equal(pb_state_accept_delivery(f->st, &d3, &more, 1, &a),
			 PB_ETOOBIG);
	assert_msg("state store '%s': cannot record delivery 'd-3': the queue "
		   "is full (it would hold 4 jobs and [server] queue_max is "
		   "3); try again later",
		   f->path);
	assert_null(a.ids);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), 3);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM deliveries "
					  "WHERE delivery_id = 'd-3'"),
			 0);

	/* a delivery that queues nothing new is no trouble when full */
	assert_int_equal(pb_state_accept_delivery(f->st, &again, two, 2, &a),
			 0);
	assert_int_equal(a.outcome, PB_ACCEPT_SKIPPED);
	pb_accept_release(&a);

	/* once a worker takes one, the redelivery of d-3 fits */
	claim(f->st, "w1", NOW);
	assert_int_equal(pb_state_accept_delivery(f->st, &d3, &more, 1, &a), 0);
	assert_int_equal(a.outcome, PB_ACCEPT_QUEUED);
	pb_accept_release(&a);
}

/* Deliveries that share a transaction still succeed or fail one by one. */
static void test_batch_settles_each_delivery_on_its_own(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new one = job_new(7, "evaluate", "c-1", 0);
	struct pb_job_new two[] = { job_new(8, "evaluate", "c-3", 0),
				    job_new(8, "status", "c-3", 1) };
	struct pb_job_new four = job_new(9, "evaluate", "c-4", 0);
	struct pb_job_new bad = job_new(9, "status", "c-5", 0);
	struct pb_delivery d1 = delivery("d-1", NOW);
	struct pb_delivery d2 = delivery("d-2", NOW);
	struct pb_delivery d3 = delivery("d-3", NOW);
	struct pb_delivery d4 = delivery("d-4", NOW);
	struct pb_delivery d5 = delivery("d-5", NOW);
	struct pb_accept_req v[] = {
		{ .d = &d1, .jobs = &one, .n = 1 },
		{ .d = &d1, .jobs = &four, .n = 1 }, /* the same id again */
		{ .d = &d2, .jobs = &one, .n = 1 },  /* the same comment line */
		{ .d = &d3, .jobs = two, .n = 2 },   /* over queue_max */
		{ .d = &d4, .jobs = &four, .n = 1 },
		{ .d = &d5, .jobs = &bad, .n = 1 }, /* no actor */
	};
	size_t i;

	bad.actor = NULL;
	open_ok(f);
	pb_state_set_queue_max(f->st, 2);
	assert_int_equal(pb_state_accept_batch(f->st, v, 6), 0);

	assert_int_equal(v[0].rc, 0);
	assert_int_equal(v[0].out.outcome, PB_ACCEPT_QUEUED);
	assert_int_equal(v[0].out.ids[0], 1);
	assert_int_equal(v[1].rc, 0);
	assert_int_equal(v[1].out.outcome, PB_ACCEPT_DUPLICATE);
	assert_int_equal(v[2].rc, 0);
	assert_int_equal(v[2].out.outcome, PB_ACCEPT_SKIPPED);
	assert_int_equal(v[3].rc, PB_ETOOBIG);
	assert_non_null(strstr(v[3].err, "cannot record delivery 'd-3': the "
					 "queue is full"));
	assert_null(v[3].out.ids);
	assert_int_equal(v[4].rc, 0);
	assert_int_equal(v[4].out.outcome, PB_ACCEPT_QUEUED);
	assert_int_equal(v[5].rc, PB_EINVAL);
	assert_string_equal(v[5].err, "cannot queue job 1 of delivery 'd-5': "
				      "its actor is missing");
	for (i = 0; i < 6; i++)
		pb_accept_release(&v[i].out);

	/* d-3 left nothing behind; the others are there, once */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), 2);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs WHERE "
					  "pr = 8"),
			 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM deliveries"),
			 3);
	assert_int_equal(raw_int(f->path,
				 "SELECT count(*) FROM deliveries "
				 "WHERE delivery_id IN ('d-3', 'd-5')"),
			 0);
	assert_int_equal(raw_int(f->path, "SELECT value FROM counters WHERE "
					  "name = 'queued'"),
			 2);
}

/* An error that ends the whole transaction fails every delivery in it. */
static void test_batch_that_cannot_commit_stores_nothing(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new a = job_new(7, "evaluate", "c-1", 0);
	struct pb_job_new b = job_new(8, "evaluate", "c-2", 0);
	struct pb_job_new c = job_new(9, "evaluate", "c-3", 0);
	struct pb_delivery d1 = delivery("d-1", NOW);
	struct pb_delivery d2 = delivery("d-poison", NOW);
	struct pb_delivery d3 = delivery("d-3", NOW);
	struct pb_accept_req v[] = {
		{ .d = &d1, .jobs = &a, .n = 1 },
		{ .d = &d2, .jobs = &b, .n = 1 },
		{ .d = &d3, .jobs = &c, .n = 1 },
	};
	size_t i;

	open_ok(f);
	/* RAISE(ROLLBACK) ends the transaction, as a full disk would */
	raw_exec(f->path, "CREATE TRIGGER poison BEFORE INSERT ON deliveries "
			  "WHEN NEW.delivery_id = 'd-poison' BEGIN SELECT "
			  "RAISE(ROLLBACK, 'poisoned'); END");
	assert_true(pb_state_accept_batch(f->st, v, 3) < 0);
	for (i = 0; i < 3; i++) {
		assert_true(v[i].rc < 0);
		assert_non_null(strstr(v[i].err, "poisoned"));
		assert_null(v[i].out.ids);
	}
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM deliveries"),
			 0);

	/* the store works on afterwards */
	raw_exec(f->path, "DROP TRIGGER poison");
	assert_int_equal(pb_state_accept_batch(f->st, v, 1), 0);
	assert_int_equal(v[0].rc, 0);
	pb_accept_release(&v[0].out);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), 1);
}

/* The daemon's commits leave checkpoints to a thread of their own. */
static void
test_checkpointer_keeps_the_wal_short_off_the_commit_path(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "help", NULL, 0);
	char wal[160], id[32];
	struct stat sb;
	int i, waited;

	open_ok(f);
	/* stopped before the thread even ran: a daemon that fails at once */
	for (i = 0; i < 50; i++) {
		assert_int_equal(pb_state_checkpointer_start(f->st), 0);
		pb_state_checkpointer_stop(f->st);
	}
	pb_state_set_queue_max(f->st, 0);
	assert_int_equal(pb_state_checkpointer_start(f->st), 0);
	assert_int_equal(pb_state_checkpointer_start(f->st), 0); /* again */
	/* well past PB_STATE_CKPT_FRAMES pages written, commit by commit */
	for (i = 0; i < 1500; i++) {
		snprintf(id, sizeof(id), "d-%d", i);
		j.pr = i + 1;
		enqueue(f->st, id, &j);
	}
	for (waited = 0; pb_state_checkpoints(f->st) == 0 && waited < 5000;
	     waited += 10)
		usleep(10000);
	assert_true(pb_state_checkpoints(f->st) > 0);
	/* the WAL starts over now and then instead of holding every page
	   written (about 13,000 here) */
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	if (sb.st_size > 2 * PB_STATE_CKPT_MAX_FRAMES * 4120)
		fail_msg("the -wal file is %lld bytes", (long long)sb.st_size);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), 1500);

	/* stopped: SQLite checkpoints in commits again, the store works */
	pb_state_checkpointer_stop(f->st);
	assert_int_equal(pb_state_checkpoints(f->st), 0);
	enqueue(f->st, "d-after", &j);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs"), 1501);
}

/* Permissions read from GitHub: fresh ones found, stale ones not. */
static void test_permissions_are_kept_for_a_while(void **state)
{
	struct fixture *f = *state;
	char level[16] = "";

	open_ok(f);
	assert_int_equal(pb_state_perm_get(f->st, REPO, "alice", NOW - 60,
					   level, sizeof(level)),
			 0);
	assert_int_equal(pb_state_perm_put(f->st, REPO, "alice", "write", NOW,
					   NOW - 60),
			 0);
	assert_int_equal(pb_state_perm_get(f->st, REPO, "alice", NOW - 60,
					   level, sizeof(level)),
			 1);
	assert_string_equal(level, "write");
	/* another repository, another login: not the same answer */
	assert_int_equal(pb_state_perm_get(f->st, "octo/other", "alice",
					   NOW - 60, level, sizeof(level)),
			 0);
	assert_int_equal(pb_state_perm_get(f->st, REPO, "bob", NOW - 60, level,
					   sizeof(level)),
			 0);
	/* a minute later it is stale */
	assert_int_equal(pb_state_perm_get(f->st, REPO, "alice", NOW + 1, level,
					   sizeof(level)),
			 0);
	/* a new answer replaces it, and drops what is older than its ttl */
	assert_int_equal(pb_state_perm_put(f->st, REPO, "bob", "read",
					   NOW + 100, NOW + 40),
			 0);
	assert_int_equal(pb_state_perm_put(f->st, REPO, "bob", "maintain",
					   NOW + 101, NOW + 41),
			 0);
	assert_int_equal(pb_state_perm_get(f->st, REPO, "bob", NOW + 50, level,
					   sizeof(level)),
			 1);
	assert_string_equal(level, "maintain");
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM permissions"),
			 1);
}

/* ---- claiming ---- */

/* The queued-jobs counter (migration 2's triggers) follows every change. */
static void test_queued_counter_follows_the_jobs_table(void **state)
{
	static const char count_sql[] =
		"SELECT count(*) FROM jobs WHERE state = 'queued'";
	static const char counter_sql[] =
		"SELECT value FROM counters WHERE name = 'queued'";
	struct fixture *f = *state;
	struct pb_job_new a = job_new(7, "help", NULL, 0);
	struct pb_job_new b = job_new(8, "help", NULL, 0);
	struct pb_job_new c = job_new(9, "help", NULL, 0);
	struct pb_job_list l;
	int64_t queued;

	open_ok(f);
	enqueue(f->st, "d-1", &a);
	enqueue(f->st, "d-2", &b);
	enqueue(f->st, "d-3", &c);
	assert_int_equal(raw_int(f->path, counter_sql), 3);
	claim(f->st, "w1", NOW); /* queued -> running */
	assert_int_equal(raw_int(f->path, counter_sql), 2);
	assert_int_equal(pb_state_requeue(f->st, PB_REQUEUE_ALL, NOW, &l), 0);
	pb_job_list_release(&l); /* running -> queued */
	assert_int_equal(raw_int(f->path, counter_sql), 3);
	assert_int_equal(raw_int(f->path, counter_sql),
			 raw_int(f->path, count_sql));
	assert_int_equal(pb_state_count_queued(f->st, &queued), 0);
	assert_int_equal(queued, 3);
}

static void test_claim_takes_the_oldest_queued_job_with_a_lease(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", NULL, 0);
	struct pb_job got;
	int64_t first, second;

	open_ok(f);
	first = enqueue(f->st, "d-1", &j);
	second = enqueue(f->st, "d-2", &j);

	assert_int_equal(pb_state_claim(f->st, "host:1:w1", 30, NOW + 10, &got),
			 0);
	assert_int_equal(got.id, first);
	assert_string_equal(got.public_id, "j-1");
	assert_int_equal(got.state, PB_JOB_RUNNING);
	assert_int_equal(got.attempts, 1);
	assert_int_equal(got.max_attempts, PB_STATE_MAX_ATTEMPTS);
	assert_string_equal(got.lease_owner, "host:1:w1");
	assert_int_equal(got.lease_until, NOW + 40);
	assert_int_equal(got.heartbeat_at, NOW + 10);
	assert_int_equal(got.started_at, NOW + 10);
	assert_int_equal(got.created_at, NOW);
	assert_string_equal(got.command, "evaluate");
	assert_string_equal(got.args, "[\"baseline=main\"]");
	assert_string_equal(got.reply, "{\"comment\":1}");
	assert_string_equal(got.delivery_id, "d-1");
	assert_null(got.note);
	pb_job_release(&got);

	assert_int_equal(claim(f->st, "host:1:w2", NOW + 11), second);
	assert_int_equal(pb_state_claim(f->st, "host:1:w1", 30, NOW, &got), 0);
	assert_int_equal(got.id, 0);
}

#define THREADS	   4
#define PER_THREAD 200

struct claimer {
	struct pb_state *st; /* shared, or NULL: open path */
	const char *path;
	char worker[16];
	int64_t got[THREADS * PER_THREAD];
	size_t n;
	int rc;
	char err[256];
};

static void *claim_loop(void *arg)
{
	struct claimer *c = arg;
	struct pb_state *own = NULL, *st = c->st;
	struct pb_job j;

	if (!st && (c->rc = pb_state_open(&own, c->path)) < 0)
		goto out;
	st = st ? st : own;
	while ((c->rc = pb_state_claim(st, c->worker, 60, NOW, &j)) == 0 &&
	       j.id) {
		c->got[c->n++] = j.id;
		pb_job_release(&j);
	}
out:
	if (c->rc < 0)
		snprintf(c->err, sizeof(c->err), "%s", pb_err_last());
	pb_state_close(own);
	return NULL;
}

/* THREADS workers race for THREADS * PER_THREAD jobs: each taken once. */
static void claim_race(struct fixture *f, int shared)
{
	static struct claimer c[THREADS];
	static struct pb_job_new jobs[THREADS * PER_THREAD];
	static int seen[THREADS * PER_THREAD + 1];
	struct pb_delivery d = delivery("d-many", NOW);
	pthread_t t[THREADS];
	struct pb_accept a;
	size_t i, k, total = 0;

	open_ok(f);
	for (i = 0; i < THREADS * PER_THREAD; i++)
		jobs[i] = job_new((int64_t)i + 1, "evaluate", NULL, 0);
	assert_int_equal(pb_state_accept_delivery(f->st, &d, jobs,
						  THREADS * PER_THREAD, &a),
			 0);
	assert_int_equal(a.n_queued, THREADS * PER_THREAD);
	pb_accept_release(&a);

	memset(c, 0, sizeof(c));
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < THREADS; i++) {
		c[i].st = shared ? f->st : NULL;
		c[i].path = f->path;
		snprintf(c[i].worker, sizeof(c[i].worker), "w%zu", i);
		assert_int_equal(pthread_create(&t[i], NULL, claim_loop, &c[i]),
				 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < THREADS; i++) {
		if (c[i].rc < 0)
			fail_msg("worker %zu: %s", i, c[i].err);
		for (k = 0; k < c[i].n; k++) {
			assert_in_range(c[i].got[k], 1, THREADS * PER_THREAD);
			seen[c[i].got[k]]++;
		}
		total += c[i].n;
	}
	assert_int_equal(total, THREADS * PER_THREAD);
	for (i = 1; i <= THREADS * PER_THREAD; i++)
		if (seen[i] != 1)
			fail_msg("job %zu was claimed %d times", i, seen[i]);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM jobs WHERE "
					  "state = 'running' AND attempts = 1"),
			 THREADS * PER_THREAD);
}

static void test_claim_never_gives_a_job_twice_across_threads(void **state)
{
	claim_race(*state, 1);
}

/* Handles of their own: SQLite's write lock keeps them apart. */
static void test_claim_never_gives_a_job_twice_across_handles(void **state)
{
	claim_race(*state, 0);
}

/* ---- leases, heartbeats, requeue ---- */

static void test_expired_lease_requeues_then_fails_at_max_attempts(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", NULL, 0);
	struct pb_job_list l;
	struct pb_job got;
	int64_t id, t = NOW;
	int cancel;

	open_ok(f);
	id = enqueue(f->st, "d-1", &j);

	assert_int_equal(claim(f->st, "w1", t), id); /* lease until t + 30 */
	assert_int_equal(
		pb_state_requeue(f->st, PB_REQUEUE_EXPIRED, t + 29, &l), 0);
	assert_int_equal(l.n, 0);
	pb_job_list_release(&l);

	/* w1's process died: its lease ends, the job is queued again */
	assert_int_equal(
		pb_state_requeue(f->st, PB_REQUEUE_EXPIRED, t + 30, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, id);
	assert_int_equal(l.v[0].state, PB_JOB_QUEUED);
	assert_int_equal(l.v[0].attempts, 1);
	assert_int_equal(l.v[0].finished_at, 0);
	assert_int_equal(l.v[0].lease_until, 0);
	assert_string_equal(l.v[0].note,
			    "retry: worker 'w1' stopped during attempt 1 of 3");
	pb_job_list_release(&l);

	/* the next claim is attempt 2: the report says it is a retry */
	assert_int_equal(pb_state_claim(f->st, "w2", 30, t + 31, &got), 0);
	assert_int_equal(got.id, id);
	assert_int_equal(got.attempts, 2);
	assert_string_equal(got.head_sha, SHA);
	pb_job_release(&got);

	/* a stale worker finds out it lost the job */
	assert_int_equal(pb_state_heartbeat(f->st, id, "w1", 30, t + 32,
					    &cancel),
			 PB_EPERM);
	assert_msg("state store '%s': cannot extend the lease of job 'j-1': "
		   "worker 'w1' no longer holds it (its state is 'running' "
		   "under worker 'w2'); stop without reporting",
		   f->path);

	assert_int_equal(
		pb_state_requeue(f->st, PB_REQUEUE_EXPIRED, t + 61, &l), 0);
	assert_int_equal(l.n, 1);
	pb_job_list_release(&l);
	assert_int_equal(claim(f->st, "w3", t + 62), id);
	assert_int_equal(
		pb_state_requeue(f->st, PB_REQUEUE_EXPIRED, t + 92, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, PB_JOB_FAILED);
	assert_int_equal(l.v[0].attempts, 3);
	assert_int_equal(l.v[0].finished_at, t + 92);
	assert_string_equal(l.v[0].note, "not retried: worker 'w3' stopped "
					 "during attempt 3 of 3");
	pb_job_list_release(&l);
	assert_int_equal(claim(f->st, "w4", t + 93), 0);
}

/* At start-up every running job belongs to the dead process. */
static void test_requeue_all_takes_back_jobs_with_live_leases(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", NULL, 0);
	struct pb_job_new k = job_new(8, "evaluate", NULL, 0);
	struct pb_job_list l;
	int64_t a, b;

	open_ok(f);
	a = enqueue(f->st, "d-1", &j);
	b = enqueue(f->st, "d-2", &k);
	claim(f->st, "w1", NOW);
	claim(f->st, "w2", NOW);
	assert_int_equal(
		pb_state_requeue(f->st, PB_REQUEUE_EXPIRED, NOW + 1, &l), 0);
	assert_int_equal(l.n, 0);
	pb_job_list_release(&l);
	assert_int_equal(pb_state_requeue(f->st, PB_REQUEUE_ALL, NOW + 1, &l),
			 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].id, a);
	assert_int_equal(l.v[1].id, b);
	assert_int_equal(l.v[1].state, PB_JOB_QUEUED);
	pb_job_list_release(&l);
}

/* A job process that died: its one job is retried, then failed at the last. */
static void test_requeue_job_takes_back_one_job_of_its_worker(void **state)
{
	struct fixture *f = *state;
	const char *why = "its job process was killed by signal 9 (Killed)";
	struct pb_job got;
	int64_t id = start_job(f);

	/* only the worker that holds it */
	assert_int_equal(pb_state_requeue_job(f->st, id, "w2", why, NOW + 1,
					      &got),
			 PB_EPERM);
	assert_int_equal(
		pb_state_requeue_job(f->st, id, "w1", why, NOW + 1, &got), 0);
	assert_int_equal(got.state, PB_JOB_QUEUED);
	assert_string_equal(got.note, "retry: its job process was killed by "
				      "signal 9 (Killed) during attempt 1 of "
				      "3");
	pb_job_release(&got);
	/* queued now: not running under w1 any more */
	assert_int_equal(pb_state_requeue_job(f->st, id, "w1", why, NOW + 2,
					      &got),
			 PB_EPERM);
	assert_int_equal(claim(f->st, "w1", NOW + 3), id);
	assert_int_equal(
		pb_state_requeue_job(f->st, id, "w1", why, NOW + 4, &got), 0);
	pb_job_release(&got);
	assert_int_equal(claim(f->st, "w1", NOW + 5), id);
	assert_int_equal(
		pb_state_requeue_job(f->st, id, "w1", why, NOW + 6, &got), 0);
	assert_int_equal(got.state, PB_JOB_FAILED);
	assert_int_equal(got.attempts, 3);
	assert_int_equal(got.finished_at, NOW + 6);
	assert_string_equal(got.note, "not retried: its job process was "
				      "killed by signal 9 (Killed) during "
				      "attempt 3 of 3");
	pb_job_release(&got);
	assert_int_equal(claim(f->st, "w1", NOW + 7), 0);
	assert_int_equal(pb_state_requeue_job(f->st, id + 1, "w1", why, NOW + 8,
					      &got),
			 PB_ENOTFOUND);
}

static void test_requeue_cancels_an_orphan_whose_cancel_was_asked(void **state)
{
	struct fixture *f = *state;
	struct pb_job_list l;
	struct pb_job got;

	start_job(f);
	assert_int_equal(
		pb_state_cancel_job(f->st, REPO, "j-1", "bob", NOW, &got), 0);
	pb_job_release(&got);
	assert_int_equal(pb_state_requeue(f->st, PB_REQUEUE_ALL, NOW + 1, &l),
			 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, PB_JOB_CANCELLED);
	assert_string_equal(l.v[0].cancel_requested_by, "bob");
	assert_string_equal(l.v[0].note,
			    "worker 'w1' stopped after the cancel request");
	pb_job_list_release(&l);
}

static void test_heartbeat_extends_the_lease_and_sees_a_cancel(void **state)
{
	struct fixture *f = *state;
	struct pb_job_list l;
	struct pb_job got;
	int64_t id;
	int cancel = -1;

	id = start_job(f);
	assert_int_equal(
		pb_state_heartbeat(f->st, id, "w1", 30, NOW + 20, &cancel), 0);
	assert_int_equal(cancel, 0);
	got = get(f->st, id);
	assert_int_equal(got.lease_until, NOW + 50);
	assert_int_equal(got.heartbeat_at, NOW + 20);
	pb_job_release(&got);
	/* the old lease end has passed, the new one has not */
	assert_int_equal(
		pb_state_requeue(f->st, PB_REQUEUE_EXPIRED, NOW + 40, &l), 0);
	assert_int_equal(l.n, 0);
	pb_job_list_release(&l);

	assert_int_equal(pb_state_cancel_job(f->st, REPO, "j-1", "bob",
					     NOW + 41, &got),
			 0);
	assert_int_equal(got.state, PB_JOB_RUNNING);
	assert_string_equal(got.cancel_requested_by, "bob");
	pb_job_release(&got);
	assert_int_equal(
		pb_state_heartbeat(f->st, id, "w1", 30, NOW + 42, &cancel), 0);
	assert_int_equal(cancel, 1);

	assert_int_equal(pb_state_finish(f->st, id, "w1", PB_JOB_CANCELLED,
					 "{\"outcome\":\"cancelled\"}", NULL, 0,
					 NOW + 43),
			 0);
	got = get(f->st, id);
	assert_int_equal(got.state, PB_JOB_CANCELLED);
	assert_string_equal(got.cancel_requested_by, "bob");
	pb_job_release(&got);
}

static void test_heartbeat_of_an_unknown_job_is_not_found(void **state)
{
	struct fixture *f = *state;
	int cancel;

	open_ok(f);
	assert_int_equal(pb_state_heartbeat(f->st, 42, "w1", 30, NOW, &cancel),
			 PB_ENOTFOUND);
	assert_msg("state store '%s': cannot extend the lease of job 'j-42': "
		   "there is no such job",
		   f->path);
}

/* ---- finishing ---- */

static void test_finish_stores_the_report_and_stages(void **state)
{
	static const struct pb_stage_row rows[] = {
		{ "checkout", "ok", 1.5, NULL, NULL },
		{ "train", "skipped", 0, "model checked in: training skipped",
		  NULL },
		{ "evaluate", "failed", 2.25, NULL, "gate 'accuracy' failed" },
	};
	struct fixture *f = *state;
	struct pb_stage_list sl;
	struct pb_job got;
	int64_t id;

	id = start_job(f);
	assert_int_equal(pb_state_finish(f->st, id, "w2", PB_JOB_FAILED, "{}",
					 rows, 3, NOW + 5),
			 PB_EPERM);
	assert_msg("state store '%s': cannot finish job 'j-1': worker 'w2' no "
		   "longer holds it (its state is 'running' under worker "
		   "'w1'); stop without reporting",
		   f->path);
	assert_int_equal(pb_state_finish(f->st, id, "w1", PB_JOB_RUNNING, "{}",
					 rows, 3, NOW + 5),
			 PB_EINVAL);
	assert_msg("cannot finish job 'j-1' as 'running': use succeeded, "
		   "failed or cancelled");

	assert_int_equal(pb_state_finish(f->st, id, "w1", PB_JOB_FAILED,
					 "{\"outcome\":\"failed\"}", rows, 3,
					 NOW + 5),
			 0);
	got = get(f->st, id);
	assert_int_equal(got.state, PB_JOB_FAILED);
	assert_int_equal(got.finished_at, NOW + 5);
	assert_int_equal(got.lease_until, 0);
	assert_string_equal(got.lease_owner, "w1");
	assert_string_equal(got.report, "{\"outcome\":\"failed\"}");
	pb_job_release(&got);

	assert_int_equal(pb_state_job_stages(f->st, id, &sl), 0);
	assert_int_equal(sl.n, 3);
	assert_string_equal(sl.v[0].name, "checkout");
	assert_string_equal(sl.v[0].state, "ok");
	assert_float_equal(sl.v[0].seconds, 1.5, 1e-9);
	assert_null(sl.v[0].note);
	assert_string_equal(sl.v[1].note, "model checked in: training skipped");
	assert_string_equal(sl.v[2].error, "gate 'accuracy' failed");
	pb_stage_list_release(&sl);

	/* finished is final: a second finish is refused */
	assert_int_equal(pb_state_finish(f->st, id, "w1", PB_JOB_SUCCEEDED,
					 "{}", NULL, 0, NOW + 6),
			 PB_EPERM);
	assert_msg("state store '%s': cannot finish job 'j-1': worker 'w1' no "
		   "longer holds it (its state is 'failed'); stop without "
		   "reporting",
		   f->path);
}

/* A refused finish changes nothing: the job still runs under its worker. */
static void test_finish_with_a_bad_stage_row_stores_nothing(void **state)
{
	static const struct pb_stage_row rows[] = {
		{ "checkout", "ok", 1.0, NULL, NULL },
		{ NULL, "ok", 1.0, NULL, NULL },
	};
	struct fixture *f = *state;
	struct pb_stage_list sl;
	struct pb_job got;
	int64_t id;

	id = start_job(f);
	assert_int_equal(pb_state_finish(f->st, id, "w1", PB_JOB_SUCCEEDED,
					 "{}", rows, 2, NOW + 1),
			 PB_EINVAL);
	assert_msg("state store '%s': cannot finish job 'j-1': stage 2 has no "
		   "name or state",
		   f->path);
	got = get(f->st, id);
	assert_int_equal(got.state, PB_JOB_RUNNING);
	assert_null(got.report);
	pb_job_release(&got);
	assert_int_equal(pb_state_job_stages(f->st, id, &sl), 0);
	assert_int_equal(sl.n, 0);
	pb_stage_list_release(&sl);

	assert_int_equal(pb_state_job_get(f->st, 5, &got), PB_ENOTFOUND);
	assert_msg("state store '%s': cannot read job 'j-5': there is no such "
		   "job",
		   f->path);
}

static void test_pin_sets_the_commit_once_and_reply_is_replaced(void **state)
{
	static const char other[] = "fedcba9876543210fedcba9876543210fedcba98";
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", NULL, 0);
	struct pb_job got;
	int64_t id;

	j.head_sha = NULL;
	j.ref = NULL;
	open_ok(f);
	id = enqueue(f->st, "d-1", &j);
	got = get(f->st, id);
	assert_null(got.head_sha);
	pb_job_release(&got);

	assert_int_equal(pb_state_job_pin(f->st, id, SHA, "feature", NULL), 0);
	assert_int_equal(pb_state_job_pin(f->st, id, other, "later", NULL), 0);
	assert_int_equal(pb_state_set_reply(f->st, id, "{\"comment\":99}"), 0);
	got = get(f->st, id);
	assert_string_equal(got.head_sha, SHA);
	assert_string_equal(got.ref, "feature");
	assert_string_equal(got.base_ref, "main");
	assert_string_equal(got.reply, "{\"comment\":99}");
	pb_job_release(&got);

	assert_int_equal(pb_state_job_pin(f->st, 9, SHA, NULL, NULL),
			 PB_ENOTFOUND);
	assert_msg("state store '%s': cannot pin the commit of job 'j-9': "
		   "there is no such job",
		   f->path);
}

static void test_job_environment_is_null_until_recorded(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "deploy", NULL, 0);
	struct pb_job got;
	int64_t id;

	open_ok(f);
	id = enqueue(f->st, "d-1", &j);
	got = get(f->st, id);
	assert_null(got.environment);
	pb_job_release(&got);
	assert_int_equal(pb_state_job_set_environment(f->st, id, "staging"), 0);
	got = get(f->st, id);
	assert_string_equal(got.environment, "staging");
	pb_job_release(&got);
	assert_int_equal(pb_state_job_set_environment(f->st, 9, "staging"),
			 PB_ENOTFOUND);
}

/* ---- cancel, supersede, status ---- */

static void
test_cancel_stops_queued_at_once_and_running_by_request(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", NULL, 0);
	struct pb_job_new k = job_new(7, "status", NULL, 0);
	struct pb_job_new other = job_new(8, "evaluate", NULL, 0);
	struct pb_job_list l;
	int64_t running, queued, elsewhere;

	open_ok(f);
	running = enqueue(f->st, "d-1", &j);
	queued = enqueue(f->st, "d-2", &k);
	elsewhere = enqueue(f->st, "d-3", &other);
	claim(f->st, "w1", NOW);

	assert_int_equal(pb_state_cancel_pr(f->st, REPO, 7, "bob", NOW + 3, &l),
			 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].id, running);
	assert_int_equal(l.v[0].state, PB_JOB_RUNNING);
	assert_string_equal(l.v[0].cancel_requested_by, "bob");
	assert_int_equal(l.v[0].finished_at, 0);
	assert_int_equal(l.v[1].id, queued);
	assert_int_equal(l.v[1].state, PB_JOB_CANCELLED);
	assert_string_equal(l.v[1].cancel_requested_by, "bob");
	assert_int_equal(l.v[1].finished_at, NOW + 3);
	assert_int_equal(l.v[1].superseded_by, 0);
	pb_job_list_release(&l);

	/* PR 8's job was left alone; nothing is left to cancel on PR 7 */
	assert_int_equal(claim(f->st, "w2", NOW + 4), elsewhere);
	assert_int_equal(pb_state_cancel_pr(f->st, REPO, 7, "bob", NOW + 5, &l),
			 0);
	/* the running one is still live until its worker stops */
	assert_int_equal(l.n, 1);
	pb_job_list_release(&l);
}

static void test_cancel_job_explains_what_it_cannot_cancel(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", NULL, 0);
	struct pb_job got;
	int64_t id;

	open_ok(f);
	id = enqueue(f->st, "d-1", &j);
	enqueue(f->st, "d-2", &j);

	assert_int_equal(
		pb_state_cancel_job(f->st, REPO, "j-1", "bob", NOW, &got), 0);
	assert_int_equal(got.id, id);
	assert_int_equal(got.state, PB_JOB_CANCELLED);
	pb_job_release(&got);

	assert_int_equal(pb_state_cancel_job(f->st, REPO, "J-1", "bob", NOW,
					     &got),
			 PB_EINVAL);
	assert_msg("job 'j-1' has already been cancelled: there is nothing "
		   "to cancel");
	assert_int_equal(pb_state_cancel_job(f->st, REPO, "j-77", "bob", NOW,
					     &got),
			 PB_ENOTFOUND);
	assert_msg("no job 'j-77' in '" REPO "': /status lists this pull "
		   "request's jobs");
	/* a job of another repository is not this one's to cancel */
	assert_int_equal(pb_state_cancel_job(f->st, "evil/fork", "2", "eve",
					     NOW, &got),
			 PB_ENOTFOUND);
	assert_msg("no job 'j-2' in 'evil/fork': /status lists this pull "
		   "request's jobs");
	assert_int_equal(pb_state_cancel_job(f->st, REPO, "job-2", "bob", NOW,
					     &got),
			 PB_EINVAL);
	assert_msg("'job-2' is not a job id: use one that /status shows, such "
		   "as j-12");

	claim(f->st, "w1", NOW);
	assert_int_equal(pb_state_finish(f->st, 2, "w1", PB_JOB_SUCCEEDED, "{}",
					 NULL, 0, NOW + 1),
			 0);
	assert_int_equal(pb_state_cancel_job(f->st, NULL, "j-2", "bob", NOW,
					     &got),
			 PB_EINVAL);
	assert_msg("job 'j-2' has already succeeded: there is nothing to "
		   "cancel");
}

static void test_job_id_parse_accepts_only_the_public_forms(void **state)
{
	static const struct {
		const char *text;
		int64_t id; /* 0: refused */
	} cases[] = {
		{ "j-12", 12 },
		{ "J-7", 7 },
		{ "42", 42 },
		{ "j-9223372036854775807", INT64_MAX },
		{ "j-9223372036854775808", 0 },
		{ "j-0", 0 },
		{ "j-", 0 },
		{ "", 0 },
		{ "j-1x", 0 },
		{ "-3", 0 },
		{ "j--3", 0 },
		{ "k-3", 0 },
	};
	char buf[PB_JOB_ID_MAX];
	size_t i;
	int64_t id;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = pb_job_id_parse(&id, cases[i].text);

		if (cases[i].id) {
			assert_int_equal(rc, 0);
			assert_int_equal(id, cases[i].id);
		} else if (rc != PB_EINVAL) {
			fail_msg("'%s' was accepted", cases[i].text);
		}
	}
	pb_job_id_format(buf, INT64_MAX);
	assert_string_equal(buf, "j-9223372036854775807");
}

/* A new /evaluate replaces older ones of the same PR, and says which. */
static void test_new_evaluate_supersedes_older_ones_of_the_pr(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new run = job_new(7, "evaluate", "c-1", 0);
	struct pb_job_new wait = job_new(7, "evaluate", "c-2", 0);
	struct pb_job_new pr8 = job_new(8, "evaluate", "c-3", 0);
	struct pb_job_new status = job_new(7, "status", "c-4", 0);
	struct pb_job_new latest = job_new(7, "evaluate", "c-5", 0);
	struct pb_delivery d = delivery("d-5", NOW + 9);
	struct pb_accept a;
	struct pb_job got;
	int64_t r, w, p, s;
	int cancel;

	open_ok(f);
	r = enqueue(f->st, "d-1", &run);
	w = enqueue(f->st, "d-2", &wait);
	p = enqueue(f->st, "d-3", &pr8);
	s = enqueue(f->st, "d-4", &status);
	claim(f->st, "w1", NOW);

	latest.actor = "carol";
	latest.supersede = 1;
	assert_int_equal(pb_state_accept_delivery(f->st, &d, &latest, 1, &a),
			 0);
	assert_int_equal(a.outcome, PB_ACCEPT_QUEUED);
	assert_int_equal(a.superseded.n, 2);
	assert_int_equal(a.superseded.v[0].id, r);
	assert_int_equal(a.superseded.v[0].state, PB_JOB_RUNNING);
	assert_string_equal(a.superseded.v[0].cancel_requested_by, "carol");
	assert_int_equal(a.superseded.v[0].superseded_by, a.ids[0]);
	assert_int_equal(a.superseded.v[1].id, w);
	assert_int_equal(a.superseded.v[1].state, PB_JOB_CANCELLED);
	assert_int_equal(a.superseded.v[1].superseded_by, a.ids[0]);
	assert_int_equal(a.superseded.v[1].finished_at, NOW + 9);
	pb_accept_release(&a);

	/* the running one hears of it at its next heartbeat */
	assert_int_equal(
		pb_state_heartbeat(f->st, r, "w1", 30, NOW + 10, &cancel), 0);
	assert_int_equal(cancel, 1);
	/* other PRs and other commands are untouched */
	got = get(f->st, p);
	assert_int_equal(got.state, PB_JOB_QUEUED);
	assert_int_equal(got.superseded_by, 0);
	pb_job_release(&got);
	got = get(f->st, s);
	assert_int_equal(got.state, PB_JOB_QUEUED);
	pb_job_release(&got);
}

/* Two /evaluate lines in one comment: the last one is the one that runs. */
static void test_last_evaluate_of_a_comment_supersedes_the_first(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new lines[] = { job_new(7, "evaluate", "c-1", 0),
				      job_new(7, "evaluate", "c-1", 1) };
	struct pb_delivery d = delivery("d-1", NOW);
	struct pb_accept a;

	lines[0].supersede = lines[1].supersede = 1;
	open_ok(f);
	assert_int_equal(pb_state_accept_delivery(f->st, &d, lines, 2, &a), 0);
	assert_int_equal(a.n_queued, 2);
	assert_int_equal(a.superseded.n, 1);
	assert_int_equal(a.superseded.v[0].id, a.ids[0]);
	assert_int_equal(a.superseded.v[0].state, PB_JOB_CANCELLED);
	assert_int_equal(a.superseded.v[0].superseded_by, a.ids[1]);
	pb_accept_release(&a);
	assert_int_equal(claim(f->st, "w1", NOW), 2);
}

static void test_jobs_of_pr_lists_newest_first_within_a_limit(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", NULL, 0);
	struct pb_job_new k = job_new(8, "evaluate", NULL, 0);
	struct pb_job_list l;
	int64_t n;

	open_ok(f);
	enqueue(f->st, "d-1", &j);
	enqueue(f->st, "d-2", &k);
	enqueue(f->st, "d-3", &j);
	enqueue(f->st, "d-4", &j);
	claim(f->st, "w1", NOW);

	assert_int_equal(pb_state_jobs_of_pr(f->st, REPO, 7, 0, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].public_id, "j-4");
	assert_string_equal(l.v[1].public_id, "j-3");
	assert_string_equal(l.v[2].public_id, "j-1");
	assert_string_equal(pb_job_state_name(l.v[2].state), "running");
	assert_string_equal(pb_job_state_name(l.v[0].state), "queued");
	pb_job_list_release(&l);

	assert_int_equal(pb_state_jobs_of_pr(f->st, REPO, 7, 2, &l), 0);
	assert_int_equal(l.n, 2);
	pb_job_list_release(&l);
	assert_int_equal(pb_state_jobs_of_pr(f->st, "octo/other", 7, 0, &l), 0);
	assert_int_equal(l.n, 0);
	pb_job_list_release(&l);

	assert_int_equal(pb_state_count_queued(f->st, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pb_state_ping(f->st), 0);
}

/* ---- evaluations ---- */

static void
test_baseline_is_the_latest_passing_evaluation_of_the_ref(void **state)
{
	static const struct pb_evaluation rows[] = {
		{ 0, REPO, "main", "a1", 0, "{\"accuracy\":0.90}", 1, NOW },
		{ 0, REPO, "main", "a2", 0, "{\"accuracy\":0.95}", 1,
		  NOW + 20 },
		{ 0, REPO, "main", "a3", 0, "{\"accuracy\":0.50}", 0,
		  NOW + 30 },
		{ 0, REPO, "main", "a4", 0, "{\"accuracy\":0.80}", 1,
		  NOW + 10 },
		{ 0, REPO, "dev", "b1", 0, "{\"accuracy\":0.99}", 1, NOW + 40 },
		{ 0, "octo/other", "main", "c1", 0, "{}", 1, NOW + 50 },
	};
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", NULL, 0);
	struct pb_evaluation e = rows[0], got;
	int64_t id;
	size_t i;

	open_ok(f);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(pb_state_evaluation_add(f->st, &rows[i], NULL),
				 0);
	/* same time as a2, added later: the newer row wins the tie */
	e.sha = "a5";
	e.created_at = NOW + 20;
	e.job_id = enqueue(f->st, "d-1", &j);
	assert_int_equal(pb_state_evaluation_add(f->st, &e, &id), 0);
	assert_int_equal(id, 7);

	assert_int_equal(pb_state_evaluation_latest(f->st, REPO, "main", &got),
			 0);
	assert_int_equal(got.id, 7);
	assert_string_equal(got.sha, "a5");
	assert_string_equal(got.repo, REPO);
	assert_string_equal(got.ref, "main");
	assert_string_equal(got.metrics, "{\"accuracy\":0.90}");
	assert_int_equal(got.job_id, e.job_id);
	assert_int_equal(got.passed, 1);
	assert_int_equal(got.created_at, NOW + 20);
	pb_evaluation_release(&got);

	assert_int_equal(pb_state_evaluation_latest(f->st, REPO, "feature",
						    &got),
			 PB_ENOTFOUND);
	assert_msg("no passing evaluation of 'feature' in " REPO " yet: "
		   "evaluate it first, or give another baseline=REF");
	assert_null(got.sha);
}

/* The table of test_history_*: rows as stored, then what a call gives. */
static const struct pb_evaluation history_rows[] = {
	{ 0, REPO, "main", "h1", 0, "{\"accuracy\":0.90}", 1, NOW },
	{ 0, REPO, "main", "h3", 0, "{\"accuracy\":0.92}", 0, NOW + 20 },
	{ 0, REPO, "main", "h2", 0, "{\"accuracy\":0.91}", 1, NOW + 10 },
	{ 0, REPO, "main", "h4", 0, "{\"accuracy\":0.93}", 1, NOW + 20 },
	{ 0, REPO, "dev", "d1", 0, "{\"accuracy\":0.99}", 1, NOW + 40 },
	{ 0, "octo/other", "main", "o1", 0, "{}", 1, NOW + 50 },
};

static void test_history_is_the_last_n_of_the_ref_oldest_first(void **state)
{
	static const struct {
		const char *ref;
		size_t n;
		const char *shas; /* oldest first, space-separated */
	} cases[] = {
		{ "main", 10, "h1 h2 h3 h4" }, /* h4 ties h3: added later */
		{ "main", 2, "h3 h4" },
		{ "main", 1, "h4" },
		{ "dev", 5, "d1" },
		{ "feature", 5, "" },
	};
	struct fixture *f = *state;
	struct pb_evaluation_list l;
	struct pb_buf got = PB_BUF_INIT;
	size_t i, k;

	open_ok(f);
	for (i = 0; i < sizeof(history_rows) / sizeof(history_rows[0]); i++)
		assert_int_equal(
			pb_state_evaluation_add(f->st, &history_rows[i], NULL),
			0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(pb_state_evaluation_history(f->st, REPO,
							     cases[i].ref,
							     cases[i].n, &l),
				 0);
		pb_buf_reset(&got);
		for (k = 0; k < l.n; k++)
			assert_int_equal(pb_buf_printf(&got, "%s%s",
						       k ? " " : "",
						       l.v[k].sha),
					 0);
		assert_string_equal(pb_buf_cstr(&got), cases[i].shas);
		pb_evaluation_list_release(&l);
	}
	/* each row whole: metrics, passed and time as stored */
	assert_int_equal(
		pb_state_evaluation_history(f->st, REPO, "main", 4, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[2].sha, "h3");
	assert_string_equal(l.v[2].repo, REPO);
	assert_string_equal(l.v[2].ref, "main");
	assert_string_equal(l.v[2].metrics, "{\"accuracy\":0.92}");
	assert_int_equal(l.v[2].passed, 0);
	assert_int_equal(l.v[2].created_at, NOW + 20);
	pb_evaluation_list_release(&l);
	pb_evaluation_list_release(&l); /* empty: a no-op */
	pb_buf_release(&got);
}

static void test_history_refuses_a_bad_count(void **state)
{
	struct fixture *f = *state;
	struct pb_evaluation_list l;

	open_ok(f);
	assert_int_equal(pb_state_evaluation_history(f->st, REPO, "main", 0,
						     &l),
			 PB_EINVAL);
	assert_msg("cannot read 0 evaluations of " REPO "@main: ask for 1 to "
		   "1000");
	assert_null(l.v);
	assert_int_equal(pb_state_evaluation_history(f->st, REPO, NULL, 3, &l),
			 PB_EINVAL);
}

/* ---- every function on a broken store ---- */

/* Each public function once, with arguments that reach the database. */
static int call_ping(struct pb_state *st)
{
	return pb_state_ping(st);
}

static int call_accept(struct pb_state *st)
{
	struct pb_job_new j = job_new(7, "evaluate", "c-9", 0);
	struct pb_delivery d = delivery("d-9", NOW);
	struct pb_accept a;
	int rc = pb_state_accept_delivery(st, &d, &j, 1, &a);

	pb_accept_release(&a);
	return rc;
}

static int call_claim(struct pb_state *st)
{
	struct pb_job j;

	return pb_state_claim(st, "w1", 30, NOW, &j);
}

static int call_heartbeat(struct pb_state *st)
{
	int cancel;

	return pb_state_heartbeat(st, 1, "w1", 30, NOW, &cancel);
}

static int call_finish(struct pb_state *st)
{
	return pb_state_finish(st, 1, "w1", PB_JOB_SUCCEEDED, "{}", NULL, 0,
			       NOW);
}

static int call_pin(struct pb_state *st)
{
	return pb_state_job_pin(st, 1, SHA, NULL, NULL);
}

static int call_set_reply(struct pb_state *st)
{
	return pb_state_set_reply(st, 1, "{}");
}

static int call_requeue(struct pb_state *st)
{
	struct pb_job_list l;

	return pb_state_requeue(st, PB_REQUEUE_ALL, NOW, &l);
}

static int call_cancel_job(struct pb_state *st)
{
	struct pb_job j;

	return pb_state_cancel_job(st, REPO, "j-1", "bob", NOW, &j);
}

static int call_cancel_pr(struct pb_state *st)
{
	struct pb_job_list l;

	return pb_state_cancel_pr(st, REPO, 7, "bob", NOW, &l);
}

static int call_job_get(struct pb_state *st)
{
	struct pb_job j;

	return pb_state_job_get(st, 1, &j);
}

static int call_jobs_of_pr(struct pb_state *st)
{
	struct pb_job_list l;

	return pb_state_jobs_of_pr(st, REPO, 7, 0, &l);
}

static int call_job_stages(struct pb_state *st)
{
	struct pb_stage_list l;

	return pb_state_job_stages(st, 1, &l);
}

static int call_count_queued(struct pb_state *st)
{
	int64_t n;

	return pb_state_count_queued(st, &n);
}

static int call_evaluation_add(struct pb_state *st)
{
	struct pb_evaluation e = { 0, REPO, "main", "a1", 0, "{}", 1, NOW };

	return pb_state_evaluation_add(st, &e, NULL);
}

static int call_evaluation_latest(struct pb_state *st)
{
	struct pb_evaluation e;

	return pb_state_evaluation_latest(st, REPO, "main", &e);
}

static int call_evaluation_history(struct pb_state *st)
{
	struct pb_evaluation_list l;

	return pb_state_evaluation_history(st, REPO, "main", 3, &l);
}

static int call_lock_take(struct pb_state *st)
{
	struct pb_env_lock want = { REPO, "staging", 7, "alice", NULL, 0 };
	struct pb_env_lock held;
	int taken;

	return pb_state_lock_take(st, &want, NOW, &taken, &held);
}

static int call_unlock(struct pb_state *st)
{
	return pb_state_unlock(st, REPO, "staging", NULL);
}

static int call_unlock_pr(struct pb_state *st)
{
	struct pb_env_lock_list l;

	return pb_state_unlock_pr(st, REPO, 7, &l);
}

static int call_locks(struct pb_state *st)
{
	struct pb_env_lock_list l;

	return pb_state_locks(st, REPO, &l);
}

static int call_perm_get(struct pb_state *st)
{
	char level[16];

	return pb_state_perm_get(st, REPO, "alice", NOW, level, sizeof(level));
}

static int call_perm_put(struct pb_state *st)
{
	return pb_state_perm_put(st, REPO, "alice", "write", NOW, NOW - 60);
}

static int call_schedule_claim(struct pb_state *st)
{
	struct pb_job_new j = { .repo = REPO,
				.command = "evaluate",
				.actor = "schedule:nightly",
				.source = "cron" };
	int64_t id;

	return pb_state_schedule_claim(st, "nightly", NOW, &j, NOW, &id);
}

static int call_schedule_last(struct pb_state *st)
{
	int64_t slot;

	return pb_state_schedule_last(st, "nightly", &slot);
}

static const struct {
	int (*call)(struct pb_state *st);
	const char *op; /* as the message names it */
} calls[] = {
	{ call_ping, "answer a health check" },
	{ call_accept, "record delivery 'd-9'" },
	{ call_claim, "claim a job for worker 'w1'" },
	{ call_heartbeat, "extend the lease of job 'j-1'" },
	{ call_finish, "finish job 'j-1'" },
	{ call_pin, "pin the commit of job 'j-1'" },
	{ call_set_reply, "store the reply handle of job 'j-1'" },
	{ call_requeue, "requeue the jobs of stopped workers" },
	{ call_cancel_job, "cancel job 'j-1'" },
	{ call_cancel_pr, "cancel the jobs of " REPO "#7" },
	{ call_job_get, "read job 'j-1'" },
	{ call_jobs_of_pr, "list the jobs of " REPO "#7" },
	{ call_job_stages, "read the stages of job 'j-1'" },
	{ call_count_queued, "count the queued jobs" },
	{ call_evaluation_add, "store the evaluation of " REPO "@a1" },
	{ call_evaluation_latest, "read the baseline of " REPO "@main" },
	{ call_evaluation_history, "read the history of " REPO "@main" },
	{ call_lock_take, "lock 'staging' of " REPO },
	{ call_unlock, "unlock 'staging' of " REPO },
	{ call_unlock_pr, "unlock the environments of " REPO "#7" },
	{ call_locks, "list the locks of " REPO },
	{ call_perm_get, "read the permission of 'alice'" },
	{ call_perm_put, "keep the permission of 'alice'" },
	{ call_schedule_claim,
	  "claim slot 2023-11-14T22:13:20Z of schedule 'nightly'" },
	{ call_schedule_last, "read the last slot of schedule 'nightly'" },
};

#define N_CALLS (sizeof(calls) / sizeof(calls[0]))

static void test_every_function_refuses_a_store_that_is_not_open(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_CALLS; i++) {
		assert_int_equal(calls[i].call(NULL), PB_EINVAL);
		assert_msg("cannot %s: the state store is not open",
			   calls[i].op);
	}
	pb_state_set_queue_max(NULL, 5);
	pb_state_close(NULL);
}

/*
 * Overwrite the first bytes of every table's and index's root page: the
 * schema and header (page 1) stay readable, so the store opens, and every
 * read or write of a table meets a malformed page.
 */
static void damage_tables(const char *path)
{
	sqlite3_stmt *s = NULL;
	sqlite3 *db = NULL;
	int64_t page = raw_int(path, "PRAGMA page_size");
	static const unsigned char junk[16] = { 0xff, 0xff, 0xff, 0xff };
	int64_t roots[32];
	size_t n = 0, i;
	FILE *fp;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT rootpage FROM sqlite_schema"
					    " WHERE rootpage > 1",
					    -1, &s, NULL),
			 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW && n < 32)
		roots[n++] = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	assert_true(n >= 5);

	assert_non_null(fp = fopen(path, "r+b"));
	for (i = 0; i < n; i++) {
		assert_int_equal(
			fseek(fp, (long)((roots[i] - 1) * page), SEEK_SET), 0);
		assert_int_equal(fwrite(junk, sizeof(junk), 1, fp), 1);
	}
	assert_int_equal(fclose(fp), 0);
}

static void test_every_function_reports_a_damaged_store(void **state)
{
	struct fixture *f = *state;
	struct pb_job_new j = job_new(7, "evaluate", NULL, 0);
	size_t i;

	enqueue(open_ok(f), "d-1", &j);
	pb_state_close(f->st);
	f->st = NULL;
	damage_tables(f->path);

	open_ok(f);
	for (i = 0; i < N_CALLS; i++) {
		int rc = calls[i].call(f->st);

		if (rc != PB_ERROR)
			fail_msg("%s: returned %d (%s)", calls[i].op, rc,
				 pb_err_last());
		assert_msg("state store '%s': cannot %s: database disk image "
			   "is malformed (restore it from a backup, or move "
			   "it away and prbot starts an empty one)",
			   f->path, calls[i].op);
	}
}

/* A second process holding the write lock: callers time out, clearly. */
static void test_a_store_locked_by_another_process_times_out(void **state)
{
	struct fixture *f = *state;
	sqlite3 *other = NULL;
	struct pb_job j;

	open_ok(f);
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	assert_int_equal(pb_state_claim(f->st, "w1", 30, NOW, &j), PB_ETIMEOUT);
	assert_msg("state store '%s': cannot claim a job for worker 'w1': "
		   "database is locked for %d ms (is another process using "
		   "it?)",
		   f->path, PB_STATE_BUSY_MS);
	/* readers are not blocked by a writer in WAL mode */
	assert_int_equal(pb_state_ping(f->st), 0);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	assert_int_equal(pb_state_claim(f->st, "w1", 30, NOW, &j), 0);
	assert_int_equal(j.id, 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_creates_folder_and_private_file_in_wal_mode),
		T(test_reopen_keeps_jobs_and_deliveries),
		T(test_open_refuses_a_newer_schema),
		T(test_open_refuses_a_file_that_is_not_a_database),
		T(test_open_refuses_an_empty_path),
		T(test_failed_migration_keeps_the_previous_version),
		T(test_handles_opened_at_once_migrate_a_new_file_once),
		T(test_duplicate_delivery_does_nothing),
		T(test_same_comment_line_under_two_deliveries_is_queued_once),
		T(test_delivery_without_jobs_is_recorded_for_dedupe),
		T(test_accept_refuses_a_job_without_an_actor),
		T(test_queue_bound_refuses_with_nothing_stored),
		T(test_batch_settles_each_delivery_on_its_own),
		T(test_batch_that_cannot_commit_stores_nothing),
		T(test_checkpointer_keeps_the_wal_short_off_the_commit_path),
		T(test_permissions_are_kept_for_a_while),
		T(test_queued_counter_follows_the_jobs_table),
		T(test_claim_takes_the_oldest_queued_job_with_a_lease),
		T(test_claim_never_gives_a_job_twice_across_threads),
		T(test_claim_never_gives_a_job_twice_across_handles),
		T(test_expired_lease_requeues_then_fails_at_max_attempts),
		T(test_requeue_all_takes_back_jobs_with_live_leases),
		T(test_requeue_cancels_an_orphan_whose_cancel_was_asked),
		T(test_requeue_job_takes_back_one_job_of_its_worker),
		T(test_heartbeat_extends_the_lease_and_sees_a_cancel),
		T(test_heartbeat_of_an_unknown_job_is_not_found),
		T(test_finish_stores_the_report_and_stages),
		T(test_finish_with_a_bad_stage_row_stores_nothing),
		T(test_pin_sets_the_commit_once_and_reply_is_replaced),
		T(test_job_environment_is_null_until_recorded),
		T(test_cancel_stops_queued_at_once_and_running_by_request),
		T(test_cancel_job_explains_what_it_cannot_cancel),
		T(test_job_id_parse_accepts_only_the_public_forms),
		T(test_new_evaluate_supersedes_older_ones_of_the_pr),
		T(test_last_evaluate_of_a_comment_supersedes_the_first),
		T(test_jobs_of_pr_lists_newest_first_within_a_limit),
		T(test_baseline_is_the_latest_passing_evaluation_of_the_ref),
		T(test_history_is_the_last_n_of_the_ref_oldest_first),
		T(test_history_refuses_a_bad_count),
		T(test_every_function_refuses_a_store_that_is_not_open),
		T(test_every_function_reports_a_damaged_store),
		T(test_a_store_locked_by_another_process_times_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
