/* state_eval.c: evaluations per repository, ref and commit, and baselines */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/state.h"
#include "state_db.h"
#include "banned.h"

static const char SQL_EVAL_PUT[] =
	"INSERT INTO evaluations (repo, ref, sha, job_id, metrics, passed, "
	"created_at) VALUES (?1, ?2, ?3, NULLIF(?4, 0), ?5, ?6, ?7)";
static const char SQL_EVAL_LATEST[] =
	"SELECT id, repo, ref, sha, job_id, metrics, passed, created_at"
	" FROM evaluations WHERE repo = ?1 AND ref = ?2 AND passed = 1"
	" ORDER BY created_at DESC, id DESC LIMIT 1";
static const char SQL_EVAL_HISTORY[] =
	"SELECT id, repo, ref, sha, job_id, metrics, passed, created_at"
	" FROM evaluations WHERE repo = ?1 AND ref = ?2"
	" ORDER BY created_at DESC, id DESC LIMIT ?3";

void pb_evaluation_release(struct pb_evaluation *e)
{
	if (!e)
		return;
	/* const for the borrowed input case; these are ours to free */
	free((char *)e->repo);
	free((char *)e->ref);
	free((char *)e->sha);
	free((char *)e->metrics);
	memset(e, 0, sizeof(*e));
}

int pb_state_evaluation_add(struct pb_state *st, const struct pb_evaluation *e,
			    int64_t *id)
{
	int rc;

	if (!e->repo || !e->ref || !e->sha || !e->metrics)
		return pb_err_setc(PB_EINVAL,
				   "cannot store an evaluation without its "
				   "repository, ref, commit and metrics");
	if ((rc = pb_db_begin(st, 1, "store the evaluation of %s@%.40s",
			      e->repo, e->sha)) < 0)
		return rc;
	rc = pb_db_exec(st, SQL_EVAL_PUT, "tttitni", e->repo, e->ref, e->sha,
			e->job_id, e->metrics, e->passed ? 1 : 0,
			e->created_at);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return pb_db_end(st, rc);
}

static int eval_read(struct pb_evaluation *e, sqlite3_stmt *s)
{
	int oom = 0;

	e->id = sqlite3_column_int64(s, 0);
	e->repo = pb_db_col_dup(s, 1, &oom);
	e->ref = pb_db_col_dup(s, 2, &oom);
	e->sha = pb_db_col_dup(s, 3, &oom);
	e->job_id = sqlite3_column_int64(s, 4);
	e->metrics = pb_db_col_dup(s, 5, &oom);
	e->passed = sqlite3_column_int(s, 6);
	e->created_at = sqlite3_column_int64(s, 7);
	if (oom) {
		pb_evaluation_release(e);
		return pb_err_set("out of memory");
	}
	return 0;
}

int pb_state_evaluation_latest(struct pb_state *st, const char *repo,
			       const char *ref, struct pb_evaluation *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!repo || !ref)
		return pb_err_setc(PB_EINVAL, "cannot look up a baseline "
					      "without its repository and ref");
	if ((rc = pb_db_begin(st, 0, "read the baseline of %s@%s", repo, ref)) <
	    0)
		return rc;
	if ((rc = pb_db_row(st, &s, SQL_EVAL_LATEST, "tt", repo, ref)) < 0)
		goto out;
	if (rc == 0)
		rc = pb_err_setc(PB_ENOTFOUND,
				 "no passing evaluation of '%s' in %s yet: "
				 "evaluate it first, or give another "
				 "baseline=REF",
				 ref, repo);
	else
		rc = eval_read(out, s);
out:
	return pb_db_end(st, rc);
}

void pb_evaluation_list_release(struct pb_evaluation_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		pb_evaluation_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* The rows of s (newest first) into out, oldest first. */
static int history_collect(struct pb_state *st, sqlite3_stmt *s, size_t n,
			   struct pb_evaluation_list *out)
{
	struct pb_evaluation tmp;
	size_t i;
	int rc = 0;

	if (!(out->v = calloc(n, sizeof(*out->v))))
		return pb_err_set("out of memory");
	while (out->n < n && (rc = pb_db_step(st, s)) == 1) {
		if ((rc = eval_read(&out->v[out->n], s)) < 0)
			return rc;
		out->n++;
	}
	if (rc < 0)
		return rc;
	for (i = 0; i < out->n / 2; i++) {
		tmp = out->v[i];
		out->v[i] = out->v[out->n - 1 - i];
		out->v[out->n - 1 - i] = tmp;
	}
	return 0;
}

int pb_state_evaluation_history(struct pb_state *st, const char *repo,
				const char *ref, size_t n,
				struct pb_evaluation_list *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!repo || !ref)
		return pb_err_setc(PB_EINVAL, "cannot read the history of "
					      "evaluations without its "
					      "repository and ref");
	if (n < 1 || n > PB_STATE_HISTORY_MAX)
		return pb_err_setc(PB_EINVAL,
				   "cannot read %zu evaluations of %s@%s: "
				   "ask for 1 to %d",
				   n, repo, ref, PB_STATE_HISTORY_MAX);
	if ((rc = pb_db_begin(st, 0, "read the history of %s@%s", repo, ref)) <
	    0)
		return rc;
	if ((rc = pb_db_stmt(st, &s, SQL_EVAL_HISTORY, "tti", repo, ref,
			     (int64_t)n)) == 0)
		rc = history_collect(st, s, n, out);
	rc = pb_db_end(st, rc);
	if (rc < 0)
		pb_evaluation_list_release(out);
	return rc;
}
