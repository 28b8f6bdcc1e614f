/* rollback.c: /rollback, publish an earlier deployment again */
#include "prbot/command.h"
#include "../src/banned.h"

/* Answered by the worker (src/deploy.c): no checkout, the history. */
const struct pb_command pb_cmd_rollback = {
	.name = "rollback",
	.aliases = NULL,
	.usage = "rollback ENV [VERSION]",
	.summary = "publish the deployment before the current one of ENV (or "
		   "VERSION's) again, as a new commit and tag",
	.permission = PB_PERM_MAINTAIN,
	.flags = PB_CMD_NEEDS_PR | PB_CMD_MUTATES,
	.min_args = 1,
	.max_args = 2,
	.handler = pb_command_pr_only,
};
