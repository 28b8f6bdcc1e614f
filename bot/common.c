/* common.c: what prbot and prbot-job share: errors, --help, bot.conf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prbot/err.h"
#include "bot.h"
#include "../src/banned.h"

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
