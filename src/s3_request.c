/* s3_request.c: signed S3 requests over libcurl, retries, S3's errors */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <expat.h>
#include <openssl/evp.h>

#include "prbot/err.h"
#include "prbot/http_client.h"
#include "prbot/hash.h"
#include "prbot/log.h"
#include "s3_request.h"
#include "banned.h"

#define RESPONSE_CAP	   (64u << 10) /* error and result XML */
#define CONNECT_TIMEOUT_MS 10000L
#define LOW_SPEED_LIMIT	   1024L /* bytes/s, for low_speed_time_s */
#define MSG_QUOTE	   200	 /* bytes of S3's own message kept */
#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void pb_s3_conn_release(struct pb_s3_conn *conn)
{
	if (conn->easy)
		curl_easy_cleanup(conn->easy);
	free(conn->endpoint);
	free(conn->scheme);
	free(conn->host);
	free(conn->port);
	free(conn->bucket);
	free(conn->region);
	free(conn->access_key);
	free_secret(conn->secret_key);
	free_secret(conn->session_token);
	memset(conn, 0, sizeof(*conn));
}

/* The key pair from c, else from the environment; copied. */
static int credentials_read(struct pb_s3_conn *conn,
			    const struct pb_store_config *c, const char *bucket)
{
	const char *ak = c->access_key, *sk = c->secret_key,
		   *tok = c->session_token;

	if ((ak && *ak) != (sk && *sk))
		return pb_err_setc(PB_EINVAL,
				   "store 's3://%s': [store] %s is set but "
				   "%s is not: set both, or neither to use "
				   "AWS_ACCESS_KEY_ID and "
				   "AWS_SECRET_ACCESS_KEY",
				   bucket,
				   ak && *ak ? "access_key" : "secret_key",
				   ak && *ak ? "secret_key" : "access_key");
	if (!ak || !*ak) {
		ak = getenv("AWS_ACCESS_KEY_ID");
		sk = getenv("AWS_SECRET_ACCESS_KEY");
		tok = getenv("AWS_SESSION_TOKEN");
	}
	if (!ak || !*ak || !sk || !*sk)
		return pb_err_setc(PB_EINVAL,
				   "store 's3://%s': no credentials: set "
				   "[store] access_key and secret_key in "
				   "bot.conf, or AWS_ACCESS_KEY_ID and "
				   "AWS_SECRET_ACCESS_KEY in the environment",
				   bucket);
	if (!(conn->access_key = strdup(ak)) ||
	    !(conn->secret_key = strdup(sk)) ||
	    (tok && *tok && !(conn->session_token = strdup(tok))))
		return pb_err_set("out of memory");
	return 0;
}

/* scheme, host and port of the endpoint, with libcurl's URL parser. */
static int endpoint_parse(struct pb_s3_conn *conn)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	struct pb_buf p = PB_BUF_INIT;
	int rc = 0;

	if (!u)
		return pb_err_set("out of memory");
	if (curl_url_set(u, CURLUPART_URL, conn->endpoint, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
		rc = pb_err_setc(PB_EINVAL,
				 "[store] endpoint '%s': expected "
				 "http(s)://HOST[:PORT]",
				 conn->endpoint);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
	    strcmp(path, "/") && *path) {
		rc = pb_err_setc(PB_EINVAL,
				 "[store] endpoint '%s': has a path: write "
				 "only http(s)://HOST[:PORT]",
				 conn->endpoint);
		goto out;
	}
	/* the scheme's own port is left out, as curl leaves it out of Host */
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK &&
	    !(!strcmp(scheme, "http") && !strcmp(port, "80")) &&
	    !(!strcmp(scheme, "https") && !strcmp(port, "443")))
		rc = pb_buf_printf(&p, ":%s", port);
	else
		rc = pb_buf_puts(&p, "");
	if (rc < 0 || !(conn->scheme = strdup(scheme)) ||
	    !(conn->host = strdup(host))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	conn->port = pb_buf_detach(&p);
out:
	pb_buf_release(&p);
	curl_free(path);
	curl_free(port);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

int pb_s3_conn_init(struct pb_s3_conn *conn, const struct pb_store_url *u,
		    const struct pb_store_config *c)
{
	struct pb_buf ep = PB_BUF_INIT;
	const char *region = c->region && *c->region ? c->region : "us-east-1";
	int rc;

	memset(conn, 0, sizeof(*conn));
	conn->max_retries = c->max_retries < 0 ? 0 : c->max_retries;
	conn->backoff_base_ms = 200;
	conn->backoff_max_ms = 10000;
	conn->low_speed_time_s = 30;
	if (c->endpoint && *c->endpoint)
		rc = pb_buf_puts(&ep, c->endpoint);
	else
		rc = pb_buf_printf(&ep, "https://s3.%s.amazonaws.com", region);
	if (rc < 0)
		return rc;
	while (ep.len && ep.ptr[ep.len - 1] == '/')
		ep.ptr[--ep.len] = '\0';
	conn->endpoint = pb_buf_detach(&ep);
	if (!(conn->bucket = strdup(u->bucket)) ||
	    !(conn->region = strdup(region)))
		return pb_err_set("out of memory");
	if (c->style == PB_S3_STYLE_AUTO)
		conn->vhost = !(c->endpoint && *c->endpoint);
	else
		conn->vhost = c->style == PB_S3_STYLE_VHOST;
	if ((rc = endpoint_parse(conn)) < 0)
		return rc;
	return credentials_read(conn, c, u->bucket);
}

/* "/BUCKET/KEY" or "/KEY": the path as signed, not yet encoded. */
static int path_build(struct pb_buf *b, const struct pb_s3_conn *conn,
		      const char *key)
{
	int rc = 0;

	if (!conn->vhost)
		rc = pb_buf_printf(b, "/%s", conn->bucket);
	if (rc == 0 && key)
		rc = pb_buf_printf(b, "/%s", key);
	if (rc == 0 && !b->len)
		rc = pb_buf_putc(b, '/');
	return rc;
}

/* Each segment of path encoded, the slashes kept. */
static int path_encode(struct pb_buf *b, const char *path)
{
	const char *seg = path, *end;
	int rc = 0;

	while (rc == 0 && (end = strchr(seg, '/'))) {
		if ((rc = pb_sigv4_uri_encode(b, seg, (size_t)(end - seg))) ==
		    0)
			rc = pb_buf_putc(b, '/');
		seg = end + 1;
	}
	if (rc == 0)
		rc = pb_sigv4_uri_encode(b, seg, strlen(seg));
	return rc;
}

int pb_s3_url_build(struct pb_buf *url, struct pb_buf *host,
		    const struct pb_s3_conn *conn, const char *key,
		    const char *query)
{
	struct pb_buf path = PB_BUF_INIT;
	int rc;

	if ((rc = pb_buf_printf(
		     host, "%s%s%s%s", conn->vhost ? conn->bucket : "",
		     conn->vhost ? "." : "", conn->host, conn->port)) < 0 ||
	    (rc = path_build(&path, conn, key)) < 0 ||
	    (rc = pb_buf_printf(url, "%s://%s", conn->scheme, host->ptr)) < 0 ||
	    (rc = path_encode(url, path.ptr)) < 0)
		goto out;
	if (query && *query)
		rc = pb_buf_printf(url, "?%s", query);
out:
	pb_buf_release(&path);
	return rc;
}

void pb_s3_base64(char *out, const unsigned char *data, size_t len)
{
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
}

void pb_s3_response_init(struct pb_s3_response *r)
{
	memset(r, 0, sizeof(*r));
	pb_buf_init(&r->body, RESPONSE_CAP);
	r->content_length = -1;
	r->last_modified = -1;
}

/* Empty the fields of one attempt; attempts is kept. */
static void response_clear(struct pb_s3_response *r)
{
	int attempts = r->attempts;

	pb_s3_response_release(r);
	pb_s3_response_init(r);
	r->attempts = attempts;
}

void pb_s3_response_release(struct pb_s3_response *r)
{
	pb_buf_release(&r->body);
	free(r->etag);
	free(r->request_id);
	free(r->meta_sha256);
	free(r->bucket_region);
	free(r->s3_code);
	free(r->s3_message);
	r->etag = r->request_id = r->meta_sha256 = r->bucket_region = NULL;
	r->s3_code = r->s3_message = NULL;
}

/* --- XML answers, with expat --- */

struct xml_walk {
	struct pb_s3_xml *out;
	int depth;
	char **field;	    /* the field whose text is being read */
	struct pb_buf text; /* that text so far */
	int oom;
};

static char **xml_field(struct pb_s3_xml *x, const char *name)
{
	if (!strcmp(name, "Code"))
		return &x->code;
	if (!strcmp(name, "Message"))
		return &x->message;
	if (!strcmp(name, "RequestId"))
		return &x->request_id;
	if (!strcmp(name, "UploadId"))
		return &x->upload_id;
	if (!strcmp(name, "ETag"))
		return &x->etag;
	return NULL;
}

static void XMLCALL xml_start(void *arg, const XML_Char *name,
			      const XML_Char **attrs)
{
	struct xml_walk *w = arg;

	(void)attrs;
	w->depth++;
	if (w->depth == 1 && !w->out->root && !(w->out->root = strdup(name)))
		w->oom = 1;
	if (w->depth == 2 && (w->field = xml_field(w->out, name)))
		pb_buf_reset(&w->text);
}

static void XMLCALL xml_end(void *arg, const XML_Char *name)
{
	struct xml_walk *w = arg;

	(void)name;
	if (w->depth == 2 && w->field && !*w->field) {
		if (!(*w->field = strdup(pb_buf_cstr(&w->text))))
			w->oom = 1;
	}
	if (w->depth == 2)
		w->field = NULL;
	w->depth--;
}

static void XMLCALL xml_text(void *arg, const XML_Char *s, int len)
{
	struct xml_walk *w = arg;

	if (w->field && w->depth == 2 &&
	    pb_buf_add(&w->text, s, (size_t)len) < 0)
		w->oom = 1;
}

int pb_s3_xml_parse(struct pb_s3_xml *out, const char *xml, size_t len)
{
	struct xml_walk w = { .out = out };
	XML_Parser p;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pb_buf_init(&w.text, RESPONSE_CAP);
	if (!(p = XML_ParserCreate(NULL)))
		return pb_err_set("out of memory");
	XML_SetUserData(p, &w);
	XML_SetElementHandler(p, xml_start, xml_end);
	XML_SetCharacterDataHandler(p, xml_text);
	if (XML_Parse(p, xml, (int)len, 1) == XML_STATUS_ERROR)
		rc = pb_err_setc(PB_EINVAL, "not XML: %s (line %lu)",
				 XML_ErrorString(XML_GetErrorCode(p)),
				 (unsigned long)XML_GetCurrentLineNumber(p));
	else if (w.oom)
		rc = pb_err_set("out of memory");
	XML_ParserFree(p);
	pb_buf_release(&w.text);
	if (rc < 0)
		pb_s3_xml_release(out);
	return rc;
}

void pb_s3_xml_release(struct pb_s3_xml *x)
{
	free(x->root);
	free(x->code);
	free(x->message);
	free(x->request_id);
	free(x->upload_id);
	free(x->etag);
	memset(x, 0, sizeof(*x));
}

/* --- one transfer --- */

static size_t on_read(char *dst, size_t size, size_t n, void *arg)
{
	struct pb_s3_xfer *x = arg;
	const struct pb_s3_body *b = x->req->body;
	uint64_t left = b->len - x->pos;
	size_t want = size * n < left ? size * n : (size_t)left;
	ssize_t got;

	if (!want)
		return 0;
	if (b->mem) {
		memcpy(dst, (const char *)b->mem + x->pos, want);
		x->pos += want;
		return want;
	}
	do
		got = pread(b->fd, dst, want, (off_t)(b->off + x->pos));
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return CURL_READFUNC_ABORT; /* the file shrank or failed */
	x->pos += (uint64_t)got;
	return (size_t)got;
}

static int on_seek(void *arg, curl_off_t offset, int origin)
{
	struct pb_s3_xfer *x = arg;

	if (origin != SEEK_SET || offset < 0 ||
	    (uint64_t)offset > x->req->body->len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
	struct pb_s3_xfer *x = arg;
	const struct pb_s3_sink *s = x->req->sink;
	long status = 0;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (s && status >= 200 && status < 300) {
		if (s->write(s->arg, data, size * n) < 0) {
			x->sink_failed = 1;
			return 0;
		}
		x->resp->received += size * n;
		return size * n;
	}
	/* over the cap: the rest of an error body is not needed */
	if (x->resp->body.len + size * n <= RESPONSE_CAP)
		pb_buf_add(&x->resp->body, data, size * n);
	return size * n;
}

static int add_header(struct curl_slist **l, const char *name,
		      const char *value)
{
	struct pb_buf line = PB_BUF_INIT;
	struct curl_slist *n;

	if (pb_buf_printf(&line, "%s: %s", name, value) < 0)
		return -1;
	n = curl_slist_append(*l, line.ptr);
	explicit_bzero(line.ptr, line.len);
	pb_buf_release(&line);
	if (!n)
		return pb_err_set("out of memory");
	*l = n;
	return 0;
}

static void amz_date(char out[17])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int has_content_type(const struct pb_s3_request *req)
{
	size_t i;

	for (i = 0; i < req->nheaders; i++)
		if (!strcasecmp(req->headers[i].name, "Content-Type"))
			return 1;
	return 0;
}

/* Sign req and build the header list: the signed ones, then the rest. */
static int headers_build(struct pb_s3_xfer *x, const char *host)
{
	const struct pb_s3_request *req = x->req;
	struct pb_sigv4_header hs[PB_S3_MAX_HEADERS + 3];
	struct pb_sigv4_request sr = { 0 };
	struct pb_sigv4_result res;
	struct pb_buf path = PB_BUF_INIT;
	char date[17], payload[65];
	const char *ph = req->payload_hash;
	size_t i, n = 0;
	int rc;

	pb_sigv4_result_init(&res);
	amz_date(date);
	if (!ph) {
		if (req->body && req->body->mem)
			pb_sha256_hex(payload, req->body->mem, req->body->len);
		else
			memcpy(payload, EMPTY_SHA256, sizeof(payload));
		ph = payload;
	}
	hs[n++] = (struct pb_sigv4_header){ "Host", host };
	hs[n++] = (struct pb_sigv4_header){ "x-amz-content-sha256", ph };
	hs[n++] = (struct pb_sigv4_header){ "x-amz-date", date };
	for (i = 0; i < req->nheaders; i++)
		hs[n++] = req->headers[i];
	sr.method = req->method;
	sr.query = req->query;
	sr.headers = hs;
	sr.nheaders = n;
	sr.payload_hash = ph;
	sr.access_key = x->conn->access_key;
	sr.secret_key = x->conn->secret_key;
	sr.session_token = x->conn->session_token;
	sr.region = x->conn->region;
	sr.service = "s3";
	sr.amz_date = date;
	if ((rc = path_build(&path, x->conn, req->key)) < 0)
		goto out;
	sr.path = path.ptr;
	if ((rc = pb_sigv4_sign(&res, &sr)) < 0)
		goto out;
	for (i = 0; i < n && rc == 0; i++)
		rc = add_header(&x->hdrs, hs[i].name, hs[i].value);
	if (rc == 0 && x->conn->session_token)
		rc = add_header(&x->hdrs, "x-amz-security-token",
				x->conn->session_token);
	if (rc == 0)
		rc = add_header(&x->hdrs, "Authorization",
				res.authorization.ptr);
	/* curl would add a form's Content-Type to a POST without one */
	if (rc == 0 && !strcmp(req->method, "POST") && !has_content_type(req))
		rc = add_header(&x->hdrs, "Content-Type", "");
out:
	pb_buf_release(&path);
	pb_sigv4_result_release(&res);
	return rc;
}

static void method_set(struct pb_s3_xfer *x)
{
	const struct pb_s3_request *req = x->req;
	CURL *h = x->h;
	curl_off_t len = req->body ? (curl_off_t)req->body->len : 0;

	if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(req->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(req->method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, len);
	} else if (!strcmp(req->method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, len);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}
	if (req->body) {
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
	}
}

void pb_s3_xfer_release(struct pb_s3_xfer *x)
{
	struct curl_slist *l;

	/* the list holds the Authorization and token lines */
	for (l = x->hdrs; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	pb_buf_release(&x->url);
}

int pb_s3_xfer_start(struct pb_s3_xfer *x, struct pb_s3_conn *conn,
		     const struct pb_s3_request *req,
		     struct pb_s3_response *resp, CURL *h)
{
	struct pb_buf host = PB_BUF_INIT;
	int rc;

	pb_s3_xfer_release(x);
	x->conn = conn;
	x->req = req;
	x->resp = resp;
	x->h = h;
	x->pos = 0;
	x->sink_failed = 0;
	response_clear(resp);
	resp->attempts++;
	if (req->sink && req->sink->reset &&
	    (rc = req->sink->reset(req->sink->arg)) < 0)
		goto out;
	if ((rc = pb_s3_url_build(&x->url, &host, conn, req->key, req->query)) <
		    0 ||
	    (rc = headers_build(x, host.ptr)) < 0)
		goto out;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, x->url.ptr);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	/* no total timeout: a 4 GiB body takes its time, a stall does not */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_LIMIT);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, conn->low_speed_time_s);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "prbot/" PRBOT_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, resp->curl_error);
	curl_easy_setopt(h, CURLOPT_PRIVATE, x);
	method_set(x);
out:
	pb_buf_release(&host);
	return rc;
}

static char *header_dup(CURL *h, const char *name)
{
	struct curl_header *hh;

	if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hh) != CURLHE_OK)
		return NULL;
	return strdup(hh->value);
}

static void body_error_read(struct pb_s3_response *r)
{
	struct pb_s3_xml x;

	if (!r->body.len || pb_s3_xml_parse(&x, r->body.ptr, r->body.len) < 0)
		return;
	if (x.root && !strcmp(x.root, "Error")) {
		r->s3_code = x.code;
		r->s3_message = x.message;
		x.code = x.message = NULL;
		if (!r->request_id) {
			r->request_id = x.request_id;
			x.request_id = NULL;
		}
	}
	pb_s3_xml_release(&x);
}

void pb_s3_xfer_finish(struct pb_s3_xfer *x, CURLcode cc)
{
	struct pb_s3_response *r = x->resp;
	CURL *h = x->h;
	curl_off_t cl = -1;
	char *lm;

	r->cc = cc;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (cc != CURLE_OK && !r->curl_error[0])
		snprintf(r->curl_error, sizeof(r->curl_error), "%s",
			 curl_easy_strerror(cc));
	if (!r->status)
		return;
	r->etag = header_dup(h, "ETag");
	r->request_id = header_dup(h, "x-amz-request-id");
	r->meta_sha256 = header_dup(h, "x-amz-meta-sha256");
	r->bucket_region = header_dup(h, "x-amz-bucket-region");
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) ==
	    CURLE_OK)
		r->content_length = cl;
	if ((lm = header_dup(h, "Last-Modified"))) {
		r->last_modified = (long long)curl_getdate(lm, NULL);
		free(lm);
	}
	body_error_read(r);
}

int pb_s3_ok(const struct pb_s3_response *r)
{
	return r->cc == CURLE_OK && r->status >= 200 && r->status < 300 &&
	       !r->s3_code;
}

int pb_s3_retryable(const struct pb_s3_response *r)
{
	const char *code = r->s3_code ? r->s3_code : "";

	if (r->cc != CURLE_OK)
		return pb_http_curl_retryable(r->cc);
	if (r->status >= 500)
		return r->status != 501; /* Not Implemented stays so */
	/* S3's "socket not read from in time" and throttling, and an
	   <Error> in a 200 (CompleteMultipartUpload) that is S3's fault */
	return !strcmp(code, "RequestTimeout") || !strcmp(code, "SlowDown") ||
	       !strcmp(code, "InternalError") ||
	       !strcmp(code, "ServiceUnavailable");
}

long pb_s3_backoff_ms(const struct pb_s3_conn *conn, int n)
{
	long ceil = conn->backoff_base_ms;

	while (--n > 0 && ceil < conn->backoff_max_ms)
		ceil *= 2;
	if (ceil > conn->backoff_max_ms)
		ceil = conn->backoff_max_ms;
	/* at least half the ceiling, so a retry is not instant */
	return ceil / 2 + (long)(pb_http_jitter() % (uint64_t)(ceil / 2 + 1));
}

int pb_s3_sleep(const struct pb_s3_conn *conn, long ms)
{
	struct timespec ts;

	if (conn->sleep)
		return conn->sleep(conn->sleep_arg, ms);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

/* "503 SlowDown" or "connection refused": the attempt's outcome, short. */
static int outcome(struct pb_buf *b, const struct pb_s3_response *r)
{
	if (r->cc != CURLE_OK)
		return pb_buf_puts(b, r->curl_error);
	return pb_buf_printf(b, "%ld%s%s", r->status, r->s3_code ? " " : "",
			     r->s3_code ? r->s3_code : "");
}

int pb_s3_request(struct pb_s3_conn *conn, const struct pb_s3_request *req,
		  struct pb_s3_response *resp, const char *target)
{
	struct pb_s3_xfer x = { 0 };
	struct pb_buf what = PB_BUF_INIT;
	CURLcode cc;
	long wait;
	int rc;

	if (!conn->easy && !(conn->easy = curl_easy_init()))
		return pb_err_set("cannot create a libcurl handle");
	resp->attempts = 0;
	for (;;) {
		if ((rc = pb_s3_xfer_start(&x, conn, req, resp, conn->easy)) <
		    0)
			goto out;
		cc = curl_easy_perform(conn->easy);
		pb_s3_xfer_finish(&x, cc);
		if (x.sink_failed) {
			rc = pb_err_prefix(PB_ERROR, "S3 %s %s", req->op,
					   target);
			goto out;
		}
		if (pb_s3_ok(resp)) {
			rc = 0;
			goto out;
		}
		if (req->no_retry || !pb_s3_retryable(resp) ||
		    resp->attempts > conn->max_retries)
			break;
		wait = pb_s3_backoff_ms(conn, resp->attempts);
		pb_buf_reset(&what);
		outcome(&what, resp);
		pb_log_info("s3: %s %s: %s; retry %d of %d in %ld ms", req->op,
			    target, pb_buf_cstr(&what), resp->attempts,
			    conn->max_retries, wait);
		if ((rc = pb_s3_sleep(conn, wait)) < 0)
			goto out;
	}
	rc = pb_s3_fail(conn, req->op, target, resp);
out:
	pb_buf_release(&what);
	pb_s3_xfer_release(&x);
	return rc;
}

/* --- what a failure means --- */

static int code_is(const struct pb_s3_response *r, const char *code)
{
	return r->s3_code && !strcmp(r->s3_code, code);
}

/* The PB_E* code of a failed answer and what to do (NULL: no advice). */
static int failure_kind(const char **fix, const struct pb_s3_response *r)
{
	*fix = NULL;
	if (code_is(r, "SignatureDoesNotMatch")) {
		*fix = "the store refused the request signature: check "
		       "[store] secret_key (or AWS_SECRET_ACCESS_KEY)";
		return PB_EPERM;
	}
	if (code_is(r, "InvalidAccessKeyId")) {
		*fix = "the store does not know the access key: check "
		       "[store] access_key (or AWS_ACCESS_KEY_ID)";
		return PB_EPERM;
	}
	if (code_is(r, "NoSuchBucket"))
		return PB_ENOTFOUND; /* the advice names the bucket */
	if (code_is(r, "RequestTimeTooSkewed")) {
		*fix = "the store says this machine's clock is off: sync it "
		       "with NTP";
		return PB_EINVAL;
	}
	if (code_is(r, "PermanentRedirect") ||
	    code_is(r, "AuthorizationHeaderMalformed") || r->status == 301) {
		*fix = "the bucket is in another region: set [store] region";
		return PB_EINVAL;
	}
	if (r->status == 403 && !r->s3_code) {
		/* a HEAD's answer has no body to say why */
		*fix = "the store refused the request: check [store] "
		       "access_key and secret_key (or AWS_ACCESS_KEY_ID and "
		       "AWS_SECRET_ACCESS_KEY) and the key's permissions";
		return PB_EPERM;
	}
	if (code_is(r, "AccessDenied") || r->status == 401 ||
	    r->status == 403) {
		*fix = "the store refused access: check the key's "
		       "permissions on the bucket";
		return PB_EPERM;
	}
	return r->status == 404 ? PB_ENOTFOUND : PB_ERROR;
}

/* "answered 403 Code "message" after N attempts (request id R)" */
static int answer_describe(struct pb_buf *m, const struct pb_s3_response *r,
			   const char *attempts)
{
	int rc = pb_buf_printf(m, "answered %ld", r->status);

	if (rc == 0 && r->s3_code)
		rc = pb_buf_printf(m, " %s", r->s3_code);
	if (rc == 0 && r->s3_message)
		rc = pb_buf_printf(m, " \"%.*s\"", MSG_QUOTE, r->s3_message);
	if (rc == 0)
		rc = pb_buf_printf(m, "%s (request id %s)", attempts,
				   r->request_id ? r->request_id : "none");
	return rc;
}

int pb_s3_fail(const struct pb_s3_conn *conn, const char *op,
	       const char *target, const struct pb_s3_response *r)
{
	struct pb_buf m = PB_BUF_INIT;
	const char *fix = NULL;
	char n[40] = "";
	int code = PB_ERROR, rc;

	if (r->attempts > 1)
		snprintf(n, sizeof(n), " after %d attempts", r->attempts);
	if (r->cc != CURLE_OK) {
		rc = pb_buf_printf(&m, "cannot reach the store at %s: %s%s",
				   conn->endpoint, r->curl_error, n);
	} else {
		code = failure_kind(&fix, r);
		rc = answer_describe(&m, r, n);
		if (rc == 0 && fix)
			rc = pb_buf_printf(&m, ": %s", fix);
		if (rc == 0 && code == PB_EINVAL && r->bucket_region)
			rc = pb_buf_printf(&m, " (the store says %s)",
					   r->bucket_region);
		if (rc == 0 && code_is(r, "NoSuchBucket"))
			rc = pb_buf_printf(&m,
					   ": bucket '%s' does not exist at "
					   "%s: create it or fix [store] url",
					   conn->bucket, conn->endpoint);
	}
	if (rc < 0)
		return pb_err_set("out of memory");
	rc = pb_err_setc(code, "S3 %s %s: %s", op, target, m.ptr);
	pb_buf_release(&m);
	return rc;
}
