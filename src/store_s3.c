/* store_s3.c: the s3:// artifact store: objects at PREFIX/KEY in a bucket
 * (open, head, get, one PUT; multipart uploads: store_s3_multipart.c) */
#define _GNU_SOURCE /* strcasestr */
#include <errno.h>
#include <fcntl.h>
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

#define S3_SCHEME "s3://"
#define FILE_MODE 0644

struct pb_s3_conn *pb_s3_store_conn(struct pb_store *s)
{
	return &S3_STORE(s)->conn;
}

static int from_hex(unsigned char *out, const char *hex, size_t n)
{
	unsigned int v;
	size_t i;

	for (i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* Does s start with n lowercase hex digits? */
static int hex_prefix(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!s[i] || !strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

/* Is s exactly n lowercase hex digits? */
static int is_hex(const char *s, size_t n)
{
	return hex_prefix(s, n) && s[n] == '\0';
}

/* An ETag without its quotes, into out (at most size - 1 bytes). */
void pb_s3_etag_plain(char *out, size_t size, const char *etag)
{
	size_t n;

	out[0] = '\0';
	if (!etag)
		return;
	if (*etag == '"')
		etag++;
	n = strlen(etag);
	if (n && etag[n - 1] == '"')
		n--;
	if (n < size)
		snprintf(out, size, "%.*s", (int)n, etag);
}

static int s3_open(struct pb_store **out, const struct pb_store_url *u,
		   const struct pb_store_config *c)
{
	struct s3_store *s;
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return pb_err_set("cannot initialise libcurl");
	if (!(s = calloc(1, sizeof(*s))) || !(s->prefix = strdup(u->prefix))) {
		free(s);
		curl_global_cleanup();
		return pb_err_set("out of memory");
	}
	if ((rc = pb_s3_conn_init(&s->conn, u, c)) < 0) {
		pb_s3_conn_release(&s->conn);
		free(s->prefix);
		free(s);
		curl_global_cleanup();
		return rc;
	}
	s->threshold = c->multipart_threshold ? c->multipart_threshold :
						PB_STORE_MULTIPART_THRESHOLD;
	s->part_size = c->part_size ? c->part_size : PB_STORE_PART_SIZE;
	s->parallel = c->parallel > 0 ? c->parallel : PB_STORE_PARALLEL;
	*out = &s->base;
	return 0;
}

static void s3_free(struct pb_store *base)
{
	struct s3_store *s = S3_STORE(base);

	pb_s3_conn_release(&s->conn);
	free(s->prefix);
	free(s);
	curl_global_cleanup();
}

/* PREFIX/KEY, the object's name in the bucket; NULL when out of memory. */
static char *object_key(const struct s3_store *s, const char *key,
			const char *ext)
{
	struct pb_buf b = PB_BUF_INIT;

	if (pb_buf_printf(&b, "%s%s%s%s", s->prefix, *s->prefix ? "/" : "", key,
			  ext) < 0)
		return NULL;
	return pb_buf_detach(&b);
}

/* s3://BUCKET/OKEY; NULL when out of memory. */
static char *okey_url(const struct s3_store *s, const char *okey)
{
	struct pb_buf b = PB_BUF_INIT;

	if (pb_buf_printf(&b, S3_SCHEME "%s/%s", s->conn.bucket, okey) < 0)
		return NULL;
	return pb_buf_detach(&b);
}

static int target_init(struct target *t, const struct s3_store *s,
		       const char *key, const char *ext)
{
	t->url = NULL;
	if (!(t->okey = object_key(s, key, ext)) ||
	    !(t->url = okey_url(s, t->okey)))
		return pb_err_set("out of memory");
	return 0;
}

static void target_release(struct target *t)
{
	free(t->okey);
	free(t->url);
}

static char *s3_url(const struct pb_store *base, const char *key)
{
	struct target t = { 0 };
	char *url = NULL;

	if (target_init(&t, S3_STORE(base), key, "") == 0) {
		url = t.url;
		t.url = NULL;
	}
	target_release(&t);
	return url;
}

/* --- head --- */

/*
 * The SHA-256 the sidecar KEY.sha256 vouches for, when it is not older
 * than the object (modified at obj_time): else "".
 */
static int sidecar_read(char out[65], struct s3_store *s, const char *key,
			long long obj_time)
{
	struct pb_s3_request req = { .op = "GET", .method = "GET" };
	struct pb_s3_response resp;
	struct target side = { 0 };
	const char *text;
	int rc;

	out[0] = '\0';
	pb_s3_response_init(&resp);
	if ((rc = target_init(&side, s, key, SIDECAR_EXT)) < 0)
		goto out;
	req.key = side.okey;
	rc = pb_s3_request(&s->conn, &req, &resp, side.url);
	if (rc == PB_ENOTFOUND) {
		rc = 0;
		goto out;
	}
	text = pb_buf_cstr(&resp.body);
	if (rc == 0 && resp.last_modified >= obj_time && obj_time >= 0 &&
	    hex_prefix(text, 64) && (text[64] == ' ' || text[64] == '\0')) {
		memcpy(out, text, 64);
		out[64] = '\0';
	}
out:
	target_release(&side);
	pb_s3_response_release(&resp);
	return rc;
}

/* HEAD the object at t into out; PB_ENOTFOUND when none. */
static int object_head(struct pb_store_object *out, struct s3_store *s,
		       const char *key, const struct target *t)
{
	struct pb_s3_request req = { .op = "HEAD", .method = "HEAD" };
	struct pb_s3_response resp;
	char etag[80];
	int rc;

	memset(out, 0, sizeof(*out));
	pb_s3_response_init(&resp);
	req.key = t->okey;
	if ((rc = pb_s3_request(&s->conn, &req, &resp, t->url)) < 0) {
		if (rc == PB_ENOTFOUND)
			rc = pb_err_setc(PB_ENOTFOUND, "no object at %s",
					 t->url);
		goto out;
	}
	out->size = resp.content_length > 0 ? (uint64_t)resp.content_length : 0;
	pb_s3_etag_plain(etag, sizeof(etag), resp.etag);
	if (is_hex(etag, 32))
		memcpy(out->md5, etag, 33);
	if (resp.meta_sha256 && is_hex(resp.meta_sha256, 64))
		memcpy(out->sha256, resp.meta_sha256, 65);
	else
		rc = sidecar_read(out->sha256, s, key, resp.last_modified);
out:
	pb_s3_response_release(&resp);
	return rc;
}

static int s3_head(struct pb_store_object *out, struct pb_store *base,
		   const char *key)
{
	struct target t = { 0 };
	int rc;

	if ((rc = target_init(&t, S3_STORE(base), key, "")) == 0)
		rc = object_head(out, S3_STORE(base), key, &t);
	target_release(&t);
	return rc;
}

/* --- get --- */

/* Where a GET's body goes: both digests and, with dst, a temp file. */
struct get_sink {
	EVP_MD_CTX *md5;
	EVP_MD_CTX *sha;
	int fd; /* -1: hashes only */
	int werr;
};

static int get_write(void *arg, const void *data, size_t len)
{
	struct get_sink *g = arg;

	if (EVP_DigestUpdate(g->md5, data, len) != 1 ||
	    EVP_DigestUpdate(g->sha, data, len) != 1)
		return pb_err_set("openssl: digest failed");
	if (g->fd >= 0 && pb_write_all(g->fd, data, len) < 0) {
		g->werr = errno;
		return pb_err_set("cannot write: %s", strerror(errno));
	}
	return 0;
}

/* A new attempt starts the file and the digests over. */
static int get_reset(void *arg)
{
	struct get_sink *g = arg;

	if (EVP_DigestInit_ex(g->md5, EVP_md5(), NULL) != 1 ||
	    EVP_DigestInit_ex(g->sha, EVP_sha256(), NULL) != 1)
		return pb_err_set("openssl: digest failed");
	if (g->fd >= 0 &&
	    (ftruncate(g->fd, 0) < 0 || lseek(g->fd, 0, SEEK_SET) < 0))
		return pb_err_set("cannot write: %s", strerror(errno));
	return 0;
}

int pb_s3_digest_final(struct pb_digest *out, EVP_MD_CTX *md5, EVP_MD_CTX *sha)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;

	if (EVP_DigestFinal_ex(md5, md, &n) != 1 || n != 16)
		return pb_err_set("openssl: MD5 failed");
	pb_hex(out->md5, md, 16);
	if (EVP_DigestFinal_ex(sha, md, &n) != 1 || n != 32)
		return pb_err_set("openssl: SHA-256 failed");
	pb_hex(out->sha256, md, 32);
	return 0;
}

static int s3_get(struct pb_digest *out, struct pb_store *base, const char *key,
		  const char *dst)
{
	struct s3_store *s = S3_STORE(base);
	struct pb_tempfile tf = { PB_BUF_INIT, NULL, -1 };
	struct get_sink g = { .fd = -1 };
	struct pb_s3_sink sink = { get_write, get_reset, &g };
	struct pb_s3_request req = { .op = "GET", .method = "GET" };
	struct pb_s3_response resp;
	struct target t = { 0 };
	int rc;

	pb_s3_response_init(&resp);
	if ((rc = target_init(&t, s, key, "")) < 0)
		goto out;
	if (!(g.md5 = EVP_MD_CTX_new()) || !(g.sha = EVP_MD_CTX_new())) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	if (dst && (rc = pb_tempfile_open(&tf, dst, FILE_MODE)) < 0)
		goto out;
	g.fd = tf.fd;
	req.key = t.okey;
	req.sink = &sink;
	if ((rc = pb_s3_request(&s->conn, &req, &resp, t.url)) < 0)
		goto out;
	if (resp.content_length >= 0 &&
	    (uint64_t)resp.content_length != resp.received) {
		rc = pb_err_set("S3 GET %s: %llu of %lld bytes arrived "
				"(request id %s): try again",
				t.url, (unsigned long long)resp.received,
				resp.content_length,
				resp.request_id ? resp.request_id : "none");
		goto out;
	}
	if ((rc = pb_s3_digest_final(out, g.md5, g.sha)) < 0)
		goto out;
	out->size = resp.received;
	if (dst && (rc = pb_tempfile_commit(&tf)) < 0)
		goto out;
out:
	pb_tempfile_abandon(&tf);
	EVP_MD_CTX_free(g.sha);
	EVP_MD_CTX_free(g.md5);
	target_release(&t);
	pb_s3_response_release(&resp);
	return rc;
}

/* --- put: one request --- */

/* "NAME: VALUE" headers of a PUT, all signed. */
void pb_s3_header_add(struct pb_s3_request *req, const char *name,
		      const char *value)
{
	if (req->nheaders < PB_S3_MAX_HEADERS)
		req->headers[req->nheaders++] =
			(struct pb_sigv4_header){ name, value };
}

/* Did the server refuse x-amz-checksum-sha256 as something it lacks? */
static int checksum_unsupported(const struct pb_s3_response *r)
{
	const char *code = r->s3_code ? r->s3_code : "";
	const char *msg = r->s3_message ? r->s3_message : "";

	if (r->cc != CURLE_OK || (r->status != 400 && r->status != 501))
		return 0;
	return !strcmp(code, "NotImplemented") ||
	       ((!strcmp(code, "InvalidArgument") ||
		 !strcmp(code, "InvalidRequest")) &&
		strcasestr(msg, "checksum"));
}

/*
 * PUT the sidecar KEY.sha256 in sha256sum's format ("HEX  NAME\n"), as
 * the file:// store writes it: head() reads it for multipart objects.
 */
static int sidecar_write(struct s3_store *s, const char *key,
			 const char *sha256)
{
	const char *name = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
	struct pb_s3_request req = { .op = "PUT", .method = "PUT" };
	struct pb_s3_response resp;
	struct pb_s3_body body = { 0 };
	struct pb_buf text = PB_BUF_INIT;
	struct target t = { 0 };
	int rc;

	pb_s3_response_init(&resp);
	if ((rc = target_init(&t, s, key, SIDECAR_EXT)) < 0 ||
	    (rc = pb_buf_printf(&text, "%s  %s\n", sha256, name)) < 0)
		goto out;
	body.mem = text.ptr;
	body.len = text.len;
	req.key = t.okey;
	req.body = &body;
	pb_s3_header_add(&req, "Content-Type", "text/plain");
	rc = pb_s3_request(&s->conn, &req, &resp, t.url);
out:
	pb_buf_release(&text);
	target_release(&t);
	pb_s3_response_release(&resp);
	return rc;
}

/* DELETE KEY + ext (gone already is fine). */
int pb_s3_delete(struct s3_store *s, const char *key, const char *ext)
{
	struct pb_s3_request req = { .op = "DELETE", .method = "DELETE" };
	struct pb_s3_response resp;
	struct target t = { 0 };
	int rc;

	pb_s3_response_init(&resp);
	if ((rc = target_init(&t, s, key, ext)) == 0) {
		req.key = t.okey;
		rc = pb_s3_request(&s->conn, &req, &resp, t.url);
		if (rc == PB_ENOTFOUND)
			rc = 0;
	}
	target_release(&t);
	pb_s3_response_release(&resp);
	return rc;
}

/* base64 of the binary form of hex (n bytes); out holds 4*((n+2)/3)+1. */
static void hex_base64(char *out, const char *hex, size_t n)
{
	unsigned char bin[32];

	out[0] = '\0';
	if (n <= sizeof(bin) && from_hex(bin, hex, n) == 0)
		pb_s3_base64(out, bin, n);
}

/*
 * One PUT streamed from fd (the page cache: the file was just hashed) with
 * the hashes of that pass: Content-MD5 makes the server check that the
 * bytes sent are the bytes hashed.
 */
static int single_put(struct s3_store *s, const struct target *t, int fd,
		      const struct pb_digest *d)
{
	struct pb_s3_request req = { .op = "PUT", .method = "PUT" };
	struct pb_s3_response resp;
	struct pb_s3_body body = { .fd = fd, .len = d->size };
	char md5_b64[25], sha_b64[45];
	int rc;

	pb_s3_response_init(&resp);
	hex_base64(md5_b64, d->md5, 16);
	hex_base64(sha_b64, d->sha256, 32);
	req.key = t->okey;
	req.body = &body;
	req.payload_hash = d->sha256;
	pb_s3_header_add(&req, "Content-MD5", md5_b64);
	pb_s3_header_add(&req, "Content-Type", "application/octet-stream");
	pb_s3_header_add(&req, "x-amz-meta-sha256", d->sha256);
	if (!s->no_checksum)
		pb_s3_header_add(&req, "x-amz-checksum-sha256", sha_b64);
	rc = pb_s3_request(&s->conn, &req, &resp, t->url);
	if (rc < 0 && !s->no_checksum && checksum_unsupported(&resp)) {
		pb_log_info("s3: %s refuses x-amz-checksum-sha256 (%s): "
			    "sending without it",
			    s->conn.endpoint,
			    resp.s3_code ? resp.s3_code : "no code");
		s->no_checksum = 1;
		req.nheaders--;
		rc = pb_s3_request(&s->conn, &req, &resp, t->url);
	}
	pb_s3_response_release(&resp);
	return rc;
}

/*
 * Is the object at t already src? Then out has src's digest (read once)
 * and *same is set; *hashed says whether out was filled.
 */
static int same_object(int *same, int *hashed, struct pb_digest *out,
		       struct s3_store *s, const char *key,
		       const struct target *t, int fd, const struct stat *st,
		       const char *src)
{
	struct pb_store_object obj;
	int rc;

	*same = *hashed = 0;
	rc = object_head(&obj, s, key, t);
	/* a key may write without reading: then the upload goes ahead
	   (and says better why, should it be refused as well) */
	if (rc == PB_ENOTFOUND || rc == PB_EPERM) {
		if (rc == PB_EPERM)
			pb_log_debug("s3: %s: uploading anyway", pb_err_last());
		return 0;
	}
	if (rc < 0)
		return rc;
	if (obj.size != (uint64_t)st->st_size || !obj.sha256[0])
		return 0;
	if ((rc = pb_hash_copy(out, fd, -1)) < 0)
		return pb_err_prefix(rc, "reading '%s'", src);
	if ((rc = pb_store_src_changed(fd, st, out->size, src)) < 0)
		return rc;
	*hashed = 1;
	*same = !strcmp(obj.sha256, out->sha256);
	return 0;
}

static int s3_put(struct pb_put_result *out, struct pb_store *base,
		  const char *key, const char *src)
{
	struct s3_store *s = S3_STORE(base);
	struct target t = { 0 };
	struct stat st;
	int fd = -1, rc, same = 0, hashed = 0;

	if ((rc = target_init(&t, s, key, "")) < 0 ||
	    (rc = pb_store_src_open(&fd, &st, src)) < 0 ||
	    (rc = same_object(&same, &hashed, &out->digest, s, key, &t, fd, &st,
			      src)) < 0)
		goto out;
	if (same) {
		out->skipped = 1;
	} else if ((uint64_t)st.st_size > s->threshold) {
		if (lseek(fd, 0, SEEK_SET) < 0) {
			rc = pb_err_set("cannot read '%s' again: %s", src,
					strerror(errno));
			goto out;
		}
		if ((rc = pb_s3_multipart_put(s, key, &t, fd, &st, src, out)) <
			    0 ||
		    (rc = sidecar_write(s, key, out->digest.sha256)) < 0)
			goto out;
	} else {
		/* the hashes go in the headers: hash first, then send */
		if (!hashed && (rc = pb_hash_copy(&out->digest, fd, -1)) < 0) {
			rc = pb_err_prefix(rc, "reading '%s'", src);
			goto out;
		}
		if ((rc = pb_store_src_changed(fd, &st, out->digest.size,
					       src)) < 0)
			goto out;
		rc = single_put(s, &t, fd, &out->digest);
		/* a src that shrank stops the body short: say that first */
		if (pb_store_src_changed(fd, &st, out->digest.size, src) < 0) {
			rc = PB_ECHANGED;
			goto out;
		}
		if (rc < 0 ||
		    (rc = sidecar_write(s, key, out->digest.sha256)) < 0)
			goto out;
	}
	if (!(out->url = strdup(t.url))) /* s3_url(base, key) */
		rc = pb_err_set("out of memory");
out:
	if (fd >= 0)
		close(fd);
	target_release(&t);
	return rc;
}

const struct pb_store_ops pb_store_s3_ops = {
	.name = "s3",
	.open = s3_open,
	.free = s3_free,
	.url = s3_url,
	.put = s3_put,
	.head = s3_head,
	.get = s3_get,
};
