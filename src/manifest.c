/* manifest.c: model_manifest.json, built, written and verified */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/hash.h"
#include "prbot/manifest.h"
#include "prbot/fs.h"
#include "banned.h"

/*
 * 15 significant digits: a metric of 0.9 is written 0.9, not
 * 0.90000000000000002 (Jansson's default of 17 shows the binary error).
 */
#define MANIFEST_DUMP_FLAGS \
	(JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))

/* Text that is not UTF-8 (a commit message can be anything) as ASCII. */
static json_t *ascii_string(const char *s)
{
	json_t *v;
	char *copy = strdup(s);
	size_t i;

	if (!copy)
		return NULL;
	for (i = 0; copy[i]; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

/* A string, or null for NULL; NULL only when out of memory. */
static json_t *str_or_null(const char *s)
{
	json_t *v;

	if (!s)
		return json_null();
	if ((v = json_string(s)))
		return v;
	return ascii_string(s);
}

static json_t *object_or_empty(const json_t *o)
{
	return o ? json_deep_copy(o) : json_object();
}

static json_t *iso_utc(time_t t)
{
	struct tm tm;
	char text[32];

	if (!gmtime_r(&t, &tm) ||
	    !strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(text);
}

/* Set key to v; a failure (v NULL: out of memory) is kept in *bad. */
static void put(json_t *o, const char *key, json_t *v, int *bad)
{
	/* json_object_set_new takes v, and frees it when it fails */
	if (json_object_set_new(o, key, v) < 0)
		*bad = 1;
}

static json_t *job_object(const struct pb_manifest_info *info)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	put(o, "id", str_or_null(info->job.id), &bad);
	put(o, "command", str_or_null(info->job.command), &bad);
	put(o, "actor", str_or_null(info->job.actor), &bad);
	put(o, "source", str_or_null(info->job.source), &bad);
	put(o, "prbot_version", json_string(PRBOT_VERSION), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *pb_manifest_build(const struct pb_manifest_info *info)
{
	const struct pb_digest *d = info->digest;
	json_t *m = json_object();
	int bad = 0;

	if (!m)
		return NULL;
	/* the established keys, as existing inference code reads them */
	put(m, "model_filepath", str_or_null(info->model_filepath), &bad);
	put(m, "model_md5_hash", str_or_null(d ? d->md5 : NULL), &bad);
	put(m, "model_origin_repo", str_or_null(info->origin_repo), &bad);
	put(m, "model_origin_ref", str_or_null(info->origin_ref), &bad);
	put(m, "model_origin_commit_SHA", str_or_null(info->commit_sha), &bad);
	put(m, "model_origin_commit_msg", str_or_null(info->commit_msg), &bad);
	put(m, "model_uploaded_utc", iso_utc(info->uploaded), &bad);
	/* added by prbot */
	put(m, "model_sha256", str_or_null(d ? d->sha256 : NULL), &bad);
	put(m, "model_size_bytes",
	    d ? json_integer((json_int_t)d->size) : json_null(), &bad);
	put(m, "metrics", object_or_empty(info->metrics), &bad);
	put(m, "gates", object_or_empty(info->gates), &bad);
	put(m, "version", str_or_null(info->version), &bad);
	put(m, "environment", str_or_null(info->environment), &bad);
	put(m, "job", job_object(info), &bad);
	if (bad) {
		json_decref(m);
		return NULL;
	}
	return m;
}

int pb_manifest_dump(struct pb_buf *out, const json_t *manifest)
{
	char *text;
	int rc;

	if (!(text = json_dumps(manifest, MANIFEST_DUMP_FLAGS)))
		return pb_err_set("cannot write the manifest: out of memory");
	if ((rc = pb_buf_puts(out, text)) == 0)
		rc = pb_buf_putc(out, '\n');
	free(text);
	return rc;
}

int pb_manifest_write(const char *path, const json_t *manifest)
{
	struct pb_buf b = PB_BUF_INIT;
	int rc;

	if ((rc = pb_manifest_dump(&b, manifest)) < 0)
		rc = pb_err_set("cannot write '%s': out of memory", path);
	else
		rc = pb_write_atomic(path, b.ptr, b.len);
	pb_buf_release(&b);
	return rc;
}

static int is_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[len] == '\0';
}

/*
 * The recorded hash under key: *out is NULL when the key is absent (or null)
 * and optional; PB_EINVAL naming file and key when it is not len hex digits.
 */
static int hash_field(const char **out, const json_t *m, const char *key,
		      size_t len, int required, const char *file)
{
	const json_t *v = json_object_get(m, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		return pb_err_setc(PB_EINVAL, "%s: '%s' is missing", file, key);
	}
	if (!json_is_string(v) || !is_hex(json_string_value(v), len))
		return pb_err_setc(PB_EINVAL, "%s: '%s' must be %zu hex digits",
				   file, key, len);
	*out = json_string_value(v);
	return 0;
}

/* model_size_bytes: -1 when absent; PB_EINVAL when not a count. */
static int size_field(json_int_t *out, const json_t *m, const char *file)
{
	const json_t *v = json_object_get(m, "model_size_bytes");

	*out = -1;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return pb_err_setc(PB_EINVAL,
				   "%s: 'model_size_bytes' must be a "
				   "non-negative integer",
				   file);
	*out = json_integer_value(v);
	return 0;
}

static int load_manifest(json_t **out, const char *path)
{
	json_error_t jerr;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return pb_err_setc(errno == ENOENT ? PB_ENOTFOUND : PB_ERROR,
				   "cannot read '%s': %s", path,
				   strerror(errno));
	*out = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	if (!*out)
		return pb_err_setc(PB_EINVAL, "%s:%d: %s", path, jerr.line,
				   jerr.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return pb_err_setc(PB_EINVAL, "%s: expected a JSON object",
				   path);
	}
	return 0;
}

/*
 * The model named by the manifest's model_filepath: an s3:// URL as it is
 * (*is_url set), or a local file: an absolute path, a path relative to the
 * manifest's folder, or file:///PATH.
 */
static int model_from_manifest(struct pb_buf *out, int *is_url, const json_t *m,
			       const char *manifest_path)
{
	const json_t *v = json_object_get(m, "model_filepath");
	const char *fp, *slash;

	*is_url = 0;
	if (!json_is_string(v))
		return pb_err_setc(PB_EINVAL,
				   "%s: 'model_filepath' is missing: give "
				   "MODEL_FILE",
				   manifest_path);
	fp = json_string_value(v);
	if (strncmp(fp, "s3://", 5) == 0) {
		*is_url = 1;
		return pb_buf_puts(out, fp);
	}
	if (strncmp(fp, "file://", 7) == 0) {
		fp += 7;
		if (strncmp(fp, "localhost/", 10) == 0)
			fp += 9;
		if (*fp != '/')
			fp = NULL;
	} else if (!*fp || strstr(fp, "://")) {
		fp = NULL;
	}
	if (!fp)
		return pb_err_setc(PB_EINVAL,
				   "model_filepath '%s' is neither a local "
				   "file nor an s3:// URL: give MODEL_FILE",
				   json_string_value(v));
	if (*fp == '/')
		return pb_buf_puts(out, fp);
	slash = strrchr(manifest_path, '/');
	if (!slash)
		return pb_buf_puts(out, fp);
	return pb_buf_printf(out, "%.*s/%s", (int)(slash - manifest_path),
			     manifest_path, fp);
}

/* What the manifest recorded; checked before any hashing. */
struct recorded {
	const char *md5;    /* borrowed from the manifest */
	const char *sha256; /* NULL when not recorded */
	json_int_t size;    /* -1 when not recorded */
};

static int recorded_read(struct recorded *r, const json_t *m, const char *file)
{
	int rc;

	if ((rc = hash_field(&r->md5, m, "model_md5_hash", 32, 1, file)) < 0 ||
	    (rc = hash_field(&r->sha256, m, "model_sha256", 64, 0, file)) < 0)
		return rc;
	return size_field(&r->size, m, file);
}

static int compare(const struct recorded *r, const struct pb_digest *d,
		   const char *model)
{
	if (!d) /* only the manifest is checked */
		return 0;
	if (strcasecmp(r->md5, d->md5) != 0)
		return pb_err_set("model_md5_hash mismatch: manifest has %s, "
				  "'%s' has %s",
				  r->md5, model, d->md5);
	if (r->sha256 && strcasecmp(r->sha256, d->sha256) != 0)
		return pb_err_set("model_sha256 mismatch: manifest has %s, "
				  "'%s' has %s",
				  r->sha256, model, d->sha256);
	if (r->size >= 0 && (uint64_t)r->size != d->size)
		return pb_err_set("model_size_bytes mismatch: manifest has "
				  "%lld, '%s' has %llu",
				  (long long)r->size, model,
				  (unsigned long long)d->size);
	return 0;
}

int pb_manifest_model(char **out, int *is_url, const char *manifest_path)
{
	struct pb_buf model = PB_BUF_INIT;
	json_t *m = NULL;
	int rc;

	*out = NULL;
	if ((rc = load_manifest(&m, manifest_path)) == 0 &&
	    (rc = model_from_manifest(&model, is_url, m, manifest_path)) == 0)
		*out = pb_buf_detach(&model);
	json_decref(m);
	pb_buf_release(&model);
	return rc;
}

int pb_manifest_check(const char *manifest_path, const struct pb_digest *d,
		      const char *model)
{
	struct recorded rec;
	json_t *m = NULL;
	int rc;

	if ((rc = load_manifest(&m, manifest_path)) == 0 &&
	    (rc = recorded_read(&rec, m, manifest_path)) == 0)
		rc = compare(&rec, d, model);
	json_decref(m);
	return rc;
}

int pb_manifest_verify(struct pb_digest *out, const char *manifest_path,
		       const char *model_path)
{
	struct pb_digest d;
	char *model = NULL;
	int rc, is_url = 0;

	if (out)
		memset(out, 0, sizeof(*out));
	if (model_path)
		model = strdup(model_path);
	else if ((rc = pb_manifest_model(&model, &is_url, manifest_path)) < 0)
		return rc;
	if (!model)
		return pb_err_set("out of memory");
	/* the manifest first: a broken one is reported before any hashing */
	if ((rc = pb_manifest_check(manifest_path, NULL, model)) < 0)
		goto out;
	if (is_url) {
		rc = pb_err_setc(PB_EINVAL,
				 "model_filepath '%s' is in a store: "
				 "'prbot verify' reads it from there",
				 model);
		goto out;
	}
	if ((rc = pb_hash_file(&d, model)) < 0)
		goto out;
	if (out)
		*out = d;
	rc = pb_manifest_check(manifest_path, &d, model);
out:
	free(model);
	return rc;
}
