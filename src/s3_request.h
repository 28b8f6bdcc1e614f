/* s3_request.h: one signed S3 request over libcurl, its retries, and what
 * S3's answers mean; the HTTP layer of store_s3.c */
#ifndef PRBOT_S3_REQUEST_H
#define PRBOT_S3_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "prbot/buf.h"
#include "prbot/sigv4.h"
#include "prbot/store.h"

/* Where and as whom requests go; every string owned. */
struct pb_s3_conn {
	char *endpoint; /* as written, or AWS's: for messages */
	char *scheme;	/* "http" or "https" */
	char *host;	/* the endpoint's host ("[::1]" for IPv6) */
	char *port;	/* ":9000", or "" for the scheme's own */
	char *bucket;
	char *region;
	char *access_key;
	char *secret_key;
	char *session_token; /* NULL when none */
	int vhost;	     /* BUCKET.HOST/KEY instead of HOST/BUCKET/KEY */
	int max_retries;     /* attempts after the first */
	long backoff_base_ms;
	long backoff_max_ms;
	long low_speed_time_s; /* under 1 KiB/s this long: the attempt fails */
	/* wait between attempts; NULL: nanosleep. Tests record instead. */
	int (*sleep)(void *arg, long ms);
	void *sleep_arg;
	CURL *easy; /* kept for its connections; created on first use */
};

/*
 * Fill conn from the parsed s3:// URL and c: endpoint (AWS's for the
 * region when NULL), addressing style, credentials from c or else from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (copied
 * now). PB_EINVAL naming both ways when no key pair is found. Release with
 * pb_s3_conn_release() whatever the result.
 */
int pb_s3_conn_init(struct pb_s3_conn *conn, const struct pb_store_url *u,
		    const struct pb_store_config *c);
void pb_s3_conn_release(struct pb_s3_conn *conn);

/*
 * The request URL of key (bucket-relative, not yet encoded; NULL for the
 * bucket itself) with query (encoded, NULL for none), and the Host
 * header's value, both for the conn's style. Appended to url and host.
 */
int pb_s3_url_build(struct pb_buf *url, struct pb_buf *host,
		    const struct pb_s3_conn *conn, const char *key,
		    const char *query);

/* A body sent from memory or from a file (with pread, so it re-sends). */
struct pb_s3_body {
	const void *mem; /* NULL: from fd */
	int fd;
	uint64_t off;
	uint64_t len;
};

/* Where a 2xx answer's body goes when not into the response's buffer. */
struct pb_s3_sink {
	int (*write)(void *arg, const void *data, size_t len);
	int (*reset)(void *arg); /* before a new attempt: start over */
	void *arg;
};

#define PB_S3_MAX_HEADERS 8

struct pb_s3_request {
	const char *op;	    /* for messages: "PUT", "multipart part 3" */
	const char *method; /* GET HEAD PUT POST DELETE */
	const char *key;    /* bucket-relative, not encoded */
	const char *query;  /* encoded, without '?'; NULL: none */
	/* signed, besides host, x-amz-date and x-amz-content-sha256 */
	struct pb_sigv4_header headers[PB_S3_MAX_HEADERS];
	size_t nheaders;
	const struct pb_s3_body *body; /* NULL: none */
	/* hex SHA-256 of the body or "UNSIGNED-PAYLOAD"; NULL: computed
	   for a memory body (or the empty one) */
	const char *payload_hash;
	const struct pb_s3_sink *sink; /* NULL: into the response's body */
	int no_retry;		       /* one attempt only */
};

/* What came back from the last attempt. */
struct pb_s3_response {
	long status;	    /* 0 when no answer */
	struct pb_buf body; /* capped: errors and small results */
	char *etag;	    /* as sent, quotes included; NULL if none */
	char *request_id;
	char *meta_sha256;	  /* x-amz-meta-sha256 */
	char *bucket_region;	  /* x-amz-bucket-region, on a wrong region */
	long long content_length; /* -1 when not sent */
	long long last_modified;  /* Unix time, -1 when not sent */
	uint64_t received;	  /* body bytes given to the sink */
	CURLcode cc;
	char curl_error[CURL_ERROR_SIZE];
	int attempts;
	/* S3's <Error>, from the body (also from a 200 with one) */
	char *s3_code;
	char *s3_message;
};

void pb_s3_response_init(struct pb_s3_response *r);
void pb_s3_response_release(struct pb_s3_response *r);

/*
 * One transfer on an easy handle: pb_s3_xfer_start() signs the request
 * (a fresh date each time) and sets the handle up; perform it (alone or
 * in a multi handle), then pb_s3_xfer_finish() fills the response.
 * The xfer owns its header list and URL; h is the caller's.
 */
struct pb_s3_xfer {
	struct pb_s3_conn *conn;
	const struct pb_s3_request *req;
	struct pb_s3_response *resp;
	CURL *h;
	struct curl_slist *hdrs;
	struct pb_buf url;
	uint64_t pos; /* next body byte to send */
	int sink_failed;
};

int pb_s3_xfer_start(struct pb_s3_xfer *x, struct pb_s3_conn *conn,
		     const struct pb_s3_request *req,
		     struct pb_s3_response *resp, CURL *h);
void pb_s3_xfer_finish(struct pb_s3_xfer *x, CURLcode cc);
void pb_s3_xfer_release(struct pb_s3_xfer *x);

/* Is the response a success (2xx without an <Error> body)? */
int pb_s3_ok(const struct pb_s3_response *r);

/* Worth another attempt: no answer, a dropped connection, 5xx, SlowDown. */
int pb_s3_retryable(const struct pb_s3_response *r);

/* The wait before attempt n+1 (n >= 1): full jitter, capped. */
long pb_s3_backoff_ms(const struct pb_s3_conn *conn, int n);

/* Wait ms through the conn's sleep hook; its result. */
int pb_s3_sleep(const struct pb_s3_conn *conn, long ms);

/*
 * Make req, retrying as pb_s3_retryable() says (one log line per retry).
 * 0 on success, else the mapped failure (pb_s3_fail()).
 */
int pb_s3_request(struct pb_s3_conn *conn, const struct pb_s3_request *req,
		  struct pb_s3_response *resp, const char *target);

/*
 * Set the message for a failed response and return its code: op, target
 * (an s3:// URL), HTTP status, S3's code, message and request id, the
 * attempts, and what to do (SignatureDoesNotMatch, InvalidAccessKeyId,
 * AccessDenied: PB_EPERM; NoSuchBucket, NoSuchKey, 404: PB_ENOTFOUND;
 * RequestTimeTooSkewed, a bucket in another region: PB_EINVAL; no
 * answer: PB_ERROR "cannot reach").
 */
int pb_s3_fail(const struct pb_s3_conn *conn, const char *op,
	       const char *target, const struct pb_s3_response *r);

/* The texts of an XML answer's top-level fields; all owned, NULL if absent. */
struct pb_s3_xml {
	char *root; /* "Error", "InitiateMultipartUploadResult", ... */
	char *code;
	char *message;
	char *request_id;
	char *upload_id;
	char *etag;
};

/* Parse xml (len bytes) with expat; PB_EINVAL when it is not XML. */
int pb_s3_xml_parse(struct pb_s3_xml *out, const char *xml, size_t len);
void pb_s3_xml_release(struct pb_s3_xml *x);

/* base64 of len bytes into out (at least 4 * ((len + 2) / 3) + 1). */
void pb_s3_base64(char *out, const unsigned char *data, size_t len);

#endif
