/* test_sigv4.c: Signature V4 against AWS's test suite and S3's examples */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/sigv4.h"
#include "testutil.h"

#define MAX_HEADERS 16

/* The suite's own credentials and scope (tests/data/sigv4/SOURCE). */
#define SUITE_AKID   "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_REGION "us-east-1"
#define SUITE_DATE   "20150830T123600Z"

/* A .req file taken apart; every pointer points into text. */
struct parsed {
	struct pb_buf text;
	char *method;
	char *path;
	char *query;
	struct pb_sigv4_header headers[MAX_HEADERS];
	size_t nheaders;
	char *body;
};

static void read_data(struct pb_buf *out, const char *name, const char *ext)
{
	char path[128];

	snprintf(path, sizeof(path), "%s.%s", name, ext);
	if (pb_buf_read_file(out, path, 1 << 16) < 0)
		fail_msg("cannot read '%s': %s", path, pb_err_last());
}

/* "METHOD TARGET HTTP/1.1", "Name:value" lines, empty line, body. */
static void parse_req(struct parsed *p, const char *name)
{
	char *line, *next, *sp, *q;

	memset(p, 0, sizeof(*p));
	read_data(&p->text, name, "req");
	line = p->text.ptr;
	next = strchr(line, '\n');
	if (next)
		*next++ = '\0';
	sp = strchr(line, ' ');
	assert_non_null(sp);
	*sp = '\0';
	p->method = line;
	p->path = sp + 1;
	sp = strrchr(p->path, ' ');
	assert_non_null(sp);
	*sp = '\0';
	q = strchr(p->path, '?');
	if (q) {
		*q = '\0';
		p->query = q + 1;
	}
	while (next && *next) {
		char *colon;

		line = next;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line)
			break;
		colon = strchr(line, ':');
		assert_non_null(colon);
		assert_true(p->nheaders < MAX_HEADERS);
		*colon = '\0';
		p->headers[p->nheaders].name = line;
		p->headers[p->nheaders++].value = colon + 1;
	}
	p->body = next;
}

static void assert_same(const char *name, const char *ext, const char *got)
{
	struct pb_buf want = PB_BUF_INIT;

	read_data(&want, name, ext);
	if (want.len && want.ptr[want.len - 1] == '\n')
		want.ptr[--want.len] = '\0';
	if (strcmp(want.ptr, got) != 0)
		fail_msg("%s.%s differs:\n--- expected\n%s\n--- got\n%s", name,
			 ext, want.ptr, got);
	pb_buf_release(&want);
}

/*
 * The session token of get-vanilla-with-session-token: its .req leaves it
 * out, as it is a credential; its .creq shows it signed.
 */
#define SUITE_TOKEN \
	"6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"

/* Generic-service cases of aws-sig-v4-test-suite (all normalize paths). */
static const char *const suite_cases[] = {
	"get-header-key-duplicate",
	"get-header-value-order",
	"get-header-value-trim",
	"get-relative",
	"get-relative-relative",
	"get-slash",
	"get-slash-dot-slash",
	"get-slash-pointless-dot",
	"get-slashes",
	"get-space",
	"get-special-character",
	"get-unreserved",
	"get-utf8",
	"get-vanilla",
	"get-vanilla-empty-query-key",
	"get-vanilla-query",
	"get-vanilla-query-order-encoded",
	"get-vanilla-query-order-key",
	"get-vanilla-query-order-key-case",
	"get-vanilla-query-order-value",
	"get-vanilla-query-unreserved",
	"get-vanilla-utf8-query",
	"get-vanilla-with-session-token",
	"post-header-key-case",
	"post-header-key-sort",
	"post-header-value-case",
	"post-sts-header-before",
	"post-vanilla",
	"post-vanilla-empty-query-value",
	"post-vanilla-query",
	"post-x-www-form-urlencoded",
	"post-x-www-form-urlencoded-parameters",
};

static void check_suite_case(const char *name)
{
	struct parsed p;
	struct pb_sigv4_request req = { 0 };
	struct pb_sigv4_result res;
	int rc;

	parse_req(&p, name);
	req.method = p.method;
	req.path = p.path;
	req.query = p.query;
	req.headers = p.headers;
	req.nheaders = p.nheaders;
	req.body = p.body;
	req.body_len = p.body ? strlen(p.body) : 0;
	req.access_key = SUITE_AKID;
	req.secret_key = SUITE_SECRET;
	req.region = SUITE_REGION;
	req.service = "service";
	req.amz_date = SUITE_DATE;
	if (strcmp(name, "get-vanilla-with-session-token") == 0)
		req.session_token = SUITE_TOKEN;
	req.flags = PB_SIGV4_NORMALIZE_PATH;
	rc = pb_sigv4_sign(&res, &req);
	if (rc < 0)
		fail_msg("%s: %s", name, pb_err_last());
	assert_same(name, "creq", pb_buf_cstr(&res.canonical_request));
	assert_same(name, "sts", pb_buf_cstr(&res.string_to_sign));
	assert_same(name, "authz", pb_buf_cstr(&res.authorization));
	pb_sigv4_result_release(&res);
	pb_buf_release(&p.text);
}

static void test_sigv4_matches_aws_test_suite(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(suite_cases) / sizeof(suite_cases[0]); i++)
		check_suite_case(suite_cases[i]);
}

/* A token given apart is signed as the x-amz-security-token header. */
static void test_sigv4_signs_session_token_as_header(void **state)
{
	static const struct pb_sigv4_header hdrs[] = {
		{ "Host", "example.amazonaws.com" },
		{ "X-Amz-Date", SUITE_DATE },
	};
	struct parsed p;
	struct pb_sigv4_request req = { 0 };
	struct pb_sigv4_result res;
	const char *token;
	size_t i;

	(void)state;
	parse_req(&p, "post-sts-header-before");
	token = NULL;
	for (i = 0; i < p.nheaders; i++)
		if (strcmp(p.headers[i].name, "X-Amz-Security-Token") == 0)
			token = p.headers[i].value;
	assert_non_null(token);
	req.method = "POST";
	req.path = "/";
	req.headers = hdrs;
	req.nheaders = 2;
	req.session_token = token;
	req.access_key = SUITE_AKID;
	req.secret_key = SUITE_SECRET;
	req.region = SUITE_REGION;
	req.service = "service";
	req.amz_date = SUITE_DATE;
	assert_int_equal(pb_sigv4_sign(&res, &req), 0);
	assert_same("post-sts-header-before", "authz",
		    pb_buf_cstr(&res.authorization));
	pb_sigv4_result_release(&res);
	pb_buf_release(&p.text);
}

/*
 * S3 examples from AWS's documentation, "Signature Calculations for the
 * Authorization Header" (GET Object) and "Query String Authentication"
 * (presigned URL): https://docs.aws.amazon.com/AmazonS3/latest/API/
 * sig-v4-header-based-auth.html and sigv4-query-string-auth.html.
 */
#define S3_AKID	  "AKIAIOSFODNN7EXAMPLE"
#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_DATE	  "20130524T000000Z"
#define EMPTY_SHA \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_sigv4_matches_s3_get_object_example(void **state)
{
	static const struct pb_sigv4_header hdrs[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "Range", "bytes=0-9" },
		{ "x-amz-content-sha256", EMPTY_SHA },
		{ "x-amz-date", S3_DATE },
	};
	struct pb_sigv4_request req = { 0 };
	struct pb_sigv4_result res;

	(void)state;
	req.method = "GET";
	req.path = "/test.txt";
	req.headers = hdrs;
	req.nheaders = 4;
	req.payload_hash = EMPTY_SHA;
	req.access_key = S3_AKID;
	req.secret_key = S3_SECRET;
	req.region = "us-east-1";
	req.service = "s3";
	req.amz_date = S3_DATE;
	assert_int_equal(pb_sigv4_sign(&res, &req), 0);
	assert_string_equal(res.signature, "f0e8bdb87c964420e857bd35b5d6ed31"
					   "0bd44f0170aba48dd91039c6036bdb41");
	assert_string_equal(
		pb_buf_cstr(&res.authorization),
		"AWS4-HMAC-SHA256 "
		"Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
		"aws4_request, "
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91"
		"039c6036bdb41");
	pb_sigv4_result_release(&res);
}

static void test_sigv4_matches_s3_presigned_url_example(void **state)
{
	static const struct pb_sigv4_header hdrs[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
	};
	struct pb_sigv4_request req = { 0 };
	struct pb_sigv4_result res;

	(void)state;
	req.method = "GET";
	req.path = "/test.txt";
	req.headers = hdrs;
	req.nheaders = 1;
	req.payload_hash = "UNSIGNED-PAYLOAD";
	req.access_key = S3_AKID;
	req.secret_key = S3_SECRET;
	req.region = "us-east-1";
	req.service = "s3";
	req.amz_date = S3_DATE;
	assert_int_equal(pb_sigv4_presign(&res, &req, 86400), 0);
	assert_string_equal(
		pb_buf_cstr(&res.query),
		"X-Amz-Algorithm=AWS4-HMAC-SHA256"
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
		"%2Fs3%2Faws4_request"
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
		"&X-Amz-SignedHeaders=host"
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c2"
		"65957d157751f604d404");
	assert_string_equal(pb_buf_cstr(&res.authorization), "");
	pb_sigv4_result_release(&res);
}

/* S3 signs the path as given: no dot removal, each segment encoded once. */
static void test_sigv4_s3_path_is_not_normalized(void **state)
{
	static const struct pb_sigv4_header hdrs[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
	};
	struct pb_sigv4_request req = { 0 };
	struct pb_sigv4_result res;

	(void)state;
	req.method = "PUT";
	req.path = "/a//b/./c d%";
	req.headers = hdrs;
	req.nheaders = 1;
	req.payload_hash = "UNSIGNED-PAYLOAD";
	req.access_key = S3_AKID;
	req.secret_key = S3_SECRET;
	req.region = "us-east-1";
	req.service = "s3";
	req.amz_date = S3_DATE;
	assert_int_equal(pb_sigv4_sign(&res, &req), 0);
	assert_string_equal(pb_buf_cstr(&res.canonical_request),
			    "PUT\n/a//b/./c%20d%25\n\n"
			    "host:examplebucket.s3.amazonaws.com\n\n"
			    "host\nUNSIGNED-PAYLOAD");
	pb_sigv4_result_release(&res);
}

static void test_sigv4_rejects_bad_date_and_missing_fields(void **state)
{
	struct pb_sigv4_request req = { 0 };
	struct pb_sigv4_result res;

	(void)state;
	req.method = "GET";
	req.path = "/";
	req.access_key = S3_AKID;
	req.secret_key = S3_SECRET;
	req.region = "us-east-1";
	req.service = "s3";
	req.amz_date = "2013-05-24T00:00:00Z";
	assert_int_equal(pb_sigv4_sign(&res, &req), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "ISO8601"));
	pb_sigv4_result_release(&res);

	req.amz_date = S3_DATE;
	req.region = NULL;
	assert_int_equal(pb_sigv4_sign(&res, &req), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "'region'"));
	pb_sigv4_result_release(&res);

	req.region = "us-east-1";
	assert_int_equal(pb_sigv4_presign(&res, &req, 0), PB_EINVAL);
	pb_sigv4_result_release(&res);
}

static int group_setup(void **state)
{
	(void)state;
	return pb_test_enter_data_dir("sigv4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigv4_matches_aws_test_suite),
		cmocka_unit_test(test_sigv4_signs_session_token_as_header),
		cmocka_unit_test(test_sigv4_matches_s3_get_object_example),
		cmocka_unit_test(test_sigv4_matches_s3_presigned_url_example),
		cmocka_unit_test(test_sigv4_s3_path_is_not_normalized),
		cmocka_unit_test(
			test_sigv4_rejects_bad_date_and_missing_fields),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
