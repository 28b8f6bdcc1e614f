/* job_run.c: prbot run, in prbot-job: one chat command run locally */
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "prbot/command.h"
#include "prbot/err.h"
#include "prbot/log.h"
#include "prbot/pipeline.h"
#include "prbot/redact.h"
#include "bot.h"
#include "../src/banned.h"

static const char run_usage[] =
	"usage: prbot run COMMAND [ARGS...] --repo PATH|URL [--ref REF] "
	"[--sha SHA]\n"
	"                 [-c bot.conf] [--json]\n"
	"\n"
	"Run one chat command (as if commented on a pull request) on a local\n"
	"path or a repository URL and print its report on stdout.\n"
	"\n"
	"  --repo PATH|URL   a work tree (or a folder inside one), a bare "
	"repository,\n"
	"                    a file:// or https:// URL\n"
	"  --ref REF         branch or tag (default: the repository's HEAD)\n"
	"  --sha SHA         the commit to check out (default: the tip of "
	"REF)\n"
	"  -c, --config FILE bot.conf (default: ./bot.conf when present, "
	"else\n"
	"                    built-in defaults)\n"
	"  --json            print the report as one JSON object\n"
	"\n"
	"Commands: evaluate [baseline=REF], help. Exit codes: 0 every stage, "
	"gate\nand test case passed; 1 something failed; 2 usage or "
	"configuration error.\n";

/*
 * Ctrl-C or SIGTERM cancels the run: the children live in their own process
 * group, so the terminal's signal does not reach them and the runner must
 * kill them. A second signal exits at once.
 */
static atomic_int run_cancel;

static void on_signal(int sig)
{
	if (atomic_exchange(&run_cancel, 1))
		_exit(128 + sig);
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

struct run_args {
	const char *repo;
	const char *ref;
	const char *sha;
	const char *config;
	int json;
};

static int parse_args(struct run_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "ref", required_argument, NULL, 'f' },
		{ "sha", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			a->repo = optarg;
			break;
		case 'f':
			a->ref = optarg;
			break;
		case 's':
			a->sha = optarg;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 'j':
			a->json = 1;
			break;
		default:
			bot_error("run: unknown or incomplete option '%s': see "
				  "'prbot run --help'",
				  argv[optind - 1]);
			return -1;
		}
	}
	return 0;
}

static void make_job_id(char *out, size_t len)
{
	unsigned char rnd[4] = { 0 };
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd[0] = (unsigned char)clock();
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, len, "run-%s-%02x%02x%02x%02x", stamp, rnd[0], rnd[1],
		 rnd[2], rnd[3]);
}

/* The report passes through redaction like every text prbot posts. */
static int print_report(const struct pb_run_ctx *ctx, int as_json)
{
	json_t *report = pb_report_json(ctx);
	char *text = NULL, *safe = NULL;
	int rc = 0;

	if (!report)
		return pb_err_set("cannot build the report: out of memory");
	if (as_json)
		text = json_dumps(report,
				  JSON_COMPACT | JSON_REAL_PRECISION(15));
	else
		text = pb_report_markdown(report);
	if (!text || !(safe = pb_redact_str(ctx->req->redact, text)))
		rc = pb_err_set("cannot render the report: out of memory");
	else
		printf("%s\n", safe);
	free(safe);
	free(text);
	json_decref(report);
	return rc;
}

static int exit_code(enum pb_outcome o)
{
	switch (o) {
	case PB_OUTCOME_SUCCEEDED:
		return EXIT_OK;
	case PB_OUTCOME_CONFIG_ERROR:
		return EXIT_USAGE;
	default:
		return EXIT_FAILED;
	}
}

static int run_pipeline(const struct pb_invocation *inv,
			const struct run_args *a, const struct pb_config *cfg,
			const struct pb_redactor *redact)
{
	struct pb_run_request req;
	struct pb_run_ctx ctx;
	const char *user = getenv("USER");
	char job_id[64];
	int rc;

	make_job_id(job_id, sizeof(job_id));
	memset(&req, 0, sizeof(req));
	req.cfg = cfg;
	req.redact = redact;
	req.job.id = job_id;
	req.job.command = inv->cmd->name;
	req.job.actor = user && *user ? user : "local";
	req.job.source = "cli";
	req.repo = a->repo;
	req.ref = a->ref;
	req.sha = a->sha;
	req.stages = inv->cmd->stages;
	req.n_stages = inv->cmd->n_stages;
	req.cancel = &run_cancel;
	catch_signals();
	if (pb_pipeline_run(&ctx, &req) < 0) {
		bot_error("%s: %s", inv->cmd->name, pb_err_last());
		pb_run_ctx_release(&ctx);
		return EXIT_FAILED;
	}
	if (print_report(&ctx, a->json) < 0)
		bot_error("%s", pb_err_last());
	rc = exit_code(ctx.outcome);
	if (ctx.error)
		bot_error("%s %s: %s (log: %s)", inv->cmd->name,
			  ctx.outcome == PB_OUTCOME_CANCELLED ? "cancelled" :
								"failed",
			  ctx.error, ctx.log_path);
	pb_run_ctx_release(&ctx);
	return rc;
}

int job_cmd_run(int argc, char **argv)
{
	struct pb_invocation inv = { NULL, NULL, 0 };
	struct pb_redactor *redact = NULL;
	struct pb_config *cfg = NULL;
	struct run_args a;
	int rc = EXIT_USAGE;

	if (bot_wants_help(argc, argv)) {
		fputs(run_usage, stdout);
		return EXIT_OK;
	}
	if (parse_args(&a, argc, argv) < 0)
		return EXIT_USAGE;
	if (optind >= argc) {
		bot_error("run: which command? e.g. 'prbot run evaluate "
			  "--repo PATH' (see 'prbot run --help')");
		return EXIT_USAGE;
	}
	inv.cmd = pb_command_find(argv[optind]);
	if (!inv.cmd) {
		bot_error("run: unknown command '%s': see 'prbot run help'",
			  argv[optind]);
		return EXIT_USAGE;
	}
	inv.args = argv + optind + 1;
	inv.n_args = (size_t)(argc - optind - 1);
	if (pb_invocation_check(&inv) < 0) {
		bot_error("run: %s", pb_err_last());
		return EXIT_USAGE;
	}
	if (!(cfg = bot_config_load(a.config)))
		goto out;
	if (pb_redactor_new(&redact) < 0 ||
	    pb_config_add_secrets(cfg, redact) < 0) {
		bot_error("%s", pb_err_last());
		goto out;
	}
	pb_log_init(cfg->server.log_level, stderr);
	pb_log_set_redactor(redact);
	if (inv.cmd->handler) {
		struct pb_command_ctx cctx = { cfg, &inv, stdout };

		rc = EXIT_OK;
		if (inv.cmd->handler(&cctx) < 0) {
			bot_error("%s: %s", inv.cmd->name, pb_err_last());
			rc = EXIT_FAILED;
		}
		goto out;
	}
	if (inv.cmd->flags & PB_CMD_NEEDS_PR) {
		bot_error("run: '%s' is not available in 'prbot run': use it "
			  "in a pull request comment",
			  inv.cmd->name);
		rc = EXIT_USAGE;
		goto out;
	}
	if (!a.repo) {
		bot_error("run: '%s' needs --repo PATH|URL", inv.cmd->name);
		goto out;
	}
	rc = run_pipeline(&inv, &a, cfg, redact);
out:
	pb_log_set_redactor(NULL);
	pb_redactor_free(redact);
	pb_config_free(cfg);
	return rc;
}
