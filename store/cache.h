/*
 * cache.h - one shared, bounded cache of decoded chunks for readers that
 * come back to the same data (cairnfs: the kernel's reads of one chunk arrive
 * as several requests, often on several threads).
 *
 * Entries are keyed by the chunk's hash and refcounted: cache_get() hands
 * out a held entry whose bytes stay valid until cache_put(), whatever
 * eviction does meanwhile. Concurrent requests for a chunk that is being
 * fetched wait for that one fetch. A failed fetch is never kept: every
 * waiter of that attempt gets its error, and the next request tries again.
 * cache_prefetch() queues fetches for a small pool of worker threads, so a
 * sequential reader can have its next chunks fetched in parallel; prefetched
 * chunks count against the same budget.
 *
 * All functions are thread-safe.
 */
#ifndef CAIRN_CACHE_H
#define CAIRN_CACHE_H

#include "buf.h"
#include "catalog.h"

#define CACHE_BUDGET_DEFAULT (256ull << 20)

/* Fetches one chunk: appends its decoded, verified bytes to out (which is
 * empty) and returns 0, or returns -errno. Called without any cache lock held,
 * from the requesting thread or a prefetch worker, possibly concurrently for
 * different chunks. In production, repo_read_chunk(). */
typedef int (*cache_fetch_fn)(void *userdata, const struct chunk_loc *loc, struct buf *out);

struct cache_options {
	uint64_t budget;     /* bytes of decoded chunks to keep; 0: CACHE_BUDGET_DEFAULT */
	unsigned n_workers;  /* prefetch threads; 0: cache_prefetch() does nothing */
	cache_fetch_fn fetch;
	void *userdata;	     /* passed to fetch; must outlive the cache */
};

struct cache;
struct cache_entry;

struct cache_stats {
	uint64_t hits;	     /* requests served from a ready entry */
	uint64_t waits;	     /* requests that waited for another thread's fetch */
	uint64_t fetches;    /* calls of the fetch function */
	uint64_t failures;   /* fetches that failed */
	uint64_t evictions;  /* entries dropped to stay within the budget */
	uint64_t prefetches; /* prefetch requests queued */
	uint64_t used;	     /* bytes charged now (ready and in-flight entries) */
	uint64_t n_entries;  /* entries in the table now */
	uint64_t n_queued;   /* prefetch requests no worker has taken yet */
};

/* Creates a cache and starts its prefetch workers (with every signal
 * blocked, so signals reach the main thread). -errno when a thread cannot
 * be created. */
int cache_new(const struct cache_options *opts, struct cache **ret) WARN_UNUSED;
/* Stops the workers (a fetch in progress is waited for) and frees every
 * entry. No entry may still be held. Accepts NULL. */
void cache_free(struct cache *c);

/* Returns in *ret a held entry with the bytes of the chunk loc names,
 * fetching them unless they are cached or being fetched. The caller reads
 * them with cache_entry_data() and gives the entry back with cache_put().
 * Errors are the fetch's (not logged again here), or -EBADMSG (logged) when
 * the fetched length differs from loc->raw_len or raw_len is implausible. */
int cache_get(struct cache *c, const struct chunk_loc *loc, struct cache_entry **ret) WARN_UNUSED;
/* The chunk's bytes (loc->raw_len of them), valid until cache_put(). */
const uint8_t *cache_entry_data(const struct cache_entry *e, size_t *ret_len);
/* Drops the caller's hold on e; e must not be used afterwards. Accepts NULL. */
void cache_put(struct cache *c, struct cache_entry *e);

/* Asks a worker to fetch loc in the background unless it is cached, being
 * fetched or already queued. Never blocks on a fetch; the request is
 * dropped when the queue is full or there are no workers. */
void cache_prefetch(struct cache *c, const struct chunk_loc *loc);

/* The budget in bytes. */
uint64_t cache_budget(const struct cache *c);
/* A consistent snapshot of the counters. */
void cache_get_stats(struct cache *c, struct cache_stats *ret);

static inline void cache_freep(struct cache **c)
{
	cache_free(*c);
}

#endif
