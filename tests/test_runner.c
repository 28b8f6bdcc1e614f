/* test_runner.c: children run scrubbed, limited, logged, redacted and reaped */
#define _GNU_SOURCE /* prctl's PR_SET_CHILD_SUBREAPER */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/redact.h"
#include "prbot/runner.h"
#include "testutil.h"

#define FAKE_GH_TOKEN "ghp_0123456789abcdefghijklmnopqrstuvwxyz"

struct fixture {
	char dir[PB_TEST_DIR_MAX]; /* first: pb_test_fixture_new() */
	char log[96];
	int log_fd;
	struct pb_env env;
	struct pb_buf tail;
	const char *argv[4];
	struct pb_run_opts o;
	struct pb_run_result res;
};

static int setup(void **state)
{
	struct fixture *f = pb_test_fixture_new(sizeof(*f), "runner");

	if (!f)
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/job.log", f->dir);
	f->log_fd =
		open(f->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f->log_fd < 0 || pb_env_init(&f->env, NULL, 0) < 0)
		goto fail;
	pb_buf_init(&f->tail, 0);
	f->o.cwd = f->dir;
	f->o.env = &f->env;
	f->o.log_fd = f->log_fd;
	f->o.tail = &f->tail;
	f->o.tail_max = 4096;
	f->o.kill_grace_ms = 300;
	*state = f;
	return 0;
fail:
	pb_test_fixture_free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	/* orphans of the children (we are their subreaper) that are gone */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	close(f->log_fd);
	pb_env_release(&f->env);
	pb_buf_release(&f->tail);
	return pb_test_fixture_free(f);
}

static void use_sh(struct fixture *f, const char *script)
{
	f->argv[0] = "/bin/sh";
	f->argv[1] = "-c";
	f->argv[2] = script;
	f->argv[3] = NULL;
	f->o.argv = f->argv;
}

static int run_sh(struct fixture *f, const char *script)
{
	use_sh(f, script);
	return pb_run(&f->res, &f->o);
}

static char *read_log(struct fixture *f)
{
	return pb_test_read_file(f->log, NULL);
}

static void write_file(const char *dir, const char *name, const char *text,
		       mode_t mode)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	pb_test_write_text(path, text);
	assert_int_equal(chmod(path, mode), 0);
}

/*
 * Wait up to 3 s for a process the child started to be gone, killed by sig
 * (0: any signal). The test is a subreaper, so an orphan comes back to us
 * and is reaped here; one its parent reaped is only checked to be gone.
 */
static void assert_process_gone(pid_t pid, int sig)
{
	int i, status;
	pid_t w;

	for (i = 0; i < 300; i++) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			assert_true(WIFSIGNALED(status));
			if (sig)
				assert_int_equal(WTERMSIG(status), sig);
			return;
		}
		if (w < 0 && kill(pid, 0) < 0 && errno == ESRCH)
			return;
		poll(NULL, 0, 10);
	}
	fail_msg("process %d is still running", (int)pid);
}

static pid_t read_pid(struct fixture *f, const char *name)
{
	char path[512], *text;
	long pid;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	text = pb_test_read_file(path, NULL);
	pid = strtol(text, NULL, 10);
	free(text);
	assert_true(pid > 1);
	return (pid_t)pid;
}

static void test_runner_reports_how_the_child_ended(void **state)
{
	static const struct {
		const char *script;
		int exited, code, sig;
		const char *desc;
	} cases[] = {
		{ "exit 0", 1, 0, 0, "exited with status 0" },
		{ "exit 3", 1, 3, 0, "exited with status 3" },
		{ "kill -9 $$", 0, 0, 9, "killed by signal 9 (SIGKILL)" },
		{ "kill -TERM $$", 0, 0, 15, "killed by signal 15 (SIGTERM)" },
	};
	struct fixture *f = *state;
	char desc[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(run_sh(f, cases[i].script), 0);
		assert_int_equal(f->res.exited, cases[i].exited);
		assert_int_equal(f->res.exit_code, cases[i].code);
		assert_int_equal(f->res.signal, cases[i].sig);
		assert_false(f->res.timed_out);
		assert_false(f->res.cancelled);
		assert_string_equal(pb_run_describe(&f->res, desc,
						    sizeof(desc)),
				    cases[i].desc);
	}
}

static void test_runner_describes_timeouts_and_cancel(void **state)
{
	static const struct {
		long timeout;
		int timed_out, cancelled;
		const char *desc;
	} cases[] = {
		{ 1800, 1, 0, "timed out after 30m" },
		{ 5400, 1, 0, "timed out after 1h30m" },
		{ 90, 1, 0, "timed out after 1m30s" },
		{ 2, 1, 0, "timed out after 2s" },
		{ 3600, 1, 0, "timed out after 1h" },
		{ 0, 0, 1, "cancelled" },
	};
	struct pb_run_result r;
	char desc[64], tiny[8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.signal = SIGKILL;
		r.timeout_sec = cases[i].timeout;
		r.timed_out = cases[i].timed_out;
		r.cancelled = cases[i].cancelled;
		assert_string_equal(pb_run_describe(&r, desc, sizeof(desc)),
				    cases[i].desc);
	}
	memset(&r, 0, sizeof(r));
	r.signal = 64;
	assert_string_equal(pb_run_describe(&r, desc, sizeof(desc)),
			    "killed by signal 64");
	r.exited = 1;
	r.exit_code = 2;
	assert_string_equal(pb_run_describe(&r, tiny, sizeof(tiny)), "exited ");
}

static void test_runner_captures_stdout_and_logs_stderr(void **state)
{
	struct fixture *f = *state;
	struct pb_buf out = PB_BUF_INIT;
	char *log;

	f->o.capture_stdout = &out;
	assert_int_equal(run_sh(f, "printf 'a\\nb'; echo oops >&2"), 0);
	assert_string_equal(pb_buf_cstr(&out), "a\nb");
	assert_false(f->res.stdout_cut);
	log = read_log(f);
	assert_string_equal(log, "oops\n");
	assert_string_equal(pb_buf_cstr(&f->tail), "oops\n");
	free(log);
	pb_buf_release(&out);
}

static void test_runner_logs_both_streams_without_capture(void **state)
{
	struct fixture *f = *state;
	char *log;

	assert_int_equal(run_sh(f, "echo one; echo two >&2; printf three"), 0);
	log = read_log(f);
	assert_non_null(strstr(log, "one\n"));
	assert_non_null(strstr(log, "two\n"));
	/* a last line without newline still ends its own line */
	assert_non_null(strstr(log, "three\n"));
	assert_int_equal(strlen(log), strlen("one\ntwo\nthree\n"));
	free(log);
}

static void test_runner_cuts_capture_at_its_cap_and_says_so(void **state)
{
	struct fixture *f = *state;
	struct pb_buf out;
	char *log;

	pb_buf_init(&out, 10);
	f->o.capture_stdout = &out;
	assert_int_equal(run_sh(f, "head -c 200000 /dev/zero | tr '\\0' x; "
				   "echo after >&2"),
			 0);
	/* the child was not stopped: we kept reading and dropped the rest */
	assert_true(f->res.exited);
	assert_int_equal(f->res.exit_code, 0);
	assert_true(f->res.stdout_cut);
	assert_string_equal(pb_buf_cstr(&out), "xxxxxxxxxx");
	assert_non_null(
		strstr(pb_buf_cstr(&f->tail), "[stdout over 10 bytes, cut]"));
	log = read_log(f);
	assert_non_null(strstr(log, "[stdout over 10 bytes, cut]\n"));
	assert_non_null(strstr(log, "after\n"));
	free(log);
	pb_buf_release(&out);
}

static void test_runner_delivers_stdin(void **state)
{
	struct fixture *f = *state;
	struct pb_buf out = PB_BUF_INIT;
	size_t big = 1 << 20;
	char *data = malloc(big);

	assert_non_null(data);
	memset(data, 'z', big);
	f->o.capture_stdout = &out;
	f->o.stdin_data = "hello\nworld\n";
	f->o.stdin_len = 12;
	assert_int_equal(run_sh(f, "cat"), 0);
	assert_string_equal(pb_buf_cstr(&out), "hello\nworld\n");

	pb_buf_reset(&out);
	f->o.stdin_data = data;
	f->o.stdin_len = big;
	assert_int_equal(run_sh(f, "wc -c"), 0);
	assert_int_equal(strtol(pb_buf_cstr(&out), NULL, 10), (long)big);

	pb_buf_reset(&out);
	f->o.stdin_data = "";
	f->o.stdin_len = 0;
	assert_int_equal(run_sh(f, "cat; echo end"), 0);
	assert_string_equal(pb_buf_cstr(&out), "end\n");

	pb_buf_reset(&out);
	f->o.stdin_data = NULL;
	assert_int_equal(run_sh(f, "cat; echo devnull"), 0);
	assert_string_equal(pb_buf_cstr(&out), "devnull\n");
	pb_buf_release(&out);
	free(data);
}

static void test_runner_child_ignoring_stdin_does_not_hang(void **state)
{
	static const char *const scripts[] = { "exit 0", "sleep 0.2; exit 0",
					       "exec 0<&-; sleep 0.2" };
	struct fixture *f = *state;
	size_t i, big = 8 << 20;
	char *data = malloc(big);

	assert_non_null(data);
	memset(data, 'q', big);
	f->o.stdin_data = data;
	f->o.stdin_len = big;
	f->o.timeout_sec = 20;
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		assert_int_equal(run_sh(f, scripts[i]), 0);
		assert_true(f->res.exited);
		assert_int_equal(f->res.exit_code, 0);
		assert_false(f->res.timed_out);
		assert_true(f->res.seconds < 5);
	}
	free(data);
}

static void test_runner_scrubs_the_environment(void **state)
{
	static const char *const pass[] = { "PRBOT_TEST_PASS",
					    "PRBOT_TEST_UNSET" };
	struct fixture *f = *state;
	struct pb_buf out = PB_BUF_INIT;
	const char *text;

	setenv("PRBOT_TEST_SECRET_TOKEN", FAKE_GH_TOKEN, 1);
	setenv("GITHUB_TOKEN", "gh-token-value-for-test", 1);
	setenv("PRBOT_TEST_PASS", "passed-through", 1);
	unsetenv("PRBOT_TEST_UNSET");
	pb_env_release(&f->env);
	assert_int_equal(pb_env_init(&f->env, pass, 2), 0);
	assert_int_equal(pb_env_set(&f->env, "PRBOT_JOB_ID", "job-1"), 0);
	f->o.capture_stdout = &out;
	assert_int_equal(run_sh(f, "env"), 0);
	text = pb_buf_cstr(&out);
	assert_null(strstr(text, "PRBOT_TEST_SECRET_TOKEN"));
	assert_null(strstr(text, "ghp_"));
	assert_null(strstr(text, "GITHUB_TOKEN"));
	assert_null(strstr(text, "gh-token-value"));
	assert_null(strstr(text, "PRBOT_TEST_UNSET"));
	assert_null(strstr(text, "PRBOT_TEST_DATA"));
	assert_non_null(strstr(text, "PATH="));
	assert_non_null(strstr(text, "HOME="));
	assert_non_null(strstr(text, "LANG="));
	assert_non_null(strstr(text, "PRBOT_TEST_PASS=passed-through\n"));
	assert_non_null(strstr(text, "PRBOT_JOB_ID=job-1\n"));
	unsetenv("PRBOT_TEST_SECRET_TOKEN");
	unsetenv("GITHUB_TOKEN");
	unsetenv("PRBOT_TEST_PASS");
	pb_buf_release(&out);
}

static void test_env_has_safe_defaults_and_edits(void **state)
{
	static const char *const bad_pass[] = { "A=B" };
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char *lang = getenv("LANG") ? strdup(getenv("LANG")) : NULL;
	struct pb_env e;

	(void)state;
	unsetenv("HOME");
	unsetenv("LANG");
	assert_int_equal(pb_env_init(&e, NULL, 0), 0);
	assert_string_equal(pb_env_get(&e, "HOME"), "/nonexistent");
	assert_string_equal(pb_env_get(&e, "LANG"), "C.UTF-8");
	assert_non_null(pb_env_get(&e, "PATH"));
	assert_int_equal(e.n, 3);
	assert_null(e.v[3]);

	assert_int_equal(pb_env_set(&e, "PATH", "/bin"), 0);
	assert_int_equal(pb_env_path_prepend(&e, "/venv/bin"), 0);
	assert_string_equal(pb_env_get(&e, "PATH"), "/venv/bin:/bin");
	assert_int_equal(e.n, 3);
	assert_int_equal(pb_env_set(&e, "PATHX", "1"), 0);
	assert_string_equal(pb_env_get(&e, "PATH"), "/venv/bin:/bin");
	assert_null(pb_env_get(&e, "PAT"));
	assert_int_equal(pb_env_set(&e, "A=B", "1"), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "'A=B'"));
	assert_int_equal(pb_env_set(&e, "", "1"), PB_EINVAL);
	pb_env_release(&e);
	assert_null(e.v);
	pb_env_release(&e);

	assert_int_equal(pb_env_init(&e, bad_pass, 1), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "'A=B'"));
	assert_null(e.v);

	if (home)
		setenv("HOME", home, 1);
	if (lang)
		setenv("LANG", lang, 1);
	free(home);
	free(lang);
}

static void test_runner_redacts_secrets_in_log_and_tail(void **state)
{
	struct fixture *f = *state;
	struct pb_redactor *r;
	char *log;

	assert_int_equal(pb_redactor_new(&r), 0);
	assert_int_equal(pb_redactor_add(r, "my-configured-secret"), 0);
	f->o.redact = r;
	assert_int_equal(run_sh(f, "echo token " FAKE_GH_TOKEN "; "
				   "echo pw my-configured-secret >&2"),
			 0);
	log = read_log(f);
	assert_null(strstr(log, "ghp_"));
	assert_null(strstr(log, "my-configured-secret"));
	assert_non_null(strstr(log, "token [REDACTED]\n"));
	assert_non_null(strstr(log, "pw [REDACTED]\n"));
	assert_null(strstr(pb_buf_cstr(&f->tail), "ghp_"));
	assert_null(strstr(pb_buf_cstr(&f->tail), "my-configured-secret"));
	assert_non_null(strstr(pb_buf_cstr(&f->tail), "pw [REDACTED]\n"));
	free(log);
	pb_redactor_free(r);
}

static void test_runner_drops_private_key_lines(void **state)
{
	struct fixture *f = *state;
	char *log;

	assert_int_equal(run_sh(f, "printf 'before\\n"
				   "-----BEGIN RSA PRIVATE KEY-----\\n"
				   "AAAAfakekeybody\\nBBBBfakekeybody\\n"
				   "-----END RSA PRIVATE KEY-----\\n"
				   "after\\n'"),
			 0);
	log = read_log(f);
	assert_string_equal(log, "before\n[REDACTED]\nafter\n");
	assert_string_equal(pb_buf_cstr(&f->tail), log);
	free(log);
}

static void test_runner_timeout_kills_the_process_group(void **state)
{
	struct fixture *f = *state;
	char desc[64];

	f->o.timeout_sec = 1;
	assert_int_equal(run_sh(f, "sleep 100 & echo $! > bg.pid; "
				   "sleep 100; wait"),
			 0);
	assert_true(f->res.timed_out);
	assert_false(f->res.exited);
	assert_int_equal(f->res.signal, SIGTERM);
	assert_true(f->res.seconds >= 0.9 && f->res.seconds < 3);
	assert_string_equal(pb_run_describe(&f->res, desc, sizeof(desc)),
			    "timed out after 1s");
	/* the group got SIGTERM, not only the shell */
	assert_process_gone(read_pid(f, "bg.pid"), SIGTERM);
}

static void test_runner_kills_a_child_that_ignores_term(void **state)
{
	struct fixture *f = *state;

	f->o.timeout_sec = 1;
	f->o.kill_grace_ms = 300;
	assert_int_equal(run_sh(f, "trap '' TERM; sleep 100 & "
				   "echo $! > bg.pid; sleep 100"),
			 0);
	assert_true(f->res.timed_out);
	assert_int_equal(f->res.signal, SIGKILL);
	/* the grace period passed before SIGKILL, and not much more */
	assert_true(f->res.seconds >= 1.25 && f->res.seconds < 3.5);
	assert_process_gone(read_pid(f, "bg.pid"), 0);
}

static void test_runner_kills_what_the_child_left_behind(void **state)
{
	struct fixture *f = *state;

	/* the background sleep holds stdout open: we must not wait for it */
	assert_int_equal(run_sh(f, "sleep 100 & echo $! > bg.pid; exit 0"), 0);
	assert_true(f->res.exited);
	assert_int_equal(f->res.exit_code, 0);
	assert_true(f->res.seconds < 3);
	assert_process_gone(read_pid(f, "bg.pid"), 0);
}

struct canceller {
	atomic_int *flag;
	int after_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;

	poll(NULL, 0, c->after_ms);
	atomic_store(c->flag, 1);
	return NULL;
}

static void test_runner_stops_when_cancelled(void **state)
{
	struct fixture *f = *state;
	atomic_int flag = 0;
	struct canceller c = { &flag, 200 };
	pthread_t t;
	char desc[64];

	f->o.cancel = &flag;
	f->o.timeout_sec = 30;
	assert_int_equal(pthread_create(&t, NULL, cancel_later, &c), 0);
	assert_int_equal(run_sh(f, "sleep 100 & echo $! > bg.pid; sleep 100"),
			 0);
	pthread_join(t, NULL);
	assert_true(f->res.cancelled);
	assert_false(f->res.timed_out);
	assert_true(f->res.seconds < 3);
	assert_string_equal(pb_run_describe(&f->res, desc, sizeof(desc)),
			    "cancelled");
	assert_process_gone(read_pid(f, "bg.pid"), 0);
}

static void test_runner_applies_resource_limits(void **state)
{
	struct fixture *f = *state;
	struct pb_buf out = PB_BUF_INIT;
	struct stat st;
	char path[512];

	f->o.limits.fsize = 4096;
	assert_int_equal(run_sh(f, "head -c 100000 /dev/zero > big"), 0);
	assert_false(f->res.exited && f->res.exit_code == 0);
	snprintf(path, sizeof(path), "%s/big", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size <= 4096);
	unlink(path);

	f->o.limits.fsize = 0;
	f->o.limits.nofile = 64;
	f->o.capture_stdout = &out;
	assert_int_equal(run_sh(f, "ulimit -n"), 0);
	assert_string_equal(pb_buf_cstr(&out), "64\n");

	pb_buf_reset(&out);
	f->o.limits.nofile = 0;
	f->o.limits.cpu_sec = 1;
	f->o.timeout_sec = 20;
	assert_int_equal(run_sh(f, "ulimit -t; while :; do :; done"), 0);
	assert_string_equal(pb_buf_cstr(&out), "1\n");
	assert_false(f->res.timed_out);
	assert_true(f->res.signal == SIGXCPU || f->res.signal == SIGKILL);
	assert_true(f->res.seconds < 10);
	pb_buf_release(&out);
}

static void test_runner_runs_in_cwd(void **state)
{
	struct fixture *f = *state;
	struct pb_buf out = PB_BUF_INIT;
	const char *argv[] = { "./tool.sh", "arg", NULL };
	char want[128];

	f->o.capture_stdout = &out;
	assert_int_equal(run_sh(f, "pwd"), 0);
	snprintf(want, sizeof(want), "%s\n", f->dir);
	assert_string_equal(pb_buf_cstr(&out), want);

	/* a relative command is found in the child's cwd, not ours */
	write_file(f->dir, "tool.sh", "#!/bin/sh\necho tool \"$1\"\n", 0755);
	pb_buf_reset(&out);
	f->o.argv = argv;
	assert_int_equal(pb_run(&f->res, &f->o), 0);
	assert_string_equal(pb_buf_cstr(&out), "tool arg\n");
	pb_buf_release(&out);
}

static void test_runner_closes_our_inherited_descriptors(void **state)
{
	struct fixture *f = *state;
	struct pb_buf out = PB_BUF_INIT;
	char script[128];
	/* as a library that forgets O_CLOEXEC would leave it */
	int fd = open("/dev/null", O_RDONLY);

	assert_true(fd > 2);
	snprintf(script, sizeof(script),
		 "if [ -e /proc/self/fd/%d ]; then echo open; else echo closed;"
		 " fi",
		 fd);
	f->o.capture_stdout = &out;
	assert_int_equal(run_sh(f, script), 0);
	assert_string_equal(pb_buf_cstr(&out), "closed\n");
	close(fd);
	pb_buf_release(&out);
}

static void test_runner_explains_why_a_child_cannot_start(void **state)
{
	static const struct {
		const char *cmd;
		const char *cwd; /* NULL: the fixture's folder */
		int code;
		const char *msg;
	} cases[] = {
		{ "prbot-no-such-command", NULL, PB_ENOTFOUND,
		  "cannot run 'prbot-no-such-command': No such file or "
		  "directory (PATH is '" },
		{ "./missing.sh", NULL, PB_ENOTFOUND,
		  "cannot run './missing.sh': No such file or directory" },
		{ "./data.txt", NULL, PB_ERROR,
		  "cannot run './data.txt': Permission denied" },
		{ "/bin/true", "/nonexistent-prbot-dir", PB_ENOTFOUND,
		  "cannot run '/bin/true': cannot enter "
		  "'/nonexistent-prbot-dir': No such file or directory" },
	};
	struct fixture *f = *state;
	const char *argv[2];
	size_t i;

	write_file(f->dir, "data.txt", "not a program\n", 0644);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		argv[0] = cases[i].cmd;
		argv[1] = NULL;
		f->o.argv = argv;
		f->o.cwd = cases[i].cwd ? cases[i].cwd : f->dir;
		assert_int_equal(pb_run(&f->res, &f->o), cases[i].code);
		if (!strstr(pb_err_last(), cases[i].msg))
			fail_msg("case %zu: got '%s'", i, pb_err_last());
	}
	argv[0] = NULL;
	assert_int_equal(pb_run(&f->res, &f->o), PB_EINVAL);
	argv[0] = "/bin/true";
	f->o.cwd = NULL;
	assert_int_equal(pb_run(&f->res, &f->o), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "no working directory"));
}

static void test_runner_tail_keeps_only_the_last_bytes(void **state)
{
	struct fixture *f = *state;
	char *log;

	f->o.tail_max = 100;
	assert_int_equal(run_sh(f, "i=1; while [ $i -le 1000 ]; do "
				   "echo line $i; i=$((i+1)); done"),
			 0);
	assert_int_equal(f->tail.len, 100);
	log = read_log(f);
	/* "line N\n" for N = 1..1000: 6 bytes plus the digits */
	assert_int_equal(strlen(log), 6 * 1000 + 9 + 90 * 2 + 900 * 3 + 4);
	assert_string_equal(log + strlen(log) - 100, pb_buf_cstr(&f->tail));
	assert_non_null(strstr(pb_buf_cstr(&f->tail), "line 1000\n"));
	free(log);
}

/* Split the log into its lines; each must be a piece of at most 16 KiB. */
static size_t log_pieces(const char *log, struct pb_buf *joined,
			 const char *last_char)
{
	const char *p, *nl;
	size_t pieces = 0;

	for (p = log; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_true(nl - p <= 16384);
		/* a piece cut at a blank ends with it */
		if (last_char && nl[1])
			assert_int_equal(nl[-1], *last_char);
		assert_int_equal(pb_buf_add(joined, p, (size_t)(nl - p)), 0);
		pieces++;
	}
	return pieces;
}

static void test_runner_logs_endless_lines_in_pieces(void **state)
{
	struct fixture *f = *state;
	struct pb_buf joined = PB_BUF_INIT;
	char *log;

	f->o.tail_max = 64;
	/* slow odd-sized writes, so reads do not line up with the pieces */
	assert_int_equal(run_sh(f, "i=0; while [ $i -lt 34 ]; do "
				   "head -c 3000 /dev/zero | tr '\\0' a; "
				   "sleep 0.01; i=$((i+1)); done"),
			 0);
	log = read_log(f);
	assert_true(log_pieces(log, &joined, NULL) >= 7);
	assert_int_equal(joined.len, 102000);
	assert_int_equal(strspn(joined.ptr, "a"), 102000);
	assert_int_equal(f->tail.len, 64);
	free(log);
	pb_buf_release(&joined);
}

static void test_runner_cuts_endless_lines_at_blanks(void **state)
{
	struct fixture *f = *state;
	struct pb_buf joined = PB_BUF_INIT;
	char *log;
	size_t i;

	/* "abcdefghi abcdefghi ...": no piece may split a word */
	assert_int_equal(run_sh(f, "yes abcdefghi | tr '\\n' ' ' | "
				   "head -c 100000 | dd bs=3001 status=none"),
			 0);
	log = read_log(f);
	assert_true(log_pieces(log, &joined, " ") >= 7);
	assert_int_equal(joined.len, 100000);
	for (i = 0; i < joined.len; i++)
		assert_int_equal(joined.ptr[i],
				 i % 10 == 9 ? ' ' : "abcdefghi"[i % 10]);
	free(log);
	pb_buf_release(&joined);
}

struct worker {
	int n;
	int rc;
	struct pb_run_result res;
	struct pb_buf out;
	const char *cwd;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	const char *argv[] = { "/bin/sh", "-c", "sleep 0.2; echo $PRBOT_N",
			       NULL };
	struct pb_run_opts o;
	struct pb_env env;
	char n[16];

	memset(&o, 0, sizeof(o));
	snprintf(n, sizeof(n), "%d", w->n);
	if ((w->rc = pb_env_init(&env, NULL, 0)) < 0 ||
	    (w->rc = pb_env_set(&env, "PRBOT_N", n)) < 0)
		return NULL;
	o.argv = argv;
	o.cwd = w->cwd;
	o.env = &env;
	o.log_fd = -1;
	o.timeout_sec = 10;
	o.capture_stdout = &w->out;
	w->rc = pb_run(&w->res, &o);
	pb_env_release(&env);
	return NULL;
}

static void test_runner_runs_children_from_several_threads(void **state)
{
	struct fixture *f = *state;
	struct worker w[6];
	pthread_t t[6];
	char want[16];
	int i;

	for (i = 0; i < 6; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].n = i;
		w[i].cwd = f->dir;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
				 0);
	}
	for (i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 6; i++) {
		assert_int_equal(w[i].rc, 0);
		assert_true(w[i].res.exited);
		snprintf(want, sizeof(want), "%d\n", i);
		assert_string_equal(pb_buf_cstr(&w[i].out), want);
		pb_buf_release(&w[i].out);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_runner_reports_how_the_child_ended),
		T(test_runner_describes_timeouts_and_cancel),
		T(test_runner_captures_stdout_and_logs_stderr),
		T(test_runner_logs_both_streams_without_capture),
		T(test_runner_cuts_capture_at_its_cap_and_says_so),
		T(test_runner_delivers_stdin),
		T(test_runner_child_ignoring_stdin_does_not_hang),
		T(test_runner_scrubs_the_environment),
		T(test_env_has_safe_defaults_and_edits),
		T(test_runner_redacts_secrets_in_log_and_tail),
		T(test_runner_drops_private_key_lines),
		T(test_runner_timeout_kills_the_process_group),
		T(test_runner_kills_a_child_that_ignores_term),
		T(test_runner_kills_what_the_child_left_behind),
		T(test_runner_stops_when_cancelled),
		T(test_runner_applies_resource_limits),
		T(test_runner_runs_in_cwd),
		T(test_runner_closes_our_inherited_descriptors),
		T(test_runner_explains_why_a_child_cannot_start),
		T(test_runner_tail_keeps_only_the_last_bytes),
		T(test_runner_logs_endless_lines_in_pieces),
		T(test_runner_cuts_endless_lines_at_blanks),
		T(test_runner_runs_children_from_several_threads),
	};

	/* orphans of our children come back to us, so tests can see them die */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
