/*
 * backend-local.c - a repository in a local directory; object names map to
 * relative paths under it.
 *
 * A put writes "<name>.tmp.<random>" in the final directory, fsyncs it,
 * renames it over the final name and fsyncs the directory, so after a crash
 * a name holds either all of its bytes or nothing, and a temporary file is
 * all that can be left behind. Listing skips temporaries; prune (which knows
 * their age) removes stale ones. Reads use pread, so any number of threads
 * may read at once.
 *
 * Range reads (of packs, nearly always) keep the descriptors of the last
 * LOCAL_OPEN_MAX objects read open: a restore of small files reads a few
 * KiB at a time from one pack, and opening it for each of those cost two
 * more system calls and a path walk, and lost the kernel's readahead on
 * it, which lives in the open file. A kept descriptor is checked with
 * fstat() before each use: an object deleted or renamed over since (its
 * inode has no links left) is opened again by name, so a pack repaired or
 * replaced under a running mount is read as it is now.
 */
#include "backend/backend-internal.h"
#include "base/crypto.h"
#include "base/log.h"

#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/stat.h>

#define LOCAL_OPEN_MAX 8

struct kept_fd {
	char *name; /* NULL: a free slot */
	int fd;
	unsigned users; /* readers using fd now: it is closed only at 0 */
	uint64_t tick;	/* of its last use */
};

struct local {
	char *root; /* absolute or as given; no trailing slash */
	pthread_mutex_t lock;
	struct kept_fd kept[LOCAL_OPEN_MAX]; /* guarded by lock */
	uint64_t tick;			     /* guarded by lock */
};

static struct local *local_of(struct backend *b)
{
	return b->priv;
}

static char *local_path(struct backend *b, const char *name)
{
	return xasprintf("%s/%s", local_of(b)->root, name);
}

static int mkdir_parents(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		int r = mkdir(path, 0755);
		int e = errno;
		*p = '/';
		if (r < 0 && e != EEXIST)
			return -e;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	AUTOFREE char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	AUTOCLOSE int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

static int local_put(struct backend *b, const char *name, const void *data, size_t len)
{
	AUTOFREE char *path = local_path(b, name);
	AUTOFREE char *tmp = NULL;
	AUTOCLOSE int fd = -1;
	uint8_t rnd[8];
	char rnd_hex[17];
	int r;

	r = crypto_random(rnd, sizeof(rnd));
	if (r < 0)
		return r;
	hex_encode(rnd, sizeof(rnd), rnd_hex);
	tmp = xasprintf("%s.tmp.%s", path, rnd_hex);

	r = mkdir_parents(tmp);
	if (r < 0)
		return log_error_errno(r, "cannot create directories for '%s'", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return log_error_errno(-errno, "cannot create '%s'", tmp);
	r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && close(TAKE_FD(fd)) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return log_error_errno(r, "cannot write '%s'", path);
	}
	r = fsync_dir_of(path);
	if (r < 0)
		return log_error_errno(r, "cannot sync the directory of '%s'", path);
	return 0;
}

static int local_open_read(struct backend *b, const char *name, uint64_t *ret_size)
{
	AUTOFREE char *path = local_path(b, name);
	struct stat st;

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		if (r != -ENOENT)
			log_error_errno(r, "cannot open '%s'", path);
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return log_error_errno(-EBADMSG, "'%s' is not a regular file", path);
	}
	*ret_size = (uint64_t)st.st_size;
	return fd;
}

static int local_read_into(struct backend *b, const char *name, int fd, uint64_t off, size_t len,
			   struct buf *out)
{
	buf_reserve(out, len);
	ssize_t n = pread_full(fd, out->ptr + out->len, len, off);
	if (n < 0)
		return log_error_errno((int)n, "cannot read '%s/%s'", local_of(b)->root, name);
	if ((size_t)n != len)
		return log_error_errno(-EBADMSG, "'%s/%s' is shorter than expected",
				       local_of(b)->root, name);
	out->len += len;
	return 0;
}

static int local_get(struct backend *b, const char *name, size_t max, struct buf *out)
{
	uint64_t size;
	AUTOCLOSE int fd = local_open_read(b, name, &size);
	if (fd < 0)
		return fd;
	if (size > max)
		return log_error_errno(-EFBIG,
				       "'%s/%s' is %" PRIu64 " bytes, more than any object of its "
				       "kind (%zu)",
				       local_of(b)->root, name, size, max);
	return local_read_into(b, name, fd, 0, (size_t)size, out);
}

/* Forgets the kept descriptor of slot k; l->lock held, nobody using it. */
static void kept_drop(struct kept_fd *k)
{
	close(k->fd);
	free(k->name);
	*k = (struct kept_fd){ .fd = -1 };
}

/* A descriptor of name for reading and its size: a kept one when it is
 * still the object's (*ret_kept then points at its slot, to hand back with
 * kept_put()), else a new one, kept if a slot is free or unused. */
static int kept_get(struct backend *b, const char *name, uint64_t *ret_size,
		    struct kept_fd **ret_kept)
{
	struct local *l = local_of(b);
	struct kept_fd *k = NULL, *victim = NULL;
	struct stat st;
	int fd;

	*ret_kept = NULL;
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < LOCAL_OPEN_MAX; i++) {
		struct kept_fd *c = &l->kept[i];
		if (c->name && strcmp(c->name, name) == 0) {
			k = c;
			break;
		}
		if (c->users == 0 &&
		    (!victim || !c->name || (victim->name && c->tick < victim->tick)))
			victim = c;
	}
	if (k) {
		k->users++;
		k->tick = ++l->tick;
		pthread_mutex_unlock(&l->lock);
		if (fstat(k->fd, &st) == 0 && st.st_nlink > 0 && S_ISREG(st.st_mode)) {
			*ret_size = (uint64_t)st.st_size;
			*ret_kept = k;
			return k->fd;
		}
		/* Gone or replaced: let it go once nobody reads it. */
		pthread_mutex_lock(&l->lock);
		if (--k->users == 0)
			kept_drop(k);
		else
			k->tick = 0;
		pthread_mutex_unlock(&l->lock);
		return local_open_read(b, name, ret_size);
	}
	pthread_mutex_unlock(&l->lock);
	fd = local_open_read(b, name, ret_size);
	if (fd < 0 || !victim)
		return fd;
	pthread_mutex_lock(&l->lock);
	if (victim->users == 0) {
		if (victim->name)
			kept_drop(victim);
		*victim = (struct kept_fd){ .name = xstrdup(name),
					    .fd = fd,
					    .users = 1,
					    .tick = ++l->tick };
		*ret_kept = victim;
	}
	pthread_mutex_unlock(&l->lock);
	return fd;
}

static void kept_put(struct backend *b, struct kept_fd *k, int fd)
{
	struct local *l = local_of(b);

	if (!k) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&l->lock);
	k->users--;
	pthread_mutex_unlock(&l->lock);
}

/* Closes every kept descriptor of name (or all, for NULL) nobody uses. */
static void kept_forget(struct backend *b, const char *name)
{
	struct local *l = local_of(b);

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < LOCAL_OPEN_MAX; i++) {
		struct kept_fd *k = &l->kept[i];
		if (k->name && k->users == 0 && (!name || strcmp(k->name, name) == 0))
			kept_drop(k);
	}
	pthread_mutex_unlock(&l->lock);
}

static int local_get_range(struct backend *b, const char *name, uint64_t off, size_t len,
			   struct buf *out)
{
	struct kept_fd *k;
	uint64_t size;
	int r, fd = kept_get(b, name, &size, &k);

	if (fd < 0)
		return fd;
	if (off > size || len > size - off)
		r = log_error_errno(-EBADMSG, "'%s/%s' is shorter than expected", local_of(b)->root,
				    name);
	else
		r = local_read_into(b, name, fd, off, len, out);
	kept_put(b, k, fd);
	return r;
}

static int local_size(struct backend *b, const char *name, uint64_t *ret_size)
{
	AUTOFREE char *path = local_path(b, name);
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

static int local_delete(struct backend *b, const char *name)
{
	AUTOFREE char *path = local_path(b, name);

	kept_forget(b, name);
	if (unlink(path) < 0 && errno != ENOENT)
		return log_error_errno(-errno, "cannot delete '%s'", path);
	return 0;
}

/* Walks dir (relative name rel) recursively, reporting regular files whose
 * name starts with prefix. */
static int local_walk(struct backend *b, const char *rel, const char *prefix, backend_list_fn fn,
		      void *userdata)
{
	AUTOFREE char *path = rel[0] ? local_path(b, rel) : xstrdup(local_of(b)->root);
	DIR *d = opendir(path);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : log_error_errno(-errno, "cannot list '%s'", path);
	while (r >= 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
			continue;
		AUTOFREE char *name =
			rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		size_t nlen = strlen(name), plen = strlen(prefix);
		/* descend only where the prefix can still match */
		if (strncmp(name, prefix, MIN(nlen, plen)) != 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			r = local_walk(b, name, prefix, fn, userdata);
		else if (S_ISREG(st.st_mode) && nlen >= plen)
			r = fn(userdata, name, (uint64_t)st.st_size);
	}
	closedir(d);
	return r;
}

static int local_list(struct backend *b, const char *prefix, backend_list_fn fn, void *userdata)
{
	return local_walk(b, "", prefix, fn, userdata);
}

static void local_free(struct backend *b)
{
	struct local *l = local_of(b);
	if (!l)
		return;
	kept_forget(b, NULL);
	pthread_mutex_destroy(&l->lock);
	free(l->root);
	free(l);
}

static int local_create_layout(struct backend *b)
{
	static const char *const dirs[] = { "packs", "index", "trees", "snapshots" };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		AUTOFREE char *path = local_path(b, dirs[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return log_error_errno(-errno, "cannot create '%s'", path);
	}
	return 0;
}

static const struct backend_ops local_ops = {
	.scheme = "local",
	.read_only = false,
	.can_list = true,
	.put = local_put,
	.get = local_get,
	.get_range = local_get_range,
	.size = local_size,
	.delete = local_delete,
	.list = local_list,
	.create_layout = local_create_layout,
	.free = local_free,
};

int backend_local_open(struct backend *b, const char *path)
{
	struct local *l;
	size_t len = strlen(path);

	if (len == 0)
		return log_error_errno(-EINVAL, "empty repository path");
	l = xcalloc(1, sizeof(*l));
	l->root = xstrdup(path);
	pthread_mutex_init(&l->lock, NULL);
	for (size_t i = 0; i < LOCAL_OPEN_MAX; i++)
		l->kept[i].fd = -1;
	while (len > 1 && l->root[len - 1] == '/')
		l->root[--len] = '\0';
	b->ops = &local_ops;
	b->priv = l;
	return 0;
}
