/* test_manifest.c: model_manifest.json built, written and verified */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "prbot/err.h"
#include "prbot/hash.h"
#include "prbot/manifest.h"
#include "testutil.h"

#define MODEL_TEXT "pretend these are pickled weights\n"
#define SHA	   "0123456789abcdef0123456789abcdef01234567"
/* 2026-11-23T09:41:20Z */
#define UPLOADED ((time_t)1795426880)

struct fixture {
	char dir[PB_TEST_DIR_MAX]; /* first: pb_test_fixture_new() */
	char model[128];
	char manifest[128];
	struct pb_digest digest;
};

static int setup(void **state)
{
	struct fixture *f = pb_test_fixture_new(sizeof(*f), "manifest");

	if (!f)
		return -1;
	pb_hash_mem(&f->digest, MODEL_TEXT, strlen(MODEL_TEXT));
	snprintf(f->model, sizeof(f->model), "%s/model.pkl", f->dir);
	snprintf(f->manifest, sizeof(f->manifest), "%s/model_manifest.json",
		 f->dir);
	pb_test_write_text(f->model, MODEL_TEXT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	return pb_test_fixture_free(*state);
}

/* What the upload stage passes: every field set. */
static json_t *build_full(const struct fixture *f)
{
	struct pb_manifest_info info;
	json_t *metrics =
		json_pack("{s:f,s:f}", "accuracy", 0.9, "latency_ms", 12.5);
	json_t *gates = json_pack("{s:{s:s,s:f,s:b}}", "accuracy", "expr",
				  ">= 0.90", "actual", 0.9, "passed", 1);
	json_t *m;

	assert_non_null(metrics);
	assert_non_null(gates);
	memset(&info, 0, sizeof(info));
	info.model_filepath = f->model;
	info.digest = &f->digest;
	info.origin_repo = "https://github.com/octo/iris.git";
	info.origin_ref = "refs/pull/7/head";
	info.commit_sha = SHA;
	info.commit_msg = "train on the new split\n";
	info.uploaded = UPLOADED;
	info.metrics = metrics;
	info.gates = gates;
	info.version = "1.4.2";
	info.environment = "staging";
	info.job.id = "job-42";
	info.job.command = "deploy staging";
	info.job.actor = "octocat";
	info.job.source = "github";
	m = pb_manifest_build(&info);
	/* borrowed: the manifest keeps its own copies */
	json_decref(gates);
	json_decref(metrics);
	assert_non_null(m);
	return m;
}

static void test_manifest_has_every_key_with_its_type(void **state)
{
	static const struct {
		const char *key;
		json_type type;
	} keys[] = {
		{ "model_filepath", JSON_STRING },
		{ "model_md5_hash", JSON_STRING },
		{ "model_origin_repo", JSON_STRING },
		{ "model_origin_ref", JSON_STRING },
		{ "model_origin_commit_SHA", JSON_STRING },
		{ "model_origin_commit_msg", JSON_STRING },
		{ "model_uploaded_utc", JSON_STRING },
		{ "model_sha256", JSON_STRING },
		{ "model_size_bytes", JSON_INTEGER },
		{ "metrics", JSON_OBJECT },
		{ "gates", JSON_OBJECT },
		{ "version", JSON_STRING },
		{ "environment", JSON_STRING },
		{ "job", JSON_OBJECT },
	};
	static const char *const job_keys[] = { "id", "command", "actor",
						"source", "prbot_version" };
	struct fixture *f = *state;
	json_t *m = build_full(f), *job;
	size_t i;

	assert_int_equal(json_object_size(m), sizeof(keys) / sizeof(keys[0]));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(m, keys[i].key);

		if (!v || json_typeof(v) != keys[i].type)
			fail_msg("key '%s' missing or of the wrong type",
				 keys[i].key);
	}
	assert_string_equal(
		json_string_value(json_object_get(m, "model_md5_hash")),
		f->digest.md5);
	assert_string_equal(
		json_string_value(json_object_get(m, "model_sha256")),
		f->digest.sha256);
	assert_int_equal(
		json_integer_value(json_object_get(m, "model_size_bytes")),
		strlen(MODEL_TEXT));
	assert_string_equal(
		json_string_value(json_object_get(m, "model_uploaded_utc")),
		"2026-11-23T09:41:20Z");
	assert_string_equal(json_string_value(json_object_get(
				    m, "model_origin_commit_SHA")),
			    SHA);
	assert_true(json_real_value(json_object_get(
			    json_object_get(m, "metrics"), "accuracy")) == 0.9);
	job = json_object_get(m, "job");
	assert_int_equal(json_object_size(job), 5);
	for (i = 0; i < sizeof(job_keys) / sizeof(job_keys[0]); i++)
		assert_true(json_is_string(json_object_get(job, job_keys[i])));
	assert_string_equal(
		json_string_value(json_object_get(job, "prbot_version")),
		PRBOT_VERSION);
	assert_string_equal(json_string_value(json_object_get(job, "command")),
			    "deploy staging");
	json_decref(m);
}

static void test_manifest_writes_null_and_empty_for_missing_parts(void **state)
{
	struct fixture *f = *state;
	struct pb_manifest_info info;
	json_t *m;

	memset(&info, 0, sizeof(info));
	info.model_filepath = f->model;
	info.digest = &f->digest;
	info.origin_repo = "octo/iris";
	info.commit_sha = SHA;
	info.commit_msg = "bad \xff\xfe bytes";
	info.uploaded = 0;
	m = pb_manifest_build(&info);
	assert_non_null(m);
	assert_true(json_is_null(json_object_get(m, "model_origin_ref")));
	assert_true(json_is_null(json_object_get(m, "version")));
	assert_true(json_is_null(json_object_get(m, "environment")));
	assert_int_equal(json_object_size(json_object_get(m, "metrics")), 0);
	assert_int_equal(json_object_size(json_object_get(m, "gates")), 0);
	assert_true(json_is_null(
		json_object_get(json_object_get(m, "job"), "actor")));
	/* a commit message that is not UTF-8 is kept, made ASCII */
	assert_string_equal(json_string_value(json_object_get(
				    m, "model_origin_commit_msg")),
			    "bad ?? bytes");
	assert_string_equal(
		json_string_value(json_object_get(m, "model_uploaded_utc")),
		"1970-01-01T00:00:00Z");
	json_decref(m);
}

static void test_manifest_write_is_sorted_json_with_newline(void **state)
{
	struct fixture *f = *state;
	json_t *m = build_full(f), *back;
	json_error_t err;
	struct stat st;
	char *text;

	assert_int_equal(pb_manifest_write(f->manifest, m), 0);
	text = pb_test_read_file(f->manifest, NULL);
	assert_true(strlen(text) > 2);
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_int_not_equal(text[strlen(text) - 2], '\n');
	/* two-space indent, keys sorted: "environment" comes first */
	assert_true(strncmp(text, "{\n  \"environment\": \"staging\",\n", 30) ==
		    0);
	/* a metric of 0.9 reads 0.9, not 0.90000000000000002 */
	assert_non_null(strstr(text, "\"accuracy\": 0.9,"));
	back = json_load_file(f->manifest, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(back);
	assert_true(json_equal(back, m));
	assert_int_equal(stat(f->manifest, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	free(text);
	json_decref(back);
	json_decref(m);
}

static void test_manifest_verify_accepts_its_own_model(void **state)
{
	struct fixture *f = *state;
	json_t *m = build_full(f);
	struct pb_digest d;

	assert_int_equal(pb_manifest_write(f->manifest, m), 0);
	/* model_filepath is the absolute path: no MODEL_FILE needed */
	assert_int_equal(pb_manifest_verify(&d, f->manifest, NULL), 0);
	assert_string_equal(d.md5, f->digest.md5);
	assert_string_equal(d.sha256, f->digest.sha256);
	assert_int_equal(d.size, strlen(MODEL_TEXT));
	assert_int_equal(pb_manifest_verify(NULL, f->manifest, f->model), 0);
	json_decref(m);
}

/* Write a manifest by hand: the established format and broken ones. */
static void write_manifest(const struct fixture *f, const char *filepath,
			   const char *md5, const char *sha256, long size)
{
	char text[1024], extra[256] = "";
	size_t n = 0;

	if (sha256)
		n += (size_t)snprintf(extra + n, sizeof(extra) - n,
				      ",\n  \"model_sha256\": \"%s\"", sha256);
	if (size >= 0)
		n += (size_t)snprintf(extra + n, sizeof(extra) - n,
				      ",\n  \"model_size_bytes\": %ld", size);
	snprintf(text, sizeof(text),
		 "{\n"
		 "  \"model_filepath\": \"%s\",\n"
		 "  \"model_md5_hash\": \"%s\",\n"
		 "  \"model_origin_repo\": \"octo/iris\",\n"
		 "  \"model_origin_ref\": \"main\",\n"
		 "  \"model_origin_commit_SHA\": \"" SHA "\",\n"
		 "  \"model_origin_commit_msg\": \"train\",\n"
		 "  \"model_uploaded_utc\": \"2026-11-23T09:41:20Z\"%s\n"
		 "}\n",
		 filepath, md5, extra);
	pb_test_write_text(f->manifest, text);
}

static void test_manifest_verify_established_format_by_md5_alone(void **state)
{
	struct fixture *f = *state;
	struct pb_digest d;
	char cwd[PATH_MAX];
	int rc;

	/* relative model_filepath: taken from the manifest's folder */
	write_manifest(f, "model.pkl", f->digest.md5, NULL, -1);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/"), 0);
	rc = pb_manifest_verify(&d, f->manifest, NULL);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc, 0);
	assert_string_equal(d.sha256, f->digest.sha256);
}

static void test_manifest_verify_names_the_mismatching_field(void **state)
{
	static const char other_md5[] = "00000000000000000000000000000000";
	static const char other_sha[] = "000000000000000000000000000000000"
					"0000000000000000000000000000000";
	struct fixture *f = *state;
	struct pb_digest d;
	char want[512];

	write_manifest(f, f->model, other_md5, f->digest.sha256, -1);
	assert_int_equal(pb_manifest_verify(&d, f->manifest, NULL), PB_ERROR);
	snprintf(want, sizeof(want),
		 "model_md5_hash mismatch: manifest has %s, '%s' has %s",
		 other_md5, f->model, f->digest.md5);
	assert_string_equal(pb_err_last(), want);
	/* the computed digest is still given, for the report */
	assert_string_equal(d.md5, f->digest.md5);

	write_manifest(f, f->model, f->digest.md5, other_sha, -1);
	assert_int_equal(pb_manifest_verify(&d, f->manifest, NULL), PB_ERROR);
	snprintf(want, sizeof(want),
		 "model_sha256 mismatch: manifest has %s, '%s' has %s",
		 other_sha, f->model, f->digest.sha256);
	assert_string_equal(pb_err_last(), want);

	write_manifest(f, f->model, f->digest.md5, f->digest.sha256, 7);
	assert_int_equal(pb_manifest_verify(&d, f->manifest, NULL), PB_ERROR);
	snprintf(want, sizeof(want),
		 "model_size_bytes mismatch: manifest has 7, '%s' has %zu",
		 f->model, strlen(MODEL_TEXT));
	assert_string_equal(pb_err_last(), want);
}

/* The MODEL_FILE argument wins over model_filepath. */
static void test_manifest_verify_uses_the_given_model_file(void **state)
{
	struct fixture *f = *state;
	char other[160], want[512];

	snprintf(other, sizeof(other), "%s/other.pkl", f->dir);
	pb_test_write_text(other, "another model\n");
	write_manifest(f, f->model, f->digest.md5, NULL, -1);
	assert_int_equal(pb_manifest_verify(NULL, f->manifest, other),
			 PB_ERROR);
	assert_true(strncmp(pb_err_last(), "model_md5_hash mismatch: ", 25) ==
		    0);
	snprintf(want, sizeof(want), "'%s' has ", other);
	assert_non_null(strstr(pb_err_last(), want));
}

static void test_manifest_verify_invalid_json_names_file_and_line(void **state)
{
	struct fixture *f = *state;
	char want[256];

	pb_test_write_text(f->manifest,
			   "{\n  \"model_md5_hash\": \"x\",\n  oops\n}\n");
	assert_int_equal(pb_manifest_verify(NULL, f->manifest, f->model),
			 PB_EINVAL);
	snprintf(want, sizeof(want), "%s:3: ", f->manifest);
	assert_true(strncmp(pb_err_last(), want, strlen(want)) == 0);

	pb_test_write_text(f->manifest, "[1, 2]\n");
	assert_int_equal(pb_manifest_verify(NULL, f->manifest, f->model),
			 PB_EINVAL);
	snprintf(want, sizeof(want), "%s: expected a JSON object", f->manifest);
	assert_string_equal(pb_err_last(), want);
}

static void test_manifest_verify_refuses_bad_hash_fields(void **state)
{
	static const struct {
		const char *md5;
		const char *sha256;
		const char *why;
	} bad[] = {
		{ "d41d8cd98f00b204e9800998ecf8427", NULL,
		  "'model_md5_hash' must be 32 hex digits" },
		{ "zz1d8cd98f00b204e9800998ecf8427e", NULL,
		  "'model_md5_hash' must be 32 hex digits" },
		{ "d41d8cd98f00b204e9800998ecf8427e", "abc",
		  "'model_sha256' must be 64 hex digits" },
	};
	struct fixture *f = *state;
	char want[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_manifest(f, f->model, bad[i].md5, bad[i].sha256, -1);
		assert_int_equal(pb_manifest_verify(NULL, f->manifest, NULL),
				 PB_EINVAL);
		snprintf(want, sizeof(want), "%s: %s", f->manifest, bad[i].why);
		assert_string_equal(pb_err_last(), want);
	}
	pb_test_write_text(f->manifest,
			   "{\"model_filepath\": \"model.pkl\"}\n");
	assert_int_equal(pb_manifest_verify(NULL, f->manifest, NULL),
			 PB_EINVAL);
	snprintf(want, sizeof(want), "%s: 'model_md5_hash' is missing",
		 f->manifest);
	assert_string_equal(pb_err_last(), want);
}

static void test_manifest_verify_missing_files_are_not_found(void **state)
{
	struct fixture *f = *state;
	char missing[160], want[512];

	snprintf(missing, sizeof(missing), "%s/gone.pkl", f->dir);
	write_manifest(f, missing, f->digest.md5, NULL, -1);
	assert_int_equal(pb_manifest_verify(NULL, f->manifest, NULL),
			 PB_ENOTFOUND);
	snprintf(want, sizeof(want), "cannot read '%s': %s", missing,
		 strerror(ENOENT));
	assert_string_equal(pb_err_last(), want);

	assert_int_equal(unlink(f->manifest), 0);
	assert_int_equal(pb_manifest_verify(NULL, f->manifest, f->model),
			 PB_ENOTFOUND);
	snprintf(want, sizeof(want), "cannot read '%s': %s", f->manifest,
		 strerror(ENOENT));
	assert_string_equal(pb_err_last(), want);
}

static void test_manifest_verify_follows_file_urls_only(void **state)
{
	struct fixture *f = *state;
	char url[200];

	snprintf(url, sizeof(url), "file://%s", f->model);
	write_manifest(f, url, f->digest.md5, f->digest.sha256, -1);
	assert_int_equal(pb_manifest_verify(NULL, f->manifest, NULL), 0);

	write_manifest(f, "s3://models/octo/iris/model.pkl", f->digest.md5,
		       NULL, -1);
	assert_int_equal(pb_manifest_verify(NULL, f->manifest, NULL),
			 PB_EINVAL);
	assert_string_equal(
		pb_err_last(),
		"model_filepath 's3://models/octo/iris/model.pkl' "
		"is in a store: 'prbot verify' reads it from there");
	/* with MODEL_FILE given, the URL does not matter */
	assert_int_equal(pb_manifest_verify(NULL, f->manifest, f->model), 0);

	write_manifest(f, "https://example.com/model.pkl", f->digest.md5, NULL,
		       -1);
	assert_int_equal(pb_manifest_verify(NULL, f->manifest, NULL),
			 PB_EINVAL);
	assert_string_equal(pb_err_last(),
			    "model_filepath 'https://example.com/model.pkl' is "
			    "neither a local file nor an s3:// URL: give "
			    "MODEL_FILE");
}

/* verify's s3:// path: the URL as written, then the digest compared */
static void test_manifest_model_and_check_for_store_urls(void **state)
{
	struct fixture *f = *state;
	struct pb_digest other;
	char *model;
	int is_url;

	write_manifest(f, "s3://models/octo/iris/model.pkl", f->digest.md5,
		       f->digest.sha256, (long)f->digest.size);
	assert_int_equal(pb_manifest_model(&model, &is_url, f->manifest), 0);
	assert_string_equal(model, "s3://models/octo/iris/model.pkl");
	assert_int_equal(is_url, 1);
	assert_int_equal(pb_manifest_check(f->manifest, &f->digest, model), 0);
	other = f->digest;
	other.sha256[0] = other.sha256[0] == 'a' ? 'b' : 'a';
	assert_int_equal(pb_manifest_check(f->manifest, &other, model),
			 PB_ERROR);
	assert_non_null(strstr(pb_err_last(), "model_sha256 mismatch"));
	free(model);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_manifest_has_every_key_with_its_type),
		T(test_manifest_writes_null_and_empty_for_missing_parts),
		T(test_manifest_write_is_sorted_json_with_newline),
		T(test_manifest_verify_accepts_its_own_model),
		T(test_manifest_verify_established_format_by_md5_alone),
		T(test_manifest_verify_names_the_mismatching_field),
		T(test_manifest_verify_uses_the_given_model_file),
		T(test_manifest_verify_invalid_json_names_file_and_line),
		T(test_manifest_verify_refuses_bad_hash_fields),
		T(test_manifest_verify_missing_files_are_not_found),
		T(test_manifest_verify_follows_file_urls_only),
		T(test_manifest_model_and_check_for_store_urls),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
