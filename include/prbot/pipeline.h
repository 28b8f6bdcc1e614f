/* pipeline.h: the run context and the stages that fill it */
#ifndef PRBOT_PIPELINE_H
#define PRBOT_PIPELINE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

#include "prbot/checkout.h"
#include "prbot/config.h"
#include "prbot/evaluate.h"
#include "prbot/repoconf.h"
#include "prbot/store.h"

struct pb_redactor;
struct pb_run_ctx;

enum pb_stage_id {
	PB_STAGE_CHECKOUT = 0,
	PB_STAGE_SETUP,
	PB_STAGE_TRAIN,
	PB_STAGE_EVALUATE,
	PB_STAGE_UPLOAD,
	PB_STAGE_MANIFEST,
	PB_STAGE_COUNT
};

enum pb_stage_state {
	PB_STAGE_PENDING = 0,
	PB_STAGE_RUNNING,
	PB_STAGE_OK,
	PB_STAGE_SKIPPED,
	PB_STAGE_FAILED,
	PB_STAGE_CANCELLED
};

const char *pb_stage_name(enum pb_stage_id id);
const char *pb_stage_state_name(enum pb_stage_state s);

struct pb_stage_record {
	enum pb_stage_state state;
	double seconds;	      /* wall time of the stage */
	double child_seconds; /* of which in the user's own commands */
	char *note;	      /* owned or NULL: "environment reused" */
	char *error;	      /* owned or NULL: one line for a person */
};

/* How a run ended, in order of severity (the CLI's exit code follows). */
enum pb_outcome {
	PB_OUTCOME_SUCCEEDED = 0,
	PB_OUTCOME_FAILED,	 /* a stage, gate or test case failed */
	PB_OUTCOME_CONFIG_ERROR, /* .prbot.yml or bot.conf is wrong */
	PB_OUTCOME_CANCELLED
};

struct pb_job_info {
	const char *id; /* borrowed, all of them */
	const char *command;
	const char *actor;
	const char *source;
};

/* What the caller asks for; all borrowed for the run's duration. */
struct pb_run_request {
	const struct pb_config *cfg;
	const struct pb_redactor *redact;
	/* for cloning over http(s): a GitHub App's installation token, say;
	   NULL: cfg's [github] token */
	const char *token;
	struct pb_job_info job;
	const char *repo;
	const char *ref; /* may be NULL */
	const char *sha; /* may be NULL */
	const enum pb_stage_id *stages;
	size_t n_stages;
	atomic_int *cancel; /* may be NULL */
	/*
	 * Called by pb_pipeline_run() in its thread when each stage starts
	 * (its state is PB_STAGE_RUNNING) and when it ends (any other
	 * state); may be NULL. It must not free ctx.
	 */
	void (*on_stage)(const struct pb_run_ctx *ctx, enum pb_stage_id id,
			 void *arg);
	void *on_stage_arg;
};

struct pb_run_ctx {
	const struct pb_run_request *req; /* borrowed */
	char *job_dir;			  /* owned: WORKDIR/jobs/ID */
	char *log_path;			  /* owned: JOB_DIR/job.log */
	int log_fd;

	struct pb_checkout co;
	int have_checkout;
	struct pb_repo_config *rc; /* owned */
	char *venv;		   /* owned or NULL */
	char *notebook_out;	   /* owned: the executed notebook, or NULL */
	char *model_path;	   /* owned: absolute path in the workspace */
	struct pb_metrics metrics;
	struct pb_gate_result *gates; /* owned array of rc->evaluate.n_gates */
	size_t n_gates;
	struct pb_case_result *cases; /* owned */
	size_t n_cases;
	struct pb_put_result artifact;
	int have_artifact;
	json_t *manifest;    /* owned reference */
	char *manifest_path; /* owned: the copy next to the artifact */

	struct pb_stage_record stages[PB_STAGE_COUNT];
	enum pb_outcome outcome;
	char *error; /* owned: the first failure, one line, or NULL */
};

/*
 * Run req's stages in order into ctx (which the caller releases with
 * pb_run_ctx_release, whatever this returns). A stage that fails marks the
 * later ones skipped. Returns 0 when the run could be attempted (look at
 * ctx->outcome), negative when the job folder could not be set up.
 */
int pb_pipeline_run(struct pb_run_ctx *ctx, const struct pb_run_request *req);
void pb_run_ctx_release(struct pb_run_ctx *ctx);

/* The whole result as one JSON object (new reference). */
json_t *pb_report_json(const struct pb_run_ctx *ctx);

/* The report as Markdown (caller frees), from pb_report_json's object. */
char *pb_report_markdown(const json_t *report);

#endif
