/* repoconf.c: .prbot.yml read with libyaml, every problem kept with its line */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/repoconf.h"
#include "prbot/suggest.h"
#include "banned.h"

#define REPOCONF_MAX_SIZE (1024 * 1024)

struct yctx {
	yaml_document_t *doc;
	const char *file;
	struct pb_diags *diags;
	struct pb_repo_config *c;
	const yaml_node_t *model; /* the value of model:, even a bad one */
	int oom;
};

static int diag(struct yctx *x, const yaml_node_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int diag(struct yctx *x, const yaml_node_t *at, const char *fmt, ...)
{
	struct pb_buf b = PB_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	if (pb_buf_vprintf(&b, fmt, ap) < 0)
		x->oom = 1;
	va_end(ap);
	pb_diag_add(x->diags, x->file, at ? (int)at->start_mark.line + 1 : 0,
		    "%s", pb_buf_cstr(&b));
	pb_buf_release(&b);
	return PB_EINVAL;
}

/* ---- durations ---- */

int pb_duration_parse(long *out_sec, const char *text)
{
	static const struct {
		char unit;
		long sec;
	} units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	const char *p = text;
	size_t next = 0, i;
	long total = 0, n;
	char *end;

	if (!p || !isdigit((unsigned char)*p))
		goto bad;
	errno = 0;
	n = strtol(p, &end, 10);
	if (errno)
		goto bad;
	if (!*end) { /* plain seconds */
		*out_sec = n;
		return 0;
	}
	/* "1h30m": each unit once, largest first, so a typo cannot hide */
	while (*p) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		errno = 0;
		n = strtol(p, &end, 10);
		if (errno)
			goto bad;
		for (i = next; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].unit == *end)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			goto bad;
		if (n > (LONG_MAX - total) / units[i].sec)
			goto bad;
		total += n * units[i].sec;
		next = i + 1;
		p = end + 1;
	}
	*out_sec = total;
	return 0;
bad:
	return pb_err_setc(PB_EINVAL,
			   "bad duration '%s': expected seconds or a duration "
			   "such as 90s, 30m, 2h or 1h30m",
			   text ? text : "");
}

/* ---- node helpers ---- */

static const char *type_name(yaml_node_type_t t)
{
	switch (t) {
	case YAML_SCALAR_NODE:
		return "a string";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static const char *kind_name(const yaml_node_t *n)
{
	return type_name(n->type);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* "key:" with nothing after it, "~" or "null": the key is not set */
static int is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = scalar(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int want_type(struct yctx *x, const yaml_node_t *n, const char *field,
		     yaml_node_type_t type)
{
	if (n->type == type)
		return 0;
	return diag(x, n, "'%s': expected %s, got %s", field, type_name(type),
		    kind_name(n));
}

/* A string field; a null leaves *dst as it was (the default). */
static int get_string(struct yctx *x, const yaml_node_t *n, const char *field,
		      char **dst)
{
	char *s;

	if (is_null(n))
		return 0;
	if (want_type(x, n, field, YAML_SCALAR_NODE) < 0)
		return PB_EINVAL;
	s = strdup(scalar(n));
	if (!s) {
		x->oom = 1;
		return PB_ERROR;
	}
	free(*dst);
	*dst = s;
	return 0;
}

/* Paths name files inside the checkout and must stay inside it. */
static int check_path(struct yctx *x, const yaml_node_t *n, const char *field,
		      const char *path)
{
	const char *p = path;
	size_t len;

	if (!*path)
		return diag(x, n, "'%s': expected a path, got an empty string",
			    field);
	if (*path == '/')
		return diag(x, n,
			    "'%s': '%s' is an absolute path: give a path "
			    "relative to the repository root",
			    field, path);
	while (*p) {
		len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return diag(x, n,
				    "'%s': '%s' contains '..': give a path "
				    "inside the repository",
				    field, path);
		p += len;
		if (*p == '/')
			p++;
	}
	return 0;
}

static int get_path(struct yctx *x, const yaml_node_t *n, const char *field,
		    char **dst)
{
	char *old = *dst;
	int rc;

	*dst = NULL;
	rc = get_string(x, n, field, dst);
	if (rc == 0 && *dst && check_path(x, n, field, *dst) < 0)
		rc = PB_EINVAL;
	if (rc < 0 || !*dst) {
		free(*dst);
		*dst = old;
		return rc;
	}
	free(old);
	return 0;
}

static void unknown_key(struct yctx *x, const yaml_node_t *key,
			const char *where, const char *const *known)
{
	struct pb_buf list = PB_BUF_INIT;
	const char *hit = NULL, *name = scalar(key);
	size_t i, best = SIZE_MAX;

	for (i = 0; known[i]; i++) {
		if (pb_suggest_close(name, known[i], &best))
			hit = known[i];
		pb_buf_printf(&list, "%s%s", i ? ", " : "", known[i]);
	}
	if (hit && where)
		diag(x, key, "unknown key '%s' in '%s' (did you mean '%s'?)",
		     name, where, hit);
	else if (hit)
		diag(x, key, "unknown key '%s' (did you mean '%s'?)", name,
		     hit);
	else if (where)
		diag(x, key, "unknown key '%s' in '%s': expected one of %s",
		     name, where, pb_buf_cstr(&list));
	else
		diag(x, key, "unknown key '%s': expected one of %s", name,
		     pb_buf_cstr(&list));
	pb_buf_release(&list);
}

/* The key before p (from start) with the same text as p's, or NULL. */
static const yaml_node_t *earlier_key(struct yctx *x,
				      const yaml_node_pair_t *start,
				      const yaml_node_pair_t *p)
{
	const yaml_node_t *key = yaml_document_get_node(x->doc, p->key);
	const yaml_node_t *prev;

	for (; start < p; start++) {
		prev = yaml_document_get_node(x->doc, start->key);
		if (prev && prev->type == YAML_SCALAR_NODE &&
		    !strcmp(scalar(prev), scalar(key)))
			return prev;
	}
	return NULL;
}

/*
 * The next pair of map whose key is known (any key when known is NULL);
 * keys that are not strings, repeated or unknown are reported and skipped.
 */
static int next_pair(struct yctx *x, const yaml_node_t *map, size_t *i,
		     const char *where, const char *const *known,
		     yaml_node_t **key, yaml_node_t **val)
{
	yaml_node_pair_t *start = map->data.mapping.pairs.start;
	yaml_node_pair_t *top = map->data.mapping.pairs.top;
	const yaml_node_t *prev;
	yaml_node_pair_t *p;
	size_t k;

	for (; start + *i < top; (*i)++) {
		p = start + *i;
		*key = yaml_document_get_node(x->doc, p->key);
		*val = yaml_document_get_node(x->doc, p->value);
		if (!*key || !*val)
			continue;
		if ((*key)->type != YAML_SCALAR_NODE) {
			diag(x, *key, "%s%s%sexpected a plain key, got %s",
			     where ? "'" : "", where ? where : "",
			     where ? "': " : "", kind_name(*key));
			continue;
		}
		prev = earlier_key(x, start, p);
		if (prev) {
			diag(x, *key,
			     "duplicate key '%s' (first on line %d): keep one",
			     scalar(*key), (int)prev->start_mark.line + 1);
			continue;
		}
		if (known) {
			for (k = 0; known[k]; k++)
				if (!strcmp(known[k], scalar(*key)))
					break;
			if (!known[k]) {
				unknown_key(x, *key, where, known);
				continue;
			}
		}
		(*i)++;
		return 1;
	}
	return 0;
}

/* "train.timeout" for messages */
static const char *field(char *buf, size_t size, const char *a, const char *b)
{
	snprintf(buf, size, "%s.%s", a, b);
	return buf;
}

/* ---- sections ---- */

static void parse_timeout(struct yctx *x, const yaml_node_t *v)
{
	long sec;

	if (is_null(v) ||
	    want_type(x, v, "train.timeout", YAML_SCALAR_NODE) < 0)
		return;
	if (pb_duration_parse(&sec, scalar(v)) < 0 || sec <= 0) {
		diag(x, v,
		     "'train.timeout': expected a duration such as 90s, 30m, "
		     "2h, 1h30m or a number of seconds, got '%s'",
		     scalar(v));
		return;
	}
	x->c->train.timeout_sec = sec;
}

static void parse_train(struct yctx *x, const yaml_node_t *m)
{
	static const char *const known[] = {
		"setup", "requirements", "notebook", "command", "timeout", NULL,
	};
	yaml_node_t *k, *v, *notebook = NULL, *command = NULL;
	char f[64];
	size_t i = 0;

	if (want_type(x, m, "train", YAML_MAPPING_NODE) < 0)
		return;
	while (next_pair(x, m, &i, "train", known, &k, &v)) {
		const char *name = scalar(k);

		field(f, sizeof(f), "train", name);
		if (!strcmp(name, "setup")) {
			get_string(x, v, f, &x->c->train.setup);
		} else if (!strcmp(name, "requirements")) {
			get_path(x, v, f, &x->c->train.requirements);
		} else if (!strcmp(name, "notebook")) {
			if (get_path(x, v, f, &x->c->train.notebook) == 0 &&
			    !is_null(v))
				notebook = k;
		} else if (!strcmp(name, "command")) {
			if (get_string(x, v, f, &x->c->train.command) == 0 &&
			    !is_null(v))
				command = k;
		} else {
			parse_timeout(x, v);
		}
	}
	if (notebook && command)
		diag(x,
		     notebook->start_mark.line > command->start_mark.line ?
			     notebook :
			     command,
		     "'train': both 'notebook' and 'command' are set: keep "
		     "one (or neither when the model is checked in)");
}

static void parse_gates(struct yctx *x, const yaml_node_t *m)
{
	struct pb_gate *g;
	yaml_node_t *k, *v;
	char f[128];
	size_t i = 0, n;

	if (is_null(m) ||
	    want_type(x, m, "evaluate.gates", YAML_MAPPING_NODE) < 0)
		return;
	n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	if (!n)
		return;
	x->c->evaluate.gates = calloc(n, sizeof(*g));
	if (!x->c->evaluate.gates) {
		x->oom = 1;
		return;
	}
	while (next_pair(x, m, &i, "evaluate.gates", NULL, &k, &v)) {
		field(f, sizeof(f), "evaluate.gates", scalar(k));
		if (v->type != YAML_SCALAR_NODE || is_null(v)) {
			diag(x, v,
			     "'%s': expected a quoted condition such as "
			     "\">= 0.90\", got %s",
			     f, is_null(v) ? "nothing" : kind_name(v));
			continue;
		}
		g = &x->c->evaluate.gates[x->c->evaluate.n_gates];
		if (pb_gate_parse(g, scalar(k), scalar(v)) < 0) {
			diag(x, v, "%s", pb_err_last());
			continue;
		}
		x->c->evaluate.n_gates++;
	}
}

static void parse_evaluate(struct yctx *x, const yaml_node_t *m)
{
	static const char *const known[] = {
		"predict", "test_cases", "gates", "baseline", NULL,
	};
	yaml_node_t *k, *v;
	char f[64];
	size_t i = 0;

	if (want_type(x, m, "evaluate", YAML_MAPPING_NODE) < 0)
		return;
	while (next_pair(x, m, &i, "evaluate", known, &k, &v)) {
		const char *name = scalar(k);

		field(f, sizeof(f), "evaluate", name);
		if (!strcmp(name, "predict"))
			get_string(x, v, f, &x->c->evaluate.predict);
		else if (!strcmp(name, "test_cases"))
			get_path(x, v, f, &x->c->evaluate.test_cases);
		else if (!strcmp(name, "gates"))
			parse_gates(x, v);
		else
			get_string(x, v, f, &x->c->evaluate.baseline);
	}
}

/* A list of strings, each checked as a path when paths is set. */
static void parse_list(struct yctx *x, const yaml_node_t *seq, const char *f,
		       int paths, char ***out, size_t *out_n)
{
	yaml_node_item_t *it;
	yaml_node_t *n;
	size_t cap;
	char *s;

	if (is_null(seq) || want_type(x, seq, f, YAML_SEQUENCE_NODE) < 0)
		return;
	cap = (size_t)(seq->data.sequence.items.top -
		       seq->data.sequence.items.start);
	if (!cap)
		return;
	*out = calloc(cap, sizeof(**out));
	if (!*out) {
		x->oom = 1;
		return;
	}
	for (it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		n = yaml_document_get_node(x->doc, *it);
		if (!n)
			continue;
		if (n->type != YAML_SCALAR_NODE || is_null(n)) {
			diag(x, n, "'%s': expected a list of strings, got %s",
			     f, is_null(n) ? "an empty item" : kind_name(n));
			continue;
		}
		if (paths && check_path(x, n, f, scalar(n)) < 0)
			continue;
		s = strdup(scalar(n));
		if (!s) {
			x->oom = 1;
			return;
		}
		(*out)[(*out_n)++] = s;
	}
}

static void parse_environment(struct yctx *x, const yaml_node_t *name,
			      const yaml_node_t *m, struct pb_environment *e)
{
	static const char *const known[] = {
		"repo", "branch", "path", "requires", NULL,
	};
	yaml_node_t *k, *v;
	char where[128], f[160];
	size_t i = 0, j;

	snprintf(where, sizeof(where), "deploy.environments.%s", e->name);
	if (want_type(x, m, where, YAML_MAPPING_NODE) < 0)
		return;
	while (next_pair(x, m, &i, where, known, &k, &v)) {
		const char *key = scalar(k);

		field(f, sizeof(f), where, key);
		if (!strcmp(key, "repo")) {
			get_string(x, v, f, &e->repo);
		} else if (!strcmp(key, "branch")) {
			get_string(x, v, f, &e->branch);
		} else if (!strcmp(key, "path")) {
			get_path(x, v, f, &e->path);
		} else {
			parse_list(x, v, f, 0, &e->requires, &e->n_requires);
			for (j = 0; j < e->n_requires; j++)
				if (strcmp(e->requires[j], "approved") &&
				    strcmp(e->requires[j], "checks"))
					diag(x, v,
					     "'%s': unknown requirement '%s': "
					     "use approved, checks or both",
					     f, e->requires[j]);
		}
	}
	if (!e->repo)
		diag(x, name,
		     "'%s': missing 'repo' (the serving repository's URL)",
		     where);
}

static void parse_environments(struct yctx *x, const yaml_node_t *m)
{
	struct pb_environment *e;
	yaml_node_t *k, *v;
	size_t i = 0, n;

	if (is_null(m) ||
	    want_type(x, m, "deploy.environments", YAML_MAPPING_NODE) < 0)
		return;
	n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	if (!n)
		return;
	x->c->deploy.envs = calloc(n, sizeof(*e));
	if (!x->c->deploy.envs) {
		x->oom = 1;
		return;
	}
	while (next_pair(x, m, &i, "deploy.environments", NULL, &k, &v)) {
		const char *name = scalar(k);

		if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz"
					   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "0123456789_-") != strlen(name)) {
			diag(x, k,
			     "'deploy.environments': '%s' is not an "
			     "environment name: use letters, digits, '-' and "
			     "'_'",
			     name);
			continue;
		}
		e = &x->c->deploy.envs[x->c->deploy.n_envs++];
		e->name = strdup(name);
		e->branch = strdup("main");
		e->path = strdup(".");
		if (!e->name || !e->branch || !e->path) {
			x->oom = 1;
			return;
		}
		parse_environment(x, k, v, e);
	}
}

static void parse_deploy(struct yctx *x, const yaml_node_t *m)
{
	static const char *const known[] = {
		"version_schema",
		"inference",
		"environments",
		NULL,
	};
	yaml_node_t *k, *v;
	const char *s;
	size_t i = 0;

	if (want_type(x, m, "deploy", YAML_MAPPING_NODE) < 0)
		return;
	while (next_pair(x, m, &i, "deploy", known, &k, &v)) {
		const char *name = scalar(k);

		if (!strcmp(name, "inference")) {
			parse_list(x, v, "deploy.inference", 1,
				   &x->c->deploy.inference,
				   &x->c->deploy.n_inference);
		} else if (!strcmp(name, "environments")) {
			parse_environments(x, v);
		} else if (!is_null(v) &&
			   want_type(x, v, "deploy.version_schema",
				     YAML_SCALAR_NODE) == 0) {
			s = scalar(v);
			if (!strcmp(s, "major"))
				x->c->deploy.version_schema = PB_VERSION_MAJOR;
			else if (!strcmp(s, "minor"))
				x->c->deploy.version_schema = PB_VERSION_MINOR;
			else if (!strcmp(s, "revision"))
				x->c->deploy.version_schema =
					PB_VERSION_REVISION;
			else
				diag(x, v,
				     "'deploy.version_schema': expected major, "
				     "minor or revision, got '%s'",
				     s);
		}
	}
}

static void parse_root(struct yctx *x, const yaml_node_t *root)
{
	static const char *const known[] = {
		"train", "model", "metrics", "evaluate", "deploy", NULL,
	};
	yaml_node_t *k, *v;
	size_t i = 0;

	if (root->type != YAML_MAPPING_NODE) {
		diag(x, root,
		     "expected a mapping of train, model, metrics, evaluate "
		     "and deploy at the top, got %s",
		     kind_name(root));
		return;
	}
	while (next_pair(x, root, &i, NULL, known, &k, &v)) {
		const char *name = scalar(k);

		if (!strcmp(name, "train")) {
			parse_train(x, v);
		} else if (!strcmp(name, "model")) {
			x->model = v;
			get_path(x, v, "model", &x->c->model);
		} else if (!strcmp(name, "metrics")) {
			get_path(x, v, "metrics", &x->c->metrics);
		} else if (!strcmp(name, "evaluate")) {
			parse_evaluate(x, v);
		} else {
			parse_deploy(x, v);
		}
	}
}

/* ---- public ---- */

void pb_repo_config_free(struct pb_repo_config *c)
{
	size_t i, j;

	if (!c)
		return;
	free(c->file);
	free(c->train.setup);
	free(c->train.requirements);
	free(c->train.notebook);
	free(c->train.command);
	free(c->model);
	free(c->metrics);
	free(c->evaluate.predict);
	free(c->evaluate.test_cases);
	for (i = 0; i < c->evaluate.n_gates; i++)
		pb_gate_release(&c->evaluate.gates[i]);
	free(c->evaluate.gates);
	free(c->evaluate.baseline);
	for (i = 0; i < c->deploy.n_inference; i++)
		free(c->deploy.inference[i]);
	free(c->deploy.inference);
	for (i = 0; i < c->deploy.n_envs; i++) {
		struct pb_environment *e = &c->deploy.envs[i];

		free(e->name);
		free(e->repo);
		free(e->branch);
		free(e->path);
		for (j = 0; j < e->n_requires; j++)
			free(e->requires[j]);
		free(e->requires);
	}
	free(c->deploy.envs);
	free(c);
}

static struct pb_repo_config *repo_config_new(const char *file)
{
	struct pb_repo_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->file = strdup(file);
	c->train.requirements = strdup("requirements.txt");
	c->train.timeout_sec = 1800;
	if (!c->file || !c->train.requirements) {
		pb_repo_config_free(c);
		return NULL;
	}
	return c;
}

/* A hint for the two mistakes libyaml words least plainly. */
static const char *syntax_hint(const yaml_parser_t *p, const char *text,
			       size_t len)
{
	size_t at = p->problem_mark.index;

	if (p->error == YAML_SCANNER_ERROR && at < len && text[at] == '\t')
		return ": indent with spaces, not tabs";
	if (p->context && !strcmp(p->context, "while scanning a block scalar"))
		return ": quote a value that starts with > or |, such as "
		       "\">= 0.90\"";
	return "";
}

/* libyaml's own words, at its line (a reader error has only an offset). */
static void syntax_error(struct yctx *x, const yaml_parser_t *p,
			 const char *text, size_t len)
{
	size_t line = p->problem_mark.line + 1, off;
	const char *hint = syntax_hint(p, text, len);

	if (p->error == YAML_READER_ERROR) {
		line = 1;
		for (off = 0; off < p->problem_offset && off < len; off++)
			if (text[off] == '\n')
				line++;
	}
	if (p->context)
		pb_diag_add(x->diags, x->file, (int)line,
			    "syntax error: %s (%s on line %d)%s",
			    p->problem ? p->problem : "unknown", p->context,
			    (int)p->context_mark.line + 1, hint);
	else
		pb_diag_add(x->diags, x->file, (int)line, "syntax error: %s%s",
			    p->problem ? p->problem : "unknown", hint);
}

/* Load the first document; a second one is reported, not read. */
static int load_document(struct yctx *x, yaml_document_t *doc, const char *text,
			 size_t len)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return pb_err_set("out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, doc)) {
		rc = PB_EINVAL;
		goto fail;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		yaml_document_delete(doc);
		rc = PB_EINVAL;
		goto fail;
	}
	root = yaml_document_get_root_node(&extra);
	if (root)
		pb_diag_add(x->diags, x->file, (int)root->start_mark.line + 1,
			    "a second YAML document: .prbot.yml holds one, "
			    "remove the '---' before it");
	yaml_document_delete(&extra);
	yaml_parser_delete(&parser);
	return 0;
fail:
	if (parser.error == YAML_MEMORY_ERROR)
		rc = pb_err_set("out of memory");
	else
		syntax_error(x, &parser, text, len);
	yaml_parser_delete(&parser);
	return rc;
}

int pb_repo_config_parse(struct pb_repo_config **out, const char *text,
			 size_t len, const char *file, struct pb_diags *diags)
{
	struct yctx x;
	yaml_document_t doc;
	yaml_node_t *root;
	size_t before = diags->n;
	int rc, loaded = 0;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.file = file ? file : ".prbot.yml";
	x.diags = diags;
	x.doc = &doc;
	x.c = repo_config_new(x.file);
	if (!x.c)
		return pb_err_set("out of memory");
	rc = load_document(&x, &doc, text, len);
	if (rc < 0)
		goto out;
	loaded = 1;
	root = yaml_document_get_root_node(&doc);
	if (root && !is_null(root))
		parse_root(&x, root);
	/* a bad model: value, or a bad top, has its own message already */
	if (!x.c->model &&
	    (!root || is_null(root) || root->type == YAML_MAPPING_NODE) &&
	    (!x.model || is_null(x.model)))
		pb_diag_add(diags, x.file, 0,
			    "missing 'model': name the model file the "
			    "training writes or the repository holds, such as "
			    "model: model.pkl");
	rc = 0;
	if (x.oom)
		rc = pb_err_set("out of memory");
	else if (diags->n > before)
		rc = pb_err_setc(PB_EINVAL, "%s: %zu problems", x.file,
				 diags->n - before);
out:
	if (rc == PB_EINVAL && diags->n == before)
		rc = pb_err_setc(PB_EINVAL, "%s: cannot parse", x.file);
	if (loaded)
		yaml_document_delete(&doc);
	if (rc < 0) {
		pb_repo_config_free(x.c);
		return rc;
	}
	*out = x.c;
	return 0;
}

int pb_repo_config_load(struct pb_repo_config **out, const char *path,
			struct pb_diags *diags)
{
	struct pb_buf text;
	int rc;

	*out = NULL;
	rc = pb_buf_read_file(&text, path, REPOCONF_MAX_SIZE);
	if (rc == PB_ENOTFOUND) {
		pb_diag_add(diags, path, 0,
			    "cannot read: %s (add a .prbot.yml at the "
			    "repository root; see README)",
			    strerror(ENOENT));
		rc = pb_err_setc(PB_ENOTFOUND, "%s: cannot read: %s", path,
				 strerror(ENOENT));
	} else if (rc == PB_ETOOBIG) {
		pb_diag_add(diags, path, 0,
			    "larger than %d MiB: is this the right file?",
			    REPOCONF_MAX_SIZE / 1024 / 1024);
	} else if (rc < 0) {
		pb_diag_add(diags, path, 0, "cannot read: %s", pb_err_last());
		rc = pb_err_prefix(rc, "%s: cannot read", path);
	} else {
		rc = pb_repo_config_parse(out, pb_buf_cstr(&text), text.len,
					  path, diags);
	}
	pb_buf_release(&text);
	return rc;
}
