/*
 * test-cache.c - the chunk cache against a fake fetcher that serves
 * deterministic bytes for chunk i (its index is in the first bytes of the
 * hash), counts its calls per chunk, fails on request, and can hold a fetch
 * at a gate until the test opens it. Threads meet through the fetcher's
 * condition variable and the cache's own counters, polled against a
 * deadline; nothing sleeps to synchronise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "repo/cache.h"
#include "format/chunker.h"
#include "base/log.h"

#define N_CHUNKS 48
#define N_THREADS 8
#define DEADLINE_NS (20ull * 1000 * 1000 * 1000)

struct source {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned calls[N_CHUNKS];     /* fetches per chunk */
	unsigned requests;	      /* calls of the fetch function */
	size_t last_n;		      /* chunks the last request asked for */
	unsigned fail_left[N_CHUNKS]; /* fail this many more fetches... */
	int fail_error[N_CHUNKS];     /* ...with this error */
	bool short_read[N_CHUNKS];    /* decode to one byte less than raw_len */
	int gate;		      /* chunk whose fetch waits for gate_open, or -1 */
	int decode_gate;	      /* chunk whose decode waits for gate_open, or -1 */
	unsigned gate_entered;	      /* fetches or decodes waiting at the gate */
	bool gate_open;
};

/* 0: small chunks; else chunk i has big_chunks + i * 4096 bytes (buffers
 * the cache maps). */
static uint32_t big_chunks;

static uint32_t chunk_len(unsigned i)
{
	return big_chunks ? big_chunks + i * 4096 : 1000 + i * 97;
}

static uint8_t chunk_byte(unsigned i, size_t j)
{
	return (uint8_t)(i * 131 + j * 7 + (j >> 8));
}

/* true: chunks are stored in a quarter of their size and decode to bytes
 * that compress well (raw_byte()), so that the cache packs them. */
static bool compressible;

/* Byte j of chunk i as decoded. */
static uint8_t raw_byte(unsigned i, size_t j)
{
	if (!compressible)
		return chunk_byte(i, j);
	return j % 64 < 48 ? (uint8_t)('a' + i % 26) : chunk_byte(i, j);
}

/* Chunk i lies in one pack right after chunk i - 1 (stored as is), so
 * neighbours can be fetched together. */
static struct chunk_loc chunk_loc_of(unsigned i)
{
	struct chunk_loc loc;

	memset(&loc, 0, sizeof(loc));
	put_le32(loc.hash, i);
	for (size_t k = 4; k < HASH_LEN; k++)
		loc.hash[k] = (uint8_t)(i * 17 + k);
	loc.pack[0] = 0xaa;
	for (unsigned k = 0; k < i; k++)
		loc.off += chunk_len(k);
	loc.raw_len = chunk_len(i);
	loc.stored_len = compressible ? loc.raw_len / 4 : loc.raw_len;
	return loc;
}

/* Waits at the gate if chunk i is gated there (lock held). */
static void pass_gate_locked(struct source *s, int gate, unsigned i)
{
	if ((int)i != gate)
		return;
	s->gate_entered++;
	pthread_cond_broadcast(&s->cond);
	while (!s->gate_open)
		pthread_cond_wait(&s->cond, &s->lock);
}

static int fake_fetch(void *userdata, const struct chunk_loc *locs, size_t n, struct buf *out)
{
	struct source *s = userdata;
	uint64_t pos = locs[0].off;
	int r = 0;

	if (out->len != 0)
		return -EINVAL; /* fails the test's data checks */
	pthread_mutex_lock(&s->lock);
	s->requests++;
	s->last_n = n;
	for (size_t k = 0; k < n; k++) {
		unsigned i = get_le32(locs[k].hash);
		if (i >= N_CHUNKS) {
			r = -EINVAL;
			break;
		}
		s->calls[i]++;
		pass_gate_locked(s, s->gate, i);
		if (s->fail_left[i] > 0) {
			s->fail_left[i]--;
			r = s->fail_error[i];
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return r;
	/* The pack's bytes from the first chunk to the end of the last. */
	for (size_t k = 0; k < n; k++) {
		unsigned i = get_le32(locs[k].hash);
		buf_append_zero(out, locs[k].off - pos);
		buf_reserve(out, locs[k].stored_len);
		for (size_t j = 0; j < locs[k].stored_len; j++)
			out->ptr[out->len + j] = chunk_byte(i, j);
		out->len += locs[k].stored_len;
		pos = locs[k].off + locs[k].stored_len;
	}
	return 0;
}

static int fake_decode(void *userdata, const struct chunk_loc *loc, const uint8_t *stored,
		       struct buf *out)
{
	struct source *s = userdata;
	unsigned i = get_le32(loc->hash);

	if (i >= N_CHUNKS || out->len != 0 || out->cap < loc->raw_len)
		return -EINVAL;
	for (size_t j = 0; j < loc->stored_len; j++)
		if (stored[j] != chunk_byte(i, j))
			return -EBADMSG; /* the wrong bytes were handed over */
	pthread_mutex_lock(&s->lock);
	pass_gate_locked(s, s->decode_gate, i);
	bool short_read = s->short_read[i];
	pthread_mutex_unlock(&s->lock);
	if (compressible) {
		for (size_t j = 0; j < loc->raw_len - (short_read ? 1 : 0); j++)
			out->ptr[out->len++] = raw_byte(i, j);
		return 0;
	}
	buf_append(out, stored, loc->stored_len - (short_read ? 1 : 0));
	return 0;
}

static unsigned calls_of(struct source *s, unsigned i)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = s->calls[i];
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void open_gate(struct source *s)
{
	pthread_mutex_lock(&s->lock);
	s->gate_open = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Waits until a fetch of the gated chunk is held at the gate. */
static void wait_gate_entered(struct source *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += DEADLINE_NS / 1000000000ull;
	pthread_mutex_lock(&s->lock);
	while (s->gate_entered == 0)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) != 0)
			break;
	unsigned entered = s->gate_entered;
	pthread_mutex_unlock(&s->lock);
	assert_true(entered > 0);
}

/* Polls the cache's counters until at least n requests wait for a fetch
 * (the cache has no way to signal the test). */
static void wait_for_waiters(struct cache *c, uint64_t n)
{
	uint64_t deadline = now_ns() + DEADLINE_NS;
	struct cache_stats st;

	for (;;) {
		cache_get_stats(c, &st);
		if (st.waits >= n || now_ns() > deadline)
			break;
		sched_yield();
	}
	assert_true(st.waits >= n);
}

struct fixture {
	struct source src;
	struct cache *cache;
};

static struct fixture *fixture_new(uint64_t budget, unsigned n_workers)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct cache_options o = { .budget = budget,
				   .n_workers = n_workers,
				   .fetch = fake_fetch,
				   .decode = fake_decode,
				   .userdata = &f->src };

	big_chunks = 0; /* a test that failed may have left it set */
	compressible = false;
	pthread_mutex_init(&f->src.lock, NULL);
	pthread_cond_init(&f->src.cond, NULL);
	f->src.gate = -1;
	f->src.decode_gate = -1;
	assert_int_equal(cache_new(&o, &f->cache), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	cache_free(f->cache);
	pthread_cond_destroy(&f->src.cond);
	pthread_mutex_destroy(&f->src.lock);
	free(f);
}

/* Gets chunk i and checks every byte against the source. Safe on any
 * thread (cmocka's assertions are not). */
static bool chunk_is_true_put(struct cache *c, unsigned i, bool consumed)
{
	struct chunk_loc loc = chunk_loc_of(i);
	struct cache_entry *e = NULL;
	const uint8_t *data;
	size_t len;
	bool ok;

	if (cache_get(c, &loc, &e) != 0)
		return false;
	data = cache_entry_data(e, &len);
	ok = len == chunk_len(i);
	for (size_t j = 0; ok && j < len; j++)
		ok = data[j] == raw_byte(i, j);
	if (consumed)
		cache_put_consumed(c, e);
	else
		cache_put(c, e);
	return ok;
}

static bool chunk_is_true(struct cache *c, unsigned i)
{
	return chunk_is_true_put(c, i, false);
}

#define check_chunk(c, i) assert_true(chunk_is_true((c), (i)))
/* The same, as a sequential reader done with the chunk. */
#define check_chunk_consumed(c, i) assert_true(chunk_is_true_put((c), (i), true))

static void test_second_get_is_a_hit(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 0);
	struct cache_stats st;

	check_chunk(f->cache, 3);
	check_chunk(f->cache, 3);
	check_chunk(f->cache, 4);
	cache_get_stats(f->cache, &st);
	assert_int_equal(calls_of(&f->src, 3), 1);
	assert_int_equal(st.fetches, 2);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.n_entries, 2);
	assert_int_equal(st.used - st.spare, cache_cost(chunk_len(3)) + cache_cost(chunk_len(4)));
	fixture_free(f);
}

static void test_budget_evicts_least_recent(void **state UNUSED)
{
	/* Room for chunks 0 and 1, or 0 and 2, but not all three, and for
	 * the stored bytes of the fetch in flight. */
	struct fixture *f =
		fixture_new(cache_cost(chunk_len(0)) + cache_cost(chunk_len(2)) + chunk_len(2) + 10,
			    0);
	struct cache_stats st;

	check_chunk(f->cache, 0);
	check_chunk(f->cache, 1);
	check_chunk(f->cache, 0); /* 0 is now the most recent */
	check_chunk(f->cache, 2); /* evicts 1 */
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.evictions, 1);
	assert_true(st.used <= cache_budget(f->cache));
	check_chunk(f->cache, 0);
	assert_int_equal(calls_of(&f->src, 0), 1);
	check_chunk(f->cache, 1);
	assert_int_equal(calls_of(&f->src, 1), 2);
	fixture_free(f);
}

static void test_consumed_chunks_are_evicted_first(void **state UNUSED)
{
	/* As above: room for two of chunks 0..2. */
	struct fixture *f =
		fixture_new(cache_cost(chunk_len(0)) + cache_cost(chunk_len(2)) + chunk_len(2) + 10,
			    0);
	struct cache_stats st;

	check_chunk(f->cache, 0);
	check_chunk_consumed(f->cache, 1); /* the most recent, but read through */
	check_chunk(f->cache, 2);	   /* evicts 1, not 0 */
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.evictions, 1);
	check_chunk(f->cache, 0);
	assert_int_equal(calls_of(&f->src, 0), 1);
	/* A consumed chunk asked for again is an ordinary entry again. */
	check_chunk_consumed(f->cache, 1);
	assert_int_equal(calls_of(&f->src, 1), 2);
	check_chunk(f->cache, 1);
	check_chunk(f->cache, 0);
	check_chunk(f->cache, 2); /* evicts 1, now the least recent */
	check_chunk(f->cache, 0);
	assert_int_equal(calls_of(&f->src, 0), 1);
	fixture_free(f);
}

static void test_consumed_buffers_are_reused_before_the_cache_is_full(void **state UNUSED)
{
	struct fixture *f;
	struct cache_stats st;
	uint64_t slack, total = 0;

	f = fixture_new(64u << 20, 0);
	big_chunks = 256u << 10;
	slack = MIN((uint64_t)CACHE_CONSUMED_SLACK, cache_budget(f->cache) / 8);
	for (unsigned i = 0; i < N_CHUNKS; i++) {
		check_chunk_consumed(f->cache, i);
		total += cache_cost(chunk_len(i));
	}
	assert_true(total > 2 * slack); /* else this tests nothing */
	cache_get_stats(f->cache, &st);
	/* Far from full, the chunks read through gave their buffers to the
	 * next ones: what stays is the slack, twice at most. */
	assert_true(st.recycled > 0);
	assert_true(st.evictions >= st.recycled);
	assert_true(st.used - st.spare <= 2 * slack + cache_cost(chunk_len(N_CHUNKS - 1)));
	/* The most recent ones are still there, with their bytes. */
	check_chunk(f->cache, N_CHUNKS - 1);
	assert_int_equal(calls_of(&f->src, N_CHUNKS - 1), 1);
	/* The oldest went; asked for again, it comes back whole. */
	check_chunk(f->cache, 0);
	assert_int_equal(calls_of(&f->src, 0), 2);
	fixture_free(f);
	big_chunks = 0;
}

static void test_held_entries_survive_eviction(void **state UNUSED)
{
	struct fixture *f = fixture_new(3 * cache_cost(chunk_len(N_CHUNKS - 1)), 0);
	struct chunk_loc loc = chunk_loc_of(5);
	struct cache_entry *held = NULL, *again = NULL;
	struct cache_stats st;
	const uint8_t *data;
	size_t len;

	assert_int_equal(cache_get(f->cache, &loc, &held), 0);
	for (int round = 0; round < 3; round++)
		for (unsigned i = 0; i < N_CHUNKS; i++)
			if (i != 5)
				check_chunk(f->cache, i);
	cache_get_stats(f->cache, &st);
	assert_true(st.evictions > 0);
	/* Still cached, and still the same bytes (ASan would catch a free). */
	data = cache_entry_data(held, &len);
	assert_int_equal(len, chunk_len(5));
	for (size_t j = 0; j < len; j++)
		assert_int_equal(data[j], chunk_byte(5, j));
	assert_int_equal(cache_get(f->cache, &loc, &again), 0);
	assert_ptr_equal(again, held);
	cache_put(f->cache, again);
	cache_put(f->cache, held);
	assert_int_equal(calls_of(&f->src, 5), 1);
	cache_get_stats(f->cache, &st);
	assert_true(st.used <= cache_budget(f->cache));
	fixture_free(f);
}

static void test_over_budget_while_held_shrinks_on_put(void **state UNUSED)
{
	struct fixture *f = fixture_new(cache_cost(chunk_len(0)), 0);
	struct cache_entry *e[4] = { NULL };
	struct cache_stats st;

	for (unsigned i = 0; i < 4; i++) {
		struct chunk_loc loc = chunk_loc_of(i);
		assert_int_equal(cache_get(f->cache, &loc, &e[i]), 0);
	}
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.n_entries, 4); /* nothing idle to evict */
	for (unsigned i = 0; i < 4; i++)
		cache_put(f->cache, e[i]);
	cache_get_stats(f->cache, &st);
	assert_true(st.used <= cache_budget(f->cache));
	assert_true(st.n_entries <= 1);
	fixture_free(f);
}

struct stress_arg {
	struct fixture *f;
	unsigned seed;
	unsigned n_bad; /* reads that failed or returned wrong bytes */
};

static void *stress_thread(void *p)
{
	struct stress_arg *a = p;
	unsigned seed = a->seed;

	for (int n = 0; n < 3000; n++) {
		unsigned i = (unsigned)rand_r(&seed) % N_CHUNKS;
		if (n % 7 == 0) {
			/* Hold one chunk while others come and go. */
			struct chunk_loc loc = chunk_loc_of(i);
			struct cache_entry *e = NULL;
			const uint8_t *data;
			size_t len;
			if (cache_get(a->f->cache, &loc, &e) != 0) {
				a->n_bad++;
				continue;
			}
			if (!chunk_is_true(a->f->cache, (i + 1) % N_CHUNKS))
				a->n_bad++;
			data = cache_entry_data(e, &len);
			if (len != chunk_len(i) || data[len - 1] != chunk_byte(i, len - 1) ||
			    data[0] != chunk_byte(i, 0))
				a->n_bad++;
			cache_put(a->f->cache, e);
		} else if (!chunk_is_true(a->f->cache, i)) {
			a->n_bad++;
		}
	}
	return NULL;
}

static void test_tiny_budget_many_threads_serve_true_data(void **state UNUSED)
{
	struct fixture *f = fixture_new(4 * cache_cost(chunk_len(N_CHUNKS / 2)), 2);
	pthread_t t[N_THREADS];
	struct stress_arg args[N_THREADS];
	struct cache_stats st;

	for (unsigned k = 0; k < N_THREADS; k++) {
		args[k] = (struct stress_arg){ f, 1234 + k, 0 };
		assert_int_equal(pthread_create(&t[k], NULL, stress_thread, &args[k]), 0);
	}
	/* Prefetches race with the readers for the same chunks. */
	for (unsigned n = 0; n < 2000; n++) {
		struct chunk_loc locs[3] = { chunk_loc_of(n % N_CHUNKS),
					     chunk_loc_of((n + 1) % N_CHUNKS),
					     chunk_loc_of((n + 2) % N_CHUNKS) };
		cache_prefetch(f->cache, locs, 3);
	}
	for (unsigned k = 0; k < N_THREADS; k++) {
		pthread_join(t[k], NULL);
		assert_int_equal(args[k].n_bad, 0);
	}
	cache_get_stats(f->cache, &st);
	assert_true(st.evictions > 0);
	assert_true(st.fetches > N_CHUNKS);
	assert_int_equal(st.failures, 0);
	/* Nothing is held now, so the budget holds again. */
	assert_true(st.used <= cache_budget(f->cache));
	fixture_free(f);
}

static void test_failed_fetch_is_not_cached(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 0);
	struct chunk_loc loc = chunk_loc_of(9);
	struct cache_entry *e = NULL;
	struct cache_stats st;

	f->src.fail_left[9] = 1;
	f->src.fail_error[9] = -EIO;
	assert_int_equal(cache_get(f->cache, &loc, &e), -EIO);
	assert_null(e);
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.n_entries, 0);
	assert_int_equal(st.used, 0);
	assert_int_equal(st.failures, 1);
	check_chunk(f->cache, 9); /* retried, and now it works */
	assert_int_equal(calls_of(&f->src, 9), 2);
	check_chunk(f->cache, 9);
	assert_int_equal(calls_of(&f->src, 9), 2);
	fixture_free(f);
}

static void test_wrong_length_is_damage(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 0);
	struct chunk_loc loc = chunk_loc_of(2);
	struct cache_entry *e = NULL;
	struct cache_stats st;

	f->src.short_read[2] = true;
	assert_int_equal(cache_get(f->cache, &loc, &e), -EBADMSG);
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.n_entries, 0);
	f->src.short_read[2] = false;
	check_chunk(f->cache, 2);

	loc = chunk_loc_of(3);
	loc.raw_len = CHUNK_SIZE_MAX_LIMIT + 1;
	assert_int_equal(cache_get(f->cache, &loc, &e), -EBADMSG);
	assert_int_equal(calls_of(&f->src, 3), 0);
	fixture_free(f);
}

struct getter_arg {
	struct cache *cache;
	unsigned chunk;
	int result;
	bool data_ok;
};

static void *getter_thread(void *p)
{
	struct getter_arg *a = p;
	struct chunk_loc loc = chunk_loc_of(a->chunk);
	struct cache_entry *e = NULL;

	a->result = cache_get(a->cache, &loc, &e);
	if (a->result == 0) {
		size_t len;
		const uint8_t *data = cache_entry_data(e, &len);
		a->data_ok = len == chunk_len(a->chunk);
		for (size_t j = 0; a->data_ok && j < len; j++)
			a->data_ok = data[j] == chunk_byte(a->chunk, j);
		cache_put(a->cache, e);
	}
	return NULL;
}

/* Starts N_THREADS getters of chunk 7 with its fetch held at the gate and
 * returns once all but the fetching one wait for it. */
static void start_gated_getters(struct fixture *f, pthread_t *t, struct getter_arg *args)
{
	f->src.gate = 7;
	for (unsigned k = 0; k < N_THREADS; k++) {
		args[k] = (struct getter_arg){ f->cache, 7, 1, false };
		assert_int_equal(pthread_create(&t[k], NULL, getter_thread, &args[k]), 0);
	}
	wait_gate_entered(&f->src);
	wait_for_waiters(f->cache, N_THREADS - 1);
}

static void test_concurrent_requests_fetch_once(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 0);
	pthread_t t[N_THREADS];
	struct getter_arg args[N_THREADS];

	start_gated_getters(f, t, args);
	assert_int_equal(calls_of(&f->src, 7), 1);
	open_gate(&f->src);
	for (unsigned k = 0; k < N_THREADS; k++) {
		pthread_join(t[k], NULL);
		assert_int_equal(args[k].result, 0);
		assert_true(args[k].data_ok);
	}
	assert_int_equal(calls_of(&f->src, 7), 1);
	fixture_free(f);
}

static void test_waiters_share_a_failure_then_retry(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 0);
	pthread_t t[N_THREADS];
	struct getter_arg args[N_THREADS];
	struct cache_stats st;

	f->src.fail_left[7] = 1;
	f->src.fail_error[7] = -EBADMSG;
	start_gated_getters(f, t, args);
	open_gate(&f->src);
	for (unsigned k = 0; k < N_THREADS; k++) {
		pthread_join(t[k], NULL);
		assert_int_equal(args[k].result, -EBADMSG);
	}
	assert_int_equal(calls_of(&f->src, 7), 1);
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.n_entries, 0);
	assert_int_equal(st.used - st.spare, 0);
	check_chunk(f->cache, 7);
	assert_int_equal(calls_of(&f->src, 7), 2);
	fixture_free(f);
}

static void test_prefetch_fetches_once_for_a_reader(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 2);
	struct chunk_loc loc = chunk_loc_of(11);
	struct cache_stats st;

	cache_prefetch(f->cache, &loc, 1);
	cache_prefetch(f->cache, &loc, 1); /* queued or present already: dropped */
	check_chunk(f->cache, 11);	   /* waits for the worker, or fetches first */
	assert_int_equal(calls_of(&f->src, 11), 1);
	cache_prefetch(f->cache, &loc, 1); /* cached: dropped */
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.prefetches, 1);
	check_chunk(f->cache, 11);
	assert_int_equal(calls_of(&f->src, 11), 1);
	fixture_free(f);
}

static void test_prefetch_skips_what_a_reader_fetched(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 1);
	struct chunk_loc a = chunk_loc_of(20), b = chunk_loc_of(21);
	uint64_t deadline;
	struct cache_stats st;

	/* Keep the only worker busy at the gate with chunk 20... */
	f->src.gate = 20;
	cache_prefetch(f->cache, &a, 1);
	wait_gate_entered(&f->src);
	/* ...while chunk 21 waits in the queue and a reader fetches it. */
	cache_prefetch(f->cache, &b, 1);
	check_chunk(f->cache, 21);
	open_gate(&f->src);
	deadline = now_ns() + DEADLINE_NS;
	do {
		cache_get_stats(f->cache, &st);
		sched_yield();
	} while (st.n_queued > 0 && now_ns() < deadline);
	assert_int_equal(st.n_queued, 0);
	check_chunk(f->cache, 20);
	assert_int_equal(calls_of(&f->src, 20), 1);
	assert_int_equal(calls_of(&f->src, 21), 1);
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.fetches, 2);
	fixture_free(f);
}

static void test_prefetch_of_failing_chunk_leaves_nothing(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 1);
	struct chunk_loc loc = chunk_loc_of(12);
	uint64_t deadline = now_ns() + DEADLINE_NS;
	struct cache_stats st;

	f->src.fail_left[12] = 1;
	f->src.fail_error[12] = -ETIMEDOUT;
	cache_prefetch(f->cache, &loc, 1);
	do {
		cache_get_stats(f->cache, &st);
		sched_yield();
	} while (st.failures == 0 && now_ns() < deadline);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.n_entries, 0);
	check_chunk(f->cache, 12);
	assert_int_equal(calls_of(&f->src, 12), 2);
	fixture_free(f);
}

/* Waits until no prefetch request is queued and nothing is in flight. */
static void wait_idle(struct cache *c)
{
	uint64_t deadline = now_ns() + DEADLINE_NS;
	struct cache_stats st;

	do {
		cache_get_stats(c, &st);
		sched_yield();
	} while ((st.n_queued > 0 || st.n_fetching > 0) && now_ns() < deadline);
	assert_int_equal(st.n_queued, 0);
	assert_int_equal(st.n_fetching, 0);
}

static unsigned requests_of(struct source *s, size_t *ret_last_n)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = s->requests;
	if (ret_last_n)
		*ret_last_n = s->last_n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void test_coalescing_rules(void **state UNUSED)
{
	struct chunk_loc a = chunk_loc_of(3), b = chunk_loc_of(4);
	uint64_t end = a.off + a.stored_len;

	assert_true(cache_can_coalesce(&a, &b, a.off, CACHE_COALESCE_MAX));
	/* The span limit counts from the run's first chunk. */
	assert_true(cache_can_coalesce(&a, &b, a.off, b.off + b.stored_len - a.off));
	assert_false(cache_can_coalesce(&a, &b, a.off, b.off + b.stored_len - a.off - 1));
	b.off = end + CACHE_COALESCE_GAP - 1; /* a gap worth fetching over */
	assert_true(cache_can_coalesce(&a, &b, a.off, CACHE_COALESCE_MAX));
	b.off = end + CACHE_COALESCE_GAP; /* too far */
	assert_false(cache_can_coalesce(&a, &b, a.off, CACHE_COALESCE_MAX));
	b.off = end - 1; /* overlapping */
	assert_false(cache_can_coalesce(&a, &b, a.off, CACHE_COALESCE_MAX));
	b = chunk_loc_of(2); /* before it */
	assert_false(cache_can_coalesce(&a, &b, a.off, CACHE_COALESCE_MAX));
	b = chunk_loc_of(4);
	b.pack[1] = 1; /* another pack */
	assert_false(cache_can_coalesce(&a, &b, a.off, CACHE_COALESCE_MAX));
	b = chunk_loc_of(4);
	b.off = UINT64_MAX - 10; /* ends past the end of any pack */
	assert_false(cache_can_coalesce(&a, &b, a.off, UINT64_MAX));
}

static void check_chunks_fetched_once(struct fixture *f, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++) {
		check_chunk(f->cache, i);
		assert_int_equal(calls_of(&f->src, i), 1);
	}
}

static void test_prefetch_fetches_adjacent_chunks_with_one_request(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 2);
	struct chunk_loc locs[8];
	struct cache_stats st;
	size_t last_n = 0;

	for (unsigned i = 0; i < 8; i++)
		locs[i] = chunk_loc_of(10 + i);
	cache_prefetch(f->cache, locs, 8);
	wait_idle(f->cache);
	assert_int_equal(requests_of(&f->src, &last_n), 1);
	assert_int_equal(last_n, 8);
	check_chunks_fetched_once(f, 10, 18);
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.coalesced, 7);
	assert_int_equal(st.fetches, 8);
	assert_int_equal(st.hits + st.waits, 8);
	fixture_free(f);
}

static void test_prefetch_splits_at_pack_boundaries_and_gaps(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 1);
	struct chunk_loc locs[9];
	size_t last_n = 0;

	/* 20..22 in one pack; 23..25 in another; 26 after a large gap;
	 * 27..28 right after 26. */
	for (unsigned i = 0; i < 9; i++)
		locs[i] = chunk_loc_of(20 + i);
	for (unsigned i = 3; i < 6; i++)
		locs[i].pack[1] = 1;
	for (unsigned i = 6; i < 9; i++)
		locs[i].off += CACHE_COALESCE_GAP;
	cache_prefetch(f->cache, locs, 9);
	wait_idle(f->cache);
	assert_int_equal(requests_of(&f->src, &last_n), 3);
	assert_int_equal(last_n, 3);
	/* The data came out right (the fake fetch serves what locs say). */
	for (unsigned i = 0; i < 9; i++) {
		struct cache_entry *e = NULL;
		const uint8_t *data;
		size_t len;
		assert_int_equal(cache_get(f->cache, &locs[i], &e), 0);
		data = cache_entry_data(e, &len);
		assert_int_equal(len, chunk_len(20 + i));
		for (size_t j = 0; j < len; j++)
			assert_int_equal(data[j], chunk_byte(20 + i, j));
		cache_put(f->cache, e);
		assert_int_equal(calls_of(&f->src, 20 + i), 1);
	}
	fixture_free(f);
}

static void test_failed_prefetch_fails_no_other_read(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 1);
	struct chunk_loc locs[6];
	struct cache_stats st;

	for (unsigned i = 0; i < 6; i++)
		locs[i] = chunk_loc_of(30 + i);
	f->src.fail_left[32] = 1;
	f->src.fail_error[32] = -ETIMEDOUT;
	cache_prefetch(f->cache, locs, 6);
	wait_idle(f->cache);
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.failures, 6); /* the whole run */
	assert_int_equal(st.n_entries, 0);
	/* A read that needs none of it is untouched by the failure... */
	check_chunk(f->cache, 40);
	/* ...and those that need it fetch again, and get their bytes. */
	for (unsigned i = 30; i < 36; i++) {
		check_chunk(f->cache, i);
		assert_int_equal(calls_of(&f->src, i), 2);
	}
	fixture_free(f);
}

static void test_reader_decodes_a_fetched_chunk_rather_than_wait(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 1);
	struct chunk_loc locs[4];
	struct cache_stats st;

	for (unsigned i = 0; i < 4; i++)
		locs[i] = chunk_loc_of(i);
	/* The only worker fetches 0..3 and stays stuck decoding chunk 0. */
	f->src.decode_gate = 0;
	cache_prefetch(f->cache, locs, 4);
	wait_gate_entered(&f->src);
	/* A reader of chunk 2 must not wait for the worker. */
	struct getter_arg arg = { f->cache, 2, 1, false };
	pthread_t t;
	uint64_t deadline = now_ns() + DEADLINE_NS;
	assert_int_equal(pthread_create(&t, NULL, getter_thread, &arg), 0);
	do {
		cache_get_stats(f->cache, &st);
		sched_yield();
	} while (st.decoded_by_reader == 0 && now_ns() < deadline);
	assert_int_equal(st.decoded_by_reader, 1);
	pthread_join(t, NULL);
	assert_int_equal(arg.result, 0);
	assert_true(arg.data_ok);
	assert_int_equal(requests_of(&f->src, NULL), 1);
	open_gate(&f->src);
	check_chunks_fetched_once(f, 0, 4);
	fixture_free(f);
}

static void test_prefetch_keeps_to_half_the_budget(void **state UNUSED)
{
	uint64_t budget = 12 * cache_cost(chunk_len(N_CHUNKS - 1));
	struct fixture *f = fixture_new(budget, 1);
	struct chunk_loc locs[N_CHUNKS - 1];
	struct cache_stats st;
	uint64_t queued = 0;

	/* The worker is held at chunk 47's fetch while the rest is asked. */
	f->src.gate = N_CHUNKS - 1;
	struct chunk_loc gated = chunk_loc_of(N_CHUNKS - 1);
	cache_prefetch(f->cache, &gated, 1);
	wait_gate_entered(&f->src);
	for (unsigned i = 0; i < N_CHUNKS - 1; i++)
		locs[i] = chunk_loc_of(i);
	cache_prefetch(f->cache, locs, N_CHUNKS - 1);
	cache_get_stats(f->cache, &st);
	assert_true(st.prefetch_dropped > 0);
	for (unsigned i = 0; i < st.n_queued; i++)
		queued += chunk_len(i);
	assert_true(queued + chunk_len(N_CHUNKS - 1) <= budget / 2);
	open_gate(&f->src);
	wait_idle(f->cache);
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.prefetch_unused, 0); /* nothing prefetched was thrown away */
	for (unsigned i = 0; i < N_CHUNKS; i++)
		check_chunk(f->cache, i);
	fixture_free(f);
}

/* Polls until the workers have packed at least n chunks. */
static void wait_for_demoted(struct cache *c, uint64_t n)
{
	uint64_t deadline = now_ns() + DEADLINE_NS;
	struct cache_stats st;

	for (;;) {
		cache_get_stats(c, &st);
		if (st.demoted >= n || now_ns() > deadline)
			break;
		sched_yield();
	}
	assert_true(st.demoted >= n);
}

/* Checks bytes [off, off + len) of chunk i through cache_get_range(). */
static void check_range(struct cache *c, unsigned i, uint32_t off, uint32_t len)
{
	struct chunk_loc loc = chunk_loc_of(i);
	struct cache_entry *e = NULL;
	const uint8_t *data = NULL;

	assert_int_equal(cache_get_range(c, &loc, off, len, &e, &data), 0);
	for (uint32_t j = 0; j < len; j++)
		if (data[j] != raw_byte(i, off + j))
			fail_msg("chunk %u: byte %u differs", i, off + j);
	cache_put(c, e);
}

static void test_chunks_read_again_are_packed_not_dropped(void **state UNUSED)
{
	/* Room for four of the eight 256 KiB chunks decoded; all of them
	 * fit packed in the other half. */
	struct fixture *f = fixture_new(5 * cache_cost(256u << 10), 2);
	struct cache_stats st;
	unsigned n = 8;

	big_chunks = 256u << 10;
	compressible = true;
	for (int round = 0; round < 2; round++)
		for (unsigned i = 0; i < n; i++) {
			check_chunk(f->cache, i); /* twice: read again, worth keeping */
			check_chunk(f->cache, i);
		}
	wait_for_demoted(f->cache, 2);
	cache_get_stats(f->cache, &st);
	assert_true(st.packed > 0 && st.packed <= cache_budget(f->cache) / 2);
	assert_true(st.used <= cache_budget(f->cache) + cache_cost(chunk_len(n - 1)));
	/* Every chunk, by small ranges, at the ends of blocks, across them,
	 * and whole: the right bytes from either tier. */
	unsigned before[8];
	for (unsigned i = 0; i < n; i++)
		before[i] = calls_of(&f->src, i);
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = chunk_len(i);
		check_range(f->cache, i, 0, 4096);
		check_range(f->cache, i, CACHE_PACK_BLOCK - 100, 200);
		check_range(f->cache, i, len - 4096, 4096);
		check_range(f->cache, i, 5000, 3 * CACHE_PACK_BLOCK);
		check_range(f->cache, i, len, 0);
		check_chunk(f->cache, i);
	}
	cache_get_stats(f->cache, &st);
	assert_true(st.packed_hits > 0);
	/* The packed chunks came from memory, not from the store. */
	unsigned refetched = 0;
	for (unsigned i = 0; i < n; i++)
		refetched += calls_of(&f->src, i) - before[i];
	assert_true(refetched < n);
	fixture_free(f);
}

/* Readers that read chunks again (so they are worth packing) and let some
 * go as consumed, on four threads at once, while the workers pack what
 * eviction hands them: a chunk consumed while a worker packed it became a
 * packed entry marked consumed, whose eviction took its charge off the
 * consumed list's count, until that count claimed bytes on an empty list
 * and eviction took the list's head for an entry (the mount's daemon died
 * of an assertion under 32 readers). */
struct churn_arg {
	struct cache *cache;
	unsigned seed;
	bool ok;
};

static void *churn(void *p)
{
	struct churn_arg *a = p;
	unsigned x = a->seed;

	a->ok = true;
	for (unsigned k = 0; k < 1500 && a->ok; k++) {
		x = x * 1103515245u + 12345u;
		unsigned i = (x >> 16) % 8;
		a->ok = chunk_is_true_put(a->cache, i, (x >> 8) & 1);
	}
	return NULL;
}

static void test_chunks_consumed_while_packed_keep_the_counts(void **state UNUSED)
{
	struct fixture *f = fixture_new(5 * cache_cost(256u << 10), 2);
	struct churn_arg args[4];
	pthread_t t[4];
	struct cache_stats st;

	big_chunks = 256u << 10;
	compressible = true;
	for (unsigned i = 0; i < 4; i++) {
		args[i] = (struct churn_arg){ .cache = f->cache, .seed = 7 * i + 1 };
		assert_int_equal(pthread_create(&t[i], NULL, churn, &args[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_true(args[i].ok);
	}
	wait_idle(f->cache);
	cache_get_stats(f->cache, &st);
	assert_true(st.demoted > 0);
	assert_true(st.used <= cache_budget(f->cache) + cache_cost(256u << 10));
	for (unsigned i = 0; i < 8; i++)
		check_chunk(f->cache, i);
	fixture_free(f);
}

static void test_what_does_not_compress_or_is_read_once_is_dropped(void **state UNUSED)
{
	struct fixture *f = fixture_new(5 * cache_cost(256u << 10), 2);
	struct cache_stats st;

	/* Stored as it is: read twice, still not worth packing. */
	big_chunks = 256u << 10;
	for (unsigned i = 0; i < 8; i++) {
		check_chunk(f->cache, i);
		check_chunk(f->cache, i);
	}
	/* Compressible, but nobody came back to it. */
	compressible = true;
	for (unsigned i = 8; i < 16; i++)
		check_chunk(f->cache, i);
	cache_get_stats(f->cache, &st);
	assert_int_equal(st.demoted, 0);
	assert_int_equal(st.packed, 0);
	assert_true(st.evictions >= 8);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_get_is_a_hit),
		cmocka_unit_test(test_budget_evicts_least_recent),
		cmocka_unit_test(test_consumed_chunks_are_evicted_first),
		cmocka_unit_test(test_consumed_buffers_are_reused_before_the_cache_is_full),
		cmocka_unit_test(test_held_entries_survive_eviction),
		cmocka_unit_test(test_over_budget_while_held_shrinks_on_put),
		cmocka_unit_test(test_tiny_budget_many_threads_serve_true_data),
		cmocka_unit_test(test_failed_fetch_is_not_cached),
		cmocka_unit_test(test_wrong_length_is_damage),
		cmocka_unit_test(test_concurrent_requests_fetch_once),
		cmocka_unit_test(test_waiters_share_a_failure_then_retry),
		cmocka_unit_test(test_prefetch_fetches_once_for_a_reader),
		cmocka_unit_test(test_prefetch_skips_what_a_reader_fetched),
		cmocka_unit_test(test_prefetch_of_failing_chunk_leaves_nothing),
		cmocka_unit_test(test_coalescing_rules),
		cmocka_unit_test(test_prefetch_fetches_adjacent_chunks_with_one_request),
		cmocka_unit_test(test_prefetch_splits_at_pack_boundaries_and_gaps),
		cmocka_unit_test(test_failed_prefetch_fails_no_other_read),
		cmocka_unit_test(test_reader_decodes_a_fetched_chunk_rather_than_wait),
		cmocka_unit_test(test_prefetch_keeps_to_half_the_budget),
		cmocka_unit_test(test_chunks_read_again_are_packed_not_dropped),
		cmocka_unit_test(test_chunks_consumed_while_packed_keep_the_counts),
		cmocka_unit_test(test_what_does_not_compress_or_is_read_once_is_dropped),
	};

	/* The damage tests provoke errors on purpose. */
	log_setup("test-cache", LOG_TARGET_STDERR, LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
