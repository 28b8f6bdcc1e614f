/* test_parse.c: comment text to command invocations and problems */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "prbot/buf.h"
#include "prbot/command.h"
#include "prbot/err.h"
#include "prbot/parse.h"

#define LOGIN "prbot"

struct parse_case {
	const char *what;
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *login;
	/* "LINE#INDEX name [arg]...\n" per invocation */
	const char *cmds;
	/* "LINE: message\n" per problem */
	const char *problems;
};

static const struct parse_case cases[] = {
	/* the forms of a command line */
	{ "empty comment", "", 0, LOGIN, "", "" },
	{ "prose only", "LGTM, thanks!\n\nShip it.", 0, LOGIN, "", "" },
	{ "slash command", "/evaluate", 0, LOGIN, "1#0 evaluate\n", "" },
	{ "leading spaces and tab", "   /help\n\t/status\n", 0, LOGIN,
	  "1#0 help\n2#1 status\n", "" },
	{ "trailing blanks", "/status   \t\n", 0, LOGIN, "1#0 status\n", "" },
	{ "command after prose lines", "Looks good.\n\n/evaluate\n", 0, LOGIN,
	  "3#0 evaluate\n", "" },
	{ "command word mid-line is prose", "please /evaluate this", 0, LOGIN,
	  "", "" },
	{ "names are exact, never prefixes", "/eval\n/evaluatex\n/Evaluate\n",
	  0, LOGIN, "", "" },
	{ "unknown slash name is ignored silently",
	  "/usr/bin/python3 crashed\n/tmp/x\n/evalute\n/\n", 0, LOGIN, "", "" },

	/* mentions */
	{ "mention", "@prbot evaluate", 0, LOGIN, "1#0 evaluate\n", "" },
	{ "login ignores case, names do not", "@PrBot Status", 0, LOGIN, "",
	  "1: unknown command 'Status': did you mean 'status'? (see /help)\n" },
	{ "mention login case", "@PRBOT status", 0, LOGIN, "1#0 status\n", "" },
	{ "mention then slash", "@prbot /cancel 42", 0, LOGIN,
	  "1#0 cancel [42]\n", "" },
	{ "mention with spaces", "  @prbot \t evaluate  baseline=main", 0,
	  LOGIN, "1#0 evaluate [baseline=main]\n", "" },
	{ "mention of another login", "@prbotx evaluate\n@octocat evaluate", 0,
	  LOGIN, "", "" },
	{ "mention mid-line is prose", "thanks @prbot evaluate", 0, LOGIN, "",
	  "" },
	{ "mention with punctuation is prose", "@prbot, evaluate", 0, LOGIN, "",
	  "" },
	{ "app login with suffix", "@prbot[bot] status\n@prbot evaluate", 0,
	  "prbot[bot]", "1#0 status\n2#1 evaluate\n", "" },
	{ "app login mentioned alone", "@PRBOT", 0, "prbot[bot]", "",
	  "1: no command after '@PRBOT' (see /help)\n" },
	{ "no login: mentions not read", "@prbot evaluate\n/status", 0, NULL,
	  "2#0 status\n", "" },
	{ "empty login: mentions not read", "@ evaluate\n@prbot help", 0, "",
	  "", "" },
	{ "unknown after mention suggests",
	  "@prbot evalute\n@prbot /stauts\n@prbot hlep", 0, LOGIN, "",
	  "1: unknown command 'evalute': did you mean 'evaluate'? (see /help)\n"
	  "2: unknown command 'stauts': did you mean 'status'? (see /help)\n"
	  "3: unknown command 'hlep': did you mean 'help'? (see /help)\n" },
	{ "unknown after mention without suggestion",
	  "@prbot thanks for the report", 0, LOGIN, "",
	  "1: unknown command 'thanks' (see /help)\n" },
	{ "mention without command", "@prbot\n@prbot /", 0, LOGIN, "",
	  "1: no command after '@prbot' (see /help)\n"
	  "2: no command after '@prbot' (see /help)\n" },
	{ "long unknown name is cut in the reply",
	  "@prbot abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"
	  "0123456789",
	  0, LOGIN, "",
	  "1: unknown command 'abcdefghijklmnopqrstuvwxyz012345...' "
	  "(see /help)\n" },

	/* arguments */
	{ "key=value", "/evaluate baseline=main", 0, LOGIN,
	  "1#0 evaluate [baseline=main]\n", "" },
	{ "positional", "/cancel 17", 0, LOGIN, "1#0 cancel [17]\n", "" },
	{ "quoted value", "/evaluate baseline=\"release 1.2\"", 0, LOGIN,
	  "1#0 evaluate [baseline=release 1.2]\n", "" },
	{ "quoted positional", "/cancel \"job 17\"", 0, LOGIN,
	  "1#0 cancel [job 17]\n", "" },
	{ "quoted key", "/evaluate \"baseline\"=main", 0, LOGIN,
	  "1#0 evaluate [baseline=main]\n", "" },
	{ "empty quoted value", "/evaluate baseline=\"\"", 0, LOGIN,
	  "1#0 evaluate [baseline=]\n", "" },
	{ "escaped quote and backslash",
	  "/cancel \"say \\\"hi\\\" to C:\\\\tmp\"", 0, LOGIN,
	  "1#0 cancel [say \"hi\" to C:\\tmp]\n", "" },
	{ "other backslashes kept", "/cancel \"a\\nb\" ", 0, LOGIN,
	  "1#0 cancel [a\\nb]\n", "" },
	{ "backslash outside quotes is literal", "/cancel a\\\"b", 0, LOGIN, "",
	  "1: 'cancel' has an unterminated quote: close it with \": usage: "
	  "cancel [JOB]\n" },
	{ "unterminated quote", "/evaluate baseline=\"main\n/status", 0, LOGIN,
	  "2#1 status\n",
	  "1: 'evaluate' has an unterminated quote: close it with \": usage: "
	  "evaluate [baseline=REF]\n" },
	{ "quote ended by escaped quote only", "/cancel \"abc\\\"", 0, LOGIN,
	  "",
	  "1: 'cancel' has an unterminated quote: close it with \": usage: "
	  "cancel [JOB]\n" },
	{ "unknown key with usage", "/evaluate basline=main", 0, LOGIN, "",
	  "1: 'evaluate' does not take 'basline=': usage: evaluate "
	  "[baseline=REF]\n" },
	{ "control bytes in a quoted key are not echoed",
	  "/evaluate \"a\rb\x1b\xff\"=1", 0, LOGIN, "",
	  "1: 'evaluate' does not take 'a?b?\?=': usage: evaluate "
	  "[baseline=REF]\n" },
	{ "arguments to a command without any", "/help me", 0, LOGIN, "",
	  "1: 'help' takes no arguments: usage: help\n" },
	{ "too many positional", "/cancel 1 2", 0, LOGIN, "",
	  "1: 'cancel' takes other arguments: usage: cancel [JOB]\n" },

	/* fences and quotes */
	{ "backtick fence", "```\n/evaluate\n```\n/help", 0, LOGIN,
	  "4#0 help\n", "" },
	{ "tilde fence with info", "~~~python\n/evaluate\n~~~\n/status", 0,
	  LOGIN, "4#0 status\n", "" },
	{ "longer fence holds a shorter one",
	  "````\n```\n/evaluate\n```\n/cancel\n````\n/help", 0, LOGIN,
	  "7#0 help\n", "" },
	{ "tilde does not close backtick", "```\n~~~\n/evaluate\n```\n/help", 0,
	  LOGIN, "5#0 help\n", "" },
	{ "backtick does not close tilde", "~~~\n```\n/evaluate\n~~~\n/help", 0,
	  LOGIN, "5#0 help\n", "" },
	{ "longer closing fence closes", "```\n/evaluate\n`````\n/help", 0,
	  LOGIN, "4#0 help\n", "" },
	{ "closing fence with text does not close",
	  "```\n/a\n``` x\n/evaluate\n```  \n/help", 0, LOGIN, "6#0 help\n",
	  "" },
	{ "two backticks are no fence", "``\n/help", 0, LOGIN, "2#0 help\n",
	  "" },
	{ "inline code is no fence", "```a`b```\n/help", 0, LOGIN, "2#0 help\n",
	  "" },
	{ "unclosed fence runs to the end", "```\n/evaluate\n\n/help", 0, LOGIN,
	  "", "" },
	{ "indented fence in a list item",
	  "- step:\n    ```\n    /evaluate\n    ```\n/help", 0, LOGIN,
	  "5#0 help\n", "" },
	{ "fence of mentions", "```\n@prbot evalute\n```", 0, LOGIN, "", "" },
	{ "quote lines", "> /evaluate\n  > /status\n>/cancel\n/help", 0, LOGIN,
	  "4#0 help\n", "" },
	{ "quoted mention", "> @prbot evalute", 0, LOGIN, "", "" },
	{ "quoted fence opens nothing", "> ```\n/help\n> ```", 0, LOGIN,
	  "2#0 help\n", "" },
	{ "quote mark inside a fence is code", "```\n> x\n/status\n```\n/help",
	  0, LOGIN, "5#0 help\n", "" },

	/* order, index and line ends */
	{ "several commands in order",
	  "/status\nsome text\n/evaluate baseline=main\n@prbot help\n/cancel",
	  0, LOGIN,
	  "1#0 status\n3#1 evaluate [baseline=main]\n4#2 help\n5#3 cancel\n",
	  "" },
	{ "problem lines keep their index", "/help x\n@prbot nope\n/status", 0,
	  LOGIN, "3#2 status\n",
	  "1: 'help' takes no arguments: usage: help\n"
	  "2: unknown command 'nope' (see /help)\n" },
	{ "CRLF line ends",
	  "/evaluate baseline=main\r\n```\r\n/help\r\n```\r\n"
	  "/cancel \"a b\"\r\n",
	  0, LOGIN, "1#0 evaluate [baseline=main]\n5#1 cancel [a b]\n", "" },
	{ "CRLF after a mention", "@prbot\r\n@prbot status\r\n", 0, LOGIN,
	  "2#1 status\n", "1: no command after '@prbot' (see /help)\n" },
	{ "lone CR is a blank", "/cancel\r7", 0, LOGIN, "1#0 cancel [7]\n",
	  "" },

	/* bytes that are not text */
	{ "non-UTF-8 argument is kept as bytes", "/cancel \xff\xfe\x80", 0,
	  LOGIN, "1#0 cancel [\xff\xfe\x80]\n", "" },
	{ "non-UTF-8 unknown name is quoted as ASCII",
	  "@prbot \xc3\x28x\x1b[31m\n/\xff\xfe", 0, LOGIN, "",
	  "1: unknown command '?(x?[31m' (see /help)\n" },
	{ "NUL byte separates words",
	  "/cancel\0"
	  "7\n/status",
	  17, LOGIN, "1#0 cancel [7]\n2#1 status\n", "" },
	{ "NUL byte inside quotes is dropped", "/cancel \"a\0b\"", 13, LOGIN,
	  "1#0 cancel [ab]\n", "" },
	{ "text without a final NUL", "/status\n/help", 7, LOGIN,
	  "1#0 status\n", "" },
};

static char *render_cmds(const struct pb_parsed *p)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t i, j;

	for (i = 0; i < p->n; i++) {
		const struct pb_parsed_command *c = &p->v[i];

		assert_int_equal(pb_buf_printf(&b, "%d#%zu %s", c->line,
					       c->index, c->inv.cmd->name),
				 0);
		for (j = 0; j < c->inv.n_args; j++)
			assert_int_equal(
				pb_buf_printf(&b, " [%s]", c->inv.args[j]), 0);
		assert_int_equal(pb_buf_putc(&b, '\n'), 0);
	}
	return pb_buf_detach(&b);
}

static char *render_problems(const struct pb_parsed *p)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	for (i = 0; i < p->n_problems; i++)
		assert_int_equal(pb_buf_printf(&b, "%d: %s\n",
					       p->problems[i].line,
					       p->problems[i].msg),
				 0);
	return pb_buf_detach(&b);
}

static void assert_parsed(const struct pb_parsed *p, const char *cmds,
			  const char *problems)
{
	char *got_cmds = render_cmds(p);
	char *got_problems = render_problems(p);

	assert_string_equal(got_cmds, cmds);
	assert_string_equal(got_problems, problems);
	free(got_cmds);
	free(got_problems);
}

static void parse_ok(struct pb_parsed *p, const char *text, size_t len,
		     const char *login)
{
	assert_int_equal(pb_parse_comment(p, text, len, login), 0);
}

/* Parse text (freed after) as LOGIN's comment and compare both lists. */
static void expect_text(char *text, const char *cmds, const char *problems)
{
	struct pb_parsed p;

	parse_ok(&p, text, strlen(text), LOGIN);
	assert_parsed(&p, cmds, problems);
	pb_parsed_release(&p);
	free(text);
}

static void test_parse_comment_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		struct pb_parsed p;

		print_message("case '%s'\n", c->what);
		parse_ok(&p, c->text, c->len ? c->len : strlen(c->text),
			 c->login);
		assert_parsed(&p, c->cmds, c->problems);
		pb_parsed_release(&p);
	}
}

static void test_parse_invocation_points_into_the_table(void **state)
{
	struct pb_parsed p;

	(void)state;
	parse_ok(&p, "/evaluate baseline=v1", 21, LOGIN);
	assert_int_equal(p.n, 1);
	assert_ptr_equal(p.v[0].inv.cmd, pb_command_find("evaluate"));
	assert_string_equal(pb_invocation_get(&p.v[0].inv, "baseline"), "v1");
	pb_parsed_release(&p);
	pb_parsed_release(&p);
	pb_parsed_release(NULL);
}

/* "/cancel" and n words of one letter, one command line. */
static char *cancel_with_words(size_t n)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	assert_int_equal(pb_buf_puts(&b, "/cancel"), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(pb_buf_printf(&b, " %c", (int)('a' + i % 26)),
				 0);
	return pb_buf_detach(&b);
}

static void test_parse_bounds_argument_count(void **state)
{
	char *text;

	(void)state;
	/* 32 words are read, and then judged by the command's bounds */
	text = cancel_with_words(PB_PARSE_MAX_ARGS);
	expect_text(text, "",
		    "1: 'cancel' takes other arguments: usage: cancel "
		    "[JOB]\n");

	text = cancel_with_words(PB_PARSE_MAX_ARGS + 1);
	expect_text(text, "",
		    "1: 'cancel' has more than 32 arguments: usage: cancel "
		    "[JOB]\n");
}

/* A command line of exactly n bytes: "/cancel xxx...". */
static char *cancel_line(size_t n, const char *end)
{
	struct pb_buf b = PB_BUF_INIT;

	assert_int_equal(pb_buf_puts(&b, "/cancel "), 0);
	while (b.len < n)
		assert_int_equal(pb_buf_putc(&b, 'x'), 0);
	assert_int_equal(pb_buf_puts(&b, end), 0);
	return pb_buf_detach(&b);
}

static void test_parse_bounds_line_length(void **state)
{
	struct pb_parsed p;
	char *text;

	(void)state;
	text = cancel_line(PB_PARSE_MAX_LINE, "\r\n/status");
	parse_ok(&p, text, strlen(text), LOGIN);
	assert_int_equal(p.n, 2);
	assert_int_equal(strlen(p.v[0].inv.args[0]), PB_PARSE_MAX_LINE - 8);
	assert_int_equal(p.n_problems, 0);
	pb_parsed_release(&p);
	free(text);

	text = cancel_line(PB_PARSE_MAX_LINE + 1, "\n/status");
	expect_text(text, "2#1 status\n",
		    "1: command line is 1001 bytes, over the limit of 1000: "
		    "shorten it\n");

	/* a long line that is not a command is prose, however long */
	text = cancel_line(4 << 20, "\n/status");
	text[1] = 'X';
	expect_text(text, "2#0 status\n", "");
}

/* n copies of line, each ended with LF. */
static char *lines(size_t n, const char *line)
{
	struct pb_buf b = PB_BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(pb_buf_printf(&b, "%s\n", line), 0);
	return pb_buf_detach(&b);
}

static void test_parse_reads_at_most_ten_commands(void **state)
{
	static const char ten[] = "1#0 status\n2#1 status\n3#2 status\n"
				  "4#3 status\n5#4 status\n6#5 status\n"
				  "7#6 status\n8#7 status\n9#8 status\n"
				  "10#9 status\n";
	struct pb_parsed p;
	char *text;

	(void)state;
	expect_text(lines(PB_PARSE_MAX_COMMANDS, "/status"), ten, "");
	expect_text(lines(12, "/status"), ten,
		    "11: at most 10 commands per comment; the rest were "
		    "ignored\n");

	/* lines that became problems count: replies are bounded too */
	text = lines(10000, "@prbot nope");
	parse_ok(&p, text, strlen(text), LOGIN);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.n_problems, PB_PARSE_MAX_COMMANDS + 1);
	assert_string_equal(p.problems[10].msg,
			    "at most 10 commands per comment; the rest were "
			    "ignored");
	pb_parsed_release(&p);
	free(text);
}

/*
 * 10,000 lines (about 2.7 MB) of fences, quotes, paths and prose, and one
 * command at the end. Reading it again per line would take seconds.
 */
static void test_parse_large_comment_is_linear(void **state)
{
	static const char *const kinds[] = {
		"```",	 "> /evaluate quoted", "/usr/bin/true", "~~~~",
		"prose", "@octocat evaluate",
	};
	struct pb_buf b = PB_BUF_INIT;
	struct pb_parsed p;
	clock_t start;
	double secs;
	size_t i;
	char *text;

	(void)state;
	for (i = 0; i < 9999; i++) {
		size_t mark = b.len;

		assert_int_equal(pb_buf_puts(&b, kinds[i % 6]), 0);
		if (i % 6 != 0 && i % 6 != 3)
			while (b.len - mark < 399)
				assert_int_equal(pb_buf_putc(&b, ' '), 0);
		assert_int_equal(pb_buf_putc(&b, '\n'), 0);
	}
	assert_int_equal(pb_buf_puts(&b, "/evaluate baseline=main"), 0);
	text = pb_buf_detach(&b);

	start = clock();
	parse_ok(&p, text, strlen(text), LOGIN);
	secs = (double)(clock() - start) / CLOCKS_PER_SEC;
	print_message("10,000 lines, %zu bytes: %.3f s\n", strlen(text), secs);
	assert_true(secs < 1.0);
	assert_parsed(&p, "10000#0 evaluate [baseline=main]\n", "");
	pb_parsed_release(&p);
	free(text);
}

static char *read_data(const char *name, size_t *len)
{
	const char *dir = getenv("PRBOT_TEST_DATA");
	char path[4096];
	char *text;
	FILE *f;
	long n;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/parse/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	text = malloc((size_t)n);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return text;
}

static void test_parse_review_reply_runs_only_its_commands(void **state)
{
	struct pb_parsed p;
	size_t len;
	char *text = read_data("review_reply.md", &len);

	(void)state;
	parse_ok(&p, text, len, "prbot[bot]");
	assert_parsed(&p, "25#0 evaluate [baseline=release 1.2]\n26#1 status\n",
		      "");
	pb_parsed_release(&p);
	free(text);
}

/* Until the daemon serves them, they refuse politely in 'prbot run'. */
static void test_status_and_cancel_say_where_they_work(void **state)
{
	static const char *const names[] = { "status", "cancel" };
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		const struct pb_command *c = pb_command_find(names[i]);
		struct pb_invocation inv = { c, NULL, 0 };
		struct pb_command_ctx ctx = { NULL, &inv, stdout };

		assert_non_null(c);
		assert_non_null(c->handler);
		assert_int_equal(c->handler(&ctx), PB_ERROR);
		snprintf(want, sizeof(want),
			 "'%s' is not available in 'prbot run': use it in a "
			 "pull request comment",
			 names[i]);
		assert_string_equal(pb_err_last(), want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_comment_table),
		cmocka_unit_test(test_parse_invocation_points_into_the_table),
		cmocka_unit_test(test_parse_bounds_argument_count),
		cmocka_unit_test(test_parse_bounds_line_length),
		cmocka_unit_test(test_parse_reads_at_most_ten_commands),
		cmocka_unit_test(test_parse_large_comment_is_linear),
		cmocka_unit_test(
			test_parse_review_reply_runs_only_its_commands),
		cmocka_unit_test(test_status_and_cancel_say_where_they_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
