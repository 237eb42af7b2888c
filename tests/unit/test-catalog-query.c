/*
 * test-catalog-query.c - the reporting queries on a real SQLite catalog in
 * a mkdtemp() directory: finding entries by name and by whole path (paths
 * built from parent links, in byte order, only from the snapshot asked
 * about), looking up paths, comparing chunk lists and xattrs, and the
 * usage figures of members and packs (shared chunks counted once, a second
 * stored copy and an unreferenced chunk counted as unused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>

#include "catalog/catalog-query.h"
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
	char path[128];

	if (!f)
		return -1;
	if (unit_mkdtemp(f->dir, sizeof(f->dir), "catalog-query") < 0)
		return -1;
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

/* Chunks every test tree knows: seed, raw length, stored length; all in
 * pack seed 500, at offsets 0, 1000, 2000, ... */
static const struct {
	unsigned seed;
	uint32_t raw, stored;
} chunk_table[] = {
	{ 1, 100, ENVELOPE_HEADER_SIZE + 40 },
	{ 2, 100, ENVELOPE_HEADER_SIZE + 41 },
	{ 3, 50, ENVELOPE_HEADER_SIZE + 42 },
};

static void add_chunks(struct tree *t)
{
	uint8_t pack[HASH_LEN];
	fake_hash(pack, 500);
	tree_add_pack(t, pack);
	for (unsigned i = 0; i < ARRAY_SIZE(chunk_table); i++) {
		struct tree_chunk c = { .pack = 0,
					.off = 1000 * i,
					.stored_len = chunk_table[i].stored,
					.raw_len = chunk_table[i].raw };
		fake_hash(c.hash, chunk_table[i].seed);
		tree_add_chunk(t, &c);
	}
}

static uint32_t add_dir(struct tree *t, uint32_t parent, const char *name)
{
	struct tree_inode ino = { .type = NODE_DIR, .perm = 0755 };
	uint32_t i = tree_add_inode(t, &ino);
	tree_add_dirent(t, parent, i, name, strlen(name));
	return i;
}

/* A file of the given chunks (indexes into chunk_table, -1 for a 1000-byte
 * hole) laid end to end. */
static uint32_t add_file(struct tree *t, uint32_t parent, const char *name, const int *chunks,
			 size_t n)
{
	struct tree_inode ino = { .type = NODE_FILE, .perm = 0644 };
	uint64_t off = 0;

	ino.first_extent = (uint32_t)t->n_extents;
	for (size_t i = 0; i < n; i++) {
		if (chunks[i] < 0) {
			off += 1000;
			continue;
		}
		tree_add_extent(t, off, (uint32_t)chunks[i]);
		ino.n_extents++;
		off += chunk_table[chunks[i]].raw;
	}
	ino.size = off;
	uint32_t i = tree_add_inode(t, &ino);
	tree_add_dirent(t, parent, i, name, strlen(name));
	return i;
}

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

/* Adds a snapshot of member at sec with tree t, loads it, returns it. */
static struct cat_snapshot load(struct catalog *c, const char *member, int64_t sec, struct tree *t)
{
	struct snapshot_header h = { 0 };
	struct cat_snapshot s;
	uint8_t id[HASH_LEN];

	t = round_trip(t);
	snprintf(h.member, sizeof(h.member), "%s", member);
	h.time_sec = sec;
	h.n_inodes = t->n_inodes;
	h.root_perm = 0755;
	fake_hash(h.tree_id, (unsigned)sec);
	fake_hash(id, (unsigned)sec + 7);
	assert_int_equal(catalog_add_snapshot(c, id, &h), 0);
	assert_int_equal(catalog_find_snapshot(c, member, "latest", &s), 0);
	assert_int_equal(catalog_load_tree(c, s.id, t), 0);
	tree_free(t);
	assert_int_equal(catalog_snapshot_by_id(c, s.id, &s), 0);
	assert_true(s.loaded);
	return s;
}

/*
 *   /a.txt            chunks 0, 1
 *   /dir/
 *   /dir/b.txt        chunk 0, xattrs user.b=2, user.a=1
 *   /dir/sub/
 *   /dir/sub/c.TXT    empty
 *   /dir/sub/a.txt    hole, chunk 2
 *   /\xff.txt         empty
 *   /dir.txt/         a directory that matches *.txt
 */
static struct tree *tree_one(void)
{
	struct tree *t = tree_new();
	struct tree_inode root = { .type = NODE_DIR, .perm = 0755 };

	add_chunks(t);
	tree_add_inode(t, &root);
	add_file(t, 0, "a.txt", (int[]){ 0, 1 }, 2);
	uint32_t dir = add_dir(t, 0, "dir");
	uint32_t b = add_file(t, dir, "b.txt", (int[]){ 0 }, 1);
	t->inodes[b].first_xattr = t->n_xattrs;
	tree_add_xattr(t, "user.b", 6, "2", 1);
	tree_add_xattr(t, "user.a", 6, "1", 1);
	t->inodes[b].n_xattrs = 2;
	uint32_t sub = add_dir(t, dir, "sub");
	add_file(t, sub, "c.TXT", NULL, 0);
	add_file(t, sub, "a.txt", (int[]){ -1, 2 }, 2);
	add_file(t, 0, "\xff.txt", NULL, 0);
	add_dir(t, 0, "dir.txt");
	return t;
}

/*   /other.txt   chunk 0 (the same stored copy as in tree_one)
 *   /dir/        with /dir/b.txt: chunk 1, xattrs user.a=1, user.b=2 */
static struct tree *tree_two(void)
{
	struct tree *t = tree_new();
	struct tree_inode root = { .type = NODE_DIR, .perm = 0755 };

	add_chunks(t);
	tree_add_inode(t, &root);
	add_file(t, 0, "other.txt", (int[]){ 0 }, 1);
	uint32_t dir = add_dir(t, 0, "dir");
	uint32_t b = add_file(t, dir, "b.txt", (int[]){ 1 }, 1);
	t->inodes[b].first_xattr = t->n_xattrs;
	tree_add_xattr(t, "user.a", 6, "1", 1);
	tree_add_xattr(t, "user.b", 6, "2", 1);
	t->inodes[b].n_xattrs = 2;
	return t;
}

struct found {
	struct buf paths; /* each path, then ';' */
	unsigned n, stop_after;
	uint32_t last_mode;
};

static int collect(void *userdata, const struct cat_found *m)
{
	struct found *f = userdata;
	buf_append(&f->paths, m->path, m->path_len);
	buf_append_u8(&f->paths, ';');
	f->last_mode = m->attr.mode;
	if (++f->n == f->stop_after)
		return -ECANCELED;
	return 0;
}

/* Runs catalog_find and returns the paths as "a;b;" (static storage). */
static const char *find(struct catalog *c, const struct cat_snapshot *s, const char *pattern,
			bool whole_path, int *ret)
{
	static char out[1024];
	struct found f = { .paths = BUF_INIT };
	*ret = catalog_find(c, s, pattern, whole_path, collect, &f);
	buf_append_u8(&f.paths, 0);
	snprintf(out, sizeof(out), "%s", (const char *)f.paths.ptr);
	buf_release(&f.paths);
	return out;
}

static void test_find_by_name(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s1 = load(f->cat, "one", 1000, tree_one());
	struct cat_snapshot s2 = load(f->cat, "two", 2000, tree_two());
	int r;

	/* byte order of whole paths; directories match; case matters */
	assert_string_equal(find(f->cat, &s1, "*.txt", false, &r),
			    "a.txt;dir.txt;dir/b.txt;dir/sub/a.txt;\xff.txt;");
	assert_int_equal(r, 5);
	/* only the snapshot asked about */
	assert_string_equal(find(f->cat, &s2, "*.txt", false, &r), "dir/b.txt;other.txt;");
	assert_int_equal(r, 2);
	assert_string_equal(find(f->cat, &s1, "?.TXT", false, &r), "dir/sub/c.TXT;");
	assert_string_equal(find(f->cat, &s1, "[ab].*", false, &r),
			    "a.txt;dir/b.txt;dir/sub/a.txt;");
	assert_string_equal(find(f->cat, &s1, "\xff*", false, &r), "\xff.txt;");
	assert_string_equal(find(f->cat, &s1, "nothing", false, &r), "");
	assert_int_equal(r, 0);
	/* everything but the root */
	find(f->cat, &s1, "*", false, &r);
	assert_int_equal(r, 8);
	/* a callback's error stops the search and is returned */
	struct found stop = { .paths = BUF_INIT, .stop_after = 2 };
	assert_int_equal(catalog_find(f->cat, &s1, "*", false, collect, &stop), -ECANCELED);
	assert_int_equal(stop.n, 2);
	buf_release(&stop.paths);
}

static void test_find_by_path(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s1 = load(f->cat, "one", 1000, tree_one());
	int r;

	/* '*' crosses '/' */
	assert_string_equal(find(f->cat, &s1, "dir/*", true, &r),
			    "dir/b.txt;dir/sub;dir/sub/a.txt;dir/sub/c.TXT;");
	assert_string_equal(find(f->cat, &s1, "/dir/sub/?.txt", true, &r), "dir/sub/a.txt;");
	assert_string_equal(find(f->cat, &s1, "*/a.txt", true, &r), "dir/sub/a.txt;");
	assert_string_equal(find(f->cat, &s1, "sub/*", true, &r), "");
	assert_string_equal(find(f->cat, &s1, "dir", true, &r), "dir;");
	struct found one = { .paths = BUF_INIT };
	assert_int_equal(catalog_find(f->cat, &s1, "dir/sub", true, collect, &one), 1);
	assert_true(S_ISDIR(one.last_mode));
	buf_release(&one.paths);
}

static void test_lookup_path_and_compare(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s1 = load(f->cat, "one", 1000, tree_one());
	struct cat_snapshot s2 = load(f->cat, "two", 2000, tree_two());
	struct cat_attr a, b, x;
	AUTOBUF struct buf xa = BUF_INIT;
	AUTOBUF struct buf xb = BUF_INIT;
	bool same;

	assert_int_equal(catalog_lookup_path(f->cat, s1.ino_base, "", &a), 0);
	assert_int_equal(a.ino, s1.ino_base);
	assert_int_equal(catalog_lookup_path(f->cat, s1.ino_base, "dir//sub/a.txt/", &a), 0);
	assert_int_equal(a.size, 1050);
	assert_int_equal(catalog_lookup_path(f->cat, s1.ino_base, "dir/nope", &x), -ENOENT);
	assert_int_equal(catalog_lookup_path(f->cat, s1.ino_base, "a.txt/x", &x), -ENOENT);

	/* chunk lists: equal to itself; a different chunk; a different count */
	assert_int_equal(catalog_same_extents(f->cat, a.ino, a.ino, &same), 0);
	assert_true(same);
	assert_int_equal(catalog_lookup_path(f->cat, s1.ino_base, "dir/b.txt", &a), 0);
	assert_int_equal(catalog_lookup_path(f->cat, s2.ino_base, "dir/b.txt", &b), 0);
	assert_int_equal(catalog_same_extents(f->cat, a.ino, b.ino, &same), 0);
	assert_false(same); /* chunk 0 against chunk 1, both 100 bytes at 0 */
	assert_int_equal(catalog_lookup_path(f->cat, s2.ino_base, "other.txt", &b), 0);
	assert_int_equal(catalog_same_extents(f->cat, a.ino, b.ino, &same), 0);
	assert_true(same); /* chunk 0 at 0 in both */
	assert_int_equal(catalog_lookup_path(f->cat, s1.ino_base, "a.txt", &x), 0);
	assert_int_equal(catalog_same_extents(f->cat, x.ino, b.ino, &same), 0);
	assert_false(same); /* one more extent */
	assert_int_equal(catalog_same_extents(f->cat, b.ino, x.ino, &same), 0);
	assert_false(same);

	/* xattrs inserted in another order have the same canonical form */
	assert_int_equal(catalog_lookup_path(f->cat, s1.ino_base, "dir/b.txt", &a), 0);
	assert_int_equal(catalog_lookup_path(f->cat, s2.ino_base, "dir/b.txt", &b), 0);
	assert_int_equal(catalog_xattrs_canonical(f->cat, a.ino, &xa), 0);
	assert_int_equal(catalog_xattrs_canonical(f->cat, b.ino, &xb), 0);
	assert_int_equal(xa.len, xb.len);
	assert_memory_equal(xa.ptr, xb.ptr, xa.len);
	buf_reset(&xb);
	catalog_xattrs_append_one(&xb, "user.a", 6, "1", 1);
	catalog_xattrs_append_one(&xb, "user.b", 6, "2", 1);
	assert_int_equal(xa.len, xb.len);
	assert_memory_equal(xa.ptr, xb.ptr, xa.len);
	buf_reset(&xb);
	assert_int_equal(catalog_xattrs_canonical(f->cat, x.ino, &xb), 0);
	assert_int_equal(xb.len, 0);
}

static int sum_extents(void *userdata, uint64_t off, const uint8_t hash[HASH_LEN] UNUSED,
		       uint32_t raw_len)
{
	uint64_t *v = userdata;
	v[0]++;
	v[1] = off;
	v[2] += raw_len;
	return 0;
}

struct pack_seen {
	struct cat_pack_usage p[4];
	unsigned n;
};

static int collect_pack(void *userdata, const struct cat_pack_usage *p)
{
	struct pack_seen *s = userdata;
	assert_true(s->n < ARRAY_SIZE(s->p));
	s->p[s->n++] = *p;
	return 0;
}

static void test_usage(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s1 = load(f->cat, "one", 1000, tree_one());
	load(f->cat, "two", 2000, tree_two());
	struct cat_usage u;
	struct cat_attr a;
	const uint32_t H = ENVELOPE_HEADER_SIZE;

	uint64_t v[3] = { 0 };
	assert_int_equal(catalog_lookup_path(f->cat, s1.ino_base, "dir/sub/a.txt", &a), 0);
	assert_int_equal(catalog_each_extent(f->cat, a.ino, sum_extents, v), 0);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], 1000); /* after the hole */
	assert_int_equal(v[2], 50);

	/* one: extents 0+1, 0, 2: 350 bytes; three distinct chunks */
	assert_int_equal(catalog_usage(f->cat, "one", &u), 0);
	assert_int_equal(u.n_extents, 4);
	assert_int_equal(u.data_bytes, 350);
	assert_int_equal(u.n_stored, 3);
	assert_int_equal(u.stored_bytes, 3 * H + 40 + 41 + 42);
	assert_int_equal(u.stored_raw_bytes, 250);
	assert_int_equal(u.n_unique, 3);
	assert_int_equal(u.unique_bytes, 250);
	/* two: chunks 0 and 1 */
	assert_int_equal(catalog_usage(f->cat, "two", &u), 0);
	assert_int_equal(u.n_extents, 2);
	assert_int_equal(u.data_bytes, 200);
	assert_int_equal(u.n_unique, 2);
	assert_int_equal(u.stored_bytes, 2 * H + 40 + 41);
	/* both: shared chunks count once */
	assert_int_equal(catalog_usage(f->cat, NULL, &u), 0);
	assert_int_equal(u.n_extents, 6);
	assert_int_equal(u.data_bytes, 550);
	assert_int_equal(u.n_unique, 3);
	assert_int_equal(u.unique_bytes, 250);
	assert_int_equal(catalog_usage(f->cat, "nobody", &u), 0);
	assert_int_equal(u.n_extents + u.n_stored + u.n_unique, 0);

	/* A second pack (from an index object) holds another copy of chunk 0
	 * and a chunk no tree uses: the copy is no more "used" than the
	 * chunk, and unique bytes do not change. */
	uint8_t pack2[HASH_LEN];
	struct pack_entry e[2] = { { .off = 0, .stored_len = H + 40, .raw_len = 100 },
				   { .off = 500, .stored_len = H + 7, .raw_len = 9 } };
	fake_hash(pack2, 501);
	fake_hash(e[0].hash, 1);
	fake_hash(e[1].hash, 99);
	assert_int_equal(catalog_add_pack(f->cat, pack2, e, 2), 0);
	assert_int_equal(catalog_usage(f->cat, NULL, &u), 0);
	assert_int_equal(u.n_stored, 3);
	assert_int_equal(u.unique_bytes, 250);

	struct pack_seen seen = { 0 };
	uint8_t pack1[HASH_LEN];
	fake_hash(pack1, 500);
	assert_int_equal(catalog_pack_usage(f->cat, collect_pack, &seen), 0);
	assert_int_equal(seen.n, 2);
	for (unsigned i = 0; i < seen.n; i++) {
		const struct cat_pack_usage *p = &seen.p[i];
		if (memcmp(p->pack_id, pack1, HASH_LEN) == 0) {
			assert_int_equal(p->n_chunks, 3);
			assert_int_equal(p->n_used, 3);
			assert_int_equal(p->stored_bytes, 3 * H + 123);
			assert_int_equal(p->unused_bytes, 0);
		} else {
			assert_memory_equal(p->pack_id, pack2, HASH_LEN);
			assert_int_equal(p->n_chunks, 2);
			assert_int_equal(p->n_used, 0);
			assert_int_equal(p->stored_bytes, 2 * H + 47);
			assert_int_equal(p->unused_bytes, 2 * H + 47);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_find_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_by_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_path_and_compare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
	};
	log_setup("test-catalog-query", LOG_TARGET_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
