/* sign.h: Ed25519 signatures of model_manifest.json (the .sig file) */
#ifndef PRBOT_SIGN_H
#define PRBOT_SIGN_H

#include <stddef.h>

#include "prbot/buf.h"

/*
 * The signature file MANIFEST.sig is one line of text:
 *
 *   ed25519 KEYID SIGNATURE\n
 *
 * KEYID is the first 16 hex digits (lowercase) of the SHA-256 of the raw
 * 32-byte Ed25519 public key, so a host holding several keys can tell which
 * one signed. SIGNATURE is the standard base64 (with its "==" padding, 88
 * characters) of the 64-byte Ed25519 signature over the exact bytes of
 * MANIFEST as written, newline included; nothing else is signed. Fields are
 * separated by one space; the final newline is optional when read.
 */
#define PB_SIGN_SUFFIX	  ".sig"
#define PB_SIGN_KEYID_LEN 16

/* An Ed25519 key: private (can sign and verify) or public (verify only). */
struct pb_sign_key;

/*
 * Parse an unencrypted PEM private key (PKCS#8, as `openssl genpkey
 * -algorithm ed25519` writes it) from pem. name says where it came from in
 * messages (such as "[deploy] signing_key (file:keys/sign.pem)"); pem itself
 * is never repeated. PB_EINVAL for another key type (RSA, EC), an encrypted
 * key, a public key, or text that is not a PEM key. Caller owns *out:
 * pb_sign_key_free().
 */
int pb_sign_key_private(struct pb_sign_key **out, const char *pem,
			const char *name);

/*
 * Read a PEM public key (SubjectPublicKeyInfo, as `openssl pkey -pubout`
 * writes it) from the file path. PB_ENOTFOUND when path cannot be read,
 * PB_EINVAL naming path for anything that is not an Ed25519 public key (a
 * private key is refused too: it does not belong on a serving host). Caller
 * owns *out: pb_sign_key_free().
 */
int pb_sign_key_public(struct pb_sign_key **out, const char *path);

void pb_sign_key_free(struct pb_sign_key *k);

/* KEYID of k: 16 lowercase hex digits, borrowed for k's lifetime. */
const char *pb_sign_key_id(const struct pb_sign_key *k);

/* Append the .sig line (newline included) for data to out; k private. */
int pb_sign_line(struct pb_buf *out, const struct pb_sign_key *k,
		 const void *data, size_t len);

/* Where the bytes being checked came from, for messages. */
struct pb_sign_names {
	const char *data; /* such as "model_manifest.json" */
	const char *sig;  /* such as "model_manifest.json.sig" */
	const char *key;  /* the public key's file, or NULL */
};

/*
 * Check the .sig line text (text_len bytes) against data with k. 0 when it
 * matches; PB_EINVAL when the line is not "ed25519 KEYID SIGNATURE" (a
 * truncated or non-base64 signature); PB_ERROR when KEYID is not k's or the
 * signature does not match ("signature does not match: ..." naming the
 * files).
 */
int pb_sign_check_line(const struct pb_sign_key *k, const void *data,
		       size_t len, const char *text, size_t text_len,
		       const struct pb_sign_names *names);

/*
 * Sign the file path as it is now and write path.sig next to it atomically
 * (temp name, fsync, rename). k private.
 */
int pb_sign_file(const struct pb_sign_key *k, const char *path);

/*
 * Check path against path.sig with k (key_file: where k was read, for
 * messages; may be NULL). PB_ENOTFOUND when path or path.sig does not exist
 * (the message says the manifest is unsigned), otherwise as
 * pb_sign_check_line(); every message names the files.
 */
int pb_sign_verify_file(const struct pb_sign_key *k, const char *path,
			const char *key_file);

#endif
