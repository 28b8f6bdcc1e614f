/* gitmirror.c: libgit2 plumbing shared by checkout and publish: start-up,
 * errors, where a repository lives, credentials, locked bare mirrors */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <git2.h>
#include <openssl/evp.h>

#include "prbot/buf.h"
#include "prbot/checkout.h"
#include "prbot/err.h"
#include "gitmirror.h"
#include "banned.h"

/* Mirror everything: branches, tags and refs/pull/N/head of forks' PRs. */
#define MIRROR_REFSPEC "+refs/*:refs/*"
#define KEY_NAME_MAX   80
#define KEY_HASH_HEX   16

/*
 * libgit2 is started once per process and never shut down: the CA locations
 * live in its TLS state, which the last git_libgit2_shutdown() would free
 * (the next init reloading only the built-in default). Set by lib_start()
 * under lib_once, read-only after.
 */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc;
static char *lib_msg; /* owned by the process: the reason lib_rc < 0 */

void pb_git_source_release(struct pb_git_source *s)
{
	free(s->origin);
	free(s->owner_repo);
	free(s->subdir);
	free(s->host);
	memset(s, 0, sizeof(*s));
}

/* libgit2's errors are converted here, once: its message, our code. */
const char *pb_git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

int pb_git_err(int gerr)
{
	int code;

	switch (gerr) {
	case GIT_ENOTFOUND:
		code = PB_ENOTFOUND;
		break;
	case GIT_EAMBIGUOUS:
	case GIT_EINVALIDSPEC:
		code = PB_EINVAL;
		break;
	case GIT_EAUTH:
	case GIT_EOWNER:
		code = PB_EPERM;
		break;
	case GIT_EEXISTS:
		code = PB_EEXISTS;
		break;
	default:
		code = PB_ERROR;
	}
	return pb_err_setc(code, "%s", pb_git_msg());
}

static const char *env_path(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* The CA variables by name and value, for the message about them. */
static int ca_vars(struct pb_buf *b, const char *file, const char *dir)
{
	if (file && dir)
		return pb_buf_printf(b,
				     "SSL_CERT_FILE '%s' and SSL_CERT_DIR '%s'",
				     file, dir);
	if (file)
		return pb_buf_printf(b, "SSL_CERT_FILE '%s'", file);
	return pb_buf_printf(b, "SSL_CERT_DIR '%s'", dir);
}

/*
 * SSL_CERT_FILE and SSL_CERT_DIR, as curl and OpenSSL read them: the CAs
 * that https servers are verified against, in place of the system's (a
 * company's own CA, or a test's). Verification itself stays on.
 */
static int lib_setup(void)
{
	const char *file = env_path("SSL_CERT_FILE");
	const char *dir = env_path("SSL_CERT_DIR");
	struct pb_buf vars = PB_BUF_INIT;
	int e, rc;

	if ((e = git_libgit2_init()) < 0)
		return pb_err_prefix(pb_git_err(e), "cannot start libgit2");
	if ((!file && !dir) ||
	    git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, dir) == 0)
		return 0;
	if ((rc = ca_vars(&vars, file, dir)) == 0)
		rc = pb_err_setc(PB_EINVAL,
				 "cannot use %s: %s (give PEM certificates of "
				 "the authorities to trust, or unset the "
				 "variable)",
				 vars.ptr, pb_git_msg());
	pb_buf_release(&vars);
	return rc;
}

/* Runs in whichever thread comes first; its verdict holds for all. */
static void lib_start(void)
{
	if ((lib_rc = lib_setup()) < 0)
		lib_msg = strdup(pb_err_last());
}

int pb_git_ready(void)
{
	if (pthread_once(&lib_once, lib_start) != 0)
		return pb_err_set("cannot start libgit2: pthread_once failed");
	if (lib_rc < 0)
		return pb_err_setc(lib_rc, "%s",
				   lib_msg ? lib_msg : "out of memory");
	return 0;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		pb_err_set("out of memory");
	return p;
}

static int has_prefix_ci(const char *s, const char *prefix)
{
	return !strncasecmp(s, prefix, strlen(prefix));
}

static int is_loopback(const char *host)
{
	return !strcasecmp(host, "localhost") || !strcmp(host, "[::1]") ||
	       !strncmp(host, "127.", 4);
}

/* "x/y/n.git/" -> "n" with its length; the last path component. */
static const char *last_component(const char *path, size_t *len,
				  const char **rest_end)
{
	size_t n = strlen(path);
	size_t end;

	while (n > 0 && path[n - 1] == '/')
		n--;
	end = n;
	while (n > 0 && path[n - 1] != '/')
		n--;
	*len = end - n;
	if (rest_end)
		*rest_end = path + n;
	return path + n;
}

static size_t strip_dot_git(const char *name, size_t len)
{
	if (len > 4 && !strncmp(name + len - 4, ".git", 4))
		return len - 4;
	return len;
}

/*
 * OWNER/NAME from a URL path ("/o/n.git"): the last two components, so
 * GitLab's groups/subgroups/name gives "subgroups/name"; a path of one
 * component takes the host as its owner.
 */
static int owner_repo_from_path(char **out, const char *host, const char *path,
				const char *url)
{
	struct pb_buf b = PB_BUF_INIT;
	const char *name, *owner, *rest;
	size_t nlen, olen;
	char *head = NULL;
	int rc;

	name = last_component(path, &nlen, &rest);
	nlen = strip_dot_git(name, nlen);
	if (nlen == 0)
		return pb_err_setc(PB_EINVAL,
				   "repository URL '%s' has no repository "
				   "name (give https://HOST/OWNER/NAME)",
				   url);
	if (!(head = strndup(path, (size_t)(rest - path))))
		return pb_err_set("out of memory");
	owner = last_component(head, &olen, NULL);
	if (olen > 0)
		rc = pb_buf_printf(&b, "%.*s/%.*s", (int)olen, owner, (int)nlen,
				   name);
	else
		rc = pb_buf_printf(&b, "%s/%.*s", host, (int)nlen, name);
	free(head);
	if (rc < 0)
		return rc;
	*out = pb_buf_detach(&b);
	return 0;
}

/*
 * An http(s) URL: checked and named without any network call. A user name
 * or password in the URL is refused (and never repeated): the token is
 * handed over by the credential callback instead.
 */
static int source_from_url(struct pb_git_source *s, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *path = NULL, *user = NULL;
	size_t n;
	int rc = 0;

	if (!u)
		return pb_err_set("out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		rc = pb_err_setc(PB_EINVAL,
				 "repository URL '%s' is not a valid URL "
				 "(give https://HOST/OWNER/NAME)",
				 url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		rc = pb_err_setc(PB_EINVAL,
				 "repository URL must not hold a user name, "
				 "password or token (remove 'USER@' from it; "
				 "the token comes from the configuration)");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) !=
		    CURLUE_OK) {
		rc = pb_err_setc(PB_EINVAL,
				 "repository URL '%s' has no host or path "
				 "(give https://HOST/OWNER/NAME)",
				 url);
		goto out;
	}
	if ((rc = owner_repo_from_path(&s->owner_repo, host, path, url)) < 0)
		goto out;
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (!(s->origin = strndup(url, n)) || !(s->host = xstrdup(host)) ||
	    !(s->subdir = xstrdup(""))) {
		rc = pb_err_set("out of memory");
		goto out;
	}
	/* a token never travels in clear text beyond this machine */
	s->token_ok = !strcasecmp(scheme, "https") || is_loopback(host);
out:
	curl_free(user);
	curl_free(path);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

/* file:// + the path, %-encoding all but unreserved characters and '/'. */
static int file_url(char **out, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct pb_buf b = PB_BUF_INIT;
	const unsigned char *p;
	int rc = pb_buf_puts(&b, "file://");

	for (p = (const unsigned char *)path; rc == 0 && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
			rc = pb_buf_putc(&b, (char)*p);
		else
			rc = pb_buf_printf(&b, "%%%c%c", hex[*p >> 4],
					   hex[*p & 15]);
	}
	if (rc < 0)
		return rc;
	*out = pb_buf_detach(&b);
	return 0;
}

static int local_name(char **out, const char *root)
{
	struct pb_buf b = PB_BUF_INIT;
	const char *name;
	size_t len;
	int rc;

	name = last_component(root, &len, NULL);
	len = strip_dot_git(name, len);
	if (len == 0)
		rc = pb_buf_puts(&b, "local/repository");
	else
		rc = pb_buf_printf(&b, "local/%.*s", (int)len, name);
	if (rc < 0)
		return rc;
	*out = pb_buf_detach(&b);
	return 0;
}

/* root: the repository's root directory without the trailing slash. */
static int repo_root(char **out, git_repository *repo)
{
	const char *dir = git_repository_is_bare(repo) ?
				  git_repository_path(repo) :
				  git_repository_workdir(repo);
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (!(*out = strndup(dir, n)))
		return pb_err_set("out of memory");
	return 0;
}

/* path below root: "" for root itself, "a/b" below it, NULL elsewhere */
static const char *path_below(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (strncmp(path, root, n))
		return NULL;
	if (path[n] == '\0')
		return path + n;
	if (n > 0 && root[n - 1] == '/')
		return path + n;
	return path[n] == '/' ? path + n + 1 : NULL;
}

/*
 * A local path (or a file:// URL's path): the enclosing repository is
 * mirrored and where the path sits inside its work tree is the project.
 */
static int source_from_path(struct pb_git_source *s, const char *shown,
			    const char *path)
{
	git_repository *repo = NULL;
	char *abs = NULL, *root = NULL;
	const char *sub;
	int e, rc = 0;

	if (!(abs = realpath(path, NULL))) {
		rc = pb_err_setc(PB_ENOTFOUND, "repository '%s' not found: %s",
				 shown, strerror(errno));
		goto out;
	}
	e = git_repository_open_ext(&repo, abs, 0, NULL);
	if (e == GIT_ENOTFOUND) {
		rc = pb_err_setc(PB_ENOTFOUND,
				 "repository '%s' not found: not a git "
				 "repository (nor any of its parents)",
				 shown);
		goto out;
	}
	if (e < 0) {
		rc = pb_err_prefix(pb_git_err(e), "cannot open repository '%s'",
				   shown);
		goto out;
	}
	if ((rc = repo_root(&root, repo)) < 0)
		goto out;
	sub = path_below(abs, root);
	if (!sub || (*sub && git_repository_is_bare(repo))) {
		rc = pb_err_setc(PB_EINVAL,
				 "'%s' is inside the repository '%s' but not "
				 "in its work tree (give the repository or a "
				 "directory of its work tree)",
				 shown, root);
		goto out;
	}
	if (!(s->subdir = xstrdup(sub))) {
		rc = PB_ERROR;
		goto out;
	}
	if ((rc = file_url(&s->origin, root)) < 0 ||
	    (rc = local_name(&s->owner_repo, root)) < 0)
		goto out;
out:
	git_repository_free(repo);
	free(root);
	free(abs);
	return rc;
}

static int source_from_file_url(struct pb_git_source *s, const char *url)
{
	CURLU *u = curl_url();
	char *path = NULL;
	int rc;

	if (!u)
		return pb_err_set("out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) !=
		    CURLUE_OK)
		rc = pb_err_setc(PB_EINVAL,
				 "repository URL '%s' is not a valid file "
				 "URL (give file:///ABSOLUTE/PATH)",
				 url);
	else
		rc = source_from_path(s, url, path);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* "host:path" with an '@' before the colon: git's scp-like ssh syntax */
static int is_scp_like(const char *s)
{
	const char *colon = strchr(s, ':');

	return colon && s[0] != '/' && s[0] != '.' &&
	       !memchr(s, '/', (size_t)(colon - s)) &&
	       memchr(s, '@', (size_t)(colon - s));
}

int pb_git_source_locate(struct pb_git_source *s, const char *repo)
{
	if (has_prefix_ci(repo, "https://") || has_prefix_ci(repo, "http://"))
		return source_from_url(s, repo);
	if (has_prefix_ci(repo, "file://"))
		return source_from_file_url(s, repo);
	if (strstr(repo, "://") || is_scp_like(repo))
		return pb_err_setc(PB_EINVAL,
				   "repository '%s' uses an unsupported "
				   "protocol (give an https:// or file:// URL "
				   "or a local path)",
				   repo);
	return source_from_path(s, repo, repo);
}

/*
 * KEY: readable (owner and name kept) and collision-free (a hash of the
 * whole origin, so two hosts' o/n never share a mirror).
 */
int pb_git_mirror_key(struct pb_buf *out, const char *owner_repo,
		      const char *origin)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const char *p;
	size_t n = 0;
	int rc = 0, i;

	if (!EVP_Digest(origin, strlen(origin), md, &mdlen, EVP_sha256(), NULL))
		return pb_err_set("cannot hash the repository URL (OpenSSL)");
	if (owner_repo[0] == '.')
		rc = pb_buf_putc(out, '_');
	for (p = owner_repo; rc == 0 && *p && n < KEY_NAME_MAX; p++, n++) {
		char c = *p;

		if (c == '/')
			c = '-';
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			   c == '-'))
			c = '_';
		rc = pb_buf_putc(out, c);
	}
	if (rc == 0)
		rc = pb_buf_putc(out, '-');
	for (i = 0; rc == 0 && i < KEY_HASH_HEX / 2; i++)
		rc = pb_buf_printf(out, "%02x", md[i]);
	return rc;
}

/*
 * An exclusive lock per mirror, across threads and processes alike: each
 * call opens its own file description, and flock() is per description.
 */
int pb_git_lock(int *fd, const char *path)
{
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (f < 0)
		return pb_err_set("cannot open lock '%s': %s", path,
				  strerror(errno));
	while (flock(f, LOCK_EX) < 0) {
		if (errno != EINTR) {
			pb_err_set("cannot lock '%s': %s", path,
				   strerror(errno));
			close(f);
			return PB_ERROR;
		}
	}
	*fd = f;
	return 0;
}

static int same_host(const char *url, const char *host)
{
	CURLU *u = curl_url();
	char *h = NULL;
	int same = 0;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK)
		same = !strcasecmp(h, host);
	curl_free(h);
	curl_url_cleanup(u);
	return same;
}

/*
 * The token goes only to the origin's own host (not to where a redirect
 * points), once: a second request for credentials means it was refused.
 */
int pb_git_cred_cb(git_credential **out, const char *url,
		   const char *username_from_url, unsigned int allowed,
		   void *payload)
{
	struct pb_git_auth *f = payload;

	if (!f->token || !*f->token || !f->token_ok || !f->host ||
	    !(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) ||
	    !same_host(url, f->host))
		return GIT_PASSTHROUGH;
	if (f->token_sent) {
		git_error_set_str(GIT_ERROR_HTTP, "the token was refused");
		return GIT_EAUTH;
	}
	f->token_sent = 1;
	return git_credential_userpass_plaintext_new(out, "x-access-token",
						     f->token);
}

int pb_git_remote_fail(const struct pb_git_auth *f, int gerr, int push)
{
	const char *msg = pb_git_msg();
	const char *verb = push ? "push to" : "fetch";

	if (gerr == GIT_EAUTH && f->token_sent)
		return pb_err_setc(PB_EPERM,
				   "cannot %s '%s': the token was refused "
				   "(check the token and that it can %s "
				   "the repository)",
				   verb, f->origin, push ? "push to" : "read");
	if (gerr == GIT_EAUTH)
		return pb_err_setc(PB_EPERM,
				   "cannot %s '%s': the server asks for "
				   "credentials (set a token; servers answer "
				   "so for a missing repository too)",
				   verb, f->origin);
	if (gerr == GIT_ECERTIFICATE)
		return pb_err_setc(PB_ERROR,
				   "cannot %s '%s': %s (if the server's "
				   "certificate comes from your own CA, set "
				   "SSL_CERT_FILE to that CA's PEM file)",
				   verb, f->origin, msg);
	if (strstr(msg, "status code: 404"))
		return pb_err_setc(PB_ENOTFOUND,
				   "repository '%s' not found: %s (check the "
				   "URL and the token's access)",
				   f->origin, msg);
	if (strstr(msg, "status code: 403"))
		return pb_err_setc(PB_EPERM,
				   "cannot %s '%s': %s (check the token's "
				   "access)",
				   verb, f->origin, msg);
	return pb_err_setc(PB_ERROR, "cannot %s '%s': %s", verb, f->origin,
			   msg);
}

/* What the remote's HEAD is: a branch (*branch set) or a bare commit. */
static int remote_head(git_buf *branch, git_oid *id, int *have_id,
		       git_remote *remote)
{
	const git_remote_head **heads;
	size_t n;
	int e;

	*have_id = 0;
	e = git_remote_default_branch(branch, remote);
	if (e == 0)
		return 0;
	if (e != GIT_ENOTFOUND)
		return e;
	if ((e = git_remote_ls(&heads, &n, remote)) < 0)
		return e;
	if (n > 0 && !strcmp(heads[0]->name, "HEAD")) {
		git_oid_cpy(id, &heads[0]->oid);
		*have_id = 1;
	}
	return 0;
}

/* Fetch (pruning) and point the mirror's HEAD where the remote's is. */
int pb_git_mirror_fetch(git_repository *repo, struct pb_git_auth *f)
{
	git_remote_callbacks cb;
	git_fetch_options fo;
	git_buf branch = GIT_BUF_INIT;
	git_reference *head = NULL;
	git_remote *remote = NULL;
	git_oid head_id;
	int have_id = 0, e, rc = 0;

	if ((e = git_remote_lookup(&remote, repo, "origin")) < 0) {
		rc = pb_err_prefix(pb_git_err(e),
				   "mirror of '%s' has no origin", f->origin);
		goto out;
	}
	/* the _init() calls, as the _INIT macros trip -Wextra */
	git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	cb.credentials = pb_git_cred_cb;
	cb.payload = f;
	if ((e = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, NULL,
				    NULL)) < 0 ||
	    (e = remote_head(&branch, &head_id, &have_id, remote)) < 0) {
		rc = pb_git_remote_fail(f, e, 0);
		goto out;
	}
	fo.callbacks = cb;
	fo.prune = GIT_FETCH_PRUNE;
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
	if ((e = git_remote_fetch(remote, NULL, &fo, "prbot: mirror")) < 0) {
		rc = pb_git_remote_fail(f, e, 0);
		goto out;
	}
	/* an empty repository gives "" */
	if (branch.size > 0)
		e = git_reference_symbolic_create(&head, repo, "HEAD",
						  branch.ptr, 1,
						  "prbot: remote HEAD");
	else if (have_id)
		e = git_repository_set_head_detached(repo, &head_id);
	if (e < 0)
		rc = pb_err_prefix(pb_git_err(e),
				   "cannot set the mirror's HEAD for '%s'",
				   f->origin);
out:
	git_reference_free(head);
	git_buf_dispose(&branch);
	git_remote_free(remote);
	return rc;
}

/*
 * Build the mirror under a temporary name and rename it into place, so a
 * crash never leaves a half mirror that looks valid. The caller holds the
 * lock, so the temporary name is ours and a leftover from a crash can go.
 */
static int mirror_create(const char *path, const char *tmp,
			 struct pb_git_auth *f)
{
	git_repository_init_options io;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_config *cfg = NULL;
	int e, rc;

	if ((rc = pb_rmtree(tmp)) < 0)
		return rc;
	git_repository_init_options_init(&io,
					 GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKDIR |
		   GIT_REPOSITORY_INIT_NO_REINIT;
	if ((e = git_repository_init_ext(&repo, tmp, &io)) < 0 ||
	    (e = git_repository_config(&cfg, repo)) < 0 ||
	    /*
	     * Symlinks are checked out as small files holding their target:
	     * a link in a pull request must not make a later stage read or
	     * upload a file outside the workspace.
	     */
	    (e = git_config_set_bool(cfg, "core.symlinks", 0)) < 0 ||
	    (e = git_remote_create_with_fetchspec(
		     &remote, repo, "origin", f->origin, MIRROR_REFSPEC)) < 0) {
		rc = pb_err_prefix(pb_git_err(e), "cannot create mirror '%s'",
				   tmp);
		goto out;
	}
	if ((rc = pb_git_mirror_fetch(repo, f)) < 0)
		goto out;
	git_repository_free(repo);
	repo = NULL;
	if (rename(tmp, path) < 0)
		rc = pb_err_set("cannot move mirror '%s' to '%s': %s", tmp,
				path, strerror(errno));
out:
	git_remote_free(remote);
	git_config_free(cfg);
	git_repository_free(repo);
	if (rc < 0)
		pb_rmtree(tmp);
	return rc;
}

static int mirror_open(git_repository **repo, const char *path)
{
	int e = git_repository_open_bare(repo, path);

	if (e < 0)
		return pb_err_prefix(pb_git_err(e),
				     "cannot open mirror '%s' (remove it: the "
				     "next run makes it again)",
				     path);
	return 0;
}

/* Open the mirror and fetch, or create it; the caller holds the lock. */
int pb_git_mirror_update(git_repository **repo, int *created, const char *path,
			 struct pb_git_auth *f)
{
	struct pb_buf tmp = PB_BUF_INIT;
	struct stat st;
	int rc;

	*created = 0;
	if (stat(path, &st) == 0) {
		if ((rc = mirror_open(repo, path)) < 0)
			return rc;
		return pb_git_mirror_fetch(*repo, f);
	}
	if (errno != ENOENT)
		return pb_err_set("cannot read mirror '%s': %s", path,
				  strerror(errno));
	if ((rc = pb_buf_printf(&tmp, "%s.tmp", path)) < 0)
		return rc;
	rc = mirror_create(path, tmp.ptr, f);
	pb_buf_release(&tmp);
	if (rc < 0)
		return rc;
	*created = 1;
	return mirror_open(repo, path);
}

/*
 * Write the tree into dest against an empty in-memory baseline and leave
 * the mirror's index alone: dest gets files only, no .git.
 */
int pb_git_write_tree(git_repository *repo, git_tree *tree, const char *dest)
{
	git_checkout_options co;
	git_index *baseline = NULL;
	int e;

	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);

	if ((e = git_index_new(&baseline)) < 0)
		return pb_err_prefix(pb_git_err(e),
				     "cannot check out into '%s'", dest);
	co.checkout_strategy = GIT_CHECKOUT_FORCE |
			       GIT_CHECKOUT_DONT_UPDATE_INDEX |
			       GIT_CHECKOUT_DONT_WRITE_INDEX;
	co.baseline_index = baseline;
	co.target_directory = dest;
	e = git_checkout_tree(repo, (const git_object *)tree, &co);
	git_index_free(baseline);
	if (e < 0)
		return pb_err_prefix(pb_git_err(e),
				     "cannot check out into '%s'", dest);
	return 0;
}
