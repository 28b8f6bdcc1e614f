/* cmd_run.c: prbot run, handed to prbot-job run with the same arguments */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prbot/err.h"
#include "bot.h"
#include "../src/banned.h"

/*
 * The pipeline (libgit2, libcurl) lives in prbot-job, so the daemon does not
 * load it: exec replaces this process, so stdout, stderr, the exit code and
 * Ctrl-C behave as if prbot ran the command itself.
 */
int cmd_run(int argc, char **argv)
{
	char exe[PATH_MAX];
	const char *where;
	char **args;
	int i;

	if (bot_job_find(exe, sizeof(exe), &where) < 0) {
		bot_error("run: %s", pb_err_last());
		return EXIT_USAGE;
	}
	/* exe, "run" (argv[0]), the arguments, NULL */
	if (!(args = calloc((size_t)argc + 2, sizeof(*args)))) {
		bot_error("run: out of memory");
		return EXIT_FAILED;
	}
	args[0] = exe;
	for (i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	execv(exe, args);
	bot_error("run: cannot start '%s': %s", exe, strerror(errno));
	free(args);
	return EXIT_FAILED;
}
