/* worker_notify.c: a scheduled run's notification, to Slack and issues */
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/log.h"
#include "prbot/report_slack.h"
#include "prbot/scheduler.h"
#include "prbot/trend.h"
#include "worker_notify.h"

#include "banned.h"

const struct pb_conf_schedule *
pb_notify_schedule_find(const struct pb_config *cfg, const char *actor)
{
	const size_t n = strlen(PB_SCHED_ACTOR_PREFIX);
	size_t i;

	if (!cfg || !actor || strncmp(actor, PB_SCHED_ACTOR_PREFIX, n))
		return NULL;
	for (i = 0; i < cfg->n_schedules; i++)
		if (!strcmp(cfg->schedules[i].name, actor + n))
			return &cfg->schedules[i];
	return NULL;
}

int pb_notify_text(char **out, enum pb_trend_format fmt,
		   const struct pb_notify_run *n,
		   const struct pb_conf_schedule *s,
		   const struct pb_evaluation_list *h)
{
	struct pb_buf b = PB_BUF_INIT;
	struct pb_trend_threshold th;
	struct pb_trend_notice tn;
	int rc;

	*out = NULL;
	memset(&tn, 0, sizeof(tn));
	tn.schedule = s->name;
	tn.repo = n->repo;
	tn.ref = n->ref;
	tn.report = n->report;
	tn.history = h;
	/* checked at load: a failure here keeps the default */
	if (s->regression_threshold &&
	    pb_trend_threshold_parse(&th, s->regression_threshold) == 0)
		tn.threshold = &th;
	if ((rc = pb_trend_notice(&b, fmt, &tn)) < 0)
		return rc;
	if ((rc = pb_redact_buf(n->redact, &b)) < 0)
		goto out;
	*out = pb_buf_detach(&b);
out:
	pb_buf_release(&b);
	return rc;
}

/* The text of fmt, built once into *text; NULL (logged) when it fails. */
static const char *notice(char **text, enum pb_trend_format fmt,
			  const struct pb_notify_run *n,
			  const struct pb_conf_schedule *s,
			  const struct pb_evaluation_list *h)
{
	if (!*text && pb_notify_text(text, fmt, n, s, h) < 0)
		pb_log_warnx("job %s: schedule %s: cannot write the "
			     "notification: %s",
			     n->job_id, s->name, pb_err_last());
	return *text;
}

static int send_one(const struct pb_notify_run *n,
		    const struct pb_conf_schedule *s,
		    const struct pb_notify_target *t, const char *text)
{
	int rc;

	if (t->kind == PB_NOTIFY_SLACK) {
		if ((rc = pb_slack_webhook_post(t->webhook.value, text)) < 0)
			/* the ref, never the URL: the URL is the secret */
			pb_log_warnx("job %s: schedule %s: Slack (%s) was not "
				     "notified: %s",
				     n->job_id, s->name, t->webhook.ref,
				     pb_err_last());
		else
			pb_log_info("job %s: schedule %s: notified Slack (%s)",
				    n->job_id, s->name, t->webhook.ref);
		return rc;
	}
	if (!n->gh) {
		pb_log_warnx("job %s: schedule %s: no GitHub client to "
			     "comment on %s#%ld",
			     n->job_id, s->name, t->repo, t->issue);
		return PB_EINVAL;
	}
	rc = pb_gh_comment_create(n->gh, NULL, t->repo, t->issue, text);
	if (rc < 0)
		pb_log_warnx("job %s: schedule %s: %s#%ld was not notified: %s",
			     n->job_id, s->name, t->repo, t->issue,
			     pb_err_last());
	else
		pb_log_info("job %s: schedule %s: notified %s#%ld", n->job_id,
			    s->name, t->repo, t->issue);
	return rc;
}

int pb_notify_send(const struct pb_notify_run *n)
{
	const struct pb_conf_schedule *s =
		pb_notify_schedule_find(n->cfg, n->actor);
	struct pb_evaluation_list h = { NULL, 0 };
	char *slack = NULL, *markdown = NULL;
	const char *text;
	size_t i;
	int failed = 0;

	if (!s || !s->n_targets)
		return 0;
	/* without history the notice still goes out, without a trend */
	if (pb_state_evaluation_history(n->st, n->repo, n->ref,
					PB_NOTIFY_HISTORY, &h) < 0)
		pb_log_warnx("job %s: schedule %s: no trend: %s", n->job_id,
			     s->name, pb_err_last());
	for (i = 0; i < s->n_targets; i++) {
		const struct pb_notify_target *t = &s->targets[i];

		text = t->kind == PB_NOTIFY_SLACK ?
			       notice(&slack, PB_TREND_SLACK, n, s, &h) :
			       notice(&markdown, PB_TREND_MARKDOWN, n, s, &h);
		if (!text || send_one(n, s, t, text) < 0)
			failed++;
	}
	free(markdown);
	free(slack);
	pb_evaluation_list_release(&h);
	return failed;
}
