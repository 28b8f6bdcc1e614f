/* testutil.h: what the cmocka test programs share, so no test copies it */
#ifndef PRBOT_TESTUTIL_H
#define PRBOT_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "prbot/diag.h"

struct pb_http_client;

/*
 * Change into $PRBOT_TEST_DATA/SUBDIR, so that messages which name a path as
 * given name the data file alone. For a group setup: 0, or -1 with the
 * reason on stderr (the variable is unset outside ctest).
 */
int pb_test_enter_data_dir(const char *subdir);

/*
 * Create a fresh folder /tmp/prbot-test-NAME.XXXXXX and put its path in buf.
 * 0, or -1 with the reason on stderr. pb_test_rmtree() removes it.
 */
int pb_test_tmpdir(char *buf, size_t len, const char *name);

/* Remove the tree at path; 0, or -1 with the reason on stderr. */
int pb_test_rmtree(const char *path);

/* Room for a pb_test_tmpdir() path. */
#define PB_TEST_DIR_MAX 64

/*
 * A per-test fixture of size bytes, zeroed, whose first member is
 * char dir[PB_TEST_DIR_MAX]: it gets a fresh pb_test_tmpdir(NAME). NULL,
 * with the reason on stderr, when either cannot be made.
 */
void *pb_test_fixture_new(size_t size, const char *name);

/* Remove the fixture's folder and free it; 0, or -1 as pb_test_rmtree(). */
int pb_test_fixture_free(void *fixture);

/* A state store in a fresh folder, for the tests of what stores things. */
struct pb_test_store {
	char dir[PB_TEST_DIR_MAX]; /* first: a pb_test_fixture_new() fixture */
	char path[PB_TEST_DIR_MAX + 16]; /* DIR/prbot.db */
	struct pb_state *st;
};

/* cmocka setup and teardown: *state is a struct pb_test_store, open. */
int pb_test_store_setup(void **state, const char *name);
int pb_test_store_teardown(void **state);

/* Replace path with len bytes of data; the test fails if that cannot be. */
void pb_test_write_file(const char *path, const void *data, size_t len);

/* The same with a string. */
void pb_test_write_text(const char *path, const char *text);

/*
 * The whole of path, NUL-terminated, owned by the caller (free()); *len gets
 * its size when len is not NULL. The test fails if path cannot be read.
 */
char *pb_test_read_file(const char *path, size_t *len);

/* Every diag as "FILE:LINE: message\n" in one string the caller frees. */
char *pb_test_render_diags(const struct pb_diags *d);

/*
 * Assertions that report the caller's file and line, as cmocka's do.
 * pb_test_assert_error: expr returned rc and pb_err_last() is msg.
 * pb_test_assert_diags: d rendered as pb_test_render_diags() is want.
 * pb_test_assert_file_text: the file at path holds exactly want.
 */
#define pb_test_assert_error(expr, rc, msg) \
	pb_test_assert_error_at((expr), (rc), (msg), __FILE__, __LINE__)
#define pb_test_assert_diags(d, want) \
	pb_test_assert_diags_at((d), (want), __FILE__, __LINE__)
#define pb_test_assert_file_text(path, want) \
	pb_test_assert_file_text_at((path), (want), __FILE__, __LINE__)

void pb_test_assert_error_at(int got, int rc, const char *msg, const char *file,
			     int line);
void pb_test_assert_diags_at(const struct pb_diags *d, const char *want,
			     const char *file, int line);
void pb_test_assert_file_text_at(const char *path, const char *want,
				 const char *file, int line);

/*
 * tests/integration/fake_github.py run as a child of the test program. It
 * reads its stdin only to stop when that closes, so a test that dies leaves
 * no server behind.
 */
struct pb_test_fake_github {
	pid_t pid;		    /* 0 when not running */
	int stdin_fd;		    /* our end of its stdin */
	char base[64];		    /* http://127.0.0.1:PORT */
	struct pb_http_client *ctl; /* for control requests, no retries */
};

/*
 * Start $PRBOT_SOURCE_DIR/tests/integration/fake_github.py with
 * /usr/bin/python3 on fixture, accepting token and, when app_id is not
 * NULL, App JWTs for app_id; extra is NULL or a NULL-terminated list of
 * more arguments. Waits for the port it prints. For a group setup: 0, or
 * -1 with the reason on stderr and nothing left running.
 */
int pb_test_fake_github_start(struct pb_test_fake_github *f,
			      const char *fixture, const char *token,
			      const char *app_id, const char *const *extra);

/* Kill and reap the fake and free its client; a stopped fake is a no-op. */
void pb_test_fake_github_stop(struct pb_test_fake_github *f);

/*
 * A control request (METHOD to /_reset, /_fail, /_requests...) with body
 * NULL or JSON text; its JSON answer, which the caller decrefs. The test
 * fails, naming the request, when it fails or the answer is not JSON.
 */
json_t *pb_test_fake_github_ctl(struct pb_test_fake_github *f,
				const char *method, const char *path,
				const char *body);

/* Forget what the fake recorded and any failure rules: POST /_reset. */
void pb_test_fake_github_reset(struct pb_test_fake_github *f);

/* The requests the fake recorded since the reset (caller decrefs). */
json_t *pb_test_fake_github_requests(struct pb_test_fake_github *f);

/*
 * A fresh test key pair made with OpenSSL, never committed: *priv gets the
 * PKCS#8 PEM private key and *pub the SubjectPublicKeyInfo PEM public key,
 * as `openssl genpkey` and `openssl pkey -pubout` write them (caller frees
 * both). type is "ED25519", "RSA" (1024 bits: tests only) or "EC" (P-256).
 * With passphrase not NULL the private key is encrypted (AES-256-CBC). The
 * test fails if a key cannot be made.
 */
void pb_test_keypair(char **priv, char **pub, const char *type,
		     const char *passphrase);

#endif
