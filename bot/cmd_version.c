/* cmd_version.c: prbot version, with the libraries it was built against */
#include <stdio.h>

#include <curl/curl.h>
#include <git2.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <yaml.h>

#include "bot.h"
#include "../src/banned.h"

int cmd_version(int argc, char **argv)
{
	int major, minor, rev;

	if (bot_wants_help(argc, argv)) {
		printf("usage: prbot version\n\nPrint prbot's version and the "
		       "versions of the libraries it runs with.\n");
		return EXIT_OK;
	}
	git_libgit2_version(&major, &minor, &rev);
	printf("prbot %s\n", PRBOT_VERSION);
	printf("libgit2 %d.%d.%d, %s, jansson %s, sqlite %s, %s, libyaml %s, "
	       "libwebsockets %s\n",
	       major, minor, rev, curl_version(), jansson_version_str(),
	       sqlite3_libversion(), OpenSSL_version(OPENSSL_VERSION),
	       yaml_get_version_string(), lws_get_library_version());
	return EXIT_OK;
}
