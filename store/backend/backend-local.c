/*
 * backend-local.c - a repository in a local directory; object names map to
 * relative paths under it.
 *
 * A put writes "<name>.tmp.<random>" in the final directory, fsyncs it,
 * renames it over the final name and fsyncs the directory, so after a crash
 * a name holds either all of its bytes or nothing, and a temporary file is
 * all that can be left behind. Listing skips temporaries; prune (which knows
 * their age) removes stale ones. Reads use pread on a fresh descriptor, so
 * any number of threads may read at once.
 */
#include "backend/backend-internal.h"
#include "base/crypto.h"
#include "base/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

struct local {
	char *root; /* absolute or as given; no trailing slash */
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

static int local_get_range(struct backend *b, const char *name, uint64_t off, size_t len,
			   struct buf *out)
{
	uint64_t size;
	AUTOCLOSE int fd = local_open_read(b, name, &size);
	if (fd < 0)
		return fd;
	if (off > size || len > size - off)
		return log_error_errno(-EBADMSG, "'%s/%s' is shorter than expected",
				       local_of(b)->root, name);
	return local_read_into(b, name, fd, off, len, out);
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
	if (l)
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
	while (len > 1 && l->root[len - 1] == '/')
		l->root[--len] = '\0';
	b->ops = &local_ops;
	b->priv = l;
	return 0;
}
