/* event.h: the normalized event every source (GitHub, Slack, cron, CLI) makes
 */
#ifndef PRBOT_EVENT_H
#define PRBOT_EVENT_H

/*
 * A source verifies where its input came from and fills one struct pb_event;
 * nothing after it (commands, authorization, jobs) knows which source it was,
 * except through the reply handle it hands back unread.
 */

enum pb_event_source {
	PB_SOURCE_GITHUB = 0,
	PB_SOURCE_SLACK,
	PB_SOURCE_CRON,
	PB_SOURCE_CLI
};

enum pb_event_kind {
	PB_EVENT_COMMENT = 0, /* a comment to read commands from (text) */
	PB_EVENT_LABEL,	      /* a label mapped in [labels]: text is the
				 mapped command text, label the label */
	PB_EVENT_PR_CLOSED,   /* a pull request was closed (merged or not):
				 release what it holds; text is NULL */
	PB_EVENT_PING	      /* the source checks we are there (GitHub's
				 ping on webhook creation); text is its zen */
};

/* Where a PR's head commits come from; zero (the default) is "unknown", so
 * an event nobody filled in never passes for a same-repository PR. */
enum pb_head_origin {
	PB_HEAD_UNKNOWN = 0, /* the payload does not say: read the PR */
	PB_HEAD_SAME_REPO,   /* a branch of repo itself */
	PB_HEAD_FORK	     /* another repository (or a deleted fork) */
};

enum pb_actor_type {
	PB_ACTOR_USER = 0, /* a person (GitHub "User", "Organization") */
	PB_ACTOR_BOT	   /* an automated account (GitHub "Bot") */
};

/*
 * Every pointer is owned by the event and freed by pb_event_release(); a
 * pointer is NULL when the source does not know the value. Numbers are 0
 * when unknown (GitHub's ids and numbers start at 1).
 */
struct pb_event {
	enum pb_event_source source;
	enum pb_event_kind kind;
	char *delivery; /* dedupe key: GitHub's X-GitHub-Delivery */

	char *repo;	/* OWNER/NAME of the base repository */
	long long pr;	/* pull request number, 0 when not on a PR */
	char *sha;	/* head commit (40 or 64 lowercase hex) when the
			   payload carries it; NULL for a comment, whose
			   PR must be read to learn it */
	char *base_ref; /* PR base branch when known ("main") */
	char *head_ref; /* PR head branch when known */

	/* the PR's head repository, when the payload says (pull_request
	   events); head_repo is NULL and head_origin PB_HEAD_FORK when the
	   fork was deleted */
	char *head_repo;      /* OWNER/NAME */
	char *head_clone_url; /* https clone URL of head_repo */
	enum pb_head_origin head_origin;

	char *actor; /* login of who wrote the comment or added the label */
	enum pb_actor_type actor_type;

	char *text;  /* comment body, or the mapped command text of a label */
	char *label; /* PB_EVENT_LABEL: the label's name */
	int merged;  /* PB_EVENT_PR_CLOSED: 1 when the PR was merged */

	long long comment_id;	   /* for reactions and dedupe by comment */
	char *comment_node_id;	   /* GraphQL id, for minimizing comments */
	long long installation_id; /* GitHub App installation, 0 when the
				      delivery came from a plain webhook */

	/*
	 * Where the answer goes, for the source's own client only: for GitHub
	 * the API path of the PR's comments under [github] api_url
	 * ("/repos/OWNER/NAME/issues/N/comments"); for Slack the response_url.
	 */
	char *reply;
};

/* Free every owned string and zero ev (kinds and numbers included), so
 * the event can be filled again. NULL is a no-op. */
void pb_event_release(struct pb_event *ev);

/* "github", "slack", "cron", "cli": the job's source in reports and the
 * manifest. Static strings. */
const char *pb_event_source_name(enum pb_event_source s);

/* "comment", "label", "pr_closed", "ping". Static strings. */
const char *pb_event_kind_name(enum pb_event_kind k);

#endif
