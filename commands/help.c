/* help.c: /help, list the commands prbot knows */
#include "prbot/command.h"
#include "prbot/err.h"
#include "prbot/report_pr.h"
#include "../src/banned.h"

/* The same list the worker posts on a PR, as text for the terminal. */
static int help_exec(const struct pb_command_ctx *ctx)
{
	struct pb_buf b = PB_BUF_INIT;
	int rc;

	if ((rc = pb_pr_help(&b, NULL, 0)) < 0)
		return rc;
	if (fputs(b.ptr, ctx->out) == EOF)
		rc = pb_err_set("help: cannot write the command list");
	pb_buf_release(&b);
	return rc;
}

const struct pb_command pb_cmd_help = {
	.name = "help",
	.aliases = NULL,
	.usage = "help",
	.summary = "list the commands and the permission each needs",
	.permission = PB_PERM_READ,
	.flags = 0,
	.min_args = 0,
	.max_args = 0,
	.handler = help_exec,
};
