/* storetool.c: the artifact store's operations one at a time, for the
 * integration tests (tests/integration/test_s3_store.sh) and bench/ */
/*
 * storetool put URL KEY FILE     prints SIZE PARTS SKIPPED MD5 SHA256 URL
 * storetool head URL KEY         prints SIZE SHA256 MD5 ("-" when unknown)
 * storetool get URL KEY [FILE]   prints SIZE MD5 SHA256
 *
 * The store is configured as [store] in bot.conf would be, from the
 * variables STORE_ENDPOINT, STORE_REGION, STORE_ACCESS_KEY,
 * STORE_SECRET_KEY, STORE_PATH_STYLE (0/1), STORE_THRESHOLD_MIB,
 * STORE_PART_MIB, STORE_PARALLEL and STORE_RETRIES, else the AWS_* ones.
 * Exit 0 on success, 1 with the error on stderr (3 for PB_ENOTFOUND).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prbot/config.h"
#include "prbot/err.h"
#include "prbot/log.h"
#include "prbot/store.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void configure(struct pb_store_config *c)
{
	const char *v;

	if ((v = env("STORE_ENDPOINT")))
		c->endpoint = v;
	if ((v = env("STORE_REGION")))
		c->region = v;
	if ((v = env("STORE_ACCESS_KEY")))
		c->access_key = v;
	if ((v = env("STORE_SECRET_KEY")))
		c->secret_key = v;
	if ((v = env("STORE_PATH_STYLE")))
		c->style = atoi(v) ? PB_S3_STYLE_PATH : PB_S3_STYLE_VHOST;
	if ((v = env("STORE_THRESHOLD_MIB")))
		c->multipart_threshold = strtoull(v, NULL, 10) << 20;
	if ((v = env("STORE_PART_MIB")))
		c->part_size = strtoull(v, NULL, 10) << 20;
	if ((v = env("STORE_PARALLEL")))
		c->parallel = atoi(v);
	if ((v = env("STORE_RETRIES")))
		c->max_retries = atoi(v);
}

static int put(struct pb_store *s, const char *key, const char *file)
{
	struct pb_put_result r;
	int rc = pb_store_put(&r, s, key, file);

	if (rc == 0)
		printf("%llu %d %d %s %s %s\n",
		       (unsigned long long)r.digest.size, r.parts, r.skipped,
		       r.digest.md5, r.digest.sha256, r.url);
	pb_put_result_release(&r);
	return rc;
}

static int head(struct pb_store *s, const char *key)
{
	struct pb_store_object o;
	int rc = pb_store_head(&o, s, key);

	if (rc == 0)
		printf("%llu %s %s\n", (unsigned long long)o.size,
		       *o.sha256 ? o.sha256 : "-", *o.md5 ? o.md5 : "-");
	return rc;
}

static int get(struct pb_store *s, const char *key, const char *file)
{
	struct pb_digest d;
	int rc = pb_store_get(&d, s, key, file);

	if (rc == 0)
		printf("%llu %s %s\n", (unsigned long long)d.size, d.md5,
		       d.sha256);
	return rc;
}

int main(int argc, char **argv)
{
	struct pb_store_config c;
	struct pb_config *cfg = NULL;
	struct pb_store *s = NULL;
	int rc = PB_ERROR;

	if (argc < 4 || argc > 5 ||
	    (strcmp(argv[1], "put") == 0 && argc != 5)) {
		fprintf(stderr, "usage: storetool put|head|get URL KEY "
				"[FILE]\n");
		return 2;
	}
	pb_log_init(PB_LOG_INFO, stderr);
	if (pb_config_defaults(&cfg) < 0)
		goto out;
	pb_store_config_from(&c, cfg);
	c.url = argv[2];
	configure(&c);
	if ((rc = pb_store_open(&s, &c)) < 0)
		goto out;
	if (strcmp(argv[1], "put") == 0)
		rc = put(s, argv[3], argv[4]);
	else if (strcmp(argv[1], "head") == 0)
		rc = head(s, argv[3]);
	else if (strcmp(argv[1], "get") == 0)
		rc = get(s, argv[3], argc == 5 ? argv[4] : NULL);
	else
		rc = pb_err_setc(PB_EINVAL, "unknown operation '%s'", argv[1]);
out:
	if (rc < 0)
		fprintf(stderr, "storetool: %s\n", pb_err_last());
	pb_store_free(s);
	pb_config_free(cfg);
	return rc == 0 ? 0 : rc == PB_ENOTFOUND ? 3 : 1;
}
