/* parse.h: the command lines of a comment, as invocations and problems */
#ifndef PRBOT_PARSE_H
#define PRBOT_PARSE_H

#include <stddef.h>

#include "prbot/command.h"

/* Bounds on what one comment may ask for. */
#define PB_PARSE_MAX_COMMANDS 10   /* command lines read per comment */
#define PB_PARSE_MAX_LINE     1000 /* bytes in one command line */
#define PB_PARSE_MAX_ARGS     32   /* words after the command name */

/* One command line that passed pb_invocation_check(). */
struct pb_parsed_command {
	struct pb_invocation inv; /* inv.cmd borrowed, inv.args owned */
	int line;		  /* 1-based line in the comment */
	/*
	 * 0-based position among the comment's command lines, counting those
	 * that became problems too: (comment id, index) names one command line
	 * for good, so a comment delivered twice never starts it twice.
	 */
	size_t index;
};

/* Something to tell the commenter about. */
struct pb_parse_problem {
	int line;  /* 1-based line in the comment */
	char *msg; /* owned; one line, printable ASCII, no line number */
};

struct pb_parsed {
	struct pb_parsed_command *v; /* owned, in comment order */
	size_t n;
	struct pb_parse_problem *problems; /* owned, in comment order */
	size_t n_problems;
};

#define PB_PARSED_INIT           \
	{                        \
		NULL, 0, NULL, 0 \
	}

/*
 * Read the command lines of a comment: a line whose first word is /NAME, or
 * @BOT_LOGIN NAME (or @BOT_LOGIN /NAME; the login compared without case, and
 * "x[bot]" also answers to "@x"), for a name or alias of pb_commands[]. Words
 * after the name are positional arguments or key=value, and "..." quotes a
 * value with \" and \\ as escapes. Lines in ``` or ~~~ fenced code blocks and
 * lines starting with '>' are skipped; so is a /NAME that no command has,
 * unless the bot was mentioned (people write paths such as /usr/bin).
 *
 * text is len bytes, not necessarily NUL-terminated nor UTF-8; lines end in
 * LF or CRLF. bot_login may be NULL or "" (then mentions are not read).
 * Time is linear in len; reading stops after PB_PARSE_MAX_COMMANDS command
 * lines. A line that cannot run (unknown name after a mention, bad or too
 * many arguments, an unterminated quote, over PB_PARSE_MAX_LINE bytes) is a
 * problem, not an error: the other lines still run.
 *
 * *out is overwritten (not released first) and owned by the caller, who
 * calls pb_parsed_release() whatever this returns. Returns 0, or PB_ERROR
 * when out of memory (then *out is empty).
 */
int pb_parse_comment(struct pb_parsed *out, const char *text, size_t len,
		     const char *bot_login);

/* Free everything *p owns and leave it empty; a NULL p is a no-op. */
void pb_parsed_release(struct pb_parsed *p);

#endif
