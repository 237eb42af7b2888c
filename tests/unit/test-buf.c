/*
 * test-buf.c - the appenders that render names for people: ls -b style
 * escaping (spaces, backslashes, control characters, bytes that are not
 * UTF-8, and C1 controls escaped; printable UTF-8 kept) and JSON strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/buf.h"

/* buf_append_escaped() of len bytes at s, as a C string (static storage). */
static const char *escaped(const char *s, size_t len)
{
	static char out[256];
	struct buf b = BUF_INIT;
	buf_append_escaped(&b, s, len);
	buf_append_u8(&b, 0);
	snprintf(out, sizeof(out), "%s", (const char *)b.ptr);
	buf_release(&b);
	return out;
}

#define ESC(lit) escaped(lit, sizeof(lit) - 1)

static void test_printable_keeps_spaces_and_escapes_controls(void **state UNUSED)
{
	static const char in[] = "Access Denied\n\x1b]0;x\x07 \\ caf\xc3\xa9 \xc2\x9b"
				 "2J \xff";
	AUTOFREE char *out = str_printable(in, sizeof(in) - 1);

	assert_string_equal(out,
			    "Access Denied\\n\\033]0;x\\a \\\\ caf\xc3\xa9 \\302\\2332J \\377");
	AUTOFREE char *empty = str_printable("", 0);
	assert_string_equal(empty, "");
}

static void test_escaped_like_ls_b(void **state UNUSED)
{
	assert_string_equal(ESC("plain-name.txt"), "plain-name.txt");
	assert_string_equal(ESC("a b"), "a\\ b");
	assert_string_equal(ESC("back\\slash"), "back\\\\slash");
	assert_string_equal(ESC("new\nline\ttab\r"), "new\\nline\\ttab\\r");
	assert_string_equal(ESC("\x01\x7f"), "\\001\\177");
	assert_string_equal(ESC("\xff\xfe-x"), "\\377\\376-x");
	/* printable UTF-8 stays; a C1 control, an overlong form and a cut
	 * sequence do not */
	assert_string_equal(ESC("ünï-日本"), "ünï-日本");
	assert_string_equal(ESC("\xc2\x85"), "\\302\\205");
	assert_string_equal(ESC("\xc0\xaf"), "\\300\\257");
	assert_string_equal(ESC("\xe6\x97"), "\\346\\227");
	assert_string_equal(escaped("a\0b", 3), "a\\000b");
}

static void test_json_string(void **state UNUSED)
{
	struct buf b = BUF_INIT;
	buf_append_json_string(&b, "q\"\\\n\xff", 5);
	buf_append_u8(&b, 0);
	assert_string_equal((const char *)b.ptr, "\"q\\\"\\\\\\u000a\\u00ff\"");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaped_like_ls_b),
		cmocka_unit_test(test_printable_keeps_spaces_and_escapes_controls),
		cmocka_unit_test(test_json_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
