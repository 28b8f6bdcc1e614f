/* deploy.c: /deploy, publish the PR's model and inference code */
#include "prbot/command.h"
#include "../src/banned.h"

/*
 * The evaluate stages, which the worker trims to the checkout when the
 * store has a passing evaluation of the head commit (src/worker.c),
 * then the publish to the environment (src/deploy.c).
 */
static const enum pb_stage_id deploy_stages[] = {
	PB_STAGE_CHECKOUT, PB_STAGE_SETUP,  PB_STAGE_TRAIN,
	PB_STAGE_EVALUATE, PB_STAGE_UPLOAD, PB_STAGE_MANIFEST,
};

/* No alias: a deploy should be hard to ask for by accident. */
const struct pb_command pb_cmd_deploy = {
	.name = "deploy",
	.aliases = NULL,
	.usage = "deploy [ENV] [--dry-run]",
	.summary = "publish this commit's model, manifest and inference code "
		   "to a serving repository (ENV: the first environment of "
		   ".prbot.yml by default), evaluating it first when needed",
	.permission = PB_PERM_MAINTAIN,
	.flags = PB_CMD_NEEDS_PR | PB_CMD_MUTATES | PB_CMD_NEEDS_CHECKOUT,
	.min_args = 0,
	.max_args = 2,
	.stages = deploy_stages,
	.n_stages = sizeof(deploy_stages) / sizeof(deploy_stages[0]),
};
