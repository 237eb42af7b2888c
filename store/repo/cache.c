/*
 * cache.c - the shared cache of decoded chunks.
 *
 * One mutex guards everything that changes: the hash table, the LRU list,
 * the decode list, every entry's state and refcount, the counters and the
 * prefetch queue. Fetches and decodes run without it. An entry is in one
 * of three states:
 *
 *   FETCHING  in the table, charged its raw_len, held by whoever will
 *             decode it (and by any thread waiting for it); once its stored
 *             bytes have arrived it points at them (e->run) and, unless
 *             the fetching thread decodes it at once, waits on the decode
 *             list for a worker, or for a reader that needs it now
 *   READY     in the table with its bytes; on the LRU list exactly while
 *             nobody holds it, so eviction, which takes from the LRU tail,
 *             can never free bytes a reader is copying
 *   FAILED    out of the table at once, so the next request fetches again;
 *             waiters of the failed attempt read its error, and the last
 *             of them frees it
 *
 * A fetch brings the stored bytes of one or more chunks that lie next to
 * each other in one pack (a run): one range request for all of them. The
 * run's buffer is shared by its chunks' decodes and freed after the last.
 * The thread that fetched decodes the run's first chunk and puts the
 * others on the decode list, so idle workers decode them in parallel and
 * each chunk is published as soon as it is ready; a reader that finds the
 * chunk it waits for still on the list decodes it itself rather than sleep.
 *
 * Budget: an entry's raw_len is charged when its fetch starts, and a run's
 * stored bytes while the run lives, so everything in flight counts. Before
 * a fetch starts, and whenever an entry becomes idle, idle entries are
 * evicted from the LRU tail until the charge fits. Held and in-flight data
 * cannot be evicted, so the charge may exceed the budget by what readers
 * hold and fetch at one moment; it falls back as they let go.
 *
 * An entry's data pointer and length are written by the decoding thread
 * before it publishes READY under the mutex, and never change afterwards,
 * so a holder reads them without the lock. A run's bytes are written before
 * its chunks are put on the decode list, and never change afterwards.
 *
 * Consumed entries: a sequential reader that has read the whole of a chunk
 * says so (cache_put_consumed()); its bytes are in the kernel's page cache
 * now, so the entry waits on a list of its own, evicted before the LRU
 * list. Once that list holds more than the slack (the most recent
 * CACHE_CONSUMED_SLACK bytes, an eighth of the budget at most, for reads
 * of the chunk that arrive late), each new chunk takes the buffer of the
 * oldest consumed entry (mremap()ed when no scanned one fits) before the
 * cache is full. Reading a large file once then costs the pages of a few
 * tens of MiB instead of faulting in (and zeroing) a fresh page for every
 * 4 KiB it decodes, which was an eighth of the daemon's time, and leaves
 * what other readers come back to in the cache. Run buffers are reused
 * the same way (spares, grown with realloc(), which keeps a mapped block's
 * pages).
 *
 * Prefetch: requests go to a ring that workers take from. A worker takes
 * the oldest request, and with it every queued request that continues it
 * in the same pack (cache_can_coalesce()), and fetches them as one run.
 * Requests for chunks already present or queued are ignored; requests are
 * dropped when the ring is full or when chunks prefetched but not yet read
 * (queued, in flight or ready) would exceed half the budget, so that
 * prefetching can never evict what readers are about to read: prefetch is
 * a hint.
 *
 * The compressed tier: a fourth state, PACKED, holds a chunk as zstd
 * frames of CACHE_PACK_BLOCK bytes each (level CACHE_PACK_LEVEL, with
 * zstd's content checksum), in the same table, on a list of its own. An
 * idle READY entry that eviction reaches, that was read at least twice and
 * whose stored form is at most half its size, goes to the demote list
 * instead of being freed (still charged, so eviction goes on to the next
 * one; at most CACHE_DEMOTE_MAX bytes wait there or are being packed). A
 * worker packs it without the lock, holding it so that its bytes stay;
 * when a reader took it meanwhile, or it packed to more than half, it goes
 * back to the LRU list as it was (marked, the second time, to be dropped).
 * Such entries' buffers are not taken by take_buffer_locked() either: a
 * recycled buffer is charged at its own size, up to half as much again as
 * the new chunk's, and a random reader's working set about the budget's
 * size then lost a good part of the cache to that slack and thrashed.
 * Packed entries hold at most half the budget and are evicted after every
 * READY one. A read of a packed entry decodes the blocks it needs into a
 * slice (an entry outside the table that its last put frees) without the
 * lock; it is never promoted back, so a random reader's working set, once
 * it is spread over both tiers, stays there. A packed copy's bytes were
 * verified against the chunk's hash when they were fetched and never left
 * the process; the checksum guards against bugs and memory damage, and a
 * block that fails it drops the copy (the chunk is fetched again).
 *
 * The cache neither logs fetch failures (the fetch and decode functions
 * know which object failed and say so) nor retries them (the backend bounds
 * its own retries); it only refuses a result whose length disagrees with
 * the catalog.
 */
#include "repo/cache.h"
#include "format/chunker.h"
#include "base/log.h"
#include "base/parallel.h"

#include <assert.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/mman.h>
#include <zstd.h>

#define CACHE_BUCKETS_MIN 1024
#define CACHE_QUEUE_MAX 512
#define CACHE_MMAP_MIN (128u << 10) /* chunk buffers this large are mapped */
#define CACHE_PAGE 4096u
#define CACHE_RECYCLE_EXTRA \
	2	       /* idle entries beyond those due for eviction whose buffer may be reused */
#define CACHE_SPARES 4 /* run buffers kept for reuse (at most a 16th of the budget) */
/* Heap bytes of evicted small chunks after which the heap is trimmed (at
 * most an eighth of the budget). */
#define CACHE_TRIM_EVERY (8u << 20)
/* Consumed entries, oldest first, whose buffers a new chunk may take. */
#define CACHE_CONSUMED_SCAN 8
/* What an entry costs beyond its bytes: the struct, its share of the hash
 * table, and the allocator's headers. Charged with the bytes, so that a
 * cache of many small chunks stays within the budget too. */
#define ENTRY_OVERHEAD (sizeof(struct cache_entry) + 2 * sizeof(void *) + 64)
/* No envelope is larger: the largest chunk, zstd's worst case and a header. */
#define CACHE_STORED_MAX (CHUNK_SIZE_MAX_LIMIT + (1u << 20))

enum entry_state {
	ENTRY_FETCHING,
	ENTRY_READY,
	ENTRY_FAILED,
	ENTRY_PACKED, /* in the compressed tier: data holds the blocks' frames */
};

struct list {
	struct list *prev, *next;
};

/* The stored bytes of one fetch, shared by the decodes of its chunks. */
struct run {
	unsigned refs; /* guarded by cache->lock: chunks still to decode from it */
	uint64_t off;  /* pack offset of data[0]; immutable */
	uint8_t *data; /* immutable */
	size_t len;    /* bytes at data; immutable */
	size_t cap;    /* bytes allocated at data, charged while the run lives */
};

/* A buffer kept from a finished run for the next one. */
struct spare {
	uint8_t *data;
	size_t cap;
};

struct cache_entry {
	struct cache_entry *hash_next; /* guarded by cache->lock */
	struct list link;	       /* guarded by cache->lock; while READY and refs == 0 on
					* the LRU list, or the consumed list when consumed; on
					* the decode list while queued_decode */
	struct chunk_loc loc;	       /* immutable */
	enum entry_state state;	       /* guarded by cache->lock */
	int error;		       /* guarded by cache->lock; the fetch's error when FAILED */
	unsigned refs;		       /* guarded by cache->lock */
	bool hashed;		       /* guarded by cache->lock; in the table, charged raw_len */
	bool queued_decode;	       /* guarded by cache->lock; on the decode list */
	bool unread;		       /* guarded by cache->lock; prefetched, nobody read it yet */
	bool consumed;		       /* guarded by cache->lock; idle on the consumed list */
	bool demote;		       /* guarded by cache->lock; on the demote list, or being
					* packed by a worker */
	bool no_demote;		       /* guarded by cache->lock; packing did not pay: evict */
	unsigned reads;		       /* guarded by cache->lock; cache_get()s while READY */
	struct run *run;	       /* guarded by cache->lock; stored bytes while FETCHING */
	uint64_t charge;   /* guarded by cache->lock; what the budget is charged for it */
	uint8_t *data;	   /* loc.raw_len bytes; written before READY, then immutable */
	size_t len;	   /* as data */
	size_t cap;	   /* bytes allocated at data (see data_alloc()); when PACKED, malloc()ed */
	uint32_t *ends;	   /* PACKED: end of block i's frame in data; immutable once PACKED */
	uint32_t n_blocks; /* PACKED: CACHE_PACK_BLOCK blocks of loc.raw_len */
};

struct queue_slot {
	struct chunk_loc loc;
	bool live; /* false: taken out of order by a coalescing worker */
};

struct cache {
	pthread_mutex_t lock;
	pthread_cond_t fetched; /* broadcast when an entry leaves FETCHING */
	pthread_cond_t work;	/* signalled when there is a request or a decode, or on stop */

	uint64_t budget;	   /* bytes; immutable */
	uint64_t coalesce_max;	   /* bytes one fetch may span; immutable */
	cache_fetch_fn fetch;	   /* immutable */
	cache_decode_fn decode_fn; /* immutable */
	void *userdata;		   /* immutable */

	struct cache_entry **buckets; /* guarded by lock; chains of entries */
	size_t n_buckets;	      /* guarded by lock; a power of two */
	struct list lru;	      /* guarded by lock; idle READY entries, most recent first */
	struct list decode;	  /* guarded by lock; FETCHING entries with bytes, oldest first */
	struct list consumed;	  /* guarded by lock; idle READY entries a sequential reader
				   * is done with, most recent first */
	struct list demote;	  /* guarded by lock; idle READY entries waiting to be packed */
	struct list packed;	  /* guarded by lock; idle PACKED entries, most recent first */
	uint64_t demoting_bytes;  /* guarded by lock; charge of the entries being demoted */
	uint64_t packed_bytes;	  /* guarded by lock; charge of PACKED entries */
	uint64_t packed_max;	  /* immutable; what the compressed tier may hold */
	uint64_t consumed_bytes;  /* guarded by lock; what the consumed list is charged */
	uint64_t consumed_slack;  /* immutable; consumed bytes kept before recycling */
	uint64_t heap_freed;	  /* guarded by lock; small chunks' bytes freed since a trim */
	uint64_t trim_every;	  /* immutable; heap_freed that makes a trim due */
	bool trim_due;		  /* guarded by lock; malloc_trim() when the lock is let go */
	struct cache_stats stats; /* guarded by lock; used and n_entries kept current */
	uint64_t unread;	  /* guarded by lock; raw bytes prefetched, queued or not, and
				       * not read yet */

	struct spare spares[CACHE_SPARES]; /* guarded by lock; charged */
	size_t n_spares;		   /* guarded by lock */
	uint64_t spare_bytes;		   /* guarded by lock */

	struct queue_slot queue[CACHE_QUEUE_MAX]; /* guarded by lock; ring of prefetch requests */
	size_t queue_head, queue_len;		  /* guarded by lock; slots, dead ones included */
	bool stopping;				  /* guarded by lock */

	pthread_t *workers; /* immutable after cache_new() */
	unsigned n_workers; /* immutable after cache_new() */
};

static uint64_t entry_cost(uint32_t raw_len)
{
	return (uint64_t)raw_len + ENTRY_OVERHEAD;
}

uint64_t cache_cost(uint32_t raw_len)
{
	return entry_cost(raw_len);
}

static void list_init(struct list *l)
{
	l->prev = l->next = l;
}

static bool list_is_empty(const struct list *l)
{
	return l->next == l;
}

static void list_add_head(struct list *head, struct list *l)
{
	l->prev = head;
	l->next = head->next;
	head->next->prev = l;
	head->next = l;
}

static void list_add_tail(struct list *head, struct list *l)
{
	list_add_head(head->prev, l);
}

static void list_del(struct list *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
}

static struct cache_entry *entry_of_link(struct list *l)
{
	return (struct cache_entry *)((char *)l - offsetof(struct cache_entry, link));
}

static size_t bucket_of(const struct cache *c, const uint8_t hash[HASH_LEN])
{
	/* The key is a SHA-256: any 64 bits of it are uniform. */
	return (size_t)(get_le64(hash) & (c->n_buckets - 1));
}

/* Chunk buffers of CACHE_MMAP_MIN bytes or more are mapped, so that they
 * go back to the kernel when freed instead of fragmenting the heap; what
 * costs is the first touch of each page, which recycling (take_buffer_locked())
 * avoids in the steady state of a full cache. */
static size_t data_cap(size_t n)
{
	if (n < CACHE_MMAP_MIN)
		return MAX(n, (size_t)1);
	return (n + CACHE_PAGE - 1) & ~(size_t)(CACHE_PAGE - 1);
}

static uint8_t *data_alloc(size_t cap)
{
	void *p;

	if (cap < CACHE_MMAP_MIN)
		return xmalloc(cap);
	p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		log_error("out of memory mapping %zu bytes", cap);
		abort(); /* as xmalloc() */
	}
	return p;
}

static void data_free(uint8_t *p, size_t cap)
{
	if (!p)
		return;
	if (cap < CACHE_MMAP_MIN)
		free(p);
	else
		munmap(p, cap);
}

static void entry_free(struct cache_entry *e)
{
	assert(!e->run && !e->queued_decode);
	if (e->state == ENTRY_PACKED) {
		free(e->data);
		free(e->ends);
	} else {
		data_free(e->data, e->cap);
	}
	free(e);
}

static struct cache_entry *lookup_locked(struct cache *c, const uint8_t hash[HASH_LEN])
{
	for (struct cache_entry *e = c->buckets[bucket_of(c, hash)]; e; e = e->hash_next)
		if (memcmp(e->loc.hash, hash, HASH_LEN) == 0)
			return e;
	return NULL;
}

static void grow_locked(struct cache *c)
{
	size_t old_n = c->n_buckets;
	struct cache_entry **old = c->buckets;

	c->n_buckets = old_n * 2;
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	for (size_t i = 0; i < old_n; i++) {
		struct cache_entry *e = old[i], *next;
		for (; e; e = next) {
			size_t b = bucket_of(c, e->loc.hash);
			next = e->hash_next;
			e->hash_next = c->buckets[b];
			c->buckets[b] = e;
		}
	}
	free(old);
}

/* Takes e's prefetched bytes off the unread count (it was read, failed or
 * is going). */
static void mark_read_locked(struct cache *c, struct cache_entry *e)
{
	if (!e->unread)
		return;
	e->unread = false;
	c->unread -= e->loc.raw_len;
}

/* Takes idle READY entry e off the LRU or the consumed list. */
static void idle_del_locked(struct cache *c, struct cache_entry *e)
{
	list_del(&e->link);
	if (e->consumed) {
		e->consumed = false;
		c->consumed_bytes -= e->charge;
	}
	if (e->demote) {
		/* wanted again before a worker packed it */
		e->demote = false;
		c->demoting_bytes -= e->charge;
	}
}

static void unhash_locked(struct cache *c, struct cache_entry *e)
{
	struct cache_entry **p = &c->buckets[bucket_of(c, e->loc.hash)];

	while (*p != e)
		p = &(*p)->hash_next;
	*p = e->hash_next;
	e->hash_next = NULL;
	e->hashed = false;
	mark_read_locked(c, e);
	c->stats.used -= e->charge;
	c->stats.n_entries--;
	if (e->state == ENTRY_PACKED)
		c->packed_bytes -= e->charge;
}

static void drop_spares_locked(struct cache *c, uint64_t need);

/* Drops idle entry e from the cache. */
static void evict_one_locked(struct cache *c, struct cache_entry *e)
{
	assert(e->refs == 0 && (e->state == ENTRY_READY || e->state == ENTRY_PACKED));
	idle_del_locked(c, e);
	if (e->unread)
		c->stats.prefetch_unused++;
	unhash_locked(c, e);
	c->stats.evictions++;
	if (e->data && (e->cap < CACHE_MMAP_MIN || e->state == ENTRY_PACKED)) {
		c->heap_freed += e->cap;
		if (c->heap_freed >= c->trim_every) {
			c->heap_freed = 0;
			c->trim_due = true;
		}
	}
	entry_free(e);
}

/* Unlocks; then, when evictions freed enough small chunks since the last
 * time, gives the heap's free pages back to the kernel. Small chunk
 * buffers come from the heap, which glibc only shrinks from its top: a
 * cache full of small files' chunks, evicted for large ones, would
 * otherwise stay resident beside them (the daemon's RSS then reached
 * twice the budget). */
static void unlock_and_trim(struct cache *c)
{
	bool trim = c->trim_due;

	c->trim_due = false;
	pthread_mutex_unlock(&c->lock);
	if (trim)
		malloc_trim(0);
}

/* True when idle READY entry e is worth packing into the compressed tier
 * rather than dropping: somebody came back to it, its stored form says it
 * compresses to half or less, and a worker can take it now. */
static bool demotable_locked(const struct cache *c, const struct cache_entry *e)
{
	return c->packed_max > 0 && e->reads >= 2 && !e->no_demote && e->data &&
	       e->loc.raw_len >= CACHE_PACK_BLOCK && e->loc.stored_len <= e->loc.raw_len / 2 &&
	       e->loc.raw_len <= CACHE_DEMOTE_MAX &&
	       c->demoting_bytes + e->charge <= CACHE_DEMOTE_MAX + ENTRY_OVERHEAD + CACHE_PAGE;
}

/* Evicts idle entries, consumed ones first (oldest first), then the least
 * recently used (handing those worth it to the workers to pack, which
 * frees nothing yet), then packed ones, until need more bytes fit the
 * budget or nothing idle is left. */
static void evict_locked(struct cache *c, uint64_t need)
{
	while (c->stats.used + need > c->budget && !list_is_empty(&c->consumed))
		evict_one_locked(c, entry_of_link(c->consumed.prev));
	while (c->stats.used + need > c->budget && !list_is_empty(&c->lru)) {
		struct cache_entry *e = entry_of_link(c->lru.prev);
		if (demotable_locked(c, e)) {
			list_del(&e->link);
			list_add_tail(&c->demote, &e->link);
			e->demote = true;
			c->demoting_bytes += e->charge;
			pthread_cond_signal(&c->work);
			continue;
		}
		evict_one_locked(c, e);
	}
	while (c->stats.used + need > c->budget && !list_is_empty(&c->packed))
		evict_one_locked(c, entry_of_link(c->packed.prev));
	drop_spares_locked(c, need);
}

static bool buffer_fits(const struct cache_entry *e, size_t n)
{
	return e->cap >= n && e->cap - n <= n / 2;
}

/* A buffer for n bytes from the oldest consumed entries beyond the slack,
 * whatever room the budget has left: a sequential reader's chunks then
 * reuse the pages of those it has read instead of faulting in new ones.
 * When none fits, the oldest is resized to fit, so that what sequential
 * reading keeps stays about the slack. NULL when there is
 * nothing beyond the slack. */
static uint8_t *take_consumed_locked(struct cache *c, size_t n, size_t *ret_cap)
{
	struct cache_entry *best = NULL;
	struct list *l = c->consumed.prev;
	uint64_t left = c->consumed_bytes;
	uint8_t *p;

	for (unsigned i = 0;
	     l != &c->consumed && i < CACHE_CONSUMED_SCAN && left > c->consumed_slack;
	     i++, l = l->prev) {
		struct cache_entry *e = entry_of_link(l);
		left -= e->charge;
		if (buffer_fits(e, n) && (!best || e->cap < best->cap))
			best = e;
	}
	if (!best && c->consumed_bytes > c->consumed_slack && !list_is_empty(&c->consumed)) {
		/* None fits: the oldest, resized. Its pages move along;
		 * only what it grows by is new. */
		best = entry_of_link(c->consumed.prev);
		p = best->cap >= CACHE_MMAP_MIN
			    ? mremap(best->data, best->cap, data_cap(n), MREMAP_MAYMOVE)
			    : MAP_FAILED;
		if (p == MAP_FAILED) {
			/* A small one (or no address space): at least
			 * do not grow. */
			evict_one_locked(c, best);
			return NULL;
		}
		best->data = p;
		best->cap = data_cap(n);
	}
	if (!best)
		return NULL;
	p = TAKE(best->data);
	*ret_cap = best->cap;
	c->stats.recycled++;
	evict_one_locked(c, best);
	/* Chunks larger than those they take the buffers of would have it
	 * creep up; what lies beyond twice the slack goes. */
	while (c->consumed_bytes > 2 * c->consumed_slack && !list_is_empty(&c->consumed))
		evict_one_locked(c, entry_of_link(c->consumed.prev));
	return p;
}

/* A buffer for n bytes of a new chunk: when the cache is full, the buffer of
 * one of the least recently used idle entries that fits (holding at most
 * half as much again), which is evicted for it; else NULL, for the decoder
 * to allocate data_cap(n) bytes. Sets *ret_cap to the buffer's size, which
 * is what the new entry is charged, slack included. */
static uint8_t *take_buffer_locked(struct cache *c, size_t n, size_t *ret_cap)
{
	struct cache_entry *best = NULL;
	struct list *l = c->lru.prev;
	uint64_t need, freed = 0;
	unsigned extra = 0;
	uint8_t *p;

	*ret_cap = data_cap(n);
	if (*ret_cap >= CACHE_MMAP_MIN) {
		p = take_consumed_locked(c, n, ret_cap);
		if (p)
			return p;
	}
	need = *ret_cap + ENTRY_OVERHEAD;
	if (c->stats.used + need <= c->budget)
		return NULL; /* room to spare: nothing to evict */
	need = c->stats.used + need - c->budget;
	/* Among the entries eviction would take anyway, and a few more. */
	for (; l != &c->lru && extra <= CACHE_RECYCLE_EXTRA; l = l->prev) {
		struct cache_entry *e = entry_of_link(l);
		if (demotable_locked(c, e))
			continue; /* packed, not dropped, by eviction */
		if (freed >= need)
			extra++;
		freed += e->charge;
		if (buffer_fits(e, n) && (!best || e->cap < best->cap))
			best = e;
	}
	if (!best)
		return NULL;
	p = TAKE(best->data);
	*ret_cap = best->cap;
	c->stats.recycled++;
	evict_one_locked(c, best);
	/* Chunks larger than those they take the buffers of would have it
	 * creep up; what lies beyond twice the slack goes. */
	while (c->consumed_bytes > 2 * c->consumed_slack && !list_is_empty(&c->consumed))
		evict_one_locked(c, entry_of_link(c->consumed.prev));
	return p;
}

static void put_locked(struct cache *c, struct cache_entry *e, bool consumed)
{
	assert(e->refs > 0);
	if (consumed)
		e->consumed = true; /* by the last to let go, whoever it is */
	if (--e->refs > 0)
		return;
	if (!e->hashed) {
		entry_free(e); /* a failed fetch whose last waiter is done, or a slice */
		return;
	}
	if (e->state == ENTRY_PACKED) {
		e->consumed = false; /* never on the consumed list */
		list_add_head(&c->packed, &e->link);
		return;
	}
	assert(e->state == ENTRY_READY);
	if (e->consumed) {
		list_add_head(&c->consumed, &e->link);
		c->consumed_bytes += e->charge;
	} else {
		list_add_head(&c->lru, &e->link);
	}
	evict_locked(c, 0);
}

/* Makes a FETCHING entry for loc, held once by the caller, and charges it,
 * with a buffer for its bytes when an evicted entry's can be reused. */
static struct cache_entry *start_fetch_locked(struct cache *c, const struct chunk_loc *loc,
					      bool prefetched)
{
	struct cache_entry *e = xcalloc(1, sizeof(*e));
	size_t b;

	e->data = take_buffer_locked(c, loc->raw_len, &e->cap);
	e->charge = e->cap + ENTRY_OVERHEAD;
	evict_locked(c, e->charge);
	e->loc = *loc;
	e->state = ENTRY_FETCHING;
	e->refs = 1;
	e->reads = prefetched ? 0 : 1;
	e->hashed = true;
	e->unread = prefetched;
	list_init(&e->link);
	if (c->stats.n_entries >= c->n_buckets)
		grow_locked(c);
	b = bucket_of(c, loc->hash);
	e->hash_next = c->buckets[b];
	c->buckets[b] = e;
	c->stats.used += e->charge;
	c->stats.used_max = MAX(c->stats.used_max, c->stats.used);
	c->stats.n_entries++;
	c->stats.n_fetching++;
	c->stats.fetches++;
	if (prefetched)
		c->unread += loc->raw_len;
	return e;
}

static uint64_t span_of(struct cache_entry *const *e, size_t n)
{
	return e[n - 1]->loc.off + e[n - 1]->loc.stored_len - e[0]->loc.off;
}

/* Publishes the outcome of e's fetch or decode (len bytes at e->data) and
 * wakes its waiters. */
static void publish_locked(struct cache *c, struct cache_entry *e, int r, size_t len)
{
	assert(e->state == ENTRY_FETCHING);
	c->stats.n_fetching--;
	if (r >= 0) {
		e->len = len;
		e->state = ENTRY_READY;
	} else {
		e->state = ENTRY_FAILED;
		e->error = r;
		unhash_locked(c, e);
		c->stats.failures++;
	}
	pthread_cond_broadcast(&c->fetched);
}

/* A buffer for a run's n stored bytes, from the spares: the smallest that
 * fits, else the largest with *ret_grow set, for the caller to realloc() to
 * n without the lock; NULL when there is no spare, for the caller to
 * allocate n (with malloc: the fetch function may grow it). Sets *ret_cap
 * (n when growing); the caller charges it. */
static uint8_t *take_spare_locked(struct cache *c, size_t n, size_t *ret_cap, bool *ret_grow)
{
	size_t best = c->n_spares;
	uint8_t *p;

	*ret_grow = false;
	for (size_t i = 0; i < c->n_spares; i++)
		if (c->spares[i].cap >= n &&
		    (best == c->n_spares || c->spares[i].cap < c->spares[best].cap))
			best = i;
	if (best == c->n_spares && c->n_spares > 0) {
		/* None is large enough: the largest, to be grown (a large
		 * block keeps its pages when realloc() moves it). */
		best = 0;
		for (size_t i = 1; i < c->n_spares; i++)
			if (c->spares[i].cap > c->spares[best].cap)
				best = i;
		*ret_grow = true;
	}
	if (best == c->n_spares) {
		*ret_cap = n;
		return NULL;
	}
	p = c->spares[best].data;
	*ret_cap = c->spares[best].cap;
	c->spare_bytes -= *ret_cap;
	c->spares[best] = c->spares[--c->n_spares];
	c->stats.used -= *ret_cap; /* charged again by the caller */
	if (*ret_grow)
		*ret_cap = n;
	return p;
}

/* Frees spare run buffers, largest first, until need more bytes fit the
 * budget (or none is left). */
static void drop_spares_locked(struct cache *c, uint64_t need)
{
	while (c->n_spares > 0 && c->stats.used + need > c->budget) {
		size_t big = 0;
		for (size_t i = 1; i < c->n_spares; i++)
			if (c->spares[i].cap > c->spares[big].cap)
				big = i;
		free(c->spares[big].data);
		c->stats.used -= c->spares[big].cap;
		c->spare_bytes -= c->spares[big].cap;
		c->spares[big] = c->spares[--c->n_spares];
	}
}

static void run_put_locked(struct cache *c, struct run *run)
{
	assert(run->refs > 0);
	if (--run->refs > 0)
		return;
	/* Kept for the next run while there is room, still charged. */
	if (c->n_spares < CACHE_SPARES && c->spare_bytes + run->cap <= c->budget / 16) {
		c->spares[c->n_spares++] = (struct spare){ run->data, run->cap };
		c->spare_bytes += run->cap;
	} else {
		c->stats.used -= run->cap;
		free(run->data);
	}
	free(run);
}

/* Decodes e (FETCHING, with its stored bytes in e->run, held by the caller
 * for this decode) without the lock, and publishes it. Called and returns
 * with the lock held. */
static int decode_locked(struct cache *c, struct cache_entry *e)
{
	struct run *run = e->run;
	struct buf out;
	size_t cap;
	uint8_t *p;
	int r;

	assert(e->state == ENTRY_FETCHING && run && !e->queued_decode);
	p = TAKE(e->data); /* set again when published; meanwhile nobody reads it */
	cap = e->cap;
	pthread_mutex_unlock(&c->lock);
	if (!p)
		p = data_alloc(cap);
	/* The buffer is the cache's (mapped, maybe): out must never grow it. */
	out = (struct buf){ p, 0, cap };
	r = c->decode_fn(c->userdata, &e->loc, run->data + (e->loc.off - run->off), &out);
	assert(out.ptr == p);
	if (r >= 0 && out.len != e->loc.raw_len) {
		char hex[HASH_HEX_LEN + 1];
		hex_encode(e->loc.hash, HASH_LEN, hex);
		r = log_error_errno(-EBADMSG, "chunk '%s' decodes to %zu bytes, catalog says %u",
				    hex, out.len, e->loc.raw_len);
	}
	if (r > 0)
		r = 0;
	pthread_mutex_lock(&c->lock);
	e->run = NULL;
	run_put_locked(c, run);
	e->data = p;
	publish_locked(c, e, r, out.len);
	return r;
}

/* Fails e, whose fetch failed with r, and drops one hold on it. */
static void fail_locked(struct cache *c, struct cache_entry *e, int r)
{
	publish_locked(c, e, r, 0);
}

/* Fetches the run e[0..n) (FETCHING entries, each held once by the caller,
 * its span already charged) without the lock, then decodes e[0] and hands
 * e[1..n) with their holds to the decode list. The caller keeps its hold on
 * e[0]. Returns e[0]'s outcome. Called and returns with the lock held. */
static int fetch_run_locked(struct cache *c, struct cache_entry **e, size_t n)
{
	struct chunk_loc locs[CACHE_RUN_MAX];
	AUTOBUF struct buf raw = BUF_INIT;
	uint64_t span = span_of(e, n);
	struct run *run;
	size_t cap;
	bool grow;
	uint8_t *p;
	int r;

	assert(n >= 1 && n <= CACHE_RUN_MAX);
	p = take_spare_locked(c, (size_t)span, &cap, &grow);
	evict_locked(c, cap);
	c->stats.used += cap;
	c->stats.used_max = MAX(c->stats.used_max, c->stats.used);
	for (size_t i = 0; i < n; i++)
		locs[i] = e[i]->loc;
	c->stats.requests++;
	if (n > 1)
		c->stats.coalesced += n - 1;
	pthread_mutex_unlock(&c->lock);
	if (grow)
		p = xrealloc(p, cap);
	raw = (struct buf){ p ? p : xmalloc(cap), 0, cap };
	r = c->fetch(c->userdata, locs, n, &raw);
	if (r >= 0 && raw.len != span) {
		char hex[HASH_HEX_LEN + 1];
		hex_encode(locs[0].pack, HASH_LEN, hex);
		r = log_error_errno(-EBADMSG,
				    "pack '%s': fetched %zu bytes at %" PRIu64
				    ", expected %" PRIu64,
				    hex, raw.len, locs[0].off, span);
	}
	pthread_mutex_lock(&c->lock);
	c->stats.used -= cap;
	if (r < 0) {
		for (size_t i = 0; i < n; i++) {
			fail_locked(c, e[i], r);
			if (i > 0)
				put_locked(c, e[i], false);
		}
		return r;
	}
	run = xcalloc(1, sizeof(*run));
	run->refs = (unsigned)n;
	run->off = locs[0].off;
	run->cap = raw.cap; /* the fetch may have grown it */
	c->stats.used += run->cap;
	c->stats.used_max = MAX(c->stats.used_max, c->stats.used);
	run->data = buf_detach(&raw, &run->len);
	for (size_t i = 0; i < n; i++)
		e[i]->run = run;
	for (size_t i = 1; i < n; i++) {
		e[i]->queued_decode = true;
		list_add_tail(&c->decode, &e[i]->link);
	}
	if (n > 1)
		pthread_cond_broadcast(&c->work);
	return decode_locked(c, e[0]);
}

/* --- the compressed tier --- */

static pthread_key_t zstd_key;
static pthread_once_t zstd_once = PTHREAD_ONCE_INIT;

struct pack_ctxs {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
};

static void pack_ctxs_free(void *p)
{
	struct pack_ctxs *z = p;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

static void zstd_key_create(void)
{
	if (pthread_key_create(&zstd_key, pack_ctxs_free) != 0)
		abort();
}

/* The calling thread's zstd contexts (freed when it exits): for packing
 * (only workers pack, so it is made on first use) or for unpacking. */
static struct pack_ctxs *pack_ctxs(bool packing)
{
	pthread_once(&zstd_once, zstd_key_create);
	struct pack_ctxs *z = pthread_getspecific(zstd_key);
	if (!z) {
		z = xcalloc(1, sizeof(*z));
		z->d = ZSTD_createDCtx();
		if (!z->d)
			abort(); /* out of memory, as xmalloc() */
		pthread_setspecific(zstd_key, z);
	}
	if (packing && !z->c) {
		z->c = ZSTD_createCCtx();
		if (!z->c ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel,
							CACHE_PACK_LEVEL)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 1)))
			abort();
	}
	return z;
}

static uint32_t block_len(uint32_t raw_len, uint32_t i)
{
	return MIN(raw_len - i * CACHE_PACK_BLOCK, CACHE_PACK_BLOCK);
}

/* Compresses len bytes at data in blocks of CACHE_PACK_BLOCK, each its own
 * zstd frame with a content checksum. False (nothing allocated) when the
 * result would be more than half of len. */
static bool pack_blocks(const uint8_t *data, uint32_t len, uint8_t **ret_data, size_t *ret_cap,
			uint32_t **ret_ends, uint32_t *ret_n)
{
	struct pack_ctxs *z = pack_ctxs(true);
	uint32_t n = (len + CACHE_PACK_BLOCK - 1) / CACHE_PACK_BLOCK;
	size_t limit = len / 2, bound = ZSTD_compressBound(CACHE_PACK_BLOCK), pos = 0;
	uint8_t *out = xmalloc(limit + bound);
	uint32_t *ends = xcalloc(n, sizeof(*ends));

	for (uint32_t i = 0; i < n; i++) {
		size_t k = ZSTD_compress2(z->c, out + pos, limit + bound - pos,
					  data + (size_t)i * CACHE_PACK_BLOCK, block_len(len, i));
		if (ZSTD_isError(k) || pos + k > limit) {
			free(out);
			free(ends);
			return false;
		}
		pos += k;
		ends[i] = (uint32_t)pos;
	}
	*ret_data = xrealloc(out, MAX(pos, (size_t)1));
	*ret_cap = MAX(pos, (size_t)1);
	*ret_ends = ends;
	*ret_n = n;
	return true;
}

/* Packs the first entry on the demote list (held by nobody, charged as
 * READY) without the lock, then turns it into a PACKED entry, unless a
 * reader took it meanwhile or it did not compress well enough. Called and
 * returns with the lock held. */
static void demote_locked(struct cache *c)
{
	struct cache_entry *e = entry_of_link(c->demote.next);
	uint8_t *data = NULL;
	uint32_t *ends = NULL, n = 0;
	size_t cap = 0;
	bool ok;

	list_del(&e->link);
	assert(e->refs == 0 && e->state == ENTRY_READY && e->demote);
	e->refs = 1; /* the worker's hold: its bytes stay while they are packed */
	pthread_mutex_unlock(&c->lock);
	ok = pack_blocks(e->data, (uint32_t)e->len, &data, &cap, &ends, &n);
	pthread_mutex_lock(&c->lock);
	e->demote = false;
	c->demoting_bytes -= e->charge;
	if (!ok || e->refs > 1 || e->consumed) {
		/* Someone reads it (it stays as it is), a sequential reader
		 * read it to its end meanwhile (its bytes are in the kernel's
		 * page cache: it goes to the consumed list, and a packed entry
		 * must never be marked consumed, or its eviction would take
		 * its charge off the consumed list's count), or it is not
		 * worth it. */
		if (!ok)
			e->no_demote = true;
		free(data);
		free(ends);
		put_locked(c, e, false);
		return;
	}
	data_free(e->data, e->cap);
	e->data = data;
	e->cap = cap;
	e->ends = ends;
	e->n_blocks = n;
	e->state = ENTRY_PACKED;
	e->refs = 0;
	c->stats.used -= e->charge;
	e->charge = cap + n * sizeof(*ends) + ENTRY_OVERHEAD;
	c->stats.used += e->charge;
	c->packed_bytes += e->charge;
	c->stats.demoted++;
	list_add_head(&c->packed, &e->link);
	while (c->packed_bytes > c->packed_max && !list_is_empty(&c->packed))
		evict_one_locked(c, entry_of_link(c->packed.prev));
}

/* Decodes the blocks of PACKED entry e (held by the caller) that bytes
 * [off, off + len) of the chunk lie in, into a new slice: an entry of its
 * own, outside the table, that its last cache_put() frees. *ret_skip is
 * where off lies in the slice. Without the lock. -EBADMSG (logged) when a
 * block fails its checksum. */
static int unpack_slice(struct cache_entry *e, uint32_t off, uint32_t len, struct cache_entry **ret,
			size_t *ret_skip)
{
	struct pack_ctxs *z = pack_ctxs(false);
	uint32_t at = MIN(off, e->loc.raw_len - 1);
	uint32_t first = at / CACHE_PACK_BLOCK;
	uint32_t last = (len ? off + len - 1 : at) / CACHE_PACK_BLOCK;
	struct cache_entry *t;
	size_t pos = 0;

	assert(last < e->n_blocks);
	t = xcalloc(1, sizeof(*t));
	t->loc = e->loc;
	t->state = ENTRY_READY;
	t->refs = 1;
	list_init(&t->link);
	for (uint32_t i = first; i <= last; i++)
		pos += block_len(e->loc.raw_len, i);
	t->cap = data_cap(pos);
	t->data = data_alloc(t->cap);
	pos = 0;
	for (uint32_t i = first; i <= last; i++) {
		uint32_t from = i ? e->ends[i - 1] : 0, n = block_len(e->loc.raw_len, i);
		size_t k = ZSTD_decompressDCtx(z->d, t->data + pos, n, e->data + from,
					       e->ends[i] - from);
		if (ZSTD_isError(k) || k != n) {
			char hex[HASH_HEX_LEN + 1];
			hex_encode(e->loc.hash, HASH_LEN, hex);
			entry_free(t);
			return log_error_errno(-EBADMSG,
					       "chunk '%s': block %u of its packed copy in memory "
					       "is damaged; fetching it again",
					       hex, i);
		}
		pos += n;
	}
	t->len = pos;
	*ret = t;
	*ret_skip = off - first * CACHE_PACK_BLOCK;
	return 0;
}

int cache_get_range(struct cache *c, const struct chunk_loc *loc, uint32_t off, uint32_t len,
		    struct cache_entry **ret, const uint8_t **ret_data)
{
	struct cache_entry *e;
	int r;

	if (loc->raw_len > CHUNK_SIZE_MAX_LIMIT || loc->stored_len > CACHE_STORED_MAX ||
	    loc->off > UINT64_MAX - loc->stored_len) {
		char hex[HASH_HEX_LEN + 1];
		hex_encode(loc->hash, HASH_LEN, hex);
		return log_error_errno(-EBADMSG, "chunk '%s' claims %u bytes, more than any chunk",
				       hex, MAX(loc->raw_len, loc->stored_len));
	}
	assert(off <= loc->raw_len && len <= loc->raw_len - off);

	pthread_mutex_lock(&c->lock);
	e = lookup_locked(c, loc->hash);
	if (e && e->state == ENTRY_PACKED && e->loc.raw_len == loc->raw_len) {
		struct cache_entry *t = NULL;
		size_t skip = 0;

		if (e->refs++ == 0)
			idle_del_locked(c, e);
		c->stats.packed_hits++;
		pthread_mutex_unlock(&c->lock);
		r = unpack_slice(e, off, len, &t, &skip);
		pthread_mutex_lock(&c->lock);
		if (r < 0) {
			/* Out of the table: the fetch below replaces it, and
			 * the put frees it. */
			unhash_locked(c, e);
			put_locked(c, e, false);
		} else {
			put_locked(c, e, false);
			unlock_and_trim(c);
			*ret = t;
			*ret_data = t->data + skip;
			return 0;
		}
		e = lookup_locked(c, loc->hash); /* another reader may fetch it already */
	}
	if (e && e->state == ENTRY_PACKED) {
		/* A loc that disagrees with the packed copy on the length:
		 * drop the copy rather than serve either. */
		if (e->refs == 0) {
			evict_one_locked(c, e);
		} else {
			unhash_locked(c, e);
		}
		e = NULL;
	}
	if (e) {
		if (e->refs++ == 0 && e->state == ENTRY_READY)
			idle_del_locked(c, e);
		e->consumed = false; /* wanted again */
		if (e->state == ENTRY_READY) {
			c->stats.hits++;
			e->reads++;
		} else {
			c->stats.waits++;
			if (e->queued_decode) {
				/* Rather than sleep while workers are busy
				 * with chunks needed later, decode it here. */
				list_del(&e->link);
				e->queued_decode = false;
				c->stats.decoded_by_reader++;
				int UNUSED rr = decode_locked(c, e);
				put_locked(c, e, false); /* the decode's hold; ours stays */
			}
			while (e->state == ENTRY_FETCHING)
				pthread_cond_wait(&c->fetched, &c->lock);
		}
		mark_read_locked(c, e);
		if (e->state == ENTRY_FAILED) {
			r = e->error;
			put_locked(c, e, false);
			unlock_and_trim(c);
			return r;
		}
		unlock_and_trim(c);
		*ret = e;
		*ret_data = e->data + off;
		return 0;
	}
	e = start_fetch_locked(c, loc, false);
	r = fetch_run_locked(c, &e, 1);
	if (r < 0) {
		put_locked(c, e, false);
		unlock_and_trim(c);
		return r;
	}
	unlock_and_trim(c);
	*ret = e;
	*ret_data = e->data + off;
	return 0;
}

int cache_get(struct cache *c, const struct chunk_loc *loc, struct cache_entry **ret)
{
	const uint8_t *data;

	return cache_get_range(c, loc, 0, loc->raw_len, ret, &data);
}

const uint8_t *cache_entry_data(const struct cache_entry *e, size_t *ret_len)
{
	assert(e->state == ENTRY_READY);
	*ret_len = e->len;
	return e->data;
}

void cache_put(struct cache *c, struct cache_entry *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&c->lock);
	put_locked(c, e, false);
	unlock_and_trim(c);
}

void cache_put_consumed(struct cache *c, struct cache_entry *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&c->lock);
	put_locked(c, e, true);
	unlock_and_trim(c);
}

static struct queue_slot *queue_at(struct cache *c, size_t i)
{
	return &c->queue[(c->queue_head + i) % CACHE_QUEUE_MAX];
}

static bool is_queued_locked(struct cache *c, const uint8_t hash[HASH_LEN])
{
	for (size_t i = 0; i < c->queue_len; i++) {
		const struct queue_slot *q = queue_at(c, i);
		if (q->live && memcmp(q->loc.hash, hash, HASH_LEN) == 0)
			return true;
	}
	return false;
}

bool cache_can_coalesce(const struct chunk_loc *prev, const struct chunk_loc *next,
			uint64_t first_off, uint64_t max_span)
{
	uint64_t prev_end = prev->off + prev->stored_len;

	if (memcmp(prev->pack, next->pack, HASH_LEN) != 0 || prev_end < prev->off ||
	    next->off < prev_end || next->off - prev_end >= CACHE_COALESCE_GAP ||
	    next->off > UINT64_MAX - next->stored_len || first_off > prev->off)
		return false;
	return next->off + next->stored_len - first_off <= max_span;
}

static bool prefetchable(const struct cache *c, const struct chunk_loc *loc)
{
	/* A chunk that would take more than half the budget would only evict
	 * what readers need now. */
	return loc->raw_len <= CHUNK_SIZE_MAX_LIMIT && loc->raw_len <= c->budget / 2 &&
	       loc->stored_len <= CACHE_STORED_MAX && loc->off <= UINT64_MAX - loc->stored_len;
}

void cache_prefetch(struct cache *c, const struct chunk_loc *locs, size_t n)
{
	bool added = false;

	if (c->n_workers == 0 || n == 0)
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < n && !c->stopping; i++) {
		const struct chunk_loc *loc = &locs[i];

		if (lookup_locked(c, loc->hash) || is_queued_locked(c, loc->hash))
			continue;
		if (!prefetchable(c, loc) || c->queue_len >= CACHE_QUEUE_MAX ||
		    c->unread + loc->raw_len > c->budget / 2) {
			c->stats.prefetch_dropped++;
			continue;
		}
		*queue_at(c, c->queue_len) = (struct queue_slot){ *loc, true };
		c->queue_len++;
		c->unread += loc->raw_len;
		c->stats.prefetches++;
		c->stats.n_queued++;
		added = true;
	}
	if (added)
		pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
}

/* Takes a queued request out (it is no longer unread-in-waiting: its
 * entry, if one is made, counts it from now on). */
static void unqueue_locked(struct cache *c, struct queue_slot *q)
{
	q->live = false;
	c->unread -= q->loc.raw_len;
	c->stats.n_queued--;
}

/* Takes the oldest live request and every queued request that continues it
 * in its pack, and makes FETCHING entries for those not cached yet, held by
 * the caller, in e. Returns how many (0: nothing to fetch). */
static size_t take_run_locked(struct cache *c, struct cache_entry **e)
{
	struct chunk_loc first, prev;
	size_t n = 0;

	for (;;) {
		if (c->queue_len == 0)
			return 0;
		struct queue_slot *q = queue_at(c, 0);
		c->queue_head = (c->queue_head + 1) % CACHE_QUEUE_MAX;
		c->queue_len--;
		if (!q->live)
			continue;
		unqueue_locked(c, q);
		if (lookup_locked(c, q->loc.hash))
			continue; /* a reader got there first */
		first = prev = q->loc;
		break;
	}
	e[n++] = start_fetch_locked(c, &first, true);
	while (n < CACHE_RUN_MAX && c->coalesce_max >= CACHE_COALESCE_GAP) {
		struct queue_slot *next = NULL;

		for (size_t i = 0; i < c->queue_len && !next; i++) {
			struct queue_slot *q = queue_at(c, i);
			if (q->live &&
			    cache_can_coalesce(&prev, &q->loc, first.off, c->coalesce_max))
				next = q;
		}
		if (!next)
			break;
		unqueue_locked(c, next);
		if (lookup_locked(c, next->loc.hash))
			break; /* present: the run would refetch it */
		prev = next->loc;
		e[n++] = start_fetch_locked(c, &prev, true);
	}
	return n;
}

static void *worker_main(void *arg)
{
	struct cache *c = arg;
	struct cache_entry *run[CACHE_RUN_MAX];

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->stopping && list_is_empty(&c->decode) && list_is_empty(&c->demote) &&
		       c->queue_len == 0)
			pthread_cond_wait(&c->work, &c->lock);
		if (c->stopping)
			break;
		/* Decodes first: readers may be waiting for them already. */
		if (!list_is_empty(&c->decode)) {
			struct cache_entry *e = entry_of_link(c->decode.next);
			list_del(&e->link);
			e->queued_decode = false;
			/* A failure was logged by decode; a reader will retry. */
			int UNUSED r = decode_locked(c, e);
			put_locked(c, e, false);
			continue;
		}
		/* Then packing, which frees what readers' fetches need. */
		if (!list_is_empty(&c->demote)) {
			demote_locked(c);
			continue;
		}
		size_t n = take_run_locked(c, run);
		if (n == 0)
			continue;
		int UNUSED r = fetch_run_locked(c, run, n);
		put_locked(c, run[0], false);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void stop_workers(struct cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->work);
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = 0; i < c->n_workers; i++)
		pthread_join(c->workers[i], NULL);
	c->n_workers = 0;

	/* Chunks fetched but left undecoded by the stopped workers. */
	pthread_mutex_lock(&c->lock);
	while (!list_is_empty(&c->decode)) {
		struct cache_entry *e = entry_of_link(c->decode.next);
		struct run *run = e->run;
		list_del(&e->link);
		e->queued_decode = false;
		e->run = NULL;
		run_put_locked(c, run);
		fail_locked(c, e, -ECANCELED);
		put_locked(c, e, false);
	}
	pthread_mutex_unlock(&c->lock);
}

int cache_new(const struct cache_options *opts, struct cache **ret)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	int r = 0;

	assert(opts->fetch && opts->decode);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->fetched, NULL);
	pthread_cond_init(&c->work, NULL);
	c->budget = opts->budget ? opts->budget : CACHE_BUDGET_DEFAULT;
	c->coalesce_max = opts->coalesce_max ? opts->coalesce_max : CACHE_COALESCE_MAX;
	c->coalesce_max = MIN(c->coalesce_max, c->budget / 8);
	c->fetch = opts->fetch;
	c->decode_fn = opts->decode;
	c->userdata = opts->userdata;
	c->n_buckets = CACHE_BUCKETS_MIN;
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	list_init(&c->lru);
	list_init(&c->decode);
	list_init(&c->consumed);
	list_init(&c->demote);
	list_init(&c->packed);
	c->packed_max = opts->n_workers > 0 ? c->budget / 2 : 0;
	c->consumed_slack = MIN((uint64_t)CACHE_CONSUMED_SLACK, c->budget / 8);
	c->trim_every = MAX(MIN((uint64_t)CACHE_TRIM_EVERY, c->budget / 8), 1u);

	c->workers = xcalloc(MAX(opts->n_workers, 1u), sizeof(*c->workers));
	r = thread_start_all(c->workers, opts->n_workers, worker_main, c, &c->n_workers);
	if (r < 0) {
		log_error_errno(r, "cannot start chunk prefetch threads");
		cache_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	stop_workers(c);
	for (size_t i = 0; i < c->n_buckets; i++) {
		struct cache_entry *e = c->buckets[i], *next;
		for (; e; e = next) {
			next = e->hash_next;
			assert(e->refs == 0);
			entry_free(e);
		}
	}
	for (size_t i = 0; i < c->n_spares; i++)
		free(c->spares[i].data);
	free(c->buckets);
	free(c->workers);
	pthread_cond_destroy(&c->work);
	pthread_cond_destroy(&c->fetched);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

uint64_t cache_budget(const struct cache *c)
{
	return c->budget;
}

void cache_get_stats(struct cache *c, struct cache_stats *ret)
{
	pthread_mutex_lock(&c->lock);
	*ret = c->stats;
	ret->spare = c->spare_bytes;
	ret->packed = c->packed_bytes;
	pthread_mutex_unlock(&c->lock);
}
