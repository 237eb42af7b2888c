/*
 * test-envelope.c - the frame around every stored object: round trips
 * (compressible, incompressible, empty, at the size limit), and rejection of
 * every damaged form with -EBADMSG: truncated, oversized, any flipped bit,
 * wrong kind, bad magic or version, and zstd frames whose size disagrees with
 * the header. Envelopes also go through a real local backend in a mkdtemp()
 * directory, the way repository objects do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <zstd.h>

#include "backend/backend.h"
#include "format/envelope.h"
#include "unit.h"

struct fixture {
	char dir[64];		   /* mkdtemp directory, holding a local backend */
	struct backend *backend;   /* local backend in dir/repo */
	uint8_t text[256 << 10];   /* compressible */
	uint8_t random[256 << 10]; /* incompressible */
};

static void fill_text(uint8_t *p, size_t len)
{
	static const char *const words[] = { "block ", "replica ", "quorum ", "commit\n", "vote " };
	size_t off = 0;

	for (unsigned i = 0; off < len; i = i * 7 + 3) {
		const char *w = words[i % ARRAY_SIZE(words)];
		size_t n = MIN(strlen(w), len - off);
		memcpy(p + off, w, n);
		off += n;
	}
}

static int group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	if (unit_mkdtemp(f->dir, sizeof(f->dir), "envelope") < 0)
		return -1;
	AUTOFREE char *url = xasprintf("%s/repo", f->dir);
	if (mkdir(url, 0700) < 0)
		return -1;
	struct backend_options bo = { 0 };
	if (backend_open(url, &bo, &f->backend) < 0)
		return -1;
	fill_text(f->text, sizeof(f->text));
	unit_fill_random(f->random, sizeof(f->random), 5);
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	backend_free(f->backend);
	r = unit_rm_rf(f->dir);
	free(f);
	return r;
}

/* Encodes and checks the header fields; returns the envelope's length. */
static size_t encode(enum object_kind kind, const void *raw, size_t len, int level, struct buf *out)
{
	uint8_t h[HASH_LEN], want[HASH_LEN];
	size_t before = out->len;
	int n = envelope_encode(NULL, kind, raw, len, level, NULL, out, h);

	assert_true(n >= ENVELOPE_HEADER_SIZE);
	assert_int_equal((size_t)n, out->len - before);
	crypto_sha256(raw, len, want);
	assert_memory_equal(h, want, HASH_LEN);
	return (size_t)n;
}

static void check_round_trip(const uint8_t *raw, size_t len, int level, bool expect_compressed)
{
	AUTOBUF struct buf env = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;
	struct envelope_header hdr;
	uint8_t h[HASH_LEN], want[HASH_LEN];
	size_t n = encode(OBJECT_CHUNK, raw, len, level, &env);

	assert_int_equal(envelope_parse_header(env.ptr, env.len, &hdr), 0);
	assert_int_equal(hdr.kind, OBJECT_CHUNK);
	assert_int_equal(hdr.raw_len, len);
	assert_int_equal(hdr.stored_len, n - ENVELOPE_HEADER_SIZE);
	assert_int_equal(!!(hdr.flags & ENVELOPE_ZSTD), expect_compressed);
	assert_false(hdr.flags & ENVELOPE_ENCRYPTED);
	if (expect_compressed)
		assert_true(hdr.stored_len < len);
	else
		assert_int_equal(hdr.stored_len, len);
	crypto_sha256(raw, len, want);
	assert_memory_equal(hdr.hash, want, HASH_LEN);

	/* Decoding appends after what out already holds. */
	buf_append(&out, "prefix", 6);
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, len, &out, h), 0);
	assert_int_equal(out.len, 6 + len);
	assert_memory_equal(out.ptr, "prefix", 6);
	if (len)
		assert_memory_equal(out.ptr + 6, raw, len);
	assert_memory_equal(h, want, HASH_LEN);
}

static void test_round_trip_compressible(void **state)
{
	struct fixture *f = *state;

	check_round_trip(f->text, sizeof(f->text), 3, true);
	check_round_trip(f->text, sizeof(f->text), 1, true);
	check_round_trip(f->text, sizeof(f->text), 19, true);
	check_round_trip(f->text, 1000, 3, true);
}

static void test_round_trip_incompressible_stored_raw(void **state)
{
	struct fixture *f = *state;

	check_round_trip(f->random, sizeof(f->random), 3, false);
	check_round_trip(f->random, 1, 3, false);
	/* Level 0 never compresses. */
	check_round_trip(f->text, sizeof(f->text), 0, false);
}

static void test_round_trip_empty(void **state)
{
	(void)state;
	check_round_trip((const uint8_t *)"", 0, 3, false);
	check_round_trip((const uint8_t *)"", 0, 0, false);
}

static void test_every_kind_round_trips_and_kinds_are_not_interchangeable(void **state)
{
	struct fixture *f = *state;
	const enum object_kind kinds[] = { OBJECT_CONFIG,  OBJECT_CHUNK,    OBJECT_PACK_TRAILER,
					   OBJECT_TREE,	   OBJECT_SNAPSHOT, OBJECT_INDEX,
					   OBJECT_LISTING, OBJECT_LOCK,	    OBJECT_PENDING };

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		AUTOBUF struct buf env = BUF_INIT;
		encode(kinds[i], f->text, 4096, 3, &env);
		for (size_t j = 0; j < ARRAY_SIZE(kinds); j++) {
			AUTOBUF struct buf out = BUF_INIT;
			int r = envelope_decode(NULL, env.ptr, env.len, kinds[j], 4096, &out, NULL);
			assert_int_equal(r, i == j ? 0 : -EBADMSG);
		}
	}
}

static void test_caller_hash_is_used(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf env = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;
	uint8_t h[HASH_LEN], got[HASH_LEN];
	struct envelope_header hdr;

	crypto_sha256(f->random, 5000, h);
	assert_int_equal(envelope_encode(NULL, OBJECT_CHUNK, f->random, 5000, 3, h, &env, got),
			 ENVELOPE_HEADER_SIZE + 5000);
	assert_memory_equal(got, h, HASH_LEN);
	assert_int_equal(envelope_parse_header(env.ptr, env.len, &hdr), 0);
	assert_memory_equal(hdr.hash, h, HASH_LEN);

	/* A wrong caller hash makes an envelope that never verifies. */
	AUTOBUF struct buf bad = BUF_INIT;
	uint8_t wrong[HASH_LEN] = { 1 };
	assert_true(envelope_encode(NULL, OBJECT_CHUNK, f->random, 5000, 3, wrong, &bad, NULL) > 0);
	assert_int_equal(envelope_decode(NULL, bad.ptr, bad.len, OBJECT_CHUNK, 5000, &out, NULL),
			 -EBADMSG);
}

static void test_encode_rejects_oversized(void **state)
{
	(void)state;
	AUTOBUF struct buf env = BUF_INIT;
	size_t len = (size_t)ENVELOPE_RAW_MAX + 1;
	/* Zero pages that are never touched cost nothing. */
	void *big = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	assert_true(big != MAP_FAILED);
	assert_int_equal(envelope_encode(NULL, OBJECT_TREE, big, len, 3, NULL, &env, NULL),
			 -EINVAL);
	assert_int_equal(env.len, 0);
	munmap(big, len);
}

static void test_decode_rejects_truncated_and_oversized(void **state)
{
	struct fixture *f = *state;
	const uint8_t *srcs[] = { f->text, f->random };

	for (size_t s = 0; s < ARRAY_SIZE(srcs); s++) {
		AUTOBUF struct buf env = BUF_INIT;
		size_t n = encode(OBJECT_CHUNK, srcs[s], 3000, 3, &env);

		for (size_t len = 0; len < n; len++) {
			AUTOBUF struct buf out = BUF_INIT;
			uint8_t *copy = malloc(len + 1); /* exact size, so ASan sees overreads */
			memcpy(copy, env.ptr, len);
			assert_int_equal(envelope_decode(NULL, copy, len, OBJECT_CHUNK, 1 << 20,
							 &out, NULL),
					 -EBADMSG);
			free(copy);
		}
		/* One byte too many, and a whole second envelope behind it. */
		buf_append_u8(&env, 0);
		AUTOBUF struct buf out = BUF_INIT;
		assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 1 << 20,
						 &out, NULL),
				 -EBADMSG);
		env.len = n;
		encode(OBJECT_CHUNK, srcs[s], 10, 3, &env);
		assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 1 << 20,
						 &out, NULL),
				 -EBADMSG);
		assert_int_equal(out.len, 0);
	}
}

/* Flips every bit of an envelope in turn: each damaged copy must fail with
 * -EBADMSG, never decode to other bytes. The flip that sets the (reserved)
 * encryption flag may instead say the object cannot be decrypted. zstd
 * ignores some bits of a frame (the descriptor's unused bit, padding in
 * entropy tables), so in a compressed payload a flip may decode to exactly
 * the original bytes (the hash proves they are); flips in the header and in
 * a stored payload must all fail. */
static void check_every_bit_flip(const uint8_t *raw, size_t len, int level, bool compressed)
{
	AUTOBUF struct buf env = BUF_INIT;
	size_t n = encode(OBJECT_CHUNK, raw, len, level, &env);
	uint8_t *copy = malloc(n);
	int harmless = 0;

	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			AUTOBUF struct buf out = BUF_INIT;
			memcpy(copy, env.ptr, n);
			copy[i] ^= (uint8_t)(1u << bit);
			int r = envelope_decode(NULL, copy, n, OBJECT_CHUNK, 1 << 20, &out, NULL);
			if (r == 0 && out.len == len && memcmp(out.ptr, raw, len) == 0 &&
			    i >= ENVELOPE_HEADER_SIZE)
				harmless++;
			else if (i == 6 && (1u << bit) == ENVELOPE_ENCRYPTED)
				assert_true(r == -EBADMSG || r == -EKEYREJECTED);
			else if (r != -EBADMSG)
				fail_msg("flipping bit %d of byte %zu (of %zu) gave %d", bit, i, n,
					 r);
		}
	}
	if (!compressed)
		assert_int_equal(harmless, 0);
	free(copy);
}

static void test_decode_rejects_every_flipped_bit(void **state)
{
	struct fixture *f = *state;

	check_every_bit_flip(f->text, 4096, 3, true);
	check_every_bit_flip(f->random, 2048, 3, false);
	check_every_bit_flip(f->text, 1, 0, false);
}

static void test_decode_rejects_bad_header_fields(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf env = BUF_INIT;
	size_t n = encode(OBJECT_INDEX, f->text, 2000, 3, &env);
	struct {
		size_t off;
		uint8_t value;
	} patches[] = {
		{ 0, 'X' },  { 3, 0 }, /* magic */
		{ 4, 0 },    { 4, 2 },
		{ 4, 0xff }, /* version */
		{ 5, 0 },    { 5, OBJECT_KIND_MAX + 1 },
		{ 5, 0xff },		  /* kind */
		{ 6, 4 },    { 6, 0x80 }, /* unknown flags */
		{ 7, 1 },		  /* reserved */
	};

	for (size_t i = 0; i < ARRAY_SIZE(patches); i++) {
		AUTOBUF struct buf out = BUF_INIT;
		struct envelope_header hdr;
		uint8_t *copy = malloc(n);
		memcpy(copy, env.ptr, n);
		copy[patches[i].off] = patches[i].value;
		assert_int_equal(envelope_parse_header(copy, n, &hdr), -EBADMSG);
		assert_int_equal(envelope_decode(NULL, copy, n, OBJECT_INDEX, 1 << 20, &out, NULL),
				 -EBADMSG);
		free(copy);
	}

	/* A raw length above the caller's bound or the global one. */
	AUTOBUF struct buf out = BUF_INIT;
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_INDEX, 1999, &out, NULL),
			 -EBADMSG);
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_INDEX, 2000, &out, NULL),
			 0);
	uint8_t hdr_bytes[ENVELOPE_HEADER_SIZE];
	struct envelope_header hdr;
	memcpy(hdr_bytes, env.ptr, sizeof(hdr_bytes));
	put_le32(hdr_bytes + 12, ENVELOPE_RAW_MAX + 1);
	assert_int_equal(envelope_parse_header(hdr_bytes, sizeof(hdr_bytes), &hdr), -EBADMSG);
	/* A header shorter than 48 bytes. */
	assert_int_equal(envelope_parse_header(env.ptr, ENVELOPE_HEADER_SIZE - 1, &hdr), -EBADMSG);
	assert_int_equal(envelope_parse_header(env.ptr, ENVELOPE_HEADER_SIZE, &hdr), 0);
	assert_int_equal(hdr.kind, OBJECT_INDEX);
}

/* Builds an envelope by hand around payload, with the header claiming
 * raw_len bytes hashing to the SHA-256 of claimed[0..raw_len). */
static void handmade(struct buf *out, unsigned flags, const void *payload, size_t len,
		     const void *claimed, uint32_t raw_len)
{
	uint8_t hdr[ENVELOPE_HEADER_SIZE] = { 'C', 'R', 'N', 0x1e, ENVELOPE_VERSION, OBJECT_CHUNK };

	hdr[6] = (uint8_t)flags;
	put_le32(hdr + 8, (uint32_t)len);
	put_le32(hdr + 12, raw_len);
	crypto_sha256(claimed, raw_len, hdr + 16);
	buf_reset(out);
	buf_append(out, hdr, sizeof(hdr));
	buf_append(out, payload, len);
}

static void test_handmade_envelope_matches_layout(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf env = BUF_INIT;
	AUTOBUF struct buf mine = BUF_INIT;

	/* The layout documented in envelope.c, built by hand, is what the
	 * encoder writes for stored payloads. */
	assert_true(envelope_encode(NULL, OBJECT_CHUNK, f->random, 777, 3, NULL, &env, NULL) > 0);
	handmade(&mine, 0, f->random, 777, f->random, 777);
	assert_int_equal(env.len, mine.len);
	assert_memory_equal(env.ptr, mine.ptr, env.len);
}

static void test_decode_rejects_zstd_frame_of_another_size(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf env = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;
	size_t cap = ZSTD_compressBound(sizeof(f->text));
	uint8_t *frame = malloc(cap);
	size_t m = 100000;
	size_t flen = ZSTD_compress(frame, cap, f->text, m, 3);

	assert_false(ZSTD_isError(flen));
	/* The frame holds 100000 bytes; the header claims fewer. The decoder
	 * must fail rather than write past what it allocated. */
	const uint32_t smaller[] = { 0, 1, 4096, 99999 };
	for (size_t i = 0; i < ARRAY_SIZE(smaller); i++) {
		handmade(&env, ENVELOPE_ZSTD, frame, flen, f->text, smaller[i]);
		buf_release(&out);
		assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 1 << 20,
						 &out, NULL),
				 -EBADMSG);
	}
	/* The header claims more than the frame holds. */
	handmade(&env, ENVELOPE_ZSTD, frame, flen, f->text, 100001);
	buf_release(&out);
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 1 << 20, &out, NULL),
			 -EBADMSG);
	/* The exact size decodes: the hand-made frame is otherwise fine. */
	handmade(&env, ENVELOPE_ZSTD, frame, flen, f->text, (uint32_t)m);
	buf_release(&out);
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 1 << 20, &out, NULL),
			 0);
	assert_memory_equal(out.ptr, f->text, m);

	/* A frame that does not record its size, decoding to more than the
	 * header claims. */
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
	ZSTD_outBuffer ob = { frame, cap, 0 };
	ZSTD_inBuffer ib = { f->text, m, 0 };
	assert_int_equal(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end), 0);
	ZSTD_freeCCtx(c);
	handmade(&env, ENVELOPE_ZSTD, frame, ob.pos, f->text, 5000);
	buf_release(&out);
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 1 << 20, &out, NULL),
			 -EBADMSG);
	free(frame);
}

static void test_decode_rejects_bytes_after_the_zstd_frame(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf env = BUF_INIT;
	AUTOBUF struct buf payload = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;
	size_t cap = ZSTD_compressBound(4096);
	uint8_t empty[64];
	size_t elen = ZSTD_compress(empty, sizeof(empty), "", 0, 3);

	assert_false(ZSTD_isError(elen));
	buf_reserve(&payload, cap + sizeof(empty));
	size_t flen = ZSTD_compress(payload.ptr, cap, f->text, 4096, 3);
	assert_false(ZSTD_isError(flen));
	payload.len = flen;
	/* The payload is one zstd frame; an empty second frame behind it
	 * is not part of the format. */
	buf_append(&payload, empty, elen);
	handmade(&env, ENVELOPE_ZSTD, payload.ptr, payload.len, f->text, 4096);
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 1 << 20, &out, NULL),
			 -EBADMSG);
}

static void test_stored_payload_must_match_raw_length(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf env = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;

	/* Uncompressed: stored and raw lengths must agree. */
	handmade(&env, 0, f->random, 100, f->random, 99);
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 1 << 20, &out, NULL),
			 -EBADMSG);
	handmade(&env, 0, f->random, 100, f->random, 100);
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 1 << 20, &out, NULL),
			 0);
	/* Claimed compressed, but not a zstd frame. */
	handmade(&env, ENVELOPE_ZSTD, f->random, 100, f->random, 100);
	buf_release(&out);
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 1 << 20, &out, NULL),
			 -EBADMSG);
}

/* Without keys (an unencrypted repository) an encrypted object is refused
 * as unreadable, not as damaged. */
static void test_encrypted_objects_need_keys(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf env = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;

	handmade(&env, ENVELOPE_ENCRYPTED, f->random, 100 + CRYPTO_OVERHEAD, f->random, 100);
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 1 << 20, &out, NULL),
			 -EKEYREJECTED);
	assert_int_equal(out.len, 0);
}

static void test_envelopes_survive_a_local_backend(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf env = BUF_INIT;
	AUTOBUF struct buf got = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;
	AUTOBUF struct buf range = BUF_INIT;
	size_t n1 = encode(OBJECT_TREE, f->text, sizeof(f->text), 3, &env);
	size_t n2 = encode(OBJECT_TREE, f->random, 10000, 3, &env);

	assert_int_equal(backend_put(f->backend, "trees/ab", env.ptr, env.len), 0);
	assert_int_equal(backend_get(f->backend, "trees/ab", &got), 0);
	assert_int_equal(got.len, env.len);
	/* The second envelope by byte range, as a chunk is read from a pack. */
	assert_int_equal(backend_get_range(f->backend, "trees/ab", n1, n2, &range), 0);
	assert_int_equal(envelope_decode(NULL, range.ptr, range.len, OBJECT_TREE, 1 << 20, &out,
					 NULL),
			 0);
	assert_memory_equal(out.ptr, f->random, 10000);
	buf_reset(&out);
	assert_int_equal(envelope_decode(NULL, got.ptr, n1, OBJECT_TREE, 1 << 20, &out, NULL), 0);
	assert_memory_equal(out.ptr, f->text, sizeof(f->text));
	/* A range one byte short of the object is not decodable. */
	buf_reset(&range);
	assert_int_equal(backend_get_range(f->backend, "trees/ab", n1, n2 - 1, &range), 0);
	assert_int_equal(envelope_decode(NULL, range.ptr, range.len, OBJECT_TREE, 1 << 20, &out,
					 NULL),
			 -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_compressible),
		cmocka_unit_test(test_round_trip_incompressible_stored_raw),
		cmocka_unit_test(test_round_trip_empty),
		cmocka_unit_test(test_every_kind_round_trips_and_kinds_are_not_interchangeable),
		cmocka_unit_test(test_caller_hash_is_used),
		cmocka_unit_test(test_encode_rejects_oversized),
		cmocka_unit_test(test_decode_rejects_truncated_and_oversized),
		cmocka_unit_test(test_decode_rejects_every_flipped_bit),
		cmocka_unit_test(test_decode_rejects_bad_header_fields),
		cmocka_unit_test(test_handmade_envelope_matches_layout),
		cmocka_unit_test(test_decode_rejects_zstd_frame_of_another_size),
		cmocka_unit_test(test_decode_rejects_bytes_after_the_zstd_frame),
		cmocka_unit_test(test_stored_payload_must_match_raw_length),
		cmocka_unit_test(test_encrypted_objects_need_keys),
		cmocka_unit_test(test_envelopes_survive_a_local_backend),
	};
	return cmocka_run_group_tests_name("envelope", tests, group_setup, group_teardown);
}
