/*
 * backend.c - picks a backend from the URL and guards every operation: object
 * names are checked here (so no backend ever sees "..", an absolute path or
 * a stray byte), and writes to a read-only backend fail with -EROFS before
 * they reach it.
 */
#include "backend/backend-internal.h"
#include "backend/http.h"
#include "base/log.h"

static bool name_is_valid(const char *name, bool allow_empty)
{
	size_t len = strlen(name);

	if (len == 0)
		return allow_empty;
	if (name[0] == '/' || len > 512)
		return false;
	for (const char *p = name; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '-' ||
		      c == '_' || c == '.'))
			return false;
		if (c == '/' && p[1] == '/')
			return false;
		if (c == '.' && (p == name || p[-1] == '/'))
			return false; /* no ".", "..", or hidden names */
	}
	return true;
}

int backend_open(const char *url, const struct backend_options *opts, struct backend **ret)
{
	static const struct backend_options defaults = { 0 };
	struct backend *b = xcalloc(1, sizeof(*b));
	int r;

	if (!opts)
		opts = &defaults;
	b->url = xstrdup(url);
	if (strncmp(url, "s3://", 5) == 0)
		r = backend_s3_open(b, url + 5, opts);
	else if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
		r = backend_http_open(b, url, opts);
	else if (strncmp(url, "file://", 7) == 0)
		r = backend_local_open(b, url + 7);
	else if (strstr(url, "://"))
		r = log_error_errno(-EINVAL, "repository URL '%s' has an unknown scheme", url);
	else
		r = backend_local_open(b, url);
	if (r < 0) {
		free(b->url);
		free(b);
		return r;
	}
	*ret = b;
	return 0;
}

void backend_free(struct backend *b)
{
	if (!b)
		return;
	if (b->ops && b->ops->free)
		b->ops->free(b);
	free(b->url);
	free(b);
}

const char *backend_url(const struct backend *b)
{
	return b->url;
}

bool backend_is_read_only(const struct backend *b)
{
	return b->ops->read_only;
}

int backend_create_layout(struct backend *b)
{
	if (b->ops->read_only)
		return -EROFS;
	return b->ops->create_layout ? b->ops->create_layout(b) : 0;
}

bool backend_can_list(const struct backend *b)
{
	return b->ops->can_list;
}

unsigned backend_put_parallelism(const struct backend *b)
{
	return b->ops->put_parallelism ? b->ops->put_parallelism : 1;
}

static int check_name(const struct backend *b, const char *name)
{
	if (!name_is_valid(name, false))
		return log_error_errno(-EINVAL, "%s: invalid object name '%s'", b->url, name);
	return 0;
}

static int check_writable(const struct backend *b)
{
	if (b->ops->read_only)
		return log_error_errno(-EROFS, "repository '%s' is read-only (%s backend)", b->url,
				       b->ops->scheme);
	return 0;
}

#define COUNT(b, field, n) __atomic_fetch_add(&(b)->stats.field, (n), __ATOMIC_RELAXED)

void backend_get_stats(const struct backend *b, struct backend_stats *ret)
{
	ret->n_requests = __atomic_load_n(&b->stats.n_requests, __ATOMIC_RELAXED);
	ret->n_get = __atomic_load_n(&b->stats.n_get, __ATOMIC_RELAXED);
	ret->n_put = __atomic_load_n(&b->stats.n_put, __ATOMIC_RELAXED);
	ret->n_list = __atomic_load_n(&b->stats.n_list, __ATOMIC_RELAXED);
	ret->bytes_in = __atomic_load_n(&b->stats.bytes_in, __ATOMIC_RELAXED);
	ret->bytes_out = __atomic_load_n(&b->stats.bytes_out, __ATOMIC_RELAXED);
}

int backend_put(struct backend *b, const char *name, const void *data, size_t len)
{
	int r = check_writable(b);
	if (r < 0)
		return r;
	r = check_name(b, name);
	if (r < 0)
		return r;
	COUNT(b, n_requests, 1);
	COUNT(b, n_put, 1);
	COUNT(b, bytes_out, len);
	return b->ops->put(b, name, data, len);
}

size_t backend_object_max(const char *name)
{
	/* The objects a repository holds, by name (cairn-repository(5)), and
	 * the largest each may be once framed: the bounds of their decoders
	 * plus room for the envelope. */
	static const struct {
		const char *prefix;
		size_t max;
	} kinds[] = {
		{ "config", 64u << 10 },
		{ "snapshots/", 128u << 10 },
		{ "locks/", 64u << 10 },
		{ "snapshot-list", (64u << 20) + (64u << 10) },
		{ "prune-pending", (256u << 20) + (64u << 10) },
		{ "packs/", (256u << 20) + (1u << 20) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (strncmp(name, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
			return kinds[i].max;
	}
	return HTTP_BODY_MAX; /* trees/, index/ and anything else */
}

int backend_get(struct backend *b, const char *name, struct buf *out)
{
	int r = check_name(b, name);
	if (r < 0)
		return r;
	size_t before = out->len;
	COUNT(b, n_requests, 1);
	COUNT(b, n_get, 1);
	r = b->ops->get(b, name, backend_object_max(name), out);
	COUNT(b, bytes_in, out->len >= before ? out->len - before : 0);
	return r;
}

int backend_get_range(struct backend *b, const char *name, uint64_t off, size_t len,
		      struct buf *out)
{
	int r = check_name(b, name);
	if (r < 0)
		return r;
	if (len == 0)
		return 0;
	size_t before = out->len;
	COUNT(b, n_requests, 1);
	COUNT(b, n_get, 1);
	r = b->ops->get_range(b, name, off, len, out);
	COUNT(b, bytes_in, out->len >= before ? out->len - before : 0);
	return r;
}

int backend_size(struct backend *b, const char *name, uint64_t *ret_size)
{
	int r = check_name(b, name);
	if (r < 0)
		return r;
	COUNT(b, n_requests, 1);
	return b->ops->size(b, name, ret_size);
}

int backend_delete(struct backend *b, const char *name)
{
	int r = check_writable(b);
	if (r < 0)
		return r;
	r = check_name(b, name);
	if (r < 0)
		return r;
	COUNT(b, n_requests, 1);
	return b->ops->delete (b, name);
}

struct list_filter {
	const struct backend *b;
	const char *prefix;
	size_t prefix_len;
	backend_list_fn fn;
	void *userdata;
};

/* Passes on only names that start with the prefix asked for and are valid
 * object names: an S3 server's reply is untrusted, and callers cut the
 * prefix off or hand the name back to backend_get(). Anything else (a stray
 * object, a misbehaving server) is not part of the repository. */
static int list_filter_one(void *userdata, const char *name, uint64_t size)
{
	const struct list_filter *f = userdata;

	if (strncmp(name, f->prefix, f->prefix_len) != 0 || !name_is_valid(name, false)) {
		log_debug("%s: listing: skipping '%s', not an object name under '%s'", f->b->url,
			  name, f->prefix);
		return 0;
	}
	return f->fn(f->userdata, name, size);
}

int backend_delete_many(struct backend *b, const char *const *names, size_t n)
{
	int r = check_writable(b);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = check_name(b, names[i]);
		if (r < 0)
			return r;
	}
	if (!b->ops->delete_many) {
		for (size_t i = 0; i < n; i++) {
			COUNT(b, n_requests, 1);
			r = b->ops->delete (b, names[i]);
			if (r < 0)
				return r;
		}
		return 0;
	}
	for (size_t i = 0; i < n; i += BACKEND_DELETE_BATCH) {
		COUNT(b, n_requests, 1);
		r = b->ops->delete_many(b, names + i, MIN(n - i, (size_t)BACKEND_DELETE_BATCH));
		if (r < 0)
			return r;
	}
	return 0;
}

int backend_list(struct backend *b, const char *prefix, backend_list_fn fn, void *userdata)
{
	struct list_filter f = { b, prefix, strlen(prefix), fn, userdata };

	if (!name_is_valid(prefix, true))
		return log_error_errno(-EINVAL, "%s: invalid prefix '%s'", b->url, prefix);
	if (!b->ops->can_list || !b->ops->list)
		return log_error_errno(-EOPNOTSUPP, "repository '%s' cannot be listed (%s backend)",
				       b->url, b->ops->scheme);
	COUNT(b, n_requests, 1);
	COUNT(b, n_list, 1);
	return b->ops->list(b, prefix, list_filter_one, &f);
}
