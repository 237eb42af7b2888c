/*
 * disk-cache.h - an optional directory of chunks' stored bytes (their
 * envelopes, as the pack holds them), so that a mount of a remote
 * repository fetches a chunk once, however often the memory cache evicts
 * it and however often the repository is mounted again.
 *
 * Content-addressed: DIR/<first 2 hex digits>/<64 hex digits of the chunk's
 * hash>, mode 0600, written under a temporary name and renamed, so readers
 * (this process's threads, other processes sharing DIR) see a whole file or
 * none. The total is bounded (file lengths rounded up to 4 KiB blocks);
 * over the bound, the least recently used files go. Use is tracked in
 * memory, starting from a scan of DIR that orders files by mtime, which a
 * hit refreshes, so the order survives a remount. Each process bounds what
 * it knows: processes sharing DIR may together exceed the bound a little
 * until one of them evicts.
 *
 * Nothing on disk is trusted: a file of the wrong length is deleted and
 * counts as a miss, and the caller must verify what it gets (the chunk's
 * hash) and disk_cache_drop() a copy that fails. The first I/O error other
 * than a missing file (ENOSPC, EACCES, EROFS, ...) is logged once as a
 * warning and turns the disk cache off for the rest of the process: every
 * get misses, every put does nothing.
 *
 * All functions are thread-safe.
 */
#ifndef CAIRN_DISK_CACHE_H
#define CAIRN_DISK_CACHE_H

#include "base/crypto.h"
#include "base/util.h"

#define DISK_CACHE_SIZE_DEFAULT (1ull << 30)
/* Temporary files older than this are debris of a process that died. */
#define DISK_CACHE_TMP_MAX_AGE 3600

struct disk_cache;

struct disk_cache_stats {
	uint64_t hits;	    /* gets served from a file */
	uint64_t misses;    /* gets that found no usable file */
	uint64_t stores;    /* files written */
	uint64_t evictions; /* files deleted to stay within the bound */
	uint64_t rejected;  /* files deleted for their length, or dropped by the caller */
	uint64_t used;	    /* bytes charged now (4 KiB blocks) */
	uint64_t max;	    /* the bound */
	uint64_t n_files;   /* files known now */
	bool off;	    /* turned off by an I/O error */
};

/* Opens the disk cache in dir (created, with missing parents, mode 0700),
 * bounded to max_bytes, and scans what is there (evicting down to the
 * bound). When dir cannot be created or read, logs a warning and returns a
 * cache that is off, so a mount goes on without it. -EINVAL (logged) for
 * an empty dir or a zero bound. */
int disk_cache_open(const char *dir, uint64_t max_bytes, struct disk_cache **ret) WARN_UNUSED;
/* Frees everything (files stay). Accepts NULL. */
void disk_cache_close(struct disk_cache *dc);
DEFINE_FREEP(struct disk_cache, disk_cache_close)

/* Reads the file of the chunk hash into dst when it holds exactly len
 * bytes, and returns 0; else returns -ENOENT (a file of another length is
 * deleted). Marks the file recently used. */
int disk_cache_get(struct disk_cache *dc, const uint8_t hash[HASH_LEN], uint8_t *dst,
		   size_t len) WARN_UNUSED;
/* Stores data[0..len) as the chunk hash (which the caller verified),
 * unless a file of that length is known already or len alone exceeds the
 * bound, then evicts down to the bound. Failures turn the cache off. */
void disk_cache_put(struct disk_cache *dc, const uint8_t hash[HASH_LEN], const uint8_t *data,
		    size_t len);
/* Deletes the file of the chunk hash (the caller found it damaged).
 * Returns true when there was one. */
bool disk_cache_drop(struct disk_cache *dc, const uint8_t hash[HASH_LEN]);

/* A consistent snapshot of the counters. */
void disk_cache_get_stats(struct disk_cache *dc, struct disk_cache_stats *ret);

#endif
