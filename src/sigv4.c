/* sigv4.c: AWS Signature Version 4 (canonical request, HMAC chain) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "prbot/err.h"
#include "prbot/hash.h"
#include "prbot/sigv4.h"
#include "banned.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

struct param {
	char *name;  /* encoded */
	char *value; /* encoded */
};

struct hdr {
	char *name;  /* lowercase */
	char *value; /* trimmed, inner spaces collapsed */
	size_t order;
};

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == '~';
}

int pb_sigv4_uri_encode(struct pb_buf *b, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc = unreserved(c) ? pb_buf_putc(b, (char)c) :
					 pb_buf_printf(b, "%%%02X", c);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode %XX; '+' stays as is, as AWS reads it. */
static int uri_decode(struct pb_buf *b, const char *s, size_t len)
{
	size_t i;
	int rc;

	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < len &&
		    (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			rc = pb_buf_putc(b, (char)(hi * 16 + lo));
			i += 2;
		} else {
			rc = pb_buf_putc(b, s[i]);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int encode_path(struct pb_buf *out, const char *path)
{
	const char *p = path;
	int rc;

	if (!*path)
		return pb_buf_putc(out, '/');
	while (*p) {
		size_t n = strcspn(p, "/");

		if ((rc = pb_sigv4_uri_encode(out, p, n)) < 0)
			return rc;
		p += n;
		if (*p == '/') {
			if ((rc = pb_buf_putc(out, '/')) < 0)
				return rc;
			p++;
		}
	}
	return 0;
}

/* RFC 3986 dot removal, empty segments dropped, trailing slash kept. */
static int normalize_path(struct pb_buf *out, const char *path)
{
	size_t len = strlen(path), nseg = 0, i;
	const char **seg = calloc(len + 1, sizeof(*seg));
	size_t *seglen = calloc(len + 1, sizeof(*seglen));
	const char *p = path;
	int rc = 0;

	if (!seg || !seglen) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg)
				nseg--;
		} else {
			seg[nseg] = p;
			seglen[nseg++] = n;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	for (i = 0; i < nseg && rc == 0; i++) {
		rc = pb_buf_putc(out, '/');
		if (rc == 0)
			rc = pb_sigv4_uri_encode(out, seg[i], seglen[i]);
	}
	if (rc == 0 && (nseg == 0 || (len && path[len - 1] == '/')))
		rc = pb_buf_putc(out, '/');
out:
	free(seglen);
	free(seg);
	return rc;
}

static int param_cmp(const void *a, const void *b)
{
	const struct param *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static void params_free(struct param *ps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(ps[i].name);
		free(ps[i].value);
	}
	free(ps);
}

/* Decode then re-encode one name or value, so that encodings agree. */
static char *reencode(const char *s, size_t len)
{
	struct pb_buf dec = PB_BUF_INIT, enc = PB_BUF_INIT;
	char *res = NULL;

	if (uri_decode(&dec, s, len) < 0 ||
	    pb_sigv4_uri_encode(&enc, pb_buf_cstr(&dec), dec.len) < 0)
		goto out;
	res = pb_buf_detach(&enc);
out:
	pb_buf_release(&enc);
	pb_buf_release(&dec);
	return res;
}

static int add_param(struct param **ps, size_t *n, size_t *alloc,
		     const char *name, size_t nlen, const char *value,
		     size_t vlen)
{
	struct param *p;

	if (*n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 8;
		struct param *np = realloc(*ps, na * sizeof(*np));

		if (!np)
			return pb_err_set("out of memory");
		*ps = np;
		*alloc = na;
	}
	p = &(*ps)[*n];
	p->name = reencode(name, nlen);
	p->value = reencode(value, vlen);
	if (!p->name || !p->value) {
		free(p->name);
		free(p->value);
		return pb_err_set("out of memory");
	}
	(*n)++;
	return 0;
}

static int add_query(struct param **ps, size_t *n, size_t *alloc,
		     const char *query)
{
	const char *p = query ? query : "";
	int rc;

	while (*p) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);

		if (len) {
			if (eq)
				rc = add_param(ps, n, alloc, p,
					       (size_t)(eq - p), eq + 1,
					       len - (size_t)(eq - p) - 1);
			else
				rc = add_param(ps, n, alloc, p, len, "", 0);
			if (rc < 0)
				return rc;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}

static int write_query(struct pb_buf *out, struct param *ps, size_t n)
{
	size_t i;
	int rc = 0;

	if (n)
		qsort(ps, n, sizeof(*ps), param_cmp);
	for (i = 0; i < n && rc == 0; i++)
		rc = pb_buf_printf(out, "%s%s=%s", i ? "&" : "", ps[i].name,
				   ps[i].value);
	return rc;
}

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static char *lower(const char *s)
{
	size_t len = strlen(s), i;
	char *r = malloc(len + 1);

	if (!r)
		return NULL;
	for (i = 0; i <= len; i++)
		r[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	return r;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char *trim_value(const char *s)
{
	size_t len = strlen(s), i, o = 0;
	char *r = malloc(len + 1);

	if (!r)
		return NULL;
	for (i = 0; i < len; i++) {
		if (is_space(s[i])) {
			if (o && !is_space(s[i + 1]) && s[i + 1])
				r[o++] = ' ';
			continue;
		}
		r[o++] = s[i];
	}
	r[o] = '\0';
	return r;
}

static void hdrs_free(struct hdr *hs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(hs[i].name);
		free(hs[i].value);
	}
	free(hs);
}

/*
 * The canonical headers block (with its final empty line) into canon, the
 * signed header names into signed_hdrs.
 */
static int canonical_headers(struct pb_buf *canon, struct pb_buf *signed_hdrs,
			     const struct pb_sigv4_request *req, int token)
{
	size_t n = req->nheaders + (token ? 1 : 0), i;
	struct hdr *hs = calloc(n ? n : 1, sizeof(*hs));
	int rc = 0;

	if (!hs)
		return pb_err_set("out of memory");
	for (i = 0; i < n; i++) {
		const char *name = i < req->nheaders ? req->headers[i].name :
						       "x-amz-security-token";
		const char *value = i < req->nheaders ? req->headers[i].value :
							req->session_token;

		if (!name || !*name || !value) {
			rc = pb_err_setc(PB_EINVAL,
					 "sigv4: header %zu has no name or "
					 "value",
					 i);
			goto out;
		}
		hs[i].name = lower(name);
		hs[i].value = trim_value(value);
		hs[i].order = i;
		if (!hs[i].name || !hs[i].value) {
			rc = pb_err_set("out of memory");
			goto out;
		}
	}
	qsort(hs, n, sizeof(*hs), hdr_cmp);
	for (i = 0; i < n && rc == 0; i++) {
		if (i && strcmp(hs[i].name, hs[i - 1].name) == 0) {
			rc = pb_buf_printf(canon, ",%s", hs[i].value);
			continue;
		}
		if (i)
			rc = pb_buf_putc(canon, '\n');
		if (rc == 0)
			rc = pb_buf_printf(canon, "%s:%s", hs[i].name,
					   hs[i].value);
		if (rc == 0)
			rc = pb_buf_printf(signed_hdrs, "%s%s", i ? ";" : "",
					   hs[i].name);
	}
	if (rc == 0)
		rc = pb_buf_puts(canon, "\n\n");
out:
	hdrs_free(hs, n);
	return rc;
}

static int check_request(const struct pb_sigv4_request *req)
{
	const char *missing =
		!req->method	 ? "method" :
		!req->path	 ? "path" :
		!req->access_key ? "access_key" :
		!req->secret_key ? "secret_key" :
		!req->region	 ? "region" :
		!req->service	 ? "service" :
		!req->amz_date	 ? "amz_date" :
		(!req->payload_hash && !req->body && req->body_len) ? "body" :
								      NULL;
	size_t i;

	if (missing)
		return pb_err_setc(PB_EINVAL, "sigv4: '%s' is missing",
				   missing);
	if (strlen(req->amz_date) != 16 || req->amz_date[8] != 'T' ||
	    req->amz_date[15] != 'Z')
		return pb_err_setc(PB_EINVAL,
				   "sigv4: amz_date '%s' is not ISO8601 basic "
				   "(expected like 20150830T123600Z)",
				   req->amz_date);
	for (i = 0; i < 15; i++)
		if (i != 8 &&
		    (req->amz_date[i] < '0' || req->amz_date[i] > '9'))
			return pb_err_setc(PB_EINVAL,
					   "sigv4: amz_date '%s' is not "
					   "ISO8601 basic",
					   req->amz_date);
	return 0;
}

static int hmac(unsigned char out[32], const void *key, size_t keylen,
		const char *data)
{
	unsigned int outlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data,
		  strlen(data), out, &outlen) ||
	    outlen != 32)
		return pb_err_set("sigv4: HMAC-SHA256 failed in OpenSSL");
	return 0;
}

/* kDate, kRegion, kService, kSigning, then the signature of sts. */
static int signature(char out[65], const struct pb_sigv4_request *req,
		     const char *sts)
{
	struct pb_buf key = PB_BUF_INIT;
	char date[9];
	unsigned char k[32];
	int rc;

	memcpy(date, req->amz_date, 8);
	date[8] = '\0';
	if ((rc = pb_buf_printf(&key, "AWS4%s", req->secret_key)) < 0)
		goto out;
	if ((rc = hmac(k, key.ptr, key.len, date)) < 0 ||
	    (rc = hmac(k, k, 32, req->region)) < 0 ||
	    (rc = hmac(k, k, 32, req->service)) < 0 ||
	    (rc = hmac(k, k, 32, "aws4_request")) < 0 ||
	    (rc = hmac(k, k, 32, sts)) < 0)
		goto out;
	pb_hex(out, k, 32);
out:
	OPENSSL_cleanse(k, sizeof(k));
	if (key.ptr)
		OPENSSL_cleanse(key.ptr, key.len);
	pb_buf_release(&key);
	return rc;
}

void pb_sigv4_result_init(struct pb_sigv4_result *r)
{
	pb_buf_init(&r->canonical_request, 0);
	pb_buf_init(&r->string_to_sign, 0);
	pb_buf_init(&r->authorization, 0);
	pb_buf_init(&r->query, 0);
	r->signature[0] = '\0';
}

void pb_sigv4_result_release(struct pb_sigv4_result *r)
{
	pb_buf_release(&r->query);
	pb_buf_release(&r->authorization);
	pb_buf_release(&r->string_to_sign);
	pb_buf_release(&r->canonical_request);
}

/*
 * Both modes: canonical request, string to sign, signature. presign
 * adds the X-Amz-* query parameters instead of signing a token header.
 */
static int sign(struct pb_sigv4_result *out, const struct pb_sigv4_request *req,
		int presign, unsigned expires)
{
	struct pb_buf canon_hdrs = PB_BUF_INIT, signed_hdrs = PB_BUF_INIT;
	struct pb_buf scope = PB_BUF_INIT, cred = PB_BUF_INIT;
	struct param *ps = NULL;
	size_t np = 0, pa = 0;
	char payload[65], creq_hash[65], expstr[16];
	int rc;

	pb_sigv4_result_init(out);
	if ((rc = check_request(req)) < 0)
		goto out;
	if (!req->payload_hash)
		pb_sha256_hex(payload, req->body ? req->body : "",
			      req->body_len);
	if ((rc = canonical_headers(&canon_hdrs, &signed_hdrs, req,
				    !presign && req->session_token)) < 0)
		goto out;
	if ((rc = pb_buf_printf(&scope, "%.8s/%s/%s/aws4_request",
				req->amz_date, req->region, req->service)) <
		    0 ||
	    (rc = pb_buf_printf(&cred, "%s/%s", req->access_key, scope.ptr)) <
		    0)
		goto out;
	if ((rc = add_query(&ps, &np, &pa, req->query)) < 0)
		goto out;
	if (presign) {
		snprintf(expstr, sizeof(expstr), "%u", expires);
		if ((rc = add_param(&ps, &np, &pa, "X-Amz-Algorithm", 15,
				    ALGORITHM, strlen(ALGORITHM))) < 0 ||
		    (rc = add_param(&ps, &np, &pa, "X-Amz-Credential", 16,
				    cred.ptr, cred.len)) < 0 ||
		    (rc = add_param(&ps, &np, &pa, "X-Amz-Date", 10,
				    req->amz_date, 16)) < 0 ||
		    (rc = add_param(&ps, &np, &pa, "X-Amz-Expires", 13, expstr,
				    strlen(expstr))) < 0 ||
		    (rc = add_param(&ps, &np, &pa, "X-Amz-SignedHeaders", 19,
				    pb_buf_cstr(&signed_hdrs),
				    signed_hdrs.len)) < 0)
			goto out;
		if (req->session_token &&
		    (rc = add_param(&ps, &np, &pa, "X-Amz-Security-Token", 20,
				    req->session_token,
				    strlen(req->session_token))) < 0)
			goto out;
	}
	if ((rc = write_query(&out->query, ps, np)) < 0)
		goto out;

	if ((rc = pb_buf_printf(&out->canonical_request, "%s\n", req->method)) <
	    0)
		goto out;
	rc = (req->flags & PB_SIGV4_NORMALIZE_PATH) ?
		     normalize_path(&out->canonical_request, req->path) :
		     encode_path(&out->canonical_request, req->path);
	if (rc < 0 ||
	    (rc = pb_buf_printf(
		     &out->canonical_request, "\n%s\n%s%s\n%s",
		     pb_buf_cstr(&out->query), pb_buf_cstr(&canon_hdrs),
		     pb_buf_cstr(&signed_hdrs),
		     req->payload_hash ? req->payload_hash : payload)) < 0)
		goto out;

	pb_sha256_hex(creq_hash, out->canonical_request.ptr,
		      out->canonical_request.len);
	if ((rc = pb_buf_printf(&out->string_to_sign, "%s\n%s\n%s\n%s",
				ALGORITHM, req->amz_date, scope.ptr,
				creq_hash)) < 0)
		goto out;
	if ((rc = signature(out->signature, req, out->string_to_sign.ptr)) < 0)
		goto out;
	if (presign)
		rc = pb_buf_printf(&out->query, "%sX-Amz-Signature=%s",
				   np ? "&" : "", out->signature);
	else
		rc = pb_buf_printf(&out->authorization,
				   "%s Credential=%s, SignedHeaders=%s, "
				   "Signature=%s",
				   ALGORITHM, cred.ptr,
				   pb_buf_cstr(&signed_hdrs), out->signature);
out:
	params_free(ps, np);
	pb_buf_release(&cred);
	pb_buf_release(&scope);
	pb_buf_release(&signed_hdrs);
	pb_buf_release(&canon_hdrs);
	return rc;
}

int pb_sigv4_sign(struct pb_sigv4_result *out,
		  const struct pb_sigv4_request *req)
{
	return sign(out, req, 0, 0);
}

int pb_sigv4_presign(struct pb_sigv4_result *out,
		     const struct pb_sigv4_request *req, unsigned expires)
{
	if (expires == 0 || expires > 604800) {
		pb_sigv4_result_init(out);
		return pb_err_setc(PB_EINVAL,
				   "sigv4: expires %u is out of range "
				   "(1 to 604800 seconds)",
				   expires);
	}
	return sign(out, req, 1, expires);
}
