/* test_worker.c: a worker's turn against fake_github.py and a local repo */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "prbot/buf.h"
#include "prbot/config.h"
#include "prbot/err.h"
#include "prbot/gh.h"
#include "prbot/http_client.h"
#include "prbot/redact.h"
#include "prbot/report_pr.h"
#include "prbot/state.h"
#include "prbot/worker.h"
#include "testutil.h"

#define TOKEN "test-token-0123456789"
/*
 * The fake numbers everything it creates from 1001 after a reset: the
 * fixture's /evaluate comment on #7 is 1001, then each reaction, status and
 * comment takes the next number.
 */
#define CMD_COMMENT "1001"

struct world {
	char dir[PB_TEST_DIR_MAX];
	char sha[41];
	struct pb_test_fake_github fake;
	struct pb_config *cfg;
	struct pb_gh *gh;
	struct pb_state *st;
	struct pb_worker_cache *cache;
	int n_deliveries;
};

static struct world W;

static int no_sleep(void *arg, long ms)
{
	(void)arg;
	(void)ms;
	return 0;
}

/* ---- set-up: a local repository, the fake, the store ---- */

static int sh(const char *fmt, ...)
{
	struct pb_buf cmd = PB_BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = pb_buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	rc = system(cmd.ptr);
	pb_buf_release(&cmd);
	return rc == 0 ? 0 : -1;
}

static int make_repo(void)
{
	char path[PATH_MAX];
	FILE *p;

	snprintf(path, sizeof(path), "%s/repo", W.dir);
	if (sh("mkdir -p %s", path))
		return -1;
	snprintf(path, sizeof(path), "%s/repo/.prbot.yml", W.dir);
	pb_test_write_text(path, "train:\n"
				 "  command: sh train.sh\n"
				 "  timeout: 60s\n"
				 "model: model.pkl\n"
				 "metrics: metrics.json\n");
	snprintf(path, sizeof(path), "%s/repo/train.sh", W.dir);
	pb_test_write_text(path, "printf model > model.pkl\n"
				 "printf '{\"accuracy\": 0.93, \"loss\": "
				 "0.2}' > metrics.json\n");
	if (sh("cd %s/repo && GIT_CONFIG_NOSYSTEM=1 git init -q -b main && "
	       "git add -A && git -c user.name=t -c user.email=t@x.invalid "
	       "commit -qm 'Tiny model'",
	       W.dir))
		return -1;
	snprintf(path, sizeof(path), "git -C %s/repo rev-parse HEAD", W.dir);
	if (!(p = popen(path, "r")))
		return -1;
	if (!fgets(W.sha, sizeof(W.sha), p)) {
		pclose(p);
		return -1;
	}
	pclose(p);
	return strlen(W.sha) == 40 ? 0 : -1;
}

/* The fixture with the repository's SHA and path filled in. */
static int write_fixture(const char *out)
{
	const char *data = getenv("PRBOT_TEST_DATA");
	struct pb_buf b = PB_BUF_INIT;
	char path[PATH_MAX], clone[PATH_MAX];
	char *text, *p;

	snprintf(path, sizeof(path), "%s/worker/fixture.json", data);
	snprintf(clone, sizeof(clone), "%s/repo", W.dir);
	text = pb_test_read_file(path, NULL);
	for (p = text; *p;) {
		if (!strncmp(p, "@SHA@", 5)) {
			pb_buf_puts(&b, W.sha);
			p += 5;
		} else if (!strncmp(p, "@CLONE@", 7)) {
			pb_buf_puts(&b, clone);
			p += 7;
		} else {
			pb_buf_putc(&b, *p++);
		}
	}
	free(text);
	pb_test_write_text(out, b.ptr);
	pb_buf_release(&b);
	return 0;
}

static int fake_start(void)
{
	static const char *const extra[] = { "--max-seconds", "280", NULL };
	char fixture[PATH_MAX];

	if (!getenv("PRBOT_SOURCE_DIR") || !getenv("PRBOT_TEST_DATA")) {
		fprintf(stderr, "test_worker: run it with ctest\n");
		return -1;
	}
	snprintf(fixture, sizeof(fixture), "%s/fixture.json", W.dir);
	write_fixture(fixture);
	return pb_test_fake_github_start(&W.fake, fixture, TOKEN, NULL, extra);
}

static json_t *ctl(const char *method, const char *path, const char *body)
{
	return pb_test_fake_github_ctl(&W.fake, method, path, body);
}

static int group_setup(void **state)
{
	struct pb_gh_opts go;
	char path[PATH_MAX];

	(void)state;
	if (pb_test_tmpdir(W.dir, sizeof(W.dir), "worker") || make_repo())
		return -1;
	if (fake_start())
		return -1;
	pb_gh_opts_init(&go);
	go.api_url = W.fake.base;
	go.token = TOKEN;
	go.http.max_retries = 2;
	go.http.timeout_ms = 5000;
	go.http.sleep = no_sleep;
	if (pb_gh_new(&W.gh, &go) || pb_config_defaults(&W.cfg))
		return -1;
	free(W.cfg->server.workdir);
	free(W.cfg->store.url);
	snprintf(path, sizeof(path), "%s/work", W.dir);
	W.cfg->server.workdir = strdup(path);
	snprintf(path, sizeof(path), "file://%s/artifacts", W.dir);
	W.cfg->store.url = strdup(path);
	snprintf(path, sizeof(path), "%s/prbot.db", W.dir);
	if (pb_state_open(&W.st, path))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	pb_test_fake_github_stop(&W.fake);
	pb_state_close(W.st);
	pb_gh_free(W.gh);
	pb_config_free(W.cfg);
	pb_test_rmtree(W.dir);
	return 0;
}

/* Each test starts with no permission kept from the one before. */
static int perms_forget(void)
{
	char path[PB_TEST_DIR_MAX + 16];
	sqlite3 *db = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/prbot.db", W.dir);
	rc = sqlite3_open(path, &db) != SQLITE_OK ||
	     sqlite3_exec(db, "DELETE FROM permissions", NULL, NULL, NULL) !=
		     SQLITE_OK;
	sqlite3_close(db);
	return rc ? -1 : 0;
}

static int test_setup(void **state)
{
	(void)state;
	pb_test_fake_github_reset(&W.fake);
	if (perms_forget() < 0)
		return -1;
	return pb_worker_cache_new(&W.cache, W.st, PB_WORKER_PERM_TTL);
}

static int test_teardown(void **state)
{
	(void)state;
	pb_worker_cache_free(W.cache);
	W.cache = NULL;
	return 0;
}

/* ---- helpers ---- */

/*
 * Queue one command as the ingress would; its job id. label: the job comes
 * from a pull_request "labeled" event for that label (NULL: a comment).
 */
static int64_t enqueue_from(long pr, const char *command, const char *actor,
			    const char *args, const char *label)
{
	struct pb_delivery d = { .source = "github", .event = "issue_comment" };
	struct pb_job_new j;
	struct pb_accept a;
	char id[32], cid[32], reply[320], from[96] = "";
	int64_t job;

	memset(&j, 0, sizeof(j));
	memset(&a, 0, sizeof(a));
	snprintf(id, sizeof(id), "delivery-%d", ++W.n_deliveries);
	snprintf(cid, sizeof(cid), "c-%d", W.n_deliveries);
	if (label)
		snprintf(from, sizeof(from),
			 ", \"event\": \"pull_request\", \"label\": \"%s\"",
			 label);
	snprintf(reply, sizeof(reply),
		 "{\"comments_path\": \"/repos/octo/ml/issues/%ld/comments\", "
		 "\"comment_id\": " CMD_COMMENT ", \"node_id\": \"IC_x\", "
		 "\"installation_id\": 0%s}",
		 pr, from);
	d.id = id;
	d.received_at = (int64_t)time(NULL);
	j.repo = "octo/ml";
	j.pr = pr;
	j.command = command;
	j.args = args;
	j.actor = actor;
	j.source = "github";
	j.comment_id = cid;
	j.reply = reply;
	if (pb_state_accept_delivery(W.st, &d, &j, 1, &a))
		fail_msg("accept: %s", pb_err_last());
	job = a.ids[0];
	pb_accept_release(&a);
	return job;
}

static int64_t enqueue(long pr, const char *command, const char *actor,
		       const char *args)
{
	return enqueue_from(pr, command, actor, args, NULL);
}

static void run_one(void)
{
	struct pb_worker_env env = { W.cfg,    NULL, W.st,   W.gh,
				     "test:1", NULL, W.cache };

	if (pb_worker_run_one(&env) != 1)
		fail_msg("pb_worker_run_one: %s", pb_err_last());
}

/* What the worker changed on GitHub: "METHOD PATH" lines, GETs left out. */
static char *writes(json_t **bodies)
{
	json_t *all = pb_test_fake_github_requests(&W.fake), *r;
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	if (bodies)
		*bodies = json_array();
	json_array_foreach(all, i, r)
	{
		const char *m = json_string_value(json_object_get(r, "method"));

		if (!strcmp(m, "GET"))
			continue;
		pb_buf_printf(&b, "%s %s\n", m,
			      json_string_value(json_object_get(r, "path")));
		if (bodies)
			json_array_append(*bodies, json_object_get(r, "json"));
	}
	json_decref(all);
	return pb_buf_detach(&b);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle))
		fail_msg("'%s' does not contain '%s'", hay ? hay : "(null)",
			 needle);
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void assert_job(int64_t id, enum pb_job_state want, const char *note)
{
	struct pb_job j;

	memset(&j, 0, sizeof(j));
	assert_int_equal(pb_state_job_get(W.st, id, &j), 0);
	if (j.state != want)
		fail_msg("job is %s, want %s: %s", pb_job_state_name(j.state),
			 pb_job_state_name(want), j.report ? j.report : "");
	if (note)
		assert_contains(j.report, note);
	pb_job_release(&j);
}

/* ---- the comment cut ---- */

static char *filled(size_t n, const char *head, const char *tail)
{
	char *s = malloc(n + 1);
	size_t h = strlen(head), t = strlen(tail), i;

	assert_non_null(s);
	memcpy(s, head, h);
	for (i = h; i < n - t; i++)
		s[i] = (i % 61 == 60) ? '\n' : 'x';
	memcpy(s + n - t, tail, t);
	s[n] = '\0';
	return s;
}

static void test_cut_keeps_a_comment_at_the_limit_unchanged(void **state)
{
	char *md = filled(PB_PR_COMMENT_MAX, "## prbot evaluate",
			  "\n### "
			  "Manifest\n");
	char *got = pb_pr_comment_cut(md, PB_PR_COMMENT_MAX);

	(void)state;
	assert_string_equal(got, md);
	free(got);
	free(md);
}

static void test_cut_one_over_keeps_head_and_manifest(void **state)
{
	const char *tail = "\n### Manifest\n\n```json\n{\"sha\": 1}\n```\n";
	char *md = filled(PB_PR_COMMENT_MAX + 1,
			  "## prbot evaluate: succeeded\n\n```\nlog\n", tail);
	char *got = pb_pr_comment_cut(md, PB_PR_COMMENT_MAX);

	(void)state;
	assert_non_null(got);
	assert_true(strlen(got) <= PB_PR_COMMENT_MAX);
	assert_true(strlen(got) > PB_PR_COMMENT_MAX - 1024);
	assert_true(!strncmp(got, "## prbot evaluate: succeeded\n", 29));
	assert_string_equal(got + strlen(got) - strlen(tail), tail);
	assert_contains(got, "bytes cut here");
	/* the head ends on a whole line; the log fence it left open is
	   closed before the note */
	assert_contains(got, "x\n```\n\n> **");
	free(got);
	free(md);
}

static void test_cut_never_splits_a_character(void **state)
{
	struct pb_buf b = PB_BUF_INIT;
	char *got;
	size_t i;

	(void)state;
	for (i = 0; i < 40000; i++)
		pb_buf_puts(&b, "é");
	got = pb_pr_comment_cut(b.ptr, PB_PR_COMMENT_MAX);
	assert_non_null(got);
	assert_true(strlen(got) <= PB_PR_COMMENT_MAX);
	for (i = 0; got[i]; i++)
		if ((unsigned char)got[i] == 0xC3)
			assert_int_equal((unsigned char)got[i + 1], 0xA9);
	free(got);
	pb_buf_release(&b);
}

static void test_baseline_failure_is_one_line(void **state)
{
	struct pb_buf b = PB_BUF_INIT;

	(void)state;
	assert_int_equal(pb_pr_baseline_failed(&b, "main",
					       "train: exit status 1.\n"
					       "Traceback (most recent call)"),
			 0);
	assert_string_equal(b.ptr, "\n### Baseline\n\n> The baseline `main` "
				   "could not be evaluated: train: exit "
				   "status 1.\n");
	pb_buf_release(&b);
}

/* ---- runs ---- */

static void test_empty_queue_takes_nothing(void **state)
{
	struct pb_worker_env env = { W.cfg,    NULL, W.st,   W.gh,
				     "test:1", NULL, W.cache };
	char *w;

	(void)state;
	assert_int_equal(pb_worker_run_one(&env), 0);
	w = writes(NULL);
	assert_string_equal(w, "");
	free(w);
}

static void test_evaluate_acks_reports_once_and_sets_statuses(void **state)
{
	struct pb_evaluation e;
	struct pb_buf want = PB_BUF_INIT;
	json_t *bodies;
	struct pb_evaluation main_eval = {
		0, "octo/ml", "main", W.sha, 0, "{\"accuracy\": 0.9}", 1, 1
	};
	int64_t id = enqueue(7, "evaluate", "alice", NULL);
	char *w;
	int i;

	(void)state;
	/* the base branch's latest passing evaluation is the baseline */
	assert_int_equal(pb_state_evaluation_add(W.st, &main_eval, NULL), 0);
	run_one();
	w = writes(&bodies);
	pb_buf_printf(&want,
		      "POST /repos/octo/ml/issues/comments/1001/reactions\n"
		      "POST /repos/octo/ml/statuses/%s\n"
		      "POST /repos/octo/ml/issues/7/comments\n",
		      W.sha);
	/* one edit per stage, then the result: the report comment is 1004 */
	for (i = 0; i < 7; i++)
		pb_buf_puts(&want,
			    "PATCH /repos/octo/ml/issues/comments/1004\n");
	pb_buf_printf(&want,
		      "POST /repos/octo/ml/statuses/%s\n"
		      "POST /repos/octo/ml/issues/comments/1001/reactions\n",
		      W.sha);
	assert_string_equal(w, want.ptr);
	assert_string_equal(jstr(json_array_get(bodies, 0), "content"), "eyes");
	assert_string_equal(jstr(json_array_get(bodies, 1), "state"),
			    "pending");
	assert_string_equal(jstr(json_array_get(bodies, 1), "context"),
			    "prbot/evaluate");
	assert_contains(jstr(json_array_get(bodies, 2), "body"),
			"- [ ] **train** pending");
	assert_contains(jstr(json_array_get(bodies, 3), "body"),
			"- [x] **checkout** succeeded in");
	{
		const char *final = jstr(json_array_get(bodies, 9), "body");

		assert_contains(final, "## prbot evaluate: succeeded");
		assert_contains(final, W.sha);
		assert_contains(final, "| accuracy | 0.93 |");
		assert_contains(final, "### Manifest");
		assert_contains(final, "model_md5_hash");
		assert_contains(final, "### Baseline");
		assert_contains(final, "| accuracy | 0.9 | 0.93 | +0.03 |");
		assert_contains(final, "| loss | — | 0.2 | — |");
	}
	assert_string_equal(jstr(json_array_get(bodies, 10), "state"),
			    "success");
	assert_string_equal(jstr(json_array_get(bodies, 10), "context"),
			    "prbot/evaluate");
	assert_contains(jstr(json_array_get(bodies, 10), "description"),
			"accuracy=0.93");
	assert_string_equal(jstr(json_array_get(bodies, 11), "content"),
			    "rocket");
	assert_job(id, PB_JOB_SUCCEEDED, "\"status\":\"succeeded\"");
	memset(&e, 0, sizeof(e));
	assert_int_equal(
		pb_state_evaluation_latest(W.st, "octo/ml", "tune-lr", &e), 0);
	assert_string_equal(e.sha, W.sha);
	assert_contains(e.metrics, "\"accuracy\":0.93");
	pb_evaluation_release(&e);
	json_decref(bodies);
	pb_buf_release(&want);
	free(w);
}

/* Jobs that end without a run: what was posted, and the job's note. */
static const struct refusal {
	const char *what;
	long pr;
	const char *actor;
	const char *writes; /* every change on GitHub */
	const char *reply;  /* in the one comment posted */
	const char *note;   /* in the stored report */
} refusals[] = {
	{ "read-only actor", 7, "bob",
	  "POST /repos/octo/ml/issues/7/comments\n",
	  "@bob: /evaluate needs write permission on octo/ml; you have read.",
	  "\"note\":\"refused\"" },
	{ "fork without allow_forks", 8, "alice",
	  "POST /repos/octo/ml/issues/8/comments\n",
	  "does not run on pull requests from forks in octo/ml (its [repo "
	  "\"octo/ml\"] section of bot.conf does not set allow_forks = true)",
	  "refused: pull request from a fork" },
	{ "pull request gone", 99, "alice",
	  "POST /repos/octo/ml/issues/99/comments\n",
	  "@alice: pull request #99 of octo/ml no longer exists, so /evaluate "
	  "did not run.",
	  "the pull request no longer exists" },
};

#define EYES_1001 "POST /repos/octo/ml/issues/comments/1001/reactions\n"

static void test_refusals_reply_and_fail_without_a_run(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *t = &refusals[i];
		int64_t id = enqueue(t->pr, "evaluate", t->actor, NULL);
		json_t *bodies;
		char want[512];
		char *w;

		json_decref(ctl("DELETE", "/_requests", NULL));
		run_one();
		w = writes(&bodies);
		/* eyes first: the comment was received, then refused */
		snprintf(want, sizeof(want), "%s%s", EYES_1001, t->writes);
		if (strcmp(w, want))
			fail_msg("%s: wrote '%s', want '%s'", t->what, w, want);
		assert_contains(jstr(json_array_get(bodies, 1), "body"),
				t->reply);
		assert_job(id, PB_JOB_FAILED, t->note);
		json_decref(bodies);
		free(w);
	}
}

static void test_status_500_is_retried_and_the_job_completes(void **state)
{
	struct pb_buf rule = PB_BUF_INIT, path = PB_BUF_INIT;
	int64_t id;
	char *w, *p;
	int n = 0;

	(void)state;
	pb_buf_printf(&rule,
		      "{\"path\": \"/repos/octo/ml/statuses/%s\", "
		      "\"status\": 500}",
		      W.sha);
	json_decref(ctl("POST", "/_fail", rule.ptr));
	id = enqueue(7, "evaluate", "alice", NULL);
	run_one();
	w = writes(NULL);
	pb_buf_printf(&path, "POST /repos/octo/ml/statuses/%s\n", W.sha);
	for (p = w; (p = strstr(p, path.ptr)); p++)
		n++;
	assert_int_equal(n, 3); /* pending twice (500, then 201), final */
	assert_job(id, PB_JOB_SUCCEEDED, "succeeded");
	pb_buf_release(&rule);
	pb_buf_release(&path);
	free(w);
}

static void test_help_lists_commands_with_usage(void **state)
{
	int64_t id = enqueue(7, "help", "bob", NULL);
	json_t *bodies;
	char *w;
	const char *body;

	(void)state;
	run_one();
	w = writes(&bodies);
	assert_string_equal(
		w, "POST /repos/octo/ml/issues/comments/1001/reactions\n"
		   "POST /repos/octo/ml/issues/7/comments\n");
	body = jstr(json_array_get(bodies, 1), "body");
	assert_contains(body, "| `/evaluate [baseline=REF]` |");
	assert_contains(body, "| `/cancel [JOB]` | cancel a queued job");
	assert_contains(body, "| write |");
	assert_job(id, PB_JOB_SUCCEEDED, NULL);
	json_decref(bodies);
	free(w);
}

/* The jobs the tests above ran on #7 (cmocka runs them in order). */
static void test_status_lists_the_pr_jobs(void **state)
{
	int64_t id = enqueue(7, "status", "bob", NULL);
	struct pb_evaluation later = {
		.repo = "octo/ml",
		.ref = "main",
		.sha = "feedc0ffee",
		.metrics = "{\"accuracy\": 0.93}",
		.passed = 1,
		.created_at = 2,
	};
	json_t *bodies;
	const char *body;
	char *w;

	(void)state;
	/* the base branch's second evaluation makes a trend */
	assert_int_equal(pb_state_evaluation_add(W.st, &later, NULL), 0);
	run_one();
	w = writes(&bodies);
	body = jstr(json_array_get(bodies, 1), "body");
	assert_contains(body, "prbot jobs on octo/ml#7, newest first:");
	assert_contains(body, "| job | command | state | by | commit |");
	assert_contains(body, "| /status | running | @bob |");
	assert_contains(body, "| /evaluate | succeeded | @alice |");
	assert_contains(body, "| /evaluate | failed | @bob |");
	assert_contains(body, "**Trend of `accuracy` on `main`**");
	assert_contains(body, "```mermaid\nxychart-beta\n");
	assert_contains(body, "`feedc0f` **0.93** (+0.03)");
	assert_job(id, PB_JOB_SUCCEEDED, NULL);
	json_decref(bodies);
	free(w);
}

static void test_cancel_stops_the_prs_running_job(void **state)
{
	int64_t running = enqueue(7, "evaluate", "alice", NULL), id;
	struct pb_job other, now;
	json_t *bodies;
	char *w, want[160];

	(void)state;
	/* another worker runs the evaluate */
	memset(&other, 0, sizeof(other));
	memset(&now, 0, sizeof(now));
	assert_int_equal(pb_state_claim(W.st, "test:2", 60, time(NULL), &other),
			 0);
	assert_true(other.id == running);
	id = enqueue(7, "cancel", "alice", "[]");
	run_one();
	w = writes(&bodies);
	snprintf(want, sizeof(want),
		 "@alice cancelled `%s` (/evaluate): it was running and "
		 "stops within a minute.",
		 other.public_id);
	assert_string_equal(jstr(json_array_get(bodies, 1), "body"), want);
	assert_int_equal(pb_state_job_get(W.st, running, &now), 0);
	assert_string_equal(now.cancel_requested_by, "alice");
	assert_job(id, PB_JOB_SUCCEEDED, NULL);
	assert_int_equal(pb_state_finish(W.st, running, "test:2",
					 PB_JOB_CANCELLED, NULL, NULL, 0,
					 time(NULL)),
			 0);
	pb_job_release(&other);
	pb_job_release(&now);
	json_decref(bodies);
	free(w);
}

static void test_reply_job_posts_its_message(void **state)
{
	int64_t id = enqueue(7, "reply", "alice",
			     "{\"message\": \"@alice: unknown command "
			     "'evalute'; did you mean /evaluate?\"}");
	json_t *bodies;
	char *w;

	(void)state;
	run_one();
	w = writes(&bodies);
	assert_string_equal(w, "POST /repos/octo/ml/issues/7/comments\n");
	assert_string_equal(jstr(json_array_get(bodies, 0), "body"),
			    "@alice: unknown command 'evalute'; did you mean "
			    "/evaluate?");
	assert_job(id, PB_JOB_SUCCEEDED, NULL);
	json_decref(bodies);
	free(w);
}

static void test_retry_edits_the_first_attempts_comment(void **state)
{
	int64_t id = enqueue(7, "evaluate", "alice", NULL);
	struct pb_job_list back = { NULL, 0 };
	struct pb_job first;
	json_t *bodies;
	char *w;

	(void)state;
	/* a first attempt posted comment 1001 as its report, then died */
	memset(&first, 0, sizeof(first));
	assert_int_equal(pb_state_claim(W.st, "test:2", 60, time(NULL), &first),
			 0);
	assert_true(first.id == id);
	assert_int_equal(pb_state_set_reply(W.st, id,
					    "{\"comment_id\": " CMD_COMMENT
					    ", \"report_comment_id\": 1001}"),
			 0);
	assert_int_equal(
		pb_state_requeue(W.st, PB_REQUEUE_ALL, time(NULL), &back), 0);
	assert_int_equal(back.n, 1);
	run_one();
	w = writes(&bodies);
	if (strstr(w, "POST /repos/octo/ml/issues/7/comments"))
		fail_msg("the retry posted a second report:\n%s", w);
	assert_contains(w, "PATCH /repos/octo/ml/issues/comments/1001\n");
	assert_contains(jstr(json_array_get(bodies, 2), "body"),
			"Retry: attempt 2 of 3");
	assert_job(id, PB_JOB_SUCCEEDED, "\"retry\":true");
	pb_job_list_release(&back);
	pb_job_release(&first);
	json_decref(bodies);
	free(w);
}

/* The status the fake answered the only request of method and path. */
static long answered(const char *method, const char *path)
{
	json_t *all = pb_test_fake_github_requests(&W.fake), *r;
	long status = -1;
	size_t i;
	int n = 0;

	json_array_foreach(all, i, r)
	{
		if (strcmp(jstr(r, "method"), method) ||
		    strcmp(jstr(r, "path"), path))
			continue;
		status = (long)json_integer_value(json_object_get(r, "status"));
		n++;
	}
	json_decref(all);
	if (n != 1)
		fail_msg("%d requests '%s %s', want 1", n, method, path);
	return status;
}

static void test_label_job_removes_its_label_once_taken(void **state)
{
	const char *del =
		"DELETE /repos/octo/ml/issues/7/labels/run%20evaluate";
	int64_t id = enqueue_from(7, "evaluate", "alice", NULL, "run evaluate");
	json_t *st, *labels;
	char *w;

	(void)state;
	run_one();
	w = writes(NULL);
	/* taken off right after the acknowledgement, before the run */
	if (strncmp(w, EYES_1001, strlen(EYES_1001)) ||
	    strncmp(w + strlen(EYES_1001), del, strlen(del)) ||
	    w[strlen(EYES_1001) + strlen(del)] != '\n')
		fail_msg("the first changes are not eyes, then '%s':\n%s", del,
			 w);
	st = ctl("GET", "/_state", NULL);
	labels = json_object_get(json_object_get(st, "labels"), "octo/ml#7");
	assert_int_equal(json_array_size(labels), 0);
	assert_job(id, PB_JOB_SUCCEEDED, "succeeded");
	json_decref(st);
	free(w);
}

static void test_label_already_gone_does_not_fail_the_job(void **state)
{
	const char *path = "/repos/octo/ml/issues/7/labels/run%20evaluate";
	int64_t id;

	(void)state;
	/* the first job takes the label off; the second finds it gone */
	id = enqueue_from(7, "help", "alice", NULL, "run evaluate");
	run_one();
	assert_int_equal(answered("DELETE", path), 200);
	json_decref(ctl("DELETE", "/_requests", NULL));
	id = enqueue_from(7, "help", "alice", NULL, "run evaluate");
	run_one();
	assert_int_equal(answered("DELETE", path), 404);
	assert_job(id, PB_JOB_SUCCEEDED, NULL);
}

/* ---- baseline=REF ---- */

/* A branch of the test repository whose model scores lower; its SHA. */
static char *make_branch(const char *name)
{
	char path[PATH_MAX];
	char *sha;

	if (sh("cd %s/repo && git checkout -q -b %s && printf '%%s\\n' "
	       "'printf model > model.pkl' \"printf '{\\\"accuracy\\\": "
	       "0.8, \\\"loss\\\": 0.3}' > metrics.json\" > train.sh && "
	       "git -c user.name=t -c user.email=t@x.invalid commit -qam "
	       "'Older model' && git rev-parse HEAD > ../%s.sha && git "
	       "checkout -q main",
	       W.dir, name, name))
		fail_msg("cannot make branch '%s'", name);
	snprintf(path, sizeof(path), "%s/%s.sha", W.dir, name);
	sha = pb_test_read_file(path, NULL);
	assert_non_null(sha);
	sha[strcspn(sha, "\n")] = '\0';
	assert_int_equal(strlen(sha), 40);
	return sha;
}

/* The last body posted or edited that contains needle, or NULL. */
static const char *last_body_with(json_t *bodies, const char *needle)
{
	const char *found = NULL, *b;
	json_t *o;
	size_t i;

	json_array_foreach(bodies, i, o)
	{
		b = jstr(o, "body");
		if (b && strstr(b, needle))
			found = b;
	}
	return found;
}

/* The job's folder of its baseline run: 1 when it exists (and its log). */
static int baseline_folder(int64_t id, char **log)
{
	char path[PATH_MAX];
	struct pb_job j;

	memset(&j, 0, sizeof(j));
	assert_int_equal(pb_state_job_get(W.st, id, &j), 0);
	snprintf(path, sizeof(path), "%s/work/jobs/%s-baseline/job.log", W.dir,
		 j.public_id);
	pb_job_release(&j);
	if (access(path, F_OK))
		return 0;
	if (log)
		*log = pb_test_read_file(path, NULL);
	return 1;
}

static void test_baseline_ref_is_evaluated_once_then_reused(void **state)
{
	char *sha = make_branch("old-model"), *w, *log = NULL;
	struct pb_evaluation e;
	struct pb_buf head = PB_BUF_INIT;
	json_t *bodies;
	const char *final;
	int64_t id;

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_int_equal(pb_state_evaluation_latest(W.st, "octo/ml",
						    "old-model", &e),
			 PB_ENOTFOUND);
	id = enqueue(7, "evaluate", "alice", "[\"baseline=old-model\"]");
	run_one();
	w = writes(&bodies);
	/* the checklist said so while the baseline ran */
	assert_non_null(last_body_with(
		bodies, "Evaluating the baseline `old-model` (no stored "
			"evaluation of it)"));
	final = last_body_with(bodies, "## prbot evaluate: succeeded");
	assert_non_null(final);
	pb_buf_printf(&head, "`old-model` at `%.12s`", sha);
	assert_contains(final, head.ptr);
	assert_contains(final, "| accuracy | 0.8 | 0.93 | +0.13 |");
	assert_contains(final, "| loss | 0.3 | 0.2 | -0.1 |");
	assert_job(id, PB_JOB_SUCCEEDED, "\"evaluated\":true");
	/* its own folder, a checkout of the branch's commit, no upload */
	assert_true(baseline_folder(id, &log));
	assert_contains(log, sha);
	if (strstr(log, "upload"))
		fail_msg("the baseline run uploaded:\n%s", log);
	/* stored under the branch's name and commit */
	assert_int_equal(pb_state_evaluation_latest(W.st, "octo/ml",
						    "old-model", &e),
			 0);
	assert_string_equal(e.sha, sha);
	assert_contains(e.metrics, "\"accuracy\":0.8");
	pb_evaluation_release(&e);
	json_decref(bodies);
	free(w);

	/* a second /evaluate baseline=old-model uses the stored one */
	json_decref(ctl("DELETE", "/_requests", NULL));
	id = enqueue(7, "evaluate", "alice", "[\"baseline=old-model\"]");
	run_one();
	w = writes(&bodies);
	assert_null(last_body_with(bodies, "Evaluating the baseline"));
	final = last_body_with(bodies, "## prbot evaluate: succeeded");
	assert_non_null(final);
	assert_contains(final, head.ptr);
	assert_contains(final, "| accuracy | 0.8 | 0.93 | +0.13 |");
	assert_job(id, PB_JOB_SUCCEEDED, "\"evaluated\":false");
	assert_false(baseline_folder(id, NULL));
	json_decref(bodies);
	pb_buf_release(&head);
	free(log);
	free(sha);
	free(w);
}

static void test_baseline_ref_that_fails_is_reported_job_succeeds(void **state)
{
	struct pb_evaluation e;
	int64_t id =
		enqueue(7, "evaluate", "alice", "[\"baseline=no-such-ref\"]");
	json_t *bodies;
	const char *final;
	char *w;

	(void)state;
	run_one();
	w = writes(&bodies);
	final = last_body_with(bodies, "## prbot evaluate: succeeded");
	assert_non_null(final);
	assert_contains(final, "> The baseline `no-such-ref` could not be "
			       "evaluated: checkout: ref 'no-such-ref' not "
			       "found in");
	assert_job(id, PB_JOB_SUCCEEDED, "\"error\":");
	assert_true(baseline_folder(id, NULL));
	memset(&e, 0, sizeof(e));
	assert_int_equal(pb_state_evaluation_latest(W.st, "octo/ml",
						    "no-such-ref", &e),
			 PB_ENOTFOUND);
	json_decref(bodies);
	free(w);
}

/* The bot's comment on #9 opening with job's marker: its node id. */
static char *result_node(json_t *st, int64_t job)
{
	json_t *items = json_object_get(json_object_get(st, "comments"),
					"octo/ml#9"),
	       *c;
	struct pb_buf marker = PB_BUF_INIT;
	struct pb_job j;
	char *node = NULL;
	size_t i;

	memset(&j, 0, sizeof(j));
	assert_int_equal(pb_state_job_get(W.st, job, &j), 0);
	pb_buf_printf(&marker,
		      "<!-- prbot:result command=evaluate job=%s -->\n",
		      j.public_id);
	json_array_foreach(items, i, c)
	{
		const char *body = jstr(c, "body");

		if (!strncmp(body, marker.ptr, marker.len) && !node)
			node = strdup(jstr(c, "node_id"));
	}
	if (!node)
		fail_msg("no comment on #9 opens with '%s'", marker.ptr);
	pb_buf_release(&marker);
	pb_job_release(&j);
	return node;
}

/*
 * Runs last: the comments it adds to the fixture stay for later resets and
 * would shift the ids the tests above expect.
 */
static void test_new_result_minimizes_only_prbots_older_one(void **state)
{
	int64_t first, second;
	json_t *st, *min, *all, *r, *gql = NULL;
	char *node;
	size_t i;

	(void)state;
	/* the marker pasted by someone else, and prbot's result of another
	   command: neither is an older /evaluate result */
	json_decref(ctl("POST", "/_fixture",
			"{\"comments\": {\"octo/ml#9\": ["
			"{\"body\": \"<!-- prbot:result command=evaluate "
			"job=j-1 -->\\ncopied\", \"user\": {\"login\": "
			"\"mallory\", \"type\": \"User\"}},"
			"{\"body\": \"<!-- prbot:result command=status "
			"job=j-1 -->\\nother\", \"user\": {\"login\": "
			"\"prbot[bot]\", \"type\": \"Bot\"}}]}}"));
	first = enqueue(9, "evaluate", "alice", NULL);
	run_one();
	assert_job(first, PB_JOB_SUCCEEDED, "succeeded");
	st = ctl("GET", "/_state", NULL);
	assert_int_equal(json_array_size(json_object_get(st, "minimized")), 0);
	node = result_node(st, first);
	json_decref(st);

	json_decref(ctl("DELETE", "/_requests", NULL));
	second = enqueue(9, "evaluate", "alice", NULL);
	run_one();
	assert_job(second, PB_JOB_SUCCEEDED, "succeeded");
	st = ctl("GET", "/_state", NULL);
	min = json_object_get(st, "minimized");
	assert_int_equal(json_array_size(min), 1);
	assert_string_equal(jstr(json_array_get(min, 0), "node_id"), node);
	assert_string_equal(jstr(json_array_get(min, 0), "classifier"),
			    "OUTDATED");
	/* the one GraphQL request names the first result's node */
	all = pb_test_fake_github_requests(&W.fake);
	json_array_foreach(all, i, r)
	{
		if (strcmp(jstr(r, "path"), "/graphql"))
			continue;
		assert_null(gql);
		gql = json_object_get(r, "json");
	}
	assert_non_null(gql);
	assert_contains(jstr(gql, "query"), "classifier: OUTDATED");
	assert_string_equal(jstr(json_object_get(gql, "variables"), "id"),
			    node);
	json_decref(all);
	json_decref(st);
	free(node);
}

/* ---- job processes: a job claimed by the daemon ---- */

static void test_claimed_job_runs_only_under_its_worker(void **state)
{
	struct pb_worker_env env = { W.cfg,	 NULL, W.st,   W.gh,
				     "daemon:1", NULL, W.cache };
	struct pb_job claimed;
	int64_t id;
	char *w;

	(void)state;
	id = enqueue(7, "help", "alice", NULL);
	assert_int_equal(pb_state_claim(W.st, "daemon:1", PB_WORKER_LEASE_SEC,
					(int64_t)time(NULL), &claimed),
			 0);
	assert_int_equal(claimed.id, id);
	pb_job_release(&claimed);

	/* another worker's job: left alone */
	env.worker_id = "daemon:2";
	assert_int_equal(pb_worker_run_claimed(&env, id), 0);
	assert_job(id, PB_JOB_RUNNING, NULL);
	w = writes(NULL);
	assert_string_equal(w ? w : "", "");
	free(w);

	env.worker_id = "daemon:1";
	assert_int_equal(pb_worker_run_claimed(&env, id), 0);
	assert_job(id, PB_JOB_SUCCEEDED, NULL);
	w = writes(NULL);
	assert_contains(w, EYES_1001);
	assert_contains(w, "POST /repos/octo/ml/issues/7/comments\n");
	free(w);
}

/* Queue a command as the Slack route would; its job id. */
static int64_t enqueue_slack(long pr, const char *command, const char *actor,
			     const char *response_path)
{
	struct pb_delivery d = { .source = "slack", .event = "slash_command" };
	struct pb_job_new j;
	struct pb_accept a;
	char id[32], reply[512];
	int64_t job;

	memset(&j, 0, sizeof(j));
	memset(&a, 0, sizeof(a));
	snprintf(id, sizeof(id), "slack:%d", ++W.n_deliveries);
	snprintf(reply, sizeof(reply),
		 "{\"platform\": \"slack\", \"response_url\": \"%s%s\", "
		 "\"channel_id\": \"C1\", \"team_id\": \"T1\", "
		 "\"user_id\": \"U1\", \"user_name\": \"u\"}",
		 W.fake.base, response_path);
	d.id = id;
	d.received_at = (int64_t)time(NULL);
	j.repo = "octo/ml";
	j.pr = pr;
	j.command = command;
	j.actor = actor;
	j.source = "slack";
	j.reply = reply;
	if (pb_state_accept_delivery(W.st, &d, &j, 1, &a))
		fail_msg("accept: %s", pb_err_last());
	job = a.ids[0];
	pb_accept_release(&a);
	return job;
}

/* The texts POSTed to response_path, in order (caller decrefs). */
static json_t *chat_texts(const char *response_path)
{
	json_t *all = pb_test_fake_github_requests(&W.fake), *r;
	json_t *out = json_array();
	size_t i;

	json_array_foreach(all, i, r)
	{
		const char *path = jstr(r, "path");
		json_t *body = json_object_get(r, "json");

		if (path && !strcmp(path, response_path))
			json_array_append_new(
				out, json_string(jstr(body, "text") ?
							 jstr(body, "text") :
							 ""));
	}
	json_decref(all);
	return out;
}

static void test_slack_job_is_refused_on_the_pr_and_in_the_chat(void **state)
{
	static const char path[] = "/slack/response/T1/1/cap-refused";
	int64_t id;
	json_t *texts;
	char *w;

	(void)state;
	json_decref(ctl("DELETE", "/_requests", NULL));
	id = enqueue_slack(7, "evaluate", "bob", path);
	run_one();
	w = writes(NULL);
	/* no comment to react to: the refusal on the PR, then the chat */
	assert_contains(w, "POST /repos/octo/ml/issues/7/comments\n");
	assert_contains(w, "POST /slack/response/T1/1/cap-refused\n");
	texts = chat_texts(path);
	assert_int_equal(json_array_size(texts), 1);
	assert_contains(json_string_value(json_array_get(texts, 0)), ":x: *j-");
	assert_contains(json_string_value(json_array_get(texts, 0)),
			"/evaluate on octo/ml#7: *failed*");
	assert_contains(json_string_value(json_array_get(texts, 0)),
			"@bob: /evaluate needs write permission on octo/ml; "
			"you have read.");
	assert_job(id, PB_JOB_FAILED, "\"note\":\"refused\"");
	json_decref(texts);
	free(w);
}

/* /status from Slack: the PR gets the Mermaid chart, the chat a sparkline */
static void test_slack_status_has_a_sparkline_not_a_chart(void **state)
{
	static const char path[] = "/slack/response/T1/4/cap-status";
	struct pb_evaluation e = { .repo = "octo/ml",
				   .ref = "main",
				   .passed = 1 };
	json_t *texts, *bodies;
	const char *t;
	char *w;
	int64_t id;

	(void)state;
	e.sha = "aaaaaaa111";
	e.metrics = "{\"accuracy\": 0.90}";
	e.created_at = 1;
	assert_int_equal(pb_state_evaluation_add(W.st, &e, NULL), 0);
	e.sha = "bbbbbbb222";
	e.metrics = "{\"accuracy\": 0.93}";
	e.created_at = 2;
	assert_int_equal(pb_state_evaluation_add(W.st, &e, NULL), 0);
	json_decref(ctl("DELETE", "/_requests", NULL));
	id = enqueue_slack(7, "status", "alice", path);
	run_one();
	w = writes(&bodies);
	assert_contains(jstr(json_array_get(bodies, 0), "body"),
			"```mermaid\nxychart-beta\n");
	texts = chat_texts(path);
	assert_int_equal(json_array_size(texts), 1);
	t = json_string_value(json_array_get(texts, 0));
	assert_contains(t, "prbot jobs on octo/ml#7");
	assert_contains(t, "accuracy");
	assert_null(strstr(t, "```mermaid"));
	assert_true(strstr(t, "\xe2\x96") != NULL); /* a block of U+2581-2588 */
	assert_job(id, PB_JOB_SUCCEEDED, NULL);
	json_decref(texts);
	json_decref(bodies);
	free(w);
}

static void test_slack_chat_failure_does_not_fail_the_job(void **state)
{
	static const char path[] = "/slack/response/T1/2/cap-dead";
	int64_t id;

	(void)state;
	json_decref(ctl("POST", "/_fail",
			"{\"path\": \"/slack/response/T1/2/cap-dead\", "
			"\"count\": 10, \"status\": 404}"));
	id = enqueue_slack(7, "help", "alice", path);
	run_one();
	assert_job(id, PB_JOB_SUCCEEDED, NULL);
}

static void test_slack_job_lost_is_reported_in_the_chat(void **state)
{
	struct pb_worker_env env = { W.cfg,	    NULL, W.st,	  W.gh,
				     "report-lost", NULL, W.cache };
	static const char path[] = "/slack/response/T1/3/cap-lost";
	const char *why = "its job process was killed by signal 9 (Killed)";
	struct pb_job j;
	json_t *texts;
	int64_t id;
	size_t st;

	(void)state;
	id = enqueue_slack(7, "evaluate", "alice", path);
	assert_int_equal(pb_state_job_pin(W.st, id, W.sha, "tune", "main"), 0);
	do {
		assert_int_equal(pb_state_claim(W.st, "daemon:1", 60,
						(int64_t)time(NULL), &j),
				 0);
		pb_job_release(&j);
		assert_int_equal(pb_state_requeue_job(W.st, id, "daemon:1", why,
						      (int64_t)time(NULL), &j),
				 0);
		st = j.state;
		pb_job_release(&j);
	} while (st == PB_JOB_QUEUED);
	assert_int_equal(pb_worker_report_lost(&env, id), 0);
	texts = chat_texts(path);
	assert_int_equal(json_array_size(texts), 1);
	assert_contains(json_string_value(json_array_get(texts, 0)),
			"/evaluate on octo/ml#7: *failed*");
	assert_contains(json_string_value(json_array_get(texts, 0)),
			"Commit `");
	assert_contains(json_string_value(json_array_get(texts, 0)), why);
	json_decref(texts);
}

static void test_lost_job_is_reported_with_its_note(void **state)
{
	struct pb_worker_env env = { W.cfg,	    NULL, W.st,	  W.gh,
				     "report-lost", NULL, W.cache };
	const char *why = "its job process was killed by signal 9 (Killed)";
	struct pb_buf path = PB_BUF_INIT;
	struct pb_job j;
	json_t *bodies, *b;
	const char *comment = NULL, *status = NULL;
	int64_t id;
	size_t i;
	char *w;

	(void)state;
	id = enqueue(7, "evaluate", "alice", NULL);
	assert_int_equal(pb_state_job_pin(W.st, id, W.sha, "tune", "main"), 0);
	/* not finished yet: nothing to report */
	assert_int_equal(pb_worker_report_lost(&env, id), 0);
	do {
		assert_int_equal(pb_state_claim(W.st, "daemon:1", 60,
						(int64_t)time(NULL), &j),
				 0);
		assert_int_equal(j.id, id);
		pb_job_release(&j);
		assert_int_equal(pb_state_requeue_job(W.st, id, "daemon:1", why,
						      (int64_t)time(NULL), &j),
				 0);
		i = j.state;
		pb_job_release(&j);
	} while (i == PB_JOB_QUEUED);
	assert_int_equal(i, PB_JOB_FAILED);
	w = writes(NULL);
	assert_string_equal(w ? w : "", "");
	free(w);

	assert_int_equal(pb_worker_report_lost(&env, id), 0);
	w = writes(&bodies);
	pb_buf_printf(&path, "POST /repos/octo/ml/statuses/%s\n", W.sha);
	assert_contains(w, "POST /repos/octo/ml/issues/7/comments\n");
	assert_contains(w, path.ptr);
	assert_contains(w, "POST /repos/octo/ml/issues/comments/1001/"
			   "reactions\n");
	json_array_foreach(bodies, i, b)
	{
		if (jstr(b, "body"))
			comment = jstr(b, "body");
		if (jstr(b, "state"))
			status = jstr(b, "state");
	}
	assert_contains(comment, "failed");
	assert_contains(comment, "not retried: its job process was killed by "
				 "signal 9 (Killed) during attempt 3 of 3");
	assert_string_equal(status ? status : "", "failure");
	json_decref(bodies);
	pb_buf_release(&path);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_cut_keeps_a_comment_at_the_limit_unchanged),
		cmocka_unit_test(test_cut_one_over_keeps_head_and_manifest),
		cmocka_unit_test(test_cut_never_splits_a_character),
		cmocka_unit_test(test_baseline_failure_is_one_line),
#define T(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)
		T(test_empty_queue_takes_nothing),
		T(test_evaluate_acks_reports_once_and_sets_statuses),
		T(test_refusals_reply_and_fail_without_a_run),
		T(test_status_500_is_retried_and_the_job_completes),
		T(test_help_lists_commands_with_usage),
		T(test_status_lists_the_pr_jobs),
		T(test_cancel_stops_the_prs_running_job),
		T(test_reply_job_posts_its_message),
		T(test_retry_edits_the_first_attempts_comment),
		T(test_label_job_removes_its_label_once_taken),
		T(test_label_already_gone_does_not_fail_the_job),
		T(test_baseline_ref_is_evaluated_once_then_reused),
		T(test_baseline_ref_that_fails_is_reported_job_succeeds),
		T(test_new_result_minimizes_only_prbots_older_one),
		T(test_claimed_job_runs_only_under_its_worker),
		T(test_slack_job_is_refused_on_the_pr_and_in_the_chat),
		T(test_slack_status_has_a_sparkline_not_a_chart),
		T(test_slack_chat_failure_does_not_fail_the_job),
		T(test_slack_job_lost_is_reported_in_the_chat),
		T(test_lost_job_is_reported_with_its_note),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
