/* hashfile.c: the prbot hash pass alone, for bench/hash_bench.sh */
/*
 * hashfile FILE              pb_hash_file: print "MD5 SHA256 SIZE"
 * hashfile FILE STORE_DIR    pb_store_put into file://STORE_DIR (copy, fsync)
 *
 * Built by hash_bench.sh against libprbotbase.a:
 *   cc -O2 -std=c11 -Iinclude bench/hashfile.c libprbotbase.a \
 *      $(pkg-config --libs libcrypto jansson) -lpthread
 */
#include <stdio.h>

#include "prbot/err.h"
#include "prbot/hash.h"
#include "prbot/store.h"

static int put(const char *file, const char *dir)
{
	struct pb_put_result r = { 0 };
	struct pb_store *s = NULL;
	char url[4096];
	int rc;

	snprintf(url, sizeof(url), "file://%s", dir);
	if ((rc = pb_store_open(&s, url)) == 0 &&
	    (rc = pb_store_put(&r, s, "bench/bench/0/model.bin", file)) == 0)
		printf("%s %s %llu %s\n", r.digest.md5, r.digest.sha256,
		       (unsigned long long)r.digest.size, r.path);
	pb_put_result_release(&r);
	pb_store_free(s);
	return rc;
}

int main(int argc, char **argv)
{
	struct pb_digest d;
	int rc;

	if (argc != 2 && argc != 3) {
		fputs("usage: hashfile FILE [STORE_DIR]\n", stderr);
		return 2;
	}
	if (argc == 3)
		rc = put(argv[1], argv[2]);
	else if ((rc = pb_hash_file(&d, argv[1])) == 0)
		printf("%s %s %llu\n", d.md5, d.sha256,
		       (unsigned long long)d.size);
	if (rc < 0) {
		fprintf(stderr, "hashfile: %s\n", pb_err_last());
		return 1;
	}
	return 0;
}
