/* worker_notify.h: a scheduled run's notification, to Slack and issues */
#ifndef PRBOT_WORKER_NOTIFY_H
#define PRBOT_WORKER_NOTIFY_H

#include <jansson.h>

#include "prbot/config.h"
#include "prbot/gh.h"
#include "prbot/redact.h"
#include "prbot/report_trend.h"
#include "prbot/state.h"

/* How many earlier evaluations the trend of a notice shows, at most. */
#define PB_NOTIFY_HISTORY 9

/* A finished scheduled run; all borrowed for the call. */
struct pb_notify_run {
	const struct pb_config *cfg;
	const struct pb_redactor *redact; /* what goes out is masked */
	struct pb_state *st;
	struct pb_gh *gh;     /* NULL: issue targets are skipped (a warning) */
	const char *job_id;   /* "j-7", for the log */
	const char *actor;    /* "schedule:NAME" */
	const char *repo;     /* OWNER/NAME */
	const char *ref;      /* the branch run on */
	const json_t *report; /* pb_report_json() of the run, or the
				 {status, error} of a run that did not start */
};

/* The [schedule "NAME"] of actor "schedule:NAME", or NULL: borrowed
   from cfg. */
const struct pb_conf_schedule *
pb_notify_schedule_find(const struct pb_config *cfg, const char *actor);

/*
 * *out: the notice of run n of schedule s in fmt (pb_trend_notice() with
 * h, the ref's evaluations before this run, and s's threshold), redacted
 * with n->redact. Caller frees *out. Returns 0 or a negative code.
 */
int pb_notify_text(char **out, enum pb_trend_format fmt,
		   const struct pb_notify_run *n,
		   const struct pb_conf_schedule *s,
		   const struct pb_evaluation_list *h);

/*
 * Send the notice of run n to every notify target of its schedule: a
 * Slack incoming webhook gets the Slack text, an issue a comment in
 * Markdown. Reads the ref's history, so call it before the run's own
 * evaluation is recorded. Nothing when the actor names no schedule or the
 * schedule has no target. A failure is a warning in the log (never with
 * the webhook's URL), never the job's: returns how many targets failed.
 */
int pb_notify_send(const struct pb_notify_run *n);

#endif
