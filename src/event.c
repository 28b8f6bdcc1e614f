/* event.c: the normalized event's release and names */
#include <stdlib.h>
#include <string.h>

#include "prbot/event.h"
#include "banned.h"

void pb_event_release(struct pb_event *ev)
{
	if (!ev)
		return;
	free(ev->delivery);
	free(ev->repo);
	free(ev->sha);
	free(ev->base_ref);
	free(ev->head_ref);
	free(ev->head_repo);
	free(ev->head_clone_url);
	free(ev->actor);
	free(ev->text);
	free(ev->label);
	free(ev->comment_node_id);
	free(ev->reply);
	memset(ev, 0, sizeof(*ev));
}

const char *pb_event_source_name(enum pb_event_source s)
{
	switch (s) {
	case PB_SOURCE_GITHUB:
		return "github";
	case PB_SOURCE_SLACK:
		return "slack";
	case PB_SOURCE_CRON:
		return "cron";
	case PB_SOURCE_CLI:
		return "cli";
	}
	return "unknown";
}

const char *pb_event_kind_name(enum pb_event_kind k)
{
	switch (k) {
	case PB_EVENT_COMMENT:
		return "comment";
	case PB_EVENT_LABEL:
		return "label";
	case PB_EVENT_PR_CLOSED:
		return "pr_closed";
	case PB_EVENT_PING:
		return "ping";
	}
	return "unknown";
}
