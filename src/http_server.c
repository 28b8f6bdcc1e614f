/* http_server.c: HTTP/1.1 server on libwebsockets: limits, deadlines, routes */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/http_server.h"
#include "prbot/log.h"
#include "banned.h"

/*
 * Written against libwebsockets 4.1 (Debian 12). Where this file mirrors a
 * decision lws takes internally, the comment names the lws function.
 */
#if !defined(LWS_WITH_HTTP_UNCOMMON_HEADERS) || \
	!defined(LWS_WITH_CUSTOM_HEADERS) || !defined(LWS_ROLE_RAW_FILE)
#error "libwebsockets without UNCOMMON_HEADERS, CUSTOM_HEADERS or RAW_FILE"
#endif

#define DEF_HEADER_TIMEOUT_MS 10000
#define DEF_BODY_TIMEOUT_MS   30000
#define DEF_STOP_TIMEOUT_MS   10000
#define DEF_MAX_CONNS	      512
#define MAX_CONNS	      65535 /* lws counts header tables in 16 bits */
#define LINGER_MS	      1000 /* reading what a refused client still sends */
#define ACCEPT_PAUSE_MS	      100 /* after running out of descriptors */
#define WRITE_CHUNK	      32768
#define HEAD_MAX	      4096 /* status line and headers of an answer */
#define ADDED_HEADERS_MAX     2048
#define REQUEST_HEAD_MAX      8192 /* request line and headers, for lws */
#define CHUNK_EXTRA_MAX	      8192 /* chunk extensions and trailers */
#define SHOWN_MAX	      200 /* of a path quoted in a log line or answer */
#define DEF_CONTENT_TYPE      "text/plain; charset=utf-8"

struct route {
	char *method;
	char *path;
	int (*handler)(const struct pb_http_server_request *req,
		       struct pb_http_server_response *resp, void *arg);
	void *arg;
};

enum phase {
	PH_HEADERS, /* waiting for a request line and headers */
	PH_BODY,    /* reading the body */
	PH_WAIT,    /* the handler answers later (pb_http_server_defer) */
	PH_ANSWER,  /* writing the answer */
	PH_FLUSH,   /* answer written, lws still holds some of it */
	PH_LINGER   /* answer sent, write side shut, reading what still comes */
};

enum framing { FR_NONE, FR_LENGTH, FR_CHUNKED };

enum chunk_state {
	CH_SIZE,
	CH_EXT,
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER,
	CH_TRAILER_LINE,
	CH_END_LF
};

/*
 * A deferred answer. conn is the service thread's alone (NULL once the
 * connection is gone); the rest is written by the answering thread before
 * it puts l on srv->answered, and read by the service thread after.
 */
struct pb_http_server_later {
	struct pb_http_server *srv;
	struct pb_http_server_conn *conn;
	struct pb_http_server_later *next;
	int status;
	char *ctype;
	int ctype_oom;
	struct pb_buf body, headers;
};

/* A header a handler asked for, kept until the answer starts. */
struct hdr {
	struct hdr *next;
	char *value; /* NULL: the request has none */
	char name[]; /* lower case, with the ':' lws keys them by */
};

struct pb_http_server_conn {
	struct pb_http_server *srv;
	struct lws *wsi;
	struct pb_http_server_conn *prev, *next;
	char peer[INET6_ADDRSTRLEN];
	enum phase phase;
	struct pb_http_server_later *later; /* in PH_WAIT */

	/* the request */
	lws_usec_t t0;
	const char *method; /* static */
	char *path;
	char *query;
	const struct route *route;
	struct hdr *hdrs;
	enum framing framing;
	unsigned long long length; /* Content-Length */
	int body_unread; /* lws still reads a body, to BODY_COMPLETION */
	int keepalive;
	int http10;
	int head;
	struct pb_buf body;
	enum chunk_state ch;
	unsigned long long ch_left;
	int ch_digits;
	size_t ch_extra;

	/* the answer */
	int status;
	char *ctype;	     /* NULL: DEF_CONTENT_TYPE */
	struct pb_buf added; /* "Name:\0value\0" pairs */
	struct pb_buf out;
	size_t sent;
	int head_sent;
	int close_after;
};

struct pb_http_server {
	char *listen;
	int port;
	int lfd;       /* the listening socket */
	int lfd_owned; /* ours to close: lws has not adopted it */
	struct route *routes;
	size_t n_routes;
	size_t max_body;
	unsigned header_ms, body_ms, stop_ms, max_conns;

	struct lws_context *ctx;
	struct lws_vhost *vh;
	unsigned char *wbuf; /* LWS_PRE + WRITE_CHUNK */

	/* the service thread's alone once it runs */
	struct lws *listen_wsi;
	struct pb_http_server_conn *conns;
	unsigned n_conns;
	struct pb_http_server_conn *adopting;
	int stopping;
	int loop_done;
	int stop_rc;
	char fail[256];
	time_t full_warned;
	lws_sorted_usec_list_t stop_sul;
	lws_sorted_usec_list_t accept_sul;

	/* deferred answers, filled by any thread, sent by the service one */
	pthread_mutex_t later_mu;
	struct pb_http_server_later *answered;

	/* any thread, signal handlers included */
	atomic_int stop_requested;
	atomic_int ctx_alive; /* lws_cancel_service() may be called */
	atomic_int waking;    /* callers inside lws_cancel_service() */

	pthread_t thread;
	int running; /* thread started and not joined */
};

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len);

static const struct lws_protocols protocols[] = {
	{ .name = "prbot-http", .callback = http_callback }, { .name = NULL }
};

static const struct {
	enum lws_token_indexes tok;
	const char *name;
} methods[] = {
	{ WSI_TOKEN_GET_URI, "GET" },
	{ WSI_TOKEN_POST_URI, "POST" },
	{ WSI_TOKEN_PUT_URI, "PUT" },
	{ WSI_TOKEN_PATCH_URI, "PATCH" },
	{ WSI_TOKEN_DELETE_URI, "DELETE" },
	{ WSI_TOKEN_OPTIONS_URI, "OPTIONS" },
	{ WSI_TOKEN_HEAD_URI, "HEAD" },
};

/* Text from the network made safe for one log line or answer line. */
static const char *shown(const char *s, char *out, size_t outsz)
{
	size_t i, n = 0;

	if (!s)
		s = "-";
	for (i = 0; s[i] && n + 4 < outsz && i < SHOWN_MAX; i++) {
		unsigned char b = (unsigned char)s[i];

		out[n++] = (b < 0x20 || b == 0x7f) ? '?' : (char)b;
	}
	if (s[i] && n + 4 <= outsz) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

static char ascii_lower(char ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

/* ---- listen address ---- */

static int listen_parse(const char *listen, struct sockaddr_storage *ss,
			socklen_t *sl)
{
	char host[INET6_ADDRSTRLEN];
	const char *h, *colon, *close, *q;
	unsigned long port = 0;
	size_t hlen;

	if (!listen || !*listen)
		return pb_err_setc(PB_EINVAL,
				   "listen address is empty: use HOST:PORT, "
				   "such as 127.0.0.1:8080 or [::]:8080");
	if (listen[0] == '[') {
		close = strchr(listen, ']');
		if (!close || close[1] != ':')
			goto bad;
		h = listen + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			goto bad;
		h = listen;
		hlen = (size_t)(colon - listen);
		if (memchr(h, ':', hlen))
			goto bad; /* IPv6 without brackets */
	}
	if (!hlen || hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	for (q = colon + 1; *q; q++) {
		if (*q < '0' || *q > '9' || q - colon > 5)
			goto bad_port;
		port = port * 10 + (unsigned long)(*q - '0');
	}
	if (q == colon + 1 || port > 65535)
		goto bad_port;

	memset(ss, 0, sizeof(*ss));
	if (listen[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		*sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		*sl = sizeof(*a);
	}
	return 0;
bad:
	return pb_err_setc(
		PB_EINVAL,
		"listen address '%s': expected HOST:PORT with a "
		"numeric host, such as 127.0.0.1:8080, 0.0.0.0:8080, "
		"[::1]:8080 or [::]:8080",
		listen);
bad_port:
	return pb_err_setc(PB_EINVAL,
			   "listen address '%s': the port must be a number "
			   "from 0 to 65535",
			   listen);
}

int pb_http_server_check_listen(const char *listen)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;

	return listen_parse(listen, &ss, &sl);
}

static int listen_open(struct pb_http_server *s,
		       const struct sockaddr_storage *ss, socklen_t sl)
{
	struct sockaddr_storage got;
	socklen_t gl = sizeof(got);
	int one = 1, zero = 0, e;
	const char *hint = "";

	s->lfd = socket(ss->ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return pb_err_set("cannot listen on '%s': %s", s->listen,
				  strerror(errno));
	s->lfd_owned = 1;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "[::]" takes IPv4 too, whatever the system default */
	if (ss->ss_family == AF_INET6)
		setsockopt(s->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			   sizeof(zero));
	if (bind(s->lfd, (const struct sockaddr *)ss, sl) < 0 ||
	    listen(s->lfd, SOMAXCONN) < 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&got, &gl) < 0) {
		e = errno;
		if (e == EADDRINUSE)
			hint = ": another server (or prbot) has the port; "
			       "stop it or change [server] listen";
		else if (e == EADDRNOTAVAIL)
			hint = ": the address is not configured on this host";
		else if (e == EACCES)
			hint = ": ports below 1024 need privileges";
		return pb_err_set("cannot listen on '%s': %s%s", s->listen,
				  strerror(e), hint);
	}
	if (got.ss_family == AF_INET6)
		s->port = ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
	else
		s->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
	return 0;
}

/* ---- routes and options ---- */

static int method_ok(const char *m)
{
	if (!m || !*m)
		return 0;
	for (; *m; m++)
		if (*m < 'A' || *m > 'Z')
			return 0;
	return 1;
}

static int routes_copy(struct pb_http_server *s,
		       const struct pb_http_server_opts *o)
{
	const struct pb_http_server_route *r;
	size_t i, j;

	if (o->n_routes && !o->routes)
		return pb_err_setc(PB_EINVAL,
				   "http server: %zu routes but "
				   "no route table",
				   o->n_routes);
	s->routes = calloc(o->n_routes ? o->n_routes : 1, sizeof(*s->routes));
	if (!s->routes)
		return pb_err_set("out of memory");
	for (i = 0; i < o->n_routes; i++) {
		r = &o->routes[i];
		if (!method_ok(r->method))
			return pb_err_setc(PB_EINVAL,
					   "http route %zu: method '%s' is not "
					   "an upper-case HTTP method",
					   i, r->method ? r->method : "");
		if (!r->path || r->path[0] != '/')
			return pb_err_setc(PB_EINVAL,
					   "http route %zu (%s): path '%s' "
					   "must start with '/'",
					   i, r->method,
					   r->path ? r->path : "");
		if (!r->handler)
			return pb_err_setc(PB_EINVAL,
					   "http route %zu (%s %s): no handler",
					   i, r->method, r->path);
		for (j = 0; j < i; j++)
			if (!strcmp(s->routes[j].method, r->method) &&
			    !strcmp(s->routes[j].path, r->path))
				return pb_err_setc(PB_EINVAL,
						   "http route %zu: '%s %s' is "
						   "already route %zu",
						   i, r->method, r->path, j);
		s->routes[i].method = strdup(r->method);
		s->routes[i].path = strdup(r->path);
		s->routes[i].handler = r->handler;
		s->routes[i].arg = r->arg;
		s->n_routes = i + 1;
		if (!s->routes[i].method || !s->routes[i].path)
			return pb_err_set("out of memory");
	}
	return 0;
}

static int opts_take(struct pb_http_server *s,
		     const struct pb_http_server_opts *o)
{
	if (o->max_connections > MAX_CONNS)
		return pb_err_setc(PB_EINVAL,
				   "http server: max_connections %u is over "
				   "%u",
				   o->max_connections, MAX_CONNS);
	s->max_body = o->max_body ? o->max_body : PB_HTTP_SERVER_MAX_BODY;
	s->header_ms = o->header_timeout_ms ? o->header_timeout_ms :
					      DEF_HEADER_TIMEOUT_MS;
	s->body_ms = o->body_timeout_ms ? o->body_timeout_ms :
					  DEF_BODY_TIMEOUT_MS;
	s->stop_ms = o->stop_timeout_ms ? o->stop_timeout_ms :
					  DEF_STOP_TIMEOUT_MS;
	s->max_conns = o->max_connections ? o->max_connections : DEF_MAX_CONNS;
	return routes_copy(s, o);
}

static lws_usec_t ms_us(unsigned ms)
{
	return (lws_usec_t)ms * 1000;
}

/* ---- one request: framing, route, body ---- */

static void hdrs_free(struct pb_http_server_conn *c)
{
	struct hdr *h, *next;

	for (h = c->hdrs; h; h = next) {
		next = h->next;
		free(h->value);
		free(h);
	}
	c->hdrs = NULL;
}

static void request_clear(struct pb_http_server_conn *c)
{
	hdrs_free(c);
	free(c->path);
	free(c->query);
	free(c->ctype);
	pb_buf_release(&c->body);
	pb_buf_release(&c->out);
	pb_buf_release(&c->added);
	c->path = c->query = c->ctype = NULL;
	c->method = NULL;
	c->route = NULL;
	c->framing = FR_NONE;
	c->length = 0;
	c->body_unread = c->keepalive = c->http10 = c->head = 0;
	c->ch = CH_SIZE;
	c->ch_left = 0;
	c->ch_digits = 0;
	c->ch_extra = 0;
	c->status = 0;
	c->sent = 0;
	c->head_sent = 0;
	c->close_after = 0;
}

static int added_push(struct pb_buf *b, const char *name, const char *value)
{
	if (pb_buf_puts(b, name) < 0 || pb_buf_add(b, ":", 2) < 0 ||
	    pb_buf_add(b, value, strlen(value) + 1) < 0)
		return -1;
	return 0;
}

static int answer_start(struct pb_http_server_conn *c)
{
	c->phase = PH_ANSWER;
	lws_set_timer_usecs(c->wsi, ms_us(c->srv->body_ms));
	lws_callback_on_writable(c->wsi);
	return 0;
}

/* Answer status with one line of text; 0, or -1 to close at once. */
static int answer_error(struct pb_http_server_conn *c, int status,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int answer_error(struct pb_http_server_conn *c, int status,
			const char *fmt, ...)
{
	va_list ap;
	int rc;

	free(c->ctype);
	c->ctype = NULL;
	pb_buf_reset(&c->out);
	c->status = status;
	va_start(ap, fmt);
	rc = pb_buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	if (rc < 0 || pb_buf_putc(&c->out, '\n') < 0)
		return -1;
	return answer_start(c);
}

static const char *request_method(struct lws *wsi)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (lws_hdr_total_length(wsi, methods[i].tok) > 0)
			return methods[i].name;
	return NULL;
}

/* As lws_http_action() decides keep-alive, so both agree. */
static void request_version(struct pb_http_server_conn *c)
{
	char v[16] = "", conn[32] = "";

	if (lws_hdr_copy(c->wsi, v, sizeof(v), WSI_TOKEN_HTTP) < 0)
		v[0] = '\0';
	c->http10 = strcmp(v, "HTTP/1.1") != 0;
	c->keepalive = !c->http10;
	if (lws_hdr_total_length(c->wsi, WSI_TOKEN_CONNECTION) > 0 &&
	    lws_hdr_copy(c->wsi, conn, sizeof(conn) - 1, WSI_TOKEN_CONNECTION) >
		    0) {
		if (!strcasecmp(conn, "keep-alive"))
			c->keepalive = 1;
		else if (!strcasecmp(conn, "close"))
			c->keepalive = 0;
	}
}

/* lws splits the arguments at '&' and decodes them; join them again. */
static char *request_query(struct lws *wsi)
{
	struct pb_buf q = PB_BUF_INIT;
	int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
	char *frag;
	int i, n;

	if (total <= 0)
		return strdup("");
	frag = malloc((size_t)total + 1);
	if (!frag)
		return NULL;
	for (i = 0;
	     (n = lws_hdr_copy_fragment(wsi, frag, total + 1,
					WSI_TOKEN_HTTP_URI_ARGS, i)) >= 0;
	     i++) {
		if ((i && pb_buf_putc(&q, '&') < 0) ||
		    pb_buf_add(&q, frag, (size_t)n) < 0) {
			free(frag);
			return NULL;
		}
	}
	free(frag);
	return pb_buf_detach(&q);
}

/*
 * Whether lws reads a body for this request and ends it with
 * LWS_CALLBACK_HTTP_BODY_COMPLETION, as lws_http_action() decides: a
 * Content-Length it reads with atoll() above 0, or 0 on a POST; without
 * one, POST, PUT and PATCH (it then reads up to 100 MiB).
 */
static int body_expected_by_lws(struct lws *wsi)
{
	int post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	char cl[32];
	long long v;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
	    lws_hdr_copy(wsi, cl, sizeof(cl) - 1,
			 WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
		v = atoll(cl);
		return v > 0 || (v == 0 && post);
	}
	return post || lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0 ||
	       lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI) > 0;
}

/* A header lws knows, trailing blanks cut; "" and -1 when it is too long. */
static int header_text(struct lws *wsi, enum lws_token_indexes tok, char *v,
		       int vsz)
{
	size_t n;

	if (lws_hdr_copy(wsi, v, vsz, tok) < 0) {
		v[0] = '\0';
		return -1;
	}
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
	return 0;
}

static int length_parse(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (ULLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	*out = v;
	return 0;
}

/* 0: understood; 1: answered (400, 411, 501); -1: close. */
static int request_framing(struct pb_http_server_conn *c)
{
	char v[64] = "", show[SHOWN_MAX + 8];
	int has_cl, has_te, rc;

	has_cl = lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) >
		 0;
	has_te = lws_hdr_total_length(c->wsi,
				      WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
	if (has_te) {
		if (has_cl)
			rc = answer_error(c, 400,
					  "both Content-Length and "
					  "Transfer-Encoding: send one");
		else if (header_text(c->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING,
				     v, sizeof(v)) < 0 ||
			 strcasecmp(v, "chunked"))
			rc = answer_error(c, 501,
					  "Transfer-Encoding '%s' is not "
					  "supported: send chunked or "
					  "Content-Length",
					  shown(v, show, sizeof(show)));
		else if (!c->body_unread)
			rc = answer_error(
				c, 400,
				"a chunked body is only read on POST, "
				"PUT and PATCH");
		else {
			c->framing = FR_CHUNKED;
			return 0;
		}
		return rc < 0 ? -1 : 1;
	}
	if (has_cl) {
		if (header_text(c->wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, v,
				sizeof(v)) < 0 ||
		    length_parse(v, &c->length) < 0) {
			rc = answer_error(c, 400,
					  "Content-Length '%s' is not a number",
					  shown(v, show, sizeof(show)));
			return rc < 0 ? -1 : 1;
		}
		c->framing = FR_LENGTH;
		return 0;
	}
	if (c->body_unread) {
		rc = answer_error(c, 411,
				  "%s without Content-Length: send one, or a "
				  "chunked body",
				  c->method);
		return rc < 0 ? -1 : 1;
	}
	c->framing = FR_NONE;
	return 0;
}

/* 0: found; 1: answered (404, 405); -1: close. */
static int route_find(struct pb_http_server_conn *c)
{
	struct pb_http_server *s = c->srv;
	struct pb_buf allow = PB_BUF_INIT;
	const char *want = c->head ? "GET" : c->method;
	char show[SHOWN_MAX + 8];
	int seen = 0, rc;
	size_t i;

	for (i = 0; i < s->n_routes; i++) {
		if (strcmp(s->routes[i].path, c->path))
			continue;
		if (!strcmp(s->routes[i].method, want)) {
			c->route = &s->routes[i];
			pb_buf_release(&allow);
			return 0;
		}
		if ((seen++ && pb_buf_puts(&allow, ", ") < 0) ||
		    pb_buf_puts(&allow, s->routes[i].method) < 0 ||
		    (!strcmp(s->routes[i].method, "GET") &&
		     pb_buf_puts(&allow, ", HEAD") < 0)) {
			pb_buf_release(&allow);
			return -1;
		}
	}
	shown(c->path, show, sizeof(show));
	if (!seen) {
		rc = answer_error(c, 404, "no route for '%s'", show);
	} else {
		rc = added_push(&c->added, "Allow", pb_buf_cstr(&allow));
		if (rc == 0)
			rc = answer_error(c, 405,
					  "method %s is not allowed on '%s': "
					  "use %s",
					  c->method, show, pb_buf_cstr(&allow));
	}
	pb_buf_release(&allow);
	return rc < 0 ? -1 : 1;
}

static int send_continue(struct pb_http_server_conn *c)
{
	static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
	unsigned char *p = c->srv->wbuf + LWS_PRE;
	char v[32] = "";

	if (c->http10 || (c->framing == FR_LENGTH && !c->length) ||
	    lws_hdr_copy(c->wsi, v, sizeof(v), WSI_TOKEN_HTTP_EXPECT) <= 0 ||
	    strcasecmp(v, "100-continue"))
		return 0;
	memcpy(p, line, sizeof(line) - 1);
	if (lws_write(c->wsi, p, sizeof(line) - 1, LWS_WRITE_HTTP_HEADERS) !=
	    (int)sizeof(line) - 1)
		return -1;
	return 0;
}

static int dispatch(struct pb_http_server_conn *c);

/* LWS_CALLBACK_HTTP: the request line and headers are in. */
static int on_http(struct pb_http_server_conn *c, const char *uri, size_t len)
{
	struct pb_http_server *s = c->srv;
	int rc;

	request_clear(c);
	c->t0 = lws_now_usecs();
	c->phase = PH_BODY;
	c->method = request_method(c->wsi);
	c->head = c->method && !strcmp(c->method, "HEAD");
	request_version(c);
	c->body_unread = body_expected_by_lws(c->wsi);
	c->path = strndup(uri ? uri : "/", uri ? len : 1);
	c->query = request_query(c->wsi);
	if (!c->path || !c->query)
		return answer_error(c, 500, "out of memory");
	if (!c->method)
		return answer_error(c, 400, "unknown method");
	if ((rc = request_framing(c)) != 0 || (rc = route_find(c)) != 0)
		return rc < 0 ? -1 : 0;
	if (c->framing == FR_LENGTH && c->length > s->max_body)
		return answer_error(c, 413,
				    "request body of %llu bytes is over the "
				    "%zu-byte limit",
				    c->length, s->max_body);
	if (!c->body_unread)
		return dispatch(c);
	lws_set_timer_usecs(c->wsi, ms_us(s->body_ms));
	return send_continue(c);
}

static int too_big(struct pb_http_server_conn *c)
{
	return answer_error(c, 413, "request body is over the %zu-byte limit",
			    c->srv->max_body);
}

static int bad_chunk(struct pb_http_server_conn *c, const char *why)
{
	return answer_error(c, 400, "malformed chunked body: %s", why);
}

static int hexval(unsigned char b)
{
	if (b >= '0' && b <= '9')
		return b - '0';
	if (b >= 'a' && b <= 'f')
		return b - 'a' + 10;
	if (b >= 'A' && b <= 'F')
		return b - 'A' + 10;
	return -1;
}

/*
 * lws 4.1 hands a chunked body over raw: decode it here, counting, so a
 * body past the limit is refused at the chunk size that passes it. Strict
 * CRLF, as a lenient decoder is how requests get smuggled.
 */
static int chunked_feed(struct pb_http_server_conn *c, const unsigned char *p,
			size_t n)
{
	size_t i = 0, take, room;
	int h;

	while (i < n) {
		unsigned char b = p[i];

		switch (c->ch) {
		case CH_SIZE:
			h = hexval(b);
			if (h >= 0) {
				if (c->ch_left > c->srv->max_body ||
				    c->ch_left > ULLONG_MAX / 16)
					return too_big(c);
				c->ch_left = c->ch_left * 16 + (unsigned)h;
				c->ch_digits++;
			} else if (!c->ch_digits) {
				return bad_chunk(c, "a chunk size is not "
						    "hexadecimal");
			} else if (b == ';' || b == ' ' || b == '\t') {
				c->ch = CH_EXT;
			} else if (b == '\r') {
				c->ch = CH_SIZE_LF;
			} else {
				return bad_chunk(c, "a chunk size is not "
						    "hexadecimal");
			}
			i++;
			break;
		case CH_EXT:
			if (b == '\r')
				c->ch = CH_SIZE_LF;
			else if (++c->ch_extra > CHUNK_EXTRA_MAX)
				return bad_chunk(c, "chunk extensions are too "
						    "long");
			i++;
			break;
		case CH_SIZE_LF:
			if (b != '\n')
				return bad_chunk(c, "no CRLF after a chunk "
						    "size");
			i++;
			c->ch_digits = 0;
			room = c->srv->max_body - c->body.len;
			if (!c->ch_left)
				c->ch = CH_TRAILER;
			else if (c->ch_left > room)
				return too_big(c);
			else
				c->ch = CH_DATA;
			break;
		case CH_DATA:
			take = n - i < c->ch_left ? n - i : (size_t)c->ch_left;
			if (pb_buf_add(&c->body, p + i, take) < 0)
				return answer_error(c, 500, "out of memory");
			i += take;
			c->ch_left -= take;
			if (!c->ch_left)
				c->ch = CH_DATA_CR;
			break;
		case CH_DATA_CR:
		case CH_DATA_LF:
			if (b != (c->ch == CH_DATA_CR ? '\r' : '\n'))
				return bad_chunk(c, "no CRLF after chunk data");
			c->ch = c->ch == CH_DATA_CR ? CH_DATA_LF : CH_SIZE;
			i++;
			break;
		case CH_TRAILER:
		case CH_TRAILER_LINE:
			if (++c->ch_extra > CHUNK_EXTRA_MAX)
				return bad_chunk(c, "trailers are too long");
			if (c->ch == CH_TRAILER)
				c->ch = b == '\r' ? CH_END_LF : CH_TRAILER_LINE;
			else if (b == '\n')
				c->ch = CH_TRAILER;
			i++;
			break;
		case CH_END_LF:
			if (b != '\n')
				return bad_chunk(c, "no CRLF after the last "
						    "chunk");
			/* what follows is never read: the answer closes */
			return dispatch(c);
		}
	}
	return 0;
}

/* LWS_CALLBACK_HTTP_BODY */
static int on_body(struct pb_http_server_conn *c, const void *in, size_t len)
{
	if (c->phase != PH_BODY)
		return 0; /* answered already: dropped, not kept */
	if (c->framing == FR_CHUNKED)
		return chunked_feed(c, in, len);
	if (len > c->length - c->body.len)
		return too_big(c);
	if (len && pb_buf_add(&c->body, in, len) < 0)
		return answer_error(c, 500, "out of memory");
	return 0;
}

/* LWS_CALLBACK_HTTP_BODY_COMPLETION: lws read all it meant to. */
static int on_body_done(struct pb_http_server_conn *c)
{
	c->body_unread = 0;
	switch (c->phase) {
	case PH_BODY:
		if (c->framing == FR_CHUNKED) /* lws' 100 MiB, no last chunk */
			return too_big(c);
		return dispatch(c);
	case PH_LINGER:
		return -1;
	default:
		return 0;
	}
}

/* ---- calling the handler ---- */

static int known_token(const char *key)
{
	const unsigned char *t;
	int i;

	for (i = 0; i < WSI_TOKEN_COUNT; i++) {
		t = lws_token_to_string((enum lws_token_indexes)i);
		if (t && !strcmp((const char *)t, key))
			return i;
	}
	return -1;
}

static struct hdr *hdr_read(struct lws *wsi, const char *key, size_t klen)
{
	struct hdr *h = calloc(1, sizeof(*h) + klen + 1);
	int tok, n;

	if (!h)
		return NULL;
	memcpy(h->name, key, klen + 1);
	tok = known_token(key);
	if (tok >= 0) {
		n = lws_hdr_total_length(wsi, (enum lws_token_indexes)tok);
		if (n > 0 && (h->value = malloc((size_t)n + 1)) &&
		    lws_hdr_copy(wsi, h->value, n + 1,
				 (enum lws_token_indexes)tok) < 0) {
			free(h->value);
			h->value = NULL;
		}
	} else {
		n = lws_hdr_custom_length(wsi, key, (int)klen);
		if (n >= 0 && (h->value = malloc((size_t)n + 1)) &&
		    lws_hdr_custom_copy(wsi, h->value, n + 1, key, (int)klen) <
			    0) {
			free(h->value);
			h->value = NULL;
		}
	}
	return h;
}

const char *pb_http_server_header(const struct pb_http_server_request *req,
				  const char *name)
{
	struct pb_http_server_conn *c = req ? req->conn : NULL;
	char key[128];
	size_t n, i;
	struct hdr *h;

	if (!c || !c->wsi || !name || !*name ||
	    (n = strlen(name)) + 2 > sizeof(key))
		return NULL;
	for (i = 0; i < n; i++)
		key[i] = ascii_lower(name[i]);
	key[n++] = ':';
	key[n] = '\0';
	for (h = c->hdrs; h; h = h->next)
		if (!strcmp(h->name, key))
			return h->value;
	h = hdr_read(c->wsi, key, n);
	if (!h)
		return NULL;
	h->next = c->hdrs;
	c->hdrs = h;
	return h->value;
}

static int is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int value_ok(const char *v)
{
	for (; *v; v++)
		if (*v == '\r' || *v == '\n')
			return 0;
	return 1;
}

int pb_http_server_add_header(struct pb_http_server_response *resp,
			      const char *name, const char *value)
{
	static const char *const ours[] = { "content-type", "content-length",
					    "connection", "transfer-encoding" };
	size_t i, n;

	if (!name || !*name || !value)
		return pb_err_setc(PB_EINVAL, "response header: name and "
					      "value are required");
	for (i = 0; name[i]; i++)
		if (!is_tchar(name[i]))
			return pb_err_setc(PB_EINVAL,
					   "response header '%s': the name "
					   "is not an HTTP token",
					   name);
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (!strcasecmp(name, ours[i]))
			return pb_err_setc(PB_EINVAL,
					   "response header '%s': the server "
					   "sets it; use content_type for "
					   "Content-Type",
					   name);
	if (!value_ok(value))
		return pb_err_setc(PB_EINVAL,
				   "response header '%s': the value holds a CR "
				   "or LF",
				   name);
	n = strlen(name) + strlen(value) + 3;
	if (n > ADDED_HEADERS_MAX - resp->headers.len)
		return pb_err_setc(PB_ETOOBIG,
				   "response header '%s': added headers would "
				   "pass %d bytes",
				   name, ADDED_HEADERS_MAX);
	if (added_push(&resp->headers, name, value) < 0)
		return pb_err_set("out of memory");
	return 0;
}

/* Take a handler's response as the answer of c, or answer 500. */
static int answer_take(struct pb_http_server_conn *c,
		       struct pb_http_server_response *resp)
{
	char show[SHOWN_MAX + 8];

	shown(c->path, show, sizeof(show));
	if (resp->status < 200 || resp->status > 599) {
		pb_log_error("http: %s %s: the handler answered status %d: "
			     "answering 500 instead",
			     c->method, show, resp->status);
		goto fail;
	}
	if (resp->content_type && !value_ok(resp->content_type)) {
		pb_log_error("http: %s %s: the handler's content type holds a "
			     "CR or LF: answering 500 instead",
			     c->method, show);
		goto fail;
	}
	if (resp->content_type && !(c->ctype = strdup(resp->content_type)))
		goto fail;
	c->status = resp->status;
	pb_buf_release(&c->out);
	pb_buf_release(&c->added);
	c->out = resp->body;
	c->added = resp->headers;
	return answer_start(c);
fail:
	pb_buf_release(&resp->body);
	pb_buf_release(&resp->headers);
	pb_buf_release(&c->added);
	return answer_error(c, 500, "internal error");
}

static int dispatch(struct pb_http_server_conn *c)
{
	struct pb_http_server_request req;
	struct pb_http_server_response resp;
	char show[SHOWN_MAX + 8];
	int rc;

	memset(&req, 0, sizeof(req));
	req.method = c->method;
	req.path = c->path;
	req.query = c->query;
	req.body = pb_buf_cstr(&c->body);
	req.body_len = c->body.len;
	req.peer = c->peer;
	req.conn = c;
	memset(&resp, 0, sizeof(resp));
	resp.status = 200;
	pb_err_clear();
	rc = c->route->handler(&req, &resp, c->route->arg);
	hdrs_free(c);
	pb_buf_release(&c->body);
	if (rc == 0 && c->later) {
		pb_buf_release(&resp.body);
		pb_buf_release(&resp.headers);
		c->phase = PH_WAIT;
		lws_set_timer_usecs(c->wsi, ms_us(c->srv->body_ms));
		return 0;
	}
	if (c->later) { /* failed after deferring: its owner still answers */
		c->later->conn = NULL;
		c->later = NULL;
	}
	if (rc < 0) {
		pb_log_error("http: %s %s from %s: %s", c->method,
			     shown(c->path, show, sizeof(show)), c->peer,
			     pb_err_last());
		pb_buf_release(&resp.body);
		pb_buf_release(&resp.headers);
		return answer_error(c, 500, "internal error");
	}
	return answer_take(c, &resp);
}

struct pb_http_server_later *
pb_http_server_defer(const struct pb_http_server_request *req)
{
	struct pb_http_server_conn *c = req->conn;
	struct pb_http_server_later *l;

	if (c->later) {
		pb_err_set("http: the handler deferred its answer twice");
		return NULL;
	}
	if (!(l = calloc(1, sizeof(*l)))) {
		pb_err_set("out of memory");
		return NULL;
	}
	l->srv = c->srv;
	l->conn = c;
	c->later = l;
	return l;
}

static void wake(struct pb_http_server *s)
{
	atomic_fetch_add(&s->waking, 1);
	if (atomic_load(&s->ctx_alive))
		lws_cancel_service(s->ctx); /* an eventfd write */
	atomic_fetch_sub(&s->waking, 1);
}

void pb_http_server_answer(struct pb_http_server_later *l,
			   struct pb_http_server_response *resp)
{
	struct pb_http_server *s = l->srv;
	int was_empty;

	l->status = resp->status;
	if (resp->content_type && !(l->ctype = strdup(resp->content_type)))
		l->ctype_oom = 1;
	l->body = resp->body;
	l->headers = resp->headers;
	resp->body = (struct pb_buf)PB_BUF_INIT;
	resp->headers = (struct pb_buf)PB_BUF_INIT;
	pthread_mutex_lock(&s->later_mu);
	was_empty = !s->answered;
	l->next = s->answered;
	s->answered = l;
	pthread_mutex_unlock(&s->later_mu);
	/* a non-empty list has a wake-up on its way already */
	if (was_empty)
		wake(s);
}

static void later_free(struct pb_http_server_later *l)
{
	free(l->ctype);
	pb_buf_release(&l->body);
	pb_buf_release(&l->headers);
	free(l);
}

/* Service thread: send the deferred answers that came in. */
static void answered_send(struct pb_http_server *s)
{
	struct pb_http_server_later *l, *next;
	struct pb_http_server_response resp;
	struct pb_http_server_conn *c;

	pthread_mutex_lock(&s->later_mu);
	l = s->answered;
	s->answered = NULL;
	pthread_mutex_unlock(&s->later_mu);
	for (; l; l = next) {
		next = l->next;
		if ((c = l->conn)) {
			c->later = NULL;
			memset(&resp, 0, sizeof(resp));
			resp.status = l->status;
			resp.content_type = l->ctype;
			resp.body = l->body;
			resp.headers = l->headers;
			l->body = (struct pb_buf)PB_BUF_INIT;
			l->headers = (struct pb_buf)PB_BUF_INIT;
			if (l->ctype_oom) {
				pb_buf_release(&resp.body);
				pb_buf_release(&resp.headers);
				answer_error(c, 500, "out of memory");
			} else if (answer_take(c, &resp) < 0) {
				lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK,
						LWS_TO_KILL_ASYNC);
			}
		}
		later_free(l);
	}
}

/* ---- writing the answer ---- */

static int answer_head(struct pb_http_server_conn *c)
{
	struct pb_http_server *s = c->srv;
	unsigned char *start = s->wbuf + LWS_PRE, *p = start;
	unsigned char *end = start + HEAD_MAX;
	const char *ct = c->ctype ? c->ctype : DEF_CONTENT_TYPE;
	int bodyless = c->status == 204 || c->status == 304;
	const char *k, *v;
	size_t off, n;

	c->close_after |= c->body_unread || s->stopping || !c->keepalive;
	if (lws_add_http_header_status(c->wsi, (unsigned)c->status, &p, end))
		return -1;
	if (!bodyless &&
	    (lws_add_http_header_by_token(c->wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					  (const unsigned char *)ct,
					  (int)strlen(ct), &p, end) ||
	     lws_add_http_header_content_length(c->wsi, c->out.len, &p, end)))
		return -1;
	for (off = 0; off < c->added.len; off += strlen(v) + 1) {
		k = c->added.ptr + off;
		off += strlen(k) + 1;
		v = c->added.ptr + off;
		if (lws_add_http_header_by_name(
			    c->wsi, (const unsigned char *)k,
			    (const unsigned char *)v, (int)strlen(v), &p, end))
			return -1;
	}
	if ((c->close_after || c->http10) &&
	    lws_add_http_header_by_token(
		    c->wsi, WSI_TOKEN_CONNECTION,
		    (const unsigned char *)(c->close_after ? "close" :
							     "keep-alive"),
		    c->close_after ? 5 : 10, &p, end))
		return -1;
	if (lws_finalize_http_header(c->wsi, &p, end))
		return -1;
	if (bodyless || c->head) {
		c->sent = c->out.len;
	} else {
		/* a small answer leaves in the same write as its head */
		n = WRITE_CHUNK - (size_t)(p - start);
		if (n > c->out.len)
			n = c->out.len;
		if (n)
			memcpy(p, c->out.ptr, n);
		p += n;
		c->sent = n;
	}
	n = (size_t)(p - start);
	if (lws_write(c->wsi, start, n, LWS_WRITE_HTTP_HEADERS) != (int)n)
		return -1;
	c->head_sent = 1;
	return 0;
}

static void answer_log(struct pb_http_server_conn *c)
{
	char show[SHOWN_MAX + 8];

	if (pb_log_level() < PB_LOG_DEBUG)
		return;
	pb_log_debug("http: %s %s %d %.1f ms from %s",
		     c->method ? c->method : "-",
		     shown(c->path, show, sizeof(show)), c->status,
		     (double)(lws_now_usecs() - c->t0) / 1000.0, c->peer);
}

/* Shut our side, then read and drop what the client still sends. */
static int linger(struct pb_http_server_conn *c)
{
	int fd = (int)lws_get_socket_fd(c->wsi);
	unsigned ms = c->srv->body_ms < LINGER_MS ? c->srv->body_ms : LINGER_MS;

	if (fd < 0 || shutdown(fd, SHUT_WR) < 0)
		return -1;
	c->phase = PH_LINGER;
	lws_set_timer_usecs(c->wsi, ms_us(ms));
	return 0;
}

static int answer_done(struct pb_http_server_conn *c)
{
	int close_after = c->close_after, unread = c->body_unread;

	answer_log(c);
	request_clear(c);
	c->phase = PH_HEADERS;
	if (close_after)
		return unread ? linger(c) : -1;
	lws_set_timer_usecs(c->wsi, ms_us(c->srv->header_ms));
	return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

/* LWS_CALLBACK_HTTP_WRITEABLE */
static int on_writeable(struct pb_http_server_conn *c)
{
	unsigned char *p = c->srv->wbuf + LWS_PRE;
	size_t n;

	if (c->phase == PH_FLUSH)
		return answer_done(c);
	if (c->phase != PH_ANSWER)
		return 0;
	if (!c->head_sent) {
		if (answer_head(c) < 0) {
			/* the client went away: its loss, not our error */
			pb_log_info("http: cannot write the answer to %s: "
				    "the connection is gone",
				    c->peer);
			return -1;
		}
	} else if (c->sent < c->out.len) {
		n = c->out.len - c->sent;
		if (n > WRITE_CHUNK)
			n = WRITE_CHUNK;
		memcpy(p, c->out.ptr + c->sent, n);
		if (lws_write(c->wsi, p, n,
			      c->sent + n == c->out.len ?
				      LWS_WRITE_HTTP_FINAL :
				      LWS_WRITE_HTTP) != (int)n)
			return -1;
		c->sent += n;
	}
	if (c->sent < c->out.len || lws_partial_buffered(c->wsi)) {
		if (c->sent == c->out.len)
			c->phase = PH_FLUSH;
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	return answer_done(c);
}

/* LWS_CALLBACK_TIMER: the deadline of the phase passed. */
static int on_timer(struct pb_http_server_conn *c)
{
	struct pb_http_server *s = c->srv;
	char show[SHOWN_MAX + 8];

	shown(c->path, show, sizeof(show));
	switch (c->phase) {
	case PH_HEADERS:
		pb_log_debug("http: closing the connection from %s: no "
			     "complete request within %u ms",
			     c->peer, s->header_ms);
		break;
	case PH_BODY:
		pb_log_info("http: %s %s from %s: the body did not arrive "
			    "within %u ms: closing",
			    c->method, show, c->peer, s->body_ms);
		break;
	case PH_WAIT:
		pb_log_warnx("http: %s %s from %s: no answer within %u ms: "
			     "closing",
			     c->method, show, c->peer, s->body_ms);
		break;
	case PH_ANSWER:
	case PH_FLUSH:
		pb_log_info("http: %s %s from %s: the answer was not taken "
			    "within %u ms: closing",
			    c->method ? c->method : "-", show, c->peer,
			    s->body_ms);
		break;
	case PH_LINGER:
		break;
	}
	/* a request cut while stopping is one the stop did not finish */
	if (s->stopping && c->phase != PH_HEADERS && c->phase != PH_LINGER &&
	    !s->stop_rc) {
		s->stop_rc = PB_ETIMEOUT;
		snprintf(s->fail, sizeof(s->fail),
			 "http server on '%s': a request was cut by its own "
			 "deadline during the stop",
			 s->listen);
	}
	/* abrupt: a slow client gets no flush of what lws still holds */
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	return 0;
}

/* ---- connections ---- */

/*
 * End the service loop. lws_service() runs timers and then polls again in
 * the same call, so a timer that ends the loop must wake that poll too.
 */
static void loop_end(struct pb_http_server *s)
{
	s->loop_done = 1;
	lws_cancel_service(s->ctx);
}

static void peer_text(const struct sockaddr_storage *ss, char *out,
		      size_t outsz)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;

	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], out,
			  (socklen_t)outsz);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &a6->sin6_addr, out, (socklen_t)outsz);
	else
		inet_ntop(AF_INET, &a4->sin_addr, out, (socklen_t)outsz);
}

static void conn_free(struct pb_http_server_conn *c)
{
	if (!c)
		return;
	request_clear(c);
	free(c);
}

/* lws calls SERVER_NEW_CLIENT_INSTANTIATED inside the adoption. */
static void conn_adopt(struct pb_http_server *s, int fd,
		       const struct sockaddr_storage *ss)
{
	struct pb_http_server_conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c) {
		pb_log_error("http: out of memory: refusing a connection");
		close(fd);
		return;
	}
	c->srv = s;
	peer_text(ss, c->peer, sizeof(c->peer));
	pb_buf_init(&c->body, s->max_body);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->adopting = c;
	if (!lws_adopt_socket_vhost(s->vh, fd)) /* lws closed fd */
		pb_log_warnx("http: could not take the connection from %s",
			     c->peer);
	if (s->adopting) { /* never attached */
		s->adopting = NULL;
		conn_free(c);
	}
}

static void accept_resume(lws_sorted_usec_list_t *sul)
{
	struct pb_http_server *s =
		lws_container_of(sul, struct pb_http_server, accept_sul);

	if (!s->stopping && s->listen_wsi)
		lws_rx_flow_control(s->listen_wsi, 1);
}

static void refuse_full(struct pb_http_server *s, int fd)
{
	time_t now = time(NULL);

	close(fd);
	if (now != s->full_warned)
		pb_log_warnx("http: %u connections open on %s, the most "
			     "allowed (max_connections): refusing new ones",
			     s->n_conns, s->listen);
	s->full_warned = now;
}

/* The listening socket is readable: take every waiting connection. */
static void accept_ready(struct pb_http_server *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	int fd;

	for (;;) {
		sl = sizeof(ss);
		fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			pb_log_warn("http: accept on %s: pausing %d ms",
				    s->listen, ACCEPT_PAUSE_MS);
			/* level-triggered poll would spin on EMFILE */
			lws_rx_flow_control(s->listen_wsi, 0);
			lws_sul_schedule(s->ctx, 0, &s->accept_sul,
					 accept_resume, ms_us(ACCEPT_PAUSE_MS));
			return;
		}
		if (s->stopping)
			close(fd);
		else if (s->n_conns >= s->max_conns)
			refuse_full(s, fd);
		else
			conn_adopt(s, fd, &ss);
	}
}

static int on_new_conn(struct pb_http_server *s, struct lws *wsi)
{
	struct pb_http_server_conn *c = s->adopting;

	if (!c)
		return -1; /* not one of our adoptions */
	s->adopting = NULL;
	c->wsi = wsi;
	lws_set_opaque_user_data(wsi, c);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	c->phase = PH_HEADERS;
	lws_set_timer_usecs(wsi, ms_us(s->header_ms));
	return 0;
}

/* LWS_CALLBACK_WSI_DESTROY */
static void conn_gone(struct pb_http_server_conn *c)
{
	struct pb_http_server *s = c->srv;
	char show[SHOWN_MAX + 8];

	if (c->later) /* its owner answers into the void */
		c->later->conn = NULL;
	if (c->phase == PH_BODY || c->phase == PH_WAIT ||
	    c->phase == PH_ANSWER || c->phase == PH_FLUSH)
		pb_log_debug("http: %s %s from %s: the connection closed "
			     "before the answer was sent",
			     c->method ? c->method : "-",
			     shown(c->path, show, sizeof(show)), c->peer);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	conn_free(c);
	if (s->stopping && !s->n_conns)
		loop_end(s);
}

/* ---- stopping ---- */

static void stop_deadline(lws_sorted_usec_list_t *sul)
{
	struct pb_http_server *s =
		lws_container_of(sul, struct pb_http_server, stop_sul);

	pb_log_warnx("http: stop on %s: closing %u connection%s still busy "
		     "after %u ms",
		     s->listen, s->n_conns, s->n_conns == 1 ? "" : "s",
		     s->stop_ms);
	s->stop_rc = PB_ETIMEOUT;
	snprintf(s->fail, sizeof(s->fail),
		 "http server on '%s': %u request%s cut after the %u ms "
		 "stop grace",
		 s->listen, s->n_conns, s->n_conns == 1 ? " was" : "s were",
		 s->stop_ms);
	loop_end(s);
}

static void begin_stop(struct pb_http_server *s)
{
	struct pb_http_server_conn *c;

	s->stopping = 1;
	pb_log_info("http: stopping on %s: %u connections open", s->listen,
		    s->n_conns);
	if (s->listen_wsi)
		lws_set_timeout(s->listen_wsi, PENDING_TIMEOUT_USER_OK,
				LWS_TO_KILL_ASYNC);
	/* no request of theirs is in: nothing to finish */
	for (c = s->conns; c; c = c->next)
		if (c->phase == PH_HEADERS)
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK,
					LWS_TO_KILL_ASYNC);
	if (!s->n_conns)
		loop_end(s);
	else
		lws_sul_schedule(s->ctx, 0, &s->stop_sul, stop_deadline,
				 ms_us(s->stop_ms));
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len)
{
	struct pb_http_server *s = lws_context_user(lws_get_context(wsi));
	struct pb_http_server_conn *c = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		answered_send(s);
		if (atomic_load(&s->stop_requested) && !s->stopping)
			begin_stop(s);
		return 0;
	case LWS_CALLBACK_RAW_RX_FILE:
		if (wsi == s->listen_wsi)
			accept_ready(s);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (wsi == s->listen_wsi)
			s->listen_wsi = NULL;
		return 0;
	case LWS_CALLBACK_RAW_ADOPT: /* CONNECT turned the socket raw */
		return -1;
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		return on_new_conn(s, wsi);
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		pb_log_debug("http: refusing an upgrade to '%s' from %s",
			     in ? (const char *)in : "?", c ? c->peer : "?");
		return -1;
	case LWS_CALLBACK_HTTP:
		return c ? on_http(c, in, len) : -1;
	case LWS_CALLBACK_HTTP_BODY:
		return c ? on_body(c, in, len) : -1;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return c ? on_body_done(c) : -1;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return c ? on_writeable(c) : -1;
	case LWS_CALLBACK_TIMER:
		return c ? on_timer(c) : 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (c)
			conn_gone(c);
		return 0;
	default:
		return 0;
	}
}

/* ---- life cycle ---- */

static void log_from_lws(int level, const char *line)
{
	int n = (int)strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		pb_log_error("libwebsockets: %.*s", n, line);
	else
		pb_log_warnx("libwebsockets: %.*s", n, line);
}

static int ctx_open(struct pb_http_server *s)
{
	struct lws_context_creation_info info;
	lws_sock_file_fd_type fd;
	unsigned longest = s->header_ms > s->body_ms ? s->header_ms :
						       s->body_ms;

	lws_set_log_level(LLL_ERR | LLL_WARN, log_from_lws);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.user = s;
	info.count_threads = 1;
	/* lws' own timeouts only back ours up: they come later */
	info.timeout_secs = longest / 1000 + 2;
	info.max_http_header_data = REQUEST_HEAD_MAX;
	info.max_http_header_pool = (unsigned short)s->max_conns;
	info.pt_serv_buf_size = WRITE_CHUNK;
	info.server_string = "prbot";
	s->ctx = lws_create_context(&info);
	if (!s->ctx)
		return pb_err_set("cannot start the http server on '%s': "
				  "libwebsockets could not create its context "
				  "(see its log lines)",
				  s->listen);
	atomic_store(&s->ctx_alive, 1);

	info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* we listen: see start */
	info.protocols = protocols;
	info.vhost_name = "prbot";
	info.timeout_secs_ah_idle = s->header_ms / 1000 + 2;
	info.keepalive_timeout = (int)(s->header_ms / 1000 + 2);
	s->vh = lws_create_vhost(s->ctx, &info);
	if (!s->vh)
		return pb_err_set("cannot start the http server on '%s': "
				  "libwebsockets could not create its vhost",
				  s->listen);
	fd.filefd = s->lfd;
	s->listen_wsi = lws_adopt_descriptor_vhost(
		s->vh, LWS_ADOPT_RAW_FILE_DESC, fd, NULL, NULL);
	if (!s->listen_wsi)
		return pb_err_set("cannot start the http server on '%s': "
				  "libwebsockets did not take the socket",
				  s->listen);
	s->lfd_owned = 0; /* lws closes it with the listening wsi */
	return 0;
}

static void *service_main(void *arg)
{
	struct pb_http_server *s = arg;

	pthread_setname_np(pthread_self(), "prbot-http");

	while (!s->loop_done) {
		if (lws_service(s->ctx, 0) < 0) {
			pb_log_error("http: the service loop on %s failed: "
				     "stopping",
				     s->listen);
			s->stop_rc = PB_ERROR;
			snprintf(s->fail, sizeof(s->fail),
				 "http server on '%s': the libwebsockets "
				 "service loop failed",
				 s->listen);
			break;
		}
	}
	lws_sul_cancel(&s->stop_sul);
	lws_sul_cancel(&s->accept_sul);
	/* no lws_cancel_service() may run into the destroyed context */
	atomic_store(&s->ctx_alive, 0);
	while (atomic_load(&s->waking))
		sched_yield();
	lws_context_destroy(s->ctx);
	s->ctx = NULL;
	return NULL;
}

static int thread_start(struct pb_http_server *s)
{
	static const int async[] = { SIGINT,  SIGTERM, SIGHUP,
				     SIGQUIT, SIGUSR1, SIGUSR2,
				     SIGCHLD, SIGPIPE, SIGALRM };
	sigset_t set, old;
	size_t i;
	int rc;

	/* signals are for the thread that runs the daemon, not this one */
	sigemptyset(&set);
	for (i = 0; i < sizeof(async) / sizeof(async[0]); i++)
		sigaddset(&set, async[i]);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	rc = pthread_create(&s->thread, NULL, service_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return pb_err_set("cannot start the http server thread: %s",
				  strerror(rc));
	s->running = 1;
	return 0;
}

static void server_release(struct pb_http_server *s)
{
	struct pb_http_server_later *l, *next;
	size_t i;

	if (s->ctx) /* start failed before the thread ran */
		lws_context_destroy(s->ctx);
	if (s->lfd_owned)
		close(s->lfd);
	for (i = 0; i < s->n_routes; i++) {
		free(s->routes[i].method);
		free(s->routes[i].path);
	}
	free(s->routes);
	for (l = s->answered; l; l = next) { /* answered after the loop */
		next = l->next;
		later_free(l);
	}
	pthread_mutex_destroy(&s->later_mu);
	free(s->wbuf);
	free(s->listen);
	free(s);
}

int pb_http_server_start(struct pb_http_server **out,
			 const struct pb_http_server_opts *o)
{
	struct pb_http_server *s;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	int rc;

	*out = NULL;
	if ((rc = listen_parse(o->listen, &ss, &sl)) < 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return pb_err_set("out of memory");
	s->lfd = -1;
	atomic_init(&s->stop_requested, 0);
	atomic_init(&s->ctx_alive, 0);
	atomic_init(&s->waking, 0);
	pthread_mutex_init(&s->later_mu, NULL);
	s->listen = strdup(o->listen);
	s->wbuf = malloc(LWS_PRE + WRITE_CHUNK);
	if (!s->listen || !s->wbuf) {
		rc = pb_err_set("out of memory");
		goto fail;
	}
	if ((rc = opts_take(s, o)) < 0 || (rc = listen_open(s, &ss, sl)) < 0 ||
	    (rc = ctx_open(s)) < 0 || (rc = thread_start(s)) < 0)
		goto fail;
	pb_log_info("http: listening on %s (port %d), body limit %zu bytes, "
		    "%u connections at most",
		    s->listen, s->port, s->max_body, s->max_conns);
	*out = s;
	return 0;
fail:
	server_release(s);
	return rc;
}

int pb_http_server_port(const struct pb_http_server *s)
{
	return s->port;
}

void pb_http_server_request_stop(struct pb_http_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stop_requested, 1);
	wake(s);
}

int pb_http_server_stop(struct pb_http_server *s)
{
	if (!s)
		return 0;
	if (s->running) {
		pb_http_server_request_stop(s);
		pthread_join(s->thread, NULL);
		s->running = 0;
		if (!s->stop_rc)
			pb_log_info("http: stopped on %s", s->listen);
	}
	if (s->stop_rc)
		return pb_err_setc(s->stop_rc, "%s", s->fail);
	return 0;
}

void pb_http_server_free(struct pb_http_server *s)
{
	if (!s)
		return;
	if (s->running)
		pb_http_server_stop(s);
	server_release(s);
}
