/* cmd_version.c: prbot version, with the libraries it was built against */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <yaml.h>

#include "prbot/err.h"
#include "bot.h"
#include "../src/banned.h"

/* prbot-job's own line (libgit2, libcurl): it links them, prbot does not. */
static void job_versions(void)
{
	char exe[PATH_MAX];
	char *const argv[] = { exe, "--version-libs", NULL };
	const char *where;
	pid_t pid;
	int status;

	if (bot_job_find(exe, sizeof(exe), &where) < 0) {
		printf("prbot-job: not found\n");
		bot_error("version: %s", pb_err_last());
		return;
	}
	fflush(stdout);
	if ((pid = fork()) < 0) {
		bot_error("version: cannot start '%s': %s", exe,
			  strerror(errno));
		return;
	}
	if (pid == 0) {
		execv(exe, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

int cmd_version(int argc, char **argv)
{
	if (bot_wants_help(argc, argv)) {
		printf("usage: prbot version\n\nPrint prbot's version and the "
		       "versions of the libraries it runs with (libgit2\nand "
		       "libcurl: those of prbot-job, which runs the jobs).\n");
		return EXIT_OK;
	}
	printf("prbot %s\n", PRBOT_VERSION);
	printf("jansson %s, sqlite %s, %s, libyaml %s, libwebsockets %s\n",
	       jansson_version_str(), sqlite3_libversion(),
	       OpenSSL_version(OPENSSL_VERSION), yaml_get_version_string(),
	       lws_get_library_version());
	job_versions();
	return EXIT_OK;
}
