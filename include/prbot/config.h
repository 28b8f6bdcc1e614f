/* config.h: bot.conf (INI, read with inih), every key of DESIGN.md */
#ifndef PRBOT_CONFIG_H
#define PRBOT_CONFIG_H

#include <stddef.h>

#include "prbot/diag.h"
#include "prbot/log.h"

struct pb_redactor;

/*
 * A secret as written in bot.conf: "env:NAME" or "file:PATH". value holds the
 * resolved secret (trailing newline of a file stripped), NULL when the key was
 * not set. A literal secret in the file is refused.
 */
struct pb_secret {
	char *ref;   /* owned: "env:NAME" / "file:PATH" as written */
	char *value; /* owned: resolved secret */
};

/* GitHub permission levels, ordered. */
enum pb_perm {
	PB_PERM_NONE = 0,
	PB_PERM_READ,
	PB_PERM_TRIAGE,
	PB_PERM_WRITE,
	PB_PERM_MAINTAIN,
	PB_PERM_ADMIN
};

/* "read", "triage", "write", "maintain", "admin" (and "none"). */
int pb_perm_parse(enum pb_perm *out, const char *name);
const char *pb_perm_name(enum pb_perm p);

struct pb_kv {
	char *key;   /* owned */
	char *value; /* owned */
	int line;
};

struct pb_conf_permission {
	char *command; /* owned */
	enum pb_perm level;
};

/* Where [schedule] notify sends a scheduled run's notification. */
enum pb_notify_kind {
	PB_NOTIFY_SLACK = 1, /* slack:env:NAME or slack:file:PATH */
	PB_NOTIFY_ISSUE	     /* issue:OWNER/REPO#N */
};

struct pb_notify_target {
	enum pb_notify_kind kind;
	struct pb_secret webhook; /* SLACK: the incoming-webhook URL */
	char *repo;		  /* ISSUE: owned OWNER/REPO */
	long issue;		  /* ISSUE: N */
};

struct pb_conf_schedule {
	char *name;    /* owned: the NAME of [schedule "NAME"] */
	char *cron;    /* owned */
	char *repo;    /* owned */
	char *ref;     /* owned; default "main" */
	char *command; /* owned; default "/evaluate" */
	char *notify;  /* owned; may be NULL: the targets as written */
	struct pb_notify_target *targets; /* owned: notify, parsed */
	size_t n_targets;
	/* owned; default "1%": pb_trend_threshold_parse() takes it (checked) */
	char *regression_threshold;
};

struct pb_conf_repo {
	char *name;	 /* owned: OWNER/NAME */
	char *clone_url; /* owned; default https://github.com/OWNER/NAME.git */
	char *config;	 /* owned; default ".prbot.yml" */
	char **serving;	 /* owned list of serving repository URLs */
	size_t n_serving;
	int allow_forks; /* default 0 */
};

struct pb_config {
	char *path; /* owned: the file read, or NULL for built-in defaults */

	struct {
		char *listen;		     /* default "127.0.0.1:8080" */
		int workers;		     /* default 2 */
		char *state;		     /* default "./var/prbot.db" */
		char *workdir;		     /* default "./var/work" */
		enum pb_log_level log_level; /* default info */
		int queue_max;		     /* default 1000 */
		char *python;		     /* interpreter venvs are made from;
						default "/usr/bin/python3" when present,
						else "python3" */
		char **env_pass; /* owned: extra variable names passed to
				    child processes ("env_pass = A B") */
		size_t n_env_pass;
		/* child resource limits; 0 = unlimited */
		long limit_cpu_sec;	/* default 3600 */
		long long limit_memory; /* bytes of address space;
					   default 8 GiB */
		long long limit_fsize;	/* bytes per file; default 4 GiB */
		long limit_nofile;	/* default 1024 */
		int keep_workspace;	/* default 1: keep job workspaces */
	} server;

	struct {
		char *api_url; /* default "https://api.github.com" */
		struct pb_secret token;
		char *app_id;
		struct pb_secret private_key;
		struct pb_secret webhook_secret;
		char *bot_login; /* default "prbot" */
	} github;

	struct {
		char *url; /* default "file://./var/artifacts" */
		char *endpoint;
		char *region; /* NULL: AWS_REGION, else us-east-1 */
		struct pb_secret access_key;
		struct pb_secret secret_key;
		struct pb_secret session_token;
		int s3_path_style; /* -1 (default): path style with endpoint */
		long long multipart_threshold; /* 0: default (64 MiB) */
		long long part_size;	       /* 0: default (8 MiB) */
		int parallel;		       /* 0: default (4) */
	} store;

	struct {
		struct pb_secret signing_secret;
		struct pb_secret bot_token;
		/* Mattermost's slash command token, compared with the form's
		   token field instead of Slack's signature */
		struct pb_secret mattermost_token;
		char *default_repo; /* OWNER/NAME a command may leave out */
		char **channels;    /* owned: channel ids commands are taken
				       from; none: every channel */
		size_t n_channels;
		struct pb_kv *users; /* [slack.users] Slack user id = GitHub
					login */
		size_t n_users;
	} slack;

	struct {
		/* Ed25519 private key (PEM), checked at load; when set, every
		   model_manifest.json gets a model_manifest.json.sig */
		struct pb_secret signing_key;
		char *author_name;  /* of serving-repository commits;
				       default "prbot" */
		char *author_email; /* default "prbot@localhost" */
	} deploy;

	struct pb_conf_permission *permissions; /* [permissions] cmd = level */
	size_t n_permissions;
	struct pb_kv *labels; /* [labels] label = command text */
	size_t n_labels;
	struct pb_conf_schedule *schedules;
	size_t n_schedules;
	struct pb_conf_repo *repos;
	size_t n_repos;
};

/*
 * Read bot.conf at path (NULL: built-in defaults only). Every problem found
 * is appended to diags as FILE:LINE; returns 0 when there is none, PB_EINVAL
 * when there are problems (out is still set, so a summary can be printed),
 * PB_ENOTFOUND with diags set when the file cannot be read.
 * Caller owns *out: pb_config_free().
 */
int pb_config_load(struct pb_config **out, const char *path,
		   struct pb_diags *diags);

/* Built-in defaults, as pb_config_load(NULL) gives. */
int pb_config_defaults(struct pb_config **out);

void pb_config_free(struct pb_config *c);

/* Add every resolved secret value of c to r, and the AWS secret key and
   session token from the environment, which an s3:// store may sign with. */
int pb_config_add_secrets(const struct pb_config *c, struct pb_redactor *r);

/* A few lines for `prbot check-config` (secrets shown as their ref only). */
char *pb_config_summary(const struct pb_config *c);

#endif
