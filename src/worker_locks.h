/* worker_locks.h: /lock, /unlock and /locks on a pull request: store, reply */
#ifndef PRBOT_WORKER_LOCKS_H
#define PRBOT_WORKER_LOCKS_H

#include <stdint.h>

#include "prbot/buf.h"
#include "prbot/state.h"

/* Who asks, where; all borrowed for the call. */
struct pb_lock_ask {
	struct pb_state *st;
	const char *repo;  /* OWNER/NAME */
	int64_t pr;	   /* the pull request the comment is on */
	const char *actor; /* who commented */
	int pr_closed;	   /* 1: the PR is closed or merged (/lock refuses) */
	int64_t now;
};

/*
 * Each appends the comment to post to reply: what was done, or why not (a
 * bad environment name, a lock held by another pull request with its
 * holder, actor, reason and time, a lock that is not held). Returns 0, or
 * a negative code when the store failed (nothing appended) or an append
 * failed (reply released, as pb_buf does).
 */
int pb_worker_lock(struct pb_buf *reply, const struct pb_lock_ask *a,
		   const char *env, const char *reason);
int pb_worker_unlock(struct pb_buf *reply, const struct pb_lock_ask *a,
		     const char *env);
int pb_worker_locks(struct pb_buf *reply, const struct pb_lock_ask *a);

#endif
