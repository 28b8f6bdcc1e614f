/* store_s3.c: the s3:// artifact store (placeholder until the backend lands) */
#include "prbot/err.h"
#include "store_backend.h"
#include "banned.h"

static int s3_open(struct pb_store **out, const struct pb_store_url *u,
		   const struct pb_store_config *c)
{
	(void)out;
	(void)c;
	return pb_err_setc(PB_EINVAL, "store url 's3://%s': not supported yet",
			   u->bucket);
}

const struct pb_store_ops pb_store_s3_ops = {
	.name = "s3",
	.open = s3_open,
};
