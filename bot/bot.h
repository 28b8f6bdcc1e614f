/* bot.h: the prbot executable's subcommands (private to bot/) */
#ifndef PRBOT_BOT_H
#define PRBOT_BOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/types.h>

#include "prbot/config.h"
#include "prbot/state.h"

/* Exit codes of DESIGN.md's CLI contract. */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

int cmd_serve(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* "prbot: " + message on stderr, one line. */
void bot_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Load bot.conf: path given (-c) must exist; NULL means ./bot.conf when it
 * exists, else the built-in defaults. Problems are printed as FILE:LINE:
 * lines on stderr; returns NULL then (exit 2).
 */
struct pb_config *bot_config_load(const char *path);

/* 1 when argv has -h or --help before any "--". */
int bot_wants_help(int argc, char **argv);

/* ---- prbot-job: the job side (job_main.c, job_run.c) ---- */

/* 'prbot run' itself; 'prbot run' in prbot execs 'prbot-job run'. */
int job_cmd_run(int argc, char **argv);

/* 'prbot verify' itself; 'prbot verify' in prbot execs it. */
int job_cmd_verify(int argc, char **argv);

/*
 * prbot-job's exit codes for 'job' and 'report-lost': JOB_EXIT_OK when the
 * job was carried to its end (or left, as pb_worker_run_claimed() says);
 * anything else, or a signal, is an internal failure: the daemon takes the
 * job back as a retry.
 */
enum { JOB_EXIT_OK = 0, JOB_EXIT_FAILED = 1, JOB_EXIT_ORPHAN = 3 };

/* ---- prbot: finding and starting prbot-job (libexec.c) ---- */

/*
 * Where prbot-job is: next to this executable (/proc/self/exe: the build
 * tree, a relocated install), else PRBOT_LIBEXEC_DIR. Fills path (size n)
 * and *where ("next to prbot" or "installed"); -1 with pb_err_last()
 * naming both paths and what to do when neither exists.
 */
int bot_job_find(char *path, size_t n, const char **where);

/* ---- prbot serve: a job in a prbot-job process (serve_job.c) ---- */

/* The job process a worker waits for; the stop signals it. */
struct bot_child {
	pthread_mutex_t mu;
	pid_t pid; /* under mu; 0: none (reaped, or never started) */
};

void bot_child_init(struct bot_child *c);
void bot_child_destroy(struct bot_child *c);
/* Send sig to the job process, if one runs. */
void bot_child_signal(struct bot_child *c, int sig);

/* What every job process of one daemon gets; all borrowed. */
struct serve_job_opts {
	const char *exe;  /* prbot-job */
	const char *conf; /* bot.conf, absolute */
	struct pb_state *state;
	atomic_int *stopping; /* the daemon's: PB_WORKER_STOP_NOW */
};

/*
 * Run job (claimed by worker) in a prbot-job process and wait for it; c
 * holds its pid meanwhile. When the process dies abnormally (a signal, an
 * exit code other than 0) and the daemon is not stopping now, the job is
 * taken back (pb_state_requeue_job(): queued for a retry, or failed at its
 * last attempt, or cancelled), and a job that ends so is reported by a
 * 'prbot-job report-lost' process. Returns 0 or a negative code (logged
 * by the caller): the process could not start, or the store failed.
 */
int serve_job_run(const struct serve_job_opts *o, struct bot_child *c,
		  const char *worker, const struct pb_job *job);

/*
 * A job taken back that ended (failed at its last attempt, or cancelled):
 * a 'prbot-job report-lost' process posts its end on the PR; c holds its
 * pid meanwhile. Failures are logged with the job id.
 */
void serve_job_report_end(const struct serve_job_opts *o, struct bot_child *c,
			  const struct pb_job *job);

#endif
