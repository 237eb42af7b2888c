/*
 * fs-read.c - reading a snapshot's regular files.
 *
 * A read of [off, off + size) asks the catalog for the extents that meet
 * it, in file order, a batch at a time. Gaps between extents, and the space
 * after the last one, are holes and read as zeros; each extent's bytes come
 * from the shared chunk cache, held only while they are copied. The first
 * chunk that cannot be had fails the read with its error: the caller turns
 * it into EIO for this read alone, and the next read tries again.
 *
 * Readahead: a file remembers where its last read ended. A read that starts
 * near there counts as sequential, and the chunks of the next
 * FS_PREFETCH_WINDOW bytes (at most an eighth of the cache, so prefetching
 * cannot evict what is being read) are handed to the cache's prefetch
 * workers, which fetch them in parallel while the kernel is still busy
 * with this read. Both marks are hints kept with atomic loads and stores:
 * concurrent reads of one file may race on them, which costs at most a
 * redundant or a missed prefetch, never a wrong byte.
 */
#include "fs.h"
#include "log.h"

#include <assert.h>
#include <sys/stat.h>

#define FS_EXTENT_BATCH 64
/* A read starting this close to where the previous one ended is sequential
 * (the kernel's concurrent readahead reaches us slightly out of order). */
#define FS_SEQUENTIAL_SLACK (4u << 20)

int fs_file_open(struct fs *fs, struct catalog *c, uint64_t ino, struct fs_file **ret)
{
	struct cat_attr attr;
	struct fs_file *f;
	int r;

	r = fs_tree_getattr(&fs->tree, c, ino, &attr);
	if (r < 0)
		return r;
	if (S_ISDIR(attr.mode))
		return -EISDIR;
	if (!S_ISREG(attr.mode))
		return -EINVAL;
	f = xcalloc(1, sizeof(*f));
	f->ino = ino;
	f->size = attr.size;
	pthread_mutex_lock(&fs->lock);
	f->next = fs->open_files;
	if (f->next)
		f->next->prev = f;
	fs->open_files = f;
	pthread_mutex_unlock(&fs->lock);
	*ret = f;
	return 0;
}

void fs_file_close(struct fs *fs, struct fs_file *f)
{
	pthread_mutex_lock(&fs->lock);
	if (f->prev)
		f->prev->next = f->next;
	else
		fs->open_files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	pthread_mutex_unlock(&fs->lock);
	free(f);
}

static void prefetch_after(struct fs *fs, struct catalog *c, struct fs_file *f, uint64_t end)
{
	uint64_t window = MIN((uint64_t)FS_PREFETCH_WINDOW, cache_budget(fs->cache) / 8);
	uint64_t done = __atomic_load_n(&f->prefetched, __ATOMIC_RELAXED);
	uint64_t from = MAX(end, done), to = MIN(f->size, end + window);
	struct cat_extent ext[16];
	size_t n = 0;

	/* Ask again only once the reader has used up half the window. */
	if (from >= to || done >= end + window / 2)
		return;
	if (catalog_extents(c, f->ino, from, to - from, ext, ARRAY_SIZE(ext), &n) < 0)
		return; /* only a hint; the catalog logged it */
	for (size_t i = 0; i < n; i++)
		cache_prefetch(fs->cache, &ext[i].loc);
	if (n == ARRAY_SIZE(ext))
		to = ext[n - 1].file_off + ext[n - 1].loc.raw_len;
	__atomic_store_n(&f->prefetched, to, __ATOMIC_RELAXED);
}

/* Appends bytes [pos, stop) of the file, which extent e covers. */
static int copy_extent(struct fs *fs, const struct cat_extent *e, uint64_t pos, uint64_t stop,
		       struct buf *out)
{
	struct cache_entry *ent = NULL;
	const uint8_t *data;
	size_t len;
	int r;

	r = cache_get(fs->cache, &e->loc, &ent);
	if (r < 0)
		return r;
	data = cache_entry_data(ent, &len);
	assert(stop - e->file_off <= len);
	buf_append(out, data + (pos - e->file_off), stop - pos);
	cache_put(fs->cache, ent);
	return 0;
}

int fs_file_read(struct fs *fs, struct catalog *c, struct fs_file *f, uint64_t off, size_t size,
		 struct buf *out)
{
	struct cat_extent ext[FS_EXTENT_BATCH];
	uint64_t pos = off, end, prev;
	int r;

	if (off >= f->size || size == 0)
		return 0;
	end = off + MIN((uint64_t)size, f->size - off);
	buf_reserve(out, end - off);

	prev = __atomic_exchange_n(&f->next_off, end, __ATOMIC_RELAXED);
	if (off + FS_SEQUENTIAL_SLACK >= prev && off <= prev + FS_SEQUENTIAL_SLACK)
		prefetch_after(fs, c, f, end);

	while (pos < end) {
		size_t n = 0;

		r = catalog_extents(c, f->ino, pos, end - pos, ext, ARRAY_SIZE(ext), &n);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n && pos < end; i++) {
			const struct cat_extent *e = &ext[i];
			uint64_t chunk_end = e->file_off + e->loc.raw_len;

			if (chunk_end <= pos || chunk_end < e->file_off)
				return log_error_errno(-EBADMSG,
						       "catalog: extents of inode %" PRIu64
						       " overlap at %" PRIu64,
						       f->ino, e->file_off);
			if (e->file_off >= end)
				break;
			if (e->file_off > pos) {
				buf_append_zero(out, e->file_off - pos);
				pos = e->file_off;
			}
			uint64_t stop = MIN(end, chunk_end);
			r = copy_extent(fs, e, pos, stop, out);
			if (r < 0)
				return r;
			pos = stop;
		}
		if (n < ARRAY_SIZE(ext) && pos < end) {
			buf_append_zero(out, end - pos); /* a hole up to the end */
			pos = end;
		}
	}
	return 0;
}
