/*
 * memfs.c - the FUSE ceiling of `make bench`: a minimal multithreaded
 * low-level FUSE filesystem that serves directory trees from memory.
 *
 *   memfs [-d] MOUNTPOINT DIR...
 *
 * Reads every DIR whole into memory (regular files' data extents, found
 * with SEEK_DATA/SEEK_HOLE, so holes cost nothing; symlinks; directories;
 * hardlinks stay one inode), then mounts read-only at MOUNTPOINT with one
 * top-level directory per DIR, named as its last component, and serves it
 * in the foreground with libfuse's multithreaded loop until unmounted.
 * Nothing is read from disk after the mount, and there is no work per
 * request beyond finding the bytes, so a row measured through it is what
 * the kernel's FUSE path costs on this machine, to compare cairnfs with.
 *
 * It asks the kernel for what cairnfs asks for (fs/fs-ops.c): reads of up
 * to 1 MiB (max_write sets max_pages), 64 background requests, async
 * reads, readdirplus, symlink caching, no opens where the kernel can do
 * without them, a day's timeouts for entries and attributes, and answers
 * reads with fuse_reply_iov() straight from the loaded bytes.
 *
 * A benchmark tool built by tests/bench/run.sh, not by `make all`; it
 * trusts the directories it loads (they are the bench's own datasets).
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE
#include <fuse_lowlevel.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_IO (1u << 20)
#define MAX_BACKGROUND 64
#define TIMEOUT 86400.0
#define READ_SEGS 64

struct extent {
	uint64_t off, len;
	char *data;
};

struct dent {
	char *name;
	fuse_ino_t ino;
};

struct node {
	struct stat st;
	char *link;	    /* symlink target */
	struct extent *ext; /* regular file: data extents, ascending */
	size_t n_ext;
	struct dent *ents; /* directory: entries sorted by name */
	size_t n_ents;
	fuse_ino_t parent;
};

/* Source inode -> our inode, for hardlinks (open addressing). */
struct link_slot {
	dev_t dev;
	ino_t ino;
	fuse_ino_t ours;
};

static struct node *nodes; /* nodes[ino - 1] */
static size_t n_nodes, cap_nodes;
static struct link_slot *links;
static size_t cap_links, n_links;
static char zeros[MAX_IO];
static bool no_open;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "memfs: out of memory\n");
		exit(1);
	}
	return p;
}

static void die_errno(const char *what, const char *path)
{
	fprintf(stderr, "memfs: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static fuse_ino_t new_node(const struct stat *st, fuse_ino_t parent)
{
	if (n_nodes == cap_nodes) {
		cap_nodes = cap_nodes ? cap_nodes * 2 : 1024;
		nodes = xrealloc(nodes, cap_nodes * sizeof(*nodes));
	}
	memset(&nodes[n_nodes], 0, sizeof(nodes[0]));
	nodes[n_nodes].st = *st;
	nodes[n_nodes].parent = parent;
	n_nodes++;
	nodes[n_nodes - 1].st.st_ino = n_nodes;
	return n_nodes;
}

static struct link_slot *link_slot(dev_t dev, ino_t ino)
{
	size_t h = ((size_t)ino * 0x9e3779b97f4a7c15ull) & (cap_links - 1);

	while (links[h].ours && (links[h].dev != dev || links[h].ino != ino))
		h = (h + 1) & (cap_links - 1);
	return &links[h];
}

static void remember_link(dev_t dev, ino_t ino, fuse_ino_t ours)
{
	if (2 * (n_links + 1) > cap_links) {
		struct link_slot *old = links;
		size_t old_cap = cap_links;
		cap_links = cap_links ? cap_links * 2 : 1024;
		links = calloc(cap_links, sizeof(*links));
		if (!links)
			exit(1);
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].ours)
				*link_slot(old[i].dev, old[i].ino) = old[i];
		free(old);
	}
	*link_slot(dev, ino) = (struct link_slot){ dev, ino, ours };
	n_links++;
}

static void load_file(int dirfd, const char *name, struct node *n)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW);
	off_t pos = 0, size = n->st.st_size;

	if (fd < 0)
		die_errno("cannot open", name);
	while (pos < size) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;
		if (data < 0)
			break; /* the rest is a hole */
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = size;
		struct extent e = { (uint64_t)data, (uint64_t)(hole - data), NULL };
		e.data = xrealloc(NULL, e.len);
		for (uint64_t done = 0; done < e.len;) {
			ssize_t k = pread(fd, e.data + done, e.len - done, (off_t)(e.off + done));
			if (k <= 0)
				die_errno("cannot read", name);
			done += (uint64_t)k;
		}
		n->ext = xrealloc(n->ext, (n->n_ext + 1) * sizeof(*n->ext));
		n->ext[n->n_ext++] = e;
		pos = hole;
	}
	close(fd);
}

static int dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

static void add_dent(fuse_ino_t dir, const char *name, fuse_ino_t ino)
{
	struct node *d = &nodes[dir - 1];

	d->ents = xrealloc(d->ents, (d->n_ents + 1) * sizeof(*d->ents));
	d->ents[d->n_ents].name = strdup(name);
	d->ents[d->n_ents].ino = ino;
	d->n_ents++;
}

static void load_dir(int fd, fuse_ino_t dir)
{
	DIR *dp = fdopendir(fd);
	struct dirent *de;

	if (!dp)
		die_errno("cannot list", "a directory");
	while ((de = readdir(dp))) {
		struct stat st;
		fuse_ino_t ino;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die_errno("cannot stat", de->d_name);
		if (S_ISREG(st.st_mode) && st.st_nlink > 1 && cap_links &&
		    link_slot(st.st_dev, st.st_ino)->ours) {
			add_dent(dir, de->d_name, link_slot(st.st_dev, st.st_ino)->ours);
			continue;
		}
		ino = new_node(&st, dir);
		add_dent(dir, de->d_name, ino);
		if (S_ISREG(st.st_mode)) {
			if (st.st_nlink > 1)
				remember_link(st.st_dev, st.st_ino, ino);
			load_file(fd, de->d_name, &nodes[ino - 1]);
		} else if (S_ISLNK(st.st_mode)) {
			char *t = xrealloc(NULL, (size_t)st.st_size + 1);
			ssize_t k = readlinkat(fd, de->d_name, t, (size_t)st.st_size + 1);
			if (k < 0 || k > st.st_size)
				die_errno("cannot read the link", de->d_name);
			t[k] = 0;
			nodes[ino - 1].link = t;
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			if (sub < 0)
				die_errno("cannot open", de->d_name);
			load_dir(sub, ino);
		}
	}
	closedir(dp);
	struct node *d = &nodes[dir - 1];
	qsort(d->ents, d->n_ents, sizeof(*d->ents), dent_cmp);
}

static struct node *node_of(fuse_ino_t ino)
{
	return ino >= 1 && ino <= n_nodes ? &nodes[ino - 1] : NULL;
}

static void fill_entry(fuse_ino_t ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->generation = 1;
	e->attr = nodes[ino - 1].st;
	e->attr_timeout = TIMEOUT;
	e->entry_timeout = TIMEOUT;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->max_write = MAX_IO;
	conn->max_background = MAX_BACKGROUND;
	conn->congestion_threshold = MAX_BACKGROUND * 3 / 4;
	conn->time_gran = 1;
	unsigned want[] = { FUSE_CAP_ASYNC_READ, FUSE_CAP_READDIRPLUS, FUSE_CAP_READDIRPLUS_AUTO,
			    FUSE_CAP_CACHE_SYMLINKS, FUSE_CAP_PARALLEL_DIROPS };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (conn->capable & want[i])
			conn->want |= want[i];
	conn->want &= ~(unsigned)(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_SPLICE_WRITE |
				  FUSE_CAP_SPLICE_MOVE);
	no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *d = node_of(parent);
	struct fuse_entry_param e;
	struct dent key = { (char *)name, 0 }, *hit;

	if (!d || !S_ISDIR(d->st.st_mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	hit = bsearch(&key, d->ents, d->n_ents, sizeof(*d->ents), dent_cmp);
	if (!hit) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_entry(hit->ino, &e);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = node_of(ino);

	(void)fi;
	if (!n)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &n->st, TIMEOUT);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n = node_of(ino);

	if (!n || !n->link)
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, n->link);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

/* Offsets: 1 and 2 after the dots, 3 + i after entry i. */
static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct node *d = node_of(ino);
	char *buf, *p;
	size_t room = size;

	if (!d || !S_ISDIR(d->st.st_mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = p = xrealloc(NULL, size);
	for (off_t i = off; i < (off_t)d->n_ents + 2; i++) {
		const char *name;
		fuse_ino_t e_ino;
		size_t k;
		if (i < 2) {
			name = i == 0 ? "." : "..";
			e_ino = i == 0 ? ino : (d->parent ? d->parent : ino);
		} else {
			name = d->ents[i - 2].name;
			e_ino = d->ents[i - 2].ino;
		}
		if (plus) {
			struct fuse_entry_param e;
			if (i < 2) {
				memset(&e, 0, sizeof(e));
				e.attr.st_ino = e_ino;
				e.attr.st_mode = S_IFDIR;
			} else {
				fill_entry(e_ino, &e);
			}
			k = fuse_add_direntry_plus(req, p, room, name, &e, i + 1);
		} else {
			struct stat st = { .st_ino = e_ino,
					   .st_mode = nodes[e_ino - 1].st.st_mode & S_IFMT };
			k = fuse_add_direntry(req, p, room, name, &st, i + 1);
		}
		if (k > room)
			break;
		p += k;
		room -= k;
	}
	fuse_reply_buf(req, buf, (size_t)(p - buf));
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = node_of(ino);

	if (no_open) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (!n || !S_ISREG(n->st.st_mode)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->keep_cache = 1;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct node *n = node_of(ino);
	struct iovec iov[READ_SEGS];
	int n_iov = 0;
	uint64_t pos = (uint64_t)off, end;

	(void)fi;
	if (!n || !S_ISREG(n->st.st_mode) || off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (pos >= (uint64_t)n->st.st_size || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	end = pos + size;
	if (end > (uint64_t)n->st.st_size)
		end = (uint64_t)n->st.st_size;
	for (size_t i = 0; i < n->n_ext && pos < end && n_iov < READ_SEGS - 1; i++) {
		const struct extent *e = &n->ext[i];
		if (e->off + e->len <= pos)
			continue;
		if (e->off >= end)
			break;
		if (e->off > pos) {
			iov[n_iov++] = (struct iovec){ zeros, e->off - pos };
			pos = e->off;
		}
		uint64_t stop = e->off + e->len < end ? e->off + e->len : end;
		iov[n_iov++] = (struct iovec){ e->data + (pos - e->off), stop - pos };
		pos = stop;
	}
	if (pos < end)
		iov[n_iov++] = (struct iovec){ zeros, end - pos };
	fuse_reply_iov(req, iov, n_iov);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = { .f_bsize = 4096, .f_frsize = 4096, .f_namemax = 255 };

	(void)ino;
	sv.f_files = n_nodes;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.statfs = op_statfs,
};

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se;
	struct fuse_loop_config *cfg;
	struct stat st;
	bool debug = argc > 1 && strcmp(argv[1], "-d") == 0;
	char **a = argv + 1 + debug;
	int n = argc - 1 - debug, r;

	if (n < 2) {
		fprintf(stderr, "usage: memfs [-d] MOUNTPOINT DIR...\n");
		return 2;
	}
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR | 0755;
	st.st_nlink = 2;
	new_node(&st, 0);
	for (int i = 1; i < n; i++) {
		const char *base = strrchr(a[i], '/') ? strrchr(a[i], '/') + 1 : a[i];
		int fd = open(a[i], O_RDONLY | O_DIRECTORY);
		if (fd < 0 || fstat(fd, &st) < 0)
			die_errno("cannot open", a[i]);
		fuse_ino_t ino = new_node(&st, 1);
		add_dent(1, base, ino);
		load_dir(fd, ino);
	}
	qsort(nodes[0].ents, nodes[0].n_ents, sizeof(*nodes[0].ents), dent_cmp);
	fprintf(stderr, "memfs: %zu inodes loaded\n", n_nodes);

	fuse_opt_add_arg(&args, argv[0]);
	fuse_opt_add_arg(&args, "-oro,fsname=memfs,subtype=memfs,default_permissions");
	if (debug)
		fuse_opt_add_arg(&args, "-d");
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se || fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, a[0]) != 0) {
		fprintf(stderr, "memfs: cannot mount %s\n", a[0]);
		return 1;
	}
	cfg = fuse_loop_cfg_create();
	r = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return r ? 1 : 0;
}
