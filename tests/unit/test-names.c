/*
 * test-names.c - format/names.h: every id-named object gets exactly the
 * name the repository layout gives it, the parser takes back exactly those
 * names (lowercase, the right folder, a pack's "ab/" its own first digits),
 * and object_decode() applies each kind's size bound and the id check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "format/envelope.h"
#include "format/names.h"

static void some_id(uint8_t id[HASH_LEN])
{
	for (int i = 0; i < HASH_LEN; i++)
		id[i] = (uint8_t)(0xab + 7 * i);
}

static void test_object_names(void **state)
{
	(void)state;
	static const struct {
		enum object_kind kind;
		const char *dir;
		size_t len; /* with the NUL */
	} cases[] = {
		{ OBJECT_SNAPSHOT, "snapshots/", 10 + HASH_HEX_LEN + 1 },
		{ OBJECT_TREE, "trees/", 6 + HASH_HEX_LEN + 1 },
		{ OBJECT_INDEX, "index/", 6 + HASH_HEX_LEN + 1 },
		{ OBJECT_LOCK, "locks/", LOCK_NAME_LEN },
		{ OBJECT_PACK_TRAILER, "packs/ab/", PACK_NAME_LEN },
	};
	uint8_t id[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];

	some_id(id);
	hex_encode(id, HASH_LEN, hex);
	assert_memory_equal(hex, "ab", 2);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char name[OBJECT_NAME_MAX + 8];
		char want[OBJECT_NAME_MAX + 8];
		memset(name, 'x', sizeof(name));
		object_name(cases[i].kind, id, name);
		snprintf(want, sizeof(want), "%s%s", cases[i].dir, hex);
		assert_string_equal(name, want);
		assert_int_equal(strlen(name) + 1, cases[i].len);
		assert_true(cases[i].len <= OBJECT_NAME_MAX);
		assert_int_equal(name[cases[i].len], 'x'); /* nothing written past the NUL */
		assert_true(strncmp(name, object_kind_dir(cases[i].kind),
				    strlen(object_kind_dir(cases[i].kind))) == 0);
	}
	assert_null(object_kind_dir(OBJECT_CONFIG));
	assert_null(object_kind_dir(OBJECT_CHUNK));
	assert_null(object_kind_dir(OBJECT_LISTING));
	assert_null(object_kind_dir(OBJECT_PENDING));
}

static void test_object_name_parse_round_trip(void **state)
{
	(void)state;
	static const enum object_kind kinds[] = { OBJECT_SNAPSHOT, OBJECT_TREE, OBJECT_INDEX,
						  OBJECT_LOCK, OBJECT_PACK_TRAILER };
	uint8_t id[HASH_LEN], got[HASH_LEN];
	char name[OBJECT_NAME_MAX];

	some_id(id);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		object_name(kinds[i], id, name);
		memset(got, 0, sizeof(got));
		assert_true(object_name_parse(kinds[i], name, got));
		assert_memory_equal(got, id, HASH_LEN);
		/* and no other kind takes it */
		for (size_t j = 0; j < ARRAY_SIZE(kinds); j++)
			if (j != i)
				assert_false(object_name_parse(kinds[j], name, got));
	}
}

static void test_object_name_parse_rejects(void **state)
{
	(void)state;
	char hex[HASH_HEX_LEN + 1], up[HASH_HEX_LEN + 1], name[3 * OBJECT_NAME_MAX];
	uint8_t id[HASH_LEN], got[HASH_LEN];

	some_id(id);
	hex_encode(id, HASH_LEN, hex);
	for (int i = 0; i <= HASH_HEX_LEN; i++)
		up[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 'a' + 'A' : hex[i]);

	snprintf(name, sizeof(name), "trees/%s", up);
	assert_false(object_name_parse(OBJECT_TREE, name, got)); /* uppercase */
	snprintf(name, sizeof(name), "trees/%.63s", hex);
	assert_false(object_name_parse(OBJECT_TREE, name, got)); /* short */
	snprintf(name, sizeof(name), "trees/%s0", hex);
	assert_false(object_name_parse(OBJECT_TREE, name, got)); /* long */
	snprintf(name, sizeof(name), "trees/%s.tmp", hex);
	assert_false(object_name_parse(OBJECT_TREE, name, got)); /* a partial upload */
	snprintf(name, sizeof(name), "trees/%.63sg", hex);
	assert_false(object_name_parse(OBJECT_TREE, name, got)); /* not hex */
	snprintf(name, sizeof(name), "tree/%s", hex);
	assert_false(object_name_parse(OBJECT_TREE, name, got)); /* wrong folder */
	snprintf(name, sizeof(name), "packs/%s", hex);
	assert_false(object_name_parse(OBJECT_PACK_TRAILER, name, got)); /* no ab/ */
	snprintf(name, sizeof(name), "packs/ac/%s", hex);
	assert_false(object_name_parse(OBJECT_PACK_TRAILER, name, got)); /* ab/ not its own */
	snprintf(name, sizeof(name), "packs/ab%s", hex);
	assert_false(object_name_parse(OBJECT_PACK_TRAILER, name, got));
	assert_false(object_name_parse(OBJECT_CONFIG, CONFIG_NAME, got));
	assert_false(object_name_parse(OBJECT_TREE, "", got));
}

static void test_object_kind_bounds(void **state)
{
	(void)state;
	assert_int_equal(object_kind_max(OBJECT_CONFIG), CONFIG_MAX);
	assert_int_equal(object_kind_max(OBJECT_SNAPSHOT), SNAPSHOT_HEADER_MAX);
	assert_int_equal(object_kind_max(OBJECT_LOCK), LOCK_PAYLOAD_MAX);
	assert_int_equal(object_kind_max(OBJECT_TREE), TREE_MAX);
	assert_int_equal(object_kind_max(OBJECT_INDEX), INDEX_MAX);
	assert_int_equal(object_kind_max(OBJECT_LISTING), LISTING_MAX);
	assert_int_equal(object_kind_max(OBJECT_PENDING), PENDING_MAX);
	assert_int_equal(object_kind_max(OBJECT_CHUNK), ENVELOPE_RAW_MAX);
	for (int k = OBJECT_CONFIG; k <= OBJECT_KIND_MAX; k++)
		assert_true(object_kind_max((enum object_kind)k) <= ENVELOPE_RAW_MAX);
}

/* A kind's bound is enforced on decode: one byte past it is damage. */
static void test_object_decode_applies_the_kind_bound(void **state)
{
	(void)state;
	AUTOBUF struct buf obj = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;
	uint8_t *raw = calloc(1, SNAPSHOT_HEADER_MAX + 1);
	uint8_t id[HASH_LEN];

	assert_non_null(raw);
	assert_true(envelope_encode(NULL, OBJECT_SNAPSHOT, raw, SNAPSHOT_HEADER_MAX, 3, NULL, &obj,
				    id) > 0);
	assert_int_equal(object_decode(NULL, obj.ptr, obj.len, OBJECT_SNAPSHOT, id, &out), 0);
	assert_int_equal(out.len, SNAPSHOT_HEADER_MAX);

	buf_reset(&obj);
	buf_reset(&out);
	assert_true(envelope_encode(NULL, OBJECT_SNAPSHOT, raw, SNAPSHOT_HEADER_MAX + 1, 3, NULL,
				    &obj, id) > 0);
	assert_int_equal(object_decode(NULL, obj.ptr, obj.len, OBJECT_SNAPSHOT, id, &out),
			 -EBADMSG);
	assert_int_equal(out.len, 0);
	/* the same bytes as a tree are within its bound */
	buf_reset(&obj);
	assert_true(envelope_encode(NULL, OBJECT_TREE, raw, SNAPSHOT_HEADER_MAX + 1, 3, NULL, &obj,
				    id) > 0);
	assert_int_equal(object_decode(NULL, obj.ptr, obj.len, OBJECT_TREE, id, &out), 0);
	free(raw);
}

static void test_object_decode_checks_id_and_kind(void **state)
{
	(void)state;
	AUTOBUF struct buf obj = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;
	uint8_t id[HASH_LEN], other[HASH_LEN];

	buf_append(&out, "keep", 4);
	assert_true(envelope_encode(NULL, OBJECT_INDEX, "payload", 7, 0, NULL, &obj, id) > 0);
	memcpy(other, id, HASH_LEN);
	other[0] ^= 1;
	/* a valid object under another object's name */
	assert_int_equal(object_decode(NULL, obj.ptr, obj.len, OBJECT_INDEX, other, &out),
			 -EBADMSG);
	assert_int_equal(out.len, 4);
	assert_int_equal(object_decode(NULL, obj.ptr, obj.len, OBJECT_TREE, id, &out), -EBADMSG);
	assert_int_equal(out.len, 4);
	/* no id: only the envelope's own hash is checked */
	assert_int_equal(object_decode(NULL, obj.ptr, obj.len, OBJECT_INDEX, NULL, &out), 0);
	assert_int_equal(out.len, 11);
	assert_memory_equal(out.ptr, "keeppayload", 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object_names),
		cmocka_unit_test(test_object_name_parse_round_trip),
		cmocka_unit_test(test_object_name_parse_rejects),
		cmocka_unit_test(test_object_kind_bounds),
		cmocka_unit_test(test_object_decode_applies_the_kind_bound),
		cmocka_unit_test(test_object_decode_checks_id_and_kind),
	};
	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
