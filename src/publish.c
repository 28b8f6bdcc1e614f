/* publish.c: commit, tag and push inference code to a serving repository */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "prbot/buf.h"
#include "prbot/checkout.h"
#include "prbot/err.h"
#include "prbot/publish.h"
#include "prbot/fs.h"
#include "gitmirror.h"
#include "publish_tree.h"
#include "banned.h"

#define MAX_ATTEMPTS	3
#define MANIFEST_NAME	"model_manifest.json"
#define SIG_NAME	"model_manifest.json.sig"
#define VERSION_MAX	999999999UL
#define VERSION_STR_MAX 40
#define SCRATCH_REF	"refs/prbot-publish/push"

/* One inference path, stored once and re-applied on every attempt. */
struct inference {
	char *rel; /* owned: its path in the checkout, normalized */
	char *dst; /* owned: its path in the serving repository */
	git_oid id;
	git_filemode_t mode;
	int empty; /* a folder with no file: the path is removed */
};

/* What one pb_publish() or pb_publish_read() call holds. */
struct pub {
	struct pb_git_source src;
	struct pb_git_auth auth;
	char *path;	  /* owned: normalized, "" for the root */
	char *branch_ref; /* owned: "refs/heads/BRANCH" */
	git_repository *repo;
	struct inference *inf; /* owned */
	size_t n_inf;
	struct pb_strlist files; /* the inference files' paths */
	int lock_fd;
};

/* The push in flight; auth first, as the credential callback reads it. */
struct push_ctx {
	struct pb_git_auth auth;
	git_remote *remote;
	const char *branch_ref; /* must be at expect on the remote, or NULL */
	git_oid expect;		/* zero: the branch must not exist yet */
	const char *tag_ref;	/* must not exist on the remote */
	int moved;
	int tag_taken;
	struct pb_buf refused; /* "REF: STATUS" the server refused */
};

/* What the version tags of the serving repository say. */
struct tags {
	git_repository *repo;
	const git_oid *head; /* or NULL */
	int have_latest;
	struct pb_version latest;
	int have_at_head;
	struct pb_version at_head; /* the highest tag on the head */
};

static int part_parse(unsigned long *out, const char **p)
{
	const char *s = *p;
	unsigned long v = 0;
	size_t n = 0;

	for (; *s >= '0' && *s <= '9'; s++, n++) {
		if (n == 9)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (n == 0 || (n > 1 && **p == '0'))
		return -1;
	*out = v;
	*p = s;
	return 0;
}

int pb_version_parse(struct pb_version *out, const char *tag)
{
	struct pb_version v;
	const char *p = tag;

	if (*p++ != 'v' || part_parse(&v.major, &p) || *p++ != '.' ||
	    part_parse(&v.minor, &p) || *p++ != '.' ||
	    part_parse(&v.revision, &p) || *p)
		return PB_EINVAL;
	*out = v;
	return 0;
}

static int version_cmp(const struct pb_version *a, const struct pb_version *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->revision != b->revision)
		return a->revision < b->revision ? -1 : 1;
	return 0;
}

int pb_version_next(struct pb_version *out, const struct pb_version *latest,
		    enum pb_version_schema schema)
{
	struct pb_version v = { 0, 0, 0 };
	unsigned long *part;

	if (latest)
		v = *latest;
	part = schema == PB_VERSION_MAJOR ? &v.major :
	       schema == PB_VERSION_MINOR ? &v.minor :
					    &v.revision;
	if (*part >= VERSION_MAX)
		return pb_err_setc(PB_ETOOBIG,
				   "version v%lu.%lu.%lu cannot be bumped "
				   "further (tag a new major version by hand)",
				   v.major, v.minor, v.revision);
	(*part)++;
	if (part == &v.major)
		v.minor = 0;
	if (part != &v.revision)
		v.revision = 0;
	*out = v;
	return 0;
}

static void version_str(char buf[VERSION_STR_MAX], const struct pb_version *v)
{
	snprintf(buf, VERSION_STR_MAX, "v%lu.%lu.%lu", v->major, v->minor,
		 v->revision);
}

/* git_reference_foreach_glob() over refs/tags/v*: other names are skipped. */
static int tag_cb(const char *name, void *payload)
{
	struct tags *t = payload;
	struct pb_version v;
	git_reference *ref = NULL;
	git_object *obj = NULL;

	if (pb_version_parse(&v, name + strlen("refs/tags/")) < 0)
		return 0;
	if (!t->have_latest || version_cmp(&v, &t->latest) > 0) {
		t->latest = v;
		t->have_latest = 1;
	}
	if (!t->head)
		return 0;
	/* a tag of a tree or a blob names no deploy: skipped */
	if (git_reference_lookup(&ref, t->repo, name) == 0 &&
	    git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0 &&
	    git_oid_equal(git_object_id(obj), t->head) &&
	    (!t->have_at_head || version_cmp(&v, &t->at_head) > 0)) {
		t->at_head = v;
		t->have_at_head = 1;
	}
	git_error_clear();
	git_object_free(obj);
	git_reference_free(ref);
	return 0;
}

static int tags_scan(struct tags *t, git_repository *repo, const git_oid *head)
{
	int e;

	memset(t, 0, sizeof(*t));
	t->repo = repo;
	t->head = head;
	e = git_reference_foreach_glob(repo, "refs/tags/v*", tag_cb, t);
	if (e < 0)
		return pb_err_prefix(pb_git_err(e), "cannot list tags");
	return 0;
}

static void pub_release(struct pub *p)
{
	size_t i;

	pb_strlist_release(&p->files);
	for (i = 0; i < p->n_inf; i++) {
		free(p->inf[i].rel);
		free(p->inf[i].dst);
	}
	free(p->inf);
	git_repository_free(p->repo);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	free(p->branch_ref);
	free(p->path);
	pb_git_source_release(&p->src);
	memset(p, 0, sizeof(*p));
	p->lock_fd = -1;
}

/* "NAME" inside the serving path: "PATH/NAME", or "NAME" at the root. */
static int dst_join(struct pb_buf *b, const char *path, const char *name)
{
	pb_buf_reset(b);
	if (*path)
		return pb_buf_printf(b, "%s/%s", path, name);
	return pb_buf_puts(b, name);
}

/*
 * Locate the repository, take its lock and bring its mirror up to date:
 * WORKDIR/serving/KEY.git, locked by KEY.lock for the whole publish, so two
 * deploys from this machine never race each other.
 */
static int pub_open(struct pub *p, const char *repo, const char *workdir,
		    const char *token)
{
	struct pb_buf dir = PB_BUF_INIT, key = PB_BUF_INIT;
	struct pb_buf mirror = PB_BUF_INIT, lock = PB_BUF_INIT;
	int created, rc;

	if ((rc = pb_git_ready()) < 0 ||
	    (rc = pb_git_source_locate(&p->src, repo)) < 0)
		goto out;
	if (*p->src.subdir) {
		rc = pb_err_setc(PB_EINVAL,
				 "serving repository '%s' is a folder inside "
				 "a repository (give the repository itself "
				 "and the folder as the environment's path)",
				 repo);
		goto out;
	}
	if ((rc = pb_buf_printf(&dir, "%s/serving", workdir)) < 0 ||
	    (rc = pb_git_mirror_key(&key, p->src.owner_repo, p->src.origin)) <
		    0 ||
	    (rc = pb_buf_printf(&mirror, "%s/%s.git", dir.ptr, key.ptr)) < 0 ||
	    (rc = pb_buf_printf(&lock, "%s/%s.lock", dir.ptr, key.ptr)) < 0 ||
	    (rc = pb_mkdirs(dir.ptr, 0700)) < 0 ||
	    (rc = pb_git_lock(&p->lock_fd, lock.ptr)) < 0)
		goto out;
	p->auth.origin = p->src.origin;
	p->auth.token = token;
	p->auth.host = p->src.host;
	p->auth.token_ok = p->src.token_ok;
	rc = pb_git_mirror_update(&p->repo, &created, mirror.ptr, &p->auth);
out:
	pb_buf_release(&lock);
	pb_buf_release(&mirror);
	pb_buf_release(&key);
	pb_buf_release(&dir);
	return rc;
}

/* Check every inference path before any network call. */
static int inference_plan(struct pub *p, const struct pb_publish_opts *o)
{
	struct pb_buf dst = PB_BUF_INIT;
	size_t i;
	int rc = 0;

	if (!(p->inf = calloc(o->n_inference ? o->n_inference : 1,
			      sizeof(*p->inf))))
		return pb_err_set("out of memory");
	for (i = 0; rc == 0 && i < o->n_inference; i++) {
		struct inference *inf = &p->inf[i];

		p->n_inf++;
		if ((rc = pb_ptree_norm(&inf->rel, o->inference[i],
					"deploy.inference path")) < 0)
			break;
		if (!*inf->rel)
			rc = pb_err_setc(PB_EINVAL,
					 "deploy.inference path '%s' is the "
					 "whole checkout (list the files and "
					 "folders to deploy)",
					 o->inference[i]);
		else if ((rc = dst_join(&dst, p->path, inf->rel)) == 0)
			inf->dst = pb_buf_detach(&dst);
	}
	pb_buf_release(&dst);
	return rc;
}

/* Store every inference path once: only the tree on top changes later. */
static int inference_load(struct pub *p, const struct pb_publish_opts *o)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < p->n_inf; i++) {
		struct inference *inf = &p->inf[i];

		rc = pb_ptree_from_disk(&inf->id, &inf->mode, &inf->empty,
					p->repo, o->source_root, inf->rel,
					inf->dst, &p->files);
	}
	return rc;
}

static int blob_put(git_oid *tree, struct pub *p, const char *name,
		    const struct pb_buf *data)
{
	struct pb_buf dst = PB_BUF_INIT;
	git_oid blob;
	int e, rc;

	if ((rc = dst_join(&dst, p->path, name)) < 0)
		return rc;
	if (data->len == 0 && strcmp(name, MANIFEST_NAME))
		rc = pb_ptree_put(tree, p->repo, tree, dst.ptr, NULL, 0);
	else if ((e = git_blob_create_from_buffer(
			  &blob, p->repo, pb_buf_cstr(data), data->len)) < 0)
		rc = pb_err_prefix(pb_git_err(e), "cannot store '%s'", dst.ptr);
	else
		rc = pb_ptree_put(tree, p->repo, tree, dst.ptr, &blob,
				  GIT_FILEMODE_BLOB);
	pb_buf_release(&dst);
	return rc;
}

/* The head's tree (base; NULL: none) with the deploy for version on top. */
static int tree_build(git_oid *out, int *has_sig, struct pub *p,
		      const struct pb_publish_opts *o, const git_oid *base,
		      const char *version)
{
	struct pb_buf man = PB_BUF_INIT, sig = PB_BUF_INIT;
	git_oid cur;
	size_t i;
	int rc;

	if ((rc = o->manifest(&man, &sig, version, o->manifest_arg)) < 0)
		goto out;
	if (base)
		git_oid_cpy(&cur, base);
	/* replace_path: path emptied first (the root: nothing kept) */
	if (base && o->replace_path && !*p->path)
		base = NULL;
	else if (base && o->replace_path &&
		 (rc = pb_ptree_put(&cur, p->repo, base, p->path, NULL, 0)) < 0)
		goto out;
	for (i = 0; rc == 0 && i < p->n_inf; i++) {
		const struct inference *inf = &p->inf[i];

		rc = pb_ptree_put(&cur, p->repo, base || i ? &cur : NULL,
				  inf->dst, inf->empty ? NULL : &inf->id,
				  inf->mode);
	}
	if (rc == 0 && !base && p->n_inf == 0)
		rc = pb_ptree_put(&cur, p->repo, NULL, MANIFEST_NAME, NULL, 0);
	if (rc == 0)
		rc = blob_put(&cur, p, MANIFEST_NAME, &man);
	if (rc == 0)
		rc = blob_put(&cur, p, SIG_NAME, &sig);
	if (rc == 0) {
		git_oid_cpy(out, &cur);
		*has_sig = sig.len > 0;
	}
out:
	pb_buf_release(&sig);
	pb_buf_release(&man);
	return rc;
}

static int message_build(struct pb_buf *m, const struct pb_publish_opts *o,
			 const char *version)
{
	const char *repo = o->source_repo ? o->source_repo : "(unknown)";
	const char *sha = o->source_sha ? o->source_sha : "(unknown)";
	int rc = o->rollback_of ?
			 pb_buf_printf(m, "Roll back to %s as %s from %s",
				       o->rollback_of, version, repo) :
			 pb_buf_printf(m, "Deploy %s from %s", version, repo);

	if (rc == 0 && o->pr > 0)
		rc = pb_buf_printf(m, "#%d", o->pr);
	if (rc == 0 && o->environment)
		rc = pb_buf_printf(m, " to %s", o->environment);
	if (rc == 0)
		rc = pb_buf_printf(m, "\n\nSource: %s\n", repo);
	if (rc == 0 && o->pr > 0)
		rc = pb_buf_printf(m, "Pull request: #%d\n", o->pr);
	if (rc == 0)
		rc = pb_buf_printf(m, "Commit: %s\nVersion: %s\n", sha,
				   version);
	if (rc == 0 && o->environment)
		rc = pb_buf_printf(m, "Environment: %s\n", o->environment);
	if (rc == 0 && o->rollback_of)
		rc = pb_buf_printf(m, "Rolled back to: %s\n", o->rollback_of);
	return rc;
}

static int files_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int result_fill(struct pb_publish_result *out, struct pub *p,
		       const char *version, const git_oid *commit, int has_sig)
{
	char hex[GIT_OID_HEXSZ + 1];
	struct pb_strlist files = { NULL, 0, 0 };
	struct pb_buf dst = PB_BUF_INIT;
	size_t i, j;
	int rc = 0;

	for (i = 0; rc == 0 && i < p->files.n; i++)
		rc = pb_strlist_add(&files, p->files.v[i]);
	if (rc == 0 && (rc = dst_join(&dst, p->path, MANIFEST_NAME)) == 0)
		rc = pb_strlist_add(&files, dst.ptr);
	if (rc == 0 && has_sig && (rc = dst_join(&dst, p->path, SIG_NAME)) == 0)
		rc = pb_strlist_add(&files, dst.ptr);
	pb_buf_release(&dst);
	git_oid_tostr(hex, sizeof(hex), commit);
	if (rc == 0 && ((version && !(out->version = strdup(version))) ||
			!(out->commit = strdup(hex))))
		rc = pb_err_set("out of memory");
	if (rc < 0) {
		pb_strlist_release(&files);
		return rc;
	}
	qsort(files.v, files.n, sizeof(*files.v), files_cmp);
	/* overlapping inference paths ("src/", "src/a.py") name a file twice */
	for (i = j = 0; i < files.n; i++) {
		if (j > 0 && !strcmp(files.v[j - 1], files.v[i]))
			free(files.v[i]);
		else
			files.v[j++] = files.v[i];
	}
	out->files = files.v;
	out->n_files = j;
	return 0;
}

static int negotiate_cb(const git_push_update **u, size_t n, void *payload)
{
	struct push_ctx *c = payload;
	const git_remote_head **heads;
	size_t i, nh;

	for (i = 0; i < n; i++) {
		if (c->branch_ref &&
		    !strcmp(u[i]->dst_refname, c->branch_ref) &&
		    !git_oid_equal(&u[i]->src, &c->expect))
			c->moved = 1;
		if (c->tag_ref && !strcmp(u[i]->dst_refname, c->tag_ref) &&
		    !git_oid_is_zero(&u[i]->src))
			c->tag_taken = 1;
	}
	/* the branch push checks the tag too, so it can still go elsewhere */
	if (c->tag_ref && git_remote_ls(&heads, &nh, c->remote) == 0)
		for (i = 0; i < nh; i++)
			if (!strcmp(heads[i]->name, c->tag_ref))
				c->tag_taken = 1;
	if (!c->moved && !c->tag_taken)
		return 0;
	git_error_set_str(GIT_ERROR_REFERENCE,
			  "the remote moved since the fetch");
	return -1;
}

static int update_cb(const char *ref, const char *status, void *payload)
{
	struct push_ctx *c = payload;

	if (!status)
		return 0;
	return pb_buf_printf(&c->refused, "%s%s: %s",
			     c->refused.len ? "; " : "", ref, status) < 0 ?
		       -1 :
		       0;
}

/* What git receive-pack and libgit2 say when a ref moved under a push. */
static int refusal_is_race(const char *status)
{
	static const char *const words[] = {
		"fast-forward", "fetch first",	  "stale",
		"lock",		"already exists", "failed to update"
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(status, words[i]))
			return 1;
	return 0;
}

/*
 * Push id to the remote's ref dst: 0 pushed, 1 refused because the remote
 * moved (c->moved or c->tag_taken says which), or a negative PB_E* code.
 * libgit2 1.5 pushes from a local ref only, so id gets a scratch ref in the
 * mirror for the push (ours under the lock; the next fetch would prune it).
 */
static int push_one(struct push_ctx *c, struct pub *p, const git_oid *id,
		    const char *dst)
{
	struct pb_buf spec = PB_BUF_INIT;
	git_reference *scratch = NULL;
	git_push_options po;
	git_strarray specs;
	char *list[1];
	int e, rc = 0;

	c->auth = p->auth;
	c->auth.token_sent = 0;
	if ((rc = pb_buf_printf(&spec, "%s:%s", SCRATCH_REF, dst)) < 0)
		return rc;
	if ((e = git_reference_create(&scratch, p->repo, SCRATCH_REF, id, 1,
				      "prbot: publish")) < 0 ||
	    (e = git_remote_lookup(&c->remote, p->repo, "origin")) < 0) {
		rc = pb_err_prefix(pb_git_err(e), "cannot push to '%s'",
				   p->src.origin);
		goto out;
	}
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	po.callbacks.credentials = pb_git_cred_cb;
	po.callbacks.push_negotiation = negotiate_cb;
	po.callbacks.push_update_reference = update_cb;
	po.callbacks.payload = c;
	list[0] = spec.ptr;
	specs.strings = list;
	specs.count = 1;
	e = git_remote_push(c->remote, &specs, &po);
	if (c->moved || c->tag_taken || e == GIT_ENONFASTFORWARD)
		rc = 1;
	else if (e < 0)
		rc = pb_git_remote_fail(&c->auth, e, 1);
	else if (c->refused.len && refusal_is_race(c->refused.ptr))
		rc = 1;
	else if (c->refused.len)
		rc = pb_err_setc(PB_EPERM,
				 "cannot push to '%s': the server refused %s "
				 "(check the branch's protection rules and "
				 "the token's access)",
				 p->src.origin, c->refused.ptr);
out:
	if (scratch)
		git_reference_delete(scratch);
	git_reference_free(scratch);
	git_remote_free(c->remote);
	c->remote = NULL;
	pb_buf_release(&spec);
	return rc;
}

static int push_branch(struct pub *p, const git_oid *commit,
		       const git_oid *head, const char *tag_ref)
{
	struct push_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.branch_ref = p->branch_ref;
	if (head)
		git_oid_cpy(&c.expect, head);
	c.tag_ref = tag_ref;
	rc = push_one(&c, p, commit, p->branch_ref);
	pb_buf_release(&c.refused);
	return rc;
}

/* After the branch went in: a failure here is said as half-published. */
static int push_tag(struct pub *p, const git_oid *tag, const git_oid *commit,
		    const char *version, const char *tag_ref)
{
	struct push_ctx c;
	char chex[GIT_OID_HEXSZ + 1];
	struct pb_buf why = PB_BUF_INIT;
	int rc;

	memset(&c, 0, sizeof(c));
	c.tag_ref = tag_ref;
	git_oid_tostr(chex, sizeof(chex), commit);
	rc = push_one(&c, p, tag, tag_ref);
	if (rc == 1)
		rc = pb_err_setc(PB_EEXISTS,
				 "branch '%s' of '%s' now has commit %s (%s), "
				 "but tag %s was created by someone else in "
				 "the meantime (tag the commit by hand with "
				 "the next free version)",
				 p->branch_ref + strlen("refs/heads/"),
				 p->src.origin, chex, version, version);
	else if (rc < 0 && pb_buf_puts(&why, pb_err_last()) == 0)
		rc = pb_err_setc(rc,
				 "branch '%s' of '%s' now has commit %s (%s), "
				 "but tag %s was not pushed: %s (push the tag "
				 "by hand)",
				 p->branch_ref + strlen("refs/heads/"),
				 p->src.origin, chex, version, version,
				 why.ptr);
	pb_buf_release(&why);
	pb_buf_release(&c.refused);
	return rc;
}

static int head_read(git_commit **out, struct pub *p)
{
	git_reference *ref = NULL;
	git_object *obj = NULL;
	int e;

	*out = NULL;
	e = git_reference_lookup(&ref, p->repo, p->branch_ref);
	if (e == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (e == 0)
		e = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
	git_reference_free(ref);
	if (e < 0)
		return pb_err_prefix(pb_git_err(e), "cannot read '%s' of '%s'",
				     p->branch_ref, p->src.origin);
	*out = (git_commit *)obj;
	return 0;
}

/*
 * The deploy is already there when the tree built for the head's version
 * (or, failing that, for the next one) is the head's tree; *tree gets the
 * tree for next either way.
 */
static int already_check(int *same, const char **version, int *has_sig,
			 git_oid *tree, struct pub *p,
			 const struct pb_publish_opts *o, git_commit *head,
			 const struct tags *t, const char *at_head,
			 const char *next)
{
	const git_oid *base = head ? git_commit_tree_id(head) : NULL;
	int rc;

	*same = 0;
	if (head && t->have_at_head) {
		if ((rc = tree_build(tree, has_sig, p, o, base, at_head)) < 0)
			return rc;
		if (git_oid_equal(tree, base)) {
			*same = 1;
			*version = at_head;
			return 0;
		}
	}
	if ((rc = tree_build(tree, has_sig, p, o, base, next)) < 0)
		return rc;
	if (head && git_oid_equal(tree, base)) {
		*same = 1;
		*version = t->have_at_head ? at_head : NULL;
	}
	return 0;
}

static int commit_write(git_oid *commit, git_oid *tag, struct pub *p,
			const struct pb_publish_opts *o, git_commit *head,
			const git_oid *tree_id, const char *version)
{
	struct pb_buf msg = PB_BUF_INIT;
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_object *obj = NULL;
	const git_commit *parents[1];
	int e = 0, rc;

	parents[0] = head;
	if ((rc = message_build(&msg, o, version)) < 0)
		goto out;
	if ((e = git_signature_now(&sig, o->author_name, o->author_email)) <
	    0) {
		rc = pb_err_prefix(pb_git_err(e),
				   "author '%s <%s>' cannot sign a commit",
				   o->author_name, o->author_email);
		goto out;
	}
	if ((e = git_tree_lookup(&tree, p->repo, tree_id)) < 0 ||
	    (e = git_commit_create(commit, p->repo, NULL, sig, sig, NULL,
				   msg.ptr, tree, head ? 1 : 0, parents)) < 0 ||
	    (e = git_object_lookup(&obj, p->repo, commit, GIT_OBJECT_COMMIT)) <
		    0 ||
	    (e = git_tag_annotation_create(tag, p->repo, version, obj, sig,
					   msg.ptr)) < 0)
		rc = pb_err_prefix(pb_git_err(e), "cannot write commit for %s",
				   version);
out:
	git_object_free(obj);
	git_tree_free(tree);
	git_signature_free(sig);
	pb_buf_release(&msg);
	return rc;
}

/* One try on the branch as fetched: 0 done, 1 the remote moved. */
static int attempt(struct pb_publish_result *out, struct pub *p,
		   const struct pb_publish_opts *o, int n)
{
	char next[VERSION_STR_MAX], at_head[VERSION_STR_MAX];
	struct pb_buf tag_ref = PB_BUF_INIT;
	git_commit *head = NULL;
	const char *version = NULL;
	struct pb_version v;
	struct tags t;
	git_oid tree, commit, tag;
	int same = 0, has_sig = 0, rc;

	if ((rc = head_read(&head, p)) < 0 ||
	    (rc = tags_scan(&t, p->repo, head ? git_commit_id(head) : NULL)) <
		    0 ||
	    (rc = pb_version_next(&v, t.have_latest ? &t.latest : NULL,
				  o->schema)) < 0)
		goto out;
	version_str(next, &v);
	version_str(at_head, &t.at_head);
	if ((rc = already_check(&same, &version, &has_sig, &tree, p, o, head,
				&t, at_head, next)) < 0)
		goto out;
	if (same) {
		out->already_deployed = 1;
		rc = result_fill(out, p, version, git_commit_id(head), has_sig);
		goto out;
	}
	if ((rc = commit_write(&commit, &tag, p, o, head, &tree, next)) < 0 ||
	    (rc = pb_buf_printf(&tag_ref, "refs/tags/%s", next)) < 0)
		goto out;
	if (!o->dry_run) {
		if (o->before_push && o->before_push(o->before_push_arg, n)) {
			rc = pb_err_set("publish stopped before the push");
			goto out;
		}
		rc = push_branch(p, &commit, head ? git_commit_id(head) : NULL,
				 tag_ref.ptr);
		if (rc != 0)
			goto out;
		if ((rc = push_tag(p, &tag, &commit, next, tag_ref.ptr)) < 0)
			goto out;
	}
	rc = result_fill(out, p, next, &commit, has_sig);
out:
	pb_buf_release(&tag_ref);
	git_commit_free(head);
	return rc;
}

static int opts_check(const struct pb_publish_opts *o)
{
	if (!o->repo || !*o->repo)
		return pb_err_setc(PB_EINVAL, "publish: no serving repository "
					      "given (set the environment's "
					      "repo in .prbot.yml)");
	if (!o->workdir || !*o->workdir)
		return pb_err_setc(PB_EINVAL, "publish: no work directory "
					      "given (set [server] workdir)");
	if (!o->source_root || !*o->source_root)
		return pb_err_setc(PB_EINVAL, "publish: no checkout given");
	if (!o->manifest)
		return pb_err_setc(PB_EINVAL, "publish: no manifest writer");
	if (!o->author_name || !*o->author_name || !o->author_email ||
	    !*o->author_email)
		return pb_err_setc(PB_EINVAL,
				   "publish: no author name and email (set "
				   "[github] bot_login)");
	return 0;
}

int pb_publish(struct pb_publish_result *out, const struct pb_publish_opts *o)
{
	struct pb_buf ref = PB_BUF_INIT;
	const char *branch = o->branch && *o->branch ? o->branch : "main";
	struct pub p;
	int valid = 0, n, rc;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	p.lock_fd = -1;
	if ((rc = opts_check(o)) < 0 || (rc = pb_git_ready()) < 0 ||
	    (rc = pb_buf_printf(&ref, "refs/heads/%s", branch)) < 0)
		return rc;
	if (git_reference_name_is_valid(&valid, ref.ptr) < 0 || !valid) {
		rc = pb_err_setc(PB_EINVAL,
				 "branch '%s' is not a valid branch name "
				 "(fix the environment's branch in .prbot.yml)",
				 branch);
		goto out;
	}
	p.branch_ref = pb_buf_detach(&ref);
	if ((rc = pb_ptree_norm(&p.path, o->path ? o->path : "",
				"serving path")) < 0 ||
	    (rc = inference_plan(&p, o)) < 0 ||
	    (rc = pub_open(&p, o->repo, o->workdir, o->token)) < 0 ||
	    (rc = inference_load(&p, o)) < 0)
		goto out;
	for (n = 1; n <= MAX_ATTEMPTS; n++) {
		/* a new connection: the token may be sent once again */
		p.auth.token_sent = 0;
		if (n > 1 && (rc = pb_git_mirror_fetch(p.repo, &p.auth)) < 0)
			goto out;
		out->attempts = n;
		if ((rc = attempt(out, &p, o, n)) <= 0)
			goto out;
	}
	rc = pb_err_setc(PB_ERROR,
			 "branch '%s' of '%s' kept moving: %d pushes were "
			 "refused because other commits or tags landed first "
			 "(nothing was pushed; deploy again later)",
			 branch, p.src.origin, MAX_ATTEMPTS);
out:
	if (rc < 0)
		pb_publish_result_release(out);
	pb_buf_release(&ref);
	pub_release(&p);
	return rc;
}

void pb_publish_result_release(struct pb_publish_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n_files; i++)
		free(r->files[i]);
	free(r->files);
	free(r->commit);
	free(r->version);
	memset(r, 0, sizeof(*r));
}

/* rev's tree at path: a folder, or PB_ENOTFOUND naming both. */
static int read_tree(git_tree **out, char **commit, struct pub *p,
		     const char *rev)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_object *obj = NULL, *peeled = NULL;
	git_tree_entry *entry = NULL;
	git_tree *root = NULL;
	int e, rc = 0;

	e = git_revparse_single(&obj, p->repo, rev);
	if (e == GIT_ENOTFOUND || e == GIT_EINVALIDSPEC || e == GIT_EAMBIGUOUS)
		return pb_err_setc(PB_ENOTFOUND,
				   "'%s' not found in '%s' (give a tag such as "
				   "v1.2.3, a branch or a commit SHA)",
				   rev, p->src.origin);
	if (e == 0)
		e = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
	if (e == 0)
		e = git_commit_tree(&root, (git_commit *)peeled);
	if (e < 0) {
		rc = pb_err_prefix(pb_git_err(e), "cannot read '%s' in '%s'",
				   rev, p->src.origin);
		goto out;
	}
	if (!*p->path) {
		*out = root;
		root = NULL;
	} else if (git_tree_entry_bypath(&entry, root, p->path) < 0 ||
		   git_tree_entry_type(entry) != GIT_OBJECT_TREE) {
		git_error_clear();
		rc = pb_err_setc(PB_ENOTFOUND,
				 "folder '%s' not found at '%s' in '%s'",
				 p->path, rev, p->src.origin);
		goto out;
	} else if ((e = git_tree_lookup(out, p->repo,
					git_tree_entry_id(entry))) < 0) {
		rc = pb_err_prefix(pb_git_err(e), "cannot read '%s' at '%s'",
				   p->path, rev);
		goto out;
	}
	git_oid_tostr(hex, sizeof(hex), git_object_id(peeled));
	if (!(*commit = strdup(hex))) {
		git_tree_free(*out);
		*out = NULL;
		rc = pb_err_set("out of memory");
	}
out:
	git_tree_entry_free(entry);
	git_tree_free(root);
	git_object_free(peeled);
	git_object_free(obj);
	return rc;
}

int pb_publish_read(char **commit, const struct pb_publish_read_opts *o)
{
	struct pb_buf msg = PB_BUF_INIT;
	git_tree *tree = NULL;
	struct pub p;
	int created = 0, rc;

	*commit = NULL;
	memset(&p, 0, sizeof(p));
	p.lock_fd = -1;
	if (!o->repo || !*o->repo || !o->workdir || !*o->workdir || !o->rev ||
	    !*o->rev || !o->dest || !*o->dest)
		return pb_err_setc(PB_EINVAL, "publish read: give the serving "
					      "repository, work directory, "
					      "revision and destination");
	if ((rc = pb_ptree_norm(&p.path, o->path ? o->path : "",
				"serving path")) < 0 ||
	    (rc = pub_open(&p, o->repo, o->workdir, o->token)) < 0 ||
	    (rc = read_tree(&tree, commit, &p, o->rev)) < 0)
		goto out;
	if (mkdir(o->dest, 0700) < 0) {
		rc = pb_err_setc(errno == EEXIST ? PB_EEXISTS : PB_ERROR,
				 "cannot create '%s': %s (give a new folder)",
				 o->dest, strerror(errno));
		goto out;
	}
	created = 1;
	rc = pb_git_write_tree(p.repo, tree, o->dest);
out:
	if (rc < 0 && created && pb_buf_puts(&msg, pb_err_last()) == 0) {
		pb_rmtree(o->dest);
		pb_err_setc(rc, "%s", msg.ptr);
	}
	if (rc < 0) {
		free(*commit);
		*commit = NULL;
	}
	pb_buf_release(&msg);
	git_tree_free(tree);
	pub_release(&p);
	return rc;
}
