/*
 * test-chunker.c - content-defined chunking: cut points depend on content
 * only, so they resynchronise right after an edit; sizes respect min/max;
 * streaming the data in pieces gives the cuts of one whole buffer; and
 * parameters are validated.
 *
 * The 32 MiB test buffers are pseudo-random from a fixed seed (xorshift), so
 * every run sees the same bytes. The streaming test reads them back from a
 * real file in a mkdtemp() directory that the group teardown removes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "format/chunker.h"
#include "base/crypto.h"
#include "unit.h"

#define BIG (32u << 20)

struct fixture {
	char dir[64];  /* mkdtemp directory */
	uint8_t *data; /* BIG pseudo-random bytes */
};

static int group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	if (unit_mkdtemp(f->dir, sizeof(f->dir), "chunker") < 0)
		return -1;
	f->data = malloc(BIG);
	if (!f->data)
		return -1;
	unit_fill_random(f->data, BIG, 1);
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *f = *state;
	int r = unit_rm_rf(f->dir);

	free(f->data);
	free(f);
	return r;
}

/* The chunks of data[0..len) as a list of lengths; returns how many. */
static size_t chunk_all(const struct chunker_params *p, const uint8_t *data, size_t len,
			size_t *lens, size_t max)
{
	size_t n = 0, off = 0;

	while (off < len) {
		size_t c = chunker_cut(p, data + off, len - off, true);
		assert_true(c > 0);
		assert_true(c <= len - off);
		assert_true(n < max);
		lens[n++] = c;
		off += c;
	}
	return n;
}

struct chunk_hash {
	uint8_t h[HASH_LEN];
};

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);
}

static size_t chunk_hashes(const struct chunker_params *p, const uint8_t *data, size_t len,
			   struct chunk_hash *out, size_t max)
{
	size_t *lens = calloc(max, sizeof(*lens));
	size_t n = chunk_all(p, data, len, lens, max), off = 0;

	for (size_t i = 0; i < n; i++) {
		crypto_sha256(data + off, lens[i], out[i].h);
		off += lens[i];
	}
	free(lens);
	qsort(out, n, sizeof(*out), cmp_hash);
	return n;
}

/* How many chunks of b do not occur in a. */
static size_t count_new(const struct chunk_hash *a, size_t na, const struct chunk_hash *b,
			size_t nb)
{
	size_t n = 0;

	for (size_t i = 0; i < nb; i++)
		if (!bsearch(&b[i], a, na, sizeof(*a), cmp_hash))
			n++;
	return n;
}

static struct chunker_params small_params(void)
{
	struct chunker_params p;

	assert_int_equal(chunker_params_from_avg(64u << 10, &p), 0);
	return p;
}

static void test_default_params_are_valid(void **state)
{
	(void)state;
	struct chunker_params p = chunker_default_params();

	assert_int_equal(p.min_size, 256u << 10);
	assert_int_equal(p.avg_size, 1u << 20);
	assert_int_equal(p.max_size, 4u << 20);
	assert_int_equal(chunker_params_check(&p), 0);
}

static void test_params_from_avg_derives_min_and_max(void **state)
{
	(void)state;
	struct chunker_params p;

	assert_int_equal(chunker_params_from_avg(1u << 20, &p), 0);
	assert_int_equal(p.min_size, 256u << 10);
	assert_int_equal(p.avg_size, 1u << 20);
	assert_int_equal(p.max_size, 4u << 20);

	assert_int_equal(chunker_params_from_avg(64u << 10, &p), 0);
	assert_int_equal(p.min_size, 16u << 10);
	assert_int_equal(p.max_size, 256u << 10);

	/* The extremes the limits allow. */
	assert_int_equal(chunker_params_from_avg(16u << 10, &p), 0);
	assert_int_equal(p.min_size, CHUNK_SIZE_MIN_LIMIT);
	assert_int_equal(chunker_params_from_avg(4u << 20, &p), 0);
	assert_int_equal(p.max_size, CHUNK_SIZE_MAX_LIMIT);

	/* Not a power of two: rounded to one near it. */
	assert_int_equal(chunker_params_from_avg(1000000, &p), 0);
	assert_true(p.avg_size && !(p.avg_size & (p.avg_size - 1)));
	assert_true(p.avg_size >= 1000000 / 2 && p.avg_size <= 1000000 * 2);
	assert_int_equal(p.min_size, p.avg_size / 4);
	assert_int_equal(p.max_size, p.avg_size * 4);
	assert_int_equal(chunker_params_check(&p), 0);
}

static void test_params_from_avg_rejects_out_of_limits(void **state)
{
	(void)state;
	struct chunker_params p = { 1, 2, 3 };
	const uint64_t bad[] = {
		0, 1, 4096, 8u << 10, 8u << 20, 1ull << 32, 1ull << 40, UINT64_MAX
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(chunker_params_from_avg(bad[i], &p), -EINVAL);
		/* Out-parameters are written only on success. */
		assert_int_equal(p.min_size, 1);
		assert_int_equal(p.avg_size, 2);
		assert_int_equal(p.max_size, 3);
	}
}

static void test_params_check_rejects_inconsistent(void **state)
{
	(void)state;
	const struct chunker_params bad[] = {
		{ 256u << 10, (1u << 20) + 1, 4u << 20 }, /* avg not a power of two */
		{ 256u << 10, 3u << 19, 4u << 20 },	  /* avg not a power of two */
		{ 2u << 20, 1u << 20, 4u << 20 },	  /* min > avg */
		{ 256u << 10, 1u << 20, 512u << 10 },	  /* avg > max */
		{ 2048, 8192, 32768 },			  /* min below the limit */
		{ 0, 1u << 20, 4u << 20 },		  /* min 0 */
		{ 1u << 20, 4u << 20, 32u << 20 },	  /* max above the limit */
		{ 256u << 10, 0, 4u << 20 },		  /* avg 0 */
		{ 0, 0, 0 },
		{ UINT32_MAX, UINT32_MAX, UINT32_MAX },
	};
	const struct chunker_params good[] = {
		{ 4096, 4096, 4096 },
		{ CHUNK_SIZE_MIN_LIMIT, 1u << 20, CHUNK_SIZE_MAX_LIMIT },
		{ 16u << 20, 16u << 20, 16u << 20 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(chunker_params_check(&bad[i]), -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(chunker_params_check(&good[i]), 0);
}

static void check_sizes(const struct chunker_params *p, const uint8_t *data, size_t len)
{
	size_t max = len / p->min_size + 2, total = 0;
	size_t *lens = calloc(max, sizeof(*lens));
	size_t n = chunk_all(p, data, len, lens, max);

	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		assert_true(lens[i] <= p->max_size);
		if (i + 1 < n)
			assert_true(lens[i] >= p->min_size);
		total += lens[i];
	}
	assert_int_equal(total, len);
	free(lens);
}

static void test_sizes_within_min_and_max(void **state)
{
	struct fixture *f = *state;
	struct chunker_params def = chunker_default_params(), small = small_params();
	uint8_t *zeros = calloc(1, BIG);

	check_sizes(&def, f->data, BIG);
	check_sizes(&small, f->data, BIG);
	/* Data with no cut point at all is cut at max_size. */
	check_sizes(&def, zeros, BIG);
	check_sizes(&small, zeros, BIG);
	/* Odd lengths, a short tail. */
	check_sizes(&small, f->data, BIG - 12345);
	check_sizes(&small, f->data, 1);
	check_sizes(&small, f->data, small.min_size + 1);
	free(zeros);
}

static void test_average_near_target(void **state)
{
	struct fixture *f = *state;
	struct chunker_params small = small_params();
	size_t max = BIG / small.min_size + 2;
	size_t *lens = calloc(max, sizeof(*lens));
	size_t n = chunk_all(&small, f->data, BIG, lens, max);
	size_t mean = BIG / n;

	/* Normalized chunking keeps the mean within a factor of two of avg. */
	assert_true(mean >= small.avg_size / 2);
	assert_true(mean <= small.avg_size * 2);
	free(lens);
}

static void test_deterministic(void **state)
{
	struct fixture *f = *state;
	struct chunker_params p = small_params();
	size_t max = BIG / p.min_size + 2;
	size_t *a = calloc(max, sizeof(*a)), *b = calloc(max, sizeof(*b));
	uint8_t *copy = malloc(BIG + 1);

	/* The same bytes at another (misaligned) address cut the same way. */
	memcpy(copy + 1, f->data, BIG);
	size_t na = chunk_all(&p, f->data, BIG, a, max);
	size_t nb = chunk_all(&p, copy + 1, BIG, b, max);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na * sizeof(*a));
	nb = chunk_all(&p, f->data, BIG, b, max);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na * sizeof(*a));
	free(a);
	free(b);
	free(copy);
}

/* Chunks data, then data with an edit, and returns how many chunks of the
 * edited version are new. */
static size_t new_chunks_after(const struct chunker_params *p, const uint8_t *orig,
			       const uint8_t *edited, size_t edited_len, size_t *ret_total)
{
	size_t max = (BIG + 65536) / p->min_size + 2;
	struct chunk_hash *a = calloc(max, sizeof(*a)), *b = calloc(max, sizeof(*b));
	size_t na = chunk_hashes(p, orig, BIG, a, max);
	size_t nb = chunk_hashes(p, edited, edited_len, b, max);
	size_t n = count_new(a, na, b, nb);

	*ret_total = nb;
	free(a);
	free(b);
	return n;
}

static void test_cut_points_survive_insertion(void **state)
{
	struct fixture *f = *state;
	const struct chunker_params params[] = { chunker_default_params(), small_params() };
	const size_t inserts[] = { 1, 17, 4096, 50000 };
	uint8_t *edited = malloc(BIG + 65536);

	for (size_t k = 0; k < ARRAY_SIZE(params); k++) {
		for (size_t j = 0; j < ARRAY_SIZE(inserts); j++) {
			size_t at = 1000 + j * 777, ins = inserts[j], total;

			memcpy(edited, f->data, at);
			unit_fill_random(edited + at, ins, 100 + j);
			memcpy(edited + at + ins, f->data + at, BIG - at);
			size_t n = new_chunks_after(&params[k], f->data, edited, BIG + ins, &total);
			/* Only the chunks holding the inserted bytes, and
			 * one or two around them, are new. */
			assert_true(total >= 8);
			assert_true(n >= 1);
			assert_true(n <= ins / params[k].min_size + 3);
		}
	}
	free(edited);
}

static void test_cut_points_survive_deletion_and_overwrite(void **state)
{
	struct fixture *f = *state;
	struct chunker_params p = small_params();
	uint8_t *edited = malloc(BIG);
	size_t total, n;

	/* Delete 3000 bytes near the start. */
	memcpy(edited, f->data, 5000);
	memcpy(edited + 5000, f->data + 8000, BIG - 8000);
	n = new_chunks_after(&p, f->data, edited, BIG - 3000, &total);
	assert_true(n >= 1 && n <= 3);

	/* Overwrite 100 bytes in the middle. */
	memcpy(edited, f->data, BIG);
	unit_fill_random(edited + BIG / 2, 100, 99);
	n = new_chunks_after(&p, f->data, edited, BIG, &total);
	assert_true(n >= 1 && n <= 3);

	/* Prepend 1 MiB. */
	uint8_t *longer = malloc(BIG + (1u << 20));
	unit_fill_random(longer, 1u << 20, 98);
	memcpy(longer + (1u << 20), f->data, BIG);
	size_t max = (BIG + (2u << 20)) / p.min_size + 2;
	struct chunk_hash *a = calloc(max, sizeof(*a)), *b = calloc(max, sizeof(*b));
	size_t na = chunk_hashes(&p, f->data, BIG, a, max);
	size_t nb = chunk_hashes(&p, longer, BIG + (1u << 20), b, max);
	/* Nearly all of the original chunks are found again: normalized
	 * chunking may take a few chunks to fall back into step. */
	assert_true(na - (nb - count_new(a, na, b, nb)) <= 4);
	free(a);
	free(b);
	free(longer);
	free(edited);
}

static void test_at_end_and_need_more(void **state)
{
	struct fixture *f = *state;
	struct chunker_params p = small_params();

	/* Shorter than min: "give me more", or all of it at the end. */
	assert_int_equal(chunker_cut(&p, f->data, 100, false), 0);
	assert_int_equal(chunker_cut(&p, f->data, 100, true), 100);
	assert_int_equal(chunker_cut(&p, f->data, p.min_size, true), p.min_size);
	assert_int_equal(chunker_cut(&p, f->data, 0, true), 0);
	assert_int_equal(chunker_cut(&p, f->data, 1, true), 1);

	/* With max_size bytes or more, a cut always comes, at_end or not. */
	size_t c = chunker_cut(&p, f->data, p.max_size, false);
	assert_true(c >= p.min_size && c <= p.max_size);
	assert_int_equal(chunker_cut(&p, f->data, BIG, false), c);
	assert_int_equal(chunker_cut(&p, f->data, BIG, true), c);

	/* A cut found inside a shorter buffer does not depend on at_end. */
	size_t c2 = chunker_cut(&p, f->data, c + 1, false);
	assert_int_equal(c2, c);
}

/* Reading a file in odd-sized pieces, the way a backup streams its input,
 * gives exactly the cuts of the whole buffer in memory. */
static void test_streaming_matches_whole_buffer(void **state)
{
	struct fixture *f = *state;
	struct chunker_params p = small_params();
	AUTOFREE char *path = xasprintf("%s/data", f->dir);
	size_t max = BIG / p.min_size + 2;
	size_t *whole = calloc(max, sizeof(*whole));
	size_t n_whole = chunk_all(&p, f->data, BIG, whole, max);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, f->data, BIG), 0);
	assert_int_equal(close(fd), 0);

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	size_t cap = p.max_size * 2, have = 0, n = 0, piece = 1;
	uint8_t *window = malloc(cap);
	bool eof = false;
	while (!eof || have > 0) {
		if (!eof && have < cap) {
			/* Pieces of 1, 3, 9, ... bytes, wrapping at 1 MiB. */
			size_t want = MIN(piece, cap - have);
			ssize_t got = read(fd, window + have, want);
			assert_true(got >= 0);
			if (got == 0)
				eof = true;
			have += (size_t)got;
			piece = piece * 3 % (1u << 20) + 1;
		}
		size_t c = chunker_cut(&p, window, have, eof);
		if (c == 0) {
			assert_false(eof && have > 0);
			continue;
		}
		assert_true(n < n_whole);
		assert_int_equal(c, whole[n]);
		n++;
		memmove(window, window + c, have - c);
		have -= c;
	}
	assert_int_equal(n, n_whole);
	close(fd);
	free(window);
	free(whole);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_params_are_valid),
		cmocka_unit_test(test_params_from_avg_derives_min_and_max),
		cmocka_unit_test(test_params_from_avg_rejects_out_of_limits),
		cmocka_unit_test(test_params_check_rejects_inconsistent),
		cmocka_unit_test(test_sizes_within_min_and_max),
		cmocka_unit_test(test_average_near_target),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_cut_points_survive_insertion),
		cmocka_unit_test(test_cut_points_survive_deletion_and_overwrite),
		cmocka_unit_test(test_at_end_and_need_more),
		cmocka_unit_test(test_streaming_matches_whole_buffer),
	};
	return cmocka_run_group_tests_name("chunker", tests, group_setup, group_teardown);
}
