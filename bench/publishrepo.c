/* publishrepo.c: one pb_publish() alone, for bench/publish_bench.sh */
/*
 * publishrepo REPO WORKDIR SOURCE_ROOT MODEL
 *   publish SOURCE_ROOT's src/ and requirements.txt to REPO's main with a
 *   manifest naming MODEL; prints "VERSION COMMIT ATTEMPTS".
 *
 * Built by publish_bench.sh against libprbotjob.a and libprbotbase.a
 * (see there).
 */
#include <stdio.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/publish.h"

static int manifest(struct pb_buf *man, struct pb_buf *sig, const char *version,
		    void *arg)
{
	(void)sig;
	return pb_buf_printf(man, "{\"version\": \"%s\", \"model\": \"%s\"}\n",
			     version, (const char *)arg);
}

int main(int argc, char **argv)
{
	static const char *const inference[] = { "src/", "requirements.txt" };
	struct pb_publish_opts o = { 0 };
	struct pb_publish_result r = { 0 };

	if (argc != 5) {
		fprintf(stderr, "usage: publishrepo REPO WORKDIR SOURCE_ROOT "
				"MODEL\n");
		return 2;
	}
	o.repo = argv[1];
	o.branch = "main";
	o.path = ".";
	o.workdir = argv[2];
	o.source_root = argv[3];
	o.inference = inference;
	o.n_inference = 2;
	o.schema = PB_VERSION_REVISION;
	o.manifest = manifest;
	o.manifest_arg = argv[4];
	o.author_name = "prbot-bench";
	o.author_email = "bench@example.invalid";
	o.source_repo = "bench/model";
	o.source_sha = "0000000000000000000000000000000000000000";
	if (pb_publish(&r, &o) < 0) {
		fprintf(stderr, "publishrepo: %s\n", pb_err_last());
		return 1;
	}
	printf("%s %s %d\n", r.version, r.commit, r.attempts);
	pb_publish_result_release(&r);
	return 0;
}
