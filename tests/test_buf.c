/* test_buf.c: the growable buffer and its cap */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prbot/buf.h"
#include "prbot/err.h"

static void test_buf_appends_and_formats(void **state)
{
	struct pb_buf b = PB_BUF_INIT;
	char *s;

	(void)state;
	assert_string_equal(pb_buf_cstr(&b), "");
	assert_int_equal(pb_buf_puts(&b, "abc"), 0);
	assert_int_equal(pb_buf_printf(&b, "-%d-%s", 42, "x"), 0);
	assert_int_equal(pb_buf_putc(&b, '!'), 0);
	assert_string_equal(pb_buf_cstr(&b), "abc-42-x!");
	pb_buf_consume(&b, 4);
	assert_string_equal(pb_buf_cstr(&b), "42-x!");
	s = pb_buf_detach(&b);
	assert_string_equal(s, "42-x!");
	assert_null(b.ptr);
	free(s);
}

static void test_buf_refuses_past_its_cap_and_frees(void **state)
{
	struct pb_buf b;

	(void)state;
	pb_buf_init(&b, 8);
	assert_int_equal(pb_buf_puts(&b, "12345678"), 0);
	assert_int_equal(pb_buf_putc(&b, '9'), PB_ETOOBIG);
	assert_null(b.ptr);
	assert_int_equal(b.len, 0);
	assert_non_null(strstr(pb_err_last(), "8-byte cap"));
}

static void test_buf_grows_over_many_appends(void **state)
{
	struct pb_buf b = PB_BUF_INIT;
	int i;

	(void)state;
	for (i = 0; i < 10000; i++)
		assert_int_equal(pb_buf_puts(&b, "0123456789"), 0);
	assert_int_equal(b.len, 100000);
	assert_int_equal(strlen(b.ptr), 100000);
	pb_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_appends_and_formats),
		cmocka_unit_test(test_buf_refuses_past_its_cap_and_frees),
		cmocka_unit_test(test_buf_grows_over_many_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
