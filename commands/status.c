/* status.c: /status, list the pull request's jobs and their states */
#include "prbot/command.h"
#include "prbot/err.h"
#include "../src/banned.h"

/* The jobs live in the daemon's state store, which 'prbot run' has not. */
static int status_exec(const struct pb_command_ctx *ctx)
{
	(void)ctx;
	return pb_err_set("'status' is not available in 'prbot run': use it "
			  "in a pull request comment");
}

const struct pb_command pb_cmd_status = {
	.name = "status",
	.aliases = NULL,
	.usage = "status",
	.summary = "list this pull request's jobs and their states",
	.permission = PB_PERM_READ,
	.flags = PB_CMD_NEEDS_PR,
	.min_args = 0,
	.max_args = 0,
	.handler = status_exec,
};
