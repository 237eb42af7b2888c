/*
 * catalog.c - the local SQLite cache of a repository.
 *
 * Tables (schema version 1):
 *
 *   members    id, name                          stable ids for the mount's member dirs
 *   snapshots  id, snap_id, tree_id, member, name, time, host, tags, counts,
 *              ino_base, n_inodes, loaded, root attributes
 *   inodes     ino (primary key), mode, uid, gid, nlink, size, rdev, blocks, mtime, target
 *   dirents    id, parent, name, ino         unique (parent, name); ids ascend in name order
 *   xattrs     (ino, name) -> value           also indexed by (name, ino)
 *   extents    (ino, off) -> chunk           the chunk covering [off, off + raw_len)
 *   chunks     id, hash, pack, off, stored_len, raw_len     unique (hash, pack, off)
 *   packs      id, pack_id
 *   index_packs (index id, pack)             the packs each merged index object names
 *   pending_packs pack                        packs prune may delete: never deduplicated against
 *   meta       key -> value: schema version, next free inode number
 *
 * Every query the mount makes is one indexed lookup: a directory entry by
 * (parent, name), a listing by (parent, id > cookie), an inode by number,
 * "the extent at or before offset X" by (ino, off). A tree is inserted in
 * one transaction with its dirents already sorted, so dirent ids ascend in
 * name order and serve as resumable readdir cookies.
 *
 * Several processes may share one catalog (a mount and a backup): SQLite's
 * WAL lets readers proceed while one writer works, writers take the lock up
 * front (BEGIN IMMEDIATE) and wait for each other up to a busy timeout, and
 * every insert of shared facts is idempotent (INSERT OR IGNORE).
 */
#include "catalog/catalog-internal.h"
#include "base/log.h"

#include <pthread.h>
#include <sys/stat.h>

#define SCHEMA_VERSION 1

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS members(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);"
	"CREATE TABLE IF NOT EXISTS snapshots(id INTEGER PRIMARY KEY, snap_id BLOB UNIQUE NOT NULL,"
	" tree_id BLOB NOT NULL, member INTEGER NOT NULL, name TEXT NOT NULL,"
	" time_sec INTEGER NOT NULL, time_nsec INTEGER NOT NULL, host TEXT NOT NULL,"
	" tags TEXT NOT NULL, n_files INTEGER NOT NULL, n_dirs INTEGER NOT NULL,"
	" n_bytes INTEGER NOT NULL, n_stored INTEGER NOT NULL, ino_base INTEGER NOT NULL,"
	" n_inodes INTEGER NOT NULL, loaded INTEGER NOT NULL, root_perm INTEGER NOT NULL,"
	" root_uid INTEGER NOT NULL, root_gid INTEGER NOT NULL, root_nlink INTEGER NOT NULL,"
	" root_mtime_sec INTEGER NOT NULL, root_mtime_nsec INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS snapshots_by_member ON snapshots(member, time_sec, time_nsec,"
	" snap_id);"
	"CREATE INDEX IF NOT EXISTS snapshots_by_ino ON snapshots(ino_base);"
	"CREATE TABLE IF NOT EXISTS inodes(ino INTEGER PRIMARY KEY, mode INTEGER NOT NULL,"
	" uid INTEGER NOT NULL, gid INTEGER NOT NULL, nlink INTEGER NOT NULL, size INTEGER NOT NULL,"
	" rdev INTEGER NOT NULL, blocks INTEGER NOT NULL, mtime_sec INTEGER NOT NULL,"
	" mtime_nsec INTEGER NOT NULL, target BLOB);"
	"CREATE TABLE IF NOT EXISTS dirents(id INTEGER PRIMARY KEY, parent INTEGER NOT NULL,"
	" name BLOB NOT NULL, ino INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX IF NOT EXISTS dirents_by_name ON dirents(parent, name);"
	"CREATE INDEX IF NOT EXISTS dirents_by_parent ON dirents(parent);"
	"CREATE TABLE IF NOT EXISTS xattrs(ino INTEGER NOT NULL, name BLOB NOT NULL,"
	" value BLOB NOT NULL, PRIMARY KEY(ino, name)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS xattrs_by_name ON xattrs(name, ino);"
	"CREATE TABLE IF NOT EXISTS extents(ino INTEGER NOT NULL, off INTEGER NOT NULL,"
	" chunk INTEGER NOT NULL, PRIMARY KEY(ino, off)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS packs(id INTEGER PRIMARY KEY, pack_id BLOB UNIQUE NOT NULL);"
	"CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, hash BLOB NOT NULL,"
	" pack INTEGER NOT NULL, off INTEGER NOT NULL, stored_len INTEGER NOT NULL,"
	" raw_len INTEGER NOT NULL, UNIQUE(hash, pack, off));"
	"CREATE TABLE IF NOT EXISTS index_packs(index_id BLOB NOT NULL, pack INTEGER NOT NULL,"
	" PRIMARY KEY(index_id, pack)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS index_packs_by_pack ON index_packs(pack);"
	"CREATE TABLE IF NOT EXISTS pending_packs(pack INTEGER PRIMARY KEY);"
	"INSERT OR IGNORE INTO meta VALUES('schema', 1);"
	"INSERT OR IGNORE INTO meta VALUES('next_ino', 16);";

#define SNAPSHOT_COLUMNS                                                                          \
	"s.id, s.snap_id, s.tree_id, s.member, m.name, s.name, s.time_sec, s.time_nsec, s.host,"  \
	" s.tags, s.n_files, s.n_dirs, s.n_bytes, s.n_stored, s.ino_base, s.n_inodes, s.loaded,"  \
	" s.root_perm, s.root_uid, s.root_gid, s.root_nlink, s.root_mtime_sec, s.root_mtime_nsec" \
	" FROM snapshots s JOIN members m ON m.id = s.member"
#define LOC_COLUMNS "c.hash, p.pack_id, c.off, c.stored_len, c.raw_len"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_BEGIN_READ,
	ST_HAS_SNAPSHOT,
	ST_MEMBER_INSERT,
	ST_MEMBER_ID,
	ST_MEMBER_NAME,
	ST_NEXT_INO,
	ST_SET_NEXT_INO,
	ST_SNAPSHOT_INSERT,
	ST_SNAPSHOT_DELETE,
	ST_SNAPSHOTS_OF_MEMBER,
	ST_SNAPSHOT_RENAME,
	ST_LIST_ALL,
	ST_LIST_MEMBER,
	ST_FIND_BY_NAME,
	ST_FIND_LATEST,
	ST_FIND_BY_PREFIX,
	ST_FIND_BY_INO,
	ST_FIND_BY_ID,
	ST_LIST_MEMBERS,
	ST_SET_LOADED,
	ST_INODE_INSERT,
	ST_DIRENT_INSERT,
	ST_XATTR_INSERT,
	ST_EXTENT_INSERT,
	ST_PACK_INSERT,
	ST_PACK_ID,
	ST_CHUNK_INSERT,
	ST_CHUNK_ID,
	ST_DEL_INODES,
	ST_DEL_DIRENTS,
	ST_DEL_XATTRS,
	ST_DEL_EXTENTS,
	ST_GETATTR,
	ST_LOOKUP,
	ST_READDIR,
	ST_READDIR_PLUS,
	ST_READLINK,
	ST_LISTXATTR,
	ST_GETXATTR,
	ST_EXTENT_AT,
	ST_EXTENTS_FROM,
	ST_FIND_CHUNK,
	ST_HAS_XATTR_NAMED,
	ST_COUNT
};

_Static_assert(ST_COUNT <= ARRAY_SIZE(((struct catalog *)0)->stmts), "grow catalog.stmts");

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_BEGIN_READ] = "BEGIN DEFERRED",
	[ST_HAS_SNAPSHOT] = "SELECT 1 FROM snapshots WHERE snap_id = ?1",
	[ST_MEMBER_INSERT] = "INSERT OR IGNORE INTO members(name) VALUES(?1)",
	[ST_MEMBER_ID] = "SELECT id FROM members WHERE name = ?1"
			 " AND EXISTS(SELECT 1 FROM snapshots WHERE member = members.id)",
	[ST_MEMBER_NAME] = "SELECT name FROM members WHERE id = ?1",
	[ST_NEXT_INO] = "SELECT value FROM meta WHERE key = 'next_ino'",
	[ST_SET_NEXT_INO] = "UPDATE meta SET value = ?1 WHERE key = 'next_ino'",
	[ST_SNAPSHOT_INSERT] =
		"INSERT OR IGNORE INTO snapshots(snap_id, tree_id, member, name, time_sec,"
		" time_nsec, host, tags, n_files, n_dirs, n_bytes, n_stored, ino_base, n_inodes,"
		" loaded, root_perm, root_uid, root_gid, root_nlink, root_mtime_sec,"
		" root_mtime_nsec) VALUES(?1, ?2, (SELECT id FROM members WHERE name = ?3), '', ?4,"
		" ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, ?15, ?16, ?17, ?18, ?19)",
	[ST_SNAPSHOT_DELETE] = "DELETE FROM snapshots WHERE id = ?1",
	[ST_SNAPSHOTS_OF_MEMBER] = "SELECT id, time_sec, name FROM snapshots WHERE member ="
				   " (SELECT id FROM members WHERE name = ?1)"
				   " ORDER BY time_sec, time_nsec, snap_id",
	[ST_SNAPSHOT_RENAME] = "UPDATE snapshots SET name = ?2 WHERE id = ?1",
	[ST_LIST_ALL] =
		"SELECT " SNAPSHOT_COLUMNS " ORDER BY m.name, s.time_sec, s.time_nsec, s.snap_id",
	[ST_LIST_MEMBER] = "SELECT " SNAPSHOT_COLUMNS
			   " WHERE m.name = ?1 ORDER BY s.time_sec, s.time_nsec, s.snap_id",
	[ST_FIND_BY_NAME] = "SELECT " SNAPSHOT_COLUMNS " WHERE m.name = ?1 AND s.name = ?2",
	[ST_FIND_LATEST] = "SELECT " SNAPSHOT_COLUMNS " WHERE m.name = ?1"
			   " ORDER BY s.time_sec DESC, s.time_nsec DESC, s.snap_id DESC LIMIT 1",
	[ST_FIND_BY_PREFIX] =
		"SELECT " SNAPSHOT_COLUMNS " WHERE hex(s.snap_id) LIKE ?1 || '%' LIMIT 2",
	[ST_FIND_BY_INO] = "SELECT " SNAPSHOT_COLUMNS
			   " WHERE s.ino_base <= ?1 AND ?1 < s.ino_base + s.n_inodes"
			   " ORDER BY s.ino_base DESC LIMIT 1",
	[ST_FIND_BY_ID] = "SELECT " SNAPSHOT_COLUMNS " WHERE s.id = ?1",
	[ST_LIST_MEMBERS] = "SELECT id, name FROM members m WHERE EXISTS"
			    "(SELECT 1 FROM snapshots s WHERE s.member = m.id) ORDER BY name",
	[ST_SET_LOADED] = "UPDATE snapshots SET loaded = 1 WHERE id = ?1",
	[ST_INODE_INSERT] =
		"INSERT INTO inodes VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_DIRENT_INSERT] = "INSERT INTO dirents(parent, name, ino) VALUES(?1, ?2, ?3)",
	[ST_XATTR_INSERT] = "INSERT INTO xattrs VALUES(?1, ?2, ?3)",
	[ST_EXTENT_INSERT] = "INSERT INTO extents VALUES(?1, ?2, ?3)",
	[ST_PACK_INSERT] = "INSERT OR IGNORE INTO packs(pack_id) VALUES(?1)",
	[ST_PACK_ID] = "SELECT id FROM packs WHERE pack_id = ?1",
	[ST_CHUNK_INSERT] = "INSERT OR IGNORE INTO chunks(hash, pack, off, stored_len, raw_len)"
			    " VALUES(?1, ?2, ?3, ?4, ?5)",
	[ST_CHUNK_ID] = "SELECT id FROM chunks WHERE hash = ?1 AND pack = ?2 AND off = ?3",
	[ST_DEL_INODES] = "DELETE FROM inodes WHERE ino >= ?1 AND ino < ?2",
	[ST_DEL_DIRENTS] = "DELETE FROM dirents WHERE parent >= ?1 AND parent < ?2",
	[ST_DEL_XATTRS] = "DELETE FROM xattrs WHERE ino >= ?1 AND ino < ?2",
	[ST_DEL_EXTENTS] = "DELETE FROM extents WHERE ino >= ?1 AND ino < ?2",
	[ST_GETATTR] = "SELECT " INODE_COLUMNS " FROM inodes i WHERE i.ino = ?1",
	[ST_LOOKUP] = "SELECT " INODE_COLUMNS " FROM dirents d JOIN inodes i ON i.ino = d.ino"
		      " WHERE d.parent = ?1 AND d.name = ?2",
	[ST_READDIR] = "SELECT d.id, d.name, d.ino, i.mode FROM dirents d"
		       " JOIN inodes i ON i.ino = d.ino"
		       " WHERE d.parent = ?1 AND d.id > ?2 ORDER BY d.id",
	[ST_READDIR_PLUS] = "SELECT d.id, d.name, " INODE_COLUMNS " FROM dirents d"
			    " JOIN inodes i ON i.ino = d.ino"
			    " WHERE d.parent = ?1 AND d.id > ?2 ORDER BY d.id",
	[ST_READLINK] = "SELECT target FROM inodes WHERE ino = ?1",
	[ST_LISTXATTR] = "SELECT name FROM xattrs WHERE ino = ?1 ORDER BY name",
	[ST_GETXATTR] = "SELECT value FROM xattrs WHERE ino = ?1 AND name = ?2",
	[ST_EXTENT_AT] = "SELECT e.off, " LOC_COLUMNS " FROM extents e"
			 " JOIN chunks c ON c.id = e.chunk JOIN packs p ON p.id = c.pack"
			 " WHERE e.ino = ?1 AND e.off <= ?2 ORDER BY e.off DESC LIMIT 1",
	[ST_EXTENTS_FROM] = "SELECT e.off, " LOC_COLUMNS " FROM extents e"
			    " JOIN chunks c ON c.id = e.chunk JOIN packs p ON p.id = c.pack"
			    " WHERE e.ino = ?1 AND e.off > ?2 ORDER BY e.off",
	[ST_FIND_CHUNK] = "SELECT " LOC_COLUMNS " FROM chunks c JOIN packs p ON p.id = c.pack"
			  " WHERE c.hash = ?1 LIMIT 1",
	[ST_HAS_XATTR_NAMED] = "SELECT 1 FROM xattrs WHERE name = ?1 AND ino >= ?2 AND ino < ?3"
			       " LIMIT 1",
};

int catalog_sqlite_err(struct catalog *c, int rc, const char *what)
{
	int r;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		r = -EBUSY;
		break;
	case SQLITE_NOMEM:
		r = -ENOMEM;
		break;
	case SQLITE_FULL:
		r = -ENOSPC;
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		r = -EACCES;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		r = -EBADMSG;
		break;
	default:
		r = -EIO;
		break;
	}
	return log_error_errno(r, "catalog '%s': %s failed: %s", c->path, what,
			       sqlite3_errmsg(c->db));
}

sqlite3_stmt *catalog_stmt(struct catalog *c, sqlite3_stmt **slot, const char *sql)
{
	sqlite3_stmt *s = *slot;

	if (!s) {
		int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
		if (rc != SQLITE_OK) {
			log_error("catalog: cannot prepare '%s': %s", sql, sqlite3_errmsg(c->db));
			abort();
		}
		*slot = s;
	} else {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
	return s;
}

static sqlite3_stmt *stmt(struct catalog *c, enum stmt_id id)
{
	return catalog_stmt(c, &c->stmts[id], stmt_sql[id]);
}

/* Steps a statement that returns no rows (or whose rows are ignored). */
int catalog_step_done(struct catalog *c, sqlite3_stmt *s, const char *what)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : catalog_sqlite_err(c, rc, what);
}

/* Steps once: 1 for a row, 0 for none, < 0 for an error. */
int catalog_step_row(struct catalog *c, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : catalog_sqlite_err(c, rc, what);
}

void catalog_bind_hash(sqlite3_stmt *s, int col, const uint8_t *hash)
{
	sqlite3_bind_blob(s, col, hash, HASH_LEN, SQLITE_TRANSIENT);
}

void catalog_column_hash(sqlite3_stmt *s, int col, uint8_t *out)
{
	const void *p = sqlite3_column_blob(s, col);
	if (p && sqlite3_column_bytes(s, col) == HASH_LEN)
		memcpy(out, p, HASH_LEN);
	else
		memset(out, 0, HASH_LEN);
}

void catalog_column_loc(sqlite3_stmt *s, int col, struct chunk_loc *out)
{
	catalog_column_hash(s, col, out->hash);
	catalog_column_hash(s, col + 1, out->pack);
	out->off = (uint64_t)sqlite3_column_int64(s, col + 2);
	out->stored_len = (uint32_t)sqlite3_column_int64(s, col + 3);
	out->raw_len = (uint32_t)sqlite3_column_int64(s, col + 4);
}

void catalog_column_text(sqlite3_stmt *s, int col, char *out, size_t size)
{
	const unsigned char *p = sqlite3_column_text(s, col);
	snprintf(out, size, "%s", p ? (const char *)p : "");
}

/* SQLite counts every allocation in global statistics by default, under a
 * mutex all connections share: threads that each read their own connection
 * (restore's workers, cairnfs's) then queue on it at every malloc. Nothing
 * here reads those statistics or sets a heap limit, so they are off. */
static void sqlite_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int catalog_open(const char *path, struct catalog **ret)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct catalog *c = xcalloc(1, sizeof(*c));
	int rc, r;

	pthread_once(&once, sqlite_setup);
	c->path = xstrdup(path);
	rc = sqlite3_open_v2(path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		r = catalog_sqlite_err(c, rc, "open");
		catalog_close(c);
		return r;
	}
	sqlite3_busy_timeout(c->db, 60000);
	rc = sqlite3_exec(c->db,
			  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			  " PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;",
			  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		r = catalog_sqlite_err(c, rc, "schema setup");
		catalog_close(c);
		return r;
	}
	*ret = c;
	return 0;
}

int catalog_set_cache_size(struct catalog *c, unsigned kib)
{
	char sql[64];
	int rc;

	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%u", kib);
	rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : catalog_sqlite_err(c, rc, "setting the cache size");
}

void catalog_close(struct catalog *c)
{
	if (!c)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->stmts[i]);
	for (int i = 0; i < CATALOG_EXTRA_STMTS; i++)
		sqlite3_finalize(c->extra[i]);
	sqlite3_close(c->db);
	free(c->path);
	free(c);
}

int catalog_begin(struct catalog *c)
{
	if (c->tx_depth++ > 0)
		return 0;
	int r = catalog_step_done(c, stmt(c, ST_BEGIN), "begin");
	if (r < 0)
		c->tx_depth = 0;
	return r;
}

int catalog_commit(struct catalog *c)
{
	if (c->tx_depth == 0)
		abort();
	if (--c->tx_depth > 0)
		return 0;
	return catalog_step_done(c, stmt(c, ST_COMMIT), "commit");
}

void catalog_rollback(struct catalog *c)
{
	if (c->tx_depth == 0)
		return;
	c->tx_depth = 0;
	int UNUSED r = catalog_step_done(c, stmt(c, ST_ROLLBACK), "rollback");
}

int catalog_read_begin(struct catalog *c)
{
	if (c->tx_depth > 0)
		return -EBUSY; /* inside a write transaction already */
	return catalog_step_done(c, stmt(c, ST_BEGIN_READ), "begin");
}

void catalog_read_end(struct catalog *c)
{
	if (c->tx_depth > 0)
		abort(); /* a write inside the read transaction */
	int UNUSED r = catalog_step_done(c, stmt(c, ST_COMMIT), "end a read");
}

int catalog_end(struct catalog *c, int r)
{
	if (r < 0) {
		catalog_rollback(c);
		return r;
	}
	return catalog_commit(c);
}

/* --- snapshots --- */

static void read_snapshot(sqlite3_stmt *s, struct cat_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(s, 0);
	catalog_column_hash(s, 1, out->snap_id);
	catalog_column_hash(s, 2, out->tree_id);
	out->member_id = sqlite3_column_int64(s, 3);
	catalog_column_text(s, 4, out->member, sizeof(out->member));
	catalog_column_text(s, 5, out->name, sizeof(out->name));
	out->time_sec = sqlite3_column_int64(s, 6);
	out->time_nsec = (uint32_t)sqlite3_column_int64(s, 7);
	catalog_column_text(s, 8, out->host, sizeof(out->host));
	catalog_column_text(s, 9, out->tags, sizeof(out->tags));
	out->n_files = (uint64_t)sqlite3_column_int64(s, 10);
	out->n_dirs = (uint64_t)sqlite3_column_int64(s, 11);
	out->n_bytes = (uint64_t)sqlite3_column_int64(s, 12);
	out->n_stored = (uint64_t)sqlite3_column_int64(s, 13);
	out->ino_base = (uint64_t)sqlite3_column_int64(s, 14);
	out->n_inodes = (uint32_t)sqlite3_column_int64(s, 15);
	out->loaded = sqlite3_column_int(s, 16) != 0;
	out->root.ino = out->ino_base;
	out->root.mode = S_IFDIR | (uint32_t)sqlite3_column_int64(s, 17);
	out->root.uid = (uint32_t)sqlite3_column_int64(s, 18);
	out->root.gid = (uint32_t)sqlite3_column_int64(s, 19);
	out->root.nlink = (uint32_t)sqlite3_column_int64(s, 20);
	out->root.mtime_sec = sqlite3_column_int64(s, 21);
	out->root.mtime_nsec = (uint32_t)sqlite3_column_int64(s, 22);
	out->root.blocks = 0;
	out->root.size = 0;
}

int catalog_has_snapshot(struct catalog *c, const uint8_t snap_id[HASH_LEN])
{
	sqlite3_stmt *s = stmt(c, ST_HAS_SNAPSHOT);
	catalog_bind_hash(s, 1, snap_id);
	int r = catalog_step_row(c, s, "snapshot lookup");
	sqlite3_reset(s);
	return r;
}

/* Gives the member's snapshots their directory names: the UTC second, with
 * "-1", "-2", ... for later snapshots within the same second. */
static int rename_member_snapshots(struct catalog *c, const char *member)
{
	sqlite3_stmt *s = stmt(c, ST_SNAPSHOTS_OF_MEMBER);
	struct rename {
		int64_t id;
		char name[SNAPSHOT_NAME_MAX];
	} *renames = NULL;
	size_t n = 0, cap = 0;
	int64_t prev_sec = -1;
	unsigned dup = 0;
	int r;

	sqlite3_bind_text(s, 1, member, -1, SQLITE_TRANSIENT);
	while ((r = catalog_step_row(c, s, "snapshot naming")) == 1) {
		int64_t sec = sqlite3_column_int64(s, 1);
		char name[SNAPSHOT_NAME_MAX], base[SNAPSHOT_TIME_NAME_LEN];
		dup = sec == prev_sec ? dup + 1 : 0;
		prev_sec = sec;
		snapshot_time_name(sec, base);
		if (dup)
			snprintf(name, sizeof(name), "%s-%u", base, dup);
		else
			snprintf(name, sizeof(name), "%s", base);
		const unsigned char *old = sqlite3_column_text(s, 2);
		if (old && strcmp((const char *)old, name) == 0)
			continue;
		XGROW_ARRAY(renames, cap, n + 1);
		renames[n].id = sqlite3_column_int64(s, 0);
		memcpy(renames[n].name, name, sizeof(name));
		n++;
	}
	sqlite3_reset(s);
	for (size_t i = 0; r == 0 && i < n; i++) {
		s = stmt(c, ST_SNAPSHOT_RENAME);
		sqlite3_bind_int64(s, 1, renames[i].id);
		sqlite3_bind_text(s, 2, renames[i].name, -1, SQLITE_TRANSIENT);
		r = catalog_step_done(c, s, "snapshot rename");
	}
	free(renames);
	return r;
}

static int next_ino_reserve(struct catalog *c, uint32_t n, uint64_t *ret_base)
{
	sqlite3_stmt *s = stmt(c, ST_NEXT_INO);
	int r = catalog_step_row(c, s, "inode allocation");
	if (r <= 0)
		return r < 0 ? r
			     : log_error_errno(-EBADMSG, "catalog '%s' lacks next_ino", c->path);
	uint64_t base = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (base < CATALOG_FIRST_INO || base + n >= (1ull << 61))
		return log_error_errno(-EBADMSG, "catalog '%s': inode numbers exhausted", c->path);
	s = stmt(c, ST_SET_NEXT_INO);
	sqlite3_bind_int64(s, 1, (int64_t)(base + n));
	r = catalog_step_done(c, s, "inode allocation");
	if (r < 0)
		return r;
	*ret_base = base;
	return 0;
}

/* catalog_add_snapshot() inside its transaction. */
static int add_snapshot(struct catalog *c, const uint8_t snap_id[HASH_LEN],
			const struct snapshot_header *h)
{
	char tags[sizeof(((struct cat_snapshot *)0)->tags)] = "";
	uint64_t base = 0;
	sqlite3_stmt *s;
	int r;

	for (uint32_t i = 0; i < h->n_tags; i++) {
		size_t len = strlen(tags);
		snprintf(tags + len, sizeof(tags) - len, "%s%s", i ? "," : "", h->tags[i]);
	}
	r = catalog_has_snapshot(c, snap_id);
	if (r != 0)
		return r; /* already there (another process was faster), or an error */
	s = stmt(c, ST_MEMBER_INSERT);
	sqlite3_bind_text(s, 1, h->member, -1, SQLITE_TRANSIENT);
	r = catalog_step_done(c, s, "member insert");
	if (r < 0)
		return r;
	r = next_ino_reserve(c, h->n_inodes, &base);
	if (r < 0)
		return r;
	s = stmt(c, ST_SNAPSHOT_INSERT);
	catalog_bind_hash(s, 1, snap_id);
	catalog_bind_hash(s, 2, h->tree_id);
	sqlite3_bind_text(s, 3, h->member, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, h->time_sec);
	sqlite3_bind_int64(s, 5, h->time_nsec);
	sqlite3_bind_text(s, 6, h->host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 7, tags, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 8, (int64_t)h->n_files);
	sqlite3_bind_int64(s, 9, (int64_t)h->n_dirs);
	sqlite3_bind_int64(s, 10, (int64_t)h->n_bytes);
	sqlite3_bind_int64(s, 11, (int64_t)h->n_stored);
	sqlite3_bind_int64(s, 12, (int64_t)base);
	sqlite3_bind_int64(s, 13, h->n_inodes);
	sqlite3_bind_int64(s, 14, h->root_perm);
	sqlite3_bind_int64(s, 15, h->root_uid);
	sqlite3_bind_int64(s, 16, h->root_gid);
	sqlite3_bind_int64(s, 17, h->root_nlink);
	sqlite3_bind_int64(s, 18, h->root_mtime_sec);
	sqlite3_bind_int64(s, 19, h->root_mtime_nsec);
	r = catalog_step_done(c, s, "snapshot insert");
	if (r == 0)
		r = rename_member_snapshots(c, h->member);
	return r;
}

int catalog_add_snapshot(struct catalog *c, const uint8_t snap_id[HASH_LEN],
			 const struct snapshot_header *h)
{
	int r = catalog_begin(c);

	if (r < 0)
		return r;
	return catalog_end(c, add_snapshot(c, snap_id, h));
}

static int delete_range(struct catalog *c, enum stmt_id id, uint64_t lo, uint64_t hi)
{
	sqlite3_stmt *s = stmt(c, id);
	sqlite3_bind_int64(s, 1, (int64_t)lo);
	sqlite3_bind_int64(s, 2, (int64_t)hi);
	return catalog_step_done(c, s, "snapshot removal");
}

/* catalog_remove_snapshot() inside its transaction. */
static int remove_snapshot(struct catalog *c, int64_t id)
{
	struct cat_snapshot snap;
	int r;

	r = catalog_snapshot_by_id(c, id, &snap);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	uint64_t lo = snap.ino_base, hi = snap.ino_base + snap.n_inodes;
	if (snap.loaded) {
		static const enum stmt_id dels[] = { ST_DEL_INODES, ST_DEL_DIRENTS, ST_DEL_XATTRS,
						     ST_DEL_EXTENTS };
		for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dels); i++)
			r = delete_range(c, dels[i], lo, hi);
	}
	if (r == 0) {
		sqlite3_stmt *s = stmt(c, ST_SNAPSHOT_DELETE);
		sqlite3_bind_int64(s, 1, id);
		r = catalog_step_done(c, s, "snapshot removal");
	}
	if (r == 0)
		r = rename_member_snapshots(c, snap.member);
	return r;
}

int catalog_remove_snapshot(struct catalog *c, int64_t id)
{
	int r = catalog_begin(c);

	if (r < 0)
		return r;
	return catalog_end(c, remove_snapshot(c, id));
}

int catalog_list_snapshots(struct catalog *c, const char *member, catalog_snapshot_fn fn,
			   void *userdata)
{
	sqlite3_stmt *s = stmt(c, member ? ST_LIST_MEMBER : ST_LIST_ALL);
	struct cat_snapshot snap;
	int r;

	if (member)
		sqlite3_bind_text(s, 1, member, -1, SQLITE_TRANSIENT);
	while ((r = catalog_step_row(c, s, "snapshot listing")) == 1) {
		read_snapshot(s, &snap);
		r = fn(userdata, &snap);
		if (r != 0)
			break;
	}
	sqlite3_reset(s);
	return r;
}

static int find_one(struct catalog *c, sqlite3_stmt *s, struct cat_snapshot *ret)
{
	int r = catalog_step_row(c, s, "snapshot lookup");
	if (r == 1)
		read_snapshot(s, ret);
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

int catalog_find_snapshot(struct catalog *c, const char *member, const char *name,
			  struct cat_snapshot *ret)
{
	bool latest = strcmp(name, "latest") == 0;
	sqlite3_stmt *s = stmt(c, latest ? ST_FIND_LATEST : ST_FIND_BY_NAME);

	sqlite3_bind_text(s, 1, member, -1, SQLITE_TRANSIENT);
	if (!latest)
		sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	return find_one(c, s, ret);
}

int catalog_find_snapshot_by_prefix(struct catalog *c, const char *hex_prefix,
				    struct cat_snapshot *ret)
{
	char upper[HASH_HEX_LEN + 1];
	size_t len = strlen(hex_prefix);
	int r;

	if (len == 0 || len > HASH_HEX_LEN)
		return -ENOENT;
	for (size_t i = 0; i <= len; i++) {
		char ch = hex_prefix[i];
		if (i < len && !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
				 (ch >= 'A' && ch <= 'F')))
			return -ENOENT;
		upper[i] = (char)(ch >= 'a' && ch <= 'f' ? ch - 'a' + 'A' : ch);
	}
	sqlite3_stmt *s = stmt(c, ST_FIND_BY_PREFIX);
	sqlite3_bind_text(s, 1, upper, -1, SQLITE_TRANSIENT);
	r = catalog_step_row(c, s, "snapshot lookup");
	if (r == 1) {
		read_snapshot(s, ret);
		r = catalog_step_row(c, s, "snapshot lookup");
		if (r == 1)
			r = -ENOTUNIQ;
		else if (r == 0)
			r = 1;
	}
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

int catalog_snapshot_of_ino(struct catalog *c, uint64_t ino, struct cat_snapshot *ret)
{
	sqlite3_stmt *s = stmt(c, ST_FIND_BY_INO);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	return find_one(c, s, ret);
}

int catalog_snapshot_by_id(struct catalog *c, int64_t id, struct cat_snapshot *ret)
{
	sqlite3_stmt *s = stmt(c, ST_FIND_BY_ID);
	sqlite3_bind_int64(s, 1, id);
	return find_one(c, s, ret);
}

int catalog_list_members(struct catalog *c, catalog_member_fn fn, void *userdata)
{
	sqlite3_stmt *s = stmt(c, ST_LIST_MEMBERS);
	int r;

	while ((r = catalog_step_row(c, s, "member listing")) == 1) {
		char name[MEMBER_NAME_MAX + 1];
		catalog_column_text(s, 1, name, sizeof(name));
		r = fn(userdata, sqlite3_column_int64(s, 0), name);
		if (r != 0)
			break;
	}
	sqlite3_reset(s);
	return r;
}

int catalog_member_id(struct catalog *c, const char *name, int64_t *ret_id)
{
	sqlite3_stmt *s = stmt(c, ST_MEMBER_ID);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	int r = catalog_step_row(c, s, "member lookup");
	if (r == 1)
		*ret_id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

int catalog_member_name(struct catalog *c, int64_t id, char *out)
{
	sqlite3_stmt *s = stmt(c, ST_MEMBER_NAME);
	sqlite3_bind_int64(s, 1, id);
	int r = catalog_step_row(c, s, "member lookup");
	if (r == 1)
		catalog_column_text(s, 0, out, MEMBER_NAME_MAX + 1);
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

/* --- loading a tree --- */

static int pack_rowid(struct catalog *c, const uint8_t pack_id[HASH_LEN], int64_t *ret)
{
	sqlite3_stmt *s = stmt(c, ST_PACK_INSERT);
	catalog_bind_hash(s, 1, pack_id);
	int r = catalog_step_done(c, s, "pack insert");
	if (r < 0)
		return r;
	s = stmt(c, ST_PACK_ID);
	catalog_bind_hash(s, 1, pack_id);
	r = catalog_step_row(c, s, "pack lookup");
	if (r == 1)
		*ret = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -EIO : r;
}

static int chunk_rowid(struct catalog *c, const uint8_t hash[HASH_LEN], int64_t pack, uint64_t off,
		       uint32_t stored_len, uint32_t raw_len, int64_t *ret)
{
	sqlite3_stmt *s = stmt(c, ST_CHUNK_INSERT);
	catalog_bind_hash(s, 1, hash);
	sqlite3_bind_int64(s, 2, pack);
	sqlite3_bind_int64(s, 3, (int64_t)off);
	sqlite3_bind_int64(s, 4, stored_len);
	sqlite3_bind_int64(s, 5, raw_len);
	int r = catalog_step_done(c, s, "chunk insert");
	if (r < 0 || !ret)
		return r;
	s = stmt(c, ST_CHUNK_ID);
	catalog_bind_hash(s, 1, hash);
	sqlite3_bind_int64(s, 2, pack);
	sqlite3_bind_int64(s, 3, (int64_t)off);
	r = catalog_step_row(c, s, "chunk lookup");
	if (r == 1)
		*ret = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -EIO : r;
}

static int insert_inode(struct catalog *c, const struct tree *t, uint32_t i, uint64_t ino)
{
	const struct tree_inode *n = &t->inodes[i];
	uint64_t stored = 0;

	for (uint32_t j = 0; j < n->n_extents; j++)
		stored += t->chunks[t->extents[n->first_extent + j].chunk].raw_len;
	sqlite3_stmt *s = stmt(c, ST_INODE_INSERT);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_int64(s, 2, node_type_to_mode(n->type) | n->perm);
	sqlite3_bind_int64(s, 3, n->uid);
	sqlite3_bind_int64(s, 4, n->gid);
	sqlite3_bind_int64(s, 5, n->nlink);
	sqlite3_bind_int64(s, 6, (int64_t)n->size);
	sqlite3_bind_int64(s, 7, (int64_t)n->rdev);
	sqlite3_bind_int64(s, 8, (int64_t)((stored + 511) / 512));
	sqlite3_bind_int64(s, 9, n->mtime_sec);
	sqlite3_bind_int64(s, 10, n->mtime_nsec);
	if (n->type == NODE_SYMLINK)
		sqlite3_bind_blob(s, 11, tree_str_ptr(t, n->target), (int)n->target.len,
				  SQLITE_STATIC);
	return catalog_step_done(c, s, "inode insert");
}

static int insert_tree(struct catalog *c, const struct cat_snapshot *snap, const struct tree *t)
{
	AUTOFREE int64_t *pack_ids = xcalloc(t->n_packs, sizeof(int64_t));
	AUTOFREE int64_t *chunk_ids = xcalloc(t->n_chunks, sizeof(int64_t));
	uint64_t base = snap->ino_base;
	sqlite3_stmt *s;
	int r = 0;

	for (uint32_t i = 0; r == 0 && i < t->n_packs; i++)
		r = pack_rowid(c, t->packs[i], &pack_ids[i]);
	for (uint32_t i = 0; r == 0 && i < t->n_chunks; i++) {
		const struct tree_chunk *ch = &t->chunks[i];
		r = chunk_rowid(c, ch->hash, pack_ids[ch->pack], ch->off, ch->stored_len,
				ch->raw_len, &chunk_ids[i]);
	}
	for (uint32_t i = 0; r == 0 && i < t->n_inodes; i++)
		r = insert_inode(c, t, i, base + i);
	for (uint32_t i = 0; r == 0 && i < t->n_inodes; i++) {
		const struct tree_inode *n = &t->inodes[i];
		for (uint32_t j = 0; r == 0 && j < n->n_xattrs; j++) {
			const struct tree_xattr *x = &t->xattrs[n->first_xattr + j];
			s = stmt(c, ST_XATTR_INSERT);
			sqlite3_bind_int64(s, 1, (int64_t)(base + i));
			sqlite3_bind_blob(s, 2, tree_str_ptr(t, x->name), (int)x->name.len,
					  SQLITE_STATIC);
			sqlite3_bind_blob(s, 3, tree_str_ptr(t, x->value), (int)x->value.len,
					  SQLITE_STATIC);
			r = catalog_step_done(c, s, "xattr insert");
		}
		for (uint32_t j = 0; r == 0 && j < n->n_extents; j++) {
			const struct tree_extent *e = &t->extents[n->first_extent + j];
			s = stmt(c, ST_EXTENT_INSERT);
			sqlite3_bind_int64(s, 1, (int64_t)(base + i));
			sqlite3_bind_int64(s, 2, (int64_t)e->off);
			sqlite3_bind_int64(s, 3, chunk_ids[e->chunk]);
			r = catalog_step_done(c, s, "extent insert");
		}
	}
	/* Dirents are sorted by (parent, name), so ids ascend in name order
	 * within each directory: the readdir cookie order. */
	for (uint32_t i = 0; r == 0 && i < t->n_dirents; i++) {
		const struct tree_dirent *d = &t->dirents[i];
		s = stmt(c, ST_DIRENT_INSERT);
		sqlite3_bind_int64(s, 1, (int64_t)(base + d->parent));
		sqlite3_bind_blob(s, 2, tree_str_ptr(t, d->name), (int)d->name.len, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, (int64_t)(base + d->inode));
		r = catalog_step_done(c, s, "dirent insert");
	}
	if (r == 0) {
		s = stmt(c, ST_SET_LOADED);
		sqlite3_bind_int64(s, 1, snap->id);
		r = catalog_step_done(c, s, "snapshot update");
	}
	return r;
}

int catalog_load_tree(struct catalog *c, int64_t snapshot_id, const struct tree *t)
{
	struct cat_snapshot snap;
	int r;

	r = catalog_begin(c);
	if (r < 0)
		return r;
	r = catalog_snapshot_by_id(c, snapshot_id, &snap);
	if (r == 0 && !snap.loaded) {
		if (t->n_inodes != snap.n_inodes)
			r = log_error_errno(-EBADMSG,
					    "snapshot %s/%s: tree has %u inodes, header says %u",
					    snap.member, snap.name, t->n_inodes, snap.n_inodes);
		else
			r = insert_tree(c, &snap, t);
	}
	return catalog_end(c, r);
}

/* --- tree queries --- */

void catalog_column_attr(sqlite3_stmt *s, int col, struct cat_attr *out)
{
	out->ino = (uint64_t)sqlite3_column_int64(s, col);
	out->mode = (uint32_t)sqlite3_column_int64(s, col + 1);
	out->uid = (uint32_t)sqlite3_column_int64(s, col + 2);
	out->gid = (uint32_t)sqlite3_column_int64(s, col + 3);
	out->nlink = (uint32_t)sqlite3_column_int64(s, col + 4);
	out->size = (uint64_t)sqlite3_column_int64(s, col + 5);
	out->rdev = (uint64_t)sqlite3_column_int64(s, col + 6);
	out->blocks = (uint64_t)sqlite3_column_int64(s, col + 7);
	out->mtime_sec = sqlite3_column_int64(s, col + 8);
	out->mtime_nsec = (uint32_t)sqlite3_column_int64(s, col + 9);
}

int catalog_getattr(struct catalog *c, uint64_t ino, struct cat_attr *ret)
{
	sqlite3_stmt *s = stmt(c, ST_GETATTR);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	int r = catalog_step_row(c, s, "getattr");
	if (r == 1)
		catalog_column_attr(s, 0, ret);
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

int catalog_lookup(struct catalog *c, uint64_t dir, const void *name, size_t len,
		   struct cat_attr *ret)
{
	if (len == 0 || len > NAME_LEN_MAX)
		return -ENOENT;
	sqlite3_stmt *s = stmt(c, ST_LOOKUP);
	sqlite3_bind_int64(s, 1, (int64_t)dir);
	sqlite3_bind_blob(s, 2, name, (int)len, SQLITE_STATIC);
	int r = catalog_step_row(c, s, "lookup");
	if (r == 1)
		catalog_column_attr(s, 0, ret);
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

int catalog_readdir(struct catalog *c, uint64_t dir, int64_t after_cookie, bool with_attr,
		    catalog_dirent_fn fn, void *userdata)
{
	sqlite3_stmt *s = stmt(c, with_attr ? ST_READDIR_PLUS : ST_READDIR);
	struct cat_attr attr;
	int r;

	sqlite3_bind_int64(s, 1, (int64_t)dir);
	sqlite3_bind_int64(s, 2, after_cookie);
	while ((r = catalog_step_row(c, s, "readdir")) == 1) {
		int64_t cookie = sqlite3_column_int64(s, 0);
		const uint8_t *name = sqlite3_column_blob(s, 1);
		size_t len = (size_t)sqlite3_column_bytes(s, 1);
		if (with_attr) {
			catalog_column_attr(s, 2, &attr);
		} else {
			memset(&attr, 0, sizeof(attr));
			attr.ino = (uint64_t)sqlite3_column_int64(s, 2);
			attr.mode = (uint32_t)sqlite3_column_int64(s, 3);
		}
		r = fn(userdata, cookie, name, len, &attr);
		if (r != 0)
			break;
	}
	sqlite3_reset(s);
	return r < 0 ? r : 0;
}

int catalog_readlink(struct catalog *c, uint64_t ino, struct buf *out)
{
	sqlite3_stmt *s = stmt(c, ST_READLINK);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	int r = catalog_step_row(c, s, "readlink");
	if (r == 1) {
		if (sqlite3_column_type(s, 0) != SQLITE_BLOB)
			r = -EINVAL;
		else
			buf_append(out, sqlite3_column_blob(s, 0),
				   (size_t)sqlite3_column_bytes(s, 0));
	}
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

int catalog_listxattr(struct catalog *c, uint64_t ino, struct buf *out)
{
	sqlite3_stmt *s = stmt(c, ST_LISTXATTR);
	int r;

	sqlite3_bind_int64(s, 1, (int64_t)ino);
	while ((r = catalog_step_row(c, s, "listxattr")) == 1) {
		buf_append(out, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
		buf_append_u8(out, 0);
	}
	sqlite3_reset(s);
	return r;
}

int catalog_getxattr(struct catalog *c, uint64_t ino, const char *name, struct buf *out)
{
	sqlite3_stmt *s = stmt(c, ST_GETXATTR);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_blob(s, 2, name, (int)strlen(name), SQLITE_STATIC);
	int r = catalog_step_row(c, s, "getxattr");
	if (r == 1)
		buf_append(out, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENODATA : r;
}

int catalog_has_xattr_named(struct catalog *c, const char *name, uint64_t ino_lo, uint64_t ino_hi)
{
	sqlite3_stmt *s = stmt(c, ST_HAS_XATTR_NAMED);
	sqlite3_bind_blob(s, 1, name, (int)strlen(name), SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)ino_lo);
	sqlite3_bind_int64(s, 3, (int64_t)ino_hi);
	int r = catalog_step_row(c, s, "xattr name lookup");
	sqlite3_reset(s);
	return r;
}

static void read_extent(sqlite3_stmt *s, struct cat_extent *out)
{
	out->file_off = (uint64_t)sqlite3_column_int64(s, 0);
	catalog_column_hash(s, 1, out->loc.hash);
	catalog_column_hash(s, 2, out->loc.pack);
	out->loc.off = (uint64_t)sqlite3_column_int64(s, 3);
	out->loc.stored_len = (uint32_t)sqlite3_column_int64(s, 4);
	out->loc.raw_len = (uint32_t)sqlite3_column_int64(s, 5);
}

int catalog_extents(struct catalog *c, uint64_t ino, uint64_t off, uint64_t len,
		    struct cat_extent *out, size_t max, size_t *ret_n)
{
	uint64_t end = off + len < off ? UINT64_MAX : off + len;
	size_t n = 0;
	int r;

	/* The extent at or before off may reach into the range... */
	sqlite3_stmt *s = stmt(c, ST_EXTENT_AT);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_int64(s, 2, (int64_t)off);
	r = catalog_step_row(c, s, "extent lookup");
	if (r == 1 && max > 0) {
		read_extent(s, &out[n]);
		if (out[n].file_off + out[n].loc.raw_len > off)
			n++;
	}
	sqlite3_reset(s);
	if (r < 0)
		return r;
	/* ...and then every extent starting inside it. */
	s = stmt(c, ST_EXTENTS_FROM);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_int64(s, 2, (int64_t)off);
	while (n < max && (r = catalog_step_row(c, s, "extent lookup")) == 1) {
		read_extent(s, &out[n]);
		if (out[n].file_off >= end)
			break;
		n++;
	}
	sqlite3_reset(s);
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

int catalog_seek(struct catalog *c, uint64_t ino, uint64_t off, int whence, uint64_t *ret)
{
	struct cat_attr attr;
	struct cat_extent e;
	size_t n;
	int r;

	r = catalog_getattr(c, ino, &attr);
	if (r < 0)
		return r;
	if (off >= attr.size)
		return -ENXIO;
	if (whence == SEEK_DATA) {
		r = catalog_extents(c, ino, off, attr.size - off, &e, 1, &n);
		if (r < 0)
			return r;
		if (n == 0)
			return -ENXIO;
		*ret = MAX(off, e.file_off);
		return 0;
	}
	if (whence != SEEK_HOLE)
		return -EINVAL;
	/* The extent at or before off; off is in a hole unless it covers off. */
	sqlite3_stmt *s = stmt(c, ST_EXTENT_AT);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_int64(s, 2, (int64_t)off);
	r = catalog_step_row(c, s, "extent lookup");
	if (r == 1)
		read_extent(s, &e);
	sqlite3_reset(s);
	if (r < 0)
		return r;
	if (r == 0 || e.file_off + e.loc.raw_len <= off) {
		*ret = off;
		return 0;
	}
	/* Then one range query, walked while the extents touch: a long run of
	 * data costs one statement, not two queries per extent. */
	uint64_t pos = e.file_off + e.loc.raw_len;
	s = stmt(c, ST_EXTENTS_FROM);
	sqlite3_bind_int64(s, 1, (int64_t)ino);
	sqlite3_bind_int64(s, 2, (int64_t)e.file_off);
	while (pos < attr.size && (r = catalog_step_row(c, s, "extent lookup")) == 1) {
		read_extent(s, &e);
		if (e.file_off > pos)
			break; /* a gap */
		pos = MAX(pos, e.file_off + e.loc.raw_len);
	}
	sqlite3_reset(s);
	if (r < 0)
		return r;
	*ret = MIN(pos, attr.size);
	return 0;
}

/* --- chunks --- */

int catalog_find_chunk(struct catalog *c, const uint8_t hash[HASH_LEN], struct chunk_loc *ret)
{
	sqlite3_stmt *s = stmt(c, ST_FIND_CHUNK);
	catalog_bind_hash(s, 1, hash);
	int r = catalog_step_row(c, s, "chunk lookup");
	if (r == 1)
		catalog_column_loc(s, 0, ret);
	sqlite3_reset(s);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

int catalog_add_pack(struct catalog *c, const uint8_t pack_id[HASH_LEN],
		     const struct pack_entry *entries, uint32_t n)
{
	int64_t pack;
	int r;

	r = catalog_begin(c);
	if (r < 0)
		return r;
	r = pack_rowid(c, pack_id, &pack);
	for (uint32_t i = 0; r == 0 && i < n; i++)
		r = chunk_rowid(c, entries[i].hash, pack, entries[i].off, entries[i].stored_len,
				entries[i].raw_len, NULL);
	return catalog_end(c, r);
}
