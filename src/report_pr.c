/* report_pr.c: the Markdown the worker posts on pull requests */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/report_pr.h"
#include "banned.h"

/* Back off from pos to the start of a UTF-8 character. */
static size_t utf8_floor(const char *s, size_t pos)
{
	while (pos > 0 && ((unsigned char)s[pos] & 0xC0) == 0x80)
		pos--;
	return pos;
}

/* Forward from pos to the start of a UTF-8 character. */
static size_t utf8_ceil(const char *s, size_t len, size_t pos)
{
	while (pos < len && ((unsigned char)s[pos] & 0xC0) == 0x80)
		pos++;
	return pos;
}

/* Does s[0..n) leave a ``` fence open? */
static int fence_open(const char *s, size_t n)
{
	int open = 0;
	size_t i;

	for (i = 0; i + 3 <= n; i++)
		if ((i == 0 || s[i - 1] == '\n') && !memcmp(s + i, "```", 3))
			open = !open;
	return open;
}

/* The start of the last "### Manifest" heading, or len. */
static size_t manifest_start(const char *md, size_t len)
{
	const char *p = md, *last = NULL;

	while ((p = strstr(p, "\n### Manifest")))
		last = p++;
	return last ? (size_t)(last - md) : len;
}

char *pb_pr_comment_cut(const char *md, size_t max)
{
	struct pb_buf out = PB_BUF_INIT;
	size_t len = strlen(md), tail, head, room;
	char marker[160];
	int n;

	if (max < 1024)
		return NULL;
	if (len <= max)
		return strdup(md);
	tail = manifest_start(md, len);
	if (len - tail > max / 2 || tail == len)
		tail = utf8_ceil(md, len, len - max / 4);
	/* the marker's length does not depend on the head's, bound it */
	n = snprintf(marker, sizeof(marker),
		     "\n```\n\n> **%zu bytes cut here** to stay under "
		     "GitHub's comment limit: the job log has everything.\n\n",
		     len);
	if (n < 0 || (size_t)n >= sizeof(marker))
		return NULL;
	room = max - (len - tail) - (size_t)n;
	head = utf8_floor(md, room);
	/* end on a whole line when one ends in the last quarter */
	{
		size_t h = head;

		while (h > room * 3 / 4 && md[h - 1] != '\n')
			h--;
		if (h > room * 3 / 4)
			head = h;
	}
	n = snprintf(marker, sizeof(marker),
		     "%s%s\n> **%zu bytes cut here** to stay under "
		     "GitHub's comment limit: the job log has everything.\n\n",
		     head && md[head - 1] == '\n' ? "" : "\n",
		     fence_open(md, head) ? "```\n" : "", tail - head);
	if (n < 0 || pb_buf_add(&out, md, head) < 0 ||
	    pb_buf_add(&out, marker, (size_t)n) < 0 ||
	    pb_buf_add(&out, md + tail, len - tail) < 0) {
		pb_buf_release(&out);
		return NULL;
	}
	return pb_buf_detach(&out);
}

enum pb_perm pb_pr_command_level(const struct pb_command *cmd,
				 const struct pb_config *cfg)
{
	size_t i;

	for (i = 0; cfg && i < cfg->n_permissions; i++)
		if (!strcmp(cfg->permissions[i].command, cmd->name))
			return cfg->permissions[i].level;
	return cmd->permission;
}

static const char *check_mark(enum pb_stage_state s)
{
	switch (s) {
	case PB_STAGE_OK:
		return "- [x]";
	case PB_STAGE_SKIPPED:
		return "- [x] ~";
	case PB_STAGE_RUNNING:
		return "- [ ] ⏳";
	case PB_STAGE_FAILED:
		return "- [ ] ❌";
	case PB_STAGE_CANCELLED:
		return "- [ ] ✋";
	default:
		return "- [ ]";
	}
}

#define MARKER_HEAD "<!-- prbot:result command="

int pb_pr_marker(struct pb_buf *b, const char *command, const char *job_id)
{
	return pb_buf_printf(b, MARKER_HEAD "%s job=%s -->\n", command, job_id);
}

int pb_pr_marker_parse(const char *body, const char *command, char *job,
		       size_t job_size)
{
	size_t n = strlen(command), len;
	const char *p = body, *end;

	if (!p)
		return 0;
	p += strspn(p, " \t\r\n");
	if (strncmp(p, MARKER_HEAD, sizeof(MARKER_HEAD) - 1))
		return 0;
	p += sizeof(MARKER_HEAD) - 1;
	if (strncmp(p, command, n) || strncmp(p + n, " job=", 5))
		return 0;
	p += n + 5;
	if (!(end = strstr(p, " -->")) || memchr(p, '\n', (size_t)(end - p)))
		return 0;
	if (job && job_size) {
		len = (size_t)(end - p);
		if (len >= job_size)
			len = job_size - 1;
		memcpy(job, p, len);
		job[len] = '\0';
	}
	return 1;
}

int pb_pr_checklist(struct pb_buf *b, const char *command, const char *job_id,
		    const char *sha, const char *note,
		    const enum pb_stage_id *stages, size_t n,
		    const struct pb_stage_record *recs)
{
	size_t i;
	int rc;

	rc = pb_pr_marker(b, command, job_id);
	if (rc == 0)
		rc = pb_buf_printf(b,
				   "## prbot %s: running\n\n- commit: `%s`\n"
				   "- job: `%s`\n",
				   command, sha ? sha : "?", job_id);
	if (rc == 0 && note)
		rc = pb_buf_printf(b, "- %s\n", note);
	if (rc == 0)
		rc = pb_buf_puts(b, "\n### Stages\n\n");
	for (i = 0; rc == 0 && i < n; i++) {
		const struct pb_stage_record *r = recs ? &recs[stages[i]] :
							 NULL;
		enum pb_stage_state s = r ? r->state : PB_STAGE_PENDING;

		rc = pb_buf_printf(b, "%s **%s** %s", check_mark(s),
				   pb_stage_name(stages[i]),
				   pb_stage_state_name(s));
		if (rc == 0 && s != PB_STAGE_PENDING && s != PB_STAGE_RUNNING &&
		    s != PB_STAGE_SKIPPED)
			rc = pb_buf_printf(b, " in %.2fs", r->seconds);
		if (rc == 0)
			rc = pb_buf_putc(b, '\n');
	}
	return rc;
}

int pb_pr_baseline(struct pb_buf *b, const json_t *metrics,
		   const struct pb_evaluation *base)
{
	json_t *old = base->metrics ? json_loads(base->metrics, 0, NULL) : NULL;
	const char *k;
	json_t *v;
	int rc;

	if (!json_object_size(metrics)) {
		json_decref(old);
		return 0;
	}
	rc = pb_buf_printf(b,
			   "\n### Baseline\n\n`%s` at `%.12s` (its latest "
			   "passing evaluation)\n\n| metric | baseline | this "
			   "commit | change |\n| --- | ---: | ---: | ---: |\n",
			   base->ref ? base->ref : "?",
			   base->sha ? base->sha : "?");
	json_object_foreach((json_t *)metrics, k, v)
	{
		json_t *o = json_is_object(old) ? json_object_get(old, k) :
						  NULL;
		double now = json_number_value(v);

		if (rc < 0)
			break;
		if (json_is_number(o))
			rc = pb_buf_printf(b, "| %s | %.6g | %.6g | %+.6g |\n",
					   k, json_number_value(o), now,
					   now - json_number_value(o));
		else
			rc = pb_buf_printf(b, "| %s | — | %.6g | — |\n", k,
					   now);
	}
	json_decref(old);
	return rc;
}

int pb_pr_baseline_failed(struct pb_buf *b, const char *ref, const char *why)
{
	const char *nl = strchr(why, '\n');
	int n = nl ? (int)(nl - why) : (int)strlen(why);

	/* the reason is one line: the baseline's job log has the rest */
	while (n > 0 &&
	       (why[n - 1] == '.' || why[n - 1] == ' ' || why[n - 1] == '\r'))
		n--;
	return pb_buf_printf(b,
			     "\n### Baseline\n\n> The baseline `%s` could not "
			     "be evaluated: %.*s.\n",
			     ref, n, why);
}

int pb_pr_help(struct pb_buf *b, const struct pb_config *cfg, int markdown)
{
	size_t i;
	int rc;

	rc = pb_buf_puts(b, markdown ? "prbot commands (write them at the "
				       "start of a comment line):\n\n| "
				       "command | what it does | needs |\n| "
				       "--- | --- | --- |\n" :
				       "prbot commands:\n\n");
	for (i = 0; rc == 0 && pb_commands[i]; i++) {
		const struct pb_command *c = pb_commands[i];
		const char *need = pb_perm_name(pb_pr_command_level(c, cfg));

		if (markdown)
			rc = pb_buf_printf(b, "| `/%s` | %s | %s |\n", c->usage,
					   c->summary, need);
		else
			rc = pb_buf_printf(b, "  /%-28s %s (needs %s)\n",
					   c->usage, c->summary, need);
	}
	return rc;
}

int pb_pr_status(struct pb_buf *b, const char *repo, long long pr,
		 const struct pb_job_list *jobs)
{
	size_t i;
	int rc;

	if (!jobs->n)
		return pb_buf_printf(b, "No prbot jobs on %s#%lld.\n", repo,
				     pr);
	rc = pb_buf_printf(b,
			   "prbot jobs on %s#%lld, newest first:\n\n| job | "
			   "command | state | by | commit | attempts |\n| --- "
			   "| --- | --- | --- | --- | ---: |\n",
			   repo, pr);
	for (i = 0; rc == 0 && i < jobs->n; i++) {
		const struct pb_job *j = &jobs->v[i];

		rc = pb_buf_printf(b, "| `%s` | /%s | %s", j->public_id,
				   j->command, pb_job_state_name(j->state));
		if (rc == 0 && j->cancel_requested_by)
			rc = pb_buf_printf(b, " (cancelled by @%s)",
					   j->cancel_requested_by);
		if (rc == 0)
			rc = pb_buf_printf(b, " | @%s | `%.12s` | %d |\n",
					   j->actor,
					   j->head_sha ? j->head_sha : "—",
					   j->attempts);
	}
	return rc;
}
