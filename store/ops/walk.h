/*
 * walk.h - reading a snapshot's tree through the catalog, for the commands
 * that copy or list it (restore, export, ls): resolving a path inside a
 * snapshot, visiting a subtree depth-first with every entry's attributes,
 * and iterating a regular file's extents with readahead into the chunk
 * cache.
 *
 * Everything read here comes from the catalog, which holds a tree that
 * tree_decode() already checked; names are checked again (a valid path
 * component: no '/', no NUL, not "." or "..") before any caller sees them,
 * so a damaged or tampered catalog cannot hand a consumer a name that
 * climbs out of a directory.
 */
#ifndef CAIRN_WALK_H
#define CAIRN_WALK_H

#include "repo/cache.h"
#include "catalog/catalog.h"
#include "repo/repo.h"

/* Resolves path inside snapshot s, loading its tree first. path is
 * relative to the snapshot's root: "", "/", "a/b", "/a/b/" ("." and empty
 * components are skipped; ".." is refused with -EINVAL). Symlinks inside
 * the snapshot are never followed: a component before the last that is not
 * a directory gives -ENOTDIR. Fills *ret_attr; *ret_name (may be NULL)
 * gets the last component, or "" for the root, for the caller to free.
 * Errors are logged naming the path and the snapshot: -ENOENT, -ENOTDIR,
 * -EINVAL, or a catalog or repository error. */
int walk_resolve(struct repo *r, struct catalog *c, struct cat_snapshot *s, const char *path,
		 struct cat_attr *ret_attr, char **ret_name) WARN_UNUSED;

struct walk_entry {
	const char *path; /* from the walk's root: root_name for the root, then
	                   * root_name/a/b (no leading '/'); NUL-terminated,
	                   * borrowed for the call */
	const char *name; /* the last component (root_name for the root) */
	size_t name_len;
	unsigned depth;	 /* 0 for the root */
	uint64_t parent; /* inode of the directory holding it; 0 for the root */
	struct cat_attr attr;
};

enum walk_event {
	WALK_ENTER, /* an entry; for a directory, before its contents */
	WALK_LEAVE, /* a directory, after its contents */
};

/* Returned by a walk_fn on WALK_ENTER of a directory to skip its contents
 * (and its WALK_LEAVE). */
#define WALK_SKIP 1

typedef int (*walk_fn)(void *userdata, enum walk_event ev, const struct walk_entry *e);

/* Visits root (named root_name, "" for a snapshot's root) and, when it is a
 * directory, everything below it: depth-first, each directory's entries in
 * name order, a directory's WALK_ENTER before its contents and WALK_LEAVE
 * after. Memory stays bounded by the depth, not by the size of
 * directories (entries are read in batches). fn returns 0 to go on,
 * WALK_SKIP, or < 0 to stop with that error. A name that is not a valid
 * path component gives -EBADMSG (logged). fn may use c: the walker holds
 * no statement open while it runs. */
int walk_subtree(struct catalog *c, const struct cat_attr *root, const char *root_name, walk_fn fn,
		 void *userdata) WARN_UNUSED;

/* The extents of one regular file, in file order, checked to lie inside
 * the file without overlapping. With a cache, the chunks of the next
 * `window` bytes are handed to its prefetch workers while the caller
 * consumes the current one, so a sequential reader has its next chunks
 * fetched in parallel. Embedded by value; not thread-safe. */
struct extent_iter {
	struct catalog *cat; /* borrowed */
	struct cache *cache; /* borrowed; NULL: no prefetch */
	uint64_t ino, size;
	uint64_t window; /* bytes to prefetch ahead */
	bool (*skip_prefetch)(void *userdata, const struct cat_extent *e); /* may be NULL */
	void *userdata;
	struct cat_extent batch[64];
	size_t n, i;	   /* extents in batch, next to return */
	size_t prefetched; /* batch entries before this were prefetched */
	uint64_t pos;	   /* end of the last extent returned */
	bool done;
};

void extent_iter_init(struct extent_iter *it, struct catalog *c, struct cache *cache,
		      const struct cat_attr *attr, uint64_t window);
/* The next extent into *ret: 1, or 0 after the last one, or < 0 on a
 * catalog error or -EBADMSG (logged) for extents that overlap or reach
 * past the end of the file. */
int extent_iter_next(struct extent_iter *it, struct cat_extent *ret) WARN_UNUSED;

/* Threads that fetch chunks ahead of a reader (see cache_prefetch()). */
#define WALK_PREFETCH_WORKERS 4

/* A chunk cache of budget bytes (0: CACHE_BUDGET_DEFAULT) that fetches
 * from r (repo_read_chunk()), with WALK_PREFETCH_WORKERS prefetch threads,
 * for readers of many files (restore, export). r must outlive it. */
int walk_cache_new(struct repo *r, uint64_t budget, struct cache **ret) WARN_UNUSED;

#endif
