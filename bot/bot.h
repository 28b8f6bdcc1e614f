/* bot.h: the prbot executable's subcommands (private to bot/) */
#ifndef PRBOT_BOT_H
#define PRBOT_BOT_H

#include <stdio.h>

#include "prbot/config.h"

/* Exit codes of DESIGN.md's CLI contract. */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

int cmd_serve(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* "prbot: " + message on stderr, one line. */
void bot_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Load bot.conf: path given (-c) must exist; NULL means ./bot.conf when it
 * exists, else the built-in defaults. Problems are printed as FILE:LINE:
 * lines on stderr; returns NULL then (exit 2).
 */
struct pb_config *bot_config_load(const char *path);

/* 1 when argv has -h or --help before any "--". */
int bot_wants_help(int argc, char **argv);

#endif
