/*
 * parallel.c - a shared counter hands out item numbers to threads that
 * live for one call; no queue, since items are numbered up front.
 */
#include "base/parallel.h"

#include <signal.h>

#define PARALLEL_MAX_THREADS 32

struct parallel {
	parallel_fn fn;
	void *userdata;
	size_t n;
	pthread_mutex_t lock;
	size_t next; /* guarded by lock */
	int error;   /* first failure; guarded by lock */
};

static void *worker(void *arg)
{
	struct parallel *p = arg;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		size_t i = p->next;
		bool stop = p->error < 0 || i >= p->n;
		if (!stop)
			p->next++;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			return NULL;
		int r = p->fn(p->userdata, i);
		if (r < 0) {
			pthread_mutex_lock(&p->lock);
			if (p->error == 0)
				p->error = r;
			pthread_mutex_unlock(&p->lock);
		}
	}
}

int thread_start(pthread_t *ret, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(ret, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int thread_start_all(pthread_t *threads, unsigned n, void *(*fn)(void *), void *arg,
		     unsigned *ret_started)
{
	int r = 0;

	*ret_started = 0;
	while (*ret_started < n && (r = thread_start(&threads[*ret_started], fn, arg)) == 0)
		(*ret_started)++;
	return r;
}

int parallel_for(size_t n, unsigned n_threads, parallel_fn fn, void *userdata)
{
	struct parallel p = { .fn = fn, .userdata = userdata, .n = n };
	pthread_t threads[PARALLEL_MAX_THREADS];
	unsigned started = 0;

	if (n_threads > PARALLEL_MAX_THREADS)
		n_threads = PARALLEL_MAX_THREADS;
	if ((size_t)n_threads > n)
		n_threads = (unsigned)n;
	pthread_mutex_init(&p.lock, NULL);
	for (unsigned i = 1; i < n_threads; i++) {
		if (thread_start(&threads[started], worker, &p) < 0)
			break; /* fewer threads do the same work */
		started++;
	}
	worker(&p);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&p.lock);
	return p.error;
}
