/* sign.c: Ed25519 keys, manifest signatures and the .sig file, with OpenSSL */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/hash.h"
#include "prbot/sign.h"
#include "prbot/fs.h"
#include "banned.h"

#define ED25519_PUB_LEN 32
#define ED25519_SIG_LEN 64
#define SIG_B64_LEN	88 /* 4 * ceil(64 / 3), "==" padded */
#define KEY_FILE_MAX	(64 * 1024)
#define SIGNED_FILE_MAX (16 * 1024 * 1024)
#define SIG_FILE_MAX	1024

struct pb_sign_key {
	EVP_PKEY *pkey;
	int is_private;
	char id[PB_SIGN_KEYID_LEN + 1];
};

/* An encrypted key must not make OpenSSL prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

/* OpenSSL's reason for the last failure (it never holds the key's bytes). */
static const char *ossl_reason(char *text, size_t size)
{
	unsigned long e = ERR_peek_last_error();

	if (!e)
		snprintf(text, size, "no detail");
	else
		ERR_error_string_n(e, text, size);
	ERR_clear_error();
	return text;
}

void pb_sign_key_free(struct pb_sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *pb_sign_key_id(const struct pb_sign_key *k)
{
	return k->id;
}

/* Take pkey (freed on failure) when it is Ed25519; name is for messages. */
static int key_wrap(struct pb_sign_key **out, EVP_PKEY *pkey, int is_private,
		    const char *name, const char *make_one)
{
	unsigned char raw[ED25519_PUB_LEN];
	size_t len = sizeof(raw);
	struct pb_sign_key *k = NULL;
	char hex[65], reason[256];
	int rc;

	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		rc = pb_err_setc(PB_EINVAL, "%s is an %s key, not Ed25519: %s",
				 name,
				 EVP_PKEY_get0_type_name(pkey) ?
					 EVP_PKEY_get0_type_name(pkey) :
					 "unknown",
				 make_one);
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 ||
	    len != sizeof(raw)) {
		rc = pb_err_setc(PB_EINVAL,
				 "%s: cannot read its public key (%s)", name,
				 ossl_reason(reason, sizeof(reason)));
		goto out;
	}
	if (!(k = calloc(1, sizeof(*k)))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	pb_sha256_hex(hex, raw, sizeof(raw));
	memcpy(k->id, hex, PB_SIGN_KEYID_LEN);
	k->id[PB_SIGN_KEYID_LEN] = '\0';
	k->pkey = pkey;
	k->is_private = is_private;
	*out = k;
	return 0;
out:
	EVP_PKEY_free(pkey);
	return rc;
}

#define MAKE_PRIVATE "make one with 'openssl genpkey -algorithm ed25519'"
#define MAKE_PUBLIC                                                     \
	"give the signing key's public half, as 'openssl pkey -in KEY " \
	"-pubout' writes it"

int pb_sign_key_private(struct pb_sign_key **out, const char *pem,
			const char *name)
{
	char reason[256];
	EVP_PKEY *pkey;
	BIO *bio;

	*out = NULL;
	/* told apart before parsing, so the message can say what to do */
	if (strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
	    strstr(pem, "Proc-Type: 4,ENCRYPTED"))
		return pb_err_setc(PB_EINVAL,
				   "%s is encrypted and prbot cannot ask for "
				   "its passphrase: store it unencrypted with "
				   "'openssl pkey -in KEY -out PLAIN' and keep "
				   "that file private",
				   name);
	if (strstr(pem, "-----BEGIN PUBLIC KEY-----") &&
	    !strstr(pem, "PRIVATE KEY-----"))
		return pb_err_setc(PB_EINVAL,
				   "%s is a public key: give the private key "
				   "(%s)",
				   name, MAKE_PRIVATE);
	if (!(bio = BIO_new_mem_buf(pem, -1)))
		return pb_err_set("out of memory");
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey)
		return pb_err_setc(PB_EINVAL,
				   "%s is not a PEM private key (%s): %s", name,
				   ossl_reason(reason, sizeof(reason)),
				   MAKE_PRIVATE);
	/* decoders that were tried and did not fit leave their errors */
	ERR_clear_error();
	return key_wrap(out, pkey, 1, name, MAKE_PRIVATE);
}

int pb_sign_key_public(struct pb_sign_key **out, const char *path)
{
	struct pb_buf text = PB_BUF_INIT;
	char reason[256];
	EVP_PKEY *pkey;
	BIO *bio;
	int rc;

	*out = NULL;
	if ((rc = pb_buf_read_file(&text, path, KEY_FILE_MAX)) < 0) {
		rc = pb_err_prefix(rc == PB_ETOOBIG ? PB_EINVAL : rc,
				   "cannot read public key '%s'", path);
		goto out;
	}
	if (strstr(pb_buf_cstr(&text), "PRIVATE KEY-----")) {
		/* not parsed: a private key has no business here */
		rc = pb_err_setc(PB_EINVAL,
				 "'%s' is a private key: %s, and keep the "
				 "private key off serving hosts",
				 path, MAKE_PUBLIC);
		goto out;
	}
	if (!(bio = BIO_new_mem_buf(pb_buf_cstr(&text), (int)text.len))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey) {
		rc = pb_err_setc(PB_EINVAL,
				 "'%s' is not a PEM public key (%s): %s", path,
				 ossl_reason(reason, sizeof(reason)),
				 MAKE_PUBLIC);
		goto out;
	}
	ERR_clear_error();
	pb_buf_reset(&text);
	if (pb_buf_printf(&text, "'%s'", path) < 0) {
		EVP_PKEY_free(pkey);
		rc = PB_ERROR;
		goto out;
	}
	rc = key_wrap(out, pkey, 0, pb_buf_cstr(&text), MAKE_PUBLIC);
out:
	pb_buf_release(&text);
	return rc;
}

int pb_sign_line(struct pb_buf *out, const struct pb_sign_key *k,
		 const void *data, size_t len)
{
	unsigned char sig[ED25519_SIG_LEN];
	char b64[SIG_B64_LEN + 1], reason[256];
	size_t n = sizeof(sig);
	EVP_MD_CTX *md;
	int rc = 0;

	if (!k->is_private)
		return pb_err_setc(PB_EINVAL,
				   "key %s is a public key: signing needs the "
				   "private key",
				   k->id);
	if (!(md = EVP_MD_CTX_new()))
		return pb_err_set("out of memory");
	/* Ed25519 hashes the message itself: no digest is given */
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, sig, &n, data, len) != 1 || n != sizeof(sig)) {
		rc = pb_err_set("cannot sign with key %s (%s)", k->id,
				ossl_reason(reason, sizeof(reason)));
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)sizeof(sig));
	rc = pb_buf_printf(out, "ed25519 %s %s\n", k->id, b64);
out:
	EVP_MD_CTX_free(md);
	return rc;
}

static int is_b64(int c)
{
	return isalnum(c) || c == '+' || c == '/';
}

static int is_lower_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    !(s[i] >= 'a' && s[i] <= 'f'))
			return 0;
	return 1;
}

#define SIG_FORMAT "expected one line 'ed25519 KEYID SIGNATURE'"

/*
 * Split "ed25519 KEYID SIGNATURE[\n]" and decode SIGNATURE into sig; the
 * key id is copied to id. PB_EINVAL naming file for anything else.
 */
static int parse_line(unsigned char sig[ED25519_SIG_LEN],
		      char id[PB_SIGN_KEYID_LEN + 1], const char *text,
		      size_t len, const char *file)
{
	unsigned char raw[SIG_B64_LEN];
	const char *p;
	size_t i, n;

	if (len && text[len - 1] == '\n')
		len--;
	if (len && text[len - 1] == '\r')
		len--;
	if (!len)
		return pb_err_setc(PB_EINVAL, "'%s' is empty: %s", file,
				   SIG_FORMAT);
	if (memchr(text, '\n', len) || memchr(text, '\0', len))
		return pb_err_setc(PB_EINVAL,
				   "'%s' holds more than one line: %s", file,
				   SIG_FORMAT);
	if (len < 8 || memcmp(text, "ed25519 ", 8) != 0)
		return pb_err_setc(PB_EINVAL,
				   "'%s' is not an ed25519 signature: %s", file,
				   SIG_FORMAT);
	p = text + 8;
	len -= 8;
	n = 0;
	while (n < len && p[n] != ' ')
		n++;
	if (n != PB_SIGN_KEYID_LEN || !is_lower_hex(p, n) || n == len)
		return pb_err_setc(PB_EINVAL,
				   "'%s': KEYID must be %d lowercase hex "
				   "digits followed by a space: %s",
				   file, PB_SIGN_KEYID_LEN, SIG_FORMAT);
	memcpy(id, p, n);
	id[n] = '\0';
	p += n + 1;
	len -= n + 1;
	for (i = 0; i < len; i++)
		if (!is_b64((unsigned char)p[i]) &&
		    !(p[i] == '=' && i >= len - 2))
			return pb_err_setc(PB_EINVAL,
					   "'%s': the signature is not base64 "
					   "(character %zu): write the file "
					   "again with prbot",
					   file, i + 1);
	if (len != SIG_B64_LEN || p[len - 2] != '=' || p[len - 1] != '=' ||
	    p[len - 3] == '=')
		return pb_err_setc(PB_EINVAL,
				   "'%s': the signature is %zu base64 "
				   "characters, expected %d (a 64-byte "
				   "Ed25519 signature): is the file truncated?",
				   file, len, SIG_B64_LEN);
	if (EVP_DecodeBlock(raw, (const unsigned char *)p, (int)len) !=
	    ED25519_SIG_LEN + 2)
		return pb_err_setc(PB_EINVAL,
				   "'%s': the signature is not base64", file);
	memcpy(sig, raw, ED25519_SIG_LEN);
	return 0;
}

int pb_sign_check_line(const struct pb_sign_key *k, const void *data,
		       size_t len, const char *text, size_t text_len,
		       const struct pb_sign_names *names)
{
	unsigned char sig[ED25519_SIG_LEN];
	char id[PB_SIGN_KEYID_LEN + 1], reason[256];
	const char *key = names->key ? names->key : "the public key";
	EVP_MD_CTX *md;
	int rc, ok;

	if ((rc = parse_line(sig, id, text, text_len, names->sig)) < 0)
		return rc;
	if (strcmp(id, k->id) != 0)
		return pb_err_set("signature does not match: '%s' was made "
				  "with key %s, but %s is key %s: give the "
				  "public key of the key that signed '%s'",
				  names->sig, id, key, k->id, names->data);
	if (!(md = EVP_MD_CTX_new()))
		return pb_err_set("out of memory");
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, k->pkey) != 1) {
		rc = pb_err_set("cannot verify with key %s (%s)", k->id,
				ossl_reason(reason, sizeof(reason)));
		goto out;
	}
	ok = EVP_DigestVerify(md, sig, sizeof(sig), data, len);
	ERR_clear_error();
	if (ok != 1)
		rc = pb_err_set("signature does not match: '%s' is not key "
				"%s's signature of '%s' as it is now: the "
				"manifest was changed after signing, or not "
				"signed by prbot",
				names->sig, k->id, names->data);
out:
	EVP_MD_CTX_free(md);
	return rc;
}

static int read_named(struct pb_buf *out, const char *path, size_t max)
{
	int rc = pb_buf_read_file(out, path, max);

	if (rc == PB_ETOOBIG)
		return pb_err_setc(PB_EINVAL, "'%s' is larger than %zu bytes",
				   path, max);
	if (rc < 0)
		return pb_err_prefix(rc, "cannot read '%s'", path);
	return 0;
}

int pb_sign_file(const struct pb_sign_key *k, const char *path)
{
	struct pb_buf data = PB_BUF_INIT, line = PB_BUF_INIT,
		      sig_path = PB_BUF_INIT;
	int rc;

	if ((rc = read_named(&data, path, SIGNED_FILE_MAX)) < 0 ||
	    (rc = pb_sign_line(&line, k, pb_buf_cstr(&data), data.len)) < 0 ||
	    (rc = pb_buf_printf(&sig_path, "%s%s", path, PB_SIGN_SUFFIX)) < 0)
		goto out;
	rc = pb_write_atomic(sig_path.ptr, line.ptr, line.len);
out:
	pb_buf_release(&sig_path);
	pb_buf_release(&line);
	pb_buf_release(&data);
	return rc;
}

int pb_sign_verify_file(const struct pb_sign_key *k, const char *path,
			const char *key_file)
{
	struct pb_buf data = PB_BUF_INIT, sig = PB_BUF_INIT,
		      sig_path = PB_BUF_INIT;
	struct pb_sign_names names;
	int rc;

	if ((rc = pb_buf_printf(&sig_path, "%s%s", path, PB_SIGN_SUFFIX)) < 0 ||
	    (rc = read_named(&data, path, SIGNED_FILE_MAX)) < 0)
		goto out;
	rc = pb_buf_read_file(&sig, sig_path.ptr, SIG_FILE_MAX);
	if (rc == PB_ENOTFOUND) {
		rc = pb_err_setc(PB_ENOTFOUND,
				 "signature does not match: '%s' does not "
				 "exist, so '%s' is not signed: was [deploy] "
				 "signing_key set when prbot wrote it?",
				 sig_path.ptr, path);
		goto out;
	}
	if (rc == PB_ETOOBIG) {
		rc = pb_err_setc(PB_EINVAL, "'%s' is larger than %d bytes: %s",
				 sig_path.ptr, SIG_FILE_MAX, SIG_FORMAT);
		goto out;
	}
	if (rc < 0) {
		rc = pb_err_prefix(rc, "cannot read '%s'", sig_path.ptr);
		goto out;
	}
	names.data = path;
	names.sig = sig_path.ptr;
	names.key = key_file;
	rc = pb_sign_check_line(k, pb_buf_cstr(&data), data.len,
				pb_buf_cstr(&sig), sig.len, &names);
out:
	pb_buf_release(&sig_path);
	pb_buf_release(&sig);
	pb_buf_release(&data);
	return rc;
}
