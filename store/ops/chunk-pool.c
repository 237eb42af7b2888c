/*
 * chunk-pool.c - a fixed ring of jobs between one producer (the backup
 * walker) and a few compressing workers. The producer fills the slot at the
 * tail; a worker claims the oldest unclaimed slot, compresses it outside the
 * lock, and marks it done; the producer collects from the head in order.
 * A job the producer queues already sealed is done from the start: workers
 * pass over it without waking anyone.
 * The ring bounds memory to max_pending chunks.
 */
#include "ops/chunk-pool.h"
#include "format/envelope.h"
#include "base/log.h"
#include "base/parallel.h"

#include <pthread.h>

struct chunk_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;	/* a job was queued, or stopping */
	pthread_cond_t done;	/* a job finished */
	struct chunk_job *ring; /* cap slots; slots [head, tail) are in use */
	unsigned cap;
	uint64_t head; /* guarded by lock: oldest job not yet returned */
	uint64_t next; /* guarded by lock: oldest job not yet claimed by a worker */
	uint64_t tail; /* guarded by lock: where the next job goes */
	bool out;      /* guarded by lock: the head job is with the caller */
	bool stop;     /* guarded by lock */
	int level;
	const struct crypto_keys *keys; /* borrowed; NULL: plain */
	pthread_t *threads;
	unsigned n_threads;
};

static void *worker(void *arg)
{
	struct chunk_pool *p = arg;
	AUTOBUF struct buf env = BUF_INIT;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->next == p->tail)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		struct chunk_job *job = &p->ring[p->next++ % p->cap];
		if (job->sealed)
			continue;
		pthread_mutex_unlock(&p->lock);

		buf_reset(&env);
		job->result = envelope_encode(p->keys, OBJECT_CHUNK, job->data.ptr, job->data.len,
					      p->level, job->named ? job->hash : NULL, &env,
					      job->named ? NULL : job->hash);
		/* swap: the job keeps the envelope, the worker reuses the raw buffer */
		struct buf raw = job->data;
		job->data = env;
		env = raw;

		pthread_mutex_lock(&p->lock);
		job->done = true;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int chunk_pool_new(const struct crypto_keys *keys, unsigned n_threads, unsigned max_pending,
		   int zstd_level, struct chunk_pool **ret)
{
	CLEANUP(chunk_pool_freep) struct chunk_pool *p = xcalloc(1, sizeof(*p));
	int r;

	p->n_threads = MAX(n_threads, 1u);
	p->cap = MAX(max_pending, p->n_threads + 1);
	p->ring = xcalloc(p->cap, sizeof(*p->ring));
	p->level = zstd_level;
	p->keys = keys;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->threads = xcalloc(p->n_threads, sizeof(pthread_t));
	/* n_threads becomes the number started: those chunk_pool_free() joins */
	r = thread_start_all(p->threads, p->n_threads, worker, p, &p->n_threads);
	if (r < 0)
		return log_error_errno(r, "cannot start the compression threads");
	*ret = TAKE(p);
	return 0;
}

void chunk_pool_free(struct chunk_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	for (unsigned i = 0; i < p->cap; i++)
		buf_release(&p->ring[i].data);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p->threads);
	free(p->ring);
	free(p);
}

bool chunk_pool_full(const struct chunk_pool *p)
{
	/* only the producer moves tail, and head only moves on its calls */
	return p->tail - p->head >= p->cap;
}

void chunk_pool_submit(struct chunk_pool *p, const uint8_t hash[HASH_LEN], const void *data,
		       size_t len, uint64_t tag)
{
	pthread_mutex_lock(&p->lock);
	if (p->tail - p->head >= p->cap)
		abort(); /* the caller must collect first */
	struct chunk_job *job = &p->ring[p->tail % p->cap];
	pthread_mutex_unlock(&p->lock);

	/* The slot is free: no worker touches it until tail moves past it. */
	job->named = hash != NULL;
	if (hash)
		memcpy(job->hash, hash, HASH_LEN);
	job->tag = tag;
	job->raw_len = (uint32_t)len;
	job->sealed = false;
	job->done = false;
	buf_reset(&job->data);
	buf_append(&job->data, data, len);

	pthread_mutex_lock(&p->lock);
	p->tail++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void chunk_pool_submit_sealed(struct chunk_pool *p, const uint8_t hash[HASH_LEN], const void *env,
			      size_t env_len, uint32_t raw_len, uint64_t tag)
{
	pthread_mutex_lock(&p->lock);
	if (p->tail - p->head >= p->cap)
		abort(); /* the caller must collect first */
	struct chunk_job *job = &p->ring[p->tail % p->cap];
	pthread_mutex_unlock(&p->lock);

	memcpy(job->hash, hash, HASH_LEN);
	job->named = true;
	job->tag = tag;
	job->raw_len = raw_len;
	job->result = (int)env_len;
	buf_reset(&job->data);
	buf_append(&job->data, env, env_len);

	pthread_mutex_lock(&p->lock);
	job->sealed = true;
	job->done = true;
	p->tail++;
	pthread_mutex_unlock(&p->lock);
}

struct chunk_job *chunk_pool_next(struct chunk_pool *p, bool wait)
{
	struct chunk_job *job = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->out)
		abort(); /* release the previous job first */
	if (p->head != p->tail) {
		struct chunk_job *h = &p->ring[p->head % p->cap];
		while (wait && !h->done)
			pthread_cond_wait(&p->done, &p->lock);
		if (h->done) {
			job = h;
			p->out = true;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return job;
}

void chunk_pool_release(struct chunk_pool *p, struct chunk_job *job UNUSED)
{
	pthread_mutex_lock(&p->lock);
	p->out = false;
	p->head++;
	/* A sealed job can be returned before any worker passed over it;
	 * workers must never claim a slot behind head, which may be reused. */
	if (p->next < p->head)
		p->next = p->head;
	pthread_mutex_unlock(&p->lock);
}
