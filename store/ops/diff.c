/*
 * diff.c - compare a snapshot with another snapshot or with a live
 * directory.
 *
 * The walk is depth first over the union of both trees. A frame of the
 * explicit stack holds one directory's children on each side, sorted by
 * name bytes, and a merge cursor into each; the top frame is advanced one
 * name at a time, and a directory met on either side pushes a frame for its
 * children right after the directory itself is reported, so every
 * directory comes before its contents and the output order is stable (the
 * order of diff -r). A deep tree costs heap, not stack.
 *
 * Two entries of one path compare by type first (a type change says only
 * that), then permission bits, owner, mtime to the nanosecond, xattrs (a
 * canonical byte string of the sorted (name, value) pairs on each side),
 * and what the type holds: a symlink's target, a device's number, a file's
 * size and data. Between two snapshots data compares by chunk list: the
 * same hashes at the same offsets with the same lengths, which reads
 * nothing. Against a live directory data compares only on request, and
 * then without the repository: the live file is read at the snapshot's
 * chunk boundaries and each piece hashed against that chunk's hash, and the
 * snapshot's holes must read as zeros. (Cutting the live file into chunks
 * anew would also work, but would call a sparse file restored with its
 * holes filled "changed", since backup chunks each data segment apart.)
 *
 * A live entry that cannot be read is logged, counted and skipped, never
 * reported as added or removed: diff_live() says only what it knows.
 */
#include "ops/diff.h"
#include "catalog/catalog-query.h"
#include "format/chunker.h"
#include "base/log.h"

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#define ZERO_BLOCK (1u << 20) /* bytes read at a time to check a hole */

static const char *const change_names[] = {
	"type", "content", "target", "device", "mode", "owner", "mtime", "xattrs", "links",
};
_Static_assert(1u << (ARRAY_SIZE(change_names) - 1) == DIFF_CHANGE_LAST, "name every change");

const char *diff_change_name(unsigned bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(change_names); i++)
		if (bit == 1u << i)
			return change_names[i];
	return NULL;
}

struct entry {
	size_t name_off; /* in list.names */
	uint32_t name_len;
	bool unknown; /* live: exists, but could not be examined (logged) */
	struct cat_attr attr;
};

struct list {
	struct entry *v;
	size_t n, cap;
	struct buf names;
};

struct frame {
	struct list a, b;
	size_t ia, ib;
	size_t path_len; /* the directory's path in differ.path */
};

struct differ {
	struct catalog *c;
	const struct diff_options *o;
	const char *live; /* the live directory without trailing '/', or NULL */
	struct buf path;  /* the current entry's path, NUL after path.len */
	struct buf abs;	  /* live: its path on this machine, NUL-terminated */
	struct frame *stack;
	size_t depth, cap;
	struct buf xa, xb; /* xattrs or targets of the two entries */
	uint8_t *data;	   /* live file data being hashed */
	size_t data_cap;
	struct diff_stats st;
};

static void list_release(struct list *l)
{
	free(l->v);
	buf_release(&l->names);
	memset(l, 0, sizeof(*l));
}

static struct entry *list_push(struct list *l, const void *name, size_t len)
{
	XGROW_ARRAY(l->v, l->cap, l->n + 1);
	struct entry *e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->name_off = l->names.len;
	e->name_len = (uint32_t)len;
	buf_append(&l->names, name, len);
	return e;
}

static const uint8_t *entry_name(const struct list *l, const struct entry *e)
{
	return l->names.ptr + e->name_off;
}

static int name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, MIN(alen, blen));
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int entry_cmp(const void *pa, const void *pb, void *arg)
{
	const struct list *l = arg;
	const struct entry *a = pa, *b = pb;
	return name_cmp(entry_name(l, a), a->name_len, entry_name(l, b), b->name_len);
}

static void list_sort(struct list *l)
{
	if (l->n > 0) /* qsort wants a base even for nothing */
		qsort_r(l->v, l->n, sizeof(*l->v), entry_cmp, l);
}

static int add_cat_entry(void *userdata, int64_t cookie UNUSED, const uint8_t *name, size_t len,
			 const struct cat_attr *attr)
{
	list_push(userdata, name, len)->attr = *attr;
	return 0;
}

static int list_catalog(struct differ *d, uint64_t dir, struct list *out)
{
	int r = catalog_readdir(d->c, dir, 0, true, add_cat_entry, out);
	if (r < 0)
		return r;
	list_sort(out);
	return 0;
}

static void attr_from_stat(const struct stat *st, struct cat_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->mode = st->st_mode;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->nlink = (uint32_t)st->st_nlink;
	a->size = (uint64_t)st->st_size;
	a->rdev = st->st_rdev;
	a->blocks = (uint64_t)st->st_blocks;
	a->mtime_sec = st->st_mtim.tv_sec;
	a->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
}

/* The live path of the current entry, in d->abs. */
static const char *live_path(struct differ *d)
{
	buf_reset(&d->abs);
	buf_append(&d->abs, d->live, strlen(d->live));
	buf_append(&d->abs, d->path.ptr, d->path.len + 1);
	return (const char *)d->abs.ptr;
}

static void live_error(struct differ *d, int r, const char *what, const char *path)
{
	log_error_errno(r, "cannot %s '%s'", what, path);
	d->st.n_errors++;
}

/* Lists the live directory at the current path. An entry that cannot be
 * stat'ed is kept as unknown; one that vanished is left out. */
static int list_live(struct differ *d, struct list *out)
{
	const char *path = live_path(d);
	struct dirent *de;
	struct stat st;

	DIR *dir = opendir(path);
	if (!dir)
		return -errno;
	errno = 0;
	while ((de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		size_t len = strlen(de->d_name);
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			log_error_errno(-errno, "cannot stat '%s/%s'", path, de->d_name);
			d->st.n_errors++;
			list_push(out, de->d_name, len)->unknown = true;
			continue;
		}
		attr_from_stat(&st, &list_push(out, de->d_name, len)->attr);
		errno = 0;
	}
	int r = errno ? -errno : 0;
	closedir(dir);
	if (r < 0)
		live_error(d, r, "list all of", (const char *)d->abs.ptr);
	list_sort(out);
	return 0;
}

/* --- what an entry holds --- */

/* strcmp orders as the catalog does: by bytes, a prefix first. */
static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int live_xattrs(const char *path, struct buf *out)
{
	ssize_t len = llistxattr(path, NULL, 0);
	if (len <= 0)
		return 0; /* none, or none readable: as backup sees it */
	AUTOFREE char *names = xmalloc((size_t)len + 1);
	len = llistxattr(path, names, (size_t)len);
	if (len <= 0)
		return 0;
	names[len] = '\0';
	size_t n = 0;
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1)
		n++;
	AUTOFREE const char **v = xmalloc((n ? n : 1) * sizeof(*v));
	n = 0;
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1)
		v[n++] = names + i;
	qsort(v, n, sizeof(*v), str_ptr_cmp);
	AUTOBUF struct buf value = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		/* the same choices backup makes */
		ssize_t vlen = lgetxattr(path, v[i], NULL, 0);
		if (vlen < 0 || vlen > XATTR_VALUE_LEN_MAX || strlen(v[i]) > XATTR_NAME_LEN_MAX)
			continue;
		buf_reset(&value);
		buf_reserve(&value, (size_t)vlen + 1);
		vlen = lgetxattr(path, v[i], value.ptr, (size_t)vlen);
		if (vlen < 0)
			continue;
		catalog_xattrs_append_one(out, v[i], strlen(v[i]), value.ptr, (size_t)vlen);
	}
	return 0;
}

struct hashing {
	struct differ *d;
	int fd;
	uint64_t pos, size;
	bool differs;
	int err; /* reading the live file failed */
};

static void grow_data(struct differ *d, size_t len)
{
	if (len <= d->data_cap)
		return;
	free(d->data);
	d->data = xmalloc(len);
	d->data_cap = len;
}

/* Checks that [h->pos, end) of the live file reads as zeros, skipping its
 * holes. 1 when it does not (h->differs or h->err set), 0 when it does. */
static int check_zeros(struct hashing *h, uint64_t end)
{
	while (h->pos < end) {
		off_t data = lseek(h->fd, (off_t)h->pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break; /* a hole up to the end of the file */
		if (data < 0)
			data = (off_t)h->pos; /* no SEEK_DATA: read it all */
		if ((uint64_t)data >= end)
			break;
		h->pos = (uint64_t)data;
		size_t want = (size_t)MIN(end - h->pos, ZERO_BLOCK);
		grow_data(h->d, ZERO_BLOCK);
		ssize_t n = pread_full(h->fd, h->d->data, want, h->pos);
		if (n < 0) {
			h->err = (int)n;
			return 1;
		}
		h->d->st.n_hashed_bytes += (uint64_t)n;
		const uint8_t *p = h->d->data;
		if ((size_t)n < want || p[0] != 0 || memcmp(p, p + 1, want - 1) != 0) {
			h->differs = true;
			return 1;
		}
		h->pos += want;
	}
	h->pos = end;
	return 0;
}

static int hash_extent(void *userdata, uint64_t off, const uint8_t hash[HASH_LEN], uint32_t raw_len)
{
	struct hashing *h = userdata;
	uint8_t got[HASH_LEN];

	if (off < h->pos || raw_len == 0 || raw_len > CHUNK_SIZE_MAX_LIMIT || off > h->size ||
	    raw_len > h->size - off)
		return -EBADMSG; /* tree_decode() lets no such extent in */
	if (check_zeros(h, off))
		return 1;
	grow_data(h->d, raw_len);
	ssize_t n = pread_full(h->fd, h->d->data, raw_len, off);
	if (n < 0) {
		h->err = (int)n;
		return 1;
	}
	h->d->st.n_hashed_bytes += (uint64_t)n;
	if ((size_t)n < raw_len) {
		h->differs = true;
		return 1;
	}
	crypto_id(h->d->o->keys, h->d->data, raw_len, got);
	if (memcmp(got, hash, HASH_LEN) != 0) {
		h->differs = true;
		return 1;
	}
	h->pos = off + raw_len;
	return 0;
}

/* Compares the live file at path with file ino of the snapshot (same size). */
static int live_same_data(struct differ *d, uint64_t ino, const char *path, uint64_t size,
			  bool *ret_same)
{
	struct hashing h = { .d = d, .size = size };
	struct stat st;
	AUTOCLOSE int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	int r;

	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		live_error(d, -errno, "read", path);
		return 1;
	}
	h.fd = fd;
	r = catalog_each_extent(d->c, ino, hash_extent, &h);
	if (r == -EBADMSG)
		return log_error_errno(r,
				       "catalog: the extents of '%s' in the snapshot are damaged",
				       (const char *)d->path.ptr);
	if (r < 0)
		return r;
	if (r == 0)
		check_zeros(&h, size);
	if (!h.err && fstat(fd, &st) < 0)
		h.err = -errno;
	if (h.err) {
		live_error(d, h.err, "read", path);
		return 1; /* unknown: not reported */
	}
	*ret_same = !h.differs && (uint64_t)st.st_size == size;
	return 0;
}

/* --- comparing two entries --- */

static int compare_content(struct differ *d, const struct cat_attr *a, const struct cat_attr *b,
			   unsigned *changes)
{
	bool same = true;
	int r;

	if (a->size != b->size) {
		*changes |= DIFF_CONTENT;
		return 0;
	}
	if (!d->live) {
		r = catalog_same_extents(d->c, a->ino, b->ino, &same);
	} else if (!d->o->content) {
		d->st.n_assumed++;
		return 0;
	} else {
		r = live_same_data(d, a->ino, live_path(d), a->size, &same);
		if (r > 0)
			return 0; /* could not read it: logged, and not a difference */
	}
	if (r < 0)
		return r;
	if (!same)
		*changes |= DIFF_CONTENT;
	return 0;
}

static int compare_target(struct differ *d, const struct cat_attr *a, const struct cat_attr *b,
			  unsigned *changes)
{
	int r;

	buf_reset(&d->xa);
	buf_reset(&d->xb);
	r = catalog_readlink(d->c, a->ino, &d->xa);
	if (r < 0)
		return r;
	if (d->live) {
		const char *path = live_path(d);
		char target[TARGET_LEN_MAX + 1];
		ssize_t n = readlink(path, target, sizeof(target));
		if (n < 0) {
			live_error(d, -errno, "read symlink", path);
			return 0;
		}
		buf_append(&d->xb, target, (size_t)n);
	} else {
		r = catalog_readlink(d->c, b->ino, &d->xb);
		if (r < 0)
			return r;
	}
	if (d->xa.len != d->xb.len || (d->xa.len && memcmp(d->xa.ptr, d->xb.ptr, d->xa.len)))
		*changes |= DIFF_TARGET;
	return 0;
}

static int compare_xattrs(struct differ *d, const struct cat_attr *a, const struct cat_attr *b,
			  unsigned *changes)
{
	int r;

	buf_reset(&d->xa);
	buf_reset(&d->xb);
	r = catalog_xattrs_canonical(d->c, a->ino, &d->xa);
	if (r == 0)
		r = d->live ? live_xattrs(live_path(d), &d->xb)
			    : catalog_xattrs_canonical(d->c, b->ino, &d->xb);
	if (r < 0)
		return r;
	if (d->xa.len != d->xb.len || (d->xa.len && memcmp(d->xa.ptr, d->xb.ptr, d->xa.len)))
		*changes |= DIFF_XATTRS;
	return 0;
}

static int compare(struct differ *d, const struct cat_attr *a, const struct cat_attr *b,
		   unsigned *ret)
{
	unsigned ch = 0;
	int r = 0;

	if ((a->mode & S_IFMT) != (b->mode & S_IFMT)) {
		*ret = DIFF_TYPE;
		return 0;
	}
	if ((a->mode & 07777) != (b->mode & 07777))
		ch |= DIFF_MODE;
	if (a->uid != b->uid || a->gid != b->gid)
		ch |= DIFF_OWNER;
	if (a->mtime_sec != b->mtime_sec || a->mtime_nsec != b->mtime_nsec)
		ch |= DIFF_MTIME;
	switch (a->mode & S_IFMT) {
	case S_IFREG:
		r = compare_content(d, a, b, &ch);
		break;
	case S_IFLNK:
		r = compare_target(d, a, b, &ch);
		break;
	case S_IFCHR:
	case S_IFBLK:
		if (a->rdev != b->rdev)
			ch |= DIFF_DEVICE;
		break;
	}
	/* A live file's link count includes names outside the directory. */
	if (!d->live && !S_ISDIR(a->mode) && a->nlink != b->nlink)
		ch |= DIFF_LINKS;
	if (r == 0)
		r = compare_xattrs(d, a, b, &ch);
	if (r < 0)
		return r;
	*ret = ch;
	return 0;
}

/* --- the walk --- */

static int emit(struct differ *d, enum diff_kind kind, unsigned changes, const struct cat_attr *old,
		const struct cat_attr *new)
{
	struct diff_entry e = {
		.kind = kind,
		.changes = changes,
		.path = d->path.ptr,
		.path_len = d->path.len,
		.old = old,
		.new = new,
	};
	if (kind == DIFF_ADDED)
		d->st.n_added++;
	else if (kind == DIFF_REMOVED)
		d->st.n_removed++;
	else
		d->st.n_changed++;
	return d->o->fn(d->o->userdata, &e);
}

static void set_path(struct differ *d, size_t dir_len, const uint8_t *name, size_t len)
{
	d->path.len = dir_len;
	if (dir_len > 1)
		buf_append_u8(&d->path, '/');
	buf_append(&d->path, name, len);
	buf_append_u8(&d->path, 0);
	d->path.len--;
}

static struct frame *push_frame(struct differ *d)
{
	XGROW_ARRAY(d->stack, d->cap, d->depth + 1);
	struct frame *f = &d->stack[d->depth++];
	memset(f, 0, sizeof(*f));
	f->path_len = d->path.len;
	return f;
}

static void pop_frame(struct differ *d)
{
	struct frame *f = &d->stack[--d->depth];
	list_release(&f->a);
	list_release(&f->b);
}

/* Reports the entry at d->path (either side may be absent) and, for a
 * directory on either side, pushes a frame for its children. */
static int visit(struct differ *d, const struct entry *ea, const struct entry *eb)
{
	const struct cat_attr *a = ea ? &ea->attr : NULL, *b = eb ? &eb->attr : NULL;
	unsigned changes = 0;
	int r = 0;

	if (eb && eb->unknown)
		return 0; /* logged when listed */
	if (a && b) {
		d->st.n_compared++;
		r = compare(d, a, b, &changes);
		if (r == 0 && changes)
			r = emit(d, DIFF_CHANGED, changes, a, b);
	} else {
		r = emit(d, a ? DIFF_REMOVED : DIFF_ADDED, 0, a, b);
	}
	if (r != 0)
		return r;
	bool a_dir = a && S_ISDIR(a->mode), b_dir = b && S_ISDIR(b->mode);
	if (!a_dir && !b_dir)
		return 0;
	struct frame *f = push_frame(d);
	if (a_dir)
		r = list_catalog(d, a->ino, &f->a);
	if (r == 0 && b_dir && !d->live)
		r = list_catalog(d, b->ino, &f->b);
	if (r == 0 && b_dir && d->live) {
		r = list_live(d, &f->b);
		if (r < 0) {
			/* what it holds is unknown: report none of it */
			live_error(d, r, "list", (const char *)d->abs.ptr);
			pop_frame(d);
			return 0;
		}
	}
	return r;
}

static int walk(struct differ *d)
{
	int r = 0;

	while (r == 0 && d->depth > 0) {
		struct frame *f = &d->stack[d->depth - 1];
		const struct entry *ea = NULL, *eb = NULL;
		const uint8_t *name;
		size_t len;

		if (f->ia == f->a.n && f->ib == f->b.n) {
			pop_frame(d);
			continue;
		}
		if (f->ia < f->a.n)
			ea = &f->a.v[f->ia];
		if (f->ib < f->b.n)
			eb = &f->b.v[f->ib];
		if (ea && eb) {
			int c = name_cmp(entry_name(&f->a, ea), ea->name_len, entry_name(&f->b, eb),
					 eb->name_len);
			if (c < 0)
				eb = NULL;
			else if (c > 0)
				ea = NULL;
		}
		if (ea) {
			name = entry_name(&f->a, ea);
			len = ea->name_len;
			f->ia++;
		} else {
			name = entry_name(&f->b, eb);
			len = eb->name_len;
		}
		if (eb)
			f->ib++;
		set_path(d, f->path_len, name, len);
		/* visit() may move the stack; ea and eb live in the lists' own arrays */
		r = visit(d, ea, eb);
	}
	return r;
}

/* Checks PATH and turns it into "/a/b" in d->path. */
static int set_root_path(struct differ *d, const char *path)
{
	buf_reset(&d->path);
	buf_append_u8(&d->path, '/');
	while (path && *path) {
		size_t len = strcspn(path, "/");
		if (len > 0) {
			if (!name_is_valid_component(path, len))
				return log_error_errno(-EINVAL,
						       "'%.*s' cannot be a name in a snapshot",
						       (int)len, path);
			if (d->path.len > 1)
				buf_append_u8(&d->path, '/');
			buf_append(&d->path, path, len);
		}
		path += len;
		path += *path == '/';
	}
	buf_append_u8(&d->path, 0);
	d->path.len--;
	return 0;
}

static int snapshot_root(struct differ *d, const struct cat_snapshot *s, struct entry *ret,
			 bool *ret_present)
{
	int r = catalog_lookup_path(d->c, s->ino_base, (const char *)d->path.ptr + 1, &ret->attr);
	*ret_present = r == 0;
	return r == -ENOENT ? 0 : r;
}

static void differ_release(struct differ *d)
{
	while (d->depth > 0)
		pop_frame(d);
	free(d->stack);
	buf_release(&d->path);
	buf_release(&d->abs);
	buf_release(&d->xa);
	buf_release(&d->xb);
	free(d->data);
}

static int run(struct differ *d, const struct entry *ra, const struct entry *rb,
	       struct diff_stats *ret)
{
	int r;

	if (!ra && !rb)
		return log_error_errno(-ENOENT, "'%s' is on neither side",
				       (const char *)d->path.ptr);
	r = visit(d, ra, rb);
	if (r == 0)
		r = walk(d);
	assert(r <= 0); /* callbacks return 0 or -errno */
	if (r < 0)
		return r;
	if (ret)
		*ret = d->st;
	uint64_t n = d->st.n_added + d->st.n_removed + d->st.n_changed;
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

int diff_snapshots(struct catalog *c, const struct cat_snapshot *a, const struct cat_snapshot *b,
		   const struct diff_options *o, struct diff_stats *ret)
{
	struct differ d = { .c = c, .o = o };
	struct entry ra = { 0 }, rb = { 0 };
	bool has_a = false, has_b = false;
	int r;

	r = set_root_path(&d, o->path);
	if (r == 0)
		r = snapshot_root(&d, a, &ra, &has_a);
	if (r == 0)
		r = snapshot_root(&d, b, &rb, &has_b);
	if (r == 0)
		r = run(&d, has_a ? &ra : NULL, has_b ? &rb : NULL, ret);
	differ_release(&d);
	return r;
}

int diff_live(struct catalog *c, const struct cat_snapshot *a, const char *dir,
	      const struct diff_options *o, struct diff_stats *ret)
{
	struct differ d = { .c = c, .o = o };
	struct entry ra = { 0 }, rb = { 0 };
	bool has_a = false, has_b = false;
	struct stat st;
	int r;

	if (stat(dir, &st) < 0)
		return log_error_errno(-errno, "cannot compare with '%s'", dir);
	if (!S_ISDIR(st.st_mode))
		return log_error_errno(-ENOTDIR, "cannot compare with '%s'", dir);
	AUTOFREE char *live = xstrdup(dir);
	size_t len = strlen(live);
	while (len > 0 && live[len - 1] == '/')
		live[--len] = '\0'; /* "/" becomes "", to which paths "/..." are appended */
	d.live = live;

	r = set_root_path(&d, o->path);
	if (r == 0)
		r = snapshot_root(&d, a, &ra, &has_a);
	if (r == 0) {
		const char *path = live_path(&d);
		if (lstat(path, &st) == 0) {
			attr_from_stat(&st, &rb.attr);
			has_b = true;
		} else if (errno != ENOENT) {
			r = log_error_errno(-errno, "cannot stat '%s'", path);
		}
	}
	if (r == 0)
		r = run(&d, has_a ? &ra : NULL, has_b ? &rb : NULL, ret);
	differ_release(&d);
	return r;
}
