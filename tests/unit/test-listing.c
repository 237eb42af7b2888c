/*
 * test-listing.c - the published snapshot list (listing_encode() and
 * listing_decode()): it round-trips with the headers it carries, and a
 * forged one is refused: ids out of order or twice, a count the bytes do
 * not hold, a header that is not its id's (plain SHA-256 or, encrypted,
 * HMAC under the id key), or one over the header bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/log.h"
#include "format/listing.h"
#include "format/names.h"
#include "unit.h"

#include <stdlib.h>

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(((const struct listing_entry *)a)->id, ((const struct listing_entry *)b)->id,
		      HASH_LEN);
}

/* Three entries with the headers "header-0".."header-2" (the middle one not
 * carried), named under keys, in ascending order. */
static void make_entries(const struct crypto_keys *keys, struct listing_entry v[3])
{
	static const char *const headers[3] = { "header-0", "header-1", "header-2" };
	for (int i = 0; i < 3; i++) {
		crypto_id(keys, headers[i], strlen(headers[i]), v[i].id);
		v[i].header = i == 1 ? NULL : (const uint8_t *)headers[i];
		v[i].header_len = i == 1 ? 0 : (uint32_t)strlen(headers[i]);
	}
	qsort(v, 3, sizeof(*v), entry_cmp);
}

static void test_listing_round_trips(void **state)
{
	(void)state;
	struct listing_entry v[3];
	AUTOBUF struct buf raw = BUF_INIT;
	AUTOFREE struct listing_entry *got = NULL;
	size_t n = 0;

	make_entries(NULL, v);
	listing_encode(v, 3, &raw);
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len, &got, &n), 0);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_memory_equal(got[i].id, v[i].id, HASH_LEN);
		assert_int_equal(got[i].header_len, v[i].header_len);
		if (v[i].header)
			assert_memory_equal(got[i].header, v[i].header, v[i].header_len);
		else
			assert_null(got[i].header);
		assert_ptr_equal(listing_find(got, n, v[i].id), &got[i]);
	}
	uint8_t other[HASH_LEN] = { 0 };
	assert_null(listing_find(got, n, other));

	free(TAKE(got));
	buf_reset(&raw);
	listing_encode(NULL, 0, &raw);
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len, &got, &n), 0);
	assert_int_equal(n, 0);
}

static void test_listing_ids_are_keyed(void **state)
{
	(void)state;
	uint8_t master[CRYPTO_KEY_LEN] = { 7 };
	struct crypto_keys *keys = crypto_keys_new(master);
	struct listing_entry v[3];
	AUTOBUF struct buf raw = BUF_INIT;
	struct listing_entry *got = NULL;
	size_t n = 0;

	make_entries(keys, v);
	listing_encode(v, 3, &raw);
	assert_int_equal(listing_decode(keys, raw.ptr, raw.len, &got, &n), 0);
	free(got);
	/* the same list read as plain (or under another key) names other ids */
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len, &got, &n), -EBADMSG);
	crypto_keys_free(keys);
}

static void test_listing_refuses_forgeries(void **state)
{
	(void)state;
	struct listing_entry v[3], w[3];
	AUTOBUF struct buf raw = BUF_INIT;
	struct listing_entry *got = NULL;
	size_t n = 0;

	make_entries(NULL, v);
	/* an id twice */
	w[0] = v[0], w[1] = v[0], w[2] = v[2];
	listing_encode(w, 3, &raw);
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len, &got, &n), -EBADMSG);
	/* out of order */
	w[0] = v[1], w[1] = v[0], w[2] = v[2];
	buf_reset(&raw);
	listing_encode(w, 3, &raw);
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len, &got, &n), -EBADMSG);
	/* a header that is another id's */
	w[0] = v[0], w[1] = v[1], w[2] = v[2];
	w[2].header = v[0].header;
	w[2].header_len = v[0].header_len;
	buf_reset(&raw);
	listing_encode(w, 3, &raw);
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len, &got, &n), -EBADMSG);

	/* a count the bytes do not hold, and bytes past the last entry */
	buf_reset(&raw);
	listing_encode(v, 3, &raw);
	put_le32(raw.ptr + 4, 1000000);
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len, &got, &n), -EBADMSG);
	put_le32(raw.ptr + 4, 2);
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len, &got, &n), -EBADMSG);
	put_le32(raw.ptr + 4, 3);
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len - 1, &got, &n), -EBADMSG);
	/* another version (1 held ids alone) */
	put_le32(raw.ptr, 1);
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len, &got, &n), -EBADMSG);

	/* a header over the bound, even one that hashes to its id */
	AUTOFREE uint8_t *big = xcalloc(1, SNAPSHOT_HEADER_MAX + 1);
	struct listing_entry e = { .header = big, .header_len = SNAPSHOT_HEADER_MAX + 1 };
	crypto_id(NULL, big, SNAPSHOT_HEADER_MAX + 1, e.id);
	buf_reset(&raw);
	listing_encode(&e, 1, &raw);
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len, &got, &n), -EBADMSG);
	e.header_len = SNAPSHOT_HEADER_MAX;
	crypto_id(NULL, big, SNAPSHOT_HEADER_MAX, e.id);
	buf_reset(&raw);
	listing_encode(&e, 1, &raw);
	assert_int_equal(listing_decode(NULL, raw.ptr, raw.len, &got, &n), 0);
	free(got);
}

int main(void)
{
	log_setup("test-listing", LOG_TARGET_STDERR, LOG_CRIT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listing_round_trips),
		cmocka_unit_test(test_listing_ids_are_keyed),
		cmocka_unit_test(test_listing_refuses_forgeries),
	};
	return cmocka_run_group_tests_name("listing", tests, NULL, NULL);
}
