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

#include "cache.h"
#include "chunker.h"
#include "log.h"

#define N_CHUNKS 48
#define N_THREADS 8
#define DEADLINE_NS (20ull * 1000 * 1000 * 1000)

struct source {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned calls[N_CHUNKS];      /* fetches per chunk */
	unsigned fail_left[N_CHUNKS];  /* fail this many more fetches... */
	int fail_error[N_CHUNKS];      /* ...with this error */
	bool short_read[N_CHUNKS];     /* return one byte less than raw_len */
	int gate;		       /* chunk whose fetch waits for gate_open, or -1 */
	unsigned gate_entered;	       /* fetches waiting at the gate */
	bool gate_open;
};

static uint32_t chunk_len(unsigned i)
{
	return 1000 + i * 97;
}

static uint8_t chunk_byte(unsigned i, size_t j)
{
	return (uint8_t)(i * 131 + j * 7 + (j >> 8));
}

static struct chunk_loc chunk_loc_of(unsigned i)
{
	struct chunk_loc loc;

	memset(&loc, 0, sizeof(loc));
	put_le32(loc.hash, i);
	for (size_t k = 4; k < HASH_LEN; k++)
		loc.hash[k] = (uint8_t)(i * 17 + k);
	loc.raw_len = chunk_len(i);
	loc.stored_len = loc.raw_len;
	return loc;
}

static int fake_fetch(void *userdata, const struct chunk_loc *loc, struct buf *out)
{
	struct source *s = userdata;
	unsigned i = get_le32(loc->hash);
	int r = 0;

	if (i >= N_CHUNKS || out->len != 0)
		return -EINVAL; /* fails the test's data checks */
	pthread_mutex_lock(&s->lock);
	s->calls[i]++;
	if ((int)i == s->gate) {
		s->gate_entered++;
		pthread_cond_broadcast(&s->cond);
		while (!s->gate_open)
			pthread_cond_wait(&s->cond, &s->lock);
	}
	if (s->fail_left[i] > 0) {
		s->fail_left[i]--;
		r = s->fail_error[i];
	}
	bool short_read = s->short_read[i];
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return r;
	size_t len = chunk_len(i) - (short_read ? 1 : 0);
	buf_reserve(out, len);
	for (size_t j = 0; j < len; j++)
		out->ptr[j] = chunk_byte(i, j);
	out->len = len;
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
	struct cache_options o = {
		.budget = budget, .n_workers = n_workers, .fetch = fake_fetch, .userdata = &f->src
	};

	pthread_mutex_init(&f->src.lock, NULL);
	pthread_cond_init(&f->src.cond, NULL);
	f->src.gate = -1;
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
static bool chunk_is_true(struct cache *c, unsigned i)
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
		ok = data[j] == chunk_byte(i, j);
	cache_put(c, e);
	return ok;
}

#define check_chunk(c, i) assert_true(chunk_is_true((c), (i)))

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
	assert_int_equal(st.used, chunk_len(3) + chunk_len(4));
	fixture_free(f);
}

static void test_budget_evicts_least_recent(void **state UNUSED)
{
	/* Room for chunks 0 and 1, or 0 and 2, but not all three. */
	struct fixture *f = fixture_new(chunk_len(0) + chunk_len(2) + 10, 0);
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

static void test_held_entries_survive_eviction(void **state UNUSED)
{
	struct fixture *f = fixture_new(3 * chunk_len(N_CHUNKS - 1), 0);
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
	struct fixture *f = fixture_new(chunk_len(0), 0);
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
	struct fixture *f = fixture_new(4 * chunk_len(N_CHUNKS / 2), 2);
	pthread_t t[N_THREADS];
	struct stress_arg args[N_THREADS];
	struct cache_stats st;

	for (unsigned k = 0; k < N_THREADS; k++) {
		args[k] = (struct stress_arg){ f, 1234 + k, 0 };
		assert_int_equal(pthread_create(&t[k], NULL, stress_thread, &args[k]), 0);
	}
	/* Prefetches race with the readers for the same chunks. */
	for (unsigned n = 0; n < 2000; n++) {
		struct chunk_loc loc = chunk_loc_of(n % N_CHUNKS);
		cache_prefetch(f->cache, &loc);
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
	assert_int_equal(st.used, 0);
	check_chunk(f->cache, 7);
	assert_int_equal(calls_of(&f->src, 7), 2);
	fixture_free(f);
}

static void test_prefetch_fetches_once_for_a_reader(void **state UNUSED)
{
	struct fixture *f = fixture_new(1 << 20, 2);
	struct chunk_loc loc = chunk_loc_of(11);
	struct cache_stats st;

	cache_prefetch(f->cache, &loc);
	cache_prefetch(f->cache, &loc); /* queued or present already: dropped */
	check_chunk(f->cache, 11);	/* waits for the worker, or fetches first */
	assert_int_equal(calls_of(&f->src, 11), 1);
	cache_prefetch(f->cache, &loc); /* cached: dropped */
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
	cache_prefetch(f->cache, &a);
	wait_gate_entered(&f->src);
	/* ...while chunk 21 waits in the queue and a reader fetches it. */
	cache_prefetch(f->cache, &b);
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
	cache_prefetch(f->cache, &loc);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_get_is_a_hit),
		cmocka_unit_test(test_budget_evicts_least_recent),
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
	};

	/* The damage tests provoke errors on purpose. */
	log_setup("test-cache", LOG_TARGET_STDERR, LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
