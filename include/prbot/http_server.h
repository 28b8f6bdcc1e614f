/* http_server.h: the HTTP/1.1 server of prbot serve, routes to handlers */
#ifndef PRBOT_HTTP_SERVER_H
#define PRBOT_HTTP_SERVER_H

#include <stddef.h>

#include "prbot/buf.h"

/*
 * One service thread runs libwebsockets. The server knows nothing about
 * GitHub or Slack: it reads a request whole, within the limits and deadlines
 * below, calls the handler of the route that matches its method and path,
 * and writes the handler's response. Handlers run on the service thread one
 * at a time and must be fast: verify, parse, enqueue, answer (DESIGN.md);
 * nothing slow, no network call.
 *
 * What the server answers by itself (text/plain, one line saying why):
 *   400  malformed framing: a Content-Length that is not a number, both
 *        Content-Length and Transfer-Encoding, a broken chunked body
 *   404  no route has the path
 *   405  a route has the path but not the method (Allow lists them)
 *   411  POST, PUT or PATCH with neither Content-Length nor chunked
 *   413  the body is over max_body: answered before reading when the
 *        Content-Length says so; a chunked body is refused as soon as it
 *        passes the limit, without buffering more
 *   500  the handler failed (its message is logged, not sent)
 *   501  a Transfer-Encoding other than chunked
 * What libwebsockets refuses before the server sees it keeps its answer:
 * an unknown method or bytes that are not HTTP get its 403 (HTML), headers
 * over 8 KiB or a broken request line are closed without one. Protocol
 * upgrades (WebSocket, h2c) and CONNECT are refused by closing.
 *
 * Connections: HTTP/1.1 keep-alive (and HTTP/1.0 with keep-alive). The
 * answer to a chunked request, and a refusal while a body was still coming,
 * close the connection (Connection: close), after a short lingering read so
 * the client sees the answer rather than a reset.
 */

#define PB_HTTP_SERVER_MAX_BODY (25u * 1024 * 1024)

struct pb_http_server;
struct pb_http_server_conn;

/* One request, as a handler sees it. Everything borrowed until it returns. */
struct pb_http_server_request {
	const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE",
			       "OPTIONS", or "HEAD", which a GET route
			       answers (its body is not sent) */
	const char *path;   /* without the query, percent-decoded, "//",
			       "/./" and "/../" folded by libwebsockets */
	const char *query;  /* the arguments after '?', percent-decoded by
			       libwebsockets, joined with '&'; "" if none */
	const char *body;   /* the whole body, NUL-terminated (the NUL is not
			       counted; the body itself may hold NULs); "" */
	size_t body_len;
	const char *peer; /* the client's numeric address: "127.0.0.1", "::1" */
	struct pb_http_server_conn *conn; /* private: for the getter below */
};

/*
 * The value of header name (ASCII case ignored: "x-github-event" finds
 * X-GitHub-Event), leading blanks trimmed, or NULL when the request has none
 * (or memory ran out). When a header comes several times: headers known to
 * libwebsockets (Content-Type, User-Agent, ...) come joined with ',', others
 * (X-GitHub-Event, X-Hub-Signature-256, ...) as the first one. Only valid in
 * a handler; borrowed until it returns.
 */
const char *pb_http_server_header(const struct pb_http_server_request *req,
				  const char *name);

/* What a handler answers. The server sets it up before calling it. */
struct pb_http_server_response {
	int status; /* 200 unless the handler sets it; 100-599 */
	/* "text/plain; charset=utf-8" unless set; borrowed until the handler
	   returns (the server copies it) */
	const char *content_type;
	struct pb_buf body; /* appended by the handler, freed by the server */
	/* private: "Name:\0value\0" pairs from pb_http_server_add_header() */
	struct pb_buf headers;
};

/*
 * Add "name: value" to the response (Retry-After, Location, ...). name is an
 * HTTP token, value has no CR, LF or NUL, and all added headers together stay
 * under 2 KiB. Returns 0, or PB_EINVAL / PB_ETOOBIG with a message naming
 * the header. Content-Type, Content-Length and Connection are the server's.
 */
int pb_http_server_add_header(struct pb_http_server_response *resp,
			      const char *name, const char *value);

/*
 * Answering later: a handler whose answer waits for work on another thread
 * (a commit that covers several requests, say) takes a handle with
 * pb_http_server_defer() and returns 0 without filling resp. The connection
 * waits, reading nothing more, until pb_http_server_answer() is called with
 * the handle: from any thread, exactly once, before pb_http_server_free().
 * A client that goes away meanwhile loses nothing but the answer. When no
 * answer comes within body_timeout_ms the connection is closed; the handle
 * must still be answered. NULL when out of memory (the handler then returns
 * a negative code: 500).
 */
struct pb_http_server_later;
struct pb_http_server_later *
pb_http_server_defer(const struct pb_http_server_request *req);

/*
 * Send resp (filled as a handler would: status, content_type copied, body
 * and added headers taken over and reset) on the connection l came from,
 * and free l. Wakes the service thread; safe from any thread.
 */
void pb_http_server_answer(struct pb_http_server_later *l,
			   struct pb_http_server_response *resp);

/*
 * Return 0 to send resp (or to answer later, above); a negative PB_E* (message
 * set with pb_err_set()) to answer 500, the message going to the log only.
 */
struct pb_http_server_route {
	const char *method; /* "GET", "POST", ...: exact, upper case */
	const char *path;   /* exact: "/healthz" */
	int (*handler)(const struct pb_http_server_request *req,
		       struct pb_http_server_response *resp, void *arg);
	void *arg; /* passed as is */
};

struct pb_http_server_opts {
	/*
	 * "HOST:PORT" with a numeric host: "127.0.0.1:8080", "0.0.0.0:8080",
	 * "[::1]:8080", "[::]:8080" (IPv6 and IPv4 both). Port 0 takes a free
	 * port: pb_http_server_port() tells which.
	 */
	const char *listen;
	const struct pb_http_server_route *routes; /* copied by start */
	size_t n_routes;
	size_t max_body; /* bytes; 0: PB_HTTP_SERVER_MAX_BODY (25 MiB) */
	/* the request line and headers must arrive within this of the
	   connection opening, or of the previous answer on it ending (an idle
	   keep-alive connection is closed then too); 0: 10 s */
	unsigned header_timeout_ms;
	/* the whole body must arrive within this after the headers, and the
	   answer must be taken by the client within it again; 0: 30 s */
	unsigned body_timeout_ms;
	/* connections past this are closed as soon as they are accepted;
	   0: 512, at most 65535 */
	unsigned max_connections;
	/* how long pb_http_server_stop() lets requests in flight finish;
	   0: 10 s */
	unsigned stop_timeout_ms;
};

/*
 * Check a listen address as pb_http_server_start() reads it (for
 * check-config). Returns 0, or PB_EINVAL with a message quoting it and
 * saying what is expected.
 */
int pb_http_server_check_listen(const char *listen);

/*
 * Listen on o->listen and start the service thread. When it returns 0 the
 * socket is listening (connections wait in its backlog until the thread
 * takes them) and *out is the caller's: pb_http_server_stop() then
 * pb_http_server_free(). Otherwise *out is NULL and the message names the
 * address or the option: PB_EINVAL (bad address, route or option),
 * PB_ERROR (cannot bind: in use, not configured; libwebsockets failed).
 * Start-up logs at info; each answer is logged at debug (method, path,
 * status, duration, peer); libwebsockets' own log is cut to its errors and
 * warnings, which go to pb_log_error()/pb_log_warnx().
 */
int pb_http_server_start(struct pb_http_server **out,
			 const struct pb_http_server_opts *o);

/* The port bound (the real one when 0 was asked for). */
int pb_http_server_port(const struct pb_http_server *s);

/*
 * Ask the server to stop and return at once: safe from any thread and from
 * a signal handler (an atomic store and an eventfd write). Stopping means:
 * the listening socket is closed (new connections are refused), idle
 * connections and those still sending headers are closed, requests whose
 * headers have arrived get their answer (with Connection: close), then the
 * service loop ends. Must not be called once pb_http_server_free() started.
 */
void pb_http_server_request_stop(struct pb_http_server *s);

/*
 * Stop (as above), wait for the requests in flight up to stop_timeout_ms,
 * and join the service thread. Returns 0 when every request in flight was
 * answered, PB_ETIMEOUT when some were cut at the end of the grace period,
 * PB_ERROR when the service loop had failed (message set). A second call
 * returns the first result. Call it from one thread, not from a handler.
 */
int pb_http_server_stop(struct pb_http_server *s);

/* Stop if still running, then free. NULL is a no-op. */
void pb_http_server_free(struct pb_http_server *s);

#endif
