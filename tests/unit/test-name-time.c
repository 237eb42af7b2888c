/*
 * test-name-time.c - name_time_parse(), the timestamps `cairn import` reads
 * from archive names: every documented form, offsets, the first match
 * winning, digits that touch a match making it none, and dates or times
 * that do not exist rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/name-time.h"

/* 2026-11-22T20:53:28Z */
#define T0 1795380808LL

struct good {
	const char *name;
	int64_t want;
};

static void check(const struct good *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t v = -1;
		int r = name_time_parse(g[i].name, strlen(g[i].name), &v);
		if (r != 0 || v != g[i].want)
			fail_msg("'%s': got %d, %lld; want %lld", g[i].name, r, (long long)v,
				 (long long)g[i].want);
	}
}

static void test_documented_forms(void **state)
{
	(void)state;
	static const struct good g[] = {
		{ "2026-11-22T205328Z", T0 },
		{ "2026-11-22T20:53:28Z", T0 },
		{ "2026-11-22T20:53:28", T0 },
		{ "2026-11-22 20:53:28", T0 },
		{ "20261122-205328", T0 },
		{ "20261122T205328", T0 },
		{ "20261122T205328Z", T0 },
		{ "20261122205328", T0 },
		{ "2026-11-22_20-53-28", T0 },
		{ "1795380808", T0 },
		{ "2026-11-22T20:53:28.123456789Z", T0 },
		{ "2026-11-22T20:53:28,5Z", T0 },
		{ "2026-11-22T20:53Z", T0 - 28 },
		{ "2026-11-22", T0 - (20 * 3600 + 53 * 60 + 28) },
	};
	check(g, ARRAY_SIZE(g));
}

static void test_offsets(void **state)
{
	(void)state;
	static const struct good g[] = {
		{ "2026-11-22T21:53:28+01:00", T0 },
		{ "2026-11-22T21:53:28+0100", T0 },
		{ "2026-11-22T21:53:28+01", T0 },
		{ "2026-11-22T15:23:28-05:30", T0 },
		{ "20261122T215328+0100", T0 },
		{ "2026-11-22T205328z", T0 },
		/* no offset in the forms shell scripts write: "-28" stays a suffix */
		{ "2026-11-22_20-53-28-01", T0 },
		{ "20261122-205328-01", T0 },
		/* a '-' that starts no offset is no offset */
		{ "2026-11-22T20:53:28-backup", T0 },
	};
	check(g, ARRAY_SIZE(g));
}

static void test_first_match_in_name(void **state)
{
	(void)state;
	static const struct good g[] = {
		{ "member3-2026-11-22T205328Z.tar.gz", T0 },
		{ "backup_20261122-205328_full.tgz", T0 },
		{ "node-1795380808.tar", T0 },
		{ "x 2026-11-22T20:53:28Z then 2020-01-01T00:00:00Z", T0 },
		{ "db.2026-11-22.2027-01-01", T0 - (20 * 3600 + 53 * 60 + 28) },
		/* a stamp of 14 digits is not read as the Unix time of its first 10 */
		{ "20261122205328.tar", T0 },
		{ "v2-20261122205328", T0 },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "9999-12-31T23:59:59Z", 253402300799LL },
		{ "2024-02-29T00:00:00Z", 1709164800LL },
		{ "2000-02-29", 951782400LL },
	};
	check(g, ARRAY_SIZE(g));
}

static void test_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"latest.tar.gz",
		"member3.tar.gz",
		"2026-13-01T00:00:00Z",	 /* month 13 */
		"2026-02-30T00:00:00Z",	 /* February 30th */
		"2025-02-29",		 /* not a leap year */
		"1900-02-29",		 /* not a leap year either */
		"2026-11-22T24:00:00Z",	 /* hour 24 */
		"2026-11-22T23:59:60Z",	 /* leap second */
		"1969-12-31T23:59:59Z",	 /* before the epoch */
		"12026-11-22T20:53:28Z", /* a digit touches it */
		"179546720",		 /* 9 digits */
		"17954672080",		 /* 11 digits */
		"0795467208",		 /* leading zero */
		"2026112220532",	 /* 13 digits */
		"202611222053281",	 /* 15 digits */
		"2026-11-2",
		"26-11-22",
		"1970-01-01T00:30:00+01:00", /* before the epoch once offset */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t v = -1;
		int r = name_time_parse(bad[i], strlen(bad[i]), &v);
		if (r != -ENOENT || v != -1)
			fail_msg("'%s' should hold no time: got %d, %lld", bad[i], r, (long long)v);
	}
}

static void test_length_bounds_the_scan(void **state)
{
	(void)state;
	int64_t v = -1;
	/* only the first 10 bytes are the name: the date is cut short */
	assert_int_equal(name_time_parse("2026-11-22T205328Z", 9, &v), -ENOENT);
	assert_int_equal(name_time_parse("2026-11-22T205328Z", 10, &v), 0);
	assert_int_equal(v, T0 - (20 * 3600 + 53 * 60 + 28));
	/* no NUL needed after the bytes */
	char buf[14];
	memcpy(buf, "20261122205328", 14);
	assert_int_equal(name_time_parse(buf, sizeof(buf), &v), 0);
	assert_int_equal(v, T0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documented_forms),       cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_first_match_in_name),    cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_length_bounds_the_scan),
	};
	return cmocka_run_group_tests_name("name-time", tests, NULL, NULL);
}
