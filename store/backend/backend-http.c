/*
 * backend-http.c - a read-only repository published by any static web server
 * ("https://host/path"): object "packs/ab/<hex>" is the URL
 * "https://host/path/packs/ab/<hex>". Object names use only [a-z0-9/._-]
 * (backend.c checks), so they go into URLs as they are.
 *
 * Reads are GETs, with a Range header for get_range (http.c checks that
 * exactly the asked bytes come back, and copes with servers that ignore
 * Range). A size is a HEAD's Content-Length, or, for a server that answers
 * HEAD badly, the total of a one-byte range. Redirects are followed. A
 * static server cannot list and cannot be written, so read_only and
 * !can_list keep backend.c from ever calling put, delete or list.
 */
#include "backend/backend-internal.h"
#include "backend/http.h"
#include "base/log.h"
#include "base/parse.h"

struct web {
	struct http *http;
	char *base; /* the URL without trailing slashes */
};

static struct web *web_of(struct backend *b)
{
	return b->priv;
}

static char *web_url(struct backend *b, const char *name)
{
	return xasprintf("%s/%s", web_of(b)->base, name);
}

/* GET (with a range when len > 0), appending the body to out. */
static int web_fetch(struct backend *b, const char *name, bool has_range, uint64_t off, size_t len,
		     size_t max, struct buf *out)
{
	AUTOFREE char *url = web_url(b, name);
	AUTOFREE char *what = xasprintf("get '%s'", url);
	struct http_request req = {
		.method = HTTP_GET,
		.url = url,
		.what = what,
		.has_range = has_range,
		.range_off = off,
		.range_len = len,
		.body_max = max,
	};

	return http_request(web_of(b)->http, &req, out, NULL);
}

static int web_get(struct backend *b, const char *name, size_t max, struct buf *out)
{
	return web_fetch(b, name, false, 0, 0, max, out);
}

static int web_get_range(struct backend *b, const char *name, uint64_t off, size_t len,
			 struct buf *out)
{
	return web_fetch(b, name, true, off, len, 0, out);
}

/* The size from the total of "Content-Range: bytes 0-0/N" (or "bytes * /N"
 * for an empty object, which cannot satisfy any range). */
static int size_by_range(struct backend *b, const char *name, uint64_t *ret_size)
{
	AUTOFREE char *url = web_url(b, name);
	AUTOFREE char *what = xasprintf("size of '%s'", url);
	AUTOFREE char *cr = NULL;
	AUTOBUF struct buf byte = BUF_INIT;
	struct http_response resp;
	uint64_t first, last, total = UINT64_MAX;
	struct http_request req = {
		.method = HTTP_GET,
		.url = url,
		.what = what,
		.has_range = true,
		.range_off = 0,
		.range_len = 1,
		.quiet = true,
	};
	int r;

	r = http_request(web_of(b)->http, &req, &byte, &resp);
	if (r == 0 || resp.status == 416) {
		cr = http_response_header(&resp, "content-range");
		if (!cr || http_parse_content_range(cr, &first, &last, &total) < 0 ||
		    total == UINT64_MAX)
			r = log_error_errno(-EPROTO,
					    "%s: the server tells neither Content-Length "
					    "nor a Content-Range total",
					    what);
		else
			r = 0;
	} else if (r != -ENOENT && resp.status != 0) {
		log_error_errno(r, "%s: HTTP %ld", what, resp.status);
	}
	http_response_release(&resp);
	if (r == 0)
		*ret_size = total;
	return r;
}

static int web_size(struct backend *b, const char *name, uint64_t *ret_size)
{
	AUTOFREE char *url = web_url(b, name);
	AUTOFREE char *what = xasprintf("size of '%s'", url);
	AUTOFREE char *length = NULL;
	struct http_response resp;
	struct http_request req = {
		.method = HTTP_HEAD,
		.url = url,
		.what = what,
		.quiet = true,
	};
	int r;

	r = http_request(web_of(b)->http, &req, NULL, &resp);
	if (r == 0)
		length = http_response_header(&resp, "content-length");
	http_response_release(&resp);
	if (r == -ENOENT)
		return r;
	if (r == 0 && parse_uint(length, ret_size) == 0)
		return 0;
	/* HEAD refused, failed, or without a length: ask for one byte instead */
	log_debug("%s: HEAD gave no size, trying a range", what);
	return size_by_range(b, name, ret_size);
}

static void web_free(struct backend *b)
{
	struct web *w = web_of(b);

	if (!w)
		return;
	http_free(w->http);
	free(w->base);
	free(w);
	b->priv = NULL;
}

static const struct backend_ops http_ops = {
	.scheme = "http",
	.read_only = true,
	.can_list = false,
	.put = NULL, /* never called: backend.c refuses writes to read-only backends */
	.get = web_get,
	.get_range = web_get_range,
	.size = web_size,
	.delete = NULL,
	.list = NULL,
	.free = web_free,
};

int backend_http_open(struct backend *b, const char *url, const struct backend_options *opts)
{
	struct http_options hopts = {
		.insecure_tls = opts->insecure_tls,
		.cacert = opts->cacert,
		.connect_timeout_s = opts->connect_timeout_s,
		.deadline_s = opts->timeout_s,
		.retries = opts->retries,
		.follow_redirects = true,
	};
	const char *authority = strstr(url, "://");
	struct web *w;
	size_t len = strlen(url);
	int r;

	const char *path = authority ? strchr(authority + 3, '/') : NULL;
	const char *at = authority ? strchr(authority + 3, '@') : NULL;

	if (at && (!path || at < path)) {
		/* the URL would show in messages, and backend_url() must be safe to print */
		log_error("http: credentials in a repository URL are not supported");
		log_error("hint: publish the repository without authentication, or use s3://");
		return -EINVAL;
	}
	if (!authority || authority[3] == '\0' || authority[3] == '/' || strpbrk(url, "?# "))
		return log_error_errno(-EINVAL, "cannot use '%s' as a repository URL", url);
	w = xcalloc(1, sizeof(*w));
	while (len > 0 && url[len - 1] == '/')
		len--;
	w->base = strndup(url, len);
	r = http_new(&hopts, &w->http);
	if (r < 0) {
		free(w->base);
		free(w);
		return r;
	}
	b->ops = &http_ops;
	b->priv = w;
	return 0;
}
