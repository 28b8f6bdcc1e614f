/* metrics.c: a metrics file, a JSON object of numbers flattened to a.b.c */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/evaluate.h"
#include "jsonutil.h"
#include "banned.h"

struct flatten {
	struct pb_metrics m;
	size_t alloc;
	json_t *seen; /* flattened names so far, to refuse "a.b" twice */
	const char *file;
};

static int metric_add(struct flatten *f, const char *name, double value)
{
	struct pb_metric *v;
	char *copy;

	if (json_object_get(f->seen, name))
		return pb_err_setc(
			PB_EINVAL,
			"%s: key '%s' appears twice after nested keys "
			"are joined with '.': rename one",
			f->file, name);
	if (f->m.n == f->alloc) {
		size_t n = f->alloc ? f->alloc * 2 : 16;

		v = realloc(f->m.v, n * sizeof(*v));
		if (!v)
			return pb_err_set("out of memory");
		f->m.v = v;
		f->alloc = n;
	}
	if (!(copy = strdup(name)))
		return pb_err_set("out of memory");
	if (json_object_set_new(f->seen, name, json_true()) < 0) {
		free(copy);
		return pb_err_set("out of memory");
	}
	f->m.v[f->m.n].name = copy;
	f->m.v[f->m.n].value = value;
	f->m.n++;
	return 0;
}

/* prefix holds the flattened name of obj ("" at the top); restored on exit. */
static int flatten_object(struct flatten *f, const json_t *obj,
			  struct pb_buf *prefix)
{
	size_t keep = prefix->len;
	const char *key;
	json_t *v;
	void *it;
	int rc = 0;

	/* the iterator follows insertion order, so metrics keep file order */
	for (it = json_object_iter((json_t *)obj); it;
	     it = json_object_iter_next((json_t *)obj, it)) {
		key = json_object_iter_key(it);
		v = json_object_iter_value(it);
		if (!*key) {
			rc = pb_err_setc(PB_EINVAL,
					 "%s: an empty key %s%s%s: give the "
					 "metric a name",
					 f->file,
					 keep ? "under '" : "at the top",
					 keep ? pb_buf_cstr(prefix) : "",
					 keep ? "'" : "");
			break;
		}
		if ((keep && (rc = pb_buf_putc(prefix, '.')) < 0) ||
		    (rc = pb_buf_puts(prefix, key)) < 0)
			break;
		if (json_is_object(v))
			rc = flatten_object(f, v, prefix);
		else if (json_is_number(v))
			rc = metric_add(f, pb_buf_cstr(prefix),
					json_number_value(v));
		else
			rc = pb_err_setc(
				PB_EINVAL,
				"%s: key '%s' is %s, expected a number",
				f->file, pb_buf_cstr(prefix), pb_json_kind(v));
		if (rc < 0)
			break;
		prefix->len = keep;
		prefix->ptr[keep] = '\0';
	}
	return rc;
}

int pb_metrics_from_json(struct pb_metrics *out, const json_t *obj,
			 const char *file)
{
	struct flatten f = { { NULL, 0 }, 0, NULL, file ? file : "metrics" };
	struct pb_buf prefix = PB_BUF_INIT;
	int rc;

	out->v = NULL;
	out->n = 0;
	if (!json_is_object(obj))
		return pb_err_setc(PB_EINVAL,
				   "%s: expected a JSON object of numbers, "
				   "got %s",
				   f.file, obj ? pb_json_kind(obj) : "nothing");
	if (!(f.seen = json_object()))
		return pb_err_set("out of memory");
	if ((rc = flatten_object(&f, obj, &prefix)) < 0) {
		pb_metrics_release(&f.m);
		goto out;
	}
	*out = f.m;
out:
	pb_buf_release(&prefix);
	json_decref(f.seen);
	return rc;
}

int pb_metrics_load(struct pb_metrics *out, const char *path)
{
	json_error_t jerr;
	json_t *obj = NULL;
	FILE *fp;
	int rc;

	out->v = NULL;
	out->n = 0;
	if (!(fp = fopen(path, "rb"))) {
		if (errno == ENOENT)
			return pb_err_setc(PB_ENOTFOUND,
					   "metrics file '%s' not found (the "
					   "training step must write it)",
					   path);
		return pb_err_set("cannot read metrics file '%s': %s", path,
				  strerror(errno));
	}
	/*
	 * Integers as reals: a metric is a double anyway, and a count past
	 * 2^63 must not fail the parse. JSON_DECODE_ANY lets a top-level
	 * list or string get the clearer message of pb_metrics_from_json.
	 */
	obj = json_loadf(fp,
			 JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL |
				 JSON_REJECT_DUPLICATES,
			 &jerr);
	fclose(fp);
	if (!obj)
		return pb_err_setc(PB_EINVAL, "%s:%d: %s", path,
				   jerr.line > 0 ? jerr.line : 1, jerr.text);
	rc = pb_metrics_from_json(out, obj, path);
	json_decref(obj);
	return rc;
}

const double *pb_metrics_get(const struct pb_metrics *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].name, name))
			return &m->v[i].value;
	return NULL;
}

void pb_metrics_release(struct pb_metrics *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		free(m->v[i].name);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

json_t *pb_metrics_json(const struct pb_metrics *m)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < m->n; i++)
		if (json_object_set_new(o, m->v[i].name,
					json_real(m->v[i].value)) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}
