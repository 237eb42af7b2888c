/*
 * export.c - a snapshot as a tar stream, written with libarchive.
 *
 * The snapshot is walked depth-first (walk.c), one archive entry per name.
 * A regular file's data is streamed extent by extent from the chunk cache,
 * whose prefetch threads fetch the next few MiB of chunks while the current
 * one is written, so the stream runs at the speed of the slower of the
 * repository and the reader.
 *
 * pax (the default) keeps everything the mount shows: names and link
 * targets of any length and any bytes (hdrcharset=BINARY, so names that
 * are not UTF-8 pass through unchanged), nanosecond mtimes, xattrs (as
 * LIBARCHIVE.xattr and SCHILY.xattr records), hardlinks, devices, fifos,
 * and sparse files as GNU sparse 1.0 entries. For those, libarchive is
 * told the data regions before the header and then given the file's bytes
 * in order with zeros for the holes between regions, which it drops; bytes
 * after the last region are not given at all. gnutar keeps long names,
 * big files and devices, but not xattrs or sub-second times, and writes
 * holes as zeros.
 *
 * Multiply-linked entries: the first name carries the data, later names
 * are hardlink entries pointing at it (a map from inode to first name,
 * kept for entries with nlink > 1 only).
 */
#include "ops/export.h"
#include "base/hmap.h"
#include "base/log.h"
#include "ops/walk.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define EXPORT_ZEROS (64u << 10)
#define EXPORT_WINDOW (32ull << 20)
#define EXPORT_PROGRESS_NS 250000000ull
#define EXPORT_FLUSH (1u << 20)

struct exporter {
	struct repo *repo;
	struct catalog *cat;
	const struct export_options *o;
	struct cache *cache;
	struct archive *a;
	struct hmap first; /* inode -> index into links */
	char **links;	   /* first names of multiply-linked entries */
	size_t n_links, cap_links;
	struct buf name; /* the entry's archive name, NUL-terminated */
	struct export_stats stats;
	uint64_t last_progress;
	uint64_t window;
	uint8_t *zeros;
	struct buf out;	 /* archive bytes not yet written to o->fd */
	int write_error; /* the first failed write(2), as -errno */
	bool discard;	 /* after a failure: drop what libarchive still writes */
};

static void progress(struct exporter *x, bool done)
{
	uint64_t now = now_ns();

	if (!x->o->progress || (!done && now - x->last_progress < EXPORT_PROGRESS_NS))
		return;
	x->last_progress = now;
	x->o->progress(x->o->progress_data, &x->stats, done);
}

static void flush_out(struct exporter *x)
{
	if (!x->discard && x->out.len > 0) {
		int r = write_all(x->o->fd, x->out.ptr, x->out.len);
		if (r < 0) {
			x->write_error = r;
			x->discard = true;
		}
	}
	buf_reset(&x->out);
}

/* libarchive's output, unblocked and buffered here, so that after a
 * failure everything libarchive was given can still be written, without
 * the end-of-archive blocks that only archive_write_close() produces. A
 * failed write is remembered and reported by the caller; libarchive is told
 * it succeeded, so that it never enters its fatal state (in which it would
 * not free its buffers), and what it writes afterwards is dropped. */
static la_ssize_t write_out(struct archive *a UNUSED, void *userdata, const void *buf, size_t len)
{
	struct exporter *x = userdata;

	if (!x->discard) {
		buf_append(&x->out, buf, len);
		if (x->out.len >= EXPORT_FLUSH)
			flush_out(x);
	}
	return (la_ssize_t)len;
}

static int write_failed(struct exporter *x)
{
	if (x->write_error == -EPIPE)
		log_error("cannot write the archive: the reader went away");
	else
		log_error_errno(x->write_error, "cannot write the archive");
	return x->write_error;
}

static int archive_err(struct exporter *x, const char *path)
{
	int e = archive_errno(x->a);
	int r = e > 0 ? -e : -EIO;
	const char *msg = archive_error_string(x->a);
	AUTOBUF struct buf p = BUF_INIT;

	if (x->write_error)
		return write_failed(x);
	buf_append_escaped(&p, path, strlen(path));
	buf_append_u8(&p, 0);
	return log_error_errno(r, "cannot write '%s' to the archive%s%s", (char *)p.ptr,
			       msg ? ": " : "", msg ? msg : "");
}

/* Gives libarchive len bytes of data (or zeros when data is NULL). */
static int put_data(struct exporter *x, const uint8_t *data, uint64_t len, const char *path)
{
	while (len > 0) {
		size_t n = data ? (size_t)len : (size_t)MIN(len, (uint64_t)EXPORT_ZEROS);
		la_ssize_t w = archive_write_data(x->a, data ? data : x->zeros, n);
		if (w < 0 || x->write_error)
			return archive_err(x, path);
		if (w == 0 && data)
			return log_error_errno(-EIO, "libarchive took no data of '%s'", path);
		if (w == 0)
			return 0; /* a sparse entry's trailing hole: nothing more is wanted */
		len -= (uint64_t)w;
		if (data)
			data += w;
	}
	return 0;
}

/* Reads the data regions of a file: returns how many bytes are data, and
 * adds the regions to entry when it has holes and the format keeps them. */
static int add_sparse_map(struct exporter *x, struct archive_entry *entry, const struct cat_attr *a,
			  uint64_t *ret_data, uint64_t *ret_end)
{
	struct extent_iter it;
	struct cat_extent e;
	uint64_t data = 0, start = 0, end = 0;
	bool open_region = false, sparse;
	int r;

	/* First pass: how much is data? */
	extent_iter_init(&it, x->cat, NULL, a, 0);
	while ((r = extent_iter_next(&it, &e)) > 0)
		data += e.loc.raw_len;
	if (r < 0)
		return r;
	sparse = data < a->size && x->o->format == EXPORT_FORMAT_PAX;
	*ret_data = data;
	*ret_end = a->size;
	if (!sparse) {
		if (data < a->size)
			x->stats.n_sparse_lost++;
		return 0;
	}
	extent_iter_init(&it, x->cat, NULL, a, 0);
	while ((r = extent_iter_next(&it, &e)) > 0) {
		if (open_region && e.file_off == end) {
			end += e.loc.raw_len;
			continue;
		}
		if (open_region)
			archive_entry_sparse_add_entry(entry, (la_int64_t)start,
						       (la_int64_t)(end - start));
		start = e.file_off;
		end = e.file_off + e.loc.raw_len;
		open_region = true;
	}
	if (r < 0)
		return r;
	if (open_region) {
		archive_entry_sparse_add_entry(entry, (la_int64_t)start, (la_int64_t)(end - start));
		*ret_end = end;
	} else {
		/* All hole: one empty region at the end, as GNU tar writes it. */
		archive_entry_sparse_add_entry(entry, (la_int64_t)a->size, 0);
		*ret_end = 0;
	}
	return 0;
}

static int write_file_data(struct exporter *x, const struct cat_attr *a, uint64_t end,
			   const char *path)
{
	struct extent_iter it;
	struct cat_extent e;
	uint64_t pos = 0;
	int r;

	/* The first call writes a sparse entry's map, even with no data. */
	if (archive_write_data(x->a, x->zeros, 0) < 0)
		return archive_err(x, path);
	extent_iter_init(&it, x->cat, x->cache, a, x->window);
	while ((r = extent_iter_next(&it, &e)) > 0) {
		struct cache_entry *ent = NULL;
		const uint8_t *data;
		size_t len;

		if (e.file_off > pos) {
			r = put_data(x, NULL, e.file_off - pos, path);
			if (r < 0)
				return r;
			x->stats.n_bytes += e.file_off - pos;
		}
		r = cache_get(x->cache, &e.loc, &ent);
		if (r < 0) {
			AUTOBUF struct buf p = BUF_INIT;
			buf_append_escaped(&p, path, strlen(path));
			buf_append_u8(&p, 0);
			return log_error_errno(r, "cannot read '%s' from the repository",
					       (char *)p.ptr);
		}
		data = cache_entry_data(ent, &len);
		r = put_data(x, data, len, path);
		cache_put(x->cache, ent);
		if (r < 0)
			return r;
		pos = e.file_off + len;
		x->stats.n_bytes += len;
		x->stats.n_data += len;
		progress(x, false);
	}
	if (r < 0)
		return r;
	if (end > pos) {
		r = put_data(x, NULL, end - pos, path);
		if (r < 0)
			return r;
	}
	x->stats.n_bytes += a->size - pos;
	return 0;
}

static int add_xattrs(struct exporter *x, struct archive_entry *entry, uint64_t ino)
{
	AUTOBUF struct buf names = BUF_INIT;
	AUTOBUF struct buf value = BUF_INIT;
	int r;

	r = catalog_listxattr(x->cat, ino, &names);
	if (r < 0 || names.len == 0)
		return r;
	if (x->o->format != EXPORT_FORMAT_PAX) {
		x->stats.n_xattrs_lost++;
		return 0;
	}
	for (size_t off = 0; off < names.len;) {
		const char *xn = (const char *)names.ptr + off;
		size_t len = strnlen(xn, names.len - off);
		off += len + 1;
		buf_reset(&value);
		r = catalog_getxattr(x->cat, ino, xn, &value);
		if (r < 0)
			return r;
		archive_entry_xattr_add_entry(entry, xn, value.ptr ? (void *)value.ptr : "",
					      value.len);
	}
	return 0;
}

static void entry_release(struct archive_entry **e)
{
	if (*e)
		archive_entry_free(*e);
}

static int visit(void *userdata, enum walk_event ev, const struct walk_entry *we)
{
	CLEANUP(entry_release) struct archive_entry *entry = NULL;
	AUTOBUF struct buf target = BUF_INIT;
	struct exporter *x = userdata;
	const struct cat_attr *a = &we->attr;
	bool is_dir = S_ISDIR(a->mode), is_reg = S_ISREG(a->mode);
	uint64_t data = 0, end = 0;
	int r;

	if (ev == WALK_LEAVE)
		return 0;
	progress(x, false);
	if (S_ISSOCK(a->mode)) {
		x->stats.n_sockets++; /* no tar format has them; GNU tar skips them too */
		return 0;
	}
	/* A directory's root is "./", the rest "./path"; a lone entry its name. */
	buf_reset(&x->name);
	if (is_dir || we->depth > 0 || *we->path == '\0')
		buf_append(&x->name, "./", 2);
	buf_append(&x->name, we->path, strlen(we->path));
	if (is_dir && x->name.ptr[x->name.len - 1] != '/')
		buf_append_u8(&x->name, '/');
	buf_append_u8(&x->name, 0);
	const char *name = (const char *)x->name.ptr;

	entry = archive_entry_new();
	if (!entry)
		return -ENOMEM;
	archive_entry_copy_pathname(entry, name);
	archive_entry_set_mode(entry, a->mode);
	archive_entry_set_uid(entry, a->uid);
	archive_entry_set_gid(entry, a->gid);
	archive_entry_set_mtime(entry, a->mtime_sec,
				x->o->format == EXPORT_FORMAT_PAX ? (long)a->mtime_nsec : 0);
	archive_entry_set_nlink(entry, a->nlink);
	if (S_ISCHR(a->mode) || S_ISBLK(a->mode)) {
		archive_entry_set_rdevmajor(entry, major((dev_t)a->rdev));
		archive_entry_set_rdevminor(entry, minor((dev_t)a->rdev));
	}

	if (!is_dir && a->nlink > 1) {
		uint8_t key[HMAP_KEY_LEN] = { 0 };
		put_le64(key, a->ino);
		uint64_t *v = hmap_get(&x->first, key);
		if (v) {
			archive_entry_copy_hardlink(entry, x->links[*v]);
			archive_entry_set_size(entry, 0);
			if (archive_write_header(x->a, entry) < ARCHIVE_WARN || x->write_error)
				return archive_err(x, we->path);
			x->stats.n_entries++;
			return 0;
		}
		XGROW_ARRAY(x->links, x->cap_links, x->n_links + 1);
		x->links[x->n_links] = xstrdup(name);
		hmap_put(&x->first, key, x->n_links++);
	}

	if (S_ISLNK(a->mode)) {
		r = catalog_readlink(x->cat, a->ino, &target);
		if (r < 0)
			return r;
		buf_append_u8(&target, 0);
		archive_entry_copy_symlink(entry, (const char *)target.ptr);
	}
	r = add_xattrs(x, entry, a->ino);
	if (r < 0)
		return r;
	if (is_reg) {
		archive_entry_set_size(entry, (la_int64_t)a->size);
		r = add_sparse_map(x, entry, a, &data, &end);
		if (r < 0)
			return r;
	} else {
		archive_entry_set_size(entry, 0);
	}
	if (archive_write_header(x->a, entry) < ARCHIVE_WARN || x->write_error)
		return archive_err(x, we->path);
	x->stats.n_entries++;
	if (is_reg) {
		r = write_file_data(x, a, end, we->path);
		if (r < 0)
			return r;
		x->stats.n_files++;
	}
	return 0;
}

static int run(struct exporter *x, struct cat_snapshot *s, const char *path)
{
	AUTOFREE char *root_name = NULL;
	struct cat_attr root;
	int r;

	r = walk_resolve(x->repo, x->cat, s, path, &root, &root_name);
	if (r < 0)
		return r;
	if (root.ino == s->ino_base)
		x->stats.total_bytes = s->n_bytes;
	else if (S_ISREG(root.mode))
		x->stats.total_bytes = root.size;

	r = walk_cache_new(x->repo, x->o->cache_size, &x->cache);
	if (r < 0)
		return r;
	x->window = MIN(EXPORT_WINDOW, cache_budget(x->cache) / 4);

	x->a = archive_write_new();
	if (!x->a)
		return -ENOMEM;
	if (x->o->format == EXPORT_FORMAT_PAX) {
		r = archive_write_set_format_pax(x->a);
		if (r == ARCHIVE_OK)
			r = archive_write_set_format_option(x->a, "pax", "xattrheader", "SCHILY");
	} else {
		r = archive_write_set_format_gnutar(x->a);
	}
	if (r == ARCHIVE_OK)
		r = archive_write_set_bytes_per_block(x->a, 0);
	if (r == ARCHIVE_OK)
		r = archive_write_open(x->a, x, NULL, write_out, NULL);
	if (r != ARCHIVE_OK)
		return archive_err(x, "");
	r = walk_subtree(x->cat, &root, S_ISDIR(root.mode) ? "" : root_name, visit, x);
	if (r < 0)
		return r;
	if (archive_write_close(x->a) != ARCHIVE_OK)
		return archive_err(x, "");
	flush_out(x);
	if (x->write_error)
		return write_failed(x);
	progress(x, true);
	return 0;
}

int export_run(struct repo *r, struct catalog *c, struct cat_snapshot *s, const char *path,
	       const struct export_options *opts, struct export_stats *ret)
{
	struct exporter x = {
		.repo = r,
		.cat = c,
		.o = opts,
		.name = BUF_INIT,
		.out = BUF_INIT,
	};
	int res;

	hmap_init(&x.first);
	x.zeros = xcalloc(1, EXPORT_ZEROS);
	res = run(&x, s, path);
	if (x.a) {
		/* After a failure, end the stream without the end-of-archive
		 * blocks (or what libarchive still buffers), so that a reader sees
		 * a truncated archive, not a short one. */
		if (res < 0) {
			/* the entry that failed stays visibly cut short */
			flush_out(&x);
			x.discard = true;
		}
		archive_write_free(x.a);
	}
	buf_release(&x.out);
	cache_free(x.cache);
	for (size_t i = 0; i < x.n_links; i++)
		free(x.links[i]);
	free(x.links);
	hmap_release(&x.first);
	buf_release(&x.name);
	free(x.zeros);
	*ret = x.stats;
	return res;
}
