/*
 * fs-ops.c - thin libfuse low-level handlers over fs-tree.c and fs-read.c.
 *
 * Each handler gets its thread's catalog, calls one function that returns
 * int, and replies exactly once: the answer, or fs_errno() of the error.
 * Nothing here keeps per-inode state (inode numbers come from the catalog
 * and are stable), so lookup counts need no bookkeeping and forget does
 * nothing.
 *
 * Caching: snapshot contents never change, so their entries, attributes,
 * pages, listings and symlinks are given to the kernel for a day
 * (FS_CONTENT_TIMEOUT), and open files keep their page cache. Everything
 * above the snapshots changes when the refresh thread finds new snapshots,
 * so those entries and attributes time out after the refresh interval and
 * their names are never cached as missing; `latest` is renumbered for each
 * new snapshot (fs-tree.h), so its cached link is never stale.
 *
 * The mount is read-only: the kernel already refuses writes on an "ro"
 * mount, and every writing operation here answers EROFS as well.
 */
#include "fs-ops.h"
#include "fs.h"
#include "base/log.h"

#include <fcntl.h>
#include <sys/stat.h>

/* Read-ahead requests the kernel may have in flight at once. */
#define FS_MAX_BACKGROUND 64

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static double attr_timeout(const struct fs *fs, uint64_t ino)
{
	return fs_ino_is_immutable(ino) ? FS_CONTENT_TIMEOUT : fs->synthetic_timeout;
}

/* How long a name in directory parent stays valid (found or missing). */
static double entry_timeout(const struct fs *fs, uint64_t parent)
{
	return fs_ino_kind(parent, NULL) == FS_INO_KIND_CONTENT ? FS_CONTENT_TIMEOUT
								: fs->synthetic_timeout;
}

static void attr_to_stat(const struct cat_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_rdev = a->rdev;
	st->st_blocks = (blkcnt_t)a->blocks;
	/* Matches the usual local block size, so cp --sparse=always finds
	 * holes at the same granularity as in the source. */
	st->st_blksize = 4096;
	st->st_mtim.tv_sec = a->mtime_sec;
	st->st_mtim.tv_nsec = a->mtime_nsec;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

static void entry_param(const struct fs *fs, uint64_t parent, const struct cat_attr *a,
			struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = 1;
	attr_to_stat(a, &e->attr);
	e->attr_timeout = attr_timeout(fs, a->ino);
	e->entry_timeout = entry_timeout(fs, parent);
}

/* The thread's catalog; every handler that needs one comes here first, so
 * this is also where the first request after FUSE init tunes the kernel. */
static int catalog_of(struct fs *fs, struct catalog **ret)
{
	if (!__atomic_load_n(&fs->ra_tuned, __ATOMIC_RELAXED))
		fs_tune_kernel_readahead(fs);
	return fs_catalog(fs, ret);
}

static void reply_error(fuse_req_t req, int r)
{
	fuse_reply_err(req, fs_errno(r));
}

static void want_if_capable(struct fuse_conn_info *conn, unsigned cap)
{
	if (conn->capable & cap)
		conn->want |= cap;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	/* max_write also sets max_pages, which bounds reads: ask for all. */
	conn->max_write = FS_MAX_IO;
	/* max_readahead starts at the kernel's maximum; keep it. */
	conn->max_background = FS_MAX_BACKGROUND;
	conn->congestion_threshold = FS_MAX_BACKGROUND * 3 / 4;
	conn->time_gran = 1;
	want_if_capable(conn, FUSE_CAP_ASYNC_READ);
	want_if_capable(conn, FUSE_CAP_READDIRPLUS);
	want_if_capable(conn, FUSE_CAP_READDIRPLUS_AUTO);
	want_if_capable(conn, FUSE_CAP_CACHE_SYMLINKS);
	want_if_capable(conn, FUSE_CAP_PARALLEL_DIROPS);
	/* With allow_other, default_permissions alone checks mode bits only:
	 * a backed-up ACL that denies a user, or a mask that narrows a group,
	 * would be ignored. With this the kernel fetches system.posix_acl_*
	 * through getxattr (once per inode, then cached) and enforces them. */
	want_if_capable(conn, FUSE_CAP_POSIX_ACL);
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	/* Reads are answered from memory with fuse_reply_iov(): one copy,
	 * into the kernel's pages. Splicing memory would add one (into a
	 * pipe), so FUSE_CAP_SPLICE_WRITE is left off. */
	conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
	/* Opens carry no state here: a kernel that can do without them saves
	 * two round trips (open, release) per file read. */
	fs->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct catalog *c;
	struct cat_attr a;
	int r;

	r = catalog_of(fs, &c);
	if (r == 0)
		r = fs_tree_lookup(&fs->tree, c, parent, name, &a);
	if (r == -ENOENT && fs_ino_kind(parent, NULL) == FS_INO_KIND_CONTENT) {
		/* A snapshot never gains a name: let the kernel remember. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = FS_CONTENT_TIMEOUT;
		fuse_reply_entry(req, &e);
		return;
	}
	if (r < 0) {
		reply_error(req, r);
		return;
	}
	entry_param(fs, parent, &a, &e);
	fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino UNUSED, uint64_t nlookup UNUSED)
{
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count UNUSED,
			    struct fuse_forget_data *forgets UNUSED)
{
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi UNUSED)
{
	struct fs *fs = fs_of(req);
	struct catalog *c;
	struct cat_attr a;
	struct stat st;
	int r;

	r = catalog_of(fs, &c);
	if (r == 0)
		r = fs_tree_getattr(&fs->tree, c, ino, &a);
	if (r < 0) {
		reply_error(req, r);
		return;
	}
	attr_to_stat(&a, &st);
	fuse_reply_attr(req, &st, attr_timeout(fs, ino));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	AUTOBUF struct buf target = BUF_INIT;
	struct catalog *c;
	int r;

	r = catalog_of(fs, &c);
	if (r == 0)
		r = fs_tree_readlink(&fs->tree, c, ino, &target);
	if (r < 0) {
		reply_error(req, r);
		return;
	}
	buf_append_u8(&target, '\0');
	fuse_reply_readlink(req, (const char *)target.ptr);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fi->fh = 0; /* offsets alone resume a listing */
	if (fs_ino_kind(ino, NULL) == FS_INO_KIND_CONTENT) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	fuse_reply_open(req, fi);
}

struct dir_reply {
	fuse_req_t req;
	const struct fs *fs;
	uint64_t dir;
	bool plus;
	char *buf;
	size_t size, len;
};

static bool is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static int add_dirent(void *userdata, uint64_t next_off, const char *name,
		      const struct cat_attr *attr)
{
	struct dir_reply *d = userdata;
	size_t room = d->size - d->len, n;

	if (d->plus) {
		struct fuse_entry_param e;
		if (is_dot(name)) {
			/* No lookup is implied for the dots: ino 0. */
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = attr->ino;
			e.attr.st_mode = attr->mode & S_IFMT;
		} else {
			entry_param(d->fs, d->dir, attr, &e);
		}
		n = fuse_add_direntry_plus(d->req, d->buf + d->len, room, name, &e,
					   (off_t)next_off);
	} else {
		struct stat st = { .st_ino = attr->ino, .st_mode = attr->mode & S_IFMT };
		n = fuse_add_direntry(d->req, d->buf + d->len, room, name, &st, (off_t)next_off);
	}
	if (n > room)
		return 1; /* full; this entry comes first next time */
	d->len += n;
	return 0;
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct fs *fs = fs_of(req);
	AUTOFREE char *buf = xmalloc(size);
	struct dir_reply d = { req, fs, ino, plus, buf, size, 0 };
	struct catalog *c;
	int r;

	r = catalog_of(fs, &c);
	if (r == 0 && off < 0)
		r = -EINVAL;
	if (r == 0)
		r = fs_tree_readdir(&fs->tree, c, ino, (uint64_t)off, plus, add_dirent, &d);
	/* Entries already gathered go out; the error comes with the next call. */
	if (r < 0 && d.len == 0) {
		reply_error(req, r);
		return;
	}
	fuse_reply_buf(req, buf, d.len);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi UNUSED)
{
	readdir_common(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi UNUSED)
{
	readdir_common(req, ino, size, off, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino UNUSED, struct fuse_file_info *fi UNUSED)
{
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct catalog *c;
	struct cat_attr a;
	int r;

	if (fs->no_open) {
		/* The kernel then opens every file itself, keeping its page
		 * cache, and never sends open or release again. */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_CREAT))) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = catalog_of(fs, &c);
	if (r == 0)
		r = fs_tree_getattr(&fs->tree, c, ino, &a);
	if (r == 0 && !S_ISREG(a.mode))
		r = S_ISDIR(a.mode) ? -EISDIR : -EINVAL;
	if (r < 0) {
		reply_error(req, r);
		return;
	}
	fi->fh = 0;	    /* reads find what they need by inode */
	fi->keep_cache = 1; /* the contents never change */
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi UNUSED)
{
	struct fs *fs = fs_of(req);
	struct fs_read rd = FS_READ_INIT;
	struct catalog *c;
	int r;

	r = catalog_of(fs, &c);
	if (r == 0 && off < 0)
		r = -EINVAL;
	if (r == 0)
		r = fs_file_read(fs, c, ino, (uint64_t)off, size, &rd);
	if (r < 0) {
		log_debug("read of inode %" PRIu64 " at %jd (%zu bytes) failed: %s", (uint64_t)ino,
			  (intmax_t)off, size, log_strerror(r));
		reply_error(req, r);
	} else if (rd.n_iov == 0) {
		fuse_reply_buf(req, NULL, 0);
	} else {
		/* Straight from the cache entries rd holds: one copy, the
		 * kernel's. */
		fuse_reply_iov(req, rd.iov, (int)rd.n_iov);
	}
	fs_read_release(fs, &rd);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi UNUSED)
{
	struct fs *fs = fs_of(req);
	struct catalog *c;
	uint64_t pos = 0;
	int r;

	if (whence == SEEK_SET && off >= 0) {
		/* The kernel answers SEEK_SET/CUR/END itself; just in case. */
		fuse_reply_lseek(req, off);
		return;
	}
	if ((whence != SEEK_DATA && whence != SEEK_HOLE) || off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = catalog_of(fs, &c);
	if (r == 0)
		r = fs_tree_seek(&fs->tree, c, ino, (uint64_t)off, whence, &pos);
	if (r < 0) {
		reply_error(req, r);
		return;
	}
	fuse_reply_lseek(req, (off_t)pos);
}

/* Replies to getxattr or listxattr with value in the size-probing way:
 * size 0 asks for the length, a smaller buffer gets ERANGE. */
static void reply_xattr_value(fuse_req_t req, const struct buf *value, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, value->len);
	else if (value->len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)value->ptr, value->len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = fs_of(req);
	AUTOBUF struct buf value = BUF_INIT;
	struct catalog *c;
	int r;

	r = catalog_of(fs, &c);
	if (r == 0)
		r = fs_tree_getxattr(&fs->tree, c, ino, name, &value);
	if (r < 0) {
		reply_error(req, r);
		return;
	}
	reply_xattr_value(req, &value, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = fs_of(req);
	AUTOBUF struct buf names = BUF_INIT;
	struct catalog *c;
	int r;

	r = catalog_of(fs, &c);
	if (r == 0)
		r = fs_tree_listxattr(&fs->tree, c, ino, &names);
	if (r < 0) {
		reply_error(req, r);
		return;
	}
	reply_xattr_value(req, &names, size);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino UNUSED)
{
	struct fs *fs = fs_of(req);
	struct statvfs sv;
	struct catalog *c;
	int r;

	r = catalog_of(fs, &c);
	if (r == 0)
		r = fs_tree_statfs(&fs->tree, c, &sv);
	if (r < 0) {
		reply_error(req, r);
		return;
	}
	fuse_reply_statfs(req, &sv);
}

/* --- everything that would write --- */

static void op_setattr(fuse_req_t req, fuse_ino_t ino UNUSED, struct stat *attr UNUSED,
		       int to_set UNUSED, struct fuse_file_info *fi UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent UNUSED, const char *name UNUSED,
		     mode_t mode UNUSED, dev_t rdev UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent UNUSED, const char *name UNUSED,
		     mode_t mode UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent UNUSED, const char *name UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_symlink(fuse_req_t req, const char *link UNUSED, fuse_ino_t parent UNUSED,
		       const char *name UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent UNUSED, const char *name UNUSED,
		      fuse_ino_t newparent UNUSED, const char *newname UNUSED,
		      unsigned int flags UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t ino UNUSED, fuse_ino_t newparent UNUSED,
		    const char *newname UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_create(fuse_req_t req, fuse_ino_t parent UNUSED, const char *name UNUSED,
		      mode_t mode UNUSED, struct fuse_file_info *fi UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_write(fuse_req_t req, fuse_ino_t ino UNUSED, const char *buf UNUSED,
		     size_t size UNUSED, off_t off UNUSED, struct fuse_file_info *fi UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino UNUSED, const char *name UNUSED,
			const char *value UNUSED, size_t size UNUSED, int flags UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino UNUSED, const char *name UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino UNUSED, int mode UNUSED,
			 off_t offset UNUSED, off_t length UNUSED, struct fuse_file_info *fi UNUSED)
{
	fuse_reply_err(req, EROFS);
}

static void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in UNUSED, off_t off_in UNUSED,
			       struct fuse_file_info *fi_in UNUSED, fuse_ino_t ino_out UNUSED,
			       off_t off_out UNUSED, struct fuse_file_info *fi_out UNUSED,
			       size_t len UNUSED, int flags UNUSED)
{
	fuse_reply_err(req, EROFS);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.lseek = op_lseek,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.statfs = op_statfs,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.write = op_write,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
	.copy_file_range = op_copy_file_range,
};
