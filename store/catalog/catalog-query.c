/*
 * catalog-query.c - the queries of cairn find, diff and stats.
 *
 * Finding names. The dirents table holds (parent, name, ino) with the
 * parent an inode number of the same snapshot, and every snapshot owns the
 * inode range [ino_base, ino_base + n_inodes), so "every entry of snapshot
 * S" is a range scan of the (parent, name) index. Matching by name is
 * pushed into that scan as an SQL function, cairn_fnmatch(pattern, name),
 * registered on the connection on first use, so only matches leave SQLite.
 * A path is then built by walking parent links up to the root; the table
 * has no index by child inode (the mount never needs one), so the
 * directories of the snapshot are read once into an array sorted by inode
 * number, and each directory's path is computed once and remembered. When
 * the pattern holds a '/' it is matched against whole paths, which needs
 * every path: the same directory array, and one scan of all entries.
 *
 * Usage. Files reference chunk rows (extents.chunk -> chunks.id), one row
 * per stored copy (hash, pack, offset). A set of snapshots' usage is three
 * aggregates over the extents of their inode ranges: all extents (data
 * bytes), distinct rows (stored copies), distinct hashes (unique data).
 * Packs are grouped from the chunks table, with "used" meaning that some
 * loaded tree's extent points at the row.
 *
 * Everything here is read-only and untrusted data has already been checked
 * on its way in (tree_decode()); the catalog could still be damaged on
 * disk, so a parent chain that does not reach the root is -EBADMSG, not a
 * loop.
 */
#include "catalog/catalog-query.h"
#include "catalog/catalog-internal.h"
#include "base/log.h"

#include <fnmatch.h>
#include <sys/stat.h>

_Static_assert(CQ_LAST_ <= CATALOG_EXTRA_STMTS, "grow CATALOG_EXTRA_STMTS");

#define SNAPSHOT_ENTRIES \
	" FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent >= ?1 AND d.parent < ?2"
#define SELECTED_EXTENTS                   \
	" FROM snapshots s JOIN extents e" \
	" ON e.ino >= s.ino_base AND e.ino < s.ino_base + s.n_inodes"
#define SELECTED_WHERE " WHERE ?1 IS NULL OR s.member = (SELECT id FROM members WHERE name = ?1)"

static const char *const query_sql[CQ_LAST_] = {
	[CQ_FIND_BY_NAME] = "SELECT d.parent, d.name, " INODE_COLUMNS SNAPSHOT_ENTRIES
			    " AND cairn_fnmatch(?3, d.name)",
	[CQ_DIRS] = "SELECT d.ino, d.parent, d.name" SNAPSHOT_ENTRIES
		    " AND (i.mode & 61440) = 16384", /* S_IFMT, S_IFDIR */
	[CQ_ENTRIES] = "SELECT d.parent, d.name, " INODE_COLUMNS SNAPSHOT_ENTRIES,
	[CQ_XATTRS] = "SELECT name, value FROM xattrs WHERE ino = ?1 ORDER BY name",
	[CQ_EXTENTS_A] = "SELECT e.off, c.hash, c.raw_len FROM extents e"
			 " JOIN chunks c ON c.id = e.chunk WHERE e.ino = ?1 ORDER BY e.off",
	[CQ_EXTENTS_B] = "SELECT e.off, c.hash, c.raw_len FROM extents e"
			 " JOIN chunks c ON c.id = e.chunk WHERE e.ino = ?1 ORDER BY e.off",
	[CQ_USAGE_DATA] = "SELECT count(*), coalesce(sum(c.raw_len), 0)" SELECTED_EXTENTS
			  " JOIN chunks c ON c.id = e.chunk" SELECTED_WHERE,
	[CQ_USAGE_STORED] =
		"SELECT count(*), coalesce(sum(stored_len), 0), coalesce(sum(raw_len), 0)"
		" FROM chunks WHERE id IN (SELECT e.chunk" SELECTED_EXTENTS SELECTED_WHERE ")",
	[CQ_USAGE_UNIQUE] =
		"SELECT count(*), coalesce(sum(r), 0) FROM (SELECT max(raw_len) AS r"
		" FROM chunks WHERE id IN (SELECT e.chunk" SELECTED_EXTENTS SELECTED_WHERE
		") GROUP BY hash)",
	[CQ_PACKS] = "WITH x AS MATERIALIZED (SELECT pack, stored_len,"
		     " id IN (SELECT chunk FROM extents) AS used FROM chunks)"
		     " SELECT p.pack_id, count(*), sum(x.used), sum(x.stored_len),"
		     " sum(CASE WHEN x.used THEN 0 ELSE x.stored_len END)"
		     " FROM x JOIN packs p ON p.id = x.pack GROUP BY x.pack",
};

static sqlite3_stmt *query(struct catalog *c, enum catalog_extra_stmt id)
{
	return catalog_stmt(c, &c->extra[id], query_sql[id]);
}

/* --- finding names --- */

/* cairn_fnmatch(pattern, name): 1 when the name (a blob without NUL) matches. */
static void sql_fnmatch(sqlite3_context *ctx, int argc UNUSED, sqlite3_value **argv)
{
	const char *pattern = (const char *)sqlite3_value_text(argv[0]);
	const void *name = sqlite3_value_blob(argv[1]);
	int len = sqlite3_value_bytes(argv[1]);
	char copy[NAME_LEN_MAX + 1];

	if (!pattern || !name || len <= 0 || len > NAME_LEN_MAX || memchr(name, 0, (size_t)len)) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	memcpy(copy, name, (size_t)len);
	copy[len] = '\0';
	sqlite3_result_int(ctx, fnmatch(pattern, copy, 0) == 0);
}

static int register_fnmatch(struct catalog *c)
{
	if (c->has_fnmatch)
		return 0;
	int rc = sqlite3_create_function_v2(c->db, "cairn_fnmatch", 2,
					    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_fnmatch,
					    NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return catalog_sqlite_err(c, rc, "registering cairn_fnmatch");
	c->has_fnmatch = true;
	return 0;
}

struct dir_rec {
	uint64_t ino, parent;
	size_t name_off, path_off; /* in dir_map.names, dir_map.paths */
	uint32_t name_len, path_len;
	bool has_path;
};

/* The directories of one snapshot, sorted by inode, with paths computed on
 * demand. */
struct dir_map {
	uint64_t root;
	struct dir_rec *v;
	size_t n, cap;
	struct buf names;
	struct buf paths;
	bool loaded;
};

static void dir_map_release(struct dir_map *m)
{
	free(m->v);
	buf_release(&m->names);
	buf_release(&m->paths);
}

static int dir_rec_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct dir_rec *)a)->ino, y = ((const struct dir_rec *)b)->ino;
	return x < y ? -1 : x > y;
}

static int dir_map_load(struct catalog *c, const struct cat_snapshot *s, struct dir_map *m)
{
	sqlite3_stmt *st = query(c, CQ_DIRS);
	int r;

	if (m->loaded)
		return 0;
	sqlite3_bind_int64(st, 1, (int64_t)s->ino_base);
	sqlite3_bind_int64(st, 2, (int64_t)(s->ino_base + s->n_inodes));
	while ((r = catalog_step_row(c, st, "directory listing")) == 1) {
		XGROW_ARRAY(m->v, m->cap, m->n + 1);
		struct dir_rec *d = &m->v[m->n++];
		memset(d, 0, sizeof(*d));
		d->ino = (uint64_t)sqlite3_column_int64(st, 0);
		d->parent = (uint64_t)sqlite3_column_int64(st, 1);
		d->name_len = (uint32_t)sqlite3_column_bytes(st, 2);
		d->name_off = m->names.len;
		buf_append(&m->names, sqlite3_column_blob(st, 2), d->name_len);
	}
	sqlite3_reset(st);
	if (r < 0)
		return r;
	if (m->n > 0) /* qsort and bsearch want a base even for nothing */
		qsort(m->v, m->n, sizeof(*m->v), dir_rec_cmp);
	m->root = s->ino_base;
	m->loaded = true;
	return 0;
}

static struct dir_rec *dir_map_get(struct dir_map *m, uint64_t ino)
{
	struct dir_rec key = { .ino = ino };
	if (m->n == 0)
		return NULL;
	return bsearch(&key, m->v, m->n, sizeof(*m->v), dir_rec_cmp);
}

/* The path of directory ino inside the snapshot ("" for the root), as an
 * offset and length in m->paths (pointers would not survive its growth). */
static int dir_map_path(struct dir_map *m, uint64_t ino, size_t *ret_off, uint32_t *ret_len)
{
	AUTOFREE struct dir_rec **chain = NULL;
	size_t n = 0, cap = 0;

	/* Climb to the root or to a directory whose path is known. */
	while (ino != m->root) {
		struct dir_rec *d = dir_map_get(m, ino);
		if (!d)
			return -EBADMSG;
		if (d->has_path)
			break;
		if (n == m->n) /* longer than the number of directories: a loop */
			return -EBADMSG;
		XGROW_ARRAY(chain, cap, n + 1);
		chain[n++] = d;
		ino = d->parent;
	}
	size_t off = 0;
	uint32_t len = 0;
	if (ino != m->root) {
		struct dir_rec *d = dir_map_get(m, ino);
		off = d->path_off;
		len = d->path_len;
	}
	/* Then down again, giving each its path. */
	while (n > 0) {
		struct dir_rec *d = chain[--n];
		size_t new_len = (size_t)len + (len ? 1 : 0) + d->name_len;
		if (new_len > UINT32_MAX)
			return -EBADMSG;
		size_t new_off = m->paths.len;
		buf_reserve(&m->paths, new_len);
		/* off points into paths: reserve first, then copy */
		if (len) {
			buf_append(&m->paths, m->paths.ptr + off, len);
			buf_append_u8(&m->paths, '/');
		}
		buf_append(&m->paths, m->names.ptr + d->name_off, d->name_len);
		d->path_off = new_off;
		d->path_len = (uint32_t)new_len;
		d->has_path = true;
		off = new_off;
		len = d->path_len;
	}
	*ret_off = off;
	*ret_len = len;
	return 0;
}

struct match {
	size_t path_off; /* in matches.paths */
	size_t path_len;
	struct cat_attr attr;
};

struct matches {
	struct match *v;
	size_t n, cap;
	struct buf paths;
};

static int match_cmp(const void *pa, const void *pb, void *arg)
{
	const struct match *a = pa, *b = pb;
	const uint8_t *base = ((const struct buf *)arg)->ptr;
	int c = memcmp(base + a->path_off, base + b->path_off, MIN(a->path_len, b->path_len));
	if (c)
		return c;
	return a->path_len < b->path_len ? -1 : a->path_len > b->path_len;
}

/* Appends the path of entry name in directory parent to out. */
static int entry_path(struct dir_map *m, uint64_t parent, const void *name, size_t len,
		      struct buf *out)
{
	size_t off;
	uint32_t plen;
	int r = dir_map_path(m, parent, &off, &plen);
	if (r < 0)
		return r;
	if (plen) {
		buf_append(out, m->paths.ptr + off, plen);
		buf_append_u8(out, '/');
	}
	buf_append(out, name, len);
	return 0;
}

static void add_match(struct matches *ms, size_t path_off, size_t path_len, sqlite3_stmt *st)
{
	XGROW_ARRAY(ms->v, ms->cap, ms->n + 1);
	struct match *mt = &ms->v[ms->n++];
	mt->path_off = path_off;
	mt->path_len = path_len;
	catalog_column_attr(st, 2, &mt->attr);
}

/* Name mode: SQLite filters; every match then needs its parent's path. */
static int find_by_name(struct catalog *c, const struct cat_snapshot *s, const char *pattern,
			struct dir_map *m, struct matches *ms)
{
	struct row {
		uint64_t parent;
		size_t name_off, name_len;
	};
	AUTOFREE struct row *rows = NULL;
	AUTOBUF struct buf names = BUF_INIT;
	size_t n = 0, cap = 0;
	int r;

	sqlite3_stmt *st = query(c, CQ_FIND_BY_NAME);
	sqlite3_bind_int64(st, 1, (int64_t)s->ino_base);
	sqlite3_bind_int64(st, 2, (int64_t)(s->ino_base + s->n_inodes));
	sqlite3_bind_text(st, 3, pattern, -1, SQLITE_TRANSIENT);
	while ((r = catalog_step_row(c, st, "name search")) == 1) {
		XGROW_ARRAY(rows, cap, n + 1);
		rows[n].parent = (uint64_t)sqlite3_column_int64(st, 0);
		rows[n].name_len = (size_t)sqlite3_column_bytes(st, 1);
		rows[n].name_off = names.len;
		buf_append(&names, sqlite3_column_blob(st, 1), rows[n].name_len);
		/* the attributes go straight into the match; its path follows */
		add_match(ms, 0, 0, st);
		n++;
	}
	sqlite3_reset(st);
	if (r < 0 || n == 0)
		return r;
	r = dir_map_load(c, s, m);
	for (size_t i = 0; r == 0 && i < n; i++) {
		size_t start = ms->paths.len;
		r = entry_path(m, rows[i].parent, names.ptr + rows[i].name_off, rows[i].name_len,
			       &ms->paths);
		ms->v[i].path_off = start;
		ms->v[i].path_len = ms->paths.len - start;
	}
	return r;
}

/* Path mode: every entry's path, matched here. */
static int find_by_path(struct catalog *c, const struct cat_snapshot *s, const char *pattern,
			struct dir_map *m, struct matches *ms)
{
	AUTOBUF struct buf path = BUF_INIT;
	int r;

	r = dir_map_load(c, s, m);
	if (r < 0)
		return r;
	sqlite3_stmt *st = query(c, CQ_ENTRIES);
	sqlite3_bind_int64(st, 1, (int64_t)s->ino_base);
	sqlite3_bind_int64(st, 2, (int64_t)(s->ino_base + s->n_inodes));
	while ((r = catalog_step_row(c, st, "path search")) == 1) {
		const void *name = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		buf_reset(&path);
		r = entry_path(m, (uint64_t)sqlite3_column_int64(st, 0), name, len, &path);
		if (r < 0)
			break;
		buf_append_u8(&path, 0);
		if (memchr(path.ptr, 0, path.len - 1) || fnmatch(pattern, (char *)path.ptr, 0) != 0)
			continue;
		add_match(ms, ms->paths.len, path.len - 1, st);
		buf_append(&ms->paths, path.ptr, path.len - 1);
	}
	sqlite3_reset(st);
	return r;
}

int catalog_find(struct catalog *c, const struct cat_snapshot *s, const char *pattern,
		 bool whole_path, catalog_found_fn fn, void *userdata)
{
	struct dir_map m = { 0 };
	struct matches ms = { 0 };
	int r;

	r = register_fnmatch(c);
	if (r < 0)
		return r;
	if (whole_path) {
		while (*pattern == '/')
			pattern++;
		r = find_by_path(c, s, pattern, &m, &ms);
	} else {
		r = find_by_name(c, s, pattern, &m, &ms);
	}
	if (r == -EBADMSG)
		log_error("catalog '%s': the tree of snapshot %s/%s is damaged (an entry's parent "
			  "does not lead to the root)",
			  c->path, s->member, s->name);
	if (r == 0 && ms.n > 0)
		qsort_r(ms.v, ms.n, sizeof(*ms.v), match_cmp, &ms.paths);
	if (r == 0) {
		for (size_t i = 0; r == 0 && i < ms.n; i++) {
			struct cat_found f = {
				.path = ms.paths.ptr + ms.v[i].path_off,
				.path_len = ms.v[i].path_len,
				.attr = ms.v[i].attr,
			};
			r = fn(userdata, &f);
		}
	}
	if (r == 0)
		r = ms.n > INT32_MAX ? INT32_MAX : (int)ms.n;
	dir_map_release(&m);
	free(ms.v);
	buf_release(&ms.paths);
	return r;
}

int catalog_lookup_path(struct catalog *c, uint64_t root, const char *path, struct cat_attr *ret)
{
	struct cat_attr a;
	int r;

	r = catalog_getattr(c, root, &a);
	while (r == 0 && *path) {
		size_t len = strcspn(path, "/");
		if (len > 0) {
			if (!S_ISDIR(a.mode))
				return -ENOENT;
			r = catalog_lookup(c, a.ino, path, len, &a);
		}
		path += len;
		path += *path == '/';
	}
	if (r == 0)
		*ret = a;
	return r;
}

/* --- comparing entries --- */

void catalog_xattrs_append_one(struct buf *out, const void *name, size_t name_len,
			       const void *value, size_t value_len)
{
	buf_append_blob32(out, name, name_len);
	buf_append_blob32(out, value, value_len);
}

int catalog_xattrs_canonical(struct catalog *c, uint64_t ino, struct buf *out)
{
	sqlite3_stmt *st = query(c, CQ_XATTRS);
	int r;

	sqlite3_bind_int64(st, 1, (int64_t)ino);
	while ((r = catalog_step_row(c, st, "xattr listing")) == 1)
		catalog_xattrs_append_one(out, sqlite3_column_blob(st, 0),
					  (size_t)sqlite3_column_bytes(st, 0),
					  sqlite3_column_blob(st, 1),
					  (size_t)sqlite3_column_bytes(st, 1));
	sqlite3_reset(st);
	return r;
}

struct extent_row {
	uint64_t off;
	uint8_t hash[HASH_LEN];
	uint32_t raw_len;
};

static void read_extent_row(sqlite3_stmt *st, struct extent_row *out)
{
	out->off = (uint64_t)sqlite3_column_int64(st, 0);
	catalog_column_hash(st, 1, out->hash);
	out->raw_len = (uint32_t)sqlite3_column_int64(st, 2);
}

int catalog_same_extents(struct catalog *c, uint64_t a, uint64_t b, bool *ret_same)
{
	sqlite3_stmt *sa = query(c, CQ_EXTENTS_A), *sb = query(c, CQ_EXTENTS_B);
	struct extent_row ea, eb;
	bool same = true;
	int ra, rb;

	sqlite3_bind_int64(sa, 1, (int64_t)a);
	sqlite3_bind_int64(sb, 1, (int64_t)b);
	for (;;) {
		ra = catalog_step_row(c, sa, "extent listing");
		rb = catalog_step_row(c, sb, "extent listing");
		if (ra < 0 || rb < 0 || ra == 0 || rb == 0)
			break;
		read_extent_row(sa, &ea);
		read_extent_row(sb, &eb);
		if (ea.off != eb.off || ea.raw_len != eb.raw_len ||
		    memcmp(ea.hash, eb.hash, HASH_LEN) != 0) {
			same = false;
			break;
		}
	}
	if (ra >= 0 && rb >= 0 && ra != rb)
		same = false; /* one list is longer */
	sqlite3_reset(sa);
	sqlite3_reset(sb);
	if (ra < 0)
		return ra;
	if (rb < 0)
		return rb;
	*ret_same = same;
	return 0;
}

int catalog_each_extent(struct catalog *c, uint64_t ino, catalog_extent_fn fn, void *userdata)
{
	sqlite3_stmt *st = query(c, CQ_EXTENTS_A);
	struct extent_row e;
	int r;

	sqlite3_bind_int64(st, 1, (int64_t)ino);
	while ((r = catalog_step_row(c, st, "extent listing")) == 1) {
		read_extent_row(st, &e);
		r = fn(userdata, e.off, e.hash, e.raw_len);
		if (r != 0)
			break;
	}
	sqlite3_reset(st);
	return r;
}

/* --- usage --- */

static int usage_row(struct catalog *c, enum catalog_extra_stmt id, const char *member,
		     uint64_t *out, int n_cols)
{
	sqlite3_stmt *st = query(c, id);
	if (member)
		sqlite3_bind_text(st, 1, member, -1, SQLITE_TRANSIENT);
	int r = catalog_step_row(c, st, "usage query");
	if (r == 1)
		for (int i = 0; i < n_cols; i++)
			out[i] = (uint64_t)sqlite3_column_int64(st, i);
	sqlite3_reset(st);
	return r == 1 ? 0 : r == 0 ? -EIO : r;
}

int catalog_usage(struct catalog *c, const char *member, struct cat_usage *ret)
{
	uint64_t v[3];
	struct cat_usage u = { 0 };
	int r;

	r = usage_row(c, CQ_USAGE_DATA, member, v, 2);
	if (r < 0)
		return r;
	u.n_extents = v[0];
	u.data_bytes = v[1];
	r = usage_row(c, CQ_USAGE_STORED, member, v, 3);
	if (r < 0)
		return r;
	u.n_stored = v[0];
	u.stored_bytes = v[1];
	u.stored_raw_bytes = v[2];
	r = usage_row(c, CQ_USAGE_UNIQUE, member, v, 2);
	if (r < 0)
		return r;
	u.n_unique = v[0];
	u.unique_bytes = v[1];
	*ret = u;
	return 0;
}

int catalog_pack_usage(struct catalog *c, catalog_pack_fn fn, void *userdata)
{
	sqlite3_stmt *st = query(c, CQ_PACKS);
	struct cat_pack_usage p;
	int r;

	while ((r = catalog_step_row(c, st, "pack usage")) == 1) {
		catalog_column_hash(st, 0, p.pack_id);
		p.n_chunks = (uint64_t)sqlite3_column_int64(st, 1);
		p.n_used = (uint64_t)sqlite3_column_int64(st, 2);
		p.stored_bytes = (uint64_t)sqlite3_column_int64(st, 3);
		p.unused_bytes = (uint64_t)sqlite3_column_int64(st, 4);
		r = fn(userdata, &p);
		if (r != 0)
			break;
	}
	sqlite3_reset(st);
	return r;
}
