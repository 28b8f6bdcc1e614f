/* state_checkpoint.c: WAL checkpoints on a thread and connection of their own
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prbot/err.h"
#include "prbot/log.h"
#include "prbot/state.h"
#include "state_db.h"
#include "banned.h"

/*
 * SQLite's automatic checkpoint runs inside the commit that crosses the
 * threshold, so that commit (and every answer waiting on it) pays for
 * copying the WAL into the database and its fsync. Here a thread with its
 * own connection checkpoints instead, PASSIVE, so writers never wait.
 */

struct pb_state_ckpt {
	sqlite3 *db;	  /* the thread's own connection */
	const char *path; /* the store's, for messages */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int want, stop;
	unsigned long long done; /* checkpoints run; under mu */
	time_t warned;
};

/*
 * sqlite3_wal_hook, after each commit of the main connection. Under steady
 * writes the thread never catches up with the last frame, and only a fully
 * copied WAL starts over: past PB_STATE_CKPT_MAX_FRAMES this commit copies
 * the rest itself (little: the thread did most) so the file stays bounded.
 */
static int on_wal(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct pb_state_ckpt *ck = arg;

	if (frames >= PB_STATE_CKPT_MAX_FRAMES) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
					  NULL, NULL);
		return SQLITE_OK;
	}
	if (frames < PB_STATE_CKPT_FRAMES)
		return SQLITE_OK;
	pthread_mutex_lock(&ck->mu);
	ck->want = 1;
	pthread_cond_signal(&ck->cond);
	pthread_mutex_unlock(&ck->mu);
	return SQLITE_OK;
}

static void checkpoint(struct pb_state_ckpt *ck)
{
	time_t now;
	int rc;

	rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
				       NULL, NULL);
	if (rc == SQLITE_OK || rc == SQLITE_BUSY)
		return;
	now = time(NULL);
	if (now - ck->warned < 60) /* once a minute is enough to see it */
		return;
	ck->warned = now;
	pb_log_warnx("state store '%s': checkpoint failed: %s (the -wal "
		     "file grows until it works)",
		     ck->path, sqlite3_errmsg(ck->db));
}

/* Given ck, not the store: a quick stop may have unhooked it already. */
static void *ckpt_main(void *arg)
{
	struct pb_state_ckpt *ck = arg;

	pthread_setname_np(pthread_self(), "prbot-ckpt");
	pthread_mutex_lock(&ck->mu);
	for (;;) {
		while (!ck->want && !ck->stop)
			pthread_cond_wait(&ck->cond, &ck->mu);
		if (ck->stop)
			break;
		ck->want = 0;
		pthread_mutex_unlock(&ck->mu);
		checkpoint(ck);
		pthread_mutex_lock(&ck->mu);
		ck->done++;
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

static void ckpt_free(struct pb_state_ckpt *ck)
{
	sqlite3_close_v2(ck->db);
	pthread_cond_destroy(&ck->cond);
	pthread_mutex_destroy(&ck->mu);
	free(ck);
}

int pb_state_checkpointer_start(struct pb_state *st)
{
	struct pb_state_ckpt *ck;
	int rc;

	if (!st || !st->db)
		return pb_err_setc(PB_EINVAL, "cannot start checkpoints: the "
					      "state store is not open");
	if (st->ckpt)
		return 0;
	if (!(ck = calloc(1, sizeof(*ck))))
		return pb_err_set("out of memory");
	ck->path = st->path;
	pthread_mutex_init(&ck->mu, NULL);
	pthread_cond_init(&ck->cond, NULL);
	pb_db_op(st, "open a connection for checkpoints");
	if ((rc = sqlite3_open_v2(st->path, &ck->db,
				  SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				  NULL)) != SQLITE_OK) {
		rc = pb_db_err(st, rc);
		ckpt_free(ck);
		return rc;
	}
	pthread_mutex_lock(&st->mu);
	st->ckpt = ck;
	if ((rc = pthread_create(&ck->thread, NULL, ckpt_main, ck))) {
		st->ckpt = NULL;
		pthread_mutex_unlock(&st->mu);
		ckpt_free(ck);
		return pb_err_set("cannot start the checkpoint thread: %s",
				  strerror(rc));
	}
	/* replaces the automatic checkpoint of the main connection */
	sqlite3_wal_hook(st->db, on_wal, ck);
	pthread_mutex_unlock(&st->mu);
	return 0;
}

unsigned long long pb_state_checkpoints(struct pb_state *st)
{
	unsigned long long n = 0;

	if (st && st->ckpt) {
		pthread_mutex_lock(&st->ckpt->mu);
		n = st->ckpt->done;
		pthread_mutex_unlock(&st->ckpt->mu);
	}
	return n;
}

void pb_state_checkpointer_stop(struct pb_state *st)
{
	struct pb_state_ckpt *ck = st ? st->ckpt : NULL;

	if (!ck)
		return;
	pthread_mutex_lock(&st->mu);
	sqlite3_wal_hook(st->db, NULL, NULL);
	/* back to SQLite's own, for whatever the connection still writes */
	sqlite3_wal_autocheckpoint(st->db, PB_STATE_CKPT_FRAMES);
	st->ckpt = NULL;
	pthread_mutex_unlock(&st->mu);
	pthread_mutex_lock(&ck->mu);
	ck->stop = 1;
	pthread_cond_signal(&ck->cond);
	pthread_mutex_unlock(&ck->mu);
	pthread_join(ck->thread, NULL);
	ckpt_free(ck);
}
