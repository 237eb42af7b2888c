/*
 * test-parse.c - the parsers for values users type: sizes, plain integers,
 * durations and compression settings. Each accepts exactly its documented
 * forms, rejects everything else (signs, spaces, junk, overflow) with
 * -EINVAL, and leaves its out-parameter untouched on failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/parse.h"

#define SENTINEL 0x5a5a5a5a5a5a5a5aull

struct good {
	const char *s;
	uint64_t want;
};

static void check_u64(int (*fn)(const char *, uint64_t *), const struct good *good, size_t n_good,
		      const char *const *bad, size_t n_bad)
{
	for (size_t i = 0; i < n_good; i++) {
		uint64_t v = SENTINEL;
		int r = fn(good[i].s, &v);
		if (r != 0 || v != good[i].want)
			fail_msg("'%s': got %d, %llu; want %llu", good[i].s, r,
				 (unsigned long long)v, (unsigned long long)good[i].want);
	}
	for (size_t i = 0; i < n_bad; i++) {
		uint64_t v = SENTINEL;
		int r = fn(bad[i], &v);
		if (r != -EINVAL || v != SENTINEL)
			fail_msg("'%s' should be rejected: got %d, %llu", bad[i], r,
				 (unsigned long long)v);
	}
}

static void test_parse_size(void **state)
{
	(void)state;
	static const struct good good[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "4096", 4096 },
		{ "64K", 64ull << 10 },
		{ "256M", 256ull << 20 },
		{ "1G", 1ull << 30 },
		{ "2T", 2ull << 40 },
		{ "1KiB", 1024 },
		{ "3MiB", 3ull << 20 },
		{ "1KB", 1024 },
		{ "5GB", 5ull << 30 },
		{ "007K", 7ull << 10 },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215T", 16777215ull << 40 },
	};
	static const char *const bad[] = {
		"",
		"K",
		"M1",
		"-1",
		"+1",
		" 1",
		"1 ",
		"1 K",
		"1X",
		"1KK",
		"1KiBB",
		"1Ki",
		"1iB",
		"1.5G",
		"0x10",
		"1e3",
		"1,000",
		"1K ",
		"18446744073709551616",
		"16777216T",
		"99999999999999999999K",
		"17179869184G",
	};
	check_u64(parse_size, good, ARRAY_SIZE(good), bad, ARRAY_SIZE(bad));
}

static void test_parse_uint(void **state)
{
	(void)state;
	static const struct good good[] = {
		{ "0", 0 },
		{ "42", 42 },
		{ "000", 0 },
		{ "4294967296", 4294967296ull },
		{ "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = {
		"",
		"-0",
		"+1",
		" 1",
		"1 ",
		"1K",
		"0x10",
		"1.0",
		"18446744073709551616",
		"99999999999999999999",
		"abc",
		"1\n",
	};
	check_u64(parse_uint, good, ARRAY_SIZE(good), bad, ARRAY_SIZE(bad));
}

static void test_parse_duration(void **state)
{
	(void)state;
	static const struct good good[] = {
		{ "0", 0 },	{ "90", 90 },	     { "90s", 90 },	   { "15m", 900 },
		{ "2h", 7200 }, { "7d", 7 * 86400 }, { "2w", 14 * 86400 }, { "1y", 365 * 86400 },
	};
	static const char *const bad[] = {
		"",
		"s",
		"m5",
		"-1s",
		"+1",
		"1 s",
		" 1s",
		"1s ",
		"1x",
		"1hh",
		"1.5h",
		"1H",
		"1M",
		"18446744073709551616",
		"18446744073709551615m",
		"999999999999999999y",
	};
	check_u64(parse_duration, good, ARRAY_SIZE(good), bad, ARRAY_SIZE(bad));
}

static void test_parse_percent(void **state)
{
	(void)state;
	unsigned v = 0;

	assert_int_equal(parse_percent("10", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_percent("100%", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(parse_percent("1%", &v), 0);
	assert_int_equal(v, 1);
	const char *bad[] = { "", "%", "0", "0%", "101", "1000%", "10%%", "-5", "5.5", "x", "10 " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_percent(bad[i], &v), -EINVAL);
	assert_int_equal(v, 1); /* untouched by failures */
}

static void test_parse_compression(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int want;
	} good[] = {
		{ "none", 0 },	   { "zstd:1", 1 },  { "zstd:3", 3 },
		{ "zstd:19", 19 }, { "zstd:07", 7 },
	};
	static const char *const bad[] = {
		"",	   "zstd:",    "zstd:0",
		"zstd:20", "zstd:-1",  "zstd:+3",
		"zstd:3x", "zstd: 3",  "zstd:99999999999999999999",
		"zstd3",   "zstd:3:4", "gzip",
		"ZSTD",	   "None",     "zstd ",
		"lz4:1",
	};
	int level;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		level = -42;
		assert_int_equal(parse_compression(good[i].s, &level), 0);
		assert_int_equal(level, good[i].want);
	}
	/* Plain "zstd" picks a sensible level. */
	level = -42;
	assert_int_equal(parse_compression("zstd", &level), 0);
	assert_true(level >= 1 && level <= 19);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		level = -42;
		if (parse_compression(bad[i], &level) != -EINVAL || level != -42)
			fail_msg("'%s' should be rejected (level %d)", bad[i], level);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),	  cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_parse_duration),	  cmocka_unit_test(test_parse_percent),
		cmocka_unit_test(test_parse_compression),
	};
	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
