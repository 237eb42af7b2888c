/*
 * http.h - the one libcurl wrapper, shared by the S3 and HTTP backends:
 * connection reuse, timeouts, retries with backoff, byte ranges and the
 * mapping of transport failures and HTTP statuses to -errno.
 */
#ifndef CAIRN_HTTP_H
#define CAIRN_HTTP_H

#include "base/buf.h"

struct http;

struct http_options {
	bool insecure_tls;	    /* do not verify the server's certificate and name */
	const char *cacert;	    /* extra CA bundle file, or NULL; copied */
	unsigned connect_timeout_s; /* 0 = 10 s */
	unsigned timeout_s;	    /* whole-request bound for one attempt; 0 = 300 s */
	unsigned deadline_s;	    /* bound on a request with all its attempts and backoff;
				     * 0 = only the attempt bounds and the retry budget */
	unsigned retries;	    /* attempts after the first; 0 = 4 */
	unsigned retry_budget_s;    /* no attempt starts after this; 0 = 60 s */
	bool follow_redirects;	    /* follow up to 5 redirects (static web servers) */
};

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_PUT,
	HTTP_POST,
	HTTP_DELETE,
};

struct http_request {
	enum http_method method;
	const char *url;	    /* percent-encoded; never logged (it may be presigned) */
	const char *what;	    /* names the request in messages: "get 's3://b/p/config'" */
	const char *const *headers; /* extra "Name: value" lines; never logged */
	size_t n_headers;
	const void *body; /* PUT and POST: the body, borrowed for the call */
	size_t body_len;
	/* Ask for body bytes [range_off, range_off + range_len) with a Range
	 * header and check that exactly those come back. */
	bool has_range;
	uint64_t range_off;
	size_t range_len;
	/* Do not log failing HTTP statuses: the caller explains them. Transport
	 * failures are still logged here. */
	bool quiet;
};

/* The final reply to a request, successful or not. */
struct http_response {
	long status;	       /* 0 when no reply came */
	unsigned attempts;     /* how many times the request was sent */
	struct buf headers;    /* the reply's header block, at most 64 KiB */
	struct buf error_body; /* body of a non-2xx reply, at most 64 KiB */
};

#define HTTP_RESPONSE_INIT ((struct http_response){ 0, 0, BUF_INIT, BUF_INIT })

/* Creates a client; its handles (and their connections) are reused by
 * every thread that calls http_request(). Returns 0 or -ENOMEM. */
int http_new(const struct http_options *opts, struct http **ret) WARN_UNUSED;
/* Frees h; no request may still be running. Accepts NULL. */
void http_free(struct http *h);
DEFINE_FREEP(struct http, http_free)

/* Performs req, retrying transient failures (connection resets, timeouts,
 * truncated bodies, 408, 429 and 5xx replies) with exponential backoff and
 * jitter, within the attempt count and time budget of the options; with a
 * deadline_s, the whole call returns within about that many seconds. A 2xx
 * body is appended to out (which may be NULL when no body is wanted); with
 * has_range exactly range_len bytes are appended, or nothing. resp, when not
 * NULL, receives the final reply (release it with http_response_release()).
 *
 * Returns 0 for a 2xx reply, else -ENOENT (404), -EACCES (401, 403),
 * -EBADMSG (416, or an object that ends before the range does), -EPROTO
 * (malformed or truncated reply, unexpected status), -ETIMEDOUT,
 * -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET, -EIO (5xx), -EOPNOTSUPP (405,
 * 501). Failures are logged with req->what and the status or curl's error,
 * except 404 (the caller knows whether a missing object is an error) and,
 * with req->quiet, other HTTP statuses. Thread-safe. */
int http_request(struct http *h, const struct http_request *req, struct buf *out,
		 struct http_response *resp) WARN_UNUSED;

void http_response_release(struct http_response *resp);

/* The value of the first header called name (any case) in the reply, trimmed,
 * as a new string the caller frees; NULL when absent or holding a NUL byte. */
char *http_response_header(const struct http_response *resp, const char *name);

/* Parses a Content-Range value "bytes FIRST-LAST/TOTAL" or "bytes * /TOTAL"
 * (without the space); *ret_first and *ret_last are UINT64_MAX for the
 * latter, *ret_total is UINT64_MAX for an unknown "*" total. -EPROTO if
 * malformed. */
int http_parse_content_range(const char *value, uint64_t *ret_first, uint64_t *ret_last,
			     uint64_t *ret_total) WARN_UNUSED;

/* The Range header value "bytes=OFF-LAST" for len > 0 bytes at off, as sent
 * for a request with has_range (S3 signs it). */
#define HTTP_RANGE_MAX 48
void http_range_value(uint64_t off, size_t len, char out[HTTP_RANGE_MAX]);

/* The -errno for an HTTP status, as http_request() maps it; 0 for 2xx. */
int http_status_errno(long status);

#endif
