/* test_repoconf.c: .prbot.yml read into its struct, and the problems reported
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/repoconf.h"
#include "testutil.h"

/* Messages name the path as given, so the tests run in the data folder. */
static int enter_data_dir(void **state)
{
	(void)state;
	return pb_test_enter_data_dir("repoconf");
}

static struct pb_repo_config *load_ok(const char *file)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_repo_config *c = NULL;
	char *got;

	if (pb_repo_config_load(&c, file, &diags) < 0) {
		got = pb_test_render_diags(&diags);
		fail_msg("%s: %s", file, got);
	}
	assert_int_equal(diags.n, 0);
	assert_non_null(c);
	return c;
}

static void test_repoconf_full_example_fills_the_struct(void **state)
{
	struct pb_repo_config *c = load_ok("full.yml");
	const struct pb_environment *e;

	(void)state;
	assert_string_equal(c->file, "full.yml");
	assert_string_equal(c->train.setup,
			    "pip install -r requirements-train.txt");
	assert_string_equal(c->train.requirements, "requirements-train.txt");
	assert_string_equal(c->train.notebook, "notebooks/train.ipynb");
	assert_null(c->train.command);
	assert_int_equal(c->train.timeout_sec, 5400);
	assert_string_equal(c->model, "out/model.pkl");
	assert_string_equal(c->metrics, "out/metrics.json");
	assert_string_equal(c->evaluate.predict, "python3 src/predict.py");
	assert_string_equal(c->evaluate.test_cases, "tests/TEST_CASES.json");
	assert_string_equal(c->evaluate.baseline, "main");
	assert_int_equal(c->evaluate.n_gates, 2);
	assert_string_equal(c->evaluate.gates[0].metric, "accuracy");
	assert_int_equal(c->evaluate.gates[0].op, PB_GATE_GE);
	assert_true(c->evaluate.gates[0].value == 0.90);
	assert_string_equal(c->evaluate.gates[0].expr, ">= 0.90");
	assert_string_equal(c->evaluate.gates[1].metric, "latency_ms");
	assert_int_equal(c->evaluate.gates[1].op, PB_GATE_LE);
	assert_true(c->evaluate.gates[1].value == 50);
	assert_int_equal(c->deploy.version_schema, PB_VERSION_MINOR);
	assert_int_equal(c->deploy.n_inference, 2);
	assert_string_equal(c->deploy.inference[0], "src/");
	assert_string_equal(c->deploy.inference[1], "requirements.txt");
	assert_int_equal(c->deploy.n_envs, 2);
	e = &c->deploy.envs[0];
	assert_string_equal(e->name, "staging");
	assert_string_equal(e->repo, "https://github.com/acme/serving.git");
	assert_string_equal(e->branch, "staging");
	assert_string_equal(e->path, "models/iris");
	assert_int_equal(e->n_requires, 0);
	e = &c->deploy.envs[1];
	assert_string_equal(e->name, "production");
	assert_string_equal(e->branch, "main");
	assert_string_equal(e->path, ".");
	assert_int_equal(e->n_requires, 2);
	assert_string_equal(e->requires[0], "approved");
	assert_string_equal(e->requires[1], "checks");
	pb_repo_config_free(c);
	pb_repo_config_free(NULL);
}

static void test_repoconf_defaults_and_command(void **state)
{
	struct pb_repo_config *c = load_ok("minimal.yml");

	(void)state;
	assert_string_equal(c->model, "model.pkl");
	assert_null(c->train.setup);
	assert_string_equal(c->train.requirements, "requirements.txt");
	assert_null(c->train.notebook);
	assert_null(c->train.command);
	assert_int_equal(c->train.timeout_sec, 1800);
	assert_null(c->metrics);
	assert_int_equal(c->evaluate.n_gates, 0);
	assert_int_equal(c->deploy.version_schema, PB_VERSION_REVISION);
	assert_int_equal(c->deploy.n_inference, 0);
	assert_int_equal(c->deploy.n_envs, 0);
	pb_repo_config_free(c);

	c = load_ok("command.yml");
	assert_string_equal(c->train.command, "python3 train.py --epochs 3");
	assert_int_equal(c->train.timeout_sec, 600);
	assert_int_equal(c->evaluate.n_gates, 1);
	assert_int_equal(c->evaluate.gates[0].op, PB_GATE_GT);
	assert_int_equal(c->deploy.version_schema, PB_VERSION_MAJOR);
	pb_repo_config_free(c);
}

/* The example the README points people to must stay valid. */
static void test_repoconf_iris_example_is_valid(void **state)
{
	struct pb_buf path = PB_BUF_INIT;
	const char *src = getenv("PRBOT_SOURCE_DIR");
	struct pb_repo_config *c;

	(void)state;
	assert_non_null(src);
	assert_int_equal(
		pb_buf_printf(&path, "%s/examples/iris/.prbot.yml", src), 0);
	c = load_ok(pb_buf_cstr(&path));
	assert_string_equal(c->model, "model.pkl");
	assert_int_equal(c->train.timeout_sec, 300);
	pb_repo_config_free(c);
	pb_buf_release(&path);
}

struct bad_row {
	const char *file;
	const char *want; /* every diag, in order */
};

static const struct bad_row bad_rows[] = {
	{ "syntax.yml",
	  "syntax.yml:4: syntax error: did not find expected key (while "
	  "parsing a block mapping on line 1)\n" },
	{ "unknown_key.yml",
	  "unknown_key.yml:1: unknown key 'trian' (did you mean 'train'?)\n"
	  "unknown_key.yml:4: unknown key 'timout' in 'train' (did you mean "
	  "'timeout'?)\n"
	  "unknown_key.yml:7: unknown key 'gate' in 'evaluate' (did you mean "
	  "'gates'?)\n"
	  "unknown_key.yml:8: unknown key 'sandbox' in 'evaluate': expected "
	  "one of predict, test_cases, gates, baseline\n" },
	{ "both.yml",
	  "both.yml:3: 'train': both 'notebook' and 'command' are set: keep "
	  "one (or neither when the model is checked in)\n" },
	{ "bad_timeout.yml",
	  "bad_timeout.yml:3: 'train.timeout': expected a duration such as "
	  "90s, 30m, 2h, 1h30m or a number of seconds, got '30 minutes'\n" },
	{ "bad_gate.yml",
	  "bad_gate.yml:5: gate 'loss': expected OPERATOR NUMBER like '>= "
	  "0.90' (operators >= <= > < ==), got 'below 0.2'\n"
	  "bad_gate.yml:6: gate 'f1': expected OPERATOR NUMBER like '>= 0.90' "
	  "(operators >= <= > < ==), got '0.8'\n" },
	{ "paths.yml",
	  "paths.yml:1: 'model': '../model.pkl' contains '..': give a path "
	  "inside the repository\n"
	  "paths.yml:2: 'metrics': '/tmp/metrics.json' is an absolute path: "
	  "give a path relative to the repository root\n"
	  "paths.yml:4: 'train.notebook': 'notebooks/../../train.ipynb' "
	  "contains '..': give a path inside the repository\n"
	  "paths.yml:6: 'deploy.inference': '../secrets' contains '..': give "
	  "a path inside the repository\n" },
	{ "missing_model.yml",
	  "missing_model.yml: missing 'model': name the model file the "
	  "training writes or the repository holds, such as model: "
	  "model.pkl\n" },
	{ "empty.yml",
	  "empty.yml: missing 'model': name the model file the training "
	  "writes or the repository holds, such as model: model.pkl\n" },
	{ "types.yml",
	  "types.yml:1: 'train': expected a mapping, got a list\n"
	  "types.yml:2: 'model': expected a string, got a mapping\n"
	  "types.yml:4: 'evaluate.predict': expected a string, got a list\n"
	  "types.yml:5: 'evaluate.gates': expected a mapping, got a list\n"
	  "types.yml:7: 'deploy.inference': expected a list, got a string\n"
	  "types.yml:8: 'deploy.environments': expected a mapping, got a "
	  "string\n" },
	{ "deploy.yml",
	  "deploy.yml:3: 'deploy.version_schema': expected major, minor or "
	  "revision, got 'patch'\n"
	  "deploy.yml:5: 'deploy.environments.staging': missing 'repo' (the "
	  "serving repository's URL)\n"
	  "deploy.yml:9: 'deploy.environments.production.requires': unknown "
	  "requirement 'review': use approved, checks or both\n"
	  "deploy.yml:10: unknown key 'owner' in "
	  "'deploy.environments.production': expected one of repo, branch, "
	  "path, requires\n" },
	{ "duplicate.yml",
	  "duplicate.yml:4: duplicate key 'model' (first on line 1): keep "
	  "one\n" },
	{ "two_documents.yml",
	  "two_documents.yml:3: a second YAML document: .prbot.yml holds one, "
	  "remove the '---' before it\n" },
};

static void test_repoconf_reports_problems_with_their_line(void **state)
{
	static struct pb_repo_config stale;
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_repo_config *c;
	size_t i;
	char *got;

	(void)state;
	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		c = &stale; /* *out is reset even on failure */
		assert_int_equal(pb_repo_config_load(&c, bad_rows[i].file,
						     &diags),
				 PB_EINVAL);
		assert_null(c);
		got = pb_test_render_diags(&diags);
		if (strcmp(got, bad_rows[i].want))
			fail_msg("%s: want\n%sgot\n%s", bad_rows[i].file,
				 bad_rows[i].want, got);
		free(got);
		pb_diags_release(&diags);
	}
}

struct text_row {
	const char *text;
	const char *want;
};

/* Mistakes libyaml words unclearly get a hint on what to change. */
static const struct text_row hint_rows[] = {
	{ "model: m.pkl\nevaluate:\n  gates:\n    accuracy: >= 0.90\n",
	  "t.yml:4: syntax error: did not find expected comment or line break "
	  "(while scanning a block scalar on line 4): quote a value that "
	  "starts with > or |, such as \">= 0.90\"\n" },
	{ "model: m.pkl\ntrain:\n\tcommand: x\n",
	  "t.yml:3: syntax error: found character that cannot start any "
	  "token (while scanning for the next token on line 3): indent with "
	  "spaces, not tabs\n" },
	{ "model: m\xff.pkl\n",
	  "t.yml:1: syntax error: invalid leading UTF-8 octet\n" },
	{ "just text\n",
	  "t.yml:1: expected a mapping of train, model, metrics, evaluate and "
	  "deploy at the top, got a string\n" },
	{ "model: m.pkl\ntrain:\n  notebook:\n  command: python3 t.py\n", "" },
	{ "model: m.pkl\ntrain:\n  timeout: 0\n",
	  "t.yml:3: 'train.timeout': expected a duration such as 90s, 30m, "
	  "2h, 1h30m or a number of seconds, got '0'\n" },
	{ "model: m.pkl\ndeploy:\n  environments:\n    \"a b\": {repo: r}\n",
	  "t.yml:4: 'deploy.environments': 'a b' is not an environment name: "
	  "use letters, digits, '-' and '_'\n" },
	{ "model: m.pkl\ndeploy:\n  inference: [src/, [x]]\n",
	  "t.yml:3: 'deploy.inference': expected a list of strings, got a "
	  "list\n" },
};

static void test_repoconf_parse_text(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_repo_config *c = NULL;
	size_t i;
	char *got;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(hint_rows) / sizeof(hint_rows[0]); i++) {
		rc = pb_repo_config_parse(&c, hint_rows[i].text,
					  strlen(hint_rows[i].text), "t.yml",
					  &diags);
		got = pb_test_render_diags(&diags);
		if (strcmp(got, hint_rows[i].want))
			fail_msg("row %zu: want\n%sgot\n%s", i,
				 hint_rows[i].want, got);
		assert_int_equal(rc, *hint_rows[i].want ? PB_EINVAL : 0);
		free(got);
		pb_repo_config_free(c);
		c = NULL;
		pb_diags_release(&diags);
	}
}

static void test_repoconf_missing_file_is_not_found(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_repo_config *c = NULL;

	(void)state;
	assert_int_equal(pb_repo_config_load(&c, "absent.yml", &diags),
			 PB_ENOTFOUND);
	assert_null(c);
	pb_test_assert_diags(&diags, "absent.yml: cannot read: No such file or "
				     "directory (add a .prbot.yml at the "
				     "repository root; see README)\n");
	pb_diags_release(&diags);
}

struct duration_row {
	const char *text;
	int rc;
	long sec;
};

static const struct duration_row duration_rows[] = {
	{ "30m", 0, 1800 },
	{ "90s", 0, 90 },
	{ "2h", 0, 7200 },
	{ "1h30m", 0, 5400 },
	{ "1h1m1s", 0, 3661 },
	{ "1d", 0, 86400 },
	{ "600", 0, 600 },
	{ "0", 0, 0 },
	{ "0m", 0, 0 },
	{ "", PB_EINVAL, 0 },
	{ "m", PB_EINVAL, 0 },
	{ "h30", PB_EINVAL, 0 },
	{ "-5", PB_EINVAL, 0 },
	{ "+5", PB_EINVAL, 0 },
	{ "30x", PB_EINVAL, 0 },
	{ "30 m", PB_EINVAL, 0 },
	{ " 30m", PB_EINVAL, 0 },
	{ "30m ", PB_EINVAL, 0 },
	{ "1.5h", PB_EINVAL, 0 },
	{ "1h30", PB_EINVAL, 0 },
	{ "30m1h", PB_EINVAL, 0 },
	{ "1h1h", PB_EINVAL, 0 },
	{ "99999999999999999999", PB_EINVAL, 0 },
	{ "9999999999999999h", PB_EINVAL, 0 },
};

static void test_duration_parse_table(void **state)
{
	size_t i;
	long sec;

	(void)state;
	for (i = 0; i < sizeof(duration_rows) / sizeof(duration_rows[0]); i++) {
		const struct duration_row *r = &duration_rows[i];
		int rc;

		sec = -1;
		rc = pb_duration_parse(&sec, r->text);
		if (rc != r->rc || (rc == 0 && sec != r->sec))
			fail_msg("'%s': want rc %d, %ld s; got rc %d, %ld s",
				 r->text, r->rc, r->sec, rc, sec);
	}
	assert_int_equal(pb_duration_parse(&sec, "30x"), PB_EINVAL);
	assert_string_equal(pb_err_last(),
			    "bad duration '30x': expected seconds or a "
			    "duration such as 90s, 30m, 2h or 1h30m");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repoconf_full_example_fills_the_struct),
		cmocka_unit_test(test_repoconf_defaults_and_command),
		cmocka_unit_test(test_repoconf_iris_example_is_valid),
		cmocka_unit_test(
			test_repoconf_reports_problems_with_their_line),
		cmocka_unit_test(test_repoconf_parse_text),
		cmocka_unit_test(test_repoconf_missing_file_is_not_found),
		cmocka_unit_test(test_duration_parse_table),
	};

	return cmocka_run_group_tests(tests, enter_data_dir, NULL);
}
