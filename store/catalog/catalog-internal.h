/*
 * catalog-internal.h - what the files of the catalog module share: the
 * connection struct and SQLite helpers. Only store/catalog*.c include it;
 * a file that adds queries keeps its statements in c->extra[] slots named
 * in the enum below, so each statement is prepared once per connection.
 */
#ifndef CAIRN_CATALOG_INTERNAL_H
#define CAIRN_CATALOG_INTERNAL_H

#include "catalog/catalog.h"

#include <sqlite3.h>

/* Statement slots for queries defined outside catalog.c. Add names here. */
enum catalog_extra_stmt {
	/* catalog-query.c */
	CQ_FIND_BY_NAME,
	CQ_DIRS,
	CQ_ENTRIES,
	CQ_XATTRS,
	CQ_EXTENTS_A,
	CQ_EXTENTS_B,
	CQ_USAGE_DATA,
	CQ_USAGE_STORED,
	CQ_USAGE_UNIQUE,
	CQ_PACKS,
	CQ_LAST_, /* the size of catalog-query.c's table; the next file starts here */
	/* catalog-packs.c */
	CX_INDEX_HAS = CQ_LAST_,
	CX_INDEX_LINK,
	CX_INDEX_REMOVE,
	CX_INDEX_LIST,
	CX_PACK_ID,
	CX_PENDING_CLEAR,
	CX_PENDING_ADD,
	CX_DEDUP_CHUNK,
	CX_DEDUP_PACKS,
	CX_LAST_,
	CATALOG_EXTRA_STMTS = 64
};
_Static_assert(CX_LAST_ <= CATALOG_EXTRA_STMTS, "grow CATALOG_EXTRA_STMTS");

struct catalog {
	sqlite3 *db;
	char *path;
	unsigned tx_depth;	 /* nesting of catalog_begin() */
	sqlite3_stmt *stmts[64]; /* catalog.c's statements, prepared on first use */
	sqlite3_stmt *extra[CATALOG_EXTRA_STMTS]; /* other files' statements */
	bool has_fnmatch; /* cairn_fnmatch() is registered (catalog-query.c) */
};

/* Returns *slot prepared from sql (preparing it on first use), reset and
 * with bindings cleared. Aborts on SQL that does not compile (a bug). */
sqlite3_stmt *catalog_stmt(struct catalog *c, sqlite3_stmt **slot, const char *sql);
/* Maps an SQLite result code to -errno and logs what failed. */
int catalog_sqlite_err(struct catalog *c, int rc, const char *what);
/* Steps a statement to completion ignoring rows: 0 or -errno. */
int catalog_step_done(struct catalog *c, sqlite3_stmt *s, const char *what);
/* Steps once: 1 for a row, 0 when done, < 0 on error. */
int catalog_step_row(struct catalog *c, sqlite3_stmt *s, const char *what);
void catalog_bind_hash(sqlite3_stmt *s, int col, const uint8_t *hash);
void catalog_column_hash(sqlite3_stmt *s, int col, uint8_t *out);
void catalog_column_text(sqlite3_stmt *s, int col, char *out, size_t size);
/* Reads a chunk location from the five columns hash, pack id, offset,
 * stored length, raw length starting at col. */
void catalog_column_loc(sqlite3_stmt *s, int col, struct chunk_loc *out);

/* The inode columns, in the order catalog_column_attr() reads them from col
 * on; the inodes table is aliased "i". */
#define INODE_COLUMNS \
	"i.ino, i.mode, i.uid, i.gid, i.nlink, i.size, i.rdev, i.blocks, i.mtime_sec, i.mtime_nsec"
void catalog_column_attr(sqlite3_stmt *s, int col, struct cat_attr *out);

#endif
