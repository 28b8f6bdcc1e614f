/* sigv4.h: AWS Signature Version 4 for headers and presigned URLs */
#ifndef PRBOT_SIGV4_H
#define PRBOT_SIGV4_H

#include <stddef.h>

#include "prbot/buf.h"

/* One request header; both strings are the caller's. */
struct pb_sigv4_header {
	const char *name;
	const char *value;
};

/*
 * Remove "." and ".." segments and empty segments from the path, as the
 * generic AWS services do; S3 signs the path as it is (no flag).
 */
#define PB_SIGV4_NORMALIZE_PATH 0x1u

/*
 * What is signed. Every pointer is the caller's and is only read during the
 * call. path is not yet encoded (each segment is encoded here); query is the
 * query string as sent, without '?', already encoded (NULL or "": none).
 * payload_hash is the lowercase hex SHA-256 of the body or a literal such as
 * "UNSIGNED-PAYLOAD"; when NULL, body/body_len are hashed. session_token,
 * when not NULL, is signed as x-amz-security-token (a header, or a query
 * parameter for a presigned URL). amz_date is ISO8601 basic:
 * "20150830T123600Z".
 */
struct pb_sigv4_request {
	const char *method;
	const char *path;
	const char *query;
	const struct pb_sigv4_header *headers;
	size_t nheaders;
	const char *payload_hash;
	const void *body;
	size_t body_len;
	const char *access_key;
	const char *secret_key;
	const char *session_token;
	const char *region;
	const char *service;
	const char *amz_date;
	unsigned flags; /* PB_SIGV4_* */
};

/*
 * The parts of a signature, owned by the struct: release it with
 * pb_sigv4_result_release() whatever pb_sigv4_sign() returned.
 * query is the canonical query string; for a presigned URL it ends with
 * X-Amz-Signature and is what goes after '?'.
 */
struct pb_sigv4_result {
	struct pb_buf canonical_request;
	struct pb_buf string_to_sign;
	struct pb_buf authorization; /* the Authorization header's value */
	struct pb_buf query;
	char signature[65]; /* lowercase hex */
};

void pb_sigv4_result_init(struct pb_sigv4_result *r);
void pb_sigv4_result_release(struct pb_sigv4_result *r);

/*
 * Sign req for an Authorization header: out (initialised here) gets the
 * canonical request, string to sign, signature and header value.
 * PB_EINVAL when a field is missing or malformed.
 */
int pb_sigv4_sign(struct pb_sigv4_result *out,
		  const struct pb_sigv4_request *req);

/*
 * Sign req as a presigned URL valid expires seconds: the X-Amz-Algorithm,
 * -Credential, -Date, -Expires, -SignedHeaders (and -Security-Token) query
 * parameters join req->query, and out->query is the whole query string with
 * X-Amz-Signature last. out->authorization stays empty. Set payload_hash to
 * "UNSIGNED-PAYLOAD" for S3.
 */
int pb_sigv4_presign(struct pb_sigv4_result *out,
		     const struct pb_sigv4_request *req, unsigned expires);

/* Append s percent-encoded as AWS wants: all but A-Z a-z 0-9 - _ . ~. */
int pb_sigv4_uri_encode(struct pb_buf *b, const char *s, size_t len);

#endif
