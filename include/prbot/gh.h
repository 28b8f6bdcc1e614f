/* gh.h: the GitHub calls prbot makes, and their authentication */
#ifndef PRBOT_GH_H
#define PRBOT_GH_H

#include <stddef.h>
#include <time.h>

#include "prbot/config.h"
#include "prbot/http_client.h"

/*
 * Every call below is one pb_http_request() (pagination: one per page), so
 * each fails as that function says: PB_ENOTFOUND for a missing repository,
 * pull request or comment, PB_EPERM, PB_ERATELIMIT, PB_ETIMEOUT, ..., with a
 * message naming the method, path, status and GitHub's request id, never the
 * token. A call also fails with PB_EINVAL, before any request, when an
 * argument would not make a well-formed path (repo must be "OWNER/NAME"),
 * and with PB_ERROR when GitHub's answer lacks a field prbot needs.
 *
 * A repository is named "OWNER/NAME" throughout; it also picks the GitHub
 * App installation whose token authenticates the call.
 */
struct pb_gh;

struct pb_gh_opts {
	const char *api_url;	 /* default "https://api.github.com"; GitHub
				    Enterprise: "https://HOST/api/v3" */
	const char *token;	 /* a personal or fine-grained token; or: */
	const char *app_id;	 /* a GitHub App's id (or client id) and */
	const char *private_key; /* its private key, PEM text */
	/* timeouts, retries, waits and hooks; http.now also dates the App
	   JWT and the installation token cache */
	struct pb_http_opts http;
};

/* Defaults, with pb_http_opts_init() for http. */
void pb_gh_opts_init(struct pb_gh_opts *o);

/* Defaults, then [github] of c (pointers borrowed from c). */
void pb_gh_opts_from_config(struct pb_gh_opts *o, const struct pb_config *c);

/*
 * A client: base URL, credentials (copied), the HTTP client and, for an
 * App, the installation tokens cached per installation until five minutes
 * before they expire. Thread-safe: the caches take a mutex. Create it before
 * threads start (libcurl is initialised here). PB_EINVAL when neither a
 * token nor app_id with private_key is given, when both are, or when the
 * private key is not a PEM RSA key. Caller owns *out: pb_gh_free().
 */
int pb_gh_new(struct pb_gh **out, const struct pb_gh_opts *o);
void pb_gh_free(struct pb_gh *gh);

/*
 * The token that authenticates calls on repo: the personal token, or the
 * App installation's token (fetched or taken from the cache). Use it to
 * clone over HTTPS (user x-access-token). Caller owns *out; wipe it with
 * pb_gh_token_free().
 */
int pb_gh_token(struct pb_gh *gh, char **out, const char *repo);
void pb_gh_token_free(char *token);

/* The GraphQL endpoint for api_url (GitHub Enterprise: HOST/api/graphql). */
const char *pb_gh_graphql_url(const struct pb_gh *gh);

/*
 * A GitHub App JWT (RS256) for app_id signed with the PEM private key:
 * iat = now - 60 (clock drift), exp = now + 9 minutes, iss = app_id (a
 * number when it is all digits). Caller owns *out (free()). PB_EINVAL when
 * the key is not a PEM RSA private key; the key never appears in a message.
 */
int pb_gh_app_jwt(char **out, const char *app_id, const char *private_key,
		  time_t now);

/* A pull request as prbot needs it. Strings owned; release to free. */
struct pb_gh_pr {
	long number;
	char *state; /* "open" or "closed" */
	int merged;  /* 1 when merged */
	char *title;
	char *html_url;
	char *user_login;     /* who opened it */
	char *head_sha;	      /* 40 hex */
	char *head_ref;	      /* branch name in the head repository */
	char *head_repo;      /* "OWNER/NAME"; NULL when the fork was deleted */
	char *head_clone_url; /* NULL when the fork was deleted */
	char *base_ref;
	char *base_repo; /* "OWNER/NAME" */
	int from_fork;	 /* head repository is not the base (or is gone) */
};

/* GET /repos/{repo}/pulls/{number} */
int pb_gh_pr_get(struct pb_gh *gh, struct pb_gh_pr *out, const char *repo,
		 long number);
void pb_gh_pr_release(struct pb_gh_pr *pr);

/*
 * GET /repos/{repo}/collaborators/{user}/permission. role_name tells
 * maintain and triage apart; permission (admin, write, read, none) is the
 * fallback for custom roles. PB_ERROR when neither is a known level.
 */
int pb_gh_permission(struct pb_gh *gh, enum pb_perm *out, const char *repo,
		     const char *user);

/* An issue comment. Strings owned; may be NULL when GitHub left them out. */
struct pb_gh_comment {
	long long id;
	char *node_id; /* for GraphQL (minimize) */
	char *html_url;
	char *user_login;
	int user_is_bot; /* user.type is "Bot" */
	char *body;
	char *created_at; /* ISO 8601 */
};

void pb_gh_comment_release(struct pb_gh_comment *c);

/* POST /repos/{repo}/issues/{issue}/comments; out may be NULL. */
int pb_gh_comment_create(struct pb_gh *gh, struct pb_gh_comment *out,
			 const char *repo, long issue, const char *body);

/* PATCH /repos/{repo}/issues/comments/{id}; out may be NULL. */
int pb_gh_comment_update(struct pb_gh *gh, struct pb_gh_comment *out,
			 const char *repo, long long id, const char *body);

struct pb_gh_comments {
	struct pb_gh_comment *v; /* owned, oldest first */
	size_t n;
	int truncated; /* 1 when max_pages ran out before the last page */
};

/*
 * GET /repos/{repo}/issues/{issue}/comments, 100 a page, following the
 * Link header's next page (only on api_url's host, so the token never goes
 * elsewhere) for at most max_pages pages (0: 10).
 */
int pb_gh_comments_list(struct pb_gh *gh, struct pb_gh_comments *out,
			const char *repo, long issue, size_t max_pages);
void pb_gh_comments_release(struct pb_gh_comments *l);

/*
 * POST /repos/{repo}/issues/comments/{id}/reactions with content one of
 * GitHub's: +1, -1, laugh, confused, heart, hooray, rocket, eyes. A
 * reaction already there is success.
 */
int pb_gh_reaction_add(struct pb_gh *gh, const char *repo, long long id,
		       const char *content);

enum pb_gh_state {
	PB_GH_PENDING = 0,
	PB_GH_SUCCESS,
	PB_GH_FAILURE,
	PB_GH_ERROR
};

/* "pending", "success", "failure", "error" */
const char *pb_gh_state_name(enum pb_gh_state s);

/*
 * POST /repos/{repo}/statuses/{sha} with context "prbot/COMMAND", the
 * description cut to GitHub's 140 characters (UTF-8 aware, ending in "…"
 * when cut) and target_url (may be NULL).
 */
int pb_gh_status_create(struct pb_gh *gh, const char *repo, const char *sha,
			enum pb_gh_state state, const char *command,
			const char *description, const char *target_url);

/*
 * DELETE /repos/{repo}/issues/{issue}/labels/{label}. PB_ENOTFOUND when the
 * label is not on the issue (or the issue does not exist).
 */
int pb_gh_label_remove(struct pb_gh *gh, const char *repo, long issue,
		       const char *label);

/*
 * GraphQL minimizeComment(subjectId: node_id, classifier: OUTDATED) on the
 * comment node_id of repo. A GraphQL error answer fails: PB_ENOTFOUND for
 * an unknown node, PB_EPERM when refused, PB_ERROR otherwise, with
 * GitHub's message.
 */
int pb_gh_comment_minimize(struct pb_gh *gh, const char *repo,
			   const char *node_id);

/* ---- what /deploy reads and writes ---- */

/* A review of a pull request. Strings owned. */
struct pb_gh_review {
	char *user_login;
	char *state; /* APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED,
			PENDING */
};

struct pb_gh_reviews {
	struct pb_gh_review *v; /* owned, oldest first */
	size_t n;
};

/* GET /repos/{repo}/pulls/{pr}/reviews (the first 100). */
int pb_gh_reviews_list(struct pb_gh *gh, struct pb_gh_reviews *out,
		       const char *repo, long pr);
void pb_gh_reviews_release(struct pb_gh_reviews *l);

/*
 * A check on a commit: a commit status (its context) or a check run (its
 * name), and its state in one vocabulary: "success", "pending" (a status
 * pending, a run queued or in progress), or what went wrong ("failure",
 * "error", "cancelled", "timed_out", "action_required", ...). A check run
 * concluded "neutral" or "skipped" counts as "success". Strings owned.
 */
struct pb_gh_check {
	char *name;
	char *state;
	int is_run; /* 1: a check run; 0: a commit status */
};

struct pb_gh_checks {
	struct pb_gh_check *v; /* owned: the statuses, then the runs */
	size_t n;
};

/*
 * GET /repos/{repo}/commits/{sha}/status (the latest status of each
 * context) and GET /repos/{repo}/commits/{sha}/check-runs (the first 100
 * of each).
 */
int pb_gh_checks_list(struct pb_gh *gh, struct pb_gh_checks *out,
		      const char *repo, const char *sha);
void pb_gh_checks_release(struct pb_gh_checks *l);

/*
 * POST /repos/{repo}/deployments for the commit sha and environment, with
 * auto_merge false and required_contexts [] (prbot checked what the
 * environment requires itself). *id gets the deployment's id.
 */
int pb_gh_deployment_create(struct pb_gh *gh, long long *id, const char *repo,
			    const char *sha, const char *environment,
			    const char *description);

/*
 * POST /repos/{repo}/deployments/{id}/statuses: state is one of GitHub's
 * (in_progress, success, failure, error, queued, pending, inactive);
 * log_url and description may be NULL (description cut to 140).
 */
int pb_gh_deployment_status(struct pb_gh *gh, const char *repo, long long id,
			    const char *state, const char *log_url,
			    const char *description);

#endif
