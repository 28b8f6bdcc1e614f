/* cmd_serve.c: prbot serve, the daemon: HTTP ingress, workers, signals */
#define _GNU_SOURCE /* pipe2, pthread_timedjoin_np */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "prbot/err.h"
#include "prbot/http_server.h"
#include "prbot/ingress.h"
#include "prbot/log.h"
#include "prbot/redact.h"
#include "prbot/scheduler.h"
#include "prbot/state.h"
#include "prbot/worker.h"
#include "bot.h"
#include "../src/banned.h"

static const char serve_usage[] =
	"usage: prbot serve [-c bot.conf] [--workers N]\n"
	"\n"
	"Run the daemon: receive GitHub webhooks on [server] listen, queue "
	"their\n"
	"commands in the state store and run them in [server] workers "
	"threads,\n"
	"each job in its own prbot-job process (next to prbot, or installed "
	"in\n" PRBOT_LIBEXEC_DIR ").\n"
	"Routes: POST /webhooks/github, POST /chat/slack, GET /healthz, GET "
	"/metrics.\n"
	"\n"
	"  -c, --config FILE bot.conf (default: ./bot.conf when present, "
	"else\n"
	"                    built-in defaults); [github] webhook_secret is "
	"required\n"
	"  --workers N       override [server] workers; 0 accepts and queues\n"
	"                    webhooks but runs no job\n"
	"\n"
	"SIGTERM or SIGINT stops it: no new connection is accepted, running "
	"jobs\n"
	"get 60 seconds to finish, queued jobs stay queued. Exit codes: 0 "
	"stopped\ncleanly, 1 a failure while running, 2 usage or "
	"configuration error.\n";

/* How long running jobs get to finish after SIGTERM (not configurable yet). */
#define SERVE_STOP_GRACE_SEC 60
/* After the grace period, how long a cancelled run gets to wind down. */
#define SERVE_STOP_CANCEL_SEC 10
/* An idle worker looks at the queue again this often. */
#define SERVE_IDLE_WAIT_SEC 1
/* How often expired leases are taken back. */
#define SERVE_REQUEUE_EVERY_MS 2000

/* The signal handler only writes to this pipe; main reads it. */
static int signal_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(signal_pipe[1], &c, 1) < 0) {
		/* the pipe is full: a stop is pending anyway */
	}
	errno = saved;
}

static int catch_signals(void)
{
	struct sigaction sa;

	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return pb_err_set("cannot create the signal pipe: %s",
				  strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

static void close_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (signal_pipe[0] >= 0)
		close(signal_pipe[0]);
	if (signal_pipe[1] >= 0)
		close(signal_pipe[1]);
	signal_pipe[0] = signal_pipe[1] = -1;
}

struct serve;

struct worker {
	struct serve *s;
	pthread_t thread;
	int started;
	char id[128];		/* HOSTNAME:PID:N */
	struct bot_child child; /* its job process */
};

struct serve {
	struct pb_config *cfg;
	struct pb_redactor *redact;
	struct pb_state *state;
	char job_exe[PATH_MAX]; /* prbot-job */
	char conf[PATH_MAX];	/* bot.conf, absolute: for prbot-job */
	struct serve_job_opts jobs;
	struct pb_ingress *ingress;
	struct pb_http_server *http;
	struct worker *workers;
	int n_workers;
	struct pb_scheduler *sched; /* [schedule] sections: jobs on time */

	atomic_int stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	unsigned long wake_seq; /* under lock: bumped by every wake-up */
};

/* Called by the ingress after it queued jobs, and after a requeue. */
static void wake_workers(void *arg)
{
	struct serve *s = arg;

	pthread_mutex_lock(&s->lock);
	s->wake_seq++;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* Sleep until woken, stopping, or SERVE_IDLE_WAIT_SEC passed. */
static void worker_idle(struct serve *s, unsigned long seen)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SERVE_IDLE_WAIT_SEC;
	pthread_mutex_lock(&s->lock);
	while (s->wake_seq == seen && !atomic_load(&s->stopping))
		if (pthread_cond_timedwait(&s->wake, &s->lock, &until) ==
		    ETIMEDOUT)
			break;
	pthread_mutex_unlock(&s->lock);
}

/* Claim the oldest queued job and run it in a job process: 1, 0 or < 0. */
static int worker_turn(struct worker *w)
{
	struct serve *s = w->s;
	struct pb_job job;
	int rc;

	rc = pb_state_claim(s->state, w->id, PB_WORKER_LEASE_SEC,
			    (int64_t)time(NULL), &job);
	if (rc < 0 || job.id == 0)
		return rc;
	rc = serve_job_run(&s->jobs, &w->child, w->id, &job);
	pb_job_release(&job);
	return rc < 0 ? rc : 1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct serve *s = w->s;
	unsigned long seen;
	int rc;

	pb_log_info("worker %s: started", w->id);
	while (!atomic_load(&s->stopping)) {
		pthread_mutex_lock(&s->lock);
		seen = s->wake_seq;
		pthread_mutex_unlock(&s->lock);
		rc = worker_turn(w);
		if (rc == 1)
			continue;
		if (rc < 0)
			pb_log_error("worker %s: %s", w->id, pb_err_last());
		worker_idle(s, seen);
	}
	pb_log_info("worker %s: stopped", w->id);
	return NULL;
}

static int start_workers(struct serve *s, int n)
{
	char host[64] = "localhost";
	int i, rc;

	if (n <= 0) {
		pb_log_info("no workers: webhooks are queued, no job runs");
		return 0;
	}
	if (!(s->workers = calloc((size_t)n, sizeof(*s->workers))))
		return pb_err_set("cannot start workers: out of memory");
	s->n_workers = n;
	for (i = 0; i < n; i++)
		bot_child_init(&s->workers[i].child);
	if (gethostname(host, sizeof(host)) < 0)
		memcpy(host, "localhost", sizeof("localhost"));
	host[sizeof(host) - 1] = '\0';
	for (i = 0; i < n; i++) {
		struct worker *w = &s->workers[i];

		w->s = s;
		snprintf(w->id, sizeof(w->id), "%s:%ld:%d", host,
			 (long)getpid(), i + 1);
		if ((rc = pthread_create(&w->thread, NULL, worker_main, w))) {
			return pb_err_set("cannot start worker %d: %s", i + 1,
					  strerror(rc));
		}
		w->started = 1;
	}
	return 0;
}

/* Join the started workers until the deadline; returns how many are left. */
static int join_workers(struct serve *s, int sec)
{
	struct timespec until;
	int i, left = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += sec;
	for (i = 0; i < s->n_workers; i++) {
		struct worker *w = &s->workers[i];

		if (!w->started)
			continue;
		if (pthread_timedjoin_np(w->thread, NULL, &until) == 0)
			w->started = 0;
		else
			left++;
	}
	return left;
}

/*
 * Stop claiming, let running jobs finish within the grace period, then
 * cancel what still runs (its job stays running in the store and is taken
 * again at the next start). Returns the number of workers still running
 * after that: they keep the store, so it must not be closed.
 */
static int stop_workers(struct serve *s)
{
	int i, left;

	atomic_store(&s->stopping, 1);
	wake_workers(s);
	if (!(left = join_workers(s, SERVE_STOP_GRACE_SEC)))
		return 0;
	pb_log_warnx("%d job(s) still running %d s after the stop: cancelled, "
		     "they are taken again at the next start",
		     left, SERVE_STOP_GRACE_SEC);
	atomic_store(&s->stopping, PB_WORKER_STOP_NOW);
	for (i = 0; i < s->n_workers; i++)
		bot_child_signal(&s->workers[i].child, SIGTERM);
	if ((left = join_workers(s, SERVE_STOP_CANCEL_SEC)))
		pb_log_error("%d worker(s) did not stop: exiting anyway", left);
	return left;
}

static int route_healthz(const struct pb_http_server_request *req,
			 struct pb_http_server_response *resp, void *arg)
{
	struct serve *s = arg;

	(void)req;
	if (pb_state_ping(s->state) < 0) {
		pb_log_error("healthz: %s", pb_err_last());
		resp->status = 503;
		return pb_buf_puts(&resp->body,
				   "state store does not answer\n");
	}
	return pb_buf_puts(&resp->body, "ok\n");
}

/* Prometheus text format, version 0.0.4. */
static int route_metrics(const struct pb_http_server_request *req,
			 struct pb_http_server_response *resp, void *arg)
{
	struct serve *s = arg;
	struct pb_ingress_stats st;
	struct pb_buf *b = &resp->body;
	int64_t queued = 0;
	int i, rc;

	(void)req;
	pb_ingress_stats(s->ingress, &st);
	if (pb_state_count_queued(s->state, &queued) < 0) {
		pb_log_error("metrics: %s", pb_err_last());
		queued = -1;
	}
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	rc = pb_buf_puts(b, "# HELP prbot_webhooks_total GitHub webhook "
			    "deliveries answered, by HTTP status\n"
			    "# TYPE prbot_webhooks_total counter\n");
	for (i = 0; rc == 0 && i < PB_INGRESS_N_STATUS; i++) {
		if (pb_ingress_statuses[i])
			rc = pb_buf_printf(b,
					   "prbot_webhooks_total{code=\"%d\"} "
					   "%" PRIu64 "\n",
					   pb_ingress_statuses[i],
					   st.by_status[i]);
		else
			rc = pb_buf_printf(
				b,
				"prbot_webhooks_total{code=\"other\"} "
				"%" PRIu64 "\n",
				st.by_status[i]);
	}
	if (rc == 0)
		rc = pb_buf_printf(
			b,
			"# HELP prbot_jobs_accepted_total jobs queued from "
			"webhooks\n"
			"# TYPE prbot_jobs_accepted_total counter\n"
			"prbot_jobs_accepted_total %" PRIu64 "\n"
			"# HELP prbot_queue_depth jobs queued in the state "
			"store (-1: the store did not answer)\n"
			"# TYPE prbot_queue_depth gauge\n"
			"prbot_queue_depth %" PRId64 "\n"
			"# HELP prbot_commits_total state store transactions "
			"that recorded webhook deliveries\n"
			"# TYPE prbot_commits_total counter\n"
			"prbot_commits_total %" PRIu64 "\n"
			"# HELP prbot_committed_deliveries_total deliveries "
			"those transactions recorded (several per fsync under "
			"load)\n"
			"# TYPE prbot_committed_deliveries_total counter\n"
			"prbot_committed_deliveries_total %" PRIu64 "\n"
			"# HELP prbot_workers worker threads\n"
			"# TYPE prbot_workers gauge\n"
			"prbot_workers %d\n"
			"# HELP prbot_build_info prbot's version\n"
			"# TYPE prbot_build_info gauge\n"
			"prbot_build_info{version=\"%s\"} 1\n",
			st.jobs_queued, queued, st.commits, st.committed,
			s->n_workers, PRBOT_VERSION);
	return rc;
}

/* libgit2 and libcurl are prbot-job's: 'prbot version' prints them. */
static void log_versions(void)
{
	pb_log_info("prbot %s starting (pid %ld): libwebsockets %s, sqlite %s, "
		    "jansson %s, %s",
		    PRBOT_VERSION, (long)getpid(), lws_get_library_version(),
		    sqlite3_libversion(), jansson_version_str(),
		    OpenSSL_version(OPENSSL_VERSION));
}

/* A job the requeue ended at its last attempt: a job process reports it. */
static void report_end(struct serve *s, const struct pb_job *job)
{
	struct bot_child c;

	if (job->state != PB_JOB_FAILED && job->state != PB_JOB_CANCELLED)
		return;
	if (!s->jobs.exe) {
		pb_log_warnx("job %s: %s, not reported on the PR: no job runs "
			     "here (--workers 0)",
			     job->public_id, pb_job_state_name(job->state));
		return;
	}
	bot_child_init(&c);
	serve_job_report_end(&s->jobs, &c, job);
	bot_child_destroy(&c);
}

/* Jobs left running by a process that died: queued again, or failed. */
static int requeue(struct serve *s, enum pb_requeue which)
{
	struct pb_job_list l = { NULL, 0 };
	size_t i;
	int rc;

	if ((rc = pb_state_requeue(s->state, which, (int64_t)time(NULL), &l)) <
	    0)
		return rc;
	for (i = 0; i < l.n; i++)
		pb_log_warnx("job %s (%s on %s#%" PRId64 "): left running by "
			     "%s: now %s",
			     l.v[i].public_id, l.v[i].command, l.v[i].repo,
			     l.v[i].pr,
			     l.v[i].lease_owner ? l.v[i].lease_owner : "?",
			     pb_job_state_name(l.v[i].state));
	for (i = 0; i < l.n; i++)
		report_end(s, &l.v[i]);
	if (l.n)
		wake_workers(s);
	pb_job_list_release(&l);
	return 0;
}

/* The job processes open their GitHub client; the daemon only warns. */
static void check_github(const struct pb_config *c)
{
	if (!c->github.token.value &&
	    !(c->github.app_id && c->github.private_key.value))
		pb_log_warnx("%s: [github] has no token nor app_id with "
			     "private_key: nothing can be posted to GitHub",
			     c->path ? c->path : "bot.conf");
}

/* Say at start-up whether POST /chat/slack can take a command. */
static void check_slack(const struct pb_config *c)
{
	int slack = c->slack.signing_secret.value != NULL;
	int mm = c->slack.mattermost_token.value != NULL;

	if (!slack && !mm)
		pb_log_info("/chat/slack: off (no [slack] signing_secret nor "
			    "mattermost_token)");
	else
		pb_log_info("/chat/slack: %s%s%s, %zu user(s) mapped",
			    slack ? "Slack" : "", slack && mm ? " and " : "",
			    mm ? "Mattermost" : "", c->slack.n_users);
	if ((slack || mm) && !c->slack.n_users)
		pb_log_warnx("%s: [slack.users] maps nobody: every slash "
			     "command but help is refused",
			     c->path ? c->path : "bot.conf");
}

/* prbot-job and what it is given; only needed when jobs run. */
static int find_job_side(struct serve *s)
{
	const char *where;

	if (bot_job_find(s->job_exe, sizeof(s->job_exe), &where) < 0)
		return -1;
	if (!s->cfg->path || !realpath(s->cfg->path, s->conf))
		return pb_err_set("cannot resolve the path of '%s' for the job "
				  "processes: %s",
				  s->cfg->path ? s->cfg->path : "bot.conf",
				  s->cfg->path ? strerror(errno) :
						 "no bot.conf file");
	s->jobs.exe = s->job_exe;
	s->jobs.conf = s->conf;
	s->jobs.state = s->state;
	s->jobs.stopping = &s->stopping;
	pb_log_info("jobs run in %s (%s), reading %s", s->job_exe, where,
		    s->conf);
	return 0;
}

static int start_http(struct serve *s)
{
	const struct pb_http_server_route routes[] = {
		{ "POST", "/webhooks/github", pb_ingress_github, s->ingress },
		{ "POST", "/chat/slack", pb_ingress_slack, s->ingress },
		{ "GET", "/healthz", route_healthz, s },
		{ "GET", "/metrics", route_metrics, s },
	};
	struct pb_http_server_opts o;

	memset(&o, 0, sizeof(o));
	o.listen = s->cfg->server.listen;
	o.routes = routes;
	o.n_routes = sizeof(routes) / sizeof(routes[0]);
	return pb_http_server_start(&s->http, &o);
}

/* The schedules queue their jobs as the ingress does: workers are woken. */
static int start_scheduler(struct serve *s)
{
	struct pb_scheduler_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.cfg = s->cfg;
	o.state = s->state;
	o.on_queued = wake_workers;
	o.on_queued_arg = s;
	if ((rc = pb_scheduler_new(&s->sched, &o)) < 0)
		return rc;
	return pb_scheduler_start(s->sched);
}

/* Until SIGTERM or SIGINT; takes expired leases back meanwhile. */
static void serve_loop(struct serve *s)
{
	struct pollfd p = { signal_pipe[0], POLLIN, 0 };
	unsigned char sig = 0;
	int n;

	for (;;) {
		n = poll(&p, 1, SERVE_REQUEUE_EVERY_MS);
		if (n > 0 && read(signal_pipe[0], &sig, 1) == 1)
			break;
		if (n < 0 && errno != EINTR) {
			pb_log_error("poll: %s", strerror(errno));
			break;
		}
		if (s->n_workers && requeue(s, PB_REQUEUE_EXPIRED) < 0)
			pb_log_error("%s", pb_err_last());
	}
	pb_log_info("signal %d: stopping: no new connections, running jobs "
		    "get %d s",
		    sig, SERVE_STOP_GRACE_SEC);
}

struct serve_args {
	const char *config;
	int workers; /* -1: [server] workers */
};

static int parse_args(struct serve_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long n;
	int c;

	a->config = NULL;
	a->workers = -1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'w':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 0 ||
			    n > 256) {
				bot_error("serve: --workers '%s': expected a "
					  "number from 0 to 256",
					  optarg);
				return -1;
			}
			a->workers = (int)n;
			break;
		default:
			bot_error("serve: unknown or incomplete option '%s': "
				  "see 'prbot serve --help'",
				  argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		bot_error("serve: unexpected argument '%s': see 'prbot serve "
			  "--help'",
			  argv[optind]);
		return -1;
	}
	return 0;
}

/* Everything before the first request: exit 2 on a failure here. */
static int serve_start(struct serve *s, const struct serve_args *a)
{
	struct pb_ingress_opts io;
	int n, rc;

	if ((rc = pb_redactor_new(&s->redact)) < 0 ||
	    (rc = pb_config_add_secrets(s->cfg, s->redact)) < 0)
		return rc;
	pb_log_init(s->cfg->server.log_level, stderr);
	pb_log_set_redactor(s->redact);
	log_versions();
	if ((rc = pb_state_open(&s->state, s->cfg->server.state)) < 0)
		return rc;
	pb_state_set_queue_max(s->state, s->cfg->server.queue_max);
	if ((rc = pb_state_checkpointer_start(s->state)) < 0)
		return rc;
	check_github(s->cfg);
	check_slack(s->cfg);
	n = a->workers >= 0 ? a->workers : s->cfg->server.workers;
	if (n > 0 && (rc = find_job_side(s)) < 0)
		return rc;
	/* this is the only process on the file: its running jobs are dead */
	if ((rc = requeue(s, PB_REQUEUE_ALL)) < 0)
		return rc;
	memset(&io, 0, sizeof(io));
	io.cfg = s->cfg;
	io.state = s->state;
	io.on_queued = wake_workers;
	io.on_queued_arg = s;
	if ((rc = pb_ingress_new(&s->ingress, &io)) < 0 ||
	    (rc = catch_signals()) < 0)
		return rc;
	if ((rc = start_workers(s, n)) < 0)
		return rc;
	if ((rc = start_scheduler(s)) < 0)
		return rc;
	if ((rc = start_http(s)) < 0)
		return rc;
	pb_log_info("serving on port %d: state %s, %d worker(s)",
		    pb_http_server_port(s->http), s->cfg->server.state,
		    s->n_workers);
	return 0;
}

static void serve_release(struct serve *s)
{
	int i;

	/* the ingress answers through the server until it is freed */
	pb_http_server_stop(s->http);
	pb_scheduler_free(s->sched);
	pb_ingress_free(s->ingress);
	pb_http_server_free(s->http);
	pb_state_close(s->state);
	for (i = 0; s->workers && i < s->n_workers; i++)
		bot_child_destroy(&s->workers[i].child);
	free(s->workers);
	close_signals();
	pb_log_set_redactor(NULL);
	pb_redactor_free(s->redact);
	pb_config_free(s->cfg);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
}

int cmd_serve(int argc, char **argv)
{
	struct serve s;
	struct serve_args a;
	int rc = EXIT_USAGE;

	if (bot_wants_help(argc, argv)) {
		fputs(serve_usage, stdout);
		return EXIT_OK;
	}
	if (parse_args(&a, argc, argv) < 0)
		return EXIT_USAGE;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.wake, NULL);
	if (!(s.cfg = bot_config_load(a.config)))
		goto out;
	if (!s.cfg->github.webhook_secret.value ||
	    !*s.cfg->github.webhook_secret.value) {
		bot_error("serve: %s: [github] 'webhook_secret' is not set: "
			  "add webhook_secret = env:NAME or file:PATH (the "
			  "secret of the GitHub webhook)",
			  s.cfg->path ? s.cfg->path : "bot.conf");
		goto out;
	}
	if (serve_start(&s, &a) < 0) {
		bot_error("serve: %s", pb_err_last());
		goto out;
	}
	serve_loop(&s);
	rc = EXIT_OK;
	if (pb_http_server_stop(s.http) < 0) {
		pb_log_warnx("http: %s", pb_err_last());
	}
	pb_scheduler_stop(s.sched);
	if (stop_workers(&s) > 0)
		_exit(EXIT_FAILED); /* workers still use the store */
	pb_log_info("stopped");
out:
	atomic_store(&s.stopping, 1);
	if (stop_workers(&s) > 0)
		_exit(EXIT_FAILED);
	serve_release(&s);
	return rc;
}
