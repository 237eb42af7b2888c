/*
 * files-cache.c - the per-member files cache that makes re-backups cheap.
 *
 * The file lives at <cache dir>/files/<member>, is written after the
 * snapshot it describes is committed, and replaces the previous one by
 * rename, so a crash leaves the old or the new one whole. It is a hint,
 * never trusted for correctness: a backup reuses a cached chunk only once
 * the catalog confirms the pack the cache names is live (a merged index
 * names it and prune has not marked it), else looks the chunk up in the
 * catalog, and falls back to reading the file when that fails too. It is
 * still parsed as untrusted input.
 *
 *   size        meaning
 *   8           magic "CAIRNFC2"
 *   32          id of the snapshot it describes
 *   4           number of packs, then that many pack ids (32 each)
 *   8           number of records
 *   per record  path blob (u32 length + bytes), size 8, mtime sec 8, nsec 4,
 *               ctime sec 8, nsec 4, inode 8, device 8, flags 4 (1: the file
 *               had no xattrs), n_chunks 4, then n_chunks times: file
 *               offset 8, chunk id 32, raw length 4, pack (index into the
 *               packs; 0xffffffff: unknown) 4, offset in the pack 8, stored
 *               length 4
 *
 * The pack and offset of each chunk spare the backup a catalog query per
 * chunk of an unchanged file: it checks the pack once, in a set.
 *
 * Setting an xattr changes a file's ctime, so a file whose stat fields
 * match had the same xattrs as last time: with flag 1, none, and the backup
 * skips listing them.
 *
 * Paths are the ones the backup walked (as given on its command line), so
 * the same data reached by another path is read again, once.
 */
#include "ops/files-cache.h"
#include "base/rbuf.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

static uint64_t path_seed[2];
static pthread_once_t path_seed_once = PTHREAD_ONCE_INIT;

static void path_seed_init(void)
{
	if (getrandom(path_seed, sizeof(path_seed), 0) != (ssize_t)sizeof(path_seed))
		path_seed[0] = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull; /* still works */
}

/* The hmap key of a path: two seeded 64-bit multiplicative hashes, not
 * SHA-256, which run twice per file cost a tenth of an unchanged
 * re-backup. The seed is random per process, so collisions cannot be
 * planned, and a collision only makes a file read again (the path itself
 * is compared). */
static void path_key(const char *path, size_t len, uint8_t key[HMAP_KEY_LEN])
{
	pthread_once(&path_seed_once, path_seed_init);
	uint64_t h1 = path_seed[0] ^ 0xcbf29ce484222325ull;
	uint64_t h2 = path_seed[1] ^ 0x84222325cbf29ce4ull;
	for (size_t i = 0; i < len; i++) {
		h1 = (h1 ^ (uint8_t)path[i]) * 0x100000001b3ull;
		h2 = (h2 ^ (uint8_t)path[i]) * 0x9e3779b97f4a7c15ull;
	}
	memset(key, 0, HMAP_KEY_LEN);
	put_le64(key, h1);
	put_le64(key + 8, h2 ^ len);
}

#define MAGIC "CAIRNFC2"
#define MAGIC_LEN 8
#define CHUNK_RECORD 60
#define PACKS_MAX (1u << 24)
#define RECORD_FIXED 52 /* after the path blob, before n_chunks */
#define FLAGS_AT 48	/* of the flags, after the path blob */
#define PATH_LEN_MAX 65536
#define FILE_LEN_MAX ((size_t)1 << 34)

void files_cache_free(struct files_cache *fc)
{
	if (!fc)
		return;
	free(fc->data);
	hmap_release(&fc->paths);
	free(fc);
}

static int parse(struct files_cache *fc)
{
	struct rbuf r = rbuf_make(fc->data, fc->len);
	const uint8_t *magic = rbuf_take(&r, MAGIC_LEN);
	if (!magic || memcmp(magic, MAGIC, MAGIC_LEN) != 0)
		return -EBADMSG;
	rbuf_copy(&r, fc->snap_id, HASH_LEN);
	uint32_t n_packs = rbuf_le32(&r);
	if (!rbuf_ok(&r) || n_packs > PACKS_MAX || n_packs > rbuf_left(&r) / HASH_LEN)
		return -EBADMSG;
	fc->packs = rbuf_take(&r, (size_t)n_packs * HASH_LEN);
	fc->n_packs = n_packs;
	uint64_t n = rbuf_le64(&r);
	if (!rbuf_ok(&r) || n > rbuf_left(&r) / (4 + RECORD_FIXED + 4))
		return -EBADMSG;
	for (uint64_t i = 0; i < n; i++) {
		size_t at = r.off;
		uint32_t len;
		const uint8_t *path = rbuf_blob32(&r, PATH_LEN_MAX, &len);
		rbuf_take(&r, RECORD_FIXED);
		uint32_t n_chunks = rbuf_le32(&r);
		if (!path || !rbuf_ok(&r) || n_chunks > rbuf_left(&r) / CHUNK_RECORD)
			return -EBADMSG;
		rbuf_take(&r, (size_t)n_chunks * CHUNK_RECORD);
		uint8_t key[HMAP_KEY_LEN];
		path_key((const char *)path, len, key);
		hmap_put(&fc->paths, key, at);
	}
	return rbuf_left(&r) == 0 ? 0 : -EBADMSG;
}

int files_cache_parse(uint8_t *data, size_t len, struct files_cache **ret)
{
	struct files_cache *fc = xcalloc(1, sizeof(*fc));
	hmap_init(&fc->paths);
	fc->data = data;
	fc->len = len;
	int r = parse(fc);
	if (r < 0) {
		files_cache_free(fc);
		return r;
	}
	*ret = fc;
	return 0;
}

int files_cache_load(const char *path, struct files_cache **ret)
{
	AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > FILE_LEN_MAX)
		return -EBADMSG;
	size_t len = (size_t)st.st_size;
	uint8_t *data = xmalloc(len ? len : 1);
	ssize_t n = pread_full(fd, data, len, 0);
	if (n < 0 || (size_t)n != len) {
		free(data);
		return n < 0 ? (int)n : -EBADMSG;
	}
	return files_cache_parse(data, len, ret);
}

int files_cache_find(const struct files_cache *fc, const char *path, struct files_cache_entry *ret)
{
	uint8_t key[HMAP_KEY_LEN];
	size_t len = strlen(path);

	path_key(path, len, key);
	uint64_t *at = hmap_get(&fc->paths, key);
	if (!at)
		return -ENOENT;
	struct rbuf r = rbuf_make(fc->data + *at, fc->len - *at);
	uint32_t plen;
	const uint8_t *p = rbuf_blob32(&r, PATH_LEN_MAX, &plen);
	if (!p || plen != len || memcmp(p, path, len) != 0)
		return -ENOENT; /* a hash collision: treat as new */
	struct files_cache_entry e;
	e.size = rbuf_le64(&r);
	e.mtime_sec = (int64_t)rbuf_le64(&r);
	e.mtime_nsec = rbuf_le32(&r);
	e.ctime_sec = (int64_t)rbuf_le64(&r);
	e.ctime_nsec = rbuf_le32(&r);
	e.ino = rbuf_le64(&r);
	e.dev = rbuf_le64(&r);
	e.flags = rbuf_le32(&r);
	e.n_chunks = rbuf_le32(&r);
	e.chunks = rbuf_take(&r, (size_t)e.n_chunks * CHUNK_RECORD);
	if (!rbuf_ok(&r))
		return -ENOENT; /* parse() checked this already */
	*ret = e;
	return 0;
}

bool files_cache_entry_matches(const struct files_cache_entry *e, const struct stat *st)
{
	return e->size == (uint64_t)st->st_size && e->mtime_sec == st->st_mtim.tv_sec &&
	       e->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec &&
	       e->ctime_sec == st->st_ctim.tv_sec &&
	       e->ctime_nsec == (uint32_t)st->st_ctim.tv_nsec && e->ino == (uint64_t)st->st_ino &&
	       e->dev == (uint64_t)st->st_dev;
}

void files_cache_chunk_at(const struct files_cache_entry *e, uint32_t i,
			  struct files_cache_chunk *ret)
{
	const uint8_t *p = e->chunks + (size_t)i * CHUNK_RECORD;
	ret->off = get_le64(p);
	memcpy(ret->hash, p + 8, HASH_LEN);
	ret->raw_len = get_le32(p + 8 + HASH_LEN);
	ret->pack = get_le32(p + 12 + HASH_LEN);
	ret->pack_off = get_le64(p + 16 + HASH_LEN);
	ret->stored_len = get_le32(p + 24 + HASH_LEN);
}

const uint8_t *files_cache_pack(const struct files_cache *fc, uint32_t i)
{
	return i < fc->n_packs ? fc->packs + (size_t)i * HASH_LEN : NULL;
}

void files_cache_writer_init(struct files_cache_writer *w, const char *dir)
{
	buf_init(&w->records);
	w->n = 0;
	w->spilled = 0;
	w->spill_fd = -1;
	w->spill_failed = false;
	w->spill_at = FILES_CACHE_SPILL_AT;
	w->dir = xstrdup(dir);
}

void files_cache_writer_release(struct files_cache_writer *w)
{
	buf_release(&w->records);
	if (w->spill_fd >= 0)
		close(w->spill_fd);
	w->spill_fd = -1;
	free(w->dir);
	w->dir = NULL;
}

/* Moves the records in memory to the spill file, made on first use. */
static void spill(struct files_cache_writer *w)
{
	if (w->spill_fd < 0) {
		if (mkdir(w->dir, 0700) < 0 && errno != EEXIST) {
			w->spill_failed = true;
			return;
		}
		w->spill_fd = open(w->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (w->spill_fd < 0) {
			/* No O_TMPFILE there: a name, removed at once. */
			AUTOFREE char *tmp =
				xasprintf("%s/.spill.%ld.XXXXXX", w->dir, (long)getpid());
			w->spill_fd = mkostemp(tmp, O_CLOEXEC);
			if (w->spill_fd >= 0)
				unlink(tmp);
		}
		if (w->spill_fd < 0) {
			w->spill_failed = true;
			return;
		}
	}
	if (pwrite_all(w->spill_fd, w->records.ptr, w->records.len, w->spilled) < 0) {
		w->spill_failed = true; /* what it holds stays valid; the rest stays here */
		return;
	}
	w->spilled += w->records.len;
	buf_reset(&w->records);
}

size_t files_cache_writer_add(struct files_cache_writer *w, const char *path, const struct stat *st,
			      const struct files_cache_chunk *chunks, uint32_t n)
{
	struct buf *b = &w->records;
	if (b->len >= w->spill_at && !w->spill_failed)
		spill(w);
	size_t at = (size_t)w->spilled + b->len + 4 + strlen(path) + FLAGS_AT;
	buf_append_blob32(b, path, strlen(path));
	buf_append_le64(b, (uint64_t)st->st_size);
	buf_append_le64(b, (uint64_t)st->st_mtim.tv_sec);
	buf_append_le32(b, (uint32_t)st->st_mtim.tv_nsec);
	buf_append_le64(b, (uint64_t)st->st_ctim.tv_sec);
	buf_append_le32(b, (uint32_t)st->st_ctim.tv_nsec);
	buf_append_le64(b, (uint64_t)st->st_ino);
	buf_append_le64(b, (uint64_t)st->st_dev);
	buf_append_le32(b, 0);
	buf_append_le32(b, n);
	for (uint32_t i = 0; i < n; i++) {
		buf_append_le64(b, chunks[i].off);
		buf_append(b, chunks[i].hash, HASH_LEN);
		buf_append_le32(b, chunks[i].raw_len);
		buf_append_le32(b, chunks[i].pack);
		buf_append_le64(b, chunks[i].pack_off);
		buf_append_le32(b, chunks[i].stored_len);
	}
	w->n++;
	return at;
}

void files_cache_writer_set_flags(struct files_cache_writer *w, size_t at, uint32_t flags)
{
	uint8_t v[4];

	if (at >= w->spilled) {
		if (at - w->spilled + 4 <= w->records.len)
			put_le32(w->records.ptr + (at - w->spilled), flags);
	} else if (at + 4 <= w->spilled) {
		/* An older record, already spilled: written where it is. If
		 * that fails the flags stay 0, which costs a listing of the
		 * file's xattrs next time, nothing more. */
		put_le32(v, flags);
		int UNUSED r = pwrite_all(w->spill_fd, v, sizeof(v), at);
	}
}

/* Replaces the tree chunk index that each chunk record holds in its pack
 * field by where the chunk is (pack index, offset and stored length), in
 * the whole records at the start of p; returns the bytes they take. */
static size_t resolve_records(uint8_t *p, size_t len, const struct tree *t)
{
	size_t at = 0;

	for (;;) {
		if (len - at < 4)
			break;
		size_t fixed = 4 + (size_t)get_le32(p + at) + RECORD_FIXED + 4;
		if (len - at < fixed)
			break;
		uint32_t n_chunks = get_le32(p + at + fixed - 4);
		size_t rec = fixed + (size_t)n_chunks * CHUNK_RECORD;
		if (len - at < rec)
			break;
		uint8_t *c = p + at + fixed;
		for (uint32_t k = 0; k < n_chunks; k++, c += CHUNK_RECORD) {
			uint32_t idx = get_le32(c + 12 + HASH_LEN);
			const struct tree_chunk *tc = idx < t->n_chunks ? &t->chunks[idx] : NULL;
			bool known = tc && tc->pack < t->n_packs;
			put_le32(c + 12 + HASH_LEN, known ? tc->pack : FILES_CACHE_NO_PACK);
			put_le64(c + 16 + HASH_LEN, known ? tc->off : 0);
			put_le32(c + 24 + HASH_LEN, known ? tc->stored_len : 0);
		}
		at += rec;
	}
	return at;
}

/* Copies the spilled records to fd, resolved, a block at a time. */
static int copy_spilled(struct files_cache_writer *w, int fd, const struct tree *t)
{
	AUTOBUF struct buf work = BUF_INIT;
	uint64_t off = 0;
	int r;

	buf_reserve(&work, FILES_CACHE_SPILL_AT);
	while (off < w->spilled) {
		if (work.len == work.cap)
			buf_reserve(&work, work.cap); /* a record longer than the block */
		size_t want = (size_t)MIN((uint64_t)(work.cap - work.len), w->spilled - off);
		ssize_t got = pread_full(w->spill_fd, work.ptr + work.len, want, off);
		if (got < 0)
			return (int)got;
		if ((size_t)got < want)
			return -EIO; /* shorter than what was spilled */
		off += (uint64_t)got;
		work.len += (size_t)got;
		size_t done = resolve_records(work.ptr, work.len, t);
		r = write_all(fd, work.ptr, done);
		if (r < 0)
			return r;
		memmove(work.ptr, work.ptr + done, work.len - done);
		work.len -= done;
	}
	/* The spill file holds whole records only. */
	return work.len == 0 ? 0 : -EIO;
}

int files_cache_writer_commit(struct files_cache_writer *w, const char *path,
			      const uint8_t snap_id[HASH_LEN], const struct tree *t)
{
	AUTOBUF struct buf head = BUF_INIT;
	AUTOFREE char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	int r;

	buf_append(&head, MAGIC, MAGIC_LEN);
	buf_append(&head, snap_id, HASH_LEN);
	buf_append_le32(&head, t->n_packs);
	buf_append(&head, t->packs, (size_t)t->n_packs * HASH_LEN);
	buf_append_le64(&head, w->n);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, head.ptr, head.len);
	if (r == 0 && w->spilled > 0)
		r = copy_spilled(w, fd, t);
	if (r == 0 && resolve_records(w->records.ptr, w->records.len, t) != w->records.len)
		r = -EIO;
	if (r == 0)
		r = write_all(fd, w->records.ptr, w->records.len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}
