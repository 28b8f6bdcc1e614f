/* ingress_int.h: what the routes of prbot serve's ingress share (GitHub's
 * webhook, Slack's slash command): one context, one committer */
#ifndef PRBOT_INGRESS_INT_H
#define PRBOT_INGRESS_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "prbot/ingress.h"
#include "prbot/source_github.h"
#include "accept_queue.h"

struct pb_ingress {
	struct pb_ingress_opts o;
	struct pb_gh_options gh;
	/* the handlers run on the HTTP thread, /metrics may be read from
	   another */
	atomic_ullong by_status[PB_INGRESS_N_STATUS];
	atomic_ullong jobs_queued;
	struct pb_accept_queue *queue;
};

/* Count one answer of status in by_status[]. */
void pb_ingress_count(struct pb_ingress *in, int status);

/* Unix seconds from the ingress's clock. */
int64_t pb_ingress_now(const struct pb_ingress *in);

#endif
