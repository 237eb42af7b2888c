/*
 * backend.h - where repository objects live: a local directory, an
 * S3-compatible bucket, or a read-only static HTTP server. Every command and
 * cairnfs go through this interface and never learn which one it is.
 *
 * Object names are relative paths of [a-z0-9/] such as "config",
 * "snapshots/<hex>", "packs/ab/<hex>". Objects are immutable once written
 * (a name is never rewritten with different content, so readers may cache
 * freely), except "snapshot-list", which is rewritten whole by each backup.
 * All functions are thread-safe.
 */
#ifndef CAIRN_BACKEND_H
#define CAIRN_BACKEND_H

#include "base/buf.h"

struct backend;

struct backend_options {
	const char *s3_endpoint; /* URL, or NULL for $AWS_ENDPOINT_URL_S3 / _URL / AWS */
	bool s3_path_style;	 /* force path-style addressing */
	bool insecure_tls;	 /* do not verify TLS certificates */
	const char *cacert;	 /* extra CA bundle file, or NULL */
	/* Bound on one backend operation with all its retries, in seconds; 0 =
	 * the defaults of a command: each attempt within 300 s, no retry
	 * started after 60 s. cairnfs sets it so a read fails in bounded time. */
	unsigned timeout_s;
	unsigned connect_timeout_s; /* for one connection attempt; 0 = 10 s */
	unsigned retries;	    /* attempts after the first; 0 = 4 */
};

/* Opens the backend that url names: "/path", "file:///path", "s3://bucket/prefix",
 * "http(s)://...". Does not touch the repository beyond what is needed to
 * connect. -EINVAL (logged) for a URL it cannot use. */
int backend_open(const char *url, const struct backend_options *opts,
		 struct backend **ret) WARN_UNUSED;
void backend_free(struct backend *b);
DEFINE_FREEP(struct backend, backend_free)

/* The URL the backend was opened with, safe for messages (no credentials).
 * Valid until backend_free(). */
const char *backend_url(const struct backend *b);
bool backend_is_read_only(const struct backend *b);
/* Creates the top-level directories of a new repository where the backend
 * has directories, so that an empty repository already shows its layout. */
int backend_create_layout(struct backend *b) WARN_UNUSED;
/* True when backend_list() works (static HTTP servers cannot list). */
bool backend_can_list(const struct backend *b);
/* How many puts are worth running at once: more than one where each put
 * waits on a round trip (object stores). */
unsigned backend_put_parallelism(const struct backend *b);

/* Stores len bytes under name, atomically and durably: after a crash the name
 * either holds all of data or does not exist. */
int backend_put(struct backend *b, const char *name, const void *data, size_t len) WARN_UNUSED;
/* Appends the whole object to out. -ENOENT if it does not exist. */
int backend_get(struct backend *b, const char *name, struct buf *out) WARN_UNUSED;
/* Appends exactly len bytes starting at off to out; -EBADMSG when the object
 * is shorter than off + len. */
int backend_get_range(struct backend *b, const char *name, uint64_t off, size_t len,
		      struct buf *out) WARN_UNUSED;
/* Size of an object; -ENOENT if it does not exist. */
int backend_size(struct backend *b, const char *name, uint64_t *ret_size) WARN_UNUSED;
/* Removes an object; removing a missing one is not an error. */
int backend_delete(struct backend *b, const char *name) WARN_UNUSED;
/* Removes n objects, as few requests as the backend allows (S3: one
 * multi-object delete per 1,000 names); missing ones are not an error. On
 * failure some of them may be gone already. */
int backend_delete_many(struct backend *b, const char *const *names, size_t n) WARN_UNUSED;

/* What a backend has done since it was opened, for measurements and -v. */
struct backend_stats {
	uint64_t n_requests; /* operations issued (a whole listing counts once) */
	uint64_t n_get;	     /* whole and ranged reads */
	uint64_t n_put;
	uint64_t n_list;
	uint64_t bytes_in;  /* payload bytes read */
	uint64_t bytes_out; /* payload bytes written */
};
void backend_get_stats(const struct backend *b, struct backend_stats *ret);

/* Called once per object whose name starts with prefix, in no particular
 * order; name is the full object name, borrowed for the call, and always a
 * valid object name (names a server reports outside prefix, or with other
 * bytes, are skipped). A negative return stops the listing and is returned
 * by backend_list(). */
typedef int (*backend_list_fn)(void *userdata, const char *name, uint64_t size);
int backend_list(struct backend *b, const char *prefix, backend_list_fn fn,
		 void *userdata) WARN_UNUSED;

#endif
