/* cancel.c: /cancel, stop a queued or running job of the pull request */
#include "prbot/command.h"
#include "../src/banned.h"

/* No alias on purpose: stopping someone's job should not be a typo away. */
const struct pb_command pb_cmd_cancel = {
	.name = "cancel",
	.aliases = NULL,
	.usage = "cancel [JOB]",
	.summary = "cancel a queued job of this pull request, or stop a "
		   "running one",
	.permission = PB_PERM_WRITE,
	.flags = PB_CMD_NEEDS_PR,
	.min_args = 0,
	.max_args = 1,
	.handler = pb_command_pr_only,
};
