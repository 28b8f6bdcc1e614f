/* testutil.c: folders, files, assertions and the fake GitHub tests share */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "prbot/buf.h"
#include "prbot/checkout.h"
#include "prbot/err.h"
#include "prbot/http_client.h"
#include "prbot/state.h"
#include "testutil.h"

int pb_test_enter_data_dir(const char *subdir)
{
	const char *dir = getenv("PRBOT_TEST_DATA");
	char path[PATH_MAX];
	int n;

	if (!dir || !*dir) {
		fprintf(stderr, "PRBOT_TEST_DATA is not set: run the tests "
				"through ctest, or set it to the tests/data "
				"folder\n");
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/%s", dir, subdir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "test data folder '%s/%s': path too long\n",
			dir, subdir);
		return -1;
	}
	if (chdir(path) < 0) {
		fprintf(stderr, "cannot enter test data folder '%s': %s\n",
			path, strerror(errno));
		return -1;
	}
	return 0;
}

int pb_test_tmpdir(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "/tmp/prbot-test-%s.XXXXXX", name);

	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr,
			"temporary folder name for '%s' does not fit "
			"in %zu bytes\n",
			name, len);
		return -1;
	}
	if (!mkdtemp(buf)) {
		fprintf(stderr, "cannot create temporary folder '%s': %s\n",
			buf, strerror(errno));
		return -1;
	}
	return 0;
}

int pb_test_rmtree(const char *path)
{
	if (pb_rmtree(path) < 0) {
		fprintf(stderr, "%s\n", pb_err_last());
		return -1;
	}
	return 0;
}

void *pb_test_fixture_new(size_t size, const char *name)
{
	/* a struct's address is its first member's (C11 6.7.2.1) */
	char *f;

	if (size < PB_TEST_DIR_MAX) {
		fprintf(stderr,
			"fixture '%s' has no room for its folder: "
			"start it with char dir[PB_TEST_DIR_MAX]\n",
			name);
		return NULL;
	}
	if (!(f = calloc(1, size))) {
		fprintf(stderr, "cannot allocate the '%s' fixture\n", name);
		return NULL;
	}
	if (pb_test_tmpdir(f, PB_TEST_DIR_MAX, name) < 0) {
		free(f);
		return NULL;
	}
	return f;
}

int pb_test_fixture_free(void *fixture)
{
	int rc;

	if (!fixture)
		return 0;
	rc = pb_test_rmtree(fixture);

	free(fixture);
	return rc;
}

int pb_test_store_setup(void **state, const char *name)
{
	struct pb_test_store *f = pb_test_fixture_new(sizeof(*f), name);

	if (!f)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/prbot.db", f->dir);
	if (pb_state_open(&f->st, f->path) < 0) {
		fprintf(stderr, "open: %s\n", pb_err_last());
		pb_test_fixture_free(f);
		return -1;
	}
	*state = f;
	return 0;
}

int pb_test_store_teardown(void **state)
{
	struct pb_test_store *f = *state;

	pb_state_close(f->st);
	return pb_test_fixture_free(f);
}

void pb_test_write_file(const char *path, const void *data, size_t len)
{
	/* "e": no child a test starts meanwhile inherits the descriptor */
	FILE *fp = fopen(path, "wbe");

	if (!fp)
		fail_msg("cannot create '%s': %s", path, strerror(errno));
	if (fwrite(data, 1, len, fp) != len) {
		fclose(fp);
		fail_msg("cannot write '%s': %s", path, strerror(errno));
	}
	if (fclose(fp) != 0)
		fail_msg("cannot write '%s': %s", path, strerror(errno));
}

void pb_test_write_text(const char *path, const char *text)
{
	pb_test_write_file(path, text, strlen(text));
}

char *pb_test_read_file(const char *path, size_t *len)
{
	struct pb_buf b = PB_BUF_INIT;
	FILE *fp = fopen(path, "rbe");
	char chunk[4096];
	size_t n;

	if (!fp)
		fail_msg("cannot open '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (pb_buf_add(&b, chunk, n) < 0) {
			fclose(fp);
			fail_msg("cannot read '%s': %s", path, pb_err_last());
		}
	}
	if (ferror(fp)) {
		fclose(fp);
		pb_buf_release(&b);
		fail_msg("cannot read '%s': %s", path, strerror(errno));
	}
	fclose(fp);
	if (len)
		*len = b.len;
	return pb_buf_detach(&b);
}

char *pb_test_render_diags(const struct pb_diags *d)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *line = pb_diag_format(&d->v[i]);

		assert_non_null(line);
		assert_int_equal(pb_buf_printf(&b, "%s\n", line), 0);
		free(line);
	}
	return pb_buf_detach(&b);
}

void pb_test_assert_error_at(int got, int rc, const char *msg, const char *file,
			     int line)
{
	_assert_int_equal((LargestIntegralType)got, (LargestIntegralType)rc,
			  file, line);
	_assert_string_equal(pb_err_last(), msg, file, line);
}

/* Compare, free, then fail: what a failed test leaves is not a leak. */
static void assert_text_at(const char *what, char *got, const char *want,
			   const char *file, int line)
{
	int same = strcmp(got, want) == 0;

	if (!same)
		print_error("%s:\n%s\nexpected:\n%s\n", what, got, want);
	free(got);
	if (!same)
		_fail(file, line);
}

void pb_test_assert_diags_at(const struct pb_diags *d, const char *want,
			     const char *file, int line)
{
	assert_text_at("diags", pb_test_render_diags(d), want, file, line);
}

void pb_test_assert_file_text_at(const char *path, const char *want,
				 const char *file, int line)
{
	assert_text_at(path, pb_test_read_file(path, NULL), want, file, line);
}

/* ---- fake_github.py ---- */

#define FAKE_PYTHON	   "/usr/bin/python3"
#define FAKE_MAX_ARGS	   32
#define FAKE_START_WAIT_MS 20000

/* The port the fake prints on its first line, or 0 when none came. */
static int fake_read_port(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char line[32];
	size_t len = 0;

	line[0] = '\0';
	while (len + 1 < sizeof(line) && !memchr(line, '\n', len)) {
		ssize_t n;

		if (poll(&pfd, 1, FAKE_START_WAIT_MS) != 1)
			break;
		n = read(fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = '\0';
	}
	return atoi(line) > 0 ? atoi(line) : 0;
}

int pb_test_fake_github_start(struct pb_test_fake_github *f,
			      const char *fixture, const char *token,
			      const char *app_id, const char *const *extra)
{
	const char *src = getenv("PRBOT_SOURCE_DIR");
	const char *argv[FAKE_MAX_ARGS];
	char script[PATH_MAX];
	struct pb_http_opts o;
	int out[2] = { -1, -1 }, in[2] = { -1, -1 };
	size_t n = 0;
	int port, rc = -1;

	memset(f, 0, sizeof(*f));
	f->stdin_fd = -1;
	if (!src || !*src || access(FAKE_PYTHON, X_OK)) {
		fprintf(stderr,
			"fake_github.py needs PRBOT_SOURCE_DIR and " FAKE_PYTHON
			" (run the test with ctest)\n");
		return -1;
	}
	n = (size_t)snprintf(script, sizeof(script),
			     "%s/tests/integration/fake_github.py", src);
	if (n >= sizeof(script)) {
		fprintf(stderr,
			"'%s/tests/integration/fake_github.py': path "
			"too long\n",
			src);
		return -1;
	}
	n = 0;
	argv[n++] = "python3";
	argv[n++] = script;
	argv[n++] = "--fixture";
	argv[n++] = fixture;
	argv[n++] = "--token";
	argv[n++] = token;
	if (app_id) {
		argv[n++] = "--app-id";
		argv[n++] = app_id;
	}
	while (extra && *extra && n + 1 < FAKE_MAX_ARGS)
		argv[n++] = *extra++;
	if (extra && *extra) {
		fprintf(stderr, "fake_github.py: more than %d arguments\n",
			FAKE_MAX_ARGS - 1);
		return -1;
	}
	argv[n] = NULL;

	pb_http_opts_init(&o);
	o.service = "fake_github.py";
	o.max_retries = 0;
	if (pb_http_client_new(&f->ctl, &o) != 0) {
		fprintf(stderr, "fake_github.py client: %s\n", pb_err_last());
		return -1;
	}
	if (pipe(out) || pipe(in)) {
		fprintf(stderr, "fake_github.py: pipe: %s\n", strerror(errno));
		goto out;
	}
	/* the fake's pipes stay out of every other child of the test, so
	   its stdin closes when this program goes away */
	fcntl(out[0], F_SETFD, FD_CLOEXEC);
	fcntl(out[1], F_SETFD, FD_CLOEXEC);
	fcntl(in[0], F_SETFD, FD_CLOEXEC);
	fcntl(in[1], F_SETFD, FD_CLOEXEC);
	f->pid = fork();
	if (f->pid < 0) {
		fprintf(stderr, "fake_github.py: fork: %s\n", strerror(errno));
		f->pid = 0;
		goto out;
	}
	if (f->pid == 0) {
		/* dup2 clears FD_CLOEXEC on the copies */
		dup2(in[0], 0);
		dup2(out[1], 1);
		execv(FAKE_PYTHON, (char *const *)argv);
		_exit(127);
	}
	f->stdin_fd = in[1];
	in[1] = -1;
	close(out[1]);
	out[1] = -1;
	port = fake_read_port(out[0]);
	if (!port) {
		fprintf(stderr,
			"fake_github.py did not print its port (it exited, "
			"or took over %d s): see its output above\n",
			FAKE_START_WAIT_MS / 1000);
		goto out;
	}
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", port);
	rc = 0;
out:
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (rc < 0)
		pb_test_fake_github_stop(f);
	return rc;
}

void pb_test_fake_github_stop(struct pb_test_fake_github *f)
{
	if (f->stdin_fd >= 0 && f->pid > 0)
		close(f->stdin_fd);
	f->stdin_fd = -1;
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	f->pid = 0;
	pb_http_client_free(f->ctl);
	f->ctl = NULL;
}

json_t *pb_test_fake_github_ctl(struct pb_test_fake_github *f,
				const char *method, const char *path,
				const char *body)
{
	struct pb_http_response r = PB_HTTP_RESPONSE_INIT;
	struct pb_http_request q = { method, NULL, NULL, NULL, body, 0 };
	char url[256];
	json_error_t je;
	json_t *v;

	if (!f->ctl)
		fail_msg("fake_github.py %s %s: the fake is not running: "
			 "call pb_test_fake_github_start() in the group setup",
			 method, path);
	snprintf(url, sizeof(url), "%s%s", f->base, path);
	q.url = url;
	if (pb_http_request(f->ctl, &r, &q) != 0) {
		pb_http_response_release(&r);
		fail_msg("fake_github.py %s %s: %s", method, path,
			 pb_err_last());
	}
	v = json_loadb(r.body.ptr ? r.body.ptr : "", r.body.len, 0, &je);
	pb_http_response_release(&r);
	if (!v)
		fail_msg("fake_github.py %s %s: answer is not JSON: %s", method,
			 path, je.text);
	return v;
}

void pb_test_fake_github_reset(struct pb_test_fake_github *f)
{
	json_decref(pb_test_fake_github_ctl(f, "POST", "/_reset", NULL));
}

json_t *pb_test_fake_github_requests(struct pb_test_fake_github *f)
{
	return pb_test_fake_github_ctl(f, "GET", "/_requests", NULL);
}

/* What bio holds, as a string the caller frees. */
static char *bio_text(BIO *bio)
{
	char *data, *s;
	long n = BIO_get_mem_data(bio, &data);

	assert_true(n > 0);
	s = strndup(data, (size_t)n);
	assert_non_null(s);
	return s;
}

void pb_test_keypair(char **priv, char **pub, const char *type,
		     const char *passphrase)
{
	EVP_PKEY *k = NULL;
	BIO *a = BIO_new(BIO_s_mem()), *b = BIO_new(BIO_s_mem());

	assert_non_null(a);
	assert_non_null(b);
	if (!strcmp(type, "RSA"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	else if (!strcmp(type, "EC"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	assert_non_null(k);
	if (passphrase)
		assert_int_equal(PEM_write_bio_PKCS8PrivateKey(
					 a, k, EVP_aes_256_cbc(), NULL, 0, NULL,
					 (void *)passphrase),
				 1);
	else
		assert_int_equal(PEM_write_bio_PrivateKey(a, k, NULL, NULL, 0,
							  NULL, NULL),
				 1);
	assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
	*priv = bio_text(a);
	*pub = bio_text(b);
	BIO_free(b);
	BIO_free(a);
	EVP_PKEY_free(k);
}
