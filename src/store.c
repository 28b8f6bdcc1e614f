/* store.c: the artifact store interface; picks the backend by URL scheme */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "prbot/config.h"
#include "prbot/err.h"
#include "store_backend.h"
#include "banned.h"

void pb_store_config_init(struct pb_store_config *c, const char *url)
{
	memset(c, 0, sizeof(*c));
	c->url = url;
	c->style = PB_S3_STYLE_AUTO;
	c->multipart_threshold = PB_STORE_MULTIPART_THRESHOLD;
	c->part_size = PB_STORE_PART_SIZE;
	c->parallel = PB_STORE_PARALLEL;
	c->max_retries = 4;
}

/* The first of the variables that is set and not empty, or NULL. */
static const char *first_env(const char *a, const char *b)
{
	const char *v = getenv(a);

	if (v && *v)
		return v;
	v = getenv(b);
	return v && *v ? v : NULL;
}

void pb_store_config_from(struct pb_store_config *c,
			  const struct pb_config *cfg)
{
	pb_store_config_init(c, cfg->store.url);
	/* as the AWS CLI and SDKs read them */
	c->endpoint = cfg->store.endpoint ? cfg->store.endpoint :
					    first_env("AWS_ENDPOINT_URL_S3",
						      "AWS_ENDPOINT_URL");
	c->region = cfg->store.region ?
			    cfg->store.region :
			    first_env("AWS_REGION", "AWS_DEFAULT_REGION");
	c->access_key = cfg->store.access_key.value;
	c->secret_key = cfg->store.secret_key.value;
	c->session_token = cfg->store.session_token.value;
	c->style = cfg->store.s3_path_style < 0 ? PB_S3_STYLE_AUTO :
		   cfg->store.s3_path_style	? PB_S3_STYLE_PATH :
						  PB_S3_STYLE_VHOST;
	if (cfg->store.multipart_threshold > 0)
		c->multipart_threshold =
			(uint64_t)cfg->store.multipart_threshold;
	if (cfg->store.part_size > 0)
		c->part_size = (uint64_t)cfg->store.part_size;
	if (cfg->store.parallel > 0)
		c->parallel = cfg->store.parallel;
}

int pb_store_open(struct pb_store **out, const struct pb_store_config *c)
{
	struct pb_store_url u;
	const struct pb_store_ops *ops;
	int rc;

	*out = NULL;
	if ((rc = pb_store_url_parse(&u, c->url)) < 0)
		goto out;
	ops = u.kind == PB_STORE_S3 ? &pb_store_s3_ops : &pb_store_file_ops;
	if ((rc = ops->open(out, &u, c)) == 0)
		(*out)->ops = ops;
out:
	pb_store_url_release(&u);
	return rc;
}

void pb_store_free(struct pb_store *s)
{
	if (s)
		s->ops->free(s);
}

/* A key is relative segments: no "", ".", ".." and no leading "/". */
static int key_check(const char *key)
{
	const char *seg = key, *end;
	size_t n;

	if (!*key)
		return pb_err_setc(PB_EINVAL, "store key is empty: expected "
					      "OWNER/REPO/SHA/FILENAME");
	if (*key == '/')
		return pb_err_setc(PB_EINVAL,
				   "store key '%s': must be relative "
				   "(OWNER/REPO/SHA/FILENAME)",
				   key);
	for (;;) {
		end = strchr(seg, '/');
		n = end ? (size_t)(end - seg) : strlen(seg);
		if (n == 0)
			return pb_err_setc(PB_EINVAL,
					   "store key '%s': empty segment",
					   key);
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return pb_err_setc(PB_EINVAL,
					   "store key '%s': '.' and '..' are "
					   "not allowed",
					   key);
		if (!end)
			return 0;
		seg = end + 1;
	}
}

int pb_store_src_open(int *fd, struct stat *st, const char *src)
{
	if ((*fd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return pb_err_setc(errno == ENOENT ? PB_ENOTFOUND : PB_ERROR,
				   "cannot read '%s': %s", src,
				   strerror(errno));
	if (fstat(*fd, st) < 0)
		return pb_err_set("cannot read '%s': %s", src, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return pb_err_setc(PB_EINVAL, "'%s' is not a regular file",
				   src);
	return 0;
}

/*
 * Did src change while it was read? Its size then differs from what was
 * read or from what it was when opened.
 */
int pb_store_src_changed(int fd, const struct stat *before, uint64_t read,
			 const char *src)
{
	struct stat now;

	if (fstat(fd, &now) < 0)
		return pb_err_set("cannot read '%s': %s", src, strerror(errno));
	if ((uint64_t)before->st_size != read || now.st_size != before->st_size)
		return pb_err_setc(PB_ECHANGED,
				   "'%s' changed while it was read (%lld "
				   "bytes when opened, %llu read, %lld now): "
				   "nothing was stored; make sure nothing "
				   "writes the model any more and run again",
				   src, (long long)before->st_size,
				   (unsigned long long)read,
				   (long long)now.st_size);
	return 0;
}

char *pb_store_url(const struct pb_store *s, const char *key)
{
	return s->ops->url(s, key);
}

int pb_store_put(struct pb_put_result *out, struct pb_store *s, const char *key,
		 const char *src)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = key_check(key)) < 0 ||
	    (rc = s->ops->put(out, s, key, src)) < 0) {
		pb_put_result_release(out);
		memset(&out->digest, 0, sizeof(out->digest));
		out->skipped = 0;
	}
	return rc;
}

void pb_put_result_release(struct pb_put_result *r)
{
	free(r->url);
	free(r->path);
	r->url = NULL;
	r->path = NULL;
}

int pb_store_head(struct pb_store_object *out, struct pb_store *s,
		  const char *key)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = key_check(key)) < 0)
		return rc;
	return s->ops->head(out, s, key);
}

int pb_store_get(struct pb_digest *out, struct pb_store *s, const char *key,
		 const char *dst)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = key_check(key)) < 0)
		return rc;
	return s->ops->get(out, s, key, dst);
}

/* Split "SCHEME://HOLDER/KEY" at the slash that ends the holder. */
static int split_object(char **holder, char **key, const char *url,
			size_t scheme_len, int file)
{
	const char *rest = url + scheme_len, *cut;

	/* file:///a/b/model.pkl: the folder holds, the file name is the key;
	   s3://bucket/a/b: the bucket holds, a/b is the key */
	cut = file ? strrchr(rest, '/') : strchr(rest, '/');
	if (!cut || !cut[1] || (file && cut == rest))
		return pb_err_setc(
			PB_EINVAL, "'%s' names no object: expected %s", url,
			file ? "file:///PATH/FILE" : "s3://BUCKET/KEY");
	if (!(*holder = strndup(url, (size_t)(cut - url))) ||
	    !(*key = strdup(cut + 1)))
		return pb_err_set("out of memory");
	return 0;
}

int pb_store_open_object(struct pb_store **out, char **key,
			 const struct pb_store_config *c,
			 const char *object_url)
{
	struct pb_store_config oc = *c;
	char *holder = NULL;
	int rc, file = strncmp(object_url, "file://", 7) == 0;

	*out = NULL;
	*key = NULL;
	if (!file && strncmp(object_url, "s3://", 5) != 0)
		return pb_err_setc(PB_EINVAL,
				   "'%s' is not a store URL: expected "
				   "file:///PATH or s3://BUCKET/KEY",
				   object_url);
	if ((rc = split_object(&holder, key, object_url, file ? 7 : 5, file)) <
	    0)
		goto out;
	oc.url = holder;
	rc = pb_store_open(out, &oc);
out:
	free(holder);
	if (rc < 0) {
		free(*key);
		*key = NULL;
	}
	return rc;
}
