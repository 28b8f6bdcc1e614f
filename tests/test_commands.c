/* test_commands.c: the command table is complete and documented */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prbot/command.h"
#include "prbot/err.h"
#include "prbot/parse.h"
#include "prbot/report_pr.h"

static char *read_readme(void)
{
	const char *dir = getenv("PRBOT_SOURCE_DIR");
	char path[4096];
	char *text;
	FILE *f;
	long n;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/README.md", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

static void test_every_command_is_documented(void **state)
{
	char *readme = read_readme();
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; pb_commands[i]; i++) {
		const struct pb_command *c = pb_commands[i];

		assert_non_null(c->name);
		assert_true(c->usage && *c->usage);
		assert_true(c->summary && *c->summary);
		assert_true(c->permission >= PB_PERM_READ);
		assert_true(!!c->handler != !!c->n_stages);
		snprintf(want, sizeof(want), "| `/%s` |", c->usage);
		if (!strstr(readme, want))
			fail_msg("README.md has no row for '%s'", want);
		assert_ptr_equal(pb_command_find(c->name), c);
	}
	free(readme);
}

static void test_command_find_matches_exact_names_only(void **state)
{
	(void)state;
	assert_non_null(pb_command_find("evaluate"));
	assert_null(pb_command_find("eval"));
	assert_null(pb_command_find("evaluatex"));
	assert_null(pb_command_find(""));
}

static void
test_invocation_check_refuses_unknown_keys_and_extra_args(void **state)
{
	char *ok[] = { "baseline=main" };
	char *bad_key[] = { "basline=main" };
	char *too_many[] = { "baseline=main", "x" };
	struct pb_invocation inv = { pb_command_find("evaluate"), ok, 1 };

	(void)state;
	assert_int_equal(pb_invocation_check(&inv), 0);
	assert_string_equal(pb_invocation_get(&inv, "baseline"), "main");
	inv.args = bad_key;
	assert_int_equal(pb_invocation_check(&inv), PB_EINVAL);
	assert_non_null(strstr(pb_err_last(), "'basline='"));
	assert_non_null(strstr(pb_err_last(), "usage: evaluate"));
	inv.args = too_many;
	inv.n_args = 2;
	assert_int_equal(pb_invocation_check(&inv), PB_EINVAL);
}

/* pb_parse_comment of one line: its invocation, or its problem. */
static const char *parse_one(struct pb_parsed *p, const char *line)
{
	assert_int_equal(pb_parse_comment(p, line, strlen(line), "prbot"), 0);
	if (p->n_problems)
		return p->problems[0].msg;
	assert_int_equal(p->n, 1);
	return NULL;
}

static void test_lock_commands_take_one_environment(void **state)
{
	static const struct {
		const char *line;
		const char *problem; /* a part of it; NULL: accepted */
	} cases[] = {
		{ "/lock staging", NULL },
		{ "/lock staging reason=\"load test | v2\"", NULL },
		{ "/lock reason=x staging", NULL },
		{ "/lock", "'lock' takes other arguments: usage: lock ENV "
			   "[reason=\"...\"]" },
		{ "/lock reason=\"no env\"",
		  "'lock' takes 1 argument besides key=value, not 0: usage: "
		  "lock ENV [reason=\"...\"]" },
		{ "/lock staging production",
		  "'lock' takes 1 argument besides key=value, not 2" },
		{ "/lock staging by=me", "'lock' does not take 'by='" },
		{ "/lock staging reason=\"open", "unterminated quote" },
		{ "/unlock staging", NULL },
		{ "/unlock", "'unlock' takes other arguments: usage: unlock "
			     "ENV" },
		{ "/unlock staging reason=x",
		  "'unlock' takes other arguments" },
		{ "/unlock reason=x", "'unlock' takes 1 argument besides "
				      "key=value, not 0" },
		{ "/locks", NULL },
		{ "/locks staging",
		  "'locks' takes no arguments: usage: locks" },
	};
	struct pb_parsed p = PB_PARSED_INIT;
	const char *got;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = parse_one(&p, cases[i].line);
		if (!cases[i].problem && got)
			fail_msg("'%s': refused: %s", cases[i].line, got);
		if (cases[i].problem &&
		    (!got || !strstr(got, cases[i].problem)))
			fail_msg("'%s': expected '%s', got '%s'", cases[i].line,
				 cases[i].problem, got ? got : "accepted");
		pb_parsed_release(&p);
	}

	got = parse_one(&p, "/lock staging reason=\"load test | v2\"");
	assert_null(got);
	assert_string_equal(p.v[0].inv.cmd->name, "lock");
	assert_string_equal(p.v[0].inv.args[0], "staging");
	assert_string_equal(pb_invocation_get(&p.v[0].inv, "reason"),
			    "load test | v2");
	pb_parsed_release(&p);
}

static void test_lock_commands_default_permissions(void **state)
{
	(void)state;
	assert_int_equal(pb_pr_command_level(pb_command_find("lock"), NULL),
			 PB_PERM_MAINTAIN);
	assert_int_equal(pb_pr_command_level(pb_command_find("unlock"), NULL),
			 PB_PERM_MAINTAIN);
	assert_int_equal(pb_pr_command_level(pb_command_find("locks"), NULL),
			 PB_PERM_READ);
	assert_true(pb_command_find("lock")->flags & PB_CMD_NEEDS_PR);
	assert_null(pb_command_find("lo"));
	assert_null(pb_command_find("unlocks"));
}

static void test_deploy_commands_need_maintain_and_a_pr(void **state)
{
	const struct pb_command *d = pb_command_find("deploy");
	const struct pb_command *r = pb_command_find("rollback");

	(void)state;
	assert_non_null(d);
	assert_non_null(r);
	assert_int_equal(pb_pr_command_level(d, NULL), PB_PERM_MAINTAIN);
	assert_int_equal(pb_pr_command_level(r, NULL), PB_PERM_MAINTAIN);
	assert_true(d->flags & PB_CMD_NEEDS_PR);
	assert_true(d->flags & PB_CMD_MUTATES);
	assert_true(d->n_stages > 0);
	assert_true(r->flags & PB_CMD_NEEDS_PR);
	assert_non_null(r->handler);
	/* no alias and no prefix: a deploy is hard to ask for by accident */
	assert_null(d->aliases);
	assert_null(pb_command_find("dep"));
	assert_null(pb_command_find("roll"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command_is_documented),
		cmocka_unit_test(test_deploy_commands_need_maintain_and_a_pr),
		cmocka_unit_test(test_command_find_matches_exact_names_only),
		cmocka_unit_test(
			test_invocation_check_refuses_unknown_keys_and_extra_args),
		cmocka_unit_test(test_lock_commands_take_one_environment),
		cmocka_unit_test(test_lock_commands_default_permissions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
