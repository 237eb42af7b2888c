/*
 * stats.h - how much a repository holds and what deduplication and
 * compression save, for cairn stats. Definitions are in cairn(1).
 */
#ifndef CAIRN_STATS_H
#define CAIRN_STATS_H

#include "catalog/catalog-query.h"
#include "repo/repo.h"

struct repo_stats {
	/* the selected snapshots (one member's, or all) */
	uint64_t n_snapshots, n_members;
	uint64_t n_files;	/* sum of the snapshots' regular file counts */
	uint64_t raw_bytes;	/* sum of the snapshots' sizes (files' apparent sizes) */
	struct cat_usage usage; /* the chunks they reference */
	/* the whole repository */
	bool packs_listed; /* pack figures come from a listing, not the catalog */
	uint64_t n_packs, pack_bytes;
	uint64_t n_unused_packs;    /* packs no snapshot uses a chunk of */
	uint64_t reclaimable_bytes; /* what deleting and repacking would free */
};

/*
 * Fills ret for the snapshots of member (all when NULL). First brings the
 * catalog up to date with the index objects and loads every snapshot's
 * tree it lacks (whatever member is: reclaimable space depends on all of
 * them), then lists packs/ when the backend can list; otherwise pack
 * figures come from the catalog (pack_bytes then counts chunk envelopes
 * only). Backend errors are returned.
 */
int stats_compute(struct repo *r, struct catalog *c, const char *member,
		  struct repo_stats *ret) WARN_UNUSED;

/* One member's part, for the per-member rows of cairn stats. stored_bytes
 * counts every chunk its snapshots use, also those other members share. */
struct member_stats {
	char name[MEMBER_NAME_MAX + 1];
	uint64_t n_snapshots, n_files;
	uint64_t raw_bytes;	/* sum of its snapshots' sizes */
	struct cat_usage usage; /* the chunks they reference */
};

/* Fills *ret (an array for the caller to free) with every member's figures,
 * ordered by name. Call after stats_compute(), which loads the trees. */
int stats_members(struct catalog *c, struct member_stats **ret, size_t *ret_n) WARN_UNUSED;

#endif
