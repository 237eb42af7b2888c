/*
 * backup.h - store a snapshot of local paths in a repository.
 */
#ifndef CAIRN_BACKUP_H
#define CAIRN_BACKUP_H

#include "repo/repo.h"

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
};

typedef void (*backup_progress_fn)(void *userdata, const struct backup_stats *s, bool done);

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
	backup_fill_fn fill; /* when set, builds the tree instead of walking paths */
	void *fill_data;
};

struct backup_result {
	uint8_t snap_id[HASH_LEN];
	struct backup_stats stats;
};

/* Backs up opts->paths as a new snapshot of opts->member. Entries that
 * vanish or cannot be read are logged by path, counted in stats.n_errors and
 * left out; the snapshot is still written. The snapshot header is written
 * last, after every pack, index and tree it needs is durable, so an
 * interrupted backup leaves no snapshot. Returns -EINVAL (logged) for
 * unusable paths, backend errors for failed writes. */
int backup_run(struct repo *r, struct catalog *c, const struct backup_options *opts,
	       struct backup_result *ret) WARN_UNUSED;

#endif
