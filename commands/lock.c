/* lock.c: /lock, keep other pull requests from deploying to an environment */
#include "prbot/command.h"
#include "../src/banned.h"

static const char *const lock_keys[] = { "reason", NULL };

/*
 * Answered by the worker (src/worker_locks.c); the lock stays until /unlock
 * or until the pull request is merged or closed.
 */
const struct pb_command pb_cmd_lock = {
	.name = "lock",
	.aliases = NULL,
	.usage = "lock ENV [reason=\"...\"]",
	.summary = "lock a deploy environment for this pull request, until "
		   "/unlock or until it is merged or closed",
	.permission = PB_PERM_MAINTAIN,
	.flags = PB_CMD_NEEDS_PR,
	.min_args = 1,
	.max_args = 2,
	.words = 1,
	.keys = lock_keys,
	.handler = pb_command_pr_only,
};
