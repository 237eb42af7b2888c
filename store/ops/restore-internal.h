/*
 * restore-internal.h - what the files of the restore module share: the
 * state of one restore, the work queue of regular files, and the helpers
 * that touch the target. Only store/restore*.c include it.
 *
 *   restore.c       the walk, special files, links and directories at the
 *                   end, setting up and tearing down
 *   restore-file.c  regular files, written by the worker threads
 *   restore-fs.c    the target: entries found again by path, temporary
 *                   names, replacing entries, metadata, what could not be set
 */
#ifndef CAIRN_RESTORE_INTERNAL_H
#define CAIRN_RESTORE_INTERNAL_H

#include "repo/cache.h"
#include "base/hmap.h"
#include "ops/restore.h"

#include <pthread.h>

#define RESTORE_QUEUE_MAX 32
/* Files a worker restores in one catalog read transaction, at most (a
 * writer's checkpoint waits for the transaction to end). */
#define RESTORE_JOBS_PER_READ 256
#define RESTORE_WRITTEN_MAX (1u << 18)
#define RESTORE_WRITTEN_PER_FILE (1u << 16)
#define RESTORE_WINDOW_MAX (32ull << 20)
#define RESTORE_PROGRESS_NS 250000000ull
#define RESTORE_EXAMPLES 5
#define NO_NODE UINT32_MAX

/* A directory, or the first name of a multiply-linked entry or of a file
 * that chunks are copied from: found again later by walking from the
 * target through its parents' names. Node 0 is the target itself. */
struct rnode {
	uint32_t parent;
	uint32_t name_len;
	uint64_t name_off; /* in restore.names */
	bool failed;	   /* the entry could not be restored */
};

struct rlink {
	uint32_t src; /* node of the first name */
	uint32_t dir; /* node of the directory of this name */
	uint64_t name_off;
	uint32_t name_len;
};

struct rdir {
	uint32_t node;
	struct cat_attr attr;
};

struct written {
	uint32_t node; /* the file holding the chunk */
	uint64_t off;  /* where in it */
};

/* What an unprivileged restore could not do, to be reported once. */
struct shortfall {
	uint64_t n;
	struct buf examples;
};

struct rjob {
	int dirfd;	      /* owned: the parent directory */
	char *name;	      /* owned */
	char *path;	      /* owned: for messages, relative to the target */
	uint32_t node;	      /* the file's node, or NO_NODE */
	uint32_t parent_node; /* node of dirfd */
	struct cat_attr attr;
};

struct restore;

struct worker {
	struct restore *rs;
	struct catalog *cat; /* owned; this thread's connection */
	pthread_t thread;
	bool started;
	uint8_t *buf;	   /* CHUNK_SIZE_MAX_LIMIT bytes for verifying */
	uint32_t src_node; /* node whose descriptor src_fd is, or NO_NODE */
	int src_fd;	   /* the last file copied from, or -1 */
};

struct restore {
	struct repo *repo;
	const struct restore_options *o;
	const char *target;
	int root_fd;	    /* the target; immutable */
	bool link_at_empty; /* linkat(AT_EMPTY_PATH) works; immutable */
	bool use_tmpfile;   /* O_TMPFILE works in the target; immutable */
	bool have_proc;	    /* /proc/self/fd is there; immutable */
	struct cache *cache;
	uint64_t window;	    /* prefetch window per file; immutable */
	uint64_t tmp_seq;	    /* __atomic; numbers temporary names */
	struct restore_stats stats; /* counters: __atomic */

	/* main thread only */
	struct catalog *cat;
	int *fds; /* directory descriptor per walk depth (fds[0]: root_fd) */
	uint32_t *fd_nodes;
	size_t n_fds, cap_fds;
	struct hmap first; /* inode -> node of its first name (entries with nlink > 1) */
	struct rdir *dirs; /* post-order */
	size_t n_dirs, cap_dirs;
	struct rlink *links;
	size_t n_links, cap_links;
	bool root_is_dir;

	pthread_mutex_t lock;
	pthread_cond_t job_ready;	       /* a job was queued, or stopping */
	pthread_cond_t job_taken;	       /* the queue has room, or a job finished */
	struct rjob *queue[RESTORE_QUEUE_MAX]; /* guarded by lock */
	size_t q_head, q_len;		       /* guarded by lock */
	unsigned busy;			       /* guarded by lock: jobs being worked on */
	bool refill_wait;		       /* guarded by lock: the walk waits for the
						* queue to be half empty */
	bool drain_wait;		       /* guarded by lock: the walk waits for it to
						* be empty and every job done */
	bool stopping;			       /* guarded by lock */
	struct rnode *nodes;		       /* guarded by lock */
	size_t n_nodes, cap_nodes;	       /* guarded by lock */
	struct buf names;		       /* guarded by lock: node and link names */
	struct hmap written;		       /* guarded by lock: chunk hash -> index in wr */
	struct written *wr;		       /* guarded by lock */
	size_t n_wr;			       /* guarded by lock */
	struct shortfall owners, devices, xattrs, modes; /* guarded by lock */

	struct worker *workers;
	unsigned n_workers;
	uint64_t last_progress;
};

static inline void restore_count(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

/* --- restore-fs.c --- */

/* A path for messages (the caller frees it): the target, '/', the escaped
 * relative path. */
char *restore_show(const struct restore *rs, const char *path);
/* Logs "cannot WHAT 'PATH': error", counts an error, returns r. */
int restore_fail(struct restore *rs, int r, const char *what, const char *path);
/* Counts something an unprivileged restore could not do, keeping the
 * first few paths (with detail, may be NULL) as examples. Thread-safe. */
void restore_shortfall_add(struct restore *rs, struct shortfall *s, const char *path,
			   const char *detail);
/* Logs "could not VERB N WHAT: examples" once, when there was any. */
void restore_shortfall_report(const struct shortfall *s, const char *verb, const char *what);

/* Adds a node (parent's child called name) and returns its number.
 * Thread-safe. */
uint32_t restore_node_add(struct restore *rs, uint32_t parent, const char *name, size_t len);
/* Marks node (or nothing, for NO_NODE) as an entry that could not be restored. */
void restore_node_set_failed(struct restore *rs, uint32_t node);
/* The node's path from the target, for messages; the caller frees it. */
char *restore_node_path(struct restore *rs, uint32_t node);
/* Opens the node's directory (parent false) or the directory holding it
 * (parent true, and *ret_name gets its name), one component at a time from
 * the target without following symlinks. Returns a descriptor or -errno. */
int restore_node_open(struct restore *rs, uint32_t node, bool parent, char **ret_name);
/* Opens directory name in dirfd without following it, first giving its
 * owner access back (0700) when a mode set earlier keeps them out. */
int restore_open_dir_owned(int dirfd, const char *name);

/* A fresh temporary name (RESTORE_TMP_PREFIX...) into out. Thread-safe. */
void restore_tmp_name(struct restore *rs, char out[64]);
/* Removes name in dirfd, with everything below it when it is a directory,
 * following no symlink. */
int restore_remove_tree(int dirfd, const char *name);
/* Renames tmp to name in dirfd, replacing what is there (a directory in
 * the way is removed with its contents). tmp is removed on failure. */
int restore_rename_into_place(int dirfd, const char *tmp, const char *name);
/* Sets owner, mode, xattrs and mtime of the entry: through fd when it is
 * >= 0, else on name in dirfd without following it. What an unprivileged
 * user may not set is counted as a shortfall; other failures are logged
 * (naming path) and returned. mode_made: fd was created with the
 * permissions wanted, so they are set only if it does not have them. */
int restore_apply_meta(struct restore *rs, struct catalog *c, int fd, int dirfd, const char *name,
		       const struct cat_attr *a, bool mode_made, const char *path);

/* --- restore-file.c --- */

/* Opens a catalog connection per worker and starts them. */
int restore_start_workers(struct restore *rs);
/* Lets the workers finish what is queued, joins them and closes their
 * connections. Idempotent. */
void restore_stop_workers(struct restore *rs);
/* Queues a regular file for the workers, waiting while the queue is full. */
void restore_queue_job(struct restore *rs, struct rjob *j);
/* Waits until the queue is at most half full (drain false) or until it is
 * empty and no job is in progress (drain true), showing progress meanwhile. */
void restore_wait_queue(struct restore *rs, bool drain);
void restore_job_free(struct rjob *j);
DEFINE_FREEP(struct rjob, restore_job_free)

/* --- restore.c --- */

/* Calls the progress callback, at most every RESTORE_PROGRESS_NS unless done. */
void restore_progress(struct restore *rs, bool done);

#endif
