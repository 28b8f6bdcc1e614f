/* stage_name.c: the names of pipeline stages and their states, for reports */
#include "prbot/pipeline.h"
#include "banned.h"

/* Apart from pipeline.c: the daemon's /help names stages without running any.
 */
static const char *const stage_names[PB_STAGE_COUNT] = {
	[PB_STAGE_CHECKOUT] = "checkout", [PB_STAGE_SETUP] = "setup",
	[PB_STAGE_TRAIN] = "train",	  [PB_STAGE_EVALUATE] = "evaluate",
	[PB_STAGE_UPLOAD] = "upload",	  [PB_STAGE_MANIFEST] = "manifest",
};

static const char *const state_names[] = {
	[PB_STAGE_PENDING] = "pending", [PB_STAGE_RUNNING] = "running",
	[PB_STAGE_OK] = "succeeded",	[PB_STAGE_SKIPPED] = "skipped",
	[PB_STAGE_FAILED] = "failed",	[PB_STAGE_CANCELLED] = "cancelled",
};

const char *pb_stage_name(enum pb_stage_id id)
{
	return (unsigned)id < PB_STAGE_COUNT ? stage_names[id] : "?";
}

const char *pb_stage_state_name(enum pb_stage_state s)
{
	return (unsigned)s <= PB_STAGE_CANCELLED ? state_names[s] : "?";
}
