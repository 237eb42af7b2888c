/*
 * parallel.h - run independent work items on a few threads: fetching many
 * objects from an object store is bound by latency, not by one core. Every
 * thread cairn starts, here or in a pool of its own, starts through
 * thread_start(), so signals always reach the main thread.
 */
#ifndef CAIRN_PARALLEL_H
#define CAIRN_PARALLEL_H

#include "base/util.h"

#include <pthread.h>

typedef int (*parallel_fn)(void *userdata, size_t i);

/* Calls fn(userdata, i) once for each i in [0, n), on up to n_threads
 * threads (the caller's among them), in roughly ascending order. After the
 * first negative return no new item starts, and that value is returned.
 * fn must be thread-safe. Worker threads block every signal. */
int parallel_for(size_t n, unsigned n_threads, parallel_fn fn, void *userdata) WARN_UNUSED;

/* Starts a thread running fn(arg) with every signal blocked (they belong
 * to the main thread) and writes its id to ret. Returns 0, or -errno from
 * pthread_create() (-EAGAIN when the system has no more threads to give).
 * The caller's own signal mask is unchanged. Thread-safe. */
int thread_start(pthread_t *ret, void *(*fn)(void *), void *arg) WARN_UNUSED;
/* Starts threads[0..n) as thread_start() does, stopping at the first that
 * cannot start; *ret_started counts those that run (all n on success),
 * which the caller joins. Returns 0 or that failure's -errno. */
int thread_start_all(pthread_t *threads, unsigned n, void *(*fn)(void *), void *arg,
		     unsigned *ret_started) WARN_UNUSED;

#endif
