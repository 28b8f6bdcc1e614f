/* worker_deploy.h: what the worker does around /deploy's run, and /rollback */
#ifndef PRBOT_WORKER_DEPLOY_H
#define PRBOT_WORKER_DEPLOY_H

#include <jansson.h>
#include <stdint.h>

#include "prbot/buf.h"
#include "prbot/state.h"

/* A /deploy job's words, and the evaluation it may reuse. */
struct pb_wdeploy {
	const char *env; /* borrowed from the job's args, or NULL */
	int dry_run;
	int reused;	  /* a stored evaluation: only the checkout runs */
	json_t *manifest; /* owned when reused: that evaluation's manifest */
	int64_t eval_job; /* the job that evaluated it */
};

void pb_wdeploy_release(struct pb_wdeploy *d);

/*
 * Read /deploy's words from args (a JSON array): one environment name at
 * most and --dry-run. 0, or PB_EINVAL with a message quoting the usage.
 */
int pb_wdeploy_args(struct pb_wdeploy *d, const json_t *args);

/*
 * Look for a passing evaluation of sha in repo whose job stored a report
 * with a manifest: then reused is 1 and manifest is that report's. A store
 * error is logged and reads as "none" (the deploy evaluates again).
 */
void pb_wdeploy_reuse(struct pb_wdeploy *d, struct pb_state *st,
		      const char *repo, const char *sha);

#endif
