/* hash.h: MD5, SHA-256 and size of a file in one streaming pass */
#ifndef PRBOT_HASH_H
#define PRBOT_HASH_H

#include <stddef.h>
#include <stdint.h>

struct pb_digest {
	char md5[33];	 /* lowercase hex */
	char sha256[65]; /* lowercase hex */
	uint64_t size;
};

/*
 * Hash a file with bounded memory (never the whole file): chunks are read
 * once and fed to MD5 and SHA-256 running side by side.
 */
int pb_hash_file(struct pb_digest *out, const char *path);

/*
 * Copy in_fd to out_fd (when out_fd >= 0) and hash what was copied, in the
 * same single pass.
 */
int pb_hash_copy(struct pb_digest *out, int in_fd, int out_fd);

/* Hash a memory block (for tests and small texts). */
void pb_hash_mem(struct pb_digest *out, const void *data, uint64_t len);

/* Lowercase hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void pb_hex(char *out, const void *bytes, size_t n);

/* SHA-256 hex of a memory block. */
void pb_sha256_hex(char out[65], const void *data, uint64_t len);

#endif
