/* store_s3_multipart.c: an s3:// object sent in parts, several at a time
 * over one libcurl multi handle, the file read once */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/fs.h"
#include "prbot/hash.h"
#include "prbot/log.h"
#include "s3_request.h"
#include "store_backend.h"
#include "store_s3.h"
#include "banned.h"

#define HASH_STEP (256u << 10) /* bytes hashed by each digest in turn */
#define MIB	  (1ULL << 20)

uint64_t pb_s3_part_size(uint64_t size, uint64_t want)
{
	uint64_t p = want < PB_STORE_PART_MIN ? PB_STORE_PART_MIN : want;

	if ((size + p - 1) / p > PB_STORE_PARTS_MAX) {
		p = (size + PB_STORE_PARTS_MAX - 1) / PB_STORE_PARTS_MAX;
		p = (p + MIB - 1) / MIB * MIB;
	}
	return p;
}

void pb_s3_multipart_etag(char out[48], const unsigned char (*md5s)[16], int n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	out[0] = '\0';
	if (EVP_Digest(md5s, (size_t)n * 16, md, &len, EVP_md5(), NULL) != 1 ||
	    len != 16)
		return;
	pb_hex(out, md, 16);
	snprintf(out + 32, 16, "-%d", n);
}

/* A part buffer of the pool; free again once both sent and hashed. */
struct part_buf {
	unsigned char *data;
	size_t len;
	int number;  /* 1-based; 0: free */
	int sending; /* taken by a slot */
	int sent;    /* stored */
	int hashed;  /* through the whole file's MD5 */
};

/*
 * One multipart upload. The reader thread reads src once, in order, into
 * the pool's free buffers, hashing each part (its MD5, and the whole
 * file's SHA-256); the MD5 thread runs the whole file's MD5 over the parts
 * in order; this thread sends read parts over the multi handle. MD5 is the
 * slow digest (SHA-256 has SHA-NI): split so, the two threads hash at
 * about the same pace, while one thread doing all three would take 1.7
 * times as long.
 */
struct upload {
	struct s3_store *s;
	const struct target *t;
	const char *src;
	int fd;
	const struct stat *st;
	uint64_t part_size;
	int nparts; /* expected from the size at open */
	char *upload_id;
	char *upload_id_enc;
	unsigned char (*md5s)[16]; /* each part's MD5, by number - 1 */
	CURLM *multi;

	pthread_mutex_t mu;   /* guards the pool and the reader's state */
	pthread_cond_t room;  /* a buffer became free */
	pthread_cond_t ready; /* a part was read, or the reader is done */
	struct part_buf *pool;
	int npool;
	int nread;	 /* parts read */
	int reader_done; /* end of file or failure */
	int reader_err;	 /* errno of a failed read */
	int grew;	 /* src holds more than its size at open */
	int stop;	 /* the sender failed: the reader stops too */
	uint64_t read_total;
	EVP_MD_CTX *md5;
	EVP_MD_CTX *sha;
	int hash_failed;
	int md5_failed;
	int completed; /* CompleteMultipartUpload succeeded */
};

/* The part's MD5 and the file's SHA-256, a step at a time (the step
   stays in cache between the two). */
static int part_hash(struct upload *up, const unsigned char *p, size_t len,
		     unsigned char md5[16])
{
	EVP_MD_CTX *pm = EVP_MD_CTX_new();
	unsigned int n = 0;
	size_t off, step;
	int ok;

	ok = pm && EVP_DigestInit_ex(pm, EVP_md5(), NULL) == 1;
	for (off = 0; ok && off < len; off += step) {
		step = len - off < HASH_STEP ? len - off : HASH_STEP;
		ok = EVP_DigestUpdate(pm, p + off, step) == 1 &&
		     EVP_DigestUpdate(up->sha, p + off, step) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(pm, md5, &n) == 1 && n == 16;
	EVP_MD_CTX_free(pm);
	return ok ? 0 : -1;
}

/* A free buffer of the pool, waiting for one; NULL when told to stop. */
static struct part_buf *pool_take(struct upload *up)
{
	struct part_buf *b = NULL;
	int i;

	pthread_mutex_lock(&up->mu);
	while (!up->stop) {
		for (i = 0; i < up->npool && !b; i++)
			if (up->pool[i].number == 0)
				b = &up->pool[i];
		if (b)
			break;
		pthread_cond_wait(&up->room, &up->mu);
	}
	pthread_mutex_unlock(&up->mu);
	return b;
}

static void *reader_thread(void *arg)
{
	struct upload *up = arg;
	struct part_buf *b;
	unsigned char md5[16];
	int number, err = 0, grew = 0, hfail = 0;
	ssize_t n;

	(void)posix_fadvise(up->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (number = 1; (b = pool_take(up)); number++) {
		if ((n = pb_read_full(up->fd, b->data, up->part_size)) < 0) {
			err = errno;
			break;
		}
		if (n == 0)
			break;
		if (number > up->nparts) {
			grew = 1; /* the parts were counted at open */
			break;
		}
		if ((hfail = part_hash(up, b->data, (size_t)n, md5)) < 0)
			break;
		pthread_mutex_lock(&up->mu);
		memcpy(up->md5s[number - 1], md5, 16);
		b->len = (size_t)n;
		b->number = number;
		b->sending = b->sent = b->hashed = 0;
		up->nread = number;
		up->read_total += (uint64_t)n;
		pthread_cond_signal(&up->ready);
		pthread_mutex_unlock(&up->mu);
		curl_multi_wakeup(up->multi);
		if ((size_t)n < up->part_size)
			break;
	}
	pthread_mutex_lock(&up->mu);
	up->reader_err = err;
	up->grew = grew;
	up->hash_failed = hfail < 0;
	up->reader_done = 1;
	pthread_cond_signal(&up->ready);
	pthread_mutex_unlock(&up->mu);
	curl_multi_wakeup(up->multi);
	return NULL;
}

/* With up->mu held: b is sent and hashed, so it goes back to the pool. */
static void buf_free_locked(struct upload *up, struct part_buf *b)
{
	b->number = 0;
	pthread_cond_signal(&up->room);
}

/* The read part number, waiting for it; NULL when there is none. */
static struct part_buf *pool_wait_part(struct upload *up, int number)
{
	struct part_buf *b = NULL;
	int i;

	pthread_mutex_lock(&up->mu);
	while (!up->stop) {
		for (i = 0; i < up->npool && !b; i++)
			if (up->pool[i].number == number)
				b = &up->pool[i];
		if (b || (up->reader_done && number > up->nread))
			break;
		pthread_cond_wait(&up->ready, &up->mu);
	}
	pthread_mutex_unlock(&up->mu);
	return b;
}

/* The whole file's MD5, over the parts in order as they are read. */
static void *md5_thread(void *arg)
{
	struct upload *up = arg;
	struct part_buf *b;
	int number, failed = 0;

	for (number = 1; (b = pool_wait_part(up, number)); number++) {
		/* the buffer stays put until hashed is set */
		if (EVP_DigestUpdate(up->md5, b->data, b->len) != 1)
			failed = 1;
		pthread_mutex_lock(&up->mu);
		b->hashed = 1;
		if (b->sent)
			buf_free_locked(up, b);
		up->md5_failed = failed;
		pthread_mutex_unlock(&up->mu);
		if (failed)
			break;
	}
	curl_multi_wakeup(up->multi);
	return NULL;
}

/* A slot of the multi handle: one part in flight (or waiting to retry). */
struct slot {
	CURL *h;
	struct pb_s3_xfer x;
	struct pb_s3_request req;
	struct pb_s3_response resp;
	struct pb_s3_body body;
	struct part_buf *buf; /* NULL: idle */
	long long retry_at;   /* ms on the monotonic clock; 0: in flight */
	char op[32];
	struct pb_buf query;
	char md5_b64[25];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int slot_send(struct upload *up, struct slot *sl)
{
	int rc;

	sl->retry_at = 0;
	if ((rc = pb_s3_xfer_start(&sl->x, &up->s->conn, &sl->req, &sl->resp,
				   sl->h)) < 0)
		return rc;
	if (curl_multi_add_handle(up->multi, sl->h) != CURLM_OK)
		return pb_err_set("cannot add a libcurl transfer");
	return 0;
}

/* Start sending part buf from sl (a first attempt). */
static int slot_start(struct upload *up, struct slot *sl, struct part_buf *b)
{
	unsigned char *md5 = up->md5s[b->number - 1];
	int rc;

	sl->buf = b;
	snprintf(sl->op, sizeof(sl->op), "multipart part %d", b->number);
	pb_buf_reset(&sl->query);
	if ((rc = pb_buf_printf(&sl->query, "partNumber=%d&uploadId=%s",
				b->number, up->upload_id_enc)) < 0)
		return rc;
	pb_s3_base64(sl->md5_b64, md5, 16);
	memset(&sl->req, 0, sizeof(sl->req));
	sl->req.op = sl->op;
	sl->req.method = "PUT";
	sl->req.key = up->t->okey;
	sl->req.query = sl->query.ptr;
	sl->body = (struct pb_s3_body){ .mem = b->data, .len = b->len };
	sl->req.body = &sl->body;
	/* the body is not hashed for the signature: Content-MD5 is signed
	   and the server checks the body against it, so integrity holds
	   without a second SHA-256 pass over every part */
	sl->req.payload_hash = "UNSIGNED-PAYLOAD";
	pb_s3_header_add(&sl->req, "Content-MD5", sl->md5_b64);
	sl->resp.attempts = 0;
	return slot_send(up, sl);
}

/* The part in sl is stored: its ETag must be its MD5; the buffer goes. */
static int slot_done(struct upload *up, struct slot *sl)
{
	char etag[80], want[33];

	pb_hex(want, up->md5s[sl->buf->number - 1], 16);
	pb_s3_etag_plain(etag, sizeof(etag), sl->resp.etag);
	if (strcmp(etag, want))
		return pb_err_set("S3 %s %s: the store's ETag '%s' is not the "
				  "part's MD5 %s (request id %s)",
				  sl->op, up->t->url, etag, want,
				  sl->resp.request_id ? sl->resp.request_id :
							"none");
	pthread_mutex_lock(&up->mu);
	sl->buf->sent = 1;
	if (sl->buf->hashed)
		buf_free_locked(up, sl->buf);
	pthread_mutex_unlock(&up->mu);
	sl->buf = NULL;
	return 0;
}

/* A transfer ended: done, scheduled for a retry, or the failure. */
static int slot_ended(struct upload *up, struct slot *sl, CURLcode cc)
{
	struct pb_buf what = PB_BUF_INIT;
	const struct pb_s3_response *r = &sl->resp;
	long wait;

	curl_multi_remove_handle(up->multi, sl->h);
	pb_s3_xfer_finish(&sl->x, cc);
	if (pb_s3_ok(r))
		return slot_done(up, sl);
	if (!pb_s3_retryable(r) || r->attempts > up->s->conn.max_retries)
		return pb_s3_fail(&up->s->conn, sl->op, up->t->url, r);
	wait = pb_s3_backoff_ms(&up->s->conn, r->attempts);
	if (r->cc != CURLE_OK)
		pb_buf_puts(&what, r->curl_error);
	else
		pb_buf_printf(&what, "%ld%s%s", r->status,
			      r->s3_code ? " " : "",
			      r->s3_code ? r->s3_code : "");
	pb_log_info("s3: %s %s: %s; retry %d of %d in %ld ms", sl->op,
		    up->t->url, pb_buf_cstr(&what), r->attempts,
		    up->s->conn.max_retries, wait);
	pb_buf_release(&what);
	sl->retry_at = now_ms() + wait;
	return 0;
}

/* The ready buffer holding part number, or NULL. */
static struct part_buf *pool_ready(struct upload *up, int number)
{
	struct part_buf *b = NULL;
	int i;

	pthread_mutex_lock(&up->mu);
	for (i = 0; i < up->npool && !b; i++)
		if (up->pool[i].number == number && !up->pool[i].sending)
			b = &up->pool[i];
	if (b)
		b->sending = 1;
	pthread_mutex_unlock(&up->mu);
	return b;
}

/* Did the reader fail or finish? 1 when all parts are read. */
static int reader_state(struct upload *up, int *nread)
{
	int rc = 0;

	pthread_mutex_lock(&up->mu);
	*nread = up->nread;
	if (up->reader_err)
		rc = pb_err_set("cannot read '%s': %s", up->src,
				strerror(up->reader_err));
	else if (up->hash_failed || up->md5_failed)
		rc = pb_err_set("openssl: hashing '%s' failed", up->src);
	else if (up->grew)
		rc = pb_store_src_changed(up->fd, up->st, up->read_total + 1,
					  up->src);
	else if (up->reader_done)
		rc = 1;
	pthread_mutex_unlock(&up->mu);
	return rc;
}

/* Send every part as the reader hands it over, parallel at most. */
static int parts_send(struct upload *up, struct slot *slots, int nslots)
{
	struct part_buf *b;
	struct CURLMsg *m;
	long long now, next;
	int rc = 0, sent = 1, nread, done, running, i, left, busy;

	for (;;) {
		if ((done = reader_state(up, &nread)) < 0)
			return done;
		now = now_ms();
		next = now + 1000;
		busy = 0;
		for (i = 0; i < nslots && rc == 0; i++) {
			struct slot *sl = &slots[i];

			if (!sl->buf && sent <= nread &&
			    (b = pool_ready(up, sent))) {
				sent++;
				rc = slot_start(up, sl, b);
			} else if (sl->buf && sl->retry_at &&
				   sl->retry_at <= now) {
				rc = slot_send(up, sl);
			}
			if (sl->buf)
				busy = 1;
			if (sl->buf && sl->retry_at && sl->retry_at < next)
				next = sl->retry_at;
		}
		if (rc < 0)
			return rc;
		if (done && !busy && sent > nread)
			return 0;
		if (curl_multi_perform(up->multi, &running) != CURLM_OK)
			return pb_err_set("libcurl's multi handle failed");
		while ((m = curl_multi_info_read(up->multi, &left))) {
			struct pb_s3_xfer *x = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
					  (char **)&x);
			for (i = 0; i < nslots; i++)
				if (&slots[i].x == x)
					break;
			if (i == nslots)
				continue;
			if ((rc = slot_ended(up, &slots[i], m->data.result)) <
			    0)
				return rc;
		}
		now = now_ms();
		curl_multi_poll(up->multi, NULL, 0,
				next > now ? (int)(next - now) : 0, NULL);
	}
}

/* POST ?uploads: the upload id. */
static int upload_create(struct upload *up)
{
	struct pb_s3_request req = { .op = "CreateMultipartUpload",
				     .method = "POST",
				     .query = "uploads" };
	struct pb_s3_body empty = { .mem = "", .len = 0 };
	struct pb_s3_response resp;
	struct pb_s3_xml x = { 0 };
	struct pb_buf enc = PB_BUF_INIT;
	int rc;

	pb_s3_response_init(&resp);
	req.key = up->t->okey;
	req.body = &empty;
	pb_s3_header_add(&req, "Content-Type", "application/octet-stream");
	if ((rc = pb_s3_request(&up->s->conn, &req, &resp, up->t->url)) < 0)
		goto out;
	if (pb_s3_xml_parse(&x, resp.body.ptr ? resp.body.ptr : "",
			    resp.body.len) < 0 ||
	    !x.upload_id || !*x.upload_id) {
		rc = pb_err_set("S3 CreateMultipartUpload %s: no UploadId in "
				"the answer (request id %s)",
				up->t->url,
				resp.request_id ? resp.request_id : "none");
		goto out;
	}
	if ((rc = pb_sigv4_uri_encode(&enc, x.upload_id, strlen(x.upload_id))) <
	    0)
		goto out;
	up->upload_id = x.upload_id;
	x.upload_id = NULL;
	up->upload_id_enc = pb_buf_detach(&enc);
out:
	pb_buf_release(&enc);
	pb_s3_xml_release(&x);
	pb_s3_response_release(&resp);
	return rc;
}

/*
 * DELETE ?uploadId, so no part stays behind (retried; logged), after a
 * failure with code whose message is kept. Returns code.
 */
static int upload_abort(struct upload *up, int code)
{
	struct pb_s3_request req = { .op = "AbortMultipartUpload",
				     .method = "DELETE" };
	struct pb_s3_response resp;
	struct pb_buf q = PB_BUF_INIT;
	char *why = strdup(pb_err_last());
	int rc;

	pb_s3_response_init(&resp);
	if ((rc = pb_buf_printf(&q, "uploadId=%s", up->upload_id_enc)) == 0) {
		req.key = up->t->okey;
		req.query = q.ptr;
		rc = pb_s3_request(&up->s->conn, &req, &resp, up->t->url);
	}
	if (rc < 0)
		pb_log_warnx("s3: could not abort the multipart upload of %s "
			     "(upload id %s), its parts stay until a "
			     "lifecycle rule removes them: %s",
			     up->t->url, up->upload_id, pb_err_last());
	else
		pb_log_warnx("s3: aborted the multipart upload of %s: %s",
			     up->t->url, why ? why : "out of memory");
	if (why)
		pb_err_setc(code, "%s", why);
	free(why);
	pb_buf_release(&q);
	pb_s3_response_release(&resp);
	return code;
}

/* POST ?uploadId with the parts; the object's ETag must be ours. */
static int upload_complete(struct upload *up, int nparts, const char *md5)
{
	struct pb_s3_request req = { .op = "CompleteMultipartUpload",
				     .method = "POST" };
	struct pb_s3_body body = { 0 };
	struct pb_s3_response resp;
	struct pb_s3_xml x = { 0 };
	struct pb_buf q = PB_BUF_INIT, xml = PB_BUF_INIT;
	char want[48], got[80], hex[33];
	int rc, i;

	pb_s3_response_init(&resp);
	rc = pb_buf_printf(&q, "uploadId=%s", up->upload_id_enc);
	if (rc == 0)
		rc = pb_buf_puts(&xml, "<CompleteMultipartUpload xmlns=\""
				       "http://s3.amazonaws.com/doc/"
				       "2006-03-01/\">");
	for (i = 0; rc == 0 && i < nparts; i++) {
		pb_hex(hex, up->md5s[i], 16);
		rc = pb_buf_printf(&xml,
				   "<Part><PartNumber>%d</PartNumber>"
				   "<ETag>\"%s\"</ETag></Part>",
				   i + 1, hex);
	}
	if (rc == 0)
		rc = pb_buf_puts(&xml, "</CompleteMultipartUpload>");
	if (rc < 0)
		goto out;
	body.mem = xml.ptr;
	body.len = xml.len;
	req.key = up->t->okey;
	req.query = q.ptr;
	req.body = &body;
	if ((rc = pb_s3_request(&up->s->conn, &req, &resp, up->t->url)) < 0)
		goto out;
	pb_s3_multipart_etag(want, (const unsigned char(*)[16])up->md5s,
			     nparts);
	if (pb_s3_xml_parse(&x, resp.body.ptr ? resp.body.ptr : "",
			    resp.body.len) == 0)
		pb_s3_etag_plain(got, sizeof(got), x.etag);
	else
		got[0] = '\0';
	up->completed = 1;
	/* S3 answers the MD5 of the part MD5s; some servers (s3rver) the
	   whole object's MD5, which proves as much */
	if (strcmp(got, want) && strcmp(got, md5))
		rc = pb_err_set("S3 CompleteMultipartUpload %s: the object's "
				"ETag '%s' is not '%s', the one its parts "
				"make (request id %s): the stored object is "
				"not what was read",
				up->t->url, got, want,
				resp.request_id ? resp.request_id : "none");
out:
	pb_s3_xml_release(&x);
	pb_buf_release(&xml);
	pb_buf_release(&q);
	pb_s3_response_release(&resp);
	return rc;
}

static int upload_init(struct upload *up)
{
	int i;

	pthread_mutex_init(&up->mu, NULL);
	pthread_cond_init(&up->room, NULL);
	pthread_cond_init(&up->ready, NULL);
	if (!(up->md5s = calloc((size_t)up->nparts, 16)) ||
	    !(up->pool = calloc((size_t)up->npool, sizeof(*up->pool))) ||
	    !(up->md5 = EVP_MD_CTX_new()) || !(up->sha = EVP_MD_CTX_new()) ||
	    !(up->multi = curl_multi_init()))
		return pb_err_set("out of memory");
	if (EVP_DigestInit_ex(up->md5, EVP_md5(), NULL) != 1 ||
	    EVP_DigestInit_ex(up->sha, EVP_sha256(), NULL) != 1)
		return pb_err_set("openssl: digest init failed");
	for (i = 0; i < up->npool; i++)
		if (!(up->pool[i].data = malloc(up->part_size)))
			return pb_err_set("out of memory: %d part buffers of "
					  "%llu bytes",
					  up->npool,
					  (unsigned long long)up->part_size);
	/* the multi handle holds the connections its transfers share */
	curl_multi_setopt(up->multi, CURLMOPT_MAXCONNECTS,
			  (long)up->s->parallel);
	return 0;
}

static void upload_release(struct upload *up)
{
	int i;

	if (up->multi)
		curl_multi_cleanup(up->multi);
	EVP_MD_CTX_free(up->sha);
	EVP_MD_CTX_free(up->md5);
	for (i = 0; up->pool && i < up->npool; i++)
		free(up->pool[i].data);
	free(up->pool);
	free(up->md5s);
	free(up->upload_id_enc);
	free(up->upload_id);
	pthread_cond_destroy(&up->ready);
	pthread_cond_destroy(&up->room);
	pthread_mutex_destroy(&up->mu);
}

/* Tell the threads to stop (after a failure): they wait on nothing more. */
static void threads_stop(struct upload *up)
{
	pthread_mutex_lock(&up->mu);
	up->stop = 1;
	pthread_cond_broadcast(&up->room);
	pthread_cond_broadcast(&up->ready);
	pthread_mutex_unlock(&up->mu);
}

static void slots_release(struct upload *up, struct slot *slots, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		if (slots[i].h) {
			curl_multi_remove_handle(up->multi, slots[i].h);
			curl_easy_cleanup(slots[i].h);
		}
		pb_s3_xfer_release(&slots[i].x);
		pb_s3_response_release(&slots[i].resp);
		pb_buf_release(&slots[i].query);
	}
	free(slots);
}

/*
 * Read, hash and send all parts: the reader and MD5 threads, the sender
 * here. On success the MD5 thread is let finish the last parts.
 */
static int parts_upload(struct upload *up, int *nparts)
{
	struct slot *slots = calloc((size_t)up->s->parallel, sizeof(*slots));
	pthread_t reader, md5er;
	int rc = 0, i, nthreads = 0, err = 0;

	if (!slots)
		return pb_err_set("out of memory");
	for (i = 0; i < up->s->parallel; i++) {
		pb_s3_response_init(&slots[i].resp);
		if (!(slots[i].h = curl_easy_init()))
			rc = pb_err_set("cannot create a libcurl handle");
	}
	if (rc == 0 &&
	    !(err = pthread_create(&reader, NULL, reader_thread, up)))
		nthreads++;
	if (rc == 0 && !err &&
	    !(err = pthread_create(&md5er, NULL, md5_thread, up)))
		nthreads++;
	if (rc == 0 && err)
		rc = pb_err_set("cannot start a thread: %s", strerror(err));
	if (rc == 0)
		rc = parts_send(up, slots, up->s->parallel);
	if (rc < 0)
		threads_stop(up);
	if (nthreads > 1)
		pthread_join(md5er, NULL);
	if (nthreads > 0)
		pthread_join(reader, NULL);
	if (rc == 0 && up->md5_failed)
		rc = pb_err_set("openssl: hashing '%s' failed", up->src);
	*nparts = up->nread;
	slots_release(up, slots, up->s->parallel);
	return rc;
}

/* A completed object that is not what was read goes: nothing half-right
   stays at the key. The error that says why is kept. */
static void remove_wrong(struct s3_store *s, const char *key,
			 const struct target *t)
{
	char *why = strdup(pb_err_last());

	if (pb_s3_delete(s, key, "") < 0)
		pb_log_warnx("s3: cannot remove %s, which is not what was "
			     "read: %s",
			     t->url, pb_err_last());
	else
		pb_log_warnx("s3: removed %s: it is not what was read", t->url);
	if (why)
		pb_err_set("%s", why);
	free(why);
}

int pb_s3_multipart_put(struct s3_store *s, const char *key,
			const struct target *t, int fd, const struct stat *st,
			const char *src, struct pb_put_result *out)
{
	struct upload up = { .s = s, .t = t, .src = src, .fd = fd, .st = st };
	uint64_t size = (uint64_t)st->st_size;
	long long start = now_ms(), sent;
	int rc, nparts = 0;

	up.part_size = pb_s3_part_size(size, s->part_size);
	up.nparts = (int)((size + up.part_size - 1) / up.part_size);
	up.npool = s->parallel + 1;
	if ((rc = upload_init(&up)) < 0 || (rc = upload_create(&up)) < 0)
		goto out;
	if ((rc = parts_upload(&up, &nparts)) < 0 ||
	    (rc = pb_store_src_changed(fd, st, up.read_total, src)) < 0 ||
	    (rc = pb_s3_digest_final(&out->digest, up.md5, up.sha)) < 0 ||
	    (rc = pb_s3_delete(s, key, SIDECAR_EXT)) < 0) {
		rc = upload_abort(&up, rc);
		goto out;
	}
	out->digest.size = up.read_total;
	sent = now_ms();
	rc = upload_complete(&up, nparts, out->digest.md5);
	if (rc < 0 && !up.completed)
		rc = upload_abort(&up, rc);
	else if (rc < 0)
		remove_wrong(s, key, t);
	if (rc == 0) {
		out->parts = nparts;
		/* where the time went: our side, or the server's assembly */
		pb_log_info("s3: %s: %d parts of %llu MiB, %d at a time, sent "
			    "in %lld ms; completed by the server in %lld ms",
			    t->url, nparts,
			    (unsigned long long)(up.part_size >> 20),
			    s->parallel, sent - start, now_ms() - sent);
	}
out:
	upload_release(&up);
	return rc;
}
