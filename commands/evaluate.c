/* evaluate.c: /evaluate, train and evaluate the model at the PR's head */
#include "prbot/command.h"

static const enum pb_stage_id evaluate_stages[] = {
	PB_STAGE_CHECKOUT, PB_STAGE_SETUP,  PB_STAGE_TRAIN,
	PB_STAGE_EVALUATE, PB_STAGE_UPLOAD, PB_STAGE_MANIFEST,
};

static const char *const evaluate_keys[] = { "baseline", NULL };

const struct pb_command pb_cmd_evaluate = {
	.name = "evaluate",
	.aliases = NULL,
	.usage = "evaluate [baseline=REF]",
	.summary = "train the model at this commit, check gates and test "
		   "cases, upload it and write its manifest",
	.permission = PB_PERM_WRITE,
	.flags = PB_CMD_NEEDS_CHECKOUT,
	.min_args = 0,
	.max_args = 1,
	.keys = evaluate_keys,
	.stages = evaluate_stages,
	.n_stages = sizeof(evaluate_stages) / sizeof(evaluate_stages[0]),
};
