/*
 * catalog.h - the local SQLite cache of what a repository holds: snapshots
 * (from their headers), the trees of snapshots that have been opened, and
 * where chunks live. It can always be rebuilt from the repository
 * (repo_sync() and repo_ensure_tree() do that), so losing it loses nothing.
 *
 * A struct catalog is one SQLite connection with its prepared statements:
 * not thread-safe. Threads each open their own (cairnfs keeps one per FUSE
 * worker); SQLite's WAL mode lets them read while one writes.
 *
 * Inode numbers: each snapshot gets a range [ino_base, ino_base + n_inodes)
 * when its header enters the catalog, before its tree is loaded, so the
 * root of a snapshot (ino_base) has a stable number from the start. Ranges
 * start at CATALOG_FIRST_INO and are never reused within one catalog.
 * Numbers below CATALOG_FIRST_INO and at or above 1 << 62 are free for the
 * mount's synthetic directories.
 */
#ifndef CAIRN_CATALOG_H
#define CAIRN_CATALOG_H

#include "base/buf.h"
#include "base/hmap.h"
#include "format/index.h"
#include "format/tree.h"
#include "format/snapshot.h"
#include "format/pack.h"

#define CATALOG_FIRST_INO 16
/* Name of a snapshot directory: timestamp plus an optional "-N" suffix. */
#define SNAPSHOT_NAME_MAX 32

struct catalog;

/* What stat(2) needs of one inode. */
struct cat_attr {
	uint64_t ino;
	uint32_t mode; /* st_mode: type bits | permissions */
	uint32_t uid, gid;
	uint32_t nlink;
	uint64_t size;
	uint64_t rdev;
	uint64_t blocks; /* 512-byte units actually stored (holes excluded) */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
};

struct cat_snapshot {
	int64_t id; /* local row id */
	uint8_t snap_id[HASH_LEN];
	uint8_t tree_id[HASH_LEN];
	int64_t member_id;
	char member[MEMBER_NAME_MAX + 1];
	char name[SNAPSHOT_NAME_MAX]; /* directory name in the mount */
	int64_t time_sec;
	uint32_t time_nsec;
	char host[HOST_LEN_MAX + 1];
	char tags[TAGS_MAX * (TAG_LEN_MAX + 1)]; /* comma-separated */
	uint64_t n_files, n_dirs, n_bytes, n_stored;
	uint64_t ino_base;
	uint32_t n_inodes;
	bool loaded;	      /* tree is in the catalog */
	struct cat_attr root; /* root directory (from the header); root.ino == ino_base */
};

/* Where one chunk lives. */
struct chunk_loc {
	uint8_t hash[HASH_LEN];
	uint8_t pack[HASH_LEN];
	uint64_t off;	     /* of its envelope in the pack */
	uint32_t stored_len; /* envelope length */
	uint32_t raw_len;
};

struct cat_extent {
	uint64_t file_off;    /* first byte of the file this chunk covers */
	struct chunk_loc loc; /* covers [file_off, file_off + loc.raw_len) */
};

/* Opens (creating if needed) the catalog database at path. */
int catalog_open(const char *path, struct catalog **ret) WARN_UNUSED;
void catalog_close(struct catalog *c);
DEFINE_FREEP(struct catalog, catalog_close)
/* Bounds the connection's page cache to kib KiB (the default is 16 MiB, for
 * writers). A mount keeps one connection per thread and sets a small one:
 * pages that miss come from the kernel's page cache, which is shared. */
int catalog_set_cache_size(struct catalog *c, unsigned kib) WARN_UNUSED;

/* Batches writes; nest freely (only the outermost pair takes effect). */
int catalog_begin(struct catalog *c) WARN_UNUSED;
int catalog_commit(struct catalog *c) WARN_UNUSED;
void catalog_rollback(struct catalog *c);
/* A read-only transaction: the queries until catalog_read_end() see one
 * state of the catalog and take SQLite's locks once instead of once each
 * (what makes many lookups in a row cheap). Nothing may write the catalog
 * through c in between (aborts). Other connections may still write.
 * -EBUSY (not logged) inside a write transaction. */
int catalog_read_begin(struct catalog *c) WARN_UNUSED;
void catalog_read_end(struct catalog *c);
/* Ends the batch catalog_begin() opened with the result r of its work:
 * commits when r >= 0 and returns the commit's result, else rolls back
 * and returns r. */
int catalog_end(struct catalog *c, int r) WARN_UNUSED;

/* --- snapshots --- */

/* 1 if the catalog has the snapshot, 0 if not. */
int catalog_has_snapshot(struct catalog *c, const uint8_t snap_id[HASH_LEN]) WARN_UNUSED;
/* Adds a snapshot from its header, reserving its inode range and renaming
 * the member's snapshot directories where a same-second collision needs a
 * suffix. */
int catalog_add_snapshot(struct catalog *c, const uint8_t snap_id[HASH_LEN],
			 const struct snapshot_header *h) WARN_UNUSED;
/* Removes a snapshot and its loaded tree. */
int catalog_remove_snapshot(struct catalog *c, int64_t id) WARN_UNUSED;

typedef int (*catalog_snapshot_fn)(void *userdata, const struct cat_snapshot *s);
/* Calls fn for each snapshot (of member, or all when NULL), ordered by
 * member name then time. A non-zero return from fn stops and is returned. */
int catalog_list_snapshots(struct catalog *c, const char *member, catalog_snapshot_fn fn,
			   void *userdata) WARN_UNUSED;
/* Finds a member's snapshot by directory name, or its newest for "latest".
 * -ENOENT if there is none. */
int catalog_find_snapshot(struct catalog *c, const char *member, const char *name,
			  struct cat_snapshot *ret) WARN_UNUSED;
/* Finds the snapshot whose id starts with the hex prefix: -ENOENT for none,
 * -ENOTUNIQ when several match. */
int catalog_find_snapshot_by_prefix(struct catalog *c, const char *hex_prefix,
				    struct cat_snapshot *ret) WARN_UNUSED;
/* Finds the snapshot whose inode range contains ino. -ENOENT if none. */
int catalog_snapshot_of_ino(struct catalog *c, uint64_t ino, struct cat_snapshot *ret) WARN_UNUSED;
int catalog_snapshot_by_id(struct catalog *c, int64_t id, struct cat_snapshot *ret) WARN_UNUSED;

typedef int (*catalog_member_fn)(void *userdata, int64_t member_id, const char *name);
/* Members with at least one snapshot, by name; fn as above. Members keep
 * their id for the catalog's life. */
int catalog_list_members(struct catalog *c, catalog_member_fn fn, void *userdata) WARN_UNUSED;
/* Member id by name, -ENOENT if it has no snapshot. */
int catalog_member_id(struct catalog *c, const char *name, int64_t *ret_id) WARN_UNUSED;
/* Member name by id into out (MEMBER_NAME_MAX + 1 bytes). */
int catalog_member_name(struct catalog *c, int64_t id, char *out) WARN_UNUSED;

/* Inserts a decoded tree for snapshot id and marks it loaded; a no-op when
 * it already is (another process or thread got there first). -EBADMSG when
 * the tree does not fit the header (inode count). */
int catalog_load_tree(struct catalog *c, int64_t snapshot_id, const struct tree *t) WARN_UNUSED;

/* --- one snapshot's tree (loaded) --- */

/* -ENOENT for an inode the catalog does not have (or not loaded). */
int catalog_getattr(struct catalog *c, uint64_t ino, struct cat_attr *ret) WARN_UNUSED;
/* Looks up name in directory dir. -ENOENT if absent. */
int catalog_lookup(struct catalog *c, uint64_t dir, const void *name, size_t len,
		   struct cat_attr *ret) WARN_UNUSED;

typedef int (*catalog_dirent_fn)(void *userdata, int64_t cookie, const uint8_t *name, size_t len,
				 const struct cat_attr *attr);
/* Entries of directory dir in name order, starting after cookie (0 for the
 * start). Each gets a cookie to resume after it; attr is filled when
 * with_attr is set (else only attr->ino and the type bits of attr->mode).
 * fn returns 0 to go on, > 0 to stop (say, a full reply buffer), < 0 for an
 * error, which is returned. */
int catalog_readdir(struct catalog *c, uint64_t dir, int64_t after_cookie, bool with_attr,
		    catalog_dirent_fn fn, void *userdata) WARN_UNUSED;
/* Appends a symlink's target to out. */
int catalog_readlink(struct catalog *c, uint64_t ino, struct buf *out) WARN_UNUSED;
/* Appends the xattr names of ino, each NUL-terminated (listxattr format). */
int catalog_listxattr(struct catalog *c, uint64_t ino, struct buf *out) WARN_UNUSED;
/* Appends the value of xattr name; -ENODATA if ino has no such xattr. */
int catalog_getxattr(struct catalog *c, uint64_t ino, const char *name,
		     struct buf *out) WARN_UNUSED;
/* 1 when some inode in [ino_lo, ino_hi) has an xattr called name, else 0
 * (one lookup in an index by name). */
int catalog_has_xattr_named(struct catalog *c, const char *name, uint64_t ino_lo,
			    uint64_t ino_hi) WARN_UNUSED;
/* Fills out[0..max) with the extents of file ino that intersect
 * [off, off + len), in file order; *ret_n is how many. Gaps are holes. */
int catalog_extents(struct catalog *c, uint64_t ino, uint64_t off, uint64_t len,
		    struct cat_extent *out, size_t max, size_t *ret_n) WARN_UNUSED;
/* SEEK_DATA / SEEK_HOLE semantics over the file's extents; -ENXIO past the
 * end (SEEK_DATA with no data after off). */
int catalog_seek(struct catalog *c, uint64_t ino, uint64_t off, int whence,
		 uint64_t *ret) WARN_UNUSED;

/* --- chunks --- */

/* Where a chunk with this hash is stored, if the catalog knows one. */
int catalog_find_chunk(struct catalog *c, const uint8_t hash[HASH_LEN],
		       struct chunk_loc *ret) WARN_UNUSED;
/* Records the chunks of a pack (from a new pack or an index object). */
int catalog_add_pack(struct catalog *c, const uint8_t pack_id[HASH_LEN],
		     const struct pack_entry *entries, uint32_t n) WARN_UNUSED;

/* --- index objects and deduplication (catalog-packs.c) --- */

/* 1 if index object id has been merged, 0 if not. */
int catalog_has_index(struct catalog *c, const uint8_t id[HASH_LEN]) WARN_UNUSED;
/* Merges index object id: the chunks of each of its packs, and which packs
 * it names, in one transaction. */
int catalog_add_index(struct catalog *c, const uint8_t id[HASH_LEN],
		      const struct index *ix) WARN_UNUSED;
/* Forgets that index object id was merged (it is gone from the
 * repository): its packs no longer serve deduplication unless another
 * merged index names them. Chunk locations stay for loaded trees. */
int catalog_remove_index(struct catalog *c, const uint8_t id[HASH_LEN]) WARN_UNUSED;
typedef int (*catalog_index_fn)(void *userdata, const uint8_t id[HASH_LEN]);
/* Calls fn for each merged index object; a non-zero return stops. */
int catalog_list_indexes(struct catalog *c, catalog_index_fn fn, void *userdata) WARN_UNUSED;
/* Replaces the set of packs prune may delete (from "prune-pending"). */
int catalog_set_pending_packs(struct catalog *c, const uint8_t (*ids)[HASH_LEN],
			      size_t n) WARN_UNUSED;
/* Adds to packs (id -> 1) every pack a backup may point chunks into: one
 * that a merged index object names and that is not pending deletion, as
 * catalog_find_dedup_chunk() requires. */
int catalog_dedup_packs(struct catalog *c, struct hmap *packs) WARN_UNUSED;
/* Where a backup may point a chunk with this hash: a pack that a merged
 * index object names and that is not pending deletion. -ENOENT if none. */
int catalog_find_dedup_chunk(struct catalog *c, const uint8_t hash[HASH_LEN],
			     struct chunk_loc *ret) WARN_UNUSED;

#endif
