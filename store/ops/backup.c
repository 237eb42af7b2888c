/*
 * backup.c - walk local paths, cut files into content-defined chunks, store
 * the chunks the repository lacks in packs, and write the snapshot.
 *
 * The walk builds the whole tree in memory (struct tree): one inode per
 * file, directory, symlink, device, fifo or socket, one directory entry per
 * name, so hardlinks are one inode with several names (found by device and
 * inode number). Sparse files are read by data segment (SEEK_DATA /
 * SEEK_HOLE); holes are not stored, only the extents of data are.
 *
 * What is walked: the selection (select.h: excludes, include list),
 * --one-file-system (directories on another device than their PATH operand
 * are stored empty) and --exclude-caches (a tagged directory keeps only its
 * CACHEDIR.TAG). A regular file the files cache (files-cache.h) knows with
 * the same size, mtime, ctime, inode and device is not opened: its chunks
 * are looked up (here, then in the catalog) and reused; if one is gone the
 * file is read after all. Small files with one name and no holes are read,
 * chunked and hashed on the file pool's threads (file-pool.h); the walker
 * adds them in submission order and drains the pool before it touches
 * chunks itself (reused files, big or sparse ones, hardlinks), so chunks,
 * packs and the tree come out in walk order, as if read one by one. Every
 * read is bracketed by fstat calls; a file that changed meanwhile is read
 * again, up to FILE_READ_ATTEMPTS times, and reported. Files that changed
 * after the backup began are left out of the next files cache.
 *
 * Deduplication looks a chunk's SHA-256 up first among the chunks of this
 * backup, then in the catalog, which knows every chunk of every index
 * object (repo_sync_index() runs first), so identical data is stored once
 * across members, snapshots and hosts. Packs that prune has marked for
 * deletion ("prune-pending") are never reused.
 *
 * A backup holds a shared lock (lock.h) from before it reads the index
 * objects until its snapshot is written: prune defers deleting whatever it
 * found unreferenced after this backup started, so neither the packs this
 * backup writes nor the ones it deduplicates against can vanish under it.
 * If the lock could not be refreshed for long, the backup fails before
 * committing rather than risk a snapshot that refers to deleted packs.
 * Objects are named by their content, so a pack or tree this backup writes
 * could have the very name of a pending one, which prune would then delete;
 * such a pack gets one extra chunk of random bytes, such a tree one unused
 * random pack id, which gives them names of their own.
 *
 * Order of writes, each durable before the next: packs, the index object
 * naming them, the tree, and last the snapshot header. Packs are stored on
 * an upload pool (as many at once as the backend says is worth it) while
 * the walk goes on; the index waits until every one of them is stored. A crash at any point
 * leaves at most packs and an index no snapshot references, which prune
 * collects; it never leaves a snapshot pointing at missing data. The catalog
 * learns of the new packs only after the header is written, so a failed
 * backup never teaches it chunks that prune might later remove.
 */
#include "ops/backup.h"
#include "ops/backup-internal.h"
#include "ops/chunk-pool.h"
#include "format/envelope.h"
#include "base/hmap.h"
#include "format/index.h"
#include "repo/lock.h"
#include "repo/object.h"
#include "base/log.h"
#include "ops/file-pool.h"
#include "ops/files-cache.h"
#include "ops/upload-pool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

#define NO_PACK UINT32_MAX
#define FILE_POOL_PENDING 64
/* Directories the walk keeps open at once, one per level (deeper levels
 * are stat'ed by path). */
#define WALK_OPEN_DIRS_MAX 64
#define FILE_POOL_MAX ((uint64_t)512 << 10)
#define PROGRESS_INTERVAL_NS 250000000ull

struct backup {
	struct repo *repo;
	struct catalog *cat;
	struct backend *backend;
	struct repo_lock *lock; /* shared, held for the whole backup */
	struct pending pending; /* what prune may delete, read after taking the lock */
	const struct repo_config *cfg;
	const struct backup_options *opts;
	struct tree *tree;
	struct hmap chunks;	 /* chunk hash -> tree chunk index */
	struct hmap packs;	 /* pack id -> tree pack index */
	struct hmap links;	 /* (dev, ino) -> tree inode index, for nlink > 1 */
	struct hmap dedup_packs; /* packs chunks may be reused from: catalog_dedup_packs() */
	bool dedup_packs_loaded;
	struct pack_writer *pw;
	struct chunk_pool *pool;     /* compresses new chunks in parallel */
	struct file_pool *files;     /* reads, chunks and hashes small files in parallel */
	struct upload_pool *uploads; /* stores finished packs in parallel */
	uint32_t cur_pack;	     /* tree pack index of the pack being filled, or NO_PACK */
	struct index index;	     /* packs this backup wrote */
	uint8_t *rbuf;		     /* file read buffer */
	size_t rbuf_cap;
	struct buf path;		/* current path, NUL-terminated */
	size_t rel_off;			/* where the snapshot-relative part of path starts */
	dev_t root_dev;			/* device of the PATH operand being walked */
	struct files_cache *old;	/* what the member's latest snapshot knew, or NULL */
	struct files_cache_writer next; /* what this one will know */
	struct buf fc_chunks;		/* scratch: one file's files_cache_chunk records */
	size_t fc_flags_at;    /* the current file's record in next: its flags, or SIZE_MAX */
	bool reused_no_xattrs; /* the current file is reused and had no xattrs */
	int dir_fd;	       /* the directory being listed (names are stat'ed in it), or -1 */
	unsigned open_dirs;    /* directories held open by the walk */
	bool unnamed;	       /* the file being read is new: its chunks go to the pool unhashed */
	struct timespec start; /* coarse clock when the backup began */
	struct backup_stats stats;
	uint64_t last_progress;
};

static bool cancelled(const struct backup *b)
{
	return b->opts->cancel && *b->opts->cancel;
}

static void progress(struct backup *b, bool done)
{
	if (!b->opts->progress)
		return;
	uint64_t now = now_ns();
	if (!done && now - b->last_progress < PROGRESS_INTERVAL_NS)
		return;
	b->last_progress = now;
	b->opts->progress(b->opts->progress_data, &b->stats,
			  done || !b->path.ptr ? "" : (const char *)b->path.ptr, done);
}

static const char *cur_path(struct backup *b)
{
	return (const char *)b->path.ptr;
}

/* The current path relative to the snapshot root ("" for the root). */
static const char *rel_path(struct backup *b)
{
	return b->path.len - 1 > b->rel_off ? (const char *)b->path.ptr + b->rel_off : "";
}

static int flush_pack(struct backup *b)
{
	AUTOBUF struct buf bytes = BUF_INIT;
	char name[PACK_NAME_LEN];
	uint8_t id[HASH_LEN];
	uint32_t n = pack_writer_count(b->pw);
	int r;

	if (n == 0)
		return 0;
	AUTOFREE struct pack_entry *entries = xmalloc(n * sizeof(*entries));
	memcpy(entries, pack_writer_entries(b->pw), n * sizeof(*entries));
	pack_writer_finish(b->pw, &bytes, id);
	if (pending_find(&b->pending, PENDING_PACK, id)) {
		r = pack_add_salt(repo_keys(b->repo), &bytes, &entries, &n, id);
		if (r < 0)
			return log_error_errno(r, "cannot give a pack a name of its own");
	}
	pack_name(id, name);
	b->stats.n_stored += bytes.len;
	/* Stored in the background; write_snapshot() waits for every pack
	 * before it writes anything that refers to one. */
	r = upload_pool_submit(b->uploads, name, &bytes);
	if (r < 0)
		return r;
	memcpy(b->tree->packs[b->cur_pack], id, HASH_LEN);
	hmap_put(&b->packs, id, b->cur_pack);
	index_add(&b->index, id, entries, n);
	b->cur_pack = NO_PACK;
	return 0;
}

static uint32_t tree_pack_index(struct backup *b, const uint8_t id[HASH_LEN])
{
	uint64_t *v = hmap_get(&b->packs, id);
	if (v)
		return (uint32_t)*v;
	uint32_t i = tree_add_pack(b->tree, id);
	hmap_put(&b->packs, id, i);
	return i;
}

/* Finds a chunk this backup already uses or the catalog knows in a live
 * pack, and returns its index in the tree; -ENOENT when neither has it. */
static int find_chunk(struct backup *b, const uint8_t hash[HASH_LEN], uint32_t len, uint32_t *ret)
{
	struct tree_chunk tc = { .raw_len = len };
	struct chunk_loc loc;
	int r;

	uint64_t *known = hmap_get(&b->chunks, hash);
	if (known) {
		if (b->tree->chunks[*known].raw_len != len)
			return -ENOENT;
		*ret = (uint32_t)*known;
		return 0;
	}
	r = catalog_find_dedup_chunk(b->cat, hash, &loc);
	if (r < 0)
		return r;
	if (loc.raw_len != len)
		return -ENOENT;
	memcpy(tc.hash, hash, HASH_LEN);
	tc.pack = tree_pack_index(b, loc.pack);
	tc.off = loc.off;
	tc.stored_len = loc.stored_len;
	*ret = tree_add_chunk(b->tree, &tc);
	hmap_put(&b->chunks, tc.hash, *ret);
	return 0;
}

enum collect {
	COLLECT_READY, /* what has finished, without waiting */
	COLLECT_ONE,   /* wait for the oldest, then what has finished */
	COLLECT_ALL,   /* wait for everything pending */
};

/* Puts finished envelopes into the current pack, in submission order, and
 * records where each landed. */
static int collect_chunks(struct backup *b, enum collect mode)
{
	bool wait = mode != COLLECT_READY;
	struct chunk_job *job;
	struct pack_entry e;
	int r = 0;

	while (r >= 0 && (job = chunk_pool_next(b->pool, wait))) {
		if (mode == COLLECT_ONE)
			wait = false;
		r = job->result;
		uint64_t tag = job->tag;
		if (r >= 0 && !job->named) {
			/* Hashed and sealed by the worker: only now can it be
			 * found a duplicate (the envelope is then dropped). Its
			 * tag is the extent that waits for it. */
			uint32_t idx;
			r = find_chunk(b, job->hash, job->raw_len, &idx);
			if (r == 0) {
				b->tree->extents[tag].chunk = idx;
				chunk_pool_release(b->pool, job);
				continue;
			}
			if (r != -ENOENT) {
				chunk_pool_release(b->pool, job);
				break;
			}
			struct tree_chunk tc = { .raw_len = job->raw_len, .pack = NO_PACK };
			memcpy(tc.hash, job->hash, HASH_LEN);
			idx = tree_add_chunk(b->tree, &tc);
			hmap_put(&b->chunks, tc.hash, idx);
			b->tree->extents[tag].chunk = idx;
			b->stats.n_new++;
			b->stats.n_new_bytes += job->raw_len;
			tag = idx;
			r = 0;
		}
		if (r >= 0) {
			if (b->cur_pack == NO_PACK) {
				static const uint8_t pending[HASH_LEN]; /* set by flush_pack */
				b->cur_pack = tree_add_pack(b->tree, pending);
			}
			pack_writer_add(b->pw, job->hash, job->data.ptr, job->data.len,
					job->raw_len, &e);
			struct tree_chunk *tc = &b->tree->chunks[tag];
			tc->pack = b->cur_pack;
			tc->off = e.off;
			tc->stored_len = e.stored_len;
		}
		chunk_pool_release(b->pool, job);
		if (r >= 0 && pack_writer_size(b->pw) >= b->cfg->pack_size)
			r = flush_pack(b);
	}
	return r < 0 ? r : 0;
}

/* Stores (or finds) one chunk whose SHA-256 is hash and returns its index
 * in the tree. A new chunk's place in a pack is filled in when its
 * compression finishes. */
static int add_hashed_chunk(struct backup *b, const uint8_t hash[HASH_LEN], const uint8_t *data,
			    size_t len, const uint8_t *env, uint32_t env_len, uint32_t *ret)
{
	struct tree_chunk tc = { .raw_len = (uint32_t)len, .pack = NO_PACK };
	int r;

	memcpy(tc.hash, hash, HASH_LEN);
	b->stats.n_chunks++;
	r = find_chunk(b, tc.hash, (uint32_t)len, ret);
	if (r != -ENOENT)
		return r;
	uint32_t idx = tree_add_chunk(b->tree, &tc);
	hmap_put(&b->chunks, tc.hash, idx);
	{
		r = collect_chunks(b, COLLECT_READY);
		while (r == 0 && chunk_pool_full(b->pool))
			r = collect_chunks(b, COLLECT_ONE);
		if (r < 0)
			return r;
		if (env_len > 0)
			chunk_pool_submit_sealed(b->pool, tc.hash, env, env_len, (uint32_t)len,
						 idx);
		else
			chunk_pool_submit(b->pool, tc.hash, data, len, idx);
		b->stats.n_new++;
		b->stats.n_new_bytes += len;
	}
	*ret = idx;
	return 0;
}

static int add_chunk(struct backup *b, const uint8_t *data, size_t len, uint32_t *ret)
{
	uint8_t hash[HASH_LEN];
	crypto_id(repo_keys(b->repo), data, len, hash);
	return add_hashed_chunk(b, hash, data, len, NULL, 0, ret);
}

/* Chunks the data segment [start, end) of fd. A file that shrinks while
 * being read ends early; *ret_short tells. */
static int backup_segment(struct backup *b, int fd, uint64_t start, uint64_t end, bool *ret_short)
{
	const struct chunker_params *cp = &b->cfg->chunker;
	uint64_t pos = start;	   /* file offset of rbuf[head] */
	size_t head = 0, have = 0; /* valid bytes are rbuf[head .. have) */
	bool eof = false;
	int r;

	while (pos < end) {
		if (cancelled(b))
			return -EINTR;
		if (!eof && have - head < cp->max_size) {
			memmove(b->rbuf, b->rbuf + head, have - head);
			have -= head;
			head = 0;
			while (!eof && have < b->rbuf_cap) {
				uint64_t want = MIN(b->rbuf_cap - have, end - pos - have);
				if (want == 0) {
					eof = true;
					break;
				}
				ssize_t n = pread(fd, b->rbuf + have, want, (off_t)(pos + have));
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0)
					return -errno;
				if (n == 0) {
					eof = true;
					*ret_short = true;
					end = pos + have;
					break;
				}
				have += (size_t)n;
				b->stats.n_read += (uint64_t)n;
			}
		}
		if (have == head)
			break;
		size_t cut = chunker_cut(cp, b->rbuf + head, have - head, eof);
		if (cut == 0)
			cut = have - head; /* cannot happen: the buffer holds max_size */
		uint32_t idx = 0;
		if (b->unnamed) {
			/* A new file's chunks are hashed on the pool's threads:
			 * the extent's chunk is filled in when it comes back. */
			b->stats.n_chunks++;
			r = collect_chunks(b, COLLECT_READY);
			while (r == 0 && chunk_pool_full(b->pool))
				r = collect_chunks(b, COLLECT_ONE);
			if (r < 0)
				return r;
			chunk_pool_submit(b->pool, NULL, b->rbuf + head, cut, b->tree->n_extents);
			tree_add_extent(b->tree, pos, UINT32_MAX);
		} else {
			r = add_chunk(b, b->rbuf + head, cut, &idx);
			if (r < 0)
				return r;
			tree_add_extent(b->tree, pos, idx);
		}
		head += cut;
		pos += cut;
		progress(b, false);
	}
	return 0;
}

/* Reads a regular file's data into extents of inode ino. */
static int backup_file_data(struct backup *b, struct tree_inode *ino, int fd, uint64_t size)
{
	uint64_t off = 0;
	bool shrunk = false;
	int r;

	ino->first_extent = (uint32_t)b->tree->n_extents;
	while (off < size && !shrunk) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA);
		off_t hole;
		if (data < 0 && errno == ENXIO)
			break; /* only a hole remains */
		if (data < 0) {
			/* no SEEK_DATA here: treat the whole rest as data */
			data = (off_t)off;
			hole = (off_t)size;
		} else {
			hole = lseek(fd, data, SEEK_HOLE);
			if (hole < 0)
				hole = (off_t)size;
		}
		if ((uint64_t)data >= size)
			break;
		uint64_t end = MIN((uint64_t)hole, size);
		r = backup_segment(b, fd, (uint64_t)data, end, &shrunk);
		if (r < 0)
			return r;
		off = end;
	}
	if (shrunk)
		log_warning("'%s' shrank while being read; stored what could be read", cur_path(b));
	ino->n_extents = (uint32_t)(b->tree->n_extents - ino->first_extent);
	return 0;
}

static void list_xattrs(struct backup *b, struct tree_inode *ino)
{
	const char *path = cur_path(b);
	ino->first_xattr = b->tree->n_xattrs;
	ino->n_xattrs = 0;
	if (b->reused_no_xattrs)
		return;
	ssize_t len = llistxattr(path, NULL, 0);
	if (len <= 0)
		return;
	AUTOFREE char *names = xmalloc((size_t)len);
	len = llistxattr(path, names, (size_t)len);
	if (len <= 0)
		return;
	AUTOBUF struct buf value = BUF_INIT;
	for (char *n = names; n < names + len; n += strlen(n) + 1) {
		ssize_t vlen = lgetxattr(path, n, NULL, 0);
		if (vlen < 0 || vlen > XATTR_VALUE_LEN_MAX)
			continue;
		buf_reset(&value);
		buf_reserve(&value, (size_t)vlen + 1);
		vlen = lgetxattr(path, n, value.ptr, (size_t)vlen);
		if (vlen < 0 || strlen(n) > XATTR_NAME_LEN_MAX)
			continue;
		tree_add_xattr(b->tree, n, strlen(n), value.ptr, (size_t)vlen);
		ino->n_xattrs++;
	}
}

/* Reads the xattrs of the entry at b->path into ino, and tells the files
 * cache record of it (if remember_file() just wrote one) whether it had
 * any. */
static void read_xattrs(struct backup *b, struct tree_inode *ino)
{
	list_xattrs(b, ino);
	if (b->fc_flags_at != SIZE_MAX)
		files_cache_writer_set_flags(&b->next, b->fc_flags_at,
					     ino->n_xattrs == 0 ? FILES_CACHE_NO_XATTRS : 0);
	b->fc_flags_at = SIZE_MAX;
	b->reused_no_xattrs = false;
}

static void fill_inode(struct tree_inode *ino, const struct stat *st)
{
	memset(ino, 0, sizeof(*ino));
	ino->perm = st->st_mode & 07777;
	ino->uid = st->st_uid;
	ino->gid = st->st_gid;
	ino->mtime_sec = st->st_mtim.tv_sec;
	ino->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	if (S_ISDIR(st->st_mode))
		ino->type = NODE_DIR;
	else if (S_ISREG(st->st_mode))
		ino->type = NODE_FILE;
	else if (S_ISLNK(st->st_mode))
		ino->type = NODE_SYMLINK;
	else if (S_ISFIFO(st->st_mode))
		ino->type = NODE_FIFO;
	else if (S_ISCHR(st->st_mode))
		ino->type = NODE_CHR;
	else if (S_ISBLK(st->st_mode))
		ino->type = NODE_BLK;
	else
		ino->type = NODE_SOCK;
	if (ino->type == NODE_CHR || ino->type == NODE_BLK)
		ino->rdev = st->st_rdev;
	if (ino->type == NODE_FILE || ino->type == NODE_DIR)
		ino->size = (uint64_t)st->st_size;
}

static void link_key(const struct stat *st, uint8_t key[HMAP_KEY_LEN])
{
	memset(key, 0, HMAP_KEY_LEN);
	put_le64(key, (uint64_t)st->st_dev);
	put_le64(key + 8, (uint64_t)st->st_ino);
}

static void report(struct backup *b, int r, const char *what)
{
	log_error_errno(r, "cannot %s '%s'; it is left out of the snapshot", what, cur_path(b));
	b->stats.n_errors++;
}

/* Records a stored file in the next files cache, unless it changed after
 * the backup began: a change within the same clock tick as a read could
 * leave the stat fields as they were, so such a file is read next time. */
static void remember_file(struct backup *b, const struct tree_inode *ino, const struct stat *st)
{
	const struct timespec *s = &b->start;
	if (st->st_ctim.tv_sec > s->tv_sec ||
	    (st->st_ctim.tv_sec == s->tv_sec && st->st_ctim.tv_nsec >= s->tv_nsec) ||
	    st->st_mtim.tv_sec > s->tv_sec ||
	    (st->st_mtim.tv_sec == s->tv_sec && st->st_mtim.tv_nsec >= s->tv_nsec))
		return;
	buf_reset(&b->fc_chunks);
	buf_reserve(&b->fc_chunks, (size_t)ino->n_extents * sizeof(struct files_cache_chunk));
	struct files_cache_chunk *fcc = (struct files_cache_chunk *)b->fc_chunks.ptr;
	for (uint32_t i = 0; i < ino->n_extents; i++) {
		const struct tree_extent *e = &b->tree->extents[ino->first_extent + i];
		const struct tree_chunk *c = &b->tree->chunks[e->chunk];
		fcc[i].off = e->off;
		memcpy(fcc[i].hash, c->hash, HASH_LEN);
		fcc[i].raw_len = c->raw_len;
		fcc[i].pack = e->chunk; /* resolved when the cache is written */
		fcc[i].pack_off = 0;
		fcc[i].stored_len = 0;
	}
	b->fc_flags_at = files_cache_writer_add(&b->next, cur_path(b), st, fcc, ino->n_extents);
}

/* Finds the chunk c of a files cache record in this backup, or where the
 * cache says it is stored when that pack is live, else in the catalog;
 * returns its index in the tree, or -ENOENT. */
static int find_cached_chunk(struct backup *b, const struct files_cache_chunk *c, uint32_t *ret)
{
	uint64_t *known = hmap_get(&b->chunks, c->hash);
	const uint8_t *pack = files_cache_pack(b->old, c->pack);

	if (known || !pack || c->stored_len == 0)
		return find_chunk(b, c->hash, c->raw_len, ret);
	if (!b->dedup_packs_loaded) {
		int r = catalog_dedup_packs(b->cat, &b->dedup_packs);
		if (r < 0)
			return r;
		b->dedup_packs_loaded = true;
	}
	if (!hmap_get(&b->dedup_packs, pack))
		return find_chunk(b, c->hash, c->raw_len, ret);
	struct tree_chunk tc = {
		.pack = tree_pack_index(b, pack),
		.off = c->pack_off,
		.stored_len = c->stored_len,
		.raw_len = c->raw_len,
	};
	memcpy(tc.hash, c->hash, HASH_LEN);
	*ret = tree_add_chunk(b->tree, &tc);
	hmap_put(&b->chunks, tc.hash, *ret);
	return 0;
}

/* Gives ino the extents the files cache recorded. -ENOENT (nothing added)
 * when a chunk is no longer stored or the record does not fit the file. */
static int reuse_file(struct backup *b, struct tree_inode *ino, const struct files_cache_entry *e)
{
	uint64_t mark = b->tree->n_extents, end = 0;
	struct files_cache_chunk c;
	uint32_t idx;
	int r;

	ino->first_extent = (uint32_t)mark;
	for (uint32_t i = 0; i < e->n_chunks; i++) {
		files_cache_chunk_at(e, i, &c);
		r = -ENOENT;
		if (c.off >= end && c.raw_len > 0 && c.raw_len <= ino->size &&
		    c.off <= ino->size - c.raw_len)
			r = find_cached_chunk(b, &c, &idx);
		if (r < 0) {
			b->tree->n_extents = mark;
			return r;
		}
		tree_add_extent(b->tree, c.off, idx);
		end = c.off + c.raw_len;
	}
	ino->n_extents = (uint32_t)(b->tree->n_extents - mark);
	b->stats.n_chunks += e->n_chunks;
	return 0;
}

/* Reads a regular file into ino's extents, again when it changed while
 * being read. Returns 1 when it was left out (reported). */
static int read_file_at(struct backup *b, struct tree_inode *ino)
{
	struct stat before, after;
	int r;

	AUTOCLOSE int fd = open(cur_path(b), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(cur_path(b), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		report(b, -errno, "open");
		return 1;
	}
	if (fstat(fd, &before) < 0) {
		report(b, -errno, "stat");
		return 1;
	}
	if (!S_ISREG(before.st_mode)) {
		report(b, -EAGAIN, "read (it was replaced while being backed up)");
		return 1;
	}
	for (int attempt = 1;; attempt++) {
		uint64_t mark = b->tree->n_extents;
		fill_inode(ino, &before);
		r = backup_file_data(b, ino, fd, ino->size);
		if (b->unnamed) {
			/* every extent gets its chunk before anything looks */
			int rc = collect_chunks(b, COLLECT_ALL);
			if (rc < 0 && r >= 0)
				r = rc;
		}
		if (r == -EIO || r == -EACCES || r == -EPERM) {
			b->tree->n_extents = mark;
			report(b, r, "read");
			return 1;
		}
		if (r < 0)
			return r;
		if (fstat(fd, &after) < 0) {
			b->tree->n_extents = mark;
			report(b, -errno, "stat");
			return 1;
		}
		if (file_same_version(&before, &after)) {
			remember_file(b, ino, &after);
			return 0;
		}
		if (attempt == FILE_READ_ATTEMPTS) {
			log_warning("'%s' changed while being read, %d times; the snapshot holds "
				    "the last read, which may mix old and new contents",
				    cur_path(b), FILE_READ_ATTEMPTS);
			b->stats.n_unstable++;
			return 0;
		}
		log_warning("'%s' changed while being read; reading it again", cur_path(b));
		b->tree->n_extents = mark;
		before = after;
	}
}

/* Reads a regular file into ino's extents, as read_file_at(). A file the
 * files cache did not know (known false) is most likely new data: its
 * chunks are hashed on the pool's threads, with their compression, and
 * only then checked for duplicates, which keeps the walker's thread free to
 * read and cut. A known file that changed likely shares most chunks with
 * its last version, so those are hashed and looked up first, and only new
 * ones are compressed. */
static int read_file(struct backup *b, struct tree_inode *ino, bool known)
{
	b->unnamed = !known;
	int r = read_file_at(b, ino);
	b->unnamed = false;
	return r;
}

static void count_read_file(struct backup *b, const struct tree_inode *ino, bool known)
{
	b->stats.n_files++;
	b->stats.n_bytes += ino->size;
	if (known)
		b->stats.n_files_changed++;
	else
		b->stats.n_files_new++;
}

/* Backs up a regular file: from the files cache when nothing about it
 * changed, else by reading it. Returns 1 when it was left out. */
static int backup_regular(struct backup *b, struct tree_inode *ino, const struct stat *st)
{
	struct files_cache_entry e;
	bool known = b->old && files_cache_find(b->old, cur_path(b), &e) == 0;
	int r;

	if (known && !b->opts->force_read && files_cache_entry_matches(&e, st)) {
		r = reuse_file(b, ino, &e);
		if (r == 0) {
			b->reused_no_xattrs = e.flags & FILES_CACHE_NO_XATTRS;
			b->stats.n_files++;
			b->stats.n_files_unchanged++;
			b->stats.n_bytes += ino->size;
			remember_file(b, ino, st);
			progress(b, false);
			return 0;
		}
		if (r != -ENOENT)
			return r;
		/* a chunk is gone (pruned since): read the file */
	}
	r = read_file(b, ino, known);
	if (r != 0)
		return r;
	count_read_file(b, ino, known);
	return 0;
}

#define FILE_KNOWN 1u /* file_job flag: the files cache had the path */

/* Adds what a worker read (b->path is the job's path): chunks, extents,
 * the inode and its name under directory job->tag. */
static int finish_file_at(struct backup *b, struct file_job *job)
{
	bool known = job->flags & FILE_KNOWN;
	struct tree_inode ino;
	uint32_t idx;
	int r;

	b->fc_flags_at = SIZE_MAX;
	b->reused_no_xattrs = false;
	if (job->result < 0) {
		report(b, job->result, job->failed);
		return 0;
	}
	if (job->result == FILE_JOB_TOO_BIG) {
		/* it grew or gained holes since the walk saw it: read it here */
		struct stat st;
		if (lstat(cur_path(b), &st) < 0) {
			report(b, -errno, "stat");
			return 0;
		}
		if (!S_ISREG(st.st_mode)) {
			report(b, -EAGAIN, "read (it was replaced while being backed up)");
			return 0;
		}
		fill_inode(&ino, &st);
		r = read_file(b, &ino, known);
		if (r == 1)
			return 0;
		if (r < 0)
			return r;
	} else {
		fill_inode(&ino, &job->st);
		ino.first_extent = (uint32_t)b->tree->n_extents;
		for (uint32_t i = 0; i < job->n_chunks; i++) {
			const struct file_chunk *c = &job->chunks[i];
			r = add_hashed_chunk(b, c->hash, job->data.ptr + c->off, c->len,
					     job->sealed.ptr + c->env_off, c->env_len, &idx);
			if (r < 0)
				return r;
			tree_add_extent(b->tree, c->off, idx);
		}
		ino.n_extents = (uint32_t)(b->tree->n_extents - ino.first_extent);
		b->stats.n_read += job->data.len * (1 + (uint64_t)job->n_changed);
		for (unsigned i = 0; i < job->n_changed; i++)
			log_warning("'%s' changed while being read; reading it again", cur_path(b));
		if (job->unstable) {
			log_warning("'%s' changed while being read, %d times; the snapshot holds "
				    "the last read, which may mix old and new contents",
				    cur_path(b), FILE_READ_ATTEMPTS);
			b->stats.n_unstable++;
		} else {
			remember_file(b, &ino, &job->st);
		}
	}
	count_read_file(b, &ino, known);
	read_xattrs(b, &ino);
	idx = tree_add_inode(b->tree, &ino);
	const char *name = strrchr(job->path, '/') + 1;
	tree_add_dirent(b->tree, (uint32_t)job->tag, idx, name, strlen(name));
	progress(b, false);
	return 0;
}

static int finish_file(struct backup *b, struct file_job *job)
{
	struct buf walked = b->path;
	int r;

	b->path = BUF_INIT;
	buf_append(&b->path, job->path, strlen(job->path) + 1);
	r = finish_file_at(b, job);
	buf_release(&b->path);
	b->path = walked;
	return r;
}

/* Adds the files the workers finished, in the order they were submitted. */
static int collect_files(struct backup *b, enum collect mode)
{
	bool wait = mode != COLLECT_READY;
	struct file_job *job;
	int r = 0;

	if (!b->files)
		return 0;
	while (r >= 0 && (job = file_pool_next(b->files, wait))) {
		if (mode == COLLECT_ONE)
			wait = false;
		r = finish_file(b, job);
		file_pool_release(b->files, job);
	}
	return r;
}

/* Hands the regular file at b->path to the file pool when it is small,
 * without holes, has one name, and must be read. Returns 1 when it did. */
static int submit_file(struct backup *b, uint32_t parent, const struct stat *st)
{
	struct files_cache_entry e;
	int r;

	if (!b->files || st->st_nlink != 1 ||
	    (uint64_t)st->st_size > file_pool_max_size(b->files) ||
	    (uint64_t)st->st_blocks * 512 < (uint64_t)st->st_size)
		return 0;
	bool known = b->old && files_cache_find(b->old, cur_path(b), &e) == 0;
	if (known && !b->opts->force_read && files_cache_entry_matches(&e, st))
		return 0; /* reused, without reading: the walker does that */
	r = collect_files(b, COLLECT_READY);
	while (r == 0 && file_pool_full(b->files))
		r = collect_files(b, COLLECT_ONE);
	if (r < 0)
		return r;
	file_pool_submit(b->files, cur_path(b), parent, known ? FILE_KNOWN : 0);
	return 1;
}

static int backup_dir_entries(struct backup *b, uint32_t dir, enum select_verdict v);

/* Backs up the entry at b->path (already lstat'ed into st) as inode data;
 * v says what of a directory's contents the include list takes.
 * Returns the new inode index in *ret, or 1 when the entry was left out
 * (reported), or < 0 for a fatal error. */
static int backup_inode(struct backup *b, const struct stat *st, enum select_verdict v,
			uint32_t *ret)
{
	struct tree_inode ino;
	int r;

	fill_inode(&ino, st);
	if (ino.type == NODE_SYMLINK) {
		char target[TARGET_LEN_MAX + 1];
		ssize_t n = b->dir_fd >= 0 ? readlinkat(b->dir_fd, strrchr(cur_path(b), '/') + 1,
							target, sizeof(target))
					   : readlink(cur_path(b), target, sizeof(target));
		if (n < 0) {
			report(b, -errno, "read symlink");
			return 1;
		}
		if (n == 0 || (size_t)n > TARGET_LEN_MAX) {
			report(b, -ENAMETOOLONG, "store symlink");
			return 1;
		}
		ino.target = tree_add_str(b->tree, target, (size_t)n);
		ino.size = (uint64_t)n;
	} else if (ino.type == NODE_FILE) {
		r = backup_regular(b, &ino, st);
		if (r != 0)
			return r;
	} else if (ino.type != NODE_DIR) {
		b->stats.n_other++;
	}
	read_xattrs(b, &ino);
	*ret = tree_add_inode(b->tree, &ino);
	if (ino.type == NODE_DIR) {
		b->stats.n_dirs++;
		if (b->opts->one_file_system && st->st_dev != b->root_dev) {
			log_info("'%s' is another file system; stored empty (--one-file-system)",
				 cur_path(b));
			return 0;
		}
		r = backup_dir_entries(b, *ret, v);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Backs up the entry at b->path, named name inside directory parent; pv is
 * the parent's include verdict. */
static int backup_child_at(struct backup *b, uint32_t parent, const char *name, size_t name_len,
			   enum select_verdict pv)
{
	const struct selection *sel = b->opts->select;
	enum select_verdict v = SELECT_ALL;
	struct stat st;
	uint32_t idx = 0;
	int r;

	if (cancelled(b))
		return -EINTR;
	b->fc_flags_at = SIZE_MAX;
	b->reused_no_xattrs = false;
	if (sel) {
		v = select_include(sel, rel_path(b), pv);
		if (v == SELECT_SKIP)
			return 0;
	}
	if (!name_is_valid_component(name, name_len)) {
		report(b, -ENAMETOOLONG, "store the name of");
		return 0;
	}
	if ((b->dir_fd >= 0 ? fstatat(b->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW)
			    : lstat(cur_path(b), &st)) < 0) {
		report(b, -errno, "stat");
		return 0;
	}
	if (v == SELECT_PARTIAL && !S_ISDIR(st.st_mode))
		return 0;
	if (sel && select_is_excluded(sel, rel_path(b), S_ISDIR(st.st_mode)))
		return 0;
	if (S_ISREG(st.st_mode)) {
		r = submit_file(b, parent, &st);
		if (r != 0)
			return r < 0 ? r : 0;
		/* Read here: first add what the workers have, so that chunks,
		 * and so packs, keep the walk's order. */
		r = collect_files(b, COLLECT_ALL);
		if (r < 0)
			return r;
	}
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		uint8_t key[HMAP_KEY_LEN];
		link_key(&st, key);
		uint64_t *seen = hmap_get(&b->links, key);
		if (seen) {
			tree_add_dirent(b->tree, parent, (uint32_t)*seen, name, name_len);
			return 0;
		}
		r = backup_inode(b, &st, v, &idx);
		if (r == 0)
			hmap_put(&b->links, key, idx);
	} else {
		r = backup_inode(b, &st, v, &idx);
	}
	if (r == 0)
		tree_add_dirent(b->tree, parent, idx, name, name_len);
	return r < 0 ? r : 0;
}

/* Backs up the entry named name inside directory parent; b->path holds the
 * parent's path (and holds it again on return), pv the parent's include
 * verdict. */
static int backup_child(struct backup *b, uint32_t parent, const char *name, enum select_verdict pv)
{
	size_t saved = b->path.len;
	size_t name_len = strlen(name);
	int r;

	b->path.len--; /* drop the NUL */
	if (b->path.len > 0 && b->path.ptr[b->path.len - 1] != '/')
		buf_append_u8(&b->path, '/');
	buf_append(&b->path, name, name_len);
	buf_append_u8(&b->path, 0);
	r = backup_child_at(b, parent, name, name_len, pv);
	b->path.len = saved;
	b->path.ptr[saved - 1] = 0;
	return r;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define CACHEDIR_TAG "CACHEDIR.TAG"
#define CACHEDIR_SIGNATURE "Signature: 8a477f597d28d172789f06886806bc55"

/* True when the directory at b->path holds a CACHEDIR.TAG that starts with
 * the signature (https://bford.info/cachedir/). */
static bool is_cache_dir(struct backup *b)
{
	char sig[sizeof(CACHEDIR_SIGNATURE) - 1];
	AUTOFREE char *tag = xasprintf("%s/" CACHEDIR_TAG, cur_path(b));
	AUTOCLOSE int fd = open(tag, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	ssize_t n = pread_full(fd, sig, sizeof(sig), 0);
	return n == (ssize_t)sizeof(sig) && memcmp(sig, CACHEDIR_SIGNATURE, sizeof(sig)) == 0;
}

static int backup_dir_entries(struct backup *b, uint32_t dir, enum select_verdict v)
{
	bool has_tag = false;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;

	DIR *d = opendir(cur_path(b));
	if (!d) {
		report(b, -errno, "list directory");
		return 0; /* the directory itself stays, empty */
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		XGROW_ARRAY(names, cap, n + 1);
		names[n++] = xstrdup(de->d_name);
		if (strcmp(de->d_name, CACHEDIR_TAG) == 0)
			has_tag = true;
	}
	if (errno)
		report(b, -errno, "list all of directory");
	/* Its entries are stat'ed relative to it, which spares the kernel a
	 * walk of the whole path for each; deep trees fall back to paths
	 * rather than hold a descriptor per level. */
	int saved_fd = b->dir_fd;
	if (b->open_dirs < WALK_OPEN_DIRS_MAX) {
		b->dir_fd = dirfd(d);
		b->open_dirs++;
	} else {
		closedir(d);
		d = NULL;
		b->dir_fd = -1;
	}
	if (has_tag && b->opts->exclude_caches && is_cache_dir(b)) {
		/* Keep the tag, so a restore still marks the directory. */
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		names[0] = xstrdup(CACHEDIR_TAG);
		n = 1;
		log_info("'%s' is a cache directory; only its %s is stored (--exclude-caches)",
			 cur_path(b), CACHEDIR_TAG);
	}
	/* Sorted, so chunks of neighbouring files land in packs in a stable
	 * order and restores read packs sequentially. */
	if (n > 0)
		qsort(names, n, sizeof(char *), name_cmp);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = backup_child(b, dir, names[i], v);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d) {
		closedir(d);
		b->open_dirs--;
	}
	b->dir_fd = saved_fd;
	return r;
}

/* Starts the walk of a PATH operand at path; the names below it are what
 * the snapshot-relative paths start with. */
static void set_path(struct backup *b, const char *path)
{
	size_t len = strlen(path);
	buf_reset(&b->path);
	buf_append(&b->path, path, len + 1);
	b->rel_off = len > 0 && path[len - 1] == '/' ? len : len + 1;
}

/* Base name of path, ignoring trailing slashes; borrowed from a copy. */
static char *base_name(const char *path)
{
	char *p = xstrdup(path);
	size_t len = strlen(p);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	char *slash = strrchr(p, '/');
	char *base = xstrdup(slash ? slash + 1 : p);
	free(p);
	return base;
}

static int walk(struct backup *b)
{
	const struct backup_options *o = b->opts;
	const struct selection *sel = o->select;
	enum select_verdict top =
		sel && sel->has_includes && !sel->include_all ? SELECT_PARTIAL : SELECT_ALL;
	struct stat st;
	int r;

	if (o->n_paths == 1 && stat(o->paths[0], &st) == 0 && S_ISDIR(st.st_mode)) {
		struct tree_inode root;
		set_path(b, o->paths[0]);
		b->root_dev = st.st_dev;
		fill_inode(&root, &st);
		read_xattrs(b, &root);
		uint32_t idx = tree_add_inode(b->tree, &root);
		b->stats.n_dirs++;
		return backup_dir_entries(b, idx, top);
	}

	/* Several paths, or one that is not a directory: a synthetic root
	 * holds each under its base name. */
	struct tree_inode root = {
		.type = NODE_DIR,
		.perm = 0755,
		.uid = getuid(),
		.gid = getgid(),
		.mtime_sec = o->time_sec,
		.mtime_nsec = o->time_nsec,
		.first_xattr = 0,
	};
	tree_add_inode(b->tree, &root);
	b->stats.n_dirs++;
	for (size_t i = 0; i < o->n_paths; i++) {
		AUTOFREE char *base = base_name(o->paths[i]);
		for (size_t j = 0; j < i; j++) {
			AUTOFREE char *other = base_name(o->paths[j]);
			if (strcmp(base, other) == 0)
				return log_error_errno(-EINVAL,
						       "'%s' and '%s' would both appear as '%s'",
						       o->paths[j], o->paths[i], base);
		}
		if (!name_is_valid_component(base, strlen(base)))
			return log_error_errno(-EINVAL,
					       "cannot back up '%s' under a name of its own",
					       o->paths[i]);
		if (lstat(o->paths[i], &st) < 0)
			return log_error_errno(-errno, "cannot back up '%s'", o->paths[i]);
		b->root_dev = st.st_dev;
		/* backup_child appends the base name to the parent's path. */
		AUTOFREE char *copy = xstrdup(o->paths[i]);
		size_t len = strlen(copy);
		while (len > 1 && copy[len - 1] == '/')
			copy[--len] = '\0';
		char *slash = strrchr(copy, '/');
		if (slash == copy)
			set_path(b, "/");
		else if (slash) {
			*slash = '\0';
			set_path(b, copy);
		} else {
			set_path(b, ".");
		}
		r = backup_child(b, 0, base, top);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Stores raw as an object of kind, counting what it stored. */
static int put_object(struct backup *b, enum object_kind kind, struct buf *raw, int level,
		      uint8_t ret_id[HASH_LEN])
{
	uint64_t stored;
	int r = object_put(b->backend, repo_keys(b->repo), kind, raw, level, ret_id, &stored);

	if (r == 0)
		b->stats.n_stored += stored;
	return r;
}

/* A tree identical to one prune marked for deletion would share its name
 * and go with it: one random pack id that no chunk uses makes it differ. */
static int unclash_tree(struct backup *b, struct buf *raw)
{
	uint8_t id[HASH_LEN], salt[HASH_LEN];
	int r;

	crypto_id(repo_keys(b->repo), raw->ptr, raw->len, id);
	if (!pending_find(&b->pending, PENDING_TREE, id))
		return 0;
	r = crypto_random(salt, sizeof(salt));
	if (r < 0)
		return r;
	tree_add_pack(b->tree, salt);
	buf_reset(raw);
	return tree_encode(b->tree, raw);
}

static char *files_cache_path(struct backup *b)
{
	return xasprintf("%s/files/%s", repo_cache_dir(b->repo), b->opts->member);
}

/* The files cache, if it describes the member's latest snapshot. */
static void load_files_cache(struct backup *b)
{
	AUTOFREE char *path = files_cache_path(b);
	struct cat_snapshot s;
	struct files_cache *fc = NULL;

	if (catalog_find_snapshot(b->cat, b->opts->member, "latest", &s) < 0)
		return; /* a first backup */
	int r = files_cache_load(path, &fc);
	if (r < 0) {
		if (r != -ENOENT)
			log_warning("ignoring the damaged files cache '%s'; every file is read",
				    path);
		return;
	}
	if (memcmp(fc->snap_id, s.snap_id, HASH_LEN) != 0) {
		log_info("the latest snapshot of '%s' was not made here; every file is read",
			 b->opts->member);
		files_cache_free(fc);
		return;
	}
	b->old = fc;
}

/* After the commit: what this snapshot knows, for the next backup. A
 * failure costs the next backup a full read, nothing more. */
static void save_files_cache(struct backup *b, const uint8_t snap_id[HASH_LEN])
{
	AUTOFREE char *dir = xasprintf("%s/files", repo_cache_dir(b->repo));
	AUTOFREE char *path = files_cache_path(b);
	int r = 0;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0)
		r = files_cache_writer_commit(&b->next, path, snap_id, b->tree);
	if (r < 0)
		log_warning("cannot write the files cache '%s' (%s); the next backup reads every "
			    "file",
			    path, strerror(-r));
}

static int write_snapshot(struct backup *b, struct backup_result *ret)
{
	const struct backup_options *o = b->opts;
	struct tree *t = b->tree;
	AUTOBUF struct buf raw = BUF_INIT;
	struct snapshot_header h = { 0 };
	uint8_t index_id[HASH_LEN];
	int r;

	r = collect_chunks(b, COLLECT_ALL);
	if (r == 0)
		r = flush_pack(b);
	if (r == 0)
		r = upload_pool_wait(b->uploads); /* every pack durable before the index */
	if (r < 0)
		return r;
	if (b->index.n_packs > 0) {
		index_encode(&b->index, &raw);
		r = put_object(b, OBJECT_INDEX, &raw, 3, index_id);
		if (r < 0)
			return r;
	}
	buf_reset(&raw);
	r = tree_encode(t, &raw);
	if (r == 0)
		r = unclash_tree(b, &raw);
	if (r == -ENAMETOOLONG)
		return log_error_errno(r,
				       "cannot encode the tree: a directory lies deeper than %d "
				       "levels, or a path is longer than %d bytes",
				       TREE_DEPTH_MAX, TREE_PATH_MAX);
	if (r < 0)
		return log_error_errno(r, "cannot encode the tree");
	r = put_object(b, OBJECT_TREE, &raw, MAX(b->cfg->zstd_level, 1), h.tree_id);
	if (r < 0)
		return r;

	snprintf(h.member, sizeof(h.member), "%s", o->member);
	h.time_sec = o->time_sec;
	h.time_nsec = o->time_nsec;
	if (gethostname(h.host, sizeof(h.host) - 1) < 0)
		h.host[0] = '\0';
	for (size_t i = 0; i < o->n_tags; i++)
		h.tags[h.n_tags++] = (char *)o->tags[i];
	h.n_files = b->stats.n_files;
	h.n_dirs = b->stats.n_dirs;
	h.n_bytes = b->stats.n_bytes;
	h.n_stored = b->stats.n_stored;
	h.n_inodes = t->n_inodes;
	h.root_perm = t->inodes[0].perm;
	h.root_uid = t->inodes[0].uid;
	h.root_gid = t->inodes[0].gid;
	h.root_mtime_sec = t->inodes[0].mtime_sec;
	h.root_mtime_nsec = t->inodes[0].mtime_nsec;
	h.root_nlink = 2;
	for (uint32_t i = 0; i < t->n_dirents; i++)
		if (t->dirents[i].parent == 0 && t->inodes[t->dirents[i].inode].type == NODE_DIR)
			h.root_nlink++;
	buf_reset(&raw);
	snapshot_header_encode(&h, &raw);
	if (cancelled(b))
		return -EINTR;
	r = lock_verify(b->lock);
	if (r < 0) {
		log_error("hint: run the backup again; it stores only what is missing");
		return r;
	}
	r = put_object(b, OBJECT_SNAPSHOT, &raw, 0, ret->snap_id);
	if (r < 0)
		return r;

	/* Committed. Readers that cannot list learn of it from the published
	 * snapshot list; a failure there is repaired by the next backup. */
	if (repo_publish_listing(b->repo) < 0)
		log_warning("the snapshot is stored, but readers over plain HTTP will not see it "
			    "until the snapshot list is published again");
	/* Teach the catalog what it now holds; it is a cache, so failing here
	 * only costs a later sync. */
	if (b->index.n_packs > 0)
		r = catalog_add_index(b->cat, index_id, &b->index);
	if (r >= 0)
		r = catalog_add_snapshot(b->cat, ret->snap_id, &h);
	if (r < 0)
		log_warning("the snapshot is stored, but the local catalog could not be updated");
	if (!o->fill) /* a tar stream or stdin has no stat fields to compare */
		save_files_cache(b, ret->snap_id);
	return 0;
}

int backup_run(struct repo *r, struct catalog *c, const struct backup_options *opts,
	       struct backup_result *ret)
{
	struct backup_options o = *opts;
	struct backup b = {
		.repo = r,
		.cat = c,
		.backend = repo_backend(r),
		.cfg = repo_get_config(r),
		.opts = &o,
		.cur_pack = NO_PACK,
		.fc_flags_at = SIZE_MAX,
		.dir_fd = -1,
	};
	struct backup_result res = { 0 };
	int rc;

	if (!member_name_is_valid(o.member))
		return log_error_errno(-EINVAL, "invalid member name '%s'", o.member);
	if (o.n_paths == 0 && !o.fill)
		return log_error_errno(-EINVAL, "nothing to back up");
	if (backend_is_read_only(b.backend)) {
		log_error("cannot back up into '%s': the backend is read-only",
			  backend_url(b.backend));
		log_error("hint: back up into the repository's source (a directory or s3:// URL) "
			  "and publish it from there");
		return -EROFS;
	}
	if (o.time_sec == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		o.time_sec = ts.tv_sec;
		o.time_nsec = (uint32_t)ts.tv_nsec;
	}
	rc = lock_acquire(b.backend, repo_keys(r), LOCK_SHARED, "back up", &b.lock);
	if (rc < 0)
		return rc;
	rc = repo_sync_index(r, c, &b.pending);
	if (rc < 0) {
		lock_release(b.lock);
		return rc;
	}

	b.tree = tree_new();
	b.pw = pack_writer_new(repo_keys(r));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned workers = cpus < 1 ? 1 : cpus > 8 ? 8 : (unsigned)cpus;
	rc = chunk_pool_new(repo_keys(r), workers, 4 * workers, b.cfg->zstd_level, &b.pool);
	/* Small files are read on their own threads: their cost is open, stat
	 * and read calls more than bytes, which one thread cannot overlap.
	 * Memory for them stays within FILE_POOL_PENDING * FILE_POOL_MAX. */
	b.files = file_pool_new(repo_keys(r), workers, FILE_POOL_PENDING, &b.cfg->chunker,
				b.cfg->zstd_level, FILE_POOL_MAX);
	/* One pack queued per uploading thread, besides those being stored:
	 * memory for packs stays within 2 * n * pack_size. */
	unsigned uploaders = backend_put_parallelism(b.backend);
	if (rc >= 0)
		rc = upload_pool_new(b.backend, uploaders, uploaders, &b.uploads);
	b.rbuf_cap = MAX((size_t)b.cfg->chunker.max_size * 4, (size_t)8 << 20);
	b.rbuf = xmalloc(b.rbuf_cap);
	hmap_init(&b.chunks);
	hmap_init(&b.packs);
	hmap_init(&b.links);
	hmap_init(&b.dedup_packs);
	index_init(&b.index);
	AUTOFREE char *fc_dir = xasprintf("%s/files", repo_cache_dir(b.repo));
	files_cache_writer_init(&b.next, fc_dir);
	clock_gettime(CLOCK_REALTIME_COARSE, &b.start);
	if (!o.fill)
		load_files_cache(&b);

	/* The walk (and a fill) only looks chunks up in the catalog: in one
	 * read transaction, each lookup costs no locking. */
	bool reading = rc >= 0 && catalog_read_begin(c) == 0;
	if (rc >= 0)
		rc = o.fill ? o.fill(&b, o.fill_data) : walk(&b);
	if (o.fill) /* a stream has nothing to compare with: every file is new */
		b.stats.n_files_new = b.stats.n_files;
	if (rc >= 0)
		rc = collect_files(&b, COLLECT_ALL);
	if (rc >= 0)
		rc = collect_chunks(&b, COLLECT_ALL);
	if (reading)
		catalog_read_end(c);
	if (rc >= 0)
		rc = write_snapshot(&b, &res);
	if (rc == -EINTR)
		log_error("the backup was interrupted; no snapshot was written");
	progress(&b, true);
	res.stats = b.stats;

	tree_free(b.tree);
	pack_writer_free(b.pw);
	free(b.rbuf);
	hmap_release(&b.chunks);
	hmap_release(&b.packs);
	hmap_release(&b.links);
	hmap_release(&b.dedup_packs);
	index_release(&b.index);
	files_cache_free(b.old);
	files_cache_writer_release(&b.next);
	buf_release(&b.fc_chunks);
	file_pool_free(b.files);
	chunk_pool_free(b.pool);
	upload_pool_free(b.uploads);
	buf_release(&b.path);
	lock_release(b.lock);
	pending_release(&b.pending);
	if (rc < 0)
		return rc;
	*ret = res;
	return 0;
}

/* --- for the other sources of a backup (backup-internal.h) --- */

struct tree *backup_tree(struct backup *b)
{
	return b->tree;
}

struct backup_stats *backup_stats(struct backup *b)
{
	return &b->stats;
}

const struct backup_options *backup_options(const struct backup *b)
{
	return b->opts;
}

const struct chunker_params *backup_chunker(const struct backup *b)
{
	return &b->cfg->chunker;
}

int backup_add_chunk(struct backup *b, const uint8_t *data, size_t len, uint32_t *ret)
{
	return add_chunk(b, data, len, ret);
}

void backup_progress(struct backup *b)
{
	progress(b, false);
}
