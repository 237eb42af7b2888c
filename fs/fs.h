/*
 * fs.h - the state of one cairnfs mount, shared by every FUSE worker
 * thread: the repository, the chunk cache, each thread's catalog
 * connection, the refresh thread that keeps the snapshot list current, and
 * open files. No FUSE types here; fs-ops.c adapts this to libfuse.
 */
#ifndef CAIRN_FS_H
#define CAIRN_FS_H

#include "cache.h"
#include "fs-tree.h"

#include <pthread.h>

#define FS_REFRESH_DEFAULT 60	    /* seconds between repo_sync() runs */
#define FS_CONTENT_TIMEOUT 86400.0  /* seconds the kernel may trust snapshot contents */
#define FS_PREFETCH_WORKERS 4	    /* threads fetching a sequential reader's next chunks */
#define FS_PREFETCH_WINDOW (16u << 20) /* bytes ahead of a sequential reader, at most */

#define FS_TIMEOUT_DEFAULT 30	    /* seconds one fetch from the store may take, retries included */

struct fs_options {
	uint64_t cache_size; /* bytes of decoded chunks; 0: CACHE_BUDGET_DEFAULT */
	unsigned refresh_s;  /* seconds between refreshes; 0: never refresh */
	struct backend_options backend; /* strings borrowed until fs_free() */
};

struct fs {
	struct fs_tree tree;	  /* tree.newest_sec is atomic; the rest immutable */
	struct repo *repo;	  /* owned; thread-safe; set by fs_open_repo() */
	struct cache *cache;	  /* owned; thread-safe; set by fs_start() */
	struct fs_options opts;	  /* immutable */
	double synthetic_timeout; /* seconds for entries above the snapshots; immutable */
	pthread_key_t catalog_key; /* each thread's struct catalog, closed at thread exit */

	pthread_mutex_t lock;
	pthread_cond_t wake;		 /* signalled to stop the refresh thread */
	bool stopping;			 /* guarded by lock */
	bool has_refresh_thread;	 /* only touched by fs_start()/fs_stop() */
	pthread_t refresh_thread;	 /* only touched by fs_start()/fs_stop() */
	struct catalog *refresh_catalog; /* used by the refresh thread alone */
	struct fs_file *open_files;	 /* guarded by lock; freed by fs_free() when
					  * the session ended before their release */
};

/* Sets up the state of a mount; uid and gid own the synthetic
 * directories. Starts no thread and opens nothing, so it may run before
 * fork(). */
int fs_new(const struct fs_options *opts, uint32_t uid, uint32_t gid, struct fs **ret)
	WARN_UNUSED;
/* Opens the repository at url (with opts.backend) and brings the
 * catalog's snapshot list up to date, so that the first listing of the
 * mount needs no backend access. Keeps no catalog connection open, so it
 * may run before fork(). Errors are logged, with a hint where one helps. */
int fs_open_repo(struct fs *fs, const char *url) WARN_UNUSED;
/* Creates the chunk cache with its prefetch workers and starts the
 * refresh thread (unless opts.refresh_s is 0), each with every signal
 * blocked. Call after any fork(). */
int fs_start(struct fs *fs) WARN_UNUSED;
/* Stops the refresh thread, waiting for a sync in progress. Idempotent. */
void fs_stop(struct fs *fs);
/* Stops, then frees everything, the repository too. No request may be in
 * flight. Accepts NULL. */
void fs_free(struct fs *fs);

/* The calling thread's catalog connection, opened on first use and closed
 * when the thread exits (or, for the thread calling fs_free(), there). */
int fs_catalog(struct fs *fs, struct catalog **ret) WARN_UNUSED;

/* The errno to give the kernel for an internal error r < 0: r itself for
 * the errors a caller can act on (ENOENT, ENOTDIR, EROFS, ENODATA, ERANGE,
 * ENXIO, ...), EIO for everything else (damage, backend failure). */
int fs_errno(int r);

/* A regular file opened for reading. */
struct fs_file {
	struct fs_file *prev, *next; /* in fs->open_files, guarded by fs->lock */
	uint64_t ino;
	uint64_t size;	     /* apparent size; immutable */
	uint64_t next_off;   /* where a sequential reader goes next; __atomic, a hint */
	uint64_t prefetched; /* prefetch was asked up to here; __atomic, a hint */
};

/* Opens regular file ino of a snapshot. -EISDIR for a directory,
 * -EINVAL for other non-regular files. */
int fs_file_open(struct fs *fs, struct catalog *c, uint64_t ino, struct fs_file **ret)
	WARN_UNUSED;
void fs_file_close(struct fs *fs, struct fs_file *f);
/* Appends to out the bytes of [off, off + size) that lie before the end of
 * the file, zeros for holes; on a sequential read, asks the cache to
 * prefetch the chunks that follow. A chunk that cannot be fetched or fails
 * verification fails the whole read with its error (already logged). Safe
 * for concurrent reads of one file. */
int fs_file_read(struct fs *fs, struct catalog *c, struct fs_file *f, uint64_t off, size_t size,
		 struct buf *out) WARN_UNUSED;

#endif
