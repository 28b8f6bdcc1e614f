/* test_http_server.c: the HTTP server answers, limits, cuts off and stops */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/http_server.h"
#include "prbot/log.h"

#define MIB (1024 * 1024)

#define LATER_MAX 64

/* Deferred answers the handlers took, for a test or its threads to give. */
struct later_q {
	pthread_mutex_t mu;
	pthread_cond_t cv;			   /* a handle came */
	struct pb_http_server_later *l[LATER_MAX]; /* NULL once taken */
	char tag[LATER_MAX][64];		   /* the request's query */
	size_t n;				   /* handles so far */
	pthread_t thread[LATER_MAX]; /* answerers h_later_thread started */
	size_t n_threads;
};

struct fx {
	struct pb_http_server *srv;
	int port;
	char host[32]; /* "127.0.0.1" or "[::1]" */
	int calls;     /* handler calls */
	char last_peer[64];
	struct later_q q;
};

/* ---- handlers ---- */

static int h_hello(const struct pb_http_server_request *req,
		   struct pb_http_server_response *resp, void *arg)
{
	struct fx *f = arg;

	f->calls++;
	return pb_buf_puts(&resp->body, "hello\n");
}

/* Everything a handler can read of its request, one "key=value" a line. */
static int h_inspect(const struct pb_http_server_request *req,
		     struct pb_http_server_response *resp, void *arg)
{
	static const char *const names[] = { "x-github-event",
					     "X-GITHUB-DELIVERY",
					     "X-Hub-Signature-256",
					     "x-slack-signature",
					     "X-Slack-Request-Timestamp",
					     "content-type",
					     "USER-AGENT",
					     "X-Missing" };
	struct fx *f = arg;
	const char *v;
	size_t i;

	f->calls++;
	snprintf(f->last_peer, sizeof(f->last_peer), "%s", req->peer);
	if (pb_buf_printf(&resp->body, "method=%s\npath=%s\nquery=%s\n",
			  req->method, req->path, req->query) < 0)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = pb_http_server_header(req, names[i]);
		if (pb_buf_printf(&resp->body, "%s=%s\n", names[i],
				  v ? v : "(none)") < 0)
			return -1;
	}
	return pb_buf_printf(&resp->body, "body=%.*s\n", (int)req->body_len,
			     req->body);
}

static int h_echo(const struct pb_http_server_request *req,
		  struct pb_http_server_response *resp, void *arg)
{
	struct fx *f = arg;
	char n[32];

	f->calls++;
	snprintf(n, sizeof(n), "%zu", req->body_len);
	resp->content_type = "application/octet-stream";
	if (pb_http_server_add_header(resp, "X-Body-Length", n) < 0)
		return -1;
	return pb_buf_add(&resp->body, req->body, req->body_len);
}

static int h_fail(const struct pb_http_server_request *req,
		  struct pb_http_server_response *resp, void *arg)
{
	pb_buf_puts(&resp->body, "half an answer");
	return pb_err_set("the state store did not answer");
}

static int h_busy(const struct pb_http_server_request *req,
		  struct pb_http_server_response *resp, void *arg)
{
	resp->status = 503;
	if (pb_http_server_add_header(resp, "Retry-After", "30") < 0)
		return -1;
	return pb_buf_puts(&resp->body, "queue full\n");
}

static int h_stop(const struct pb_http_server_request *req,
		  struct pb_http_server_response *resp, void *arg)
{
	struct fx *f = arg;

	pb_http_server_request_stop(f->srv);
	return pb_buf_puts(&resp->body, "stopping\n");
}

/* ---- handlers that answer later ---- */

static void sleep_ms(int ms);

/* Give l an answer whose body names the request: "answer to TAG!\n". */
static void later_give(struct pb_http_server_later *l, int status,
		       const char *tag)
{
	struct pb_http_server_response resp;

	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	pb_buf_printf(&resp.body, "answer to %s!\n", tag);
	pb_http_server_answer(l, &resp);
}

/* Defer req and queue the handle for the test; -1 when that fails. */
static int later_push(struct later_q *q,
		      const struct pb_http_server_request *req)
{
	struct pb_http_server_later *l = pb_http_server_defer(req);

	if (!l)
		return -1;
	pthread_mutex_lock(&q->mu);
	if (q->n == LATER_MAX) {
		pthread_mutex_unlock(&q->mu);
		later_give(l, 503, "a full queue");
		return pb_err_set("test queue of deferred answers is full");
	}
	q->l[q->n] = l;
	snprintf(q->tag[q->n], sizeof(q->tag[0]), "%s", req->query);
	q->n++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

/* Wait until n handles were queued (1) or timeout_ms passes (0). */
static int later_wait(struct later_q *q, size_t n, int timeout_ms)
{
	struct timespec end;
	int ok;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&q->mu);
	while (q->n < n &&
	       pthread_cond_timedwait(&q->cv, &q->mu, &end) != ETIMEDOUT)
		;
	ok = q->n >= n;
	pthread_mutex_unlock(&q->mu);
	return ok;
}

/* Handle i, now the caller's to answer. */
static struct pb_http_server_later *later_take(struct later_q *q, size_t i)
{
	struct pb_http_server_later *l;

	pthread_mutex_lock(&q->mu);
	l = i < q->n ? q->l[i] : NULL;
	if (l)
		q->l[i] = NULL;
	pthread_mutex_unlock(&q->mu);
	assert_non_null(l);
	return l;
}

static int h_later(const struct pb_http_server_request *req,
		   struct pb_http_server_response *resp, void *arg)
{
	struct fx *f = arg;

	f->calls++;
	return later_push(&f->q, req);
}

/* Defers, then fails: the server answers 500, the handle stays owed. */
static int h_later_fail(const struct pb_http_server_request *req,
			struct pb_http_server_response *resp, void *arg)
{
	struct fx *f = arg;

	f->calls++;
	if (later_push(&f->q, req) < 0)
		return -1;
	return pb_err_set("the commit failed");
}

struct answerer {
	struct pb_http_server_later *l;
	char tag[64];
};

/* Answer as a committer thread would: a little later, fully dressed. */
static void *answerer_main(void *arg)
{
	struct answerer *a = arg;
	struct pb_http_server_response resp;

	sleep_ms(5);
	memset(&resp, 0, sizeof(resp));
	resp.status = 202;
	resp.content_type = "application/vnd.prbot+json";
	if (pb_http_server_add_header(&resp, "X-Queued-As", a->tag) < 0 ||
	    pb_buf_printf(&resp.body, "{\"queued\":\"%s\"}\n", a->tag) < 0)
		resp.status = 599; /* the test sees it */
	pb_http_server_answer(a->l, &resp);
	free(a);
	return NULL;
}

/* Defers and hands the handle to a thread of its own. */
static int h_later_thread(const struct pb_http_server_request *req,
			  struct pb_http_server_response *resp, void *arg)
{
	struct fx *f = arg;
	struct later_q *q = &f->q;
	struct answerer *a = calloc(1, sizeof(*a));
	int rc = -1;

	f->calls++;
	if (!a)
		return pb_err_set("out of memory");
	snprintf(a->tag, sizeof(a->tag), "%s", req->query);
	if (!(a->l = pb_http_server_defer(req))) {
		free(a);
		return -1;
	}
	pthread_mutex_lock(&q->mu);
	if (q->n_threads < LATER_MAX &&
	    !pthread_create(&q->thread[q->n_threads], NULL, answerer_main, a)) {
		q->n_threads++;
		rc = 0;
	}
	pthread_mutex_unlock(&q->mu);
	if (rc < 0) {
		later_give(a->l, 503, "no thread");
		free(a);
		return pb_err_set("cannot start an answering thread");
	}
	return 0;
}

/* Join the answering threads; how many there were. */
static size_t later_join(struct later_q *q)
{
	size_t i, n;

	pthread_mutex_lock(&q->mu);
	n = q->n_threads;
	q->n_threads = 0;
	pthread_mutex_unlock(&q->mu);
	for (i = 0; i < n; i++)
		pthread_join(q->thread[i], NULL);
	return n;
}

/* ---- the server under test ---- */

static void fx_start(struct fx *f, const char *listen, size_t max_body,
		     unsigned header_ms, unsigned body_ms, unsigned max_conns,
		     unsigned stop_ms)
{
	const struct pb_http_server_route routes[] = {
		{ "GET", "/hello", h_hello, f },
		{ "GET", "/inspect", h_inspect, f },
		{ "POST", "/inspect", h_inspect, f },
		{ "POST", "/echo", h_echo, f },
		{ "GET", "/fail", h_fail, f },
		{ "GET", "/busy", h_busy, f },
		{ "POST", "/stop", h_stop, f },
		{ "GET", "/later", h_later, f },
		{ "GET", "/later-fail", h_later_fail, f },
		{ "GET", "/later-thread", h_later_thread, f },
	};
	struct pb_http_server_opts o = {
		.listen = listen,
		.routes = routes,
		.n_routes = sizeof(routes) / sizeof(routes[0]),
		.max_body = max_body,
		.header_timeout_ms = header_ms,
		.body_timeout_ms = body_ms,
		.max_connections = max_conns,
		.stop_timeout_ms = stop_ms,
	};
	int rc = pb_http_server_start(&f->srv, &o);

	if (rc < 0)
		fail_msg("start on %s: %s", listen, pb_err_last());
	f->port = pb_http_server_port(f->srv);
	assert_true(f->port > 0);
	snprintf(f->host, sizeof(f->host), "%s",
		 listen[0] == '[' ? "[::1]" : "127.0.0.1");
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	pthread_condattr_t ca;

	if (!f)
		return -1;
	pthread_mutex_init(&f->q.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->q.cv, &ca);
	pthread_condattr_destroy(&ca);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	size_t i;

	/* handles must be answered before the free, even by a failed test */
	later_join(&f->q);
	for (i = 0; i < f->q.n; i++)
		if (f->q.l[i])
			later_give(f->q.l[i], 500, "teardown");
	pb_http_server_free(f->srv);
	pthread_cond_destroy(&f->q.cv);
	pthread_mutex_destroy(&f->q.mu);
	free(f);
	return 0;
}

/* ---- a client: libcurl ---- */

struct reply {
	long status;
	struct pb_buf body;
	struct pb_buf head;
	size_t sent; /* bytes the read callback handed to curl */
	size_t upload_len;
	int chunked_upload;
	CURLcode rc;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	return pb_buf_add(ud, p, sz * n) < 0 ? 0 : sz * n;
}

/* An upload of upload_len bytes of a known pattern, 200 at a time. */
static size_t on_read(char *p, size_t sz, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t want = sz * n, i;

	if (want > 200)
		want = 200;
	if (want > r->upload_len - r->sent)
		want = r->upload_len - r->sent;
	for (i = 0; i < want; i++)
		p[i] = (char)('a' + (r->sent + i) % 26);
	r->sent += want;
	return want;
}

static void reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
	pb_buf_init(&r->body, 0);
	pb_buf_init(&r->head, 0);
}

static void reply_release(struct reply *r)
{
	pb_buf_release(&r->body);
	pb_buf_release(&r->head);
}

static CURL *easy_new(struct fx *f, const char *method, const char *path,
		      const void *body, size_t len, struct curl_slist *hdrs,
		      struct reply *r)
{
	CURL *h = curl_easy_init();
	char url[128];

	assert_non_null(h);
	snprintf(url, sizeof(url), "http://%s:%d%s", f->host, f->port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->head);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (r->upload_len || r->chunked_upload) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, r);
		if (!r->chunked_upload)
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)r->upload_len);
	} else if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
	}
	if (hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	return h;
}

static long http(struct fx *f, const char *method, const char *path,
		 const void *body, size_t len, struct curl_slist *hdrs,
		 struct reply *r)
{
	CURL *h = easy_new(f, method, path, body, len, hdrs, r);

	r->rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(h);
	return r->status;
}

static long http_get(struct fx *f, const char *path, struct reply *r)
{
	return http(f, "GET", path, NULL, 0, NULL, r);
}

/* The value of header name in the answer, or "" (ASCII case ignored). */
static const char *answer_header(const struct reply *r, const char *name,
				 char *out, size_t outsz)
{
	const char *p = pb_buf_cstr(&r->head), *eol;
	size_t n = strlen(name), m;

	out[0] = '\0';
	for (; *p; p = eol + 1) {
		eol = strchr(p, '\n');
		if (!eol)
			break;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			m = (size_t)(eol - p);
			if (m && p[m - 1] == '\r')
				m--;
			if (m >= outsz)
				m = outsz - 1;
			memcpy(out, p, m);
			out[m] = '\0';
			return out;
		}
	}
	return out;
}

/* ---- a client: raw sockets, for what curl will not send ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int raw_connect(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void raw_send(int fd, const char *s, size_t n)
{
	assert_int_equal(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/*
 * Read into out until the peer closes (returns 1) or timeout_ms passes
 * (returns 0). A reset counts as closed.
 */
static int raw_read(int fd, struct pb_buf *out, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096];
	ssize_t n;

	for (;;) {
		long long left = end - now_ms();

		if (left <= 0)
			return 0;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return 1;
		assert_int_equal(pb_buf_add(out, buf, (size_t)n), 0);
	}
}

/* Read until text appears (1) or timeout_ms passes (0). */
static int raw_wait_for(int fd, struct pb_buf *out, const char *text,
			int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096];
	ssize_t n;

	while (!strstr(pb_buf_cstr(out), text)) {
		long long left = end - now_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return 0;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return 0;
		assert_int_equal(pb_buf_add(out, buf, (size_t)n), 0);
	}
	return 1;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Wait (bounded) until the port refuses connections. */
static int port_refuses(int port, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	int fd;

	while (now_ms() < end) {
		fd = raw_connect(port);
		if (fd < 0)
			return errno == ECONNREFUSED;
		close(fd);
		sleep_ms(10);
	}
	return 0;
}

/* ---- tests ---- */

static void test_http_server_answers_a_route_with_its_body(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char v[128];
	long conns = -1;
	CURL *h;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	reply_init(&r);
	h = easy_new(f, "GET", "/hello", NULL, 0, NULL, &r);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	assert_int_equal(r.status, 200);
	assert_string_equal(pb_buf_cstr(&r.body), "hello\n");
	assert_string_equal(answer_header(&r, "Content-Type", v, sizeof(v)),
			    "text/plain; charset=utf-8");
	assert_string_equal(answer_header(&r, "Content-Length", v, sizeof(v)),
			    "6");

	/* the same connection serves the next request (keep-alive) */
	pb_buf_reset(&r.body);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
	assert_int_equal(conns, 0);
	assert_string_equal(pb_buf_cstr(&r.body), "hello\n");
	curl_easy_cleanup(h);
	reply_release(&r);

	/* HEAD reaches the GET route: the length, no body */
	reply_init(&r);
	assert_int_equal(http(f, "HEAD", "/hello", NULL, 0, NULL, &r), 200);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.body.len, 0);
	assert_string_equal(answer_header(&r, "Content-Length", v, sizeof(v)),
			    "6");
	reply_release(&r);
	assert_int_equal(f->calls, 3);
}

static void test_http_server_gives_handlers_headers_query_and_peer(void **state)
{
	static const char body[] = "{\"action\":\"created\"}";
	struct fx *f = *state;
	struct curl_slist *hdrs = NULL;
	struct reply r;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	hdrs = curl_slist_append(hdrs, "X-GitHub-Event: issue_comment");
	hdrs = curl_slist_append(
		hdrs,
		"x-github-delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958");
	hdrs = curl_slist_append(hdrs, "X-Hub-Signature-256: sha256=0a1b");
	hdrs = curl_slist_append(hdrs, "X-Slack-Signature: v0=a2114d57b4");
	hdrs = curl_slist_append(hdrs, "X-Slack-Request-Timestamp: 1531420618");
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "User-Agent: GitHub-Hookshot/044aadd");
	reply_init(&r);
	assert_int_equal(http(f, "POST", "/inspect?a=1&b=two%20words", body,
			      strlen(body), hdrs, &r),
			 200);
	assert_string_equal(
		pb_buf_cstr(&r.body),
		"method=POST\n"
		"path=/inspect\n"
		"query=a=1&b=two words\n"
		"x-github-event=issue_comment\n"
		"X-GITHUB-DELIVERY=72d3162e-cc78-11e3-81ab-4c9367dc0958\n"
		"X-Hub-Signature-256=sha256=0a1b\n"
		"x-slack-signature=v0=a2114d57b4\n"
		"X-Slack-Request-Timestamp=1531420618\n"
		"content-type=application/json\n"
		"USER-AGENT=GitHub-Hookshot/044aadd\n"
		"X-Missing=(none)\n"
		"body={\"action\":\"created\"}\n");
	assert_string_equal(f->last_peer, "127.0.0.1");
	curl_slist_free_all(hdrs);
	reply_release(&r);
}

static void test_http_server_passes_post_bodies_whole(void **state)
{
	static const size_t sizes[] = { 0, 1, 100, 64 * 1024 + 3, 5 * MIB };
	struct fx *f = *state;
	struct reply r;
	char *body;
	char v[32], want[32];
	size_t i, j;

	fx_start(f, "127.0.0.1:0", 8 * MIB, 0, 0, 0, 0);
	body = malloc(5 * MIB);
	assert_non_null(body);
	for (j = 0; j < 5 * MIB; j++)
		body[j] = (char)(j * 7 + j / 251); /* NULs included */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		reply_init(&r);
		assert_int_equal(http(f, "POST", "/echo", body, sizes[i], NULL,
				      &r),
				 200);
		snprintf(want, sizeof(want), "%zu", sizes[i]);
		assert_string_equal(
			answer_header(&r, "X-Body-Length", v, sizeof(v)), want);
		assert_int_equal(r.body.len, sizes[i]);
		assert_memory_equal(pb_buf_cstr(&r.body), body, sizes[i]);
		reply_release(&r);
	}
	free(body);
}

static void test_http_server_sends_100_continue_when_asked(void **state)
{
	struct fx *f = *state;
	struct curl_slist *hdrs =
		curl_slist_append(NULL, "Expect: 100-continue");
	struct reply r;
	long long t0;
	CURL *h;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	reply_init(&r);
	h = easy_new(f, "POST", "/echo", "ping", 4, hdrs, &r);
	/* without the server's 100, curl would wait these 4 s */
	curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 4000L);
	t0 = now_ms();
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	assert_true(now_ms() - t0 < 2000);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	assert_int_equal(r.status, 200);
	assert_string_equal(pb_buf_cstr(&r.body), "ping");
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	reply_release(&r);
}

static void
test_http_server_refuses_a_content_length_over_the_limit(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char body[4096];

	fx_start(f, "127.0.0.1:0", 1024, 0, 0, 0, 0);
	memset(body, 'x', sizeof(body));

	reply_init(&r);
	assert_int_equal(http(f, "POST", "/echo", body, 1024, NULL, &r), 200);
	assert_int_equal(r.body.len, 1024);
	reply_release(&r);

	reply_init(&r);
	assert_int_equal(http(f, "POST", "/echo", body, 1025, NULL, &r), 413);
	assert_string_equal(pb_buf_cstr(&r.body),
			    "request body of 1025 bytes is over the 1024-byte "
			    "limit\n");
	reply_release(&r);

	/* 10 MiB announced: answered before the body is read (curl waits
	   for a 100 it never gets, and sends nearly nothing) */
	reply_init(&r);
	r.upload_len = 10 * MIB;
	assert_int_equal(http(f, "POST", "/echo", NULL, 0, NULL, &r), 413);
	assert_true(r.sent < MIB);
	reply_release(&r);
	assert_int_equal(f->calls, 1);
}

static void
test_http_server_refuses_a_chunked_body_passing_the_limit(void **state)
{
	struct fx *f = *state;
	struct curl_slist *hdrs =
		curl_slist_append(NULL, "Transfer-Encoding: chunked");
	struct reply r;
	char v[32];

	fx_start(f, "127.0.0.1:0", 1024, 0, 0, 0, 0);

	/* under the limit, in 200-byte chunks: passed whole */
	reply_init(&r);
	r.chunked_upload = 1;
	r.upload_len = 1000;
	assert_int_equal(http(f, "POST", "/echo", NULL, 0, hdrs, &r), 200);
	assert_string_equal(answer_header(&r, "X-Body-Length", v, sizeof(v)),
			    "1000");
	assert_int_equal(r.body.len, 1000);
	assert_memory_equal(r.body.ptr, "abcdefghij", 10);
	reply_release(&r);

	/* 8 MiB in 200-byte chunks: refused once past 1024, not read on */
	reply_init(&r);
	r.chunked_upload = 1;
	r.upload_len = 8 * MIB;
	assert_int_equal(http(f, "POST", "/echo", NULL, 0, hdrs, &r), 413);
	assert_string_equal(pb_buf_cstr(&r.body),
			    "request body is over the 1024-byte limit\n");
	assert_true(r.sent < 8 * MIB);
	reply_release(&r);
	assert_int_equal(f->calls, 1);
	curl_slist_free_all(hdrs);
}

static void test_http_server_answers_404_and_405_with_allow(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char v[64];

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	reply_init(&r);
	assert_int_equal(http_get(f, "/nope", &r), 404);
	assert_string_equal(pb_buf_cstr(&r.body), "no route for '/nope'\n");
	reply_release(&r);

	reply_init(&r);
	assert_int_equal(http_get(f, "/echo", &r), 405);
	assert_string_equal(answer_header(&r, "Allow", v, sizeof(v)), "POST");
	assert_string_equal(pb_buf_cstr(&r.body),
			    "method GET is not allowed on '/echo': use POST\n");
	reply_release(&r);

	reply_init(&r);
	assert_int_equal(http(f, "POST", "/hello", "x", 1, NULL, &r), 405);
	assert_string_equal(answer_header(&r, "Allow", v, sizeof(v)),
			    "GET, HEAD");
	reply_release(&r);

	reply_init(&r);
	assert_int_equal(http(f, "DELETE", "/inspect", NULL, 0, NULL, &r), 405);
	assert_string_equal(answer_header(&r, "Allow", v, sizeof(v)),
			    "GET, HEAD, POST");
	reply_release(&r);
	assert_int_equal(f->calls, 0);
}

static void test_http_server_reads_raw_requests_by_their_framing(void **state)
{
	static const struct {
		const char *request;
		const char *status_line;
		const char *body;
	} cases[] = {
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n"
		  "\r\n",
		  "HTTP/1.1 400 ", "Content-Length '12abc' is not a number" },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		  "HTTP/1.1 400 ",
		  "both Content-Length and Transfer-Encoding" },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
		  "\r\n",
		  "HTTP/1.1 501 ",
		  "Transfer-Encoding 'gzip' is not supported" },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 411 ",
		  "POST without Content-Length" },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
		  "\r\n\r\nzz\r\n",
		  "HTTP/1.1 400 ", "a chunk size is not hexadecimal" },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
		  "\r\n\r\n3\r\nabcX",
		  "HTTP/1.1 400 ", "no CRLF after chunk data" },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
		  "\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n"
		  "\r\n",
		  "HTTP/1.1 200 ", "\r\n\r\nabcde" },
		{ "GET /hello HTTP/1.0\r\n\r\n", "HTTP/1.0 200 ",
		  "\r\n\r\nhello\n" },
		/* keep-alive: HTTP/1.0 when asked, pipelined requests */
		{ "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
		  "GET /hello HTTP/1.0\r\n\r\n",
		  "HTTP/1.0 200 ",
		  "connection: keep-alive\r\n\r\nhello\nHTTP/1.0 200 " },
		{ "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
		  "abcGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		  "\r\n",
		  "HTTP/1.1 200 ", "\r\n\r\nabcHTTP/1.1 200 " },
	};
	struct fx *f = *state;
	struct pb_buf got;
	size_t i;
	int fd;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pb_buf_init(&got, 0);
		fd = raw_connect(f->port);
		assert_true(fd >= 0);
		raw_send(fd, cases[i].request, strlen(cases[i].request));
		/* each answer closes the connection */
		if (!raw_read(fd, &got, 3000))
			fail_msg("case %zu: still open", i);
		if (strncmp(pb_buf_cstr(&got), cases[i].status_line,
			    strlen(cases[i].status_line)) ||
		    !strstr(pb_buf_cstr(&got), cases[i].body))
			fail_msg("case %zu: got '%s'", i, pb_buf_cstr(&got));
		close(fd);
		pb_buf_release(&got);
	}
}

static void
test_http_server_drops_a_client_that_stops_sending_headers(void **state)
{
	static const char *const starts[] = {
		"", /* connects and says nothing */
		"POST /echo HTTP/1.1\r\nHost: x\r\n",
		"GET /hel",
	};
	struct fx *f = *state;
	struct pb_buf got;
	long long t0, took;
	size_t i;
	int fd;

	fx_start(f, "127.0.0.1:0", 0, 300, 300, 0, 0);
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		pb_buf_init(&got, 0);
		fd = raw_connect(f->port);
		assert_true(fd >= 0);
		t0 = now_ms();
		if (*starts[i])
			raw_send(fd, starts[i], strlen(starts[i]));
		assert_int_equal(raw_read(fd, &got, 3000), 1);
		took = now_ms() - t0;
		if (took < 250 || took > 2000)
			fail_msg("case %zu: closed after %lld ms", i, took);
		assert_int_equal(got.len, 0);
		close(fd);
		pb_buf_release(&got);
	}
	assert_int_equal(f->calls, 0);
}

static void
test_http_server_drops_a_client_that_stops_sending_the_body(void **state)
{
	static const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\n"
				  "Content-Length: 100\r\n\r\n0123456789";
	struct fx *f = *state;
	struct pb_buf got;
	long long t0, took;
	int fd;

	fx_start(f, "127.0.0.1:0", 0, 300, 300, 0, 0);
	pb_buf_init(&got, 0);
	fd = raw_connect(f->port);
	assert_true(fd >= 0);
	t0 = now_ms();
	raw_send(fd, req, sizeof(req) - 1);
	assert_int_equal(raw_read(fd, &got, 3000), 1);
	took = now_ms() - t0;
	if (took < 250 || took > 2000)
		fail_msg("closed after %lld ms", took);
	assert_int_equal(got.len, 0);
	assert_int_equal(f->calls, 0);
	close(fd);
	pb_buf_release(&got);
}

static void test_http_server_answers_50_concurrent_requests(void **state)
{
	enum { N = 50 };
	struct fx *f = *state;
	struct reply r[N];
	CURL *h[N];
	CURLM *m = curl_multi_init();
	CURLMsg *msg;
	char body[10000];
	long conns, total_conns = 0;
	int running = 1, left, i;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	memset(body, 'b', sizeof(body));
	assert_non_null(m);
	for (i = 0; i < N; i++) {
		reply_init(&r[i]);
		h[i] = i % 2 ? easy_new(f, "GET", "/hello", NULL, 0, NULL,
					&r[i]) :
			       easy_new(f, "POST", "/echo", body, sizeof(body),
					NULL, &r[i]);
		curl_multi_add_handle(m, h[i]);
	}
	while (running) {
		assert_int_equal(curl_multi_perform(m, &running), CURLM_OK);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	while ((msg = curl_multi_info_read(m, &left)))
		assert_int_equal(msg->data.result, CURLE_OK);
	for (i = 0; i < N; i++) {
		curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &r[i].status);
		curl_easy_getinfo(h[i], CURLINFO_NUM_CONNECTS, &conns);
		total_conns += conns;
		assert_int_equal(r[i].status, 200);
		assert_int_equal(r[i].body.len, i % 2 ? 6 : sizeof(body));
		curl_multi_remove_handle(m, h[i]);
		curl_easy_cleanup(h[i]);
		reply_release(&r[i]);
	}
	curl_multi_cleanup(m);
	assert_int_equal(total_conns, N); /* one connection each, at once */
	assert_int_equal(f->calls, N);
}

static void test_http_server_closes_connections_over_the_limit(void **state)
{
	static const char get[] = "GET /hello HTTP/1.1\r\nHost: x\r\n"
				  "Connection: close\r\n\r\n";
	struct fx *f = *state;
	struct pb_buf got;
	int a, b, c, ok = 0;
	long long end;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 2, 0);
	a = raw_connect(f->port);
	b = raw_connect(f->port);
	c = raw_connect(f->port);
	assert_true(a >= 0 && b >= 0 && c >= 0);

	/* the third is closed at once, with nothing said */
	pb_buf_init(&got, 0);
	assert_int_equal(raw_read(c, &got, 2000), 1);
	assert_int_equal(got.len, 0);
	close(c);

	/* the first two are served */
	raw_send(a, get, sizeof(get) - 1);
	assert_int_equal(raw_read(a, &got, 2000), 1);
	assert_non_null(strstr(pb_buf_cstr(&got), "HTTP/1.1 200 "));
	close(a);

	/* a place freed is taken again */
	end = now_ms() + 2000;
	while (!ok && now_ms() < end) {
		pb_buf_reset(&got);
		c = raw_connect(f->port);
		assert_true(c >= 0);
		raw_send(c, get, sizeof(get) - 1);
		raw_read(c, &got, 1000);
		ok = strstr(pb_buf_cstr(&got), "hello\n") != NULL;
		close(c);
		if (!ok)
			sleep_ms(20);
	}
	assert_true(ok);
	close(b);
	pb_buf_release(&got);
}

static void test_http_server_stops_while_idle(void **state)
{
	struct fx *f = *state;
	long long t0;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	t0 = now_ms();
	assert_int_equal(pb_http_server_stop(f->srv), 0);
	assert_true(now_ms() - t0 < 1000);
	assert_true(port_refuses(f->port, 100));
	assert_int_equal(pb_http_server_stop(f->srv), 0); /* again: same */
	pb_http_server_free(NULL);
}

struct stopper {
	struct pb_http_server *srv;
	int rc;
	long long took;
};

static void *stop_thread(void *arg)
{
	struct stopper *st = arg;
	long long t0 = now_ms();

	st->rc = pb_http_server_stop(st->srv);
	st->took = now_ms() - t0;
	return NULL;
}

/* Headers in (the 100 says so), body half sent: a request in flight. */
static int in_flight(struct fx *f, struct pb_buf *got)
{
	static const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\n"
				  "Expect: 100-continue\r\n"
				  "Content-Length: 10\r\n\r\n";
	int fd = raw_connect(f->port);

	assert_true(fd >= 0);
	raw_send(fd, req, sizeof(req) - 1);
	assert_true(
		raw_wait_for(fd, got, "HTTP/1.1 100 Continue\r\n\r\n", 2000));
	raw_send(fd, "hello", 5);
	return fd;
}

static void test_http_server_stop_finishes_requests_in_flight(void **state)
{
	struct fx *f = *state;
	struct stopper st = { 0 };
	struct pb_buf got, idle_got;
	pthread_t t;
	int fd, idle;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	pb_buf_init(&got, 0);
	pb_buf_init(&idle_got, 0);
	idle = raw_connect(f->port);
	assert_true(idle >= 0);
	fd = in_flight(f, &got);

	st.srv = f->srv;
	assert_int_equal(pthread_create(&t, NULL, stop_thread, &st), 0);
	/* stopped accepting; the idle connection is closed */
	assert_true(port_refuses(f->port, 2000));
	assert_int_equal(raw_read(idle, &idle_got, 2000), 1);
	assert_int_equal(idle_got.len, 0);

	/* the request in flight still gets its whole answer */
	raw_send(fd, "world", 5);
	assert_int_equal(raw_read(fd, &got, 3000), 1);
	assert_non_null(strstr(pb_buf_cstr(&got), "HTTP/1.1 200 "));
	assert_non_null(strstr(pb_buf_cstr(&got), "connection: close\r\n"));
	assert_non_null(strstr(pb_buf_cstr(&got), "\r\n\r\nhelloworld"));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(st.rc, 0);
	close(fd);
	close(idle);
	pb_buf_release(&got);
	pb_buf_release(&idle_got);
}

static void test_http_server_answers_the_request_that_stops_it(void **state)
{
	struct fx *f = *state;
	struct reply r;
	long long t0;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	reply_init(&r);
	assert_int_equal(http(f, "POST", "/stop", "", 0, NULL, &r), 200);
	assert_string_equal(pb_buf_cstr(&r.body), "stopping\n");
	reply_release(&r);
	t0 = now_ms();
	assert_int_equal(pb_http_server_stop(f->srv), 0);
	assert_true(now_ms() - t0 < 1000);
	assert_true(port_refuses(f->port, 100));
}

static void test_http_server_stop_cuts_requests_after_the_grace(void **state)
{
	struct fx *f = *state;
	struct pb_buf got;
	long long t0, took;
	int fd;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 200);
	pb_buf_init(&got, 0);
	fd = in_flight(f, &got); /* and the rest never comes */
	t0 = now_ms();
	assert_int_equal(pb_http_server_stop(f->srv), PB_ETIMEOUT);
	took = now_ms() - t0;
	if (took < 150 || took > 2000)
		fail_msg("stop took %lld ms", took);
	assert_non_null(strstr(pb_err_last(), "cut after the 200 ms stop"));
	assert_int_equal(raw_read(fd, &got, 1000), 1);
	close(fd);
	pb_buf_release(&got);
	assert_int_equal(f->calls, 0);
}

static int ipv6_loopback(void)
{
	struct sockaddr_in6 a;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void test_http_server_listens_on_ipv6_loopback(void **state)
{
	struct fx *f = *state;
	struct reply r;

	if (!ipv6_loopback())
		skip(); /* ::1 is not configured here */
	fx_start(f, "[::1]:0", 0, 0, 0, 0, 0);
	reply_init(&r);
	assert_int_equal(http_get(f, "/inspect", &r), 200);
	assert_string_equal(f->last_peer, "::1");
	reply_release(&r);
	assert_int_equal(pb_http_server_stop(f->srv), 0);
}

static void test_http_server_refuses_bad_listen_addresses(void **state)
{
	static const struct {
		const char *listen;
		const char *msg;
	} cases[] = {
		{ "", "listen address is empty" },
		{ "8080", "listen address '8080': expected HOST:PORT" },
		{ "127.0.0.1",
		  "listen address '127.0.0.1': expected HOST:PORT" },
		{ "127.0.0.1:", "'127.0.0.1:': the port must be a number" },
		{ "127.0.0.1:65536",
		  "the port must be a number from 0 to 65535" },
		{ "127.0.0.1:80x", "the port must be a number" },
		{ "localhost:8080", "'localhost:8080': expected HOST:PORT with "
				    "a numeric host" },
		{ "::1:8080", "'::1:8080': expected HOST:PORT" },
		{ "[::1:8080", "expected HOST:PORT" },
		{ "[127.0.0.1]:8080", "expected HOST:PORT" },
		{ "1.2.3.4.5:80", "expected HOST:PORT" },
	};
	static char sentinel;
	struct pb_http_server_opts o = { 0 };
	struct pb_http_server *s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = (struct pb_http_server *)(void *)&sentinel;
		assert_int_equal(pb_http_server_check_listen(cases[i].listen),
				 PB_EINVAL);
		if (!strstr(pb_err_last(), cases[i].msg))
			fail_msg("'%s': %s", cases[i].listen, pb_err_last());
		o.listen = cases[i].listen;
		assert_int_equal(pb_http_server_start(&s, &o), PB_EINVAL);
		assert_null(s);
	}
	assert_int_equal(pb_http_server_check_listen("0.0.0.0:8080"), 0);
	assert_int_equal(pb_http_server_check_listen("[::]:0"), 0);
	(void)state;
}

static void test_http_server_names_the_address_it_cannot_bind(void **state)
{
	struct fx *f = *state;
	struct pb_http_server_opts o = { 0 };
	struct pb_http_server *s;
	char listen[64], want[96];

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", f->port);
	o.listen = listen;
	assert_int_equal(pb_http_server_start(&s, &o), PB_ERROR);
	assert_null(s);
	snprintf(want, sizeof(want), "cannot listen on '%s': ", listen);
	assert_non_null(strstr(pb_err_last(), want));
	assert_non_null(strstr(pb_err_last(), "another server"));
}

static void test_http_server_refuses_bad_routes(void **state)
{
	static const struct {
		struct pb_http_server_route r[2];
		size_t n;
		const char *msg;
	} cases[] = {
		{ { { "get", "/a", h_hello, NULL } },
		  1,
		  "http route 0: method 'get' is not an upper-case HTTP "
		  "method" },
		{ { { "GET", "a", h_hello, NULL } },
		  1,
		  "http route 0 (GET): path 'a' must start with '/'" },
		{ { { "GET", "/a", NULL, NULL } },
		  1,
		  "http route 0 (GET /a): no handler" },
		{ { { "GET", "/a", h_hello, NULL },
		    { "GET", "/a", h_echo, NULL } },
		  2,
		  "http route 1: 'GET /a' is already route 0" },
	};
	struct pb_http_server_opts o = { .listen = "127.0.0.1:0" };
	struct pb_http_server *s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o.routes = cases[i].r;
		o.n_routes = cases[i].n;
		assert_int_equal(pb_http_server_start(&s, &o), PB_EINVAL);
		assert_null(s);
		assert_string_equal(pb_err_last(), cases[i].msg);
	}
	(void)state;
}

static FILE *log_capture(enum pb_log_level level)
{
	FILE *log = tmpfile();

	assert_non_null(log);
	pb_log_init(level, log);
	return log;
}

static char *log_release(FILE *log)
{
	struct pb_buf text = PB_BUF_INIT;
	char buf[1024];
	size_t n;

	pb_log_init(PB_LOG_WARN, NULL);
	rewind(log);
	while ((n = fread(buf, 1, sizeof(buf), log)) > 0)
		assert_int_equal(pb_buf_add(&text, buf, n), 0);
	fclose(log);
	return pb_buf_detach(&text);
}

static void test_http_server_answers_500_when_the_handler_fails(void **state)
{
	struct fx *f = *state;
	FILE *log = log_capture(PB_LOG_ERROR);
	struct reply r;
	char *text;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	reply_init(&r);
	assert_int_equal(http_get(f, "/fail", &r), 500);
	assert_string_equal(pb_buf_cstr(&r.body), "internal error\n");
	reply_release(&r);
	assert_int_equal(pb_http_server_stop(f->srv), 0);
	text = log_release(log);
	assert_non_null(strstr(text, " error http: GET /fail from 127.0.0.1: "
				     "the state store did not answer\n"));
	free(text);
}

static void test_http_server_sends_the_handlers_status_and_headers(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char v[32];

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	reply_init(&r);
	assert_int_equal(http_get(f, "/busy", &r), 503);
	assert_string_equal(answer_header(&r, "Retry-After", v, sizeof(v)),
			    "30");
	assert_string_equal(pb_buf_cstr(&r.body), "queue full\n");
	reply_release(&r);
}

static void test_http_server_add_header_refuses_bad_headers(void **state)
{
	static const struct {
		const char *name;
		const char *value;
		int rc;
		const char *msg;
	} cases[] = {
		{ "Retry After", "30", PB_EINVAL,
		  "response header 'Retry After': the name is not an HTTP "
		  "token" },
		{ "Location", "/a\r\nSet-Cookie: x=1", PB_EINVAL,
		  "response header 'Location': the value holds a CR or LF" },
		{ "content-length", "3", PB_EINVAL,
		  "response header 'content-length': the server sets it; use "
		  "content_type for Content-Type" },
		{ "", "x", PB_EINVAL,
		  "response header: name and value are "
		  "required" },
	};
	struct pb_http_server_response resp;
	char big[3000];
	size_t i;

	memset(&resp, 0, sizeof(resp));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(pb_http_server_add_header(&resp, cases[i].name,
							   cases[i].value),
				 cases[i].rc);
		assert_string_equal(pb_err_last(), cases[i].msg);
	}
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(pb_http_server_add_header(&resp, "X-Big", big),
			 PB_ETOOBIG);
	assert_int_equal(resp.headers.len, 0);
	assert_int_equal(pb_http_server_add_header(&resp, "X-Ok", "1"), 0);
	pb_buf_release(&resp.headers);
	(void)state;
}

static void test_http_server_logs_each_answer_at_debug(void **state)
{
	struct fx *f = *state;
	FILE *log = log_capture(PB_LOG_DEBUG);
	struct reply r;
	char *text;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	reply_init(&r);
	assert_int_equal(http_get(f, "/hello", &r), 200);
	reply_release(&r);
	reply_init(&r);
	assert_int_equal(http_get(f, "/nope", &r), 404);
	reply_release(&r);
	assert_int_equal(pb_http_server_stop(f->srv), 0);
	text = log_release(log);
	assert_non_null(strstr(text, " debug http: GET /hello 200 "));
	assert_non_null(strstr(text, " debug http: GET /nope 404 "));
	assert_non_null(strstr(text, " ms from 127.0.0.1\n"));
	assert_non_null(strstr(text, " info http: listening on 127.0.0.1:0"));
	assert_null(strstr(text, "libwebsockets:")); /* quiet when all is well
						      */
	free(text);
}

/* ---- answers given later ---- */

static void raw_get(int fd, const char *path)
{
	char req[256];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
			 path);

	raw_send(fd, req, (size_t)n);
}

/* The body of the first raw answer in text: what follows its blank line. */
static const char *raw_body(const char *text)
{
	const char *p = strstr(text, "\r\n\r\n");

	return p ? p + 4 : "";
}

static void
test_http_server_sends_an_answer_given_on_another_thread(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char v[64], url[128];
	long conns = -1;
	CURL *h;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	reply_init(&r);
	h = easy_new(f, "GET", "/later-thread?n=1", NULL, 0, NULL, &r);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	assert_int_equal(r.status, 202);
	assert_string_equal(answer_header(&r, "Content-Type", v, sizeof(v)),
			    "application/vnd.prbot+json");
	assert_string_equal(answer_header(&r, "X-Queued-As", v, sizeof(v)),
			    "n=1");
	assert_string_equal(answer_header(&r, "Content-Length", v, sizeof(v)),
			    "17");
	assert_string_equal(pb_buf_cstr(&r.body), "{\"queued\":\"n=1\"}\n");

	/* the connection is kept for the next request, deferred too */
	pb_buf_reset(&r.body);
	pb_buf_reset(&r.head);
	snprintf(url, sizeof(url), "http://%s:%d/later-thread?n=2", f->host,
		 f->port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
	assert_int_equal(conns, 0);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	assert_int_equal(r.status, 202);
	assert_string_equal(answer_header(&r, "X-Queued-As", v, sizeof(v)),
			    "n=2");
	assert_string_equal(pb_buf_cstr(&r.body), "{\"queued\":\"n=2\"}\n");
	curl_easy_cleanup(h);
	reply_release(&r);
	assert_int_equal(later_join(&f->q), 2);
	assert_int_equal(f->calls, 2);
}

struct batch {
	struct later_q *q;
	size_t want;
	size_t answered;
};

/* A committer: collect want handles, answer them at once, last first. */
static void *batch_main(void *arg)
{
	struct batch *b = arg;
	struct pb_http_server_later *l[LATER_MAX];
	char tag[LATER_MAX][64];
	size_t i, n;

	later_wait(b->q, b->want, 5000);
	pthread_mutex_lock(&b->q->mu);
	n = b->q->n;
	for (i = 0; i < n; i++) {
		l[i] = b->q->l[i];
		b->q->l[i] = NULL;
		memcpy(tag[i], b->q->tag[i], sizeof(tag[i]));
	}
	pthread_mutex_unlock(&b->q->mu);
	while (n--) {
		if (!l[n])
			continue;
		later_give(l[n], 200, tag[n]);
		b->answered++;
	}
	return NULL;
}

static void
test_http_server_sends_each_deferred_answer_to_its_request(void **state)
{
	enum { N = 50 };
	struct fx *f = *state;
	struct batch b = { .q = &f->q, .want = N };
	struct pb_buf got;
	char path[64], want[64];
	int fd[N], i;
	pthread_t t;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	assert_int_equal(pthread_create(&t, NULL, batch_main, &b), 0);
	for (i = 0; i < N; i++) {
		fd[i] = raw_connect(f->port);
		assert_true(fd[i] >= 0);
		snprintf(path, sizeof(path), "/later?id=%d", i);
		raw_get(fd[i], path);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(b.answered, N);
	pb_buf_init(&got, 0);
	for (i = 0; i < N; i++) {
		pb_buf_reset(&got);
		if (!raw_wait_for(fd[i], &got, "!\n", 3000))
			fail_msg("request %d: got '%s'", i, pb_buf_cstr(&got));
		assert_non_null(strstr(pb_buf_cstr(&got), "HTTP/1.1 200 "));
		snprintf(want, sizeof(want), "answer to id=%d!\n", i);
		assert_string_equal(raw_body(pb_buf_cstr(&got)), want);
		close(fd[i]);
	}
	pb_buf_release(&got);
	assert_int_equal(f->calls, N);
}

static void
test_http_server_survives_a_client_leaving_before_the_answer(void **state)
{
	static const struct {
		int reset;    /* leave with a RST rather than a FIN */
		int delay_ms; /* between the client leaving and the answer */
	} cases[] = { { 0, 0 }, { 0, 50 }, { 1, 0 }, { 1, 50 } };
	struct fx *f = *state;
	FILE *log = log_capture(PB_LOG_WARN); /* a failed write is logged */
	struct linger rst = { 1, 0 };
	struct reply r;
	size_t i;
	int fd;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = raw_connect(f->port);
		assert_true(fd >= 0);
		raw_get(fd, "/later?id=gone");
		assert_true(later_wait(&f->q, i + 1, 2000));
		if (cases[i].reset)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst,
				   sizeof(rst));
		close(fd);
		sleep_ms(cases[i].delay_ms);
		later_give(later_take(&f->q, i), 200, "nobody");
	}

	/* and goes on serving */
	reply_init(&r);
	assert_int_equal(http_get(f, "/hello", &r), 200);
	assert_string_equal(pb_buf_cstr(&r.body), "hello\n");
	reply_release(&r);
	assert_int_equal(pb_http_server_stop(f->srv), 0);
	free(log_release(log));
}

static void
test_http_server_holds_a_pipelined_request_behind_a_deferred_one(void **state)
{
	static const char two[] = "GET /later?id=1 HTTP/1.1\r\nHost: x\r\n\r\n"
				  "GET /later?id=2 HTTP/1.1\r\nHost: x\r\n\r\n";
	struct fx *f = *state;
	struct pb_buf got;
	const char *p;
	size_t i, base;
	int fd;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	pb_buf_init(&got, 0);
	/* the second request in the same packet, then sent while waiting */
	for (i = 0; i < 2; i++) {
		base = i * 2;
		fd = raw_connect(f->port);
		assert_true(fd >= 0);
		if (i == 0)
			raw_send(fd, two, sizeof(two) - 1);
		else
			raw_get(fd, "/later?id=1");
		assert_true(later_wait(&f->q, base + 1, 2000));
		if (i == 1)
			raw_get(fd, "/later?id=2");
		/* not read while the first waits for its answer */
		assert_false(later_wait(&f->q, base + 2, 50));
		later_give(later_take(&f->q, base), 200, "id=1");
		assert_true(later_wait(&f->q, base + 2, 2000));
		later_give(later_take(&f->q, base + 1), 200, "id=2");

		pb_buf_reset(&got);
		assert_true(raw_wait_for(fd, &got, "answer to id=2!\n", 2000));
		p = strstr(pb_buf_cstr(&got), "\r\n\r\nanswer to id=1!\n"
					      "HTTP/1.1 200 ");
		assert_non_null(p);
		assert_string_equal(raw_body(p + 4), "answer to id=2!\n");
		close(fd);
	}
	pb_buf_release(&got);
	assert_int_equal(f->calls, 4);
}

static void test_http_server_stop_waits_for_a_deferred_answer(void **state)
{
	struct fx *f = *state;
	struct stopper st = { 0 };
	struct pb_buf got;
	pthread_t t;
	int fd, stopping, closed;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 3000);
	pb_buf_init(&got, 0);
	fd = raw_connect(f->port);
	assert_true(fd >= 0);
	raw_get(fd, "/later?id=stop");
	assert_true(later_wait(&f->q, 1, 2000));

	st.srv = f->srv;
	assert_int_equal(pthread_create(&t, NULL, stop_thread, &st), 0);
	stopping = port_refuses(f->port, 2000);
	later_give(later_take(&f->q, 0), 200, "id=stop");
	closed = raw_read(fd, &got, 3000);
	/* joined before any check, so a failure cannot free under it */
	assert_int_equal(pthread_join(t, NULL), 0);

	assert_true(stopping); /* answered once the stop had begun */
	assert_int_equal(closed, 1);
	assert_non_null(strstr(pb_buf_cstr(&got), "HTTP/1.1 200 "));
	assert_non_null(strstr(pb_buf_cstr(&got), "connection: close\r\n"));
	assert_string_equal(raw_body(pb_buf_cstr(&got)),
			    "answer to id=stop!\n");
	assert_int_equal(st.rc, 0);
	if (st.took > 2000)
		fail_msg("stop took %lld ms", st.took);
	close(fd);
	pb_buf_release(&got);
}

static void test_http_server_stop_gives_up_on_a_deferred_answer_after_the_grace(
	void **state)
{
	struct fx *f = *state;
	FILE *log = log_capture(PB_LOG_WARN);
	struct pb_buf got;
	long long t0, took;
	char *text;
	int fd;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 150);
	pb_buf_init(&got, 0);
	fd = raw_connect(f->port);
	assert_true(fd >= 0);
	raw_get(fd, "/later?id=slow");
	assert_true(later_wait(&f->q, 1, 2000));

	t0 = now_ms();
	assert_int_equal(pb_http_server_stop(f->srv), PB_ETIMEOUT);
	took = now_ms() - t0;
	if (took < 100 || took > 2000)
		fail_msg("stop took %lld ms", took);
	assert_non_null(strstr(pb_err_last(), "cut after the 150 ms stop"));
	assert_int_equal(raw_read(fd, &got, 1000), 1);
	assert_int_equal(got.len, 0);

	/* the answer comes after all: stopped, not yet freed */
	later_give(later_take(&f->q, 0), 200, "id=slow");
	close(fd);
	pb_buf_release(&got);
	text = log_release(log);
	assert_non_null(strstr(text, " warn http: stop on 127.0.0.1:0: closing "
				     "1 connection still busy after 150 ms\n"));
	free(text);
}

/* The request's own deadline ends it before the grace: still not finished. */
static void
test_http_server_stop_reports_a_deferred_request_cut_by_its_deadline(
	void **state)
{
	struct fx *f = *state;
	long long t0, took;
	int fd;

	fx_start(f, "127.0.0.1:0", 0, 0, 150, 0, 5000);
	fd = raw_connect(f->port);
	assert_true(fd >= 0);
	raw_get(fd, "/later?id=late");
	assert_true(later_wait(&f->q, 1, 2000));

	t0 = now_ms();
	assert_int_equal(pb_http_server_stop(f->srv), PB_ETIMEOUT);
	took = now_ms() - t0;
	if (took > 3000)
		fail_msg("stop took %lld ms, past the request's deadline",
			 took);
	assert_non_null(strstr(pb_err_last(), "a request was cut by its own "
					      "deadline during the stop"));
	later_give(later_take(&f->q, 0), 200, "id=late");
	close(fd);
}

static void
test_http_server_closes_a_deferred_request_never_answered(void **state)
{
	struct fx *f = *state;
	FILE *log = log_capture(PB_LOG_WARN);
	struct pb_buf got;
	struct reply r;
	long long t0, took;
	char *text;
	int fd;

	fx_start(f, "127.0.0.1:0", 0, 0, 200, 0, 0);
	pb_buf_init(&got, 0);
	fd = raw_connect(f->port);
	assert_true(fd >= 0);
	raw_get(fd, "/later?id=forgotten");
	assert_true(later_wait(&f->q, 1, 2000));
	t0 = now_ms();
	assert_int_equal(raw_read(fd, &got, 2000), 1);
	took = now_ms() - t0;
	assert_int_equal(got.len, 0);
	if (took < 100)
		fail_msg("closed after %lld ms, before the 200 ms", took);

	/* the handle is still owed, and answering it is harmless */
	later_give(later_take(&f->q, 0), 200, "id=forgotten");
	close(fd);
	reply_init(&r);
	assert_int_equal(http_get(f, "/hello", &r), 200);
	reply_release(&r);
	assert_int_equal(pb_http_server_stop(f->srv), 0);
	text = log_release(log);
	assert_non_null(strstr(text, " http: GET /later from 127.0.0.1: no "
				     "answer within 200 ms: closing\n"));
	free(text);
	pb_buf_release(&got);
}

static void test_http_server_answers_500_when_the_handler_fails_after_deferring(
	void **state)
{
	struct fx *f = *state;
	FILE *log = log_capture(PB_LOG_ERROR);
	struct pb_buf got;
	char *text;
	int fd;

	fx_start(f, "127.0.0.1:0", 0, 0, 0, 0, 0);
	pb_buf_init(&got, 0);
	fd = raw_connect(f->port);
	assert_true(fd >= 0);
	raw_get(fd, "/later-fail?id=1");
	assert_true(raw_wait_for(fd, &got, "internal error\n", 2000));
	assert_non_null(strstr(pb_buf_cstr(&got), "HTTP/1.1 500 "));
	assert_true(later_wait(&f->q, 1, 0));

	/* the next request on the connection is not the old handle's */
	pb_buf_reset(&got);
	raw_get(fd, "/later?id=2");
	assert_true(later_wait(&f->q, 2, 2000));
	later_give(later_take(&f->q, 0), 200, "the failed request");
	later_give(later_take(&f->q, 1), 200, "id=2");
	assert_true(raw_wait_for(fd, &got, "!\n", 2000));
	assert_non_null(strstr(pb_buf_cstr(&got), "HTTP/1.1 200 "));
	assert_string_equal(raw_body(pb_buf_cstr(&got)), "answer to id=2!\n");
	/* and nothing more comes */
	pb_buf_reset(&got);
	assert_int_equal(raw_read(fd, &got, 100), 0);
	assert_int_equal(got.len, 0);
	close(fd);
	pb_buf_release(&got);
	assert_int_equal(pb_http_server_stop(f->srv), 0);
	text = log_release(log);
	assert_non_null(strstr(text, " error http: GET /later-fail from "
				     "127.0.0.1: the commit failed\n"));
	free(text);
}

static int group_setup(void **state)
{
	pb_log_init(PB_LOG_WARN, NULL);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
	curl_global_cleanup();
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_http_server_answers_a_route_with_its_body),
		T(test_http_server_gives_handlers_headers_query_and_peer),
		T(test_http_server_passes_post_bodies_whole),
		T(test_http_server_sends_100_continue_when_asked),
		T(test_http_server_refuses_a_content_length_over_the_limit),
		T(test_http_server_refuses_a_chunked_body_passing_the_limit),
		T(test_http_server_answers_404_and_405_with_allow),
		T(test_http_server_reads_raw_requests_by_their_framing),
		T(test_http_server_drops_a_client_that_stops_sending_headers),
		T(test_http_server_drops_a_client_that_stops_sending_the_body),
		T(test_http_server_answers_50_concurrent_requests),
		T(test_http_server_closes_connections_over_the_limit),
		T(test_http_server_stops_while_idle),
		T(test_http_server_stop_finishes_requests_in_flight),
		T(test_http_server_answers_the_request_that_stops_it),
		T(test_http_server_stop_cuts_requests_after_the_grace),
		T(test_http_server_listens_on_ipv6_loopback),
		T(test_http_server_refuses_bad_listen_addresses),
		T(test_http_server_names_the_address_it_cannot_bind),
		T(test_http_server_refuses_bad_routes),
		T(test_http_server_answers_500_when_the_handler_fails),
		T(test_http_server_sends_the_handlers_status_and_headers),
		T(test_http_server_add_header_refuses_bad_headers),
		T(test_http_server_logs_each_answer_at_debug),
		T(test_http_server_sends_an_answer_given_on_another_thread),
		T(test_http_server_sends_each_deferred_answer_to_its_request),
		T(test_http_server_survives_a_client_leaving_before_the_answer),
		T(test_http_server_holds_a_pipelined_request_behind_a_deferred_one),
		T(test_http_server_stop_waits_for_a_deferred_answer),
		T(test_http_server_stop_gives_up_on_a_deferred_answer_after_the_grace),
		T(test_http_server_stop_reports_a_deferred_request_cut_by_its_deadline),
		T(test_http_server_closes_a_deferred_request_never_answered),
		T(test_http_server_answers_500_when_the_handler_fails_after_deferring),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
