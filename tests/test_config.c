/* test_config.c: bot.conf keys, defaults, secrets and the problems reported */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "prbot/buf.h"
#include "prbot/config.h"
#include "prbot/err.h"
#include "prbot/redact.h"
#include "testutil.h"

static char tmpdir[PB_TEST_DIR_MAX];

/* Messages name the path as given, so the tests run in the data folder. */
static int setup_all(void **state)
{
	(void)state;
	if (pb_test_enter_data_dir("config") < 0 ||
	    pb_test_tmpdir(tmpdir, sizeof(tmpdir), "config") < 0)
		return -1;
	setenv("PRBOT_TEST_TOKEN", "ghp_test_token_value", 1);
	setenv("PRBOT_TEST_ACCESS_KEY", "AKIATESTACCESSKEY", 1);
	setenv("PRBOT_TEST_SLACK_SIGNING", "slack-signing-test", 1);
	setenv("PRBOT_TEST_SLACK_TOKEN", "xoxb-slack-test-token", 1);
	setenv("PRBOT_TEST_MATTERMOST_TOKEN", "mattermost-test-token", 1);
	setenv("PRBOT_TEST_SLACK_HOOK",
	       "https://hooks.slack.example/services/T0/B0/hook-test", 1);
	unsetenv("PRBOT_TEST_UNSET_VARIABLE");
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	return pb_test_rmtree(tmpdir);
}

/* Load text written to a temporary t.conf; the diags name "t.conf". */
static int load_text(struct pb_config **out, const char *text,
		     struct pb_diags *diags)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
	pb_test_write_text(path, text);
	return pb_config_load(out, path, diags);
}

static void assert_defaults(const struct pb_config *c)
{
	assert_string_equal(c->server.listen, "127.0.0.1:8080");
	assert_int_equal(c->server.workers, 2);
	assert_string_equal(c->server.state, "./var/prbot.db");
	assert_string_equal(c->server.workdir, "./var/work");
	assert_int_equal(c->server.log_level, PB_LOG_INFO);
	assert_int_equal(c->server.queue_max, 1000);
	assert_non_null(c->server.python);
	assert_int_equal(c->server.n_env_pass, 0);
	assert_int_equal(c->server.limit_cpu_sec, 3600);
	assert_true(c->server.limit_memory == 8LL << 30);
	assert_true(c->server.limit_fsize == 4LL << 30);
	assert_int_equal(c->server.limit_nofile, 1024);
	assert_int_equal(c->server.keep_workspace, 1);
	assert_string_equal(c->github.api_url, "https://api.github.com");
	assert_null(c->github.token.ref);
	assert_null(c->github.token.value);
	assert_null(c->github.app_id);
	assert_null(c->github.webhook_secret.value);
	assert_string_equal(c->github.bot_login, "prbot");
	assert_string_equal(c->store.url, "file://./var/artifacts");
	assert_null(c->store.endpoint);
	assert_null(c->store.region); /* AWS_REGION, else us-east-1 */
	assert_int_equal(c->store.s3_path_style, -1);	/* by endpoint */
	assert_true(c->store.multipart_threshold == 0); /* 64 MiB */
	assert_null(c->slack.bot_token.value);
	assert_int_equal(c->n_permissions, 0);
	assert_int_equal(c->n_labels, 0);
	assert_int_equal(c->n_schedules, 0);
	assert_int_equal(c->n_repos, 0);
	assert_null(c->deploy.signing_key.ref);
	assert_null(c->deploy.signing_key.value);
	assert_string_equal(c->deploy.author_name, "prbot");
	assert_string_equal(c->deploy.author_email, "prbot@localhost");
}

static void test_config_defaults_without_a_file(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;

	(void)state;
	assert_int_equal(pb_config_load(&c, NULL, &diags), 0);
	assert_non_null(c);
	assert_int_equal(diags.n, 0);
	assert_null(c->path);
	assert_defaults(c);
	pb_config_free(c);

	assert_int_equal(pb_config_defaults(&c), 0);
	assert_defaults(c);
	pb_config_free(c);
	pb_config_free(NULL);
}

static void test_config_defaults_with_empty_file_and_empty_server(void **state)
{
	static const char *const files[] = { "empty.conf", "server_only.conf" };
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		assert_int_equal(pb_config_load(&c, files[i], &diags), 0);
		assert_int_equal(diags.n, 0);
		assert_string_equal(c->path, files[i]);
		assert_defaults(c);
		pb_config_free(c);
	}
}

static void test_config_reads_every_section(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;

	(void)state;
	assert_int_equal(pb_config_load(&c, "full.conf", &diags), 0);
	pb_test_assert_diags(&diags, "");
	assert_string_equal(c->server.listen, "0.0.0.0:9000");
	assert_int_equal(c->server.workers, 4);
	assert_string_equal(c->server.state, "/srv/prbot/state.db");
	assert_string_equal(c->server.workdir, "/srv/prbot/work");
	assert_int_equal(c->server.log_level, PB_LOG_DEBUG);
	assert_int_equal(c->server.queue_max, 50);
	assert_string_equal(c->server.python, "/opt/python3.11/bin/python3");
	assert_int_equal(c->server.n_env_pass, 2);
	assert_string_equal(c->server.env_pass[0], "HTTPS_PROXY");
	assert_string_equal(c->server.env_pass[1], "NO_PROXY");
	assert_int_equal(c->server.limit_cpu_sec, 5400);
	assert_true(c->server.limit_memory == 512LL << 20);
	assert_true(c->server.limit_fsize == 2LL << 30);
	assert_int_equal(c->server.limit_nofile, 256);
	assert_int_equal(c->server.keep_workspace, 0);

	assert_string_equal(c->github.api_url,
			    "https://ghe.example.com/api/v3");
	assert_string_equal(c->github.token.ref, "env:PRBOT_TEST_TOKEN");
	assert_string_equal(c->github.token.value, "ghp_test_token_value");
	assert_string_equal(c->github.app_id, "4242");
	assert_string_equal(c->github.private_key.ref, "file:secrets/app.pem");
	assert_string_equal(c->github.private_key.value,
			    "-----BEGIN PRIVATE KEY-----\n"
			    "not-a-real-key-only-test-data\n"
			    "-----END PRIVATE KEY-----");
	assert_string_equal(c->github.webhook_secret.value,
			    "webhook-test-secret");
	assert_string_equal(c->github.bot_login, "ml-bot");

	assert_string_equal(c->store.url, "s3://models/prbot");
	assert_string_equal(c->store.endpoint, "http://127.0.0.1:9000");
	assert_string_equal(c->store.region, "eu-west-1");
	assert_string_equal(c->store.access_key.value, "AKIATESTACCESSKEY");
	assert_string_equal(c->store.secret_key.value, "s3-test-secret");
	assert_int_equal(c->store.s3_path_style, 0);
	assert_true(c->store.multipart_threshold == 100LL << 20);
	assert_true(c->store.part_size == 16LL << 20);
	assert_int_equal(c->store.parallel, 8);
	assert_string_equal(c->slack.signing_secret.value,
			    "slack-signing-test");
	assert_string_equal(c->slack.bot_token.value, "xoxb-slack-test-token");
	assert_string_equal(c->slack.mattermost_token.value,
			    "mattermost-test-token");
	assert_string_equal(c->slack.default_repo, "acme/iris");
	assert_int_equal(c->slack.n_channels, 2);
	assert_string_equal(c->slack.channels[0], "C0123ABCD");
	assert_string_equal(c->slack.channels[1], "G8PSS9T3V");
	assert_int_equal(c->slack.n_users, 2);
	assert_string_equal(c->slack.users[0].key, "U2CERLKJA");
	assert_string_equal(c->slack.users[0].value, "alice");
	assert_string_equal(c->slack.users[1].key, "W012A3CDE");
	assert_string_equal(c->slack.users[1].value, "bob-ml");

	assert_int_equal(c->n_permissions, 3);
	assert_string_equal(c->permissions[0].command, "evaluate");
	assert_int_equal(c->permissions[0].level, PB_PERM_TRIAGE);
	assert_string_equal(c->permissions[1].command, "deploy");
	assert_int_equal(c->permissions[1].level, PB_PERM_MAINTAIN);
	assert_string_equal(c->permissions[2].command, "help");
	assert_int_equal(c->permissions[2].level, PB_PERM_READ);

	assert_int_equal(c->n_labels, 2);
	assert_string_equal(c->labels[0].key, "prbot:evaluate");
	assert_string_equal(c->labels[0].value, "/evaluate");
	assert_int_equal(c->labels[0].line, 53);
	assert_string_equal(c->labels[1].key, "deploy-staging");
	assert_string_equal(c->labels[1].value, "/deploy staging");
	pb_config_free(c);
}

static void test_config_reads_schedules_and_repos(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;
	const struct pb_conf_schedule *s;
	const struct pb_conf_repo *r;

	(void)state;
	assert_int_equal(pb_config_load(&c, "full.conf", &diags), 0);
	assert_int_equal(c->n_schedules, 2);
	s = &c->schedules[0];
	assert_string_equal(s->name, "nightly");
	assert_string_equal(s->cron, "0 3 * * *");
	assert_string_equal(s->repo, "acme/iris");
	assert_string_equal(s->ref, "develop");
	assert_string_equal(s->command, "/evaluate baseline=main");
	assert_string_equal(
		s->notify,
		"slack:env:PRBOT_TEST_SLACK_HOOK  issue:acme/iris#12");
	assert_int_equal(s->n_targets, 2);
	assert_int_equal(s->targets[0].kind, PB_NOTIFY_SLACK);
	assert_string_equal(s->targets[0].webhook.ref,
			    "env:PRBOT_TEST_SLACK_HOOK");
	assert_string_equal(
		s->targets[0].webhook.value,
		"https://hooks.slack.example/services/T0/B0/hook-test");
	assert_null(s->targets[0].repo);
	assert_int_equal(s->targets[1].kind, PB_NOTIFY_ISSUE);
	assert_string_equal(s->targets[1].repo, "acme/iris");
	assert_int_equal(s->targets[1].issue, 12);
	assert_string_equal(s->regression_threshold, "0.005");
	s = &c->schedules[1];
	assert_string_equal(s->name, "weekly");
	assert_string_equal(s->cron, "30 4 * * 1");
	assert_string_equal(s->ref, "main");
	assert_string_equal(s->command, "/evaluate");
	assert_null(s->notify);
	assert_int_equal(s->n_targets, 0);
	assert_string_equal(s->regression_threshold, "1%");

	assert_int_equal(c->n_repos, 1);
	r = &c->repos[0];
	assert_string_equal(r->name, "acme/iris");
	assert_string_equal(r->clone_url,
			    "https://ghe.example.com/acme/iris.git");
	assert_string_equal(r->config, "ml/.prbot.yml");
	assert_int_equal(r->n_serving, 2);
	assert_string_equal(r->serving[0],
			    "https://github.com/acme/serve-a.git");
	assert_string_equal(r->serving[1],
			    "https://github.com/acme/serve-b.git");
	assert_int_equal(r->allow_forks, 1);
	pb_config_free(c);

	assert_int_equal(load_text(&c, "[repo \"o/n\"]\n", &diags), 0);
	assert_int_equal(c->n_repos, 1);
	assert_string_equal(c->repos[0].clone_url,
			    "https://github.com/o/n.git");
	assert_string_equal(c->repos[0].config, ".prbot.yml");
	assert_int_equal(c->repos[0].n_serving, 0);
	assert_int_equal(c->repos[0].allow_forks, 0);
	pb_config_free(c);
	assert_int_equal(diags.n, 0);
}

struct section_row {
	const char *text;
	const char *want; /* the diags of t.conf, in order */
};

static const struct section_row section_rows[] = {
	{ "[schedule]\ncron = 0 3 * * *\n",
	  "t.conf:1: [schedule] needs a quoted name: write [schedule "
	  "\"NAME\"]\n" },
	{ "[schedule nightly]\n",
	  "t.conf:1: [schedule] needs a quoted name: write [schedule "
	  "\"NAME\"]\n" },
	{ "[repo \"iris\"]\n",
	  "t.conf:1: [repo \"iris\"]: expected OWNER/NAME such as [repo "
	  "\"acme/iris\"]\n" },
	{ "[server \"x\"]\n", "t.conf:1: [server] takes no name\n" },
	{ "[server\nworkers = 3\n",
	  "t.conf:1: section header is missing its ']'\n" },
	{ "[schedule \"a\"]\ncron = 0 3 * * *\nrepo = o/n\n[schedule \"a\"]\n",
	  "t.conf:4: duplicate section [schedule \"a\"] (first on line 1): "
	  "merge the two\n" },
	{ "[schedule \"a\"]\ncron = every day\nrepo = o/n\n",
	  "t.conf:2: [schedule \"a\"] cron: expected 5 fields (minute hour "
	  "day-of-month month day-of-week) or a macro such as @daily, got 2 "
	  "in 'every day'\n" },
	{ "[schedule \"a\"]\ncron = 0 3 32 * *\nrepo = o/n\n",
	  "t.conf:2: [schedule \"a\"] cron: day-of-month: 32 is out of range "
	  "1-31 in '0 3 32 * *'\n" },
	{ "[schedule \"nightly\"]\nrepo = o/n\ncron = 0 3 * * Sunday\n",
	  "t.conf:3: [schedule \"nightly\"] cron: day-of-week: unknown name "
	  "'Sunday': use SUN to SAT in '0 3 * * Sunday'\n" },
	{ "[schedule \"a\"]\ncron = 0 0 30 2 *\nrepo = o/n\n",
	  "t.conf:2: [schedule \"a\"] cron: '0 0 30 2 *' never fires: no "
	  "date in 10 years matches it\n" },
	{ "[schedule \"a\"]\ncron = 0 3 * * *\nrepo = o/n\n"
	  "regression_threshold = -2%\n",
	  "t.conf:4: 'regression_threshold': expected an absolute change such "
	  "as 0.01 or a relative one such as 2%, got '-2%'\n" },
	{ "[schedule \"a\"]\ncron = 0 3 * * *\nrepo = o/n\n"
	  "regression_threshold = two percent\n",
	  "t.conf:4: 'regression_threshold': expected an absolute change such "
	  "as 0.01 or a relative one such as 2%, got 'two percent'\n" },
	{ "[schedule \"a\"]\ncron = 0 3 * * *\nrepo = o/n\nnotify = #ml\n",
	  "t.conf:4: [schedule \"a\"] notify: expected slack:env:NAME, "
	  "slack:file:PATH or issue:OWNER/REPO#N, separated by spaces\n" },
	{ "[schedule \"a\"]\ncron = 0 3 * * *\nrepo = o/n\n"
	  "notify = issue:o/n#5 issue:o/n\n",
	  "t.conf:4: [schedule \"a\"] notify: expected issue:OWNER/REPO#N "
	  "such as issue:acme/iris#12, got 'issue:o/n'\n" },
	{ "[schedule \"a\"]\ncron = 0 3 * * *\nrepo = o/n\n"
	  "notify = issue:o/n#0\n",
	  "t.conf:4: [schedule \"a\"] notify: expected issue:OWNER/REPO#N "
	  "such as issue:acme/iris#12, got 'issue:o/n#0'\n" },
	{ "[schedule \"a\"]\ncron = 0 3 * * *\nrepo = o/n\n"
	  "notify = slack:env:PRBOT_TEST_UNSET_VARIABLE\n",
	  "t.conf:4: [schedule \"a\"] notify: environment variable "
	  "'PRBOT_TEST_UNSET_VARIABLE' is not set or empty: export it before "
	  "starting prbot\n" },
	{ "[schedule \"a\"]\ncron = 0 3 * * *\nrepo = o/n\n"
	  "notify = slack:https://hooks.slack.example/services/T/B/x\n",
	  "t.conf:4: [schedule \"a\"] notify is a secret and must not be "
	  "written in the file: use env:NAME or file:PATH\n" },
	{ "[schedule \"a\"]\n",
	  "t.conf:1: [schedule \"a\"]: missing 'cron' (such as cron = 0 3 * * "
	  "*)\nt.conf:1: [schedule \"a\"]: missing 'repo' (OWNER/NAME)\n" },
	{ "[repo \"o/n\"]\nconfig = ../.prbot.yml\n",
	  "t.conf:2: 'config': expected a path relative to the repository "
	  "root without '..', got '../.prbot.yml'\n" },
	{ "workers = 3\n",
	  "t.conf:1: 'workers' is outside any section: put it under its "
	  "[section] header\n" },
	{ "[server]\njust some words\n",
	  "t.conf:2: expected KEY = VALUE or a [section] header\n" },
	{ "[server]\nstate =\n",
	  "t.conf:2: 'state' has no value: remove the line to keep the "
	  "default\n" },
	{ "[github]\napp_id = 12\n",
	  "t.conf:2: [github]: 'app_id' and 'private_key' go together: set "
	  "both to act as a GitHub App, or neither\n" },
	{ "[labels]\nprbot:eval = /evaluate\nprbot:eval = /help\n",
	  "t.conf:3: duplicate key 'prbot:eval' in [labels] (first set on "
	  "line 2): keep one\n" },
	{ "[store]\nurl = s3://Models/prbot\n",
	  "t.conf:2: 'url': store url 's3://Models/prbot': bucket 'Models': "
	  "a bucket name has only lowercase letters, digits, '.' and '-'\n" },
	{ "[store]\n\nurl = s3:/models\n",
	  "t.conf:3: 'url': store url 's3:/models': unsupported scheme: "
	  "write file://DIR or s3://BUCKET/PREFIX\n" },
	{ "[store]\nurl = s3://models//prbot\n",
	  "t.conf:2: 'url': store url 's3://models//prbot': the prefix has "
	  "an empty segment ('//')\n" },
	{ "[store]\npart_size = 1M\nmultipart_threshold = 6G\n",
	  "t.conf:2: 'part_size': expected a size from 5M to 5G, got '1M'\n"
	  "t.conf:3: 'multipart_threshold': expected a size from 5M to 5G, "
	  "got '6G'\n" },
	{ "[store]\nparallel = 0\ns3_path_style = sometimes\n",
	  "t.conf:2: 'parallel': expected a whole number from 1 to 64, got "
	  "'0'\nt.conf:3: 's3_path_style': expected true or false (yes/no, "
	  "1/0), got 'sometimes'\n" },
	{ "[store]\nsession_token = IQoJb3JpZ2luX2VjEXAMPLE\n",
	  "t.conf:2: 'session_token' is a secret and must not be written in "
	  "the file: use env:NAME or file:PATH\n" },
	{ "[frobnicate]\nx = 1\n",
	  "t.conf:1: unknown section [frobnicate]: sections are server, "
	  "github, store, slack, slack.users, deploy, permissions, labels, "
	  "schedule \"NAME\" and repo \"OWNER/NAME\"\n" },
	{ "[slack.users]\n@alice = alice\nU1 = bad login!\n",
	  "t.conf:2: [slack.users]: '@alice' is not a Slack user id: write "
	  "U123ABC = github-login (the member id from the user's Slack "
	  "profile)\nt.conf:3: [slack.users] 'U1': 'bad login!' is not a "
	  "GitHub login\n" },
	{ "[slack]\ndefault_repo = iris\n",
	  "t.conf:2: [slack] 'default_repo': expected OWNER/NAME, got "
	  "'iris'\n" },
};

/* Named sections, headers and lines that are not KEY = VALUE. */
static void test_config_reports_bad_sections_and_lines(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(section_rows) / sizeof(section_rows[0]); i++) {
		int rc = load_text(&c, section_rows[i].text, &diags);
		char *got = pb_test_render_diags(&diags), *p;

		/* the temporary folder is not part of what is compared */
		while ((p = strstr(got, tmpdir)))
			memmove(p, p + strlen(tmpdir) + 1,
				strlen(p + strlen(tmpdir) + 1) + 1);
		if (strcmp(got, section_rows[i].want))
			fail_msg("row %zu:\n%s\ngot:\n%s", i,
				 section_rows[i].want, got);
		assert_int_equal(rc, PB_EINVAL);
		assert_non_null(c);
		free(got);
		pb_config_free(c);
		pb_diags_release(&diags);
	}
}

static void test_config_unknown_key_names_line_and_suggests(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;

	(void)state;
	assert_int_equal(pb_config_load(&c, "unknown_key.conf", &diags),
			 PB_EINVAL);
	pb_test_assert_diags(&diags,
			     "unknown_key.conf:2: unknown key 'wokers' in "
			     "[server] (did you mean 'workers'?)\n");
	/* the config is still there for a summary */
	assert_non_null(c);
	assert_int_equal(c->server.workers, 2);
	pb_config_free(c);
	pb_diags_release(&diags);

	assert_int_equal(load_text(&c, "[github]\nmy_setting = 1\n", &diags),
			 PB_EINVAL);
	assert_int_equal(diags.n, 1);
	assert_string_equal(diags.v[0].msg,
			    "unknown key 'my_setting' in [github]: see "
			    "bot.conf.example for the keys");
	pb_config_free(c);
	pb_diags_release(&diags);
}

static void test_config_reports_every_problem_at_once(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;

	(void)state;
	assert_int_equal(pb_config_load(&c, "problems.conf", &diags),
			 PB_EINVAL);
	pb_test_assert_diags(
		&diags,
		"problems.conf:3: 'workers': expected a whole number from 1 "
		"to 256, got 'many'\n"
		"problems.conf:4: 'listen': expected HOST:PORT such as "
		"127.0.0.1:8080, got '8080'\n"
		"problems.conf:5: 'limit_memory': expected bytes or a size "
		"such as 512M or 8G (0 for no limit), got '8Q'\n"
		"problems.conf:6: 'keep_workspace': expected true or false "
		"(yes/no, 1/0), got 'maybe'\n"
		"problems.conf:7: duplicate key 'workers' in [server] (first "
		"set on line 3): keep one\n"
		"problems.conf:8: unknown section [sever] (did you mean "
		"[server]?)\n"
		"problems.conf:11: 'token': environment variable "
		"'PRBOT_TEST_UNSET_VARIABLE' is not set or empty: export it "
		"before starting prbot\n"
		"problems.conf:13: [permissions] 'deploy': unknown permission "
		"'superuser': use read, triage, write, maintain or admin\n"
		"problems.conf:14: [schedule \"x\"]: missing 'cron' (such as "
		"cron = 0 3 * * *)\n"
		"problems.conf:14: [schedule \"x\"]: missing 'repo' "
		"(OWNER/NAME)\n");
	assert_string_equal(pb_err_last(), "problems.conf: 10 problems");
	pb_config_free(c);
	pb_diags_release(&diags);
}

static void test_config_refuses_literal_secret_without_echoing_it(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;
	char *got;

	(void)state;
	assert_int_equal(pb_config_load(&c, "literal_secret.conf", &diags),
			 PB_EINVAL);
	got = pb_test_render_diags(&diags);
	assert_string_equal(got, "literal_secret.conf:2: 'token' is a secret "
				 "and must not be written in the file: use "
				 "env:NAME or file:PATH\n");
	assert_null(strstr(got, "0123456789abcdef"));
	assert_null(c->github.token.value);
	assert_null(c->github.token.ref);
	free(got);
	pb_config_free(c);
	pb_diags_release(&diags);

	/* nor a pasted secret after env: */
	assert_int_equal(load_text(&c, "[github]\ntoken = env:ghp abcdef\n",
				   &diags),
			 PB_EINVAL);
	assert_int_equal(diags.n, 1);
	assert_null(strstr(diags.v[0].msg, "abcdef"));
	pb_config_free(c);
	pb_diags_release(&diags);
}

static void test_config_secret_env_missing(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;

	(void)state;
	assert_int_equal(pb_config_load(&c, "secret_env_missing.conf", &diags),
			 PB_EINVAL);
	pb_test_assert_diags(&diags,
			     "secret_env_missing.conf:2: 'bot_token': "
			     "environment variable 'PRBOT_TEST_UNSET_VARIABLE' "
			     "is not set or empty: export it before starting "
			     "prbot\n");
	assert_null(c->slack.bot_token.value);
	pb_config_free(c);
	pb_diags_release(&diags);

	/* set but empty is no secret either */
	setenv("PRBOT_TEST_UNSET_VARIABLE", "", 1);
	assert_int_equal(pb_config_load(&c, "secret_env_missing.conf", &diags),
			 PB_EINVAL);
	unsetenv("PRBOT_TEST_UNSET_VARIABLE");
	assert_int_equal(diags.n, 1);
	pb_config_free(c);
	pb_diags_release(&diags);
}

static void test_config_secret_file_unreadable(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;

	(void)state;
	assert_int_equal(pb_config_load(&c, "secret_file_missing.conf", &diags),
			 PB_EINVAL);
	pb_test_assert_diags(&diags,
			     "secret_file_missing.conf:2: 'webhook_secret': "
			     "cannot read secret file 'secrets/absent': No "
			     "such file or directory\n");
	assert_null(c->github.webhook_secret.value);
	pb_config_free(c);
	pb_diags_release(&diags);
}

/* Relative to the config file's folder, not to the working directory. */
static void test_config_secret_file_read_and_newline_stripped(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;

	(void)state;
	assert_int_equal(chdir(".."), 0);
	assert_int_equal(pb_config_load(&c, "config/secret_file.conf", &diags),
			 0);
	assert_int_equal(chdir("config"), 0);
	assert_int_equal(diags.n, 0);
	assert_string_equal(c->github.webhook_secret.ref,
			    "file:secrets/webhook_secret");
	assert_string_equal(c->github.webhook_secret.value,
			    "webhook-test-secret");
	pb_config_free(c);
}

struct value_row {
	const char *text; /* the lines of [server] */
	long long want;	  /* the value read, when err is NULL */
	const char *err;  /* the message, or NULL */
};

static const struct value_row size_rows[] = {
	{ "limit_memory = 0", 0, NULL },
	{ "limit_memory = 1048576", 1048576, NULL },
	{ "limit_memory = 64K", 64LL << 10, NULL },
	{ "limit_memory = 512M", 512LL << 20, NULL },
	{ "limit_memory = 8G", 8LL << 30, NULL },
	{ "limit_memory = 8g", 8LL << 30, NULL },
	{ "limit_memory = 2T", 2LL << 40, NULL },
	{ "limit_memory = 8GB", 0,
	  "'limit_memory': expected bytes or a size such as 512M or 8G (0 for "
	  "no limit), got '8GB'" },
	{ "limit_memory = -1", 0,
	  "'limit_memory': expected bytes or a size such as 512M or 8G (0 for "
	  "no limit), got '-1'" },
	{ "limit_memory = 1.5G", 0,
	  "'limit_memory': expected bytes or a size such as 512M or 8G (0 for "
	  "no limit), got '1.5G'" },
	{ "limit_memory = 99999999999T", 0,
	  "'limit_memory': expected bytes or a size such as 512M or 8G (0 for "
	  "no limit), got '99999999999T'" },
};

static const struct value_row bool_rows[] = {
	{ "keep_workspace = true", 1, NULL },
	{ "keep_workspace = yes", 1, NULL },
	{ "keep_workspace = 1", 1, NULL },
	{ "keep_workspace = TRUE", 1, NULL },
	{ "keep_workspace = false", 0, NULL },
	{ "keep_workspace = no", 0, NULL },
	{ "keep_workspace = 0", 0, NULL },
	{ "keep_workspace = off", 0,
	  "'keep_workspace': expected true or false (yes/no, 1/0), got "
	  "'off'" },
};

static const struct value_row cpu_rows[] = {
	{ "limit_cpu = 600", 600, NULL },
	{ "limit_cpu = 0", 0, NULL },
	{ "limit_cpu = 1h", 3600, NULL },
	{ "limit_cpu = 1h30m", 5400, NULL },
	{ "limit_cpu = 90s", 90, NULL },
	{ "limit_cpu = an hour", 0,
	  "'limit_cpu': expected seconds or a duration such as 90s, 30m, 1h30m "
	  "(0 for no limit), got 'an hour'" },
};

static void check_value_rows(const struct value_row *rows, size_t n,
			     long long (*get)(const struct pb_config *))
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;
	char text[256];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "[server]\n%s\n", rows[i].text);
		if (!rows[i].err) {
			assert_int_equal(load_text(&c, text, &diags), 0);
			if (get(c) != rows[i].want)
				fail_msg("'%s': got %lld", rows[i].text,
					 get(c));
		} else {
			assert_int_equal(load_text(&c, text, &diags),
					 PB_EINVAL);
			assert_int_equal(diags.n, 1);
			assert_int_equal(diags.v[0].line, 2);
			assert_string_equal(diags.v[0].msg, rows[i].err);
		}
		pb_config_free(c);
		pb_diags_release(&diags);
	}
}

static long long get_memory(const struct pb_config *c)
{
	return c->server.limit_memory;
}

static long long get_keep(const struct pb_config *c)
{
	return c->server.keep_workspace;
}

static long long get_cpu(const struct pb_config *c)
{
	return c->server.limit_cpu_sec;
}

static void test_config_sizes(void **state)
{
	(void)state;
	check_value_rows(size_rows, sizeof(size_rows) / sizeof(size_rows[0]),
			 get_memory);
}

static void test_config_booleans(void **state)
{
	(void)state;
	check_value_rows(bool_rows, sizeof(bool_rows) / sizeof(bool_rows[0]),
			 get_keep);
}

static void test_config_cpu_limit_seconds_or_duration(void **state)
{
	(void)state;
	check_value_rows(cpu_rows, sizeof(cpu_rows) / sizeof(cpu_rows[0]),
			 get_cpu);
}

static void test_config_missing_file_is_not_found(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;

	(void)state;
	assert_int_equal(pb_config_load(&c, "absent.conf", &diags),
			 PB_ENOTFOUND);
	assert_null(c);
	pb_test_assert_diags(
		&diags,
		"absent.conf: cannot read: No such file or directory\n");
	pb_diags_release(&diags);
}

static void test_config_long_line_is_reported(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;
	struct pb_buf text = PB_BUF_INIT;
	int i;

	(void)state;
	assert_int_equal(pb_buf_puts(&text, "[server]\nstate = /"), 0);
	for (i = 0; i < 300; i++)
		assert_int_equal(pb_buf_putc(&text, 'a'), 0);
	assert_int_equal(pb_buf_puts(&text, "\nworkers = 3\n"), 0);
	assert_int_equal(load_text(&c, pb_buf_cstr(&text), &diags), PB_EINVAL);
	assert_int_equal(diags.n, 1);
	assert_int_equal(diags.v[0].line, 2);
	assert_non_null(strstr(diags.v[0].msg, "the line is longer than"));
	/* the next line is read as usual */
	assert_int_equal(c->server.workers, 3);
	pb_config_free(c);
	pb_diags_release(&diags);
	pb_buf_release(&text);
}

static void test_config_summary_shows_refs_not_values(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;
	char *s;

	(void)state;
	assert_int_equal(pb_config_load(&c, "full.conf", &diags), 0);
	s = pb_config_summary(c);
	assert_non_null(s);
	assert_non_null(strstr(s, "listen: 0.0.0.0:9000, workers: 4"));
	assert_non_null(strstr(s, "state: /srv/prbot/state.db\n"));
	assert_non_null(strstr(s, "workdir: /srv/prbot/work\n"));
	assert_non_null(strstr(s, "store: s3://models/prbot\n"));
	assert_non_null(strstr(s, "github: https://ghe.example.com/api/v3"));
	assert_non_null(strstr(s, "github.token=env:PRBOT_TEST_TOKEN"));
	assert_non_null(
		strstr(s, "github.webhook_secret=file:secrets/webhook_secret"));
	assert_non_null(strstr(s, "permissions: 3, labels: 2, schedules: 2, "
				  "repos: 1\n"));
	assert_null(strstr(s, "ghp_test_token_value"));
	assert_null(strstr(s, "webhook-test-secret"));
	assert_null(strstr(s, "s3-test-secret"));
	free(s);
	pb_config_free(c);

	assert_int_equal(pb_config_defaults(&c), 0);
	s = pb_config_summary(c);
	assert_non_null(strstr(s, "secrets: none\n"));
	free(s);
	pb_config_free(c);
}

static void test_config_secrets_go_to_the_redactor(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_redactor *r = NULL;
	struct pb_config *c = NULL;
	char *out;

	(void)state;
	assert_int_equal(pb_config_load(&c, "full.conf", &diags), 0);
	/* a short secret is skipped, not an error */
	free(c->slack.bot_token.value);
	c->slack.bot_token.value = strdup("abc");
	assert_non_null(c->slack.bot_token.value);
	assert_int_equal(pb_redactor_new(&r), 0);
	/* the store may sign with the AWS variables: masked as well */
	setenv("AWS_SECRET_ACCESS_KEY", "env-aws-secret-value", 1);
	assert_int_equal(pb_config_add_secrets(c, r), 0);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	out = pb_redact_str(r, "hook webhook-test-secret s3 s3-test-secret "
			       "aws env-aws-secret-value slack "
			       "https://hooks.slack.example/services/T0/B0/"
			       "hook-test");
	assert_non_null(out);
	assert_null(strstr(out, "hook-test"));
	assert_null(strstr(out, "webhook-test-secret"));
	assert_null(strstr(out, "s3-test-secret"));
	assert_null(strstr(out, "env-aws-secret-value"));
	assert_non_null(strstr(out, "[REDACTED]"));
	free(out);
	pb_redactor_free(r);
	pb_config_free(c);
}

/* Serving commits are the bot's: its login names them unless set. */
static void test_config_deploy_author_defaults_to_the_bot_login(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;

	(void)state;
	assert_int_equal(
		load_text(&c, "[github]\nbot_login = ml-bot\n", &diags), 0);
	assert_string_equal(c->deploy.author_name, "ml-bot");
	pb_config_free(c);
	c = NULL;
	assert_int_equal(load_text(&c,
				   "[github]\nbot_login = ml-bot\n[deploy]\n"
				   "author_name = Deployer\n",
				   &diags),
			 0);
	assert_string_equal(c->deploy.author_name, "Deployer");
	pb_config_free(c);
	pb_diags_release(&diags);
}

/* [deploy]: the signing key is parsed at load, never echoed */
static void test_config_deploy_signing_key_and_author(void **state)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_redactor *r = NULL;
	struct pb_config *c = NULL;
	char path[4096], *priv, *pub, *summary, *out;

	(void)state;
	pb_test_keypair(&priv, &pub, "ED25519", NULL);
	snprintf(path, sizeof(path), "%s/sign.pem", tmpdir);
	pb_test_write_text(path, priv);
	assert_int_equal(load_text(&c,
				   "[deploy]\nsigning_key = file:sign.pem\n"
				   "author_name = ML Bot\n"
				   "author_email = ml-bot@example.com\n",
				   &diags),
			 0);
	pb_test_assert_diags(&diags, "");
	assert_string_equal(c->deploy.signing_key.ref, "file:sign.pem");
	/* the file's trailing newline is dropped, as for every secret */
	assert_memory_equal(c->deploy.signing_key.value, priv,
			    strlen(priv) - 1);
	assert_string_equal(c->deploy.author_name, "ML Bot");
	assert_string_equal(c->deploy.author_email, "ml-bot@example.com");

	summary = pb_config_summary(c);
	assert_non_null(summary);
	assert_non_null(strstr(summary, "deploy: commits as ML Bot "
					"<ml-bot@example.com>, manifests "
					"signed with Ed25519 key "));
	assert_non_null(strstr(summary, "deploy.signing_key=file:sign.pem"));
	assert_null(strstr(summary, "PRIVATE KEY"));

	/* the whole key is masked wherever it would be logged */
	assert_int_equal(pb_redactor_new(&r), 0);
	assert_int_equal(pb_config_add_secrets(c, r), 0);
	out = pb_redact_str(r, c->deploy.signing_key.value);
	assert_non_null(out);
	assert_null(strstr(out, "PRIVATE KEY"));
	assert_null(strstr(out, "MC4CAQAw"));
	free(out);
	pb_redactor_free(r);
	free(summary);
	pb_config_free(c);

	/* no key: the summary says the manifests are not signed */
	assert_int_equal(pb_config_defaults(&c), 0);
	summary = pb_config_summary(c);
	assert_non_null(strstr(summary, "deploy: commits as prbot "
					"<prbot@localhost>, manifests not "
					"signed\n"));
	free(summary);
	pb_config_free(c);
	free(priv);
	free(pub);
}

static void test_config_deploy_refuses_bad_keys_and_authors(void **state)
{
	static const char *const types[] = { "RSA", "EC" };
	static const struct section_row rows[] = {
		{ "[deploy]\nsigning_key = file:rsa.pem\n",
		  "t.conf:2: [deploy] signing_key (file:rsa.pem) is an RSA "
		  "key, not Ed25519: make one with 'openssl genpkey "
		  "-algorithm ed25519'\n" },
		{ "[deploy]\n\nsigning_key = file:ec.pem\n",
		  "t.conf:3: [deploy] signing_key (file:ec.pem) is an EC key, "
		  "not Ed25519: make one with 'openssl genpkey -algorithm "
		  "ed25519'\n" },
		{ "[deploy]\nsigning_key = file:enc.pem\n",
		  "t.conf:2: [deploy] signing_key (file:enc.pem) is encrypted "
		  "and prbot cannot ask for its passphrase: store it "
		  "unencrypted with 'openssl pkey -in KEY -out PLAIN' and "
		  "keep that file private\n" },
		{ "[deploy]\nsigning_key = file:pub.pem\n",
		  "t.conf:2: [deploy] signing_key (file:pub.pem) is a public "
		  "key: give the private key (make one with 'openssl genpkey "
		  "-algorithm ed25519')\n" },
		{ "[deploy]\nsigning_key = -----BEGIN PRIVATE KEY-----\n",
		  "t.conf:2: 'signing_key' is a secret and must not be "
		  "written in the file: use env:NAME or file:PATH\n" },
		{ "[deploy]\nsigning_key = file:none.pem\n",
		  "t.conf:2: 'signing_key': cannot read secret file "
		  "'TMP/none.pem': No such file or directory\n" },
		{ "[deploy]\nauthor_email = prbot\n",
		  "t.conf:2: 'author_email': expected an address such as "
		  "bot@example.com, without spaces, '<' or '>', got 'prbot'\n" },
		{ "[deploy]\nauthor_email = a b@example.com\n",
		  "t.conf:2: 'author_email': expected an address such as "
		  "bot@example.com, without spaces, '<' or '>', got 'a "
		  "b@example.com'\n" },
		{ "[deploy]\nauthor_name = Bot <bot@example.com>\n",
		  "t.conf:2: 'author_name': expected a name without '<' or "
		  "'>', got 'Bot <bot@example.com>'\n" },
		{ "[deploy]\nsigning_ky = file:x\n",
		  "t.conf:2: unknown key 'signing_ky' in [deploy] (did you mean "
		  "'signing_key'?)\n" },
	};
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL;
	char path[4096], *priv, *pub, *got, *p;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		pb_test_keypair(&priv, &pub, types[i], NULL);
		snprintf(path, sizeof(path), "%s/%s.pem", tmpdir,
			 i ? "ec" : "rsa");
		pb_test_write_text(path, priv);
		free(priv);
		free(pub);
	}
	pb_test_keypair(&priv, &pub, "ED25519", "passphrase");
	snprintf(path, sizeof(path), "%s/enc.pem", tmpdir);
	pb_test_write_text(path, priv);
	snprintf(path, sizeof(path), "%s/pub.pem", tmpdir);
	pb_test_write_text(path, pub);
	free(priv);
	free(pub);

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(load_text(&c, rows[i].text, &diags),
				 PB_EINVAL);
		got = pb_test_render_diags(&diags);
		while ((p = strstr(got, tmpdir))) {
			if (p > got && p[-1] == '\'') {
				memcpy(p, "TMP", 3);
				memmove(p + 3, p + strlen(tmpdir),
					strlen(p + strlen(tmpdir)) + 1);
			} else {
				memmove(p, p + strlen(tmpdir) + 1,
					strlen(p + strlen(tmpdir) + 1) + 1);
			}
		}
		if (strcmp(got, rows[i].want))
			fail_msg("row %zu:\n%s\ngot:\n%s", i, rows[i].want,
				 got);
		free(got);
		pb_diags_release(&diags);
		pb_config_free(c);
	}
}

static void test_config_example_loads_clean_and_documents_every_key(void **st)
{
	static const char *const keys[] = {
		"listen",	  "workers",	  "state",
		"workdir",	  "log_level",	  "queue_max",
		"python",	  "env_pass",	  "limit_cpu",
		"limit_memory",	  "limit_fsize",  "limit_nofile",
		"keep_workspace", "api_url",	  "token",
		"app_id",	  "private_key",  "webhook_secret",
		"bot_login",	  "url",	  "endpoint",
		"region",	  "access_key",	  "secret_key",
		"signing_secret", "bot_token",	  "cron",
		"repo",		  "ref",	  "command",
		"notify",	  "clone_url",	  "config",
		"serving",	  "allow_forks",  "signing_key",
		"author_name",	  "author_email", "mattermost_token",
		"default_repo",	  "channels",	  "regression_threshold",
	};
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *c = NULL, *d = NULL;
	struct pb_buf path = PB_BUF_INIT;
	const char *src = getenv("PRBOT_SOURCE_DIR");
	char want[64], *text;
	size_t i;

	(void)st;
	assert_non_null(src);
	assert_int_equal(pb_buf_printf(&path, "%s/bot.conf.example", src), 0);
	setenv("GITHUB_TOKEN", "ghp_example_token_value", 1);
	setenv("PRBOT_WEBHOOK_SECRET", "example-webhook-secret", 1);
	assert_int_equal(pb_config_load(&c, pb_buf_cstr(&path), &diags), 0);
	pb_test_assert_diags(&diags, "");
	assert_string_equal(c->github.token.value, "ghp_example_token_value");
	/* what is commented out is the default, as the comments say */
	assert_int_equal(pb_config_defaults(&d), 0);
	assert_string_equal(c->server.listen, d->server.listen);
	assert_int_equal(c->server.workers, d->server.workers);
	assert_string_equal(c->server.state, d->server.state);
	assert_string_equal(c->store.url, d->store.url);
	assert_true(c->server.limit_memory == d->server.limit_memory);

	text = pb_test_read_file(pb_buf_cstr(&path), NULL);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(want, sizeof(want), "\n;%s = ", keys[i]);
		if (strstr(text, want))
			continue;
		snprintf(want, sizeof(want), "\n%s = ", keys[i]);
		if (!strstr(text, want))
			fail_msg("bot.conf.example does not show '%s'",
				 keys[i]);
	}
	unsetenv("GITHUB_TOKEN");
	unsetenv("PRBOT_WEBHOOK_SECRET");
	free(text);
	pb_buf_release(&path);
	pb_config_free(d);
	pb_config_free(c);
}

static void test_perm_parse_and_name(void **state)
{
	static const char *const names[] = { "none",  "read",	  "triage",
					     "write", "maintain", "admin" };
	enum pb_perm p;
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
		assert_int_equal(pb_perm_parse(&p, names[i]), 0);
		assert_int_equal(p, (enum pb_perm)i);
		assert_string_equal(pb_perm_name(p), names[i]);
	}
	assert_true(PB_PERM_READ < PB_PERM_TRIAGE &&
		    PB_PERM_TRIAGE < PB_PERM_WRITE &&
		    PB_PERM_WRITE < PB_PERM_MAINTAIN &&
		    PB_PERM_MAINTAIN < PB_PERM_ADMIN);
	assert_int_equal(pb_perm_parse(&p, "Write"), PB_EINVAL);
	assert_string_equal(pb_err_last(),
			    "unknown permission 'Write': use read, triage, "
			    "write, maintain or admin");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults_without_a_file),
		cmocka_unit_test(
			test_config_defaults_with_empty_file_and_empty_server),
		cmocka_unit_test(test_config_reads_every_section),
		cmocka_unit_test(test_config_reads_schedules_and_repos),
		cmocka_unit_test(test_config_reports_bad_sections_and_lines),
		cmocka_unit_test(
			test_config_unknown_key_names_line_and_suggests),
		cmocka_unit_test(test_config_reports_every_problem_at_once),
		cmocka_unit_test(
			test_config_refuses_literal_secret_without_echoing_it),
		cmocka_unit_test(test_config_secret_env_missing),
		cmocka_unit_test(test_config_secret_file_unreadable),
		cmocka_unit_test(
			test_config_secret_file_read_and_newline_stripped),
		cmocka_unit_test(test_config_sizes),
		cmocka_unit_test(test_config_booleans),
		cmocka_unit_test(test_config_cpu_limit_seconds_or_duration),
		cmocka_unit_test(test_config_missing_file_is_not_found),
		cmocka_unit_test(test_config_long_line_is_reported),
		cmocka_unit_test(test_config_summary_shows_refs_not_values),
		cmocka_unit_test(test_config_secrets_go_to_the_redactor),
		cmocka_unit_test(
			test_config_deploy_author_defaults_to_the_bot_login),
		cmocka_unit_test(test_config_deploy_signing_key_and_author),
		cmocka_unit_test(
			test_config_deploy_refuses_bad_keys_and_authors),
		cmocka_unit_test(
			test_config_example_loads_clean_and_documents_every_key),
		cmocka_unit_test(test_perm_parse_and_name),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
