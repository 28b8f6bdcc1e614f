/* test_sign.c: Ed25519 keys, .sig lines and signed files */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/hash.h"
#include "prbot/sign.h"
#include "testutil.h"

/* Keys made once for the whole program; none is committed. */
static struct {
	char dir[PB_TEST_DIR_MAX];
	char *priv1, *pub1, *priv2, *pub2;
	char *rsa, *rsa_pub, *ec, *ec_pub, *encrypted, *encrypted_pub;
} keys;

static const char manifest[] = "{\n  \"model_md5_hash\": \"0123\"\n}\n";

/* The messages name files as given: the tests run in the temp folder. */
static int setup_all(void **state)
{
	(void)state;
	if (pb_test_tmpdir(keys.dir, sizeof(keys.dir), "sign") < 0 ||
	    chdir(keys.dir) < 0)
		return -1;
	pb_test_keypair(&keys.priv1, &keys.pub1, "ED25519", NULL);
	pb_test_keypair(&keys.priv2, &keys.pub2, "ED25519", NULL);
	pb_test_keypair(&keys.rsa, &keys.rsa_pub, "RSA", NULL);
	pb_test_keypair(&keys.ec, &keys.ec_pub, "EC", NULL);
	pb_test_keypair(&keys.encrypted, &keys.encrypted_pub, "ED25519",
			"test passphrase");
	pb_test_write_text("k1.pub", keys.pub1);
	pb_test_write_text("k2.pub", keys.pub2);
	pb_test_write_text("k1.pem", keys.priv1);
	pb_test_write_text("rsa.pub", keys.rsa_pub);
	pb_test_write_text("ec.pub", keys.ec_pub);
	pb_test_write_text("garbage.pub", "not a key\n");
	pb_test_write_text("empty.pub", "");
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	free(keys.priv1);
	free(keys.pub1);
	free(keys.priv2);
	free(keys.pub2);
	free(keys.rsa);
	free(keys.rsa_pub);
	free(keys.ec);
	free(keys.ec_pub);
	free(keys.encrypted);
	free(keys.encrypted_pub);
	if (chdir("/") < 0)
		return -1;
	return pb_test_rmtree(keys.dir);
}

static struct pb_sign_key *private_key(const char *pem)
{
	struct pb_sign_key *k = NULL;

	if (pb_sign_key_private(&k, pem, "test key") < 0)
		fail_msg("%s", pb_err_last());
	return k;
}

static struct pb_sign_key *public_key(const char *path)
{
	struct pb_sign_key *k = NULL;

	if (pb_sign_key_public(&k, path) < 0)
		fail_msg("%s", pb_err_last());
	return k;
}

/* The .sig line of data with pem's key (caller frees). */
static char *sign_text(const char *pem, const void *data, size_t len)
{
	struct pb_buf line = PB_BUF_INIT;
	struct pb_sign_key *k = private_key(pem);

	assert_int_equal(pb_sign_line(&line, k, data, len), 0);
	pb_sign_key_free(k);
	return pb_buf_detach(&line);
}

static const struct pb_sign_names names = { "m.json", "m.json.sig", "k.pub" };

static int check(const struct pb_sign_key *k, const char *data,
		 const char *line)
{
	return pb_sign_check_line(k, data, strlen(data), line, strlen(line),
				  &names);
}

static void test_sign_round_trip_with_private_and_public_key(void **state)
{
	struct pb_sign_key *priv = private_key(keys.priv1);
	struct pb_sign_key *pub = public_key("k1.pub");
	char *line = sign_text(keys.priv1, manifest, strlen(manifest));

	(void)state;
	/* "ed25519 " KEYID " " 88 base64 "\n" */
	assert_int_equal(strlen(line), 8 + 16 + 1 + 88 + 1);
	assert_memory_equal(line, "ed25519 ", 8);
	assert_memory_equal(line + 8, pb_sign_key_id(pub), 16);
	assert_string_equal(pb_sign_key_id(priv), pb_sign_key_id(pub));
	assert_int_equal(check(pub, manifest, line), 0);
	assert_int_equal(check(priv, manifest, line), 0);
	free(line);
	pb_sign_key_free(pub);
	pb_sign_key_free(priv);
}

static int unhex(unsigned char *out, const char *hex, size_t n)
{
	size_t i;
	unsigned int v;

	for (i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* RFC 8032 section 7.1, TEST 1: the empty message. */
static void test_sign_matches_rfc8032_test_1(void **state)
{
	static const char sk_hex[] = "9d61b19deffd5a60ba844af492ec2cc4"
				     "4449c5697b326919703bac031cae7f60";
	static const char pk_hex[] = "d75a980182b10ab7d54bfed3c964073a"
				     "0ee172f3daa62325af021a68f707511a";
	static const char sig_hex[] = "e5564300c360ac729086e2cc806e828a"
				      "84877f1eb8e5d974d873e06522490155"
				      "5fb8821590a33bacc61e39701cf9b46b"
				      "d25bf5f0595bbe24655141438e7a100b";
	unsigned char sk[32], pk[32], sig[64];
	char b64[89], want[120], id[65], *pem, *line;
	struct pb_sign_key *k;
	EVP_PKEY *pkey;
	BIO *bio;
	long n;

	(void)state;
	assert_int_equal(unhex(sk, sk_hex, 32), 0);
	assert_int_equal(unhex(pk, pk_hex, 32), 0);
	assert_int_equal(unhex(sig, sig_hex, 64), 0);
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
	assert_non_null(pkey);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0,
						  NULL, NULL),
			 1);
	n = BIO_get_mem_data(bio, &pem);
	pem = strndup(pem, (size_t)n);
	assert_non_null(pem);

	k = private_key(pem);
	pb_sha256_hex(id, pk, 32);
	assert_memory_equal(pb_sign_key_id(k), id, 16);
	line = sign_text(pem, "", 0);
	EVP_EncodeBlock((unsigned char *)b64, sig, 64);
	snprintf(want, sizeof(want), "ed25519 %.16s %s\n", id, b64);
	assert_string_equal(line, want);
	assert_int_equal(check(k, "", line), 0);

	free(line);
	pb_sign_key_free(k);
	free(pem);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
}

static void test_sign_another_key_does_not_match(void **state)
{
	struct pb_sign_key *pub1 = public_key("k1.pub");
	struct pb_sign_key *pub2 = public_key("k2.pub");
	char *line = sign_text(keys.priv2, manifest, strlen(manifest));
	char want[512];

	(void)state;
	assert_string_not_equal(pb_sign_key_id(pub1), pb_sign_key_id(pub2));
	snprintf(want, sizeof(want),
		 "signature does not match: 'm.json.sig' was made with key "
		 "%s, but k.pub is key %s: give the public key of the key "
		 "that signed 'm.json'",
		 pb_sign_key_id(pub2), pb_sign_key_id(pub1));
	pb_test_assert_error(check(pub1, manifest, line), PB_ERROR, want);

	/* key 2's signature under key 1's id: the signature itself fails */
	memcpy(line + 8, pb_sign_key_id(pub1), 16);
	snprintf(want, sizeof(want),
		 "signature does not match: 'm.json.sig' is not key %s's "
		 "signature of 'm.json' as it is now: the manifest was "
		 "changed after signing, or not signed by prbot",
		 pb_sign_key_id(pub1));
	pb_test_assert_error(check(pub1, manifest, line), PB_ERROR, want);
	free(line);
	pb_sign_key_free(pub2);
	pb_sign_key_free(pub1);
}

static void test_sign_changed_byte_does_not_match(void **state)
{
	struct pb_sign_key *pub = public_key("k1.pub");
	char *line = sign_text(keys.priv1, manifest, strlen(manifest));
	char changed[sizeof(manifest)];
	size_t i;

	(void)state;
	/* every byte, the final newline included, is covered */
	for (i = 0; i < strlen(manifest); i++) {
		memcpy(changed, manifest, sizeof(manifest));
		changed[i] ^= 0x01;
		assert_int_equal(check(pub, changed, line), PB_ERROR);
		assert_non_null(strstr(pb_err_last(), "signature does not "
						      "match"));
	}
	/* and nothing may be added or cut */
	assert_int_equal(pb_sign_check_line(pub, manifest, sizeof(manifest),
					    line, strlen(line), &names),
			 PB_ERROR);
	assert_int_equal(pb_sign_check_line(pub, manifest, strlen(manifest) - 1,
					    line, strlen(line), &names),
			 PB_ERROR);
	free(line);
	pb_sign_key_free(pub);
}

struct bad_key_row {
	const char *what;
	char **pem;	    /* a generated key */
	const char *text;   /* or this text */
	const char *prefix; /* the message starts so */
};

static void test_sign_refuses_bad_private_keys(void **state)
{
	static const struct bad_key_row rows[] = {
		{ "RSA", &keys.rsa, NULL,
		  "K is an RSA key, not Ed25519: make one with 'openssl "
		  "genpkey -algorithm ed25519'" },
		{ "EC", &keys.ec, NULL,
		  "K is an EC key, not Ed25519: make one with 'openssl "
		  "genpkey -algorithm ed25519'" },
		{ "encrypted", &keys.encrypted, NULL,
		  "K is encrypted and prbot cannot ask for its passphrase: "
		  "store it unencrypted with 'openssl pkey -in KEY -out "
		  "PLAIN' and keep that file private" },
		{ "public", &keys.pub1, NULL,
		  "K is a public key: give the private key (make one with "
		  "'openssl genpkey -algorithm ed25519')" },
		{ "garbage", NULL, "garbage, not a key",
		  "K is not a PEM private key (" },
		{ "empty", NULL, "", "K is not a PEM private key (" },
		{ "truncated", NULL,
		  "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n",
		  "K is not a PEM private key (" },
	};
	struct pb_sign_key *k;
	const char *pem;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		k = (struct pb_sign_key *)1;
		pem = rows[i].pem ? *rows[i].pem : rows[i].text;
		if (pb_sign_key_private(&k, pem, "K") != PB_EINVAL)
			fail_msg("%s: accepted", rows[i].what);
		assert_null(k);
		if (strncmp(pb_err_last(), rows[i].prefix,
			    strlen(rows[i].prefix)) != 0)
			fail_msg("%s: got '%s'", rows[i].what, pb_err_last());
		/* the key's bytes are never repeated */
		assert_null(strstr(pb_err_last(), "MC4CAQAw"));
	}
}

static void test_sign_refuses_bad_public_keys(void **state)
{
	static const struct {
		const char *file;
		int rc;
		const char *prefix;
	} rows[] = {
		{ "rsa.pub", PB_EINVAL,
		  "'rsa.pub' is an RSA key, not Ed25519: give the signing "
		  "key's public half, as 'openssl pkey -in KEY -pubout' "
		  "writes it" },
		{ "ec.pub", PB_EINVAL, "'ec.pub' is an EC key, not Ed25519" },
		{ "k1.pem", PB_EINVAL,
		  "'k1.pem' is a private key: give the signing key's public "
		  "half, as 'openssl pkey -in KEY -pubout' writes it, and "
		  "keep the private key off serving hosts" },
		{ "garbage.pub", PB_EINVAL,
		  "'garbage.pub' is not a PEM public key (" },
		{ "empty.pub", PB_EINVAL,
		  "'empty.pub' is not a PEM public key (" },
		{ "missing.pub", PB_ENOTFOUND,
		  "cannot read public key 'missing.pub': No such file or "
		  "directory" },
	};
	struct pb_sign_key *k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		k = (struct pb_sign_key *)1;
		if (pb_sign_key_public(&k, rows[i].file) != rows[i].rc)
			fail_msg("%s: got '%s'", rows[i].file, pb_err_last());
		assert_null(k);
		if (strncmp(pb_err_last(), rows[i].prefix,
			    strlen(rows[i].prefix)) != 0)
			fail_msg("%s: got '%s'", rows[i].file, pb_err_last());
	}
}

static void test_sign_public_key_cannot_sign(void **state)
{
	struct pb_sign_key *pub = public_key("k1.pub");
	struct pb_buf line = PB_BUF_INIT;
	char want[128];

	(void)state;
	snprintf(want, sizeof(want),
		 "key %s is a public key: signing needs the private key",
		 pb_sign_key_id(pub));
	pb_test_assert_error(pb_sign_line(&line, pub, "x", 1), PB_EINVAL, want);
	assert_int_equal(line.len, 0);
	pb_sign_key_free(pub);
}

/* The good line with one change, each a malformed .sig. */
struct sig_row {
	const char *what;
	size_t at;	    /* replace from this offset of the good line */
	size_t cut;	    /* this many bytes */
	const char *insert; /* by this */
	const char *msg;    /* the message after "'m.json.sig'" */
};

static void test_sign_refuses_malformed_sig_lines(void **state)
{
	static const struct sig_row rows[] = {
		{ "empty", 0, 114, "",
		  " is empty: expected one line 'ed25519 KEYID SIGNATURE'" },
		{ "newline only", 0, 114, "\n",
		  " is empty: expected one line 'ed25519 KEYID SIGNATURE'" },
		{ "other algorithm", 0, 7, "rsa-256",
		  " is not an ed25519 signature: expected one line 'ed25519 "
		  "KEYID SIGNATURE'" },
		{ "short key id", 8, 2, "",
		  ": KEYID must be 16 lowercase hex digits followed by a "
		  "space: expected one line 'ed25519 KEYID SIGNATURE'" },
		{ "uppercase key id", 8, 1, "A",
		  ": KEYID must be 16 lowercase hex digits followed by a "
		  "space: expected one line 'ed25519 KEYID SIGNATURE'" },
		{ "no signature", 24, 90, "",
		  ": KEYID must be 16 lowercase hex digits followed by a "
		  "space: expected one line 'ed25519 KEYID SIGNATURE'" },
		{ "truncated signature", 60, 54, "\n",
		  ": the signature is 35 base64 characters, expected 88 (a "
		  "64-byte Ed25519 signature): is the file truncated?" },
		{ "one character short", 110, 1, "",
		  ": the signature is 87 base64 characters, expected 88 (a "
		  "64-byte Ed25519 signature): is the file truncated?" },
		{ "without padding", 111, 2, "",
		  ": the signature is 86 base64 characters, expected 88 (a "
		  "64-byte Ed25519 signature): is the file truncated?" },
		{ "too long", 111, 0, "AAAA",
		  ": the signature is 92 base64 characters, expected 88 (a "
		  "64-byte Ed25519 signature): is the file truncated?" },
		{ "not base64", 30, 1, "*",
		  ": the signature is not base64 (character 6): write the "
		  "file again with prbot" },
		{ "base64url", 30, 1, "-",
		  ": the signature is not base64 (character 6): write the "
		  "file again with prbot" },
		{ "padding inside", 30, 1, "=",
		  ": the signature is not base64 (character 6): write the "
		  "file again with prbot" },
		{ "second line", 114, 0, "ed25519 0\n",
		  " holds more than one line: expected one line 'ed25519 "
		  "KEYID SIGNATURE'" },
		{ "two spaces", 24, 0, " ",
		  ": the signature is not base64 (character 1): write the "
		  "file again with prbot" },
	};
	struct pb_sign_key *pub = public_key("k1.pub");
	char *good = sign_text(keys.priv1, manifest, strlen(manifest));
	struct pb_buf line = PB_BUF_INIT, want = PB_BUF_INIT;
	size_t i;

	(void)state;
	assert_int_equal(strlen(good), 114);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		pb_buf_reset(&line);
		pb_buf_reset(&want);
		assert_int_equal(pb_buf_add(&line, good, rows[i].at), 0);
		assert_int_equal(pb_buf_puts(&line, rows[i].insert), 0);
		assert_int_equal(
			pb_buf_puts(&line, good + rows[i].at + rows[i].cut), 0);
		assert_int_equal(
			pb_buf_printf(&want, "'m.json.sig'%s", rows[i].msg), 0);
		if (check(pub, manifest, pb_buf_cstr(&line)) != PB_EINVAL ||
		    strcmp(pb_err_last(), want.ptr) != 0)
			fail_msg("%s: got '%s'", rows[i].what, pb_err_last());
	}
	/* a CRLF line end is still the same line */
	pb_buf_reset(&line);
	assert_int_equal(pb_buf_add(&line, good, 113), 0);
	assert_int_equal(pb_buf_puts(&line, "\r\n"), 0);
	assert_int_equal(check(pub, manifest, line.ptr), 0);
	/* so is a line without its newline */
	good[113] = '\0';
	assert_int_equal(check(pub, manifest, good), 0);
	pb_buf_release(&want);
	pb_buf_release(&line);
	free(good);
	pb_sign_key_free(pub);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_sign_file_written_and_verified(void **state)
{
	struct pb_sign_key *priv = private_key(keys.priv1);
	struct pb_sign_key *pub = public_key("k1.pub");
	struct pb_sign_key *other = public_key("k2.pub");
	char *sig, want[512];

	(void)state;
	assert_int_equal(mkdir("files", 0700), 0);
	pb_test_write_text("files/m.json", manifest);
	assert_int_equal(pb_sign_file(priv, "files/m.json"), 0);
	/* the manifest and its .sig, no temporary file left */
	assert_int_equal(count_entries("files"), 2);
	sig = pb_test_read_file("files/m.json.sig", NULL);
	assert_memory_equal(sig, "ed25519 ", 8);
	assert_int_equal(pb_sign_verify_file(pub, "files/m.json", "k1.pub"), 0);

	snprintf(want, sizeof(want),
		 "signature does not match: 'files/m.json.sig' was made with "
		 "key %s, but k2.pub is key %s: give the public key of the "
		 "key that signed 'files/m.json'",
		 pb_sign_key_id(pub), pb_sign_key_id(other));
	pb_test_assert_error(pb_sign_verify_file(other, "files/m.json",
						 "k2.pub"),
			     PB_ERROR, want);

	/* signing again replaces the .sig */
	pb_test_write_text("files/m.json", "{}\n");
	assert_int_equal(pb_sign_file(priv, "files/m.json"), 0);
	assert_int_equal(count_entries("files"), 2);
	assert_int_equal(pb_sign_verify_file(pub, "files/m.json", NULL), 0);

	/* tampered after signing */
	pb_test_write_text("files/m.json", "{ }\n");
	assert_int_equal(pb_sign_verify_file(pub, "files/m.json", NULL),
			 PB_ERROR);
	snprintf(want, sizeof(want),
		 "signature does not match: 'files/m.json.sig' is not key "
		 "%s's signature of 'files/m.json' as it is now: the manifest "
		 "was changed after signing, or not signed by prbot",
		 pb_sign_key_id(pub));
	assert_string_equal(pb_err_last(), want);

	/* no signature at all */
	assert_int_equal(unlink("files/m.json.sig"), 0);
	pb_test_assert_error(pb_sign_verify_file(pub, "files/m.json", NULL),
			     PB_ENOTFOUND,
			     "signature does not match: 'files/m.json.sig' "
			     "does not exist, so 'files/m.json' is not "
			     "signed: was [deploy] signing_key set when prbot "
			     "wrote it?");
	pb_test_assert_error(pb_sign_verify_file(pub, "files/none.json", NULL),
			     PB_ENOTFOUND,
			     "cannot read 'files/none.json': No such file or "
			     "directory");
	/* a signature file far too large for one line */
	pb_test_write_text("files/m.json.sig",
			   "ed25519 0000000000000000 AAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			   "\n");
	pb_test_assert_error(pb_sign_verify_file(pub, "files/m.json", NULL),
			     PB_EINVAL,
			     "'files/m.json.sig' is larger than 1024 bytes: "
			     "expected one line 'ed25519 KEYID SIGNATURE'");
	free(sig);
	pb_sign_key_free(other);
	pb_sign_key_free(pub);
	pb_sign_key_free(priv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_sign_round_trip_with_private_and_public_key),
		cmocka_unit_test(test_sign_matches_rfc8032_test_1),
		cmocka_unit_test(test_sign_another_key_does_not_match),
		cmocka_unit_test(test_sign_changed_byte_does_not_match),
		cmocka_unit_test(test_sign_refuses_bad_private_keys),
		cmocka_unit_test(test_sign_refuses_bad_public_keys),
		cmocka_unit_test(test_sign_public_key_cannot_sign),
		cmocka_unit_test(test_sign_refuses_malformed_sig_lines),
		cmocka_unit_test(test_sign_file_written_and_verified),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
