/*
 * upload-pool.h - store objects on a few threads at once while the backup
 * goes on chunking, so a remote store's round trips overlap each other and
 * the work that fills the next pack. The number of uploads in flight and
 * queued is bounded, so memory stays bounded by a few packs.
 */
#ifndef CAIRN_UPLOAD_POOL_H
#define CAIRN_UPLOAD_POOL_H

#include "backend/backend.h"

struct upload_pool;

/* Starts n_threads (at least 1) uploading to b; at most max_queued objects
 * wait for a thread besides those being uploaded. -errno (logged) when a
 * thread cannot start. */
int upload_pool_new(struct backend *b, unsigned n_threads, unsigned max_queued,
		    struct upload_pool **ret) WARN_UNUSED;
/* Waits for the uploads in flight, drops queued ones, joins the threads.
 * Accepts NULL. */
void upload_pool_free(struct upload_pool *p);
DEFINE_FREEP(struct upload_pool, upload_pool_free)

/* Queues data (taken over; *data is left empty) to be stored as name,
 * waiting while the queue is full. Returns the error of an upload that
 * already failed (logged, naming the object), so the caller stops early;
 * data is then dropped. */
int upload_pool_submit(struct upload_pool *p, const char *name, struct buf *data) WARN_UNUSED;
/* Waits until every queued object is stored. Returns 0 when all were, else
 * the first failure. */
int upload_pool_wait(struct upload_pool *p) WARN_UNUSED;

#endif
