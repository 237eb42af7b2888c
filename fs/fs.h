/*
 * fs.h - the state of one cairnfs mount, shared by every FUSE worker
 * thread: the repository, the chunk cache, each thread's catalog
 * connection, the refresh thread that keeps the snapshot list current, and
 * open files. No FUSE types here; fs-ops.c adapts this to libfuse.
 */
#ifndef CAIRN_FS_H
#define CAIRN_FS_H

#include "repo/cache.h"
#include "repo/disk-cache.h"
#include "fs-tree.h"

#include <pthread.h>
#include <sys/uio.h>

#define FS_REFRESH_DEFAULT 60		 /* seconds between repo_sync() runs */
#define FS_CONTENT_TIMEOUT 86400.0	 /* seconds the kernel may trust snapshot contents */
#define FS_PREFETCH_WORKERS 4		 /* threads fetching a sequential reader's next chunks */
#define FS_READAHEAD_DEFAULT (32u << 20) /* largest prefetch window, unless -o readahead= */
#define FS_RA_INITIAL (2u << 20)	 /* a sequential reader's first prefetch window */
/* A read starting this close to where the reads of its file reached counts
 * as sequential: the kernel's readahead requests arrive concurrently, so
 * slightly out of order. */
#define FS_RA_SLACK (16u << 20)
/* ...once the window is open. To open it, a read must start within
 * FS_RA_OPEN_READS times its own length (at least FS_RA_OPEN_MIN) of where
 * the reads reached: the kernel's first readahead requests are large and
 * close together, while a random reader's small reads landed within
 * FS_RA_SLACK of the last one often enough (one in sixteen on a 256 MiB
 * file) that each such read prefetched chunks nobody asked for, evicting
 * ones about to be read. */
#define FS_RA_OPEN_READS 8
#define FS_RA_OPEN_MIN (128u << 10)
/* Page cache of each thread's catalog connection, in KiB: the kernel's page
 * cache holds the catalog file anyway, and this is paid once per thread
 * (eleven times with libfuse's ten workers: at 1024 it was a third of the
 * 32 MiB the daemon may use beyond its cache budget under 32 readers, and
 * ls -lR of 100k files took no longer at 256). */
#define FS_CATALOG_CACHE_KIB 256
#define FS_FILES 64 /* files whose readahead state is kept (the most recently read) */
/* The kernel's own readahead for the mount: at most this, and at most half
 * of ours, so that our workers stay ahead of the kernel's requests. */
#define FS_KERNEL_RA_MAX (16u << 20)

#define FS_TIMEOUT_DEFAULT 30 /* seconds one fetch from the store may take, retries included */

struct fs_options {
	uint64_t cache_size;		/* bytes of decoded chunks; 0: CACHE_BUDGET_DEFAULT */
	unsigned refresh_s;		/* seconds between refreshes; 0: never refresh */
	struct backend_options backend; /* strings borrowed until fs_free() */
	uint64_t readahead;	  /* largest prefetch window in bytes (0: no prefetch); at most
			      * a quarter of the cache is used whatever this says */
	const char *disk_cache;	  /* absolute directory of fetched chunks; NULL: none (borrowed) */
	uint64_t disk_cache_size; /* its bound in bytes */
};

/* A sequential reader's prefetch window (see fs_ra_advance()). */
struct fs_ra {
	uint64_t next;	 /* where the reads reached */
	uint64_t window; /* bytes to keep prefetched ahead of next; 0: not sequential */
	uint64_t ahead;	 /* prefetch has been asked up to here */
};

/* What the mount knows of a regular file being read. */
struct fs_file {
	uint64_t ino;  /* 0: a free slot */
	uint64_t size; /* apparent size; immutable for a given ino */
	uint64_t tick; /* when it was last read, for replacement */
	struct fs_ra ra;
};

struct fs {
	struct fs_tree tree;	       /* tree.newest_sec is atomic; the rest immutable */
	struct repo *repo;	       /* owned; thread-safe; set by fs_open_repo() */
	struct cache *cache;	       /* owned; thread-safe; set by fs_start() */
	struct disk_cache *disk_cache; /* owned; thread-safe; NULL without -o disk_cache= */
	struct fs_options opts;	       /* immutable */
	double synthetic_timeout;      /* seconds for entries above the snapshots; immutable */
	pthread_key_t catalog_key;     /* each thread's struct catalog, closed at thread exit */

	pthread_mutex_t lock;
	pthread_cond_t wake;		 /* signalled to stop the refresh thread */
	bool stopping;			 /* guarded by lock */
	bool has_refresh_thread;	 /* only touched by fs_start()/fs_stop() */
	pthread_t refresh_thread;	 /* only touched by fs_start()/fs_stop() */
	struct catalog *refresh_catalog; /* used by the refresh thread alone */

	pthread_mutex_t files_lock;
	struct fs_file files[FS_FILES]; /* guarded by files_lock */
	uint64_t files_tick;		/* guarded by files_lock */
	const uint8_t *zeros;		/* FS_ZEROS_LEN bytes of zeros (a read-only mapping) */
	bool no_open;  /* the kernel opens files without asking; set by FUSE init */
	char bdi[32];  /* "MAJOR:MINOR" of the mount's device, "" when unknown */
	bool ra_tuned; /* __atomic; the kernel's readahead was set */
};

/* Bytes of the zeros holes are read from, several times over if need be. */
#define FS_ZEROS_LEN (1u << 20)

/* Sets up the state of a mount; uid and gid own the synthetic
 * directories. Starts no thread and opens nothing, so it may run before
 * fork(). */
int fs_new(const struct fs_options *opts, uint32_t uid, uint32_t gid, struct fs **ret) WARN_UNUSED;
/* Opens the repository at url (with opts.backend) and brings the
 * catalog's snapshot list up to date, so that the first listing of the
 * mount needs no backend access. Keeps no catalog connection open, so it
 * may run before fork(). An encrypted repository is unlocked with the
 * password from password_file (NULL: $CAIRN_PASSWORD, $CAIRN_PASSWORD_FILE,
 * a prompt). Errors are logged, with a hint where one helps. */
int fs_open_repo(struct fs *fs, const char *url, const char *password_file) WARN_UNUSED;
/* Opens the disk cache (when opts.disk_cache is set), creates the chunk
 * cache with its prefetch workers and starts the refresh thread (unless
 * opts.refresh_s is 0), each with every signal blocked. Call after any
 * fork(). */
int fs_start(struct fs *fs) WARN_UNUSED;
/* Stops the refresh thread, waiting for a sync in progress. Idempotent. */
void fs_stop(struct fs *fs);
/* Stops, then frees everything, the repository too. No request may be in
 * flight. Accepts NULL. */
void fs_free(struct fs *fs);
DEFINE_FREEP(struct fs, fs_free)

/* Finds the device of the FUSE mount at mountpoint (absolute, no symlinks)
 * in /proc/self/mountinfo, for fs_tune_kernel_readahead(). Touches nothing
 * in the mount, so it is safe before the session serves requests. Failing
 * only costs the tuning (logged at debug level). */
void fs_find_device(struct fs *fs, const char *mountpoint);
/* The largest prefetch window: opts.readahead, but at most a quarter of the
 * cache, so that prefetching cannot evict what is being read. */
uint64_t fs_readahead_max(const struct fs *fs);
/* Once, on the first request after FUSE init (whose reply would undo it):
 * raises the kernel's readahead for the mount (the bdi's read_ahead_kb) to
 * MIN(fs_readahead_max() / 2, FS_KERNEL_RA_MAX), so sequential reads arrive
 * as large requests, several at a time, while our prefetch stays ahead of
 * them. Best effort; thread-safe. */
void fs_tune_kernel_readahead(struct fs *fs);

/* The calling thread's catalog connection, opened on first use and closed
 * when the thread exits (or, for the thread calling fs_free(), there). */
int fs_catalog(struct fs *fs, struct catalog **ret) WARN_UNUSED;

/* The errno to give the kernel for an internal error r < 0: r itself for
 * the errors a caller can act on (ENOENT, ENOTDIR, EROFS, ENODATA, ERANGE,
 * ENXIO, ...), EIO for everything else (damage, backend failure). */
int fs_errno(int r);

/* Feeds a read of [off, end) of a file of size bytes to its readahead state
 * ra, with max the largest window. A read that continues the previous ones
 * (within FS_RA_SLACK while the window is open, within a few times its
 * own length to open it) is
 * sequential: the first one opens a window of
 * FS_RA_INITIAL bytes beyond it, and whenever the reader is within half a
 * window of where prefetch was asked, the window doubles (up to max) and
 * is asked again. Any other read is a seek: the window closes and nothing
 * is prefetched, so random reads fetch only what they need. Returns true
 * and sets [*ret_from, *ret_to) when the chunks there are to be
 * prefetched now. Pure; the caller serialises calls on one ra. */
bool fs_ra_advance(struct fs_ra *ra, uint64_t off, uint64_t end, uint64_t size, uint64_t max,
		   uint64_t *ret_from, uint64_t *ret_to);

/* The pieces of one read's reply: iov[0..n_iov) point into the chunk cache
 * entries held[0..n_held), into fs->zeros for holes, or into spill (where
 * the bytes go once FS_READ_SEGS pieces are used up). */
#define FS_READ_SEGS 64
struct fs_read {
	struct iovec iov[FS_READ_SEGS];
	struct cache_entry *held[FS_READ_SEGS];
	bool consumed[FS_READ_SEGS]; /* held[i] goes back with cache_put_consumed() */
	unsigned n_iov, n_held;
	size_t len;	  /* bytes in all of iov */
	struct buf spill; /* owned */
};
#define FS_READ_INIT                                                 \
	{                                                            \
		.n_iov = 0, .n_held = 0, .len = 0, .spill = BUF_INIT \
	}

/* Reads [off, off + size) of regular file ino into rd: the bytes before the
 * end of the file, zeros for holes, by reference into the chunk cache where
 * it can. On a sequential read, asks the cache to prefetch the chunks that
 * follow. A chunk that cannot be fetched or fails verification fails the
 * whole read with its error (already logged); -EISDIR or -EINVAL when ino
 * is not a regular file. Safe for concurrent reads of one file. The caller
 * sends rd->iov, then calls fs_read_release() whatever happened. */
int fs_file_read(struct fs *fs, struct catalog *c, uint64_t ino, uint64_t off, size_t size,
		 struct fs_read *rd) WARN_UNUSED;
/* Lets go of the chunks rd holds and frees its spill. */
void fs_read_release(struct fs *fs, struct fs_read *rd);

#endif
