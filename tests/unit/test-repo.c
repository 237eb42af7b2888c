/*
 * test-repo.c - the published snapshot list (repo_listing_encode() and
 * repo_listing_decode()): it round-trips sorted, and a forged one that names
 * an id twice or lies about its count is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/log.h"
#include "repo/repo.h"
#include "unit.h"

static void test_listing_round_trips_sorted(void **state)
{
	(void)state;
	uint8_t ids[3][HASH_LEN];
	AUTOBUF struct buf raw = BUF_INIT;
	uint8_t(*got)[HASH_LEN] = NULL;
	size_t n = 0;

	for (int i = 0; i < 3; i++)
		memset(ids[i], 0x30 - i, HASH_LEN);
	repo_listing_encode((const uint8_t(*)[HASH_LEN])ids, 3, &raw);
	assert_int_equal(repo_listing_decode(raw.ptr, raw.len, &got, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(got[0], ids[2], HASH_LEN);
	assert_memory_equal(got[2], ids[0], HASH_LEN);
	free(got);
}

static void test_listing_refuses_duplicates_and_lies(void **state)
{
	(void)state;
	uint8_t ids[3][HASH_LEN];
	AUTOBUF struct buf raw = BUF_INIT;
	uint8_t(*got)[HASH_LEN] = NULL;
	size_t n = 0;

	memset(ids[0], 1, HASH_LEN);
	memset(ids[1], 2, HASH_LEN);
	memset(ids[2], 1, HASH_LEN); /* the first again */
	repo_listing_encode((const uint8_t(*)[HASH_LEN])ids, 3, &raw);
	assert_int_equal(repo_listing_decode(raw.ptr, raw.len, &got, &n), -EBADMSG);

	buf_reset(&raw);
	repo_listing_encode((const uint8_t(*)[HASH_LEN])ids, 2, &raw);
	put_le32(raw.ptr + 4, 1000000); /* a count the bytes do not hold */
	assert_int_equal(repo_listing_decode(raw.ptr, raw.len, &got, &n), -EBADMSG);
	raw.len--;
	put_le32(raw.ptr + 4, 2);
	assert_int_equal(repo_listing_decode(raw.ptr, raw.len, &got, &n), -EBADMSG);
}

int main(void)
{
	log_setup("test-repo", LOG_TARGET_STDERR, LOG_CRIT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listing_round_trips_sorted),
		cmocka_unit_test(test_listing_refuses_duplicates_and_lies),
	};
	return cmocka_run_group_tests_name("repo", tests, NULL, NULL);
}
