/*
 * manifest.h - the two objects that describe a snapshot.
 *
 * A snapshot header ("snapshots/<id>", small) names the member, the time,
 * the counts and the root directory's attributes, and points at the tree
 * ("trees/<id>", large): every inode, directory entry, xattr and file extent
 * of the snapshot, plus where each chunk it uses lives (pack and byte range).
 * Listing snapshots reads headers only; a tree is read when the snapshot is
 * first opened. Both are immutable and named by the SHA-256 of their raw
 * payload. Layouts are in manifest.c and cairn-repository(5).
 */
#ifndef CAIRN_MANIFEST_H
#define CAIRN_MANIFEST_H

#include "base/buf.h"
#include "base/crypto.h"

#define MEMBER_NAME_MAX 128
#define NAME_LEN_MAX 255    /* one path component */
#define TARGET_LEN_MAX 4095 /* symlink target */
#define XATTR_NAME_LEN_MAX 255
#define XATTR_VALUE_LEN_MAX 65536
#define TAG_LEN_MAX 128
#define TAGS_MAX 64
#define HOST_LEN_MAX 255
/* Deepest directory below a snapshot's root, and longest path ("a/b/c",
 * bytes) of any entry, that a tree may hold; backups refuse deeper data. */
#define TREE_DEPTH_MAX 1024
#define TREE_PATH_MAX 16384

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
	uint32_t n_packs, cap_packs;
	struct tree_chunk *chunks;
	uint32_t n_chunks, cap_chunks;
	struct tree_inode *inodes;
	uint32_t n_inodes, cap_inodes;
	struct tree_dirent *dirents;
	uint32_t n_dirents, cap_dirents;
	struct tree_xattr *xattrs;
	uint32_t n_xattrs, cap_xattrs;
	struct tree_extent *extents;
	uint64_t n_extents, cap_extents;
};

struct tree *tree_new(void);
void tree_free(struct tree *t);
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
 * tree breaks an invariant (duplicate names, bad indexes), -ENAMETOOLONG if
 * a path is deeper or longer than a reader accepts. */
int tree_encode(struct tree *t, struct buf *out) WARN_UNUSED;
/* Parses an untrusted raw payload. Every count, index, length, name and
 * extent is checked; the directory structure must be a tree rooted at inode
 * 0 reaching every inode, within TREE_DEPTH_MAX and TREE_PATH_MAX. -EBADMSG
 * on any violation. tree_encode() fails with -ENAMETOOLONG for a tree past
 * those bounds, and -EINVAL for other broken invariants. */
int tree_decode(const uint8_t *data, size_t len, struct tree **ret) WARN_UNUSED;
/* The same, taking over payload's memory as the tree's arena instead of
 * copying it: on success payload is left empty; on failure it is unchanged. */
int tree_decode_buf(struct buf *payload, struct tree **ret) WARN_UNUSED;

/* True for a valid path component: 1..255 bytes, no '/' or NUL, not "." or "..". */
bool name_is_valid_component(const void *name, size_t len);
/* True for a valid member name: [A-Za-z0-9][A-Za-z0-9._-]*, at most MEMBER_NAME_MAX. */
bool member_name_is_valid(const char *name);

struct snapshot_header {
	char member[MEMBER_NAME_MAX + 1];
	int64_t time_sec; /* backup start, UTC */
	uint32_t time_nsec;
	uint8_t tree_id[HASH_LEN];
	char host[HOST_LEN_MAX + 1];
	char *tags[TAGS_MAX]; /* owned */
	uint32_t n_tags;
	uint64_t n_files; /* regular files (inodes) */
	uint64_t n_dirs;
	uint64_t n_bytes;  /* sum of regular files' apparent sizes */
	uint64_t n_stored; /* bytes of new packs this backup wrote */
	uint32_t n_inodes; /* of the tree, to reserve inode numbers before loading it */
	/* the root directory, so a listing of snapshots needs no tree */
	uint32_t root_perm, root_uid, root_gid, root_nlink;
	int64_t root_mtime_sec;
	uint32_t root_mtime_nsec;
};

void snapshot_header_release(struct snapshot_header *h);
void snapshot_header_encode(const struct snapshot_header *h, struct buf *out);
int snapshot_header_decode(const uint8_t *data, size_t len,
			   struct snapshot_header *ret) WARN_UNUSED;

/* The directory name of a snapshot time: "2026-11-22T205328Z" (19 bytes + NUL). */
#define SNAPSHOT_TIME_NAME_LEN 20
void snapshot_time_name(int64_t time_sec, char out[SNAPSHOT_TIME_NAME_LEN]);
/* Parses "2026-11-22T205328Z", "2026-11-22T20:53:28Z", "2026-11-22 20:53:28",
 * "2026-11-22" or "@<unix seconds>" as UTC. -EINVAL otherwise. */
int snapshot_time_parse(const char *s, int64_t *ret_sec) WARN_UNUSED;

#endif
