/* gh.c: GitHub endpoints as thin wrappers over one request, and their auth */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "prbot/err.h"
#include "prbot/gh.h"
#include "banned.h"

#define PER_PAGE      100
#define PAGES_DEFAULT 10
#define TOKEN_MARGIN  300  /* refresh installation tokens 5 minutes early */
#define TOKEN_LIFE    3600 /* when GitHub leaves out expires_at */
#define DESC_MAX      140  /* GitHub's limit on a status description */

static const char *const api_headers[] = {
	"Accept: application/vnd.github+json",
	"X-GitHub-Api-Version: 2022-11-28",
	NULL,
};

struct inst_token {
	long long id;
	char *token; /* owned, wiped when freed */
	time_t refresh_at;
};

struct repo_inst {
	char *repo; /* owned */
	long long id;
};

struct pb_gh {
	struct pb_http_client *http;
	char *api_url; /* owned, no trailing slash */
	char *graphql_url;
	char *origin; /* scheme://host:port of api_url */
	char *token;  /* owned, wiped when freed; NULL for an App */
	char *app_id;
	char *private_key; /* owned, wiped when freed */
	time_t (*now)(void *arg);
	void *hook_arg;
	pthread_mutex_t lock; /* guards tokens and repos */
	struct inst_token *tokens;
	size_t n_tokens;
	struct repo_inst *repos;
	size_t n_repos;
};

/* One call: the request made, and GitHub's answer. */
struct gh_call {
	const char *method;
	struct pb_buf path; /* path and query under api_url */
	json_t *body;	    /* owned: what is sent, or NULL */
	json_t *answer;	    /* owned: parsed answer, or NULL when empty */
	struct pb_http_response resp;
};

#define GH_CALL_INIT(m)                                             \
	{                                                           \
		(m), PB_BUF_INIT, NULL, NULL, PB_HTTP_RESPONSE_INIT \
	}

static void call_release(struct gh_call *k)
{
	pb_buf_release(&k->path);
	json_decref(k->body);
	json_decref(k->answer);
	pb_http_response_release(&k->resp);
	k->body = NULL;
	k->answer = NULL;
}

static void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void pb_gh_token_free(char *token)
{
	secret_free(token);
}

static time_t gh_now(const struct pb_gh *gh)
{
	return gh->now ? gh->now(gh->hook_arg) : time(NULL);
}

void pb_gh_opts_init(struct pb_gh_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->api_url = "https://api.github.com";
	pb_http_opts_init(&o->http);
}

void pb_gh_opts_from_config(struct pb_gh_opts *o, const struct pb_config *c)
{
	pb_gh_opts_init(o);
	if (c->github.api_url)
		o->api_url = c->github.api_url;
	o->token = c->github.token.value;
	o->app_id = c->github.app_id;
	o->private_key = c->github.private_key.value;
}

/* ---- URLs ---- */

/* Append the path and query of url, for messages. */
static int url_path_add(struct pb_buf *b, const char *url)
{
	char *path;
	int rc;

	if (pb_http_url_split(url, NULL, &path) < 0)
		return pb_buf_puts(b, "?");
	rc = pb_buf_puts(b, path);
	free(path);
	return rc;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && !strcmp(s + n - m, tail);
}

/* GitHub Enterprise serves REST under /api/v3 and GraphQL at /api/graphql. */
static int urls_set(struct pb_gh *gh, const char *api_url)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t n = strlen(api_url);

	while (n && api_url[n - 1] == '/')
		n--;
	if (pb_buf_add(&b, api_url, n) < 0)
		return -1;
	gh->api_url = pb_buf_detach(&b);
	if (ends_with(gh->api_url, "/api/v3")) {
		n = strlen(gh->api_url) - strlen("/v3");
		if (pb_buf_add(&b, gh->api_url, n) < 0 ||
		    pb_buf_puts(&b, "/graphql") < 0)
			return -1;
	} else if (pb_buf_printf(&b, "%s/graphql", gh->api_url) < 0) {
		return -1;
	}
	gh->graphql_url = pb_buf_detach(&b);
	if (pb_http_url_split(gh->api_url, &gh->origin, NULL) < 0)
		return pb_err_setc(PB_EINVAL,
				   "[github] api_url '%s' is not an http(s) "
				   "URL: use https://api.github.com or "
				   "https://HOST/api/v3",
				   gh->api_url);
	return 0;
}

const char *pb_gh_graphql_url(const struct pb_gh *gh)
{
	return gh->graphql_url;
}

/* ---- the client ---- */

static int auth_check(const struct pb_gh_opts *o)
{
	int app = (o->app_id && *o->app_id) ||
		  (o->private_key && *o->private_key);

	if (o->token && *o->token && app)
		return pb_err_setc(PB_EINVAL,
				   "[github] has both token and app_id/"
				   "private_key: keep one way to authenticate");
	if (!app && !(o->token && *o->token))
		return pb_err_setc(PB_EINVAL,
				   "[github] needs token, or app_id and "
				   "private_key: see bot.conf.example");
	if (app && !(o->app_id && *o->app_id))
		return pb_err_setc(PB_EINVAL, "[github] private_key is set "
					      "but app_id is not: give the "
					      "App's id");
	if (app && !(o->private_key && *o->private_key))
		return pb_err_setc(PB_EINVAL,
				   "[github] app_id is set but private_key is "
				   "not: give the App's private key (env:NAME "
				   "or file:PATH)");
	return 0;
}

int pb_gh_new(struct pb_gh **out, const struct pb_gh_opts *o)
{
	struct pb_gh *gh;
	char *jwt = NULL;
	int rc;

	*out = NULL;
	if ((rc = auth_check(o)) < 0)
		return rc;
	if (!(gh = calloc(1, sizeof(*gh))))
		return pb_err_set("out of memory");
	pthread_mutex_init(&gh->lock, NULL);
	gh->now = o->http.now;
	gh->hook_arg = o->http.hook_arg;
	if ((rc = pb_http_client_new(&gh->http, &o->http)) < 0)
		goto out;
	if ((rc = urls_set(gh, o->api_url ? o->api_url :
					    "https://api.github.com")) < 0)
		goto out;
	if (o->token && *o->token) {
		if (!(gh->token = strdup(o->token)))
			goto oom;
	} else {
		gh->app_id = strdup(o->app_id);
		gh->private_key = strdup(o->private_key);
		if (!gh->app_id || !gh->private_key)
			goto oom;
		/* a bad key is a start-up error, not a failed job later */
		if ((rc = pb_gh_app_jwt(&jwt, gh->app_id, gh->private_key,
					gh_now(gh))) < 0)
			goto out;
		free(jwt);
	}
	*out = gh;
	return 0;
oom:
	rc = pb_err_set("out of memory");
out:
	pb_gh_free(gh);
	return rc;
}

void pb_gh_free(struct pb_gh *gh)
{
	size_t i;

	if (!gh)
		return;
	for (i = 0; i < gh->n_tokens; i++)
		secret_free(gh->tokens[i].token);
	free(gh->tokens);
	for (i = 0; i < gh->n_repos; i++)
		free(gh->repos[i].repo);
	free(gh->repos);
	pthread_mutex_destroy(&gh->lock);
	secret_free(gh->private_key);
	free(gh->app_id);
	secret_free(gh->token);
	free(gh->origin);
	free(gh->graphql_url);
	free(gh->api_url);
	pb_http_client_free(gh->http);
	free(gh);
}

/* ---- arguments that become paths ---- */

static int name_ok(const char *s, size_t n, const char *extra)
{
	size_t i;

	if (!n || (n <= 2 && !strncmp(s, "..", n)))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return 0;
	return 1;
}

static int repo_check(const char *repo)
{
	const char *slash = repo ? strchr(repo, '/') : NULL;

	if (!slash || !name_ok(repo, (size_t)(slash - repo), "-_.") ||
	    !name_ok(slash + 1, strlen(slash + 1), "-_."))
		return pb_err_setc(PB_EINVAL,
				   "repository '%s' is not OWNER/NAME",
				   repo ? repo : "");
	return 0;
}

static int number_check(const char *what, long long n)
{
	if (n <= 0)
		return pb_err_setc(PB_EINVAL,
				   "%s %lld is not a positive number", what, n);
	return 0;
}

static int sha_check(const char *sha)
{
	size_t n = sha ? strlen(sha) : 0, i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)sha[i]))
			break;
	if ((n != 40 && n != 64) || i != n)
		return pb_err_setc(PB_EINVAL,
				   "commit '%s' is not a full hexadecimal SHA",
				   sha ? sha : "");
	return 0;
}

/* ---- JSON answers ---- */

/* The value at a dotted path ("head.repo.clone_url"), or NULL. */
static json_t *jget(json_t *v, const char *path)
{
	char key[64];
	size_t n;

	while (v && *path) {
		n = strcspn(path, ".");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		v = json_object_get(v, key);
		path += n + (path[n] == '.');
	}
	return v;
}

static const char *request_id(const struct gh_call *k)
{
	return k->resp.request_id ? k->resp.request_id : "none";
}

static int answer_bad(const struct gh_call *k, const char *field,
		      const char *kind)
{
	return pb_err_setc(PB_ERROR,
			   "GitHub API '%s %s': answer has no %s '%s' (request "
			   "id %s): check [github] api_url points at GitHub's "
			   "REST API",
			   k->method, pb_buf_cstr(&k->path), kind, field,
			   request_id(k));
}

/* Copy the string at path into *out; a missing optional one is NULL. */
static int jdup(char **out, const struct gh_call *k, json_t *v,
		const char *path, int required)
{
	json_t *s = jget(v, path);

	*out = NULL;
	if (!json_is_string(s))
		return required ? answer_bad(k, path, "string") : 0;
	if (!(*out = strdup(json_string_value(s))))
		return pb_err_set("out of memory");
	return 0;
}

static int jid(long long *out, const struct gh_call *k, json_t *v,
	       const char *path)
{
	json_t *n = jget(v, path);

	if (!json_is_integer(n) || json_integer_value(n) <= 0)
		return answer_bad(k, path, "number");
	*out = json_integer_value(n);
	return 0;
}

/* ---- sending ---- */

static int call_send(struct pb_gh *gh, struct gh_call *k, const char *bearer,
		     const char *url)
{
	struct pb_http_request req = { k->method, url,	api_headers,
				       bearer,	  NULL, 0 };
	char *text = NULL;
	json_error_t e;
	int rc;

	if (k->body && !(text = json_dumps(k->body, JSON_COMPACT)))
		return pb_err_set("out of memory");
	req.body = text;
	rc = pb_http_request(gh->http, &k->resp, &req);
	free(text);
	if (rc < 0 || !k->resp.body.len)
		return rc;
	k->answer = json_loadb(k->resp.body.ptr, k->resp.body.len, 0, &e);
	if (!k->answer)
		return pb_err_setc(PB_ERROR,
				   "GitHub API '%s %s': answer is not JSON "
				   "(request id %s): %s at byte %d",
				   k->method, pb_buf_cstr(&k->path),
				   request_id(k), e.text, e.position);
	return 0;
}

/* Send k with the App's JWT (App endpoints), to api_url + path. */
static int call_as_app(struct pb_gh *gh, struct gh_call *k)
{
	struct pb_buf url = PB_BUF_INIT;
	char *jwt = NULL;
	int rc;

	if ((rc = pb_gh_app_jwt(&jwt, gh->app_id, gh->private_key,
				gh_now(gh))) < 0)
		return rc;
	if ((rc = pb_buf_printf(&url, "%s%s", gh->api_url,
				pb_buf_cstr(&k->path))) == 0)
		rc = call_send(gh, k, jwt, url.ptr);
	pb_buf_release(&url);
	secret_free(jwt);
	return rc;
}

/* Send k with repo's token to url (api_url + path when NULL). */
static int call_run_url(struct pb_gh *gh, struct gh_call *k, const char *repo,
			const char *url)
{
	struct pb_buf u = PB_BUF_INIT;
	char *token = NULL;
	int rc;

	if ((rc = pb_gh_token(gh, &token, repo)) < 0)
		return rc;
	if (!url) {
		if ((rc = pb_buf_printf(&u, "%s%s", gh->api_url,
					pb_buf_cstr(&k->path))) < 0)
			goto out;
		url = u.ptr;
	}
	rc = call_send(gh, k, token, url);
out:
	pb_buf_release(&u);
	secret_free(token);
	return rc;
}

static int call_run(struct pb_gh *gh, struct gh_call *k, const char *repo)
{
	return call_run_url(gh, k, repo, NULL);
}

/* ---- App installation tokens ---- */

static struct repo_inst *repo_find(struct pb_gh *gh, const char *repo)
{
	size_t i;

	for (i = 0; i < gh->n_repos; i++)
		if (!strcasecmp(gh->repos[i].repo, repo))
			return &gh->repos[i];
	return NULL;
}

static struct inst_token *token_find(struct pb_gh *gh, long long id)
{
	size_t i;

	for (i = 0; i < gh->n_tokens; i++)
		if (gh->tokens[i].id == id)
			return &gh->tokens[i];
	return NULL;
}

/*
 * A fresh cached token for repo into *out (1), or 0 with *id set to its
 * installation when known (0 when not). Takes the lock.
 */
static int cache_lookup(struct pb_gh *gh, char **out, long long *id,
			const char *repo)
{
	struct repo_inst *r;
	struct inst_token *t;
	int rc = 0;

	*out = NULL;
	*id = 0;
	pthread_mutex_lock(&gh->lock);
	if ((r = repo_find(gh, repo))) {
		*id = r->id;
		t = token_find(gh, r->id);
		if (t && gh_now(gh) < t->refresh_at) {
			*out = strdup(t->token);
			rc = *out ? 1 : pb_err_set("out of memory");
		}
	}
	pthread_mutex_unlock(&gh->lock);
	return rc;
}

static int cache_repo(struct pb_gh *gh, const char *repo, long long id)
{
	struct repo_inst *v, *r;
	int rc = 0;

	pthread_mutex_lock(&gh->lock);
	if ((r = repo_find(gh, repo))) {
		r->id = id;
		goto out;
	}
	v = realloc(gh->repos, (gh->n_repos + 1) * sizeof(*v));
	if (!v) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	gh->repos = v;
	if (!(v[gh->n_repos].repo = strdup(repo))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	v[gh->n_repos++].id = id;
out:
	pthread_mutex_unlock(&gh->lock);
	return rc;
}

/* Keep a copy of token for installation id; replaces an older one. */
static int cache_token(struct pb_gh *gh, long long id, const char *token,
		       time_t refresh_at)
{
	struct inst_token *t, *v;
	char *copy = strdup(token);
	int rc = 0;

	if (!copy)
		return pb_err_set("out of memory");
	pthread_mutex_lock(&gh->lock);
	if (!(t = token_find(gh, id))) {
		v = realloc(gh->tokens, (gh->n_tokens + 1) * sizeof(*v));
		if (!v) {
			secret_free(copy);
			rc = pb_err_set("out of memory");
			goto out;
		}
		gh->tokens = v;
		t = &v[gh->n_tokens++];
		t->id = id;
		t->token = NULL;
	}
	secret_free(t->token);
	t->token = copy;
	t->refresh_at = refresh_at;
out:
	pthread_mutex_unlock(&gh->lock);
	return rc;
}

/* GET /repos/{repo}/installation, as the App. */
static int installation_find(struct pb_gh *gh, long long *id, const char *repo)
{
	struct gh_call k = GH_CALL_INIT("GET");
	int rc;

	if ((rc = pb_buf_printf(&k.path, "/repos/%s/installation", repo)) < 0 ||
	    (rc = call_as_app(gh, &k)) < 0 ||
	    (rc = jid(id, &k, k.answer, "id")) < 0)
		goto out;
	rc = cache_repo(gh, repo, *id);
out:
	if (rc == PB_ENOTFOUND)
		pb_err_prefix(rc,
			      "GitHub App %s is not installed on '%s' "
			      "(install it there)",
			      gh->app_id, repo);
	call_release(&k);
	return rc;
}

/* expires_at is "YYYY-MM-DDTHH:MM:SSZ"; an hour when unreadable. */
static time_t expiry_parse(const char *s, time_t now)
{
	struct tm tm;
	char z = 0;

	memset(&tm, 0, sizeof(tm));
	if (!s ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
	    z != 'Z')
		return now + TOKEN_LIFE;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* POST /app/installations/{id}/access_tokens, as the App. */
static int installation_token(struct pb_gh *gh, char **out, long long id)
{
	struct gh_call k = GH_CALL_INIT("POST");
	char *expires = NULL;
	int rc;

	*out = NULL;
	if ((rc = pb_buf_printf(&k.path,
				"/app/installations/%lld/access_tokens", id)) <
		    0 ||
	    (rc = call_as_app(gh, &k)) < 0 ||
	    (rc = jdup(out, &k, k.answer, "token", 1)) < 0 ||
	    (rc = jdup(&expires, &k, k.answer, "expires_at", 0)) < 0)
		goto out;
	rc = cache_token(gh, id, *out,
			 expiry_parse(expires, gh_now(gh)) - TOKEN_MARGIN);
out:
	if (rc < 0) {
		secret_free(*out);
		*out = NULL;
	}
	free(expires);
	call_release(&k);
	return rc;
}

int pb_gh_token(struct pb_gh *gh, char **out, const char *repo)
{
	long long id;
	int rc;

	*out = NULL;
	if ((rc = repo_check(repo)) < 0)
		return rc;
	if (gh->token) {
		if (!(*out = strdup(gh->token)))
			return pb_err_set("out of memory");
		return 0;
	}
	if ((rc = cache_lookup(gh, out, &id, repo)) != 0)
		return rc < 0 ? rc : 0;
	if (!id && (rc = installation_find(gh, &id, repo)) < 0)
		return rc;
	return installation_token(gh, out, id);
}

/* ---- pull requests and permissions ---- */

int pb_gh_pr_get(struct pb_gh *gh, struct pb_gh_pr *out, const char *repo,
		 long number)
{
	struct gh_call k = GH_CALL_INIT("GET");
	json_t *a;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = repo_check(repo)) < 0 ||
	    (rc = number_check("pull request", number)) < 0 ||
	    (rc = pb_buf_printf(&k.path, "/repos/%s/pulls/%ld", repo, number)) <
		    0 ||
	    (rc = call_run(gh, &k, repo)) < 0)
		goto out;
	a = k.answer;
	out->number = number;
	if ((rc = jdup(&out->state, &k, a, "state", 1)) < 0 ||
	    (rc = jdup(&out->title, &k, a, "title", 0)) < 0 ||
	    (rc = jdup(&out->html_url, &k, a, "html_url", 0)) < 0 ||
	    (rc = jdup(&out->user_login, &k, a, "user.login", 1)) < 0 ||
	    (rc = jdup(&out->head_sha, &k, a, "head.sha", 1)) < 0 ||
	    (rc = jdup(&out->head_ref, &k, a, "head.ref", 1)) < 0 ||
	    (rc = jdup(&out->head_repo, &k, a, "head.repo.full_name", 0)) < 0 ||
	    (rc = jdup(&out->head_clone_url, &k, a, "head.repo.clone_url", 0)) <
		    0 ||
	    (rc = jdup(&out->base_ref, &k, a, "base.ref", 1)) < 0 ||
	    (rc = jdup(&out->base_repo, &k, a, "base.repo.full_name", 1)) < 0)
		goto out;
	out->merged = json_is_true(json_object_get(a, "merged"));
	/* a deleted fork leaves head.repo null: treat it as foreign */
	out->from_fork = !out->head_repo ||
			 strcasecmp(out->head_repo, out->base_repo) != 0;
out:
	if (rc < 0)
		pb_gh_pr_release(out);
	call_release(&k);
	return rc;
}

void pb_gh_pr_release(struct pb_gh_pr *pr)
{
	free(pr->state);
	free(pr->title);
	free(pr->html_url);
	free(pr->user_login);
	free(pr->head_sha);
	free(pr->head_ref);
	free(pr->head_repo);
	free(pr->head_clone_url);
	free(pr->base_ref);
	free(pr->base_repo);
	memset(pr, 0, sizeof(*pr));
}

int pb_gh_permission(struct pb_gh *gh, enum pb_perm *out, const char *repo,
		     const char *user)
{
	struct gh_call k = GH_CALL_INIT("GET");
	const char *role, *perm;
	int rc;

	*out = PB_PERM_NONE;
	if ((rc = repo_check(repo)) < 0)
		return rc;
	if (!user || !*user)
		return pb_err_setc(PB_EINVAL, "user login is empty");
	if ((rc = pb_buf_printf(&k.path, "/repos/%s/collaborators/", repo)) <
		    0 ||
	    (rc = pb_http_escape(&k.path, user)) < 0 ||
	    (rc = pb_buf_puts(&k.path, "/permission")) < 0 ||
	    (rc = call_run(gh, &k, repo)) < 0)
		goto out;
	role = json_string_value(json_object_get(k.answer, "role_name"));
	perm = json_string_value(json_object_get(k.answer, "permission"));
	/* role_name knows maintain and triage; custom roles fall back */
	if (role && pb_perm_parse(out, role) == 0)
		goto out;
	if (perm && pb_perm_parse(out, perm) == 0)
		goto out;
	rc = pb_err_setc(PB_ERROR,
			 "GitHub API '%s %s': role '%s' and permission '%s' "
			 "of '%s' are not levels prbot knows (request id %s)",
			 k.method, pb_buf_cstr(&k.path), role ? role : "",
			 perm ? perm : "", user, request_id(&k));
out:
	call_release(&k);
	return rc;
}

/* ---- comments ---- */

void pb_gh_comment_release(struct pb_gh_comment *c)
{
	free(c->node_id);
	free(c->html_url);
	free(c->user_login);
	free(c->body);
	free(c->created_at);
	memset(c, 0, sizeof(*c));
}

static int comment_read(struct pb_gh_comment *out, const struct gh_call *k,
			json_t *v)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = jid(&out->id, k, v, "id")) < 0 ||
	    (rc = jdup(&out->node_id, k, v, "node_id", 0)) < 0 ||
	    (rc = jdup(&out->html_url, k, v, "html_url", 0)) < 0 ||
	    (rc = jdup(&out->user_login, k, v, "user.login", 0)) < 0 ||
	    (rc = jdup(&out->body, k, v, "body", 0)) < 0 ||
	    (rc = jdup(&out->created_at, k, v, "created_at", 0)) < 0) {
		pb_gh_comment_release(out);
		return rc;
	}
	out->user_is_bot =
		json_is_string(jget(v, "user.type")) &&
		!strcmp(json_string_value(jget(v, "user.type")), "Bot");
	return 0;
}

/* Send a comment body with k (POST or PATCH) and read the answer. */
static int comment_send(struct pb_gh *gh, struct gh_call *k,
			struct pb_gh_comment *out, const char *repo,
			const char *body)
{
	struct pb_gh_comment c;
	int rc;

	if (!body)
		return pb_err_setc(PB_EINVAL, "comment body is missing");
	if (!(k->body = json_pack("{s:s}", "body", body)))
		return pb_err_setc(PB_EINVAL, "comment body is not UTF-8");
	if ((rc = call_run(gh, k, repo)) < 0 ||
	    (rc = comment_read(&c, k, k->answer)) < 0)
		return rc;
	if (out)
		*out = c;
	else
		pb_gh_comment_release(&c);
	return 0;
}

int pb_gh_comment_create(struct pb_gh *gh, struct pb_gh_comment *out,
			 const char *repo, long issue, const char *body)
{
	struct gh_call k = GH_CALL_INIT("POST");
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if ((rc = repo_check(repo)) < 0 ||
	    (rc = number_check("issue", issue)) < 0 ||
	    (rc = pb_buf_printf(&k.path, "/repos/%s/issues/%ld/comments", repo,
				issue)) < 0)
		goto out;
	rc = comment_send(gh, &k, out, repo, body);
out:
	call_release(&k);
	return rc;
}

int pb_gh_comment_update(struct pb_gh *gh, struct pb_gh_comment *out,
			 const char *repo, long long id, const char *body)
{
	struct gh_call k = GH_CALL_INIT("PATCH");
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if ((rc = repo_check(repo)) < 0 ||
	    (rc = number_check("comment", id)) < 0 ||
	    (rc = pb_buf_printf(&k.path, "/repos/%s/issues/comments/%lld", repo,
				id)) < 0)
		goto out;
	rc = comment_send(gh, &k, out, repo, body);
out:
	call_release(&k);
	return rc;
}

void pb_gh_comments_release(struct pb_gh_comments *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		pb_gh_comment_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int comments_add_page(struct pb_gh_comments *l, const struct gh_call *k)
{
	struct pb_gh_comment *v;
	size_t i, n;
	int rc;

	if (!json_is_array(k->answer))
		return answer_bad(k, "[]", "list");
	n = json_array_size(k->answer);
	if (!n)
		return 0;
	v = realloc(l->v, (l->n + n) * sizeof(*v));
	if (!v)
		return pb_err_set("out of memory");
	l->v = v;
	for (i = 0; i < n; i++) {
		if ((rc = comment_read(&l->v[l->n], k,
				       json_array_get(k->answer, i))) < 0)
			return rc;
		l->n++;
	}
	return 0;
}

/* The next page's URL from k's Link header, if on api_url's host. */
static int next_page(struct pb_gh *gh, char **out, const struct gh_call *k)
{
	char *origin = NULL;
	int same;

	*out = k->resp.link ? pb_http_link_next(k->resp.link) : NULL;
	if (!*out)
		return 0;
	same = pb_http_url_split(*out, &origin, NULL) == 0 &&
	       !strcasecmp(origin, gh->origin);
	free(origin);
	if (same)
		return 0;
	free(*out);
	*out = NULL;
	/* the token must never go to another host */
	return pb_err_setc(PB_ERROR,
			   "GitHub API '%s %s': next page is on another host "
			   "than [github] api_url (request id %s): not "
			   "following it",
			   k->method, pb_buf_cstr(&k->path), request_id(k));
}

int pb_gh_comments_list(struct pb_gh *gh, struct pb_gh_comments *out,
			const char *repo, long issue, size_t max_pages)
{
	struct gh_call k = GH_CALL_INIT("GET");
	char *url = NULL;
	size_t page;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!max_pages)
		max_pages = PAGES_DEFAULT;
	if ((rc = repo_check(repo)) < 0 ||
	    (rc = number_check("issue", issue)) < 0)
		return rc;
	for (page = 0; page < max_pages; page++) {
		call_release(&k);
		if (!url)
			rc = pb_buf_printf(&k.path,
					   "/repos/%s/issues/%ld/comments"
					   "?per_page=%d",
					   repo, issue, PER_PAGE);
		else /* messages name the page as GitHub gave it */
			rc = url_path_add(&k.path, url);
		if (rc < 0 || (rc = call_run_url(gh, &k, repo, url)) < 0 ||
		    (rc = comments_add_page(out, &k)) < 0)
			goto out;
		free(url);
		if ((rc = next_page(gh, &url, &k)) < 0 || !url)
			goto out;
	}
	out->truncated = 1;
out:
	free(url);
	call_release(&k);
	if (rc < 0)
		pb_gh_comments_release(out);
	return rc;
}

/* ---- reactions, statuses, labels ---- */

int pb_gh_reaction_add(struct pb_gh *gh, const char *repo, long long id,
		       const char *content)
{
	static const char *const known[] = { "+1",	 "-1",	  "laugh",
					     "confused", "heart", "hooray",
					     "rocket",	 "eyes" };
	struct gh_call k = GH_CALL_INIT("POST");
	size_t i;
	int rc;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (content && !strcmp(content, known[i]))
			break;
	if (i == sizeof(known) / sizeof(known[0]))
		return pb_err_setc(PB_EINVAL,
				   "reaction '%s' is not one of GitHub's: use "
				   "+1, -1, laugh, confused, heart, hooray, "
				   "rocket or eyes",
				   content ? content : "");
	if ((rc = repo_check(repo)) < 0 ||
	    (rc = number_check("comment", id)) < 0 ||
	    (rc = pb_buf_printf(&k.path,
				"/repos/%s/issues/comments/%lld/reactions",
				repo, id)) < 0)
		goto out;
	if (!(k.body = json_pack("{s:s}", "content", content))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	rc = call_run(gh, &k, repo);
out:
	call_release(&k);
	return rc;
}

const char *pb_gh_state_name(enum pb_gh_state s)
{
	static const char *const names[] = { "pending", "success", "failure",
					     "error" };

	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "error";
	return names[s];
}

/*
 * s cut to at most max characters (code points), the last one "…" when
 * cut, so a multi-byte character is never split. Caller frees.
 */
static char *utf8_cut(const char *s, size_t max)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t chars = 0, i, keep = 0;

	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (chars == max - 1)
			keep = i;
		chars++;
	}
	if (chars <= max)
		return strdup(s);
	if (pb_buf_add(&b, s, keep) < 0 || pb_buf_puts(&b, "\xe2\x80\xa6") < 0)
		return NULL;
	return pb_buf_detach(&b);
}

static json_t *status_body(enum pb_gh_state state, const char *context,
			   const char *description, const char *target_url)
{
	json_t *o = json_pack("{s:s,s:s}", "state", pb_gh_state_name(state),
			      "context", context);
	char *d;

	if (!o)
		return NULL;
	if (description) {
		d = utf8_cut(description, DESC_MAX);
		if (!d ||
		    json_object_set_new(o, "description", json_string(d)) < 0) {
			free(d);
			json_decref(o);
			return NULL;
		}
		free(d);
	}
	if (target_url &&
	    json_object_set_new(o, "target_url", json_string(target_url)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int pb_gh_status_create(struct pb_gh *gh, const char *repo, const char *sha,
			enum pb_gh_state state, const char *command,
			const char *description, const char *target_url)
{
	struct gh_call k = GH_CALL_INIT("POST");
	struct pb_buf context = PB_BUF_INIT;
	int rc;

	if ((rc = repo_check(repo)) < 0 || (rc = sha_check(sha)) < 0)
		return rc;
	if (!command || !*command)
		return pb_err_setc(PB_EINVAL, "status command is empty");
	if ((rc = pb_buf_printf(&context, "prbot/%s", command)) < 0 ||
	    (rc = pb_buf_printf(&k.path, "/repos/%s/statuses/%s", repo, sha)) <
		    0)
		goto out;
	k.body = status_body(state, context.ptr, description, target_url);
	if (!k.body) {
		rc = pb_err_setc(PB_EINVAL, "status for '%s' is not UTF-8",
				 context.ptr);
		goto out;
	}
	rc = call_run(gh, &k, repo);
out:
	pb_buf_release(&context);
	call_release(&k);
	return rc;
}

int pb_gh_label_remove(struct pb_gh *gh, const char *repo, long issue,
		       const char *label)
{
	struct gh_call k = GH_CALL_INIT("DELETE");
	int rc;

	if ((rc = repo_check(repo)) < 0 ||
	    (rc = number_check("issue", issue)) < 0)
		return rc;
	if (!label || !*label)
		return pb_err_setc(PB_EINVAL, "label name is empty");
	if ((rc = pb_buf_printf(&k.path, "/repos/%s/issues/%ld/labels/", repo,
				issue)) < 0 ||
	    (rc = pb_http_escape(&k.path, label)) < 0)
		goto out;
	rc = call_run(gh, &k, repo);
out:
	call_release(&k);
	return rc;
}

/* ---- GraphQL ---- */

static const char minimize_query[] =
	"mutation($id: ID!) { minimizeComment(input: {subjectId: $id, "
	"classifier: OUTDATED}) { minimizedComment { isMinimized } } }";

/* GraphQL answers 200 with "errors": turn the first into our code. */
static int graphql_error(const struct gh_call *k, const char *what)
{
	json_t *e = json_array_get(json_object_get(k->answer, "errors"), 0);
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	int code = PB_ERROR;

	if (type && !strcmp(type, "NOT_FOUND"))
		code = PB_ENOTFOUND;
	else if (type && !strcmp(type, "FORBIDDEN"))
		code = PB_EPERM;
	return pb_err_setc(code,
			   "GitHub GraphQL %s: \"%.200s\" (request id %s)",
			   what, msg ? msg : "unknown error", request_id(k));
}

int pb_gh_comment_minimize(struct pb_gh *gh, const char *repo,
			   const char *node_id)
{
	struct gh_call k = GH_CALL_INIT("POST");
	struct pb_buf what = PB_BUF_INIT;
	int rc;

	if ((rc = repo_check(repo)) < 0)
		return rc;
	if (!node_id || !*node_id)
		return pb_err_setc(PB_EINVAL, "comment node id is empty");
	if ((rc = pb_buf_printf(&what, "minimizeComment of '%s'", node_id)) <
		    0 ||
	    (rc = url_path_add(&k.path, gh->graphql_url)) < 0)
		goto out;
	k.body = json_pack("{s:s,s:{s:s}}", "query", minimize_query,
			   "variables", "id", node_id);
	if (!k.body) {
		rc = pb_err_setc(PB_EINVAL, "%s: id is not UTF-8", what.ptr);
		goto out;
	}
	if ((rc = call_run_url(gh, &k, repo, gh->graphql_url)) < 0)
		goto out;
	if (json_array_size(json_object_get(k.answer, "errors"))) {
		rc = graphql_error(&k, what.ptr);
		goto out;
	}
	if (!json_is_true(jget(k.answer,
			       "data.minimizeComment.minimizedComment."
			       "isMinimized")))
		rc = answer_bad(&k, "data.minimizeComment.minimizedComment",
				"minimized");
out:
	pb_buf_release(&what);
	call_release(&k);
	return rc;
}

/* ---- reviews, checks and deployments (/deploy) ---- */

void pb_gh_reviews_release(struct pb_gh_reviews *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].user_login);
		free(l->v[i].state);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int pb_gh_reviews_list(struct pb_gh *gh, struct pb_gh_reviews *out,
		       const char *repo, long pr)
{
	struct gh_call k = GH_CALL_INIT("GET");
	size_t i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = repo_check(repo)) < 0 ||
	    (rc = number_check("pull request", pr)) < 0 ||
	    (rc = pb_buf_printf(&k.path,
				"/repos/%s/pulls/%ld/reviews"
				"?per_page=%d",
				repo, pr, PER_PAGE)) < 0 ||
	    (rc = call_run(gh, &k, repo)) < 0)
		goto out;
	if (!json_is_array(k.answer)) {
		rc = answer_bad(&k, "[]", "list");
		goto out;
	}
	n = json_array_size(k.answer);
	if (n && !(out->v = calloc(n, sizeof(*out->v)))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		json_t *r = json_array_get(k.answer, i);

		out->n++;
		if ((rc = jdup(&out->v[i].user_login, &k, r, "user.login", 1)) <
			    0 ||
		    (rc = jdup(&out->v[i].state, &k, r, "state", 1)) < 0)
			goto out;
	}
out:
	if (rc < 0)
		pb_gh_reviews_release(out);
	call_release(&k);
	return rc;
}

void pb_gh_checks_release(struct pb_gh_checks *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].state);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int check_add(struct pb_gh_checks *l, const char *name,
		     const char *state, int is_run)
{
	struct pb_gh_check *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return pb_err_set("out of memory");
	l->v = v;
	v[l->n].name = strdup(name);
	v[l->n].state = strdup(state);
	v[l->n].is_run = is_run;
	l->n++;
	if (!v[l->n - 1].name || !v[l->n - 1].state)
		return pb_err_set("out of memory");
	return 0;
}

/* A check run's status and conclusion in the statuses' words. */
static const char *run_state(const char *status, const char *conclusion)
{
	if (!status || strcmp(status, "completed"))
		return "pending";
	if (!conclusion)
		return "error";
	if (!strcmp(conclusion, "neutral") || !strcmp(conclusion, "skipped"))
		return "success";
	return conclusion;
}

static int checks_statuses(struct pb_gh *gh, struct pb_gh_checks *out,
			   const char *repo, const char *sha)
{
	struct gh_call k = GH_CALL_INIT("GET");
	json_t *list;
	size_t i;
	int rc;

	if ((rc = pb_buf_printf(&k.path,
				"/repos/%s/commits/%s/status?per_page=%d", repo,
				sha, PER_PAGE)) < 0 ||
	    (rc = call_run(gh, &k, repo)) < 0)
		goto out;
	list = json_object_get(k.answer, "statuses");
	if (!json_is_array(list)) {
		rc = answer_bad(&k, "statuses", "list");
		goto out;
	}
	for (i = 0; i < json_array_size(list); i++) {
		json_t *s = json_array_get(list, i);
		const char *ctx = json_string_value(jget(s, "context"));
		const char *st = json_string_value(jget(s, "state"));

		if (!ctx || !st) {
			rc = answer_bad(&k, "statuses[].context", "string");
			goto out;
		}
		if ((rc = check_add(out, ctx, st, 0)) < 0)
			goto out;
	}
out:
	call_release(&k);
	return rc;
}

static int checks_runs(struct pb_gh *gh, struct pb_gh_checks *out,
		       const char *repo, const char *sha)
{
	struct gh_call k = GH_CALL_INIT("GET");
	json_t *list;
	size_t i;
	int rc;

	if ((rc = pb_buf_printf(&k.path,
				"/repos/%s/commits/%s/check-runs?per_page=%d",
				repo, sha, PER_PAGE)) < 0 ||
	    (rc = call_run(gh, &k, repo)) < 0)
		goto out;
	list = json_object_get(k.answer, "check_runs");
	if (!json_is_array(list)) {
		rc = answer_bad(&k, "check_runs", "list");
		goto out;
	}
	for (i = 0; i < json_array_size(list); i++) {
		json_t *r = json_array_get(list, i);
		const char *name = json_string_value(jget(r, "name"));

		if (!name) {
			rc = answer_bad(&k, "check_runs[].name", "string");
			goto out;
		}
		rc = check_add(
			out, name,
			run_state(json_string_value(jget(r, "status")),
				  json_string_value(jget(r, "conclusion"))),
			1);
		if (rc < 0)
			goto out;
	}
out:
	call_release(&k);
	return rc;
}

int pb_gh_checks_list(struct pb_gh *gh, struct pb_gh_checks *out,
		      const char *repo, const char *sha)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = repo_check(repo)) < 0 || (rc = sha_check(sha)) < 0)
		return rc;
	if ((rc = checks_statuses(gh, out, repo, sha)) < 0 ||
	    (rc = checks_runs(gh, out, repo, sha)) < 0)
		pb_gh_checks_release(out);
	return rc;
}

int pb_gh_deployment_create(struct pb_gh *gh, long long *id, const char *repo,
			    const char *sha, const char *environment,
			    const char *description)
{
	struct gh_call k = GH_CALL_INIT("POST");
	int rc;

	*id = 0;
	if ((rc = repo_check(repo)) < 0 || (rc = sha_check(sha)) < 0)
		return rc;
	if (!environment || !*environment)
		return pb_err_setc(PB_EINVAL, "deployment environment is "
					      "empty");
	if ((rc = pb_buf_printf(&k.path, "/repos/%s/deployments", repo)) < 0)
		goto out;
	k.body = json_pack("{s:s,s:s,s:b,s:[],s:s*}", "ref", sha, "environment",
			   environment, "auto_merge", 0, "required_contexts",
			   "description", description);
	if (!k.body) {
		rc = pb_err_setc(PB_EINVAL, "deployment of '%s' is not UTF-8",
				 environment);
		goto out;
	}
	if ((rc = call_run(gh, &k, repo)) < 0)
		goto out;
	rc = jid(id, &k, k.answer, "id");
out:
	call_release(&k);
	return rc;
}

int pb_gh_deployment_status(struct pb_gh *gh, const char *repo, long long id,
			    const char *state, const char *log_url,
			    const char *description)
{
	static const char *const known[] = { "in_progress", "success",
					     "failure",	    "error",
					     "queued",	    "pending",
					     "inactive" };
	struct gh_call k = GH_CALL_INIT("POST");
	char *d = NULL;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (state && !strcmp(state, known[i]))
			break;
	if (i == sizeof(known) / sizeof(known[0]))
		return pb_err_setc(PB_EINVAL,
				   "deployment state '%s' is not one of "
				   "GitHub's",
				   state ? state : "");
	if ((rc = repo_check(repo)) < 0 ||
	    (rc = number_check("deployment", id)) < 0)
		return rc;
	if (description && !(d = utf8_cut(description, DESC_MAX)))
		return pb_err_set("out of memory");
	if ((rc = pb_buf_printf(&k.path, "/repos/%s/deployments/%lld/statuses",
				repo, id)) < 0)
		goto out;
	k.body = json_pack("{s:s,s:s*,s:s*}", "state", state, "log_url",
			   log_url, "description", d);
	if (!k.body) {
		rc = pb_err_setc(PB_EINVAL, "deployment status is not UTF-8");
		goto out;
	}
	rc = call_run(gh, &k, repo);
out:
	free(d);
	call_release(&k);
	return rc;
}
