/* runner.h: run one child process for a pipeline stage, safely */
#ifndef PRBOT_RUNNER_H
#define PRBOT_RUNNER_H

#include <stdatomic.h>
#include <stddef.h>

#include "prbot/buf.h"

struct pb_redactor;

/* A child's environment: "NAME=value" strings, NULL-terminated. */
struct pb_env {
	char **v; /* owned */
	size_t n;
};

/*
 * The scrubbed base environment: PATH, HOME, LANG (from ours, with safe
 * defaults when unset), plus each name in pass[] that is set in ours.
 * Nothing else of ours reaches the child: no token, no store key.
 */
int pb_env_init(struct pb_env *e, const char *const *pass, size_t n_pass);

/* Set or replace NAME=value. */
int pb_env_set(struct pb_env *e, const char *name, const char *value);

/* Put dir in front of PATH. */
int pb_env_path_prepend(struct pb_env *e, const char *dir);

const char *pb_env_get(const struct pb_env *e, const char *name);
void pb_env_release(struct pb_env *e);

struct pb_limits {
	long cpu_sec;	    /* RLIMIT_CPU; 0 = unlimited */
	long long as_bytes; /* RLIMIT_AS */
	long long fsize;    /* RLIMIT_FSIZE */
	long nofile;	    /* RLIMIT_NOFILE */
};

struct pb_run_opts {
	const char *const *argv; /* argv[0] looked up in the child's PATH */
	const char *cwd;	 /* required */
	const struct pb_env *env;
	long timeout_sec; /* wall clock; 0 = none */
	struct pb_limits limits;
	const char *stdin_data; /* NULL: stdin is /dev/null */
	size_t stdin_len;
	/* stdout captured here (raw, capped by the buffer's cap) instead of
	 * going to the log; NULL: stdout goes to the log like stderr */
	struct pb_buf *capture_stdout;
	/* redacted lines of output ("[stdout] ..."/"[stderr] ..." not added:
	 * lines as printed) appended here; -1 for none */
	int log_fd;
	/* the last tail_max bytes of redacted output kept here (may be NULL) */
	struct pb_buf *tail;
	size_t tail_max;
	const struct pb_redactor *redact;
	/* set to non-zero by another thread to stop the child; may be NULL */
	atomic_int *cancel;
	/* SIGTERM to SIGKILL on timeout or cancel; 0: 5000 (tests shorten it)
	 */
	long kill_grace_ms;
};

struct pb_run_result {
	int exit_code;	  /* valid when exited */
	int exited;	  /* exited normally */
	int signal;	  /* killed by this signal (0 if none) */
	int timed_out;	  /* killed because timeout_sec passed */
	int cancelled;	  /* killed because *cancel was set */
	long timeout_sec; /* the limit that was passed, when timed_out */
	int stdout_cut;	  /* capture_stdout hit its cap: the rest was dropped */
	double seconds;	  /* wall time */
};

/*
 * Run the child in its own process group, in cwd, with env and limits. On
 * timeout or cancel the whole group gets SIGTERM, then SIGKILL after 5 s.
 * The child is always reaped. Returns 0 when the child ran (whatever its
 * exit status: look at *out), a negative code when it could not be started
 * (message says why: "cannot run 'python3': No such file or directory").
 */
int pb_run(struct pb_run_result *out, const struct pb_run_opts *opts);

/*
 * "exited with status 2", "killed by signal 9 (SIGKILL)", "timed out after
 * 30m", "cancelled"; written into buf, which is returned.
 */
const char *pb_run_describe(const struct pb_run_result *r, char *buf,
			    size_t len);

#endif
