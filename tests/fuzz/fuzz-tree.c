/*
 * fuzz-tree.c - tree_decode() on untrusted tree payloads (the raw bytes
 * inside a "trees/<id>" envelope). Properties of an accepted tree: every
 * index a consumer follows is in range (checked by walking it the way
 * catalog_load_tree() and cairnfs do), the root is a directory, link counts
 * add up, and tree_encode() gives back exactly the input bytes, which decode
 * again to the same link counts.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "format/tree.h"

/* Walks everything a consumer reads; ASan flags any index out of range. */
static void walk(const struct tree *t, size_t size)
{
	uint64_t names = 0;

	FUZZ_CHECK(t->n_inodes >= 1 && t->inodes[0].type == NODE_DIR);
	FUZZ_CHECK(t->arena.len == size);
	for (uint32_t i = 0; i < t->n_chunks; i++)
		FUZZ_CHECK(t->chunks[i].pack < t->n_packs && t->chunks[i].raw_len > 0);
	for (uint32_t i = 0; i < t->n_inodes; i++) {
		const struct tree_inode *ino = &t->inodes[i];
		uint64_t end = 0;

		FUZZ_CHECK(node_type_to_mode(ino->type) != 0 && ino->perm <= 07777);
		FUZZ_CHECK(ino->target.off + ino->target.len <= size);
		if (ino->type == NODE_SYMLINK)
			FUZZ_CHECK(ino->target.len == ino->size && ino->target.len > 0);
		FUZZ_CHECK((uint64_t)ino->first_xattr + ino->n_xattrs <= t->n_xattrs);
		FUZZ_CHECK((uint64_t)ino->first_extent + ino->n_extents <= t->n_extents);
		for (uint32_t j = 0; j < ino->n_xattrs; j++) {
			const struct tree_xattr *x = &t->xattrs[ino->first_xattr + j];
			FUZZ_CHECK(x->name.len > 0 && x->name.off + x->name.len <= size);
			FUZZ_CHECK(x->value.off + x->value.len <= size);
			FUZZ_CHECK(!memchr(tree_str_ptr(t, x->name), '\0', x->name.len));
		}
		for (uint32_t j = 0; j < ino->n_extents; j++) {
			const struct tree_extent *e = &t->extents[ino->first_extent + j];
			FUZZ_CHECK(e->chunk < t->n_chunks && e->off >= end);
			end = e->off + t->chunks[e->chunk].raw_len;
			FUZZ_CHECK(end <= ino->size);
		}
		if (ino->type == NODE_DIR)
			FUZZ_CHECK(ino->nlink >= 2);
		else
			names += ino->nlink;
	}
	for (uint32_t i = 0; i < t->n_dirents; i++) {
		const struct tree_dirent *d = &t->dirents[i];
		FUZZ_CHECK(d->parent < t->n_inodes && d->inode < t->n_inodes);
		FUZZ_CHECK(t->inodes[d->parent].type == NODE_DIR);
		FUZZ_CHECK(d->name.off + d->name.len <= size);
		FUZZ_CHECK(name_is_valid_component(tree_str_ptr(t, d->name), d->name.len));
		if (t->inodes[d->inode].type != NODE_DIR)
			names--;
	}
	FUZZ_CHECK(names == 0); /* a non-directory's nlink is its number of names */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tree *t = NULL, *t2 = NULL;
	AUTOBUF struct buf out = BUF_INIT;
	int r;

	r = tree_decode(data, size, &t);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG);
		return 0;
	}
	walk(t, size);
	FUZZ_CHECK(tree_encode(t, &out) == 0);
	FUZZ_CHECK(out.len == size && memcmp(out.ptr, data, size) == 0);
	FUZZ_CHECK(tree_decode(out.ptr, out.len, &t2) == 0);
	FUZZ_CHECK(t2->n_inodes == t->n_inodes);
	for (uint32_t i = 0; i < t->n_inodes; i++)
		FUZZ_CHECK(t2->inodes[i].nlink == t->inodes[i].nlink);
	tree_free(t);
	tree_free(t2);
	return 0;
}
