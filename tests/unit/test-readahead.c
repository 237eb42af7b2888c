/*
 * test-readahead.c - cairnfs's prefetch window (fs_ra_advance()): it opens
 * on a sequential read, doubles while reading stays sequential up to the
 * bound, tolerates the kernel's slightly out-of-order requests, closes on a
 * seek, never reaches past the end of the file, and asks nothing for
 * random reads, also those that land a few MiB from the last one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fs/fs.h"

#define MiB (1ull << 20)
#define FILE_SIZE (1024 * MiB)
#define MAX_WINDOW (32 * MiB)

struct reader {
	struct fs_ra ra;
	uint64_t from, to; /* the last prefetch asked */
	unsigned n_asks;
};

/* Reads [off, off + len) and returns whether prefetch was asked. */
static bool rd(struct reader *r, uint64_t off, uint64_t len)
{
	uint64_t from = 0, to = 0;
	bool ask = fs_ra_advance(&r->ra, off, off + len, FILE_SIZE, MAX_WINDOW, &from, &to);

	if (ask) {
		assert_true(from < to);
		assert_true(to <= FILE_SIZE);
		r->from = from;
		r->to = to;
		r->n_asks++;
	}
	return ask;
}

static void test_first_read_opens_a_small_window(void **state UNUSED)
{
	struct reader r = { 0 };

	assert_true(rd(&r, 0, MiB));
	assert_int_equal(r.from, MiB);
	assert_int_equal(r.to, MiB + FS_RA_INITIAL);
	assert_int_equal(r.ra.window, FS_RA_INITIAL);
}

static void test_window_doubles_up_to_the_bound(void **state UNUSED)
{
	struct reader r = { 0 };
	uint64_t last_window = 0, asked_to = 0;
	unsigned n_grow = 0;

	for (uint64_t off = 0; off < 256 * MiB; off += MiB) {
		if (!rd(&r, off, MiB))
			continue;
		/* Each ask continues where the last one ended: no byte twice. */
		if (asked_to)
			assert_int_equal(r.from, asked_to);
		asked_to = r.to;
		assert_true(r.ra.window <= MAX_WINDOW);
		if (last_window) {
			assert_true(r.ra.window == 2 * last_window || r.ra.window == MAX_WINDOW);
			n_grow += r.ra.window > last_window;
		}
		last_window = r.ra.window;
		/* The reader never catches up with what was asked. */
		assert_true(r.to >= off + MiB + r.ra.window / 2);
	}
	assert_int_equal(last_window, MAX_WINDOW);
	assert_true(n_grow >= 3); /* 2 -> 4 -> 8 -> 16 -> 32 MiB */
	/* Whole file read ahead of the reader, in large asks. */
	assert_true(r.n_asks < 256 / 8);
}

static void test_out_of_order_requests_stay_sequential(void **state UNUSED)
{
	struct reader r = { 0 };

	/* The kernel's readahead: several requests in flight, answered out
	 * of order by several threads. */
	for (uint64_t base = 0; base < 64 * MiB; base += 4 * MiB) {
		rd(&r, base + 2 * MiB, MiB);
		rd(&r, base + 0 * MiB, MiB);
		rd(&r, base + 3 * MiB, MiB);
		rd(&r, base + 1 * MiB, MiB);
	}
	assert_true(r.ra.window > FS_RA_INITIAL);
	assert_true(r.to > 64 * MiB);
}

static void test_seek_closes_the_window_and_restarts_small(void **state UNUSED)
{
	struct reader r = { 0 };

	for (uint64_t off = 0; off < 64 * MiB; off += MiB)
		rd(&r, off, MiB);
	assert_int_equal(r.ra.window, MAX_WINDOW);
	unsigned asks = r.n_asks;
	/* A seek far away: nothing is prefetched for it... */
	assert_false(rd(&r, 700 * MiB, 64 << 10));
	assert_int_equal(r.ra.window, 0);
	assert_int_equal(r.n_asks, asks);
	/* ...until reading goes on from there, with a small window again. */
	assert_true(rd(&r, 700 * MiB + (64 << 10), 64 << 10));
	assert_int_equal(r.ra.window, FS_RA_INITIAL);
	assert_int_equal(r.from, 700 * MiB + (128 << 10));
	/* Seeking back is a seek too. */
	assert_false(rd(&r, 100 * MiB, MiB));
}

static void test_random_reads_prefetch_nothing(void **state UNUSED)
{
	struct reader r = { 0 };
	unsigned seed = 42;

	rd(&r, 500 * MiB, 4096); /* a first read away from the start */
	for (int i = 0; i < 2000; i++) {
		uint64_t off = (uint64_t)rand_r(&seed) % (FILE_SIZE / 4096) * 4096;
		/* A random read that happens to land right after the last
		 * one may open a window; one that lands further away (even
		 * well within FS_RA_SLACK) never does. */
		uint64_t near = r.ra.window ? 2 * FS_RA_SLACK : FS_RA_OPEN_MIN;
		if (off > r.ra.next + near || off + near < r.ra.next)
			assert_false(rd(&r, off, 4096));
		else
			rd(&r, off, 4096);
	}
	/* About one in four thousand lands within FS_RA_OPEN_MIN. */
	assert_true(r.n_asks < 20);
}

static void test_nothing_past_the_end_or_without_a_bound(void **state UNUSED)
{
	struct reader r = { 0 };
	uint64_t from = 0, to = 0;

	for (uint64_t off = FILE_SIZE - 8 * MiB; off < FILE_SIZE; off += MiB)
		rd(&r, off, MiB);
	assert_true(r.to <= FILE_SIZE);
	/* The last read asks nothing: nothing follows. */
	assert_false(rd(&r, FILE_SIZE - MiB, MiB));

	struct fs_ra ra = { 0 };
	for (uint64_t off = 0; off < 64 * MiB; off += MiB)
		assert_false(fs_ra_advance(&ra, off, off + MiB, FILE_SIZE, 0, &from, &to));

	/* A small file read whole asks for nothing. */
	struct fs_ra small = { 0 };
	assert_false(fs_ra_advance(&small, 0, 5000, 5000, MAX_WINDOW, &from, &to));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_read_opens_a_small_window),
		cmocka_unit_test(test_window_doubles_up_to_the_bound),
		cmocka_unit_test(test_out_of_order_requests_stay_sequential),
		cmocka_unit_test(test_seek_closes_the_window_and_restarts_small),
		cmocka_unit_test(test_random_reads_prefetch_nothing),
		cmocka_unit_test(test_nothing_past_the_end_or_without_a_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
