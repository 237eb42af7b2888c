/*
 * stats.c - the figures of cairn stats.
 *
 * Snapshot counts and sizes come from the snapshot headers in the catalog;
 * what their files reference, from the loaded trees (catalog_usage()).
 * Reclaimable space is a property of the whole repository: a chunk copy
 * is in use when any snapshot's tree points at it, so every tree must be
 * loaded, and every chunk must be known, so the index objects are merged
 * first (they record the chunks of every pack a finished backup wrote).
 *
 * With a listing of packs/ the figures are exact about what exists:
 *   - a listed pack the catalog knows no chunk of (a backup that died
 *     before writing its index) is reclaimable whole;
 *   - a listed pack none of whose chunks is in use is reclaimable whole
 *     (deleting it also frees its trailer);
 *   - otherwise the envelopes of its unused chunks are reclaimable (what
 *     repacking would free, give or take the trailer);
 *   - packs the catalog remembers but the listing lacks are gone already
 *     and count for nothing.
 * Without a listing (plain HTTP) the catalog's packs are taken as they are.
 */
#include "ops/stats.h"
#include "base/log.h"

struct listed_pack {
	uint8_t id[HASH_LEN];
	uint64_t size;
	bool known; /* the catalog has chunks in it */
};

struct pack_listing {
	struct listed_pack *v;
	size_t n, cap;
};

static int collect_pack(void *userdata, const char *name, uint64_t size)
{
	struct pack_listing *l = userdata;
	uint8_t id[HASH_LEN];

	/* "packs/ab/<64 hex>"; anything else (a partial upload) is not a pack */
	if (strlen(name) != PACK_NAME_LEN - 1 || strncmp(name, PACKS_DIR, strlen(PACKS_DIR)) != 0 ||
	    hex_decode(name + strlen(PACKS_DIR "ab/"), id, HASH_LEN) < 0)
		return 0;
	XGROW_ARRAY(l->v, l->cap, l->n + 1);
	memcpy(l->v[l->n].id, id, HASH_LEN);
	l->v[l->n].size = size;
	l->v[l->n].known = false;
	l->n++;
	return 0;
}

static int listed_cmp(const void *a, const void *b)
{
	return memcmp(((const struct listed_pack *)a)->id, ((const struct listed_pack *)b)->id,
		      HASH_LEN);
}

struct pack_sums {
	struct pack_listing *listing; /* NULL: the catalog's packs are all there is */
	struct repo_stats *st;
};

static int add_pack(void *userdata, const struct cat_pack_usage *p)
{
	struct pack_sums *s = userdata;
	struct repo_stats *st = s->st;
	uint64_t size = p->stored_bytes;

	if (s->listing) {
		struct listed_pack key, *l;
		memcpy(key.id, p->pack_id, HASH_LEN);
		l = s->listing->n == 0
			    ? NULL
			    : bsearch(&key, s->listing->v, s->listing->n, sizeof(key), listed_cmp);
		if (!l)
			return 0; /* gone from the repository */
		l->known = true;
		size = l->size;
	} else {
		st->n_packs++;
		st->pack_bytes += size;
	}
	if (p->n_used == 0) {
		st->n_unused_packs++;
		st->reclaimable_bytes += size;
	} else {
		st->reclaimable_bytes += p->unused_bytes;
	}
	return 0;
}

static int count_snapshot(void *userdata, const struct cat_snapshot *s)
{
	struct repo_stats *st = userdata;
	st->n_snapshots++;
	st->n_files += s->n_files;
	st->raw_bytes += s->n_bytes;
	return 0;
}

struct snapshot_list {
	struct cat_snapshot *v;
	size_t n, cap;
};

static int collect_snapshot(void *userdata, const struct cat_snapshot *s)
{
	struct snapshot_list *l = userdata;
	XGROW_ARRAY(l->v, l->cap, l->n + 1);
	l->v[l->n++] = *s;
	return 0;
}

static int count_member(void *userdata, int64_t id UNUSED, const char *name UNUSED)
{
	(*(uint64_t *)userdata)++;
	return 0;
}

int stats_compute(struct repo *r, struct catalog *c, const char *member, struct repo_stats *ret)
{
	struct backend *b = repo_backend(r);
	struct repo_stats st = { 0 };
	struct snapshot_list all = { 0 };
	struct pack_listing listing = { 0 };
	int res;

	if (backend_can_list(b)) {
		res = repo_sync_index(r, c, NULL);
		if (res < 0)
			return res;
	}
	res = catalog_list_snapshots(c, NULL, collect_snapshot, &all);
	for (size_t i = 0; res == 0 && i < all.n; i++)
		res = repo_ensure_tree(r, c, &all.v[i]);
	free(all.v);
	if (res < 0)
		return res;

	res = catalog_list_snapshots(c, member, count_snapshot, &st);
	if (res == 0 && member)
		st.n_members = st.n_snapshots > 0;
	else if (res == 0)
		res = catalog_list_members(c, count_member, &st.n_members);
	if (res == 0)
		res = catalog_usage(c, member, &st.usage);
	if (res < 0)
		return res;

	struct pack_sums sums = { .st = &st };
	if (backend_can_list(b)) {
		res = backend_list(b, PACKS_DIR, collect_pack, &listing);
		if (res < 0) {
			free(listing.v);
			return log_error_errno(res, "cannot list the packs of '%s'",
					       backend_url(b));
		}
		if (listing.n > 0)
			qsort(listing.v, listing.n, sizeof(*listing.v), listed_cmp);
		sums.listing = &listing;
		st.packs_listed = true;
	}
	res = catalog_pack_usage(c, add_pack, &sums);
	for (size_t i = 0; i < listing.n; i++) {
		st.n_packs++;
		st.pack_bytes += listing.v[i].size;
		if (!listing.v[i].known) {
			st.n_unused_packs++;
			st.reclaimable_bytes += listing.v[i].size;
		}
	}
	free(listing.v);
	if (res < 0)
		return res;
	*ret = st;
	return 0;
}
