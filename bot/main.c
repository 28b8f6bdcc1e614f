/* main.c: the prbot executable, dispatching to its subcommands */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "../src/banned.h"

static const char usage_text[] =
	"usage: prbot COMMAND [ARGS...]\n"
	"\n"
	"  serve [-c bot.conf]           run the daemon: GitHub webhooks in, "
	"jobs run\n"
	"  run COMMAND [ARGS...] --repo PATH|URL [--ref REF] [--sha SHA]\n"
	"      [-c bot.conf] [--json]    run one chat command locally, print "
	"the report\n"
	"  verify MANIFEST [MODEL_FILE] [--pubkey FILE] [-c bot.conf]\n"
	"                                recompute hashes (reading s3:// "
	"models from\n"
	"                                the store), compare with the "
	"manifest;\n"
	"                                check its signature with --pubkey\n"
	"  check-config [-c bot.conf] [--repo-config FILE]\n"
	"                                check bot.conf and .prbot.yml\n"
	"  schedule next \"CRON\" [--from ISO8601] [--count N]\n"
	"                                print a cron expression's next fire "
	"times (UTC)\n"
	"  version                       print versions\n"
	"\n"
	"'prbot COMMAND --help' describes one command. Exit codes: 0 success, "
	"1 the work\nfailed, 2 usage or configuration error.\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} subcommands[] = {
	{ "serve", cmd_serve },	      { "run", cmd_run },
	{ "verify", cmd_verify },     { "check-config", cmd_check_config },
	{ "schedule", cmd_schedule }, { "version", cmd_version },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv);
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	bot_error("unknown command '%s': see 'prbot --help'", argv[1]);
	return EXIT_USAGE;
}
