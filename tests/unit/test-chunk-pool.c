/*
 * test-chunk-pool.c - the backup's compression pool: jobs come back in the
 * order they were queued, each envelope decodes to its own chunk, and
 * jobs queued already sealed (as the file pool's small files are) mix
 * with jobs the workers seal. A sealed job may be collected before any
 * worker has passed over its slot; the slot is then reused, and a worker
 * that still claimed it would seal the newer job twice. Many rounds of a
 * full ring make that interleaving likely if it can happen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/chunk-pool.h"
#include "format/envelope.h"
#include "base/log.h"

#define ROUNDS 20000
#define CAP 8

static void chunk_of(uint64_t i, uint8_t *data, size_t *len)
{
	*len = 64 + (size_t)(i * 37 % 900);
	for (size_t k = 0; k < *len; k++)
		data[k] = (uint8_t)(i + k / 16); /* compressible, distinct per i */
}

static void check_job(const struct crypto_keys *keys, const struct chunk_job *job)
{
	uint8_t want[1024];
	size_t want_len;
	AUTOBUF struct buf raw = BUF_INIT;

	assert_true(job->result >= 0);
	chunk_of(job->tag, want, &want_len);
	assert_int_equal(job->raw_len, want_len);
	assert_int_equal(envelope_decode(keys, job->data.ptr, job->data.len, OBJECT_CHUNK, 1024,
					 &raw, NULL),
			 0);
	assert_int_equal(raw.len, want_len);
	assert_memory_equal(raw.ptr, want, want_len);
}

static void run(const struct crypto_keys *keys)
{
	struct chunk_pool *p = NULL;
	AUTOBUF struct buf env = BUF_INIT;
	uint8_t data[1024], hash[HASH_LEN];
	uint64_t next_out = 0;
	size_t len;

	assert_int_equal(chunk_pool_new(keys, 2, CAP, 1, &p), 0);
	for (uint64_t i = 0; i < ROUNDS; i++) {
		while (chunk_pool_full(p)) {
			struct chunk_job *job = chunk_pool_next(p, true);
			assert_non_null(job);
			assert_int_equal(job->tag, next_out++);
			check_job(keys, job);
			chunk_pool_release(p, job);
		}
		chunk_of(i, data, &len);
		crypto_id(keys, data, len, hash);
		if (i % 3 != 0) { /* two in three arrive sealed */
			buf_reset(&env);
			int n = envelope_encode(keys, OBJECT_CHUNK, data, len, 1, hash, &env, NULL);
			assert_true(n > 0);
			chunk_pool_submit_sealed(p, hash, env.ptr, (size_t)n, (uint32_t)len, i);
		} else {
			chunk_pool_submit(p, hash, data, len, i);
		}
		/* Collect what is ready at once, as the backup does. */
		struct chunk_job *job;
		while ((job = chunk_pool_next(p, false))) {
			assert_int_equal(job->tag, next_out++);
			check_job(keys, job);
			chunk_pool_release(p, job);
		}
	}
	struct chunk_job *job;
	while ((job = chunk_pool_next(p, true))) {
		assert_int_equal(job->tag, next_out++);
		check_job(keys, job);
		chunk_pool_release(p, job);
	}
	assert_int_equal(next_out, ROUNDS);
	chunk_pool_free(p);
}

static void test_mixed_jobs_unencrypted(void **state)
{
	(void)state;
	run(NULL);
}

static void test_mixed_jobs_encrypted(void **state)
{
	(void)state;
	uint8_t master[CRYPTO_KEY_LEN];
	memset(master, 7, sizeof(master));
	struct crypto_keys *k = crypto_keys_new(master);
	assert_non_null(k);
	run(k);
	crypto_keys_free(k);
}

int main(void)
{
	log_setup("test-chunk-pool", LOG_TARGET_STDERR, LOG_CRIT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mixed_jobs_unencrypted),
		cmocka_unit_test(test_mixed_jobs_encrypted),
	};
	return cmocka_run_group_tests_name("chunk-pool", tests, NULL, NULL);
}
