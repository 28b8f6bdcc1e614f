/* http_client.h: the one HTTP request function (libcurl), retries included */
#ifndef PRBOT_HTTP_CLIENT_H
#define PRBOT_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "prbot/buf.h"

struct pb_redactor;

/*
 * How requests are made, retried and waited for. Start from
 * pb_http_opts_init(); a timeout, backoff, cap or service left 0 (or NULL)
 * takes its default.
 */
struct pb_http_opts {
	const char *service;	 /* named in messages; "GitHub API" */
	long connect_timeout_ms; /* default 10000 */
	long timeout_ms;	 /* whole attempt; default 30000 */
	int max_retries;      /* attempts after the first; default 4; 0: none */
	long backoff_base_ms; /* first backoff ceiling; default 500 */
	long backoff_max_ms;  /* backoff ceiling; default 30000 */
	/* longest rate-limit wait before giving up with PB_ERATELIMIT;
	   default 60; 0: never wait */
	long rate_limit_max_wait_s;
	size_t max_response; /* body cap in bytes; default 8 MiB */
	/*
	 * Wait ms milliseconds between attempts; return 0 to go on, or a
	 * negative PB_E* (PB_ECANCELLED on shutdown) to stop: the request
	 * then fails with that code. NULL: nanosleep. Tests record instead.
	 */
	int (*sleep)(void *arg, long ms);
	/* Unix time now, for X-RateLimit-Reset. NULL: time(). */
	time_t (*now)(void *arg);
	void *hook_arg; /* passed to sleep and now */
	/* masks configured secrets in messages and logs; borrowed, may be
	   NULL (token shapes and the request's own token are still masked) */
	const struct pb_redactor *redactor;
};

void pb_http_opts_init(struct pb_http_opts *o);

/*
 * A client: the options and a small pool of libcurl handles (each keeps its
 * connections alive), so requests from several threads reuse connections
 * without sharing one. Thread-safe. Create it at start-up, before threads,
 * since it initialises libcurl. Caller owns *out: pb_http_client_free().
 * o is copied (its service string and redactor stay borrowed).
 */
struct pb_http_client;

int pb_http_client_new(struct pb_http_client **out,
		       const struct pb_http_opts *o);
void pb_http_client_free(struct pb_http_client *c);

/* Borrowed: the options the client uses, defaults filled in. */
const struct pb_http_opts *pb_http_client_opts(const struct pb_http_client *c);

struct pb_http_request {
	const char *method; /* "GET", "POST", "PATCH", "PUT", "DELETE" */
	const char *url;    /* absolute http(s) URL */
	/* extra header lines "Name: value", NULL-terminated; may be NULL */
	const char *const *headers;
	/* sent only as "Authorization: Bearer TOKEN", never in a message or
	   a log line; may be NULL */
	const char *bearer;
	const char *body; /* JSON text (Content-Type: application/json);
			     NULL for none */
	size_t body_len;  /* 0: strlen(body) */
};

/* What came back from the last attempt. Strings are owned, may be NULL. */
struct pb_http_response {
	long status;		   /* 0 when no answer came */
	struct pb_buf body;	   /* capped at max_response */
	char *request_id;	   /* X-GitHub-Request-Id */
	char *location;		   /* Location */
	char *link;		   /* Link (pagination) */
	long retry_after;	   /* Retry-After in seconds; -1 when absent */
	long ratelimit_remaining;  /* X-RateLimit-Remaining; -1 absent */
	long long ratelimit_reset; /* X-RateLimit-Reset (Unix); -1 absent */
	int attempts;		   /* attempts made */
};

#define PB_HTTP_RESPONSE_INIT                                   \
	{                                                       \
		0, PB_BUF_INIT, NULL, NULL, NULL, -1, -1, -1, 0 \
	}

/*
 * Make the request, retrying with exponential backoff and full jitter on
 * connection errors, timeouts and 500/502/503/504, up to max_retries; a
 * 403 or 429 that is a rate limit (Retry-After, or X-RateLimit-Remaining 0)
 * waits Retry-After seconds or until X-RateLimit-Reset when that is within
 * rate_limit_max_wait_s, and then tries again. Other 4xx are not retried.
 *
 * Returns 0 for a 2xx answer. Otherwise a negative code with a message that
 * names the method, the path, the status, GitHub's request id and what to
 * do (never the token): PB_ENOTFOUND (404, 410), PB_EPERM (401, 403),
 * PB_EINVAL (400, 422), PB_ERATELIMIT (naming the time to retry),
 * PB_ETIMEOUT (no answer in time), PB_ETOOBIG (body over the cap),
 * PB_ECANCELLED (the sleep hook said stop), PB_ERROR otherwise. The failure
 * is logged as a warning. out need not be initialised (a response used
 * before must be released first): it is filled from the last attempt in
 * every case (status, body, headers), so a caller can read GitHub's answer;
 * release it with pb_http_response_release() whatever the result.
 */
int pb_http_request(struct pb_http_client *c, struct pb_http_response *out,
		    const struct pb_http_request *req);

void pb_http_response_release(struct pb_http_response *r);

/*
 * Split an http(s) URL: *origin gets "SCHEME://HOST:PORT" (the port always
 * written), *path the path and query (for messages, and to tell whether a
 * URL GitHub gave stays on its host). Either may be NULL; the caller frees
 * what it gets. 0, or PB_EINVAL for anything but an http(s) URL (the
 * message does not quote the URL).
 */
int pb_http_url_split(const char *url, char **origin, char **path);

/*
 * 1 when a libcurl result (a CURLcode) is worth another attempt: no
 * connection, a timeout, a connection cut mid-transfer.
 */
int pb_http_curl_retryable(int code);

/* A random number for backoff jitter (not for secrets); thread-safe. */
uint64_t pb_http_jitter(void);

/* Append s percent-encoded as one path segment ("a b" -> "a%20b"). */
int pb_http_escape(struct pb_buf *b, const char *s);

/*
 * The URL of rel="next" in a Link header, or NULL when there is none.
 * Caller frees.
 */
char *pb_http_link_next(const char *link);

#endif
