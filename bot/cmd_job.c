/* cmd_job.c: prbot run and prbot verify, handed to prbot-job with the same
 * arguments */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prbot/err.h"
#include "bot.h"
#include "../src/banned.h"

/*
 * The pipeline and the stores (libgit2, libcurl) live in prbot-job, so the
 * daemon does not load them: exec replaces this process, so stdout,
 * stderr, the exit code and Ctrl-C behave as if prbot ran the command
 * itself. argv[0] is the command's name.
 */
static int job_exec(int argc, char **argv)
{
	char exe[PATH_MAX];
	const char *where;
	char **args;
	int i;

	if (bot_job_find(exe, sizeof(exe), &where) < 0) {
		bot_error("%s: %s", argv[0], pb_err_last());
		return EXIT_USAGE;
	}
	/* exe, the command (argv[0]), its arguments, NULL */
	if (!(args = calloc((size_t)argc + 2, sizeof(*args)))) {
		bot_error("%s: out of memory", argv[0]);
		return EXIT_FAILED;
	}
	args[0] = exe;
	for (i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	execv(exe, args);
	bot_error("%s: cannot start '%s': %s", argv[0], exe, strerror(errno));
	free(args);
	return EXIT_FAILED;
}

int cmd_run(int argc, char **argv)
{
	return job_exec(argc, argv);
}

int cmd_verify(int argc, char **argv)
{
	return job_exec(argc, argv);
}
