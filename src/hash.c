/* hash.c: MD5 and SHA-256 of a stream in one pass, the two side by side */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "prbot/err.h"
#include "prbot/fs.h"
#include "prbot/hash.h"
#include "banned.h"

/*
 * 1 MiB chunks in a ring of 4: big enough that the per-chunk handshake costs
 * nothing, small enough that a chunk is still in cache when the second
 * digest reads it, and 4 MiB of buffers whatever the file size.
 */
#define CHUNK (1u << 20)
#define NBUF  4

/*
 * MD5 is the slower digest (SHA-256 has SHA-NI), so the calling thread runs
 * MD5 alone while a reader thread reads each chunk, runs SHA-256 over it and
 * writes the copy, then hands the chunk over: MD5's pace is the total.
 */
struct ring {
	pthread_mutex_t mu;
	pthread_cond_t has_data; /* signalled when a chunk is handed over */
	pthread_cond_t has_room; /* signalled when a chunk is given back */
	unsigned char *buf[NBUF];
	size_t len[NBUF];
	uint64_t produced; /* chunks handed to the MD5 side */
	uint64_t consumed; /* chunks it has finished */
	int eof;	   /* the reader is done: end of input or failure */
	int stop;	   /* the MD5 side failed: the reader stops too */
	int rerr;	   /* errno of a failed read, 0 when none */
	int werr;	   /* errno of a failed write, 0 when none */
	int dfail;	   /* SHA-256 failed */
	EVP_MD_CTX *sha;
	int in_fd;
	int out_fd;
};

void pb_hex(char *out, const void *bytes, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = bytes;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int ssl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char msg[256];

	if (!e)
		return pb_err_set("openssl: %s failed", what);
	ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return pb_err_set("openssl: %s failed: %s", what, msg);
}

/* Write everything, through short writes and signals; 0 or errno. */
static int write_full(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0, -1 when the digest failed, or the errno of a failed write. */
static int sha_and_write(struct ring *r, const unsigned char *p, size_t len)
{
	if (EVP_DigestUpdate(r->sha, p, len) != 1)
		return -1;
	return r->out_fd >= 0 ? write_full(r->out_fd, p, len) : 0;
}

static void note_failure(struct ring *r, int failed)
{
	if (failed < 0)
		r->dfail = 1;
	else if (failed > 0)
		r->werr = failed;
}

/* Name the failure for a person: which side, which file, why. */
static int io_error(const char *name, int err, int is_write)
{
	int code = err == ENOENT ? PB_ENOTFOUND : PB_ERROR;

	if (is_write)
		return pb_err_set("cannot write output: %s", strerror(err));
	if (name)
		return pb_err_setc(code, "cannot read '%s': %s", name,
				   strerror(err));
	return pb_err_setc(code, "cannot read input: %s", strerror(err));
}

/* Reader side: wait for a free slot; -1 when the MD5 side has stopped. */
static int ring_wait_room(struct ring *r, unsigned int *slot)
{
	int stop;

	pthread_mutex_lock(&r->mu);
	while (r->produced - r->consumed == NBUF && !r->stop)
		pthread_cond_wait(&r->has_room, &r->mu);
	stop = r->stop;
	*slot = (unsigned int)(r->produced % NBUF);
	pthread_mutex_unlock(&r->mu);
	return stop ? -1 : 0;
}

/* The reader thread: read, SHA-256, write, hand over; until the end. */
static void *reader_thread(void *arg)
{
	struct ring *r = arg;
	unsigned int slot;
	int failed = 0, rerr = 0;
	ssize_t n;

	while (ring_wait_room(r, &slot) == 0) {
		if ((n = pb_read_full(r->in_fd, r->buf[slot], CHUNK)) < 0) {
			rerr = errno;
			break;
		}
		if (n == 0)
			break;
		if ((failed = sha_and_write(r, r->buf[slot], (size_t)n)))
			break;
		pthread_mutex_lock(&r->mu);
		r->len[slot] = (size_t)n;
		r->produced++;
		pthread_cond_signal(&r->has_data);
		pthread_mutex_unlock(&r->mu);
		if ((size_t)n < CHUNK)
			break; /* end of input */
	}
	pthread_mutex_lock(&r->mu);
	r->rerr = rerr;
	note_failure(r, failed);
	r->eof = 1;
	pthread_cond_signal(&r->has_data);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* MD5 side: the next chunk, or -1 when the reader is done and drained. */
static int ring_wait_data(struct ring *r, unsigned int *slot, size_t *len)
{
	int more;

	pthread_mutex_lock(&r->mu);
	while (r->consumed == r->produced && !r->eof)
		pthread_cond_wait(&r->has_data, &r->mu);
	more = r->consumed != r->produced;
	*slot = (unsigned int)(r->consumed % NBUF);
	*len = r->len[*slot];
	pthread_mutex_unlock(&r->mu);
	return more ? 0 : -1;
}

static void ring_give_back(struct ring *r, int stop)
{
	pthread_mutex_lock(&r->mu);
	if (stop)
		r->stop = 1;
	else
		r->consumed++;
	pthread_cond_signal(&r->has_room);
	pthread_mutex_unlock(&r->mu);
}

/*
 * The first chunk, read by the caller and already through SHA-256 (and
 * written), is in slot 0; the reader thread goes on from slot 1 while this
 * thread runs MD5 over each chunk in turn.
 */
static int hash_threaded(struct ring *r, EVP_MD_CTX *md5, const char *name,
			 size_t first, uint64_t *size)
{
	unsigned int slot;
	pthread_t tid;
	size_t len;
	int rc = 0, err;

	r->len[0] = first;
	r->produced = 1;
	if ((err = pthread_create(&tid, NULL, reader_thread, r)))
		return pb_err_set("cannot start a hash thread: %s",
				  strerror(err));
	while (ring_wait_data(r, &slot, &len) == 0) {
		if (EVP_DigestUpdate(md5, r->buf[slot], len) != 1) {
			rc = ssl_error("MD5");
			ring_give_back(r, 1);
			break;
		}
		*size += len;
		ring_give_back(r, 0);
	}
	pthread_join(tid, NULL);
	if (rc < 0)
		return rc;
	if (r->rerr)
		return io_error(name, r->rerr, 0);
	if (r->werr)
		return io_error(name, r->werr, 1);
	if (r->dfail)
		return ssl_error("SHA-256");
	return 0;
}

static int digest_init(EVP_MD_CTX **md5, EVP_MD_CTX **sha)
{
	if (!(*md5 = EVP_MD_CTX_new()) || !(*sha = EVP_MD_CTX_new()))
		return pb_err_set("out of memory");
	if (EVP_DigestInit_ex(*md5, EVP_md5(), NULL) != 1)
		return ssl_error("MD5");
	if (EVP_DigestInit_ex(*sha, EVP_sha256(), NULL) != 1)
		return ssl_error("SHA-256");
	return 0;
}

static int digest_final(struct pb_digest *out, EVP_MD_CTX *md5, EVP_MD_CTX *sha)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;

	if (EVP_DigestFinal_ex(md5, md, &n) != 1 || n != 16)
		return ssl_error("MD5");
	pb_hex(out->md5, md, n);
	if (EVP_DigestFinal_ex(sha, md, &n) != 1 || n != 32)
		return ssl_error("SHA-256");
	pb_hex(out->sha256, md, n);
	return 0;
}

/* name: the input's path for messages, NULL for a descriptor. */
static int hash_stream(struct pb_digest *out, int in_fd, int out_fd,
		       const char *name)
{
	struct ring r = { .mu = PTHREAD_MUTEX_INITIALIZER,
			  .has_data = PTHREAD_COND_INITIALIZER,
			  .has_room = PTHREAD_COND_INITIALIZER,
			  .in_fd = in_fd,
			  .out_fd = out_fd };
	EVP_MD_CTX *md5 = NULL;
	uint64_t size = 0;
	ssize_t n;
	int rc, i;

	memset(out, 0, sizeof(*out));
	if ((rc = digest_init(&md5, &r.sha)) < 0)
		goto out;
	for (i = 0; i < NBUF; i++)
		if (!(r.buf[i] = malloc(CHUNK))) {
			rc = pb_err_set("out of memory");
			goto out;
		}
	/* a hint only: pipes and some file systems refuse it */
	(void)posix_fadvise(in_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((n = pb_read_full(in_fd, r.buf[0], CHUNK)) < 0) {
		rc = io_error(name, errno, 0);
		goto out;
	}
	/* the first chunk goes through SHA-256 (and out) here either way */
	note_failure(&r, sha_and_write(&r, r.buf[0], (size_t)n));
	if (r.werr || r.dfail) {
		rc = r.werr ? io_error(name, r.werr, 1) : ssl_error("SHA-256");
		goto out;
	}
	if ((size_t)n < CHUNK) {
		/* one chunk holds it all: a thread would cost more */
		if (EVP_DigestUpdate(md5, r.buf[0], (size_t)n) != 1) {
			rc = ssl_error("MD5");
			goto out;
		}
		size = (uint64_t)n;
	} else if ((rc = hash_threaded(&r, md5, name, (size_t)n, &size)) < 0) {
		goto out;
	}
	if ((rc = digest_final(out, md5, r.sha)) < 0)
		goto out;
	out->size = size;
out:
	pthread_cond_destroy(&r.has_room);
	pthread_cond_destroy(&r.has_data);
	pthread_mutex_destroy(&r.mu);
	for (i = 0; i < NBUF; i++)
		free(r.buf[i]);
	EVP_MD_CTX_free(r.sha);
	EVP_MD_CTX_free(md5);
	return rc;
}

int pb_hash_file(struct pb_digest *out, const char *path)
{
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return io_error(path, errno, 0);
	rc = hash_stream(out, fd, -1, path);
	close(fd);
	return rc;
}

int pb_hash_copy(struct pb_digest *out, int in_fd, int out_fd)
{
	return hash_stream(out, in_fd, out_fd, NULL);
}

/* One-shot digests cannot fail short of OpenSSL missing MD5: then "". */
void pb_hash_mem(struct pb_digest *out, const void *data, uint64_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;

	memset(out, 0, sizeof(*out));
	if (EVP_Digest(data, (size_t)len, md, &n, EVP_md5(), NULL) == 1 &&
	    n == 16)
		pb_hex(out->md5, md, n);
	if (EVP_Digest(data, (size_t)len, md, &n, EVP_sha256(), NULL) == 1 &&
	    n == 32)
		pb_hex(out->sha256, md, n);
	out->size = len;
}

void pb_sha256_hex(char out[65], const void *data, uint64_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;

	out[0] = '\0';
	if (EVP_Digest(data, (size_t)len, md, &n, EVP_sha256(), NULL) == 1 &&
	    n == 32)
		pb_hex(out, md, n);
}
