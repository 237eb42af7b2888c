/*
 * backend-internal.h - the operations table each backend implements. Only
 * backend*.c include this, and tests, which build fake backends. The
 * generic layer (backend.c) checks names and read-only-ness before calling
 * an op, so ops may assume a valid name; it also checks the names an op's
 * listing reports.
 */
#ifndef CAIRN_BACKEND_INTERNAL_H
#define CAIRN_BACKEND_INTERNAL_H

#include "backend/backend.h"

#define BACKEND_DELETE_BATCH 1000 /* names per delete_many call (S3's limit) */

struct backend_ops {
	const char *scheme; /* for messages: "local", "s3", "http" */
	bool read_only;
	bool can_list;
	unsigned put_parallelism; /* puts worth running at once; 0 means 1 */
	int (*put)(struct backend *b, const char *name, const void *data, size_t len);
	/* max: the largest object of that name's kind (backend_object_max());
	 * a larger one fails with -EFBIG before more than that is read. */
	int (*get)(struct backend *b, const char *name, size_t max, struct buf *out);
	int (*get_range)(struct backend *b, const char *name, uint64_t off, size_t len,
			 struct buf *out);
	int (*size)(struct backend *b, const char *name, uint64_t *ret_size);
	int (*delete)(struct backend *b, const char *name);
	/* Optional: removes n <= BACKEND_DELETE_BATCH objects in one request. */
	int (*delete_many)(struct backend *b, const char *const *names, size_t n);
	int (*list)(struct backend *b, const char *prefix, backend_list_fn fn, void *userdata);
	/* Optional: lays out a new repository's directories (local only;
	 * object stores have no directories). */
	int (*create_layout)(struct backend *b);
	void (*free)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
	char *url;		    /* as given, for messages */
	void *priv;		    /* the backend's own state */
	struct backend_stats stats; /* updated atomically by backend.c */
};

/* Constructors; each fills b->ops and b->priv from the part of the URL after
 * its scheme. */
int backend_local_open(struct backend *b, const char *path);
int backend_s3_open(struct backend *b, const char *bucket_and_prefix,
		    const struct backend_options *opts);
int backend_http_open(struct backend *b, const char *url, const struct backend_options *opts);

/* Reports every <Contents> of one S3 ListObjectsV2 reply page (untrusted) to
 * fn, with key_prefix (the repository's prefix in the bucket) cut off and
 * keys outside it skipped. Sets *ret_token to the next continuation token
 * (malloc'd), or NULL on the last page. -EPROTO (logged, naming display) for
 * a malformed page; fn's negative return stops it and is returned. */
int backend_s3_list_page(const char *display, const char *key_prefix, const struct buf *page,
			 backend_list_fn fn, void *userdata, char **ret_token) WARN_UNUSED;

/* The text of the first <tag>...</tag> in xml[0..len) (untrusted),
 * entity-decoded into a new string; NULL when absent, malformed or holding a
 * NUL. The _printable form escapes it for a message (str_printable()). */
char *backend_s3_xml_text(const char *xml, size_t len, const char *tag);
char *backend_s3_xml_text_printable(const char *xml, size_t len, const char *tag);

/* Reads a DeleteObjects reply (untrusted): logs each <Error> but NoSuchKey,
 * naming the key below key_prefix. 0, -EACCES (AccessDenied) or -EIO. */
int backend_s3_delete_reply(const char *display, const char *key_prefix,
			    const struct buf *reply) WARN_UNUSED;

/* What one profile of the AWS shared files says; strings are owned. */
struct aws_profile {
	char *access_key_id;
	char *secret_access_key; /* wiped on release */
	char *session_token;	 /* wiped on release */
	char *region;
	char *endpoint_url;
	char *addressing_style; /* "path", "virtual" or "auto" (s3 = ... subsection) */
	bool found;		/* the file had the profile's section */
};

/* Reads one profile of an AWS shared credentials or config file from f
 * (INI, with "key = value" lines, '#' and ';' comments, and indented lines
 * under a "key =" line forming a subsection such as "s3 =\n
 * addressing_style = path") into *ret, which starts zeroed or from an
 * earlier file. In a credentials file the section is "[NAME]"; in a config
 * file "[profile NAME]", or "[default]" for the default profile. */
void aws_profile_parse(FILE *f, const char *profile, bool is_config, struct aws_profile *ret);
void aws_profile_release(struct aws_profile *p);

#endif
