/*
 * catalog-query.h - the catalog's answers to the reporting commands: which
 * entries of a snapshot match a name pattern (cairn find), the facts two
 * entries are compared by (cairn diff), and how many bytes the snapshots
 * reference, store and could give back (cairn stats).
 *
 * Part of the catalog module (catalog-query.c); the same rules hold: one
 * struct catalog per thread, and a tree is only answered for once its
 * snapshot is loaded (repo_ensure_tree()).
 */
#ifndef CAIRN_CATALOG_QUERY_H
#define CAIRN_CATALOG_QUERY_H

#include "catalog/catalog.h"

/* One entry found by catalog_find(). */
struct cat_found {
	const uint8_t *path; /* inside the snapshot, no leading '/'; borrowed for the call */
	size_t path_len;
	struct cat_attr attr;
};

typedef int (*catalog_found_fn)(void *userdata, const struct cat_found *f);

/*
 * Calls fn for every entry of snapshot s (loaded) that matches the
 * fnmatch(3) pattern (no flags: '*' also matches '/' and a leading '.'),
 * in byte order of paths. With whole_path the pattern is matched against
 * the entry's path inside the snapshot ("etc/passwd"), else against its
 * name. The root itself never matches. fn returns 0 to go on or a
 * negative errno, which stops the search and is returned; otherwise
 * returns the number of matches.
 */
int catalog_find(struct catalog *c, const struct cat_snapshot *s, const char *pattern,
		 bool whole_path, catalog_found_fn fn, void *userdata) WARN_UNUSED;

/* Looks up a relative path ("a/b/c"; empty components are skipped) from
 * directory inode root. -ENOENT when any component is missing. */
int catalog_lookup_path(struct catalog *c, uint64_t root, const char *path,
			struct cat_attr *ret) WARN_UNUSED;

/* Appends the xattrs of ino to out in a canonical form (by name in byte
 * order; for each, le32 name length, name, le32 value length, value), so
 * two inodes have equal xattrs exactly when their forms are equal.
 * catalog_xattrs_append_one() appends one pair the same way, for callers
 * building the form of a live file. */
int catalog_xattrs_canonical(struct catalog *c, uint64_t ino, struct buf *out) WARN_UNUSED;
void catalog_xattrs_append_one(struct buf *out, const void *name, size_t name_len,
			       const void *value, size_t value_len);

/* Sets *ret_same when files a and b have the same extents: the same chunk
 * hashes at the same offsets with the same lengths (so, with equal sizes,
 * the same content). Reads no data. */
int catalog_same_extents(struct catalog *c, uint64_t a, uint64_t b, bool *ret_same) WARN_UNUSED;

typedef int (*catalog_extent_fn)(void *userdata, uint64_t file_off, const uint8_t hash[HASH_LEN],
				 uint32_t raw_len);
/* Calls fn for each extent of file ino in file order; a non-zero return
 * stops and is returned. */
int catalog_each_extent(struct catalog *c, uint64_t ino, catalog_extent_fn fn,
			void *userdata) WARN_UNUSED;

/* What a set of snapshots references, over loaded trees only. */
struct cat_usage {
	uint64_t n_extents;    /* extents of their files */
	uint64_t data_bytes;   /* sum of those extents' lengths (file bytes that are not holes) */
	uint64_t n_stored;     /* distinct stored chunk copies (pack, offset) they use */
	uint64_t stored_bytes; /* sum of those copies' envelope lengths */
	uint64_t stored_raw_bytes; /* sum of those copies' raw lengths */
	uint64_t n_unique;	   /* distinct chunk hashes they use */
	uint64_t unique_bytes;	   /* sum of those chunks' raw lengths */
};

/* Usage of the snapshots of member (all snapshots when NULL). */
int catalog_usage(struct catalog *c, const char *member, struct cat_usage *ret) WARN_UNUSED;

/* What the catalog knows of one pack's chunks. */
struct cat_pack_usage {
	uint8_t pack_id[HASH_LEN];
	uint64_t n_chunks, n_used; /* chunk copies recorded in it; those a loaded tree uses */
	uint64_t stored_bytes;	   /* sum of its chunks' envelope lengths */
	uint64_t unused_bytes;	   /* the part of stored_bytes no loaded tree uses */
};

typedef int (*catalog_pack_fn)(void *userdata, const struct cat_pack_usage *p);
/* Calls fn for every pack the catalog knows (from trees and index
 * objects), in no particular order; a non-zero return stops and is
 * returned. "Used" counts only loaded trees: load every snapshot first for
 * an answer about the whole repository. */
int catalog_pack_usage(struct catalog *c, catalog_pack_fn fn, void *userdata) WARN_UNUSED;

#endif
