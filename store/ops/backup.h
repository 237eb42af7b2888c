/*
 * backup.h - store a snapshot of local paths in a repository.
 */
#ifndef CAIRN_BACKUP_H
#define CAIRN_BACKUP_H

#include "ops/select.h"
#include "repo/repo.h"

#include <signal.h>

struct backup_stats {
	uint64_t n_files;     /* regular files stored */
	uint64_t n_dirs;      /* directories */
	uint64_t n_other;     /* symlinks, devices, fifos, sockets */
	uint64_t n_bytes;     /* apparent size of regular files */
	uint64_t n_read;      /* bytes of file data read */
	uint64_t n_chunks;    /* chunks referenced */
	uint64_t n_new;	      /* chunks not already in the repository */
	uint64_t n_new_bytes; /* their raw size */
	uint64_t n_stored;    /* bytes of packs written */
	uint64_t n_errors;    /* entries that could not be read and are missing */
	/* regular files, by what the previous snapshot knew of them */
	uint64_t n_files_new;	    /* not in the files cache */
	uint64_t n_files_changed;   /* in it, but with other stat fields (or --force-read) */
	uint64_t n_files_unchanged; /* reused without being opened */
	uint64_t n_unstable;	    /* still changing after every re-read */
};

/* path is the entry being read (borrowed for the call), "" when done. */
typedef void (*backup_progress_fn)(void *userdata, const struct backup_stats *s, const char *path,
				   bool done);

struct backup;
/* Builds the snapshot's tree from a source other than local paths (a tar
 * stream, standard input): see ops/backup-internal.h. A failure it returns
 * fails the backup before anything refers to what it stored. */
typedef int (*backup_fill_fn)(struct backup *b, void *userdata);

struct backup_options {
	const char *member;
	int64_t time_sec; /* snapshot time (UTC); 0 = now */
	uint32_t time_nsec;
	const char *const *tags;
	size_t n_tags;
	const char *const *paths; /* one directory: its contents become the root;
				   * otherwise each appears under its base name */
	size_t n_paths;
	backup_progress_fn progress; /* called now and then, and once at the end; may be NULL */
	void *progress_data;
	const struct selection *select; /* excludes and include list; NULL takes everything */
	bool one_file_system;		/* do not descend into other file systems */
	bool exclude_caches;		/* skip the contents of CACHEDIR.TAG directories */
	bool force_read;		/* read every file, even unchanged ones */
	/* When *cancel becomes non-zero (a signal handler), the backup stops
	 * soon with -EINTR and writes no snapshot. May be NULL. */
	const volatile sig_atomic_t *cancel;
	backup_fill_fn fill; /* when set, builds the tree instead of walking paths */
	void *fill_data;
};

struct backup_result {
	uint8_t snap_id[HASH_LEN];
	struct backup_stats stats;
};

/* Backs up opts->paths as a new snapshot of opts->member. Entries that
 * vanish or cannot be read are logged by path, counted in stats.n_errors and
 * left out; the snapshot is still written. A regular file whose size,
 * mtime, ctime, inode and device match what the files cache (files-cache.h)
 * recorded for the member's latest snapshot is not opened: its chunks are
 * reused once the catalog confirms each is stored. A file that changes
 * while it is read (size, mtime or ctime differ before and after) is read
 * again, up to three times, and reported. The snapshot header is written
 * last, after every pack, index and tree it needs is durable, so an
 * interrupted backup leaves no snapshot. Returns -EINVAL (logged) for
 * unusable paths, backend errors for failed writes. */
int backup_run(struct repo *r, struct catalog *c, const struct backup_options *opts,
	       struct backup_result *ret) WARN_UNUSED;

#endif
