/*
 * test-catalog.c - the catalog's queries on a real SQLite database in a
 * mkdtemp() directory: snapshots and their directory names (with "-N"
 * suffixes for same-second snapshots), "latest", id prefixes, lazily loaded
 * trees with lookup by (parent, name), readdir in name order resumed from a
 * cookie, hardlink counts, xattrs, symlinks, "which chunk covers offset X",
 * SEEK_DATA/SEEK_HOLE over sparse extents, chunk locations for dedup, and
 * removal of a snapshot with its tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>

#include "catalog/catalog.h"
#include "format/envelope.h"
#include "base/log.h"
#include "unit.h"

struct fixture {
	char dir[64];
	struct catalog *cat;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	if (unit_mkdtemp(f->dir, sizeof(f->dir), "catalog") < 0)
		return -1;
	char path[128];
	snprintf(path, sizeof(path), "%s/catalog.db", f->dir);
	if (catalog_open(path, &f->cat) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	catalog_close(f->cat);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

static void fake_hash(uint8_t out[HASH_LEN], unsigned seed)
{
	uint8_t in[4];
	put_le32(in, seed);
	crypto_sha256(in, sizeof(in), out);
}

static struct snapshot_header header(const char *member, int64_t sec, uint32_t nsec,
				     unsigned tree_seed, uint32_t n_inodes)
{
	struct snapshot_header h = { 0 };
	snprintf(h.member, sizeof(h.member), "%s", member);
	h.time_sec = sec;
	h.time_nsec = nsec;
	fake_hash(h.tree_id, tree_seed);
	h.n_inodes = n_inodes;
	h.root_perm = 0755;
	h.root_nlink = 3;
	h.n_files = 3;
	return h;
}

/*
 * The tree used below:
 *   /            inode 0
 *   /b.txt       inode 1, hardlinked as /dir/hard, xattr user.k=v
 *   /dir         inode 2
 *   /a-link      inode 3 -> "b.txt"
 *   /sparse      inode 4: 10 MiB, data at [1 MiB, 2 MiB) and [2 MiB, 3 MiB) and [8 MiB, 9 MiB)
 *   /dir/\xff    inode 5, empty file
 */
static struct tree *make_tree(void)
{
	struct tree *t = tree_new();
	uint8_t id[HASH_LEN];

	fake_hash(id, 100);
	tree_add_pack(t, id);
	for (unsigned i = 0; i < 3; i++) {
		struct tree_chunk c = { .pack = 0,
					.off = i * 4096,
					.stored_len = 100,
					.raw_len = 1u << 20 };
		fake_hash(c.hash, 200 + i);
		tree_add_chunk(t, &c);
	}
	struct tree_inode root = { .type = NODE_DIR, .perm = 0755 };
	tree_add_inode(t, &root);
	struct tree_inode b = { .type = NODE_FILE, .perm = 0644, .size = 6, .mtime_sec = 5 };
	b.first_xattr = t->n_xattrs;
	tree_add_xattr(t, "user.k", 6, "v", 1);
	b.n_xattrs = 1;
	tree_add_inode(t, &b);
	struct tree_inode dir = { .type = NODE_DIR, .perm = 0700 };
	tree_add_inode(t, &dir);
	struct tree_inode link = { .type = NODE_SYMLINK, .perm = 0777, .size = 5 };
	link.target = tree_add_str(t, "b.txt", 5);
	tree_add_inode(t, &link);
	struct tree_inode sparse = { .type = NODE_FILE, .perm = 0644, .size = 10u << 20 };
	sparse.first_extent = (uint32_t)t->n_extents;
	tree_add_extent(t, 1u << 20, 0);
	tree_add_extent(t, 2u << 20, 1);
	tree_add_extent(t, 8u << 20, 2);
	sparse.n_extents = 3;
	tree_add_inode(t, &sparse);
	struct tree_inode empty = { .type = NODE_FILE, .perm = 0600 };
	tree_add_inode(t, &empty);

	tree_add_dirent(t, 0, 1, "b.txt", 5);
	tree_add_dirent(t, 0, 2, "dir", 3);
	tree_add_dirent(t, 0, 3, "a-link", 6);
	tree_add_dirent(t, 0, 4, "sparse", 6);
	tree_add_dirent(t, 2, 1, "hard", 4);
	tree_add_dirent(t, 2, 5, "\xff", 1);
	return t;
}

/* Encodes and decodes, as a tree fetched from a repository would be. */
static struct tree *round_trip(struct tree *t)
{
	struct buf raw = BUF_INIT;
	struct tree *out = NULL;
	assert_int_equal(tree_encode(t, &raw), 0);
	assert_int_equal(tree_decode(raw.ptr, raw.len, &out), 0);
	buf_release(&raw);
	tree_free(t);
	return out;
}

static void add(struct catalog *c, const char *member, int64_t sec, uint32_t nsec, unsigned seed)
{
	uint8_t id[HASH_LEN];
	struct snapshot_header h = header(member, sec, nsec, seed, 6);
	fake_hash(id, seed);
	assert_int_equal(catalog_add_snapshot(c, id, &h), 0);
}

static void test_snapshot_names_and_latest(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s;

	add(f->cat, "m1", 1700000000, 5, 1);
	add(f->cat, "m1", 1700000000, 1, 2); /* same second, earlier: gets the plain name */
	add(f->cat, "m1", 1700003600, 0, 3);
	add(f->cat, "m2", 1600000000, 0, 4);
	add(f->cat, "m1", 1700000000, 5, 1); /* again: ignored */

	assert_int_equal(catalog_find_snapshot(f->cat, "m1", "2023-11-14T221320Z", &s), 0);
	assert_int_equal(s.time_nsec, 1);
	assert_int_equal(catalog_find_snapshot(f->cat, "m1", "2023-11-14T221320Z-1", &s), 0);
	assert_int_equal(s.time_nsec, 5);
	assert_int_equal(catalog_find_snapshot(f->cat, "m1", "latest", &s), 0);
	assert_string_equal(s.name, "2023-11-14T231320Z");
	assert_int_equal(catalog_find_snapshot(f->cat, "m2", "latest", &s), 0);
	assert_string_equal(s.name, "2020-09-13T122640Z");
	assert_int_equal(catalog_find_snapshot(f->cat, "m3", "latest", &s), -ENOENT);
	assert_int_equal(catalog_find_snapshot(f->cat, "m1", "2023-11-14T221321Z", &s), -ENOENT);

	/* inode ranges do not overlap and the root number is known before loading */
	struct cat_snapshot a, b;
	assert_int_equal(catalog_find_snapshot(f->cat, "m1", "2023-11-14T221320Z", &a), 0);
	assert_int_equal(catalog_find_snapshot(f->cat, "m1", "2023-11-14T221320Z-1", &b), 0);
	assert_true(a.ino_base >= CATALOG_FIRST_INO && b.ino_base >= CATALOG_FIRST_INO);
	assert_true(a.ino_base + a.n_inodes <= b.ino_base || b.ino_base + b.n_inodes <= a.ino_base);
	assert_int_equal(a.root.ino, a.ino_base);
	assert_int_equal(a.root.mode, S_IFDIR | 0755);
	assert_false(a.loaded);

	int64_t id;
	assert_int_equal(catalog_member_id(f->cat, "m2", &id), 0);
	assert_int_equal(catalog_member_id(f->cat, "nope", &id), -ENOENT);
}

static void test_snapshot_prefix(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s;
	uint8_t id[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];

	add(f->cat, "m", 1000, 0, 7);
	add(f->cat, "m", 2000, 0, 8);
	fake_hash(id, 7);
	hex_encode(id, HASH_LEN, hex);
	hex[8] = '\0';
	assert_int_equal(catalog_find_snapshot_by_prefix(f->cat, hex, &s), 0);
	assert_memory_equal(s.snap_id, id, HASH_LEN);
	assert_int_equal(catalog_find_snapshot_by_prefix(f->cat, "", &s), -ENOENT);
	assert_int_equal(catalog_find_snapshot_by_prefix(f->cat, "zz", &s), -ENOENT);
	/* the one-character prefix common to both, if any, is ambiguous */
	uint8_t other[HASH_LEN];
	char ohex[HASH_HEX_LEN + 1];
	fake_hash(other, 8);
	hex_encode(other, HASH_LEN, ohex);
	if (hex[0] == ohex[0]) {
		hex[1] = '\0';
		assert_int_equal(catalog_find_snapshot_by_prefix(f->cat, hex, &s), -ENOTUNIQ);
	}
}

static int collect(void *userdata, int64_t cookie, const uint8_t *name, size_t len,
		   const struct cat_attr *attr UNUSED)
{
	struct buf *b = userdata;
	buf_append(b, name, len);
	buf_printf(b, "@%lld;", (long long)cookie);
	return 0;
}

struct stop_after {
	int left;
	int64_t last;
	struct buf names;
};

static int collect_some(void *userdata, int64_t cookie, const uint8_t *name, size_t len,
			const struct cat_attr *attr)
{
	struct stop_after *s = userdata;
	if (s->left-- == 0)
		return 1;
	assert_true(attr->ino != 0 && attr->mode != 0);
	buf_append(&s->names, name, len);
	buf_append_u8(&s->names, ';');
	s->last = cookie;
	return 0;
}

static void test_tree_queries(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s;
	struct cat_attr a, a2;
	AUTOBUF struct buf out = BUF_INIT;

	add(f->cat, "m", 1000, 0, 9);
	assert_int_equal(catalog_find_snapshot(f->cat, "m", "latest", &s), 0);
	struct tree *t = round_trip(make_tree());
	assert_int_equal(catalog_load_tree(f->cat, s.id, t), 0);
	assert_int_equal(catalog_load_tree(f->cat, s.id, t), 0); /* idempotent */
	tree_free(t);
	assert_int_equal(catalog_snapshot_by_id(f->cat, s.id, &s), 0);
	assert_true(s.loaded);
	uint64_t root = s.ino_base;

	assert_int_equal(catalog_getattr(f->cat, root, &a), 0);
	assert_int_equal(a.mode, S_IFDIR | 0755);
	assert_int_equal(a.nlink, 3); /* ".", "..", and one subdirectory */
	assert_int_equal(catalog_snapshot_of_ino(f->cat, root + 5, &s), 0);
	assert_int_equal(catalog_snapshot_of_ino(f->cat, root + 6, &s), -ENOENT);

	/* hardlink: one inode under two names, nlink 2 */
	assert_int_equal(catalog_lookup(f->cat, root, "b.txt", 5, &a), 0);
	assert_int_equal(catalog_lookup(f->cat, root + 2, "hard", 4, &a2), 0);
	assert_int_equal(a.ino, a2.ino);
	assert_int_equal(a.nlink, 2);
	assert_int_equal(a.mode, S_IFREG | 0644);
	assert_int_equal(catalog_lookup(f->cat, root, "B.txt", 5, &a), -ENOENT);
	assert_int_equal(catalog_lookup(f->cat, root + 2, "\xff", 1, &a), 0);
	assert_int_equal(a.size, 0);

	/* readdir in byte order of names, resumable after any cookie */
	assert_int_equal(catalog_readdir(f->cat, root, 0, false, collect, &out), 0);
	buf_append_u8(&out, 0);
	const char *list = (const char *)out.ptr;
	assert_non_null(strstr(list, "a-link@"));
	assert_true(strstr(list, "a-link@") < strstr(list, "b.txt@"));
	assert_true(strstr(list, "b.txt@") < strstr(list, "dir@"));
	assert_true(strstr(list, "dir@") < strstr(list, "sparse@"));
	struct stop_after sa = { .left = 2, .names = BUF_INIT };
	assert_int_equal(catalog_readdir(f->cat, root, 0, true, collect_some, &sa), 0);
	sa.left = 10;
	assert_int_equal(catalog_readdir(f->cat, root, sa.last, true, collect_some, &sa), 0);
	buf_append_u8(&sa.names, 0);
	assert_string_equal((const char *)sa.names.ptr, "a-link;b.txt;dir;sparse;");
	buf_release(&sa.names);

	/* symlink and xattrs */
	buf_reset(&out);
	assert_int_equal(catalog_lookup(f->cat, root, "a-link", 6, &a), 0);
	assert_int_equal(catalog_readlink(f->cat, a.ino, &out), 0);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.ptr, "b.txt", 5);
	assert_int_equal(catalog_lookup(f->cat, root, "b.txt", 5, &a), 0);
	buf_reset(&out);
	assert_int_equal(catalog_listxattr(f->cat, a.ino, &out), 0);
	assert_int_equal(out.len, 7);
	assert_memory_equal(out.ptr, "user.k\0", 7);
	buf_reset(&out);
	assert_int_equal(catalog_getxattr(f->cat, a.ino, "user.k", &out), 0);
	assert_memory_equal(out.ptr, "v", 1);
	assert_int_equal(catalog_getxattr(f->cat, a.ino, "user.x", &out), -ENODATA);
}

static void test_extents_and_seek(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s;
	struct cat_attr a;
	struct cat_extent e[8];
	size_t n;
	uint64_t pos;
	const uint64_t M = 1u << 20;

	add(f->cat, "m", 1000, 0, 10);
	assert_int_equal(catalog_find_snapshot(f->cat, "m", "latest", &s), 0);
	struct tree *t = round_trip(make_tree());
	assert_int_equal(catalog_load_tree(f->cat, s.id, t), 0);
	tree_free(t);
	assert_int_equal(catalog_lookup(f->cat, s.ino_base, "sparse", 6, &a), 0);
	assert_int_equal(a.size, 10 * M);
	assert_int_equal(a.blocks, 3 * M / 512); /* holes are not counted */

	/* a read in a hole touches no extent */
	assert_int_equal(catalog_extents(f->cat, a.ino, 0, M, e, 8, &n), 0);
	assert_int_equal(n, 0);
	/* a read from the middle of one extent into the next */
	assert_int_equal(catalog_extents(f->cat, a.ino, M + M / 2, M, e, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].file_off, M);
	assert_int_equal(e[1].file_off, 2 * M);
	uint8_t h[HASH_LEN];
	fake_hash(h, 201);
	assert_memory_equal(e[1].loc.hash, h, HASH_LEN);
	assert_int_equal(e[1].loc.off, 4096);
	/* everything, bounded by max */
	assert_int_equal(catalog_extents(f->cat, a.ino, 0, 10 * M, e, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(catalog_extents(f->cat, a.ino, 0, 10 * M, e, 8, &n), 0);
	assert_int_equal(n, 3);

	assert_int_equal(catalog_seek(f->cat, a.ino, 0, SEEK_DATA, &pos), 0);
	assert_int_equal(pos, M);
	assert_int_equal(catalog_seek(f->cat, a.ino, M, SEEK_HOLE, &pos), 0);
	assert_int_equal(pos, 3 * M); /* two adjacent extents are one data region */
	assert_int_equal(catalog_seek(f->cat, a.ino, M + M / 2, SEEK_HOLE, &pos), 0);
	assert_int_equal(pos, 3 * M); /* from inside the first of them */
	assert_int_equal(catalog_seek(f->cat, a.ino, 3 * M - 1, SEEK_HOLE, &pos), 0);
	assert_int_equal(pos, 3 * M); /* from the last byte of the second */
	assert_int_equal(catalog_seek(f->cat, a.ino, 0, SEEK_HOLE, &pos), 0);
	assert_int_equal(pos, 0);
	assert_int_equal(catalog_seek(f->cat, a.ino, 3 * M, SEEK_DATA, &pos), 0);
	assert_int_equal(pos, 8 * M);
	assert_int_equal(catalog_seek(f->cat, a.ino, 8 * M + 5, SEEK_HOLE, &pos), 0);
	assert_int_equal(pos, 9 * M);
	assert_int_equal(catalog_seek(f->cat, a.ino, 9 * M, SEEK_DATA, &pos), -ENXIO);
	assert_int_equal(catalog_seek(f->cat, a.ino, 10 * M, SEEK_HOLE, &pos), -ENXIO);

	/* the loaded tree's chunks serve deduplication */
	struct chunk_loc loc;
	assert_int_equal(catalog_find_chunk(f->cat, h, &loc), 0);
	assert_int_equal(loc.raw_len, M);
	fake_hash(h, 999);
	assert_int_equal(catalog_find_chunk(f->cat, h, &loc), -ENOENT);
}

static void test_remove_snapshot(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s;
	struct cat_attr a;

	add(f->cat, "m", 1000, 0, 11);
	add(f->cat, "m", 1000, 1, 12);
	assert_int_equal(catalog_find_snapshot(f->cat, "m", "2970-01-01T001640Z", &s), -ENOENT);
	assert_int_equal(catalog_find_snapshot(f->cat, "m", "1970-01-01T001640Z", &s), 0);
	struct tree *t = round_trip(make_tree());
	assert_int_equal(catalog_load_tree(f->cat, s.id, t), 0);
	tree_free(t);
	uint64_t root = s.ino_base;
	assert_int_equal(catalog_getattr(f->cat, root + 1, &a), 0);
	assert_int_equal(catalog_remove_snapshot(f->cat, s.id), 0);
	assert_int_equal(catalog_getattr(f->cat, root + 1, &a), -ENOENT);
	assert_int_equal(catalog_lookup(f->cat, root, "b.txt", 5, &a), -ENOENT);
	/* the other same-second snapshot loses its suffix */
	assert_int_equal(catalog_find_snapshot(f->cat, "m", "1970-01-01T001640Z", &s), 0);
	assert_int_equal(s.time_nsec, 1);
	assert_int_equal(catalog_find_snapshot(f->cat, "m", "1970-01-01T001640Z-1", &s), -ENOENT);
}

static void test_load_tree_rejects_wrong_inode_count(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s;
	uint8_t id[HASH_LEN];
	struct snapshot_header h = header("m", 5000, 0, 13, 99);

	fake_hash(id, 13);
	assert_int_equal(catalog_add_snapshot(f->cat, id, &h), 0);
	assert_int_equal(catalog_find_snapshot(f->cat, "m", "latest", &s), 0);
	struct tree *t = round_trip(make_tree());
	assert_int_equal(catalog_load_tree(f->cat, s.id, t), -EBADMSG);
	tree_free(t);
	assert_int_equal(catalog_snapshot_by_id(f->cat, s.id, &s), 0);
	assert_false(s.loaded);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snapshot_names_and_latest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extents_and_seek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_tree_rejects_wrong_inode_count, setup,
						teardown),
	};
	log_setup("test-catalog", LOG_TARGET_STDERR, LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
