/* store_s3.h: what the s3:// backend's files share (store_s3.c: open,
 * head, get, single PUT; store_s3_multipart.c: multipart uploads), and its
 * pure parts, for its tests */
#ifndef PRBOT_STORE_S3_H
#define PRBOT_STORE_S3_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "s3_request.h"
#include "store_backend.h"

#define SIDECAR_EXT ".sha256" /* sha256sum's format, as file:// writes */

struct s3_store {
	struct pb_store base;
	struct pb_s3_conn conn;
	char *prefix; /* "" or "a/b" */
	uint64_t threshold;
	uint64_t part_size;
	int parallel;
	int no_checksum; /* the server refused x-amz-checksum-sha256 */
};

#define S3_STORE(s) ((struct s3_store *)(s))

/* What one operation is about: the object's name and its URL. */
struct target {
	char *okey; /* PREFIX/KEY */
	char *url;  /* s3://BUCKET/PREFIX/KEY, for messages */
};

/* s3://BUCKET/PREFIX/KEY: done with the multipart upload of src (open as
   fd, stat st) to t; out gets the digest and the number of parts. */
int pb_s3_multipart_put(struct s3_store *s, const char *key,
			const struct target *t, int fd, const struct stat *st,
			const char *src, struct pb_put_result *out);

/* An ETag without its quotes, into out (at most size - 1 bytes). */
void pb_s3_etag_plain(char *out, size_t size, const char *etag);

/* Finish both digests into out's hex fields. */
int pb_s3_digest_final(struct pb_digest *out, EVP_MD_CTX *md5, EVP_MD_CTX *sha);

/* Add a "NAME: VALUE" header (signed) to req. */
void pb_s3_header_add(struct pb_s3_request *req, const char *name,
		      const char *value);

/* DELETE the object KEY + ext ("", or SIDECAR_EXT for its sidecar); one
   that is gone already is fine. */
int pb_s3_delete(struct s3_store *s, const char *key, const char *ext);

/*
 * The part size for an object of size bytes: want (at least S3's 5 MiB),
 * raised to a whole MiB so that no more than 10,000 parts are needed.
 */
uint64_t pb_s3_part_size(uint64_t size, uint64_t want);

/*
 * The ETag S3 gives a completed multipart upload of n parts with these
 * MD5s: hex(MD5(md5s[0] || ... || md5s[n-1])) "-" n, without quotes.
 */
void pb_s3_multipart_etag(char out[48], const unsigned char (*md5s)[16], int n);

/* The connection of an s3:// store, for tests to tune (sleep, backoff). */
struct pb_s3_conn *pb_s3_store_conn(struct pb_store *s);

#endif
