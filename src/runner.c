/* runner.c: run one child: own group, scrubbed env, limits, timeout, logs */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prbot/err.h"
#include "prbot/redact.h"
#include "prbot/runner.h"
#include "banned.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define DEFAULT_HOME "/nonexistent"
#define DEFAULT_LANG "C.UTF-8"

/* SIGTERM first so the child can clean up, SIGKILL after this long */
static const long kill_grace_ms = 5000;
/* how often *cancel is looked at while the child is quiet */
#define TICK_MS 100
/* a line longer than this is logged in pieces, so memory stays bounded */
#define PIECE_MAX 16384
/* once the child is gone, how long escaped holders of its pipes may take */
#define DRAIN_MS    1000
#define TIMEOUT_MAX (10L * 366 * 24 * 3600)
#define READ_CHUNK  16384
#define WRITE_CHUNK 65536

/* ---- environment ---- */

static int env_name_ok(const char *name)
{
	return name && *name && !strchr(name, '=');
}

static long env_find(const struct pb_env *e, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < e->n; i++)
		if (!strncmp(e->v[i], name, n) && e->v[i][n] == '=')
			return (long)i;
	return -1;
}

int pb_env_set(struct pb_env *e, const char *name, const char *value)
{
	struct pb_buf b = PB_BUF_INIT;
	char **v;
	long i;

	if (!env_name_ok(name))
		return pb_err_setc(PB_EINVAL,
				   "invalid environment variable name '%s': "
				   "use a non-empty name without '='",
				   name ? name : "");
	if (pb_buf_printf(&b, "%s=%s", name, value ? value : "") < 0)
		return PB_ERROR;
	if ((i = env_find(e, name)) >= 0) {
		free(e->v[i]);
		e->v[i] = pb_buf_detach(&b);
		return 0;
	}
	v = realloc(e->v, (e->n + 2) * sizeof(*v));
	if (!v) {
		pb_buf_release(&b);
		return pb_err_set("out of memory");
	}
	e->v = v;
	e->v[e->n++] = pb_buf_detach(&b);
	e->v[e->n] = NULL;
	return 0;
}

static int env_set_ours(struct pb_env *e, const char *name, const char *def)
{
	const char *v = getenv(name);

	if (!v || !*v)
		v = def;
	return v ? pb_env_set(e, name, v) : 0;
}

int pb_env_init(struct pb_env *e, const char *const *pass, size_t n_pass)
{
	size_t i;
	int rc;

	e->v = NULL;
	e->n = 0;
	if ((rc = env_set_ours(e, "PATH", DEFAULT_PATH)) < 0 ||
	    (rc = env_set_ours(e, "HOME", DEFAULT_HOME)) < 0 ||
	    (rc = env_set_ours(e, "LANG", DEFAULT_LANG)) < 0)
		goto out;
	for (i = 0; i < n_pass; i++) {
		if (!env_name_ok(pass[i])) {
			rc = pb_err_setc(PB_EINVAL,
					 "cannot pass environment variable "
					 "'%s' to children: use a name "
					 "without '='",
					 pass[i] ? pass[i] : "");
			goto out;
		}
		if ((rc = env_set_ours(e, pass[i], NULL)) < 0)
			goto out;
	}
out:
	if (rc < 0)
		pb_env_release(e);
	return rc;
}

int pb_env_path_prepend(struct pb_env *e, const char *dir)
{
	struct pb_buf b = PB_BUF_INIT;
	const char *old = pb_env_get(e, "PATH");
	int rc;

	if (pb_buf_puts(&b, dir) < 0)
		return PB_ERROR;
	if (old && *old &&
	    (pb_buf_putc(&b, ':') < 0 || pb_buf_puts(&b, old) < 0))
		return PB_ERROR;
	rc = pb_env_set(e, "PATH", b.ptr);
	pb_buf_release(&b);
	return rc;
}

const char *pb_env_get(const struct pb_env *e, const char *name)
{
	long i;

	if (!e->v || (i = env_find(e, name)) < 0)
		return NULL;
	return e->v[i] + strlen(name) + 1;
}

void pb_env_release(struct pb_env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

/* ---- what the child does between fork and exec ---- */

enum child_step { STEP_SETUP = 1, STEP_CHDIR, STEP_LIMITS, STEP_EXEC };

struct child_failure {
	int step;
	int err;
};

/* Everything the child needs, built before fork: it must not allocate. */
struct child_plan {
	char *path; /* owned */
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int lim_res[4];
	struct rlimit lim[4];
	int n_lim;
	int in_fd, out_fd, err_fd, status_fd;
	sigset_t empty;
	pid_t parent; /* to notice a parent that died before prctl */
};

static void child_fail(const struct child_plan *p, int step)
{
	struct child_failure f;
	ssize_t n;

	f.step = step;
	f.err = errno;
	n = write(p->status_fd, &f, sizeof(f));
	(void)n;
	_exit(127);
}

/* The pipe ends onto 0..2; any already below 3 moves up first. */
static int child_move_fds(const struct child_plan *p)
{
	int from[3] = { p->in_fd, p->out_fd, p->err_fd };
	int i;

	for (i = 0; i < 3; i++)
		if (from[i] < 3 &&
		    (from[i] = fcntl(from[i], F_DUPFD_CLOEXEC, 3)) < 0)
			return -1;
	for (i = 0; i < 3; i++)
		if (dup2(from[i], i) < 0)
			return -1;
	return 0;
}

/*
 * Descriptors a library opened without O_CLOEXEC (sockets, the state
 * database) must not reach code from a pull request.
 */
static void close_inherited(void)
{
#ifdef SYS_close_range
	(void)syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
#endif
}

/* Async-signal-safe calls only: other threads may hold malloc's lock. */
static void child_exec(const struct child_plan *p)
{
	struct sigaction dfl;
	int sig, i;

	if (setpgid(0, 0) < 0)
		child_fail(p, STEP_SETUP);
	/* the command dies with the thread that runs it (a killed daemon):
	   its retry must not race with an orphan writing the same files */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != p->parent)
		child_fail(p, STEP_SETUP);
	/* ignored signals survive exec: give the child the defaults */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	if (sigprocmask(SIG_SETMASK, &p->empty, NULL) < 0)
		child_fail(p, STEP_SETUP);
	if (chdir(p->cwd) < 0)
		child_fail(p, STEP_CHDIR);
	for (i = 0; i < p->n_lim; i++)
		if (setrlimit(p->lim_res[i], &p->lim[i]) < 0)
			child_fail(p, STEP_LIMITS);
	if (child_move_fds(p) < 0)
		child_fail(p, STEP_SETUP);
	close_inherited();
	execve(p->path, p->argv, p->envp);
	child_fail(p, STEP_EXEC);
}

/* ---- preparing the plan ---- */

/* 0 when path is a regular file we may execute, else an errno. */
static int exec_check(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	return access(path, X_OK) < 0 ? errno : 0;
}

/* A name with a slash: as given, relative to the child's cwd. */
static int resolve_direct(struct pb_buf *b, const char *name, const char *cwd,
			  int *err)
{
	if (name[0] != '/' && pb_buf_printf(b, "%s/", cwd) < 0)
		return PB_ERROR;
	if (pb_buf_puts(b, name) < 0)
		return PB_ERROR;
	*err = exec_check(b->ptr);
	return 0;
}

/* A bare name: the first match in PATH, as execvp searches it. */
static int resolve_search(struct pb_buf *b, const char *name,
			  const char *path_env, const char *cwd, int *err)
{
	const char *p, *end;
	size_t dlen;
	int e;

	*err = ENOENT;
	for (p = path_env ? path_env : ""; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		dlen = (size_t)(end - p);
		pb_buf_reset(b);
		if ((dlen == 0 || p[0] != '/') &&
		    pb_buf_printf(b, "%s/", cwd) < 0)
			return PB_ERROR;
		if (pb_buf_add(b, p, dlen) < 0 || pb_buf_putc(b, '/') < 0 ||
		    pb_buf_puts(b, name) < 0)
			return PB_ERROR;
		if ((e = exec_check(b->ptr)) == 0) {
			*err = 0;
			return 0;
		}
		/* like execvp: "permission denied" beats "not found" */
		if (e == EACCES)
			*err = e;
	}
	return 0;
}

/*
 * Find argv[0] in the child's PATH and relative to the child's cwd, before
 * fork: execvp would search our PATH, and allocates.
 */
static int resolve_path(char **out, const char *name, const char *path_env,
			const char *cwd)
{
	struct pb_buf b = PB_BUF_INIT;
	int direct = strchr(name, '/') != NULL, err, rc;

	*out = NULL;
	rc = direct ? resolve_direct(&b, name, cwd, &err) :
		      resolve_search(&b, name, path_env, cwd, &err);
	if (rc < 0)
		goto out;
	if (!err) {
		*out = pb_buf_detach(&b);
		goto out;
	}
	rc = pb_err_setc(err == ENOENT ? PB_ENOTFOUND : PB_ERROR,
			 "cannot run '%s': %s%s%s%s", name, strerror(err),
			 direct ? "" : " (PATH is '",
			 direct ? "" : (path_env ? path_env : ""),
			 direct ? "" : "')");
out:
	pb_buf_release(&b);
	return rc;
}

static void limit_add(struct child_plan *p, int res, long long value)
{
	struct rlimit cur, want;

	if (value <= 0)
		return;
	want.rlim_cur = (rlim_t)value;
	want.rlim_max = (rlim_t)value;
	/* an unprivileged process cannot raise its hard limit: clamp */
	if (getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
	    want.rlim_max > cur.rlim_max) {
		want.rlim_cur = cur.rlim_max;
		want.rlim_max = cur.rlim_max;
	}
	p->lim_res[p->n_lim] = res;
	p->lim[p->n_lim++] = want;
}

static void limits_prepare(struct child_plan *p, const struct pb_limits *l)
{
	p->n_lim = 0;
	limit_add(p, RLIMIT_CPU, l->cpu_sec);
	limit_add(p, RLIMIT_AS, l->as_bytes);
	limit_add(p, RLIMIT_FSIZE, l->fsize);
	limit_add(p, RLIMIT_NOFILE, l->nofile);
}

/* ---- the parent's side: output, stdin, time ---- */

struct stream {
	int fd;
	int is_stdout;
	int in_pem; /* inside a private key whose BEGIN line was masked */
	struct pb_buf line;
};

struct run {
	const struct pb_run_opts *o;
	struct pb_run_result *res;
	struct stream out, err;
	int in_fd;
	size_t in_off;
	size_t dropped; /* stdout bytes past capture_stdout's cap */
	struct pb_buf scratch;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The log is best effort: a full disk must not stop the child's run. */
static void write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (fd >= 0 && n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static int tail_add(const struct pb_run_opts *o, const char *p, size_t n)
{
	struct pb_buf *t = o->tail;
	size_t max = o->tail_max, k = 0;

	if (!t || !max)
		return 0;
	if (t->cap && t->cap < max)
		max = t->cap;
	if (n >= max) {
		p += n - max;
		n = max;
		pb_buf_reset(t);
	} else if (t->len + n > max) {
		pb_buf_consume(t, t->len + n - max);
	}
	if (pb_buf_add(t, p, n) < 0)
		return PB_ERROR;
	/* a tail cut inside a UTF-8 character would not be valid text */
	if (t->len == max)
		while (k < 3 && k < t->len &&
		       ((unsigned char)t->ptr[k] & 0xC0) == 0x80)
			k++;
	pb_buf_consume(t, k);
	return 0;
}

static int note(struct run *r, const char *text)
{
	write_all(r->o->log_fd, text, strlen(text));
	return tail_add(r->o, text, strlen(text));
}

/* Index of p in s[0..n), or n. */
static size_t find(const char *s, size_t n, const char *p)
{
	size_t i, m = strlen(p);

	for (i = 0; i + m <= n; i++)
		if (s[i] == p[0] && !memcmp(s + i, p, m))
			return i;
	return n;
}

/* Does this line open a private key block that it does not close? */
static int pem_opens(const char *s, size_t n)
{
	size_t b = find(s, n, "-----BEGIN ");

	if (b == n || find(s + b, n - b, "PRIVATE KEY-----") == n - b)
		return 0;
	return find(s + b, n - b, "-----END ") == n - b;
}

/*
 * Redact one line (or piece) and send it to the log and the tail. The
 * redactor masks a key from BEGIN to the end of a line that has no END; the
 * lines of its body are dropped here until the END line.
 */
static int emit(struct run *r, struct stream *s, const char *p, size_t n)
{
	struct pb_buf *l = &r->scratch;
	size_t e;

	if (n && p[n - 1] == '\n')
		n--;
	if (s->in_pem) {
		if ((e = find(p, n, "-----END ")) == n)
			return 0;
		s->in_pem = 0;
		e += 9;
		e += find(p + e, n - e, "-----");
		e = e + 5 < n ? e + 5 : n;
		p += e;
		n -= e;
		if (!n)
			return 0;
	}
	s->in_pem = pem_opens(p, n);
	pb_buf_reset(l);
	if (pb_buf_add(l, p, n) < 0 || pb_redact_buf(r->o->redact, l) < 0 ||
	    pb_buf_putc(l, '\n') < 0)
		return PB_ERROR;
	write_all(r->o->log_fd, l->ptr, l->len);
	return tail_add(r->o, l->ptr, l->len);
}

/*
 * Where to cut a piece of an endless line: after a blank if one is near,
 * else not inside a UTF-8 character (p[max] may be the buffer's NUL).
 */
static size_t piece_cut(const char *p, size_t max)
{
	size_t k;

	for (k = max; k > max - 1024; k--)
		if (p[k - 1] == ' ' || p[k - 1] == '\t' || p[k - 1] == '\r')
			return k;
	for (k = max; k > max - 3; k--)
		if (((unsigned char)p[k] & 0xC0) != 0x80)
			return k;
	return max;
}

static int stream_lines(struct run *r, struct stream *s, int at_eof)
{
	struct pb_buf *b = &s->line;
	size_t off = 0, left, look, n;
	const char *nl;
	int rc = 0;

	while (off < b->len) {
		left = b->len - off;
		look = left < PIECE_MAX ? left : PIECE_MAX;
		nl = memchr(b->ptr + off, '\n', look);
		if (nl)
			n = (size_t)(nl - (b->ptr + off)) + 1;
		else if (left >= PIECE_MAX)
			n = piece_cut(b->ptr + off, PIECE_MAX);
		else if (at_eof)
			n = left;
		else
			break;
		if ((rc = emit(r, s, b->ptr + off, n)) < 0)
			break;
		off += n;
	}
	pb_buf_consume(b, off);
	return rc;
}

static int capture(struct run *r, const char *p, size_t n)
{
	struct pb_buf *c = r->o->capture_stdout;
	size_t room = n, take;
	char msg[96];

	if (c->cap)
		room = c->len < c->cap ? c->cap - c->len : 0;
	take = n < room ? n : room;
	if (take && pb_buf_add(c, p, take) < 0)
		return PB_ERROR;
	if (take == n)
		return 0;
	r->res->stdout_cut = 1;
	if (!r->dropped) {
		snprintf(msg, sizeof(msg), "[stdout over %zu bytes, cut]\n",
			 c->cap);
		if (note(r, msg) < 0)
			return PB_ERROR;
	}
	r->dropped += n - take;
	return 0;
}

/* One read per wakeup, so a chatty stream cannot starve the other. */
static int stream_read(struct run *r, struct stream *s)
{
	char chunk[READ_CHUNK];
	ssize_t n;

	do
		n = read(s->fd, chunk, sizeof(chunk));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		close_fd(&s->fd);
		return stream_lines(r, s, 1);
	}
	if (s->is_stdout && r->o->capture_stdout)
		return capture(r, chunk, (size_t)n);
	if (pb_buf_add(&s->line, chunk, (size_t)n) < 0)
		return PB_ERROR;
	return stream_lines(r, s, 0);
}

/* Non-blocking, so a child that never reads stdin cannot hang us. */
static void stdin_write(struct run *r)
{
	size_t left = r->o->stdin_len - r->in_off;
	ssize_t n;

	if (left) {
		n = write(r->in_fd, r->o->stdin_data + r->in_off,
			  left < WRITE_CHUNK ? left : WRITE_CHUNK);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n > 0) {
			r->in_off += (size_t)n;
			if (r->in_off < r->o->stdin_len)
				return;
		}
	}
	/* all written, or the child closed its end (EPIPE): done */
	close_fd(&r->in_fd);
}

/* Exited, without reaping: the group id stays ours until waitpid. */
static int child_gone(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno != EINTR;
	return si.si_pid == pid;
}

static int pidfd_open_child(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

static long long min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

struct loop_state {
	long long deadline, kill_at, drain_until;
	int term_sent, kill_sent, done;
};

/* Timeout, cancel, the grace period, and the child's end. */
static void loop_check(struct run *r, struct loop_state *st, pid_t pid,
		       long grace)
{
	const struct pb_run_opts *o = r->o;
	long long now = now_ms();

	/* first: a child that ended on its own did not time out */
	if (!st->done && child_gone(pid)) {
		st->done = 1;
		/* what it left running in its group goes with it */
		kill(-pid, SIGKILL);
		st->drain_until = now + DRAIN_MS;
		close_fd(&r->in_fd);
	}
	if (!st->done && !st->term_sent) {
		if (st->deadline && now >= st->deadline)
			r->res->timed_out = 1;
		else if (o->cancel && atomic_load(o->cancel))
			r->res->cancelled = 1;
		if (r->res->timed_out || r->res->cancelled) {
			kill(-pid, SIGTERM);
			st->term_sent = 1;
			st->kill_at = now + grace;
		}
	}
	if (st->term_sent && !st->kill_sent && !st->done &&
	    now >= st->kill_at) {
		kill(-pid, SIGKILL);
		st->kill_sent = 1;
	}
}

static int loop_wait_ms(const struct run *r, const struct loop_state *st,
			int pidfd)
{
	long long now = now_ms(), t = TICK_MS;

	if (!st->done && pidfd < 0 && r->out.fd < 0 && r->err.fd < 0)
		t = 10;
	if (st->deadline && !st->term_sent)
		t = min_ll(t, st->deadline - now);
	if (st->term_sent && !st->kill_sent && !st->done)
		t = min_ll(t, st->kill_at - now);
	if (st->done)
		t = min_ll(t, st->drain_until - now);
	return t < 0 ? 0 : (int)t;
}

static int run_loop(struct run *r, pid_t pid, int pidfd, long long start)
{
	const struct pb_run_opts *o = r->o;
	struct loop_state st;
	struct pollfd pfd[4];
	long grace = o->kill_grace_ms > 0 ? o->kill_grace_ms : kill_grace_ms;
	int i_in, i_out, i_err, rc = 0;
	nfds_t n;

	memset(&st, 0, sizeof(st));
	/* over ten years is "no limit", and keeps the sum from overflowing */
	if (o->timeout_sec > 0 && o->timeout_sec < TIMEOUT_MAX)
		st.deadline = start + (long long)o->timeout_sec * 1000;
	for (;;) {
		loop_check(r, &st, pid, grace);
		if (st.done && ((r->out.fd < 0 && r->err.fd < 0) ||
				now_ms() >= st.drain_until))
			break;
		n = 0;
		i_in = i_out = i_err = -1;
		if (r->in_fd >= 0) {
			pfd[n] = (struct pollfd){ r->in_fd, POLLOUT, 0 };
			i_in = (int)n++;
		}
		if (r->out.fd >= 0) {
			pfd[n] = (struct pollfd){ r->out.fd, POLLIN, 0 };
			i_out = (int)n++;
		}
		if (r->err.fd >= 0) {
			pfd[n] = (struct pollfd){ r->err.fd, POLLIN, 0 };
			i_err = (int)n++;
		}
		if (pidfd >= 0 && !st.done)
			pfd[n++] = (struct pollfd){ pidfd, POLLIN, 0 };
		if (poll(pfd, n, loop_wait_ms(r, &st, pidfd)) < 0) {
			if (errno == EINTR)
				continue;
			rc = pb_err_set("cannot watch the child: %s",
					strerror(errno));
			break;
		}
		if (i_in >= 0 && pfd[i_in].revents)
			stdin_write(r);
		if (i_out >= 0 && pfd[i_out].revents &&
		    (rc = stream_read(r, &r->out)) < 0)
			break;
		if (i_err >= 0 && pfd[i_err].revents &&
		    (rc = stream_read(r, &r->err)) < 0)
			break;
	}
	if (rc < 0)
		kill(-pid, SIGKILL);
	return rc;
}

static void reap(struct pb_run_result *res, pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return; /* SIGCHLD ignored: the kernel reaped it */
	}
	if (WIFEXITED(status)) {
		res->exited = 1;
		res->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
	}
}

static int child_failed(const char *name, const char *cwd,
			const struct child_failure *f)
{
	const char *why = strerror(f->err);

	switch (f->step) {
	case STEP_CHDIR:
		return pb_err_setc(f->err == ENOENT ? PB_ENOTFOUND : PB_ERROR,
				   "cannot run '%s': cannot enter '%s': %s",
				   name, cwd, why);
	case STEP_LIMITS:
		return pb_err_set("cannot run '%s': cannot set resource "
				  "limits: %s",
				  name, why);
	case STEP_EXEC:
		return pb_err_setc(f->err == ENOENT ? PB_ENOTFOUND : PB_ERROR,
				   "cannot run '%s': %s", name, why);
	default:
		return pb_err_set("cannot run '%s': cannot set up the child "
				  "process: %s",
				  name, why);
	}
}

/* Read the child's report: EOF means exec succeeded. */
static int await_exec(int fd, struct child_failure *f)
{
	ssize_t n;

	do
		n = read(fd, f, sizeof(*f));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*f);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

struct pipes {
	int in[2], out[2], err[2], status[2];
};

static void pipes_init(struct pipes *p)
{
	p->in[0] = p->in[1] = p->out[0] = p->out[1] = -1;
	p->err[0] = p->err[1] = p->status[0] = p->status[1] = -1;
}

static int pipes_open(struct pipes *p, int want_stdin)
{
	if (want_stdin) {
		if (pipe2(p->in, O_CLOEXEC) < 0)
			goto fail;
	} else if ((p->in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		goto fail;
	}
	if (pipe2(p->out, O_CLOEXEC) < 0 || pipe2(p->err, O_CLOEXEC) < 0 ||
	    pipe2(p->status, O_CLOEXEC) < 0)
		goto fail;
	if ((p->in[1] >= 0 && set_nonblock(p->in[1]) < 0) ||
	    set_nonblock(p->out[0]) < 0 || set_nonblock(p->err[0]) < 0)
		goto fail;
	return 0;
fail:
	return pb_err_set("cannot create pipes for a child: %s",
			  strerror(errno));
}

static void pipes_close(struct pipes *p)
{
	int *all[] = { p->in, p->out, p->err, p->status };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		close_fd(&all[i][0]);
		close_fd(&all[i][1]);
	}
}

/* fork with every signal blocked, so no handler of ours runs in the child */
static pid_t spawn(struct child_plan *plan)
{
	sigset_t all, old;
	pid_t pid;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	plan->parent = getpid();
	pid = fork();
	if (pid == 0)
		child_exec(plan);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid > 0)
		(void)setpgid(pid, pid); /* no race with kill(-pid) */
	errno = e;
	return pid;
}

static int plan_prepare(struct child_plan *plan, const struct pb_run_opts *o,
			const struct pb_env *env)
{
	static char *const no_env[] = { NULL };

	memset(plan, 0, sizeof(*plan));
	plan->argv = (char *const *)o->argv;
	plan->envp = env->v ? env->v : no_env;
	plan->cwd = o->cwd;
	sigemptyset(&plan->empty);
	limits_prepare(plan, &o->limits);
	return resolve_path(&plan->path, o->argv[0], pb_env_get(env, "PATH"),
			    o->cwd);
}

/* The parent's part once the child runs; the child is always reaped. */
static int supervise(struct run *r, struct pipes *p, pid_t pid,
		     const char *name, long long start)
{
	struct child_failure f;
	int pidfd = -1, rc;

	close_fd(&p->in[0]);
	close_fd(&p->out[1]);
	close_fd(&p->err[1]);
	close_fd(&p->status[1]);
	if (await_exec(p->status[0], &f)) {
		reap(r->res, pid);
		return child_failed(name, r->o->cwd, &f);
	}
	r->in_fd = p->in[1];
	r->out.fd = p->out[0];
	r->err.fd = p->err[0];
	p->in[1] = p->out[0] = p->err[0] = -1;
	pidfd = pidfd_open_child(pid);
	rc = run_loop(r, pid, pidfd, start);
	close_fd(&pidfd);
	reap(r->res, pid);
	return rc;
}

static int block_sigpipe(sigset_t *saved, int *was_pending)
{
	sigset_t pipe_set, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	*was_pending = sigismember(&pending, SIGPIPE);
	return pthread_sigmask(SIG_BLOCK, &pipe_set, saved);
}

/* A SIGPIPE our write raised is this thread's: take it before unblocking. */
static void restore_sigpipe(const sigset_t *saved, int was_pending)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipe_set, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	if (!was_pending && sigismember(&pending, SIGPIPE))
		(void)sigtimedwait(&pipe_set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

int pb_run(struct pb_run_result *out, const struct pb_run_opts *o)
{
	struct pb_env def_env = { NULL, 0 };
	const struct pb_env *env = o->env;
	struct child_plan plan;
	struct pipes p;
	struct run r;
	struct timespec t0, t1;
	sigset_t saved;
	int was_pending, rc;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	plan.path = NULL;
	pipes_init(&p);
	if (!o->argv || !o->argv[0] || !*o->argv[0])
		return pb_err_setc(PB_EINVAL, "cannot run a child: no command "
					      "given");
	if (!o->cwd)
		return pb_err_setc(PB_EINVAL,
				   "cannot run '%s': no working directory "
				   "given",
				   o->argv[0]);
	out->timeout_sec = o->timeout_sec > 0 ? o->timeout_sec : 0;
	r.o = o;
	r.res = out;
	r.in_fd = r.out.fd = r.err.fd = -1;
	r.out.is_stdout = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	block_sigpipe(&saved, &was_pending);
	if (!env && (rc = pb_env_init(&def_env, NULL, 0)) < 0)
		goto out;
	if ((rc = plan_prepare(&plan, o, env ? env : &def_env)) < 0 ||
	    (rc = pipes_open(&p, o->stdin_data != NULL)) < 0)
		goto out;
	plan.in_fd = p.in[0];
	plan.out_fd = p.out[1];
	plan.err_fd = p.err[1];
	plan.status_fd = p.status[1];
	if ((pid = spawn(&plan)) < 0) {
		rc = pb_err_set("cannot run '%s': cannot fork: %s", o->argv[0],
				strerror(errno));
		goto out;
	}
	rc = supervise(&r, &p, pid, o->argv[0],
		       (long long)t0.tv_sec * 1000 + t0.tv_nsec / 1000000);
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out->seconds = (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	close_fd(&r.in_fd);
	close_fd(&r.out.fd);
	close_fd(&r.err.fd);
	pipes_close(&p);
	restore_sigpipe(&saved, was_pending);
	pb_buf_release(&r.scratch);
	pb_buf_release(&r.err.line);
	pb_buf_release(&r.out.line);
	free(plan.path);
	pb_env_release(&def_env);
	return rc;
}

/* ---- describing the outcome ---- */

static const char *signal_name(int sig)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
		{ SIGHUP, "SIGHUP" },	{ SIGINT, "SIGINT" },
		{ SIGQUIT, "SIGQUIT" }, { SIGILL, "SIGILL" },
		{ SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
		{ SIGBUS, "SIGBUS" },	{ SIGFPE, "SIGFPE" },
		{ SIGKILL, "SIGKILL" }, { SIGUSR1, "SIGUSR1" },
		{ SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
		{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" },
		{ SIGTERM, "SIGTERM" }, { SIGXCPU, "SIGXCPU" },
		{ SIGXFSZ, "SIGXFSZ" }, { SIGSYS, "SIGSYS" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	return NULL;
}

/* 1800 -> "30m", 5400 -> "1h30m", 90 -> "1m30s" */
static void format_duration(char *buf, size_t len, long sec)
{
	long h = sec / 3600, m = sec % 3600 / 60, s = sec % 60;
	size_t n = 0;

	buf[0] = '\0';
	if (h)
		n += (size_t)snprintf(buf + n, len - n, "%ldh", h);
	if (m && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%ldm", m);
	if ((s || !sec) && n < len)
		snprintf(buf + n, len - n, "%lds", s);
}

const char *pb_run_describe(const struct pb_run_result *r, char *buf,
			    size_t len)
{
	char d[48];
	const char *name;

	if (!len)
		return buf;
	if (r->cancelled) {
		snprintf(buf, len, "cancelled");
	} else if (r->timed_out) {
		format_duration(d, sizeof(d), r->timeout_sec);
		snprintf(buf, len, "timed out after %s", d);
	} else if (r->exited) {
		snprintf(buf, len, "exited with status %d", r->exit_code);
	} else if (r->signal) {
		name = signal_name(r->signal);
		if (name)
			snprintf(buf, len, "killed by signal %d (%s)",
				 r->signal, name);
		else
			snprintf(buf, len, "killed by signal %d", r->signal);
	} else {
		snprintf(buf, len, "ended with an unknown status");
	}
	return buf;
}
