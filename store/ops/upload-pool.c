/*
 * upload-pool.c - a queue of objects to store and the threads that store
 * them. The producer (the backup) appends to the queue and blocks while it
 * is full; each worker takes the oldest object, stores it with backend_put()
 * outside the lock (the backend is thread-safe and reuses its connections
 * across threads), and records the first failure. Once an upload fails no
 * new one starts: the backup is going to fail anyway, and the objects
 * already stored are packs no snapshot references, which prune collects.
 */
#include "ops/upload-pool.h"
#include "base/log.h"
#include "base/parallel.h"

#include <pthread.h>

struct upload {
	struct upload *next;
	char *name;
	struct buf data;
};

struct upload_pool {
	struct backend *backend;
	pthread_mutex_t lock;
	pthread_cond_t work;  /* an upload was queued, or stopping */
	pthread_cond_t room;  /* an upload left the queue or finished */
	struct upload *head;  /* guarded by lock: oldest queued */
	struct upload **tail; /* guarded by lock */
	unsigned n_queued;    /* guarded by lock */
	unsigned n_running;   /* guarded by lock */
	unsigned max_queued;
	int error; /* guarded by lock: the first failure, or 0 */
	bool stop; /* guarded by lock */
	pthread_t *threads;
	unsigned n_threads;
};

static void upload_free(struct upload *u)
{
	if (!u)
		return;
	free(u->name);
	buf_release(&u->data);
	free(u);
}

static void *worker(void *arg)
{
	struct upload_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && !p->head)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		struct upload *u = p->head;
		p->head = u->next;
		if (!p->head)
			p->tail = &p->head;
		p->n_queued--;
		if (p->error) {
			/* something failed already: drop the rest */
			upload_free(u);
			pthread_cond_broadcast(&p->room);
			continue;
		}
		p->n_running++;
		pthread_cond_broadcast(&p->room);
		pthread_mutex_unlock(&p->lock);

		int r = backend_put(p->backend, u->name, u->data.ptr, u->data.len);
		if (r < 0)
			log_error_errno(r, "cannot store '%s'", u->name);
		upload_free(u);

		pthread_mutex_lock(&p->lock);
		p->n_running--;
		if (r < 0 && !p->error)
			p->error = r;
		pthread_cond_broadcast(&p->room);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int upload_pool_new(struct backend *b, unsigned n_threads, unsigned max_queued,
		    struct upload_pool **ret)
{
	CLEANUP(upload_pool_freep) struct upload_pool *p = xcalloc(1, sizeof(*p));
	int r;

	p->backend = b;
	p->tail = &p->head;
	p->max_queued = MAX(max_queued, 1u);
	p->n_threads = MAX(n_threads, 1u);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->room, NULL);
	p->threads = xcalloc(p->n_threads, sizeof(pthread_t));
	/* n_threads becomes the number started: those upload_pool_free() joins */
	r = thread_start_all(p->threads, p->n_threads, worker, p, &p->n_threads);
	if (r < 0)
		return log_error_errno(r, "cannot start the upload threads");
	*ret = TAKE(p);
	return 0;
}

void upload_pool_free(struct upload_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	while (p->head) {
		struct upload *u = p->head;
		p->head = u->next;
		upload_free(u);
	}
	pthread_cond_destroy(&p->room);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

int upload_pool_submit(struct upload_pool *p, const char *name, struct buf *data)
{
	struct upload *u = xcalloc(1, sizeof(*u));
	int r;

	u->name = xstrdup(name);
	u->data = *data;
	*data = BUF_INIT;
	pthread_mutex_lock(&p->lock);
	while (!p->error && p->n_queued >= p->max_queued)
		pthread_cond_wait(&p->room, &p->lock);
	r = p->error;
	if (r == 0) {
		*p->tail = u;
		p->tail = &u->next;
		p->n_queued++;
		pthread_cond_signal(&p->work);
		u = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	upload_free(u);
	return r;
}

int upload_pool_wait(struct upload_pool *p)
{
	int r;

	pthread_mutex_lock(&p->lock);
	while (p->n_queued > 0 || p->n_running > 0)
		pthread_cond_wait(&p->room, &p->lock);
	r = p->error;
	pthread_mutex_unlock(&p->lock);
	return r;
}
