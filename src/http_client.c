/* http_client.c: one request function over libcurl, with retries and waits */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "prbot/err.h"
#include "prbot/http_client.h"
#include "prbot/log.h"
#include "prbot/redact.h"
#include "banned.h"

#define POOL_MAX     8
#define MSG_QUOTE    200 /* bytes of GitHub's own message kept in ours */
#define SECONDARY_RL 60	 /* GitHub: wait a minute on a secondary limit */

struct pb_http_client {
	struct pb_http_opts o;
	char *user_agent;
	pthread_mutex_t lock; /* guards idle */
	CURL *idle[POOL_MAX];
	size_t n_idle;
};

/* What one call is about, for messages and for the retry decisions. */
struct call {
	struct pb_http_client *c;
	const struct pb_http_request *req;
	struct pb_http_response *out;
	char *path; /* owned: path and query of the URL, for messages */
	CURLcode cc;
	char errbuf[CURL_ERROR_SIZE];
	int too_big;
};

void pb_http_opts_init(struct pb_http_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->service = "GitHub API";
	o->connect_timeout_ms = 10000;
	o->timeout_ms = 30000;
	o->max_retries = 4;
	o->backoff_base_ms = 500;
	o->backoff_max_ms = 30000;
	o->rate_limit_max_wait_s = 60;
	o->max_response = 8u << 20;
}

int pb_http_client_new(struct pb_http_client **out,
		       const struct pb_http_opts *o)
{
	struct pb_http_client *c;
	struct pb_http_opts d;
	struct pb_buf ua = PB_BUF_INIT;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return pb_err_set("cannot initialise libcurl");
	c = calloc(1, sizeof(*c));
	if (!c || pb_buf_printf(&ua, "prbot/%s", PRBOT_VERSION) < 0) {
		free(c);
		curl_global_cleanup();
		return pb_err_set("out of memory");
	}
	/* a field left 0 (or out of range) takes its default */
	pb_http_opts_init(&d);
	c->o = *o;
	if (!c->o.service)
		c->o.service = d.service;
	if (c->o.connect_timeout_ms <= 0)
		c->o.connect_timeout_ms = d.connect_timeout_ms;
	if (c->o.timeout_ms <= 0)
		c->o.timeout_ms = d.timeout_ms;
	if (c->o.max_retries < 0)
		c->o.max_retries = 0;
	if (c->o.backoff_base_ms <= 0)
		c->o.backoff_base_ms = d.backoff_base_ms;
	if (c->o.backoff_max_ms < c->o.backoff_base_ms)
		c->o.backoff_max_ms = c->o.backoff_base_ms;
	if (c->o.rate_limit_max_wait_s < 0)
		c->o.rate_limit_max_wait_s = 0;
	if (!c->o.max_response)
		c->o.max_response = d.max_response;
	c->user_agent = pb_buf_detach(&ua);
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void pb_http_client_free(struct pb_http_client *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_idle; i++)
		curl_easy_cleanup(c->idle[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->user_agent);
	free(c);
	curl_global_cleanup();
}

const struct pb_http_opts *pb_http_client_opts(const struct pb_http_client *c)
{
	return &c->o;
}

void pb_http_response_release(struct pb_http_response *r)
{
	pb_buf_release(&r->body);
	free(r->request_id);
	free(r->location);
	free(r->link);
	r->request_id = NULL;
	r->location = NULL;
	r->link = NULL;
}

/* A pooled handle keeps its connections open for the next request. */
static CURL *handle_take(struct pb_http_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->n_idle)
		h = c->idle[--c->n_idle];
	pthread_mutex_unlock(&c->lock);
	return h ? h : curl_easy_init();
}

static void handle_give(struct pb_http_client *c, CURL *h)
{
	if (!h)
		return;
	curl_easy_reset(h);
	pthread_mutex_lock(&c->lock);
	if (c->n_idle < POOL_MAX) {
		c->idle[c->n_idle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_cleanup(h);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct call *k = arg;

	if (pb_buf_add(&k->out->body, data, size * n) < 0) {
		k->too_big = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	return size * n;
}

static time_t now_s(const struct pb_http_client *c)
{
	return c->o.now ? c->o.now(c->o.hook_arg) : time(NULL);
}

static int sleep_ms(const struct pb_http_client *c, long ms)
{
	struct timespec ts;

	if (c->o.sleep)
		return c->o.sleep(c->o.hook_arg, ms);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

static char *header_dup(CURL *h, const char *name)
{
	struct curl_header *hh;

	if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hh) != CURLHE_OK)
		return NULL;
	return strdup(hh->value);
}

static long long header_num(CURL *h, const char *name)
{
	struct curl_header *hh;
	char *end;
	long long v;

	if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hh) != CURLHE_OK)
		return -1;
	errno = 0;
	v = strtoll(hh->value, &end, 10);
	if (errno || end == hh->value || v < 0)
		return -1;
	return v;
}

/* Retry-After is seconds or an HTTP date. */
static long retry_after(const struct pb_http_client *c, CURL *h)
{
	struct curl_header *hh;
	const char *v;
	time_t t;

	if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &hh) !=
	    CURLHE_OK)
		return -1;
	v = hh->value;
	if (isdigit((unsigned char)*v))
		return (long)header_num(h, "Retry-After");
	t = curl_getdate(v, NULL);
	if (t < 0)
		return -1;
	return t > now_s(c) ? (long)(t - now_s(c)) : 0;
}

static void response_reset(struct pb_http_response *r, size_t cap)
{
	pb_http_response_release(r);
	pb_buf_init(&r->body, cap);
	r->status = 0;
	r->retry_after = -1;
	r->ratelimit_remaining = -1;
	r->ratelimit_reset = -1;
}

static void response_read(struct call *k, CURL *h)
{
	struct pb_http_response *r = k->out;

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	r->request_id = header_dup(h, "X-GitHub-Request-Id");
	r->location = header_dup(h, "Location");
	r->link = header_dup(h, "Link");
	r->retry_after = retry_after(k->c, h);
	r->ratelimit_remaining = (long)header_num(h, "X-RateLimit-Remaining");
	r->ratelimit_reset = header_num(h, "X-RateLimit-Reset");
}

static int method_set(CURL *h, const struct pb_http_request *req)
{
	const char *m = req->method;
	size_t len;

	if (!strcmp(m, "GET") && !req->body) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		/* GitHub redirects renamed repositories; curl drops the
		   Authorization header when the host changes */
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
		return 0;
	}
	if (strcmp(m, "POST") && strcmp(m, "PATCH") && strcmp(m, "PUT") &&
	    strcmp(m, "DELETE"))
		return pb_err_setc(PB_EINVAL,
				   "HTTP method '%s' is not supported: use "
				   "GET, POST, PATCH, PUT or DELETE",
				   m);
	if (strcmp(m, "POST"))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	if (req->body || !strcmp(m, "POST")) {
		len = req->body ? (req->body_len ? req->body_len :
						   strlen(req->body)) :
				  0;
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
				 req->body ? req->body : "");
	}
	return 0;
}

/* The request's header lines; the token only ever goes in here. */
static int headers_build(struct curl_slist **out,
			 const struct pb_http_request *req)
{
	struct curl_slist *l = NULL, *n;
	struct pb_buf auth = PB_BUF_INIT;
	const char *const *p;
	int rc = 0;

	*out = NULL;
	for (p = req->headers; p && *p; p++) {
		if (!(n = curl_slist_append(l, *p)))
			goto oom;
		l = n;
	}
	/* no 100-continue round trip before a JSON body */
	if (!(n = curl_slist_append(l, "Expect:")))
		goto oom;
	l = n;
	if (req->body) {
		if (!(n = curl_slist_append(l,
					    "Content-Type: application/json")))
			goto oom;
		l = n;
	}
	if (req->bearer) {
		if (pb_buf_printf(&auth, "Authorization: Bearer %s",
				  req->bearer) < 0)
			goto oom;
		n = curl_slist_append(l, auth.ptr);
		explicit_bzero(auth.ptr, auth.len);
		pb_buf_release(&auth);
		if (!n)
			goto oom;
		l = n;
	}
	*out = l;
	return rc;
oom:
	curl_slist_free_all(l);
	return pb_err_set("out of memory");
}

static int attempt(struct call *k, struct curl_slist *hdrs)
{
	struct pb_http_client *c = k->c;
	CURL *h = handle_take(c);
	int rc;

	response_reset(k->out, c->o.max_response);
	k->too_big = 0;
	k->errbuf[0] = '\0';
	if (!h)
		return pb_err_set("cannot create a libcurl handle");
	curl_easy_setopt(h, CURLOPT_URL, k->req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->o.timeout_ms);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, k->errbuf);
	if ((rc = method_set(h, k->req)) < 0)
		goto out;
	k->cc = curl_easy_perform(h);
	response_read(k, h);
	/* a failed append released the body: keep an empty one */
	if (!k->out->body.ptr)
		pb_buf_init(&k->out->body, c->o.max_response);
out:
	handle_give(c, h);
	return rc;
}

static const char *status_text(long status)
{
	static const struct {
		long status;
		const char *text;
	} t[] = {
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 409, "Conflict" },
		{ 410, "Gone" },
		{ 422, "Unprocessable Entity" },
		{ 429, "Too Many Requests" },
		{ 500, "Internal Server Error" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].status == status)
			return t[i].text;
	return "";
}

/* GitHub's "message" (and the first of "errors"), or NULL. */
static char *api_message(const struct pb_http_response *r)
{
	struct pb_buf b = PB_BUF_INIT;
	json_t *root, *m, *e;

	if (!r->body.len)
		return NULL;
	root = json_loadb(r->body.ptr, r->body.len, 0, NULL);
	if (!json_is_object(root))
		goto out;
	m = json_object_get(root, "message");
	if (json_is_string(m) &&
	    pb_buf_printf(&b, "%.*s", MSG_QUOTE, json_string_value(m)) < 0)
		goto out;
	e = json_array_get(json_object_get(root, "errors"), 0);
	if ((m = json_object_get(e, "message")) && json_is_string(m))
		pb_buf_printf(&b, "%s%.*s", b.len ? ": " : "", MSG_QUOTE,
			      json_string_value(m));
	else if (json_is_object(e) && (m = json_object_get(e, "field")) &&
		 json_is_string(m))
		pb_buf_printf(
			&b, "%sfield '%.*s' %s", b.len ? ": " : "", MSG_QUOTE,
			json_string_value(m),
			json_is_string(json_object_get(e, "code")) ?
				json_string_value(json_object_get(e, "code")) :
				"is invalid");
out:
	json_decref(root);
	if (b.len)
		return pb_buf_detach(&b);
	pb_buf_release(&b);
	return NULL;
}

int pb_http_curl_retryable(int code)
{
	switch ((CURLcode)code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int is_retryable_status(long s)
{
	return s == 500 || s == 502 || s == 503 || s == 504;
}

/*
 * Seconds to wait for a rate limit, or -1 when the answer is not one: a
 * primary limit says when it resets, a secondary one says Retry-After or
 * nothing (then GitHub asks for a minute).
 */
static long rate_limit_wait(const struct call *k)
{
	const struct pb_http_response *r = k->out;
	long long left;
	char *msg;
	long wait = -1;

	if (r->status != 403 && r->status != 429)
		return -1;
	if (r->retry_after >= 0)
		return r->retry_after;
	if (r->ratelimit_remaining == 0 && r->ratelimit_reset >= 0) {
		left = r->ratelimit_reset - (long long)now_s(k->c);
		return left > 0 ? (left > LONG_MAX ? LONG_MAX : (long)left) : 0;
	}
	if (r->status == 429)
		return SECONDARY_RL;
	msg = api_message(r);
	if (msg && strstr(msg, "rate limit"))
		wait = SECONDARY_RL;
	free(msg);
	return wait;
}

uint64_t pb_http_jitter(void)
{
	struct timespec ts;
	uint64_t x;

	/* splitmix64 of the clock: no shared state between threads */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
	    (uint64_t)(uintptr_t)&ts;
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Full jitter: a uniform wait in [0, min(max, base * 2^n)]. */
static long backoff_ms(const struct pb_http_client *c, int n)
{
	long ceil = c->o.backoff_base_ms;

	while (n-- > 0 && ceil < c->o.backoff_max_ms)
		ceil *= 2;
	if (ceil > c->o.backoff_max_ms)
		ceil = c->o.backoff_max_ms;
	return (long)(pb_http_jitter() % (uint64_t)(ceil + 1));
}

static const char *request_id(const struct call *k)
{
	return k->out->request_id ? k->out->request_id : "none";
}

/* " after N attempts" when there was more than one, else "". */
static void attempts_note(char *b, size_t size, const struct call *k)
{
	b[0] = '\0';
	if (k->out->attempts > 1)
		snprintf(b, size, " after %d attempts", k->out->attempts);
}

/* What went wrong in the last attempt, without advice. */
static int describe(struct pb_buf *b, const struct call *k, int note)
{
	const struct pb_http_response *r = k->out;
	const char *text = status_text(r->status);
	char n[32] = "";
	char *msg;

	if (note)
		attempts_note(n, sizeof(n), k);
	if (k->too_big)
		return pb_buf_printf(b,
				     "answer is over the %zu-byte cap "
				     "(request id %s)",
				     k->c->o.max_response, request_id(k));
	if (k->cc == CURLE_OPERATION_TIMEDOUT)
		return pb_buf_printf(b, "no answer within %ld ms%s",
				     k->c->o.timeout_ms, n);
	if (k->cc != CURLE_OK)
		return pb_buf_printf(b, "%s%s",
				     k->errbuf[0] ? k->errbuf :
						    curl_easy_strerror(k->cc),
				     n);
	if (pb_buf_printf(b, "answered %ld%s%s%s (request id %s)", r->status,
			  *text ? " " : "", text, n, request_id(k)) < 0)
		return -1;
	if (!(msg = api_message(r)))
		return 0;
	pb_buf_printf(b, ": \"%s\"", msg);
	free(msg);
	return 0;
}

static const char *advice(int code, long status)
{
	switch (code) {
	case PB_ENOTFOUND:
		return "check the repository, the number and that the token "
		       "can see them";
	case PB_EPERM:
		return status == 401 ? "check [github] token, or app_id and "
				       "private_key" :
				       "check the token's or the App's "
				       "permissions on the repository";
	case PB_EINVAL:
		return "GitHub refused what was sent";
	case PB_ETIMEOUT:
		return "GitHub did not answer in time; retry later";
	case PB_ETOOBIG:
		return "the answer was refused";
	default:
		return status >= 500 ? "GitHub is failing; retry later" :
				       "check [github] api_url and the network";
	}
}

static int status_code(long s)
{
	if (s == 404 || s == 410)
		return PB_ENOTFOUND;
	if (s == 401 || s == 403)
		return PB_EPERM;
	if (s == 400 || s == 422)
		return PB_EINVAL;
	return PB_ERROR;
}

/*
 * Set and log the failure. The text is redacted twice: the configured
 * secrets and token shapes, then the request's own token.
 */
static int fail(const struct call *k, int code, const struct pb_buf *what)
{
	struct pb_buf m = PB_BUF_INIT;
	struct pb_redactor *own = NULL;
	const char *bearer = k->req->bearer;

	if (pb_buf_printf(&m, "%s '%s %s': %s", k->c->o.service, k->req->method,
			  k->path, pb_buf_cstr(what)) < 0 ||
	    pb_redact_buf(k->c->o.redactor, &m) < 0)
		goto oom;
	if (bearer && *bearer && strstr(m.ptr, bearer) &&
	    (pb_redactor_new(&own) < 0 || pb_redactor_add(own, bearer) < 0 ||
	     pb_redact_buf(own, &m) < 0))
		goto oom;
	pb_redactor_free(own);
	/* a 404 is an answer the caller expects and handles (a label already
	   gone, a deleted PR): the caller logs it if it matters */
	if (code == PB_ENOTFOUND)
		pb_log_debug("%s", m.ptr);
	else
		pb_log_warnx("%s", m.ptr);
	pb_err_setc(code, "%s", m.ptr);
	pb_buf_release(&m);
	return code;
oom:
	pb_redactor_free(own);
	pb_buf_release(&m);
	return pb_err_set("out of memory");
}

static int fail_final(const struct call *k)
{
	struct pb_buf w = PB_BUF_INIT;
	long status = k->out->status;
	int code;

	if (k->too_big)
		code = PB_ETOOBIG;
	else if (k->cc == CURLE_OPERATION_TIMEDOUT)
		code = PB_ETIMEOUT;
	else if (k->cc != CURLE_OK)
		code = PB_ERROR;
	else
		code = status_code(status);
	if (describe(&w, k, 1) < 0 ||
	    pb_buf_printf(&w, ": %s", advice(code, status)) < 0)
		return pb_err_set("out of memory");
	code = fail(k, code, &w);
	pb_buf_release(&w);
	return code;
}

static int fail_rate_limit(const struct call *k, long wait)
{
	struct pb_buf w = PB_BUF_INIT;
	time_t until = now_s(k->c) + wait;
	char stamp[32], n[32];
	struct tm tm;
	int code;

	gmtime_r(&until, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	attempts_note(n, sizeof(n), k);
	if (pb_buf_printf(&w,
			  "rate limited (answered %ld%s, request id %s): "
			  "retry after %s (in %ld s)",
			  k->out->status, n, request_id(k), stamp, wait) < 0)
		return pb_err_set("out of memory");
	code = fail(k, PB_ERATELIMIT, &w);
	pb_buf_release(&w);
	return code;
}

/* Wait before the next attempt: 1 to go on, or the sleep hook's refusal. */
static int pause_before_retry(const struct call *k, long ms, int retry)
{
	struct pb_buf w = PB_BUF_INIT;
	int rc;

	if (describe(&w, k, 0) == 0)
		pb_log_warnx("%s '%s %s': %s; retrying in %ld ms (%d of %d)",
			     k->c->o.service, k->req->method, k->path,
			     pb_buf_cstr(&w), ms, retry, k->c->o.max_retries);
	pb_buf_release(&w);
	if ((rc = sleep_ms(k->c, ms)) == 0)
		return 1;
	if (rc > 0)
		rc = PB_ECANCELLED;
	if (pb_buf_puts(&w, "stopped while waiting to retry") < 0)
		return pb_err_set("out of memory");
	rc = fail(k, rc, &w);
	pb_buf_release(&w);
	return rc;
}

static int url_part(CURLU *u, CURLUPart what, char **out, unsigned flags)
{
	return curl_url_get(u, what, out, flags) == CURLUE_OK ? 0 : -1;
}

int pb_http_url_split(const char *url, char **origin, char **path)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *p = NULL, *q = NULL;
	struct pb_buf o = PB_BUF_INIT, r = PB_BUF_INIT;
	CURLU *u = curl_url();
	int rc = PB_EINVAL;

	if (origin)
		*origin = NULL;
	if (path)
		*path = NULL;
	if (!u)
		return pb_err_set("out of memory");
	/* the URL itself is never quoted: a caller may have put a secret in */
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    url_part(u, CURLUPART_SCHEME, &scheme, 0) < 0 ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https")) ||
	    url_part(u, CURLUPART_HOST, &host, 0) < 0 ||
	    url_part(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) < 0 ||
	    url_part(u, CURLUPART_PATH, &p, 0) < 0) {
		pb_err_setc(rc, "not an http(s) URL");
		goto out;
	}
	url_part(u, CURLUPART_QUERY, &q, 0);
	if ((rc = pb_buf_printf(&o, "%s://%s:%s", scheme, host, port)) < 0 ||
	    (rc = pb_buf_puts(&r, p)) < 0 ||
	    (q && (rc = pb_buf_printf(&r, "?%s", q)) < 0))
		goto out;
	if (origin)
		*origin = pb_buf_detach(&o);
	if (path)
		*path = pb_buf_detach(&r);
out:
	pb_buf_release(&r);
	pb_buf_release(&o);
	curl_free(q);
	curl_free(p);
	curl_free(port);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

int pb_http_escape(struct pb_buf *b, const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	int rc;

	if (!e)
		return pb_err_set("out of memory");
	rc = pb_buf_puts(b, e);
	curl_free(e);
	return rc;
}

/* After an attempt: 1 to try again, 0 when done, or a negative failure. */
static int decide(struct call *k)
{
	const struct pb_http_response *r = k->out;
	int retry = r->attempts; /* the retry that would come next */
	int left = retry <= k->c->o.max_retries;
	long wait;

	if (k->too_big)
		return fail_final(k);
	if (k->cc != CURLE_OK) {
		if (!left || !pb_http_curl_retryable(k->cc))
			return fail_final(k);
		wait = backoff_ms(k->c, retry - 1);
		return pause_before_retry(k, wait, retry);
	}
	if (r->status >= 200 && r->status < 300)
		return 0;
	if ((wait = rate_limit_wait(k)) >= 0) {
		if (!left || wait > k->c->o.rate_limit_max_wait_s)
			return fail_rate_limit(k, wait);
		return pause_before_retry(k, wait * 1000, retry);
	}
	if (!left || !is_retryable_status(r->status))
		return fail_final(k);
	wait = backoff_ms(k->c, retry - 1);
	if (r->retry_after >= 0 &&
	    r->retry_after <= k->c->o.rate_limit_max_wait_s &&
	    r->retry_after * 1000 > wait)
		wait = r->retry_after * 1000;
	return pause_before_retry(k, wait, retry);
}

int pb_http_request(struct pb_http_client *c, struct pb_http_response *out,
		    const struct pb_http_request *req)
{
	struct curl_slist *hdrs = NULL;
	struct call k;
	struct timespec t0, t1;
	int rc;

	memset(&k, 0, sizeof(k));
	k.c = c;
	k.req = req;
	k.out = out;
	memset(out, 0, sizeof(*out));
	response_reset(out, c->o.max_response);
	if (pb_http_url_split(req->url, NULL, &k.path) < 0) {
		rc = pb_err_setc(PB_EINVAL,
				 "%s '%s': the request URL is not an http(s) "
				 "URL: check [github] api_url",
				 c->o.service, req->method);
		goto out;
	}
	if ((rc = headers_build(&hdrs, req)) < 0)
		goto out;
	do {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((rc = attempt(&k, hdrs)) < 0)
			goto out;
		out->attempts++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		pb_log_debug("%s '%s %s': %ld in %ld ms (request id %s)",
			     c->o.service, req->method, k.path, out->status,
			     (long)((t1.tv_sec - t0.tv_sec) * 1000 +
				    (t1.tv_nsec - t0.tv_nsec) / 1000000),
			     request_id(&k));
	} while ((rc = decide(&k)) > 0);
out:
	curl_slist_free_all(hdrs);
	free(k.path);
	return rc;
}

/* One link-value "<URL>; rel=..." whose rel list holds "next". */
static int link_is_next(const char *params, size_t len)
{
	const char *p = params, *end = params + len, *q;
	size_t n;

	while (p < end && (q = memchr(p, 'r', (size_t)(end - p)))) {
		if ((size_t)(end - q) > 4 && !strncmp(q, "rel=", 4)) {
			q += 4;
			if (*q == '"')
				q++;
			/* space-separated list of relation types */
			while (q < end && *q != '"' && *q != ';') {
				n = strcspn(q, " \";,");
				if (n == 4 && !strncmp(q, "next", 4))
					return 1;
				q += n;
				while (q < end && *q == ' ')
					q++;
			}
			return 0;
		}
		p = q + 1;
	}
	return 0;
}

char *pb_http_link_next(const char *link)
{
	const char *p = link, *lt, *gt, *end;
	char *url;

	while (p && (lt = strchr(p, '<')) && (gt = strchr(lt, '>'))) {
		end = strchr(gt, ',');
		if (!end)
			end = gt + strlen(gt);
		if (link_is_next(gt + 1, (size_t)(end - gt - 1))) {
			url = malloc((size_t)(gt - lt));
			if (!url)
				return NULL;
			memcpy(url, lt + 1, (size_t)(gt - lt - 1));
			url[gt - lt - 1] = '\0';
			return url;
		}
		p = *end ? end + 1 : NULL;
	}
	return NULL;
}
