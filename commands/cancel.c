/* cancel.c: /cancel, stop a queued or running job of the pull request */
#include "prbot/command.h"
#include "prbot/err.h"
#include "../src/banned.h"

/* Jobs are queued by the daemon; 'prbot run' stops its own with Ctrl-C. */
static int cancel_exec(const struct pb_command_ctx *ctx)
{
	(void)ctx;
	return pb_err_set("'cancel' is not available in 'prbot run': use it "
			  "in a pull request comment");
}

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
	.handler = cancel_exec,
};
