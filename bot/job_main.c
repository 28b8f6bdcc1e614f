/* job_main.c: prbot-job, the job side: one claimed job, or 'prbot run' */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <git2.h>

#include "prbot/err.h"
#include "prbot/gh.h"
#include "prbot/log.h"
#include "prbot/redact.h"
#include "prbot/state.h"
#include "prbot/worker.h"
#include "bot.h"
#include "../src/banned.h"

static const char usage_text[] =
	"usage: prbot-job job JOB_ID WORKER_ID BOT_CONF\n"
	"       prbot-job report-lost JOB_ID BOT_CONF\n"
	"       prbot-job run COMMAND [ARGS...]  (what 'prbot run' runs)\n"
	"       prbot-job verify MANIFEST ...    (what 'prbot verify' runs)\n"
	"       prbot-job --version-libs\n"
	"\n"
	"The job side of prbot, started by 'prbot serve', 'prbot run' and\n"
	"'prbot verify'; not meant to be run by hand. 'job' carries a job that\n"
	"worker WORKER_ID claimed in the state store to its end; 'report-lost'\n"
	"posts the end of a job whose job process died at its last attempt.\n"
	"SIGTERM cancels the run and leaves the job for a retry.\n";

/* SIGTERM (the daemon stops now, or died: PR_SET_PDEATHSIG) */
static atomic_int job_stopping;

static void on_term(int sig)
{
	(void)sig;
	atomic_store(&job_stopping, PB_WORKER_STOP_NOW);
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	/* the daemon decides what a terminal's Ctrl-C means for its jobs */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
}

/* What a job process works with, as the daemon's workers had it. */
struct job {
	struct pb_config *cfg;
	struct pb_redactor *redact;
	struct pb_state *state;
	struct pb_gh *gh;
	struct pb_worker_cache *cache;
	struct pb_worker_env env;
};

static int open_github(struct job *j)
{
	const struct pb_config *c = j->cfg;
	struct pb_gh_opts o;

	if (!c->github.token.value &&
	    !(c->github.app_id && c->github.private_key.value))
		return 0; /* the daemon warned at its start */
	pb_gh_opts_from_config(&o, c);
	return pb_gh_new(&j->gh, &o);
}

static int job_open(struct job *j, const char *conf, const char *worker)
{
	int rc;

	memset(j, 0, sizeof(*j));
	if (!(j->cfg = bot_config_load(conf)))
		return PB_EINVAL;
	if ((rc = pb_redactor_new(&j->redact)) < 0 ||
	    (rc = pb_config_add_secrets(j->cfg, j->redact)) < 0)
		return rc;
	pb_log_init(j->cfg->server.log_level, stderr);
	pb_log_set_redactor(j->redact);
	if ((rc = pb_state_open(&j->state, j->cfg->server.state)) < 0 ||
	    (rc = open_github(j)) < 0 ||
	    (rc = pb_worker_cache_new(&j->cache, j->state,
				      PB_WORKER_PERM_TTL)) < 0)
		return rc;
	j->env.cfg = j->cfg;
	j->env.redact = j->redact;
	j->env.state = j->state;
	j->env.gh = j->gh;
	j->env.worker_id = worker;
	j->env.stopping = &job_stopping;
	j->env.cache = j->cache; /* in the store: shared by the jobs */
	return 0;
}

static void job_close(struct job *j)
{
	pb_worker_cache_free(j->cache);
	pb_gh_free(j->gh);
	pb_state_close(j->state);
	pb_log_set_redactor(NULL);
	pb_redactor_free(j->redact);
	pb_config_free(j->cfg);
}

static int parse_id(int64_t *out, const char *text)
{
	if (pb_job_id_parse(out, text) < 0) {
		bot_error("%s", pb_err_last());
		return -1;
	}
	return 0;
}

/* job JOB_ID WORKER_ID BOT_CONF, or report-lost JOB_ID BOT_CONF */
static int job_main(int argc, char **argv)
{
	int lost = !strcmp(argv[0], "report-lost");
	const char *worker = lost ? "report-lost" : argv[2];
	struct job j;
	int64_t id;
	int rc = JOB_EXIT_FAILED;

	if (argc != (lost ? 3 : 4)) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (parse_id(&id, argv[1]) < 0)
		return EXIT_USAGE;
	catch_signals();
	if (job_open(&j, argv[lost ? 2 : 3], worker) < 0) {
		if (j.cfg)
			bot_error("job %s: %s", argv[1], pb_err_last());
		rc = j.cfg ? JOB_EXIT_FAILED : EXIT_USAGE;
		goto out;
	}
	if ((lost ? pb_worker_report_lost(&j.env, id) :
		    pb_worker_run_claimed(&j.env, id)) < 0)
		pb_log_error("job %s: %s", argv[1], pb_err_last());
	else
		rc = JOB_EXIT_OK;
out:
	job_close(&j);
	return rc;
}

int main(int argc, char **argv)
{
	int major, minor, rev;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "run"))
		return job_cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return job_cmd_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "job") || !strcmp(argv[1], "report-lost"))
		return job_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version-libs")) {
		git_libgit2_version(&major, &minor, &rev);
		printf("prbot-job: libgit2 %d.%d.%d, %s\n", major, minor, rev,
		       curl_version());
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	bot_error("prbot-job: unknown command '%s': it is started by "
		  "'prbot serve', 'prbot run' and 'prbot verify'",
		  argv[1]);
	return EXIT_USAGE;
}
