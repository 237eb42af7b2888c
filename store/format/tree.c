/*
 * tree.c - encode and decode trees: every inode, directory entry, xattr and
 * file extent of a snapshot, and where each chunk it uses lives.
 *
 * A tree is a raw payload inside an envelope of kind OBJECT_TREE; integers
 * are little-endian, "blob" is a u32 length followed by that many bytes.
 *
 * Tree payload:
 *
 *   size        meaning
 *   4           tree format version (1)
 *   4,4,4,4,4   n_packs, n_chunks, n_inodes, n_dirents, n_xattrs
 *   8           n_extents
 *   32 each     pack ids
 *   52 each     chunks: hash 32, pack index 4, offset 8, stored length 4, raw length 4
 *   per inode   type 1, perm 4, uid 4, gid 4, mtime sec 8, mtime nsec 4, size 8,
 *               rdev 8, symlink target blob, n_xattrs 4, n_extents 4
 *   per xattr   name blob, value blob      (grouped by inode, names ascending)
 *   12 each     extents: file offset 8, chunk index 4   (grouped by inode, ascending)
 *   per dirent  parent inode 4, inode 4, name blob   (sorted by parent, then name bytes)
 *
 * Inode 0 is the root directory. Decoding trusts nothing: every count is
 * bounded by the bytes left before anything is allocated, every index is
 * range-checked, names are valid path components, extents ascend without
 * overlap and stay inside the file, each directory but the root has exactly
 * one name, and every inode is reachable from the root (so there are no
 * cycles). Consumers may then walk a decoded tree without further checks.
 *
 */
#include "format/tree.h"
#include "format/chunker.h"
#include "format/envelope.h"
#include "base/rbuf.h"

#include <sys/stat.h>

#define TREE_VERSION 1
#define CHUNK_RECORD 52
#define INODE_RECORD_MIN 53
#define XATTR_RECORD_MIN 9
#define EXTENT_RECORD 12
#define DIRENT_RECORD_MIN 13

uint32_t node_type_to_mode(enum node_type t)
{
	switch (t) {
	case NODE_DIR:
		return S_IFDIR;
	case NODE_FILE:
		return S_IFREG;
	case NODE_SYMLINK:
		return S_IFLNK;
	case NODE_FIFO:
		return S_IFIFO;
	case NODE_CHR:
		return S_IFCHR;
	case NODE_BLK:
		return S_IFBLK;
	case NODE_SOCK:
		return S_IFSOCK;
	}
	return 0;
}

bool name_is_valid_component(const void *name, size_t len)
{
	const uint8_t *p = name;

	if (len == 0 || len > NAME_LEN_MAX)
		return false;
	if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
		return false;
	return !memchr(p, '/', len) && !memchr(p, '\0', len);
}

/* --- building --- */

#define GROW(t, arr, n, cap) XGROW_ARRAY((t)->arr, (t)->cap, (size_t)(t)->n + 1)

struct tree *tree_new(void)
{
	return xcalloc(1, sizeof(struct tree));
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	buf_release(&t->arena);
	free(t->packs);
	free(t->chunks);
	free(t->inodes);
	free(t->dirents);
	free(t->xattrs);
	free(t->extents);
	free(t);
}

struct tree_str tree_add_str(struct tree *t, const void *data, size_t len)
{
	struct tree_str s = { t->arena.len, (uint32_t)len };
	buf_append(&t->arena, data, len);
	return s;
}

uint32_t tree_add_pack(struct tree *t, const uint8_t id[HASH_LEN])
{
	GROW(t, packs, n_packs, cap_packs);
	memcpy(t->packs[t->n_packs], id, HASH_LEN);
	return t->n_packs++;
}

uint32_t tree_add_chunk(struct tree *t, const struct tree_chunk *c)
{
	GROW(t, chunks, n_chunks, cap_chunks);
	t->chunks[t->n_chunks] = *c;
	return t->n_chunks++;
}

uint32_t tree_add_inode(struct tree *t, const struct tree_inode *ino)
{
	GROW(t, inodes, n_inodes, cap_inodes);
	t->inodes[t->n_inodes] = *ino;
	return t->n_inodes++;
}

uint32_t tree_add_dirent(struct tree *t, uint32_t parent, uint32_t inode, const void *name,
			 size_t len)
{
	GROW(t, dirents, n_dirents, cap_dirents);
	t->dirents[t->n_dirents] =
		(struct tree_dirent){ parent, inode, tree_add_str(t, name, len) };
	return t->n_dirents++;
}

uint32_t tree_add_xattr(struct tree *t, const void *name, size_t name_len, const void *value,
			size_t value_len)
{
	GROW(t, xattrs, n_xattrs, cap_xattrs);
	struct tree_xattr *x = &t->xattrs[t->n_xattrs];
	x->name = tree_add_str(t, name, name_len);
	x->value = tree_add_str(t, value, value_len);
	return t->n_xattrs++;
}

uint64_t tree_add_extent(struct tree *t, uint64_t off, uint32_t chunk)
{
	GROW(t, extents, n_extents, cap_extents);
	t->extents[t->n_extents] = (struct tree_extent){ off, chunk };
	return t->n_extents++;
}

static int str_cmp(const struct tree *t, struct tree_str a, struct tree_str b)
{
	int c = memcmp(tree_str_ptr(t, a), tree_str_ptr(t, b), MIN(a.len, b.len));
	if (c)
		return c;
	return a.len < b.len ? -1 : a.len > b.len;
}

static int dirent_cmp(const void *pa, const void *pb, void *arg)
{
	const struct tree_dirent *a = pa, *b = pb;
	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	return str_cmp(arg, a->name, b->name);
}

static int xattr_cmp(const void *pa, const void *pb, void *arg)
{
	const struct tree_xattr *a = pa, *b = pb;
	return str_cmp(arg, a->name, b->name);
}

static void append_str(struct buf *out, const struct tree *t, struct tree_str s)
{
	buf_append_blob32(out, tree_str_ptr(t, s), s.len);
}

int tree_encode(struct tree *t, struct buf *out)
{
	/* Refuse to write what tree_decode() would refuse to read: a bug in
	 * a builder must fail the backup, not leave an unreadable snapshot. */
	for (uint32_t i = 0; i < t->n_chunks; i++) {
		if (t->chunks[i].pack >= t->n_packs)
			return -EINVAL;
	}
	for (uint64_t i = 0; i < t->n_extents; i++) {
		if (t->extents[i].chunk >= t->n_chunks)
			return -EINVAL;
	}
	for (uint32_t i = 0; i < t->n_dirents; i++) {
		const struct tree_dirent *d = &t->dirents[i];
		if (d->parent >= t->n_inodes || d->inode >= t->n_inodes ||
		    t->inodes[d->parent].type != NODE_DIR)
			return -EINVAL;
	}
	/* qsort_r's array must not be NULL even when empty, and a tree built
	 * without dirents or xattrs has NULL arrays. */
	if (t->n_dirents > 1)
		qsort_r(t->dirents, t->n_dirents, sizeof(*t->dirents), dirent_cmp, t);
	for (uint32_t i = 0; i < t->n_inodes; i++) {
		struct tree_inode *ino = &t->inodes[i];
		if ((uint64_t)ino->first_xattr + ino->n_xattrs > t->n_xattrs ||
		    (uint64_t)ino->first_extent + ino->n_extents > t->n_extents)
			return -EINVAL;
		if (ino->n_xattrs > 1)
			qsort_r(t->xattrs + ino->first_xattr, ino->n_xattrs, sizeof(*t->xattrs),
				xattr_cmp, t);
	}

	buf_append_le32(out, TREE_VERSION);
	buf_append_le32(out, t->n_packs);
	buf_append_le32(out, t->n_chunks);
	buf_append_le32(out, t->n_inodes);
	buf_append_le32(out, t->n_dirents);
	buf_append_le32(out, t->n_xattrs);
	buf_append_le64(out, t->n_extents);
	for (uint32_t i = 0; i < t->n_packs; i++)
		buf_append(out, t->packs[i], HASH_LEN);
	for (uint32_t i = 0; i < t->n_chunks; i++) {
		const struct tree_chunk *c = &t->chunks[i];
		buf_append(out, c->hash, HASH_LEN);
		buf_append_le32(out, c->pack);
		buf_append_le64(out, c->off);
		buf_append_le32(out, c->stored_len);
		buf_append_le32(out, c->raw_len);
	}
	/* Xattrs and extents are written grouped by inode, from each
	 * inode's range, whatever order the builder added them in. */
	for (uint32_t i = 0; i < t->n_inodes; i++) {
		const struct tree_inode *ino = &t->inodes[i];
		buf_append_u8(out, (uint8_t)ino->type);
		buf_append_le32(out, ino->perm);
		buf_append_le32(out, ino->uid);
		buf_append_le32(out, ino->gid);
		buf_append_le64(out, (uint64_t)ino->mtime_sec);
		buf_append_le32(out, ino->mtime_nsec);
		buf_append_le64(out, ino->size);
		buf_append_le64(out, ino->rdev);
		append_str(out, t, ino->target);
		buf_append_le32(out, ino->n_xattrs);
		buf_append_le32(out, ino->n_extents);
	}
	for (uint32_t i = 0; i < t->n_inodes; i++) {
		const struct tree_inode *ino = &t->inodes[i];
		for (uint32_t j = 0; j < ino->n_xattrs; j++) {
			append_str(out, t, t->xattrs[ino->first_xattr + j].name);
			append_str(out, t, t->xattrs[ino->first_xattr + j].value);
		}
	}
	for (uint32_t i = 0; i < t->n_inodes; i++) {
		const struct tree_inode *ino = &t->inodes[i];
		for (uint32_t j = 0; j < ino->n_extents; j++) {
			buf_append_le64(out, t->extents[ino->first_extent + j].off);
			buf_append_le32(out, t->extents[ino->first_extent + j].chunk);
		}
	}
	for (uint32_t i = 0; i < t->n_dirents; i++) {
		const struct tree_dirent *d = &t->dirents[i];
		if (i > 0 && dirent_cmp(&t->dirents[i - 1], d, t) == 0)
			return -EINVAL; /* duplicate name in one directory */
		buf_append_le32(out, d->parent);
		buf_append_le32(out, d->inode);
		append_str(out, t, d->name);
	}
	return 0;
}

/* --- decoding --- */

/* Borrows a blob from r as a string of the tree's arena (the arena is the
 * payload itself, so offsets are positions in it). */
static struct tree_str take_str(struct rbuf *r, uint32_t max)
{
	uint32_t len;
	size_t off = r->off + 4;
	const uint8_t *p = rbuf_blob32(r, max, &len);
	return (struct tree_str){ p ? off : 0, p ? len : 0 };
}

static int decode_chunks(struct rbuf *r, struct tree *t)
{
	for (uint32_t i = 0; i < t->n_packs; i++)
		rbuf_copy(r, t->packs[i], HASH_LEN);
	for (uint32_t i = 0; i < t->n_chunks; i++) {
		struct tree_chunk *c = &t->chunks[i];
		rbuf_copy(r, c->hash, HASH_LEN);
		c->pack = rbuf_le32(r);
		c->off = rbuf_le64(r);
		c->stored_len = rbuf_le32(r);
		c->raw_len = rbuf_le32(r);
		if (c->pack >= t->n_packs || c->raw_len == 0 || c->raw_len > CHUNK_SIZE_MAX_LIMIT ||
		    c->stored_len < ENVELOPE_HEADER_SIZE ||
		    c->stored_len > c->raw_len + ENVELOPE_OVERHEAD_MAX ||
		    c->off > UINT64_MAX - c->stored_len)
			return -EBADMSG;
	}
	return rbuf_ok(r) ? 0 : -EBADMSG;
}

static int decode_inodes(struct rbuf *r, struct tree *t)
{
	uint64_t xattrs = 0, extents = 0;

	for (uint32_t i = 0; i < t->n_inodes; i++) {
		struct tree_inode *ino = &t->inodes[i];
		uint8_t type = rbuf_u8(r);
		ino->type = (enum node_type)type;
		ino->perm = rbuf_le32(r);
		ino->uid = rbuf_le32(r);
		ino->gid = rbuf_le32(r);
		ino->mtime_sec = (int64_t)rbuf_le64(r);
		ino->mtime_nsec = rbuf_le32(r);
		ino->size = rbuf_le64(r);
		ino->rdev = rbuf_le64(r);
		ino->target = take_str(r, TARGET_LEN_MAX);
		ino->n_xattrs = rbuf_le32(r);
		ino->n_extents = rbuf_le32(r);
		if (!rbuf_ok(r) || type < NODE_DIR || type > NODE_SOCK || ino->perm > 07777 ||
		    ino->mtime_nsec >= 1000000000u)
			return -EBADMSG;
		if (type == NODE_SYMLINK) {
			if (ino->target.len == 0 || ino->size != ino->target.len)
				return -EBADMSG;
		} else if (ino->target.len != 0) {
			return -EBADMSG;
		}
		if (type != NODE_FILE && ino->n_extents != 0)
			return -EBADMSG;
		if (type != NODE_CHR && type != NODE_BLK && ino->rdev != 0)
			return -EBADMSG;
		ino->first_xattr = (uint32_t)xattrs;
		ino->first_extent = (uint32_t)extents;
		xattrs += ino->n_xattrs;
		extents += ino->n_extents;
		if (xattrs > t->n_xattrs || extents > t->n_extents)
			return -EBADMSG;
	}
	if (xattrs != t->n_xattrs || extents != t->n_extents)
		return -EBADMSG;
	if (t->n_inodes == 0 || t->inodes[0].type != NODE_DIR)
		return -EBADMSG;
	return 0;
}

static int decode_xattrs_extents(struct rbuf *r, struct tree *t)
{
	for (uint32_t i = 0; i < t->n_inodes; i++) {
		const struct tree_inode *ino = &t->inodes[i];
		for (uint32_t j = 0; j < ino->n_xattrs; j++) {
			struct tree_xattr *x = &t->xattrs[ino->first_xattr + j];
			x->name = take_str(r, XATTR_NAME_LEN_MAX);
			x->value = take_str(r, XATTR_VALUE_LEN_MAX);
			if (!rbuf_ok(r) || x->name.len == 0 ||
			    memchr(tree_str_ptr(t, x->name), '\0', x->name.len))
				return -EBADMSG;
			if (j > 0 && str_cmp(t, x[-1].name, x->name) >= 0)
				return -EBADMSG;
		}
	}
	for (uint32_t i = 0; i < t->n_inodes; i++) {
		const struct tree_inode *ino = &t->inodes[i];
		uint64_t end = 0;
		for (uint32_t j = 0; j < ino->n_extents; j++) {
			struct tree_extent *e = &t->extents[ino->first_extent + j];
			e->off = rbuf_le64(r);
			e->chunk = rbuf_le32(r);
			if (!rbuf_ok(r) || e->chunk >= t->n_chunks || e->off < end)
				return -EBADMSG;
			uint32_t len = t->chunks[e->chunk].raw_len;
			if (e->off > ino->size || len > ino->size - e->off)
				return -EBADMSG;
			end = e->off + len;
		}
	}
	return 0;
}

/* Checks that every inode has the right number of names and hangs off the
 * root; fills nlink. */
static int check_structure(struct tree *t)
{
	AUTOFREE uint32_t *names = xcalloc(t->n_inodes, sizeof(uint32_t));
	AUTOFREE uint32_t *parent = xcalloc(t->n_inodes, sizeof(uint32_t));
	AUTOFREE uint8_t *state = xcalloc(t->n_inodes, 1); /* 0 new, 1 on path, 2 reached */
	AUTOFREE uint32_t *path = xcalloc(t->n_inodes, sizeof(uint32_t));

	for (uint32_t i = 0; i < t->n_dirents; i++) {
		const struct tree_dirent *d = &t->dirents[i];
		names[d->inode]++;
		parent[d->inode] = d->parent;
		if (t->inodes[d->inode].type == NODE_DIR)
			t->inodes[d->parent].nlink++;
	}
	if (names[0] != 0)
		return -EBADMSG;
	for (uint32_t i = 1; i < t->n_inodes; i++) {
		if (names[i] == 0 || (t->inodes[i].type == NODE_DIR && names[i] != 1))
			return -EBADMSG;
	}
	/* Each directory has one parent, so walking up either reaches the
	 * root or loops; mark what reaches the root. */
	state[0] = 2;
	for (uint32_t i = 1; i < t->n_inodes; i++) {
		if (t->inodes[i].type != NODE_DIR || state[i] == 2)
			continue;
		uint32_t n = 0, cur = i;
		while (state[cur] == 0) {
			state[cur] = 1;
			path[n++] = cur;
			cur = parent[cur];
		}
		if (state[cur] == 1)
			return -EBADMSG; /* a cycle that never reaches the root */
		while (n > 0)
			state[path[--n]] = 2;
	}
	for (uint32_t i = 0; i < t->n_inodes; i++) {
		struct tree_inode *ino = &t->inodes[i];
		if (ino->type == NODE_DIR)
			ino->nlink += 2;
		else
			ino->nlink = names[i];
	}
	return 0;
}

int tree_decode(const uint8_t *data, size_t len, struct tree **ret)
{
	struct rbuf r = rbuf_make(data, len);
	struct tree *t;
	int res;

	uint32_t version = rbuf_le32(&r);
	uint32_t n_packs = rbuf_le32(&r), n_chunks = rbuf_le32(&r), n_inodes = rbuf_le32(&r);
	uint32_t n_dirents = rbuf_le32(&r), n_xattrs = rbuf_le32(&r);
	uint64_t n_extents = rbuf_le64(&r);
	if (!rbuf_ok(&r) || version != TREE_VERSION)
		return -EBADMSG;
	/* Bound every count by what the remaining bytes could hold. */
	size_t left = rbuf_left(&r);
	if (n_packs > left / HASH_LEN || n_chunks > left / CHUNK_RECORD ||
	    n_inodes > left / INODE_RECORD_MIN || n_dirents > left / DIRENT_RECORD_MIN ||
	    n_xattrs > left / XATTR_RECORD_MIN || n_extents > left / EXTENT_RECORD ||
	    n_extents > UINT32_MAX)
		return -EBADMSG;

	t = tree_new();
	/* The arena is a copy of the payload; decoded strings point into it. */
	buf_append(&t->arena, data, len);
	t->n_packs = t->cap_packs = n_packs;
	t->n_chunks = t->cap_chunks = n_chunks;
	t->n_inodes = t->cap_inodes = n_inodes;
	t->n_dirents = t->cap_dirents = n_dirents;
	t->n_xattrs = t->cap_xattrs = n_xattrs;
	t->n_extents = t->cap_extents = n_extents;
	t->packs = xcalloc(n_packs, HASH_LEN);
	t->chunks = xcalloc(n_chunks, sizeof(*t->chunks));
	t->inodes = xcalloc(n_inodes, sizeof(*t->inodes));
	t->dirents = xcalloc(n_dirents, sizeof(*t->dirents));
	t->xattrs = xcalloc(n_xattrs, sizeof(*t->xattrs));
	t->extents = xcalloc(n_extents, sizeof(*t->extents));

	res = decode_chunks(&r, t);
	if (res == 0)
		res = decode_inodes(&r, t);
	if (res == 0)
		res = decode_xattrs_extents(&r, t);
	for (uint32_t i = 0; res == 0 && i < n_dirents; i++) {
		struct tree_dirent *d = &t->dirents[i];
		d->parent = rbuf_le32(&r);
		d->inode = rbuf_le32(&r);
		d->name = take_str(&r, NAME_LEN_MAX);
		if (!rbuf_ok(&r) || d->parent >= n_inodes || d->inode >= n_inodes ||
		    t->inodes[d->parent].type != NODE_DIR ||
		    !name_is_valid_component(tree_str_ptr(t, d->name), d->name.len))
			res = -EBADMSG;
		else if (i > 0 && dirent_cmp(&t->dirents[i - 1], d, t) >= 0)
			res = -EBADMSG; /* unsorted or duplicate */
	}
	if (res == 0 && rbuf_left(&r) != 0)
		res = -EBADMSG;
	if (res == 0)
		res = check_structure(t);
	if (res < 0) {
		tree_free(t);
		return res;
	}
	*ret = t;
	return 0;
}
