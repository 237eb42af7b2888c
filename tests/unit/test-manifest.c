/*
 * test-manifest.c - trees and snapshot headers: what the builder encodes
 * decodes to the same tree, and the decoder, which reads untrusted bytes,
 * rejects every malformed payload with -EBADMSG.
 *
 * Malformed trees are written by a small encoder of this file that follows
 * the layout documented in tree.c (and cairn-repository(5)) field by
 * field, so each test can break exactly one rule: a count, an index, a name,
 * the directory structure or an extent. That encoder is first checked to
 * produce byte for byte what tree_encode() produces for a valid tree.
 * Trees also make a full trip through an envelope and a local backend in a
 * mkdtemp() directory that the group teardown removes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "backend/backend.h"
#include "format/chunker.h"
#include "format/envelope.h"
#include "format/tree.h"
#include "format/snapshot.h"
#include "unit.h"

struct fixture {
	char dir[64];		 /* mkdtemp directory */
	struct backend *backend; /* local backend in dir/repo */
};

static int group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	if (unit_mkdtemp(f->dir, sizeof(f->dir), "manifest") < 0)
		return -1;
	AUTOFREE char *url = xasprintf("%s/repo", f->dir);
	struct backend_options bo = { 0 };
	if (mkdir(url, 0700) < 0 || backend_open(url, &bo, &f->backend) < 0)
		return -1;
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

/* --- a tree described field by field ------------------------------------- */

#define MAXN 16

struct raw_str {
	const char *p;
	uint32_t len;  /* the length written, which may lie */
	uint32_t have; /* the bytes actually written */
};

struct raw_inode {
	uint8_t type;
	uint32_t perm, uid, gid;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t size, rdev;
	struct raw_str target;
	uint32_t n_xattrs, n_extents;
};

struct raw_xattr {
	struct raw_str name, value;
};

struct raw_extent {
	uint64_t off;
	uint32_t chunk;
};

struct raw_dirent {
	uint32_t parent, inode;
	struct raw_str name;
};

struct raw_chunk {
	uint8_t hash[HASH_LEN];
	uint32_t pack;
	uint64_t off;
	uint32_t stored_len, raw_len;
};

struct raw_tree {
	uint32_t version;
	/* Counts as written in the header... */
	uint32_t n_packs, n_chunks, n_inodes, n_dirents, n_xattrs;
	uint64_t n_extents;
	/* ...and the records actually written. */
	uint32_t w_packs, w_chunks, w_inodes, w_dirents, w_xattrs, w_extents;
	uint8_t packs[MAXN][HASH_LEN];
	struct raw_chunk chunks[MAXN];
	struct raw_inode inodes[MAXN];
	struct raw_xattr xattrs[MAXN];	 /* in inode order */
	struct raw_extent extents[MAXN]; /* in inode order */
	struct raw_dirent dirents[MAXN]; /* written in this order */
};

static struct raw_str S(const char *s) {
	return (struct raw_str){ s, (uint32_t)strlen(s), (uint32_t)strlen(s) };
}

static struct raw_str
B(const char *s, uint32_t len) {
	return (struct raw_str){ s, len, len };
}

static void
put_str(struct buf *out, struct raw_str s)
{
	buf_append_le32(out, s.len);
	buf_append(out, s.p, s.have);
}

static void raw_encode(const struct raw_tree *t, struct buf *out)
{
	buf_append_le32(out, t->version);
	buf_append_le32(out, t->n_packs);
	buf_append_le32(out, t->n_chunks);
	buf_append_le32(out, t->n_inodes);
	buf_append_le32(out, t->n_dirents);
	buf_append_le32(out, t->n_xattrs);
	buf_append_le64(out, t->n_extents);
	for (uint32_t i = 0; i < t->w_packs; i++)
		buf_append(out, t->packs[i], HASH_LEN);
	for (uint32_t i = 0; i < t->w_chunks; i++) {
		const struct raw_chunk *c = &t->chunks[i];
		buf_append(out, c->hash, HASH_LEN);
		buf_append_le32(out, c->pack);
		buf_append_le64(out, c->off);
		buf_append_le32(out, c->stored_len);
		buf_append_le32(out, c->raw_len);
	}
	for (uint32_t i = 0; i < t->w_inodes; i++) {
		const struct raw_inode *n = &t->inodes[i];
		buf_append_u8(out, n->type);
		buf_append_le32(out, n->perm);
		buf_append_le32(out, n->uid);
		buf_append_le32(out, n->gid);
		buf_append_le64(out, (uint64_t)n->mtime_sec);
		buf_append_le32(out, n->mtime_nsec);
		buf_append_le64(out, n->size);
		buf_append_le64(out, n->rdev);
		put_str(out, n->target);
		buf_append_le32(out, n->n_xattrs);
		buf_append_le32(out, n->n_extents);
	}
	for (uint32_t i = 0; i < t->w_xattrs; i++) {
		put_str(out, t->xattrs[i].name);
		put_str(out, t->xattrs[i].value);
	}
	for (uint32_t i = 0; i < t->w_extents; i++) {
		buf_append_le64(out, t->extents[i].off);
		buf_append_le32(out, t->extents[i].chunk);
	}
	for (uint32_t i = 0; i < t->w_dirents; i++) {
		buf_append_le32(out, t->dirents[i].parent);
		buf_append_le32(out, t->dirents[i].inode);
		put_str(out, t->dirents[i].name);
	}
}

enum {
	I_ROOT,	 /* /            dir 0755, xattr user.root */
	I_SUB,	 /* /sub         dir 0700 */
	I_FILE,	 /* /file, /sub/link   file of 5000 bytes: data, hole, data; 2 xattrs */
	I_SYM,	 /* /sub/sym     symlink -> ../file */
	I_NULL,	 /* /null        char device 1:3 */
	I_FIFO,	 /* /sub/fifo    fifo */
	I_EMPTY, /* /sub/empty   dir */
	I_BIG,	 /* /big         file, one 3000-byte chunk repeated twice */
	N_INODES
};

static const char xattr_bin[] = { 0, 1, 2, '\xff', 0 };

/* A valid tree that has every kind of record. */
static void sample(struct raw_tree *t)
{
	memset(t, 0, sizeof(*t));
	t->version = 1;
	t->n_packs = t->w_packs = 2;
	memset(t->packs[0], 0xaa, HASH_LEN);
	memset(t->packs[1], 0xbb, HASH_LEN);

	t->n_chunks = t->w_chunks = 3;
	t->chunks[0] = (struct raw_chunk){ { 0xc0 }, 0, 0, 1048, 1000 };
	t->chunks[1] = (struct raw_chunk){ { 0xc1 }, 1, 100, 548, 2000 };
	t->chunks[2] = (struct raw_chunk){ { 0xc2 }, 1, 648, 3048, 3000 };

	t->n_inodes = t->w_inodes = N_INODES;
	t->inodes[I_ROOT] = (struct raw_inode){ .type = NODE_DIR,
						.perm = 0755,
						.mtime_sec = 1700000000,
						.mtime_nsec = 123456789,
						.n_xattrs = 1 };
	t->inodes[I_SUB] = (struct raw_inode){ .type = NODE_DIR,
					       .perm = 0700,
					       .uid = 1234,
					       .gid = 5678,
					       .mtime_sec = -1,
					       .mtime_nsec = 999999999 };
	t->inodes[I_FILE] = (struct raw_inode){ .type = NODE_FILE,
						.perm = 04755,
						.mtime_sec = 1,
						.size = 5000,
						.n_xattrs = 2,
						.n_extents = 2 };
	t->inodes[I_SYM] = (struct raw_inode){ .type = NODE_SYMLINK,
					       .perm = 0777,
					       .size = 7,
					       .target = S("../file") };
	t->inodes[I_NULL] =
		(struct raw_inode){ .type = NODE_CHR, .perm = 0666, .rdev = makedev(1, 3) };
	t->inodes[I_FIFO] = (struct raw_inode){ .type = NODE_FIFO, .perm = 0600 };
	t->inodes[I_EMPTY] = (struct raw_inode){ .type = NODE_DIR, .perm = 01777 };
	t->inodes[I_BIG] =
		(struct raw_inode){ .type = NODE_FILE, .perm = 0, .size = 6000, .n_extents = 2 };

	t->n_xattrs = t->w_xattrs = 3;
	t->xattrs[0] = (struct raw_xattr){ S("user.root"), S("r") };
	t->xattrs[1] = (struct raw_xattr){ S("user.a"), S("") };
	t->xattrs[2] = (struct raw_xattr){ S("user.b"), B(xattr_bin, sizeof(xattr_bin)) };

	t->n_extents = t->w_extents = 4;
	t->extents[0] = (struct raw_extent){ 0, 0 };
	t->extents[1] = (struct raw_extent){ 3000, 1 };
	t->extents[2] = (struct raw_extent){ 0, 2 };
	t->extents[3] = (struct raw_extent){ 3000, 2 };

	t->n_dirents = t->w_dirents = 8;
	t->dirents[0] = (struct raw_dirent){ I_ROOT, I_BIG, S("big") };
	t->dirents[1] = (struct raw_dirent){ I_ROOT, I_FILE, S("file") };
	t->dirents[2] = (struct raw_dirent){ I_ROOT, I_NULL, S("null") };
	t->dirents[3] = (struct raw_dirent){ I_ROOT, I_SUB, S("sub") };
	t->dirents[4] = (struct raw_dirent){ I_SUB, I_EMPTY, S("empty") };
	t->dirents[5] = (struct raw_dirent){ I_SUB, I_FIFO, S("fifo") };
	t->dirents[6] = (struct raw_dirent){ I_SUB, I_FILE, S("link") };
	t->dirents[7] = (struct raw_dirent){ I_SUB, I_SYM, S("sym") };
}

/* The same tree through the public builder, added in a scrambled order. */
static struct tree *build_sample(void)
{
	struct raw_tree r;
	struct tree *t = tree_new();

	sample(&r);
	for (uint32_t i = 0; i < r.w_packs; i++)
		assert_int_equal(tree_add_pack(t, r.packs[i]), i);
	for (uint32_t i = 0; i < r.w_chunks; i++) {
		struct tree_chunk c = { .pack = r.chunks[i].pack,
					.off = r.chunks[i].off,
					.stored_len = r.chunks[i].stored_len,
					.raw_len = r.chunks[i].raw_len };
		memcpy(c.hash, r.chunks[i].hash, HASH_LEN);
		assert_int_equal(tree_add_chunk(t, &c), i);
	}
	uint32_t x = 0, e = 0;
	for (uint32_t i = 0; i < r.w_inodes; i++) {
		const struct raw_inode *n = &r.inodes[i];
		struct tree_inode ino = { .type = n->type,
					  .perm = n->perm,
					  .uid = n->uid,
					  .gid = n->gid,
					  .mtime_sec = n->mtime_sec,
					  .mtime_nsec = n->mtime_nsec,
					  .size = n->size,
					  .rdev = n->rdev,
					  .first_xattr = x,
					  .n_xattrs = n->n_xattrs,
					  .first_extent = e,
					  .n_extents = n->n_extents };
		if (n->target.len)
			ino.target = tree_add_str(t, n->target.p, n->target.len);
		x += n->n_xattrs;
		e += n->n_extents;
		assert_int_equal(tree_add_inode(t, &ino), i);
	}
	/* The file's two xattrs are added out of order: encoding sorts them. */
	const uint32_t xorder[] = { 0, 2, 1 };
	for (uint32_t i = 0; i < r.w_xattrs; i++) {
		const struct raw_xattr *a = &r.xattrs[xorder[i]];
		tree_add_xattr(t, a->name.p, a->name.len, a->value.p, a->value.len);
	}
	for (uint32_t i = 0; i < r.w_extents; i++)
		assert_int_equal(tree_add_extent(t, r.extents[i].off, r.extents[i].chunk), i);
	/* Dirents in reverse: encoding sorts them. */
	for (uint32_t i = r.w_dirents; i-- > 0;)
		tree_add_dirent(t, r.dirents[i].parent, r.dirents[i].inode, r.dirents[i].name.p,
				r.dirents[i].name.len);
	return t;
}

/* Decodes raw and expects -EBADMSG; the out-parameter stays untouched. */
static void expect_bad(const struct raw_tree *t, const char *what)
{
	AUTOBUF struct buf b = BUF_INIT;
	struct tree *sentinel = (struct tree *)(uintptr_t)0x5a5a;
	struct tree *got = sentinel;

	raw_encode(t, &b);
	/* An exact-size copy, so ASan catches reads past the end. */
	uint8_t *copy = malloc(b.len ? b.len : 1);
	memcpy(copy, b.ptr, b.len);
	int r = tree_decode(copy, b.len, &got);
	free(copy);
	if (r == 0)
		tree_free(got);
	if (r != -EBADMSG || got != sentinel)
		fail_msg("%s: tree_decode gave %d, want -EBADMSG", what, r);
}

static struct tree *expect_good(const struct raw_tree *t)
{
	AUTOBUF struct buf b = BUF_INIT;
	struct tree *got = NULL;

	raw_encode(t, &b);
	assert_int_equal(tree_decode(b.ptr, b.len, &got), 0);
	return got;
}

static bool str_is(const struct tree *t, struct tree_str s, const void *p, size_t len)
{
	return s.len == len && (len == 0 || memcmp(tree_str_ptr(t, s), p, len) == 0);
}

/* Finds the inode that name in directory dir refers to, or -1. */
static int64_t lookup(const struct tree *t, uint32_t dir, const char *name)
{
	for (uint32_t i = 0; i < t->n_dirents; i++)
		if (t->dirents[i].parent == dir &&
		    str_is(t, t->dirents[i].name, name, strlen(name)))
			return t->dirents[i].inode;
	return -1;
}

/* --- round trips -------------------------------------------------------- */

static void test_encoder_writes_the_documented_layout(void **state)
{
	(void)state;
	AUTOBUF struct buf mine = BUF_INIT;
	AUTOBUF struct buf theirs = BUF_INIT;
	struct raw_tree r;
	struct tree *t = build_sample();

	sample(&r);
	raw_encode(&r, &mine);
	assert_int_equal(tree_encode(t, &theirs), 0);
	assert_int_equal(mine.len, theirs.len);
	assert_memory_equal(mine.ptr, theirs.ptr, mine.len);
	tree_free(t);
}

static void test_tree_round_trip(void **state)
{
	(void)state;
	AUTOBUF struct buf b = BUF_INIT;
	AUTOBUF struct buf b2 = BUF_INIT;
	struct tree *t = build_sample(), *d = NULL;

	assert_int_equal(tree_encode(t, &b), 0);
	assert_int_equal(tree_decode(b.ptr, b.len, &d), 0);

	assert_int_equal(d->n_packs, 2);
	assert_memory_equal(d->packs[1], t->packs[1], HASH_LEN);
	assert_int_equal(d->n_chunks, 3);
	assert_memory_equal(&d->chunks[2].hash, &t->chunks[2].hash, HASH_LEN);
	assert_int_equal(d->chunks[1].pack, 1);
	assert_int_equal(d->chunks[1].off, 100);
	assert_int_equal(d->chunks[1].stored_len, 548);
	assert_int_equal(d->chunks[1].raw_len, 2000);
	assert_int_equal(d->n_inodes, N_INODES);
	assert_int_equal(d->n_dirents, 8);
	assert_int_equal(d->n_xattrs, 3);
	assert_int_equal(d->n_extents, 4);

	/* Names lead to the right inodes, hardlinks included. */
	assert_int_equal(lookup(d, I_ROOT, "file"), I_FILE);
	assert_int_equal(lookup(d, I_ROOT, "sub"), I_SUB);
	assert_int_equal(lookup(d, I_SUB, "link"), I_FILE);
	assert_int_equal(lookup(d, I_SUB, "sym"), I_SYM);
	assert_int_equal(lookup(d, I_SUB, "empty"), I_EMPTY);
	assert_int_equal(lookup(d, I_ROOT, "link"), -1);
	/* Dirents come out sorted by (parent, name). */
	for (uint32_t i = 1; i < d->n_dirents; i++) {
		const struct tree_dirent *a = &d->dirents[i - 1], *c = &d->dirents[i];
		if (a->parent == c->parent) {
			size_t n = MIN(a->name.len, c->name.len);
			int cmp = memcmp(tree_str_ptr(d, a->name), tree_str_ptr(d, c->name), n);
			assert_true(cmp < 0 || (cmp == 0 && a->name.len < c->name.len));
		} else {
			assert_true(a->parent < c->parent);
		}
	}

	/* Attributes. */
	const struct tree_inode *sub = &d->inodes[I_SUB], *file = &d->inodes[I_FILE];
	assert_int_equal(sub->type, NODE_DIR);
	assert_int_equal(sub->perm, 0700);
	assert_int_equal(sub->uid, 1234);
	assert_int_equal(sub->gid, 5678);
	assert_true(sub->mtime_sec == -1);
	assert_int_equal(sub->mtime_nsec, 999999999);
	assert_int_equal(file->perm, 04755);
	assert_int_equal(file->size, 5000);
	assert_int_equal(d->inodes[I_NULL].rdev, makedev(1, 3));
	assert_int_equal(d->inodes[I_EMPTY].perm, 01777);
	assert_true(str_is(d, d->inodes[I_SYM].target, "../file", 7));
	assert_int_equal(d->inodes[I_SYM].size, 7);

	/* nlink: names for files, 2 + subdirectories for directories. */
	assert_int_equal(file->nlink, 2);
	assert_int_equal(d->inodes[I_SYM].nlink, 1);
	assert_int_equal(d->inodes[I_ROOT].nlink, 3);
	assert_int_equal(sub->nlink, 3);
	assert_int_equal(d->inodes[I_EMPTY].nlink, 2);

	/* Xattrs, sorted by name within the inode, binary values intact. */
	assert_int_equal(file->n_xattrs, 2);
	const struct tree_xattr *xa = &d->xattrs[file->first_xattr];
	assert_true(str_is(d, xa[0].name, "user.a", 6));
	assert_true(str_is(d, xa[0].value, "", 0));
	assert_true(str_is(d, xa[1].name, "user.b", 6));
	assert_true(str_is(d, xa[1].value, xattr_bin, sizeof(xattr_bin)));
	assert_true(str_is(d, d->xattrs[d->inodes[I_ROOT].first_xattr].name, "user.root", 9));

	/* Extents, with the hole between them. */
	assert_int_equal(file->n_extents, 2);
	const struct tree_extent *ex = &d->extents[file->first_extent];
	assert_int_equal(ex[0].off, 0);
	assert_int_equal(ex[0].chunk, 0);
	assert_int_equal(ex[1].off, 3000);
	assert_int_equal(ex[1].chunk, 1);
	assert_int_equal(d->inodes[I_BIG].n_extents, 2);

	/* Encoding the decoded tree gives the same bytes. */
	assert_int_equal(tree_encode(d, &b2), 0);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.ptr, b2.ptr, b.len);
	tree_free(t);
	tree_free(d);
}

static void test_minimal_tree_round_trips(void **state)
{
	(void)state;
	AUTOBUF struct buf b = BUF_INIT;
	struct tree *t = tree_new(), *d = NULL;
	struct tree_inode root = { .type = NODE_DIR, .perm = 0755 };

	tree_add_inode(t, &root);
	assert_int_equal(tree_encode(t, &b), 0);
	assert_int_equal(tree_decode(b.ptr, b.len, &d), 0);
	assert_int_equal(d->n_inodes, 1);
	assert_int_equal(d->n_dirents, 0);
	assert_int_equal(d->inodes[0].nlink, 2);
	tree_free(t);
	tree_free(d);
}

static void test_tree_survives_envelope_and_backend(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf raw = BUF_INIT;
	AUTOBUF struct buf env = BUF_INIT;
	AUTOBUF struct buf got = BUF_INIT;
	AUTOBUF struct buf payload = BUF_INIT;
	struct tree *t = build_sample(), *d = NULL;
	uint8_t id[HASH_LEN], id2[HASH_LEN];
	char name[6 + HASH_HEX_LEN + 1];

	assert_int_equal(tree_encode(t, &raw), 0);
	assert_true(envelope_encode(NULL, OBJECT_TREE, raw.ptr, raw.len, 3, NULL, &env, id) > 0);
	memcpy(name, "trees/", 6);
	hex_encode(id, HASH_LEN, name + 6);
	assert_int_equal(backend_put(f->backend, name, env.ptr, env.len), 0);
	assert_int_equal(backend_get(f->backend, name, &got), 0);
	assert_int_equal(envelope_decode(NULL, got.ptr, got.len, OBJECT_TREE, ENVELOPE_RAW_MAX,
					 &payload, id2),
			 0);
	assert_memory_equal(id, id2, HASH_LEN);
	assert_int_equal(tree_decode(payload.ptr, payload.len, &d), 0);
	assert_int_equal(lookup(d, I_SUB, "sym"), I_SYM);
	tree_free(t);
	tree_free(d);
}

/* --- encoder refusals --------------------------------------------------- */

static void test_encode_rejects_duplicate_names(void **state)
{
	(void)state;
	AUTOBUF struct buf b = BUF_INIT;
	struct tree *t = build_sample();

	tree_add_dirent(t, I_SUB, I_SYM, "link", 4);
	assert_int_equal(tree_encode(t, &b), -EINVAL);
	tree_free(t);
}

static void break_xattr_range(struct tree *t)
{
	t->inodes[I_FILE].first_xattr = 2; /* 2 + 2 > 3 xattrs */
}

static void break_extent_range(struct tree *t)
{
	t->inodes[I_BIG].first_extent = 3; /* 3 + 2 > 4 extents */
}

static void break_dirent_inode(struct tree *t)
{
	tree_add_dirent(t, I_ROOT, N_INODES, "ghost", 5); /* no such inode */
}

static void break_dirent_parent(struct tree *t)
{
	tree_add_dirent(t, I_FILE, I_FIFO, "under-a-file", 12); /* parent not a directory */
}

static void break_extent_chunk(struct tree *t)
{
	t->extents[1].chunk = 3; /* no such chunk */
}

static void break_chunk_pack(struct tree *t)
{
	t->chunks[0].pack = 2; /* no such pack */
}

static void test_encode_rejects_bad_indexes(void **state)
{
	(void)state;
	static const struct {
		void (*breaks)(struct tree *t);
		const char *what;
	} cases[] = {
		{ break_xattr_range, "an xattr range past the xattrs" },
		{ break_extent_range, "an extent range past the extents" },
		{ break_dirent_inode, "a dirent to a missing inode" },
		{ break_dirent_parent, "a dirent under a file" },
		{ break_extent_chunk, "an extent of a missing chunk" },
		{ break_chunk_pack, "a chunk in a missing pack" },
	};
	int wrong = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		AUTOBUF struct buf b = BUF_INIT;
		struct tree *t = build_sample();
		cases[i].breaks(t);
		int r = tree_encode(t, &b);
		if (r != -EINVAL) {
			print_error("tree_encode of %s gave %d, want -EINVAL\n", cases[i].what, r);
			wrong++;
		}
		tree_free(t);
	}
	assert_int_equal(wrong, 0);
}

/* --- decoder refusals --------------------------------------------------- */

static void test_decode_accepts_the_sample(void **state)
{
	(void)state;
	struct raw_tree r;

	sample(&r);
	tree_free(expect_good(&r));
}

static void test_decode_rejects_truncated_and_trailing(void **state)
{
	(void)state;
	AUTOBUF struct buf b = BUF_INIT;
	struct raw_tree r;

	sample(&r);
	raw_encode(&r, &b);
	for (size_t len = 0; len < b.len; len++) {
		uint8_t *copy = malloc(len + 1);
		struct tree *got = NULL;
		memcpy(copy, b.ptr, len);
		int res = tree_decode(copy, len, &got);
		free(copy);
		if (res != -EBADMSG)
			fail_msg("a tree cut to %zu of %zu bytes gave %d", len, b.len, res);
	}
	buf_append_u8(&b, 0);
	struct tree *got = NULL;
	assert_int_equal(tree_decode(b.ptr, b.len, &got), -EBADMSG);
}

static void test_decode_rejects_wrong_version(void **state)
{
	(void)state;
	struct raw_tree r;

	sample(&r);
	r.version = 2;
	expect_bad(&r, "version 2");
	r.version = 0;
	expect_bad(&r, "version 0");
}

static void test_decode_rejects_counts_larger_than_payload(void **state)
{
	(void)state;
	struct raw_tree r;

#define BAD_COUNT(field, value)                      \
	do {                                         \
		sample(&r);                          \
		r.field = (value);                   \
		expect_bad(&r, #field " = " #value); \
	} while (0)
	BAD_COUNT(n_packs, 3);
	BAD_COUNT(n_packs, UINT32_MAX);
	BAD_COUNT(n_chunks, 4);
	BAD_COUNT(n_chunks, UINT32_MAX);
	BAD_COUNT(n_inodes, N_INODES + 1);
	BAD_COUNT(n_inodes, UINT32_MAX);
	BAD_COUNT(n_dirents, 9);
	BAD_COUNT(n_dirents, UINT32_MAX);
	BAD_COUNT(n_xattrs, 4);
	BAD_COUNT(n_xattrs, UINT32_MAX);
	BAD_COUNT(n_extents, 5);
	BAD_COUNT(n_extents, UINT32_MAX);
	BAD_COUNT(n_extents, 1ull << 32);
	BAD_COUNT(n_extents, UINT64_MAX);
	/* Smaller counts leave bytes the decoder must not ignore. */
	BAD_COUNT(n_dirents, 7);
	BAD_COUNT(n_packs, 1);
	BAD_COUNT(n_inodes, 0);
	BAD_COUNT(n_xattrs, 2);
	BAD_COUNT(n_extents, 3);
	/* Per-inode counts that do not add up to the totals. */
	BAD_COUNT(inodes[I_FILE].n_xattrs, 1);
	BAD_COUNT(inodes[I_FILE].n_xattrs, 3);
	BAD_COUNT(inodes[I_FILE].n_xattrs, UINT32_MAX);
	BAD_COUNT(inodes[I_BIG].n_extents, 1);
	BAD_COUNT(inodes[I_BIG].n_extents, UINT32_MAX);
	/* Blob lengths beyond the payload. */
	BAD_COUNT(inodes[I_SYM].target.len, 8);
	BAD_COUNT(inodes[I_SYM].target.len, UINT32_MAX);
	BAD_COUNT(xattrs[2].value.len, 6);
	BAD_COUNT(xattrs[0].name.len, UINT32_MAX);
	BAD_COUNT(dirents[7].name.len, 4);
	BAD_COUNT(dirents[0].name.len, UINT32_MAX);
#undef BAD_COUNT
}

static void test_decode_rejects_bad_indexes(void **state)
{
	(void)state;
	struct raw_tree r;

#define BAD(field, value, what)       \
	do {                          \
		sample(&r);           \
		r.field = (value);    \
		expect_bad(&r, what); \
	} while (0)
	BAD(chunks[1].pack, 2, "chunk in a pack that does not exist");
	BAD(chunks[1].pack, UINT32_MAX, "chunk in pack 2^32-1");
	BAD(extents[1].chunk, 3, "extent of a chunk that does not exist");
	BAD(extents[0].chunk, UINT32_MAX, "extent of chunk 2^32-1");
	BAD(dirents[7].inode, N_INODES, "dirent to an inode that does not exist");
	BAD(dirents[7].inode, UINT32_MAX, "dirent to inode 2^32-1");
	BAD(dirents[7].parent, N_INODES, "dirent in a directory that does not exist");
	BAD(dirents[7].parent, UINT32_MAX, "dirent in inode 2^32-1");
	BAD(dirents[7].parent, I_SYM, "dirent whose parent is a symlink");
	BAD(dirents[7].parent, I_FILE, "dirent whose parent is a file");
#undef BAD
}

static void test_decode_rejects_bad_names(void **state)
{
	(void)state;
	static const char long_name[NAME_LEN_MAX + 2] = { [0 ... NAME_LEN_MAX] = 'n' };
	/* Each bad name replaces an entry of sub/ where it keeps the order:
	 * entry 4 ("empty", first in sub/) for names sorting before "fifo",
	 * entry 7 ("sym", last) for names sorting after "link". */
	const struct {
		struct raw_str name;
		int at;
	} bad[] = {
		{ S("a/b"), 4 },      { S("/"), 4 },
		{ S("sym/"), 7 },     { S("."), 4 },
		{ S(".."), 4 },	      { S(""), 4 },
		{ B("a\0b", 3), 4 },  { B("\0", 1), 4 },
		{ B("sym\0", 4), 7 }, { B(long_name, NAME_LEN_MAX + 1), 7 },
	};
	struct raw_tree r;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		sample(&r);
		r.dirents[bad[i].at].name = bad[i].name;
		expect_bad(&r, "a bad name");
	}
	/* The same places take good names: 255 bytes, and any other byte. */
	sample(&r);
	r.dirents[7].name = B(long_name, NAME_LEN_MAX);
	tree_free(expect_good(&r));
	sample(&r);
	r.dirents[7].name = S("\xff\xfe\n ...");
	tree_free(expect_good(&r));
	sample(&r);
	r.dirents[4].name = S("...");
	tree_free(expect_good(&r));
	sample(&r);
	r.dirents[4].name = S("\x01 x");
	tree_free(expect_good(&r));
}

static void test_decode_rejects_duplicate_and_unsorted_names(void **state)
{
	(void)state;
	struct raw_tree r;

	sample(&r);
	r.dirents[7].name = S("link"); /* sub/link twice */
	expect_bad(&r, "duplicate name");
	sample(&r);
	r.dirents[6].name = S("sym"); /* sub/sym twice, to different inodes */
	expect_bad(&r, "duplicate name");
	sample(&r);
	struct raw_dirent d = r.dirents[5];
	r.dirents[5] = r.dirents[6];
	r.dirents[6] = d;
	expect_bad(&r, "names out of order");
	sample(&r);
	d = r.dirents[3];
	r.dirents[3] = r.dirents[4];
	r.dirents[4] = d;
	expect_bad(&r, "parents out of order");
	sample(&r);
	r.dirents[1].name = S("bigger"); /* "big" < "bigger" < "null": still sorted */
	tree_free(expect_good(&r));
	sample(&r);
	r.dirents[0].name = S("file"); /* equal to the next */
	expect_bad(&r, "duplicate first names");
}

static void test_decode_rejects_cycles_and_unreachable(void **state)
{
	(void)state;
	struct raw_tree r;

	/* sub hangs from its own child: a cycle cut off from the root.
	 * The entry moves to the end to keep the order (parent 6 sorts last). */
	sample(&r);
	struct raw_dirent sub = r.dirents[3];
	memmove(&r.dirents[3], &r.dirents[4], 4 * sizeof(sub));
	sub.parent = I_EMPTY;
	r.dirents[7] = sub;
	expect_bad(&r, "a directory cycle");

	/* A directory that is its own parent. */
	sample(&r);
	r.dirents[4].parent = I_SUB;
	r.dirents[4].inode = I_SUB;   /* sub/empty -> sub itself */
	r.dirents[3].inode = I_EMPTY; /* and empty hangs from the root */
	r.dirents[3].name = S("sub");
	expect_bad(&r, "a directory containing itself");

	/* The root has a name somewhere (an entry added last: parent 6). */
	sample(&r);
	r.dirents[8] = (struct raw_dirent){ I_EMPTY, I_ROOT, S("root") };
	r.n_dirents = r.w_dirents = 9;
	expect_bad(&r, "the root as a child");

	/* A directory with two names: /zzz is sub/empty too. */
	sample(&r);
	memmove(&r.dirents[5], &r.dirents[4], 4 * sizeof(r.dirents[0]));
	r.dirents[4] = (struct raw_dirent){ I_ROOT, I_EMPTY, S("zzz") };
	r.n_dirents = r.w_dirents = 9;
	expect_bad(&r, "a directory with two names");
	/* The same with a file is a hardlink, which is fine. */
	r.dirents[4].inode = I_FIFO;
	tree_free(expect_good(&r));

	/* Inodes no name reaches. */
	sample(&r);
	r.dirents[5] = r.dirents[6];
	r.dirents[6] = r.dirents[7];
	r.n_dirents = r.w_dirents = 7; /* sub/fifo is gone */
	expect_bad(&r, "an unreachable fifo");
	sample(&r);
	r.n_dirents = r.w_dirents = 0;
	expect_bad(&r, "a tree of unreachable inodes");
}

static void test_decode_rejects_bad_extents(void **state)
{
	(void)state;
	struct raw_tree r;

	sample(&r);
	r.extents[1].off = 999; /* the first covers [0, 1000) */
	expect_bad(&r, "overlapping extents");
	sample(&r);
	r.extents[1].off = 0;
	expect_bad(&r, "two extents at one offset");
	sample(&r);
	r.extents[0].off = 3000;
	r.extents[1].off = 0;
	expect_bad(&r, "descending extents");
	sample(&r);
	r.extents[3].off = 2999; /* the big file's two copies of one chunk */
	expect_bad(&r, "overlapping extents of one chunk");
	sample(&r);
	r.extents[1].off = 1000; /* adjacent is fine */
	tree_free(expect_good(&r));

	sample(&r);
	r.inodes[I_FILE].size = 4999; /* the second extent ends at 5000 */
	expect_bad(&r, "an extent past the end of the file");
	sample(&r);
	r.inodes[I_FILE].size = 0;
	expect_bad(&r, "extents in an empty file");
	sample(&r);
	r.extents[1].off = UINT64_MAX - 1000;
	r.inodes[I_FILE].size = UINT64_MAX;
	expect_bad(&r, "an extent whose end overflows");
	sample(&r);
	r.extents[1].off = 6000;
	r.inodes[I_FILE].size = 5000;
	expect_bad(&r, "an extent starting past the end");
	sample(&r);
	r.inodes[I_FILE].size = 1ull << 40; /* a long hole after the data is fine */
	tree_free(expect_good(&r));
}

static void test_decode_rejects_bad_inodes(void **state)
{
	(void)state;
	struct raw_tree r;

#define BAD(field, value, what)       \
	do {                          \
		sample(&r);           \
		r.field = (value);    \
		expect_bad(&r, what); \
	} while (0)
	BAD(inodes[I_FIFO].type, 0, "type 0");
	BAD(inodes[I_FIFO].type, NODE_SOCK + 1, "an unknown type");
	BAD(inodes[I_FIFO].type, 0xff, "type 255");
	BAD(inodes[I_ROOT].type, NODE_FILE, "a root that is not a directory");
	BAD(inodes[I_FIFO].perm, 010000, "mode bits beyond 07777");
	BAD(inodes[I_FIFO].perm, UINT32_MAX, "mode 2^32-1");
	BAD(inodes[I_FIFO].mtime_nsec, 1000000000, "nanoseconds of a full second");
	BAD(inodes[I_SYM].size, 8, "a symlink size that is not its target's length");
	BAD(inodes[I_SYM].target, S(""), "a symlink with an empty target");
	BAD(inodes[I_FIFO].target, S("x"), "a fifo with a target");
	BAD(inodes[I_FIFO].rdev, 5, "a fifo with a device number");
	BAD(inodes[I_FILE].rdev, 5, "a file with a device number");
#undef BAD
	/* Extents on something that is not a file. */
	sample(&r);
	r.inodes[I_BIG].type = NODE_SYMLINK;
	r.inodes[I_BIG].target = S("aaaaaa");
	r.inodes[I_BIG].size = 6;
	expect_bad(&r, "a symlink with extents");
	/* A symlink target longer than allowed. */
	static const char long_target[TARGET_LEN_MAX + 1] = { [0 ... TARGET_LEN_MAX] = 'x' };
	sample(&r);
	r.inodes[I_SYM].target = B(long_target, TARGET_LEN_MAX + 1);
	r.inodes[I_SYM].size = TARGET_LEN_MAX + 1;
	expect_bad(&r, "a symlink target over the limit");
	sample(&r);
	r.inodes[I_SYM].target = B(long_target, TARGET_LEN_MAX);
	r.inodes[I_SYM].size = TARGET_LEN_MAX;
	tree_free(expect_good(&r));
}

static void test_decode_rejects_bad_xattrs(void **state)
{
	(void)state;
	static const char big[XATTR_VALUE_LEN_MAX + 1];
	static const char long_name[XATTR_NAME_LEN_MAX + 1] = { [0 ... XATTR_NAME_LEN_MAX] = 'u' };
	struct raw_tree r;

	sample(&r);
	r.xattrs[1].name = S("user.b"); /* user.b twice */
	expect_bad(&r, "a duplicate xattr name");
	sample(&r);
	r.xattrs[1].name = S("user.c"); /* user.c before user.b */
	expect_bad(&r, "xattr names out of order");
	sample(&r);
	r.xattrs[1].name = S("");
	expect_bad(&r, "an empty xattr name");
	sample(&r);
	r.xattrs[1].name = B("user.\0a", 7);
	expect_bad(&r, "an xattr name with NUL");
	sample(&r);
	r.xattrs[2].value = B(big, XATTR_VALUE_LEN_MAX + 1);
	expect_bad(&r, "an xattr value over the limit");
	sample(&r);
	r.xattrs[2].name = B(long_name, XATTR_NAME_LEN_MAX + 1);
	expect_bad(&r, "an xattr name over the limit");
	sample(&r);
	r.xattrs[2].value = B(big, XATTR_VALUE_LEN_MAX);
	tree_free(expect_good(&r));
}

static void test_decode_rejects_bad_chunks(void **state)
{
	(void)state;
	struct raw_tree r;

#define BAD(field, value, what)       \
	do {                          \
		sample(&r);           \
		r.field = (value);    \
		expect_bad(&r, what); \
	} while (0)
	BAD(chunks[0].raw_len, 0, "an empty chunk");
	BAD(chunks[0].stored_len, ENVELOPE_HEADER_SIZE - 1, "a chunk shorter than its envelope");
	BAD(chunks[0].stored_len, 1000 + ENVELOPE_OVERHEAD_MAX + 1,
	    "stored beyond raw + the most an envelope adds");
	BAD(chunks[0].off, UINT64_MAX - 10, "a chunk whose end overflows");
#undef BAD
	sample(&r);
	r.chunks[2].raw_len = CHUNK_SIZE_MAX_LIMIT + 1;
	r.chunks[2].stored_len = 1000;
	r.inodes[I_BIG].size = 1ull << 30;
	r.extents[3].off = 1ull << 29;
	expect_bad(&r, "a chunk over the chunk size limit");
}

/* --- snapshot headers ----------------------------------------------------- */

static void sample_header(struct snapshot_header *h)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->member, "replica-0");
	h->time_sec = 1795380808; /* 2026-11-22T205328Z */
	h->time_nsec = 123456789;
	memset(h->tree_id, 0x3c, HASH_LEN);
	strcpy(h->host, "node-1.example");
	h->tags[0] = xstrdup("nightly");
	h->tags[1] = xstrdup("pre-upgrade");
	h->n_tags = 2;
	h->n_files = 100060;
	h->n_dirs = 1500;
	h->n_bytes = 542000000;
	h->n_stored = 1u << 30;
	h->n_inodes = 101560;
	h->root_perm = 0750;
	h->root_uid = 1000;
	h->root_gid = 1001;
	h->root_nlink = 7;
	h->root_mtime_sec = 1600000000;
	h->root_mtime_nsec = 999;
}

static void test_snapshot_header_round_trip(void **state)
{
	(void)state;
	AUTOBUF struct buf b = BUF_INIT;
	struct snapshot_header h, d;

	sample_header(&h);
	snapshot_header_encode(&h, &b);
	assert_int_equal(snapshot_header_decode(b.ptr, b.len, &d), 0);
	assert_string_equal(d.member, "replica-0");
	assert_true(d.time_sec == h.time_sec);
	assert_int_equal(d.time_nsec, h.time_nsec);
	assert_memory_equal(d.tree_id, h.tree_id, HASH_LEN);
	assert_string_equal(d.host, h.host);
	assert_int_equal(d.n_tags, 2);
	assert_string_equal(d.tags[0], "nightly");
	assert_string_equal(d.tags[1], "pre-upgrade");
	assert_int_equal(d.n_files, h.n_files);
	assert_int_equal(d.n_dirs, h.n_dirs);
	assert_int_equal(d.n_bytes, h.n_bytes);
	assert_int_equal(d.n_stored, h.n_stored);
	assert_int_equal(d.n_inodes, h.n_inodes);
	assert_int_equal(d.root_perm, 0750);
	assert_int_equal(d.root_uid, 1000);
	assert_int_equal(d.root_gid, 1001);
	assert_int_equal(d.root_nlink, 7);
	assert_true(d.root_mtime_sec == 1600000000);
	assert_int_equal(d.root_mtime_nsec, 999);
	snapshot_header_release(&d);

	/* No tags, empty host, limits. */
	snapshot_header_release(&h);
	h.host[0] = '\0';
	memset(h.member, 'm', MEMBER_NAME_MAX);
	h.member[MEMBER_NAME_MAX] = '\0';
	buf_reset(&b);
	snapshot_header_encode(&h, &b);
	assert_int_equal(snapshot_header_decode(b.ptr, b.len, &d), 0);
	assert_int_equal(d.n_tags, 0);
	assert_int_equal(strlen(d.member), MEMBER_NAME_MAX);
	snapshot_header_release(&d);
	snapshot_header_release(&h);
}

/* Encodes h (whose tags it frees) and expects the decoder to refuse it. */
static void expect_bad_header(struct snapshot_header *h, const char *what)
{
	AUTOBUF struct buf b = BUF_INIT;
	struct snapshot_header d;

	snapshot_header_encode(h, &b);
	snapshot_header_release(h);
	memset(&d, 0x5a, sizeof(d));
	uint8_t *copy = malloc(b.len);
	memcpy(copy, b.ptr, b.len);
	int r = snapshot_header_decode(copy, b.len, &d);
	free(copy);
	if (r == 0)
		snapshot_header_release(&d);
	if (r != -EBADMSG)
		fail_msg("%s: snapshot_header_decode gave %d, want -EBADMSG", what, r);
	for (size_t i = 0; i < sizeof(d); i++)
		if (((uint8_t *)&d)[i] != 0x5a)
			fail_msg("%s: the header was written though decoding failed", what);
}

static void test_snapshot_header_rejects_damage(void **state)
{
	(void)state;
	AUTOBUF struct buf b = BUF_INIT;
	struct snapshot_header h, d;

	sample_header(&h);
	snapshot_header_encode(&h, &b);
	snapshot_header_release(&h);
	for (size_t len = 0; len < b.len; len++) {
		uint8_t *copy = malloc(len + 1);
		memcpy(copy, b.ptr, len);
		int r = snapshot_header_decode(copy, len, &d);
		free(copy);
		if (r != -EBADMSG)
			fail_msg("a header cut to %zu of %zu bytes gave %d", len, b.len, r);
	}
	buf_append_u8(&b, 0);
	assert_int_equal(snapshot_header_decode(b.ptr, b.len, &d), -EBADMSG);
	b.len--;
	b.ptr[0] = 2; /* version */
	assert_int_equal(snapshot_header_decode(b.ptr, b.len, &d), -EBADMSG);

#define BAD(stmt, what)                      \
	do {                                 \
		sample_header(&h);           \
		stmt;                        \
		expect_bad_header(&h, what); \
	} while (0)
	BAD(strcpy(h.member, ""), "an empty member name");
	BAD(strcpy(h.member, "-x"), "a member name starting with '-'");
	BAD(strcpy(h.member, ".x"), "a member name starting with '.'");
	BAD(strcpy(h.member, "a/b"), "a member name with '/'");
	BAD(strcpy(h.member, "a b"), "a member name with a space");
	BAD(strcpy(h.member, ".."), "member '..'");
	BAD(h.time_sec = -1, "a time before 1970");
	BAD(h.time_sec = INT64_MAX, "a time past year 9999");
	BAD(h.time_nsec = 1000000000, "nanoseconds of a full second");
	BAD(h.root_mtime_nsec = 1000000000, "root nanoseconds of a full second");
	BAD(h.root_perm = 010000, "root mode beyond 07777");
	BAD(h.n_inodes = 0, "a tree without inodes");
	BAD(free(h.tags[1]); h.tags[1] = xstrdup(""), "an empty tag");
	BAD(free(h.tags[1]); h.tags[1] = xstrdup("a,b"), "a tag with a comma");
	BAD(free(h.tags[1]); h.tags[1] = calloc(1, TAG_LEN_MAX + 2);
	    memset(h.tags[1], 't', TAG_LEN_MAX + 1), "a tag over the limit");
#undef BAD
	/* Too many tags. */
	sample_header(&h);
	while (h.n_tags < TAGS_MAX)
		h.tags[h.n_tags++] = xstrdup("t");
	{
		AUTOBUF struct buf ok = BUF_INIT;
		snapshot_header_encode(&h, &ok);
		assert_int_equal(snapshot_header_decode(ok.ptr, ok.len, &d), 0);
		assert_int_equal(d.n_tags, TAGS_MAX);
		snapshot_header_release(&d);
	}
	snapshot_header_release(&h);
	/* One more than TAGS_MAX, written by hand: the count sits after the
	 * member, time, tree id and host. */
	sample_header(&h);
	snapshot_header_release(&h);
	buf_reset(&b);
	snapshot_header_encode(&h, &b);
	size_t count_off = 4 + 4 + strlen(h.member) + 12 + HASH_LEN + 4 + strlen(h.host);
	assert_int_equal(get_le32(b.ptr + count_off), 0);
	AUTOBUF struct buf many = BUF_INIT;
	buf_append(&many, b.ptr, count_off);
	buf_append_le32(&many, TAGS_MAX + 1);
	for (int i = 0; i < TAGS_MAX + 1; i++)
		buf_append_blob32(&many, "t", 1);
	buf_append(&many, b.ptr + count_off + 4, b.len - count_off - 4);
	assert_int_equal(snapshot_header_decode(many.ptr, many.len, &d), -EBADMSG);
	/* A member name with a NUL inside, and one over the limit. */
	AUTOBUF struct buf nul = BUF_INIT;
	buf_append_le32(&nul, 1);
	buf_append_blob32(&nul, "ab\0c", 4);
	buf_append(&nul, b.ptr + 4 + 4 + strlen(h.member), b.len - 8 - strlen(h.member));
	assert_int_equal(snapshot_header_decode(nul.ptr, nul.len, &d), -EBADMSG);
	AUTOBUF struct buf lng = BUF_INIT;
	char m[MEMBER_NAME_MAX + 1];
	memset(m, 'm', sizeof(m));
	buf_append_le32(&lng, 1);
	buf_append_blob32(&lng, m, sizeof(m));
	buf_append(&lng, b.ptr + 4 + 4 + strlen(h.member), b.len - 8 - strlen(h.member));
	assert_int_equal(snapshot_header_decode(lng.ptr, lng.len, &d), -EBADMSG);
	/* The same splice with a good name decodes, so the splices are right. */
	AUTOBUF struct buf good = BUF_INIT;
	buf_append_le32(&good, 1);
	buf_append_blob32(&good, "abc", 3);
	buf_append(&good, b.ptr + 4 + 4 + strlen(h.member), b.len - 8 - strlen(h.member));
	assert_int_equal(snapshot_header_decode(good.ptr, good.len, &d), 0);
	assert_string_equal(d.member, "abc");
	snapshot_header_release(&d);
}

/* --- names and times ------------------------------------------------------ */

static void test_name_and_member_validation(void **state)
{
	(void)state;
	char n255[256], n256[257];

	memset(n255, 'x', 255);
	memset(n256, 'x', 256);
	assert_true(name_is_valid_component("a", 1));
	assert_true(name_is_valid_component("...", 3));
	assert_true(name_is_valid_component(".hidden", 7));
	assert_true(name_is_valid_component("\xff\n", 2));
	assert_true(name_is_valid_component(n255, 255));
	assert_false(name_is_valid_component(n256, 256));
	assert_false(name_is_valid_component("", 0));
	assert_false(name_is_valid_component(".", 1));
	assert_false(name_is_valid_component("..", 2));
	assert_false(name_is_valid_component("a/b", 3));
	assert_false(name_is_valid_component("a\0b", 3));

	assert_true(member_name_is_valid("replica-0"));
	assert_true(member_name_is_valid("A0._-z"));
	assert_true(member_name_is_valid("7"));
	assert_false(member_name_is_valid(""));
	assert_false(member_name_is_valid("-a"));
	assert_false(member_name_is_valid(".a"));
	assert_false(member_name_is_valid("_a"));
	assert_false(member_name_is_valid("a/b"));
	assert_false(member_name_is_valid("a b"));
	assert_false(member_name_is_valid("a:b"));
	assert_false(member_name_is_valid("\xc3\xbc"));
	char m[MEMBER_NAME_MAX + 2];
	memset(m, 'm', sizeof(m));
	m[MEMBER_NAME_MAX] = '\0';
	assert_true(member_name_is_valid(m));
	m[MEMBER_NAME_MAX] = 'm';
	m[MEMBER_NAME_MAX + 1] = '\0';
	assert_false(member_name_is_valid(m));
}

static void test_node_type_to_mode(void **state)
{
	(void)state;
	assert_int_equal(node_type_to_mode(NODE_DIR), S_IFDIR);
	assert_int_equal(node_type_to_mode(NODE_FILE), S_IFREG);
	assert_int_equal(node_type_to_mode(NODE_SYMLINK), S_IFLNK);
	assert_int_equal(node_type_to_mode(NODE_FIFO), S_IFIFO);
	assert_int_equal(node_type_to_mode(NODE_CHR), S_IFCHR);
	assert_int_equal(node_type_to_mode(NODE_BLK), S_IFBLK);
	assert_int_equal(node_type_to_mode(NODE_SOCK), S_IFSOCK);
}

static void test_snapshot_time_name_and_parse(void **state)
{
	(void)state;
	char name[SNAPSHOT_TIME_NAME_LEN];
	int64_t t;

	snapshot_time_name(1795380808, name);
	assert_string_equal(name, "2026-11-22T205328Z");
	snapshot_time_name(0, name);
	assert_string_equal(name, "1970-01-01T000000Z");
	snapshot_time_name(253402300799LL, name);
	assert_string_equal(name, "9999-12-31T235959Z");

	static const struct {
		const char *s;
		int64_t want;
	} good[] = {
		{ "2026-11-22T205328Z", 1795380808 },  { "2026-11-22T20:53:28Z", 1795380808 },
		{ "2026-11-22 20:53:28", 1795380808 }, { "2026-11-22", 1795305600 },
		{ "@1795380808", 1795380808 },	       { "@0", 0 },
		{ "1970-01-01T000000Z", 0 },	       { "2024-02-29T120000Z", 1709208000 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		t = -42;
		if (snapshot_time_parse(good[i].s, &t) != 0 || t != good[i].want)
			fail_msg("'%s' parsed to %lld, want %lld", good[i].s, (long long)t,
				 (long long)good[i].want);
	}
	static const char *const bad[] = {
		"",
		"now",
		"2026",
		"2026-11",
		"2026-11-22T",
		"2026-11-22T2053Z",
		"2026-11-22T205328Z ",
		" 2026-11-22T205328Z",
		"2026-11-22T205328Zjunk",
		"2026-13-01",
		"2026-00-10",
		"2026-11-00",
		"2026-11-32",
		"2026-11-22T245328Z",
		"2026-11-22T206028Z",
		"2026-02-30",
		"2025-02-29T000000Z",
		"2026/11/22",
		"@",
		"@-1",
		"@abc",
		"@1x",
		"@99999999999999999999",
		"10000-01-01",
		"1969-12-31T235959Z",
	};
	int wrong = 0;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		t = -42;
		int r = snapshot_time_parse(bad[i], &t);
		if (r != -EINVAL || t != -42) {
			print_error("'%s' should be rejected: got %d, %lld\n", bad[i], r,
				    (long long)t);
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
	/* Every name parses back to its time. */
	for (int64_t s = 0; s < 253402300799LL; s = s * 3 + 86399) {
		snapshot_time_name(s, name);
		assert_int_equal(snapshot_time_parse(name, &t), 0);
		assert_true(t == s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoder_writes_the_documented_layout),
		cmocka_unit_test(test_tree_round_trip),
		cmocka_unit_test(test_minimal_tree_round_trips),
		cmocka_unit_test(test_tree_survives_envelope_and_backend),
		cmocka_unit_test(test_encode_rejects_duplicate_names),
		cmocka_unit_test(test_encode_rejects_bad_indexes),
		cmocka_unit_test(test_decode_accepts_the_sample),
		cmocka_unit_test(test_decode_rejects_truncated_and_trailing),
		cmocka_unit_test(test_decode_rejects_wrong_version),
		cmocka_unit_test(test_decode_rejects_counts_larger_than_payload),
		cmocka_unit_test(test_decode_rejects_bad_indexes),
		cmocka_unit_test(test_decode_rejects_bad_names),
		cmocka_unit_test(test_decode_rejects_duplicate_and_unsorted_names),
		cmocka_unit_test(test_decode_rejects_cycles_and_unreachable),
		cmocka_unit_test(test_decode_rejects_bad_extents),
		cmocka_unit_test(test_decode_rejects_bad_inodes),
		cmocka_unit_test(test_decode_rejects_bad_xattrs),
		cmocka_unit_test(test_decode_rejects_bad_chunks),
		cmocka_unit_test(test_snapshot_header_round_trip),
		cmocka_unit_test(test_snapshot_header_rejects_damage),
		cmocka_unit_test(test_name_and_member_validation),
		cmocka_unit_test(test_node_type_to_mode),
		cmocka_unit_test(test_snapshot_time_name_and_parse),
	};
	return cmocka_run_group_tests_name("manifest", tests, group_setup, group_teardown);
}
