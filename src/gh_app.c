/* gh_app.c: the GitHub App JWT, RS256 signed with OpenSSL */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/gh.h"
#include "banned.h"

#define JWT_BACKDATE 60	 /* GitHub's advice against clock drift */
#define JWT_LIFETIME 540 /* GitHub allows 10 minutes at most */

/* Append base64url without padding (RFC 7515 section 2). */
static int b64url_add(struct pb_buf *b, const unsigned char *data, size_t len)
{
	size_t n = 4 * ((len + 2) / 3), i;
	char *t = malloc(n + 1);
	int rc;

	if (!t)
		return pb_err_set("out of memory");
	EVP_EncodeBlock((unsigned char *)t, data, (int)len);
	while (n && t[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		if (t[i] == '+')
			t[i] = '-';
		else if (t[i] == '/')
			t[i] = '_';
	}
	rc = pb_buf_add(b, t, n);
	free(t);
	return rc;
}

static int b64url_json(struct pb_buf *b, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	int rc;

	if (!s)
		return pb_err_set("out of memory");
	rc = b64url_add(b, (const unsigned char *)s, strlen(s));
	free(s);
	return rc;
}

/* An encrypted key must not make OpenSSL prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

static int key_error(const char *what)
{
	char text[256];
	unsigned long e = ERR_peek_last_error();

	ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	/* OpenSSL's text names the failing step, never the key's bytes */
	return pb_err_setc(PB_EINVAL,
			   "[github] private_key %s (%s): give the App's "
			   "private key as downloaded, a PEM file",
			   what, e ? text : "no detail");
}

static int load_key(EVP_PKEY **out, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k;

	*out = NULL;
	if (!bio)
		return pb_err_set("out of memory");
	k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!k)
		return key_error("is not a PEM private key");
	if (!EVP_PKEY_is_a(k, "RSA")) {
		EVP_PKEY_free(k);
		return pb_err_setc(PB_EINVAL,
				   "[github] private_key is not an RSA key: "
				   "GitHub Apps sign with RS256");
	}
	*out = k;
	return 0;
}

static int sign_rs256(struct pb_buf *jwt, EVP_PKEY *key)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t n = 0;
	int rc = 0;

	if (!md)
		return pb_err_set("out of memory");
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &n, (const unsigned char *)jwt->ptr,
			   jwt->len) != 1) {
		rc = key_error("cannot sign");
		goto out;
	}
	if (!(sig = malloc(n))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	if (EVP_DigestSign(md, sig, &n, (const unsigned char *)jwt->ptr,
			   jwt->len) != 1) {
		rc = key_error("cannot sign");
		goto out;
	}
	if ((rc = pb_buf_putc(jwt, '.')) < 0)
		goto out;
	rc = b64url_add(jwt, sig, n);
out:
	free(sig);
	EVP_MD_CTX_free(md);
	return rc;
}

static json_t *claims_new(const char *app_id, time_t now)
{
	const char *p = app_id;
	json_t *iss;

	while (isdigit((unsigned char)*p))
		p++;
	/* Octokit sends a numeric app id as a number */
	iss = *p || !*app_id ? json_string(app_id) :
			       json_integer(strtoll(app_id, NULL, 10));
	return json_pack("{s:I,s:I,s:o}", "iat",
			 (json_int_t)(now - JWT_BACKDATE), "exp",
			 (json_int_t)(now + JWT_LIFETIME), "iss", iss);
}

int pb_gh_app_jwt(char **out, const char *app_id, const char *private_key,
		  time_t now)
{
	struct pb_buf jwt = PB_BUF_INIT;
	json_t *header = NULL, *claims = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	*out = NULL;
	if (!app_id || !*app_id)
		return pb_err_setc(PB_EINVAL, "[github] app_id is empty: give "
					      "the App's id from its settings");
	if (!private_key || !*private_key)
		return pb_err_setc(PB_EINVAL,
				   "[github] private_key is empty: give the "
				   "App's private key (env:NAME or file:PATH)");
	if ((rc = load_key(&key, private_key)) < 0)
		goto out;
	header = json_pack("{s:s,s:s}", "alg", "RS256", "typ", "JWT");
	claims = claims_new(app_id, now);
	if (!header || !claims) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	if ((rc = b64url_json(&jwt, header)) < 0 ||
	    (rc = pb_buf_putc(&jwt, '.')) < 0 ||
	    (rc = b64url_json(&jwt, claims)) < 0 ||
	    (rc = sign_rs256(&jwt, key)) < 0)
		goto out;
	*out = pb_buf_detach(&jwt);
out:
	json_decref(claims);
	json_decref(header);
	EVP_PKEY_free(key);
	pb_buf_release(&jwt);
	return rc;
}
