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
 *
 * The work is split over restore.c (this walk, the end, setting up),
 * restore-file.c (regular files) and restore-fs.c (the target); see
 * restore-internal.h.
 */
#include "base/log.h"
#include "ops/restore-internal.h"
#include "ops/walk.h"

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

/* --- the walk (main thread) --- */

void restore_progress(struct restore *rs, bool done)
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

static int submit(struct restore *rs, const struct walk_entry *e, uint32_t node)
{
	int dfd = dup(rs->fds[rs->n_fds - 1]);
	if (dfd < 0)
		return restore_fail(rs, -errno, "restore", e->path);
	struct rjob *j = xcalloc(1, sizeof(*j));
	*j = (struct rjob){
		dfd, xstrdup(e->name), xstrdup(e->path), node, rs->fd_nodes[rs->n_fds - 1], e->attr
	};
	restore_queue_job(rs, j);
	return 0;
}

static void push_fd(struct restore *rs, int fd, uint32_t node)
{
	if (rs->n_fds == rs->cap_fds) {
		size_t cap = rs->cap_fds; /* the two arrays grow alike */
		XGROW_ARRAY(rs->fds, cap, rs->n_fds + 1);
		XGROW_ARRAY(rs->fd_nodes, rs->cap_fds, rs->n_fds + 1);
		assert(cap == rs->cap_fds);
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
		restore_fail(rs, -errno, "read the directory", path);
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
		int r = restore_remove_tree(fd, de->d_name);
		if (r < 0) {
			AUTOFREE char *p = xasprintf("%s%s%s", path, *path ? "/" : "", de->d_name);
			restore_fail(rs, r, "remove the leftover", p);
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
	fd = restore_open_dir_owned(pfd, e->name);
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

	restore_tmp_name(rs, tmp);
	switch (a->mode & S_IFMT) {
	case S_IFLNK:
		r = catalog_readlink(rs->cat, a->ino, &target);
		if (r < 0)
			return restore_fail(rs, r, "read the symlink to restore as", e->path);
		if (target.len == 0 || memchr(target.ptr, 0, target.len))
			return restore_fail(rs, -EBADMSG, "restore the symlink", e->path);
		buf_append_u8(&target, 0);
		r = symlinkat((const char *)target.ptr, pfd, tmp);
		break;
	case S_IFIFO:
	case S_IFSOCK:
		r = mknodat(pfd, tmp, (a->mode & S_IFMT) | 0600, 0);
		break;
	case S_IFCHR:
	case S_IFBLK:
		if (rs->o->no_devices) {
			restore_count(&rs->stats.n_unsafe, 1);
			return 1;
		}
		r = mknodat(pfd, tmp, (a->mode & S_IFMT) | 0600, (dev_t)a->rdev);
		if (r < 0 && errno == EPERM) {
			restore_count(&rs->stats.n_skipped, 1);
			restore_shortfall_add(rs, &rs->devices, e->path, NULL);
			return 1;
		}
		break;
	default:
		return restore_fail(rs, -EBADMSG, "restore the entry of unknown type", e->path);
	}
	if (r < 0)
		return restore_fail(rs, -errno, "create", e->path);
	r = restore_apply_meta(rs, rs->cat, -1, pfd, tmp, a, false, e->path);
	if (r == 0) {
		r = restore_rename_into_place(pfd, tmp, e->name);
		if (r < 0)
			return restore_fail(rs, r, "put in place", e->path);
	} else {
		(void)unlinkat(pfd, tmp, 0);
	}
	if (r == 0)
		restore_count(&rs->stats.n_other, 1);
	return r;
}

/* For an entry with several names: 1 when an earlier name was restored
 * (this one is linked at the end), else 0 with *ret_node its node. */
static int other_name(struct restore *rs, const struct walk_entry *e, uint32_t *ret_node)
{
	uint8_t key[HMAP_KEY_LEN] = { 0 };
	uint32_t dir = rs->fd_nodes[rs->n_fds - 1];

	*ret_node = NO_NODE;
	if (e->attr.nlink < 2 || e->depth == 0)
		return 0;
	put_le64(key, e->attr.ino);
	uint64_t *v = hmap_get(&rs->first, key);
	if (!v) {
		*ret_node = restore_node_add(rs, dir, e->name, e->name_len);
		hmap_put(&rs->first, key, *ret_node);
		return 0;
	}
	pthread_mutex_lock(&rs->lock);
	XGROW_ARRAY(rs->links, rs->cap_links, rs->n_links + 1);
	rs->links[rs->n_links++] =
		(struct rlink){ (uint32_t)*v, dir, rs->names.len, (uint32_t)e->name_len };
	buf_append(&rs->names, e->name, e->name_len);
	pthread_mutex_unlock(&rs->lock);
	return 1;
}

static int visit(void *userdata, enum walk_event ev, const struct walk_entry *e)
{
	struct restore *rs = userdata;
	uint32_t node;
	int r;

	restore_progress(rs, false);
	if (ev == WALK_LEAVE) {
		XGROW_ARRAY(rs->dirs, rs->cap_dirs, rs->n_dirs + 1);
		rs->dirs[rs->n_dirs++] = (struct rdir){ rs->fd_nodes[rs->n_fds - 1], e->attr };
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
			restore_fail(rs, fd, "create the directory", e->path);
			return WALK_SKIP;
		}
		node = restore_node_add(rs, rs->fd_nodes[rs->n_fds - 1], e->name, e->name_len);
		push_fd(rs, fd, node);
		restore_count(&rs->stats.n_dirs, 1);
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
		restore_node_set_failed(rs, node); /* its other names are left out too */
	return 0;				   /* counted; go on with the rest */
}

/* --- the end: links, then directories --- */

/* Links src_name in sfd as name in dfd (path, for messages), unless that
 * name is already the same file. */
static int place_link(struct restore *rs, int sfd, const char *src_name, int dfd, const char *name,
		      const char *path)
{
	struct stat a, b;
	char tmp[64];
	int r;

	if (linkat(sfd, src_name, dfd, name, 0) == 0)
		return 0;
	if (errno != EEXIST)
		return restore_fail(rs, -errno, "link", path);
	if (fstatat(sfd, src_name, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return 0;
	restore_tmp_name(rs, tmp);
	if (linkat(sfd, src_name, dfd, tmp, 0) < 0)
		return restore_fail(rs, -errno, "link", path);
	r = restore_rename_into_place(dfd, tmp, name);
	if (r < 0)
		return restore_fail(rs, r, "link", path);
	return 0;
}

static int make_link(struct restore *rs, const struct rlink *l)
{
	AUTOFREE char *src_name = NULL, *name = NULL, *dir_path = NULL, *path = NULL;
	AUTOCLOSE int sfd = -1, dfd = -1;
	int r;

	pthread_mutex_lock(&rs->lock);
	bool failed = rs->nodes[l->src].failed;
	name = xmalloc(l->name_len + 1);
	memcpy(name, rs->names.ptr + l->name_off, l->name_len);
	name[l->name_len] = '\0';
	pthread_mutex_unlock(&rs->lock);
	dir_path = restore_node_path(rs, l->dir);
	path = xasprintf("%s%s%s", dir_path, *dir_path ? "/" : "", name);
	if (failed)
		return 0; /* the first name failed, and said so */
	sfd = restore_node_open(rs, l->src, true, &src_name);
	if (sfd < 0)
		return restore_fail(rs, sfd, "find the first name of", path);
	dfd = restore_node_open(rs, l->dir, false, NULL);
	if (dfd < 0)
		return restore_fail(rs, dfd, "open the directory of", path);
	r = place_link(rs, sfd, src_name, dfd, name, path);
	if (r < 0)
		return r;
	restore_count(&rs->stats.n_links, 1);
	return 0;
}

static int finish_dir(struct restore *rs, const struct rdir *d)
{
	AUTOFREE char *path = restore_node_path(rs, d->node);
	AUTOCLOSE int fd = restore_node_open(rs, d->node, false, NULL);

	if (fd < 0)
		return restore_fail(rs, fd, "open the directory", path);
	return restore_apply_meta(rs, rs->cat, fd, -1, NULL, &d->attr, false, path);
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
			int r = log_error_errno(-errno, "cannot create the target '%s'",
						rs->target);
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
	restore_tmp_name(rs, name);
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

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void restore_release(struct restore *rs)
{
	restore_stop_workers(rs);
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
	push_fd(rs, rs->root_fd, restore_node_add(rs, NO_NODE, "", 0));

	r = walk_cache_new(rs->repo, rs->o->cache_size, &rs->cache);
	if (r < 0)
		return r;
	rs->window = MIN(RESTORE_WINDOW_MAX, cache_budget(rs->cache) / (4 * rs->n_workers));
	r = restore_start_workers(rs);
	if (r < 0)
		return r;

	r = walk_subtree(rs->cat, &root, rs->root_is_dir ? "" : root_name, visit, rs);
	restore_wait_queue(rs, true);
	restore_stop_workers(rs);
	if (r < 0)
		return r; /* the catalog failed: logged */

	for (size_t i = 0; i < rs->n_links; i++) {
		restore_progress(rs, false);
		int UNUSED e = make_link(rs, &rs->links[i]); /* logged and counted */
	}
	for (size_t i = 0; i < rs->n_dirs; i++) {
		restore_progress(rs, false);
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
		restore_progress(&rs, true);
		struct cache_stats cs;
		cache_get_stats(rs.cache, &cs);
		rs.stats.n_fetched = cs.fetches;
	}
	restore_shortfall_report(&rs.owners, "set the owner of",
				 "entries (only root can give files away)");
	restore_shortfall_report(&rs.devices, "create", "device nodes (only root can)");
	restore_shortfall_report(&rs.xattrs, "set", "xattrs outside user.* (not permitted here)");
	restore_shortfall_report(&rs.modes, "set the exact mode of",
				 "entries (set-group-ID needs membership in the group)");
	*ret = rs.stats;
	restore_release(&rs);
	if (res < 0)
		return res;
	return ret->n_errors > 0 ? -EIO : 0;
}
