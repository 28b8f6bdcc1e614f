/* accept_queue.h: deliveries committed in groups by one thread, then answered
 */
#ifndef PRBOT_ACCEPT_QUEUE_H
#define PRBOT_ACCEPT_QUEUE_H

#include <stddef.h>

#include "prbot/state.h"

/*
 * A source's ingress checks and parses a delivery on the HTTP thread, then
 * pushes it here and answers later. One committer thread takes every
 * delivery pushed so far and records them in one transaction
 * (pb_state_accept_batch()): one fsync covers the lot, so a busy daemon
 * acknowledges many deliveries per disk flush, and each answer still
 * leaves only after the commit that made its jobs durable.
 */

/* What a source pushes; it embeds this as the first member of its own. */
struct pb_accept_item {
	/* in: d, jobs, n (borrowed from the item); out: rc, err, out */
	struct pb_accept_req req;
	/*
	 * Called on the committer thread after the transaction that covers
	 * the item ended (req says how); it owns the item from then on and
	 * must answer and free it.
	 */
	void (*done)(struct pb_accept_item *it);
	struct pb_accept_item *next; /* private */
};

struct pb_accept_queue;

/* At most this many deliveries share a transaction. */
#define PB_ACCEPT_QUEUE_BATCH 256

/*
 * Start the committer thread on st (borrowed for the queue's life).
 * after(n_queued, arg) runs on it after each batch that queued jobs, to wake
 * the workers; may be NULL. Returns 0, or PB_ERROR when the thread cannot
 * start. Caller owns *out: pb_accept_queue_free().
 */
int pb_accept_queue_start(struct pb_accept_queue **out, struct pb_state *st,
			  void (*after)(size_t n_queued, void *arg), void *arg);

/* Hand it over: its done() will be called exactly once. Any thread. */
void pb_accept_queue_push(struct pb_accept_queue *q, struct pb_accept_item *it);

/* Transactions committed so far, and the deliveries they recorded. */
struct pb_accept_queue_stats {
	unsigned long long batches;
	unsigned long long deliveries;
};

/* A snapshot of q's counters; safe from any thread. */
void pb_accept_queue_stats(const struct pb_accept_queue *q,
			   struct pb_accept_queue_stats *out);

/*
 * Commit and answer everything pushed so far, stop the thread and free q.
 * Nothing may be pushed once this is called. NULL is a no-op.
 */
void pb_accept_queue_free(struct pb_accept_queue *q);

#endif
