/* main.c: the prbot executable, dispatching to its subcommands */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prbot/err.h"
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
	"  verify MANIFEST [MODEL_FILE] [--pubkey FILE]\n"
	"                                recompute hashes, compare with the "
	"manifest;\n"
	"                                check its signature with --pubkey\n"
	"  check-config [-c bot.conf] [--repo-config FILE]\n"
	"                                check bot.conf and .prbot.yml\n"
	"  version                       print versions\n"
	"\n"
	"'prbot COMMAND --help' describes one command. Exit codes: 0 success, "
	"1 the work\nfailed, 2 usage or configuration error.\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} subcommands[] = {
	{ "serve", cmd_serve },	    { "run", cmd_run },
	{ "verify", cmd_verify },   { "check-config", cmd_check_config },
	{ "version", cmd_version },
};

void bot_error(const char *fmt, ...)
{
	va_list ap;

	fputs("prbot: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int bot_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

struct pb_config *bot_config_load(const char *path)
{
	struct pb_diags diags = PB_DIAGS_INIT;
	struct pb_config *cfg = NULL;
	size_t i;
	int rc;

	if (!path && access("bot.conf", F_OK) == 0)
		path = "bot.conf";
	rc = pb_config_load(&cfg, path, &diags);
	for (i = 0; i < diags.n; i++) {
		char *line = pb_diag_format(&diags.v[i]);

		fprintf(stderr, "%s\n", line ? line : diags.v[i].msg);
		free(line);
	}
	if (rc < 0 && !diags.n)
		bot_error("%s", pb_err_last());
	pb_diags_release(&diags);
	if (rc < 0) {
		pb_config_free(cfg);
		return NULL;
	}
	return cfg;
}

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
