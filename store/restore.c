/*
 * restore.c - recreate a snapshot in a local directory.
 *
 * The main thread walks the snapshot (walk_subtree()) and keeps one open
 * directory descriptor per level of the walk, each opened relative to its
 * parent with O_NOFOLLOW | O_DIRECTORY, starting from a descriptor of the
 * target. It creates directories (mode 0700 until the end, so that an
 * unprivileged restore can still write into a directory whose final mode
 * forbids it), symlinks, fifos, sockets and device nodes itself, and hands
 * each regular file to a small pool of worker threads with a duplicate of
 * its parent's descriptor. Nothing is ever opened by a path of more than
 * one component, and no symlink is ever followed, so whatever names,
 * symlinks or hardlinks a snapshot (or a target that already holds files)
 * has, nothing is created or changed outside the target.
 *
 * Complete or absent: a worker writes a file into an unnamed O_TMPFILE
 * inode (or, where the filesystem lacks those, a name beginning with
 * RESTORE_TMP_PREFIX), sets its owner, mode, xattrs and mtime, checks it
 * when asked to verify, and only then links or renames it to its name;
 * other entries are created under a temporary name and renamed too. An
 * interrupted restore therefore leaves only complete entries under real
 * names, directories without their final metadata, and perhaps a few
 * temporary names; running it again with overwrite replaces every entry of
 * the snapshot, removes those temporary names, and finishes the rest.
 *
 * Deferred to the end, once the workers are done: second and later names
 * of multiply-linked entries (link(2) to the first name, found again by
 * walking its path from the target), then the metadata of directories in
 * post-order (children before parents), since creating entries changes a
 * directory's mtime and a final mode may forbid writing into it.
 *
 * Chunks are fetched through the shared chunk cache (cache.c): the worker
 * writing a file has the chunks of the next few MiB prefetched by the
 * cache's threads, and concurrent requests for one chunk share one fetch.
 * Each chunk is fetched and decoded once per restore: when it has already
 * been written to a file that is in place, the worker copies the bytes
 * from there (copy_file_range(2), which may share the blocks) instead of
 * fetching them again. That map from chunk hash to (file, offset) is
 * bounded by RESTORE_WRITTEN_MAX entries; past it, and for a source file an
 * unprivileged restore cannot read back, chunks come from the cache or the
 * repository again.
 *
 * Holes: a file is ftruncate()d to its size and only its extents are
 * written, so holes stay holes.
 *
 * Thread safety: everything the workers share is in struct restore and
 * guarded by its lock, except the counters (updated with __atomic builtins)
 * and what is immutable once the workers start.
 */
#include "restore.h"
#include "chunker.h"
#include "hmap.h"
#include "log.h"
#include "walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define RESTORE_QUEUE_MAX 32
#define RESTORE_WRITTEN_MAX (1u << 18)
#define RESTORE_WRITTEN_PER_FILE (1u << 16)
#define RESTORE_WINDOW_MAX (32ull << 20)
#define RESTORE_PROGRESS_NS 250000000ull
#define RESTORE_EXAMPLES 5
#define NO_NODE UINT32_MAX

/* A directory, or the first name of a multiply-linked entry or of a file
 * that chunks are copied from: found again later by walking from the
 * target through its parents' names. Node 0 is the target itself. */
struct rnode {
	uint32_t parent;
	uint32_t name_len;
	uint64_t name_off; /* in restore.names */
	bool failed;       /* the entry could not be restored */
};

struct rlink {
	uint32_t src; /* node of the first name */
	uint32_t dir; /* node of the directory of this name */
	uint64_t name_off;
	uint32_t name_len;
};

struct rdir {
	uint32_t node;
	struct cat_attr attr;
};

struct written {
	uint32_t node; /* the file holding the chunk */
	uint64_t off;  /* where in it */
};

/* What an unprivileged restore could not do, to be reported once. */
struct shortfall {
	uint64_t n;
	struct buf examples;
};

struct rjob {
	int dirfd;            /* owned: the parent directory */
	char *name;           /* owned */
	char *path;           /* owned: for messages, relative to the target */
	uint32_t node;        /* the file's node, or NO_NODE */
	uint32_t parent_node; /* node of dirfd */
	struct cat_attr attr;
};

struct restore;

struct worker {
	struct restore *rs;
	struct catalog *cat; /* owned; this thread's connection */
	pthread_t thread;
	bool started;
	uint8_t *buf;      /* CHUNK_SIZE_MAX_LIMIT bytes for verifying */
	uint32_t src_node; /* node whose descriptor src_fd is, or NO_NODE */
	int src_fd;        /* the last file copied from, or -1 */
};

struct restore {
	struct repo *repo;
	const struct restore_options *o;
	const char *target;
	int root_fd;        /* the target; immutable */
	bool link_at_empty; /* linkat(AT_EMPTY_PATH) works; immutable */
	bool use_tmpfile;   /* O_TMPFILE works in the target; immutable */
	bool have_proc;     /* /proc/self/fd is there; immutable */
	struct cache *cache;
	uint64_t window;            /* prefetch window per file; immutable */
	uint64_t tmp_seq;           /* __atomic; numbers temporary names */
	struct restore_stats stats; /* counters: __atomic */

	/* main thread only */
	struct catalog *cat;
	int *fds; /* directory descriptor per walk depth (fds[0]: root_fd) */
	uint32_t *fd_nodes;
	size_t n_fds, cap_fds;
	struct hmap first; /* inode -> node of its first name (entries with nlink > 1) */
	struct rdir *dirs; /* post-order */
	size_t n_dirs, cap_dirs;
	struct rlink *links;
	size_t n_links, cap_links;
	bool root_is_dir;

	pthread_mutex_t lock;
	pthread_cond_t job_ready;              /* a job was queued, or stopping */
	pthread_cond_t job_taken;              /* the queue has room, or a job finished */
	struct rjob *queue[RESTORE_QUEUE_MAX]; /* guarded by lock */
	size_t q_head, q_len;                  /* guarded by lock */
	unsigned busy;                         /* guarded by lock: jobs being worked on */
	bool stopping;                         /* guarded by lock */
	struct rnode *nodes;                   /* guarded by lock */
	size_t n_nodes, cap_nodes;             /* guarded by lock */
	struct buf names;                      /* guarded by lock: node and link names */
	struct hmap written;                   /* guarded by lock: chunk hash -> index in wr */
	struct written *wr;                    /* guarded by lock */
	size_t n_wr;                           /* guarded by lock */
	struct shortfall owners, devices, xattrs, modes; /* guarded by lock */

	struct worker *workers;
	unsigned n_workers;
	uint64_t last_progress;
};

static void count(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

/* A path for messages: the target, '/', the escaped relative path. */
static char *show(const struct restore *rs, const char *path)
{
	struct buf b = BUF_INIT;
	buf_append_escaped(&b, rs->target, strlen(rs->target));
	if (*path) {
		if (b.len == 0 || b.ptr[b.len - 1] != '/')
			buf_append_u8(&b, '/');
		buf_append_escaped(&b, path, strlen(path));
	}
	buf_append_u8(&b, 0);
	return (char *)buf_detach(&b, NULL);
}

static int fail(struct restore *rs, int r, const char *what, const char *path)
{
	AUTOFREE char *p = show(rs, path);
	count(&rs->stats.n_errors, 1);
	return log_error_errno(r, "cannot %s '%s'", what, p);
}

static void shortfall_add(struct restore *rs, struct shortfall *s, const char *path,
                          const char *detail)
{
	AUTOFREE char *p = show(rs, path);
	pthread_mutex_lock(&rs->lock);
	if (s->n++ < RESTORE_EXAMPLES)
		buf_printf(&s->examples, "%s'%s'%s%s", s->n > 1 ? ", " : "", p, detail ? " " : "",
		           detail ? detail : "");
	pthread_mutex_unlock(&rs->lock);
}

/* Logs "could not <verb> N <what>: examples". */
static void shortfall_report(const struct shortfall *s, const char *verb, const char *what)
{
	if (s->n == 0)
		return;
	log_warning("could not %s %" PRIu64 " %s: %.*s%s", verb, s->n, what, (int)s->examples.len,
	            (const char *)s->examples.ptr, s->n > RESTORE_EXAMPLES ? ", ..." : "");
}

/* --- nodes: entries found again by path --- */

static uint32_t node_add(struct restore *rs, uint32_t parent, const char *name, size_t len)
{
	pthread_mutex_lock(&rs->lock);
	if (rs->n_nodes == rs->cap_nodes) {
		rs->cap_nodes = rs->cap_nodes ? 2 * rs->cap_nodes : 64;
		rs->nodes = xrealloc(rs->nodes, rs->cap_nodes * sizeof(*rs->nodes));
	}
	uint32_t id = (uint32_t)rs->n_nodes++;
	rs->nodes[id] = (struct rnode){parent, (uint32_t)len, rs->names.len, false};
	buf_append(&rs->names, name, len);
	pthread_mutex_unlock(&rs->lock);
	return id;
}

static void node_set_failed(struct restore *rs, uint32_t node)
{
	if (node == NO_NODE)
		return;
	pthread_mutex_lock(&rs->lock);
	rs->nodes[node].failed = true;
	pthread_mutex_unlock(&rs->lock);
}

/* The names from the target down to node, as "a/b/c" with NUL
 * separators in *ret (n components); under the lock. */
static void node_components(struct restore *rs, uint32_t node, struct buf *ret, size_t *ret_n)
{
	size_t n = 0;

	pthread_mutex_lock(&rs->lock);
	for (uint32_t i = node; i != 0; i = rs->nodes[i].parent)
		n++;
	AUTOFREE uint32_t *chain = xcalloc(n ? n : 1, sizeof(uint32_t));
	size_t k = n;
	for (uint32_t i = node; i != 0; i = rs->nodes[i].parent)
		chain[--k] = i;
	for (size_t j = 0; j < n; j++) {
		const struct rnode *nd = &rs->nodes[chain[j]];
		buf_append(ret, rs->names.ptr + nd->name_off, nd->name_len);
		buf_append_u8(ret, 0);
	}
	pthread_mutex_unlock(&rs->lock);
	*ret_n = n;
}

static char *node_path(struct restore *rs, uint32_t node)
{
	AUTOBUF struct buf comps = BUF_INIT;
	size_t n;

	node_components(rs, node, &comps, &n);
	for (size_t i = 0; i < comps.len; i++)
		if (comps.ptr[i] == 0 && i + 1 < comps.len)
			comps.ptr[i] = '/';
	buf_append_u8(&comps, 0);
	return (char *)buf_detach(&comps, NULL);
}

static int open_dir_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Opens a directory that an earlier restore may have left with a mode
 * that keeps its (unprivileged) owner out: 0700 first, the final mode
 * comes at the end. */
static int open_dir_owned(int dirfd, const char *name)
{
	int fd = open_dir_at(dirfd, name);
	if (fd == -EACCES && fchmodat(dirfd, name, 0700, AT_SYMLINK_NOFOLLOW) == 0)
		fd = open_dir_at(dirfd, name);
	return fd;
}

/* Opens the directory holding node (the first `skip_last` = 1) or node
 * itself (0), one component at a time from the target, following no
 * symlink. *ret_name (may be NULL) gets node's own name. */
static int node_open(struct restore *rs, uint32_t node, bool parent, char **ret_name)
{
	AUTOBUF struct buf comps = BUF_INIT;
	const char *p;
	size_t n;
	int fd;

	node_components(rs, node, &comps, &n);
	fd = dup(rs->root_fd);
	if (fd < 0)
		return -errno;
	p = (const char *)comps.ptr;
	for (size_t i = 0; i + (parent ? 1 : 0) < n; i++) {
		int next = open_dir_at(fd, p);
		close(fd);
		if (next < 0)
			return next;
		fd = next;
		p += strlen(p) + 1;
	}
	if (ret_name) {
		*ret_name = xstrdup(n ? p : "");
	}
	return fd;
}

/* --- creating and replacing entries --- */

static void tmp_name(struct restore *rs, char out[64])
{
	uint64_t n = __atomic_add_fetch(&rs->tmp_seq, 1, __ATOMIC_RELAXED);
	snprintf(out, 64, RESTORE_TMP_PREFIX "%ld.%" PRIu64, (long)getpid(), n);
}

/* Removes name in dirfd and everything below it, following no symlink. */
static int remove_tree(int dirfd, const char *name)
{
	AUTOCLOSE int fd = -1;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (unlinkat(dirfd, name, 0) == 0)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	fd = open_dir_owned(dirfd, name);
	if (fd < 0)
		return fd;
	(void)fchmod(fd, 0700); /* so that an unprivileged user may empty it */
	int fd2 = dup(fd);
	if (fd2 < 0)
		return -errno;
	d = fdopendir(fd2);
	if (!d) {
		close(fd2);
		return -errno;
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = remove_tree(fd, de->d_name);
	}
	if (r == 0 && errno != 0)
		r = -errno;
	closedir(d);
	if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

/* Renames tmp to name in dirfd, replacing what is there (a directory in
 * the way is removed with its contents). tmp is removed on failure. */
static int rename_into_place(int dirfd, const char *tmp, const char *name)
{
	int r = 0;

	if (renameat(dirfd, tmp, dirfd, name) == 0)
		return 0;
	if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST) {
		r = remove_tree(dirfd, name);
		if (r == 0 && renameat(dirfd, tmp, dirfd, name) == 0)
			return 0;
	}
	if (r == 0)
		r = -errno;
	(void)unlinkat(dirfd, tmp, 0);
	return r;
}

/* --- metadata --- */

static bool is_user_xattr(const char *name)
{
	return strncmp(name, "user.", 5) == 0;
}

/* Sets owner, mode, xattrs and mtime: through fd when it is >= 0, else on
 * name in dirfd without following it. */
static int apply_meta(struct restore *rs, struct catalog *c, int fd, int dirfd, const char *name,
                      const struct cat_attr *a, const char *path)
{
	AUTOBUF struct buf names = BUF_INIT;
	AUTOBUF struct buf value = BUF_INIT;
	bool is_link = S_ISLNK(a->mode);
	uint32_t perm = a->mode & 07777;
	struct stat st;
	int r;

	r = fd >= 0 ? fchown(fd, a->uid, a->gid)
	            : fchownat(dirfd, name, a->uid, a->gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0) {
		if (errno != EPERM && errno != EINVAL)
			return fail(rs, -errno, "set the owner of", path);
		count(&rs->stats.n_not_owned, 1);
		char detail[48];
		snprintf(detail, sizeof(detail), "(%u:%u)", a->uid, a->gid);
		shortfall_add(rs, &rs->owners, path, detail);
	}
	if (!is_link) {
		r = fd >= 0 ? fchmod(fd, perm) : fchmodat(dirfd, name, perm, AT_SYMLINK_NOFOLLOW);
		if (r < 0)
			return fail(rs, -errno, "set the mode of", path);
		r = fd >= 0 ? fstat(fd, &st) : fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
		if (r == 0 && (st.st_mode & 07777) != perm) {
			char detail[48];
			snprintf(detail, sizeof(detail), "(%04o, not %04o)", st.st_mode & 07777,
			         perm);
			shortfall_add(rs, &rs->modes, path, detail);
		}
	}

	r = catalog_listxattr(c, a->ino, &names);
	if (r < 0)
		return fail(rs, r, "read the xattrs to restore on", path);
	for (size_t off = 0; off < names.len;) {
		const char *xn = (const char *)names.ptr + off;
		size_t len = strnlen(xn, names.len - off);
		off += len + 1;
		if (len == 0 || len > XATTR_NAME_LEN_MAX)
			continue;
		buf_reset(&value);
		r = catalog_getxattr(c, a->ino, xn, &value);
		if (r < 0)
			return fail(rs, r, "read the xattrs to restore on", path);
		if (fd >= 0) {
			r = fsetxattr(fd, xn, value.ptr ? (void *)value.ptr : "", value.len, 0);
		} else if (rs->have_proc) {
			AUTOFREE char *pp = xasprintf("/proc/self/fd/%d/%s", dirfd, name);
			r = lsetxattr(pp, xn, value.ptr ? (void *)value.ptr : "", value.len, 0);
		} else {
			r = -1;
			errno = ENOTSUP;
		}
		if (r < 0) {
			if (is_user_xattr(xn) && !is_link) {
				AUTOFREE char *p = show(rs, path);
				count(&rs->stats.n_errors, 1);
				return log_error_errno(-errno, "cannot set xattr '%s' on '%s'", xn,
				                       p);
			}
			if (errno != EPERM && errno != ENOTSUP && errno != EACCES &&
			    errno != EINVAL)
				return fail(rs, -errno, "set xattrs on", path);
			count(&rs->stats.n_xattr_lost, 1);
			AUTOFREE char *detail = xasprintf("(%s)", xn);
			shortfall_add(rs, &rs->xattrs, path, detail);
		}
	}

	struct timespec ts[2] = {{a->mtime_sec, a->mtime_nsec}, {a->mtime_sec, a->mtime_nsec}};
	r = fd >= 0 ? futimens(fd, ts) : utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return fail(rs, -errno, "set the mtime of", path);
	return 0;
}

/* --- regular files (worker threads) --- */

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static bool already_written(void *userdata, const struct cat_extent *e)
{
	struct restore *rs = userdata;
	pthread_mutex_lock(&rs->lock);
	bool found = hmap_get(&rs->written, e->loc.hash) != NULL;
	pthread_mutex_unlock(&rs->lock);
	return found;
}

/* Copies extent e from the file in place that holds its chunk: 0, or
 * < 0 when there is none or it cannot be read (the caller fetches). */
static int copy_written(struct restore *rs, struct worker *w, int fd, const struct cat_extent *e)
{
	struct written src;
	uint64_t *v;

	pthread_mutex_lock(&rs->lock);
	v = hmap_get(&rs->written, e->loc.hash);
	if (v)
		src = rs->wr[*v];
	pthread_mutex_unlock(&rs->lock);
	if (!v)
		return -ENOENT;
	if (w->src_node != src.node) {
		AUTOFREE char *name = NULL;
		if (w->src_fd >= 0)
			close(w->src_fd);
		w->src_fd = -1;
		w->src_node = src.node;
		int dfd = node_open(rs, src.node, true, &name);
		if (dfd >= 0) {
			w->src_fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
			close(dfd);
		}
	}
	if (w->src_fd < 0)
		return -EACCES;
	loff_t in = (loff_t)src.off, out = (loff_t)e->file_off;
	size_t left = e->loc.raw_len;
	while (left > 0) {
		ssize_t n = copy_file_range(w->src_fd, &in, fd, &out, left, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		left -= (size_t)n;
	}
	return 0;
}

static int write_extent(struct restore *rs, struct worker *w, int fd, const struct cat_extent *e)
{
	struct cache_entry *ent = NULL;
	const uint8_t *data;
	size_t len;
	int r;

	if (copy_written(rs, w, fd, e) == 0) {
		count(&rs->stats.n_copied, 1);
		return 0;
	}
	r = cache_get(rs->cache, &e->loc, &ent);
	if (r < 0)
		return r;
	data = cache_entry_data(ent, &len);
	r = pwrite_all(fd, data, len, e->file_off);
	cache_put(rs->cache, ent);
	return r;
}

/* Checks that [from, to) of fd reads as zeros, skipping holes. */
static int check_zero(struct worker *w, int fd, uint64_t from, uint64_t to)
{
	uint64_t pos = from;

	while (pos < to) {
		off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
		if (d < 0 && errno == ENXIO)
			return 0;
		if (d < 0)
			return -errno;
		if ((uint64_t)d >= to)
			return 0;
		off_t h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		uint64_t end = MIN((uint64_t)h, to);
		for (pos = (uint64_t)d; pos < end;) {
			size_t n = (size_t)MIN(end - pos, (uint64_t)CHUNK_SIZE_MAX_LIMIT);
			ssize_t got = pread_full(fd, w->buf, n, pos);
			if (got < 0)
				return (int)got;
			if ((size_t)got != n)
				return -EBADMSG;
			for (size_t i = 0; i < n; i++)
				if (w->buf[i])
					return -EBADMSG;
			pos += n;
		}
	}
	return 0;
}

/* Reads the file back and checks every extent's hash and every hole. */
static int verify_file(struct restore *rs, struct worker *w, int fd, const struct rjob *j)
{
	struct extent_iter it;
	struct cat_extent e;
	uint64_t pos = 0;
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != j->attr.size)
		return -EBADMSG;
	extent_iter_init(&it, w->cat, NULL, &j->attr, 0);
	while ((r = extent_iter_next(&it, &e)) > 0) {
		uint8_t got[HASH_LEN];
		r = check_zero(w, fd, pos, e.file_off);
		if (r < 0)
			return r;
		ssize_t n = pread_full(fd, w->buf, e.loc.raw_len, e.file_off);
		if (n < 0)
			return (int)n;
		if ((size_t)n != e.loc.raw_len)
			return -EBADMSG;
		crypto_sha256(w->buf, e.loc.raw_len, got);
		if (memcmp(got, e.loc.hash, HASH_LEN) != 0)
			return -EBADMSG;
		count(&rs->stats.n_verified_data, e.loc.raw_len);
		pos = e.file_off + e.loc.raw_len;
	}
	if (r < 0)
		return r;
	r = check_zero(w, fd, pos, j->attr.size);
	if (r < 0)
		return r;
	count(&rs->stats.n_verified, 1);
	return 0;
}

/* Gives the finished file fd its name: links the O_TMPFILE inode (or
 * renames tmp, when it has one) into place, replacing what is there. */
static int link_into_place(struct restore *rs, int fd, int dirfd, const char *tmp, const char *name)
{
	char t2[64];

	if (tmp)
		return rename_into_place(dirfd, tmp, name);
	for (int pass = 0; pass < 2; pass++) {
		const char *to = name;
		if (pass == 1) {
			tmp_name(rs, t2);
			to = t2;
		}
		int r;
		if (rs->link_at_empty) {
			r = linkat(fd, "", dirfd, to, AT_EMPTY_PATH);
		} else {
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
			r = linkat(AT_FDCWD, proc, dirfd, to, AT_SYMLINK_FOLLOW);
		}
		if (r == 0)
			return pass == 1 ? rename_into_place(dirfd, t2, name) : 0;
		if (errno != EEXIST || pass == 1)
			return -errno;
	}
	return -EEXIST;
}

/* Remembers where the chunks of a file now in place are, so that later
 * files copy them instead of fetching them again. */
static void remember_chunks(struct restore *rs, struct rjob *j, const uint64_t *offs,
                            const uint8_t (*hashes)[HASH_LEN], size_t n)
{
	uint32_t node = j->node;

	if (n == 0)
		return;
	if (node == NO_NODE)
		node = node_add(rs, j->parent_node, j->name, strlen(j->name));
	pthread_mutex_lock(&rs->lock);
	for (size_t i = 0; i < n && rs->n_wr < RESTORE_WRITTEN_MAX; i++) {
		if (hmap_get(&rs->written, hashes[i]))
			continue;
		rs->wr[rs->n_wr] = (struct written){node, offs[i]};
		hmap_put(&rs->written, hashes[i], rs->n_wr++);
	}
	pthread_mutex_unlock(&rs->lock);
}

static bool written_full(struct restore *rs)
{
	pthread_mutex_lock(&rs->lock);
	bool full = rs->n_wr >= RESTORE_WRITTEN_MAX;
	pthread_mutex_unlock(&rs->lock);
	return full;
}

static int create_file(struct restore *rs, int dirfd, char tmp[64], bool *ret_named)
{
	int fd;

	if (rs->use_tmpfile) {
		fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*ret_named = false;
			return fd;
		}
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -errno;
	}
	tmp_name(rs, tmp);
	fd = openat(dirfd, tmp, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	*ret_named = true;
	return fd;
}

static int write_file(struct restore *rs, struct worker *w, struct rjob *j)
{
	AUTOFREE uint64_t *offs = NULL;
	AUTOFREE uint8_t(*hashes)[HASH_LEN] = NULL;
	AUTOCLOSE int fd = -1;
	struct extent_iter it;
	struct cat_extent e;
	size_t n_offs = 0, cap_offs = 0;
	uint64_t data = 0;
	bool named = false, keep = !written_full(rs);
	char tmp[64];
	int r;

	fd = create_file(rs, j->dirfd, tmp, &named);
	if (fd < 0)
		return fail(rs, fd, "create", j->path);
	if (ftruncate(fd, (off_t)j->attr.size) < 0) {
		r = fail(rs, -errno, "write", j->path);
		goto drop;
	}
	extent_iter_init(&it, w->cat, rs->cache, &j->attr, rs->window);
	it.skip_prefetch = already_written;
	it.userdata = rs;
	while ((r = extent_iter_next(&it, &e)) > 0) {
		r = write_extent(rs, w, fd, &e);
		if (r < 0)
			break;
		data += e.loc.raw_len;
		count(&rs->stats.n_data, e.loc.raw_len);
		count(&rs->stats.n_bytes, e.loc.raw_len);
		if (keep && n_offs < RESTORE_WRITTEN_PER_FILE) {
			if (n_offs == cap_offs) {
				cap_offs = cap_offs ? 2 * cap_offs : 16;
				offs = xrealloc(offs, cap_offs * sizeof(*offs));
				hashes = xrealloc(hashes, cap_offs * HASH_LEN);
			}
			offs[n_offs] = e.file_off;
			memcpy(hashes[n_offs++], e.loc.hash, HASH_LEN);
		}
	}
	if (r < 0) {
		r = fail(rs, r, "write", j->path);
		goto drop;
	}
	count(&rs->stats.n_bytes, j->attr.size - data); /* the holes */
	r = apply_meta(rs, w->cat, fd, -1, NULL, &j->attr, j->path);
	if (r < 0)
		goto drop;
	if (rs->o->verify) {
		r = verify_file(rs, w, fd, j);
		if (r < 0) {
			r = fail(rs, r, "verify", j->path);
			goto drop;
		}
	}
	r = link_into_place(rs, fd, j->dirfd, named ? tmp : NULL, j->name);
	if (r < 0) {
		named = false; /* already removed */
		r = fail(rs, r, "put in place", j->path);
		goto drop;
	}
	count(&rs->stats.n_files, 1);
	remember_chunks(rs, j, offs, (const uint8_t(*)[HASH_LEN])hashes, n_offs);
	return 0;
drop:
	if (named)
		(void)unlinkat(j->dirfd, tmp, 0);
	node_set_failed(rs, j->node);
	return r;
}

static void job_free(struct rjob *j)
{
	if (!j)
		return;
	if (j->dirfd >= 0)
		close(j->dirfd);
	free(j->name);
	free(j->path);
	free(j);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct restore *rs = w->rs;

	pthread_mutex_lock(&rs->lock);
	for (;;) {
		while (!rs->stopping && rs->q_len == 0)
			pthread_cond_wait(&rs->job_ready, &rs->lock);
		if (rs->q_len == 0)
			break;
		struct rjob *j = rs->queue[rs->q_head];
		rs->q_head = (rs->q_head + 1) % RESTORE_QUEUE_MAX;
		rs->q_len--;
		rs->busy++;
		pthread_cond_broadcast(&rs->job_taken);
		pthread_mutex_unlock(&rs->lock);

		int UNUSED r = write_file(rs, w, j); /* logged and counted */
		job_free(j);

		pthread_mutex_lock(&rs->lock);
		rs->busy--;
		pthread_cond_broadcast(&rs->job_taken);
	}
	pthread_mutex_unlock(&rs->lock);
	if (w->src_fd >= 0)
		close(w->src_fd);
	w->src_fd = -1;
	return NULL;
}

/* --- the walk (main thread) --- */

static void progress(struct restore *rs, bool done)
{
	struct cache_stats cs;
	uint64_t now = now_ns();

	if (!rs->o->progress)
		return;
	if (!done && now - rs->last_progress < RESTORE_PROGRESS_NS)
		return;
	rs->last_progress = now;
	cache_get_stats(rs->cache, &cs);
	struct restore_stats s;
	const uint64_t *from = (const uint64_t *)&rs->stats;
	uint64_t *to = (uint64_t *)&s;
	for (size_t i = 0; i < sizeof(s) / sizeof(uint64_t); i++)
		to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
	s.n_fetched = cs.fetches;
	rs->o->progress(rs->o->progress_data, &s, done);
}

/* Waits until the queue has room (full = false) or is drained with no job
 * in progress (full = true), showing progress meanwhile. */
static void wait_queue(struct restore *rs, bool drain)
{
	pthread_mutex_lock(&rs->lock);
	for (;;) {
		if (drain ? rs->q_len == 0 && rs->busy == 0 : rs->q_len < RESTORE_QUEUE_MAX)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&rs->job_taken, &rs->lock, &ts);
		pthread_mutex_unlock(&rs->lock);
		progress(rs, false);
		pthread_mutex_lock(&rs->lock);
	}
	pthread_mutex_unlock(&rs->lock);
}

static int submit(struct restore *rs, const struct walk_entry *e, uint32_t node)
{
	int dfd = dup(rs->fds[rs->n_fds - 1]);
	if (dfd < 0)
		return fail(rs, -errno, "restore", e->path);
	struct rjob *j = xcalloc(1, sizeof(*j));
	*j = (struct rjob){
	    dfd, xstrdup(e->name), xstrdup(e->path), node, rs->fd_nodes[rs->n_fds - 1], e->attr};
	wait_queue(rs, false);
	pthread_mutex_lock(&rs->lock);
	rs->queue[(rs->q_head + rs->q_len) % RESTORE_QUEUE_MAX] = j;
	rs->q_len++;
	pthread_cond_signal(&rs->job_ready);
	pthread_mutex_unlock(&rs->lock);
	return 0;
}

static void push_fd(struct restore *rs, int fd, uint32_t node)
{
	if (rs->n_fds == rs->cap_fds) {
		rs->cap_fds = rs->cap_fds ? 2 * rs->cap_fds : 64;
		rs->fds = xrealloc(rs->fds, rs->cap_fds * sizeof(*rs->fds));
		rs->fd_nodes = xrealloc(rs->fd_nodes, rs->cap_fds * sizeof(*rs->fd_nodes));
	}
	rs->fds[rs->n_fds] = fd;
	rs->fd_nodes[rs->n_fds++] = node;
}

/* Removes what an interrupted restore left under temporary names in dir
 * (unless the snapshot itself has such a name there). */
static void sweep_tmp(struct restore *rs, int fd, uint64_t dir_ino, const char *path)
{
	struct dirent *de;
	struct cat_attr a;
	int fd2 = dup(fd);
	DIR *d;

	d = fd2 < 0 ? NULL : fdopendir(fd2);
	if (!d) {
		fail(rs, -errno, "read the directory", path);
		if (fd2 >= 0)
			close(fd2);
		return;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (strncmp(de->d_name, RESTORE_TMP_PREFIX, strlen(RESTORE_TMP_PREFIX)) != 0)
			continue;
		if (catalog_lookup(rs->cat, dir_ino, de->d_name, len, &a) == 0)
			continue;
		int r = remove_tree(fd, de->d_name);
		if (r < 0) {
			AUTOFREE char *p = xasprintf("%s%s%s", path, *path ? "/" : "", de->d_name);
			fail(rs, r, "remove the leftover", p);
		}
	}
	closedir(d);
}

/* Makes directory name in the current directory (or reuses one that is
 * there) and opens it. */
static int make_dir(struct restore *rs, const struct walk_entry *e)
{
	int pfd = rs->fds[rs->n_fds - 1];
	struct stat st;
	int fd;

	if (mkdirat(pfd, e->name, 0700) < 0) {
		if (errno != EEXIST)
			return -errno;
		if (fstatat(pfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(pfd, e->name, 0) < 0 || mkdirat(pfd, e->name, 0700) < 0)
				return -errno;
		}
	}
	fd = open_dir_owned(pfd, e->name);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
		(void)fchmod(fd, st.st_mode | 0700); /* its final mode comes at the end */
	return fd;
}

static int make_special(struct restore *rs, const struct walk_entry *e)
{
	AUTOBUF struct buf target = BUF_INIT;
	int pfd = rs->fds[rs->n_fds - 1];
	const struct cat_attr *a = &e->attr;
	char tmp[64];
	int r;

	tmp_name(rs, tmp);
	switch (a->mode & S_IFMT) {
	case S_IFLNK:
		r = catalog_readlink(rs->cat, a->ino, &target);
		if (r < 0)
			return fail(rs, r, "read the symlink to restore as", e->path);
		if (target.len == 0 || memchr(target.ptr, 0, target.len))
			return fail(rs, -EBADMSG, "restore the symlink", e->path);
		buf_append_u8(&target, 0);
		r = symlinkat((const char *)target.ptr, pfd, tmp);
		break;
	case S_IFIFO:
	case S_IFSOCK:
		r = mknodat(pfd, tmp, (a->mode & S_IFMT) | 0600, 0);
		break;
	case S_IFCHR:
	case S_IFBLK:
		r = mknodat(pfd, tmp, (a->mode & S_IFMT) | 0600, (dev_t)a->rdev);
		if (r < 0 && errno == EPERM) {
			count(&rs->stats.n_skipped, 1);
			shortfall_add(rs, &rs->devices, e->path, NULL);
			return 1;
		}
		break;
	default:
		return fail(rs, -EBADMSG, "restore the entry of unknown type", e->path);
	}
	if (r < 0)
		return fail(rs, -errno, "create", e->path);
	r = apply_meta(rs, rs->cat, -1, pfd, tmp, a, e->path);
	if (r == 0) {
		r = rename_into_place(pfd, tmp, e->name);
		if (r < 0)
			return fail(rs, r, "put in place", e->path);
	} else {
		(void)unlinkat(pfd, tmp, 0);
	}
	if (r == 0)
		count(&rs->stats.n_other, 1);
	return r;
}

/* For an entry with several names: 1 when an earlier name was restored
 * (this one is linked at the end), else 0 with *ret_node its node. */
static int other_name(struct restore *rs, const struct walk_entry *e, uint32_t *ret_node)
{
	uint8_t key[HMAP_KEY_LEN] = {0};
	uint32_t dir = rs->fd_nodes[rs->n_fds - 1];

	*ret_node = NO_NODE;
	if (e->attr.nlink < 2 || e->depth == 0)
		return 0;
	put_le64(key, e->attr.ino);
	uint64_t *v = hmap_get(&rs->first, key);
	if (!v) {
		*ret_node = node_add(rs, dir, e->name, e->name_len);
		hmap_put(&rs->first, key, *ret_node);
		return 0;
	}
	pthread_mutex_lock(&rs->lock);
	if (rs->n_links == rs->cap_links) {
		rs->cap_links = rs->cap_links ? 2 * rs->cap_links : 64;
		rs->links = xrealloc(rs->links, rs->cap_links * sizeof(*rs->links));
	}
	rs->links[rs->n_links++] =
	    (struct rlink){(uint32_t)*v, dir, rs->names.len, (uint32_t)e->name_len};
	buf_append(&rs->names, e->name, e->name_len);
	pthread_mutex_unlock(&rs->lock);
	return 1;
}

static int visit(void *userdata, enum walk_event ev, const struct walk_entry *e)
{
	struct restore *rs = userdata;
	uint32_t node;
	int r;

	progress(rs, false);
	if (ev == WALK_LEAVE) {
		if (rs->n_dirs == rs->cap_dirs) {
			rs->cap_dirs = rs->cap_dirs ? 2 * rs->cap_dirs : 64;
			rs->dirs = xrealloc(rs->dirs, rs->cap_dirs * sizeof(*rs->dirs));
		}
		rs->dirs[rs->n_dirs++] = (struct rdir){rs->fd_nodes[rs->n_fds - 1], e->attr};
		if (rs->n_fds > 1)
			close(rs->fds[--rs->n_fds]);
		return 0;
	}
	if (S_ISDIR(e->attr.mode)) {
		if (e->depth == 0) {
			/* the target itself: node 0, fds[0] */
			if (rs->o->overwrite)
				sweep_tmp(rs, rs->root_fd, e->attr.ino, "");
			return 0;
		}
		int fd = make_dir(rs, e);
		if (fd < 0) {
			fail(rs, fd, "create the directory", e->path);
			return WALK_SKIP;
		}
		node = node_add(rs, rs->fd_nodes[rs->n_fds - 1], e->name, e->name_len);
		push_fd(rs, fd, node);
		count(&rs->stats.n_dirs, 1);
		if (rs->o->overwrite)
			sweep_tmp(rs, fd, e->attr.ino, e->path);
		return 0;
	}
	r = other_name(rs, e, &node);
	if (r > 0)
		return 0;
	if (S_ISREG(e->attr.mode))
		return submit(rs, e, node);
	r = make_special(rs, e);
	if (r != 0)
		node_set_failed(rs, node); /* its other names are left out too */
	return 0;                          /* counted; go on with the rest */
}

/* --- the end: links, then directories --- */

static int make_link(struct restore *rs, const struct rlink *l)
{
	AUTOFREE char *src_name = NULL, *name = NULL, *dir_path = NULL, *path = NULL;
	AUTOCLOSE int sfd = -1, dfd = -1;
	struct stat a, b;
	char tmp[64];

	pthread_mutex_lock(&rs->lock);
	bool failed = rs->nodes[l->src].failed;
	name = xmalloc(l->name_len + 1);
	memcpy(name, rs->names.ptr + l->name_off, l->name_len);
	name[l->name_len] = '\0';
	pthread_mutex_unlock(&rs->lock);
	dir_path = node_path(rs, l->dir);
	path = xasprintf("%s%s%s", dir_path, *dir_path ? "/" : "", name);
	if (failed)
		return 0; /* the first name failed, and said so */
	sfd = node_open(rs, l->src, true, &src_name);
	if (sfd < 0)
		return fail(rs, sfd, "find the first name of", path);
	dfd = node_open(rs, l->dir, false, NULL);
	if (dfd < 0)
		return fail(rs, dfd, "open the directory of", path);
	if (linkat(sfd, src_name, dfd, name, 0) == 0)
		goto done;
	if (errno != EEXIST)
		return fail(rs, -errno, "link", path);
	if (fstatat(sfd, src_name, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		goto done;
	tmp_name(rs, tmp);
	if (linkat(sfd, src_name, dfd, tmp, 0) < 0)
		return fail(rs, -errno, "link", path);
	int r = rename_into_place(dfd, tmp, name);
	if (r < 0)
		return fail(rs, r, "link", path);
done:
	count(&rs->stats.n_links, 1);
	return 0;
}

static int finish_dir(struct restore *rs, const struct rdir *d)
{
	AUTOFREE char *path = node_path(rs, d->node);
	AUTOCLOSE int fd = node_open(rs, d->node, false, NULL);

	if (fd < 0)
		return fail(rs, fd, "open the directory", path);
	return apply_meta(rs, rs->cat, fd, -1, NULL, &d->attr, path);
}

/* --- setting up --- */

static int open_target(struct restore *rs)
{
	struct dirent *de;
	int fd, fd2;
	DIR *d;

	fd = open(rs->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (mkdir(rs->target, 0777) < 0 && errno != EEXIST) {
			int r =
			    log_error_errno(-errno, "cannot create the target '%s'", rs->target);
			if (r == -ENOENT)
				log_error("hint: create its parent directory first");
			return r;
		}
		fd = open(rs->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return log_error_errno(-errno, "cannot open the target directory '%s'", rs->target);
	rs->root_fd = fd;
	if (rs->o->overwrite)
		return 0;
	fd2 = dup(fd);
	if (fd2 < 0 || !(d = fdopendir(fd2))) {
		if (fd2 >= 0)
			close(fd2);
		return log_error_errno(-errno, "cannot read the target directory '%s'", rs->target);
	}
	bool empty = true;
	while (empty && (de = readdir(d)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	if (!empty) {
		log_error("the target '%s' is not empty", rs->target);
		log_error("hint: restore into an empty or new directory, or pass --overwrite to "
		          "replace what the snapshot holds and leave other files alone");
		return -ENOTEMPTY;
	}
	return 0;
}

/* Finds out whether finished files can be linked in from O_TMPFILE. */
static void probe_tmpfile(struct restore *rs)
{
	char name[64];
	int fd;

	rs->have_proc = access("/proc/self/fd", X_OK) == 0;
	fd = openat(rs->root_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	tmp_name(rs, name);
	if (linkat(fd, "", rs->root_fd, name, AT_EMPTY_PATH) == 0) {
		rs->link_at_empty = rs->use_tmpfile = true;
	} else if (rs->have_proc) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		rs->use_tmpfile = linkat(AT_FDCWD, proc, rs->root_fd, name, AT_SYMLINK_FOLLOW) == 0;
	}
	if (rs->use_tmpfile)
		(void)unlinkat(rs->root_fd, name, 0);
	close(fd);
}

static int fetch_chunk(void *userdata, const struct chunk_loc *loc, struct buf *out)
{
	return repo_read_chunk(userdata, loc, out);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int start_workers(struct restore *rs)
{
	sigset_t all, old;
	int r = 0;

	rs->workers = xcalloc(rs->n_workers, sizeof(*rs->workers));
	for (unsigned i = 0; i < rs->n_workers; i++) {
		struct worker *w = &rs->workers[i];
		w->rs = rs;
		w->src_fd = -1;
		w->src_node = NO_NODE;
		w->buf = xmalloc(CHUNK_SIZE_MAX_LIMIT);
		r = repo_catalog_open(rs->repo, &w->cat);
		if (r < 0)
			return r;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < rs->n_workers && r == 0; i++) {
		r = -pthread_create(&rs->workers[i].thread, NULL, worker_main, &rs->workers[i]);
		rs->workers[i].started = r == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return log_error_errno(r, "cannot start the restore threads");
	return 0;
}

static void stop_workers(struct restore *rs)
{
	pthread_mutex_lock(&rs->lock);
	rs->stopping = true;
	pthread_cond_broadcast(&rs->job_ready);
	pthread_mutex_unlock(&rs->lock);
	for (unsigned i = 0; rs->workers && i < rs->n_workers; i++) {
		struct worker *w = &rs->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
		catalog_close(w->cat);
		w->cat = NULL;
		free(w->buf);
		w->buf = NULL;
	}
	free(rs->workers);
	rs->workers = NULL;
	/* A job left queued (when a thread failed to start) is dropped. */
	while (rs->q_len > 0) {
		job_free(rs->queue[rs->q_head]);
		rs->q_head = (rs->q_head + 1) % RESTORE_QUEUE_MAX;
		rs->q_len--;
	}
}

static void restore_release(struct restore *rs)
{
	stop_workers(rs);
	cache_free(rs->cache);
	while (rs->n_fds > 1)
		close(rs->fds[--rs->n_fds]);
	if (rs->root_fd >= 0)
		close(rs->root_fd);
	free(rs->fds);
	free(rs->fd_nodes);
	hmap_release(&rs->first);
	hmap_release(&rs->written);
	free(rs->wr);
	free(rs->dirs);
	free(rs->links);
	free(rs->nodes);
	buf_release(&rs->names);
	buf_release(&rs->owners.examples);
	buf_release(&rs->devices.examples);
	buf_release(&rs->xattrs.examples);
	buf_release(&rs->modes.examples);
	pthread_cond_destroy(&rs->job_ready);
	pthread_cond_destroy(&rs->job_taken);
	pthread_mutex_destroy(&rs->lock);
}

static int run(struct restore *rs, struct cat_snapshot *s, const char *path)
{
	AUTOFREE char *root_name = NULL;
	struct cat_attr root;
	int r;

	r = walk_resolve(rs->repo, rs->cat, s, path, &root, &root_name);
	if (r < 0)
		return r;
	rs->root_is_dir = S_ISDIR(root.mode);
	if (root.ino == s->ino_base) {
		rs->stats.total_files = s->n_files;
		rs->stats.total_bytes = s->n_bytes;
	} else if (S_ISREG(root.mode)) {
		rs->stats.total_files = 1;
		rs->stats.total_bytes = root.size;
	}
	r = open_target(rs);
	if (r < 0)
		return r;
	probe_tmpfile(rs);
	push_fd(rs, rs->root_fd, node_add(rs, NO_NODE, "", 0));

	struct cache_options co = {
	    .budget = rs->o->cache_size,
	    .n_workers = 4,
	    .fetch = fetch_chunk,
	    .userdata = rs->repo,
	};
	r = cache_new(&co, &rs->cache);
	if (r < 0)
		return r;
	rs->window = MIN(RESTORE_WINDOW_MAX, cache_budget(rs->cache) / (4 * rs->n_workers));
	r = start_workers(rs);
	if (r < 0)
		return r;

	r = walk_subtree(rs->cat, &root, rs->root_is_dir ? "" : root_name, visit, rs);
	wait_queue(rs, true);
	stop_workers(rs);
	if (r < 0)
		return r; /* the catalog failed: logged */

	for (size_t i = 0; i < rs->n_links; i++) {
		progress(rs, false);
		int UNUSED e = make_link(rs, &rs->links[i]); /* logged and counted */
	}
	for (size_t i = 0; i < rs->n_dirs; i++) {
		progress(rs, false);
		int UNUSED e = finish_dir(rs, &rs->dirs[i]); /* logged and counted */
	}
	return 0;
}

int restore_run(struct repo *r, struct catalog *c, struct cat_snapshot *s, const char *path,
                const struct restore_options *opts, struct restore_stats *ret)
{
	struct restore rs = {
	    .repo = r,
	    .o = opts,
	    .target = opts->target,
	    .root_fd = -1,
	    .cat = c,
	    .n_workers = opts->n_workers ? opts->n_workers : RESTORE_WORKERS_DEFAULT,
	    .names = BUF_INIT,
	};
	int res;

	pthread_mutex_init(&rs.lock, NULL);
	pthread_cond_init(&rs.job_ready, NULL);
	pthread_cond_init(&rs.job_taken, NULL);
	hmap_init(&rs.first);
	hmap_init(&rs.written);
	rs.wr = xcalloc(RESTORE_WRITTEN_MAX, sizeof(*rs.wr));
	raise_fd_limit();

	res = run(&rs, s, path);
	if (rs.cache) {
		progress(&rs, true);
		struct cache_stats cs;
		cache_get_stats(rs.cache, &cs);
		rs.stats.n_fetched = cs.fetches;
	}
	shortfall_report(&rs.owners, "set the owner of", "entries (only root can give files away)");
	shortfall_report(&rs.devices, "create", "device nodes (only root can)");
	shortfall_report(&rs.xattrs, "set", "xattrs outside user.* (not permitted here)");
	shortfall_report(&rs.modes, "set the exact mode of",
	                 "entries (set-group-ID needs membership in the group)");
	*ret = rs.stats;
	restore_release(&rs);
	if (res < 0)
		return res;
	return ret->n_errors > 0 ? -EIO : 0;
}
