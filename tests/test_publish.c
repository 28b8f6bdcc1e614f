/* test_publish.c: publishing to throwaway bare serving repositories */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prbot/checkout.h"
#include "prbot/err.h"
#include "prbot/publish.h"
#include "prbot/fs.h"
#include "prbot/store.h"
#include "testutil.h"

#define TOKEN "s3cret-token"

struct fx {
	char root[PATH_MAX];	/* mkdtemp, removed in teardown */
	char serving[PATH_MAX]; /* root/srv/o/serving.git: bare, empty */
	char pr[PATH_MAX];	/* root/pr: the PR's checkout */
	char work[PATH_MAX];	/* root/work: mirrors */
	const char *model;	/* what the manifest says */
	const char *sig;	/* NULL: no signature */
	int race_every; /* the hook moves the branch: 1 once, 2 always */
	int race_tag;	/* the hook takes the next tag instead */
	int hook_calls;
	pid_t srv_pid; /* http_git_server.py, or 0 */
	int srv_stdin;
	int srv_port;
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

/* Run a shell command; its stdout (trailing newlines cut) into out. */
static int sh(char *out, size_t outsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int sh(char *out, size_t outsz, const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	size_t len = 0, n;
	char sink[256];
	va_list ap;
	FILE *f;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!out) {
		out = sink;
		outsz = sizeof(sink);
	}
	while (len + 1 < outsz && (n = fread(out + len, 1, outsz - 1 - len, f)))
		len += n;
	while (fread(sink, 1, sizeof(sink), f) > 0)
		;
	out[len] = '\0';
	while (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define SH_OK(...) assert_int_equal(sh(NULL, 0, __VA_ARGS__), 0)

static void write_file(const char *path, const char *text)
{
	char dir[PATH_MAX];

	pathf(dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(pb_mkdirs(dir, 0755), 0);
	pb_test_write_text(path, text);
}

static void pr_file(const struct fx *fx, const char *name, const char *text)
{
	char path[PATH_MAX];

	pathf(path, "%s/%s", fx->pr, name);
	write_file(path, text);
}

/* `git show REV:PATH` in the serving repository; "" when missing. */
static const char *show(char *buf, size_t size, const struct fx *fx,
			const char *rev, const char *path)
{
	if (sh(buf, size, "git -C %s show %s:%s 2>/dev/null", fx->serving, rev,
	       path) != 0)
		buf[0] = '\0';
	return buf;
}

static void rev(char out[64], const struct fx *fx, const char *what)
{
	assert_int_equal(sh(out, 64, "git -C %s rev-parse --verify -q %s",
			    fx->serving, what),
			 0);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char tmpl[PB_TEST_DIR_MAX];
	char *real;

	assert_non_null(fx);
	assert_int_equal(pb_test_tmpdir(tmpl, sizeof(tmpl), "publish"), 0);
	real = realpath(tmpl, NULL);
	assert_non_null(real);
	pathf(fx->root, "%s", real);
	free(real);
	assert_int_equal(setenv("HOME", fx->root, 1), 0);
	pathf(fx->serving, "%s/srv/o/serving.git", fx->root);
	pathf(fx->pr, "%s/pr", fx->root);
	pathf(fx->work, "%s/work", fx->root);
	SH_OK("git init -q --bare -b main %s", fx->serving);
	pr_file(fx, "src/predict.py", "print('predict v1')\n");
	pr_file(fx, "src/util/helper.py", "HELP = 1\n");
	pr_file(fx, "requirements.txt", "numpy\n");
	pr_file(fx, "train.py", "not deployed\n");
	fx->model = "model-1";
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->srv_pid > 0) {
		close(fx->srv_stdin);
		kill(fx->srv_pid, SIGTERM);
		waitpid(fx->srv_pid, NULL, 0);
	}
	assert_int_equal(pb_test_rmtree(fx->root), 0);
	free(fx);
	return 0;
}

static int manifest_cb(struct pb_buf *man, struct pb_buf *sig,
		       const char *version, void *arg)
{
	const struct fx *fx = arg;
	int rc = pb_buf_printf(man,
			       "{\"version\": \"%s\", \"model\": \"%s\"}\n",
			       version, fx->model);

	if (rc == 0 && fx->sig)
		rc = pb_buf_puts(sig, fx->sig);
	return rc;
}

/* A commit lands on the serving branch (or the next tag is taken). */
static int race_hook(void *arg, int attempt)
{
	struct fx *fx = arg;
	char clone[PATH_MAX];

	fx->hook_calls++;
	if (fx->race_tag && attempt == 1)
		return sh(NULL, 0, "git -C %s tag v0.0.2 main", fx->serving);
	if (!fx->race_every || (fx->race_every == 1 && attempt > 1))
		return 0;
	pathf(clone, "%s/race-%d", fx->root, fx->hook_calls);
	return sh(NULL, 0,
		  "git clone -q %s %s && cd %s && echo race %d > race.txt && "
		  "git add race.txt && git -c user.name=other "
		  "-c user.email=o@x.invalid commit -q -m 'race %d' && "
		  "git push -q origin main",
		  fx->serving, clone, clone, fx->hook_calls, fx->hook_calls);
}

static const char *const inference[] = { "src/", "requirements.txt" };

static void opts_for(struct pb_publish_opts *o, struct fx *fx)
{
	memset(o, 0, sizeof(*o));
	o->repo = fx->serving;
	o->branch = "main";
	o->path = ".";
	o->workdir = fx->work;
	o->source_root = fx->pr;
	o->inference = inference;
	o->n_inference = 2;
	o->schema = PB_VERSION_REVISION;
	o->manifest = manifest_cb;
	o->manifest_arg = fx;
	o->author_name = "prbot[bot]";
	o->author_email = "prbot@users.noreply.example";
	o->source_repo = "acme/model";
	o->pr = 12;
	o->source_sha = "0123456789abcdef0123456789abcdef01234567";
	o->environment = "staging";
}

static void publish_ok(struct pb_publish_result *r,
		       const struct pb_publish_opts *o)
{
	if (pb_publish(r, o) != 0)
		fail_msg("publish: %s", pb_err_last());
}

static void assert_files(const struct pb_publish_result *r,
			 const char *const *want, size_t n)
{
	size_t i;

	assert_int_equal(r->n_files, n);
	for (i = 0; i < n; i++)
		assert_string_equal(r->files[i], want[i]);
}

static void test_version_parse_and_next_by_schema(void **state)
{
	static const struct {
		const char *latest; /* NULL: no tag yet */
		enum pb_version_schema schema;
		const char *want;
	} rows[] = {
		{ NULL, PB_VERSION_REVISION, "v0.0.1" },
		{ NULL, PB_VERSION_MINOR, "v0.1.0" },
		{ NULL, PB_VERSION_MAJOR, "v1.0.0" },
		{ "v1.2.3", PB_VERSION_REVISION, "v1.2.4" },
		{ "v1.2.3", PB_VERSION_MINOR, "v1.3.0" },
		{ "v1.2.3", PB_VERSION_MAJOR, "v2.0.0" },
		{ "v0.9.19", PB_VERSION_REVISION, "v0.9.20" },
	};
	static const char *const bad[] = { "v1.2",	"1.2.3", "v1.2.3-rc1",
					   "v01.2.3",	"v1..3", "v1.2.3.4",
					   "release-1", "v",	 "v1.2.x" };
	struct pb_version v, next;
	char got[40];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].latest)
			assert_int_equal(pb_version_parse(&v, rows[i].latest),
					 0);
		assert_int_equal(pb_version_next(&next,
						 rows[i].latest ? &v : NULL,
						 rows[i].schema),
				 0);
		snprintf(got, sizeof(got), "v%lu.%lu.%lu", next.major,
			 next.minor, next.revision);
		assert_string_equal(got, rows[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pb_version_parse(&v, bad[i]) != PB_EINVAL)
			fail_msg("'%s' parsed as a version", bad[i]);
	assert_int_equal(pb_version_parse(&v, "v10.0.1"), 0);
	assert_int_equal(v.major, 10);
}

static void test_publish_first_deploy_to_empty_repo_creates_branch(void **state)
{
	static const char *const want[] = {
		"model_manifest.json", "model_manifest.json.sig",
		"requirements.txt", "src/predict.py", "src/util/helper.py"
	};
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r;
	char buf[1024], sha[64];

	fx->sig = "signature-1";
	opts_for(&o, fx);
	publish_ok(&r, &o);
	assert_string_equal(r.version, "v0.0.1");
	assert_int_equal(r.already_deployed, 0);
	assert_int_equal(r.attempts, 1);
	assert_files(&r, want, 5);
	rev(sha, fx, "refs/heads/main");
	assert_string_equal(sha, r.commit);
	rev(sha, fx, "v0.0.1^{commit}");
	assert_string_equal(sha, r.commit);
	assert_string_equal(
		show(buf, sizeof(buf), fx, "main", "model_manifest.json"),
		"{\"version\": \"v0.0.1\", \"model\": \"model-1\"}");
	assert_string_equal(show(buf, sizeof(buf), fx, "main",
				 "model_manifest.json.sig"),
			    "signature-1");
	assert_string_equal(show(buf, sizeof(buf), fx, "main",
				 "src/util/helper.py"),
			    "HELP = 1");
	assert_string_equal(show(buf, sizeof(buf), fx, "main", "train.py"), "");
	assert_int_equal(sh(buf, sizeof(buf),
			    "git -C %s log -1 '--format=%%an "
			    "%%ae%%n%%B' main",
			    fx->serving),
			 0);
	assert_non_null(strstr(buf, "prbot[bot] prbot@users.noreply.example"));
	assert_non_null(strstr(buf, "Deploy v0.0.1 from acme/model#12 to "
				    "staging"));
	assert_non_null(strstr(buf,
			       "Commit: "
			       "0123456789abcdef0123456789abcdef01234567"));
	/* a root commit: the branch did not exist */
	assert_int_equal(sh(buf, sizeof(buf), "git -C %s rev-list --count main",
			    fx->serving),
			 0);
	assert_string_equal(buf, "1");
	pb_publish_result_release(&r);
}

static void test_publish_second_deploy_bumps_version(void **state)
{
	static const char *const want[] = { "app/model_manifest.json",
					    "app/requirements.txt",
					    "app/src/predict.py" };
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r1, r2;
	char buf[1024], path[PATH_MAX], parent[64];

	fx->sig = "signature-1";
	opts_for(&o, fx);
	o.path = "app/";
	publish_ok(&r1, &o);
	assert_string_equal(r1.version, "v0.0.1");

	/* the PR drops a file and changes the model; no signature now */
	pathf(path, "%s/src/util", fx->pr);
	assert_int_equal(pb_rmtree(path), 0);
	pr_file(fx, "src/predict.py", "print('predict v2')\n");
	fx->model = "model-2";
	fx->sig = NULL;
	publish_ok(&r2, &o);
	assert_string_equal(r2.version, "v0.0.2");
	assert_files(&r2, want, 3);
	rev(parent, fx, "main^");
	assert_string_equal(parent, r1.commit);
	assert_string_equal(
		show(buf, sizeof(buf), fx, "v0.0.2", "app/model_manifest.json"),
		"{\"version\": \"v0.0.2\", \"model\": \"model-2\"}");
	assert_string_equal(show(buf, sizeof(buf), fx, "main",
				 "app/src/predict.py"),
			    "print('predict v2')");
	assert_string_equal(show(buf, sizeof(buf), fx, "main",
				 "app/src/util/helper.py"),
			    "");
	assert_string_equal(show(buf, sizeof(buf), fx, "main",
				 "app/model_manifest.json.sig"),
			    "");
	assert_string_equal(show(buf, sizeof(buf), fx, "v0.0.1",
				 "app/model_manifest.json.sig"),
			    "signature-1");
	pb_publish_result_release(&r2);
	pb_publish_result_release(&r1);
}

static void test_publish_keeps_the_rest_of_the_serving_repo(void **state)
{
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r;
	char buf[256], clone[PATH_MAX];

	pathf(clone, "%s/own", fx->root);
	SH_OK("git clone -q %s %s 2>/dev/null && cd %s && mkdir -p src && "
	      "echo serve > Dockerfile && echo stale > src/old.py && "
	      "git add -A && git -c user.name=o -c user.email=o@x.invalid "
	      "commit -q -m own && git push -q origin main",
	      fx->serving, clone, clone);
	opts_for(&o, fx);
	publish_ok(&r, &o);
	assert_string_equal(show(buf, sizeof(buf), fx, "main", "Dockerfile"),
			    "serve");
	/* src/ is replaced whole by the PR's */
	assert_string_equal(show(buf, sizeof(buf), fx, "main", "src/old.py"),
			    "");
	assert_string_equal(show(buf, sizeof(buf), fx, "main",
				 "src/predict.py"),
			    "print('predict v1')");
	pb_publish_result_release(&r);
}

static void test_publish_identical_content_is_already_deployed(void **state)
{
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r1, r2;
	char buf[1024], head[64];

	opts_for(&o, fx);
	publish_ok(&r1, &o);
	publish_ok(&r2, &o);
	assert_int_equal(r2.already_deployed, 1);
	assert_string_equal(r2.version, "v0.0.1");
	assert_string_equal(r2.commit, r1.commit);
	rev(head, fx, "main");
	assert_string_equal(head, r1.commit);
	assert_int_equal(sh(buf, sizeof(buf), "git -C %s tag -l", fx->serving),
			 0);
	assert_string_equal(buf, "v0.0.1");
	pb_publish_result_release(&r2);
	pb_publish_result_release(&r1);
}

static void test_publish_dry_run_pushes_nothing(void **state)
{
	static const char *const overlapping[] = { "src/", "src/predict.py",
						   "./requirements.txt" };
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r;
	char buf[1024];

	opts_for(&o, fx);
	o.dry_run = 1;
	o.inference = overlapping;
	o.n_inference = 3;
	publish_ok(&r, &o);
	assert_string_equal(r.version, "v0.0.1");
	assert_int_equal(strlen(r.commit), 40);
	assert_int_equal(r.n_files, 4);
	assert_int_equal(
		sh(buf, sizeof(buf), "git -C %s for-each-ref", fx->serving), 0);
	assert_string_equal(buf, "");
	pb_publish_result_release(&r);
}

static void test_publish_missing_inference_path_is_named(void **state)
{
	static const char *const missing[] = { "src/", "models/onnx/" };
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r;
	char buf[256];

	opts_for(&o, fx);
	o.inference = missing;
	assert_int_equal(pb_publish(&r, &o), PB_ENOTFOUND);
	assert_non_null(strstr(pb_err_last(), "inference path 'models/onnx' "
					      "not found in the checkout"));
	assert_non_null(strstr(pb_err_last(), "deploy.inference"));
	assert_null(r.commit);
	assert_int_equal(
		sh(buf, sizeof(buf), "git -C %s for-each-ref", fx->serving), 0);
	assert_string_equal(buf, "");
}

static void test_publish_refuses_links_out_of_the_checkout(void **state)
{
	static const char *const want[] = { "model_manifest.json",
					    "requirements.txt", "src/alias.py",
					    "src/predict.py",
					    "src/util/helper.py" };
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r;
	char path[PATH_MAX], buf[256];

	pathf(path, "%s/src/alias.py", fx->pr);
	assert_int_equal(symlink("predict.py", path), 0);
	opts_for(&o, fx);
	publish_ok(&r, &o);
	assert_files(&r, want, 5);
	assert_int_equal(sh(buf, sizeof(buf),
			    "git -C %s ls-tree main src/alias.py | cut -c1-6",
			    fx->serving),
			 0);
	assert_string_equal(buf, "120000");
	pb_publish_result_release(&r);

	pathf(path, "%s/src/passwd", fx->pr);
	assert_int_equal(symlink("../../../etc/passwd", path), 0);
	assert_int_equal(pb_publish(&r, &o), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "'src/passwd' in '"));
	assert_non_null(strstr(pb_err_last(), "outside the checkout"));
}

static void test_publish_unreachable_repo_is_clear(void **state)
{
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r;
	char missing[PATH_MAX], want[PATH_MAX];

	pathf(missing, "%s/srv/o/missing.git", fx->root);
	opts_for(&o, fx);
	o.repo = missing;
	assert_int_equal(pb_publish(&r, &o), PB_ENOTFOUND);
	pathf(want, "repository '%s' not found", missing);
	assert_memory_equal(pb_err_last(), want, strlen(want));

	/* nothing listens on port 1 */
	o.repo = "http://127.0.0.1:1/o/serving.git";
	assert_true(pb_publish(&r, &o) < 0);
	assert_non_null(strstr(pb_err_last(), "cannot fetch "
					      "'http://127.0.0.1:1/o/"
					      "serving.git'"));
	assert_null(r.commit);
}

static void test_publish_push_race_is_retried(void **state)
{
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r1, r2;
	char buf[1024], parent[64], grand[64];

	opts_for(&o, fx);
	publish_ok(&r1, &o);
	fx->model = "model-2";
	fx->race_every = 1;
	o.before_push = race_hook;
	o.before_push_arg = fx;
	publish_ok(&r2, &o);
	assert_int_equal(r2.attempts, 2);
	assert_string_equal(r2.version, "v0.0.2");
	rev(buf, fx, "main");
	assert_string_equal(buf, r2.commit);
	rev(buf, fx, "v0.0.2^{commit}");
	assert_string_equal(buf, r2.commit);
	/* ours on top of the other commit, on top of the first deploy */
	rev(parent, fx, "main^");
	rev(grand, fx, "main^^");
	assert_string_equal(grand, r1.commit);
	assert_int_equal(sh(buf, sizeof(buf),
			    "git -C %s log -1 --format=%%s %s", fx->serving,
			    parent),
			 0);
	assert_string_equal(buf, "race 1");
	assert_string_equal(show(buf, sizeof(buf), fx, "main", "race.txt"),
			    "race 1");
	assert_string_equal(
		show(buf, sizeof(buf), fx, "main", "model_manifest.json"),
		"{\"version\": \"v0.0.2\", \"model\": \"model-2\"}");
	pb_publish_result_release(&r2);
	pb_publish_result_release(&r1);
}

static void test_publish_branch_that_keeps_moving_fails(void **state)
{
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r;
	char buf[1024];

	opts_for(&o, fx);
	fx->race_every = 2;
	o.before_push = race_hook;
	o.before_push_arg = fx;
	assert_int_equal(pb_publish(&r, &o), PB_ERROR);
	assert_non_null(strstr(pb_err_last(), "branch 'main' of "));
	assert_non_null(strstr(pb_err_last(), "kept moving"));
	assert_int_equal(fx->hook_calls, 3);
	assert_int_equal(sh(buf, sizeof(buf), "git -C %s tag -l", fx->serving),
			 0);
	assert_string_equal(buf, "");
	assert_int_equal(sh(buf, sizeof(buf), "git -C %s log --format=%%s main",
			    fx->serving),
			 0);
	assert_string_equal(buf, "race 3\nrace 2\nrace 1");
}

static void test_publish_taken_tag_picks_the_next_free_one(void **state)
{
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r1, r2;
	char buf[1024];

	opts_for(&o, fx);
	publish_ok(&r1, &o);
	fx->model = "model-2";
	fx->race_tag = 1;
	o.before_push = race_hook;
	o.before_push_arg = fx;
	publish_ok(&r2, &o);
	assert_int_equal(r2.attempts, 2);
	assert_string_equal(r2.version, "v0.0.3");
	rev(buf, fx, "v0.0.3^{commit}");
	assert_string_equal(buf, r2.commit);
	/* the other tag is left where it was put */
	rev(buf, fx, "v0.0.2^{commit}");
	assert_string_equal(buf, r1.commit);
	pb_publish_result_release(&r2);
	pb_publish_result_release(&r1);
}

static void test_publish_ignores_other_tags_and_bumps_by_schema(void **state)
{
	static const struct {
		enum pb_version_schema schema;
		const char *model;
		const char *want;
	} rows[] = {
		{ PB_VERSION_MINOR, "m1", "v1.11.0" },
		{ PB_VERSION_MAJOR, "m2", "v2.0.0" },
		{ PB_VERSION_REVISION, "m3", "v2.0.1" },
	};
	struct fx *fx = *state;
	struct pb_publish_opts o;
	char clone[PATH_MAX];
	size_t i;

	pathf(clone, "%s/own", fx->root);
	SH_OK("git clone -q %s %s 2>/dev/null && cd %s && echo x > README && "
	      "git add -A && git -c user.name=o -c user.email=o@x.invalid "
	      "commit -q -m own && git tag v1.2.3 && git tag v1.10.0 && "
	      "git tag v2.0.0-rc1 && git tag release-9 && git tag v3.0 && "
	      "git tag v9 && git push -q --tags origin main",
	      fx->serving, clone, clone);
	opts_for(&o, fx);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pb_publish_result r;

		o.schema = rows[i].schema;
		fx->model = rows[i].model;
		publish_ok(&r, &o);
		assert_string_equal(r.version, rows[i].want);
		pb_publish_result_release(&r);
	}
}

static void test_publish_read_gives_the_files_at_a_tag(void **state)
{
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_read_opts ro;
	struct pb_publish_result r1, r2;
	char dest[PATH_MAX], path[PATH_MAX];
	char *commit = NULL;
	char *text;

	opts_for(&o, fx);
	o.path = "app";
	publish_ok(&r1, &o);
	pr_file(fx, "src/predict.py", "print('predict v2')\n");
	fx->model = "model-2";
	publish_ok(&r2, &o);

	memset(&ro, 0, sizeof(ro));
	ro.repo = fx->serving;
	ro.workdir = fx->work;
	ro.rev = "v0.0.1";
	ro.path = "app";
	pathf(dest, "%s/rollback", fx->root);
	ro.dest = dest;
	if (pb_publish_read(&commit, &ro) != 0)
		fail_msg("read: %s", pb_err_last());
	assert_string_equal(commit, r1.commit);
	free(commit);
	pathf(path, "%s/src/predict.py", dest);
	pb_test_assert_file_text(path, "print('predict v1')\n");
	pathf(path, "%s/model_manifest.json", dest);
	text = pb_test_read_file(path, NULL);
	assert_non_null(strstr(text, "\"v0.0.1\""));
	free(text);

	/* an existing folder, a missing tag and a missing path */
	assert_int_equal(pb_publish_read(&commit, &ro), PB_EEXISTS);
	pathf(dest, "%s/rollback2", fx->root);
	ro.rev = "v9.9.9";
	assert_int_equal(pb_publish_read(&commit, &ro), PB_ENOTFOUND);
	assert_non_null(strstr(pb_err_last(), "'v9.9.9' not found in"));
	ro.rev = "v0.0.2";
	ro.path = "nope";
	assert_int_equal(pb_publish_read(&commit, &ro), PB_ENOTFOUND);
	assert_non_null(strstr(pb_err_last(), "folder 'nope' not found"));
	assert_null(commit);
	assert_int_equal(access(dest, F_OK), -1);
	pb_publish_result_release(&r2);
	pb_publish_result_release(&r1);
}

static void test_publish_replace_path_restores_the_folder(void **state)
{
	static const char *const later[] = { "src/", "requirements.txt",
					     "extra.txt" };
	static const char *const old[] = { "src", "requirements.txt" };
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_read_opts ro;
	struct pb_publish_result r1, r2, r3;
	char buf[256], dest[PATH_MAX], clone[PATH_MAX];
	char *commit = NULL;

	opts_for(&o, fx);
	o.path = "app";
	publish_ok(&r1, &o);
	/* later: a changed file and a new one in app/, a file outside it */
	pr_file(fx, "src/predict.py", "print('predict v2')\n");
	pr_file(fx, "extra.txt", "only in v0.0.2\n");
	o.inference = later;
	o.n_inference = 3;
	publish_ok(&r2, &o);
	pathf(clone, "%s/own", fx->root);
	SH_OK("git clone -q %s %s 2>/dev/null && cd %s && "
	      "echo serve > Dockerfile && git add -A && git -c user.name=o "
	      "-c user.email=o@x.invalid commit -q -m own && "
	      "git push -q origin main",
	      fx->serving, clone, clone);

	memset(&ro, 0, sizeof(ro));
	ro.repo = fx->serving;
	ro.workdir = fx->work;
	ro.rev = "v0.0.1";
	ro.path = "app";
	pathf(dest, "%s/rollback", fx->root);
	ro.dest = dest;
	if (pb_publish_read(&commit, &ro) != 0)
		fail_msg("read: %s", pb_err_last());
	free(commit);
	opts_for(&o, fx);
	o.path = "app";
	o.source_root = dest;
	o.inference = old;
	o.n_inference = 2;
	o.rollback_of = "v0.0.1";
	o.replace_path = 1;
	publish_ok(&r3, &o);
	assert_string_equal(r3.version, "v0.0.3");
	assert_string_equal(
		show(buf, sizeof(buf), fx, "v0.0.3", "app/extra.txt"), "");
	assert_string_equal(show(buf, sizeof(buf), fx, "v0.0.3",
				 "app/src/predict.py"),
			    "print('predict v1')");
	assert_string_equal(show(buf, sizeof(buf), fx, "v0.0.3", "Dockerfile"),
			    "serve");
	/* app/ is v0.0.1's but for the manifest, written anew */
	assert_int_equal(sh(buf, sizeof(buf),
			    "git -C %s diff --stat v0.0.1 v0.0.3 -- app "
			    "':!app/model_manifest.json'",
			    fx->serving),
			 0);
	assert_string_equal(buf, "");
	pb_publish_result_release(&r3);
	pb_publish_result_release(&r2);
	pb_publish_result_release(&r1);
}

/* Start http_git_server.py over ROOT/srv; skip when it is not at hand. */
static void server_start(struct fx *fx)
{
	const char *src = getenv("PRBOT_SOURCE_DIR");
	char script[PATH_MAX], srv[PATH_MAX], line[32];
	int out[2], in[2];
	struct pollfd pfd;
	size_t len = 0;
	pid_t pid;

	if (!src || access("/usr/bin/python3", X_OK) ||
	    access("/usr/lib/git-core/git-http-backend", X_OK))
		skip();
	pathf(script, "%s/tests/integration/http_git_server.py", src);
	pathf(srv, "%s/srv", fx->root);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(in), 0);
	fcntl(out[0], F_SETFD, FD_CLOEXEC);
	fcntl(in[1], F_SETFD, FD_CLOEXEC);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl("/usr/bin/python3", "python3", script, "--root", srv,
		      "--token", TOKEN, "--max-seconds", "120", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	fx->srv_pid = pid;
	fx->srv_stdin = in[1];
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
	fx->srv_port = atoi(line);
	assert_true(fx->srv_port > 0);
}

static void test_publish_over_http_needs_the_token(void **state)
{
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r;
	char url[PATH_MAX], buf[1024];

	server_start(fx);
	pathf(url, "http://127.0.0.1:%d/o/serving.git", fx->srv_port);
	opts_for(&o, fx);
	o.repo = url;

	o.token = "wrong-token-42";
	assert_int_equal(pb_publish(&r, &o), PB_EPERM);
	assert_non_null(strstr(pb_err_last(), "cannot push to 'http://"));
	assert_non_null(strstr(pb_err_last(), "the token was refused"));
	assert_null(strstr(pb_err_last(), "wrong-token-42"));
	o.token = NULL;
	assert_int_equal(pb_publish(&r, &o), PB_EPERM);
	assert_non_null(strstr(pb_err_last(), "asks for credentials"));
	assert_int_equal(
		sh(buf, sizeof(buf), "git -C %s for-each-ref", fx->serving), 0);
	assert_string_equal(buf, "");

	o.token = TOKEN;
	publish_ok(&r, &o);
	assert_string_equal(r.version, "v0.0.1");
	rev(buf, fx, "main");
	assert_string_equal(buf, r.commit);
	rev(buf, fx, "v0.0.1^{commit}");
	assert_string_equal(buf, r.commit);
	pb_publish_result_release(&r);

	/* the second deploy only fetches what is new and pushes on top */
	fx->model = "model-2";
	publish_ok(&r, &o);
	assert_string_equal(r.version, "v0.0.2");
	assert_int_equal(sh(buf, sizeof(buf), "git -C %s rev-list --count main",
			    fx->serving),
			 0);
	assert_string_equal(buf, "2");
	pb_publish_result_release(&r);

	/* reads need the token too; a race makes it fetch once more */
	pathf(fx->serving, "%s/srv/private/o/serving.git", fx->root);
	SH_OK("git init -q --bare -b main %s", fx->serving);
	pathf(url, "http://127.0.0.1:%d/private/o/serving.git", fx->srv_port);
	fx->race_every = 1;
	o.before_push = race_hook;
	o.before_push_arg = fx;
	publish_ok(&r, &o);
	assert_int_equal(r.attempts, 2);
	assert_string_equal(r.version, "v0.0.1");
	rev(buf, fx, "main");
	assert_string_equal(buf, r.commit);
	assert_string_equal(show(buf, sizeof(buf), fx, "main", "race.txt"),
			    "race 1");
	pb_publish_result_release(&r);
}

static void test_publish_rejects_bad_options(void **state)
{
	static const char *const dotdot[] = { "../secrets" };
	struct fx *fx = *state;
	struct pb_publish_opts o;
	struct pb_publish_result r;

	opts_for(&o, fx);
	o.branch = "bad..name";
	assert_int_equal(pb_publish(&r, &o), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "'bad..name'"));
	opts_for(&o, fx);
	o.inference = dotdot;
	o.n_inference = 1;
	assert_int_equal(pb_publish(&r, &o), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "'../secrets'"));
	opts_for(&o, fx);
	o.path = "/abs";
	assert_int_equal(pb_publish(&r, &o), PB_EINVAL);
	opts_for(&o, fx);
	o.author_email = NULL;
	assert_int_equal(pb_publish(&r, &o), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "bot_login"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_parse_and_next_by_schema),
		T(test_publish_first_deploy_to_empty_repo_creates_branch),
		T(test_publish_second_deploy_bumps_version),
		T(test_publish_keeps_the_rest_of_the_serving_repo),
		T(test_publish_identical_content_is_already_deployed),
		T(test_publish_dry_run_pushes_nothing),
		T(test_publish_missing_inference_path_is_named),
		T(test_publish_refuses_links_out_of_the_checkout),
		T(test_publish_unreachable_repo_is_clear),
		T(test_publish_push_race_is_retried),
		T(test_publish_branch_that_keeps_moving_fails),
		T(test_publish_taken_tag_picks_the_next_free_one),
		T(test_publish_ignores_other_tags_and_bumps_by_schema),
		T(test_publish_read_gives_the_files_at_a_tag),
		T(test_publish_replace_path_restores_the_folder),
		T(test_publish_over_http_needs_the_token),
		T(test_publish_rejects_bad_options),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
