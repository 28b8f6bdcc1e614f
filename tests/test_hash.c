/* test_hash.c: MD5 and SHA-256 against published vectors, files and copies */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "prbot/err.h"
#include "prbot/hash.h"
#include "testutil.h"

/* hash.c reads in chunks of this size; the sizes below straddle them */
#define CHUNK (1u << 20)

struct fixture {
	char dir[PB_TEST_DIR_MAX]; /* first: pb_test_fixture_new() */
};

static int setup(void **state)
{
	*state = pb_test_fixture_new(sizeof(struct fixture), "hash");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return pb_test_fixture_free(*state);
}

/* Deterministic bytes that are not one repeated value. */
static unsigned char *pattern(size_t len)
{
	unsigned char *p = malloc(len ? len : 1);
	uint32_t x = 2463534242u;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

struct vector {
	char algo[8];
	char digest[65];
	unsigned char *msg; /* MESSAGE written REPEAT times */
	size_t len;
};

/* One line of tests/data/hash/vectors.tsv; 0 for comments. */
static int parse_vector(struct vector *v, char *line)
{
	char *t1, *t2, *t3, *nl;
	long repeat, i;
	size_t mlen;

	if (line[0] == '#' || line[0] == '\n')
		return 0;
	if ((nl = strchr(line, '\n')))
		*nl = '\0';
	t1 = strchr(line, '\t');
	assert_non_null(t1);
	t2 = strchr(t1 + 1, '\t');
	assert_non_null(t2);
	t3 = strchr(t2 + 1, '\t');
	assert_non_null(t3);
	*t1 = *t2 = *t3 = '\0';
	assert_true(strlen(line) < sizeof(v->algo));
	assert_true(strlen(t2 + 1) < sizeof(v->digest));
	memcpy(v->algo, line, strlen(line) + 1);
	memcpy(v->digest, t2 + 1, strlen(t2 + 1) + 1);
	repeat = strtol(t1 + 1, NULL, 10);
	assert_true(repeat > 0);
	mlen = strlen(t3 + 1);
	v->len = mlen * (size_t)repeat;
	v->msg = malloc(v->len + 1);
	assert_non_null(v->msg);
	for (i = 0; i < repeat; i++)
		memcpy(v->msg + (size_t)i * mlen, t3 + 1, mlen);
	return 1;
}

static const char *digest_of(const struct pb_digest *d, const char *algo)
{
	if (strcmp(algo, "md5") == 0)
		return d->md5;
	assert_string_equal(algo, "sha256");
	return d->sha256;
}

static void test_hash_matches_published_vectors(void **state)
{
	struct fixture *f = *state;
	const char *data = getenv("PRBOT_TEST_DATA");
	char path[512], file[128], line[512], sha[65];
	struct pb_digest mem, disk;
	struct vector v;
	int n = 0, md5s = 0, shas = 0;
	FILE *fp;

	assert_non_null(data);
	snprintf(path, sizeof(path), "%s/hash/vectors.tsv", data);
	fp = fopen(path, "r");
	assert_non_null(fp);
	snprintf(file, sizeof(file), "%s/vector", f->dir);
	while (fgets(line, sizeof(line), fp)) {
		if (!parse_vector(&v, line))
			continue;
		pb_hash_mem(&mem, v.msg, v.len);
		assert_string_equal(digest_of(&mem, v.algo), v.digest);
		assert_int_equal(mem.size, v.len);

		pb_test_write_file(file, v.msg, v.len);
		assert_int_equal(pb_hash_file(&disk, file), 0);
		assert_string_equal(digest_of(&disk, v.algo), v.digest);
		assert_int_equal(disk.size, v.len);

		if (strcmp(v.algo, "sha256") == 0) {
			pb_sha256_hex(sha, v.msg, v.len);
			assert_string_equal(sha, v.digest);
			shas++;
		} else {
			md5s++;
		}
		free(v.msg);
		n++;
	}
	fclose(fp);
	/* the whole RFC 1321 suite and the five SHA-256 messages */
	assert_int_equal(md5s, 7);
	assert_int_equal(shas, 5);
	assert_int_equal(n, 12);
}

static void test_hash_file_equals_mem_across_chunk_boundaries(void **state)
{
	static const size_t sizes[] = {
		0,
		1,
		CHUNK - 1,
		CHUNK,
		CHUNK + 1,
		2 * CHUNK,
		3 * CHUNK + 7,
		9 * CHUNK + 12345, /* more chunks than the ring has buffers */
	};
	struct fixture *f = *state;
	struct pb_digest mem, disk;
	char file[128];
	unsigned char *p;
	size_t i;

	snprintf(file, sizeof(file), "%s/sized", f->dir);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = pattern(sizes[i]);
		pb_test_write_file(file, p, sizes[i]);
		pb_hash_mem(&mem, p, sizes[i]);
		assert_int_equal(pb_hash_file(&disk, file), 0);
		assert_string_equal(disk.md5, mem.md5);
		assert_string_equal(disk.sha256, mem.sha256);
		assert_int_equal(disk.size, sizes[i]);
		free(p);
	}
}

static void test_hash_copy_writes_what_it_hashes(void **state)
{
	static const size_t sizes[] = { 0, 5, CHUNK, 3 * CHUNK + 7 };
	struct fixture *f = *state;
	struct pb_digest mem, copy;
	char src[128], dst[128];
	unsigned char *p;
	size_t i, len;
	int in, out;
	char *back;

	snprintf(src, sizeof(src), "%s/src", f->dir);
	snprintf(dst, sizeof(dst), "%s/dst", f->dir);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = pattern(sizes[i]);
		pb_test_write_file(src, p, sizes[i]);
		pb_hash_mem(&mem, p, sizes[i]);
		in = open(src, O_RDONLY);
		out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(in >= 0 && out >= 0);
		assert_int_equal(pb_hash_copy(&copy, in, out), 0);
		close(in);
		close(out);
		assert_string_equal(copy.md5, mem.md5);
		assert_string_equal(copy.sha256, mem.sha256);
		assert_int_equal(copy.size, sizes[i]);
		back = pb_test_read_file(dst, &len);
		assert_int_equal(len, sizes[i]);
		assert_memory_equal(back, p, len);
		free(back);
		free(p);
	}
}

/* A pipe gives short reads: the chunks still hash as one stream. */
static void test_hash_copy_reads_a_pipe_to_the_end(void **state)
{
	const size_t len = 2 * CHUNK + 99;
	struct pb_digest mem, piped;
	unsigned char *p = pattern(len);
	int fds[2], status;
	size_t off;
	ssize_t n;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		/* odd-sized writes so reads come back short */
		for (off = 0; off < len; off += (size_t)n)
			if ((n = write(fds[1], p + off,
				       len - off < 7777 ? len - off : 7777)) <
			    0)
				_exit(1);
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(pb_hash_copy(&piped, fds[0], -1), 0);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pb_hash_mem(&mem, p, len);
	assert_string_equal(piped.md5, mem.md5);
	assert_string_equal(piped.sha256, mem.sha256);
	assert_int_equal(piped.size, len);
	free(p);
}

static void test_hash_file_missing_is_not_found_and_named(void **state)
{
	struct fixture *f = *state;
	struct pb_digest d;
	char file[128], want[256];

	snprintf(file, sizeof(file), "%s/no-such-model.pkl", f->dir);
	assert_int_equal(pb_hash_file(&d, file), PB_ENOTFOUND);
	snprintf(want, sizeof(want), "cannot read '%s': %s", file,
		 strerror(ENOENT));
	assert_string_equal(pb_err_last(), want);
}

static void test_hash_file_refuses_a_folder(void **state)
{
	struct fixture *f = *state;
	struct pb_digest d;
	char want[256];

	assert_int_equal(pb_hash_file(&d, f->dir), PB_ERROR);
	snprintf(want, sizeof(want), "cannot read '%s': %s", f->dir,
		 strerror(EISDIR));
	assert_string_equal(pb_err_last(), want);
}

/* A full disk, for the single-chunk path and the threaded one. */
static void test_hash_copy_reports_a_failed_write(void **state)
{
	static const size_t sizes[] = { 100, 3 * CHUNK + 7 };
	struct fixture *f = *state;
	struct pb_digest d;
	char src[128], want[128];
	unsigned char *p;
	size_t i;
	int in, out;

	out = open("/dev/full", O_WRONLY);
	if (out < 0)
		skip();
	snprintf(src, sizeof(src), "%s/src", f->dir);
	snprintf(want, sizeof(want), "cannot write output: %s",
		 strerror(ENOSPC));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = pattern(sizes[i]);
		pb_test_write_file(src, p, sizes[i]);
		in = open(src, O_RDONLY);
		assert_true(in >= 0);
		assert_int_equal(pb_hash_copy(&d, in, out), PB_ERROR);
		assert_string_equal(pb_err_last(), want);
		assert_string_equal(d.md5, "");
		close(in);
		free(p);
	}
	close(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_hash_matches_published_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_hash_file_equals_mem_across_chunk_boundaries,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_hash_copy_writes_what_it_hashes, setup, teardown),
		cmocka_unit_test(test_hash_copy_reads_a_pipe_to_the_end),
		cmocka_unit_test_setup_teardown(
			test_hash_file_missing_is_not_found_and_named, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_hash_file_refuses_a_folder,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_hash_copy_reports_a_failed_write, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
