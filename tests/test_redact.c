/* test_redact.c: secret values and token shapes masked, the rest kept */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/redact.h"
#include "testutil.h"

/* All fake: the right shape, never a live credential. */
#define GH36 "0123456789abcdefghijklmnopqrstuvwxyz"
#define GH35 "0123456789abcdefghijklmnopqrstuvwxy"

struct redact_case {
	const char *what;
	const char *in;
	const char *want;
};

static const struct redact_case masked[] = {
	{ "ghp", "token ghp_" GH36 " done", "token [REDACTED] done" },
	{ "gho", "gho_" GH36, "[REDACTED]" },
	{ "ghu", "x=ghu_" GH36 "ABC;", "x=[REDACTED];" },
	{ "ghs", "'ghs_" GH36 "'", "'[REDACTED]'" },
	{ "ghr", "ghr_" GH36 "\n", "[REDACTED]\n" },
	{ "github_pat", "GH=github_pat_11ABCDEFG0_123456789abcdefghij end",
	  "GH=[REDACTED] end" },
	{ "xoxb", "slack xoxb-1234567890-abcdefABCDEF ok",
	  "slack [REDACTED] ok" },
	{ "xoxp", "xoxp-1234567890", "[REDACTED]" },
	{ "xoxa", "xoxa-2-1234567890ab", "[REDACTED]" },
	{ "xoxr", "(xoxr-abcdefghijkl)", "([REDACTED])" },
	{ "xoxs", "xoxs-0000000000-1111", "[REDACTED]" },
	{ "slack webhook",
	  "POST https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXX "
	  "failed",
	  "POST https://[REDACTED] failed" },
	{ "slack response_url",
	  "to https://hooks.slack.com/commands/T1DC2JH3J/397700885554/"
	  "96rGlfmibIGlgcZRskXaIFfN now",
	  "to https://[REDACTED] now" },
	{ "AKIA", "AKIAIOSFODNN7EXAMPLE", "[REDACTED]" },
	{ "ASIA", "key=ASIAIOSFODNN7EXAMPLE,", "key=[REDACTED]," },
	{ "authorization bearer", "Authorization: Bearer abc.def-ghi_jkl",
	  "Authorization: Bearer [REDACTED]" },
	{ "bare bearer",
	  "sent bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
	  "sent bearer [REDACTED]" },
	{ "authorization token", "authorization: token abc",
	  "authorization: token [REDACTED]" },
	{ "authorization basic", "Authorization: Basic dXNlcjpwYXNz\r\n",
	  "Authorization: Basic [REDACTED]\r\n" },
	{ "pem",
	  "a\n-----BEGIN RSA PRIVATE KEY-----\nAAAAfake\nBBBB\n"
	  "-----END RSA PRIVATE KEY-----\nb",
	  "a\n[REDACTED]\nb" },
	{ "pem without end", "x -----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\nBB",
	  "x [REDACTED]" },
	{ "pem plain label",
	  "-----BEGIN PRIVATE KEY-----\nAA\n-----END "
	  "PRIVATE KEY-----",
	  "[REDACTED]" },
	{ "two shapes", "AKIAIOSFODNN7EXAMPLE and ghp_" GH36,
	  "[REDACTED] and [REDACTED]" },
};

static const struct redact_case near_misses[] = {
	{ "ghp one short", "ghp_" GH35, NULL },
	{ "unknown gh prefix", "ghx_" GH36, NULL },
	{ "github_pat short", "github_pat_123456789012345678901", NULL },
	{ "slack short", "xoxb-123456789", NULL },
	{ "slack unknown kind", "xoxz-1234567890abc", NULL },
	{ "slack webhook without path", "hooks.slack.com/services/ docs",
	  NULL },
	{ "slack other path", "https://hooks.slack.com/apps/T0000B0000XXXX",
	  NULL },
	{ "AKIA 15", "AKIAIOSFODNN7EXAMPL", NULL },
	{ "AKIA 17", "AKIAIOSFODNN7EXAMPLE1", NULL },
	{ "AKIA inside a word", "XAKIAIOSFODNN7EXAMPLE", NULL },
	{ "akia lower case", "akiaiosfodnn7example", NULL },
	{ "bearer in prose", "the bearer of bad news", NULL },
	{ "bearer short value", "Bearer short", NULL },
	{ "bearer glued", "nobearer abcdefghijkl", NULL },
	{ "authorization alone", "Authorization: required", NULL },
	{ "public key",
	  "-----BEGIN PUBLIC KEY-----\nAA\n-----END PUBLIC KEY-----", NULL },
	{ "certificate", "-----BEGIN CERTIFICATE-----\nMIIB", NULL },
	{ "digest",
	  "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b78"
	  "52b855",
	  NULL },
};

static void check_cases(const struct redact_case *c, size_t n,
			const struct pb_redactor *r)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *got = pb_redact_str(r, c[i].in);
		const char *want = c[i].want ? c[i].want : c[i].in;

		assert_non_null(got);
		if (strcmp(got, want))
			fail_msg("case '%s': got '%s', want '%s'", c[i].what,
				 got, want);
		free(got);
	}
}

static void test_redact_masks_token_shapes(void **state)
{
	(void)state;
	check_cases(masked, sizeof(masked) / sizeof(masked[0]), NULL);
}

static void test_redact_keeps_near_misses(void **state)
{
	(void)state;
	check_cases(near_misses, sizeof(near_misses) / sizeof(near_misses[0]),
		    NULL);
}

static struct pb_redactor *redactor_with(const char *const *secrets)
{
	struct pb_redactor *r;

	assert_int_equal(pb_redactor_new(&r), 0);
	for (; *secrets; secrets++)
		assert_int_equal(pb_redactor_add(r, *secrets), 0);
	return r;
}

static void test_redact_masks_configured_secrets(void **state)
{
	static const char *const secrets[] = { "hunter2-secret", "s3cr3t",
					       "s3cr3tvalue",	 "abcdef123",
					       "def123456",	 NULL };
	static const struct redact_case cases[] = {
		{ "middle", "pw=hunter2-secret;", "pw=[REDACTED];" },
		{ "start and end", "hunter2-secret mid hunter2-secret",
		  "[REDACTED] mid [REDACTED]" },
		{ "alone", "hunter2-secret", "[REDACTED]" },
		{ "repeated back to back", "hunter2-secrethunter2-secret",
		  "[REDACTED]" },
		/* added shorter first: the longer one must still go whole */
		{ "secret holding another", "s3cr3tvalue and s3cr3t",
		  "[REDACTED] and [REDACTED]" },
		{ "overlapping secrets", "xabcdef123456y", "x[REDACTED]y" },
		{ "secret and shape", "hunter2-secret AKIAIOSFODNN7EXAMPLE",
		  "[REDACTED] [REDACTED]" },
		{ "no secret", "nothing to hide here", NULL },
		{ "prefix of a secret only", "hunter2-secre", NULL },
	};
	struct pb_redactor *r;

	(void)state;
	r = redactor_with(secrets);
	check_cases(cases, sizeof(cases) / sizeof(cases[0]), r);
	pb_redactor_free(r);
}

/* The sample logs are named as given, so the tests run in the data folder. */
static int enter_data_dir(void **state)
{
	(void)state;
	return pb_test_enter_data_dir("redact");
}

static void test_redact_leaves_a_clean_log_unchanged(void **state)
{
	static const char *const secrets[] = { "hunter2-secret",
					       "not-in-the-log", NULL };
	struct pb_redactor *r;
	struct pb_buf b = PB_BUF_INIT;
	char *text = pb_test_read_file("clean_log.txt", NULL);

	(void)state;
	r = redactor_with(secrets);
	assert_int_equal(pb_buf_puts(&b, text), 0);
	assert_int_equal(pb_redact_buf(r, &b), 0);
	assert_string_equal(b.ptr, text);
	assert_int_equal(b.len, strlen(text));
	pb_buf_release(&b);
	pb_redactor_free(r);
	free(text);
}

static void test_redact_buf_rewrites_in_place(void **state)
{
	struct pb_buf b = PB_BUF_INIT, empty = PB_BUF_INIT;

	(void)state;
	assert_int_equal(pb_buf_puts(&b, "k=AKIAIOSFODNN7EXAMPLE"), 0);
	assert_int_equal(pb_redact_buf(NULL, &b), 0);
	assert_string_equal(pb_buf_cstr(&b), "k=[REDACTED]");
	assert_int_equal(b.len, strlen("k=[REDACTED]"));
	assert_int_equal(pb_redact_buf(NULL, &empty), 0);
	assert_null(empty.ptr);
	pb_buf_release(&b);
}

static void test_redact_respects_the_buffer_cap(void **state)
{
	static const char *const secrets[] = { "123456", NULL };
	struct pb_redactor *r;
	struct pb_buf b;

	(void)state;
	r = redactor_with(secrets);
	pb_buf_init(&b, 8);
	assert_int_equal(pb_buf_puts(&b, "a 123456"), 0);
	/* "a [REDACTED]" is 12 bytes: a capped text must not grow past it */
	assert_int_equal(pb_redact_buf(r, &b), PB_ETOOBIG);
	assert_null(b.ptr);
	assert_non_null(strstr(pb_err_last(), "8-byte cap"));
	pb_redactor_free(r);
}

static void test_redactor_add_refuses_short_values(void **state)
{
	struct pb_redactor *r;
	char *got;

	(void)state;
	assert_int_equal(pb_redactor_new(&r), 0);
	assert_int_equal(pb_redactor_add(r, "12345"), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "5 bytes"));
	assert_non_null(strstr(pb_err_last(), "6 bytes or more"));
	/* the message is logged: it must not carry the value */
	assert_null(strstr(pb_err_last(), "12345"));
	assert_int_equal(pb_redactor_add(r, ""), PB_EINVAL);
	assert_int_equal(pb_redactor_add(r, NULL), PB_EINVAL);
	assert_int_equal(pb_redactor_add(r, "123456"), 0);
	assert_int_equal(pb_redactor_add(r, "123456"), 0);
	got = pb_redact_str(r, "12345 123456");
	assert_string_equal(got, "12345 [REDACTED]");
	free(got);
	pb_redactor_free(r);
	pb_redactor_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact_masks_token_shapes),
		cmocka_unit_test(test_redact_keeps_near_misses),
		cmocka_unit_test(test_redact_masks_configured_secrets),
		cmocka_unit_test(test_redact_leaves_a_clean_log_unchanged),
		cmocka_unit_test(test_redact_buf_rewrites_in_place),
		cmocka_unit_test(test_redact_respects_the_buffer_cap),
		cmocka_unit_test(test_redactor_add_refuses_short_values),
	};

	return cmocka_run_group_tests(tests, enter_data_dir, NULL);
}
