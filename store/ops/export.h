/*
 * export.h - write a snapshot, or a subtree of it, as a tar stream.
 */
#ifndef CAIRN_EXPORT_H
#define CAIRN_EXPORT_H

#include "repo/repo.h"

enum export_format {
	EXPORT_FORMAT_PAX,    /* POSIX pax: everything is kept */
	EXPORT_FORMAT_GNUTAR, /* GNU tar: no xattrs, whole seconds, holes written as zeros */
};

struct export_stats {
	uint64_t total_bytes;	/* apparent bytes of regular files to write; 0 when unknown */
	uint64_t n_entries;	/* archive entries written */
	uint64_t n_files;	/* regular files with data */
	uint64_t n_bytes;	/* apparent bytes of regular files, holes included */
	uint64_t n_data;	/* bytes of file data (holes excluded) */
	uint64_t n_xattrs_lost; /* entries whose xattrs the format cannot hold */
	uint64_t n_sparse_lost; /* sparse files written with their holes as zeros */
	uint64_t n_sockets;	/* sockets left out (tar has no such entry) */
};

typedef void (*export_progress_fn)(void *userdata, const struct export_stats *s, bool done);

struct export_options {
	enum export_format format;
	int fd;			     /* where the archive goes */
	uint64_t cache_size;	     /* decoded chunk cache; 0: CACHE_BUDGET_DEFAULT */
	export_progress_fn progress; /* may be NULL */
	void *progress_data;
};

/* Writes path (see walk_resolve(); "" for everything) of snapshot s to
 * opts->fd as a tar archive (libarchive). A directory comes out as "./"
 * and its contents as "./NAME...", so extracting with tar -C DIR recreates
 * it in DIR; anything else as one entry under its own name. Hardlinks
 * become hardlink entries to the first name, sparse files (pax) sparse
 * entries whose holes take no space in the archive; owners are numeric.
 * Errors are logged: a chunk that cannot be had, a write error (-EPIPE
 * when the reader went away). */
int export_run(struct repo *r, struct catalog *c, struct cat_snapshot *s, const char *path,
	       const struct export_options *opts, struct export_stats *ret) WARN_UNUSED;

#endif
