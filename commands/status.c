/* status.c: /status, list the pull request's jobs and their states */
#include "prbot/command.h"
#include "../src/banned.h"

const struct pb_command pb_cmd_status = {
	.name = "status",
	.aliases = NULL,
	.usage = "status",
	.summary = "list this pull request's jobs and their states",
	.permission = PB_PERM_READ,
	.flags = PB_CMD_NEEDS_PR,
	.min_args = 0,
	.max_args = 0,
	.handler = pb_command_pr_only,
};
