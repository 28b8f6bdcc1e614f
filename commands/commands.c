/* commands.c: the one table of chat commands, and lookups in it */
#include <string.h>

#include "prbot/command.h"
#include "prbot/err.h"
#include "../src/banned.h"

extern const struct pb_command pb_cmd_cancel;
extern const struct pb_command pb_cmd_deploy;
extern const struct pb_command pb_cmd_evaluate;
extern const struct pb_command pb_cmd_help;
extern const struct pb_command pb_cmd_lock;
extern const struct pb_command pb_cmd_locks;
extern const struct pb_command pb_cmd_rollback;
extern const struct pb_command pb_cmd_status;
extern const struct pb_command pb_cmd_unlock;

const struct pb_command *const pb_commands[] = {
	&pb_cmd_evaluate, &pb_cmd_help,	  &pb_cmd_status, &pb_cmd_cancel,
	&pb_cmd_lock,	  &pb_cmd_unlock, &pb_cmd_locks,  &pb_cmd_deploy,
	&pb_cmd_rollback, NULL,
};

int pb_command_pr_only(const struct pb_command_ctx *ctx)
{
	return pb_err_set("'%s' is not available in 'prbot run': use it in "
			  "a pull request comment",
			  ctx->inv->cmd->name);
}

const struct pb_command *pb_command_find(const char *name)
{
	size_t i, j;

	for (i = 0; pb_commands[i]; i++) {
		const struct pb_command *c = pb_commands[i];

		if (!strcmp(c->name, name))
			return c;
		for (j = 0; c->aliases && c->aliases[j]; j++)
			if (!strcmp(c->aliases[j], name))
				return c;
	}
	return NULL;
}

static int key_known(const struct pb_command *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t i;

	for (i = 0; c->keys && c->keys[i]; i++)
		if (strlen(c->keys[i]) == (size_t)(eq - arg) &&
		    !strncmp(c->keys[i], arg, (size_t)(eq - arg)))
			return 1;
	return 0;
}

int pb_invocation_check(const struct pb_invocation *inv)
{
	const struct pb_command *c = inv->cmd;
	size_t i, words;

	if ((int)inv->n_args < c->min_args ||
	    (c->max_args >= 0 && (int)inv->n_args > c->max_args))
		return pb_err_setc(PB_EINVAL,
				   "'%s' takes %s arguments: usage: %s",
				   c->name, c->max_args == 0 ? "no" : "other",
				   c->usage);
	for (i = 0, words = 0; i < inv->n_args; i++)
		words += !strchr(inv->args[i], '=');
	if (c->words > 0 && words != (size_t)c->words)
		return pb_err_setc(PB_EINVAL,
				   "'%s' takes %d argument%s besides "
				   "key=value, not %zu: usage: %s",
				   c->name, c->words, c->words == 1 ? "" : "s",
				   words, c->usage);
	for (i = 0; i < inv->n_args; i++) {
		const char *arg = inv->args[i];

		if (strchr(arg, '=') && !key_known(c, arg))
			return pb_err_setc(
				PB_EINVAL,
				"'%s' does not take '%.*s=': usage: %s",
				c->name, (int)(strchr(arg, '=') - arg), arg,
				c->usage);
	}
	return 0;
}

const char *pb_invocation_get(const struct pb_invocation *inv, const char *key)
{
	size_t i, n = strlen(key);

	for (i = 0; i < inv->n_args; i++)
		if (!strncmp(inv->args[i], key, n) && inv->args[i][n] == '=')
			return inv->args[i] + n + 1;
	return NULL;
}
