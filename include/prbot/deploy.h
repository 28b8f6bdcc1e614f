/* deploy.h: /deploy and /rollback: checks, publish, history, GitHub */
#ifndef PRBOT_DEPLOY_H
#define PRBOT_DEPLOY_H

#include <jansson.h>
#include <stdint.h>

#include "prbot/buf.h"
#include "prbot/config.h"
#include "prbot/gh.h"
#include "prbot/repoconf.h"
#include "prbot/state.h"

/* ---- checks (no I/O: src/deploy_check.c) ---- */

/*
 * The environment named name in rc's deploy section (name NULL: the first
 * one). NULL with a message for a person when rc has no deploy section or
 * no such environment: the message lists the environments there are.
 */
const struct pb_environment *pb_deploy_env_find(const struct pb_repo_config *rc,
						const char *name);

/*
 * What env's requires: lack, given the pull request's reviews and the
 * commit's checks (either may be NULL when env does not require it). Each
 * requirement not met appends one Markdown list line to why ("- approved:
 * changes requested by @bob"). "approved": at least one reviewer whose
 * latest approving or blocking review approves, and nobody's requests
 * changes (a dismissed review counts as none). "checks": every commit
 * status and check run other than prbot's own ("prbot/...") is successful;
 * pending and failing ones are named. An unknown requirement is not met.
 * Returns how many requirements are not met (0: deploy), or a negative
 * code (out of memory).
 */
int pb_deploy_requires(struct pb_buf *why, const struct pb_environment *env,
		       const struct pb_gh_reviews *reviews,
		       const struct pb_gh_checks *checks);

/*
 * The environment a /deploy or /rollback job targets, from its args (a JSON
 * array as stored): /rollback's first word, /deploy's word that is not a
 * flag, else default_env. NULL for another command, and for a dry run,
 * which changes nothing. Borrowed from args or default_env.
 */
const char *pb_deploy_job_env(const char *command, const json_t *args,
			      const char *default_env);

/*
 * The older job of jobs (a pull request's) that is deploying to or rolling
 * back env of that pull request now: running, with an id under me, and
 * pb_deploy_job_env() env, or for a /deploy that recorded the environment
 * it resolved (pb_state_job_set_environment()), that one. A /deploy that
 * names no environment and has recorded none counts for every env when
 * default_env is NULL (a /rollback has no checkout to read it from). NULL
 * when there is none: the oldest of two runs on, the newer is refused (both
 * see each other running).
 */
const struct pb_job *pb_deploy_running(const struct pb_job_list *jobs,
				       int64_t me, const char *env,
				       const char *default_env);

/*
 * The manifest a serving repository gets: a copy of the evaluation's
 * manifest with version and environment set. Its other keys are the
 * evaluation's, so the same model and commit deployed again give the same
 * bytes: model_uploaded_utc is when the artifact was uploaded and job names
 * the job that evaluated it, not the deploy job (the deploy is recorded in
 * the history and in the commit message). New reference, or NULL.
 */
json_t *pb_deploy_manifest(const json_t *evaluated, const char *version,
			   const char *environment);

/* ---- the deploy and the rollback (src/deploy.c, in prbot-job) ---- */

enum pb_deploy_outcome {
	PB_DEPLOY_DONE = 0, /* published, already deployed, or a dry run */
	PB_DEPLOY_REFUSED,  /* a check said no: nothing was changed */
	PB_DEPLOY_FAILED    /* the publish failed: nothing was pushed */
};

/* What a deploy needs; all borrowed for the call. */
struct pb_deploy_req {
	const struct pb_config *cfg;
	struct pb_state *st;
	struct pb_gh *gh;	 /* NULL: no GitHub (requires: refused) */
	const char *repo;	 /* OWNER/NAME */
	int64_t pr;		 /* > 0 */
	const char *sha;	 /* the commit evaluated and deployed */
	const char *actor;	 /* who asked */
	const char *job_id;	 /* "j-12" */
	int64_t job_row;	 /* 12 */
	const char *environment; /* NULL: the first of .prbot.yml */
	const char *version;	 /* /rollback VERSION, or NULL */
	int dry_run;
	const char *token;   /* for http(s) serving repositories, or NULL */
	const char *log_url; /* the report comment, or NULL */
	/* /deploy only: the checkout and its evaluation */
	const struct pb_repo_config *rc;
	const char *source_root; /* the project folder of the checkout */
	const json_t *manifest;	 /* the evaluation's manifest */
	int passed;		 /* every gate and test case passed */
	const char *scratch;	 /* /rollback: a folder it may create */
};

struct pb_deploy_result {
	enum pb_deploy_outcome outcome;
	struct pb_buf md; /* the Markdown for the PR comment */
	char *status;	  /* owned: one line for the commit status */
};

void pb_deploy_result_release(struct pb_deploy_result *r);

/*
 * /deploy: find the environment, refuse when the evaluation did not pass,
 * when another pull request holds the environment's lock or when a
 * requirement is not met; else take the lock (not for a dry run), create a
 * GitHub deployment (in_progress), publish the inference files and the
 * manifest (pb_publish), set the deployment's status, and record the
 * deployment in the state store. Returns 0 with out filled (outcome says
 * how it went), or a negative code when the store failed.
 */
int pb_deploy_run(struct pb_deploy_result *out, const struct pb_deploy_req *q);

/*
 * /rollback ENV [VERSION]: republish the files and the manifest of the
 * deployment before the current one of ENV (or of VERSION) as a new commit
 * and tag, with the same checks of the lock, the same GitHub deployment
 * and the same record (kind "rollback"). Refused when there is nothing to
 * roll back to.
 */
int pb_rollback_run(struct pb_deploy_result *out,
		    const struct pb_deploy_req *q);

/*
 * /status's section: what each environment of repo has now (Markdown
 * table), or nothing when nothing was deployed.
 */
int pb_deploy_status(struct pb_buf *b, struct pb_state *st, const char *repo);

#endif
