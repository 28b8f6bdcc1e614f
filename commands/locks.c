/* locks.c: /locks, list the repository's environment locks */
#include "prbot/command.h"
#include "../src/banned.h"

const struct pb_command pb_cmd_locks = {
	.name = "locks",
	.aliases = NULL,
	.usage = "locks",
	.summary = "list the locked deploy environments of this repository",
	.permission = PB_PERM_READ,
	.flags = PB_CMD_NEEDS_PR,
	.min_args = 0,
	.max_args = 0,
	.handler = pb_command_pr_only,
};
