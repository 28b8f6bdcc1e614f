/* test_store_s3.c: the s3:// backend's parts that need no server: URLs,
 * credentials, part sizes, ETags, S3's XML answers and what they mean */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/hash.h"
#include "prbot/store.h"
#include "s3_request.h"
#include "store_s3.h"
#include "testutil.h"

#define AKID   "AKIDEXAMPLETESTKEY01"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define MIB    (1ULL << 20)

static void env_clear(void)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
}

/* conn for s3://BUCKET with endpoint and style; asserts it opens. */
static void conn_open(struct pb_s3_conn *conn, const char *url,
		      const char *endpoint, const char *region,
		      enum pb_s3_style style)
{
	struct pb_store_config c;
	struct pb_store_url u;

	pb_store_config_init(&c, url);
	c.endpoint = endpoint;
	c.region = region;
	c.style = style;
	c.access_key = AKID;
	c.secret_key = SECRET;
	assert_int_equal(pb_store_url_parse(&u, url), 0);
	if (pb_s3_conn_init(conn, &u, &c) < 0)
		fail_msg("%s", pb_err_last());
	pb_store_url_release(&u);
}

static void test_s3_url_styles(void **state)
{
	static const struct {
		const char *endpoint, *region;
		enum pb_s3_style style;
		const char *key, *query, *url, *host;
	} t[] = {
		/* an endpoint: path style */
		{ "http://127.0.0.1:9000", NULL, PB_S3_STYLE_AUTO,
		  "pre/o/r/model.pkl", NULL,
		  "http://127.0.0.1:9000/models/pre/o/r/model.pkl",
		  "127.0.0.1:9000" },
		/* AWS: virtual-hosted, the region's endpoint */
		{ NULL, "eu-west-1", PB_S3_STYLE_AUTO, "pre/model.pkl",
		  "uploads",
		  "https://models.s3.eu-west-1.amazonaws.com/pre/"
		  "model.pkl?uploads",
		  "models.s3.eu-west-1.amazonaws.com" },
		{ NULL, NULL, PB_S3_STYLE_AUTO, "k", NULL,
		  "https://models.s3.us-east-1.amazonaws.com/k",
		  "models.s3.us-east-1.amazonaws.com" },
		/* asked for: virtual-hosted at an endpoint (curl resolves
		 *.localhost to loopback) */
		{ "http://s3.localhost:9000/", NULL, PB_S3_STYLE_VHOST, "k",
		  NULL, "http://models.s3.localhost:9000/k",
		  "models.s3.localhost:9000" },
		/* and path style at AWS */
		{ NULL, "us-west-2", PB_S3_STYLE_PATH, "k", NULL,
		  "https://s3.us-west-2.amazonaws.com/models/k",
		  "s3.us-west-2.amazonaws.com" },
		/* the scheme's own port is not written */
		{ "https://minio.example:443", NULL, PB_S3_STYLE_AUTO, "k",
		  NULL, "https://minio.example/models/k", "minio.example" },
		/* each segment encoded as SigV4 signs it */
		{ "http://[::1]:9000", NULL, PB_S3_STYLE_AUTO,
		  "a b/c+d/\xc3\xa9=~.pkl", "partNumber=2&uploadId=x%2By",
		  "http://[::1]:9000/models/a%20b/c%2Bd/%C3%A9%3D~.pkl?"
		  "partNumber=2&uploadId=x%2By",
		  "[::1]:9000" },
		/* no key: the bucket */
		{ "http://127.0.0.1:9000", NULL, PB_S3_STYLE_AUTO, NULL, NULL,
		  "http://127.0.0.1:9000/models", "127.0.0.1:9000" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pb_s3_conn conn;
		struct pb_buf url = PB_BUF_INIT, host = PB_BUF_INIT;

		conn_open(&conn, "s3://models/pre", t[i].endpoint, t[i].region,
			  t[i].style);
		assert_int_equal(pb_s3_url_build(&url, &host, &conn, t[i].key,
						 t[i].query),
				 0);
		assert_string_equal(url.ptr, t[i].url);
		assert_string_equal(host.ptr, t[i].host);
		pb_buf_release(&url);
		pb_buf_release(&host);
		pb_s3_conn_release(&conn);
	}
}

static void test_s3_endpoint_must_be_a_base_url(void **state)
{
	static const char *const bad[] = { "ftp://h", "http://h/base",
					   "not a url" };
	struct pb_store_config c;
	struct pb_store *s;
	char want[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pb_store_config_init(&c, "s3://models");
		c.endpoint = bad[i];
		c.access_key = AKID;
		c.secret_key = SECRET;
		snprintf(
			want, sizeof(want), "[store] endpoint '%s': %s", bad[i],
			i == 1 ?
				"has a path: write only http(s)://HOST[:PORT]" :
				"expected http(s)://HOST[:PORT]");
		pb_test_assert_error(pb_store_open(&s, &c), PB_EINVAL, want);
		assert_null(s);
	}
}

static void test_s3_credentials_from_config_then_environment(void **state)
{
	struct pb_store_config c;
	struct pb_store_url u;
	struct pb_s3_conn conn;

	(void)state;
	env_clear();
	setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT1", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env-secret-value", 1);
	setenv("AWS_SESSION_TOKEN", "env-session-token", 1);
	assert_int_equal(pb_store_url_parse(&u, "s3://models"), 0);

	/* the config's pair wins, and its (absent) token with it */
	pb_store_config_init(&c, "s3://models");
	c.access_key = AKID;
	c.secret_key = SECRET;
	assert_int_equal(pb_s3_conn_init(&conn, &u, &c), 0);
	assert_string_equal(conn.access_key, AKID);
	assert_string_equal(conn.secret_key, SECRET);
	assert_null(conn.session_token);
	pb_s3_conn_release(&conn);

	/* none in the config: the environment's, copied at open */
	pb_store_config_init(&c, "s3://models");
	assert_int_equal(pb_s3_conn_init(&conn, &u, &c), 0);
	env_clear();
	assert_string_equal(conn.access_key, "AKIDFROMENVIRONMENT1");
	assert_string_equal(conn.secret_key, "env-secret-value");
	assert_string_equal(conn.session_token, "env-session-token");
	pb_s3_conn_release(&conn);
	pb_store_url_release(&u);
}

static void test_s3_credentials_missing_names_both_ways(void **state)
{
	struct pb_store_config c;
	struct pb_store *s;

	(void)state;
	env_clear();
	pb_store_config_init(&c, "s3://models/pre");
	pb_test_assert_error(pb_store_open(&s, &c), PB_EINVAL,
			     "store 's3://models': no credentials: set "
			     "[store] access_key and secret_key in bot.conf, "
			     "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
			     "in the environment");
	/* half a pair in the config is a mistake, not a cue for the
	   environment; the message never holds the value */
	setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT1", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env-secret-value", 1);
	c.secret_key = SECRET;
	pb_test_assert_error(pb_store_open(&s, &c), PB_EINVAL,
			     "store 's3://models': [store] secret_key is set "
			     "but access_key is not: set both, or neither to "
			     "use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
	assert_null(strstr(pb_err_last(), SECRET));
	env_clear();
}

static void test_s3_store_url_names_bucket_and_prefix(void **state)
{
	struct pb_store_config c;
	struct pb_store *s;
	char *url;

	(void)state;
	pb_store_config_init(&c, "s3://models/team/ml/");
	c.access_key = AKID;
	c.secret_key = SECRET;
	assert_int_equal(pb_store_open(&s, &c), 0);
	url = pb_store_url(s, "o/r/0123/model.pkl");
	assert_string_equal(url, "s3://models/team/ml/o/r/0123/model.pkl");
	free(url);
	pb_store_free(s);

	c.url = "s3://models";
	assert_int_equal(pb_store_open(&s, &c), 0);
	url = pb_store_url(s, "model.pkl");
	assert_string_equal(url, "s3://models/model.pkl");
	free(url);
	pb_store_free(s);
}

static void test_s3_part_size_keeps_to_10000_parts(void **state)
{
	static const struct {
		uint64_t size, want, part;
	} t[] = {
		{ 100 * MIB, 8 * MIB, 8 * MIB },
		{ 100 * MIB, 1 * MIB, 5 * MIB }, /* S3's least part */
		{ 10000 * 8 * MIB, 8 * MIB, 8 * MIB },
		{ 10000 * 8 * MIB + 1, 8 * MIB, 9 * MIB },
		{ 100ULL << 30, 8 * MIB, 11 * MIB },
		{ 5ULL << 40, 8 * MIB, 525 * MIB }, /* S3's largest object */
	};
	uint64_t p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		p = pb_s3_part_size(t[i].size, t[i].want);
		assert_int_equal(p, t[i].part);
		assert_true((t[i].size + p - 1) / p <= PB_STORE_PARTS_MAX);
	}
}

static void test_s3_multipart_etag_is_md5_of_part_md5s(void **state)
{
	/* MD5("a"), MD5("b"), MD5("c"); the ETags computed with Python's
	   hashlib: md5(md5(b"a").digest() + ...).hexdigest() */
	static const unsigned char md5s[3][16] = {
		{ 0x0c, 0xc1, 0x75, 0xb9, 0xc0, 0xf1, 0xb6, 0xa8, 0x31, 0xc3,
		  0x99, 0xe2, 0x69, 0x77, 0x26, 0x61 },
		{ 0x92, 0xeb, 0x5f, 0xfe, 0xe6, 0xae, 0x2f, 0xec, 0x3a, 0xd7,
		  0x1c, 0x77, 0x75, 0x31, 0x57, 0x8f },
		{ 0x4a, 0x8a, 0x08, 0xf0, 0x9d, 0x37, 0xb7, 0x37, 0x95, 0x64,
		  0x90, 0x38, 0x40, 0x8b, 0x5f, 0x33 },
	};
	char etag[48];

	(void)state;
	pb_s3_multipart_etag(etag, md5s, 3);
	assert_string_equal(etag, "4054c6f7787ecb7b323323155b0c0583-3");
	pb_s3_multipart_etag(etag, md5s, 1);
	assert_string_equal(etag, "b6ff9a06b7e20bcb2858c5b8ff744aea-1");
}

static void test_s3_xml_reads_errors_and_results(void **state)
{
	static const char err[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Error><Code>NoSuchKey</Code><Message>The resource you "
		"requested does not exist &amp; never did</Message>"
		"<Resource>/models/k</Resource>"
		"<RequestId>4442587FB7D0A2F9</RequestId></Error>";
	static const char init[] =
		"<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws."
		"com/doc/2006-03-01/\"><Bucket>models</Bucket><Key>k</Key>"
		"<UploadId>VXBsb2FkIElE.x+y</UploadId>"
		"</InitiateMultipartUploadResult>";
	static const char done[] =
		"<CompleteMultipartUploadResult><Location>http://x/k"
		"</Location><ETag>&quot;3858f62230ac3c915f300c664312c11f-9"
		"&quot;</ETag></CompleteMultipartUploadResult>";
	struct pb_s3_xml x;

	(void)state;
	assert_int_equal(pb_s3_xml_parse(&x, err, strlen(err)), 0);
	assert_string_equal(x.root, "Error");
	assert_string_equal(x.code, "NoSuchKey");
	assert_string_equal(x.message, "The resource you requested does not "
				       "exist & never did");
	assert_string_equal(x.request_id, "4442587FB7D0A2F9");
	assert_null(x.upload_id);
	pb_s3_xml_release(&x);

	assert_int_equal(pb_s3_xml_parse(&x, init, strlen(init)), 0);
	assert_string_equal(x.root, "InitiateMultipartUploadResult");
	assert_string_equal(x.upload_id, "VXBsb2FkIElE.x+y");
	pb_s3_xml_release(&x);

	assert_int_equal(pb_s3_xml_parse(&x, done, strlen(done)), 0);
	assert_string_equal(x.etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
	pb_s3_xml_release(&x);

	assert_int_equal(pb_s3_xml_parse(&x, "<Error><Code>", 13), PB_EINVAL);
	assert_null(x.root);
}

/* A response as S3 would answer: status and an <Error> body. */
static void answer(struct pb_s3_response *r, long status, const char *code,
		   const char *message)
{
	pb_s3_response_init(r);
	r->status = status;
	r->attempts = 1;
	r->request_id = strdup("REQ123");
	r->s3_code = code ? strdup(code) : NULL;
	r->s3_message = message ? strdup(message) : NULL;
}

static void test_s3_failures_name_what_to_do(void **state)
{
	static const struct {
		long status;
		const char *code, *message;
		int rc;
		const char *want;
	} t[] = {
		{ 403, "SignatureDoesNotMatch",
		  "The request signature we "
		  "calculated does not match",
		  PB_EPERM,
		  "S3 PUT s3://models/k: answered 403 SignatureDoesNotMatch "
		  "\"The request signature we calculated does not match\" "
		  "(request id REQ123): the store refused the request "
		  "signature: check [store] secret_key (or "
		  "AWS_SECRET_ACCESS_KEY)" },
		{ 403, "InvalidAccessKeyId", NULL, PB_EPERM,
		  "S3 PUT s3://models/k: answered 403 InvalidAccessKeyId "
		  "(request id REQ123): the store does not know the access "
		  "key: check [store] access_key (or AWS_ACCESS_KEY_ID)" },
		{ 403, "AccessDenied", "Access Denied", PB_EPERM,
		  "S3 PUT s3://models/k: answered 403 AccessDenied \"Access "
		  "Denied\" (request id REQ123): the store refused access: "
		  "check the key's permissions on the bucket" },
		{ 404, "NoSuchBucket", NULL, PB_ENOTFOUND,
		  "S3 PUT s3://models/k: answered 404 NoSuchBucket (request "
		  "id REQ123): bucket 'models' does not exist at "
		  "http://127.0.0.1:9000: create it or fix [store] url" },
		{ 403, "RequestTimeTooSkewed",
		  "The difference between the "
		  "request time and the current time is too large.",
		  PB_EINVAL,
		  "S3 PUT s3://models/k: answered 403 RequestTimeTooSkewed "
		  "\"The difference between the request time and the current "
		  "time is too large.\" (request id REQ123): the store says "
		  "this machine's clock is off: sync it with NTP" },
		{ 301, "PermanentRedirect", NULL, PB_EINVAL,
		  "S3 PUT s3://models/k: answered 301 PermanentRedirect "
		  "(request id REQ123): the bucket is in another region: set "
		  "[store] region" },
		/* a HEAD: no body, no code */
		{ 403, NULL, NULL, PB_EPERM,
		  "S3 PUT s3://models/k: answered 403 (request id REQ123): "
		  "the store refused the request: check [store] access_key "
		  "and secret_key (or AWS_ACCESS_KEY_ID and "
		  "AWS_SECRET_ACCESS_KEY) and the key's permissions" },
		{ 404, NULL, NULL, PB_ENOTFOUND,
		  "S3 PUT s3://models/k: answered 404 (request id REQ123)" },
		{ 503, "SlowDown", "Please reduce your request rate.", PB_ERROR,
		  "S3 PUT s3://models/k: answered 503 SlowDown \"Please reduce "
		  "your request rate.\" (request id REQ123)" },
	};
	struct pb_s3_conn conn;
	struct pb_s3_response r;
	size_t i;

	(void)state;
	conn_open(&conn, "s3://models", "http://127.0.0.1:9000", NULL,
		  PB_S3_STYLE_AUTO);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		answer(&r, t[i].status, t[i].code, t[i].message);
		pb_test_assert_error(pb_s3_fail(&conn, "PUT", "s3://models/k",
						&r),
				     t[i].rc, t[i].want);
		pb_s3_response_release(&r);
	}
	pb_s3_conn_release(&conn);
}

static void test_s3_unreachable_store_names_endpoint(void **state)
{
	struct pb_s3_conn conn;
	struct pb_s3_response r;

	(void)state;
	conn_open(&conn, "s3://models", "http://127.0.0.1:9", NULL,
		  PB_S3_STYLE_AUTO);
	pb_s3_response_init(&r);
	r.cc = CURLE_COULDNT_CONNECT;
	r.attempts = 5;
	snprintf(r.curl_error, sizeof(r.curl_error), "%s",
		 "Failed to connect to 127.0.0.1 port 9: Connection refused");
	pb_test_assert_error(pb_s3_fail(&conn, "multipart part 3",
					"s3://models/k", &r),
			     PB_ERROR,
			     "S3 multipart part 3 s3://models/k: cannot reach "
			     "the store at http://127.0.0.1:9: Failed to "
			     "connect to 127.0.0.1 port 9: Connection refused "
			     "after 5 attempts");
	assert_true(pb_s3_retryable(&r));
	pb_s3_response_release(&r);
	pb_s3_conn_release(&conn);
}

static void test_s3_retries_server_faults_not_refusals(void **state)
{
	static const struct {
		long status;
		const char *code;
		int retry;
	} t[] = {
		{ 500, "InternalError", 1 },
		{ 503, "SlowDown", 1 },
		{ 502, NULL, 1 },
		{ 400, "RequestTimeout", 1 },
		{ 200, "InternalError", 1 },
		{ 403, "AccessDenied", 0 },
		{ 400, "BadDigest", 0 },
		{ 501, "NotImplemented", 0 },
		{ 404, "NoSuchKey", 0 },
		{ 403, "SignatureDoesNotMatch", 0 },
	};
	struct pb_s3_response r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		answer(&r, t[i].status, t[i].code, NULL);
		assert_int_equal(pb_s3_retryable(&r), t[i].retry);
		/* an <Error> in a 200 is no success */
		assert_false(pb_s3_ok(&r));
		pb_s3_response_release(&r);
	}
}

static void test_s3_backoff_grows_within_its_cap(void **state)
{
	struct pb_s3_conn conn;
	long ms;
	int n;

	(void)state;
	conn_open(&conn, "s3://models", "http://127.0.0.1:9000", NULL,
		  PB_S3_STYLE_AUTO);
	conn.backoff_base_ms = 100;
	conn.backoff_max_ms = 1000;
	for (n = 1; n <= 8; n++) {
		long ceil = 100L << (n - 1) < 1000 ? 100L << (n - 1) : 1000;

		ms = pb_s3_backoff_ms(&conn, n);
		assert_in_range(ms, ceil / 2, ceil);
	}
	pb_s3_conn_release(&conn);
}

/*
 * Against a real server when PRBOT_TEST_S3_ENDPOINT (and the bucket
 * PRBOT_TEST_S3_BUCKET, default "models") names one, e.g. s3rver started
 * by tests/integration/s3_lib.sh; skipped otherwise. Keys are under a
 * prefix of this run's own.
 */
struct live {
	char dir[PB_TEST_DIR_MAX]; /* first: pb_test_fixture_new() */
	char url[160];
	char src[PB_TEST_DIR_MAX + 16];
	char dst[PB_TEST_DIR_MAX + 16];
	struct pb_store_config c;
};

static int live_setup(void **state)
{
	const char *ep = getenv("PRBOT_TEST_S3_ENDPOINT");
	const char *bucket = getenv("PRBOT_TEST_S3_BUCKET");
	const char *ak = getenv("PRBOT_TEST_S3_ACCESS_KEY");
	const char *sk = getenv("PRBOT_TEST_S3_SECRET_KEY");
	struct live *f;

	*state = NULL;
	if (!ep || !*ep)
		return 0;
	if (!(f = pb_test_fixture_new(sizeof(*f), "store_s3")))
		return -1;
	snprintf(f->url, sizeof(f->url), "s3://%s/test-%ld-%ld",
		 bucket ? bucket : "models", (long)getpid(), (long)time(NULL));
	snprintf(f->src, sizeof(f->src), "%s/model.bin", f->dir);
	snprintf(f->dst, sizeof(f->dst), "%s/back.bin", f->dir);
	pb_store_config_init(&f->c, f->url);
	f->c.endpoint = ep;
	f->c.access_key = ak ? ak : "S3RVER";
	f->c.secret_key = sk ? sk : "S3RVER";
	*state = f;
	return 0;
}

static int live_teardown(void **state)
{
	return *state ? pb_test_fixture_free(*state) : 0;
}

/* size bytes of a fixed pseudo-random pattern into path. */
static void pattern_write(const char *path, size_t size, unsigned seed)
{
	unsigned char *p = malloc(size ? size : 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < size; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
	pb_test_write_file(path, p, size);
	free(p);
}

/* put, put again (skipped), head, get: all agree with the file. */
static void roundtrip(struct live *f, size_t size, int parts)
{
	struct pb_store *s;
	struct pb_put_result r;
	struct pb_store_object o;
	struct pb_digest want, got;
	const char *key = "octo/iris/0123/model.bin";

	pattern_write(f->src, size, (unsigned)size);
	assert_int_equal(pb_hash_file(&want, f->src), 0);
	if (pb_store_open(&s, &f->c) < 0)
		fail_msg("%s", pb_err_last());
	if (pb_store_put(&r, s, key, f->src) < 0)
		fail_msg("%s", pb_err_last());
	assert_string_equal(r.digest.sha256, want.sha256);
	assert_string_equal(r.digest.md5, want.md5);
	assert_int_equal(r.parts, parts);
	assert_false(r.skipped);
	pb_put_result_release(&r);

	assert_int_equal(pb_store_put(&r, s, key, f->src), 0);
	assert_true(r.skipped);
	assert_string_equal(r.digest.sha256, want.sha256);
	pb_put_result_release(&r);

	assert_int_equal(pb_store_head(&o, s, key), 0);
	assert_int_equal(o.size, size);
	assert_string_equal(o.sha256, want.sha256);

	if (pb_store_get(&got, s, key, f->dst) < 0)
		fail_msg("%s", pb_err_last());
	assert_string_equal(got.sha256, want.sha256);
	assert_string_equal(got.md5, want.md5);
	assert_int_equal(got.size, size);
	assert_int_equal(pb_hash_file(&got, f->dst), 0);
	assert_string_equal(got.sha256, want.sha256);
	pb_store_free(s);
}

static void test_s3_live_single_put_roundtrip(void **state)
{
	if (!*state)
		skip();
	roundtrip(*state, 300000, 0);
}

static void test_s3_live_multipart_roundtrip(void **state)
{
	struct live *f = *state;

	if (!f)
		skip();
	f->c.multipart_threshold = 6 * MIB;
	f->c.part_size = 5 * MIB;
	f->c.parallel = 3;
	roundtrip(f, 16 * MIB + 12345, 4);
}

static void test_s3_live_missing_key_is_not_found(void **state)
{
	struct live *f = *state;
	struct pb_store *s;
	struct pb_store_object o;
	struct pb_digest d;

	if (!f)
		skip();
	assert_int_equal(pb_store_open(&s, &f->c), 0);
	assert_int_equal(pb_store_head(&o, s, "no/such/key"), PB_ENOTFOUND);
	assert_int_equal(pb_store_get(&d, s, "no/such/key", f->dst),
			 PB_ENOTFOUND);
	assert_int_equal(access(f->dst, F_OK), -1);
	pb_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s3_url_styles),
		cmocka_unit_test(test_s3_endpoint_must_be_a_base_url),
		cmocka_unit_test(
			test_s3_credentials_from_config_then_environment),
		cmocka_unit_test(test_s3_credentials_missing_names_both_ways),
		cmocka_unit_test(test_s3_store_url_names_bucket_and_prefix),
		cmocka_unit_test(test_s3_part_size_keeps_to_10000_parts),
		cmocka_unit_test(test_s3_multipart_etag_is_md5_of_part_md5s),
		cmocka_unit_test(test_s3_xml_reads_errors_and_results),
		cmocka_unit_test(test_s3_failures_name_what_to_do),
		cmocka_unit_test(test_s3_unreachable_store_names_endpoint),
		cmocka_unit_test(test_s3_retries_server_faults_not_refusals),
		cmocka_unit_test(test_s3_backoff_grows_within_its_cap),
		cmocka_unit_test_setup_teardown(
			test_s3_live_single_put_roundtrip, live_setup,
			live_teardown),
		cmocka_unit_test_setup_teardown(test_s3_live_multipart_roundtrip,
						live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(
			test_s3_live_missing_key_is_not_found, live_setup,
			live_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
