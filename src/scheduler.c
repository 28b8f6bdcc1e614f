/* scheduler.c: the cron source: claim each schedule's due slot, queue its job
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "prbot/buf.h"
#include "prbot/command.h"
#include "prbot/config.h"
#include "prbot/err.h"
#include "prbot/event.h"
#include "prbot/log.h"
#include "prbot/parse.h"
#include "prbot/scheduler.h"
#include "prbot/state.h"
#include "jsonutil.h"
#include "banned.h"

/* One [schedule "NAME"] as it runs. */
struct sched {
	const struct pb_conf_schedule *conf; /* borrowed from the config */
	struct pb_cron cron;
	const char *command; /* the descriptor's name: borrowed from the table
			      */
	char *args;	     /* owned: JSON array of the words after it */
	char *actor;	     /* owned: "schedule:NAME" */
	int loaded;	     /* after holds the store's last claimed slot */
	int64_t after;	     /* slots at or before it are handled */
	int64_t retry_at;    /* a failure: pass again then (0: none) */
};

struct pb_scheduler {
	struct pb_scheduler_opts o;
	struct sched *v;
	size_t n;

	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping; /* under mu */
};

/* Windows looked back through, shortest first: an hour, a day, a month, a
   year, then the whole horizon pb_cron_next() searches. */
static const int64_t due_windows[] = {
	3600,
	86400,
	32 * 86400,
	367 * 86400,
	(int64_t)PB_CRON_HORIZON_YEARS * 366 * 86400,
};

int pb_sched_due(const struct pb_cron *c, int64_t after, int64_t now,
		 int64_t *slot)
{
	size_t i;
	int64_t from;
	time_t t;
	int rc, found = 0;

	*slot = 0;
	if (after >= now)
		return 0;
	for (i = 0; i < sizeof(due_windows) / sizeof(due_windows[0]); i++) {
		from = now - due_windows[i] > after ? now - due_windows[i] :
						      after;
		for (rc = pb_cron_next(c, (time_t)from, &t);
		     rc == 0 && t <= now; rc = pb_cron_next(c, t, &t)) {
			*slot = (int64_t)t;
			found = 1;
		}
		if (rc < 0 && rc != PB_ENOTFOUND)
			return rc;
		if (found)
			return 1;
		if (from == after)
			return 0;
	}
	return 0;
}

static int64_t clock_now(const struct pb_scheduler *s)
{
	return s->o.now ? s->o.now(s->o.now_arg) : (int64_t)time(NULL);
}

/* "2026-11-24T03:00:00Z" for logs. */
static const char *slot_text(char buf[PB_CRON_TIME_LEN], int64_t t)
{
	if (pb_cron_time_format(buf, (time_t)t) < 0)
		snprintf(buf, PB_CRON_TIME_LEN, "%" PRId64, t);
	return buf;
}

/* ---- reading the [schedule] sections ---- */

static const struct pb_conf_repo *served(const struct pb_config *cfg,
					 const char *repo)
{
	size_t i;

	for (i = 0; i < cfg->n_repos; i++)
		if (!strcmp(cfg->repos[i].name, repo))
			return &cfg->repos[i];
	return NULL;
}

/* The schedule's command text as one invocation of a prbot command. */
static int command_read(struct sched *e)
{
	const char *name = e->conf->name, *text = e->conf->command;
	struct pb_buf line = PB_BUF_INIT;
	struct pb_parsed p = PB_PARSED_INIT;
	int rc = 0;

	if (pb_buf_printf(&line, "%s%s", text[0] == '/' ? "" : "/", text) < 0)
		return pb_err_set("out of memory");
	if (pb_parse_comment(&p, line.ptr, line.len, NULL) < 0) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	if (p.n_problems || p.n != 1) {
		rc = pb_err_setc(PB_EINVAL,
				 "[schedule \"%s\"]: command '%s' is not one "
				 "prbot command%s%s (such as command = "
				 "/evaluate)",
				 name, text, p.n_problems ? ": " : "",
				 p.n_problems ? p.problems[0].msg : "");
		goto out;
	}
	if (p.v[0].inv.cmd->flags & PB_CMD_NEEDS_PR) {
		rc = pb_err_setc(PB_EINVAL,
				 "[schedule \"%s\"]: /%s runs on a pull "
				 "request only, and a schedule has none: "
				 "schedule /evaluate instead",
				 name, p.v[0].inv.cmd->name);
		goto out;
	}
	e->command = p.v[0].inv.cmd->name;
	if (!(e->args = pb_json_strings(p.v[0].inv.args, p.v[0].inv.n_args)))
		rc = pb_err_set("out of memory");
out:
	pb_parsed_release(&p);
	pb_buf_release(&line);
	return rc;
}

static int sched_read(struct sched *e, const struct pb_config *cfg,
		      const struct pb_conf_schedule *conf)
{
	struct pb_buf actor = PB_BUF_INIT;
	int rc;

	e->conf = conf;
	if (!conf->cron || !conf->repo)
		return pb_err_setc(PB_EINVAL,
				   "[schedule \"%s\"]: 'cron' and 'repo' are "
				   "required",
				   conf->name);
	if ((rc = pb_cron_parse(&e->cron, conf->cron)) < 0)
		return pb_err_setc(PB_EINVAL, "[schedule \"%s\"]: cron: %s",
				   conf->name, pb_err_last());
	if (cfg->n_repos && !served(cfg, conf->repo))
		return pb_err_setc(PB_EINVAL,
				   "[schedule \"%s\"]: repo '%s' has no "
				   "[repo \"%s\"] section: prbot serves only "
				   "the repositories bot.conf names; add one "
				   "or fix the name",
				   conf->name, conf->repo, conf->repo);
	if ((rc = command_read(e)) < 0)
		return rc;
	if (pb_buf_printf(&actor, PB_SCHED_ACTOR_PREFIX "%s", conf->name) < 0)
		return pb_err_set("out of memory");
	e->actor = pb_buf_detach(&actor);
	return 0;
}

int pb_scheduler_new(struct pb_scheduler **out,
		     const struct pb_scheduler_opts *o)
{
	struct pb_scheduler *s;
	size_t i;
	int rc;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return pb_err_set("out of memory");
	s->o = *o;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (o->cfg->n_schedules &&
	    !(s->v = calloc(o->cfg->n_schedules, sizeof(*s->v)))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	/* zeroed: each is freed whether it was read or not */
	s->n = o->cfg->n_schedules;
	for (i = 0, rc = 0; i < s->n && rc == 0; i++)
		rc = sched_read(&s->v[i], o->cfg, &o->cfg->schedules[i]);
out:
	if (rc < 0) {
		pb_scheduler_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void pb_scheduler_free(struct pb_scheduler *s)
{
	size_t i;

	if (!s)
		return;
	pb_scheduler_stop(s);
	for (i = 0; i < s->n; i++) {
		free(s->v[i].args);
		free(s->v[i].actor);
	}
	free(s->v);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

size_t pb_scheduler_count(const struct pb_scheduler *s)
{
	return s ? s->n : 0;
}

/* ---- one pass ---- */

/* Where e starts: its last claimed slot, or PB_SCHED_GRACE_SEC ago. */
static int sched_load(struct pb_scheduler *s, struct sched *e, int64_t now)
{
	char when[PB_CRON_TIME_LEN];
	int64_t last;
	int rc;

	if ((rc = pb_state_schedule_last(s->o.state, e->conf->name, &last)) < 0)
		return rc;
	e->after = rc ? last : now - PB_SCHED_GRACE_SEC;
	e->loaded = 1;
	if (rc)
		pb_log_info("schedule %s: '%s' runs /%s on %s@%s; last slot "
			    "%s",
			    e->conf->name, e->conf->cron, e->command,
			    e->conf->repo, e->conf->ref, slot_text(when, last));
	else
		pb_log_info("schedule %s: '%s' runs /%s on %s@%s; no slot "
			    "claimed yet",
			    e->conf->name, e->conf->cron, e->command,
			    e->conf->repo, e->conf->ref);
	return 0;
}

/* Claim slot for e and say how it went: 0 handled, < 0 try again. */
static int sched_claim(struct pb_scheduler *s, struct sched *e, int64_t slot,
		       int64_t now)
{
	char when[PB_CRON_TIME_LEN], id[PB_JOB_ID_MAX];
	struct pb_job_new j;
	int64_t job = 0;
	int rc;

	memset(&j, 0, sizeof(j));
	j.repo = e->conf->repo;
	j.ref = e->conf->ref;
	j.command = e->command;
	j.args = e->args;
	j.actor = e->actor;
	j.source = pb_event_source_name(PB_SOURCE_CRON);
	rc = pb_state_schedule_claim(s->o.state, e->conf->name, slot, &j, now,
				     &job);
	slot_text(when, slot);
	pb_job_id_format(id, job);
	if (rc == 0) {
		pb_log_info("schedule %s: slot %s: queued %s", e->conf->name,
			    when, id);
		if (s->o.on_queued)
			s->o.on_queued(s->o.on_queued_arg);
	} else if (rc == PB_EEXISTS) {
		pb_log_info("schedule %s: slot %s: taken by another replica "
			    "(%s)",
			    e->conf->name, when, id);
	} else if (rc == PB_ETOOBIG) {
		/* a full queue is not made shorter by more jobs: skip it */
		pb_log_warnx("schedule %s: slot %s: skipped: %s", e->conf->name,
			     when, pb_err_last());
	} else {
		pb_log_warnx("schedule %s: slot %s: %s (trying again in %d s)",
			     e->conf->name, when, pb_err_last(),
			     PB_SCHED_RETRY_SEC);
		return rc;
	}
	e->after = slot;
	return 0;
}

/* e's part of a pass at now; its next pass time into *wake (0: never). */
static void sched_pass(struct pb_scheduler *s, struct sched *e, int64_t now,
		       int64_t *wake)
{
	int64_t slot, from;
	time_t next;
	int rc;

	*wake = 0;
	if (e->retry_at > now)
		goto retry;
	e->retry_at = 0;
	if (!e->loaded && (rc = sched_load(s, e, now)) < 0) {
		pb_log_warnx("schedule %s: %s (trying again in %d s)",
			     e->conf->name, pb_err_last(), PB_SCHED_RETRY_SEC);
		goto failed;
	}
	rc = pb_sched_due(&e->cron, e->after, now, &slot);
	if (rc > 0 && sched_claim(s, e, slot, now) < 0)
		goto failed;
	if (rc < 0)
		pb_log_warnx("schedule %s: %s", e->conf->name, pb_err_last());
	from = e->after > now ? e->after : now;
	if (pb_cron_next(&e->cron, (time_t)from, &next) == 0)
		*wake = (int64_t)next;
	return;
failed:
	e->retry_at = now + PB_SCHED_RETRY_SEC;
retry:
	*wake = e->retry_at;
}

int pb_scheduler_tick(struct pb_scheduler *s, int64_t *wake)
{
	int64_t now = clock_now(s), w;
	size_t i;

	*wake = 0;
	for (i = 0; i < s->n; i++) {
		sched_pass(s, &s->v[i], now, &w);
		if (w && (!*wake || w < *wake))
			*wake = w;
	}
	return 0;
}

/* ---- the thread ---- */

/* Sleep until wake (0: none), at most PB_SCHED_MAX_WAIT_SEC; 1 to stop. */
static int sched_sleep(struct pb_scheduler *s, int64_t wake)
{
	struct timespec now, until;
	int stop;

	/* slots are wall-clock times: wait on the realtime clock, briefly
	   enough that a clock set while we sleep is noticed */
	clock_gettime(CLOCK_REALTIME, &now);
	until.tv_sec = now.tv_sec + PB_SCHED_MAX_WAIT_SEC;
	until.tv_nsec = 0;
	if (wake && wake < (int64_t)until.tv_sec)
		until.tv_sec = (time_t)wake;
	pthread_mutex_lock(&s->mu);
	while (!s->stopping)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
			break;
	stop = s->stopping;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static void *sched_main(void *arg)
{
	struct pb_scheduler *s = arg;
	int64_t wake;

	do
		pb_scheduler_tick(s, &wake);
	while (!sched_sleep(s, wake));
	pb_log_info("scheduler: stopped");
	return NULL;
}

int pb_scheduler_start(struct pb_scheduler *s)
{
	int rc;

	if (!s->n || s->started)
		return 0;
	s->stopping = 0;
	if ((rc = pthread_create(&s->thread, NULL, sched_main, s)))
		return pb_err_set("cannot start the scheduler: %s",
				  strerror(rc));
	s->started = 1;
	pb_log_info("scheduler: %zu schedule(s), in UTC", s->n);
	return 0;
}

void pb_scheduler_stop(struct pb_scheduler *s)
{
	if (!s || !s->started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->started = 0;
}
