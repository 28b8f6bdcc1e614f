/* unlock.c: /unlock, release an environment's lock */
#include "prbot/command.h"
#include "../src/banned.h"

/* Whoever holds it: the way out of a lock someone forgot. No alias. */
const struct pb_command pb_cmd_unlock = {
	.name = "unlock",
	.aliases = NULL,
	.usage = "unlock ENV",
	.summary = "release the lock of a deploy environment, whichever pull "
		   "request holds it",
	.permission = PB_PERM_MAINTAIN,
	.flags = PB_CMD_NEEDS_PR,
	.min_args = 1,
	.max_args = 1,
	.words = 1,
	.handler = pb_command_pr_only,
};
