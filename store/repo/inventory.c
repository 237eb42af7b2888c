/*
 * inventory.c - list a repository and fetch its metadata objects with
 * verification, for check and prune.
 *
 * One listing of the whole repository is cheaper on object stores than one
 * per directory (a listing pages through names whatever the prefix), and
 * it finds stray objects too. Names are parsed strictly: an object counts
 * only when its name is exactly what a writer would have produced.
 */
#include "repo/inventory.h"
#include "base/log.h"
#include "repo/pending.h"

#define SNAPSHOT_HEADER_MAX (1u << 20)

void id_list_release(struct id_list *l)
{
	free(l->ids);
	free(l->sizes);
	*l = (struct id_list){ 0 };
}

void id_list_add(struct id_list *l, const uint8_t id[HASH_LEN], uint64_t size)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->ids = xrealloc(l->ids, l->cap * HASH_LEN);
		l->sizes = xrealloc(l->sizes, l->cap * sizeof(uint64_t));
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

void object_name(const char *dir, const uint8_t id[HASH_LEN], char *out)
{
	char hex[HASH_HEX_LEN + 1];
	hex_encode(id, HASH_LEN, hex);
	if (strcmp(dir, "packs") == 0)
		snprintf(out, INVENTORY_NAME_MAX, "packs/%.2s/%s", hex, hex);
	else
		snprintf(out, INVENTORY_NAME_MAX, "%s/%s", dir, hex);
}

/* True when name is dir/<64 lowercase hex> (packs: packs/ab/<hex> with ab
 * its first two digits); the id goes to id. */
static bool parse_name(const char *name, const char *dir, uint8_t id[HASH_LEN])
{
	size_t dlen = strlen(dir);
	if (strncmp(name, dir, dlen) != 0 || name[dlen] != '/')
		return false;
	const char *hex = name + dlen + 1;
	if (strcmp(dir, "packs") == 0) {
		if (strlen(hex) != 3 + HASH_HEX_LEN || hex[2] != '/' || hex[0] != hex[3] ||
		    hex[1] != hex[4])
			return false;
		hex += 3;
	}
	if (strlen(hex) != HASH_HEX_LEN || hex_decode(hex, id, HASH_LEN) < 0)
		return false;
	for (const char *p = hex; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			return false;
	return true;
}

static int sort_name(void *userdata, const char *name, uint64_t size)
{
	struct inventory *inv = userdata;
	uint8_t id[HASH_LEN];

	if (parse_name(name, "snapshots", id))
		id_list_add(&inv->snapshots, id, size);
	else if (parse_name(name, "trees", id))
		id_list_add(&inv->trees, id, size);
	else if (parse_name(name, "index", id))
		id_list_add(&inv->indexes, id, size);
	else if (parse_name(name, "packs", id))
		id_list_add(&inv->packs, id, size);
	else if (strncmp(name, "locks/", 6) == 0)
		inv->n_locks++;
	else if (strcmp(name, PENDING_NAME) == 0)
		inv->has_pending = true;
	else if (strcmp(name, "config") != 0 && strcmp(name, "snapshot-list") != 0) {
		inv->strays = xrealloc(inv->strays, (inv->n_strays + 1) * sizeof(char *));
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
		res = repo_read_snapshot_list(r, &ids, &n);
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

int object_fetch(struct backend *b, const char *name, enum object_kind kind, size_t max,
		 const uint8_t id[HASH_LEN], struct buf *out)
{
	AUTOBUF struct buf obj = BUF_INIT;
	uint8_t got[HASH_LEN];
	size_t start = out->len;
	int r;

	r = backend_get(b, name, &obj);
	if (r < 0)
		return r;
	r = envelope_decode(obj.ptr, obj.len, kind, max, out, got);
	if (r == 0 && memcmp(got, id, HASH_LEN) != 0)
		r = -EBADMSG;
	if (r < 0)
		out->len = start;
	return r;
}

int object_fetch_header(struct backend *b, const uint8_t id[HASH_LEN], struct snapshot_header *ret)
{
	AUTOBUF struct buf payload = BUF_INIT;
	char name[INVENTORY_NAME_MAX];
	int r;

	object_name("snapshots", id, name);
	r = object_fetch(b, name, OBJECT_SNAPSHOT, SNAPSHOT_HEADER_MAX, id, &payload);
	if (r < 0)
		return r;
	return snapshot_header_decode(payload.ptr, payload.len, ret);
}

int object_fetch_tree(struct backend *b, const uint8_t id[HASH_LEN], struct tree **ret)
{
	AUTOBUF struct buf payload = BUF_INIT;
	char name[INVENTORY_NAME_MAX];
	int r;

	object_name("trees", id, name);
	r = object_fetch(b, name, OBJECT_TREE, ENVELOPE_RAW_MAX, id, &payload);
	if (r < 0)
		return r;
	return tree_decode_buf(&payload, ret);
}
