/*
 * test-select.c - the glob matcher and the exclude and include rules that
 * cairn(1) documents under SELECTING FILES: '*' and '?' stop at '/', '**'
 * crosses it, sets and escapes, anchoring by an inner '/', basename
 * matching otherwise, trailing '/' for directories only, and include lists
 * with their ancestors.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/select.h"
#include "unit.h"

struct glob_case {
	const char *glob, *str;
	bool want;
};

static void test_glob_semantics(void **state)
{
	(void)state;
	static const struct glob_case cases[] = {
		{ "abc", "abc", true },
		{ "abc", "abcd", false },
		{ "*.log", "app.log", true },
		{ "*.log", "dir/app.log", false }, /* '*' does not cross '/' */
		{ "*", "", true },
		{ "a*b*c", "aXXbYYc", true },
		{ "a*b*c", "aXXbYY", false },
		{ "?", "/", false },
		{ "a?c", "abc", true },
		{ "a?c", "ac", false },
		{ "**", "a/b/c", true },
		{ "**/*.log", "x.log", true }, /* zero directories */
		{ "**/*.log", "a/b/x.log", true },
		{ "**/*.log", "a/b/x.txt", false },
		{ "var/**/tmp", "var/tmp", true },
		{ "var/**/tmp", "var/a/b/tmp", true },
		{ "var/**/tmp", "var/a/btmp", false },
		{ "var/**", "var/a/b", true },
		{ "a**z", "a/b/z", true },
		{ "[abc].txt", "b.txt", true },
		{ "[abc].txt", "d.txt", false },
		{ "[!abc].txt", "d.txt", true },
		{ "[^abc].txt", "a.txt", false },
		{ "[a-c]x", "bx", true },
		{ "[a-c]x", "dx", false },
		{ "[]]", "]", true },
		{ "a[/]b", "a/b", false }, /* a set never matches '/' */
		{ "[abc", "[abc", true },  /* unclosed: literal */
		{ "\\*", "*", true },
		{ "\\*", "x", false },
		{ "\\[a]", "[a]", true },
		{ "*cache*", "my-cache-dir", true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool got = select_glob_match(cases[i].glob, cases[i].str);
		if (got != cases[i].want)
			fail_msg("'%s' against '%s': got %d, want %d", cases[i].glob, cases[i].str,
				 got, cases[i].want);
	}
}

static void test_exclude_anchoring(void **state)
{
	(void)state;
	struct selection s;
	select_init(&s);
	assert_int_equal(select_add_exclude(&s, "*.tmp"), 0);
	assert_int_equal(select_add_exclude(&s, "/data/cache"), 0);
	assert_int_equal(select_add_exclude(&s, "logs/"), 0);
	assert_int_equal(select_add_exclude(&s, "srv/*/lock"), 0);
	assert_int_equal(select_add_exclude(&s, "/"), -EINVAL);
	assert_int_equal(select_add_exclude(&s, ""), -EINVAL);

	/* no '/': any basename at any depth */
	assert_true(select_is_excluded(&s, "x.tmp", false));
	assert_true(select_is_excluded(&s, "a/b/x.tmp", false));
	assert_false(select_is_excluded(&s, "a/x.tmp/b", false));
	/* a '/' inside: the whole path from the root */
	assert_true(select_is_excluded(&s, "data/cache", true));
	assert_false(select_is_excluded(&s, "other/data/cache", true));
	assert_true(select_is_excluded(&s, "srv/app/lock", false));
	assert_false(select_is_excluded(&s, "srv/a/b/lock", false));
	/* trailing '/': directories only */
	assert_true(select_is_excluded(&s, "var/logs", true));
	assert_false(select_is_excluded(&s, "var/logs", false));
	assert_false(select_is_excluded(&s, "var/log", true));
	select_release(&s);
}

static void test_include_list(void **state)
{
	(void)state;
	struct selection s;
	select_init(&s);
	assert_int_equal(select_include(&s, "anything", SELECT_PARTIAL), SELECT_ALL);
	assert_int_equal(select_add_include(&s, "/etc/nginx/"), 0);
	assert_int_equal(select_add_include(&s, "./var//lib/app"), 0);
	assert_int_equal(select_add_include(&s, "var/../etc"), -EINVAL);

	assert_int_equal(select_include(&s, "etc", SELECT_PARTIAL), SELECT_PARTIAL);
	assert_int_equal(select_include(&s, "etc/nginx", SELECT_PARTIAL), SELECT_ALL);
	assert_int_equal(select_include(&s, "etc/nginx/x.conf", SELECT_ALL), SELECT_ALL);
	assert_int_equal(select_include(&s, "etc/passwd", SELECT_PARTIAL), SELECT_SKIP);
	assert_int_equal(select_include(&s, "var", SELECT_PARTIAL), SELECT_PARTIAL);
	assert_int_equal(select_include(&s, "var/lib", SELECT_PARTIAL), SELECT_PARTIAL);
	assert_int_equal(select_include(&s, "var/lib/app", SELECT_PARTIAL), SELECT_ALL);
	assert_int_equal(select_include(&s, "var/lib/other", SELECT_PARTIAL), SELECT_SKIP);
	assert_int_equal(select_include(&s, "usr", SELECT_PARTIAL), SELECT_SKIP);
	/* listing the root takes everything */
	assert_int_equal(select_add_include(&s, "/"), 0);
	assert_int_equal(select_include(&s, "usr", SELECT_PARTIAL), SELECT_ALL);
	select_release(&s);
}

static void test_list_files(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	assert_int_equal(unit_mkdtemp(dir, sizeof(dir), "select"), 0);
	AUTOFREE char *ex = xasprintf("%s/exclude", dir);
	AUTOFREE char *bad = xasprintf("%s/bad", dir);
	FILE *f = fopen(ex, "w");
	assert_non_null(f);
	fputs("# caches\n\n  *.cache  \n/tmp\r\n\t# indented comment\n", f);
	fclose(f);
	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("ok\n../up\n", f);
	fclose(f);

	struct selection s;
	select_init(&s);
	assert_int_equal(select_add_exclude_file(&s, ex), 0);
	assert_int_equal(s.n_excludes, 2);
	assert_string_equal(s.excludes[0].glob, "*.cache");
	assert_string_equal(s.excludes[1].glob, "tmp");
	assert_true(s.excludes[1].anchored);
	assert_true(select_is_excluded(&s, "a/b.cache", false));
	assert_int_equal(select_add_files_from(&s, bad), -EINVAL);
	AUTOFREE char *missing = xasprintf("%s/missing", dir);
	assert_int_equal(select_add_files_from(&s, missing), -ENOENT);
	select_release(&s);
	assert_int_equal(unit_rm_rf(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob_semantics),
		cmocka_unit_test(test_exclude_anchoring),
		cmocka_unit_test(test_include_list),
		cmocka_unit_test(test_list_files),
	};
	return cmocka_run_group_tests_name("select", tests, NULL, NULL);
}
