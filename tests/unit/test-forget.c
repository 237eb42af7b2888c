/*
 * test-forget.c - the retention policy on its own (forget_apply()): bucket
 * rules keep the newest snapshot of each of the N most recent periods that
 * have snapshots, weeks are ISO 8601 weeks across a year's end, rules are
 * independent and each counts a snapshot another also keeps, --keep-within
 * counts back from the newest snapshot and includes its bound, and tags
 * match whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/forget.h"

/* Fills items from times given newest first ("2021-01-04 10:00:00"). */
static void make(struct forget_item *items, const char *const *times, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t t;
		assert_int_equal(snapshot_time_parse(times[i], &t), 0);
		items[i] = (struct forget_item){ .time_sec = t, .tags = "" };
	}
}

static void test_weeks_cross_the_year_end(void **state UNUSED)
{
	/* 2021-01-04 is a Monday (2021-W01); 2021-01-03 a Sunday and
	 * 2020-12-31 a Thursday, both in 2020-W53. */
	const char *times[] = { "2021-01-04 00:00:00", "2021-01-03 23:00:00", "2020-12-31 12:00:00",
				"2020-12-27 12:00:00" };
	struct forget_item it[4];
	struct forget_policy p = { .weekly = 3 };

	make(it, times, 4);
	forget_apply(&p, it, 4);
	assert_int_equal(it[0].reasons, KEEP_WEEKLY);
	assert_int_equal(it[1].reasons, KEEP_WEEKLY);
	assert_int_equal(it[2].reasons, 0);
	assert_int_equal(it[3].reasons, KEEP_WEEKLY); /* 2020-W52 */
}

static void test_periods_without_snapshots_do_not_count(void **state UNUSED)
{
	const char *times[] = { "2021-05-10 08:00:00", "2021-05-10 07:00:00", "2021-05-09 12:00:00",
				"2021-05-05 12:00:00", "2021-05-01 12:00:00" };
	struct forget_item it[5];
	struct forget_policy p = { .daily = 3 };

	make(it, times, 5);
	forget_apply(&p, it, 5);
	assert_int_equal(it[0].reasons, KEEP_DAILY);
	assert_int_equal(it[1].reasons, 0); /* same day, older */
	assert_int_equal(it[2].reasons, KEEP_DAILY);
	assert_int_equal(it[3].reasons, KEEP_DAILY);
	assert_int_equal(it[4].reasons, 0); /* a fourth day */
}

static void test_rules_are_independent(void **state UNUSED)
{
	const char *times[] = { "2021-05-10 08:30:00", "2021-05-10 08:00:00", "2021-05-10 07:00:00",
				"2021-04-01 00:00:00" };
	struct forget_item it[4];
	struct forget_policy p = { .last = 2, .hourly = 2, .monthly = 2, .yearly = 1 };
	char text[96];

	make(it, times, 4);
	forget_apply(&p, it, 4);
	assert_int_equal(it[0].reasons, KEEP_LAST | KEEP_HOURLY | KEEP_MONTHLY | KEEP_YEARLY);
	assert_int_equal(it[1].reasons, KEEP_LAST);
	assert_int_equal(it[2].reasons, KEEP_HOURLY);
	assert_int_equal(it[3].reasons, KEEP_MONTHLY);
	forget_reasons_text(it[0].reasons, text, sizeof(text));
	assert_string_equal(text, "last, hourly, monthly, yearly");
	forget_reasons_text(0, text, sizeof(text));
	assert_string_equal(text, "");
}

static void test_within_counts_from_the_newest(void **state UNUSED)
{
	const char *times[] = { "2001-01-10 00:00:00", "2001-01-03 00:00:00",
				"2001-01-02 23:59:59" };
	struct forget_item it[3];
	struct forget_policy p = { .within_s = 7 * 86400 };

	make(it, times, 3);
	forget_apply(&p, it, 3);
	assert_int_equal(it[0].reasons, KEEP_WITHIN);
	assert_int_equal(it[1].reasons, KEEP_WITHIN); /* exactly 7 days older */
	assert_int_equal(it[2].reasons, 0);
}

static void test_tags_match_whole(void **state UNUSED)
{
	const char *tags[] = { "b" };
	struct forget_policy p = { .tags = tags, .n_tags = 1 };
	struct forget_item it[3] = {
		{ .time_sec = 30, .tags = "a,bb" },
		{ .time_sec = 20, .tags = "a,b" },
		{ .time_sec = 10, .tags = "b" },
	};

	forget_apply(&p, it, 3);
	assert_int_equal(it[0].reasons, 0);
	assert_int_equal(it[1].reasons, KEEP_TAG);
	assert_int_equal(it[2].reasons, KEEP_TAG);
	assert_false(forget_policy_is_empty(&p));
	struct forget_policy none = { 0 };
	assert_true(forget_policy_is_empty(&none));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weeks_cross_the_year_end),
		cmocka_unit_test(test_periods_without_snapshots_do_not_count),
		cmocka_unit_test(test_rules_are_independent),
		cmocka_unit_test(test_within_counts_from_the_newest),
		cmocka_unit_test(test_tags_match_whole),
	};
	return cmocka_run_group_tests_name("forget", tests, NULL, NULL);
}
