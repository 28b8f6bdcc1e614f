/* job_verify.c: prbot verify, check a manifest's signature and recompute a
 * model's hashes against it, reading the model from a store if need be */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "prbot/buf.h"
#include "prbot/config.h"
#include "prbot/err.h"
#include "prbot/manifest.h"
#include "prbot/redact.h"
#include "prbot/sign.h"
#include "prbot/store.h"
#include "bot.h"
#include "../src/banned.h"

static const char verify_usage[] =
	"usage: prbot verify MANIFEST [MODEL_FILE] [--pubkey FILE] "
	"[-c bot.conf]\n"
	"\n"
	"Recompute the MD5 and SHA-256 of MODEL_FILE (default: the manifest's\n"
	"model_filepath) and compare them and the size with\n"
	"model_manifest.json. A model in an S3 store (s3://BUCKET/KEY, as\n"
	"model_filepath or as MODEL_FILE) is streamed from the store into the\n"
	"hashes, never kept whole; the store's endpoint, region and\n"
	"credentials come from [store] in bot.conf, else from AWS_ENDPOINT_URL,\n"
	"AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and\n"
	"AWS_SESSION_TOKEN.\n"
	"\n"
	"  -c bot.conf    the configuration to read [store] from (default:\n"
	"                 ./bot.conf when it exists)\n"
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

/* "s3://..." or "file://...": a model in a store, not a plain path */
static int is_store_url(const char *s)
{
	return strncmp(s, "s3://", 5) == 0 || strncmp(s, "file://", 7) == 0;
}

/* Stream the object at url into the hashes. */
static int hash_stored(struct pb_digest *d, const struct pb_config *cfg,
		       const char *url)
{
	struct pb_store_config sc;
	struct pb_redactor *red = NULL;
	struct pb_store *s = NULL;
	char *key = NULL;
	int rc;

	pb_store_config_from(&sc, cfg);
	if ((rc = pb_redactor_new(&red)) < 0 ||
	    (rc = pb_config_add_secrets(cfg, red)) < 0)
		goto out;
	sc.redactor = red;
	if ((rc = pb_store_open_object(&s, &key, &sc, url)) < 0)
		goto out;
	rc = pb_store_get(d, s, key, NULL);
out:
	pb_store_free(s);
	free(key);
	pb_redactor_free(red);
	return rc;
}

/* Hash the model (a path or a store URL) and compare with the manifest. */
static int verify_model(struct pb_digest *d, const char *manifest,
			const char *model, const char *conf)
{
	struct pb_config *cfg = NULL;
	char *named = NULL;
	int rc, is_url = 0;

	if (model && !is_store_url(model))
		return pb_manifest_verify(d, manifest, model) < 0 ?
			       EXIT_FAILED :
			       EXIT_OK;
	if (!model) {
		if (pb_manifest_model(&named, &is_url, manifest) < 0)
			return EXIT_FAILED;
		if (!is_url) {
			free(named);
			return pb_manifest_verify(d, manifest, NULL) < 0 ?
				       EXIT_FAILED :
				       EXIT_OK;
		}
		model = named;
	}
	/* the manifest must be sound before anything is downloaded */
	if (pb_manifest_check(manifest, NULL, model) < 0) {
		rc = EXIT_FAILED;
		goto out;
	}
	if (!(cfg = bot_config_load(conf))) {
		rc = EXIT_USAGE;
		goto out;
	}
	rc = hash_stored(d, cfg, model) < 0 ||
			     pb_manifest_check(manifest, d, model) < 0 ?
		     EXIT_FAILED :
		     EXIT_OK;
out:
	pb_config_free(cfg);
	free(named);
	return rc;
}

int job_cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pubkey = NULL, *conf = NULL, *manifest, *model;
	struct pb_digest d;
	int c, rc;

	if (bot_wants_help(argc, argv)) {
		fputs(verify_usage, stdout);
		return EXIT_OK;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c') {
			conf = optarg;
			continue;
		}
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
	memset(&d, 0, sizeof(d));
	if ((rc = verify_model(&d, manifest, model, conf)) != EXIT_OK) {
		if (rc == EXIT_FAILED)
			bot_error("verify: %s", pb_err_last());
		return rc;
	}
	printf("ok: %s matches %s (md5 %s, sha256 %s, %llu bytes)\n",
	       model ? model : "the model", manifest, d.md5, d.sha256,
	       (unsigned long long)d.size);
	if (!pubkey)
		note_unchecked(manifest);
	return EXIT_OK;
}
