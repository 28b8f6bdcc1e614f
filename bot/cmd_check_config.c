/* cmd_check_config.c: prbot check-config, report every problem in bot.conf
 * and .prbot.yml */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prbot/err.h"
#include "prbot/repoconf.h"
#include "prbot/scheduler.h"
#include "bot.h"
#include "../src/banned.h"

static const char check_usage[] =
	"usage: prbot check-config [-c bot.conf] [--repo-config FILE]\n"
	"\n"
	"Check bot.conf (default: ./bot.conf when present, else the built-in\n"
	"defaults) and, with --repo-config, a repository's .prbot.yml. Every\n"
	"problem is printed as FILE:LINE: message and the exit code is 2; a\n"
	"good configuration prints a summary and exits 0.\n";

static void print_diags(const struct pb_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *line = pb_diag_format(&d->v[i]);

		fprintf(stderr, "%s\n", line ? line : d->v[i].msg);
		free(line);
	}
}

static void repo_summary(const struct pb_repo_config *rc)
{
	size_t i;

	printf("%s: ok\n", rc->file);
	if (rc->train.notebook)
		printf("  train: notebook %s (timeout %lds)\n",
		       rc->train.notebook, rc->train.timeout_sec);
	else if (rc->train.command)
		printf("  train: command '%s' (timeout %lds)\n",
		       rc->train.command, rc->train.timeout_sec);
	else
		printf("  train: none (model checked in)\n");
	if (rc->train.setup)
		printf("  setup: '%s' (venv keyed by %s)\n", rc->train.setup,
		       rc->train.requirements);
	printf("  model: %s\n", rc->model);
	if (rc->metrics)
		printf("  metrics: %s\n", rc->metrics);
	for (i = 0; i < rc->evaluate.n_gates; i++)
		printf("  gate: %s %s\n", rc->evaluate.gates[i].metric,
		       rc->evaluate.gates[i].expr);
	if (rc->evaluate.test_cases)
		printf("  test cases: %s through '%s'\n",
		       rc->evaluate.test_cases,
		       rc->evaluate.predict ? rc->evaluate.predict : "?");
	for (i = 0; i < rc->deploy.n_envs; i++)
		printf("  environment: %s -> %s (%s)\n",
		       rc->deploy.envs[i].name, rc->deploy.envs[i].repo,
		       rc->deploy.envs[i].branch);
}

/* What serve checks of the [schedule] sections beyond their keys. */
static int check_schedules(const struct pb_config *cfg)
{
	struct pb_scheduler_opts o;
	struct pb_scheduler *s;

	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	if (pb_scheduler_new(&s, &o) < 0) {
		bot_error("check-config: %s: %s",
			  cfg->path ? cfg->path : "bot.conf", pb_err_last());
		return -1;
	}
	pb_scheduler_free(s);
	return 0;
}

int cmd_check_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "repo-config", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_repo_config *repo = NULL;
	struct pb_config *cfg = NULL;
	const char *config = NULL, *repo_config = NULL;
	char *summary = NULL;
	int c, rc = EXIT_OK;

	if (bot_wants_help(argc, argv)) {
		fputs(check_usage, stdout);
		return EXIT_OK;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c') {
			config = optarg;
		} else if (c == 'r') {
			repo_config = optarg;
		} else {
			bot_error("check-config: unknown or incomplete option "
				  "'%s': see 'prbot check-config --help'",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		bot_error("check-config: unexpected argument '%s'",
			  argv[optind]);
		return EXIT_USAGE;
	}
	if (!config && access("bot.conf", F_OK) == 0)
		config = "bot.conf";
	if (pb_config_load(&cfg, config, &diags) < 0)
		rc = EXIT_USAGE;
	print_diags(&diags);
	pb_diags_release(&diags);
	if (rc == EXIT_OK && cfg && check_schedules(cfg) < 0)
		rc = EXIT_USAGE;
	if (rc == EXIT_OK && cfg) {
		if (!config)
			printf("no bot.conf: using the built-in defaults\n");
		summary = pb_config_summary(cfg);
		printf("%s", summary ? summary : "");
	}
	if (repo_config) {
		if (pb_repo_config_load(&repo, repo_config, &diags) < 0)
			rc = EXIT_USAGE;
		print_diags(&diags);
		if (repo)
			repo_summary(repo);
	}
	free(summary);
	pb_repo_config_free(repo);
	pb_diags_release(&diags);
	pb_config_free(cfg);
	return rc;
}
