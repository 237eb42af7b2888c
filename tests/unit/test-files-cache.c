/*
 * test-files-cache.c - the per-member files cache: what is written is read
 * back (stat fields and chunks, by path); a path it lacks, or a file whose
 * size, mtime, ctime, inode or device differ, does not match; and a
 * truncated, extended or garbled cache is refused as damaged rather than
 * trusted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/files-cache.h"
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

static char dir[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	return unit_mkdtemp(dir, sizeof(dir), "files-cache");
}

static int teardown(void **state)
{
	(void)state;
	return unit_rm_rf(dir);
}

static struct stat make_stat(uint64_t size, int64_t mtime, int64_t ctime, uint64_t ino)
{
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_size = (off_t)size;
	st.st_mtim.tv_sec = mtime;
	st.st_mtim.tv_nsec = 123456789;
	st.st_ctim.tv_sec = ctime;
	st.st_ctim.tv_nsec = 5;
	st.st_ino = ino;
	st.st_dev = 42;
	return st;
}

static char *write_cache(const uint8_t snap[HASH_LEN])
{
	struct files_cache_writer w;
	struct files_cache_chunk chunks[3];
	char *path = xasprintf("%s/cache", dir);

	files_cache_writer_init(&w);
	for (uint32_t i = 0; i < 3; i++) {
		chunks[i].off = (uint64_t)i * 1000;
		unit_fill_random(chunks[i].hash, HASH_LEN, i + 1);
		chunks[i].raw_len = 1000;
	}
	struct stat a = make_stat(3000, 1700000000, 1700000001, 7);
	struct stat b = make_stat(0, 1700000002, 1700000003, 8);
	files_cache_writer_add(&w, "/data/a", &a, chunks, 3);
	files_cache_writer_add(&w, "/data/empty", &b, NULL, 0);
	assert_int_equal(files_cache_writer_commit(&w, path, snap), 0);
	files_cache_writer_release(&w);
	return path;
}

static void test_round_trip(void **state)
{
	(void)state;
	uint8_t snap[HASH_LEN];
	unit_fill_random(snap, HASH_LEN, 99);
	AUTOFREE char *path = write_cache(snap);
	struct files_cache *fc = NULL;
	struct files_cache_entry e;
	struct files_cache_chunk c;

	assert_int_equal(files_cache_load(path, &fc), 0);
	assert_memory_equal(fc->snap_id, snap, HASH_LEN);
	assert_int_equal(files_cache_find(fc, "/data/a", &e), 0);
	assert_int_equal(e.n_chunks, 3);
	files_cache_chunk_at(&e, 2, &c);
	assert_int_equal(c.off, 2000);
	assert_int_equal(c.raw_len, 1000);
	uint8_t want[HASH_LEN];
	unit_fill_random(want, HASH_LEN, 3);
	assert_memory_equal(c.hash, want, HASH_LEN);

	struct stat st = make_stat(3000, 1700000000, 1700000001, 7);
	assert_true(files_cache_entry_matches(&e, &st));
	struct stat other = st;
	other.st_size++;
	assert_false(files_cache_entry_matches(&e, &other));
	other = st;
	other.st_mtim.tv_nsec++;
	assert_false(files_cache_entry_matches(&e, &other));
	other = st;
	other.st_ctim.tv_sec++;
	assert_false(files_cache_entry_matches(&e, &other));
	other = st;
	other.st_ino++;
	assert_false(files_cache_entry_matches(&e, &other));
	other = st;
	other.st_dev++;
	assert_false(files_cache_entry_matches(&e, &other));

	assert_int_equal(files_cache_find(fc, "/data/empty", &e), 0);
	assert_int_equal(e.n_chunks, 0);
	assert_int_equal(files_cache_find(fc, "/data/missing", &e), -ENOENT);
	assert_int_equal(files_cache_find(fc, "/data", &e), -ENOENT);
	files_cache_free(fc);
}

static void test_damage_is_refused(void **state)
{
	(void)state;
	uint8_t snap[HASH_LEN] = { 1 };
	AUTOFREE char *path = write_cache(snap);
	struct files_cache *fc = NULL;
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	AUTOFREE uint8_t *good = xmalloc((size_t)st.st_size);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread_full(fd, good, (size_t)st.st_size, 0), st.st_size);
	close(fd);

	/* every truncation, and one extra byte */
	for (off_t len = 0; len <= st.st_size; len += len < 80 ? 1 : 17) {
		if (len == st.st_size)
			break;
		assert_int_equal(truncate(path, len), 0);
		if (files_cache_load(path, &fc) != -EBADMSG)
			fail_msg("a cache truncated to %lld bytes was accepted", (long long)len);
	}
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, good, (size_t)st.st_size), 0);
	assert_int_equal(write_all(fd, "x", 1), 0);
	close(fd);
	assert_int_equal(files_cache_load(path, &fc), -EBADMSG);

	/* a record count far beyond the bytes */
	good[40 + 7] = 0x7f;
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write_all(fd, good, (size_t)st.st_size), 0);
	close(fd);
	assert_int_equal(files_cache_load(path, &fc), -EBADMSG);
	unlink(path);
	assert_int_equal(files_cache_load(path, &fc), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damage_is_refused),
	};
	return cmocka_run_group_tests_name("files-cache", tests, setup, teardown);
}
