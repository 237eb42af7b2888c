/*
 * test-files-cache.c - the per-member files cache: what is written is read
 * back (stat fields, flags, and chunks with where each is stored, by
 * path; a chunk the tree does not place has no pack); a path it lacks, or a file whose
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
	struct tree *t = tree_new();
	uint8_t pack[HASH_LEN];

	/* The tree: two packs; chunks 0 and 1 of the file are tree chunks 1
	 * and 0, in the second pack; chunk 2 names no tree chunk. */
	unit_fill_random(pack, HASH_LEN, 50);
	tree_add_pack(t, pack);
	unit_fill_random(pack, HASH_LEN, 51);
	tree_add_pack(t, pack);
	files_cache_writer_init(&w, dir);
	for (uint32_t i = 0; i < 3; i++) {
		chunks[i].off = (uint64_t)i * 1000;
		unit_fill_random(chunks[i].hash, HASH_LEN, i + 1);
		chunks[i].raw_len = 1000;
		chunks[i].pack = i == 2 ? 7 : 1 - i;
	}
	for (uint32_t i = 0; i < 2; i++) {
		struct tree_chunk tc = { .pack = 1,
					 .off = 4096 * (1 - i) + 5,
					 .stored_len = 600,
					 .raw_len = 1000 };
		memcpy(tc.hash, chunks[1 - i].hash, HASH_LEN);
		tree_add_chunk(t, &tc);
	}
	struct stat a = make_stat(3000, 1700000000, 1700000001, 7);
	struct stat b = make_stat(0, 1700000002, 1700000003, 8);
	size_t at = files_cache_writer_add(&w, "/data/a", &a, chunks, 3);
	files_cache_writer_add(&w, "/data/empty", &b, NULL, 0);
	files_cache_writer_set_flags(&w, at, FILES_CACHE_NO_XATTRS);
	assert_int_equal(files_cache_writer_commit(&w, path, snap, t), 0);
	files_cache_writer_release(&w);
	tree_free(t);
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
	assert_int_equal(c.pack, FILES_CACHE_NO_PACK);
	assert_null(files_cache_pack(fc, c.pack));
	assert_int_equal(e.flags, FILES_CACHE_NO_XATTRS);
	for (uint32_t i = 0; i < 2; i++) {
		files_cache_chunk_at(&e, i, &c);
		assert_int_equal(c.pack, 1);
		assert_int_equal(c.pack_off, 4096 * i + 5);
		assert_int_equal(c.stored_len, 600);
		unit_fill_random(want, HASH_LEN, 51);
		assert_non_null(files_cache_pack(fc, c.pack));
		assert_memory_equal(files_cache_pack(fc, c.pack), want, HASH_LEN);
	}

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
	assert_int_equal(e.flags, 0);
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

	/* a record count, then a pack count, far beyond the bytes (magic 8,
	 * snapshot 32, pack count 4, two packs of 32, record count 8) */
	size_t counts[] = { 44 + 2 * HASH_LEN + 7, 40 + 3 };
	for (size_t i = 0; i < 2; i++) {
		uint8_t was = good[counts[i]];
		good[counts[i]] = 0x7f;
		fd = open(path, O_WRONLY | O_TRUNC);
		assert_int_equal(write_all(fd, good, (size_t)st.st_size), 0);
		close(fd);
		assert_int_equal(files_cache_load(path, &fc), -EBADMSG);
		good[counts[i]] = was;
	}
	unlink(path);
	assert_int_equal(files_cache_load(path, &fc), -ENOENT);
}

/* A writer that moves its records to its spill file every 200 bytes (so
 * every few records, and a record of 40 chunks longer than that) writes
 * the same cache as one that keeps them in memory: every record, its
 * chunks placed, and flags set on the newest record and on one spilled. */
static void test_spilled_records(void **state)
{
	(void)state;
	enum { N = 600 };
	AUTOFREE char *path = xasprintf("%s/spilled", dir);
	AUTOFREE char *spill_dir = xasprintf("%s/files", dir);
	struct files_cache_writer w;
	struct files_cache_chunk chunks[40];
	struct tree *t = tree_new();
	uint8_t pack[HASH_LEN], snap[HASH_LEN];
	size_t at_old = 0;

	unit_fill_random(pack, HASH_LEN, 60);
	tree_add_pack(t, pack);
	for (uint32_t i = 0; i < 40; i++) {
		struct tree_chunk tc = { .pack = 0,
					 .off = 1000u * i,
					 .stored_len = 100 + i,
					 .raw_len = 500 };
		unit_fill_random(tc.hash, HASH_LEN, 1000 + i);
		tree_add_chunk(t, &tc);
	}
	files_cache_writer_init(&w, spill_dir);
	w.spill_at = 200;
	for (uint32_t i = 0; i < N; i++) {
		char name[64];
		uint32_t n = i == 77 ? 40 : i % 4;
		snprintf(name, sizeof(name), "/data/dir-%u/file-%u", i % 13, i);
		for (uint32_t k = 0; k < n; k++) {
			chunks[k].off = 500u * k;
			unit_fill_random(chunks[k].hash, HASH_LEN, 1000 + (i + k) % 40);
			chunks[k].raw_len = 500;
			chunks[k].pack = (i + k) % 40; /* the tree chunk */
		}
		struct stat st = make_stat(500u * n, 1700000000 + i, 1700000001 + i, 10 + i);
		size_t at = files_cache_writer_add(&w, name, &st, chunks, n);
		if (i == 5)
			at_old = at;
		if (i % 3 == 0)
			files_cache_writer_set_flags(&w, at, FILES_CACHE_NO_XATTRS);
	}
	assert_true(w.spilled > 0);
	assert_true(w.records.len < 4096);
	files_cache_writer_set_flags(&w, at_old, FILES_CACHE_NO_XATTRS); /* spilled by now */
	unit_fill_random(snap, HASH_LEN, 61);
	assert_int_equal(files_cache_writer_commit(&w, path, snap, t), 0);
	files_cache_writer_release(&w);

	struct files_cache *fc = NULL;
	assert_int_equal(files_cache_load(path, &fc), 0);
	assert_memory_equal(fc->snap_id, snap, HASH_LEN);
	for (uint32_t i = 0; i < N; i++) {
		char name[64];
		struct files_cache_entry e;
		uint32_t n = i == 77 ? 40 : i % 4;
		snprintf(name, sizeof(name), "/data/dir-%u/file-%u", i % 13, i);
		assert_int_equal(files_cache_find(fc, name, &e), 0);
		struct stat st = make_stat(500u * n, 1700000000 + i, 1700000001 + i, 10 + i);
		assert_true(files_cache_entry_matches(&e, &st));
		assert_int_equal(e.n_chunks, n);
		assert_int_equal(e.flags, i % 3 == 0 || i == 5 ? FILES_CACHE_NO_XATTRS : 0);
		for (uint32_t k = 0; k < n; k++) {
			struct files_cache_chunk c;
			uint8_t want[HASH_LEN];
			files_cache_chunk_at(&e, k, &c);
			uint32_t idx = (i + k) % 40;
			unit_fill_random(want, HASH_LEN, 1000 + idx);
			assert_memory_equal(c.hash, want, HASH_LEN);
			assert_int_equal(c.off, 500u * k);
			assert_int_equal(c.pack, 0);
			assert_int_equal(c.pack_off, 1000u * idx);
			assert_int_equal(c.stored_len, 100 + idx);
		}
	}
	files_cache_free(fc);
	tree_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damage_is_refused),
		cmocka_unit_test(test_spilled_records),
	};
	return cmocka_run_group_tests_name("files-cache", tests, setup, teardown);
}
