/*
 * fs-read.c - reading a snapshot's regular files.
 *
 * A read of [off, off + size) asks the catalog for the extents that meet
 * it, in file order, a batch at a time. Gaps between extents, and the space
 * after the last one, are holes and read as zeros; each extent's bytes come
 * from the shared chunk cache. The reply is built by reference: the pieces
 * point into cache entries, held until the reply has been sent, and into a
 * mapping of zeros for holes, so the only copy of the data is the kernel's.
 * The first chunk that cannot be had fails the read with its error: the
 * caller turns it into EIO for this read alone, and the next read tries
 * again.
 *
 * A chunk in the cache's compressed tier gives only the blocks a read
 * needs (cache_get_range()), so a random reader's 4 KiB read of it costs
 * the decoding of one 16 KiB block, not of the whole chunk.
 *
 * A sequential reader's read that reaches the end of a chunk hands it back
 * as consumed (cache_put_consumed()): the kernel's page cache has the
 * bytes now, and the chunks after it reuse its buffer.
 *
 * The mount asks the kernel not to send opens (fs-ops.c), so what a read
 * needs to know of its file (size, readahead state) is kept per inode in a
 * small table of the files read most recently; a file that falls out of it
 * only loses its readahead state.
 *
 * Readahead: fs_ra_advance() decides, from where the reads of a file have
 * reached, whether this read is sequential and which bytes to prefetch. The
 * window starts at FS_RA_INITIAL and doubles while the reader stays
 * sequential, up to -o readahead (at most a quarter of the cache, so that
 * prefetching cannot evict what is being read); a seek closes it. The chunks
 * of those bytes go to the cache's workers in one batch, so chunks that are
 * adjacent in a pack are fetched with one request and decoded in parallel,
 * while the kernel is still busy with this read.
 */
#include "fs.h"
#include "base/log.h"

#include <assert.h>
#include <sys/stat.h>

#define FS_EXTENT_BATCH 64
/* Chunks handed to the prefetch workers per read, at most. */
#define FS_PREFETCH_BATCH 128

bool fs_ra_advance(struct fs_ra *ra, uint64_t off, uint64_t end, uint64_t size, uint64_t max,
		   uint64_t *ret_from, uint64_t *ret_to)
{
	uint64_t from, to, slack = FS_RA_SLACK;

	if (ra->window == 0)
		slack = MIN(slack, MAX((end - off) * FS_RA_OPEN_READS, (uint64_t)FS_RA_OPEN_MIN));

	if (off > ra->next + slack || off + slack < ra->next) {
		/* A seek: start over, prefetching nothing until the reader
		 * shows it goes on from here. */
		ra->next = end;
		ra->window = 0;
		ra->ahead = end;
		return false;
	}
	ra->next = MAX(ra->next, end);
	if (max == 0)
		return false;
	if (ra->window == 0) {
		ra->window = MIN((uint64_t)FS_RA_INITIAL, max);
	} else {
		/* Ask again only once the reader has used up half the window. */
		if (ra->ahead >= ra->next + ra->window / 2)
			return false;
		ra->window = MIN(ra->window * 2, max);
	}
	from = MAX(ra->ahead, ra->next);
	to = MIN(ra->next + ra->window, size);
	ra->ahead = MAX(ra->ahead, to);
	if (from >= to)
		return false;
	*ret_from = from;
	*ret_to = to;
	return true;
}

/* The file ino as the table knows it, entered (with its size from the
 * catalog) if need be. Returns with files_lock held on success. */
static int lock_file(struct fs *fs, struct catalog *c, uint64_t ino, struct fs_file **ret)
{
	struct fs_file *f, *oldest;
	struct cat_attr attr = { .ino = 0 }; /* no inode is 0 */
	int r;

	pthread_mutex_lock(&fs->files_lock);
	for (;;) {
		oldest = &fs->files[0];
		for (size_t i = 0; i < FS_FILES; i++) {
			f = &fs->files[i];
			if (f->ino == ino) {
				f->tick = ++fs->files_tick;
				*ret = f;
				return 0;
			}
			if (f->tick < oldest->tick)
				oldest = f;
		}
		if (attr.ino == ino)
			break; /* looked up below on the previous round */
		pthread_mutex_unlock(&fs->files_lock);
		r = fs_tree_getattr(&fs->tree, c, ino, &attr);
		if (r < 0)
			return r;
		if (S_ISDIR(attr.mode))
			return -EISDIR;
		if (!S_ISREG(attr.mode))
			return -EINVAL;
		attr.ino = ino;
		pthread_mutex_lock(&fs->files_lock);
	}
	*oldest = (struct fs_file){ .ino = ino, .size = attr.size, .tick = ++fs->files_tick };
	*ret = oldest;
	return 0;
}

static void prefetch(struct fs *fs, struct catalog *c, uint64_t ino, uint64_t from, uint64_t to)
{
	struct cat_extent ext[FS_PREFETCH_BATCH];
	struct chunk_loc locs[FS_PREFETCH_BATCH];
	size_t n = 0;

	if (catalog_extents(c, ino, from, to - from, ext, ARRAY_SIZE(ext), &n) < 0)
		return; /* only a hint; the catalog logged it */
	for (size_t i = 0; i < n; i++)
		locs[i] = ext[i].loc;
	cache_prefetch(fs->cache, locs, n);
}

static void add_piece(struct fs_read *rd, const void *p, size_t len)
{
	if (len == 0)
		return;
	if (rd->n_iov == FS_READ_SEGS - 1 || rd->spill.len > 0) {
		/* Out of pieces: copy the rest, which goes out as the last. */
		buf_append(&rd->spill, p, len);
	} else {
		rd->iov[rd->n_iov++] = (struct iovec){ (void *)p, len };
	}
	rd->len += len;
}

static void add_zeros(struct fs *fs, struct fs_read *rd, uint64_t len)
{
	while (len > 0) {
		size_t n = (size_t)MIN(len, (uint64_t)FS_ZEROS_LEN);
		add_piece(rd, fs->zeros, n);
		len -= n;
	}
}

/* Adds bytes [pos, stop) of the file, which extent e covers. A sequential
 * reader whose read reaches the end of the chunk is done with it: its
 * buffer may go to the chunks after it (cache_put_consumed()). */
static int add_extent(struct fs *fs, struct fs_read *rd, const struct cat_extent *e, uint64_t pos,
		      uint64_t stop, bool sequential)
{
	bool consumed;

	struct cache_entry *ent = NULL;
	const uint8_t *data;
	int r;

	assert(pos >= e->file_off && stop >= pos && stop - e->file_off <= e->loc.raw_len);
	r = cache_get_range(fs->cache, &e->loc, (uint32_t)(pos - e->file_off),
			    (uint32_t)(stop - pos), &ent, &data);
	if (r < 0)
		return r;
	consumed = sequential && stop - e->file_off == e->loc.raw_len;
	add_piece(rd, data, stop - pos);
	if (rd->spill.len > 0) {
		/* copied */
		if (consumed)
			cache_put_consumed(fs->cache, ent);
		else
			cache_put(fs->cache, ent);
	} else {
		assert(rd->n_held < FS_READ_SEGS);
		rd->consumed[rd->n_held] = consumed;
		rd->held[rd->n_held++] = ent;
	}
	return 0;
}

int fs_file_read(struct fs *fs, struct catalog *c, uint64_t ino, uint64_t off, size_t size,
		 struct fs_read *rd)
{
	struct cat_extent ext[FS_EXTENT_BATCH];
	uint64_t pos = off, end, from = 0, to = 0, fsize, max;
	struct fs_file *f;
	bool ahead, sequential;
	int r;

	r = lock_file(fs, c, ino, &f);
	if (r < 0)
		return r;
	fsize = f->size;
	if (off >= fsize || size == 0) {
		pthread_mutex_unlock(&fs->files_lock);
		return 0;
	}
	end = off + MIN((uint64_t)size, fsize - off);
	max = fs_readahead_max(fs);
	ahead = fs_ra_advance(&f->ra, off, end, fsize, max, &from, &to);
	sequential = f->ra.window > 0;
	pthread_mutex_unlock(&fs->files_lock);
	if (ahead)
		prefetch(fs, c, ino, from, to);

	while (pos < end) {
		size_t n = 0;

		r = catalog_extents(c, ino, pos, end - pos, ext, ARRAY_SIZE(ext), &n);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n && pos < end; i++) {
			const struct cat_extent *e = &ext[i];
			uint64_t chunk_end = e->file_off + e->loc.raw_len;

			if (chunk_end <= pos || chunk_end < e->file_off)
				return log_error_errno(-EBADMSG,
						       "catalog: extents of inode %" PRIu64
						       " overlap at %" PRIu64,
						       ino, e->file_off);
			if (e->file_off >= end)
				break;
			if (e->file_off > pos) {
				add_zeros(fs, rd, e->file_off - pos);
				pos = e->file_off;
			}
			uint64_t stop = MIN(end, chunk_end);
			r = add_extent(fs, rd, e, pos, stop, sequential);
			if (r < 0)
				return r;
			pos = stop;
		}
		if (n < ARRAY_SIZE(ext) && pos < end) {
			add_zeros(fs, rd, end - pos); /* a hole up to the end */
			pos = end;
		}
	}
	if (rd->spill.len > 0)
		rd->iov[rd->n_iov++] = (struct iovec){ rd->spill.ptr, rd->spill.len };
	return 0;
}

void fs_read_release(struct fs *fs, struct fs_read *rd)
{
	for (unsigned i = 0; i < rd->n_held; i++) {
		if (rd->consumed[i])
			cache_put_consumed(fs->cache, rd->held[i]);
		else
			cache_put(fs->cache, rd->held[i]);
	}
	rd->n_held = 0;
	rd->n_iov = 0;
	rd->len = 0;
	buf_release(&rd->spill);
}
