/*
 * inventory.h - what a repository holds, read from the repository itself
 * and never from the catalog: one listing of every object, sorted by kind.
 * check and prune start here, since both must see the repository as it is;
 * they fetch what it lists through repo/object.h.
 */
#ifndef CAIRN_INVENTORY_H
#define CAIRN_INVENTORY_H

#include "format/envelope.h"
#include "format/tree.h"
#include "format/snapshot.h"
#include "repo/repo.h"

/* A set of object ids, with their sizes where a listing gave them. */
struct id_list {
	uint8_t (*ids)[HASH_LEN]; /* owned */
	uint64_t *sizes;	  /* owned; parallel to ids */
	size_t n, cap;
};

void id_list_release(struct id_list *l);
void id_list_add(struct id_list *l, const uint8_t id[HASH_LEN], uint64_t size);
/* Sorts by id (sizes follow) and drops duplicates. */
void id_list_sort(struct id_list *l);
/* Index of id in a sorted list, or -1. */
ssize_t id_list_find(const struct id_list *l, const uint8_t id[HASH_LEN]);

struct inventory {
	bool can_list;		  /* false: only snapshots are known (from the snapshot list) */
	struct id_list snapshots; /* sorted */
	struct id_list trees;	  /* sorted; empty unless can_list */
	struct id_list indexes;	  /* sorted; empty unless can_list */
	struct id_list packs;	  /* sorted, with sizes; empty unless can_list */
	unsigned n_locks;
	bool has_pending; /* a "prune-pending" object exists */
	char **strays;	  /* names that are no object of a repository */
	size_t n_strays, cap_strays;
};

/* Lists the repository: one listing of everything on backends that can
 * list, else the published snapshot list. Errors are logged. */
int inventory_list(struct repo *r, struct inventory *ret) WARN_UNUSED;
void inventory_release(struct inventory *inv);

#endif
