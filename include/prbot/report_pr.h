/* report_pr.h: what the worker posts on a pull request, as Markdown */
#ifndef PRBOT_REPORT_PR_H
#define PRBOT_REPORT_PR_H

#include <jansson.h>
#include <stddef.h>

#include "prbot/buf.h"
#include "prbot/command.h"
#include "prbot/config.h"
#include "prbot/pipeline.h"
#include "prbot/state.h"

/*
 * Every function appending to a struct pb_buf returns 0 or the negative
 * code of the failed append (which, as pb_buf does, released the buffer).
 */

/* GitHub's limit on a comment body, in characters. */
#define PB_PR_COMMENT_MAX 65536

/*
 * md unchanged (a copy) when it has at most max bytes, else cut in the
 * middle to at most max bytes: the head (the title, SHA, stages, metrics,
 * gates...) and the tail from the last "### Manifest" heading on (or the
 * last quarter when the manifest alone is too long) are kept, with a line
 * between saying how many bytes were cut. Cuts fall on UTF-8 character
 * boundaries and a code fence left open by the cut is closed. Bytes bound
 * characters, so the result is a valid GitHub comment for max =
 * PB_PR_COMMENT_MAX. NULL when out of memory or max is under 1024.
 * Caller frees.
 */
char *pb_pr_comment_cut(const char *md, size_t max);

/* The level cmd needs: [permissions] of cfg (cfg may be NULL), else its own. */
enum pb_perm pb_pr_command_level(const struct pb_command *cmd,
				 const struct pb_config *cfg);

/*
 * The invisible first line of every report comment prbot posts for a
 * pipeline command: "<!-- prbot:result command=COMMAND job=JOB_ID -->\n".
 * It is how the worker finds its own older results of a command on a PR to
 * minimize them (with the comment's author: anyone can paste the text).
 */
int pb_pr_marker(struct pb_buf *b, const char *command, const char *job_id);

/*
 * 1 when body opens (after blank space) with the marker of command, else 0.
 * The marker's job id is copied into job (job_size > 0: cut to fit, always
 * terminated) when job is not NULL.
 */
int pb_pr_marker_parse(const char *body, const char *command, char *job,
		       size_t job_size);

/*
 * The report comment while the run goes on: the marker (pb_pr_marker()), a
 * title naming the command,
 * the job and the full SHA, then one checklist line per stage of stages
 * with its state and, once it ended, its duration. recs (indexed by stage
 * id) may be NULL: every stage pending. note (or NULL) is a line shown
 * under the title ("Retry: attempt 2 of 3").
 */
int pb_pr_checklist(struct pb_buf *b, const char *command, const char *job_id,
		    const char *sha, const char *note,
		    const enum pb_stage_id *stages, size_t n,
		    const struct pb_stage_record *recs);

/*
 * A "### Baseline" section: each metric of the run's metrics (a JSON object
 * of numbers), the baseline's value (base->metrics, JSON text) and the
 * change. Metrics the baseline lacks show "—". Nothing is appended when
 * metrics is empty. base->metrics that is not a JSON object counts as empty.
 */
int pb_pr_baseline(struct pb_buf *b, const json_t *metrics,
		   const struct pb_evaluation *base);

/*
 * The "### Baseline" section when baseline=REF had no stored evaluation and
 * evaluating it failed: one quoted line naming ref and why (its first line,
 * without a final period).
 */
int pb_pr_baseline_failed(struct pb_buf *b, const char *ref, const char *why);

/*
 * /help: every command of the table with usage, summary and level (from cfg,
 * which may be NULL), as a Markdown table for a PR or, markdown = 0, as
 * aligned text lines for a terminal ('prbot run help').
 */
int pb_pr_help(struct pb_buf *b, const struct pb_config *cfg, int markdown);

/* /status: the jobs as a Markdown table, newest first. */
int pb_pr_status(struct pb_buf *b, const char *repo, long long pr,
		 const struct pb_job_list *jobs);

#endif
