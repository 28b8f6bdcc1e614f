/* state_deploy.c: the deploy history, and the evaluation a deploy reuses */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/state.h"
#include "state_db.h"
#include "banned.h"

#define DEPLOY_COLUMNS                                                     \
	"id, repo, environment, version, serving_repo, serving_branch, "   \
	"serving_path, serving_commit, manifest, pr, sha, actor, job_id, " \
	"kind, created_at, version_schema"

static const char SQL_DEPLOY_PUT[] =
	"INSERT INTO deployments (repo, environment, version, serving_repo,"
	" serving_branch, serving_path, serving_commit, manifest, pr, sha,"
	" actor, job_id, kind, created_at, version_schema) VALUES (?1, ?2,"
	" ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULLIF(?12, 0), ?13, ?14,"
	" ?15)";
static const char SQL_DEPLOYS_OF_ENV[] =
	"SELECT " DEPLOY_COLUMNS " FROM deployments"
	" WHERE repo = ?1 AND environment = ?2 ORDER BY id DESC"
	" LIMIT ?3";
static const char SQL_DEPLOYED[] =
	"SELECT " DEPLOY_COLUMNS " FROM deployments WHERE id IN"
	" (SELECT max(id) FROM deployments WHERE repo = ?1"
	" GROUP BY environment) ORDER BY environment";
static const char SQL_EVAL_OF_SHA[] =
	"SELECT id, repo, ref, sha, job_id, metrics, passed, created_at"
	" FROM evaluations WHERE repo = ?1 AND sha = ?2 AND passed = 1"
	" ORDER BY created_at DESC, id DESC LIMIT 1";

void pb_deployment_release(struct pb_deployment *d)
{
	if (!d)
		return;
	/* const for the borrowed input case; these are ours to free */
	free((char *)d->repo);
	free((char *)d->environment);
	free((char *)d->version);
	free((char *)d->serving_repo);
	free((char *)d->serving_branch);
	free((char *)d->serving_path);
	free((char *)d->serving_commit);
	free((char *)d->manifest);
	free((char *)d->sha);
	free((char *)d->actor);
	free((char *)d->kind);
	free((char *)d->version_schema);
	memset(d, 0, sizeof(*d));
}

void pb_deployment_list_release(struct pb_deployment_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		pb_deployment_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int pb_state_deployment_add(struct pb_state *st, const struct pb_deployment *d,
			    int64_t *id)
{
	const char *schema = d->version_schema;
	int rc;

	if (!d->repo || !d->environment || !d->version || !d->serving_repo ||
	    !d->serving_branch || !d->serving_path || !d->serving_commit ||
	    !d->manifest || !d->sha || !d->actor || !d->kind)
		return pb_err_setc(PB_EINVAL,
				   "cannot store a deployment without its "
				   "repository, environment, version, serving "
				   "repository and commit, manifest, commit, "
				   "actor and kind");
	if (strcmp(d->kind, "deploy") && strcmp(d->kind, "rollback"))
		return pb_err_setc(PB_EINVAL,
				   "a deployment is a 'deploy' or a "
				   "'rollback', not '%s'",
				   d->kind);
	if (schema && strcmp(schema, "major") && strcmp(schema, "minor") &&
	    strcmp(schema, "revision"))
		return pb_err_setc(PB_EINVAL,
				   "a deployment's version schema is 'major', "
				   "'minor' or 'revision', not '%s'",
				   schema);
	if ((rc = pb_db_begin(st, 1, "record the deployment of %s to '%s'",
			      d->version, d->environment)) < 0)
		return rc;
	rc = pb_db_exec(st, SQL_DEPLOY_PUT, "ttttttttittitit", d->repo,
			d->environment, d->version, d->serving_repo,
			d->serving_branch, d->serving_path, d->serving_commit,
			d->manifest, d->pr, d->sha, d->actor, d->job_id,
			d->kind, d->created_at, schema ? schema : "revision");
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return pb_db_end(st, rc);
}

static int deploy_read(struct pb_deployment *d, sqlite3_stmt *s)
{
	int oom = 0;

	d->id = sqlite3_column_int64(s, 0);
	d->repo = pb_db_col_dup(s, 1, &oom);
	d->environment = pb_db_col_dup(s, 2, &oom);
	d->version = pb_db_col_dup(s, 3, &oom);
	d->serving_repo = pb_db_col_dup(s, 4, &oom);
	d->serving_branch = pb_db_col_dup(s, 5, &oom);
	d->serving_path = pb_db_col_dup(s, 6, &oom);
	d->serving_commit = pb_db_col_dup(s, 7, &oom);
	d->manifest = pb_db_col_dup(s, 8, &oom);
	d->pr = sqlite3_column_int64(s, 9);
	d->sha = pb_db_col_dup(s, 10, &oom);
	d->actor = pb_db_col_dup(s, 11, &oom);
	d->job_id = sqlite3_column_int64(s, 12);
	d->kind = pb_db_col_dup(s, 13, &oom);
	d->created_at = sqlite3_column_int64(s, 14);
	d->version_schema = pb_db_col_dup(s, 15, &oom);
	if (oom) {
		pb_deployment_release(d);
		return pb_err_set("out of memory");
	}
	return 0;
}

static int deploys_collect(struct pb_state *st, sqlite3_stmt *s,
			   struct pb_deployment_list *out)
{
	struct pb_deployment *grown;
	int rc;

	while ((rc = pb_db_step(st, s)) > 0) {
		grown = realloc(out->v, (out->n + 1) * sizeof(*grown));
		if (!grown)
			return pb_err_set("out of memory");
		out->v = grown;
		memset(&out->v[out->n], 0, sizeof(out->v[0]));
		if ((rc = deploy_read(&out->v[out->n], s)) < 0)
			return rc;
		out->n++;
	}
	return rc;
}

int pb_state_deployments(struct pb_state *st, const char *repo,
			 const char *environment, size_t limit,
			 struct pb_deployment_list *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!repo || !environment)
		return pb_err_setc(PB_EINVAL,
				   "cannot list deployments without a "
				   "repository and environment");
	if ((rc = pb_db_begin(st, 0, "list the deployments of '%s' of %s",
			      environment, repo)) < 0)
		return rc;
	if ((rc = pb_db_stmt(st, &s, SQL_DEPLOYS_OF_ENV, "tti", repo,
			     environment, limit ? (int64_t)limit : -1)) == 0)
		rc = deploys_collect(st, s, out);
	rc = pb_db_end(st, rc);
	if (rc < 0)
		pb_deployment_list_release(out);
	return rc;
}

int pb_state_deployed(struct pb_state *st, const char *repo,
		      struct pb_deployment_list *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!repo)
		return pb_err_setc(PB_EINVAL, "cannot list deployments "
					      "without a repository");
	if ((rc = pb_db_begin(st, 0, "list what is deployed from %s", repo)) <
	    0)
		return rc;
	if ((rc = pb_db_stmt(st, &s, SQL_DEPLOYED, "t", repo)) == 0)
		rc = deploys_collect(st, s, out);
	rc = pb_db_end(st, rc);
	if (rc < 0)
		pb_deployment_list_release(out);
	return rc;
}

int pb_state_evaluation_of_sha(struct pb_state *st, const char *repo,
			       const char *sha, struct pb_evaluation *out)
{
	sqlite3_stmt *s;
	int oom = 0, rc;

	memset(out, 0, sizeof(*out));
	if (!repo || !sha)
		return pb_err_setc(PB_EINVAL, "cannot look up an evaluation "
					      "without its repository and "
					      "commit");
	if ((rc = pb_db_begin(st, 0, "read the evaluation of %s@%.40s", repo,
			      sha)) < 0)
		return rc;
	if ((rc = pb_db_row(st, &s, SQL_EVAL_OF_SHA, "tt", repo, sha)) < 0)
		goto out;
	if (rc == 0) {
		rc = pb_err_setc(PB_ENOTFOUND,
				 "no passing evaluation of %.12s in %s yet",
				 sha, repo);
		goto out;
	}
	out->id = sqlite3_column_int64(s, 0);
	out->repo = pb_db_col_dup(s, 1, &oom);
	out->ref = pb_db_col_dup(s, 2, &oom);
	out->sha = pb_db_col_dup(s, 3, &oom);
	out->job_id = sqlite3_column_int64(s, 4);
	out->metrics = pb_db_col_dup(s, 5, &oom);
	out->passed = sqlite3_column_int(s, 6);
	out->created_at = sqlite3_column_int64(s, 7);
	rc = 0;
	if (oom) {
		pb_evaluation_release(out);
		rc = pb_err_set("out of memory");
	}
out:
	return pb_db_end(st, rc);
}
