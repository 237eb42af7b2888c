/*
 * prune.h - delete what no snapshot references: packs, trees of forgotten
 * snapshots, and index entries of deleted packs; repack packs that are
 * mostly garbage. Safe against backups running at the same time from other
 * hosts: see prune.c and cairn-repository(5), CONCURRENCY.
 */
#ifndef CAIRN_PRUNE_H
#define CAIRN_PRUNE_H

#include "repo/repo.h"

/* Repack a pack when more than this share of its chunk bytes is garbage. */
#define PRUNE_REPACK_PERCENT_DEFAULT 50

struct prune_progress {
	const char *phase; /* "snapshots", "repack", "delete" */
	uint64_t done, total;
	uint64_t bytes;
};
typedef void (*prune_progress_fn)(void *userdata, const struct prune_progress *p);

struct prune_options {
	bool dry_run;		    /* decide and report; write and delete nothing */
	unsigned repack_percent;    /* 1..100; 100 never repacks; 0 means the default */
	prune_progress_fn progress; /* may be NULL */
	void *progress_data;
};

struct prune_result {
	uint64_t n_snapshots;	      /* snapshots whose data is kept */
	uint64_t n_packs, pack_bytes; /* packs in the repository before */
	uint64_t live_bytes;	      /* chunk bytes snapshots use */
	uint64_t n_packs_deleted, pack_bytes_deleted;
	uint64_t n_trees_deleted, tree_bytes_deleted;
	uint64_t n_packs_repacked, repacked_bytes; /* old packs copied (then deleted) */
	uint64_t n_packs_written, written_bytes;   /* new packs holding their live chunks */
	uint64_t n_snapshots_rewritten;		   /* trees pointed at the new packs */
	uint64_t n_indexes_rewritten;
	uint64_t n_deferred, deferred_bytes; /* garbage kept for running backups */
	uint64_t n_running;		     /* live backup locks that deferred it */
};

/* Prunes r (the catalog c is brought up to date afterwards). Refuses
 * (-EBADMSG, logged, with a hint to run check) when any snapshot header or
 * tree cannot be read or a pack a snapshot uses is missing, since it
 * could not tell what is garbage; -EBUSY when another forget or prune
 * holds the lock. */
int prune_run(struct repo *r, struct catalog *c, const struct prune_options *o,
	      struct prune_result *ret) WARN_UNUSED;

#endif
