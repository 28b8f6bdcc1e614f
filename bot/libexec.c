/* libexec.c: where prbot-job is, for serve, run and version */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "prbot/err.h"
#include "bot.h"
#include "../src/banned.h"

#ifndef PRBOT_LIBEXEC_DIR
#define PRBOT_LIBEXEC_DIR "/usr/local/libexec/prbot"
#endif

/* "DIR/prbot-job" with DIR the folder of /proc/self/exe; 0 or -1. */
static int next_to_self(char *path, size_t n)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (len <= 0)
		return -1;
	self[len] = '\0';
	if (!(slash = strrchr(self, '/')))
		return -1;
	*slash = '\0';
	if ((size_t)snprintf(path, n, "%s/prbot-job", self) >= n)
		return -1;
	return 0;
}

int bot_job_find(char *path, size_t n, const char **where)
{
	char near[PATH_MAX] = "";
	const char *installed = PRBOT_LIBEXEC_DIR "/prbot-job";

	if (next_to_self(near, sizeof(near)) == 0 && access(near, X_OK) == 0 &&
	    strlen(near) < n) {
		memcpy(path, near, strlen(near) + 1);
		*where = "next to prbot";
		return 0;
	}
	if (access(installed, X_OK) == 0 && strlen(installed) < n) {
		memcpy(path, installed, strlen(installed) + 1);
		*where = "installed";
		return 0;
	}
	return pb_err_set("cannot find prbot-job, which runs the jobs: "
			  "neither '%s' nor '%s' is an executable; install "
			  "both programs (cmake --install) or build the "
			  "prbot-job target next to prbot",
			  *near ? near : "DIR-OF-PRBOT/prbot-job", installed);
}
