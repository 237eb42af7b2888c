/*
 * cache.c - the shared cache of decoded chunks.
 *
 * One mutex guards everything that changes: the hash table, the LRU list,
 * every entry's state and refcount, the counters and the prefetch queue.
 * Fetches run without it. An entry is in one of three states:
 *
 *   FETCHING  in the table, charged its raw_len, held by the thread that
 *             fetches it (and by any thread waiting for it)
 *   READY     in the table with its bytes; on the LRU list exactly while
 *             nobody holds it, so eviction, which takes from the LRU tail,
 *             can never free bytes a reader is copying
 *   FAILED    out of the table at once, so the next request fetches again;
 *             waiters of the failed attempt read its error, and the last
 *             of them frees it
 *
 * Bytes are charged when a fetch starts (the size is known from the chunk's
 * location), so in-flight fetches count against the budget too. Before a
 * fetch starts, and whenever an entry becomes idle, idle entries are evicted
 * from the LRU tail until the charge fits the budget. Held and in-flight
 * entries cannot be evicted, so the charge may exceed the budget by what
 * readers hold at one moment (at most one chunk per reading thread); it
 * falls back as they let go.
 *
 * An entry's data pointer and length are written by the fetching thread
 * before it publishes READY under the mutex, and never change afterwards,
 * so a holder reads them without the lock.
 *
 * Prefetch requests go to a small ring; worker threads take them and fetch
 * exactly as a reader would, with themselves as the only holder, so a
 * reader arriving meanwhile waits for that fetch instead of starting its
 * own. Requests for chunks already present or queued are dropped, as are
 * requests when the ring is full: prefetch is a hint.
 *
 * The cache neither logs fetch failures (the fetch function knows which
 * object failed and says so) nor retries them (the backend bounds its own
 * retries); it only refuses a fetch whose length disagrees with the catalog.
 */
#include "cache.h"
#include "chunker.h"
#include "log.h"

#include <assert.h>
#include <pthread.h>
#include <signal.h>

#define CACHE_BUCKETS_MIN 1024
#define CACHE_QUEUE_MAX 64

enum entry_state {
	ENTRY_FETCHING,
	ENTRY_READY,
	ENTRY_FAILED,
};

struct list {
	struct list *prev, *next;
};

struct cache_entry {
	struct cache_entry *hash_next; /* guarded by cache->lock */
	struct list lru;	       /* guarded by cache->lock; linked while READY and refs == 0 */
	struct chunk_loc loc;	       /* immutable */
	enum entry_state state;	       /* guarded by cache->lock */
	int error;		       /* guarded by cache->lock; the fetch's error when FAILED */
	unsigned refs;		       /* guarded by cache->lock */
	bool hashed;		       /* guarded by cache->lock; in the table, charged raw_len */
	uint8_t *data;		       /* loc.raw_len bytes; written before READY, then immutable */
	size_t len;		       /* as data */
};

struct cache {
	pthread_mutex_t lock;
	pthread_cond_t fetched; /* broadcast when an entry leaves FETCHING */
	pthread_cond_t work;	/* signalled when the queue gains a request, or on stop */

	uint64_t budget;      /* bytes; immutable */
	cache_fetch_fn fetch; /* immutable */
	void *userdata;	      /* immutable */

	struct cache_entry **buckets; /* guarded by lock; chains of entries */
	size_t n_buckets;	      /* guarded by lock; a power of two */
	struct list lru;	      /* guarded by lock; idle READY entries, most recent first */
	struct cache_stats stats;     /* guarded by lock; used and n_entries kept current */

	struct chunk_loc queue[CACHE_QUEUE_MAX]; /* guarded by lock; ring of prefetch requests */
	size_t queue_head, queue_len;		 /* guarded by lock */
	bool stopping;				 /* guarded by lock */

	pthread_t *workers; /* immutable after cache_new() */
	unsigned n_workers; /* immutable after cache_new() */
};

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

static void list_del(struct list *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
}

static struct cache_entry *entry_of_lru(struct list *l)
{
	return (struct cache_entry *)((char *)l - offsetof(struct cache_entry, lru));
}

static size_t bucket_of(const struct cache *c, const uint8_t hash[HASH_LEN])
{
	/* The key is a SHA-256: any 64 bits of it are uniform. */
	return (size_t)(get_le64(hash) & (c->n_buckets - 1));
}

static void entry_free(struct cache_entry *e)
{
	free(e->data);
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

static void unhash_locked(struct cache *c, struct cache_entry *e)
{
	struct cache_entry **p = &c->buckets[bucket_of(c, e->loc.hash)];

	while (*p != e)
		p = &(*p)->hash_next;
	*p = e->hash_next;
	e->hash_next = NULL;
	e->hashed = false;
	c->stats.used -= e->loc.raw_len;
	c->stats.n_entries--;
}

/* Evicts idle entries, least recently used first, until need more bytes
 * fit the budget or nothing idle is left. */
static void evict_locked(struct cache *c, uint64_t need)
{
	while (c->stats.used + need > c->budget && !list_is_empty(&c->lru)) {
		struct cache_entry *e = entry_of_lru(c->lru.prev);
		assert(e->refs == 0 && e->state == ENTRY_READY);
		list_del(&e->lru);
		unhash_locked(c, e);
		c->stats.evictions++;
		entry_free(e);
	}
}

static void put_locked(struct cache *c, struct cache_entry *e)
{
	assert(e->refs > 0);
	if (--e->refs > 0)
		return;
	if (!e->hashed) {
		entry_free(e); /* a failed fetch whose last waiter is done */
		return;
	}
	assert(e->state == ENTRY_READY);
	list_add_head(&c->lru, &e->lru);
	evict_locked(c, 0);
}

/* Makes a FETCHING entry for loc, held once by the caller, and charges it. */
static struct cache_entry *start_fetch_locked(struct cache *c, const struct chunk_loc *loc)
{
	struct cache_entry *e = xcalloc(1, sizeof(*e));
	size_t b;

	evict_locked(c, loc->raw_len);
	e->loc = *loc;
	e->state = ENTRY_FETCHING;
	e->refs = 1;
	e->hashed = true;
	list_init(&e->lru);
	if (c->stats.n_entries >= c->n_buckets)
		grow_locked(c);
	b = bucket_of(c, loc->hash);
	e->hash_next = c->buckets[b];
	c->buckets[b] = e;
	c->stats.used += loc->raw_len;
	c->stats.n_entries++;
	c->stats.fetches++;
	return e;
}

/* Runs the fetch for e (which the caller holds) without the lock, then
 * publishes the outcome and wakes the waiters. Returns the fetch's result. */
static int run_fetch(struct cache *c, struct cache_entry *e)
{
	AUTOBUF struct buf b = BUF_INIT;
	int r;

	r = c->fetch(c->userdata, &e->loc, &b);
	if (r >= 0 && b.len != e->loc.raw_len) {
		char hex[HASH_HEX_LEN + 1];
		hex_encode(e->loc.hash, HASH_LEN, hex);
		r = log_error_errno(-EBADMSG, "chunk '%s' decodes to %zu bytes, catalog says %u",
				    hex, b.len, e->loc.raw_len);
	}

	pthread_mutex_lock(&c->lock);
	if (r >= 0) {
		e->data = buf_detach(&b, &e->len);
		e->state = ENTRY_READY;
		r = 0;
	} else {
		e->state = ENTRY_FAILED;
		e->error = r;
		unhash_locked(c, e);
		c->stats.failures++;
	}
	pthread_cond_broadcast(&c->fetched);
	pthread_mutex_unlock(&c->lock);
	return r;
}

int cache_get(struct cache *c, const struct chunk_loc *loc, struct cache_entry **ret)
{
	struct cache_entry *e;
	int r;

	if (loc->raw_len > CHUNK_SIZE_MAX_LIMIT) {
		char hex[HASH_HEX_LEN + 1];
		hex_encode(loc->hash, HASH_LEN, hex);
		return log_error_errno(-EBADMSG, "chunk '%s' claims %u bytes, more than any chunk",
				       hex, loc->raw_len);
	}

	pthread_mutex_lock(&c->lock);
	e = lookup_locked(c, loc->hash);
	if (e) {
		if (e->refs++ == 0 && e->state == ENTRY_READY)
			list_del(&e->lru);
		if (e->state == ENTRY_READY) {
			c->stats.hits++;
		} else {
			c->stats.waits++;
			while (e->state == ENTRY_FETCHING)
				pthread_cond_wait(&c->fetched, &c->lock);
		}
		if (e->state == ENTRY_FAILED) {
			r = e->error;
			put_locked(c, e);
			pthread_mutex_unlock(&c->lock);
			return r;
		}
		pthread_mutex_unlock(&c->lock);
		*ret = e;
		return 0;
	}
	e = start_fetch_locked(c, loc);
	pthread_mutex_unlock(&c->lock);

	r = run_fetch(c, e);
	if (r < 0) {
		pthread_mutex_lock(&c->lock);
		put_locked(c, e);
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	*ret = e;
	return 0;
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
	put_locked(c, e);
	pthread_mutex_unlock(&c->lock);
}

static bool is_queued_locked(const struct cache *c, const uint8_t hash[HASH_LEN])
{
	for (size_t i = 0; i < c->queue_len; i++) {
		const struct chunk_loc *q = &c->queue[(c->queue_head + i) % CACHE_QUEUE_MAX];
		if (memcmp(q->hash, hash, HASH_LEN) == 0)
			return true;
	}
	return false;
}

void cache_prefetch(struct cache *c, const struct chunk_loc *loc)
{
	/* A chunk that would take more than half the budget would only evict
	 * what readers need now. */
	if (c->n_workers == 0 || loc->raw_len > CHUNK_SIZE_MAX_LIMIT || loc->raw_len > c->budget / 2)
		return;
	pthread_mutex_lock(&c->lock);
	if (!c->stopping && c->queue_len < CACHE_QUEUE_MAX && !lookup_locked(c, loc->hash) &&
	    !is_queued_locked(c, loc->hash)) {
		c->queue[(c->queue_head + c->queue_len) % CACHE_QUEUE_MAX] = *loc;
		c->queue_len++;
		c->stats.prefetches++;
		pthread_cond_signal(&c->work);
	}
	pthread_mutex_unlock(&c->lock);
}

static void *worker_main(void *arg)
{
	struct cache *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct chunk_loc loc;
		struct cache_entry *e;

		while (!c->stopping && c->queue_len == 0)
			pthread_cond_wait(&c->work, &c->lock);
		if (c->stopping)
			break;
		loc = c->queue[c->queue_head];
		c->queue_head = (c->queue_head + 1) % CACHE_QUEUE_MAX;
		c->queue_len--;
		if (lookup_locked(c, loc.hash))
			continue; /* a reader got there first */
		e = start_fetch_locked(c, &loc);
		pthread_mutex_unlock(&c->lock);
		/* A failure was logged by the fetch; a reader will retry it. */
		int UNUSED r = run_fetch(c, e);
		pthread_mutex_lock(&c->lock);
		put_locked(c, e);
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
}

int cache_new(const struct cache_options *opts, struct cache **ret)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	sigset_t all, old;
	int r = 0;

	assert(opts->fetch);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->fetched, NULL);
	pthread_cond_init(&c->work, NULL);
	c->budget = opts->budget ? opts->budget : CACHE_BUDGET_DEFAULT;
	c->fetch = opts->fetch;
	c->userdata = opts->userdata;
	c->n_buckets = CACHE_BUCKETS_MIN;
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	list_init(&c->lru);

	c->workers = xcalloc(opts->n_workers, sizeof(*c->workers));
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < opts->n_workers; i++) {
		r = -pthread_create(&c->workers[i], NULL, worker_main, c);
		if (r < 0)
			break;
		c->n_workers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
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
	ret->n_queued = c->queue_len;
	pthread_mutex_unlock(&c->lock);
}
