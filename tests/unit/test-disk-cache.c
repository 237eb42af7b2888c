/*
 * test-disk-cache.c - the on-disk chunk cache in a private temporary
 * directory: round trips, files and modes, the size bound and its LRU
 * order (also across a reopen), files of the wrong length, dropping, a
 * directory that cannot be used, and many threads sharing one cache.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repo/disk-cache.h"
#include "base/log.h"
#include "unit.h"

#define LEN 4000 /* one 4 KiB block each */
#define BLOCK 4096
#define N_THREADS 8
#define N_ROUNDS 400

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	assert_int_equal(unit_mkdtemp(f->dir, sizeof(f->dir), "disk-cache"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

/* The hash of chunk i: i in the first bytes, so shards differ. */
static void hash_of(unsigned i, uint8_t hash[HASH_LEN])
{
	memset(hash, 0x5a, HASH_LEN);
	hash[0] = (uint8_t)i;
	hash[1] = (uint8_t)(i >> 8);
}

static void data_of(unsigned i, uint8_t *data, size_t len)
{
	for (size_t k = 0; k < len; k++)
		data[k] = (uint8_t)(i * 31 + k * 7);
}

static char *path_of(const struct fixture *f, const char *sub, unsigned i)
{
	uint8_t hash[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];

	hash_of(i, hash);
	hex_encode(hash, HASH_LEN, hex);
	return xasprintf("%s%s/%.2s/%s", f->dir, sub, hex, hex);
}

static void put(struct disk_cache *dc, unsigned i, size_t len)
{
	uint8_t hash[HASH_LEN], data[LEN];

	assert_true(len <= LEN);
	hash_of(i, hash);
	data_of(i, data, len);
	disk_cache_put(dc, hash, data, len);
}

/* True when chunk i is there with the right bytes. */
static bool has(struct disk_cache *dc, unsigned i, size_t len)
{
	uint8_t hash[HASH_LEN], want[LEN], got[LEN];

	hash_of(i, hash);
	data_of(i, want, len);
	memset(got, 0, sizeof(got));
	if (disk_cache_get(dc, hash, got, len) < 0)
		return false;
	assert_memory_equal(got, want, len);
	return true;
}

static void set_mtime(const char *path, time_t sec)
{
	struct timespec ts[2] = { { .tv_sec = sec }, { .tv_sec = sec } };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_round_trip_and_reopen(void **state)
{
	struct fixture *f = *state;
	AUTOFREE char *dir = xasprintf("%s/a/b", f->dir); /* parents are created too */
	AUTOFREE char *path = path_of(f, "/a/b", 7);
	struct disk_cache *dc = NULL;
	struct disk_cache_stats st;
	struct stat s;

	assert_int_equal(disk_cache_open(dir, 1 << 20, &dc), 0);
	assert_false(has(dc, 7, LEN));
	put(dc, 7, LEN);
	assert_true(has(dc, 7, LEN));
	disk_cache_get_stats(dc, &st);
	assert_int_equal(st.stores, 1);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.n_files, 1);
	assert_int_equal(st.used, BLOCK);
	assert_false(st.off);
	/* A second put of a known chunk writes nothing. */
	put(dc, 7, LEN);
	disk_cache_get_stats(dc, &st);
	assert_int_equal(st.stores, 1);

	assert_int_equal(stat(dir, &s), 0);
	assert_int_equal(s.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &s), 0);
	assert_int_equal(s.st_mode & 07777, 0600);
	assert_int_equal(s.st_size, LEN);
	disk_cache_close(dc);

	/* A new process finds it. */
	assert_int_equal(disk_cache_open(dir, 1 << 20, &dc), 0);
	disk_cache_get_stats(dc, &st);
	assert_int_equal(st.n_files, 1);
	assert_int_equal(st.used, BLOCK);
	assert_true(has(dc, 7, LEN));
	disk_cache_close(dc);
}

static void test_bound_evicts_least_recently_used(void **state)
{
	struct fixture *f = *state;
	struct disk_cache *dc = NULL;
	struct disk_cache_stats st;

	assert_int_equal(disk_cache_open(f->dir, 5 * BLOCK, &dc), 0);
	for (unsigned i = 1; i <= 5; i++)
		put(dc, i, LEN);
	assert_true(has(dc, 1, LEN)); /* 1 is now the most recent; 2 the least */
	put(dc, 6, LEN);
	disk_cache_get_stats(dc, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.n_files, 5);
	assert_true(st.used <= 5 * BLOCK);
	assert_false(has(dc, 2, LEN));
	for (unsigned i = 1; i <= 6; i++)
		if (i != 2)
			assert_true(has(dc, i, LEN));
	/* Something larger than the whole bound is not stored at all. */
	{
		uint8_t hash[HASH_LEN];
		AUTOFREE uint8_t *big = xcalloc(1, 6 * BLOCK);
		hash_of(99, hash);
		disk_cache_put(dc, hash, big, 6 * BLOCK);
		disk_cache_get_stats(dc, &st);
		assert_int_equal(st.n_files, 5);
		assert_int_equal(st.evictions, 1);
	}
	disk_cache_close(dc);

	/* Reopened with a smaller bound: the oldest files by mtime go. */
	for (unsigned i = 1; i <= 6; i++) {
		if (i == 2)
			continue;
		AUTOFREE char *p = path_of(f, "", i);
		set_mtime(p, 1000000 + (i == 4 ? 10 : i)); /* order: 1 3 5 6 4 */
	}
	assert_int_equal(disk_cache_open(f->dir, 2 * BLOCK, &dc), 0);
	disk_cache_get_stats(dc, &st);
	assert_int_equal(st.n_files, 2);
	assert_int_equal(st.evictions, 3);
	for (unsigned i = 1; i <= 6; i++) {
		AUTOFREE char *p = path_of(f, "", i);
		assert_int_equal(access(p, F_OK) == 0, i == 4 || i == 6);
	}
	disk_cache_close(dc);
}

static void test_wrong_length_is_deleted(void **state)
{
	struct fixture *f = *state;
	AUTOFREE char *p3 = path_of(f, "", 3);
	AUTOFREE char *p4 = path_of(f, "", 4);
	struct disk_cache *dc = NULL;
	struct disk_cache_stats st;

	assert_int_equal(disk_cache_open(f->dir, 1 << 20, &dc), 0);
	put(dc, 3, LEN);
	put(dc, 4, LEN);
	/* The catalog says another length: a miss, and the file goes. */
	assert_false(has(dc, 3, LEN - 1));
	assert_int_equal(access(p3, F_OK), -1);
	/* Truncated behind our back. */
	assert_int_equal(truncate(p4, LEN / 2), 0);
	assert_false(has(dc, 4, LEN));
	assert_int_equal(access(p4, F_OK), -1);
	disk_cache_get_stats(dc, &st);
	assert_int_equal(st.rejected, 2);
	assert_int_equal(st.n_files, 0);
	assert_int_equal(st.used, 0);
	/* Stored again, it is served again. */
	put(dc, 4, LEN);
	assert_true(has(dc, 4, LEN));
	disk_cache_close(dc);
}

static void test_drop_and_files_of_others(void **state)
{
	struct fixture *f = *state;
	struct disk_cache *a = NULL, *b = NULL;
	uint8_t hash[HASH_LEN];
	struct disk_cache_stats st;

	assert_int_equal(disk_cache_open(f->dir, 1 << 20, &a), 0);
	assert_int_equal(disk_cache_open(f->dir, 1 << 20, &b), 0);
	put(a, 5, LEN);
	/* b did not write it, but finds it, and then knows it. */
	assert_true(has(b, 5, LEN));
	disk_cache_get_stats(b, &st);
	assert_int_equal(st.n_files, 1);
	hash_of(5, hash);
	assert_true(disk_cache_drop(a, hash));
	assert_false(disk_cache_drop(a, hash));
	/* b's table still lists it: a get finds it gone and forgets it. */
	assert_false(has(b, 5, LEN));
	disk_cache_get_stats(b, &st);
	assert_int_equal(st.n_files, 0);
	assert_int_equal(st.used, 0);
	disk_cache_close(a);
	disk_cache_close(b);
}

static void test_unusable_directory_turns_it_off(void **state)
{
	struct fixture *f = *state;
	AUTOFREE char *file = xasprintf("%s/file", f->dir);
	AUTOFREE char *below = xasprintf("%s/file/dc", f->dir);
	AUTOFREE char *p1 = path_of(f, "", 1);
	AUTOFREE char *shard = NULL;
	struct disk_cache *dc = NULL;
	struct disk_cache_stats st;
	FILE *fp;

	fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(disk_cache_open(below, 1 << 20, &dc), 0);
	put(dc, 1, LEN);
	assert_false(has(dc, 1, LEN));
	disk_cache_get_stats(dc, &st);
	assert_true(st.off);
	assert_int_equal(st.stores, 0);
	disk_cache_close(dc);
	assert_int_equal(access(p1, F_OK), -1);

	/* Working, then a write fails (here the shard's name is a file):
	 * off for good, even for what it stored before. */
	assert_int_equal(disk_cache_open(f->dir, 1 << 20, &dc), 0);
	put(dc, 0x100 + 1, LEN); /* shard "01", like chunk 1 */
	assert_true(has(dc, 0x100 + 1, LEN));
	shard = xasprintf("%s/02", f->dir);
	fp = fopen(shard, "w");
	assert_non_null(fp);
	fclose(fp);
	put(dc, 2, LEN);
	disk_cache_get_stats(dc, &st);
	assert_true(st.off);
	assert_false(has(dc, 0x100 + 1, LEN));
	put(dc, 3, LEN);
	disk_cache_get_stats(dc, &st);
	assert_int_equal(st.stores, 1);
	disk_cache_close(dc);

	assert_int_equal(disk_cache_open("", 1 << 20, &dc), -EINVAL);
	assert_int_equal(disk_cache_open(f->dir, 0, &dc), -EINVAL);
}

struct worker {
	struct disk_cache *dc;
	unsigned seed;
	unsigned hits;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (unsigned k = 0; k < N_ROUNDS; k++) {
		unsigned i = (w->seed + k * 7) % 32;
		if (has(w->dc, i, LEN - i))
			w->hits++;
		else
			put(w->dc, i, LEN - i);
	}
	return NULL;
}

static void test_threads_share_one_cache(void **state)
{
	struct fixture *f = *state;
	struct disk_cache *dc = NULL;
	struct worker w[N_THREADS];
	pthread_t t[N_THREADS];
	struct disk_cache_stats st;
	unsigned hits = 0;

	/* Room for 10 of the 32 chunks: constant eviction. */
	assert_int_equal(disk_cache_open(f->dir, 10 * BLOCK, &dc), 0);
	for (unsigned i = 0; i < N_THREADS; i++) {
		w[i] = (struct worker){ .dc = dc, .seed = i * 5 };
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (unsigned i = 0; i < N_THREADS; i++) {
		pthread_join(t[i], NULL);
		hits += w[i].hits;
	}
	disk_cache_get_stats(dc, &st);
	assert_false(st.off);
	assert_int_equal(st.hits, hits);
	assert_true(st.hits > 0);
	assert_true(st.evictions > 0);
	assert_true(st.used <= 10 * BLOCK);
	assert_true(st.n_files <= 10);
	disk_cache_close(dc);

	/* What the table said is what the directory holds. */
	assert_int_equal(disk_cache_open(f->dir, 1 << 20, &dc), 0);
	disk_cache_get_stats(dc, &st);
	assert_true(st.n_files <= 10);
	assert_true(st.used <= 10 * BLOCK);
	disk_cache_close(dc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound_evicts_least_recently_used, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_length_is_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_and_files_of_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unusable_directory_turns_it_off, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_threads_share_one_cache, setup, teardown),
	};

	/* Turning off and bad arguments are logged on purpose. */
	log_setup("test-disk-cache", LOG_TARGET_STDERR, LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
