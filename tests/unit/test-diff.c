/*
 * test-diff.c - comparing two loaded snapshots: the order of the report
 * (depth first, a directory before its contents, names in byte order, so
 * "a/x" before "a-b"), what each change is called (content by chunk list,
 * type, hardlink count), subtrees on one side only listed whole, a PATH
 * limiting the walk, and a callback's error stopping it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>

#include "ops/diff.h"
#include "format/envelope.h"
#include "base/log.h"
#include "unit.h"

struct fixture {
	char dir[64];
	struct catalog *cat;
	struct cat_snapshot a, b;
};

static void fake_hash(uint8_t out[HASH_LEN], unsigned seed)
{
	uint8_t in[4];
	put_le32(in, seed);
	crypto_sha256(in, sizeof(in), out);
}

static struct tree *start_tree(void)
{
	struct tree *t = tree_new();
	struct tree_inode root = { .type = NODE_DIR, .perm = 0755 };
	uint8_t pack[HASH_LEN];

	fake_hash(pack, 500);
	tree_add_pack(t, pack);
	for (unsigned i = 0; i < 2; i++) {
		struct tree_chunk c = { .pack = 0,
					.off = 1000 * i,
					.stored_len = ENVELOPE_HEADER_SIZE + 10,
					.raw_len = 100 };
		fake_hash(c.hash, i + 1);
		tree_add_chunk(t, &c);
	}
	tree_add_inode(t, &root);
	return t;
}

static uint32_t node(struct tree *t, uint32_t parent, const char *name, enum node_type type,
		     int chunk)
{
	struct tree_inode ino = { .type = type, .perm = type == NODE_DIR ? 0755 : 0644 };
	if (chunk >= 0) {
		ino.first_extent = (uint32_t)t->n_extents;
		tree_add_extent(t, 0, (uint32_t)chunk);
		ino.n_extents = 1;
		ino.size = 100;
	}
	uint32_t i = tree_add_inode(t, &ino);
	tree_add_dirent(t, parent, i, name, strlen(name));
	return i;
}

static struct cat_snapshot load(struct catalog *c, int64_t sec, struct tree *t)
{
	struct snapshot_header h = { 0 };
	struct cat_snapshot s;
	struct buf raw = BUF_INIT;
	struct tree *decoded = NULL;
	uint8_t id[HASH_LEN];

	assert_int_equal(tree_encode(t, &raw), 0);
	assert_int_equal(tree_decode(raw.ptr, raw.len, &decoded), 0);
	buf_release(&raw);
	tree_free(t);
	snprintf(h.member, sizeof(h.member), "m");
	h.time_sec = sec;
	h.n_inodes = decoded->n_inodes;
	fake_hash(h.tree_id, (unsigned)sec);
	fake_hash(id, (unsigned)sec + 1);
	assert_int_equal(catalog_add_snapshot(c, id, &h), 0);
	assert_int_equal(catalog_find_snapshot(c, "m", "latest", &s), 0);
	assert_int_equal(catalog_load_tree(c, s.id, decoded), 0);
	tree_free(decoded);
	assert_int_equal(catalog_snapshot_by_id(c, s.id, &s), 0);
	return s;
}

/*
 *   A                       B
 *   /a/        dir          /a/        dir
 *   /a/x       chunk 0      /a/x       chunk 1        M content
 *                           /a/y       chunk 0        +
 *   /a-b       chunk 0                                -
 *   /h         chunk 0      /h, /h2    one inode      M links, + h2
 *   /t         file         /t/        dir            M type
 *                           /t/k/      dir            +
 *                           /t/k/z     chunk 1        +
 *   /u/        dir          (none)                    -
 *   /u/v       chunk 1                                -
 *   /same      chunk 1      /same      chunk 1
 */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[128];

	if (!f)
		return -1;
	if (unit_mkdtemp(f->dir, sizeof(f->dir), "diff") < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/catalog.db", f->dir);
	if (catalog_open(path, &f->cat) < 0)
		return -1;

	struct tree *a = start_tree();
	uint32_t d = node(a, 0, "a", NODE_DIR, -1);
	node(a, d, "x", NODE_FILE, 0);
	node(a, 0, "a-b", NODE_FILE, 0);
	node(a, 0, "h", NODE_FILE, 0);
	node(a, 0, "t", NODE_FILE, 0);
	d = node(a, 0, "u", NODE_DIR, -1);
	node(a, d, "v", NODE_FILE, 1);
	node(a, 0, "same", NODE_FILE, 1);
	f->a = load(f->cat, 1000, a);

	struct tree *b = start_tree();
	d = node(b, 0, "a", NODE_DIR, -1);
	node(b, d, "x", NODE_FILE, 1);
	node(b, d, "y", NODE_FILE, 0);
	uint32_t h = node(b, 0, "h", NODE_FILE, 0);
	tree_add_dirent(b, 0, h, "h2", 2);
	d = node(b, 0, "t", NODE_DIR, -1);
	d = node(b, d, "k", NODE_DIR, -1);
	node(b, d, "z", NODE_FILE, 1);
	node(b, 0, "same", NODE_FILE, 1);
	f->b = load(f->cat, 2000, b);
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

struct report {
	struct buf text;
	unsigned n, stop_after;
};

static int record(void *userdata, const struct diff_entry *e)
{
	struct report *r = userdata;
	buf_printf(&r->text, "%c %.*s", e->kind, (int)e->path_len, (const char *)e->path);
	for (unsigned bit = 1; bit <= DIFF_CHANGE_LAST; bit <<= 1)
		if (e->changes & bit)
			buf_printf(&r->text, " %s", diff_change_name(bit));
	assert_true(e->kind == DIFF_ADDED     ? !e->old && e->new
		    : e->kind == DIFF_REMOVED ? e->old && !e->new
					      : e->old && e->new);
	buf_append_u8(&r->text, '\n');
	return ++r->n == r->stop_after ? -ECANCELED : 0;
}

static const char *run(struct fixture *f, const char *path, int *ret, struct diff_stats *st)
{
	static char out[2048];
	struct report rep = { .text = BUF_INIT };
	struct diff_options o = { .path = path, .fn = record, .userdata = &rep };
	*ret = diff_snapshots(f->cat, &f->a, &f->b, &o, st);
	buf_append_u8(&rep.text, 0);
	snprintf(out, sizeof(out), "%s", (const char *)rep.text.ptr);
	buf_release(&rep.text);
	return out;
}

static void test_order_and_changes(void **state)
{
	struct fixture *f = *state;
	struct diff_stats st;
	int r;

	assert_string_equal(run(f, NULL, &r, &st), "M /a/x content\n"
						   "+ /a/y\n"
						   "- /a-b\n"
						   "M /h links\n"
						   "+ /h2\n"
						   "M /t type\n"
						   "+ /t/k\n"
						   "+ /t/k/z\n"
						   "- /u\n"
						   "- /u/v\n");
	assert_int_equal(r, 10);
	assert_int_equal(st.n_added, 4);
	assert_int_equal(st.n_removed, 3);
	assert_int_equal(st.n_changed, 3);
	/* the root, a, a/x, h, t, same */
	assert_int_equal(st.n_compared, 6);
}

static void test_subtree_and_stop(void **state)
{
	struct fixture *f = *state;
	struct diff_stats st;
	int r;

	assert_string_equal(run(f, "a", &r, &st), "M /a/x content\n+ /a/y\n");
	assert_int_equal(r, 2);
	assert_string_equal(run(f, "/t/k/", &r, &st), "+ /t/k\n+ /t/k/z\n");
	assert_string_equal(run(f, "same", &r, &st), "");
	assert_int_equal(r, 0);
	run(f, "nowhere", &r, &st);
	assert_int_equal(r, -ENOENT);
	run(f, "a/../t", &r, &st);
	assert_int_equal(r, -EINVAL);

	struct report rep = { .text = BUF_INIT, .stop_after = 3 };
	struct diff_options o = { .fn = record, .userdata = &rep };
	assert_int_equal(diff_snapshots(f->cat, &f->a, &f->b, &o, NULL), -ECANCELED);
	assert_int_equal(rep.n, 3);
	buf_release(&rep.text);

	/* a snapshot against itself */
	struct report none = { .text = BUF_INIT };
	o.userdata = &none;
	assert_int_equal(diff_snapshots(f->cat, &f->b, &f->b, &o, &st), 0);
	assert_int_equal(none.n, 0);
	buf_release(&none.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subtree_and_stop, setup, teardown),
	};
	log_setup("test-diff", LOG_TARGET_STDERR, LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
