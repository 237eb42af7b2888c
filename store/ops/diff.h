/*
 * diff.h - compare a snapshot with another snapshot, or with a live
 * directory, entry by entry, from the catalog and without reading anything
 * from the repository: two snapshots' files are compared by their chunk
 * lists, a live file's data (on request) by hashing it at the snapshot's
 * chunk boundaries.
 */
#ifndef CAIRN_DIFF_H
#define CAIRN_DIFF_H

#include "catalog/catalog.h"

enum diff_kind {
	DIFF_ADDED = '+',   /* only in the second tree */
	DIFF_REMOVED = '-', /* only in the first tree */
	DIFF_CHANGED = 'M', /* in both, different */
};

/* What differs between two entries of one path (bits of diff_entry.changes). */
enum diff_change {
	DIFF_TYPE = 1u << 0,	/* file, directory, symlink, ...: nothing else is compared */
	DIFF_CONTENT = 1u << 1, /* a file's size or data */
	DIFF_TARGET = 1u << 2,	/* a symlink's target */
	DIFF_DEVICE = 1u << 3,	/* a device node's number */
	DIFF_MODE = 1u << 4,	/* permission bits (st_mode & 07777) */
	DIFF_OWNER = 1u << 5,	/* uid or gid */
	DIFF_MTIME = 1u << 6,	/* modification time, to the nanosecond */
	DIFF_XATTRS = 1u << 7,	/* the set of extended attributes or a value */
	DIFF_LINKS = 1u << 8,	/* a non-directory's hardlink count (two snapshots only) */
	DIFF_CHANGE_LAST = DIFF_LINKS,
};

/* The word for one change bit ("content", "mtime", ...), or NULL. */
const char *diff_change_name(unsigned bit);

struct diff_entry {
	enum diff_kind kind;
	unsigned changes;    /* DIFF_CHANGED: bits of enum diff_change */
	const uint8_t *path; /* "/a/b" inside the snapshot ("/" the root); borrowed */
	size_t path_len;
	const struct cat_attr *old; /* first tree's entry, NULL when added; borrowed */
	const struct cat_attr *new; /* second tree's entry, NULL when removed; borrowed */
};

/* Called for each difference, in path order (depth first, names of a
 * directory in byte order, a directory before its contents). Returns 0 to
 * go on; a negative errno stops the comparison and is returned. */
typedef int (*diff_fn)(void *userdata, const struct diff_entry *e);

struct diff_options {
	const char *path; /* compare only this subtree ("a/b"), or NULL for everything */
	bool content;	  /* live directory: compare file data by hashing it */
	const struct crypto_keys *keys; /* how chunks are named: repo_keys(), NULL for SHA-256 */
	diff_fn fn;
	void *userdata;
};

struct diff_stats {
	uint64_t n_added, n_removed, n_changed;
	uint64_t n_compared;	 /* paths present on both sides */
	uint64_t n_assumed;	 /* live files of equal size whose data was not read (no content) */
	uint64_t n_hashed_bytes; /* live data read to compare content */
	uint64_t n_errors;	 /* live entries that could not be read, each logged */
};

/* Compares snapshot a with snapshot b; both must be loaded. Returns the
 * number of differences reported (0: identical), -ENOENT (logged) when
 * o->path is in neither, or an error. */
int diff_snapshots(struct catalog *c, const struct cat_snapshot *a, const struct cat_snapshot *b,
		   const struct diff_options *o, struct diff_stats *ret) WARN_UNUSED;

/* Compares snapshot a (loaded) with the live directory dir, which stands
 * for the snapshot's root. Metadata is always compared; a file's data only
 * with o->content, else files of equal size count as equal in content.
 * Live entries that cannot be read are logged, counted in ret->n_errors
 * and skipped (never reported as added or removed). Returns as
 * diff_snapshots(). */
int diff_live(struct catalog *c, const struct cat_snapshot *a, const char *dir,
	      const struct diff_options *o, struct diff_stats *ret) WARN_UNUSED;

#endif
