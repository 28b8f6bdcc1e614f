/* parse.c: the command grammar of a comment, lines to invocations */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prbot/buf.h"
#include "prbot/err.h"
#include "prbot/parse.h"
#include "prbot/suggest.h"
#include "banned.h"

/* Longer than any command name: such a word is unknown without a lookup. */
#define NAME_MAX_LEN 64
/* How much of a typed name a reply quotes. */
#define QUOTE_MAX 32

struct parser {
	struct pb_parsed *out;
	const char *login; /* NULL: mentions are not read */
	size_t login_len;
	size_t login_short_len; /* "x[bot]" also answers to "@x"; 0: no */
	char fence_ch;		/* '`' or '~' inside a fenced block, else 0 */
	size_t fence_len;
	size_t n_lines; /* command lines seen so far */
};

/* One command line, split into its parts. */
struct cmdline {
	const char *s; /* the line without its line end */
	size_t n;
	int no;
	const struct pb_command *cmd; /* NULL: unknown after a mention */
	const char *mention;	      /* "@login" as typed, or NULL */
	size_t mention_len;
	const char *name; /* the name as typed (no '/') */
	size_t name_len;
	size_t rest; /* offset of what follows the name */
};

/* NUL is a separator too: inside a word it would cut the C string short. */
static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' ||
	       c == '\0';
}

static size_t skip_blank(const char *s, size_t n, size_t i)
{
	while (i < n && is_blank(s[i]))
		i++;
	return i;
}

static size_t word_end(const char *s, size_t n, size_t i)
{
	while (i < n && !is_blank(s[i]))
		i++;
	return i;
}

static size_t run_of(const char *s, size_t n, size_t i, char c)
{
	size_t j = i;

	while (j < n && s[j] == c)
		j++;
	return j - i;
}

/*
 * Any indentation opens or closes a fence, not only CommonMark's three
 * spaces: fences nest in list items, and skipping too much is the safe way.
 */
static int fence_opens(struct parser *ps, const char *s, size_t n)
{
	size_t i = skip_blank(s, n, 0), k;
	char c = i < n ? s[i] : 0;

	if (c != '`' && c != '~')
		return 0;
	k = run_of(s, n, i, c);
	if (k < 3)
		return 0;
	/* "```a`b" is inline code, not a fence (CommonMark) */
	if (c == '`' && memchr(s + i + k, '`', n - i - k))
		return 0;
	ps->fence_ch = c;
	ps->fence_len = k;
	return 1;
}

/* The same character, at least as many, then nothing but blanks. */
static int fence_closes(struct parser *ps, const char *s, size_t n)
{
	size_t i = skip_blank(s, n, 0), k = run_of(s, n, i, ps->fence_ch);

	if (k < ps->fence_len || skip_blank(s, n, i + k) != n)
		return 0;
	ps->fence_ch = 0;
	ps->fence_len = 0;
	return 1;
}

static int is_mention(const struct parser *ps, const char *w, size_t n)
{
	if (!ps->login || n < 2 || w[0] != '@')
		return 0;
	if (n - 1 == ps->login_len && !strncasecmp(w + 1, ps->login, n - 1))
		return 1;
	return ps->login_short_len && n - 1 == ps->login_short_len &&
	       !strncasecmp(w + 1, ps->login, n - 1);
}

static const struct pb_command *find(const char *s, size_t n)
{
	char name[NAME_MAX_LEN];

	if (n == 0 || n >= sizeof(name))
		return NULL;
	memcpy(name, s, n);
	name[n] = '\0';
	return pb_command_find(name);
}

/*
 * Whether the line is a command line: "/NAME" for a known NAME, or a mention
 * of the bot followed by anything (an unknown name then gets a reply).
 */
static int classify(const struct parser *ps, struct cmdline *cl)
{
	const char *s = cl->s;
	size_t n = cl->n, i = skip_blank(s, n, 0), e = word_end(s, n, i);

	if (is_mention(ps, s + i, e - i)) {
		cl->mention = s + i;
		cl->mention_len = e - i;
		i = skip_blank(s, n, e);
		e = word_end(s, n, i);
		if (i < e && s[i] == '/')
			i++;
	} else if (i < n && s[i] == '/') {
		i++;
	} else {
		return 0;
	}
	cl->name = s + i;
	cl->name_len = e - i;
	cl->rest = e;
	cl->cmd = find(cl->name, cl->name_len);
	return cl->cmd || cl->mention;
}

/* Up to QUOTE_MAX bytes of what a person typed, "..." marking a cut. */
static int put_typed(struct pb_buf *b, const char *s, size_t n)
{
	if (n <= QUOTE_MAX)
		return pb_buf_add(b, s, n);
	if (pb_buf_add(b, s, QUOTE_MAX) < 0)
		return PB_ERROR;
	return pb_buf_puts(b, "...");
}

/* Room for every outcome: one per command line, and the bound's notice. */
static int reserve(struct pb_parsed *out)
{
	if (!out->v)
		out->v = calloc(PB_PARSE_MAX_COMMANDS, sizeof(*out->v));
	if (!out->problems)
		out->problems = calloc(PB_PARSE_MAX_COMMANDS + 1,
				       sizeof(*out->problems));
	if (!out->v || !out->problems)
		return pb_err_set("out of memory");
	return 0;
}

/* Takes msg (a buffer's text) whatever happens. */
static int add_problem_buf(struct parser *ps, int line, struct pb_buf *msg)
{
	struct pb_parse_problem *p = &ps->out->problems[ps->out->n_problems];

	char *c;

	p->msg = pb_buf_detach(msg);
	if (!p->msg)
		return pb_err_set("out of memory");
	/* it quotes what was typed, and a reply must be one line of text */
	for (c = p->msg; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	p->line = line;
	ps->out->n_problems++;
	return 0;
}

static int add_problem(struct parser *ps, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int add_problem(struct parser *ps, int line, const char *fmt, ...)
{
	struct pb_buf msg = PB_BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = pb_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return pb_err_set("out of memory");
	return add_problem_buf(ps, line, &msg);
}

/* "unknown command 'X': did you mean 'Y'? (see /help)" */
static int add_unknown(struct parser *ps, const struct cmdline *cl)
{
	struct pb_buf msg = PB_BUF_INIT;
	char typed[NAME_MAX_LEN];
	const char *close = NULL;
	size_t best = SIZE_MAX, i, j;
	int rc;

	if (cl->name_len == 0)
		return add_problem(ps, cl->no,
				   "no command after '%.*s' (see /help)",
				   (int)cl->mention_len, cl->mention);
	if (cl->name_len < sizeof(typed)) {
		memcpy(typed, cl->name, cl->name_len);
		typed[cl->name_len] = '\0';
		for (i = 0; pb_commands[i]; i++) {
			const struct pb_command *c = pb_commands[i];

			if (pb_suggest_close(typed, c->name, &best))
				close = c->name;
			for (j = 0; c->aliases && c->aliases[j]; j++)
				if (pb_suggest_close(typed, c->aliases[j],
						     &best))
					close = c->aliases[j];
		}
	}
	rc = pb_buf_puts(&msg, "unknown command '");
	if (rc == 0)
		rc = put_typed(&msg, cl->name, cl->name_len);
	if (rc == 0 && close)
		rc = pb_buf_printf(&msg, "': did you mean '%s'? (see /help)",
				   close);
	else if (rc == 0)
		rc = pb_buf_puts(&msg, "' (see /help)");
	if (rc < 0)
		return pb_err_set("out of memory");
	return add_problem_buf(ps, cl->no, &msg);
}

static void invocation_clear(struct pb_invocation *inv)
{
	size_t i;

	for (i = 0; i < inv->n_args; i++)
		free(inv->args[i]);
	free(inv->args);
	inv->args = NULL;
	inv->n_args = 0;
}

enum split_result { SPLIT_OK, SPLIT_UNTERMINATED, SPLIT_TOO_MANY };

/* One word at s[*i] into w, "..." quoting included; *i moves past it. */
static int read_word(struct pb_buf *w, const char *s, size_t n, size_t *i)
{
	size_t k = *i;
	int rc = 0;

	while (rc == 0 && k < n && !is_blank(s[k])) {
		if (s[k] != '"') {
			rc = pb_buf_putc(w, s[k++]);
			continue;
		}
		for (k++; rc == 0 && k < n && s[k] != '"'; k++) {
			if (s[k] == '\\' && k + 1 < n &&
			    (s[k + 1] == '"' || s[k + 1] == '\\'))
				k++;
			if (s[k] != '\0')
				rc = pb_buf_putc(w, s[k]);
		}
		if (rc == 0 && k >= n)
			return SPLIT_UNTERMINATED;
		k++;
	}
	*i = k;
	return rc < 0 ? pb_err_set("out of memory") : SPLIT_OK;
}

/* The words of s[i..n) into inv->args: a split_result, or PB_ERROR. */
static int split_args(struct pb_invocation *inv, const char *s, size_t n,
		      size_t i)
{
	struct pb_buf w = PB_BUF_INIT;
	int rc = SPLIT_OK;

	while ((i = skip_blank(s, n, i)) < n) {
		if (inv->n_args == PB_PARSE_MAX_ARGS) {
			rc = SPLIT_TOO_MANY;
			break;
		}
		if (!inv->args)
			inv->args = calloc(PB_PARSE_MAX_ARGS, sizeof(char *));
		if (!inv->args) {
			rc = pb_err_set("out of memory");
			break;
		}
		if ((rc = read_word(&w, s, n, &i)) != SPLIT_OK)
			break;
		if (!(inv->args[inv->n_args] = pb_buf_detach(&w))) {
			rc = pb_err_set("out of memory");
			break;
		}
		inv->n_args++;
	}
	pb_buf_release(&w);
	return rc;
}

/* A known command's words: an invocation, or a problem saying why not. */
static int add_command(struct parser *ps, const struct cmdline *cl,
		       size_t index)
{
	struct pb_invocation inv = { cl->cmd, NULL, 0 };
	struct pb_parsed_command *pc;
	const char *name = cl->cmd->name, *usage = cl->cmd->usage;
	int rc = split_args(&inv, cl->s, cl->n, cl->rest);

	if (rc == SPLIT_UNTERMINATED) {
		rc = add_problem(ps, cl->no,
				 "'%s' has an unterminated quote: close it "
				 "with \": usage: %s",
				 name, usage);
	} else if (rc == SPLIT_TOO_MANY) {
		rc = add_problem(ps, cl->no,
				 "'%s' has more than %d arguments: usage: %s",
				 name, PB_PARSE_MAX_ARGS, usage);
	} else if (rc == SPLIT_OK && pb_invocation_check(&inv) < 0) {
		rc = add_problem(ps, cl->no, "%s", pb_err_last());
	} else if (rc == SPLIT_OK) {
		pc = &ps->out->v[ps->out->n++];
		pc->inv = inv;
		pc->line = cl->no;
		pc->index = index;
		return 0;
	}
	invocation_clear(&inv);
	return rc;
}

/* One line of the comment; 1 when reading should stop, or PB_ERROR. */
static int read_line(struct parser *ps, const char *s, size_t n, int no)
{
	struct cmdline cl = { s, n, no, NULL, NULL, 0, NULL, 0, 0 };
	size_t i;

	if (n && s[n - 1] == '\r')
		cl.n = --n;
	if (ps->fence_ch) {
		fence_closes(ps, s, n);
		return 0;
	}
	i = skip_blank(s, n, 0);
	if ((i < n && s[i] == '>') || fence_opens(ps, s, n))
		return 0;
	if (!classify(ps, &cl))
		return 0;
	if (ps->n_lines == PB_PARSE_MAX_COMMANDS) {
		if (add_problem(ps, no,
				"at most %d commands per comment; the rest were "
				"ignored",
				PB_PARSE_MAX_COMMANDS) < 0)
			return PB_ERROR;
		return 1;
	}
	ps->n_lines++;
	if (n > PB_PARSE_MAX_LINE)
		return add_problem(ps, no,
				   "command line is %zu bytes, over the limit "
				   "of %d: shorten it",
				   n, PB_PARSE_MAX_LINE);
	if (!cl.cmd)
		return add_unknown(ps, &cl);
	return add_command(ps, &cl, ps->n_lines - 1);
}

static void parser_init(struct parser *ps, struct pb_parsed *out,
			const char *bot_login)
{
	static const char suffix[] = "[bot]";
	size_t sl = sizeof(suffix) - 1;

	memset(ps, 0, sizeof(*ps));
	ps->out = out;
	if (!bot_login || !*bot_login)
		return;
	ps->login = bot_login;
	ps->login_len = strlen(bot_login);
	if (ps->login_len > sl &&
	    !strcasecmp(bot_login + ps->login_len - sl, suffix))
		ps->login_short_len = ps->login_len - sl;
}

int pb_parse_comment(struct pb_parsed *out, const char *text, size_t len,
		     const char *bot_login)
{
	struct parser ps;
	size_t pos = 0;
	int no = 0, rc = 0;

	memset(out, 0, sizeof(*out));
	parser_init(&ps, out, bot_login);
	if ((rc = reserve(out)) < 0)
		goto out;
	while (rc == 0 && pos < len && no < INT_MAX) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		rc = read_line(&ps, text + pos, end - pos, ++no);
		pos = end + 1;
	}
out:
	if (rc < 0) {
		pb_parsed_release(out);
		return rc;
	}
	return 0;
}

void pb_parsed_release(struct pb_parsed *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		invocation_clear(&p->v[i].inv);
	for (i = 0; i < p->n_problems; i++)
		free(p->problems[i].msg);
	free(p->v);
	free(p->problems);
	memset(p, 0, sizeof(*p));
}
