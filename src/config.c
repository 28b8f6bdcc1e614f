/* config.c: bot.conf read with inih, every problem kept with its line */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>

#include "prbot/buf.h"
#include "prbot/config.h"
#include "prbot/cron.h"
#include "prbot/suggest.h"
#include "prbot/err.h"
#include "prbot/redact.h"
#include "prbot/repoconf.h"
#include "prbot/sign.h"
#include "prbot/store.h"
#include "prbot/trend.h"
#include "banned.h"

#define CONF_MAX_SIZE	(1024 * 1024)
#define SECRET_MAX_SIZE (64 * 1024)

/* Stands for ':' inside a [labels] key while inih splits the line. */
#define LABEL_COLON '\x1f'

/* ---- permissions ---- */

static const char *const perm_names[] = {
	"none", "read", "triage", "write", "maintain", "admin",
};

int pb_perm_parse(enum pb_perm *out, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(perm_names) / sizeof(perm_names[0]); i++) {
		if (name && !strcmp(name, perm_names[i])) {
			*out = (enum pb_perm)i;
			return 0;
		}
	}
	return pb_err_setc(PB_EINVAL,
			   "unknown permission '%s': use read, triage, write, "
			   "maintain or admin",
			   name ? name : "");
}

const char *pb_perm_name(enum pb_perm p)
{
	if ((unsigned)p >= sizeof(perm_names) / sizeof(perm_names[0]))
		return "?";
	return perm_names[p];
}

/* ---- the keys of each section ---- */

enum sect {
	S_NONE = 0, /* before the first header */
	S_SERVER,
	S_GITHUB,
	S_STORE,
	S_SLACK,
	S_SLACK_USERS,
	S_DEPLOY,
	S_PERMISSIONS,
	S_LABELS,
	S_SCHEDULE,
	S_REPO,
	S_SKIP /* a bad header: its keys are not checked again */
};

static const struct {
	const char *name;
	enum sect sect;
	int named; /* [schedule "NAME"] */
} sections[] = {
	{ "server", S_SERVER, 0 },
	{ "github", S_GITHUB, 0 },
	{ "store", S_STORE, 0 },
	{ "slack", S_SLACK, 0 },
	{ "slack.users", S_SLACK_USERS, 0 }, /* Slack user id = login */
	{ "deploy", S_DEPLOY, 0 },	     /* signing key, serving commits */
	{ "permissions", S_PERMISSIONS, 0 },
	{ "labels", S_LABELS, 0 },
	{ "schedule", S_SCHEDULE, 1 },
	{ "repo", S_REPO, 1 },
};

enum vtype {
	V_STR,	    /* any text */
	V_WORD,	    /* text without spaces */
	V_URL,	    /* http:// or https:// */
	V_LISTEN,   /* HOST:PORT */
	V_INT,	    /* int in [min, max] */
	V_LONG,	    /* long in [min, max] */
	V_DIGITS,   /* a numeric id kept as text */
	V_LOGLEVEL, /* error warn info debug */
	V_NAMES,    /* space-separated variable names */
	V_LIST,	    /* space-separated words */
	V_DURATION, /* seconds or 1h30m; 0 = unlimited */
	V_SIZE,	    /* bytes with K M G T */
	V_BOOL,
	V_SECRET,  /* env:NAME or file:PATH */
	V_SIGNKEY, /* a V_SECRET holding an Ed25519 private key (PEM) */
	V_PERSON,  /* a name for a git author: no '<', '>' */
	V_EMAIL,   /* an address for a git author */
	V_STORE,   /* file://DIR or s3://BUCKET/PREFIX */
	V_RELPATH,
	V_CRON,
	V_THRESHOLD, /* a regression threshold: 0.01 or 2% */
	V_NOTIFY     /* [schedule] notify: slack:SECRET issue:OWNER/REPO#N */
};

struct key_def {
	enum sect sect;
	const char *name;
	enum vtype type;
	size_t off;   /* in struct pb_config, or the schedule / repo entry */
	size_t off_n; /* V_NAMES, V_LIST: where the count goes */
	long min, max;
};

#define CF(field) offsetof(struct pb_config, field)
#define SF(field) offsetof(struct pb_conf_schedule, field)
#define RF(field) offsetof(struct pb_conf_repo, field)

static const struct key_def keys[] = {
	{ S_SERVER, "listen", V_LISTEN, CF(server.listen), 0, 0, 0 },
	{ S_SERVER, "workers", V_INT, CF(server.workers), 0, 1, 256 },
	{ S_SERVER, "state", V_STR, CF(server.state), 0, 0, 0 },
	{ S_SERVER, "workdir", V_STR, CF(server.workdir), 0, 0, 0 },
	{ S_SERVER, "log_level", V_LOGLEVEL, CF(server.log_level), 0, 0, 0 },
	{ S_SERVER, "queue_max", V_INT, CF(server.queue_max), 0, 1, 10000000 },
	{ S_SERVER, "python", V_STR, CF(server.python), 0, 0, 0 },
	{ S_SERVER, "env_pass", V_NAMES, CF(server.env_pass),
	  CF(server.n_env_pass), 0, 0 },
	{ S_SERVER, "limit_cpu", V_DURATION, CF(server.limit_cpu_sec), 0, 0,
	  0 },
	{ S_SERVER, "limit_memory", V_SIZE, CF(server.limit_memory), 0, 0, 0 },
	{ S_SERVER, "limit_fsize", V_SIZE, CF(server.limit_fsize), 0, 0, 0 },
	{ S_SERVER, "limit_nofile", V_LONG, CF(server.limit_nofile), 0, 0,
	  1048576 },
	{ S_SERVER, "keep_workspace", V_BOOL, CF(server.keep_workspace), 0, 0,
	  0 },
	{ S_GITHUB, "api_url", V_URL, CF(github.api_url), 0, 0, 0 },
	{ S_GITHUB, "token", V_SECRET, CF(github.token), 0, 0, 0 },
	{ S_GITHUB, "app_id", V_DIGITS, CF(github.app_id), 0, 0, 0 },
	{ S_GITHUB, "private_key", V_SECRET, CF(github.private_key), 0, 0, 0 },
	{ S_GITHUB, "webhook_secret", V_SECRET, CF(github.webhook_secret), 0, 0,
	  0 },
	{ S_GITHUB, "bot_login", V_WORD, CF(github.bot_login), 0, 0, 0 },
	{ S_STORE, "url", V_STORE, CF(store.url), 0, 0, 0 },
	{ S_STORE, "endpoint", V_URL, CF(store.endpoint), 0, 0, 0 },
	{ S_STORE, "region", V_WORD, CF(store.region), 0, 0, 0 },
	{ S_STORE, "access_key", V_SECRET, CF(store.access_key), 0, 0, 0 },
	{ S_STORE, "secret_key", V_SECRET, CF(store.secret_key), 0, 0, 0 },
	{ S_STORE, "session_token", V_SECRET, CF(store.session_token), 0, 0,
	  0 },
	{ S_STORE, "s3_path_style", V_BOOL, CF(store.s3_path_style), 0, 0, 0 },
	/* S3's limits: parts of 5 MiB to 5 GiB, a single PUT of 5 GiB */
	{ S_STORE, "multipart_threshold", V_SIZE, CF(store.multipart_threshold),
	  0, 5L << 20, 5L << 30 },
	{ S_STORE, "part_size", V_SIZE, CF(store.part_size), 0, 5L << 20,
	  5L << 30 },
	{ S_STORE, "parallel", V_INT, CF(store.parallel), 0, 1, 64 },
	{ S_SLACK, "signing_secret", V_SECRET, CF(slack.signing_secret), 0, 0,
	  0 },
	{ S_SLACK, "bot_token", V_SECRET, CF(slack.bot_token), 0, 0, 0 },
	{ S_SLACK, "mattermost_token", V_SECRET, CF(slack.mattermost_token), 0,
	  0, 0 },
	{ S_SLACK, "default_repo", V_WORD, CF(slack.default_repo), 0, 0, 0 },
	{ S_SLACK, "channels", V_LIST, CF(slack.channels), CF(slack.n_channels),
	  0, 0 },
	{ S_DEPLOY, "signing_key", V_SIGNKEY, CF(deploy.signing_key), 0, 0, 0 },
	{ S_DEPLOY, "author_name", V_PERSON, CF(deploy.author_name), 0, 0, 0 },
	{ S_DEPLOY, "author_email", V_EMAIL, CF(deploy.author_email), 0, 0, 0 },
	{ S_SCHEDULE, "cron", V_CRON, SF(cron), 0, 0, 0 },
	{ S_SCHEDULE, "repo", V_WORD, SF(repo), 0, 0, 0 },
	{ S_SCHEDULE, "ref", V_WORD, SF(ref), 0, 0, 0 },
	{ S_SCHEDULE, "command", V_STR, SF(command), 0, 0, 0 },
	{ S_SCHEDULE, "notify", V_NOTIFY, SF(notify), 0, 0, 0 },
	{ S_SCHEDULE, "regression_threshold", V_THRESHOLD,
	  SF(regression_threshold), 0, 0, 0 },
	{ S_REPO, "clone_url", V_WORD, RF(clone_url), 0, 0, 0 },
	{ S_REPO, "config", V_RELPATH, RF(config), 0, 0, 0 },
	{ S_REPO, "serving", V_LIST, RF(serving), RF(n_serving), 0, 0 },
	{ S_REPO, "allow_forks", V_BOOL, RF(allow_forks), 0, 0, 0 },
};

/* ---- parse state ---- */

struct seen_key {
	char *sect; /* the header as normalized: server, schedule "x" */
	char *key;
	int line;
};

struct conf_ctx {
	struct pb_config *c;
	const char *file; /* for messages */
	char *dir;	  /* the config file's folder, for file:PATH */
	struct pb_diags *diags;

	const char *text; /* the whole file */
	size_t len, pos;
	int line;

	enum sect sect;
	char *sect_id;		       /* owned: key of seen_key.sect */
	size_t entry;		       /* schedule or repo index */
	int *sched_lines, *repo_lines; /* where each was opened */

	struct seen_key *seen;
	size_t n_seen, alloc_seen;
	int oom;
};

static int diag(struct conf_ctx *x, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int diag(struct conf_ctx *x, int line, const char *fmt, ...)
{
	struct pb_buf b = PB_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	if (pb_buf_vprintf(&b, fmt, ap) < 0)
		x->oom = 1;
	va_end(ap);
	pb_diag_add(x->diags, x->file, line, "%s", pb_buf_cstr(&b));
	pb_buf_release(&b);
	return PB_EINVAL;
}

static const char *closest_key(enum sect s, const char *name)
{
	const char *hit = NULL;
	size_t i, best = SIZE_MAX;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].sect == s &&
		    pb_suggest_close(name, keys[i].name, &best))
			hit = keys[i].name;
	return hit;
}

static const char *closest_section(const char *name)
{
	const char *hit = NULL;
	size_t i, best = SIZE_MAX;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (pb_suggest_close(name, sections[i].name, &best))
			hit = sections[i].name;
	return hit;
}

static const char *sect_name(enum sect s)
{
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (sections[i].sect == s)
			return sections[i].name;
	return "?";
}

/* The line key was set on in section sect_id, or 0. */
static int seen_line(const struct conf_ctx *x, const char *sect_id,
		     const char *key)
{
	size_t i;

	for (i = 0; i < x->n_seen; i++)
		if (!strcmp(x->seen[i].sect, sect_id) &&
		    !strcmp(x->seen[i].key, key))
			return x->seen[i].line;
	return 0;
}

/* 0 the first time key is set in this section, else a diag. */
static int seen_check(struct conf_ctx *x, const char *key)
{
	struct seen_key *v;
	int first = seen_line(x, x->sect_id, key);

	if (first)
		return diag(x, x->line,
			    "duplicate key '%s' in [%s] (first set on line "
			    "%d): keep one",
			    key, x->sect_id, first);
	if (x->n_seen == x->alloc_seen) {
		size_t n = x->alloc_seen ? x->alloc_seen * 2 : 32;

		v = realloc(x->seen, n * sizeof(*v));
		if (!v)
			goto oom;
		x->seen = v;
		x->alloc_seen = n;
	}
	v = &x->seen[x->n_seen];
	v->sect = strdup(x->sect_id);
	v->key = strdup(key);
	v->line = x->line;
	if (!v->sect || !v->key) {
		free(v->sect);
		free(v->key);
		goto oom;
	}
	x->n_seen++;
	return 0;
oom:
	x->oom = 1;
	return PB_ERROR;
}

/* ---- values ---- */

static int set_str(struct conf_ctx *x, char **dst, const char *value)
{
	char *s = strdup(value);

	if (!s) {
		x->oom = 1;
		return PB_ERROR;
	}
	free(*dst);
	*dst = s;
	return 0;
}

static int is_var_name(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static int parse_long(long *out, const char *s)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* "8G" -> 8 GiB; binary multiples, as ulimit and the kernel count */
static int parse_size(long long *out, const char *s)
{
	unsigned long long v, mult = 1;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'T':
		mult <<= 10;
		/* fall through */
	case 'G':
		mult <<= 10;
		/* fall through */
	case 'M':
		mult <<= 10;
		/* fall through */
	case 'K':
		mult <<= 10;
		end++;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (*end || v > (unsigned long long)LLONG_MAX / mult)
		return -1;
	*out = (long long)(v * mult);
	return 0;
}

static int parse_bool(int *out, const char *s)
{
	static const char *const yes[] = { "true", "yes", "1" };
	static const char *const no[] = { "false", "no", "0" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int check_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	long port;

	if (!colon || colon == s || parse_long(&port, colon + 1) < 0)
		return -1;
	return port >= 1 && port <= 65535 ? 0 : -1;
}

static int check_url(const char *s)
{
	if (!strncmp(s, "https://", 8))
		return s[8] ? 0 : -1;
	if (!strncmp(s, "http://", 7))
		return s[7] ? 0 : -1;
	return -1;
}

static int check_relpath(const char *s)
{
	const char *p = s;
	size_t n;

	if (*s == '/')
		return -1;
	while (*p) {
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

/* A cron expression that parses and fires at least once. */
static int set_cron(struct conf_ctx *x, const struct key_def *k, char *base,
		    const char *value)
{
	struct pb_cron cron;
	time_t next;
	int rc;

	if (pb_cron_parse(&cron, value) < 0)
		return diag(x, x->line, "[%s] %s: %s", x->sect_id, k->name,
			    pb_err_last());
	rc = pb_cron_next(&cron, time(NULL), &next);
	if (rc == PB_ENOTFOUND)
		return diag(x, x->line,
			    "[%s] %s: '%s' never fires: no date in %d years "
			    "matches it",
			    x->sect_id, k->name, value, PB_CRON_HORIZON_YEARS);
	return set_str(x, (char **)(base + k->off), value);
}

/* Split on spaces into a new list; checks names when want_names. */
static int set_list(struct conf_ctx *x, const struct key_def *k, char *base,
		    const char *value)
{
	char ***dst = (char ***)(base + k->off);
	size_t *dst_n = (size_t *)(base + k->off_n);
	char **v = NULL, **nv, *w;
	const char *p = value;
	size_t n = 0, i, len;
	int rc = 0;

	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		len = strcspn(p, " \t");
		w = strndup(p, len);
		if (!w)
			goto oom;
		if (k->type == V_NAMES && !is_var_name(w)) {
			rc = diag(x, x->line,
				  "'%s': '%s' is not a variable name: list "
				  "names such as HTTPS_PROXY separated by "
				  "spaces",
				  k->name, w);
			free(w);
			goto out;
		}
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(w);
			goto oom;
		}
		v = nv;
		v[n++] = w;
		p += len;
	}
	for (i = 0; i < *dst_n; i++)
		free((*dst)[i]);
	free(*dst);
	*dst = v;
	*dst_n = n;
	return 0;
oom:
	x->oom = 1;
	rc = PB_ERROR;
out:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

/* Read a secret file, refusing huge ones; trailing newlines dropped. */
static int read_secret_file(char **out, const char *path)
{
	struct pb_buf b;
	int rc;

	if ((rc = pb_buf_read_file(&b, path, SECRET_MAX_SIZE)) == PB_ETOOBIG)
		rc = pb_err_setc(rc, "larger than %d KiB",
				 SECRET_MAX_SIZE / 1024);
	if (rc < 0)
		goto out;
	while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == '\r'))
		b.ptr[--b.len] = '\0';
	if (!b.len) {
		rc = pb_err_setc(PB_EINVAL, "the file is empty");
		goto out;
	}
	if (memchr(b.ptr, '\0', b.len)) {
		rc = pb_err_setc(PB_EINVAL, "the file holds a NUL byte");
		goto out;
	}
	*out = pb_buf_detach(&b);
out:
	pb_buf_release(&b);
	return rc;
}

/* Resolve value (env:NAME, file:PATH) into s; what names it in messages. */
static int resolve_secret(struct conf_ctx *x, const char *what,
			  struct pb_secret *s, const char *value)
{
	struct pb_buf path = PB_BUF_INIT;
	char *resolved = NULL;
	const char *v;
	int rc = 0;

	if (!strncmp(value, "env:", 4)) {
		/* not echoed: a pasted secret is no variable name */
		if (!is_var_name(value + 4))
			return diag(x, x->line,
				    "%s: expected env:NAME with NAME a "
				    "variable name such as GITHUB_TOKEN",
				    what);
		v = getenv(value + 4);
		if (!v || !*v)
			rc = diag(x, x->line,
				  "%s: environment variable '%s' is not set "
				  "or empty: export it before starting prbot",
				  what, value + 4);
		else if (!(resolved = strdup(v)))
			goto oom;
	} else if (!strncmp(value, "file:", 5)) {
		if (!value[5])
			return diag(x, x->line,
				    "%s: no path after 'file:': write "
				    "file:PATH",
				    what);
		/* relative to bot.conf, so the file can be moved with it */
		if (value[5] != '/' && x->dir &&
		    pb_buf_printf(&path, "%s/", x->dir) < 0)
			goto oom;
		if (pb_buf_puts(&path, value + 5) < 0)
			goto oom;
		rc = read_secret_file(&resolved, pb_buf_cstr(&path));
		if (rc < 0)
			rc = diag(x, x->line,
				  "%s: cannot read secret file '%s': %s", what,
				  pb_buf_cstr(&path), pb_err_last());
	} else {
		/* the value itself is never repeated: it may be the secret */
		return diag(x, x->line,
			    "%s is a secret and must not be written in the "
			    "file: use env:NAME or file:PATH",
			    what);
	}
	if (set_str(x, &s->ref, value) < 0)
		goto oom;
	free(s->value);
	s->value = resolved;
	pb_buf_release(&path);
	return rc;
oom:
	x->oom = 1;
	free(resolved);
	pb_buf_release(&path);
	return PB_ERROR;
}

static int set_secret(struct conf_ctx *x, const struct key_def *k,
		      struct pb_secret *s, const char *value)
{
	struct pb_buf what = PB_BUF_INIT;
	int rc;

	if (pb_buf_printf(&what, "'%s'", k->name) < 0) {
		x->oom = 1;
		return PB_ERROR;
	}
	rc = resolve_secret(x, what.ptr, s, value);
	pb_buf_release(&what);
	return rc;
}

/* A secret that must parse as an Ed25519 private key (never echoed). */
static int set_signing_key(struct conf_ctx *x, const struct key_def *k,
			   struct pb_secret *s, const char *value)
{
	struct pb_buf name = PB_BUF_INIT;
	struct pb_sign_key *key = NULL;
	int rc = set_secret(x, k, s, value);

	if (rc < 0 || !s->value)
		return rc;
	if (pb_buf_printf(&name, "[%s] %s (%s)", sect_name(x->sect), k->name,
			  s->ref) < 0) {
		x->oom = 1;
		return PB_ERROR;
	}
	rc = pb_sign_key_private(&key, s->value, pb_buf_cstr(&name));
	if (rc < 0)
		rc = diag(x, x->line, "%s", pb_err_last());
	pb_sign_key_free(key);
	pb_buf_release(&name);
	return rc;
}

static void secret_release(struct pb_secret *s);

static void notify_targets_free(struct pb_notify_target *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		secret_release(&t[i].webhook);
		free(t[i].repo);
	}
	free(t);
}

/* "OWNER/REPO#N" into t: 0, PB_EINVAL when it is not that, PB_ERROR. */
static int parse_issue(struct pb_notify_target *t, const char *s)
{
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789-_.";
	size_t o = strspn(s, name_chars), r;
	const char *d;
	long n;

	if (!o || s[o] != '/')
		return PB_EINVAL;
	r = strspn(s + o + 1, name_chars);
	if (!r || s[o + 1 + r] != '#')
		return PB_EINVAL;
	d = s + o + 2 + r;
	if (!*d || strlen(d) > 9 || strspn(d, "0123456789") != strlen(d) ||
	    parse_long(&n, d) < 0 || n < 1)
		return PB_EINVAL;
	if (!(t->repo = strndup(s, o + 1 + r)))
		return PB_ERROR;
	t->issue = n;
	return 0;
}

/* One word of notify into t (zeroed); what names the key in messages. */
static int set_notify_target(struct conf_ctx *x, const char *what,
			     struct pb_notify_target *t, const char *w)
{
	int rc;

	if (!strncmp(w, "slack:", 6)) {
		t->kind = PB_NOTIFY_SLACK;
		return resolve_secret(x, what, &t->webhook, w + 6);
	}
	if (!strncmp(w, "issue:", 6)) {
		t->kind = PB_NOTIFY_ISSUE;
		if ((rc = parse_issue(t, w + 6)) == PB_ERROR)
			x->oom = 1;
		else if (rc < 0)
			rc = diag(x, x->line,
				  "%s: expected issue:OWNER/REPO#N such as "
				  "issue:acme/iris#12, got '%s'",
				  what, w);
		return rc;
	}
	/* not echoed: it may be a webhook URL pasted as it is */
	return diag(x, x->line,
		    "%s: expected slack:env:NAME, slack:file:PATH or "
		    "issue:OWNER/REPO#N, separated by spaces",
		    what);
}

/* [schedule] notify: every word a target, or a message and no target. */
static int set_notify(struct conf_ctx *x, const struct key_def *k, char *base,
		      const char *value)
{
	struct pb_conf_schedule *sc = (struct pb_conf_schedule *)base;
	struct pb_notify_target *v = NULL, *nv;
	struct pb_buf what = PB_BUF_INIT;
	const char *p = value;
	char *w = NULL;
	size_t n = 0, len;
	int rc = 0;

	if (pb_buf_printf(&what, "[schedule \"%s\"] notify", sc->name) < 0)
		goto oom;
	for (;;) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		len = strcspn(p, " \t");
		free(w);
		if (!(w = strndup(p, len)))
			goto oom;
		p += len;
		if (!(nv = realloc(v, (n + 1) * sizeof(*v))))
			goto oom;
		v = nv;
		memset(&v[n], 0, sizeof(v[n]));
		n++;
		if ((rc = set_notify_target(x, what.ptr, &v[n - 1], w)) < 0)
			goto out;
	}
	if (set_str(x, (char **)(base + k->off), value) < 0)
		goto oom;
	notify_targets_free(sc->targets, sc->n_targets);
	sc->targets = v;
	sc->n_targets = n;
	v = NULL;
	n = 0;
	goto out;
oom:
	x->oom = 1;
	rc = PB_ERROR;
out:
	notify_targets_free(v, n);
	free(w);
	pb_buf_release(&what);
	return rc;
}

static int check_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || !at[1] || strpbrk(s, " \t<>"))
		return -1;
	return 0;
}

static int bad_value(struct conf_ctx *x, const struct key_def *k,
		     const char *value, const char *expected)
{
	return diag(x, x->line, "'%s': expected %s, got '%s'", k->name,
		    expected, value);
}

static int set_value(struct conf_ctx *x, const struct key_def *k, char *base,
		     const char *value)
{
	void *dst = base + k->off;
	struct pb_store_url url;
	long long size;
	long n;
	int b;
	enum pb_log_level lvl;
	struct pb_trend_threshold th;

	switch (k->type) {
	case V_STR:
		return set_str(x, dst, value);
	case V_WORD:
		if (strpbrk(value, " \t"))
			return bad_value(x, k, value,
					 "one word without spaces");
		return set_str(x, dst, value);
	case V_URL:
		if (check_url(value) < 0)
			return bad_value(x, k, value,
					 "an http:// or https:// URL");
		return set_str(x, dst, value);
	case V_STORE:
		if (pb_store_url_parse(&url, value) < 0) {
			pb_store_url_release(&url);
			return diag(x, x->line, "'%s': %s", k->name,
				    pb_err_last());
		}
		pb_store_url_release(&url);
		return set_str(x, dst, value);
	case V_LISTEN:
		if (check_listen(value) < 0)
			return bad_value(x, k, value,
					 "HOST:PORT such as 127.0.0.1:8080");
		return set_str(x, dst, value);
	case V_RELPATH:
		if (check_relpath(value) < 0)
			return bad_value(x, k, value,
					 "a path relative to the repository "
					 "root without '..'");
		return set_str(x, dst, value);
	case V_CRON:
		return set_cron(x, k, base, value);
	case V_THRESHOLD:
		if (pb_trend_threshold_parse(&th, value) < 0)
			return bad_value(x, k, value,
					 "an absolute change such as 0.01 or a "
					 "relative one such as 2%");
		return set_str(x, dst, value);
	case V_DIGITS:
		if (strspn(value, "0123456789") != strlen(value))
			return bad_value(x, k, value, "a number");
		return set_str(x, dst, value);
	case V_INT:
	case V_LONG:
		if (parse_long(&n, value) < 0 || n < k->min || n > k->max)
			return diag(x, x->line,
				    "'%s': expected a whole number from %ld to "
				    "%ld, got '%s'",
				    k->name, k->min, k->max, value);
		if (k->type == V_INT)
			*(int *)dst = (int)n;
		else
			*(long *)dst = n;
		return 0;
	case V_LOGLEVEL:
		if (pb_log_level_parse(&lvl, value) < 0)
			return bad_value(x, k, value,
					 "error, warn, info or debug");
		*(enum pb_log_level *)dst = lvl;
		return 0;
	case V_NAMES:
	case V_LIST:
		return set_list(x, k, base, value);
	case V_DURATION:
		if (pb_duration_parse(&n, value) < 0)
			return bad_value(x, k, value,
					 "seconds or a duration such as 90s, "
					 "30m, 1h30m (0 for no limit)");
		*(long *)dst = n;
		return 0;
	case V_SIZE:
		if (parse_size(&size, value) < 0)
			return bad_value(x, k, value,
					 "bytes or a size such as 512M or 8G "
					 "(0 for no limit)");
		if (k->max && (size < k->min || size > k->max))
			return diag(x, x->line,
				    "'%s': expected a size from %ldM to %ldG, "
				    "got '%s'",
				    k->name, k->min >> 20, k->max >> 30, value);
		*(long long *)dst = size;
		return 0;
	case V_BOOL:
		if (parse_bool(&b, value) < 0)
			return bad_value(x, k, value,
					 "true or false (yes/no, 1/0)");
		*(int *)dst = b;
		return 0;
	case V_NOTIFY:
		return set_notify(x, k, base, value);
	case V_SECRET:
		return set_secret(x, k, dst, value);
	case V_SIGNKEY:
		return set_signing_key(x, k, dst, value);
	case V_PERSON:
		if (strpbrk(value, "<>"))
			return bad_value(x, k, value,
					 "a name without '<' or '>'");
		return set_str(x, dst, value);
	case V_EMAIL:
		if (check_email(value) < 0)
			return bad_value(x, k, value,
					 "an address such as "
					 "bot@example.com, without spaces, "
					 "'<' or '>'");
		return set_str(x, dst, value);
	}
	return 0;
}

/* ---- sections ---- */

/*
 * Make room for entry n of a [schedule]/[repo] array and of its parallel
 * array of opening lines: returns the (possibly moved) array with entry n
 * zeroed and its line recorded, or NULL with x->oom set. The line array
 * grows first so that a failure leaves no stale pointer behind.
 */
static void *grow_entry(struct conf_ctx *x, void *arr, size_t size, int **lines,
			size_t n)
{
	int *l;
	char *v;

	l = realloc(*lines, (n + 1) * sizeof(*l));
	if (!l)
		goto oom;
	*lines = l;
	v = realloc(arr, (n + 1) * size);
	if (!v)
		goto oom;
	memset(v + n * size, 0, size);
	l[n] = x->line;
	return v;
oom:
	x->oom = 1;
	return NULL;
}

static int add_schedule(struct conf_ctx *x, const char *name)
{
	struct pb_conf_schedule *v, *s;
	size_t n = x->c->n_schedules;

	v = grow_entry(x, x->c->schedules, sizeof(*v), &x->sched_lines, n);
	if (!v)
		return PB_ERROR;
	x->c->schedules = v;
	s = &v[n];
	s->name = strdup(name);
	s->ref = strdup("main");
	s->command = strdup("/evaluate");
	s->regression_threshold = strdup(PB_TREND_THRESHOLD_DEFAULT);
	x->c->n_schedules++;
	if (!s->name || !s->ref || !s->command || !s->regression_threshold)
		goto oom;
	x->entry = n;
	return 0;
oom:
	x->oom = 1;
	return PB_ERROR;
}

/* OWNER/NAME as GitHub allows them: one slash, no spaces */
static int check_repo_name(const char *s)
{
	const char *slash = strchr(s, '/');

	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return -1;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_./", *s))
			return -1;
	return 0;
}

static int add_repo(struct conf_ctx *x, const char *name)
{
	struct pb_conf_repo *v, *r;
	struct pb_buf url = PB_BUF_INIT;
	size_t n = x->c->n_repos;

	v = grow_entry(x, x->c->repos, sizeof(*v), &x->repo_lines, n);
	if (!v)
		return PB_ERROR;
	x->c->repos = v;
	r = &v[n];
	x->c->n_repos++;
	if (pb_buf_printf(&url, "https://github.com/%s.git", name) < 0)
		goto oom;
	r->clone_url = pb_buf_detach(&url);
	r->name = strdup(name);
	r->config = strdup(".prbot.yml");
	if (!r->name || !r->config)
		goto oom;
	x->entry = n;
	return 0;
oom:
	x->oom = 1;
	return PB_ERROR;
}

static int open_named(struct conf_ctx *x, enum sect s, const char *name)
{
	size_t i;

	if (!*name || strchr(name, '"'))
		return diag(x, x->line,
			    "[%s \"%s\"]: expected a name between the quotes",
			    sect_name(s), name);
	if (s == S_REPO && check_repo_name(name) < 0)
		return diag(x, x->line,
			    "[repo \"%s\"]: expected OWNER/NAME such as "
			    "[repo \"acme/iris\"]",
			    name);
	if (s == S_SCHEDULE) {
		for (i = 0; i < x->c->n_schedules; i++)
			if (!strcmp(x->c->schedules[i].name, name))
				goto dup;
		return add_schedule(x, name);
	}
	for (i = 0; i < x->c->n_repos; i++)
		if (!strcmp(x->c->repos[i].name, name))
			goto dup;
	return add_repo(x, name);
dup:
	return diag(x, x->line,
		    "duplicate section [%s \"%s\"] (first on line %d): merge "
		    "the two",
		    sect_name(s), name,
		    s == S_SCHEDULE ? x->sched_lines[i] : x->repo_lines[i]);
}

/* "[server]" or "[schedule "NAME"]" (text is the line after '['). */
static void open_section(struct conf_ctx *x, const char *text, size_t len)
{
	struct pb_buf id = PB_BUF_INIT;
	const char *end = memchr(text, ']', len), *p, *q;
	size_t wlen, i;
	char word[32], *name = NULL;

	x->sect = S_SKIP;
	if (!end) {
		diag(x, x->line, "section header is missing its ']'");
		return;
	}
	p = end + 1;
	while (p < text + len && isspace((unsigned char)*p))
		p++;
	if (p < text + len && *p != ';' && *p != '#') {
		diag(x, x->line, "unexpected text after the section header");
		return;
	}
	p = text;
	while (p < end && isspace((unsigned char)*p))
		p++;
	wlen = 0;
	while (p + wlen < end && !isspace((unsigned char)p[wlen]))
		wlen++;
	if (wlen >= sizeof(word))
		wlen = sizeof(word) - 1;
	memcpy(word, p, wlen);
	word[wlen] = '\0';
	p += wlen;
	while (p < end && isspace((unsigned char)*p))
		p++;
	q = end;
	while (q > p && isspace((unsigned char)q[-1]))
		q--;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (!strcmp(word, sections[i].name))
			break;
	if (i == sizeof(sections) / sizeof(sections[0])) {
		const char *hint = closest_section(word);

		if (hint)
			diag(x, x->line,
			     "unknown section [%s] (did you mean [%s]?)", word,
			     hint);
		else
			diag(x, x->line,
			     "unknown section [%s]: sections are server, "
			     "github, store, slack, slack.users, deploy, "
			     "permissions, labels, schedule \"NAME\" and "
			     "repo \"OWNER/NAME\"",
			     word);
		return;
	}
	if (!sections[i].named) {
		if (p != q) {
			diag(x, x->line, "[%s] takes no name", word);
			return;
		}
		if (set_str(x, &x->sect_id, word) == 0)
			x->sect = sections[i].sect;
		return;
	}
	if (q - p < 2 || *p != '"' || q[-1] != '"') {
		diag(x, x->line, "[%s] needs a quoted name: write [%s \"%s\"]",
		     word, word,
		     sections[i].sect == S_REPO ? "OWNER/NAME" : "NAME");
		return;
	}
	name = strndup(p + 1, (size_t)(q - p - 2));
	if (!name) {
		x->oom = 1;
		return;
	}
	if (open_named(x, sections[i].sect, name) == 0 &&
	    pb_buf_printf(&id, "%s \"%s\"", word, name) == 0) {
		free(x->sect_id);
		x->sect_id = pb_buf_detach(&id);
		x->sect = sections[i].sect;
	}
	pb_buf_release(&id);
	free(name);
}

/* ---- inih callbacks ---- */

/*
 * inih reads through this so that every line is counted (its handler has no
 * line number), section headers are read here in full (inih cuts them at 50
 * bytes), and lines inih would misread are reported instead.
 */
static char *conf_reader(char *str, int num, void *stream)
{
	struct conf_ctx *x = stream;
	const char *p, *eol, *eq;
	size_t n, i;

	if (x->pos >= x->len)
		return NULL;
	p = x->text + x->pos;
	eol = memchr(p, '\n', x->len - x->pos);
	n = eol ? (size_t)(eol - p) : x->len - x->pos;
	x->pos += n + (eol ? 1 : 0);
	x->line++;
	str[0] = '\n';
	str[1] = '\0';

	if (x->line == 1 && n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
		p += 3;
		n -= 3;
	}
	if (n && p[n - 1] == '\r')
		n--;
	/* no continuation lines: an indented key is just a key */
	while (n && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	if (!n || *p == ';' || *p == '#')
		return str;
	if (memchr(p, '\0', n)) {
		diag(x, x->line, "the line holds a NUL byte");
		return str;
	}
	if (*p == '[') {
		open_section(x, p + 1, n - 1);
		return str;
	}
	if (n + 2 > (size_t)num) {
		diag(x, x->line,
		     "the line is longer than %d characters: shorten it (a "
		     "long secret belongs in a file:PATH)",
		     num - 2);
		return str;
	}
	eq = memchr(p, '=', n);
	if (!eq && !memchr(p, ':', n)) {
		/* not echoed: a line pasted by mistake may be a secret */
		diag(x, x->line, "expected KEY = VALUE or a [section] header");
		return str;
	}
	memcpy(str, p, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	/* a label such as "prbot:evaluate" keeps its ':' */
	if (x->sect == S_LABELS && eq)
		for (i = 0; i < (size_t)(eq - p); i++)
			if (str[i] == ':')
				str[i] = LABEL_COLON;
	return str;
}

static void set_permission(struct conf_ctx *x, const char *name,
			   const char *value)
{
	struct pb_conf_permission *v;
	enum pb_perm level = PB_PERM_NONE;
	const char *cmd = *name == '/' ? name + 1 : name;
	size_t n = x->c->n_permissions;

	if (!*cmd || strspn(cmd, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
			     strlen(cmd)) {
		diag(x, x->line,
		     "[permissions]: '%s' is not a command name: write "
		     "COMMAND = LEVEL such as deploy = maintain",
		     name);
		return;
	}
	if (seen_check(x, cmd) < 0)
		return;
	if (pb_perm_parse(&level, value) < 0) {
		diag(x, x->line, "[permissions] '%s': %s", cmd, pb_err_last());
		return;
	}
	v = realloc(x->c->permissions, (n + 1) * sizeof(*v));
	if (!v)
		goto oom;
	x->c->permissions = v;
	v[n].command = strdup(cmd);
	if (!v[n].command)
		goto oom;
	v[n].level = level;
	x->c->n_permissions++;
	return;
oom:
	x->oom = 1;
}

static void set_label(struct conf_ctx *x, const char *name, const char *value)
{
	struct pb_kv *v;
	char *key = strdup(name), *p;
	size_t n = x->c->n_labels;

	if (!key)
		goto oom;
	for (p = key; *p; p++)
		if (*p == LABEL_COLON)
			*p = ':';
	if (seen_check(x, key) < 0)
		goto out;
	v = realloc(x->c->labels, (n + 1) * sizeof(*v));
	if (!v)
		goto oom;
	x->c->labels = v;
	v[n].key = key;
	v[n].value = strdup(value);
	v[n].line = x->line;
	x->c->n_labels++;
	if (!v[n].value)
		x->oom = 1;
	return;
oom:
	x->oom = 1;
out:
	free(key);
}

/* OWNER/NAME: two non-empty parts without spaces. */
static int repo_name_ok(const char *name)
{
	const char *slash = strchr(name, '/');

	return slash && slash != name && slash[1] && !strchr(slash + 1, '/') &&
	       !strpbrk(name, " \t");
}

/* A Slack user id ("U024BE7LH") or a Mattermost one (26 lowercase
   letters and digits). */
static int slack_user_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n >= 2 && n <= 32 &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* A GitHub login: letters, digits and '-', at most 39. */
static int github_login_ok(const char *login)
{
	size_t n = strlen(login);

	return n >= 1 && n <= 39 && *login != '-' &&
	       strspn(login, "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static void set_slack_user(struct conf_ctx *x, const char *name,
			   const char *value)
{
	struct pb_kv *v;
	size_t n = x->c->slack.n_users;

	if (!slack_user_id_ok(name)) {
		diag(x, x->line,
		     "[slack.users]: '%s' is not a Slack user id: write "
		     "U123ABC = github-login (the member id from the user's "
		     "Slack profile)",
		     name);
		return;
	}
	if (!github_login_ok(value)) {
		diag(x, x->line,
		     "[slack.users] '%s': '%s' is not a GitHub login", name,
		     value);
		return;
	}
	if (seen_check(x, name) < 0)
		return;
	v = realloc(x->c->slack.users, (n + 1) * sizeof(*v));
	if (!v)
		goto oom;
	x->c->slack.users = v;
	v[n].key = strdup(name);
	v[n].value = strdup(value);
	v[n].line = x->line;
	x->c->slack.n_users++;
	if (!v[n].key || !v[n].value)
		goto oom;
	return;
oom:
	x->oom = 1;
}

static char *entry_base(struct conf_ctx *x)
{
	switch (x->sect) {
	case S_SCHEDULE:
		return (char *)&x->c->schedules[x->entry];
	case S_REPO:
		return (char *)&x->c->repos[x->entry];
	default:
		return (char *)x->c;
	}
}

static void set_key(struct conf_ctx *x, const char *name, const char *value)
{
	const struct key_def *k = NULL;
	const char *hint;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].sect == x->sect && !strcmp(keys[i].name, name)) {
			k = &keys[i];
			break;
		}
	}
	if (!k) {
		hint = closest_key(x->sect, name);
		if (hint)
			diag(x, x->line,
			     "unknown key '%s' in [%s] (did you mean '%s'?)",
			     name, sect_name(x->sect), hint);
		else
			diag(x, x->line,
			     "unknown key '%s' in [%s]: see bot.conf.example "
			     "for the keys",
			     name, sect_name(x->sect));
		return;
	}
	if (seen_check(x, name) < 0)
		return;
	if (x->sect == S_SLACK && !strcmp(name, "default_repo") &&
	    !repo_name_ok(value)) {
		diag(x, x->line,
		     "[slack] 'default_repo': expected OWNER/NAME, got '%s'",
		     value);
		return;
	}
	set_value(x, k, entry_base(x), value);
}

static int conf_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct conf_ctx *x = user;

	(void)section; /* conf_reader tracks the full section header */
	if (x->sect == S_SKIP)
		return 1;
	if (!*name) {
		diag(x, x->line, "no key before the '='");
		return 1;
	}
	if (x->sect == S_NONE) {
		diag(x, x->line,
		     "'%s' is outside any section: put it under its [section] "
		     "header",
		     name);
		return 1;
	}
	if (!*value) {
		diag(x, x->line,
		     "'%s' has no value: remove the line to keep the default",
		     name);
		return 1;
	}
	if (x->sect == S_PERMISSIONS)
		set_permission(x, name, value);
	else if (x->sect == S_LABELS)
		set_label(x, name, value);
	else if (x->sect == S_SLACK_USERS)
		set_slack_user(x, name, value);
	else
		set_key(x, name, value);
	return 1;
}

/* ---- whole-file checks ---- */

/* Keys that were written but refused have their own message already. */
static void check_required(struct conf_ctx *x)
{
	struct pb_buf id = PB_BUF_INIT;
	int app_id, key;
	size_t i;

	for (i = 0; i < x->c->n_schedules; i++) {
		const struct pb_conf_schedule *s = &x->c->schedules[i];

		pb_buf_reset(&id);
		if (pb_buf_printf(&id, "schedule \"%s\"", s->name) < 0) {
			x->oom = 1;
			return;
		}
		if (!seen_line(x, pb_buf_cstr(&id), "cron"))
			diag(x, x->sched_lines[i],
			     "[schedule \"%s\"]: missing 'cron' (such as "
			     "cron = 0 3 * * *)",
			     s->name);
		if (!seen_line(x, pb_buf_cstr(&id), "repo"))
			diag(x, x->sched_lines[i],
			     "[schedule \"%s\"]: missing 'repo' (OWNER/NAME)",
			     s->name);
	}
	pb_buf_release(&id);
	/* a GitHub App needs both its id and its key */
	app_id = seen_line(x, "github", "app_id");
	key = seen_line(x, "github", "private_key");
	if (!app_id != !key)
		diag(x, app_id ? app_id : key,
		     "[github]: 'app_id' and 'private_key' go together: set "
		     "both to act as a GitHub App, or neither");
}

/* ---- public ---- */

static void secret_release(struct pb_secret *s)
{
	free(s->ref);
	free(s->value);
	s->ref = NULL;
	s->value = NULL;
}

void pb_config_free(struct pb_config *c)
{
	size_t i, j;

	if (!c)
		return;
	free(c->path);
	free(c->server.listen);
	free(c->server.state);
	free(c->server.workdir);
	free(c->server.python);
	for (i = 0; i < c->server.n_env_pass; i++)
		free(c->server.env_pass[i]);
	free(c->server.env_pass);
	free(c->github.api_url);
	secret_release(&c->github.token);
	free(c->github.app_id);
	secret_release(&c->github.private_key);
	secret_release(&c->github.webhook_secret);
	free(c->github.bot_login);
	free(c->store.url);
	free(c->store.endpoint);
	free(c->store.region);
	secret_release(&c->store.access_key);
	secret_release(&c->store.secret_key);
	secret_release(&c->store.session_token);
	secret_release(&c->slack.signing_secret);
	secret_release(&c->slack.bot_token);
	secret_release(&c->slack.mattermost_token);
	free(c->slack.default_repo);
	for (i = 0; i < c->slack.n_channels; i++)
		free(c->slack.channels[i]);
	free(c->slack.channels);
	for (i = 0; i < c->slack.n_users; i++) {
		free(c->slack.users[i].key);
		free(c->slack.users[i].value);
	}
	free(c->slack.users);
	secret_release(&c->deploy.signing_key);
	free(c->deploy.author_name);
	free(c->deploy.author_email);
	for (i = 0; i < c->n_permissions; i++)
		free(c->permissions[i].command);
	free(c->permissions);
	for (i = 0; i < c->n_labels; i++) {
		free(c->labels[i].key);
		free(c->labels[i].value);
	}
	free(c->labels);
	for (i = 0; i < c->n_schedules; i++) {
		free(c->schedules[i].name);
		free(c->schedules[i].cron);
		free(c->schedules[i].repo);
		free(c->schedules[i].ref);
		free(c->schedules[i].command);
		free(c->schedules[i].notify);
		notify_targets_free(c->schedules[i].targets,
				    c->schedules[i].n_targets);
		free(c->schedules[i].regression_threshold);
	}
	free(c->schedules);
	for (i = 0; i < c->n_repos; i++) {
		free(c->repos[i].name);
		free(c->repos[i].clone_url);
		free(c->repos[i].config);
		for (j = 0; j < c->repos[i].n_serving; j++)
			free(c->repos[i].serving[j]);
		free(c->repos[i].serving);
	}
	free(c->repos);
	free(c);
}

int pb_config_defaults(struct pb_config **out)
{
	struct pb_config *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return pb_err_set("out of memory");
	c->server.listen = strdup("127.0.0.1:8080");
	c->server.workers = 2;
	c->server.state = strdup("./var/prbot.db");
	c->server.workdir = strdup("./var/work");
	c->server.log_level = PB_LOG_INFO;
	c->server.queue_max = 1000;
	/* Debian's python3 has the python3-* packages; a pyenv one may not */
	c->server.python = strdup(access("/usr/bin/python3", X_OK) == 0 ?
					  "/usr/bin/python3" :
					  "python3");
	c->server.limit_cpu_sec = 3600;
	c->server.limit_memory = 8LL << 30;
	c->server.limit_fsize = 4LL << 30;
	c->server.limit_nofile = 1024;
	c->server.keep_workspace = 1;
	c->github.api_url = strdup("https://api.github.com");
	c->github.bot_login = strdup("prbot");
	c->store.url = strdup("file://./var/artifacts");
	c->store.s3_path_style = -1;
	/* an address of nobody: a users.noreply.github.com one would credit
	   the commits to whoever owns that login */
	c->deploy.author_name = strdup("prbot");
	c->deploy.author_email = strdup("prbot@localhost");
	if (!c->deploy.author_name || !c->deploy.author_email ||
	    !c->server.listen || !c->server.state || !c->server.workdir ||
	    !c->server.python || !c->github.api_url || !c->github.bot_login ||
	    !c->store.url) {
		pb_config_free(c);
		return pb_err_set("out of memory");
	}
	*out = c;
	return 0;
}

/* The whole file, so the reader can count lines; NULL-safe for errors. */
static int read_conf_file(struct pb_buf *out, const char *path)
{
	int rc = pb_buf_read_file(out, path, CONF_MAX_SIZE);

	if (rc == PB_ETOOBIG)
		return pb_err_setc(PB_ENOTFOUND, "larger than %d MiB",
				   CONF_MAX_SIZE / 1024 / 1024);
	return rc < 0 ? PB_ENOTFOUND : rc;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int pb_config_load(struct pb_config **out, const char *path,
		   struct pb_diags *diags)
{
	struct conf_ctx x;
	struct pb_buf text = PB_BUF_INIT;
	size_t before = diags->n, i;
	int rc;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	rc = pb_config_defaults(&x.c);
	if (rc < 0 || !path)
		goto out;
	x.file = path;
	x.diags = diags;
	x.c->path = strdup(path);
	/* no folder in path: file:PATH is read as written */
	x.dir = strchr(path, '/') ? dir_of(path) : NULL;
	if (!x.c->path || (strchr(path, '/') && !x.dir)) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	rc = read_conf_file(&text, path);
	if (rc < 0) {
		pb_diag_add(diags, path, 0, "cannot read: %s", pb_err_last());
		rc = pb_err_prefix(rc, "%s: cannot read", path);
		goto out;
	}
	x.text = pb_buf_cstr(&text);
	x.len = text.len;
	rc = ini_parse_stream(conf_reader, &x, conf_handler, &x);
	/* conf_reader hides what inih would refuse, so this is a backstop */
	if (rc > 0)
		diag(&x, rc, "cannot parse this line");
	else if (rc < 0)
		x.oom = 1;
	check_required(&x);
	/* serving commits are the bot's: its login unless the file names one */
	if (!seen_line(&x, "deploy", "author_name")) {
		free(x.c->deploy.author_name);
		if (!(x.c->deploy.author_name = strdup(x.c->github.bot_login)))
			x.oom = 1;
	}
	rc = 0;
	if (x.oom)
		rc = pb_err_set("out of memory");
	else if (diags->n > before)
		rc = pb_err_setc(PB_EINVAL, "%s: %zu problems", path,
				 diags->n - before);
out:
	if (rc < 0 && rc != PB_EINVAL) {
		pb_config_free(x.c);
		x.c = NULL;
	}
	*out = x.c;
	for (i = 0; i < x.n_seen; i++) {
		free(x.seen[i].sect);
		free(x.seen[i].key);
	}
	free(x.seen);
	free(x.sect_id);
	free(x.sched_lines);
	free(x.repo_lines);
	free(x.dir);
	pb_buf_release(&text);
	return rc;
}

static const struct pb_secret *config_secret(const struct pb_config *c,
					     size_t i, const char **name)
{
	static const struct {
		const char *name;
		size_t off;
	} secrets[] = {
		{ "github.token", CF(github.token) },
		{ "github.private_key", CF(github.private_key) },
		{ "github.webhook_secret", CF(github.webhook_secret) },
		{ "store.access_key", CF(store.access_key) },
		{ "store.secret_key", CF(store.secret_key) },
		{ "store.session_token", CF(store.session_token) },
		{ "slack.signing_secret", CF(slack.signing_secret) },
		{ "slack.bot_token", CF(slack.bot_token) },
		{ "slack.mattermost_token", CF(slack.mattermost_token) },
		{ "deploy.signing_key", CF(deploy.signing_key) },
	};

	if (i >= sizeof(secrets) / sizeof(secrets[0]))
		return NULL;
	*name = secrets[i].name;
	return (const struct pb_secret *)((const char *)c + secrets[i].off);
}

int pb_config_add_secrets(const struct pb_config *c, struct pb_redactor *r)
{
	static const char *const env_secrets[] = { "AWS_SECRET_ACCESS_KEY",
						   "AWS_SESSION_TOKEN" };
	const struct pb_secret *s;
	const char *name;
	size_t i, j;
	int rc;

	for (i = 0; (s = config_secret(c, i, &name)); i++) {
		if (!s->value)
			continue;
		rc = pb_redactor_add(r, s->value);
		/* too short to mask without masking everything */
		if (rc == PB_EINVAL && strlen(s->value) < 6)
			continue;
		if (rc < 0)
			return pb_err_prefix(rc, "%s", name);
	}
	for (i = 0; i < c->n_schedules; i++) {
		const struct pb_conf_schedule *sc = &c->schedules[i];

		for (j = 0; j < sc->n_targets; j++) {
			s = &sc->targets[j].webhook;
			if (s->value && (rc = pb_redactor_add(r, s->value)) < 0)
				return pb_err_prefix(rc,
						     "[schedule \"%s\"] notify",
						     sc->name);
		}
	}
	/* an s3:// store without keys in bot.conf signs with these */
	for (i = 0; i < sizeof(env_secrets) / sizeof(env_secrets[0]); i++) {
		const char *v = getenv(env_secrets[i]);

		if (v && strlen(v) >= 6 && (rc = pb_redactor_add(r, v)) < 0)
			return pb_err_prefix(rc, "%s", env_secrets[i]);
	}
	return 0;
}

/* "deploy: ..." with the signing key's id (the key was checked at load). */
static int deploy_summary(struct pb_buf *b, const struct pb_config *c)
{
	struct pb_sign_key *key = NULL;
	int rc;

	rc = pb_buf_printf(b, "deploy: commits as %s <%s>, ",
			   c->deploy.author_name, c->deploy.author_email);
	if (rc < 0)
		return rc;
	if (!c->deploy.signing_key.value)
		return pb_buf_puts(b, "manifests not signed\n");
	if (pb_sign_key_private(&key, c->deploy.signing_key.value,
				"[deploy] signing_key") < 0)
		return pb_buf_printf(b, "signing key not usable: %s\n",
				     pb_err_last());
	rc = pb_buf_printf(b, "manifests signed with Ed25519 key %s\n",
			   pb_sign_key_id(key));
	pb_sign_key_free(key);
	return rc;
}

char *pb_config_summary(const struct pb_config *c)
{
	struct pb_buf b = PB_BUF_INIT;
	const struct pb_secret *s;
	const char *name;
	size_t i;
	int n = 0, bad = 0;

	/* a failed append empties b, so one failure spoils the whole text */
	bad |= pb_buf_printf(&b, "config: %s\n",
			     c->path ? c->path : "(built-in defaults)");
	bad |= pb_buf_printf(&b, "listen: %s, workers: %d, queue_max: %d\n",
			     c->server.listen, c->server.workers,
			     c->server.queue_max);
	bad |= pb_buf_printf(&b, "state: %s\n", c->server.state);
	bad |= pb_buf_printf(&b, "workdir: %s\n", c->server.workdir);
	bad |= pb_buf_printf(&b, "store: %s\n", c->store.url);
	bad |= pb_buf_printf(&b, "github: %s as %s\n", c->github.api_url,
			     c->github.bot_login);
	bad |= deploy_summary(&b, c);
	bad |= pb_buf_puts(&b, "secrets:");
	for (i = 0; (s = config_secret(c, i, &name)); i++) {
		if (!s->ref)
			continue;
		bad |= pb_buf_printf(&b, " %s=%s", name, s->ref);
		n++;
	}
	bad |= pb_buf_puts(&b, n ? "\n" : " none\n");
	bad |= pb_buf_printf(&b,
			     "permissions: %zu, labels: %zu, schedules: %zu, "
			     "repos: %zu\n",
			     c->n_permissions, c->n_labels, c->n_schedules,
			     c->n_repos);
	if (bad) {
		pb_buf_release(&b);
		return NULL;
	}
	return pb_buf_detach(&b);
}
