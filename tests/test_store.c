/* test_store.c: the file:// artifact store, atomic writes and mkdir -p */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "prbot/err.h"
#include "prbot/fs.h"
#include "prbot/hash.h"
#include "prbot/store.h"
#include "testutil.h"

#define KEY "octo/iris/0123456789abcdef0123456789abcdef01234567/model.pkl"

struct fixture {
	char dir[PB_TEST_DIR_MAX]; /* first: pb_test_fixture_new() */
	char url[96];
	char src[128];
	struct pb_store *store;
};

static int open_url(struct pb_store **out, const char *url)
{
	struct pb_store_config c;

	pb_store_config_init(&c, url);
	return pb_store_open(out, &c);
}

static int setup(void **state)
{
	struct fixture *f = pb_test_fixture_new(sizeof(*f), "store");

	if (!f)
		return -1;
	snprintf(f->url, sizeof(f->url), "file://%s/art", f->dir);
	snprintf(f->src, sizeof(f->src), "%s/model.pkl", f->dir);
	if (open_url(&f->store, f->url) < 0) {
		fprintf(stderr, "%s\n", pb_err_last());
		pb_test_fixture_free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pb_store_free(f->store);
	return pb_test_fixture_free(f);
}

/* The names in dir, sorted, joined with " ": what a person would see. */
static const char *listing(const char *dir)
{
	static char out[1024];
	struct dirent **names;
	size_t len = 0;
	int n, i;

	out[0] = '\0';
	n = scandir(dir, &names, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 &&
		    strcmp(names[i]->d_name, "..") != 0 && len < sizeof(out))
			len += (size_t)snprintf(out + len, sizeof(out) - len,
						"%s%s", len ? " " : "",
						names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return out;
}

static void object_dir(char *out, size_t len, const struct fixture *f)
{
	snprintf(out, len,
		 "%s/art/octo/iris/0123456789abcdef0123456789abcdef01234567",
		 f->dir);
}

static void test_store_put_creates_owner_repo_sha_file(void **state)
{
	struct fixture *f = *state;
	struct pb_put_result r;
	struct pb_digest want;
	char path[256], url[300], dir[256], side[300];

	pb_test_write_text(f->src, "weights v1\n");
	pb_hash_mem(&want, "weights v1\n", 11);
	assert_int_equal(pb_store_put(&r, f->store, KEY, f->src), 0);
	snprintf(path, sizeof(path), "%s/art/%s", f->dir, KEY);
	snprintf(url, sizeof(url), "file://%s", path);
	assert_string_equal(r.path, path);
	assert_string_equal(r.url, url);
	assert_int_equal(r.skipped, 0);
	assert_string_equal(r.digest.md5, want.md5);
	assert_string_equal(r.digest.sha256, want.sha256);
	assert_int_equal(r.digest.size, 11);
	pb_test_assert_file_text(path, "weights v1\n");
	/* sha256sum's format next to it, and nothing else */
	snprintf(side, sizeof(side), "%s.sha256", path);
	snprintf(url, sizeof(url), "%s  model.pkl\n", want.sha256);
	pb_test_assert_file_text(side, url);
	object_dir(dir, sizeof(dir), f);
	assert_string_equal(listing(dir), "model.pkl model.pkl.sha256");
	pb_put_result_release(&r);
	assert_null(r.url);
	assert_null(r.path);
}

static void test_store_put_same_content_is_skipped_untouched(void **state)
{
	struct fixture *f = *state;
	struct pb_put_result r1, r2;
	struct stat before, after;

	pb_test_write_text(f->src, "weights v1\n");
	assert_int_equal(pb_store_put(&r1, f->store, KEY, f->src), 0);
	assert_int_equal(stat(r1.path, &before), 0);
	usleep(20000); /* a rewrite would now show a later mtime */
	assert_int_equal(pb_store_put(&r2, f->store, KEY, f->src), 0);
	assert_int_equal(r2.skipped, 1);
	assert_string_equal(r2.digest.sha256, r1.digest.sha256);
	assert_string_equal(r2.digest.md5, r1.digest.md5);
	assert_int_equal(r2.digest.size, 11);
	assert_string_equal(r2.path, r1.path);
	assert_int_equal(stat(r2.path, &after), 0);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	assert_int_equal(after.st_ino, before.st_ino);
	pb_put_result_release(&r2);
	pb_put_result_release(&r1);
}

/* Without the sidecar the stored object is hashed: still skipped. */
static void test_store_put_skips_by_hashing_when_sidecar_is_gone(void **state)
{
	struct fixture *f = *state;
	struct pb_put_result r1, r2;
	char side[300];
	struct stat before, after;

	pb_test_write_text(f->src, "weights v1\n");
	assert_int_equal(pb_store_put(&r1, f->store, KEY, f->src), 0);
	snprintf(side, sizeof(side), "%s.sha256", r1.path);
	assert_int_equal(unlink(side), 0);
	assert_int_equal(stat(r1.path, &before), 0);
	assert_int_equal(pb_store_put(&r2, f->store, KEY, f->src), 0);
	assert_int_equal(r2.skipped, 1);
	assert_int_equal(stat(r2.path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	pb_put_result_release(&r2);
	pb_put_result_release(&r1);
}

static void test_store_put_replaces_changed_content(void **state)
{
	static const char *const versions[] = {
		"weights v1\n", "weights v2\n", /* same size, other bytes */
		"weights v3, larger\n",		/* other size */
	};
	struct fixture *f = *state;
	struct pb_put_result r;
	struct pb_digest want;
	char side[300], line[100];
	size_t i;

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		pb_test_write_text(f->src, versions[i]);
		pb_hash_mem(&want, versions[i], strlen(versions[i]));
		assert_int_equal(pb_store_put(&r, f->store, KEY, f->src), 0);
		assert_int_equal(r.skipped, 0);
		assert_string_equal(r.digest.sha256, want.sha256);
		pb_test_assert_file_text(r.path, versions[i]);
		snprintf(side, sizeof(side), "%s.sha256", r.path);
		snprintf(line, sizeof(line), "%s  model.pkl\n", want.sha256);
		pb_test_assert_file_text(side, line);
		pb_put_result_release(&r);
	}
}

/* An object changed by hand after its sidecar: the sidecar is not trusted. */
static void
test_store_put_distrusts_a_sidecar_older_than_its_object(void **state)
{
	struct fixture *f = *state;
	struct pb_put_result r1, r2;
	struct timespec later[2];

	pb_test_write_text(f->src, "weights v1\n");
	assert_int_equal(pb_store_put(&r1, f->store, KEY, f->src), 0);
	pb_test_write_text(r1.path, "tampered!!\n"); /* same size */
	clock_gettime(CLOCK_REALTIME, &later[0]);
	later[0].tv_sec += 60;
	later[1] = later[0];
	assert_int_equal(utimensat(AT_FDCWD, r1.path, later, 0), 0);
	assert_int_equal(pb_store_put(&r2, f->store, KEY, f->src), 0);
	assert_int_equal(r2.skipped, 0);
	pb_test_assert_file_text(r2.path, "weights v1\n");
	pb_put_result_release(&r2);
	pb_put_result_release(&r1);
}

static void test_store_put_refuses_bad_keys(void **state)
{
	static const struct {
		const char *key;
		const char *why;
	} bad[] = {
		{ "", "store key is empty" },
		{ "/etc/passwd", "must be relative" },
		{ "octo//sha/model.pkl", "empty segment" },
		{ "octo/iris/sha/", "empty segment" },
		{ "octo/iris/../../../x", "'..' are not allowed" },
		{ "../iris/sha/model.pkl", "'..' are not allowed" },
		{ "octo/./sha/model.pkl", "'.' and '..' are not allowed" },
		{ "octo/iris/sha/..", "'..' are not allowed" },
	};
	struct fixture *f = *state;
	struct pb_put_result r;
	char art[128];
	size_t i;

	pb_test_write_text(f->src, "weights\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pb_store_put(&r, f->store, bad[i].key, f->src),
				 PB_EINVAL);
		assert_non_null(strstr(pb_err_last(), bad[i].why));
		if (bad[i].key[0])
			assert_non_null(strstr(pb_err_last(), bad[i].key));
		assert_null(r.url);
		assert_null(r.path);
	}
	/* nothing was created for any of them */
	snprintf(art, sizeof(art), "%s/art", f->dir);
	assert_int_equal(access(art, F_OK), -1);
}

static void test_store_put_missing_src_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct pb_put_result r;
	char want[256];

	assert_int_equal(pb_store_put(&r, f->store, KEY, f->src), PB_ENOTFOUND);
	snprintf(want, sizeof(want), "cannot read '%s': %s", f->src,
		 strerror(ENOENT));
	assert_string_equal(pb_err_last(), want);
	assert_null(r.url);
	assert_string_equal(listing(f->dir), "");
}

/*
 * The rename fails (a folder holds the final name) after the copy was
 * written: the temp file is removed and the error names both names.
 */
static void test_store_put_failure_leaves_no_temp_file(void **state)
{
	struct fixture *f = *state;
	struct pb_put_result r;
	char dir[256], blocker[300];

	pb_test_write_text(f->src, "weights v1\n");
	object_dir(dir, sizeof(dir), f);
	snprintf(blocker, sizeof(blocker), "%s/model.pkl/inside", dir);
	assert_int_equal(pb_mkdirs(blocker, 0755), 0);
	assert_int_equal(pb_store_put(&r, f->store, KEY, f->src), PB_ERROR);
	assert_non_null(strstr(pb_err_last(), "cannot rename '"));
	assert_non_null(strstr(pb_err_last(), "/model.pkl'"));
	assert_null(r.url);
	assert_string_equal(listing(dir), "model.pkl");
}

static void test_store_put_refuses_a_src_that_is_a_folder(void **state)
{
	struct fixture *f = *state;
	struct pb_put_result r;
	char want[256];

	assert_int_equal(pb_store_put(&r, f->store, KEY, f->dir), PB_EINVAL);
	snprintf(want, sizeof(want), "'%s' is not a regular file", f->dir);
	assert_string_equal(pb_err_last(), want);
}

static void test_store_open_refuses_other_schemes(void **state)
{
	static const char *const urls[] = {
		"/var/lib/prbot/artifacts",
		"https://example.com/store",
	};
	struct pb_store *s = (struct pb_store *)1;
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		assert_int_equal(open_url(&s, urls[i]), PB_EINVAL);
		assert_null(s);
		snprintf(want, sizeof(want),
			 "store url '%s': unsupported scheme: write "
			 "file://DIR or s3://BUCKET/PREFIX",
			 urls[i]);
		assert_string_equal(pb_err_last(), want);
	}
	assert_int_equal(open_url(&s, "file://"), PB_EINVAL);
	assert_string_equal(pb_err_last(),
			    "store url 'file://': no folder: write file://DIR");
}

/* Store URLs as bot.conf has them: what is read, or why not. */
static void test_store_url_parse_table(void **state)
{
	static const struct {
		const char *url, *bucket, *prefix, *error;
	} cases[] = {
		{ "s3://models", "models", "", NULL },
		{ "s3://models/", "models", "", NULL },
		{ "s3://my-models.v2/team/ml/", "my-models.v2", "team/ml",
		  NULL },
		{ "s3://", NULL, NULL,
		  "store url 's3://': no bucket: write s3://BUCKET or "
		  "s3://BUCKET/PREFIX" },
		{ "s3:///models", NULL, NULL,
		  "store url 's3:///models': no bucket: write s3://BUCKET or "
		  "s3://BUCKET/PREFIX" },
		{ "s3://Models/x", NULL, NULL,
		  "store url 's3://Models/x': bucket 'Models': a bucket name "
		  "has only lowercase letters, digits, '.' and '-'" },
		{ "s3://ab", NULL, NULL,
		  "store url 's3://ab': bucket 'ab': a bucket name has 3 to 63 "
		  "characters" },
		{ "s3://-models", NULL, NULL,
		  "store url 's3://-models': bucket '-models': a bucket name "
		  "starts and ends with a letter or digit" },
		{ "s3://my..models", NULL, NULL,
		  "store url 's3://my..models': bucket 'my..models': a bucket "
		  "name has no '..', '.-' or '-.'" },
		{ "s3://192.168.1.10", NULL, NULL,
		  "store url 's3://192.168.1.10': bucket '192.168.1.10': a "
		  "bucket name is not an IP address" },
		{ "s3://bucket_1", NULL, NULL,
		  "store url 's3://bucket_1': bucket 'bucket_1': a bucket name "
		  "has only lowercase letters, digits, '.' and '-'" },
		{ "s3://models/a//b", NULL, NULL,
		  "store url 's3://models/a//b': the prefix has an empty "
		  "segment ('//')" },
		{ "s3://models/a/../b", NULL, NULL,
		  "store url 's3://models/a/../b': the prefix has a '.' or "
		  "'..' segment" },
		{ "s3://models/a?x=1", NULL, NULL,
		  "store url 's3://models/a?x=1': the prefix may not hold '?', "
		  "'#', '\\' or start with a space" },
	};
	struct pb_store_url u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = pb_store_url_parse(&u, cases[i].url);

		if (cases[i].error) {
			assert_int_equal(rc, PB_EINVAL);
			assert_string_equal(pb_err_last(), cases[i].error);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(u.kind, PB_STORE_S3);
			assert_string_equal(u.bucket, cases[i].bucket);
			assert_string_equal(u.prefix, cases[i].prefix);
		}
		pb_store_url_release(&u);
	}
}

/* head and get: what verify needs from a stored object. */
static void test_store_head_and_get_read_what_put_stored(void **state)
{
	struct fixture *f = *state;
	struct pb_store_object o;
	struct pb_put_result r;
	struct pb_digest d;
	char dst[160];

	pb_test_write_text(f->src, "weights v1\n");
	assert_int_equal(pb_store_put(&r, f->store, KEY, f->src), 0);
	assert_int_equal(pb_store_head(&o, f->store, KEY), 0);
	assert_int_equal(o.size, 11);
	assert_string_equal(o.sha256, r.digest.sha256);
	snprintf(dst, sizeof(dst), "%s/copy.pkl", f->dir);
	assert_int_equal(pb_store_get(&d, f->store, KEY, dst), 0);
	assert_string_equal(d.md5, r.digest.md5);
	assert_string_equal(d.sha256, r.digest.sha256);
	pb_test_assert_file_text(dst, "weights v1\n");
	assert_int_equal(pb_store_get(&d, f->store, KEY, NULL), 0);
	assert_string_equal(d.md5, r.digest.md5);
	assert_int_equal(pb_store_head(&o, f->store, "octo/iris/none/m.pkl"),
			 PB_ENOTFOUND);
	assert_int_equal(pb_store_get(&d, f->store, "octo/iris/none/m.pkl",
				      dst),
			 PB_ENOTFOUND);
	pb_test_assert_file_text(dst, "weights v1\n"); /* left alone */
	pb_put_result_release(&r);
}

/* verify opens the store from the manifest's model_filepath. */
static void test_store_open_object_splits_holder_and_key(void **state)
{
	struct fixture *f = *state;
	struct pb_store_config c;
	struct pb_put_result r;
	struct pb_store *s;
	struct pb_digest d;
	char *key;

	pb_test_write_text(f->src, "weights\n");
	assert_int_equal(pb_store_put(&r, f->store, KEY, f->src), 0);
	pb_store_config_init(&c, NULL);
	assert_int_equal(pb_store_open_object(&s, &key, &c, r.url), 0);
	assert_string_equal(key, "model.pkl");
	assert_int_equal(pb_store_get(&d, s, key, NULL), 0);
	assert_string_equal(d.sha256, r.digest.sha256);
	free(key);
	pb_store_free(s);
	assert_int_equal(pb_store_open_object(&s, &key, &c, "file:///"),
			 PB_EINVAL);
	assert_string_equal(pb_err_last(), "'file:///' names no object: "
					   "expected file:///PATH/FILE");
	assert_int_equal(pb_store_open_object(&s, &key, &c, "s3://models"),
			 PB_EINVAL);
	assert_string_equal(pb_err_last(), "'s3://models' names no object: "
					   "expected s3://BUCKET/KEY");
	assert_int_equal(pb_store_open_object(&s, &key, &c, "/abs/model"),
			 PB_EINVAL);
	pb_put_result_release(&r);
}

/*
 * A source whose size differs from what is read fails, and nothing is
 * stored. /proc files say 0 bytes and read more: the same as a model that
 * grows between open and the end of the copy.
 */
static void test_store_put_fails_when_the_source_changes_size(void **state)
{
	struct fixture *f = *state;
	struct pb_store_object o;
	struct pb_put_result r;

	assert_int_equal(pb_store_put(&r, f->store, KEY, "/proc/version"),
			 PB_ECHANGED);
	assert_non_null(strstr(pb_err_last(), "'/proc/version' changed while "
					      "it was read (0 bytes when "
					      "opened, "));
	assert_null(r.url);
	assert_null(r.path);
	pb_put_result_release(&r);
	assert_int_equal(pb_store_head(&o, f->store, KEY), PB_ENOTFOUND);
}

/* file://rel is resolved when opened: a later chdir does not move it. */
static void test_store_open_resolves_a_relative_dir_once(void **state)
{
	struct fixture *f = *state;
	struct pb_store *s;
	struct pb_put_result r;
	char cwd[PATH_MAX], want[300];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(open_url(&s, "file://rel/art/"), 0);
	assert_int_equal(chdir("/"), 0);
	pb_test_write_text(f->src, "weights\n");
	assert_int_equal(pb_store_put(&r, s, "o/r/s/m.bin", f->src), 0);
	assert_int_equal(chdir(cwd), 0);
	snprintf(want, sizeof(want), "%s/rel/art/o/r/s/m.bin", f->dir);
	assert_string_equal(r.path, want);
	pb_test_assert_file_text(want, "weights\n");
	pb_put_result_release(&r);
	pb_store_free(s);
	pb_store_free(NULL);
}

static void test_write_atomic_replaces_and_leaves_no_temp(void **state)
{
	struct fixture *f = *state;
	char path[128], want[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/note.txt", f->dir);
	assert_int_equal(pb_write_atomic(path, "first\n", 6), 0);
	assert_int_equal(pb_write_atomic(path, "second\n", 7), 0);
	pb_test_assert_file_text(path, "second\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_string_equal(listing(f->dir), "note.txt");

	snprintf(path, sizeof(path), "%s/no/such/folder/note.txt", f->dir);
	assert_int_equal(pb_write_atomic(path, "x", 1), PB_ERROR);
	snprintf(want, sizeof(want), "cannot create a file next to '%s': %s",
		 path, strerror(ENOENT));
	assert_string_equal(pb_err_last(), want);
}

static void test_mkdirs_creates_nested_and_accepts_existing(void **state)
{
	struct fixture *f = *state;
	char path[128], file[128], want[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/a/b/c", f->dir);
	assert_int_equal(pb_mkdirs(path, 0755), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(pb_mkdirs(path, 0755), 0);

	snprintf(file, sizeof(file), "%s/a/file", f->dir);
	pb_test_write_text(file, "x");
	snprintf(path, sizeof(path), "%s/a/file/d", f->dir);
	assert_int_equal(pb_mkdirs(path, 0755), PB_ERROR);
	snprintf(want, sizeof(want),
		 "cannot create folder '%s': a file has that name", file);
	assert_string_equal(pb_err_last(), want);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_store_put_creates_owner_repo_sha_file),
		T(test_store_put_same_content_is_skipped_untouched),
		T(test_store_put_skips_by_hashing_when_sidecar_is_gone),
		T(test_store_put_replaces_changed_content),
		T(test_store_put_distrusts_a_sidecar_older_than_its_object),
		T(test_store_put_refuses_bad_keys),
		T(test_store_put_missing_src_leaves_nothing),
		T(test_store_put_failure_leaves_no_temp_file),
		T(test_store_put_refuses_a_src_that_is_a_folder),
		cmocka_unit_test(test_store_open_refuses_other_schemes),
		cmocka_unit_test(test_store_url_parse_table),
		T(test_store_head_and_get_read_what_put_stored),
		T(test_store_open_object_splits_holder_and_key),
		T(test_store_put_fails_when_the_source_changes_size),
		T(test_store_open_resolves_a_relative_dir_once),
		T(test_write_atomic_replaces_and_leaves_no_temp),
		T(test_mkdirs_creates_nested_and_accepts_existing),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
