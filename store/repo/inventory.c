/*
 * inventory.c - list a repository, for check and prune.
 *
 * One listing of the whole repository is cheaper on object stores than one
 * per directory (a listing pages through names whatever the prefix), and
 * it finds stray objects too. Names are parsed strictly: an object counts
 * only when its name is exactly what a writer would have produced.
 */
#include "repo/inventory.h"
#include "base/log.h"
#include "repo/pending.h"

#include <assert.h>

void id_list_release(struct id_list *l)
{
	free(l->ids);
	free(l->sizes);
	*l = (struct id_list){ 0 };
}

void id_list_add(struct id_list *l, const uint8_t id[HASH_LEN], uint64_t size)
{
	if (l->n == l->cap) {
		size_t cap = l->cap; /* the two arrays grow alike */
		XGROW_ARRAY(l->sizes, cap, l->n + 1);
		XGROW_ARRAY(l->ids, l->cap, l->n + 1);
		assert(cap == l->cap);
	}
	memcpy(l->ids[l->n], id, HASH_LEN);
	l->sizes[l->n++] = size;
}

struct sized_id {
	uint8_t id[HASH_LEN];
	uint64_t size;
};

static int sized_cmp(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);
}

void id_list_sort(struct id_list *l)
{
	if (l->n < 2)
		return;
	struct sized_id *tmp = xmalloc(l->n * sizeof(*tmp));
	for (size_t i = 0; i < l->n; i++) {
		memcpy(tmp[i].id, l->ids[i], HASH_LEN);
		tmp[i].size = l->sizes[i];
	}
	qsort(tmp, l->n, sizeof(*tmp), sized_cmp);
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (n > 0 && memcmp(tmp[i].id, l->ids[n - 1], HASH_LEN) == 0)
			continue;
		memcpy(l->ids[n], tmp[i].id, HASH_LEN);
		l->sizes[n++] = tmp[i].size;
	}
	l->n = n;
	free(tmp);
}

ssize_t id_list_find(const struct id_list *l, const uint8_t id[HASH_LEN])
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(l->ids[mid], id, HASH_LEN);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int sort_name(void *userdata, const char *name, uint64_t size)
{
	struct inventory *inv = userdata;
	uint8_t id[HASH_LEN];

	if (object_name_parse(OBJECT_SNAPSHOT, name, id))
		id_list_add(&inv->snapshots, id, size);
	else if (object_name_parse(OBJECT_TREE, name, id))
		id_list_add(&inv->trees, id, size);
	else if (object_name_parse(OBJECT_INDEX, name, id))
		id_list_add(&inv->indexes, id, size);
	else if (object_name_parse(OBJECT_PACK_TRAILER, name, id))
		id_list_add(&inv->packs, id, size);
	else if (strncmp(name, LOCKS_DIR, strlen(LOCKS_DIR)) == 0)
		inv->n_locks++;
	else if (strcmp(name, PENDING_NAME) == 0)
		inv->has_pending = true;
	else if (strcmp(name, CONFIG_NAME) != 0 && strcmp(name, LISTING_NAME) != 0) {
		XGROW_ARRAY(inv->strays, inv->cap_strays, inv->n_strays + 1);
		inv->strays[inv->n_strays++] = xstrdup(name);
	}
	return 0;
}

int inventory_list(struct repo *r, struct inventory *ret)
{
	struct backend *b = repo_backend(r);
	struct inventory inv = { .can_list = backend_can_list(b) };
	int res;

	if (inv.can_list) {
		res = backend_list(b, "", sort_name, &inv);
		if (res < 0) {
			inventory_release(&inv);
			return log_error_errno(res, "cannot list the repository '%s'",
					       backend_url(b));
		}
	} else {
		uint8_t(*ids)[HASH_LEN] = NULL;
		size_t n = 0;
		res = repo_read_snapshot_list(r, &ids, &n, NULL);
		if (res < 0)
			return res;
		for (size_t i = 0; i < n; i++)
			id_list_add(&inv.snapshots, ids[i], 0);
		free(ids);
	}
	id_list_sort(&inv.snapshots);
	id_list_sort(&inv.trees);
	id_list_sort(&inv.indexes);
	id_list_sort(&inv.packs);
	*ret = inv;
	return 0;
}

void inventory_release(struct inventory *inv)
{
	id_list_release(&inv->snapshots);
	id_list_release(&inv->trees);
	id_list_release(&inv->indexes);
	id_list_release(&inv->packs);
	for (size_t i = 0; i < inv->n_strays; i++)
		free(inv->strays[i]);
	free(inv->strays);
	*inv = (struct inventory){ 0 };
}
