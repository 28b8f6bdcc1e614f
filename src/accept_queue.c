/* accept_queue.c: the committer thread: many deliveries, one transaction */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/log.h"
#include "accept_queue.h"
#include "banned.h"

struct pb_accept_queue {
	struct pb_state *st;
	void (*after)(size_t n_queued, void *arg);
	void *arg;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct pb_accept_item *head, **tail; /* pushed, in order */
	int stopping;
	pthread_t thread;
	atomic_ullong batches, deliveries; /* read by /metrics */

	/* the committer's alone */
	struct pb_accept_req reqs[PB_ACCEPT_QUEUE_BATCH];
	struct pb_accept_item *items[PB_ACCEPT_QUEUE_BATCH];
};

/* Wait for work; take up to a batch. 0 when stopping with nothing left. */
static size_t take(struct pb_accept_queue *q)
{
	struct pb_accept_item *it;
	size_t n = 0;

	pthread_mutex_lock(&q->mu);
	while (!q->head && !q->stopping)
		pthread_cond_wait(&q->cond, &q->mu);
	while ((it = q->head) && n < PB_ACCEPT_QUEUE_BATCH) {
		q->head = it->next;
		q->items[n++] = it;
	}
	if (!q->head)
		q->tail = &q->head;
	pthread_mutex_unlock(&q->mu);
	return n;
}

static void commit(struct pb_accept_queue *q, size_t n)
{
	size_t i, queued = 0;

	for (i = 0; i < n; i++)
		q->reqs[i] = q->items[i]->req;
	/* each req's rc and err say what happened: the log is done() */
	pb_state_accept_batch(q->st, q->reqs, n);
	atomic_fetch_add(&q->batches, 1);
	atomic_fetch_add(&q->deliveries, n);
	for (i = 0; i < n; i++) {
		q->items[i]->req = q->reqs[i];
		if (q->reqs[i].rc == 0)
			queued += q->reqs[i].out.n_queued;
	}
	/* wake the workers before the answers: the job is on disk already */
	if (queued && q->after)
		q->after(queued, q->arg);
	for (i = 0; i < n; i++)
		q->items[i]->done(q->items[i]);
}

static void *committer_main(void *arg)
{
	struct pb_accept_queue *q = arg;
	size_t n;

	pthread_setname_np(pthread_self(), "prbot-commit");

	while ((n = take(q)))
		commit(q, n);
	return NULL;
}

int pb_accept_queue_start(struct pb_accept_queue **out, struct pb_state *st,
			  void (*after)(size_t n_queued, void *arg), void *arg)
{
	struct pb_accept_queue *q;
	int rc;

	*out = NULL;
	if (!(q = calloc(1, sizeof(*q))))
		return pb_err_set("out of memory");
	q->st = st;
	q->after = after;
	q->arg = arg;
	q->tail = &q->head;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cond, NULL);
	if ((rc = pthread_create(&q->thread, NULL, committer_main, q))) {
		pthread_cond_destroy(&q->cond);
		pthread_mutex_destroy(&q->mu);
		free(q);
		return pb_err_set("cannot start the committer thread: %s",
				  strerror(rc));
	}
	*out = q;
	return 0;
}

void pb_accept_queue_push(struct pb_accept_queue *q, struct pb_accept_item *it)
{
	it->next = NULL;
	pthread_mutex_lock(&q->mu);
	*q->tail = it;
	q->tail = &it->next;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->mu);
}

void pb_accept_queue_stats(const struct pb_accept_queue *q,
			   struct pb_accept_queue_stats *out)
{
	out->batches = atomic_load(&q->batches);
	out->deliveries = atomic_load(&q->deliveries);
}

void pb_accept_queue_free(struct pb_accept_queue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
