/* test_deploy.c: the deploy history, the requires checks, the manifest */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prbot/checkout.h"
#include "prbot/config.h"
#include "prbot/deploy.h"
#include "prbot/manifest.h"
#include "prbot/err.h"
#include "prbot/publish.h"
#include "prbot/state.h"
#include "testutil.h"

#define REPO "octo/models"
#define NOW  ((int64_t)1700000000)

struct fixture {
	char dir[PB_TEST_DIR_MAX];
	char path[PB_TEST_DIR_MAX + 16];
	struct pb_state *st;
};

static int setup(void **state)
{
	struct fixture *f = pb_test_fixture_new(sizeof(*f), "deploy");

	if (!f)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/prbot.db", f->dir);
	if (pb_state_open(&f->st, f->path) < 0) {
		fprintf(stderr, "open: %s\n", pb_err_last());
		pb_test_fixture_free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pb_state_close(f->st);
	return pb_test_fixture_free(f);
}

static struct pb_deployment row(const char *env, const char *version,
				const char *kind, int64_t at)
{
	struct pb_deployment d = {
		0,
		REPO,
		env,
		version,
		"/srv/serving.git",
		"main",
		".",
		"c0ffee",
		"{\"version\": \"v\"}\n",
		1,
		"abc123",
		"alice",
		0,
		kind,
		at,
		NULL,
	};

	return d;
}

/* ---- the history ---- */

static void test_deployments_newest_first_by_environment(void **state)
{
	struct fixture *f = *state;
	struct pb_deployment_list l;
	struct pb_deployment d;
	int64_t id = 0;

	d = row("staging", "v0.0.1", "deploy", NOW);
	assert_int_equal(pb_state_deployment_add(f->st, &d, &id), 0);
	assert_true(id > 0);
	d = row("production", "v0.0.2", "deploy", NOW + 1);
	assert_int_equal(pb_state_deployment_add(f->st, &d, NULL), 0);
	d = row("staging", "v0.0.3", "rollback", NOW + 2);
	assert_int_equal(pb_state_deployment_add(f->st, &d, NULL), 0);

	assert_int_equal(pb_state_deployments(f->st, REPO, "staging", 0, &l),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].version, "v0.0.3");
	assert_string_equal(l.v[0].kind, "rollback");
	assert_string_equal(l.v[1].version, "v0.0.1");
	assert_string_equal(l.v[1].serving_branch, "main");
	assert_string_equal(l.v[1].manifest, "{\"version\": \"v\"}\n");
	assert_int_equal(l.v[1].pr, 1);
	assert_int_equal(l.v[1].created_at, NOW);
	pb_deployment_list_release(&l);

	assert_int_equal(pb_state_deployments(f->st, REPO, "staging", 1, &l),
			 0);
	assert_int_equal(l.n, 1);
	pb_deployment_list_release(&l);

	assert_int_equal(pb_state_deployments(f->st, REPO, "qa", 0, &l), 0);
	assert_int_equal(l.n, 0);
	pb_deployment_list_release(&l);

	/* what each environment has now, by name */
	assert_int_equal(pb_state_deployed(f->st, REPO, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].environment, "production");
	assert_string_equal(l.v[1].environment, "staging");
	assert_string_equal(l.v[1].version, "v0.0.3");
	pb_deployment_list_release(&l);
}

static void test_deployment_keeps_its_version_schema(void **state)
{
	struct fixture *f = *state;
	struct pb_deployment_list l;
	struct pb_deployment d;

	d = row("staging", "v0.1.0", "deploy", NOW);
	d.version_schema = "minor";
	assert_int_equal(pb_state_deployment_add(f->st, &d, NULL), 0);
	d = row("staging", "v0.1.1", "deploy", NOW + 1);
	assert_int_equal(pb_state_deployment_add(f->st, &d, NULL), 0);
	d.version_schema = "patch";
	pb_test_assert_error(pb_state_deployment_add(f->st, &d, NULL),
			     PB_EINVAL,
			     "a deployment's version schema is 'major', "
			     "'minor' or 'revision', not 'patch'");
	assert_int_equal(pb_state_deployments(f->st, REPO, "staging", 0, &l),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].version_schema, "revision");
	assert_string_equal(l.v[1].version_schema, "minor");
	pb_deployment_list_release(&l);
}

static void test_deployment_add_refuses_missing_fields_and_kinds(void **state)
{
	struct fixture *f = *state;
	struct pb_deployment d = row("staging", NULL, "deploy", NOW);

	assert_int_equal(pb_state_deployment_add(f->st, &d, NULL), PB_EINVAL);
	d = row("staging", "v1.0.0", "redeploy", NOW);
	pb_test_assert_error(pb_state_deployment_add(f->st, &d, NULL),
			     PB_EINVAL,
			     "a deployment is a 'deploy' or a 'rollback', not "
			     "'redeploy'");
}

static void test_evaluation_of_sha_is_the_latest_passing_one(void **state)
{
	struct fixture *f = *state;
	struct pb_evaluation e = { 0, REPO, "feature", "abc", 0, "{}", 1, NOW };
	struct pb_evaluation got;

	assert_int_equal(pb_state_evaluation_of_sha(f->st, REPO, "abc", &got),
			 PB_ENOTFOUND);
	assert_int_equal(pb_state_evaluation_add(f->st, &e, NULL), 0);
	e.ref = "main";
	e.metrics = "{\"a\":1}";
	e.created_at = NOW + 1;
	assert_int_equal(pb_state_evaluation_add(f->st, &e, NULL), 0);
	e.passed = 0;
	e.created_at = NOW + 2;
	assert_int_equal(pb_state_evaluation_add(f->st, &e, NULL), 0);
	assert_int_equal(pb_state_evaluation_of_sha(f->st, REPO, "abc", &got),
			 0);
	assert_string_equal(got.ref, "main");
	assert_string_equal(got.metrics, "{\"a\":1}");
	pb_evaluation_release(&got);
}

/* ---- requires: ---- */

struct rev {
	const char *login, *state;
};

struct chk {
	const char *name, *state;
	int is_run;
};

struct req_case {
	const char *requires; /* "approved", "checks", "approved checks" */
	struct rev reviews[4];
	struct chk checks[4];
	int unmet;
	const char *why;
};

static const struct req_case req_cases[] = {
	{ "approved", { { "bob", "APPROVED" } }, { { 0 } }, 0, "" },
	{ "approved",
	  { { 0 } },
	  { { 0 } },
	  1,
	  "- `approved`: no approving review\n" },
	{ "approved",
	  { { "bob", "COMMENTED" } },
	  { { 0 } },
	  1,
	  "- `approved`: no approving review\n" },
	{ "approved",
	  { { "bob", "APPROVED" }, { "carol", "CHANGES_REQUESTED" } },
	  { { 0 } },
	  1,
	  "- `approved`: changes requested by @carol\n" },
	/* a later approval of the same reviewer lifts their request */
	{ "approved",
	  { { "carol", "CHANGES_REQUESTED" }, { "carol", "APPROVED" } },
	  { { 0 } },
	  0,
	  "" },
	/* a comment after an approval does not take it back */
	{ "approved",
	  { { "bob", "APPROVED" }, { "bob", "COMMENTED" } },
	  { { 0 } },
	  0,
	  "" },
	{ "approved",
	  { { "bob", "APPROVED" }, { "bob", "DISMISSED" } },
	  { { 0 } },
	  1,
	  "- `approved`: no approving review\n" },
	{ "checks",
	  { { 0 } },
	  { { "ci/test", "success", 0 }, { "lint", "success", 1 } },
	  0,
	  "" },
	/* prbot's own statuses do not count, the deploy's included */
	{ "checks",
	  { { 0 } },
	  { { "prbot/deploy", "pending", 0 },
	    { "prbot/evaluate", "failure", 0 } },
	  0,
	  "" },
	{ "checks",
	  { { 0 } },
	  { { "ci/test", "pending", 0 }, { "build", "pending", 1 } },
	  1,
	  "- `checks`: still pending: `ci/test`, `build`\n" },
	{ "checks",
	  { { 0 } },
	  { { "ci/test", "failure", 0 }, { "docs", "timed_out", 1 } },
	  1,
	  "- `checks`: not successful: `ci/test` (failure), `docs` "
	  "(timed_out)\n" },
	{ "approved checks",
	  { { 0 } },
	  { { "ci/test", "error", 0 } },
	  2,
	  "- `approved`: no approving review\n- `checks`: not successful: "
	  "`ci/test` (error)\n" },
	{ "signed",
	  { { 0 } },
	  { { 0 } },
	  1,
	  "- `signed`: prbot does not know this requirement (use approved or "
	  "checks)\n" },
	{ "", { { 0 } }, { { 0 } }, 0, "" },
};

static void test_requires_table(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *c = &req_cases[i];
		struct pb_gh_review rv[4];
		struct pb_gh_check ck[4];
		struct pb_gh_reviews reviews = { rv, 0 };
		struct pb_gh_checks checks = { ck, 0 };
		char words[64], *w, *save = NULL, *reqs[4];
		struct pb_environment env = { "staging", NULL, NULL,
					      NULL,	 reqs, 0 };
		struct pb_buf why = PB_BUF_INIT;
		int got;

		for (j = 0; j < 4 && c->reviews[j].login; j++) {
			rv[j].user_login = (char *)c->reviews[j].login;
			rv[j].state = (char *)c->reviews[j].state;
			reviews.n++;
		}
		for (j = 0; j < 4 && c->checks[j].name; j++) {
			ck[j].name = (char *)c->checks[j].name;
			ck[j].state = (char *)c->checks[j].state;
			ck[j].is_run = c->checks[j].is_run;
			checks.n++;
		}
		snprintf(words, sizeof(words), "%s", c->requires);
		for (w = strtok_r(words, " ", &save); w;
		     w = strtok_r(NULL, " ", &save))
			reqs[env.n_requires++] = w;
		got = pb_deploy_requires(&why, &env, &reviews, &checks);
		if (got != c->unmet || strcmp(pb_buf_cstr(&why), c->why))
			fail_msg("case %zu (%s): got %d '%s', want %d '%s'", i,
				 c->requires, got, pb_buf_cstr(&why), c->unmet,
				 c->why);
		pb_buf_release(&why);
	}
}

/* ---- environments and the manifest ---- */

static struct pb_repo_config *conf(const char *yml)
{
	struct pb_repo_config *rc = NULL;
	struct pb_diags d;

	memset(&d, 0, sizeof(d));
	if (pb_repo_config_parse(&rc, yml, strlen(yml), ".prbot.yml", &d) < 0)
		fail_msg("%s", pb_test_render_diags(&d));
	pb_diags_release(&d);
	return rc;
}

static void test_env_find_default_unknown_and_missing(void **state)
{
	struct pb_repo_config *rc =
		conf("model: m.pkl\ndeploy:\n  inference: [src/]\n"
		     "  environments:\n    staging: { repo: /srv/s.git }\n"
		     "    production: { repo: /srv/p.git }\n");
	struct pb_repo_config *bare = conf("model: m.pkl\n");
	const struct pb_environment *e;

	(void)state;
	e = pb_deploy_env_find(rc, NULL);
	assert_non_null(e);
	assert_string_equal(e->name, "staging");
	e = pb_deploy_env_find(rc, "production");
	assert_non_null(e);
	assert_string_equal(e->repo, "/srv/p.git");
	assert_null(pb_deploy_env_find(rc, "qa"));
	assert_string_equal(pb_err_last(),
			    "`qa` is not an environment of .prbot.yml: the "
			    "known ones are `staging`, `production`");
	assert_null(pb_deploy_env_find(bare, "staging"));
	assert_non_null(
		strstr(pb_err_last(), ".prbot.yml has no `deploy:` section"));
	pb_repo_config_free(rc);
	pb_repo_config_free(bare);
}

static void test_deploy_manifest_is_stable_and_names_the_target(void **state)
{
	json_t *ev = json_pack("{s:s,s:s,s:n,s:n,s:{s:f}}", "model_md5_hash",
			       "d41d8cd98f00b204e9800998ecf8427e",
			       "model_uploaded_utc", "2026-11-23T10:00:00Z",
			       "version", "environment", "metrics", "acc",
			       0.93);
	json_t *a = pb_deploy_manifest(ev, "v0.0.1", "staging");
	json_t *b = pb_deploy_manifest(ev, "v0.0.1", "staging");
	struct pb_buf ta = PB_BUF_INIT, tb = PB_BUF_INIT;

	(void)state;
	assert_non_null(a);
	assert_int_equal(pb_manifest_dump(&ta, a), 0);
	assert_int_equal(pb_manifest_dump(&tb, b), 0);
	assert_string_equal(ta.ptr, tb.ptr);
	assert_string_equal(json_string_value(json_object_get(a, "version")),
			    "v0.0.1");
	assert_string_equal(
		json_string_value(json_object_get(a, "environment")),
		"staging");
	/* the evaluation's own manifest is left as it was */
	assert_true(json_is_null(json_object_get(ev, "version")));
	pb_buf_release(&ta);
	pb_buf_release(&tb);
	json_decref(a);
	json_decref(b);
	json_decref(ev);
}

/* ---- two deploys of one environment at once ---- */

struct env_case {
	const char *command, *args, *want;
};

static const struct env_case env_cases[] = {
	{ "deploy", "[]", "staging" }, /* the default */
	{ "deploy", "[\"production\"]", "production" },
	{ "deploy", "[\"--dry-run\", \"production\"]", NULL },
	{ "deploy", "[\"production\", \"--dry-run\"]", NULL },
	{ "rollback", "[\"qa\", \"v1.0.0\"]", "qa" },
	{ "rollback", "[]", NULL },
	{ "evaluate", "[\"baseline=main\"]", NULL },
	{ "lock", "[\"staging\"]", NULL },
};

static void test_job_env_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++) {
		const struct env_case *c = &env_cases[i];
		json_t *args = json_loads(c->args, 0, NULL);
		const char *got =
			pb_deploy_job_env(c->command, args, "staging");

		if (!got != !c->want || (got && strcmp(got, c->want)))
			fail_msg("/%s %s: got %s, want %s", c->command, c->args,
				 got ? got : "NULL",
				 c->want ? c->want : "NULL");
		json_decref(args);
	}
}

static void test_running_finds_only_an_older_deploy_of_the_env(void **state)
{
	struct pb_job v[5];
	struct pb_job_list l = { v, 5 };
	const struct pb_job *j;

	(void)state;
	memset(v, 0, sizeof(v));
	v[0] = (struct pb_job){ .id = 9,
				.command = "deploy",
				.args = "[]",
				.state = PB_JOB_RUNNING };
	v[1] = (struct pb_job){ .id = 7,
				.command = "deploy",
				.args = "[\"staging\", \"--dry-run\"]",
				.state = PB_JOB_RUNNING };
	v[2] = (struct pb_job){ .id = 6,
				.command = "deploy",
				.args = "[\"staging\"]",
				.state = PB_JOB_SUCCEEDED };
	v[3] = (struct pb_job){ .id = 5,
				.command = "rollback",
				.args = "[\"production\"]",
				.state = PB_JOB_RUNNING };
	v[4] = (struct pb_job){ .id = 4,
				.command = "evaluate",
				.args = "[]",
				.state = PB_JOB_RUNNING };
	/* 8 sees 9 (newer) and the dry run 7, neither counts */
	assert_null(pb_deploy_running(&l, 8, "staging", "staging"));
	/* 10 sees 9, which deploys the default environment */
	j = pb_deploy_running(&l, 10, "staging", "staging");
	assert_non_null(j);
	assert_int_equal(j->id, 9);
	j = pb_deploy_running(&l, 10, "production", "staging");
	assert_non_null(j);
	assert_int_equal(j->id, 5);
	assert_null(pb_deploy_running(&l, 5, "production", "staging"));
}

/* A /rollback has no checkout: a /deploy without ENV is seen by its record. */
static void test_running_sees_the_environment_a_deploy_resolved(void **state)
{
	struct pb_job v[1];
	struct pb_job_list l = { v, 1 };

	(void)state;
	memset(v, 0, sizeof(v));
	v[0] = (struct pb_job){ .id = 9,
				.command = "deploy",
				.args = "[]",
				.state = PB_JOB_RUNNING };
	/* not resolved yet: it may deploy anywhere */
	assert_non_null(pb_deploy_running(&l, 10, "production", NULL));
	v[0].environment = "production";
	assert_non_null(pb_deploy_running(&l, 10, "production", NULL));
	assert_null(pb_deploy_running(&l, 10, "staging", NULL));
	/* the record beats the newer job's own default */
	assert_null(pb_deploy_running(&l, 10, "staging", "staging"));
	assert_non_null(pb_deploy_running(&l, 10, "production", "staging"));
	/* a dry run changes nothing, whatever it resolved */
	v[0].args = "[\"--dry-run\"]";
	assert_null(pb_deploy_running(&l, 10, "production", NULL));
}

/* ---- /rollback against a throwaway serving repository ---- */

static int sh_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh_ok(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int man_cb(struct pb_buf *man, struct pb_buf *sig, const char *version,
		  void *arg)
{
	(void)sig;
	(void)arg;
	return pb_buf_printf(man, "{\"version\": \"%s\"}\n", version);
}

/* Publish src/ (and extra.txt when given) as a minor bump; record it. */
static void deploy_minor(struct fixture *f, const char *serving,
			 const char *work, const char *src, int extra,
			 int64_t at)
{
	static const char *const inf[] = { "app.py", "extra.txt" };
	struct pb_publish_opts o;
	struct pb_publish_result r;
	struct pb_buf man = PB_BUF_INIT, sig = PB_BUF_INIT;
	struct pb_deployment d;

	memset(&o, 0, sizeof(o));
	o.repo = serving;
	o.branch = "main";
	o.path = "app";
	o.workdir = work;
	o.source_root = src;
	o.inference = inf;
	o.n_inference = extra ? 2 : 1;
	o.schema = PB_VERSION_MINOR;
	o.manifest = man_cb;
	o.author_name = "prbot";
	o.author_email = "prbot@localhost";
	if (pb_publish(&r, &o) != 0)
		fail_msg("publish: %s", pb_err_last());
	assert_int_equal(man_cb(&man, &sig, r.version, NULL), 0);
	d = row("staging", r.version, "deploy", at);
	d.serving_repo = serving;
	d.serving_path = "app";
	d.serving_commit = r.commit;
	d.manifest = man.ptr;
	d.version_schema = "minor";
	assert_int_equal(pb_state_deployment_add(f->st, &d, NULL), 0);
	pb_buf_release(&man);
	pb_buf_release(&sig);
	pb_publish_result_release(&r);
}

static void
test_rollback_bumps_by_the_schema_and_restores_the_path(void **state)
{
	struct fixture *f = *state;
	struct pb_config *cfg = NULL;
	struct pb_deploy_req q;
	struct pb_deploy_result res;
	struct pb_deployment_list l;
	struct pb_env_lock lock, held;
	int taken = 0;
	char serving[PB_TEST_DIR_MAX + 32], src[PB_TEST_DIR_MAX + 32];
	char work[PB_TEST_DIR_MAX + 32], scratch[PB_TEST_DIR_MAX + 32];

	snprintf(serving, sizeof(serving), "%s/serving.git", f->dir);
	snprintf(src, sizeof(src), "%s/src", f->dir);
	snprintf(work, sizeof(work), "%s/work", f->dir);
	snprintf(scratch, sizeof(scratch), "%s/scratch", f->dir);
	assert_int_equal(sh_ok("git init -q --bare -b main '%s' && "
			       "mkdir '%s' && echo v1 > '%s/app.py' && "
			       "echo later > '%s/extra.txt'",
			       serving, src, src, src),
			 0);
	deploy_minor(f, serving, work, src, 0, NOW);
	assert_int_equal(sh_ok("echo v2 > '%s/app.py'", src), 0);
	deploy_minor(f, serving, work, src, 1, NOW + 1);

	assert_int_equal(pb_config_defaults(&cfg), 0);
	free(cfg->server.workdir);
	cfg->server.workdir = strdup(work);
	assert_non_null(cfg->server.workdir);
	memset(&q, 0, sizeof(q));
	q.cfg = cfg;
	q.st = f->st;
	q.repo = REPO;
	q.pr = 1;
	q.actor = "alice";
	q.job_id = "j-3";
	q.environment = "staging";
	q.scratch = scratch;
	assert_int_equal(pb_rollback_run(&res, &q), 0);
	if (res.outcome != PB_DEPLOY_DONE)
		fail_msg("rollback: %s", res.md.ptr);
	/* v0.1.0, v0.2.0, then the rollback as v0.3.0, not v0.2.1 */
	assert_non_null(strstr(res.status, "rollback: v0.3.0 to staging"));
	assert_int_equal(sh_ok("git --git-dir='%s' rev-parse -q --verify "
			       "'v0.3.0^{commit}' >/dev/null",
			       serving),
			 0);
	assert_int_equal(sh_ok("test \"$(git --git-dir='%s' show "
			       "main:app/app.py)\" = v1",
			       serving),
			 0);
	assert_int_equal(sh_ok("! git --git-dir='%s' cat-file -e "
			       "main:app/extra.txt 2>/dev/null",
			       serving),
			 0);
	assert_int_equal(pb_state_deployments(f->st, REPO, "staging", 1, &l),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].version, "v0.3.0");
	assert_string_equal(l.v[0].kind, "rollback");
	assert_string_equal(l.v[0].version_schema, "minor");
	pb_deployment_list_release(&l);
	pb_deploy_result_release(&res);

	/* another pull request's lock: refused, returning 0 as out says */
	memset(&lock, 0, sizeof(lock));
	lock.repo = REPO;
	lock.environment = "staging";
	lock.pr = 2;
	lock.actor = "bob";
	assert_int_equal(pb_state_lock_take(f->st, &lock, NOW, &taken, &held),
			 0);
	pb_env_lock_release(&held);
	assert_int_equal(pb_rollback_run(&res, &q), 0);
	assert_int_equal(res.outcome, PB_DEPLOY_REFUSED);
	assert_non_null(strstr(res.md.ptr, "`staging` is locked by #2"));
	pb_deploy_result_release(&res);
	pb_config_free(cfg);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_deployments_newest_first_by_environment),
		T(test_deployment_add_refuses_missing_fields_and_kinds),
		T(test_deployment_keeps_its_version_schema),
		T(test_rollback_bumps_by_the_schema_and_restores_the_path),
		T(test_evaluation_of_sha_is_the_latest_passing_one),
		cmocka_unit_test(test_requires_table),
		cmocka_unit_test(test_env_find_default_unknown_and_missing),
		cmocka_unit_test(
			test_deploy_manifest_is_stable_and_names_the_target),
		cmocka_unit_test(test_job_env_table),
		cmocka_unit_test(
			test_running_finds_only_an_older_deploy_of_the_env),
		cmocka_unit_test(
			test_running_sees_the_environment_a_deploy_resolved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
