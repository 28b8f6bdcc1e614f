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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command_is_documented),
		cmocka_unit_test(test_command_find_matches_exact_names_only),
		cmocka_unit_test(
			test_invocation_check_refuses_unknown_keys_and_extra_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
