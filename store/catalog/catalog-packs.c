/*
 * catalog-packs.c - which packs a backup may deduplicate against.
 *
 * Chunk locations enter the catalog from index objects (for deduplication)
 * and from loaded trees (for reading). Only the first kind may serve a new
 * backup, and only while the index object that named the pack still exists
 * and prune has not marked the pack for deletion: prune deletes packs, and
 * rewrites the index objects that named them, so a pack the catalog learnt
 * of long ago may be gone. Table index_packs records which merged index
 * object names which pack; pending_packs mirrors "prune-pending".
 */
#include "catalog/catalog-internal.h"
#include "base/log.h"

static sqlite3_stmt *xstmt(struct catalog *c, enum catalog_extra_stmt id, const char *sql)
{
	return catalog_stmt(c, &c->extra[id], sql);
}

int catalog_has_index(struct catalog *c, const uint8_t id[HASH_LEN])
{
	sqlite3_stmt *s = xstmt(c, CX_INDEX_HAS, "SELECT 1 FROM index_packs WHERE index_id = ?1");
	catalog_bind_hash(s, 1, id);
	int r = catalog_step_row(c, s, "index lookup");
	sqlite3_reset(s);
	return r;
}

static int pack_id(struct catalog *c, const uint8_t pack[HASH_LEN], int64_t *ret)
{
	sqlite3_stmt *s = xstmt(c, CX_PACK_ID, "SELECT id FROM packs WHERE pack_id = ?1");
	catalog_bind_hash(s, 1, pack);
	int r = catalog_step_row(c, s, "pack lookup");
	if (r == 1)
		*ret = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

int catalog_add_index(struct catalog *c, const uint8_t id[HASH_LEN], const struct index *ix)
{
	int r;

	r = catalog_begin(c);
	if (r < 0)
		return r;
	for (uint32_t i = 0; r == 0 && i < ix->n_packs; i++) {
		const struct index_pack *p = &ix->packs[i];
		int64_t rowid = 0;
		r = catalog_add_pack(c, p->id, p->entries, p->n);
		if (r == 0)
			r = pack_id(c, p->id, &rowid);
		if (r == 0) {
			sqlite3_stmt *s = xstmt(c, CX_INDEX_LINK,
						"INSERT OR IGNORE INTO index_packs VALUES(?1, ?2)");
			catalog_bind_hash(s, 1, id);
			sqlite3_bind_int64(s, 2, rowid);
			r = catalog_step_done(c, s, "index link");
		}
	}
	return catalog_end(c, r);
}

int catalog_remove_index(struct catalog *c, const uint8_t id[HASH_LEN])
{
	sqlite3_stmt *s = xstmt(c, CX_INDEX_REMOVE, "DELETE FROM index_packs WHERE index_id = ?1");
	catalog_bind_hash(s, 1, id);
	return catalog_step_done(c, s, "index removal");
}

int catalog_list_indexes(struct catalog *c, catalog_index_fn fn, void *userdata)
{
	sqlite3_stmt *s =
		xstmt(c, CX_INDEX_LIST, "SELECT DISTINCT index_id FROM index_packs ORDER BY 1");
	uint8_t(*ids)[HASH_LEN] = NULL;
	size_t n = 0, cap = 0;
	int r;

	/* Collected first, so fn may change the catalog. */
	while ((r = catalog_step_row(c, s, "index listing")) == 1) {
		XGROW_ARRAY(ids, cap, n + 1);
		catalog_column_hash(s, 0, ids[n++]);
	}
	sqlite3_reset(s);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = fn(userdata, ids[i]);
	free(ids);
	return r;
}

int catalog_set_pending_packs(struct catalog *c, const uint8_t (*ids)[HASH_LEN], size_t n)
{
	int r;

	r = catalog_begin(c);
	if (r < 0)
		return r;
	r = catalog_step_done(c, xstmt(c, CX_PENDING_CLEAR, "DELETE FROM pending_packs"),
			      "pending packs");
	for (size_t i = 0; r == 0 && i < n; i++) {
		int64_t rowid;
		r = pack_id(c, ids[i], &rowid);
		if (r == -ENOENT) {
			r = 0; /* never merged, so never offered for deduplication */
			continue;
		}
		if (r < 0)
			break;
		sqlite3_stmt *s =
			xstmt(c, CX_PENDING_ADD, "INSERT OR IGNORE INTO pending_packs VALUES(?1)");
		sqlite3_bind_int64(s, 1, rowid);
		r = catalog_step_done(c, s, "pending pack");
	}
	return catalog_end(c, r);
}

int catalog_dedup_packs(struct catalog *c, struct hmap *packs)
{
	sqlite3_stmt *s =
		xstmt(c, CX_DEDUP_PACKS,
		      "SELECT p.pack_id FROM packs p"
		      " WHERE EXISTS(SELECT 1 FROM index_packs i WHERE i.pack = p.id)"
		      " AND NOT EXISTS(SELECT 1 FROM pending_packs q WHERE q.pack = p.id)");
	uint8_t id[HASH_LEN];
	int r;

	while ((r = catalog_step_row(c, s, "pack listing")) == 1) {
		catalog_column_hash(s, 0, id);
		hmap_put(packs, id, 1);
	}
	sqlite3_reset(s);
	return r;
}

int catalog_find_dedup_chunk(struct catalog *c, const uint8_t hash[HASH_LEN], struct chunk_loc *ret)
{
	sqlite3_stmt *s =
		xstmt(c, CX_DEDUP_CHUNK,
		      "SELECT c.hash, p.pack_id, c.off, c.stored_len, c.raw_len"
		      " FROM chunks c JOIN packs p ON p.id = c.pack"
		      " WHERE c.hash = ?1"
		      " AND EXISTS(SELECT 1 FROM index_packs i WHERE i.pack = c.pack)"
		      " AND NOT EXISTS(SELECT 1 FROM pending_packs q WHERE q.pack = c.pack)"
		      " LIMIT 1");
	catalog_bind_hash(s, 1, hash);
	int r = catalog_step_row(c, s, "chunk lookup");
	if (r == 1)
		catalog_column_loc(s, 0, ret);
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}
