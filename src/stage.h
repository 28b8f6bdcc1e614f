/* stage.h: what the pipeline's stage files share (private to src/) */
#ifndef PRBOT_STAGE_H
#define PRBOT_STAGE_H

#include "prbot/buf.h"
#include "prbot/pipeline.h"
#include "prbot/runner.h"

/*
 * A stage returns 0 when it did its work, 1 when it had nothing to do (it
 * sets a note saying why: the stage shows as skipped), or a negative code
 * with the failure set by pb_stage_fail().
 */
typedef int (*stage_fn)(struct pb_run_ctx *ctx, struct pb_stage_record *rec);

int pb_stage_checkout(struct pb_run_ctx *ctx, struct pb_stage_record *rec);
int pb_stage_setup(struct pb_run_ctx *ctx, struct pb_stage_record *rec);
int pb_stage_train(struct pb_run_ctx *ctx, struct pb_stage_record *rec);
int pb_stage_evaluate(struct pb_run_ctx *ctx, struct pb_stage_record *rec);
int pb_stage_upload(struct pb_run_ctx *ctx, struct pb_stage_record *rec);
int pb_stage_manifest(struct pb_run_ctx *ctx, struct pb_stage_record *rec);

/* Record rec's error (one line for a person); returns code. */
int pb_stage_fail(struct pb_stage_record *rec, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set rec's note. */
void pb_stage_note(struct pb_stage_record *rec, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append one line to the job log (redacted). */
void pb_job_log(struct pb_run_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The environment every child of this run gets: the scrubbed base, the
 * configured pass-through names, PRBOT_REPO/REF/SHA/JOB_ID/WORKSPACE, and the
 * venv in front of PATH when there is one.
 */
int pb_stage_env(struct pb_env *env, const struct pb_run_ctx *ctx);

/* Run "sh -c COMMAND" (or argv) in the project folder under the run's limits
 * and timeout; the child's wall time is added to rec->child_seconds. */
struct stage_cmd {
	const char *const *argv;
	const struct pb_env *env; /* NULL: pb_stage_env */
	const char *cwd;	  /* NULL: the project folder */
	long timeout_sec;	  /* 0: train.timeout */
	const char *stdin_data;
	size_t stdin_len;
	struct pb_buf *capture_stdout;
	struct pb_buf *tail; /* NULL: a local tail is used */
};

int pb_stage_exec(struct pb_run_ctx *ctx, struct pb_stage_record *rec,
		  const struct stage_cmd *cmd, struct pb_run_result *res);

/* path joined: a "/" b (caller frees); NULL when out of memory. */
char *pb_path_join(const char *a, const char *b);

/* The last non-empty line of text, at most max bytes (into out). */
void pb_last_line(char *out, size_t max, const char *text);

#endif
