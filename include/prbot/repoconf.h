/* repoconf.h: .prbot.yml in the ML repository (read with libyaml) */
#ifndef PRBOT_REPOCONF_H
#define PRBOT_REPOCONF_H

#include <stddef.h>

#include "prbot/diag.h"
#include "prbot/evaluate.h"

enum pb_version_schema {
	PB_VERSION_REVISION = 0, /* default */
	PB_VERSION_MINOR,
	PB_VERSION_MAJOR
};

struct pb_environment {
	char *name;	 /* owned */
	char *repo;	 /* owned */
	char *branch;	 /* owned; default "main" */
	char *path;	 /* owned; default "." */
	char **requires; /* owned: "approved", "checks" */
	size_t n_requires;
};

struct pb_repo_config {
	char *file; /* owned: the path read, for messages */
	struct {
		char *setup;	    /* owned or NULL */
		char *requirements; /* owned; default "requirements.txt":
				       the file whose SHA-256 keys the venv */
		char *notebook;	    /* owned or NULL */
		char *command;	    /* owned or NULL (not with notebook) */
		long timeout_sec; /* default 1800; "30m", "90s", "2h", "600" */
	} train;
	char *model;   /* owned; required */
	char *metrics; /* owned or NULL */
	struct {
		char *predict;	       /* owned or NULL */
		char *test_cases;      /* owned or NULL */
		struct pb_gate *gates; /* owned, in file order */
		size_t n_gates;
		char *baseline; /* owned or NULL */
	} evaluate;
	struct {
		enum pb_version_schema version_schema;
		char **inference; /* owned list of paths */
		size_t n_inference;
		struct pb_environment *envs; /* owned, in file order */
		size_t n_envs;
	} deploy;
};

/*
 * Parse .prbot.yml text. Problems go to diags as FILE:LINE (syntax errors
 * with libyaml's line, unknown keys, wrong types, both notebook and command,
 * bad gate expressions, bad timeout, missing model). Paths must be relative
 * and must not contain "..". Returns 0, or PB_EINVAL when diags got problems.
 * Caller owns *out (set only on success): pb_repo_config_free().
 */
int pb_repo_config_parse(struct pb_repo_config **out, const char *text,
			 size_t len, const char *file, struct pb_diags *diags);

/* Read path and parse it; PB_ENOTFOUND (with a diag) when it is missing. */
int pb_repo_config_load(struct pb_repo_config **out, const char *path,
			struct pb_diags *diags);

void pb_repo_config_free(struct pb_repo_config *c);

/* "30m" -> 1800; returns PB_EINVAL on bad text. */
int pb_duration_parse(long *out_sec, const char *text);

#endif
