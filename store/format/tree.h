/*
 * tree.h - the large object that describes a snapshot ("trees/<id>"): every
 * inode, directory entry, xattr and file extent of the snapshot, plus where
 * each chunk it uses lives (pack and byte range). Its snapshot header
 * (format/snapshot.h) points at it; a tree is read when the snapshot is
 * first opened. Immutable, and named by the SHA-256 of its raw payload.
 * The layout is in tree.c and cairn-repository(5).
 */
#ifndef CAIRN_TREE_H
#define CAIRN_TREE_H

#include "base/buf.h"
#include "base/crypto.h"

#define NAME_LEN_MAX 255    /* one path component */
#define TARGET_LEN_MAX 4095 /* symlink target */
#define XATTR_NAME_LEN_MAX 255
#define XATTR_VALUE_LEN_MAX 65536

enum node_type {
	NODE_DIR = 1,
	NODE_FILE = 2,
	NODE_SYMLINK = 3,
	NODE_FIFO = 4,
	NODE_CHR = 5,
	NODE_BLK = 6,
	NODE_SOCK = 7,
};

/* st_mode type bits for a node type. */
uint32_t node_type_to_mode(enum node_type t);

/* Strings (names, targets, xattr names and values) are byte ranges in the
 * tree's arena, addressed by offset so the arena may grow while building. */
struct tree_str {
	uint64_t off;
	uint32_t len;
};

struct tree_xattr {
	struct tree_str name;
	struct tree_str value;
};

struct tree_extent {
	uint64_t off;	/* offset in the file */
	uint32_t chunk; /* index into tree.chunks; covers chunks[chunk].raw_len bytes */
};

struct tree_inode {
	enum node_type type;
	uint32_t perm; /* st_mode & 07777 */
	uint32_t uid, gid;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t size; /* apparent size for files, target length for symlinks */
	uint64_t rdev;
	struct tree_str target;		  /* symlinks only */
	uint32_t first_xattr, n_xattrs;	  /* range in tree.xattrs */
	uint32_t first_extent, n_extents; /* range in tree.extents, ascending, no overlap */
	uint32_t nlink;			  /* derived on decode: names (+ subdirs for dirs) */
};

struct tree_dirent {
	uint32_t parent; /* inode index of a directory */
	uint32_t inode;	 /* inode index */
	struct tree_str name;
};

struct tree_chunk {
	uint8_t hash[HASH_LEN];
	uint32_t pack;	     /* index into tree.packs */
	uint64_t off;	     /* byte offset of the chunk's envelope in the pack */
	uint32_t stored_len; /* envelope length in the pack */
	uint32_t raw_len;    /* decoded length */
};

/*
 * A decoded or in-construction tree. Inode 0 is the root directory.
 * Dirents are sorted by (parent, name bytes) with no duplicates; encoding
 * sorts them, decoding requires it.
 */
struct tree {
	struct buf arena;
	uint8_t (*packs)[HASH_LEN];
	uint32_t n_packs;
	size_t cap_packs;
	struct tree_chunk *chunks;
	uint32_t n_chunks;
	size_t cap_chunks;
	struct tree_inode *inodes;
	uint32_t n_inodes;
	size_t cap_inodes;
	struct tree_dirent *dirents;
	uint32_t n_dirents;
	size_t cap_dirents;
	struct tree_xattr *xattrs;
	uint32_t n_xattrs;
	size_t cap_xattrs;
	struct tree_extent *extents;
	uint64_t n_extents;
	size_t cap_extents;
};

struct tree *tree_new(void);
void tree_free(struct tree *t);
DEFINE_FREEP(struct tree, tree_free)
/* Appends bytes to the arena and returns their reference. */
struct tree_str tree_add_str(struct tree *t, const void *data, size_t len);
static inline const uint8_t *tree_str_ptr(const struct tree *t, struct tree_str s)
{
	return t->arena.ptr + s.off;
}
/* Appenders return the new element's index. */
uint32_t tree_add_pack(struct tree *t, const uint8_t id[HASH_LEN]);
uint32_t tree_add_chunk(struct tree *t, const struct tree_chunk *c);
uint32_t tree_add_inode(struct tree *t, const struct tree_inode *ino);
uint32_t tree_add_dirent(struct tree *t, uint32_t parent, uint32_t inode, const void *name,
			 size_t len);
uint32_t tree_add_xattr(struct tree *t, const void *name, size_t name_len, const void *value,
			size_t value_len);
uint64_t tree_add_extent(struct tree *t, uint64_t off, uint32_t chunk);

/* Sorts the dirents and appends the tree's raw payload to out. -EINVAL if the
 * tree breaks an invariant (duplicate names, bad indexes). */
int tree_encode(struct tree *t, struct buf *out) WARN_UNUSED;
/* Parses an untrusted raw payload. Every count, index, length, name and
 * extent is checked; the directory structure must be a tree rooted at inode
 * 0 reaching every inode. -EBADMSG on any violation. */
int tree_decode(const uint8_t *data, size_t len, struct tree **ret) WARN_UNUSED;

/* True for a valid path component: 1..255 bytes, no '/' or NUL, not "." or "..". */
bool name_is_valid_component(const void *name, size_t len);

#endif
