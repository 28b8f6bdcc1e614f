/* store_s3.h: the s3:// backend's pure parts, for its tests */
#ifndef PRBOT_STORE_S3_H
#define PRBOT_STORE_S3_H

#include <stdint.h>

struct pb_store;
struct pb_s3_conn;

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
