/* command.h: the chat command descriptor and the table that lists them */
#ifndef PRBOT_COMMAND_H
#define PRBOT_COMMAND_H

#include <stddef.h>
#include <stdio.h>

#include "prbot/config.h"
#include "prbot/pipeline.h"

enum pb_command_flags {
	PB_CMD_NEEDS_PR = 1 << 0,      /* only on a pull request */
	PB_CMD_MUTATES = 1 << 1,       /* changes something outside prbot */
	PB_CMD_NEEDS_CHECKOUT = 1 << 2 /* runs pipeline stages */
};

/* An invocation: the command and its words after the name. */
struct pb_invocation {
	const struct pb_command *cmd; /* borrowed from the table */
	char **args; /* owned: positional words and key=value */
	size_t n_args;
};

/* What an immediate handler may use; all borrowed. */
struct pb_command_ctx {
	const struct pb_config *cfg;
	const struct pb_invocation *inv;
	FILE *out;
};

struct pb_command {
	const char *name;
	const char *const *aliases; /* NULL-terminated, or NULL */
	const char *usage;	    /* "evaluate [baseline=REF]" */
	const char *summary;	    /* one line */
	enum pb_perm permission;    /* default; [permissions] may change it */
	unsigned flags;
	int min_args;
	int max_args; /* -1: no bound */
	/* > 0: exactly this many of the arguments are words without '='
	   (the rest key=value); 0: not checked */
	int words;
	/* "key" names accepted as key=value, NULL-terminated, or NULL */
	const char *const *keys;
	/* either an immediate handler ... */
	int (*handler)(const struct pb_command_ctx *ctx);
	/* ... or the pipeline stages it runs */
	const enum pb_stage_id *stages;
	size_t n_stages;
};

/*
 * The handler 'prbot run' reaches for a command that works only on a pull
 * request (its jobs live in the daemon's state store): an error saying so.
 * The daemon's worker answers these commands itself.
 */
int pb_command_pr_only(const struct pb_command_ctx *ctx);

/* The table, NULL-terminated (commands/commands.c). */
extern const struct pb_command *const pb_commands[];

/* Exact name or alias, never a prefix; NULL when unknown. */
const struct pb_command *pb_command_find(const char *name);

/*
 * Check an invocation against its descriptor: argument counts, the number
 * of words without '=' (when words is set) and key=value keys. Returns 0 or
 * PB_EINVAL with a message quoting the usage.
 */
int pb_invocation_check(const struct pb_invocation *inv);

/* The value of key=VALUE among the arguments, or NULL. Borrowed. */
const char *pb_invocation_get(const struct pb_invocation *inv, const char *key);

#endif
