/* test_gh.c: the GitHub client against fake_github.py, asserting what went */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/gh.h"
#include "prbot/http_client.h"
#include "prbot/log.h"
#include "testutil.h"

#define TOKEN	   "test-token-0123456789" /* not a token shape on purpose */
#define APP_ID	   "12345"
#define SHA7	   "6dcb09b5b57875f334f61aebed695e2e4193db5e"
#define MAX_SLEEPS 64

/* The fake server, the App key, and what the sleep hook was asked. */
struct world {
	struct pb_test_fake_github fake;
	EVP_PKEY *key;
	char *pem;
	long sleeps[MAX_SLEEPS];
	int n_sleeps;
	int cancel;
};

static struct world W;

static int record_sleep(void *arg, long ms)
{
	struct world *w = arg;

	if (w->n_sleeps < MAX_SLEEPS)
		w->sleeps[w->n_sleeps++] = ms;
	return w->cancel ? PB_ECANCELLED : 0;
}

/* ---- the fake ---- */

/* A control request to the fake; its JSON answer (caller decrefs). */
static json_t *ctl(const char *method, const char *path, const char *body)
{
	return pb_test_fake_github_ctl(&W.fake, method, path, body);
}

static void ctl_post(const char *path, const char *body)
{
	json_decref(ctl("POST", path, body));
}

static json_t *requests(void)
{
	return pb_test_fake_github_requests(&W.fake);
}

/* A header of a recorded request, any case, or NULL. */
static const char *req_header(json_t *r, const char *name)
{
	const char *k;
	json_t *v;

	json_object_foreach(
		json_object_get(r, "headers"), k,
		v) if (!strcasecmp(k, name)) return json_string_value(v);
	return NULL;
}

static void assert_json_equal(json_t *got, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);

	assert_non_null(w);
	if (!json_equal(got, w))
		fail_msg("sent %s, want %s", g ? g : "null", want);
	free(g);
	json_decref(w);
}

/* Request i was METHOD PATH with the token and GitHub's headers. */
static json_t *assert_request(json_t *all, size_t i, const char *method,
			      const char *path)
{
	json_t *r = json_array_get(all, i);
	char ua[64];

	if (!r)
		fail_msg("request %zu was not made (%zu made)", i,
			 json_array_size(all));
	assert_string_equal(json_string_value(json_object_get(r, "method")),
			    method);
	assert_string_equal(json_string_value(json_object_get(r, "path")),
			    path);
	snprintf(ua, sizeof(ua), "prbot/%s", PRBOT_VERSION);
	assert_string_equal(req_header(r, "User-Agent"), ua);
	assert_string_equal(req_header(r, "Accept"),
			    "application/vnd.github+json");
	assert_string_equal(req_header(r, "X-GitHub-Api-Version"),
			    "2022-11-28");
	return r;
}

static json_t *assert_token_request(json_t *all, size_t i, const char *method,
				    const char *path)
{
	json_t *r = assert_request(all, i, method, path);

	assert_string_equal(req_header(r, "Authorization"), "Bearer " TOKEN);
	return r;
}

static void assert_n_requests(size_t n)
{
	json_t *all = requests();

	if (json_array_size(all) != n)
		fail_msg("%zu requests made, want %zu", json_array_size(all),
			 n);
	json_decref(all);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

/* ---- clients ---- */

/* Fast retries, the recording sleep hook, the token. */
static void opts_for(struct pb_gh_opts *o)
{
	pb_gh_opts_init(o);
	o->api_url = W.fake.base;
	o->token = TOKEN;
	o->http.max_retries = 3;
	o->http.backoff_base_ms = 100;
	o->http.backoff_max_ms = 400;
	o->http.timeout_ms = 5000;
	o->http.rate_limit_max_wait_s = 10;
	o->http.sleep = record_sleep;
	o->http.hook_arg = &W;
}

static struct pb_gh *gh_with(const struct pb_gh_opts *o)
{
	struct pb_gh *gh;

	if (pb_gh_new(&gh, o) != 0)
		fail_msg("pb_gh_new: %s", pb_err_last());
	return gh;
}

static struct pb_gh *gh_token(void)
{
	struct pb_gh_opts o;

	opts_for(&o);
	return gh_with(&o);
}

static struct pb_gh *gh_app(void)
{
	struct pb_gh_opts o;

	opts_for(&o);
	o.token = NULL;
	o.app_id = APP_ID;
	o.private_key = W.pem;
	return gh_with(&o);
}

/* ---- setup ---- */

static char *key_pem(EVP_PKEY *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long n;

	if (bio &&
	    PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)) {
		n = BIO_get_mem_data(bio, &data);
		pem = strndup(data, (size_t)n);
	}
	BIO_free(bio);
	return pem;
}

static int group_setup(void **state)
{
	static const char *const extra[] = { "--max-seconds", "240", NULL };
	const char *src = getenv("PRBOT_SOURCE_DIR");
	char fixture[PATH_MAX];

	W.key = EVP_RSA_gen(2048);
	if (!W.key || !(W.pem = key_pem(W.key)))
		return -1;
	snprintf(fixture, sizeof(fixture), "%s/tests/data/gh/fixture.json",
		 src ? src : ".");
	return pb_test_fake_github_start(&W.fake, fixture, TOKEN, APP_ID,
					 extra);
}

static int group_teardown(void **state)
{
	pb_test_fake_github_stop(&W.fake);
	EVP_PKEY_free(W.key);
	free(W.pem);
	return 0;
}

static int test_setup(void **state)
{
	pb_test_fake_github_reset(&W.fake);
	W.n_sleeps = 0;
	W.cancel = 0;
	pb_err_clear();
	return 0;
}

/* ---- pull requests ---- */

static void test_pr_get_reads_head_base_and_author(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_pr pr;
	json_t *all;

	if (pb_gh_pr_get(gh, &pr, "octo/ml", 7) != 0)
		fail_msg("%s", pb_err_last());
	assert_int_equal(pr.number, 7);
	assert_string_equal(pr.state, "open");
	assert_string_equal(pr.title, "Tune the learning rate");
	assert_string_equal(pr.user_login, "alice");
	assert_string_equal(pr.head_sha, SHA7);
	assert_string_equal(pr.head_ref, "tune-lr");
	assert_string_equal(pr.head_repo, "octo/ml");
	assert_string_equal(pr.head_clone_url,
			    "https://github.com/octo/ml.git");
	assert_string_equal(pr.base_ref, "main");
	assert_string_equal(pr.base_repo, "octo/ml");
	assert_string_equal(pr.html_url, "https://github.com/octo/ml/pull/7");
	assert_int_equal(pr.from_fork, 0);
	assert_int_equal(pr.merged, 0);
	pb_gh_pr_release(&pr);

	all = requests();
	assert_int_equal(json_array_size(all), 1);
	assert_token_request(all, 0, "GET", "/repos/octo/ml/pulls/7");
	json_decref(all);
	pb_gh_free(gh);
}

static void test_pr_get_tells_forks_and_deleted_forks(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_pr pr;

	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 8), 0);
	assert_int_equal(pr.from_fork, 1);
	assert_int_equal(pr.merged, 1);
	assert_string_equal(pr.state, "closed");
	assert_string_equal(pr.head_repo, "mallory/ml");
	assert_string_equal(pr.head_clone_url,
			    "https://github.com/mallory/ml.git");
	pb_gh_pr_release(&pr);

	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 9), 0);
	assert_int_equal(pr.from_fork, 1);
	assert_null(pr.head_repo);
	assert_null(pr.head_clone_url);
	assert_string_equal(pr.head_sha,
			    "89abcdef0123456789abcdef0123456789abcdef");
	pb_gh_pr_release(&pr);
	pb_gh_free(gh);
}

static void test_pr_get_missing_is_enotfound_and_not_retried(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_pr pr;

	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 99), PB_ENOTFOUND);
	assert_contains(pb_err_last(), "'GET /repos/octo/ml/pulls/99'");
	assert_contains(pb_err_last(), "answered 404 Not Found");
	assert_contains(pb_err_last(), "request id FAKE-1");
	assert_null(pr.head_sha);
	assert_n_requests(1);
	assert_int_equal(W.n_sleeps, 0);
	pb_gh_free(gh);
}

static void test_pr_get_without_head_sha_names_the_field(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_pr pr;

	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 10), PB_ERROR);
	assert_contains(pb_err_last(), "'GET /repos/octo/ml/pulls/10'");
	assert_contains(pb_err_last(), "no string 'head.sha'");
	assert_contains(pb_err_last(), "request id FAKE-1");
	pb_gh_free(gh);
}

/* ---- permissions ---- */

struct perm_case {
	const char *user;
	const char *path;
	enum pb_perm want;
};

static const struct perm_case perm_cases[] = {
	{ "ada", "/repos/octo/ml/collaborators/ada/permission", PB_PERM_ADMIN },
	{ "max", "/repos/octo/ml/collaborators/max/permission",
	  PB_PERM_MAINTAIN },
	{ "wes", "/repos/octo/ml/collaborators/wes/permission", PB_PERM_WRITE },
	{ "tia", "/repos/octo/ml/collaborators/tia/permission",
	  PB_PERM_TRIAGE },
	{ "rey", "/repos/octo/ml/collaborators/rey/permission", PB_PERM_READ },
	/* a custom role falls back to permission */
	{ "cus", "/repos/octo/ml/collaborators/cus/permission", PB_PERM_WRITE },
	{ "nobody", "/repos/octo/ml/collaborators/nobody/permission",
	  PB_PERM_NONE },
	{ "dependabot[bot]",
	  "/repos/octo/ml/collaborators/dependabot%5Bbot%5D/permission",
	  PB_PERM_WRITE },
};

static void test_permission_maps_role_name_then_permission(void **state)
{
	struct pb_gh *gh = gh_token();
	enum pb_perm p;
	json_t *all;
	size_t i;

	for (i = 0; i < sizeof(perm_cases) / sizeof(perm_cases[0]); i++) {
		const struct perm_case *c = &perm_cases[i];

		if (pb_gh_permission(gh, &p, "octo/ml", c->user) != 0)
			fail_msg("%s: %s", c->user, pb_err_last());
		if (p != c->want)
			fail_msg("%s: got %s, want %s", c->user,
				 pb_perm_name(p), pb_perm_name(c->want));
	}
	all = requests();
	for (i = 0; i < sizeof(perm_cases) / sizeof(perm_cases[0]); i++)
		assert_token_request(all, i, "GET", perm_cases[i].path);
	json_decref(all);
	pb_gh_free(gh);
}

static void test_permission_unknown_level_is_an_error(void **state)
{
	struct pb_gh *gh = gh_token();
	enum pb_perm p = PB_PERM_ADMIN;

	assert_int_equal(pb_gh_permission(gh, &p, "octo/ml", "odd"), PB_ERROR);
	assert_int_equal(p, PB_PERM_NONE);
	assert_contains(pb_err_last(), "role 'owner' and permission 'owner'");
	assert_contains(pb_err_last(), "'odd'");
	pb_gh_free(gh);
}

/* ---- comments ---- */

static void test_comment_create_returns_id_and_url(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_comment c;
	json_t *all, *r;

	if (pb_gh_comment_create(gh, &c, "octo/ml", 7,
				 "**prbot** started \"evaluate\"\n") != 0)
		fail_msg("%s", pb_err_last());
	assert_true(c.id > 1000);
	assert_non_null(c.node_id);
	assert_non_null(strstr(c.html_url, "#issuecomment-"));
	assert_string_equal(c.user_login, "prbot[bot]");
	assert_int_equal(c.user_is_bot, 1);
	assert_string_equal(c.body, "**prbot** started \"evaluate\"\n");

	all = requests();
	r = assert_token_request(all, 0, "POST",
				 "/repos/octo/ml/issues/7/comments");
	assert_string_equal(req_header(r, "Content-Type"), "application/json");
	assert_json_equal(
		json_object_get(r, "json"),
		"{\"body\": \"**prbot** started \\\"evaluate\\\"\\n\"}");
	json_decref(all);
	pb_gh_comment_release(&c);
	pb_gh_free(gh);
}

static void test_comment_update_patches_the_body(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_comment c, u;
	char path[128];
	json_t *all, *r;

	assert_int_equal(pb_gh_comment_create(gh, &c, "octo/ml", 7, "one"), 0);
	if (pb_gh_comment_update(gh, &u, "octo/ml", c.id, "two") != 0)
		fail_msg("%s", pb_err_last());
	assert_true(u.id == c.id);
	assert_string_equal(u.body, "two");
	assert_string_equal(u.html_url, c.html_url);
	/* out may be NULL when the caller needs nothing back */
	assert_int_equal(
		pb_gh_comment_update(gh, NULL, "octo/ml", c.id, "three"), 0);

	all = requests();
	snprintf(path, sizeof(path), "/repos/octo/ml/issues/comments/%lld",
		 c.id);
	r = assert_token_request(all, 1, "PATCH", path);
	assert_json_equal(json_object_get(r, "json"), "{\"body\": \"two\"}");
	json_decref(all);
	assert_int_equal(pb_gh_comment_update(gh, NULL, "octo/ml", 999999, "x"),
			 PB_ENOTFOUND);
	pb_gh_comment_release(&u);
	pb_gh_comment_release(&c);
	pb_gh_free(gh);
}

/* n comments by alice on octo/ml#7, "c0" .. */
static void seed_comments(int n)
{
	json_t *list = json_array(), *fx;
	char *text, body[16];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(body, sizeof(body), "c%d", i);
		json_array_append_new(list,
				      json_pack("{s:s,s:{s:s,s:s}}", "body",
						body, "user", "login", "alice",
						"type", "User"));
	}
	fx = json_pack("{s:{s:o}}", "comments", "octo/ml#7", list);
	text = json_dumps(fx, 0);
	ctl_post("/_fixture", text);
	free(text);
	json_decref(fx);
}

static void test_comments_list_follows_link_pages(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_comments l;
	json_t *all;
	char want[32];
	size_t i;

	seed_comments(250);
	if (pb_gh_comments_list(gh, &l, "octo/ml", 7, 0) != 0)
		fail_msg("%s", pb_err_last());
	assert_int_equal(l.n, 250);
	assert_int_equal(l.truncated, 0);
	for (i = 0; i < l.n; i++) {
		snprintf(want, sizeof(want), "c%zu", i);
		assert_string_equal(l.v[i].body, want);
		assert_string_equal(l.v[i].user_login, "alice");
		assert_int_equal(l.v[i].user_is_bot, 0);
	}
	all = requests();
	assert_int_equal(json_array_size(all), 3);
	assert_token_request(all, 0, "GET",
			     "/repos/octo/ml/issues/7/comments?per_page=100");
	assert_token_request(all, 1, "GET",
			     "/repos/octo/ml/issues/7/comments"
			     "?per_page=100&page=2");
	assert_token_request(all, 2, "GET",
			     "/repos/octo/ml/issues/7/comments"
			     "?per_page=100&page=3");
	json_decref(all);
	pb_gh_comments_release(&l);
	pb_gh_free(gh);
}

static void test_comments_list_stops_at_max_pages(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_comments l;

	seed_comments(250);
	assert_int_equal(pb_gh_comments_list(gh, &l, "octo/ml", 7, 2), 0);
	assert_int_equal(l.n, 200);
	assert_int_equal(l.truncated, 1);
	assert_string_equal(l.v[199].body, "c199");
	assert_n_requests(2);
	pb_gh_comments_release(&l);

	/* no comments: one page, empty */
	assert_int_equal(pb_gh_comments_list(gh, &l, "octo/ml", 8, 0), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.truncated, 0);
	pb_gh_comments_release(&l);
	pb_gh_free(gh);
}

static void test_comments_list_refuses_a_next_page_on_another_host(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_comments l;

	ctl_post("/_fail", "{\"path\": \"/repos/octo/ml/issues/7/comments\", "
			   "\"status\": 200, \"body\": [], \"headers\": "
			   "{\"Link\": \"<http://evil.example/steal?page=2>; "
			   "rel=\\\"next\\\"\"}}");
	assert_int_equal(pb_gh_comments_list(gh, &l, "octo/ml", 7, 0),
			 PB_ERROR);
	assert_contains(pb_err_last(), "another host");
	assert_null(l.v);
	assert_n_requests(1);
	pb_gh_free(gh);
}

/* ---- reactions, statuses, labels ---- */

static void test_reaction_add_posts_each_content(void **state)
{
	static const char *const contents[] = { "eyes", "rocket", "confused" };
	struct pb_gh *gh = gh_token();
	struct pb_gh_comment c;
	char path[128], body[64];
	json_t *all, *r;
	size_t i;

	assert_int_equal(pb_gh_comment_create(gh, &c, "octo/ml", 7, "/x"), 0);
	for (i = 0; i < 3; i++)
		if (pb_gh_reaction_add(gh, "octo/ml", c.id, contents[i]) != 0)
			fail_msg("%s: %s", contents[i], pb_err_last());
	/* again: GitHub answers 200 with the existing reaction */
	assert_int_equal(pb_gh_reaction_add(gh, "octo/ml", c.id, "eyes"), 0);
	all = requests();
	snprintf(path, sizeof(path),
		 "/repos/octo/ml/issues/comments/%lld/reactions", c.id);
	for (i = 0; i < 3; i++) {
		r = assert_token_request(all, i + 1, "POST", path);
		snprintf(body, sizeof(body), "{\"content\": \"%s\"}",
			 contents[i]);
		assert_json_equal(json_object_get(r, "json"), body);
	}
	json_decref(all);

	assert_int_equal(pb_gh_reaction_add(gh, "octo/ml", c.id, "party"),
			 PB_EINVAL);
	assert_contains(pb_err_last(), "reaction 'party'");
	assert_n_requests(5);
	pb_gh_comment_release(&c);
	pb_gh_free(gh);
}

static void test_status_create_sends_context_and_target(void **state)
{
	struct pb_gh *gh = gh_token();
	json_t *all, *r;

	if (pb_gh_status_create(gh, "octo/ml", SHA7, PB_GH_PENDING, "evaluate",
				"queued", "https://ci.example/job/1") != 0)
		fail_msg("%s", pb_err_last());
	assert_int_equal(pb_gh_status_create(gh, "octo/ml", SHA7, PB_GH_SUCCESS,
					     "evaluate", NULL, NULL),
			 0);
	all = requests();
	r = assert_token_request(all, 0, "POST",
				 "/repos/octo/ml/statuses/" SHA7);
	assert_json_equal(json_object_get(r, "json"),
			  "{\"state\": \"pending\", \"context\": "
			  "\"prbot/evaluate\", \"description\": \"queued\", "
			  "\"target_url\": \"https://ci.example/job/1\"}");
	r = assert_token_request(all, 1, "POST",
				 "/repos/octo/ml/statuses/" SHA7);
	assert_json_equal(json_object_get(r, "json"),
			  "{\"state\": \"success\", \"context\": "
			  "\"prbot/evaluate\"}");
	json_decref(all);
	pb_gh_free(gh);
}

/* n copies of the UTF-8 character c */
static char *repeat(const char *c, size_t n)
{
	struct pb_buf b = PB_BUF_INIT;

	while (n--)
		assert_int_equal(pb_buf_puts(&b, c), 0);
	return pb_buf_detach(&b);
}

struct desc_case {
	const char *ch;	   /* the character repeated */
	size_t n;	   /* how often */
	size_t want_chars; /* characters sent */
	int cut;	   /* ends in "…" */
};

static const struct desc_case desc_cases[] = {
	{ "a", 140, 140, 0 },
	{ "a", 141, 140, 1 },
	{ "\xc3\xa9", 140, 140, 0 }, /* é: 2 bytes */
	{ "\xc3\xa9", 300, 140, 1 },
	{ "\xf0\x9f\x9a\x80", 141, 140, 1 }, /* rocket: 4 bytes */
};

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void test_status_description_is_cut_to_140_characters(void **state)
{
	struct pb_gh *gh = gh_token();
	json_t *all;
	size_t i;

	for (i = 0; i < sizeof(desc_cases) / sizeof(desc_cases[0]); i++) {
		const struct desc_case *c = &desc_cases[i];
		char *d = repeat(c->ch, c->n);

		/* the fake refuses over 140 characters as GitHub does */
		if (pb_gh_status_create(gh, "octo/ml", SHA7, PB_GH_FAILURE,
					"evaluate", d, NULL) != 0)
			fail_msg("case %zu: %s", i, pb_err_last());
		free(d);
	}
	all = requests();
	for (i = 0; i < sizeof(desc_cases) / sizeof(desc_cases[0]); i++) {
		const struct desc_case *c = &desc_cases[i];
		json_t *r = json_array_get(all, i);
		const char *sent = json_string_value(json_object_get(
			json_object_get(r, "json"), "description"));
		size_t len = strlen(sent);

		assert_int_equal(
			json_integer_value(json_object_get(r, "status")), 201);
		assert_int_equal(utf8_chars(sent), c->want_chars);
		assert_int_equal(len >= 3 && !strcmp(sent + len - 3,
						     "\xe2\x80\xa6"),
				 c->cut);
		if (c->cut) /* whole characters before the ellipsis */
			assert_int_equal((len - 3) % strlen(c->ch), 0);
	}
	json_decref(all);
	pb_gh_free(gh);
}

static void test_label_remove_escapes_the_name(void **state)
{
	struct pb_gh *gh = gh_token();
	json_t *all;

	if (pb_gh_label_remove(gh, "octo/ml", 7, "needs eval") != 0)
		fail_msg("%s", pb_err_last());
	assert_int_equal(pb_gh_label_remove(gh, "octo/ml", 7, "evaluate"), 0);
	assert_int_equal(pb_gh_label_remove(gh, "octo/ml", 7, "evaluate"),
			 PB_ENOTFOUND);
	assert_contains(pb_err_last(),
			"'DELETE /repos/octo/ml/issues/7/labels/evaluate'");
	all = requests();
	assert_token_request(all, 0, "DELETE",
			     "/repos/octo/ml/issues/7/labels/needs%20eval");
	assert_token_request(all, 1, "DELETE",
			     "/repos/octo/ml/issues/7/labels/evaluate");
	json_decref(all);
	pb_gh_free(gh);
}

/* ---- GraphQL ---- */

static void assert_minimize_request(json_t *r, const char *node)
{
	json_t *body = json_object_get(r, "json");
	const char *q = json_string_value(json_object_get(body, "query"));

	assert_non_null(q);
	assert_contains(q, "minimizeComment(input: {subjectId: $id, "
			   "classifier: OUTDATED})");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(body, "variables"), "id")),
			    node);
}

static void test_minimize_posts_graphql_outdated(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_comment c;
	json_t *all, *st;
	char want[128];

	assert_int_equal(pb_gh_comment_create(gh, &c, "octo/ml", 7, "old"), 0);
	if (pb_gh_comment_minimize(gh, "octo/ml", c.node_id) != 0)
		fail_msg("%s", pb_err_last());
	all = requests();
	assert_minimize_request(
		assert_token_request(all, 1, "POST", "/graphql"), c.node_id);
	json_decref(all);
	st = ctl("GET", "/_state", NULL);
	snprintf(want, sizeof(want),
		 "[{\"node_id\": \"%s\", \"classifier\": \"OUTDATED\"}]",
		 c.node_id);
	assert_json_equal(json_object_get(st, "minimized"), want);
	json_decref(st);
	pb_gh_comment_release(&c);
	pb_gh_free(gh);
}

static void test_minimize_unknown_node_is_enotfound(void **state)
{
	struct pb_gh *gh = gh_token();

	assert_int_equal(pb_gh_comment_minimize(gh, "octo/ml", "IC_nope"),
			 PB_ENOTFOUND);
	assert_contains(pb_err_last(), "minimizeComment of 'IC_nope'");
	assert_contains(pb_err_last(), "Could not resolve to a node");
	assert_contains(pb_err_last(), "request id FAKE-1");
	pb_gh_free(gh);
}

struct ghe_case {
	const char *suffix; /* appended to the fake's base URL */
	const char *graphql_path;
	const char *rest_prefix;
};

static const struct ghe_case ghe_cases[] = {
	{ "", "/graphql", "" },
	{ "/", "/graphql", "" },
	{ "/api/v3", "/api/graphql", "/api/v3" },
	{ "/api/v3/", "/api/graphql", "/api/v3" },
};

static void test_graphql_url_for_github_and_enterprise(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(ghe_cases) / sizeof(ghe_cases[0]); i++) {
		const struct ghe_case *c = &ghe_cases[i];
		char api[128], want[128], rest[128];
		struct pb_gh_opts o;
		struct pb_gh_comment cm;
		struct pb_gh *gh;
		json_t *all;

		test_setup(state);
		opts_for(&o);
		snprintf(api, sizeof(api), "%s%s", W.fake.base, c->suffix);
		o.api_url = api;
		gh = gh_with(&o);
		snprintf(want, sizeof(want), "%s%s", W.fake.base,
			 c->graphql_path);
		assert_string_equal(pb_gh_graphql_url(gh), want);
		assert_int_equal(
			pb_gh_comment_create(gh, &cm, "octo/ml", 7, "x"), 0);
		if (pb_gh_comment_minimize(gh, "octo/ml", cm.node_id) != 0)
			fail_msg("%s: %s", api, pb_err_last());
		all = requests();
		snprintf(rest, sizeof(rest),
			 "%s/repos/octo/ml/issues/7/comments", c->rest_prefix);
		assert_token_request(all, 0, "POST", rest);
		assert_minimize_request(assert_token_request(all, 1, "POST",
							     c->graphql_path),
					cm.node_id);
		json_decref(all);
		pb_gh_comment_release(&cm);
		pb_gh_free(gh);
	}
}

/* ---- retries ---- */

static void test_retries_500_and_502_then_succeeds(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_pr pr;
	json_t *all;
	int i;

	ctl_post("/_fail", "{\"path\": \"/repos/octo/ml/pulls/7\", "
			   "\"status\": 500}");
	ctl_post("/_fail", "{\"path\": \"/repos/octo/ml/pulls/7\", "
			   "\"status\": 502}");
	if (pb_gh_pr_get(gh, &pr, "octo/ml", 7) != 0)
		fail_msg("%s", pb_err_last());
	assert_string_equal(pr.head_sha, SHA7);
	pb_gh_pr_release(&pr);
	all = requests();
	assert_int_equal(json_array_size(all), 3);
	for (i = 0; i < 3; i++)
		assert_token_request(all, (size_t)i, "GET",
				     "/repos/octo/ml/pulls/7");
	json_decref(all);
	/* full jitter: each wait within the doubling ceiling */
	assert_int_equal(W.n_sleeps, 2);
	assert_in_range(W.sleeps[0], 0, 100);
	assert_in_range(W.sleeps[1], 0, 200);
	pb_gh_free(gh);
}

static void test_gives_up_naming_status_and_request_id(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_comment c;
	int i;

	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 502, \"count\": 10, "
			   "\"body\": {\"message\": \"Server Error\"}}");
	assert_int_equal(pb_gh_comment_create(gh, &c, "octo/ml", 7, "x"),
			 PB_ERROR);
	assert_string_equal(pb_err_last(),
			    "GitHub API 'POST /repos/octo/ml/issues/7/comments'"
			    ": answered 502 Bad Gateway after 4 attempts "
			    "(request id FAKE-4): \"Server Error\": GitHub is "
			    "failing; retry later");
	assert_n_requests(4);
	assert_int_equal(W.n_sleeps, 3);
	for (i = 0; i < 3; i++)
		assert_in_range(W.sleeps[i], 0, 100L << i);
	pb_gh_free(gh);
}

static void test_client_errors_are_not_retried(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_pr pr;

	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 422, \"body\": "
			   "{\"message\": \"Validation Failed\", \"errors\": "
			   "[{\"resource\": \"Issue\", \"field\": \"body\", "
			   "\"code\": \"missing_field\"}]}}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_EINVAL);
	assert_contains(pb_err_last(), "answered 422 Unprocessable Entity "
				       "(request id FAKE-1): \"Validation "
				       "Failed: field 'body' missing_field\"");
	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 401, \"body\": "
			   "{\"message\": \"Bad credentials\"}}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_EPERM);
	assert_contains(pb_err_last(), "401 Unauthorized");
	assert_contains(pb_err_last(), "check [github] token");
	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 403, \"body\": "
			   "{\"message\": \"Resource not accessible by "
			   "integration\"}}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_EPERM);
	assert_contains(pb_err_last(), "403 Forbidden");
	assert_contains(pb_err_last(), "permissions on the repository");
	assert_n_requests(3);
	assert_int_equal(W.n_sleeps, 0);
	pb_gh_free(gh);
}

/* ---- rate limits ---- */

static void test_rate_limit_retry_after_is_honoured(void **state)
{
	struct pb_gh *gh = gh_token();

	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 429, "
			   "\"retry_after\": 1}");
	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 403, "
			   "\"retry_after\": 2, \"body\": {\"message\": "
			   "\"You have exceeded a secondary rate limit\"}}");
	if (pb_gh_reaction_add(gh, "octo/ml", 5, "eyes") != PB_ENOTFOUND)
		fail_msg("%s", pb_err_last());
	assert_int_equal(W.n_sleeps, 2);
	assert_int_equal(W.sleeps[0], 1000);
	assert_int_equal(W.sleeps[1], 2000);
	assert_n_requests(3);
	pb_gh_free(gh);
}

static void test_rate_limit_waits_really_without_a_hook(void **state)
{
	struct pb_gh_opts o;
	struct pb_gh *gh;
	struct pb_gh_pr pr;
	struct timespec t0, t1;
	long ms;

	opts_for(&o);
	o.http.sleep = NULL;
	gh = gh_with(&o);
	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 403, "
			   "\"retry_after\": 1, \"reset_in\": 1}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pb_gh_pr_get(gh, &pr, "octo/ml", 7) != 0)
		fail_msg("%s", pb_err_last());
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_in_range(ms, 950, 5000);
	pb_gh_pr_release(&pr);
	assert_n_requests(2);
	pb_gh_free(gh);
}

static void test_rate_limit_reset_within_max_wait_is_waited(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_pr pr;

	ctl_post("/_fail",
		 "{\"path\": \"*\", \"status\": 403, \"reset_in\": 5, "
		 "\"body\": {\"message\": \"API rate limit "
		 "exceeded\"}}");
	if (pb_gh_pr_get(gh, &pr, "octo/ml", 7) != 0)
		fail_msg("%s", pb_err_last());
	pb_gh_pr_release(&pr);
	assert_int_equal(W.n_sleeps, 1);
	/* the reset is whole seconds away, counted from now */
	assert_in_range(W.sleeps[0], 4000, 5000);
	pb_gh_free(gh);
}

static void test_rate_limit_reset_too_far_is_eratelimit(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_pr pr;
	const char *m;

	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 403, "
			   "\"reset_in\": 3600}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_ERATELIMIT);
	m = pb_err_last();
	assert_contains(m, "GitHub API 'GET /repos/octo/ml/pulls/7': rate "
			   "limited (answered 403, request id FAKE-1): retry "
			   "after 20");
	assert_contains(m, "Z (in 3");
	assert_int_equal(W.n_sleeps, 0);
	assert_n_requests(1);

	/* a Retry-After past the wait allowed fails the same way */
	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 429, "
			   "\"retry_after\": 120}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_ERATELIMIT);
	assert_contains(pb_err_last(), "(in 120 s)");
	pb_gh_free(gh);
}

/* ---- timeouts, connections, caps ---- */

static void test_timeout_is_retried_then_fails_cleanly(void **state)
{
	struct pb_gh_opts o;
	struct pb_gh *gh;
	struct pb_gh_pr pr;

	opts_for(&o);
	o.http.timeout_ms = 300;
	o.http.max_retries = 1;
	gh = gh_with(&o);

	ctl_post("/_fail", "{\"path\": \"*\", \"hang\": 3}");
	if (pb_gh_pr_get(gh, &pr, "octo/ml", 7) != 0)
		fail_msg("one hang is retried: %s", pb_err_last());
	pb_gh_pr_release(&pr);
	assert_int_equal(W.n_sleeps, 1);

	ctl_post("/_fail", "{\"path\": \"*\", \"hang\": 3, \"count\": 2}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_ETIMEOUT);
	assert_string_equal(pb_err_last(),
			    "GitHub API 'GET /repos/octo/ml/pulls/7': no "
			    "answer within 300 ms after 2 attempts: GitHub "
			    "did not answer in time; retry later");
	assert_null(pr.head_sha);
	assert_n_requests(4);
	pb_gh_free(gh);
}

static void test_connection_refused_is_retried_then_fails(void **state)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	struct pb_gh_opts o;
	struct pb_gh *gh;
	struct pb_gh_pr pr;
	char api[64];
	int fd;

	/* a port nobody listens on: bound, then closed */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(api, sizeof(api), "http://127.0.0.1:%d", ntohs(sa.sin_port));

	opts_for(&o);
	o.api_url = api;
	o.http.max_retries = 2;
	gh = gh_with(&o);
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_ERROR);
	assert_contains(pb_err_last(), "GitHub API 'GET /repos/octo/ml/pulls/7'"
				       ": ");
	assert_contains(pb_err_last(), "after 3 attempts: check [github] "
				       "api_url and the network");
	assert_int_equal(W.n_sleeps, 2);
	pb_gh_free(gh);
}

static void test_answer_over_the_cap_is_refused(void **state)
{
	struct pb_gh_opts o;
	struct pb_gh *gh;
	struct pb_gh_pr pr;

	opts_for(&o);
	o.http.max_response = 64 * 1024;
	gh = gh_with(&o);
	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 200, "
			   "\"body_bytes\": 100000}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_ETOOBIG);
	assert_string_equal(pb_err_last(),
			    "GitHub API 'GET /repos/octo/ml/pulls/7': answer "
			    "is over the 65536-byte cap (request id FAKE-1): "
			    "the answer was refused");
	assert_n_requests(1);
	/* the default cap (8 MiB) takes it */
	pb_gh_free(gh);
	gh = gh_token();
	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 200, "
			   "\"body_bytes\": 100000}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_ERROR);
	assert_contains(pb_err_last(), "no string 'state'");
	pb_gh_free(gh);
}

static void test_sleep_hook_can_cancel_a_wait(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_pr pr;

	W.cancel = 1;
	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 503}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_ECANCELLED);
	assert_string_equal(pb_err_last(),
			    "GitHub API 'GET /repos/octo/ml/pulls/7': stopped "
			    "while waiting to retry");
	assert_n_requests(1);
	pb_gh_free(gh);
}

/* ---- the token stays secret ---- */

static char *read_all(FILE *f)
{
	struct pb_buf b = PB_BUF_INIT;
	char chunk[4096];
	size_t n;

	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(pb_buf_add(&b, chunk, n), 0);
	return pb_buf_detach(&b);
}

static void test_token_never_in_messages_or_logs(void **state)
{
	struct pb_gh *gh = gh_token();
	FILE *log = tmpfile();
	struct pb_gh_pr pr;
	json_t *all;
	char *text;
	size_t i;

	assert_non_null(log);
	pb_log_init(PB_LOG_DEBUG, log);
	/* GitHub echoing the token in its message must not leak it either */
	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 401, \"body\": "
			   "{\"message\": \"token " TOKEN " is bad\"}}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_EPERM);
	assert_null(strstr(pb_err_last(), TOKEN));
	assert_contains(pb_err_last(), "token [REDACTED] is bad");
	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 500, \"count\": 4}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), PB_ERROR);
	assert_null(strstr(pb_err_last(), TOKEN));
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 404), PB_ENOTFOUND);
	assert_null(strstr(pb_err_last(), TOKEN));
	pb_log_init(PB_LOG_INFO, NULL);

	text = read_all(log);
	fclose(log);
	assert_contains(text, "retrying in");
	assert_contains(text, "answered 404");
	assert_null(strstr(text, TOKEN));
	free(text);
	/* and yet it was sent, in the header only */
	all = requests();
	for (i = 0; i < json_array_size(all); i++) {
		json_t *r = json_array_get(all, i);

		assert_string_equal(req_header(r, "Authorization"),
				    "Bearer " TOKEN);
		assert_null(strstr(
			json_string_value(json_object_get(r, "path")), TOKEN));
	}
	json_decref(all);
	pb_gh_free(gh);
}

/* ---- GitHub App ---- */

static unsigned char *b64url_decode(const char *s, size_t len, size_t *out)
{
	struct pb_buf b = PB_BUF_INIT;
	unsigned char *raw;
	size_t i;
	int n;

	for (i = 0; i < len; i++)
		assert_int_equal(pb_buf_putc(&b, s[i] == '-' ? '+' :
						 s[i] == '_' ? '/' :
							       s[i]),
				 0);
	while (b.len % 4)
		assert_int_equal(pb_buf_putc(&b, '='), 0);
	raw = malloc(b.len);
	assert_non_null(raw);
	n = EVP_DecodeBlock(raw, (unsigned char *)b.ptr, (int)b.len);
	assert_true(n >= 0);
	*out = (size_t)n - (len % 4 == 2 ? 2 : len % 4 == 3 ? 1 : 0);
	pb_buf_release(&b);
	return raw;
}

static json_t *jwt_part(const char *jwt, int part)
{
	const char *p = jwt, *end;
	unsigned char *raw;
	size_t n;
	json_t *v;

	while (part--)
		p = strchr(p, '.') + 1;
	end = strchr(p, '.');
	raw = b64url_decode(p, end ? (size_t)(end - p) : strlen(p), &n);
	v = json_loadb((char *)raw, n, 0, NULL);
	free(raw);
	assert_non_null(v);
	return v;
}

/* 1 when the signature verifies with key's public half. */
static int jwt_verifies(const char *jwt, EVP_PKEY *key)
{
	const char *dot = strrchr(jwt, '.');
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig;
	size_t n;
	int ok;

	sig = b64url_decode(dot + 1, strlen(dot + 1), &n);
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestVerify(md, sig, n, (const unsigned char *)jwt,
			      (size_t)(dot - jwt)) == 1;
	EVP_MD_CTX_free(md);
	free(sig);
	return ok;
}

static void test_app_jwt_verifies_with_the_public_key(void **state)
{
	EVP_PKEY *other = EVP_RSA_gen(2048);
	json_t *h, *c;
	char *jwt;
	const char *p;
	int dots = 0;

	if (pb_gh_app_jwt(&jwt, APP_ID, W.pem, 1700000000) != 0)
		fail_msg("%s", pb_err_last());
	for (p = jwt; *p; p++) {
		dots += *p == '.';
		/* base64url, no padding */
		assert_true(*p == '.' || *p == '-' || *p == '_' ||
			    (*p >= '0' && *p <= '9') ||
			    (*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z'));
	}
	assert_int_equal(dots, 2);
	h = jwt_part(jwt, 0);
	c = jwt_part(jwt, 1);
	assert_json_equal(h, "{\"alg\": \"RS256\", \"typ\": \"JWT\"}");
	assert_json_equal(c, "{\"iat\": 1699999940, \"exp\": 1700000540, "
			     "\"iss\": 12345}");
	assert_true(jwt_verifies(jwt, W.key));
	assert_false(jwt_verifies(jwt, other));
	json_decref(h);
	json_decref(c);
	free(jwt);

	/* a client id is a string issuer */
	assert_int_equal(pb_gh_app_jwt(&jwt, "Iv1.8a61f9b3a7aba766", W.pem,
				       1700000000),
			 0);
	c = jwt_part(jwt, 1);
	assert_string_equal(json_string_value(json_object_get(c, "iss")),
			    "Iv1.8a61f9b3a7aba766");
	json_decref(c);
	free(jwt);
	EVP_PKEY_free(other);
}

static void test_app_jwt_refuses_bad_keys_without_quoting_them(void **state)
{
	static const char junk[] = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS"
				   "1ieXRlcw==\n-----END PRIVATE KEY-----\n";
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	struct pb_gh_opts o;
	struct pb_gh *gh;
	char *jwt = NULL, *pem;

	assert_int_equal(pb_gh_app_jwt(&jwt, APP_ID, junk, 1700000000),
			 PB_EINVAL);
	assert_null(jwt);
	assert_contains(pb_err_last(), "[github] private_key is not a PEM "
				       "private key");
	assert_null(strstr(pb_err_last(), "c2VjcmV0"));

	pem = key_pem(ec);
	assert_int_equal(pb_gh_app_jwt(&jwt, APP_ID, pem, 1700000000),
			 PB_EINVAL);
	assert_string_equal(pb_err_last(), "[github] private_key is not an "
					   "RSA key: GitHub Apps sign with "
					   "RS256");
	/* found at start-up, not at the first job */
	opts_for(&o);
	o.token = NULL;
	o.app_id = APP_ID;
	o.private_key = junk;
	assert_int_equal(pb_gh_new(&gh, &o), PB_EINVAL);
	assert_null(gh);
	free(pem);
	EVP_PKEY_free(ec);
}

static void assert_app_request(json_t *all, size_t i, const char *method,
			       const char *path)
{
	json_t *r = assert_request(all, i, method, path);
	const char *auth = req_header(r, "Authorization");
	json_t *c;

	assert_non_null(auth);
	assert_true(!strncmp(auth, "Bearer ", 7));
	assert_true(jwt_verifies(auth + 7, W.key));
	c = jwt_part(auth + 7, 1);
	assert_int_equal(json_integer_value(json_object_get(c, "iss")), 12345);
	json_decref(c);
}

static void test_app_token_is_exchanged_once_and_cached(void **state)
{
	struct pb_gh *gh = gh_app();
	struct pb_gh_pr pr;
	json_t *all;
	char *tok;

	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), 0);
	pb_gh_pr_release(&pr);
	if (pb_gh_pr_get(gh, &pr, "octo/ml", 7) != 0)
		fail_msg("%s", pb_err_last());
	pb_gh_pr_release(&pr);
	/* the same token clones */
	assert_int_equal(pb_gh_token(gh, &tok, "octo/ml"), 0);
	assert_string_equal(tok, "fake-inst-42-1");
	pb_gh_token_free(tok);

	all = requests();
	assert_int_equal(json_array_size(all), 4);
	assert_app_request(all, 0, "GET", "/repos/octo/ml/installation");
	assert_app_request(all, 1, "POST",
			   "/app/installations/42/access_tokens");
	assert_string_equal(req_header(assert_request(all, 2, "GET",
						      "/repos/octo/ml/pulls/7"),
				       "Authorization"),
			    "Bearer fake-inst-42-1");
	assert_string_equal(req_header(assert_request(all, 3, "GET",
						      "/repos/octo/ml/pulls/7"),
				       "Authorization"),
			    "Bearer fake-inst-42-1");
	json_decref(all);
	pb_gh_free(gh);
}

static void test_app_token_near_expiry_is_renewed(void **state)
{
	struct pb_gh *gh = gh_app();
	struct pb_gh_pr pr;
	json_t *all;

	/* expires in 200 s: inside the 5-minute margin at once */
	ctl_post("/_fixture", "{\"token_ttl\": 200}");
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), 0);
	pb_gh_pr_release(&pr);
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 7), 0);
	pb_gh_pr_release(&pr);
	ctl_post("/_fixture", "{\"token_ttl\": 3600}");

	all = requests();
	assert_int_equal(json_array_size(all), 5);
	assert_app_request(all, 0, "GET", "/repos/octo/ml/installation");
	assert_app_request(all, 1, "POST",
			   "/app/installations/42/access_tokens");
	/* the installation is remembered; only the token is renewed */
	assert_app_request(all, 3, "POST",
			   "/app/installations/42/access_tokens");
	assert_string_equal(req_header(json_array_get(all, 4), "Authorization"),
			    "Bearer fake-inst-42-2");
	json_decref(all);
	pb_gh_free(gh);
}

static void test_app_not_installed_names_the_repository(void **state)
{
	struct pb_gh *gh = gh_app();
	struct pb_gh_pr pr;

	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/other", 1), PB_ENOTFOUND);
	assert_contains(pb_err_last(), "GitHub App 12345 is not installed on "
				       "'octo/other' (install it there): "
				       "GitHub API 'GET /repos/octo/other/"
				       "installation': answered 404");
	pb_gh_free(gh);
}

struct worker {
	struct pb_gh *gh;
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct pb_gh_pr pr;
	int i;

	for (i = 0; i < 5; i++) {
		if (pb_gh_pr_get(w->gh, &pr, "octo/ml", 7) != 0)
			w->failures++;
		else
			pb_gh_pr_release(&pr);
	}
	return NULL;
}

static void test_app_client_serves_several_threads(void **state)
{
	struct pb_gh *gh = gh_app();
	struct worker w[4];
	pthread_t t[4];
	json_t *all;
	size_t i, tokens = 0;

	for (i = 0; i < 4; i++) {
		w[i].gh = gh;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
				 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	all = requests();
	for (i = 0; i < json_array_size(all); i++)
		tokens += !strcmp(json_string_value(json_object_get(
					  json_array_get(all, i), "path")),
				  "/app/installations/42/access_tokens");
	/* at most one exchange per thread that raced for the first one */
	assert_in_range(tokens, 1, 4);
	json_decref(all);
	pb_gh_free(gh);
}

/* ---- arguments ---- */

struct auth_case {
	const char *token, *app_id, *key;
	const char *want;
};

static void test_new_refuses_missing_or_double_credentials(void **state)
{
	const struct auth_case cases[] = {
		{ NULL, NULL, NULL,
		  "[github] needs token, or app_id and "
		  "private_key" },
		{ "", "", "", "[github] needs token" },
		{ TOKEN, APP_ID, W.pem, "[github] has both token and app_id" },
		{ NULL, NULL, W.pem,
		  "[github] private_key is set but app_id "
		  "is not" },
		{ NULL, APP_ID, NULL,
		  "[github] app_id is set but private_key "
		  "is not" },
	};
	struct pb_gh_opts o;
	struct pb_gh *gh;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		opts_for(&o);
		o.token = cases[i].token;
		o.app_id = cases[i].app_id;
		o.private_key = cases[i].key;
		assert_int_equal(pb_gh_new(&gh, &o), PB_EINVAL);
		assert_null(gh);
		assert_contains(pb_err_last(), cases[i].want);
	}
	opts_for(&o);
	o.api_url = "ftp://example.com";
	assert_int_equal(pb_gh_new(&gh, &o), PB_EINVAL);
	assert_contains(pb_err_last(), "[github] api_url 'ftp://example.com' "
				       "is not an http(s) URL");
}

static void test_bad_arguments_are_refused_before_any_request(void **state)
{
	static const char *const repos[] = {
		"octo", "octo/ml/x", "../ml",	 "octo/..", "",
		"/ml",	"octo/",     "oc to/ml", "octo/m?l"
	};
	struct pb_gh *gh = gh_token();
	struct pb_gh_pr pr;
	enum pb_perm p;
	size_t i;

	for (i = 0; i < sizeof(repos) / sizeof(repos[0]); i++) {
		assert_int_equal(pb_gh_pr_get(gh, &pr, repos[i], 1), PB_EINVAL);
		assert_contains(pb_err_last(), "is not OWNER/NAME");
	}
	assert_int_equal(pb_gh_pr_get(gh, &pr, "octo/ml", 0), PB_EINVAL);
	assert_int_equal(pb_gh_permission(gh, &p, "octo/ml", ""), PB_EINVAL);
	assert_int_equal(pb_gh_status_create(gh, "octo/ml", "main",
					     PB_GH_SUCCESS, "evaluate", NULL,
					     NULL),
			 PB_EINVAL);
	assert_contains(pb_err_last(), "commit 'main' is not a full "
				       "hexadecimal SHA");
	assert_int_equal(pb_gh_label_remove(gh, "octo/ml", 7, ""), PB_EINVAL);
	assert_int_equal(pb_gh_comment_minimize(gh, "octo/ml", ""), PB_EINVAL);
	assert_n_requests(0);
	pb_gh_free(gh);
}

static void test_http_request_keeps_the_selected_headers(void **state)
{
	struct pb_http_response r = PB_HTTP_RESPONSE_INIT;
	struct pb_http_request q = { "GET", NULL, NULL, TOKEN, NULL, 0 };
	char url[128];

	ctl_post("/_fail", "{\"path\": \"*\", \"status\": 201, \"body\": "
			   "{\"ok\": true}, \"headers\": {\"Location\": "
			   "\"https://x/1\", \"Link\": \"<https://x/2>; "
			   "rel=\\\"next\\\"\", \"X-RateLimit-Reset\": "
			   "\"1700000000\", \"X-RateLimit-Remaining\": \"17\", "
			   "\"Retry-After\": \"3\"}}");
	snprintf(url, sizeof(url), "%s/anything", W.fake.base);
	q.url = url;
	if (pb_http_request(W.fake.ctl, &r, &q) != 0)
		fail_msg("%s", pb_err_last());
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body.ptr, "{\"ok\": true}");
	assert_string_equal(r.request_id, "FAKE-1");
	assert_string_equal(r.location, "https://x/1");
	assert_string_equal(r.link, "<https://x/2>; rel=\"next\"");
	assert_int_equal(r.ratelimit_remaining, 17);
	assert_int_equal(r.ratelimit_reset, 1700000000);
	assert_int_equal(r.retry_after, 3);
	assert_int_equal(r.attempts, 1);
	pb_http_response_release(&r);

	/* a method it does not know, a URL that is not http(s): no request */
	q.method = "TRACE";
	assert_int_equal(pb_http_request(W.fake.ctl, &r, &q), PB_EINVAL);
	assert_contains(pb_err_last(), "HTTP method 'TRACE' is not supported");
	pb_http_response_release(&r);
	q.method = "GET";
	q.url = "file:///etc/passwd?" TOKEN;
	assert_int_equal(pb_http_request(W.fake.ctl, &r, &q), PB_EINVAL);
	assert_contains(pb_err_last(), "is not an http(s) URL");
	assert_null(strstr(pb_err_last(), TOKEN));
	pb_http_response_release(&r);
	assert_n_requests(1);
}

struct link_case {
	const char *link;
	const char *want; /* NULL: no next page */
};

static const struct link_case link_cases[] = {
	{ "<https://api.github.com/x?page=2>; rel=\"next\", "
	  "<https://api.github.com/x?page=5>; rel=\"last\"",
	  "https://api.github.com/x?page=2" },
	{ "<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=3>; "
	  "rel=\"next\"",
	  "https://a/x?page=3" },
	{ "<https://a/x?page=1>; rel=\"first\", <https://a/x?page=1>; "
	  "rel=\"prev\"",
	  NULL },
	{ "<https://a/y>; rel=next", "https://a/y" },
	{ "<https://a/z>; rel=\"prev next\"", "https://a/z" },
	{ "<https://a/n>; rel=\"nextpage\"", NULL },
	{ "", NULL },
	{ "garbage", NULL },
};

static void test_link_next_finds_the_next_page(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(link_cases) / sizeof(link_cases[0]); i++) {
		char *got = pb_http_link_next(link_cases[i].link);

		if (!link_cases[i].want) {
			if (got)
				fail_msg("'%s': got '%s', want none",
					 link_cases[i].link, got);
		} else if (!got || strcmp(got, link_cases[i].want)) {
			fail_msg("'%s': got '%s', want '%s'",
				 link_cases[i].link, got ? got : "(none)",
				 link_cases[i].want);
		}
		free(got);
	}
}

/* ---- reviews, checks, deployments (/deploy) ---- */

static void test_reviews_list_reads_login_and_state(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_reviews l;
	json_t *all;

	ctl_post(
		"/_fixture",
		"{\"reviews\": {\"octo/ml#7\": ["
		"{\"user\": {\"login\": \"bob\"}, \"state\": \"COMMENTED\"},"
		"{\"user\": {\"login\": \"bob\"}, \"state\": \"APPROVED\"}]}}");
	if (pb_gh_reviews_list(gh, &l, "octo/ml", 7) != 0)
		fail_msg("%s", pb_err_last());
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].user_login, "bob");
	assert_string_equal(l.v[0].state, "COMMENTED");
	assert_string_equal(l.v[1].state, "APPROVED");
	pb_gh_reviews_release(&l);
	assert_int_equal(pb_gh_reviews_list(gh, &l, "octo/ml", 8), 0);
	assert_int_equal(l.n, 0);
	all = requests();
	assert_token_request(all, 0, "GET",
			     "/repos/octo/ml/pulls/7/reviews?per_page=100");
	json_decref(all);
	pb_gh_free(gh);
}

static void test_checks_list_joins_statuses_and_runs(void **state)
{
	struct pb_gh *gh = gh_token();
	struct pb_gh_checks l;
	json_t *all;

	ctl_post("/_fixture",
		 "{\"statuses\": {\"octo/ml@" SHA7 "\": ["
		 "{\"context\": \"ci/test\", \"state\": \"pending\"},"
		 "{\"context\": \"ci/test\", \"state\": \"success\"}]},"
		 "\"check_runs\": {\"octo/ml@" SHA7 "\": ["
		 "{\"name\": \"lint\", \"status\": \"completed\","
		 " \"conclusion\": \"neutral\"},"
		 "{\"name\": \"build\", \"status\": \"in_progress\","
		 " \"conclusion\": null},"
		 "{\"name\": \"docs\", \"status\": \"completed\","
		 " \"conclusion\": \"timed_out\"}]}}");
	if (pb_gh_checks_list(gh, &l, "octo/ml", SHA7) != 0)
		fail_msg("%s", pb_err_last());
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].name, "ci/test"); /* the latest only */
	assert_string_equal(l.v[0].state, "success");
	assert_false(l.v[0].is_run);
	assert_string_equal(l.v[1].name, "lint");
	assert_string_equal(l.v[1].state, "success");
	assert_true(l.v[1].is_run);
	assert_string_equal(l.v[2].state, "pending");
	assert_string_equal(l.v[3].state, "timed_out");
	pb_gh_checks_release(&l);
	all = requests();
	assert_token_request(all, 0, "GET",
			     "/repos/octo/ml/commits/" SHA7
			     "/status?per_page=100");
	assert_token_request(all, 1, "GET",
			     "/repos/octo/ml/commits/" SHA7
			     "/check-runs?per_page=100");
	json_decref(all);
	pb_gh_free(gh);
}

static void test_deployment_create_then_statuses(void **state)
{
	struct pb_gh *gh = gh_token();
	long long id = 0;
	json_t *all, *r;

	if (pb_gh_deployment_create(gh, &id, "octo/ml", SHA7, "staging",
				    "prbot j-1") != 0)
		fail_msg("%s", pb_err_last());
	assert_true(id > 0);
	assert_int_equal(pb_gh_deployment_status(gh, "octo/ml", id,
						 "in_progress",
						 "https://log.example/1", NULL),
			 0);
	assert_int_equal(pb_gh_deployment_status(gh, "octo/ml", id, "success",
						 NULL, "deployed v0.0.1"),
			 0);
	assert_int_equal(pb_gh_deployment_status(gh, "octo/ml", id, "done",
						 NULL, NULL),
			 PB_EINVAL);
	assert_int_equal(pb_gh_deployment_status(gh, "octo/ml", id + 99,
						 "success", NULL, NULL),
			 PB_ENOTFOUND);
	all = requests();
	r = assert_token_request(all, 0, "POST", "/repos/octo/ml/deployments");
	assert_json_equal(json_object_get(r, "json"),
			  "{\"ref\": \"" SHA7 "\", \"environment\": "
			  "\"staging\", \"auto_merge\": false, "
			  "\"required_contexts\": [], \"description\": "
			  "\"prbot j-1\"}");
	r = assert_token_request(all, 1, "POST",
				 json_string_value(json_object_get(
					 json_array_get(all, 1), "path")));
	assert_json_equal(json_object_get(r, "json"),
			  "{\"state\": \"in_progress\", \"log_url\": "
			  "\"https://log.example/1\"}");
	r = json_array_get(all, 2);
	assert_json_equal(json_object_get(r, "json"),
			  "{\"state\": \"success\", \"description\": "
			  "\"deployed v0.0.1\"}");
	assert_int_equal(json_array_size(all), 4); /* "done" never sent */
	json_decref(all);
	pb_gh_free(gh);
}

#define T(f) cmocka_unit_test_setup(f, test_setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_pr_get_reads_head_base_and_author),
		T(test_pr_get_tells_forks_and_deleted_forks),
		T(test_pr_get_missing_is_enotfound_and_not_retried),
		T(test_pr_get_without_head_sha_names_the_field),
		T(test_permission_maps_role_name_then_permission),
		T(test_permission_unknown_level_is_an_error),
		T(test_comment_create_returns_id_and_url),
		T(test_comment_update_patches_the_body),
		T(test_comments_list_follows_link_pages),
		T(test_comments_list_stops_at_max_pages),
		T(test_comments_list_refuses_a_next_page_on_another_host),
		T(test_reaction_add_posts_each_content),
		T(test_status_create_sends_context_and_target),
		T(test_status_description_is_cut_to_140_characters),
		T(test_label_remove_escapes_the_name),
		T(test_minimize_posts_graphql_outdated),
		T(test_minimize_unknown_node_is_enotfound),
		T(test_graphql_url_for_github_and_enterprise),
		T(test_retries_500_and_502_then_succeeds),
		T(test_gives_up_naming_status_and_request_id),
		T(test_client_errors_are_not_retried),
		T(test_rate_limit_retry_after_is_honoured),
		T(test_rate_limit_waits_really_without_a_hook),
		T(test_rate_limit_reset_within_max_wait_is_waited),
		T(test_rate_limit_reset_too_far_is_eratelimit),
		T(test_timeout_is_retried_then_fails_cleanly),
		T(test_connection_refused_is_retried_then_fails),
		T(test_answer_over_the_cap_is_refused),
		T(test_sleep_hook_can_cancel_a_wait),
		T(test_token_never_in_messages_or_logs),
		T(test_app_jwt_verifies_with_the_public_key),
		T(test_app_jwt_refuses_bad_keys_without_quoting_them),
		T(test_app_token_is_exchanged_once_and_cached),
		T(test_app_token_near_expiry_is_renewed),
		T(test_app_not_installed_names_the_repository),
		T(test_app_client_serves_several_threads),
		T(test_new_refuses_missing_or_double_credentials),
		T(test_bad_arguments_are_refused_before_any_request),
		T(test_http_request_keeps_the_selected_headers),
		T(test_link_next_finds_the_next_page),
		T(test_reviews_list_reads_login_and_state),
		T(test_checks_list_joins_statuses_and_runs),
		T(test_deployment_create_then_statuses),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
