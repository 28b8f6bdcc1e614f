/* cmd_verify.c: prbot verify, recompute a model's hashes against its
 * manifest */
#include <stdio.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/manifest.h"
#include "bot.h"
#include "../src/banned.h"

static const char verify_usage[] =
	"usage: prbot verify MANIFEST [MODEL_FILE]\n"
	"\n"
	"Recompute the MD5 and SHA-256 of MODEL_FILE (default: the manifest's\n"
	"model_filepath when it is a local path) and compare them and the size\n"
	"with model_manifest.json. Exit 0 when they match, 1 naming the hash\n"
	"that does not (or the file that is missing), 2 on usage errors.\n";

int cmd_verify(int argc, char **argv)
{
	struct pb_digest d;
	int rc;

	if (bot_wants_help(argc, argv)) {
		fputs(verify_usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2 || argc > 3 || argv[1][0] == '-') {
		bot_error("verify: expected MANIFEST [MODEL_FILE]: see 'prbot "
			  "verify --help'");
		return EXIT_USAGE;
	}
	rc = pb_manifest_verify(&d, argv[1], argc == 3 ? argv[2] : NULL);
	if (rc < 0) {
		bot_error("verify: %s", pb_err_last());
		return EXIT_FAILED;
	}
	printf("ok: %s matches %s (md5 %s, sha256 %s, %llu bytes)\n",
	       argc == 3 ? argv[2] : "the model", argv[1], d.md5, d.sha256,
	       (unsigned long long)d.size);
	return EXIT_OK;
}
