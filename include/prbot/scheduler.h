/* scheduler.h: bot.conf's [schedule "NAME"] sections queue jobs on time */
#ifndef PRBOT_SCHEDULER_H
#define PRBOT_SCHEDULER_H

#include <stdint.h>

#include "prbot/cron.h"

struct pb_config;
struct pb_state;

/*
 * Each schedule fires at its cron expression's times, in UTC: a "slot".
 * A slot is claimed in the state store together with the job it queues
 * (pb_state_schedule_claim), so of several prbot replicas on one store
 * one alone queues it; the others log that it was taken.
 *
 * Slots missed while no prbot ran fire once, at start-up: the latest of
 * them, never one per missed slot. A schedule that never fired (nothing
 * claimed under its name) does not look back further than
 * PB_SCHED_GRACE_SEC: its latest slot fires at start-up only when it is
 * that recent, so adding a schedule, or starting prbot a few seconds
 * after a slot, does not run slots from before it existed.
 *
 * The job is the schedule's command on repo at ref (no pull request), by
 * the actor "schedule:NAME", with the source "cron".
 */

/* A scheduled job's actor is this prefix and the schedule's name; the job
   side finds its schedule (notify, regression_threshold) by it. */
#define PB_SCHED_ACTOR_PREFIX "schedule:"

/* With nothing claimed yet, how far back a slot still fires at start. */
#define PB_SCHED_GRACE_SEC 60
/* The longest sleep: the clock is read again at least this often. */
#define PB_SCHED_MAX_WAIT_SEC 60
/* After a failure to read or write the state store, try again in. */
#define PB_SCHED_RETRY_SEC 30

struct pb_scheduler;

struct pb_scheduler_opts {
	const struct pb_config *cfg; /* borrowed for the scheduler's life */
	struct pb_state *state;	     /* borrowed for the scheduler's life */
	/* Unix seconds now; NULL: the system clock. Tests move it. */
	int64_t (*now)(void *arg);
	void *now_arg;
	/* called after a slot queued a job (wake the workers), or NULL */
	void (*on_queued)(void *arg);
	void *on_queued_arg;
};

/*
 * Read every [schedule] of o->cfg: its cron expression, its command (one
 * prbot command that runs without a pull request, such as "/evaluate") and
 * its repo (one of the [repo "OWNER/NAME"] sections when bot.conf has any).
 * PB_EINVAL with a message naming the schedule and what to fix. *out
 * (also with no schedules) is freed with pb_scheduler_free().
 */
int pb_scheduler_new(struct pb_scheduler **out,
		     const struct pb_scheduler_opts *o);

/* Stop the thread if started, and free s; NULL is a no-op. */
void pb_scheduler_free(struct pb_scheduler *s);

/* How many schedules s runs. */
size_t pb_scheduler_count(const struct pb_scheduler *s);

/*
 * One pass at the hook's now: read the last claimed slot of each schedule
 * not read yet, claim each schedule's due slot (the latest fire time after
 * the last one handled, up to now) and log it. *wake is when to pass again:
 * the earliest next fire time, sooner after a failure; 0 when no schedule
 * will fire again. Returns 0; a failure of one schedule is logged and
 * retried, it does not stop the others.
 */
int pb_scheduler_tick(struct pb_scheduler *s, int64_t *wake);

/*
 * Pass in a thread of its own until pb_scheduler_stop(): once at once (the
 * start-up catch-up), then at each wake time (a timed wait on the
 * realtime clock, at most PB_SCHED_MAX_WAIT_SEC long, so a clock that is
 * set moves the passes with it). 0, also without schedules (no thread).
 */
int pb_scheduler_start(struct pb_scheduler *s);

/* Wake the thread and join it; a scheduler never started is a no-op. */
void pb_scheduler_stop(struct pb_scheduler *s);

/*
 * The latest time c fires after `after` and at or before now: 1 with *slot
 * set, 0 when c does not fire in (after, now]. Looks back from now in
 * growing windows, so a long pause costs few steps. Negative only on
 * pb_cron_next()'s PB_EINVAL (a time outside the years 1-9999).
 */
int pb_sched_due(const struct pb_cron *c, int64_t after, int64_t now,
		 int64_t *slot);

#endif
