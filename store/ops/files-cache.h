/*
 * files-cache.h - what the last backup of a member from this machine knew
 * about each regular file it stored: the stat fields that change when a
 * file does (size, mtime, ctime, inode number, device) and the chunks of
 * its data. The next backup reuses the chunks of a file whose fields all
 * match, without opening it. Kept in the local cache directory, one file
 * per member, and used only when it describes the member's latest
 * snapshot; layout in files-cache.c.
 */
#ifndef CAIRN_FILES_CACHE_H
#define CAIRN_FILES_CACHE_H

#include "base/buf.h"
#include "base/crypto.h"
#include "base/hmap.h"
#include "format/tree.h"

#include <sys/stat.h>

/* A record's flag: the file had no xattrs (or ACLs). */
#define FILES_CACHE_NO_XATTRS 1u

/* A chunk's pack when the cache does not know it. */
#define FILES_CACHE_NO_PACK UINT32_MAX

struct files_cache_chunk {
	uint64_t off; /* offset in the file */
	uint8_t hash[HASH_LEN];
	uint32_t raw_len;
	/* Loaded: where it is stored (files_cache_pack(), offset, length).
	 * Given to files_cache_writer_add(): pack is the chunk's index in the
	 * tree that files_cache_writer_commit() then gets. */
	uint32_t pack;
	uint64_t pack_off;
	uint32_t stored_len;
};

/* One file of a loaded cache; chunks point into the cache's buffer. */
struct files_cache_entry {
	uint64_t size;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
	uint64_t ino, dev;
	uint32_t flags; /* FILES_CACHE_NO_XATTRS */
	uint32_t n_chunks;
	const uint8_t *chunks; /* n_chunks records of 60 bytes; files_cache_chunk_at() */
};

struct files_cache {
	uint8_t snap_id[HASH_LEN]; /* the snapshot it describes */
	uint8_t *data;		   /* the whole file, owned */
	size_t len;
	const uint8_t *packs; /* n_packs ids, in data */
	uint32_t n_packs;
	struct hmap paths; /* SHA-256 of a path -> offset of its record in data */
};

/* Loads the cache at path. -ENOENT when there is none, -EBADMSG (not
 * logged) when it is damaged: either way the backup reads every file. */
int files_cache_load(const char *path, struct files_cache **ret) WARN_UNUSED;
/* Parses a cache's bytes, taking ownership of data (malloc'd; freed on
 * failure too). -EBADMSG when they are not a whole, valid cache. */
int files_cache_parse(uint8_t *data, size_t len, struct files_cache **ret) WARN_UNUSED;
void files_cache_free(struct files_cache *fc);
/* Looks up path: 0 and *ret filled, or -ENOENT. */
int files_cache_find(const struct files_cache *fc, const char *path,
		     struct files_cache_entry *ret) WARN_UNUSED;
/* True when st has the entry's size, mtime, ctime, inode and device. */
bool files_cache_entry_matches(const struct files_cache_entry *e, const struct stat *st);
void files_cache_chunk_at(const struct files_cache_entry *e, uint32_t i,
			  struct files_cache_chunk *ret);
/* The id of pack i of the cache, or NULL (FILES_CACHE_NO_PACK, or out of
 * range: a damaged cache). */
const uint8_t *files_cache_pack(const struct files_cache *fc, uint32_t i);

/* Past this many bytes of records the writer moves them from memory to
 * its spill file. */
#define FILES_CACHE_SPILL_AT ((size_t)1 << 20)

/* Builds the next cache one file at a time: records collect in memory and,
 * past spill_at bytes, move to an unnamed file in the directory given to
 * init (the cache's own), so that a backup of millions of files does not
 * hold a copy of the whole cache in memory (about 160 bytes a file, and
 * twice that while the buffer grew). If that file cannot be made or
 * written, the records stay in memory. */
struct files_cache_writer {
	struct buf records; /* not spilled yet */
	uint64_t n;	    /* records added */
	uint64_t spilled;   /* bytes of records in spill_fd, before those in records */
	int spill_fd;	    /* -1: none (yet) */
	bool spill_failed;  /* keep everything in memory from now on */
	size_t spill_at;    /* FILES_CACHE_SPILL_AT unless a test lowers it */
	char *dir;	    /* where the spill file goes, made 0700 if missing */
};

void files_cache_writer_init(struct files_cache_writer *w, const char *dir);
void files_cache_writer_release(struct files_cache_writer *w);
/* Adds path with st's fields and n chunks, its flags 0; returns where
 * the flags are, for files_cache_writer_set_flags() once they are known. */
size_t files_cache_writer_add(struct files_cache_writer *w, const char *path, const struct stat *st,
			      const struct files_cache_chunk *chunks, uint32_t n);
void files_cache_writer_set_flags(struct files_cache_writer *w, size_t at, uint32_t flags);
/* Writes the cache for snapshot snap_id, whose tree is t (every chunk's
 * place in a pack filled in), to path, atomically (a temporary file
 * renamed over it). -errno on failure (not logged). */
int files_cache_writer_commit(struct files_cache_writer *w, const char *path,
			      const uint8_t snap_id[HASH_LEN], const struct tree *t) WARN_UNUSED;

#endif
