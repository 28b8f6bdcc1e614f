/* store.h: where model artifacts go: a file:// folder or an S3 bucket */
#ifndef PRBOT_STORE_H
#define PRBOT_STORE_H

#include <stdint.h>

#include "prbot/hash.h"

struct pb_config;
struct pb_redactor;

/* What a store URL names; see pb_store_url_parse(). */
enum pb_store_kind { PB_STORE_FILE, PB_STORE_S3 };

struct pb_store_url {
	enum pb_store_kind kind;
	char *dir;    /* owned: file:// only, the folder as written */
	char *bucket; /* owned: s3:// only */
	char *prefix; /* owned: s3:// only, "" or "a/b" (no slash at ends) */
};

/*
 * Parse "file://DIR" or "s3://BUCKET[/PREFIX]". A bucket follows S3's
 * naming rules (3 to 63 of a-z 0-9 . -, starting and ending with a letter
 * or digit, no "..", not an IP address); a prefix has no empty, "." or ".."
 * segment. The message says what is wrong and what to write. Release out
 * with pb_store_url_release() whatever the result.
 */
int pb_store_url_parse(struct pb_store_url *out, const char *url);
void pb_store_url_release(struct pb_store_url *u);

/* How S3 requests are addressed: https://BUCKET.HOST/KEY or HOST/BUCKET/KEY */
enum pb_s3_style { PB_S3_STYLE_AUTO, PB_S3_STYLE_PATH, PB_S3_STYLE_VHOST };

#define PB_STORE_MULTIPART_THRESHOLD (64ULL << 20)
#define PB_STORE_PART_SIZE	     (8ULL << 20)
#define PB_STORE_PART_MIN	     (5ULL << 20) /* S3's smallest part but the last */
#define PB_STORE_PARTS_MAX	     10000 /* S3's most parts in one upload */
#define PB_STORE_PARALLEL	     4

/*
 * Everything a store needs: url is read by pb_store_open(), the other
 * strings are borrowed for the store's life.
 * Start from pb_store_config_init() or pb_store_config_from().
 */
struct pb_store_config {
	const char *url; /* file://DIR or s3://BUCKET[/PREFIX] */
	/* S3 only */
	const char *endpoint; /* http(s)://HOST[:PORT]; NULL: AWS's for region
			       */
	const char *region;   /* NULL: us-east-1 */
	/* NULL: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN */
	const char *access_key;
	const char *secret_key;
	const char *session_token;
	enum pb_s3_style style; /* AUTO: path style when endpoint is set */
	uint64_t multipart_threshold; /* larger objects go in parts */
	uint64_t part_size; /* raised when 10,000 parts would not do */
	int parallel;	    /* parts in flight */
	int max_retries;    /* per request, after the first attempt */
	const struct pb_redactor *redactor; /* may be NULL */
};

/* Defaults for url (which stays borrowed). */
void pb_store_config_init(struct pb_store_config *c, const char *url);

/*
 * [store] of bot.conf. What it leaves unset comes from the variables the
 * AWS tools read: endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL,
 * region from AWS_REGION or AWS_DEFAULT_REGION (here), credentials from
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (when the
 * store opens). Borrows from cfg and the environment.
 */
void pb_store_config_from(struct pb_store_config *c,
			  const struct pb_config *cfg);

struct pb_store;

/*
 * Open the store at c->url. Nothing is contacted yet: a missing bucket or
 * refused credentials show at the first request. Caller owns *out.
 */
int pb_store_open(struct pb_store **out, const struct pb_store_config *c);
void pb_store_free(struct pb_store *s);

/* The URL of key: file:///ABS/DIR/KEY or s3://BUCKET/PREFIX/KEY. Caller
   frees; NULL when out of memory. */
char *pb_store_url(const struct pb_store *s, const char *key);

struct pb_put_result {
	struct pb_digest digest; /* of the bytes stored */
	int skipped;		 /* same content was already there */
	int parts;		 /* S3 parts uploaded; 0 for a single PUT */
	char *url;		 /* owned: where it is, e.g. file:///abs/path */
	char *path;		 /* owned: local path for file://, else NULL */
};

/*
 * Store the file src under key ("OWNER/REPO/SHA/FILENAME"). MD5, SHA-256
 * and size come from the pass that reads src for storing it. When an
 * object with the same size and SHA-256 is already at key, nothing is
 * written and skipped is set (the digest is still computed). A different
 * object at key is replaced, never half-written: file:// renames a
 * complete temp file into place, S3 makes the object visible only when
 * its PUT or multipart upload completes. A src that changes size while it
 * is read fails the put. out need not be initialised; release it whatever
 * the result.
 */
int pb_store_put(struct pb_put_result *out, struct pb_store *s, const char *key,
		 const char *src);
void pb_put_result_release(struct pb_put_result *r);

/* What is at a key, without reading it. */
struct pb_store_object {
	uint64_t size;
	char sha256[65]; /* as recorded when it was stored; "" if unknown */
	char md5[33];	 /* ETag of a single-PUT S3 object or file: ""
			    when not known without reading */
};

/* 0 and *out filled, PB_ENOTFOUND when nothing is at key, else < 0. */
int pb_store_head(struct pb_store_object *out, struct pb_store *s,
		  const char *key);

/*
 * Read the object at key once, hashing it, into the file dst (written to
 * a temp name and renamed) or, with dst NULL, only into the hashes.
 * PB_ENOTFOUND when nothing is at key.
 */
int pb_store_get(struct pb_digest *out, struct pb_store *s, const char *key,
		 const char *dst);

/*
 * Open the store that holds object_url (file:///PATH or s3://BUCKET/KEY)
 * with the rest of c (endpoint, credentials) and give its key. For
 * 'prbot verify'. Caller owns *out and *key.
 */
int pb_store_open_object(struct pb_store **out, char **key,
			 const struct pb_store_config *c,
			 const char *object_url);

#endif
