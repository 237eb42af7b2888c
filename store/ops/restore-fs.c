/*
 * restore-fs.c - what restore does to the target's filesystem, beyond
 * writing file contents: finding an entry again by its path (nodes),
 * temporary names and replacing entries, removing what is in the way, and
 * setting metadata; and the record of what an unprivileged user could not
 * set.
 *
 * Every path is opened one component at a time from the target's
 * descriptor with O_NOFOLLOW; entries are replaced by renaming over them,
 * never by writing through them; metadata of anything but a directory or
 * a file being written is set with the *at() calls and AT_SYMLINK_NOFOLLOW
 * (xattrs through /proc/self/fd/DIR/NAME with lsetxattr(), which does not
 * follow the last component).
 */
#include "base/log.h"
#include "ops/restore-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

/* A path for messages: the target, '/', the escaped relative path. */
char *restore_show(const struct restore *rs, const char *path)
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

int restore_fail(struct restore *rs, int r, const char *what, const char *path)
{
	AUTOFREE char *p = restore_show(rs, path);
	restore_count(&rs->stats.n_errors, 1);
	return log_error_errno(r, "cannot %s '%s'", what, p);
}

void restore_shortfall_add(struct restore *rs, struct shortfall *s, const char *path,
			   const char *detail)
{
	AUTOFREE char *p = restore_show(rs, path);
	pthread_mutex_lock(&rs->lock);
	if (s->n++ < RESTORE_EXAMPLES)
		buf_printf(&s->examples, "%s'%s'%s%s", s->n > 1 ? ", " : "", p, detail ? " " : "",
			   detail ? detail : "");
	pthread_mutex_unlock(&rs->lock);
}

/* Logs "could not <verb> N <what>: examples". */
void restore_shortfall_report(const struct shortfall *s, const char *verb, const char *what)
{
	if (s->n == 0)
		return;
	log_warning("could not %s %" PRIu64 " %s: %.*s%s", verb, s->n, what, (int)s->examples.len,
		    (const char *)s->examples.ptr, s->n > RESTORE_EXAMPLES ? ", ..." : "");
}

/* --- nodes: entries found again by path --- */

uint32_t restore_node_add(struct restore *rs, uint32_t parent, const char *name, size_t len)
{
	pthread_mutex_lock(&rs->lock);
	XGROW_ARRAY(rs->nodes, rs->cap_nodes, rs->n_nodes + 1);
	uint32_t id = (uint32_t)rs->n_nodes++;
	rs->nodes[id] = (struct rnode){ parent, (uint32_t)len, rs->names.len, false };
	buf_append(&rs->names, name, len);
	pthread_mutex_unlock(&rs->lock);
	return id;
}

void restore_node_set_failed(struct restore *rs, uint32_t node)
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

char *restore_node_path(struct restore *rs, uint32_t node)
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
int restore_open_dir_owned(int dirfd, const char *name)
{
	int fd = open_dir_at(dirfd, name);
	if (fd == -EACCES && fchmodat(dirfd, name, 0700, AT_SYMLINK_NOFOLLOW) == 0)
		fd = open_dir_at(dirfd, name);
	return fd;
}

/* Opens the directory holding node (the first `skip_last` = 1) or node
 * itself (0), one component at a time from the target, following no
 * symlink. *ret_name (may be NULL) gets node's own name. */
int restore_node_open(struct restore *rs, uint32_t node, bool parent, char **ret_name)
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

void restore_tmp_name(struct restore *rs, char out[64])
{
	uint64_t n = __atomic_add_fetch(&rs->tmp_seq, 1, __ATOMIC_RELAXED);
	snprintf(out, 64, RESTORE_TMP_PREFIX "%ld.%" PRIu64, (long)getpid(), n);
}

/* Removes name in dirfd and everything below it, following no symlink. */
int restore_remove_tree(int dirfd, const char *name)
{
	AUTOCLOSE int fd = -1;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (unlinkat(dirfd, name, 0) == 0)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	fd = restore_open_dir_owned(dirfd, name);
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
		r = restore_remove_tree(fd, de->d_name);
	}
	if (r == 0 && errno != 0)
		r = -errno;
	closedir(d);
	if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

int restore_remove(const char *path)
{
	return restore_remove_tree(AT_FDCWD, path);
}

/* Renames tmp to name in dirfd, replacing what is there (a directory in
 * the way is removed with its contents). tmp is removed on failure. */
int restore_rename_into_place(int dirfd, const char *tmp, const char *name)
{
	int r = 0;

	if (renameat(dirfd, tmp, dirfd, name) == 0)
		return 0;
	if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST) {
		r = restore_remove_tree(dirfd, name);
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
 * name in dirfd without following it. With mode_made, fd was created with
 * the permissions a asks for, and they are set only if it has others. */
int restore_apply_meta(struct restore *rs, struct catalog *c, int fd, int dirfd, const char *name,
		       const struct cat_attr *a, bool mode_made, const char *path)
{
	AUTOBUF struct buf names = BUF_INIT;
	AUTOBUF struct buf value = BUF_INIT;
	bool is_link = S_ISLNK(a->mode);
	uint32_t perm = a->mode & 07777;
	struct stat st;
	int r = 0;

	if (rs->o->no_setuid && !S_ISDIR(a->mode) && (perm & (S_ISUID | S_ISGID))) {
		perm &= ~(uint32_t)(S_ISUID | S_ISGID);
		restore_count(&rs->stats.n_unsafe, 1);
	}
	if (!rs->o->no_same_owner)
		r = fd >= 0 ? fchown(fd, a->uid, a->gid)
			    : fchownat(dirfd, name, a->uid, a->gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0) {
		if (errno != EPERM && errno != EINVAL)
			return restore_fail(rs, -errno, "set the owner of", path);
		restore_count(&rs->stats.n_not_owned, 1);
		char detail[48];
		snprintf(detail, sizeof(detail), "(%u:%u)", a->uid, a->gid);
		restore_shortfall_add(rs, &rs->owners, path, detail);
	}
	/* chown() above kept every bit but set-id ones, which a file made
	 * with its mode does not have. */
	bool set_mode = !is_link;
	if (mode_made && fd >= 0 && !(perm & 07000) && fstat(fd, &st) == 0 &&
	    (st.st_mode & 07777) == perm)
		set_mode = false;
	if (set_mode) {
		r = fd >= 0 ? fchmod(fd, perm) : fchmodat(dirfd, name, perm, AT_SYMLINK_NOFOLLOW);
		if (r < 0)
			return restore_fail(rs, -errno, "set the mode of", path);
		/* Only the set-id and sticky bits can be dropped silently (a
		 * group the user is not in, a filesystem that refuses them). */
		r = !(perm & 07000) ? -1
		    : fd >= 0	    ? fstat(fd, &st)
				    : fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
		if (r == 0 && (st.st_mode & 07777) != perm) {
			char detail[48];
			snprintf(detail, sizeof(detail), "(%04o, not %04o)", st.st_mode & 07777,
				 perm);
			restore_shortfall_add(rs, &rs->modes, path, detail);
		}
	}

	r = catalog_listxattr(c, a->ino, &names);
	if (r < 0)
		return restore_fail(rs, r, "read the xattrs to restore on", path);
	for (size_t off = 0; off < names.len;) {
		const char *xn = (const char *)names.ptr + off;
		size_t len = strnlen(xn, names.len - off);
		off += len + 1;
		if (len == 0 || len > XATTR_NAME_LEN_MAX)
			continue;
		if (rs->o->xattrs == RESTORE_XATTRS_USER && !is_user_xattr(xn))
			continue;
		buf_reset(&value);
		r = catalog_getxattr(c, a->ino, xn, &value);
		if (r < 0)
			return restore_fail(rs, r, "read the xattrs to restore on", path);
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
				int err = -errno;
				AUTOFREE char *p = restore_show(rs, path);
				AUTOFREE char *shown = str_printable(xn, len);
				restore_count(&rs->stats.n_errors, 1);
				return log_error_errno(err, "cannot set xattr '%s' on '%s'", shown,
						       p);
			}
			if (errno != EPERM && errno != ENOTSUP && errno != EACCES &&
			    errno != EINVAL)
				return restore_fail(rs, -errno, "set xattrs on", path);
			restore_count(&rs->stats.n_xattr_lost, 1);
			AUTOFREE char *shown = str_printable(xn, len);
			AUTOFREE char *detail = xasprintf("(%s)", shown);
			restore_shortfall_add(rs, &rs->xattrs, path, detail);
		}
	}

	struct timespec ts[2] = { { a->mtime_sec, a->mtime_nsec },
				  { a->mtime_sec, a->mtime_nsec } };
	r = fd >= 0 ? futimens(fd, ts) : utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return restore_fail(rs, -errno, "set the mtime of", path);
	return 0;
}
