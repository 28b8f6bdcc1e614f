/* testutil.c: folders, files and assertions the test programs share */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "prbot/buf.h"
#include "prbot/checkout.h"
#include "prbot/err.h"
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
