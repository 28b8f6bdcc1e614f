/* serve_job.c: prbot serve's side of a job: a prbot-job process, waited for */
#define _GNU_SOURCE /* close_range */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prbot/err.h"
#include "prbot/log.h"
#include "prbot/worker.h"
#include "bot.h"
#include "../src/banned.h"

void bot_child_init(struct bot_child *c)
{
	pthread_mutex_init(&c->mu, NULL);
	c->pid = 0;
}

void bot_child_destroy(struct bot_child *c)
{
	pthread_mutex_destroy(&c->mu);
}

void bot_child_signal(struct bot_child *c, int sig)
{
	pthread_mutex_lock(&c->mu);
	/* not reaped while pid is set (see child_wait): never a reused pid */
	if (c->pid > 0)
		kill(c->pid, sig);
	pthread_mutex_unlock(&c->mu);
}

/*
 * In the forked child, before exec: only async-signal-safe calls. Its own
 * session keeps a terminal's Ctrl-C for the daemon and marks every process
 * of the job (the pipeline's process groups stay in it: see session_kill);
 * SIGTERM when the worker thread (so the daemon) dies, checked against the
 * race with a parent that died before prctl.
 */
static void child_exec(const char *exe, char *const argv[], pid_t parent)
{
	sigset_t all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	setsid();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(JOB_EXIT_ORPHAN);
	close_range(3, ~0U, 0); /* the daemon's descriptors without CLOEXEC */
	execv(exe, argv);
	_exit(127);
}

/* Start argv[0], registered in c so a stop can signal it; 0 or -1. */
static int child_start(struct bot_child *c, char *const argv[],
		       const atomic_int *stopping)
{
	pid_t parent = getpid(), pid;

	if ((pid = fork()) < 0)
		return pb_err_set("cannot start '%s': %s", argv[0],
				  strerror(errno));
	if (pid == 0)
		child_exec(argv[0], argv, parent);
	pthread_mutex_lock(&c->mu);
	c->pid = pid;
	pthread_mutex_unlock(&c->mu);
	pb_log_debug("%s %s: process %ld", argv[1], argv[2], (long)pid);
	/* a stop that saw no pid yet (the stop sets the flag first) */
	if (atomic_load(stopping) >= PB_WORKER_STOP_NOW)
		bot_child_signal(c, SIGTERM);
	return 0;
}

/* The session id of process pid (/proc/PID/stat); -1 when gone or dead. */
static pid_t session_of(const char *pid)
{
	char path[sizeof("/proc//stat") + 256], stat[512], *p, state;
	ssize_t n;
	long sid;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	stat[n] = '\0';
	/* "PID (COMM) STATE PPID PGRP SESSION ...": COMM may hold ") " */
	if (!(p = strrchr(stat, ')')) ||
	    sscanf(p + 1, " %c %*d %*d %ld", &state, &sid) != 2)
		return -1;
	return state == 'Z' || state == 'X' ? -1 : (pid_t)sid;
}

/*
 * SIGKILL what is left of a job process that died (its session sid): the
 * pipeline's process groups, which its runner would have killed. The dead
 * leader is not reaped yet, so sid names no other session meanwhile.
 */
static void session_kill(pid_t sid)
{
	struct dirent *e;
	DIR *d;
	int pass, n;

	for (pass = 0; pass < 2; pass++) { /* again: one may have forked */
		if (!(d = opendir("/proc")))
			return;
		n = 0;
		while ((e = readdir(d))) {
			long pid = strtol(e->d_name, NULL, 10);

			if (pid > 0 && pid != sid &&
			    session_of(e->d_name) == sid &&
			    kill((pid_t)pid, SIGKILL) == 0)
				n++;
		}
		closedir(d);
		if (n)
			pb_log_info("job process %ld: %d process(es) it left "
				    "killed",
				    (long)sid, n);
		else
			break;
	}
}

/*
 * Wait for the child without reaping it, forget its pid, then reap it: a
 * signal sent meanwhile reaches this child or none. *status: waitpid's.
 */
static void child_wait(struct bot_child *c, int *status)
{
	siginfo_t info;
	pid_t pid = c->pid; /* only this thread changes it */

	memset(&info, 0, sizeof(info));
	while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0 &&
	       errno == EINTR)
		;
	if (info.si_code != CLD_EXITED || info.si_status != JOB_EXIT_OK)
		session_kill(pid);
	pthread_mutex_lock(&c->mu);
	c->pid = 0;
	pthread_mutex_unlock(&c->mu);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* "exited with status 1", "was killed by signal 9 (Killed)" */
static void describe(char *buf, size_t n, int status)
{
	if (WIFSIGNALED(status))
		snprintf(buf, n, "was killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
}

static int run_child(const struct serve_job_opts *o, struct bot_child *c,
		     char *const argv[], int *status)
{
	int rc;

	if ((rc = child_start(c, argv, o->stopping)) < 0)
		return rc;
	child_wait(c, status);
	return 0;
}

void serve_job_report_end(const struct serve_job_opts *o, struct bot_child *c,
			  const struct pb_job *job)
{
	char *const argv[] = { (char *)o->exe, "report-lost",
			       (char *)job->public_id, (char *)o->conf, NULL };
	char how[96];
	int status = 0;

	if (run_child(o, c, argv, &status) < 0) {
		pb_log_error("job %s: %s: its end is not reported",
			     job->public_id, pb_err_last());
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != JOB_EXIT_OK) {
		describe(how, sizeof(how), status);
		pb_log_error("job %s: the process reporting its end %s",
			     job->public_id, how);
	}
}

/* The job process ended abnormally: queue the job again, or end it. */
static int take_back(const struct serve_job_opts *o, struct bot_child *c,
		     const char *worker, const struct pb_job *job,
		     const char *how)
{
	char why[160];
	struct pb_job now;
	int rc;

	snprintf(why, sizeof(why), "its job process %s", how);
	rc = pb_state_requeue_job(o->state, job->id, worker, why,
				  (int64_t)time(NULL), &now);
	if (rc == PB_EPERM) {
		pb_log_info("job %s: it was finished or taken back already",
			    job->public_id);
		return 0;
	}
	if (rc < 0)
		return rc;
	pb_log_warnx("job %s: now %s: %s", job->public_id,
		     pb_job_state_name(now.state), now.note ? now.note : "");
	if (now.state == PB_JOB_FAILED || now.state == PB_JOB_CANCELLED)
		serve_job_report_end(o, c, &now);
	pb_job_release(&now);
	return 0;
}

int serve_job_run(const struct serve_job_opts *o, struct bot_child *c,
		  const char *worker, const struct pb_job *job)
{
	char *const argv[] = { (char *)o->exe,	       "job",
			       (char *)job->public_id, (char *)worker,
			       (char *)o->conf,	       NULL };
	char how[96];
	int status = 0, rc;

	pb_log_info("job %s: attempt %d in a prbot-job process", job->public_id,
		    job->attempts);
	if ((rc = run_child(o, c, argv, &status)) < 0) {
		pb_log_error("job %s: %s", job->public_id, pb_err_last());
		return take_back(o, c, worker, job, "could not start");
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == JOB_EXIT_OK)
		return 0;
	describe(how, sizeof(how), status);
	if (atomic_load(o->stopping) >= PB_WORKER_STOP_NOW) {
		/* as when the daemon cancels a run: the next start retries */
		pb_log_info("job %s: its job process %s while prbot stops: "
			    "left for the next start",
			    job->public_id, how);
		return 0;
	}
	pb_log_error("job %s: its job process %s: taking the job back",
		     job->public_id, how);
	return take_back(o, c, worker, job, how);
}
