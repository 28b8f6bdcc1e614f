/* help.c: /help, list the commands prbot knows */
#include "prbot/command.h"

static int help_exec(const struct pb_command_ctx *ctx)
{
	size_t i;

	fprintf(ctx->out, "prbot commands:\n\n");
	for (i = 0; pb_commands[i]; i++) {
		const struct pb_command *c = pb_commands[i];

		fprintf(ctx->out, "  /%-28s %s (needs %s)\n", c->usage,
			c->summary, pb_perm_name(c->permission));
	}
	return 0;
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
