/* state_locks.c: environment locks, one pull request holding each */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/state.h"
#include "state_db.h"
#include "banned.h"

#define LOCK_COLUMNS "repo, environment, pr, actor, reason, created_at"

static const char SQL_LOCK_GET[] = "SELECT " LOCK_COLUMNS " FROM locks"
				   " WHERE repo = ?1 AND environment = ?2";
static const char SQL_LOCK_PUT[] = "INSERT INTO locks (" LOCK_COLUMNS
				   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_LOCK_DEL[] =
	"DELETE FROM locks WHERE repo = ?1 AND environment = ?2";
static const char SQL_LOCKS_OF_PR[] = "SELECT " LOCK_COLUMNS
				      " FROM locks WHERE repo = ?1 AND pr = ?2"
				      " ORDER BY environment";
static const char SQL_LOCKS_DEL_PR[] =
	"DELETE FROM locks WHERE repo = ?1 AND pr = ?2";
static const char SQL_LOCKS_OF_REPO[] = "SELECT " LOCK_COLUMNS " FROM locks"
					" WHERE repo = ?1 ORDER BY environment";

void pb_env_lock_release(struct pb_env_lock *l)
{
	if (!l)
		return;
	/* const for the borrowed input case; these are ours to free */
	free((char *)l->repo);
	free((char *)l->environment);
	free((char *)l->actor);
	free((char *)l->reason);
	memset(l, 0, sizeof(*l));
}

void pb_env_lock_list_release(struct pb_env_lock_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		pb_env_lock_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

int pb_env_name_check(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	for (i = 0; i < n && name_char(name[i]); i++)
		;
	if (n && n <= PB_ENV_NAME_MAX && i == n && name[0] != '-' &&
	    name[0] != '_' && name[0] != '.')
		return 0;
	return pb_err_setc(PB_EINVAL,
			   "'%.*s%s' is not an environment name: use letters, "
			   "digits, '-', '_' and '.' (at most %d, starting "
			   "with a letter or a digit)",
			   PB_ENV_NAME_MAX, name ? name : "",
			   n > PB_ENV_NAME_MAX ? "..." : "", PB_ENV_NAME_MAX);
}

/* The row s stands on, into *l (owned). */
static int lock_read(struct pb_env_lock *l, sqlite3_stmt *s)
{
	int oom = 0;

	l->repo = pb_db_col_dup(s, 0, &oom);
	l->environment = pb_db_col_dup(s, 1, &oom);
	l->pr = sqlite3_column_int64(s, 2);
	l->actor = pb_db_col_dup(s, 3, &oom);
	l->reason = pb_db_col_dup(s, 4, &oom);
	l->created_at = sqlite3_column_int64(s, 5);
	if (oom) {
		pb_env_lock_release(l);
		return pb_err_set("out of memory");
	}
	return 0;
}

/* 1 with *out when (repo, env) is locked, 0 when not. */
static int lock_get(struct pb_state *st, const char *repo, const char *env,
		    struct pb_env_lock *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = pb_db_row(st, &s, SQL_LOCK_GET, "tt", repo, env)) <= 0)
		return rc;
	return (rc = lock_read(out, s)) < 0 ? rc : 1;
}

/* Every row of s appended to out. */
static int locks_collect(struct pb_state *st, sqlite3_stmt *s,
			 struct pb_env_lock_list *out)
{
	struct pb_env_lock *grown;
	int rc;

	while ((rc = pb_db_step(st, s)) > 0) {
		grown = realloc(out->v, (out->n + 1) * sizeof(*grown));
		if (!grown)
			return pb_err_set("out of memory");
		out->v = grown;
		memset(&out->v[out->n], 0, sizeof(out->v[0]));
		if ((rc = lock_read(&out->v[out->n], s)) < 0)
			return rc;
		out->n++;
	}
	return rc;
}

static int take_check(const struct pb_env_lock *want)
{
	int rc;

	if (!want->repo || !want->environment || !want->actor)
		return pb_err_setc(PB_EINVAL,
				   "cannot take a lock without its repository, "
				   "environment and actor");
	if ((rc = pb_env_name_check(want->environment)) < 0)
		return rc;
	if (want->pr < 1)
		return pb_err_setc(
			PB_EINVAL,
			"cannot lock '%s' of %s: a lock is held by a "
			"pull request, and %" PRId64 " is none",
			want->environment, want->repo, want->pr);
	return 0;
}

static int take_tx(struct pb_state *st, const struct pb_env_lock *want,
		   int64_t now, int *taken, struct pb_env_lock *held)
{
	int rc;

	if ((rc = lock_get(st, want->repo, want->environment, held)) < 0)
		return rc;
	if (rc > 0 && held->pr == want->pr)
		return 0;
	if (rc > 0)
		return pb_err_setc(PB_EBUSY,
				   "'%s' of %s is locked by pull request "
				   "#%" PRId64 " (taken by @%s)",
				   held->environment, held->repo, held->pr,
				   held->actor);
	if ((rc = pb_db_exec(st, SQL_LOCK_PUT, "ttitti", want->repo,
			     want->environment, want->pr, want->actor,
			     want->reason, now)) < 0)
		return rc;
	*taken = 1;
	if ((rc = lock_get(st, want->repo, want->environment, held)) == 0)
		rc = pb_err_set("state store '%s': cannot %s: the lock was not "
				"stored",
				st->path, st->op);
	return rc < 0 ? rc : 0;
}

int pb_state_lock_take(struct pb_state *st, const struct pb_env_lock *want,
		       int64_t now, int *taken, struct pb_env_lock *held)
{
	int rc;

	memset(held, 0, sizeof(*held));
	*taken = 0;
	if ((rc = take_check(want)) < 0)
		return rc;
	if ((rc = pb_db_begin(st, 1, "lock '%s' of %s", want->environment,
			      want->repo)) < 0)
		return rc;
	/* a refusal rolls back nothing but keeps the holder for the reply */
	rc = pb_db_end(st, take_tx(st, want, now, taken, held));
	if (rc < 0 && rc != PB_EBUSY) {
		pb_env_lock_release(held);
		*taken = 0;
	}
	return rc;
}

int pb_state_unlock(struct pb_state *st, const char *repo,
		    const char *environment, struct pb_env_lock *was)
{
	struct pb_env_lock old;
	int rc;

	memset(&old, 0, sizeof(old));
	if (was)
		memset(was, 0, sizeof(*was));
	if (!repo || !environment)
		return pb_err_setc(PB_EINVAL, "cannot unlock without a "
					      "repository and environment");
	if ((rc = pb_db_begin(st, 1, "unlock '%s' of %s", environment, repo)) <
	    0)
		return rc;
	if ((rc = lock_get(st, repo, environment, &old)) == 0)
		rc = pb_err_setc(PB_ENOTFOUND, "'%s' of %s is not locked",
				 environment, repo);
	else if (rc > 0)
		rc = pb_db_exec(st, SQL_LOCK_DEL, "tt", repo, environment);
	rc = pb_db_end(st, rc);
	if (rc == 0 && was)
		*was = old;
	else
		pb_env_lock_release(&old);
	return rc;
}

int pb_db_unlock_pr(struct pb_state *st, const char *repo, int64_t pr,
		    struct pb_env_lock_list *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = pb_db_stmt(st, &s, SQL_LOCKS_OF_PR, "ti", repo, pr)) < 0 ||
	    (rc = locks_collect(st, s, out)) < 0)
		return rc;
	if (!out->n)
		return 0;
	return pb_db_exec(st, SQL_LOCKS_DEL_PR, "ti", repo, pr);
}

int pb_state_unlock_pr(struct pb_state *st, const char *repo, int64_t pr,
		       struct pb_env_lock_list *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!repo)
		return pb_err_setc(PB_EINVAL,
				   "cannot unlock without a repository");
	if ((rc = pb_db_begin(st, 1, "unlock the environments of %s#%" PRId64,
			      repo, pr)) < 0)
		return rc;
	rc = pb_db_end(st, pb_db_unlock_pr(st, repo, pr, out));
	if (rc < 0)
		pb_env_lock_list_release(out);
	return rc;
}

int pb_state_locks(struct pb_state *st, const char *repo,
		   struct pb_env_lock_list *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!repo)
		return pb_err_setc(PB_EINVAL,
				   "cannot list locks without a repository");
	if ((rc = pb_db_begin(st, 0, "list the locks of %s", repo)) < 0)
		return rc;
	if ((rc = pb_db_stmt(st, &s, SQL_LOCKS_OF_REPO, "t", repo)) == 0)
		rc = locks_collect(st, s, out);
	rc = pb_db_end(st, rc);
	if (rc < 0)
		pb_env_lock_list_release(out);
	return rc;
}
