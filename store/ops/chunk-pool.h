/*
 * chunk-pool.h - compress chunk envelopes on worker threads while the
 * backup's walker keeps reading, chunking and hashing. Results come back in
 * the order they were submitted, so packs are built deterministically.
 */
#ifndef CAIRN_CHUNK_POOL_H
#define CAIRN_CHUNK_POOL_H

#include "base/buf.h"
#include "base/crypto.h"

struct chunk_job {
	uint8_t hash[HASH_LEN];
	uint64_t tag; /* the submitter's, returned unchanged */
	uint32_t raw_len;
	struct buf data; /* the raw chunk, then (once done) its envelope */
	int result;	 /* envelope_encode's result once done */
	bool sealed;	 /* queued done, by chunk_pool_submit_sealed() */
	bool named;	 /* hash was given; else the worker computes it */
	bool done;	 /* guarded by chunk_pool.lock */
};

struct chunk_pool;

/* Starts n_threads workers (at least 1) compressing at zstd_level; at most
 * max_pending jobs are queued or unreturned at once. -errno (logged) when a
 * thread cannot start. */
int chunk_pool_new(const struct crypto_keys *keys, unsigned n_threads, unsigned max_pending,
		   int zstd_level, struct chunk_pool **ret) WARN_UNUSED;
/* Stops and joins the workers; pending jobs are dropped. Accepts NULL. */
void chunk_pool_free(struct chunk_pool *p);
DEFINE_FREEP(struct chunk_pool, chunk_pool_free)
/* True when no more jobs may be submitted before one is collected. */
bool chunk_pool_full(const struct chunk_pool *p);
/* Queues a copy of data, whose id is hash, or, when hash is NULL, is
 * computed by the worker (crypto_id()) and left in job->hash. Must not be
 * called while chunk_pool_full(). */
void chunk_pool_submit(struct chunk_pool *p, const uint8_t hash[HASH_LEN], const void *data,
		       size_t len, uint64_t tag);
/* Queues a copy of env, the finished envelope of a chunk of raw_len bytes:
 * it comes back in order with the others, and no worker touches it. Must
 * not be called while chunk_pool_full(). */
void chunk_pool_submit_sealed(struct chunk_pool *p, const uint8_t hash[HASH_LEN], const void *env,
			      size_t env_len, uint32_t raw_len, uint64_t tag);
/* The oldest job, once finished: waits for it when wait is set, else
 * returns NULL if it is not finished yet. NULL when nothing is pending. The
 * caller hands it back with chunk_pool_release(). */
struct chunk_job *chunk_pool_next(struct chunk_pool *p, bool wait);
void chunk_pool_release(struct chunk_pool *p, struct chunk_job *job);

#endif
