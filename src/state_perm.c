/* state_perm.c: collaborator permissions read from GitHub, kept briefly */
#include <stdio.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/state.h"
#include "state_db.h"
#include "banned.h"

static const char SQL_PERM_GET[] =
	"SELECT level FROM permissions WHERE repo = ?1 AND login = ?2 "
	"AND fetched_at >= ?3";
static const char SQL_PERM_PUT[] =
	"INSERT INTO permissions (repo, login, level, fetched_at) VALUES "
	"(?1, ?2, ?3, ?4) ON CONFLICT (repo, login) DO UPDATE SET "
	"level = excluded.level, fetched_at = excluded.fetched_at";
static const char SQL_PERM_DROP[] =
	"DELETE FROM permissions WHERE fetched_at < ?1";

int pb_state_perm_get(struct pb_state *st, const char *repo, const char *login,
		      int64_t since, char *level, size_t n)
{
	const unsigned char *v;
	sqlite3_stmt *s;
	int rc, end;

	if ((rc = pb_db_begin(st, 0, "read the permission of '%.60s'", login)) <
	    0)
		return rc;
	rc = pb_db_row(st, &s, SQL_PERM_GET, "tti", repo, login, since);
	if (rc > 0) {
		v = sqlite3_column_text(s, 0);
		snprintf(level, n, "%s", v ? (const char *)v : "");
	}
	end = pb_db_end(st, rc < 0 ? rc : 0);
	return end < 0 ? end : rc;
}

int pb_state_perm_put(struct pb_state *st, const char *repo, const char *login,
		      const char *level, int64_t now, int64_t drop_before)
{
	int rc;

	if ((rc = pb_db_begin(st, 1, "keep the permission of '%.60s'", login)) <
	    0)
		return rc;
	if ((rc = pb_db_exec(st, SQL_PERM_DROP, "i", drop_before)) == 0)
		rc = pb_db_exec(st, SQL_PERM_PUT, "ttti", repo, login, level,
				now);
	return pb_db_end(st, rc);
}
