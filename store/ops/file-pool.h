/*
 * file-pool.h - read, chunk and hash small regular files on worker threads
 * while the backup's walker goes on listing and stating. Results come back
 * in the order files were submitted, so the walker adds their chunks,
 * inodes and names in walk order and packs stay deterministic.
 */
#ifndef CAIRN_FILE_POOL_H
#define CAIRN_FILE_POOL_H

#include "base/buf.h"
#include "base/crypto.h"
#include "format/chunker.h"

#include <sys/stat.h>

/* How many times a file that changes while it is read is read in all. */
#define FILE_READ_ATTEMPTS 3

/* True when a and b (stat of one file before and after reading it) show
 * the same version: size, mtime, ctime, inode and device. */
bool file_same_version(const struct stat *a, const struct stat *b);

/* A file_job's result when the walker must read the file itself: it grew
 * past the pool's size limit, or has holes. */
#define FILE_JOB_TOO_BIG 1

struct file_chunk {
	uint64_t off; /* in the file and in file_job.data */
	uint32_t len;
	uint8_t hash[HASH_LEN]; /* its id: crypto_id() */
	size_t env_off;		/* its envelope in file_job.sealed */
	uint32_t env_len;	/* 0: not sealed (encoding failed; seal it again) */
};

struct file_job {
	char *path;	    /* owned */
	uint64_t tag;	    /* the submitter's, returned unchanged */
	uint32_t flags;	    /* the submitter's, returned unchanged */
	int result;	    /* 0, FILE_JOB_TOO_BIG, or -errno of what failed */
	const char *failed; /* on -errno: "open", "stat" or "read" (static) */
	struct stat st;	    /* fstat of the version read */
	struct buf data;    /* its bytes */
	struct buf sealed;  /* each chunk's envelope, compressed and sealed */
	struct file_chunk *chunks;
	uint32_t n_chunks, cap_chunks;
	unsigned n_changed; /* times it changed while being read (and was read again) */
	bool unstable;	    /* still changing after the last attempt */
	bool done;	    /* guarded by file_pool.lock */
};

struct file_pool;

/* Starts n_threads workers cutting chunks with cp, naming them with
 * crypto_id() under keys and sealing each into its envelope at zstd_level
 * (cp and keys borrowed, NULL keys for an unencrypted repository; they
 * must outlive the pool). Sealing here is speculative: a chunk the backup
 * already has is dropped, which costs a compression but spares each small
 * file a second trip through a pool of threads (chunk-pool.h). At most
 * max_pending files, each of at most max_size bytes, are queued or
 * unreturned at once, which bounds memory. */
struct file_pool *file_pool_new(const struct crypto_keys *keys, unsigned n_threads,
				unsigned max_pending, const struct chunker_params *cp,
				int zstd_level, uint64_t max_size);
/* Stops and joins the workers; pending jobs are dropped. Accepts NULL. */
void file_pool_free(struct file_pool *p);
/* The max_size given to file_pool_new(). */
uint64_t file_pool_max_size(const struct file_pool *p);
bool file_pool_full(const struct file_pool *p);
/* True when jobs are queued or unreturned. */
bool file_pool_busy(const struct file_pool *p);
/* Queues the file at path (copied). Must not be called while full. */
void file_pool_submit(struct file_pool *p, const char *path, uint64_t tag, uint32_t flags);
/* The oldest job, once finished (waiting for it when wait is set), or NULL;
 * hand it back with file_pool_release(). */
struct file_job *file_pool_next(struct file_pool *p, bool wait);
void file_pool_release(struct file_pool *p, struct file_job *job);

#endif
