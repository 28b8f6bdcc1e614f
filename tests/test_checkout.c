/* test_checkout.c: mirroring, resolving and checking out throwaway repos */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

/*
 * The module itself (its URL table drives pb_git_source_locate() of
 * gitmirror.c without a network); the test defines every symbol of
 * checkout.o, so the linker never takes that object from the library too.
 */
#include "checkout.c"
#include "testutil.h"

/*
 * libgit2 1.5.1 (Debian 12) leaks pcre2 match data on every regex miss:
 * git_regexp_match() returns before pcre2_match_data_free() on NOMATCH, and
 * each repository open matches every config key against "^extensions\.".
 * Fixed upstream after 1.5; not ours to free, so LeakSanitizer is told.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libpcre2-8.so\n";
}

#define GIT_BIN	    "/usr/bin/git"
#define OPENSSL_BIN "/usr/bin/openssl"
#define N_THREADS   4

struct server {
	pid_t pid;    /* http_git_server.py, or 0 */
	int stdin_fd; /* closing it stops the server */
	int port;
};

struct fx {
	char root[PATH_MAX];	/* mkdtemp, removed in teardown */
	char repo[PATH_MAX];	/* root/src/proj: a work tree on main */
	char workdir[PATH_MAX]; /* root/work: mirrors go here */
	char sha1[41];		/* main~1, tagged v1: README "hello v1" */
	char sha2[41];		/* main: README "hello v2" */
	char sha_feature[41];	/* feature: README "hello feature" */
	struct server srv[2];	/* started by the test, stopped in teardown */
};

static void pathf(char out[PATH_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void pathf(char out[PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && n < PATH_MAX);
}

/* Run argv; its stdout goes to out (trailing newline cut) when given. */
static int run_argv(char *const argv[], char *out, size_t outsz)
{
	size_t len = 0;
	int p[2] = { -1, -1 };
	int status;
	pid_t pid;

	if (out && pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out) {
			dup2(p[1], 1);
			close(p[0]);
			close(p[1]);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (out) {
		ssize_t n;

		close(p[1]);
		while (len + 1 < outsz &&
		       (n = read(p[0], out + len, outsz - 1 - len)) > 0)
			len += (size_t)n;
		out[len] = '\0';
		while (len > 0 && out[len - 1] == '\n')
			out[--len] = '\0';
		close(p[0]);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* git -C dir ARGS... (NULL-terminated); the test fails if git does. */
static void git_out(char *out, size_t outsz, const char *dir, ...)
{
	char *argv[24];
	size_t n = 0;
	va_list ap;
	char *a;

	argv[n++] = (char *)GIT_BIN;
	argv[n++] = (char *)"-C";
	argv[n++] = (char *)dir;
	va_start(ap, dir);
	while ((a = va_arg(ap, char *)) && n + 1 < 24)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(run_argv(argv, out, outsz), 0);
}

#define GIT(dir, ...) git_out(NULL, 0, dir, __VA_ARGS__, (char *)NULL)

static void git_sha(char out[41], const char *dir, const char *rev)
{
	git_out(out, 41, dir, "rev-parse", rev, (char *)NULL);
	assert_int_equal(strlen(out), 40);
}

/* Write path, its folders first, and give it mode. */
static void write_file(const char *path, const char *text, mode_t mode)
{
	char dir[PATH_MAX];

	pathf(dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(pb_mkdirs(dir, 0755), 0);
	pb_test_write_text(path, text);
	assert_int_equal(chmod(path, mode), 0);
}

/* The file's text; "" when it is missing. */
static const char *slurp(char *buf, size_t size, const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void commit_readme(const struct fx *fx, const char *text,
			  const char *msg)
{
	char path[PATH_MAX];

	pathf(path, "%s/README.md", fx->repo);
	write_file(path, text, 0644);
	GIT(fx->repo, "add", "-A");
	GIT(fx->repo, "commit", "-q", "-m", msg);
}

/*
 * root/src/proj: v1 (tag v1) -> v2 on main, and feature branching off v1,
 * with an executable script and a monorepo-style project directory.
 */
static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char tmpl[PB_TEST_DIR_MAX];
	char path[PATH_MAX];
	char *real;

	assert_non_null(fx);
	assert_int_equal(pb_test_tmpdir(tmpl, sizeof(tmpl), "checkout"), 0);
	real = realpath(tmpl, NULL);
	assert_non_null(real);
	pathf(fx->root, "%s", real);
	free(real);
	/* git and libgit2 read no configuration but the test's own */
	assert_int_equal(setenv("HOME", fx->root, 1), 0);
	pathf(fx->repo, "%s/src/proj", fx->root);
	pathf(fx->workdir, "%s/work", fx->root);

	pathf(path, "%s/train.py", fx->repo);
	write_file(path, "#!/usr/bin/python3\nprint('train')\n", 0755);
	pathf(path, "%s/examples/iris/.prbot.yml", fx->repo);
	write_file(path, "model: model.onnx\n", 0644);
	pathf(path, "%s/README.md", fx->repo);
	write_file(path, "hello v1\n", 0644);
	GIT(fx->repo, "init", "-q", "-b", "main");
	GIT(fx->repo, "add", "-A");
	GIT(fx->repo, "commit", "-q", "-m", "first commit", "-m", "body");
	GIT(fx->repo, "tag", "-a", "v1", "-m", "release v1");
	GIT(fx->repo, "checkout", "-q", "-b", "feature");
	commit_readme(fx, "hello feature\n", "feature commit");
	GIT(fx->repo, "checkout", "-q", "main");
	commit_readme(fx, "hello v2\n", "second commit");
	git_sha(fx->sha1, fx->repo, "v1^{commit}");
	git_sha(fx->sha2, fx->repo, "main");
	git_sha(fx->sha_feature, fx->repo, "feature");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(fx->srv) / sizeof(fx->srv[0]); i++) {
		if (fx->srv[i].pid <= 0)
			continue;
		close(fx->srv[i].stdin_fd);
		kill(fx->srv[i].pid, SIGTERM);
		waitpid(fx->srv[i].pid, NULL, 0);
	}
	assert_int_equal(pb_test_rmtree(fx->root), 0);
	free(fx);
	return 0;
}

/* A fresh workspace path whose parents do not exist yet. */
static void dest_path(char out[PATH_MAX], const struct fx *fx, int n)
{
	pathf(out, "%s/jobs/%d/workspace", fx->root, n);
}

static void opts_for(struct pb_checkout_opts *o, const struct fx *fx,
		     const char *repo, const char *dest)
{
	memset(o, 0, sizeof(*o));
	o->repo = repo;
	o->workdir = fx->workdir;
	o->dest = dest;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void assert_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	char buf[256];

	pathf(path, "%s/%s", dir, name);
	assert_string_equal(slurp(buf, sizeof(buf), path), text);
}

static void test_checkout_local_worktree_checks_out_the_tip(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char dest[PATH_MAX], want[PATH_MAX];

	dest_path(dest, fx, 1);
	opts_for(&o, fx, fx->repo, dest);
	assert_int_equal(pb_checkout(&co, &o), 0);
	pathf(want, "file://%s", fx->repo);
	assert_string_equal(co.origin, want);
	assert_string_equal(co.owner_repo, "local/proj");
	assert_string_equal(co.ref, "main");
	assert_string_equal(co.sha, fx->sha2);
	assert_string_equal(co.message, "second commit\n");
	assert_string_equal(co.subdir, "");
	assert_string_equal(co.workspace, dest);
	assert_string_equal(co.project_dir, dest);
	assert_int_equal(co.mirror_created, 1);
	pathf(want, "%s/mirrors/local-proj-", fx->workdir);
	assert_memory_equal(co.mirror, want, strlen(want));
	assert_string_equal(co.mirror + strlen(co.mirror) - 4, ".git");
	assert_file(dest, "README.md", "hello v2\n");
	assert_file(dest, "examples/iris/.prbot.yml", "model: model.onnx\n");
	/* a workspace is files only: no repository to confuse a job */
	pathf(want, "%s/.git", dest);
	assert_false(exists(want));
	pb_checkout_release(&co);
}

static void test_checkout_keeps_the_executable_bit(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char dest[PATH_MAX], path[PATH_MAX];
	struct stat st;

	dest_path(dest, fx, 1);
	opts_for(&o, fx, fx->repo, dest);
	assert_int_equal(pb_checkout(&co, &o), 0);
	pathf(path, "%s/train.py", dest);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_mode & S_IXUSR);
	pathf(path, "%s/README.md", dest);
	assert_int_equal(stat(path, &st), 0);
	assert_false(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH));
	pb_checkout_release(&co);
}

static void test_checkout_subdirectory_gives_project_dir(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char repo[PATH_MAX], dest[PATH_MAX], want[PATH_MAX];

	pathf(repo, "%s/examples/iris", fx->repo);
	dest_path(dest, fx, 1);
	opts_for(&o, fx, repo, dest);
	assert_int_equal(pb_checkout(&co, &o), 0);
	pathf(want, "file://%s", fx->repo);
	assert_string_equal(co.origin, want);
	assert_string_equal(co.owner_repo, "local/proj");
	assert_string_equal(co.subdir, "examples/iris");
	pathf(want, "%s/examples/iris", dest);
	assert_string_equal(co.project_dir, want);
	assert_string_equal(co.workspace, dest);
	assert_file(co.project_dir, ".prbot.yml", "model: model.onnx\n");
	assert_file(dest, "README.md", "hello v2\n");
	pb_checkout_release(&co);
}

/* A bare clone, its path, its file:// URL and a subdirectory's URL. */
static void test_checkout_local_forms_name_the_repository(void **state)
{
	static const struct {
		const char *fmt; /* %s: the test's root */
		const char *owner_repo;
		const char *origin; /* %s: the test's root */
		const char *subdir;
	} rows[] = {
		{ "%s/src/proj", "local/proj", "file://%s/src/proj", "" },
		{ "%s/src/proj/", "local/proj", "file://%s/src/proj", "" },
		{ "%s/src/n.git", "local/n", "file://%s/src/n.git", "" },
		{ "file://%s/src/n.git", "local/n", "file://%s/src/n.git", "" },
		{ "file://%s/src/proj/examples", "local/proj",
		  "file://%s/src/proj", "examples" },
		{ "file://%s/src/with%%20space.git", "local/with space",
		  "file://%s/src/with%%20space.git", "" },
	};
	struct fx *fx = *state;
	char bare[PATH_MAX], repo[PATH_MAX], origin[PATH_MAX];
	char dest[PATH_MAX];
	size_t i;

	pathf(bare, "%s/src/n.git", fx->root);
	GIT(fx->root, "clone", "-q", "--bare", fx->repo, bare);
	pathf(bare, "%s/src/with space.git", fx->root);
	GIT(fx->root, "clone", "-q", "--bare", fx->repo, bare);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pb_checkout co;
		struct pb_checkout_opts o;

		pathf(repo, rows[i].fmt, fx->root);
		pathf(origin, rows[i].origin, fx->root);
		dest_path(dest, fx, (int)i);
		opts_for(&o, fx, repo, dest);
		if (pb_checkout(&co, &o) != 0)
			fail_msg("%s: %s", repo, pb_err_last());
		assert_string_equal(co.owner_repo, rows[i].owner_repo);
		assert_string_equal(co.origin, origin);
		assert_string_equal(co.subdir, rows[i].subdir);
		assert_string_equal(co.sha, fx->sha2);
		assert_string_equal(co.ref, "main");
		assert_file(dest, "README.md", "hello v2\n");
		pb_checkout_release(&co);
	}
}

static void test_checkout_url_forms_name_the_repository(void **state)
{
	static const struct {
		const char *url;
		int rc;
		const char *owner_repo;
		const char *origin;
		int token_ok;
	} rows[] = {
		{ "https://github.com/o/n.git", 0, "o/n",
		  "https://github.com/o/n.git", 1 },
		{ "https://github.com/o/n", 0, "o/n", "https://github.com/o/n",
		  1 },
		{ "https://github.com/o/n/", 0, "o/n", "https://github.com/o/n",
		  1 },
		{ "HTTPS://GitHub.com/Owner/Name.git", 0, "Owner/Name",
		  "HTTPS://GitHub.com/Owner/Name.git", 1 },
		{ "https://gitlab.com/group/sub/n.git", 0, "sub/n",
		  "https://gitlab.com/group/sub/n.git", 1 },
		{ "https://git.example.com/n.git", 0, "git.example.com/n",
		  "https://git.example.com/n.git", 1 },
		{ "http://127.0.0.1:8080/o/n.git", 0, "o/n",
		  "http://127.0.0.1:8080/o/n.git", 1 },
		/* a token is never sent in clear text off this machine */
		{ "http://example.com/o/n.git", 0, "o/n",
		  "http://example.com/o/n.git", 0 },
		{ "https://github.com/", PB_EINVAL, NULL, NULL, 0 },
		{ "https://", PB_EINVAL, NULL, NULL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pb_git_source s;
		int rc;

		memset(&s, 0, sizeof(s));
		rc = pb_git_source_locate(&s, rows[i].url);
		if (rc != rows[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", rows[i].url, rc,
				 rows[i].rc, pb_err_last());
		if (rc == 0) {
			assert_string_equal(s.owner_repo, rows[i].owner_repo);
			assert_string_equal(s.origin, rows[i].origin);
			assert_string_equal(s.subdir, "");
			assert_int_equal(s.token_ok, rows[i].token_ok);
		}
		pb_git_source_release(&s);
	}
}

static void test_checkout_rejects_credentials_and_other_protocols(void **state)
{
	static const struct {
		const char *repo;
		const char *message; /* a part of it */
	} rows[] = {
		{ "https://x-access-token:hunter2@github.com/o/n.git",
		  "must not hold a user name, password or token" },
		{ "https://hunter2@github.com/o/n.git",
		  "must not hold a user name, password or token" },
		{ "ssh://git@github.com/o/n.git", "unsupported protocol" },
		{ "git@github.com:o/n.git", "unsupported protocol" },
	};
	struct fx *fx = *state;
	char dest[PATH_MAX];
	size_t i;

	dest_path(dest, fx, 1);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pb_checkout co;
		struct pb_checkout_opts o;

		opts_for(&o, fx, rows[i].repo, dest);
		assert_int_equal(pb_checkout(&co, &o), PB_EINVAL);
		assert_non_null(strstr(pb_err_last(), rows[i].message));
		assert_null(strstr(pb_err_last(), "hunter2"));
		assert_false(exists(dest));
	}
}

static void test_checkout_creates_mirror_then_fetches_new_commit(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co1, co2;
	struct pb_checkout_opts o;
	char dest[PATH_MAX], tmp[PATH_MAX];
	char sha3[41];

	dest_path(dest, fx, 1);
	opts_for(&o, fx, fx->repo, dest);
	assert_int_equal(pb_checkout(&co1, &o), 0);
	assert_int_equal(co1.mirror_created, 1);
	assert_string_equal(co1.sha, fx->sha2);

	commit_readme(fx, "hello v3\n", "third commit");
	git_sha(sha3, fx->repo, "main");
	dest_path(dest, fx, 2);
	opts_for(&o, fx, fx->repo, dest);
	assert_int_equal(pb_checkout(&co2, &o), 0);
	assert_int_equal(co2.mirror_created, 0);
	assert_string_equal(co2.mirror, co1.mirror);
	assert_string_equal(co2.sha, sha3);
	assert_string_equal(co2.message, "third commit\n");
	assert_file(dest, "README.md", "hello v3\n");
	pathf(tmp, "%s.tmp", co1.mirror);
	assert_false(exists(tmp));
	pb_checkout_release(&co1);
	pb_checkout_release(&co2);
}

/* A branch deleted upstream is pruned from the mirror by the next fetch. */
static void test_checkout_fetch_prunes_deleted_branches(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char dest[PATH_MAX];

	dest_path(dest, fx, 1);
	opts_for(&o, fx, fx->repo, dest);
	o.ref = "feature";
	assert_int_equal(pb_checkout(&co, &o), 0);
	pb_checkout_release(&co);
	GIT(fx->repo, "branch", "-q", "-D", "feature");
	dest_path(dest, fx, 2);
	opts_for(&o, fx, fx->repo, dest);
	o.ref = "feature";
	assert_int_equal(pb_checkout(&co, &o), PB_ENOTFOUND);
	assert_non_null(strstr(pb_err_last(), "ref 'feature' not found"));
}

static void test_checkout_sha_checks_out_that_commit_not_the_tip(void **state)
{
	struct fx *fx = *state;
	char abbrev[8], upper[41];
	const struct {
		const char *sha;
		const char *ref;
		const char *want_ref;
	} rows[] = {
		{ fx->sha1, NULL, NULL },
		{ abbrev, NULL, NULL },
		{ upper, NULL, NULL },
		/* a PR's branch and head SHA: the SHA wins, the name is kept */
		{ fx->sha1, "main", "main" },
	};
	char dest[PATH_MAX];
	size_t i;

	memcpy(abbrev, fx->sha1, 7);
	abbrev[7] = '\0';
	for (i = 0; i < 41; i++)
		upper[i] = (char)toupper((unsigned char)fx->sha1[i]);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pb_checkout co;
		struct pb_checkout_opts o;

		dest_path(dest, fx, (int)i);
		opts_for(&o, fx, fx->repo, dest);
		o.sha = rows[i].sha;
		o.ref = rows[i].ref;
		if (pb_checkout(&co, &o) != 0)
			fail_msg("%s: %s", rows[i].sha, pb_err_last());
		assert_string_equal(co.sha, fx->sha1);
		assert_string_equal(co.message, "first commit\n\nbody\n");
		if (rows[i].want_ref)
			assert_string_equal(co.ref, rows[i].want_ref);
		else
			assert_null(co.ref);
		assert_file(dest, "README.md", "hello v1\n");
		pb_checkout_release(&co);
	}
}

static void test_checkout_ref_names_branch_tag_or_revision(void **state)
{
	struct fx *fx = *state;
	const struct {
		const char *ref;
		const char *sha;
		const char *readme;
		const char *want_ref;
	} rows[] = {
		{ "feature", fx->sha_feature, "hello feature\n", "feature" },
		{ "v1", fx->sha1, "hello v1\n", "v1" },
		{ "refs/heads/feature", fx->sha_feature, "hello feature\n",
		  "feature" },
		{ "refs/tags/v1", fx->sha1, "hello v1\n", "v1" },
		{ "main~1", fx->sha1, "hello v1\n", "main~1" },
	};
	char dest[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pb_checkout co;
		struct pb_checkout_opts o;

		dest_path(dest, fx, (int)i);
		opts_for(&o, fx, fx->repo, dest);
		o.ref = rows[i].ref;
		if (pb_checkout(&co, &o) != 0)
			fail_msg("%s: %s", rows[i].ref, pb_err_last());
		assert_string_equal(co.sha, rows[i].sha);
		assert_string_equal(co.ref, rows[i].want_ref);
		assert_file(dest, "README.md", rows[i].readme);
		pb_checkout_release(&co);
	}
}

static void test_checkout_unknown_sha_is_not_found(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char dest[PATH_MAX], want[PATH_MAX];

	dest_path(dest, fx, 1);
	opts_for(&o, fx, fx->repo, dest);
	o.sha = "abc1230000";
	assert_int_equal(pb_checkout(&co, &o), PB_ENOTFOUND);
	pathf(want,
	      "commit 'abc1230000' not found in 'file://%s' (fetch it or "
	      "check the SHA)",
	      fx->repo);
	assert_string_equal(pb_err_last(), want);
	assert_false(exists(dest));
	assert_null(co.sha);

	o.sha = "xyz";
	assert_int_equal(pb_checkout(&co, &o), PB_EINVAL);
	assert_string_equal(pb_err_last(),
			    "sha 'xyz' is not a commit id (give 4 to 40 hex "
			    "digits)");
	assert_false(exists(dest));
}

static void test_checkout_sha_of_a_tree_is_not_a_commit(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char dest[PATH_MAX], tree[41];

	git_sha(tree, fx->repo, "main^{tree}");
	dest_path(dest, fx, 1);
	opts_for(&o, fx, fx->repo, dest);
	o.sha = tree;
	assert_int_equal(pb_checkout(&co, &o), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "is a tree, not a commit"));
	assert_false(exists(dest));
}

static void test_checkout_unknown_ref_is_not_found(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char dest[PATH_MAX], want[PATH_MAX];

	dest_path(dest, fx, 1);
	opts_for(&o, fx, fx->repo, dest);
	o.ref = "nope";
	assert_int_equal(pb_checkout(&co, &o), PB_ENOTFOUND);
	pathf(want, "ref 'nope' not found in 'file://%s'", fx->repo);
	assert_string_equal(pb_err_last(), want);
	assert_false(exists(dest));
}

static void test_checkout_missing_repository_is_not_found(void **state)
{
	static const char *const forms[] = {
		"%s/missing",
		"%s/plain",
		"file://%s/missing/n.git",
		"file:///x/y/n.git",
	};
	struct fx *fx = *state;
	char plain[PATH_MAX], repo[PATH_MAX], want[PATH_MAX];
	char dest[PATH_MAX];
	size_t i;

	pathf(plain, "%s/plain/file.txt", fx->root);
	write_file(plain, "not a repository\n", 0644);
	dest_path(dest, fx, 1);
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct pb_checkout co;
		struct pb_checkout_opts o;

		pathf(repo, forms[i], fx->root);
		opts_for(&o, fx, repo, dest);
		assert_int_equal(pb_checkout(&co, &o), PB_ENOTFOUND);
		pathf(want, "repository '%s' not found: ", repo);
		if (strncmp(pb_err_last(), want, strlen(want)))
			fail_msg("%s: got \"%s\"", repo, pb_err_last());
		assert_false(exists(dest));
	}
}

static void test_checkout_refuses_an_existing_dest(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char dest[PATH_MAX], keep[PATH_MAX], want[PATH_MAX];

	dest_path(dest, fx, 1);
	pathf(keep, "%s/keep.txt", dest);
	write_file(keep, "mine\n", 0644);
	opts_for(&o, fx, fx->repo, dest);
	assert_int_equal(pb_checkout(&co, &o), PB_EEXISTS);
	pathf(want,
	      "workspace '%s' already exists (remove it, or give a new "
	      "directory)",
	      dest);
	assert_string_equal(pb_err_last(), want);
	/* not ours: left as it was */
	assert_true(exists(keep));
}

static void test_checkout_subdir_missing_in_commit(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char repo[PATH_MAX], path[PATH_MAX], dest[PATH_MAX];
	char want[PATH_MAX];

	/* on disk, never committed */
	pathf(repo, "%s/newdir", fx->repo);
	pathf(path, "%s/file.txt", repo);
	write_file(path, "untracked\n", 0644);
	dest_path(dest, fx, 1);
	opts_for(&o, fx, repo, dest);
	assert_int_equal(pb_checkout(&co, &o), PB_ENOTFOUND);
	pathf(want,
	      "directory 'newdir' not found in commit %.12s (commit it, or "
	      "check the path)",
	      fx->sha2);
	assert_string_equal(pb_err_last(), want);
	assert_false(exists(dest));
}

/* A link in a pull request must not reach outside the workspace. */
static void test_checkout_writes_symlinks_as_plain_files(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char link[PATH_MAX], dest[PATH_MAX];
	struct stat st;

	pathf(link, "%s/model.onnx", fx->repo);
	assert_int_equal(symlink("/etc/hostname", link), 0);
	GIT(fx->repo, "add", "-A");
	GIT(fx->repo, "commit", "-q", "-m", "add a link");
	dest_path(dest, fx, 1);
	opts_for(&o, fx, fx->repo, dest);
	assert_int_equal(pb_checkout(&co, &o), 0);
	pathf(link, "%s/model.onnx", dest);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_file(dest, "model.onnx", "/etc/hostname");
	pb_checkout_release(&co);
}

static void test_checkout_rejects_missing_arguments(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char dest[PATH_MAX];

	dest_path(dest, fx, 1);
	opts_for(&o, fx, NULL, dest);
	assert_int_equal(pb_checkout(&co, &o), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "no repository given"));
	opts_for(&o, fx, fx->repo, dest);
	o.workdir = "";
	assert_int_equal(pb_checkout(&co, &o), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "no work directory"));
	assert_false(exists(dest));
}

struct job {
	const struct fx *fx;
	char dest[PATH_MAX];
	struct pb_checkout co;
	int rc;
	char err[256];
};

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct pb_checkout_opts o;

	memset(&o, 0, sizeof(o));
	o.repo = j->fx->repo;
	o.workdir = j->fx->workdir;
	o.dest = j->dest;
	j->rc = pb_checkout(&j->co, &o);
	snprintf(j->err, sizeof(j->err), "%s", pb_err_last());
	return NULL;
}

static void test_checkout_threads_share_one_mirror(void **state)
{
	struct fx *fx = *state;
	struct job jobs[N_THREADS];
	pthread_t th[N_THREADS];
	int i, created = 0;

	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < N_THREADS; i++) {
		jobs[i].fx = fx;
		dest_path(jobs[i].dest, fx, i);
		assert_int_equal(
			pthread_create(&th[i], NULL, job_run, &jobs[i]), 0);
	}
	for (i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < N_THREADS; i++) {
		if (jobs[i].rc != 0)
			fail_msg("job %d: %s", i, jobs[i].err);
		created += jobs[i].co.mirror_created;
		assert_string_equal(jobs[i].co.sha, fx->sha2);
		assert_string_equal(jobs[i].co.mirror, jobs[0].co.mirror);
		assert_file(jobs[i].dest, "README.md", "hello v2\n");
	}
	assert_int_equal(created, 1);
	for (i = 0; i < N_THREADS; i++)
		pb_checkout_release(&jobs[i].co);
}

static void test_rmtree_removes_tree_without_following_links(void **state)
{
	struct fx *fx = *state;
	char top[PATH_MAX], path[PATH_MAX], keep[PATH_MAX];

	pathf(top, "%s/rm", fx->root);
	pathf(path, "%s/a/b/c.txt", top);
	write_file(path, "c\n", 0644);
	pathf(keep, "%s/outside/keep.txt", fx->root);
	write_file(keep, "keep\n", 0644);
	pathf(path, "%s/a/link", top);
	pathf(keep, "%s/outside", fx->root);
	assert_int_equal(symlink(keep, path), 0);
	pathf(path, "%s/a/readonly/x.txt", top);
	write_file(path, "x\n", 0644);
	pathf(path, "%s/a/readonly", top);
	assert_int_equal(chmod(path, 0500), 0);

	assert_int_equal(pb_rmtree(top), 0);
	assert_false(exists(top));
	pathf(keep, "%s/outside/keep.txt", fx->root);
	assert_true(exists(keep));
	assert_int_equal(pb_rmtree(top), 0);
	assert_int_equal(pb_rmtree(""), PB_EINVAL);
	assert_int_equal(pb_rmtree("/"), PB_EINVAL);
}

/*
 * Start http_git_server.py over srv, with TLS when cert and key are given;
 * skip when it is not at hand.
 */
static void server_start(struct server *s, const char *srv, const char *cert,
			 const char *key)
{
	const char *src = getenv("PRBOT_SOURCE_DIR");
	char script[PATH_MAX], line[32];
	int out[2], in[2];
	struct pollfd pfd;
	size_t len = 0;
	pid_t pid;

	if (!src || access("/usr/bin/python3", X_OK) ||
	    access("/usr/lib/git-core/git-http-backend", X_OK))
		skip();
	pathf(script, "%s/tests/integration/http_git_server.py", src);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(in), 0);
	/* the server's ends stay out of every other child of this test */
	fcntl(out[0], F_SETFD, FD_CLOEXEC);
	fcntl(in[1], F_SETFD, FD_CLOEXEC);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (cert)
			execl("/usr/bin/python3", "python3", script, "--root",
			      srv, "--token", "s3cret-token", "--max-seconds",
			      "240", "--tls", cert, key, (char *)NULL);
		else
			execl("/usr/bin/python3", "python3", script, "--root",
			      srv, "--token", "s3cret-token", "--max-seconds",
			      "240", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	s->pid = pid;
	s->stdin_fd = in[1];
	pfd.fd = out[0];
	pfd.events = POLLIN;
	while (len + 1 < sizeof(line) && !memchr(line, '\n', len)) {
		ssize_t n;

		assert_int_equal(poll(&pfd, 1, 20000), 1);
		n = read(out[0], line + len, sizeof(line) - 1 - len);
		assert_true(n > 0);
		len += (size_t)n;
	}
	close(out[0]);
	line[len] = '\0';
	s->port = atoi(line);
	assert_true(s->port > 0);
}

/* srv/o/n.git, and srv/private/o/n.git that needs the token */
static void serve_repos(char srv[PATH_MAX], const struct fx *fx)
{
	char path[PATH_MAX];

	pathf(srv, "%s/srv", fx->root);
	pathf(path, "%s/o/n.git", srv);
	GIT(fx->root, "clone", "-q", "--bare", fx->repo, path);
	pathf(path, "%s/private/o/n.git", srv);
	GIT(fx->root, "clone", "-q", "--bare", fx->repo, path);
}

/*
 * BASE/o/n.git cloned then fetched, and BASE/private/o/n.git with the token:
 * the same over http and https.
 */
static void assert_served_repos_check_out(const struct fx *fx, const char *base)
{
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char url[PATH_MAX], dest[PATH_MAX];

	pathf(url, "%s/o/n.git", base);
	dest_path(dest, fx, 1);
	opts_for(&o, fx, url, dest);
	if (pb_checkout(&co, &o) != 0)
		fail_msg("%s: %s", url, pb_err_last());
	assert_string_equal(co.owner_repo, "o/n");
	assert_string_equal(co.origin, url);
	assert_string_equal(co.ref, "main");
	assert_string_equal(co.sha, fx->sha2);
	assert_int_equal(co.mirror_created, 1);
	assert_file(dest, "README.md", "hello v2\n");
	pb_checkout_release(&co);

	dest_path(dest, fx, 2);
	opts_for(&o, fx, url, dest);
	o.ref = "feature";
	if (pb_checkout(&co, &o) != 0)
		fail_msg("%s: %s", url, pb_err_last());
	assert_int_equal(co.mirror_created, 0);
	assert_string_equal(co.sha, fx->sha_feature);
	assert_file(dest, "README.md", "hello feature\n");
	pb_checkout_release(&co);

	pathf(url, "%s/private/o/n.git", base);
	dest_path(dest, fx, 3);
	opts_for(&o, fx, url, dest);
	o.token = "s3cret-token";
	if (pb_checkout(&co, &o) != 0)
		fail_msg("%s: %s", url, pb_err_last());
	assert_string_equal(co.owner_repo, "o/n");
	assert_string_equal(co.sha, fx->sha2);
	assert_file(dest, "README.md", "hello v2\n");
	pb_checkout_release(&co);
}

static void test_checkout_over_http_with_and_without_token(void **state)
{
	struct fx *fx = *state;
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char srv[PATH_MAX], base[PATH_MAX], url[PATH_MAX];
	char dest[PATH_MAX], want[PATH_MAX];

	serve_repos(srv, fx);
	server_start(&fx->srv[0], srv, NULL, NULL);
	pathf(base, "http://127.0.0.1:%d", fx->srv[0].port);
	assert_served_repos_check_out(fx, base);

	pathf(url, "%s/o/missing.git", base);
	dest_path(dest, fx, 4);
	opts_for(&o, fx, url, dest);
	assert_int_equal(pb_checkout(&co, &o), PB_ENOTFOUND);
	pathf(want, "repository '%s' not found: ", url);
	assert_memory_equal(pb_err_last(), want, strlen(want));
	assert_false(exists(dest));

	pathf(url, "%s/private/o/n.git", base);
	opts_for(&o, fx, url, dest);
	o.token = "wrong-token-42";
	assert_int_equal(pb_checkout(&co, &o), PB_EPERM);
	assert_non_null(strstr(pb_err_last(), "the token was refused"));
	assert_null(strstr(pb_err_last(), "wrong-token-42"));
	assert_false(exists(dest));

	o.token = NULL;
	assert_int_equal(pb_checkout(&co, &o), PB_EPERM);
	assert_non_null(strstr(pb_err_last(), "asks for credentials"));
	assert_false(exists(dest));
}

/*
 * The tests below run first in this process (see main): libgit2 reads
 * SSL_CERT_FILE once, when the first checkout starts it.
 */

/* A child's first checkout, with SSL_CERT_FILE naming a missing file. */
static void test_checkout_unreadable_ssl_cert_file_is_named(void **state)
{
	struct fx *fx = *state;
	char ca[PATH_MAX], dest[PATH_MAX], want[PATH_MAX], got[1024];
	size_t len = 0;
	ssize_t n;
	int p[2], status, rc;
	pid_t pid;

	pathf(ca, "%s/no-such-ca.pem", fx->root);
	dest_path(dest, fx, 1);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pb_checkout co;
		struct pb_checkout_opts o;

		/* _exit: no cmocka and no LeakSanitizer in here */
		close(p[0]);
		opts_for(&o, fx, fx->repo, dest);
		if (setenv("SSL_CERT_FILE", ca, 1) < 0)
			_exit(2);
		rc = pb_checkout(&co, &o);
		dprintf(p[1], "%d %s", rc, pb_err_last());
		_exit(0);
	}
	close(p[1]);
	while (len + 1 < sizeof(got) &&
	       (n = read(p[0], got + len, sizeof(got) - 1 - len)) > 0)
		len += (size_t)n;
	got[len] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pathf(want, "%d cannot use SSL_CERT_FILE '%s': ", PB_EINVAL, ca);
	if (strncmp(got, want, strlen(want)) ||
	    !strstr(got, "(give PEM certificates of the authorities to trust"))
		fail_msg("got \"%s\"", got);
	assert_false(exists(dest));
}

/*
 * A self-signed certificate for localhost, as ROOT/NAME.pem and NAME.key.
 * Named by DNS, not IP: mbedTLS 2.28 (Debian 12's libgit2) matches no IP
 * address in subjectAltName, so https://127.0.0.1 is always refused there.
 */
static void make_cert(char cert[PATH_MAX], char key[PATH_MAX],
		      const struct fx *fx, const char *name)
{
	char *argv[] = { (char *)OPENSSL_BIN,
			 (char *)"req",
			 (char *)"-x509",
			 (char *)"-newkey",
			 (char *)"rsa:2048",
			 (char *)"-nodes",
			 (char *)"-days",
			 (char *)"1",
			 (char *)"-subj",
			 (char *)"/CN=localhost",
			 (char *)"-addext",
			 (char *)"subjectAltName=DNS:localhost",
			 (char *)"-keyout",
			 key,
			 (char *)"-out",
			 cert,
			 NULL };

	pathf(cert, "%s/%s.pem", fx->root, name);
	pathf(key, "%s/%s.key", fx->root, name);
	assert_int_equal(run_argv(argv, NULL, 0), 0);
}

static void assert_https_refused(const struct fx *fx, const char *url,
				 const char *dest)
{
	struct pb_checkout co;
	struct pb_checkout_opts o;
	char want[PATH_MAX];

	opts_for(&o, fx, url, dest);
	o.token = "s3cret-token";
	assert_int_equal(pb_checkout(&co, &o), PB_ERROR);
	pathf(want, "cannot fetch '%s': ", url);
	if (strncmp(pb_err_last(), want, strlen(want)) ||
	    !strstr(pb_err_last(), "certificate") ||
	    !strstr(pb_err_last(), "set SSL_CERT_FILE to that CA's PEM file"))
		fail_msg("%s: got \"%s\"", url, pb_err_last());
	assert_null(co.sha);
	assert_false(exists(dest));
}

static void test_checkout_over_https_trusts_ssl_cert_file(void **state)
{
	struct fx *fx = *state;
	char srv[PATH_MAX], base[PATH_MAX], url[PATH_MAX], dest[PATH_MAX];
	char cert[PATH_MAX], key[PATH_MAX];
	char other_cert[PATH_MAX], other_key[PATH_MAX];

	if (access(OPENSSL_BIN, X_OK))
		skip();
	serve_repos(srv, fx);
	make_cert(cert, key, fx, "trusted");
	make_cert(other_cert, other_key, fx, "untrusted");
	assert_int_equal(setenv("SSL_CERT_FILE", cert, 1), 0);
	server_start(&fx->srv[0], srv, cert, key);
	server_start(&fx->srv[1], srv, other_cert, other_key);
	pathf(base, "https://localhost:%d", fx->srv[0].port);
	assert_served_repos_check_out(fx, base);

	dest_path(dest, fx, 4);
	/* a certificate no trusted CA signed */
	pathf(url, "https://localhost:%d/private/o/n.git", fx->srv[1].port);
	assert_https_refused(fx, url, dest);
	/* a trusted certificate, but for another name */
	pathf(url, "https://127.0.0.1:%d/private/o/n.git", fx->srv[0].port);
	assert_https_refused(fx, url, dest);
}

static int teardown_tls(void **state)
{
	unsetenv("SSL_CERT_FILE");
	return teardown(state);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	/* first: no checkout may start libgit2 in this process before them */
	const struct CMUnitTest tls_tests[] = {
		T(test_checkout_unreadable_ssl_cert_file_is_named),
		cmocka_unit_test_setup_teardown(
			test_checkout_over_https_trusts_ssl_cert_file, setup,
			teardown_tls),
	};
	const struct CMUnitTest tests[] = {
		T(test_checkout_local_worktree_checks_out_the_tip),
		T(test_checkout_keeps_the_executable_bit),
		T(test_checkout_subdirectory_gives_project_dir),
		T(test_checkout_local_forms_name_the_repository),
		T(test_checkout_url_forms_name_the_repository),
		T(test_checkout_rejects_credentials_and_other_protocols),
		T(test_checkout_creates_mirror_then_fetches_new_commit),
		T(test_checkout_fetch_prunes_deleted_branches),
		T(test_checkout_sha_checks_out_that_commit_not_the_tip),
		T(test_checkout_ref_names_branch_tag_or_revision),
		T(test_checkout_unknown_sha_is_not_found),
		T(test_checkout_sha_of_a_tree_is_not_a_commit),
		T(test_checkout_unknown_ref_is_not_found),
		T(test_checkout_missing_repository_is_not_found),
		T(test_checkout_refuses_an_existing_dest),
		T(test_checkout_subdir_missing_in_commit),
		T(test_checkout_writes_symlinks_as_plain_files),
		T(test_checkout_rejects_missing_arguments),
		T(test_checkout_threads_share_one_mirror),
		T(test_rmtree_removes_tree_without_following_links),
		T(test_checkout_over_http_with_and_without_token),
	};
	int rc;

	/* git with no configuration but the test's (HOME is set per test) */
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "prbot-test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@example.invalid", 1);
	setenv("GIT_COMMITTER_NAME", "prbot-test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@example.invalid", 1);
	/* the system's CAs, unless a test says otherwise */
	unsetenv("SSL_CERT_FILE");
	unsetenv("SSL_CERT_DIR");
	rc = cmocka_run_group_tests_name("checkout_tls", tls_tests, NULL, NULL);
	return cmocka_run_group_tests_name("checkout", tests, NULL, NULL) | rc;
}
