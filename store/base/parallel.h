/*
 * parallel.h - run independent work items on a few threads: fetching many
 * objects from an object store is bound by latency, not by one core.
 */
#ifndef CAIRN_PARALLEL_H
#define CAIRN_PARALLEL_H

#include "base/util.h"

typedef int (*parallel_fn)(void *userdata, size_t i);

/* Calls fn(userdata, i) once for each i in [0, n), on up to n_threads
 * threads (the caller's among them), in roughly ascending order. After the
 * first negative return no new item starts, and that value is returned.
 * fn must be thread-safe. Worker threads block every signal. */
int parallel_for(size_t n, unsigned n_threads, parallel_fn fn, void *userdata) WARN_UNUSED;

#endif
