/* cmd_verify.c: prbot verify, check a manifest's signature and recompute a
 * model's hashes against it */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/manifest.h"
#include "prbot/sign.h"
#include "bot.h"
#include "../src/banned.h"

static const char verify_usage[] =
	"usage: prbot verify MANIFEST [MODEL_FILE] [--pubkey FILE]\n"
	"\n"
	"Recompute the MD5 and SHA-256 of MODEL_FILE (default: the manifest's\n"
	"model_filepath when it is a local path) and compare them and the size\n"
	"with model_manifest.json.\n"
	"\n"
	"  --pubkey FILE  also check MANIFEST.sig, the Ed25519 signature prbot\n"
	"                 writes when [deploy] signing_key is set, against the\n"
	"                 public key in FILE (PEM, as 'openssl pkey -pubout'\n"
	"                 writes it); a missing or wrong signature fails\n"
	"\n"
	"Without --pubkey an existing MANIFEST.sig is not checked (the output\n"
	"says so). Exit 0 when everything matches, 1 naming the signature or\n"
	"hash that does not (or the file that is missing), 2 on usage errors\n"
	"or a public key that cannot be used.\n";

/* 0 when MANIFEST.sig matches; EXIT_USAGE for an unusable key file. */
static int check_signature(const char *manifest, const char *pubkey)
{
	struct pb_sign_key *key = NULL;
	int rc;

	if (pb_sign_key_public(&key, pubkey) < 0) {
		bot_error("verify: %s", pb_err_last());
		return EXIT_USAGE;
	}
	rc = pb_sign_verify_file(key, manifest, pubkey);
	if (rc < 0) {
		bot_error("verify: %s", pb_err_last());
		rc = EXIT_FAILED;
	} else {
		printf("ok: %s%s is key %s's signature of %s\n", manifest,
		       PB_SIGN_SUFFIX, pb_sign_key_id(key), manifest);
	}
	pb_sign_key_free(key);
	return rc;
}

/* Without --pubkey: say that a signature is there and was not checked. */
static void note_unchecked(const char *manifest)
{
	struct pb_buf sig = PB_BUF_INIT;

	if (pb_buf_printf(&sig, "%s%s", manifest, PB_SIGN_SUFFIX) == 0 &&
	    access(sig.ptr, F_OK) == 0)
		printf("note: %s not checked: give --pubkey FILE to check the "
		       "signature\n",
		       sig.ptr);
	pb_buf_release(&sig);
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pubkey = NULL, *manifest, *model;
	struct pb_digest d;
	int c, rc;

	if (bot_wants_help(argc, argv)) {
		fputs(verify_usage, stdout);
		return EXIT_OK;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'p') {
			bot_error("verify: unknown or incomplete option '%s': "
				  "see 'prbot verify --help'",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
		if (pubkey) {
			bot_error("verify: --pubkey given twice: give one "
				  "public key");
			return EXIT_USAGE;
		}
		pubkey = optarg;
	}
	if (argc - optind < 1 || argc - optind > 2) {
		bot_error("verify: expected MANIFEST [MODEL_FILE]: see 'prbot "
			  "verify --help'");
		return EXIT_USAGE;
	}
	manifest = argv[optind];
	model = argc - optind == 2 ? argv[optind + 1] : NULL;
	/* a forged manifest's hashes prove nothing: the signature first */
	if (pubkey && (rc = check_signature(manifest, pubkey)) != 0)
		return rc;
	rc = pb_manifest_verify(&d, manifest, model);
	if (rc < 0) {
		bot_error("verify: %s", pb_err_last());
		return EXIT_FAILED;
	}
	printf("ok: %s matches %s (md5 %s, sha256 %s, %llu bytes)\n",
	       model ? model : "the model", manifest, d.md5, d.sha256,
	       (unsigned long long)d.size);
	if (!pubkey)
		note_unchecked(manifest);
	return EXIT_OK;
}
