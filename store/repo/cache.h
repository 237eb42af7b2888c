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
 *
 * cache_prefetch() queues chunks for a small pool of worker threads, so a
 * sequential reader can have its next chunks fetched in parallel. A worker
 * coalesces queued chunks that lie next to each other in one pack into one
 * fetch (one range request), then the chunks of that range are decoded one
 * by one, by any idle worker, each published as soon as it is ready.
 * Prefetched chunks, and the stored bytes of fetches in flight, count
 * against the same budget.
 *
 * A second, compressed tier keeps chunks that readers come back to at a
 * fraction of their size: when eviction reaches a decoded chunk that was
 * read more than once and that compresses (its stored form is at most half
 * its size), a worker packs it in CACHE_PACK_BLOCK blocks, each its own
 * zstd frame with a checksum, instead of dropping it. A read of a packed
 * chunk decodes only the blocks it needs (cache_get_range()), from bytes
 * that were verified against the chunk's hash when they were fetched and
 * never left this process; a block that fails its checksum drops the copy
 * and the chunk is fetched again. Packed chunks count against the same
 * budget, and hold at most half of it. A random reader of a file somewhat
 * larger than the budget (a database's pages) then finds nearly every read
 * in one tier or the other, instead of decoding a whole chunk for most of
 * them.
 *
 * All functions are thread-safe.
 */
#ifndef CAIRN_CACHE_H
#define CAIRN_CACHE_H

#include "base/buf.h"
#include "catalog/catalog.h"

#define CACHE_BUDGET_DEFAULT (256ull << 20)
/* Chunks of one pack whose envelopes are at most this far apart are
 * fetched with one request (the bytes between are fetched and dropped). */
#define CACHE_COALESCE_GAP (64u << 10)
/* One coalesced fetch spans at most this many bytes of a pack, and at most
 * an eighth of the budget. */
#define CACHE_COALESCE_MAX (4u << 20)
/* ...and holds at most this many chunks. */
#define CACHE_RUN_MAX 64
/* Consumed entries kept before their buffers go to new chunks: the most
 * recent this many bytes (at most an eighth of the budget), for the reads
 * of a chunk that arrive late, out of order. */
#define CACHE_CONSUMED_SLACK (16u << 20)
/* The compressed tier: blocks decoded on their own, zstd's level for them,
 * and the bytes of decoded chunks being packed at one time, at most (and
 * the largest chunk that is packed). */
#define CACHE_PACK_BLOCK (16u << 10)
#define CACHE_PACK_LEVEL 1
#define CACHE_DEMOTE_MAX (4u << 20)

/* Fetches the stored bytes of chunks locs[0..n), n >= 1: all in one pack, in
 * ascending order of offset and not overlapping. Appends to out (which is
 * empty) the pack's bytes from locs[0].off to the end of locs[n - 1], gaps
 * included, and returns 0, or returns -errno (and logs what failed). Called
 * without any cache lock held, from the requesting thread or a worker,
 * possibly concurrently. In production, repo_fetch_chunks(). */
typedef int (*cache_fetch_fn)(void *userdata, const struct chunk_loc *locs, size_t n,
			      struct buf *out);
/* Decodes one chunk from its loc->stored_len stored bytes: appends its
 * decoded, verified bytes to out (empty, with room for loc->raw_len) and
 * returns 0, or returns -errno (and logs it). Same threads as fetch. In
 * production, repo_decode_chunk(). */
typedef int (*cache_decode_fn)(void *userdata, const struct chunk_loc *loc, const uint8_t *stored,
			       struct buf *out);

struct cache_options {
	uint64_t budget;       /* bytes of decoded chunks to keep; 0: CACHE_BUDGET_DEFAULT */
	unsigned n_workers;    /* prefetch threads; 0: cache_prefetch() does nothing */
	uint64_t coalesce_max; /* bytes one fetch may span; 0: CACHE_COALESCE_MAX; never
				  * more than budget / 8; below CACHE_COALESCE_GAP: no coalescing */
	cache_fetch_fn fetch;
	cache_decode_fn decode;
	void *userdata; /* passed to fetch and decode; must outlive the cache */
};

struct cache;
struct cache_entry;

struct cache_stats {
	uint64_t hits;		    /* requests served from a ready entry */
	uint64_t waits;		    /* requests that waited for another thread's fetch */
	uint64_t fetches;	    /* chunks fetched (started) */
	uint64_t requests;	    /* calls of the fetch function */
	uint64_t coalesced;	    /* chunks that shared a request with an earlier one */
	uint64_t decoded_by_reader; /* prefetched chunks a waiting reader decoded itself */
	uint64_t failures;	    /* chunk fetches that failed */
	uint64_t evictions;	    /* entries dropped to stay within the budget */
	uint64_t recycled;	    /* evictions whose buffer a new chunk took over */
	uint64_t prefetches;	    /* prefetch requests queued */
	uint64_t prefetch_dropped;  /* prefetch requests refused (queue or budget full) */
	uint64_t prefetch_unused;   /* prefetched chunks evicted before anyone read them */
	uint64_t demoted;	    /* chunks packed into the compressed tier */
	uint64_t packed_hits;	    /* requests served from the compressed tier */
	uint64_t used;		    /* bytes charged now: entries (cache_cost() each, or more when
				     * an entry reuses a larger buffer), stored bytes in flight, spare */
	uint64_t spare;		    /* bytes of buffers kept for the next fetch */
	uint64_t packed;	    /* bytes the compressed tier is charged now */
	uint64_t used_max;	    /* the most used has been */
	uint64_t n_entries;	    /* entries in the table now */
	uint64_t n_queued;	    /* prefetch requests no worker has taken yet */
	uint64_t n_fetching;	    /* chunks being fetched or decoded now */
};

/* Creates a cache and starts its prefetch workers (with every signal
 * blocked, so signals reach the main thread). -errno when a thread cannot
 * be created. */
int cache_new(const struct cache_options *opts, struct cache **ret) WARN_UNUSED;
/* Stops the workers (a fetch in progress is waited for) and frees every
 * entry. No entry may still be held. Accepts NULL. */
void cache_free(struct cache *c);
DEFINE_FREEP(struct cache, cache_free)

/* Returns in *ret a held entry with the bytes of the chunk loc names,
 * fetching them unless they are cached or being fetched. The caller reads
 * them with cache_entry_data() and gives the entry back with cache_put().
 * Errors are the fetch's or decode's (not logged again here), or -EBADMSG
 * (logged) when the decoded length differs from loc->raw_len or a length
 * is implausible. */
int cache_get(struct cache *c, const struct chunk_loc *loc, struct cache_entry **ret) WARN_UNUSED;
/* As cache_get(), for bytes [off, off + len) of the chunk (which must lie
 * in it): sets *ret_data to them. When the chunk is in the compressed tier,
 * only the blocks those bytes lie in are decoded, into an entry of their
 * own (the held entry then has no more than those blocks; use *ret_data,
 * not cache_entry_data()). */
int cache_get_range(struct cache *c, const struct chunk_loc *loc, uint32_t off, uint32_t len,
		    struct cache_entry **ret, const uint8_t **ret_data) WARN_UNUSED;
/* The chunk's bytes (loc->raw_len of them), valid until cache_put(), of
 * an entry from cache_get(). */
const uint8_t *cache_entry_data(const struct cache_entry *e, size_t *ret_len);
/* Drops the caller's hold on e; e must not be used afterwards. Accepts NULL. */
void cache_put(struct cache *c, struct cache_entry *e);
/* As cache_put(), from a sequential reader that has read all it will of
 * the chunk (its bytes are in the kernel's page cache now). Once nobody
 * holds it, the entry waits on a list of consumed entries, which are
 * evicted before any other; beyond the most recent CACHE_CONSUMED_SLACK
 * bytes of them (an eighth of the budget at most), their buffers go to new
 * chunks at once, full cache or not, so that reading a large file once
 * reuses the same pages instead of faulting in fresh ones, and does not
 * push out of the cache what other readers come back to. A cache_get() of
 * the chunk before then makes it an ordinary entry again. */
void cache_put_consumed(struct cache *c, struct cache_entry *e);

/* Asks the workers to fetch locs[0..n) in the background, in that order,
 * skipping those cached, being fetched or already queued. Never blocks on a
 * fetch. Requests are dropped when the queue is full, when there are no
 * workers, or when prefetched chunks nobody has read yet already hold half
 * the budget: prefetch is a hint. */
void cache_prefetch(struct cache *c, const struct chunk_loc *locs, size_t n);

/* True when next may join a fetch that ends with prev: the same pack, after
 * it, less than CACHE_COALESCE_GAP bytes after its end, and the fetch from
 * first_off to next's end at most max_span bytes. Pure. */
bool cache_can_coalesce(const struct chunk_loc *prev, const struct chunk_loc *next,
			uint64_t first_off, uint64_t max_span);

/* What the budget is charged for a cached chunk of raw_len bytes: the bytes
 * and a constant for the entry's bookkeeping. */
uint64_t cache_cost(uint32_t raw_len);

/* The budget in bytes. */
uint64_t cache_budget(const struct cache *c);
/* A consistent snapshot of the counters. */
void cache_get_stats(struct cache *c, struct cache_stats *ret);

#endif
