/*
 * walk.c - resolve paths in a snapshot, visit subtrees, iterate extents.
 *
 * The subtree walk keeps an explicit stack of directories rather than
 * recursing, so a deep tree costs heap, not C stack. Each stack frame holds
 * one batch of its directory's entries (read with catalog_readdir() and
 * copied out, since the catalog's statement cannot stay open while the
 * callback walks a subdirectory with the same connection) and the cookie
 * to resume after; memory is bounded by depth times the batch size.
 *
 * The extent iterator reads a file's extents a batch at a time and checks
 * each against the previous one and the file size, so a consumer that
 * writes them at their offsets never writes outside the file or twice.
 */
#include "ops/walk.h"
#include "base/log.h"

#include <sys/stat.h>

#define WALK_BATCH 256

/* --- resolving --- */

int walk_resolve(struct repo *r, struct catalog *c, struct cat_snapshot *s, const char *path,
		 struct cat_attr *ret_attr, char **ret_name)
{
	struct cat_attr attr;
	const char *p = path, *last = "";
	size_t last_len = 0;
	int res;

	res = repo_ensure_tree(r, c, s);
	if (res < 0)
		return res == -ENOENT ? -EIO : res;
	res = catalog_getattr(c, s->ino_base, &attr);
	if (res < 0)
		return log_error_errno(res == -ENOENT ? -EBADMSG : res,
				       "snapshot %s/%s: its root is missing from the catalog",
				       s->member, s->name);
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return log_error_errno(-EINVAL, "path '%s': '..' is not allowed", path);
		/* what came before this component, without trailing slashes */
		int done = (int)(p - path);
		while (done > 0 && path[done - 1] == '/')
			done--;
		if (!S_ISDIR(attr.mode)) {
			log_error("no '%s' in snapshot %s/%s: '%.*s' is not a directory", path,
				  s->member, s->name, done, path);
			return -ENOTDIR;
		}
		res = catalog_lookup(c, attr.ino, p, len, &attr);
		if (res == -ENOENT) {
			log_error("no '%s' in snapshot %s/%s", path, s->member, s->name);
			log_error("hint: 'cairn ls -r REPO %s/%s%s%.*s' lists what is there",
				  s->member, s->name, done ? " " : "", done, path);
			return res;
		}
		if (res < 0)
			return res;
		last = p;
		last_len = len;
		p += len;
	}
	if (ret_name)
		*ret_name = strndup(last, last_len);
	if (ret_name && !*ret_name)
		return -ENOMEM;
	*ret_attr = attr;
	return 0;
}

/* --- subtree walk --- */

struct walk_item {
	int64_t cookie;
	size_t name_off, name_len; /* in the frame's names */
	struct cat_attr attr;
};

struct walk_frame {
	struct cat_attr attr; /* the directory */
	uint64_t parent;
	size_t path_len; /* its path's length in walk.path */
	size_t name_off; /* where its name starts in walk.path */
	struct walk_item *items;
	size_t n, i, cap;
	struct buf names;
	int64_t cookie; /* resume after this */
	bool more;	/* the last batch was full */
};

struct walker {
	struct catalog *c;
	walk_fn fn;
	void *userdata;
	struct buf path; /* NUL-terminated */
	struct walk_frame *frames;
	size_t depth, cap;
};

static int collect(void *userdata, int64_t cookie, const uint8_t *name, size_t len,
		   const struct cat_attr *attr)
{
	struct walk_frame *f = userdata;

	if (!name_is_valid_component(name, len))
		return log_error_errno(-EBADMSG,
				       "catalog: directory inode %" PRIu64 " holds an invalid name",
				       f->attr.ino);
	XGROW_ARRAY(f->items, f->cap, f->n + 1);
	f->items[f->n++] = (struct walk_item){ cookie, f->names.len, len, *attr };
	buf_append(&f->names, name, len);
	f->cookie = cookie;
	return f->n >= WALK_BATCH ? 1 : 0;
}

static int refill(struct walker *w, struct walk_frame *f)
{
	f->n = f->i = 0;
	buf_reset(&f->names);
	int r = catalog_readdir(w->c, f->attr.ino, f->cookie, true, collect, f);
	if (r < 0)
		return r;
	f->more = f->n >= WALK_BATCH;
	return 0;
}

static void path_set(struct walker *w, size_t len)
{
	w->path.len = len;
	buf_append_u8(&w->path, 0);
	w->path.len = len;
}

static int push(struct walker *w, const struct cat_attr *attr, uint64_t parent, size_t name_off)
{
	XGROW_ARRAY(w->frames, w->cap, w->depth + 1);
	struct walk_frame *f = &w->frames[w->depth++];
	*f = (struct walk_frame){ .attr = *attr,
				  .parent = parent,
				  .path_len = w->path.len,
				  .name_off = name_off,
				  .names = BUF_INIT };
	return refill(w, f);
}

static void frame_release(struct walk_frame *f)
{
	free(f->items);
	buf_release(&f->names);
}

static int leave(struct walker *w)
{
	struct walk_frame *f = &w->frames[w->depth - 1];
	path_set(w, f->path_len);
	struct walk_entry e = {
		.path = (const char *)w->path.ptr,
		.name = (const char *)w->path.ptr + f->name_off,
		.name_len = f->path_len - f->name_off,
		.depth = (unsigned)(w->depth - 1),
		.parent = f->parent,
		.attr = f->attr,
	};
	int r = w->fn(w->userdata, WALK_LEAVE, &e);
	frame_release(f);
	w->depth--;
	return r < 0 ? r : 0;
}

int walk_subtree(struct catalog *c, const struct cat_attr *root, const char *root_name, walk_fn fn,
		 void *userdata)
{
	struct walker w = { .c = c, .fn = fn, .userdata = userdata, .path = BUF_INIT };
	size_t root_len = strlen(root_name);
	int r;

	buf_append(&w.path, root_name, root_len);
	path_set(&w, root_len);
	struct walk_entry e = {
		(const char *)w.path.ptr, (const char *)w.path.ptr, root_len, 0, 0, *root
	};
	r = fn(userdata, WALK_ENTER, &e);
	if (r == 0 && S_ISDIR(root->mode))
		r = push(&w, root, 0, 0);
	while (r >= 0 && w.depth > 0) {
		struct walk_frame *f = &w.frames[w.depth - 1];
		if (f->i == f->n) {
			if (f->more) {
				r = refill(&w, f);
				if (r == 0 && f->n > 0)
					continue;
			}
			if (r >= 0)
				r = leave(&w);
			continue;
		}
		struct walk_item *it = &f->items[f->i++];
		size_t base = f->path_len;
		path_set(&w, base);
		if (base > 0)
			buf_append_u8(&w.path, '/');
		size_t name_off = w.path.len;
		buf_append(&w.path, f->names.ptr + it->name_off, it->name_len);
		path_set(&w, w.path.len);
		e = (struct walk_entry){ (const char *)w.path.ptr,
					 (const char *)w.path.ptr + name_off,
					 it->name_len,
					 (unsigned)w.depth,
					 f->attr.ino,
					 it->attr };
		r = fn(userdata, WALK_ENTER, &e);
		if (r == 0 && S_ISDIR(it->attr.mode)) {
			struct cat_attr a = it->attr;
			uint64_t parent = f->attr.ino;
			r = push(&w, &a, parent, name_off); /* may move frames */
		}
		if (r == WALK_SKIP)
			r = 0;
	}
	while (w.depth > 0)
		frame_release(&w.frames[--w.depth]);
	free(w.frames);
	buf_release(&w.path);
	return r < 0 ? r : 0;
}

/* --- extents --- */

void extent_iter_init(struct extent_iter *it, struct catalog *c, struct cache *cache,
		      const struct cat_attr *attr, uint64_t window)
{
	memset(it, 0, sizeof(*it));
	it->cat = c;
	it->cache = cache;
	it->ino = attr->ino;
	it->size = attr->size;
	it->window = window;
}

static void prefetch(struct extent_iter *it, uint64_t from)
{
	if (!it->cache)
		return;
	struct chunk_loc locs[ARRAY_SIZE(it->batch)];
	size_t n = 0;

	/* The chunk about to be read is not handed over: the caller's
	 * cache_get() fetches it at once, in its own thread, where a hand-off
	 * would cost two thread switches (one per file, for a restore of small
	 * files). */
	if (it->prefetched == it->i && it->i < it->n && it->batch[it->i].file_off <= from)
		it->prefetched++;
	/* One call for the rest of the run, so that the cache can coalesce
	 * neighbours in a pack into one range request. */
	while (it->prefetched < it->n && it->batch[it->prefetched].file_off < from + it->window) {
		const struct cat_extent *e = &it->batch[it->prefetched++];
		if (!it->skip_prefetch || !it->skip_prefetch(it->userdata, e))
			locs[n++] = e->loc;
	}
	if (n > 0)
		cache_prefetch(it->cache, locs, n);
}

int extent_iter_next(struct extent_iter *it, struct cat_extent *ret)
{
	int r;

	if (it->i == it->n) {
		if (it->done || it->pos >= it->size)
			return 0;
		r = catalog_extents(it->cat, it->ino, it->pos, it->size - it->pos, it->batch,
				    ARRAY_SIZE(it->batch), &it->n);
		if (r < 0)
			return r;
		it->i = it->prefetched = 0;
		it->done = it->n < ARRAY_SIZE(it->batch);
		if (it->n == 0)
			return 0;
	}
	const struct cat_extent *e = &it->batch[it->i];
	if (e->file_off < it->pos || e->loc.raw_len == 0 || e->file_off > it->size ||
	    e->loc.raw_len > it->size - e->file_off)
		return log_error_errno(-EBADMSG,
				       "catalog: extents of inode %" PRIu64 " overlap or pass its "
				       "end at %" PRIu64,
				       it->ino, e->file_off);
	prefetch(it, e->file_off);
	*ret = *e;
	it->i++;
	it->pos = e->file_off + e->loc.raw_len;
	return 1;
}

static int fetch_chunks(void *userdata, const struct chunk_loc *locs, size_t n, struct buf *out)
{
	return repo_fetch_chunks(userdata, locs, n, out);
}

static int decode_chunk(void *userdata, const struct chunk_loc *loc, const uint8_t *stored,
			struct buf *out)
{
	return repo_decode_chunk(userdata, loc, stored, out);
}

int walk_cache_new(struct repo *r, uint64_t budget, struct cache **ret)
{
	struct cache_options co = {
		.budget = budget,
		.n_workers = WALK_PREFETCH_WORKERS,
		.fetch = fetch_chunks,
		.decode = decode_chunk,
		.userdata = r,
	};
	return cache_new(&co, ret);
}
