/*
 * file-pool.c - a ring of file jobs between the backup walker and a few
 * reading workers, built like chunk-pool.c: the walker fills the slot at
 * the tail, a worker claims the oldest unclaimed slot and does the whole
 * file outside the lock (open, fstat, read, fstat again to catch a change
 * while reading, and again up to three times; then content-defined cuts,
 * the id of each chunk and its sealed envelope), and the walker collects
 * from the head in order. Only files the walker saw as small and without holes are
 * submitted; one that turns out bigger comes back FILE_JOB_TOO_BIG. The
 * ring bounds memory to max_pending files of max_size bytes.
 *
 * Workers block every signal, so SIGINT and SIGTERM reach the walker's
 * thread, which polls for them.
 */
#include "ops/file-pool.h"
#include "format/envelope.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

struct file_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;   /* a job was queued, or stopping */
	pthread_cond_t done;   /* a job finished */
	struct file_job *ring; /* cap slots; slots [head, tail) are in use */
	unsigned cap;
	uint64_t head; /* guarded by lock: oldest job not yet returned */
	uint64_t next; /* guarded by lock: oldest job not yet claimed by a worker */
	uint64_t tail; /* guarded by lock: where the next job goes */
	bool out;      /* guarded by lock: the head job is with the caller */
	bool stop;     /* guarded by lock */
	const struct chunker_params *cp;
	const struct crypto_keys *keys; /* NULL: unencrypted, plain SHA-256 ids */
	int level;
	uint64_t max_size;
	pthread_t *threads;
	unsigned n_threads;
};

bool file_same_version(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec && a->st_ino == b->st_ino &&
	       a->st_dev == b->st_dev;
}

static void fail(struct file_job *job, int r, const char *what)
{
	job->result = r;
	job->failed = what;
}

static void add_chunks(struct file_pool *p, struct file_job *job)
{
	const uint8_t *data = job->data.ptr;
	size_t len = job->data.len, pos = 0;

	while (pos < len) {
		size_t cut = chunker_cut(p->cp, data + pos, len - pos, true);
		if (cut == 0)
			cut = len - pos;
		if (job->n_chunks == job->cap_chunks) {
			job->cap_chunks = job->cap_chunks ? 2 * job->cap_chunks : 4;
			job->chunks = xrealloc(job->chunks, job->cap_chunks * sizeof(*job->chunks));
		}
		struct file_chunk *c = &job->chunks[job->n_chunks++];
		c->off = pos;
		c->len = (uint32_t)cut;
		crypto_id(p->keys, data + pos, cut, c->hash);
		c->env_off = job->sealed.len;
		int n = envelope_encode(p->keys, OBJECT_CHUNK, data + pos, cut, p->level, c->hash,
					&job->sealed, NULL);
		c->env_len = n > 0 ? (uint32_t)n : 0;
		pos += cut;
	}
}

static void read_job(struct file_pool *p, struct file_job *job)
{
	struct stat after;

	AUTOCLOSE int fd = open(job->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(job->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail(job, -errno, "open");
	if (fstat(fd, &job->st) < 0)
		return fail(job, -errno, "stat");
	if (!S_ISREG(job->st.st_mode))
		return fail(job, -EAGAIN, "read (it was replaced while being backed up)");
	for (int attempt = 1;; attempt++) {
		if ((uint64_t)job->st.st_size > p->max_size ||
		    (uint64_t)job->st.st_blocks * 512 < (uint64_t)job->st.st_size) {
			job->result = FILE_JOB_TOO_BIG;
			return;
		}
		size_t size = (size_t)job->st.st_size;
		buf_reset(&job->data);
		buf_reserve(&job->data, size);
		ssize_t n = pread_full(fd, job->data.ptr, size, 0);
		if (n < 0)
			return fail(job, (int)n, "read");
		job->data.len = (size_t)n;
		if (fstat(fd, &after) < 0)
			return fail(job, -errno, "stat");
		if (file_same_version(&job->st, &after))
			break;
		if (attempt == FILE_READ_ATTEMPTS) {
			job->unstable = true;
			break;
		}
		job->n_changed++;
		job->st = after;
	}
	add_chunks(p, job);
	job->result = 0;
}

static void *worker(void *arg)
{
	struct file_pool *p = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->next == p->tail)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		struct file_job *job = &p->ring[p->next++ % p->cap];
		pthread_mutex_unlock(&p->lock);

		read_job(p, job);

		pthread_mutex_lock(&p->lock);
		job->done = true;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct file_pool *file_pool_new(const struct crypto_keys *keys, unsigned n_threads,
				unsigned max_pending, const struct chunker_params *cp,
				int zstd_level, uint64_t max_size)
{
	struct file_pool *p = xcalloc(1, sizeof(*p));

	p->keys = keys;
	p->n_threads = MAX(n_threads, 1u);
	p->cap = MAX(max_pending, p->n_threads + 1);
	p->ring = xcalloc(p->cap, sizeof(*p->ring));
	p->cp = cp;
	p->level = zstd_level;
	p->max_size = max_size;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->threads = xcalloc(p->n_threads, sizeof(pthread_t));
	for (unsigned i = 0; i < p->n_threads; i++)
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
			abort();
	return p;
}

void file_pool_free(struct file_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	for (unsigned i = 0; i < p->cap; i++) {
		free(p->ring[i].path);
		free(p->ring[i].chunks);
		buf_release(&p->ring[i].data);
		buf_release(&p->ring[i].sealed);
	}
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p->threads);
	free(p->ring);
	free(p);
}

uint64_t file_pool_max_size(const struct file_pool *p)
{
	return p->max_size;
}

bool file_pool_full(const struct file_pool *p)
{
	/* only the producer moves tail, and head only moves on its calls */
	return p->tail - p->head >= p->cap;
}

bool file_pool_busy(const struct file_pool *p)
{
	return p->tail != p->head;
}

void file_pool_submit(struct file_pool *p, const char *path, uint64_t tag, uint32_t flags)
{
	pthread_mutex_lock(&p->lock);
	if (p->tail - p->head >= p->cap)
		abort(); /* the caller must collect first */
	struct file_job *job = &p->ring[p->tail % p->cap];
	pthread_mutex_unlock(&p->lock);

	/* The slot is free: no worker touches it until tail moves past it. */
	free(job->path);
	job->path = xstrdup(path);
	job->tag = tag;
	job->flags = flags;
	job->result = 0;
	job->failed = NULL;
	job->n_chunks = 0;
	job->n_changed = 0;
	job->unstable = false;
	job->done = false;
	buf_reset(&job->data);
	buf_reset(&job->sealed);

	pthread_mutex_lock(&p->lock);
	p->tail++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

struct file_job *file_pool_next(struct file_pool *p, bool wait)
{
	struct file_job *job = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->out)
		abort(); /* release the previous job first */
	if (p->head != p->tail) {
		struct file_job *h = &p->ring[p->head % p->cap];
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

void file_pool_release(struct file_pool *p, struct file_job *job)
{
	/* a big buffer is not kept around in an idle slot */
	if (job->data.cap > ((size_t)1 << 20))
		buf_release(&job->data);
	if (job->sealed.cap > ((size_t)1 << 20))
		buf_release(&job->sealed);
	pthread_mutex_lock(&p->lock);
	p->out = false;
	p->head++;
	pthread_mutex_unlock(&p->lock);
}
