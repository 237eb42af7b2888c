/*
 * backend-s3.c - a repository in an S3-compatible bucket, "s3://bucket/prefix".
 *
 * Object "packs/ab/<hex>" is the key "prefix/packs/ab/<hex>" (just the name
 * when there is no prefix). Every request is signed here with SigV4 (sigv4.c)
 * over host, x-amz-content-sha256 (the SHA-256 of the body, so the server
 * verifies every byte it stores), x-amz-date, range and the session token,
 * and sent through http.c, which owns timeouts, retries and byte ranges. A
 * put is a single PUT: objects are packs of several MiB, well under S3's
 * 5 GiB limit for one. Listing uses ListObjectsV2 and follows continuation
 * tokens; its XML reply is untrusted and read with bounded searches only
 * (a '<' never appears unescaped inside XML text, so searching for a tag
 * cannot be fooled by a key).
 *
 * Endpoint, credentials and region come from the options, the usual AWS
 * environment variables and the profile in the AWS shared credentials and
 * config files; see backend_s3_open(). With an explicit endpoint (MinIO,
 * Swift, Ceph, ...) requests are path-style ("endpoint/bucket/key"), against
 * AWS virtual-hosted ("bucket.s3.<region>.amazonaws.com/key"), unless
 * --s3-path-style or the profile's s3.addressing_style says otherwise.
 * Deleting many objects uses DeleteObjects, 1,000 keys a request. Nothing
 * talks to the server until the first operation. The state is read-only after open, so any number of threads
 * may call the operations at once. Secrets never reach a log: messages name
 * "s3://bucket/prefix", the key, and the HTTP status with S3's error code.
 */
#include "backend/backend-internal.h"
#include "base/crypto.h"
#include "backend/http.h"
#include "base/log.h"
#include "base/parse.h"
#include "backend/sigv4.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <time.h>

#define S3_TOKEN_MAX 4096    /* longest continuation token accepted */
#define S3_PUT_PARALLELISM 4 /* uploads worth running at once (each waits on round trips) */

struct s3 {
	struct http *http;
	char *display;	 /* "s3://bucket/prefix", for messages */
	char *scheme;	 /* "http" or "https" */
	char *host;	 /* the Host header, and the URL's authority */
	char *base_path; /* "" or "/bucket" (path-style), after any endpoint path */
	char *prefix;	 /* "" or "some/prefix/" */
	char *region;
	char *access_key_id;
	char *secret_access_key; /* wiped on free */
	char *session_token;	 /* NULL when there is none; wiped on free */
	char *profile;		 /* the AWS profile read, for messages */
};

static struct s3 *s3_of(struct backend *b)
{
	return b->priv;
}

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void s3_free(struct backend *b)
{
	struct s3 *s3 = s3_of(b);

	if (!s3)
		return;
	http_free(s3->http);
	free(s3->display);
	free(s3->scheme);
	free(s3->host);
	free(s3->base_path);
	free(s3->prefix);
	free(s3->region);
	free(s3->access_key_id);
	free_secret(s3->secret_access_key);
	free_secret(s3->session_token);
	free(s3->profile);
	free(s3);
	b->priv = NULL;
}

/* One signed request; key NULL addresses the bucket itself. */
struct s3_call {
	enum http_method method;
	const char *verb; /* for messages: "get", "put", ... */
	const char *key;
	const char *query; /* percent-encoded, or NULL */
	const void *body;
	size_t body_len;
	bool has_range;
	uint64_t off;
	size_t len;
	const char *content_md5; /* base64 MD5 of the body, sent and signed; or NULL */
};

/* The text of the first <tag>...</tag> in xml[0..len), entity-decoded into a
 * new string; NULL when absent, malformed or holding a NUL. */
static char *xml_text(const char *xml, size_t len, const char *tag)
{
	AUTOFREE char *open_tag = xasprintf("<%s>", tag);
	AUTOFREE char *close_tag = xasprintf("</%s>", tag);
	const char *start = memmem(xml, len, open_tag, strlen(open_tag));
	const char *end;
	AUTOBUF struct buf out = BUF_INIT;

	if (!start)
		return NULL;
	start += strlen(open_tag);
	end = memmem(start, len - (size_t)(start - xml), close_tag, strlen(close_tag));
	if (!end)
		return NULL;
	for (const char *p = start; p < end; p++) {
		static const struct {
			const char *name;
			char c;
		} ents[] = { { "amp;", '&' },
			     { "lt;", '<' },
			     { "gt;", '>' },
			     { "quot;", '"' },
			     { "apos;", '\'' } };
		size_t left = (size_t)(end - p) - 1;
		bool done = false;

		if (*p == '\0')
			return NULL;
		if (*p != '&') {
			buf_append_u8(&out, (uint8_t)*p);
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(ents) && !done; i++) {
			size_t n = strlen(ents[i].name);
			if (left >= n && memcmp(p + 1, ents[i].name, n) == 0) {
				buf_append_u8(&out, (uint8_t)ents[i].c);
				p += n;
				done = true;
			}
		}
		if (!done && left >= 3 && p[1] == '#') {
			/* a numeric reference to an ASCII character: &#65; or &#x41; */
			const char *semi = memchr(p, ';', (size_t)(end - p));
			char digits[8], *digits_end;
			size_t n = semi ? (size_t)(semi - p) - 2 : 0;
			unsigned long v;
			bool hex;

			if (n == 0 || n >= sizeof(digits))
				return NULL;
			memcpy(digits, p + 2, n);
			digits[n] = '\0';
			hex = digits[0] == 'x';
			if (!isxdigit((unsigned char)digits[hex]))
				return NULL;
			v = strtoul(digits + hex, &digits_end, hex ? 16 : 10);
			if (*digits_end || v == 0 || v >= 0x80)
				return NULL;
			buf_append_u8(&out, (uint8_t)v);
			p = semi;
			done = true;
		}
		if (!done)
			return NULL;
	}
	buf_append_u8(&out, '\0');
	return (char *)buf_detach(&out, NULL);
}

/* Explains a failed reply once, with S3's error code when the body has one. */
static int s3_fail(struct s3 *s3, const char *what, const struct http_response *resp, int r)
{
	const char *body = (const char *)resp->error_body.ptr;
	size_t len = resp->error_body.len;
	AUTOFREE char *code = body ? xml_text(body, len, "Code") : NULL;
	AUTOFREE char *msg = body ? xml_text(body, len, "Message") : NULL;
	char status_text[32];
	const char *why = code;

	if (!why) {
		snprintf(status_text, sizeof(status_text), "HTTP %ld", resp->status);
		why = status_text;
	}

	if (resp->status == 0 || (resp->status >= 200 && resp->status <= 299))
		return r; /* http.c already said what went wrong */
	if (resp->status == 404 && (!code || strcmp(code, "NoSuchKey") == 0))
		return r; /* a missing object: the caller decides whether that is an error */
	if (resp->status == 404 && strcmp(code, "NoSuchBucket") == 0) {
		log_error_errno(r, "s3: the bucket of '%s' does not exist", s3->display);
		log_error("hint: create the bucket, or check the endpoint (%s://%s)", s3->scheme,
			  s3->host);
		return r;
	}
	if (resp->status == 401 || resp->status == 403) {
		/* what names the operation and the key; never the credentials */
		if (code && strcmp(code, "AccessDenied") == 0) {
			log_error("s3: %s: access denied (HTTP %ld %s)", what, resp->status, why);
			log_error("hint: the credentials were accepted but lack permission "
				  "for this bucket");
		} else if (code && strcmp(code, "RequestTimeTooSkewed") == 0) {
			log_error("s3: %s: credentials refused (HTTP %ld %s)", what, resp->status,
				  why);
			log_error("hint: this machine's clock is off; synchronise it");
		} else {
			log_error("s3: %s: credentials refused (HTTP %ld %s)", what, resp->status,
				  why);
			log_error("hint: check the access key id and secret (AWS_ACCESS_KEY_ID, "
				  "AWS_SECRET_ACCESS_KEY%s, or the profile '%s' of the AWS "
				  "credentials file)",
				  s3->session_token ? ", AWS_SESSION_TOKEN" : "", s3->profile);
		}
		return -EACCES;
	}
	if (resp->attempts > 1)
		log_error_errno(r, "s3: %s: HTTP %ld (%s%s%s) after %u attempts", what,
				resp->status, code ? code : "no error code", msg ? ": " : "",
				msg ? msg : "", resp->attempts);
	else
		log_error_errno(r, "s3: %s: HTTP %ld (%s%s%s)", what, resp->status,
				code ? code : "no error code", msg ? ": " : "", msg ? msg : "");
	if (code && (strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
		     strcmp(code, "PermanentRedirect") == 0))
		log_error("hint: the bucket may be in another region than '%s'; set AWS_REGION",
			  s3->region);
	return r;
}

/* Signs and performs one request. A 2xx body is appended to out. */
static int s3_call(struct s3 *s3, const struct s3_call *call, struct buf *out,
		   struct http_response *resp)
{
	AUTOBUF struct buf path = BUF_INIT;
	AUTOFREE char *url = NULL;
	AUTOFREE char *what = NULL;
	AUTOFREE char *h_host = NULL, *h_sha = NULL, *h_date = NULL, *h_auth = NULL;
	AUTOFREE char *h_token = NULL;
	uint8_t digest[HASH_LEN];
	char payload_hash[HASH_HEX_LEN + 1];
	char range[HTTP_RANGE_MAX];
	AUTOFREE char *h_md5 = NULL;
	struct sigv4_header sig_headers[4];
	const char *lines[6];
	size_t n_sig = 0, n_lines = 0;
	struct sigv4_result sig;
	int r;

	*resp = HTTP_RESPONSE_INIT;
	what = call->key ? xasprintf("%s '%s/%s'", call->verb, s3->display,
				     call->key + strlen(s3->prefix))
			 : xasprintf("%s '%s'", call->verb, s3->display);
	buf_append(&path, s3->base_path, strlen(s3->base_path));
	buf_append_u8(&path, '/');
	if (call->key)
		sigv4_uri_encode(&path, call->key, strlen(call->key), true);
	buf_append_u8(&path, '\0');

	crypto_sha256(call->body, call->body_len, digest);
	hex_encode(digest, sizeof(digest), payload_hash);
	sig_headers[n_sig++] = (struct sigv4_header){ "host", s3->host };
	sig_headers[n_sig++] = (struct sigv4_header){ "x-amz-content-sha256", payload_hash };
	if (call->has_range) {
		http_range_value(call->off, call->len, range);
		sig_headers[n_sig++] = (struct sigv4_header){ "range", range };
	}
	if (call->content_md5)
		sig_headers[n_sig++] = (struct sigv4_header){ "content-md5", call->content_md5 };
	struct sigv4_request sreq = {
		.method = call->method == HTTP_GET    ? "GET"
			  : call->method == HTTP_HEAD ? "HEAD"
			  : call->method == HTTP_PUT  ? "PUT"
			  : call->method == HTTP_POST ? "POST"
						      : "DELETE",
		.path = (const char *)path.ptr,
		.path_mode = SIGV4_PATH_AS_SENT,
		.query = call->query,
		.headers = sig_headers,
		.n_headers = n_sig,
		.payload_hash = payload_hash,
		.region = s3->region,
		.service = "s3",
		.time = time(NULL),
	};
	struct sigv4_credentials cred = { s3->access_key_id, s3->secret_access_key,
					  s3->session_token };
	r = sigv4_sign_header(&sreq, &cred, &sig);
	if (r < 0)
		return log_error_errno(r, "s3: %s: cannot sign the request", what);
	lines[n_lines++] = h_host = xasprintf("Host: %s", s3->host);
	lines[n_lines++] = h_sha = xasprintf("x-amz-content-sha256: %s", payload_hash);
	lines[n_lines++] = h_date = xasprintf("X-Amz-Date: %s", sig.amz_date);
	lines[n_lines++] = h_auth = xasprintf("Authorization: %s", sig.authorization);
	if (s3->session_token)
		lines[n_lines++] = h_token =
			xasprintf("X-Amz-Security-Token: %s", s3->session_token);
	if (call->content_md5)
		lines[n_lines++] = h_md5 = xasprintf("Content-MD5: %s", call->content_md5);
	sigv4_result_release(&sig);

	url = xasprintf("%s://%s%s%s%s", s3->scheme, s3->host, (const char *)path.ptr,
			call->query ? "?" : "", call->query ? call->query : "");
	struct http_request req = {
		.method = call->method,
		.url = url,
		.what = what,
		.headers = lines,
		.n_headers = n_lines,
		.body = call->body,
		.body_len = call->body_len,
		.has_range = call->has_range,
		.range_off = call->off,
		.range_len = call->len,
		.quiet = true,
	};
	r = http_request(s3->http, &req, out, resp);
	if (h_token)
		OPENSSL_cleanse(h_token, strlen(h_token));
	if (r < 0)
		return s3_fail(s3, what, resp, r);
	return 0;
}

/* s3_call() for callers that need nothing of the reply but the body. */
static int s3_simple(struct s3 *s3, const struct s3_call *call, struct buf *out)
{
	struct http_response resp;
	int r = s3_call(s3, call, out, &resp);
	http_response_release(&resp);
	return r;
}

static char *s3_key(struct s3 *s3, const char *name)
{
	return xasprintf("%s%s", s3->prefix, name);
}

static int s3_put(struct backend *b, const char *name, const void *data, size_t len)
{
	struct s3 *s3 = s3_of(b);
	AUTOFREE char *key = s3_key(s3, name);
	struct s3_call call = { .method = HTTP_PUT,
				.verb = "put",
				.key = key,
				.body = data,
				.body_len = len };

	return s3_simple(s3, &call, NULL);
}

static int s3_get(struct backend *b, const char *name, struct buf *out)
{
	struct s3 *s3 = s3_of(b);
	AUTOFREE char *key = s3_key(s3, name);
	struct s3_call call = { .method = HTTP_GET, .verb = "get", .key = key };

	return s3_simple(s3, &call, out);
}

static int s3_get_range(struct backend *b, const char *name, uint64_t off, size_t len,
			struct buf *out)
{
	struct s3 *s3 = s3_of(b);
	AUTOFREE char *key = s3_key(s3, name);
	struct s3_call call = { .method = HTTP_GET,
				.verb = "get",
				.key = key,
				.has_range = true,
				.off = off,
				.len = len };

	return s3_simple(s3, &call, out);
}

static int s3_size(struct backend *b, const char *name, uint64_t *ret_size)
{
	struct s3 *s3 = s3_of(b);
	AUTOFREE char *key = s3_key(s3, name);
	AUTOFREE char *length = NULL;
	struct s3_call call = { .method = HTTP_HEAD, .verb = "size of", .key = key };
	struct http_response resp;
	int r;

	r = s3_call(s3, &call, NULL, &resp);
	if (r == 0) {
		length = http_response_header(&resp, "content-length");
		if (parse_uint(length, ret_size) < 0)
			r = log_error_errno(-EPROTO,
					    "s3: size of '%s/%s': the reply has no valid "
					    "Content-Length",
					    s3->display, name);
	}
	http_response_release(&resp);
	return r;
}

static int s3_delete(struct backend *b, const char *name)
{
	struct s3 *s3 = s3_of(b);
	AUTOFREE char *key = s3_key(s3, name);
	struct s3_call call = { .method = HTTP_DELETE, .verb = "delete", .key = key };
	int r = s3_simple(s3, &call, NULL);

	return r == -ENOENT ? 0 : r;
}

/* Removes up to 1,000 keys with one DeleteObjects request (POST ?delete,
 * quiet: the reply lists only the keys that could not be removed). S3
 * requires a Content-MD5 of the body. */
static int s3_delete_many(struct backend *b, const char *const *names, size_t n)
{
	struct s3 *s3 = s3_of(b);
	AUTOBUF struct buf body = BUF_INIT;
	AUTOBUF struct buf reply = BUF_INIT;
	unsigned char md5[EVP_MAX_MD_SIZE];
	unsigned int md5_len = 0;
	char md5_b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	int r;

	buf_printf(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			  "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			  "<Quiet>true</Quiet>");
	for (size_t i = 0; i < n; i++) /* names are [a-z0-9/._-]: nothing to escape */
		buf_printf(&body, "<Object><Key>%s%s</Key></Object>", s3->prefix, names[i]);
	buf_printf(&body, "</Delete>");
	if (EVP_Digest(body.ptr, body.len, md5, &md5_len, EVP_md5(), NULL) != 1)
		return log_error_errno(-ENOMEM, "s3: cannot compute an MD5");
	EVP_EncodeBlock((unsigned char *)md5_b64, md5, (int)md5_len);

	struct s3_call call = { .method = HTTP_POST,
				.verb = "delete objects of",
				.query = "delete=",
				.body = body.ptr,
				.body_len = body.len,
				.content_md5 = md5_b64 };
	r = s3_simple(s3, &call, &reply);
	if (r < 0)
		return r;
	/* <Error><Key>k</Key><Code>c</Code>...</Error> for each key not removed */
	const char *xml = (const char *)reply.ptr, *end = xml + reply.len;
	for (const char *p = xml; p && (p = memmem(p, (size_t)(end - p), "<Error>", 7));) {
		const char *stop = memmem(p, (size_t)(end - p), "</Error>", 8);
		size_t len = stop ? (size_t)(stop - p) : (size_t)(end - p);
		AUTOFREE char *key = xml_text(p, len, "Key");
		AUTOFREE char *code = xml_text(p, len, "Code");

		if (code && strcmp(code, "NoSuchKey") == 0) {
			p = stop;
			continue;
		}
		log_error("s3: delete '%s/%s': %s", s3->display,
			  key && strncmp(key, s3->prefix, strlen(s3->prefix)) == 0
				  ? key + strlen(s3->prefix)
				  : "?",
			  code ? code : "refused");
		r = code && strcmp(code, "AccessDenied") == 0 ? -EACCES : -EIO;
		p = stop;
	}
	return r;
}

int backend_s3_list_page(const char *display, const char *key_prefix, const struct buf *page,
			 backend_list_fn fn, void *userdata, char **ret_token)
{
	const char *xml = (const char *)page->ptr;
	size_t plen = strlen(key_prefix);
	AUTOFREE char *truncated = NULL;
	AUTOFREE char *token = NULL;
	int r;

	if (!xml || !memmem(xml, page->len, "<ListBucketResult", 17))
		return log_error_errno(-EPROTO, "s3: list '%s': the reply is not a listing",
				       display);
	const char *end = xml + page->len;
	for (const char *p = xml; (p = memmem(p, (size_t)(end - p), "<Contents>", 10));) {
		const char *stop = memmem(p, (size_t)(end - p), "</Contents>", 11);
		AUTOFREE char *key = NULL;
		AUTOFREE char *size_text = NULL;
		uint64_t size;

		if (!stop)
			return log_error_errno(-EPROTO, "s3: list '%s': unterminated <Contents>",
					       display);
		key = xml_text(p, (size_t)(stop - p), "Key");
		size_text = xml_text(p, (size_t)(stop - p), "Size");
		if (!key || !size_text || parse_uint(size_text, &size) < 0)
			return log_error_errno(-EPROTO,
					       "s3: list '%s': an entry without a valid "
					       "key or size",
					       display);
		p = stop + 11;
		if (strncmp(key, key_prefix, plen) != 0 || key[plen] == '\0') {
			log_debug("s3: list '%s': skipping key '%s' outside the prefix", display,
				  key);
			continue;
		}
		r = fn(userdata, key + plen, size);
		if (r < 0)
			return r;
	}
	truncated = xml_text(xml, page->len, "IsTruncated");
	token = xml_text(xml, page->len, "NextContinuationToken");
	if (truncated && strcmp(truncated, "true") == 0) {
		if (!token || !*token || strlen(token) > S3_TOKEN_MAX)
			return log_error_errno(-EPROTO,
					       "s3: list '%s': a truncated listing "
					       "without a valid continuation token",
					       display);
		*ret_token = TAKE(token);
	} else {
		*ret_token = NULL;
	}
	return 0;
}

static int s3_list(struct backend *b, const char *prefix, backend_list_fn fn, void *userdata)
{
	struct s3 *s3 = s3_of(b);
	AUTOFREE char *key_prefix = s3_key(s3, prefix);
	AUTOFREE char *token = NULL;
	int r;

	do {
		AUTOBUF struct buf query = BUF_INIT;
		AUTOBUF struct buf page = BUF_INIT;
		char *next = NULL;

		if (token) {
			buf_printf(&query, "continuation-token=");
			sigv4_uri_encode(&query, token, strlen(token), false);
			buf_append_u8(&query, '&');
		}
		buf_printf(&query, "list-type=2&prefix=");
		sigv4_uri_encode(&query, key_prefix, strlen(key_prefix), false);
		buf_append_u8(&query, '\0');
		struct s3_call call = { .method = HTTP_GET,
					.verb = "list",
					.query = (const char *)query.ptr };
		r = s3_simple(s3, &call, &page);
		if (r < 0)
			return r;
		r = backend_s3_list_page(s3->display, s3->prefix, &page, fn, userdata, &next);
		if (r < 0)
			return r;
		if (next && token && strcmp(next, token) == 0) {
			free(next);
			return log_error_errno(-EPROTO,
					       "s3: list '%s': the server repeats its "
					       "continuation token",
					       s3->display);
		}
		free(token);
		token = next;
	} while (token);
	return 0;
}

static const struct backend_ops s3_ops = {
	.scheme = "s3",
	.read_only = false,
	.can_list = true,
	.put_parallelism = S3_PUT_PARALLELISM,
	.put = s3_put,
	.get = s3_get,
	.get_range = s3_get_range,
	.size = s3_size,
	.delete = s3_delete,
	.delete_many = s3_delete_many,
	.list = s3_list,
	.free = s3_free,
};

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (end > s && strchr(" \t\r\n", end[-1]))
		*--end = '\0';
	return s;
}

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

static void aws_profile_release(struct aws_profile *p)
{
	free(p->access_key_id);
	free_secret(p->secret_access_key);
	free_secret(p->session_token);
	free(p->region);
	free(p->endpoint_url);
	free(p->addressing_style);
	*p = (struct aws_profile){ 0 };
}

static void set_string(char **slot, const char *v)
{
	free_secret(*slot); /* any of them may be a secret */
	*slot = xstrdup(v);
}

/* Reads one profile of an AWS shared credentials or config file (INI, with
 * "key = value" lines, '#' and ';' comments, and indented lines under a
 * "key =" line forming a subsection such as "s3 =\n  addressing_style =
 * path"). In a credentials file the section is "[NAME]"; in a config file
 * "[profile NAME]", or "[default]" for the default profile. A missing file
 * is no error. */
static int read_aws_file(const char *path, const char *profile, bool is_config,
			 struct aws_profile *ret)
{
	AUTOFCLOSE FILE *f = fopen(path, "re");
	AUTOFREE char *line = NULL;
	AUTOFREE char *sub = NULL; /* the subsection being read, or NULL */
	size_t cap = 0;
	bool in_profile = false;

	if (!f)
		return errno == ENOENT ? 0 : log_error_errno(-errno, "s3: cannot read '%s'", path);
	while (getline(&line, &cap, f) >= 0) {
		bool indented = line[0] == ' ' || line[0] == '\t';
		char *l = trim(line), *eq;
		size_t len = strlen(l);

		if (l[0] == '#' || l[0] == ';' || len == 0)
			continue;
		if (l[0] == '[' && l[len - 1] == ']') {
			char *name;

			l[len - 1] = '\0';
			name = trim(l + 1);
			if (is_config && strncmp(name, "profile", 7) == 0 &&
			    (name[7] == ' ' || name[7] == '\t'))
				name = trim(name + 8);
			else if (is_config && strcmp(name, "default") != 0)
				name = NULL; /* "[sso-session x]", "[services x]", ... */
			in_profile = name && strcmp(name, profile) == 0;
			ret->found = ret->found || in_profile;
			free(TAKE(sub));
			continue;
		}
		if (!in_profile || !(eq = strchr(l, '=')))
			continue;
		*eq = '\0';
		char *k = trim(l), *v = trim(eq + 1);
		if (!indented)
			free(TAKE(sub));
		if (!indented && !*v) {
			sub = xstrdup(k); /* "s3 =": indented lines follow */
			continue;
		}
		if (sub) {
			if (strcmp(sub, "s3") == 0 && strcmp(k, "addressing_style") == 0)
				set_string(&ret->addressing_style, v);
			else if (strcmp(sub, "s3") == 0 && strcmp(k, "endpoint_url") == 0)
				set_string(&ret->endpoint_url, v);
			continue;
		}
		char **slot = strcmp(k, "aws_access_key_id") == 0	? &ret->access_key_id
			      : strcmp(k, "aws_secret_access_key") == 0 ? &ret->secret_access_key
			      : strcmp(k, "aws_session_token") == 0	? &ret->session_token
			      : strcmp(k, "region") == 0		? &ret->region
			      : strcmp(k, "endpoint_url") == 0		? &ret->endpoint_url
									: NULL;
		if (slot && *v)
			set_string(slot, v);
	}
	OPENSSL_cleanse(line, cap);
	return 0;
}

static char *aws_file_path(const char *env_name, const char *file)
{
	const char *home = env("HOME");

	if (env(env_name))
		return xstrdup(env(env_name));
	return home ? xasprintf("%s/.aws/%s", home, file) : NULL;
}

/* Credentials: both of $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY (with
 * $AWS_SESSION_TOKEN), else the profile in the credentials file, else in the
 * config file. */
static int load_credentials(struct s3 *s3, const struct aws_profile *cred_file,
			    const struct aws_profile *config_file, const char *cred_path,
			    const char *config_path)
{
	const char *id = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
	const struct aws_profile *from = NULL;

	if (id && secret) {
		s3->access_key_id = xstrdup(id);
		s3->secret_access_key = xstrdup(secret);
		if (env("AWS_SESSION_TOKEN"))
			s3->session_token = xstrdup(env("AWS_SESSION_TOKEN"));
		return 0;
	}
	if (id || secret) {
		log_error("s3: %s is set but %s is not",
			  id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			  id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		log_error("hint: set both, or neither to use the AWS credentials file");
		return -EINVAL;
	}
	if (cred_file->access_key_id && cred_file->secret_access_key)
		from = cred_file;
	else if (config_file->access_key_id && config_file->secret_access_key)
		from = config_file;
	if (!from) {
		if (env("AWS_PROFILE") && !cred_file->found && !config_file->found)
			log_error("s3: profile '%s' (AWS_PROFILE) is in neither %s nor %s",
				  s3->profile, cred_path ? cred_path : "~/.aws/credentials",
				  config_path ? config_path : "~/.aws/config");
		else
			log_error("s3: no credentials for '%s'", s3->display);
		log_error("hint: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give "
			  "profile '%s' aws_access_key_id and aws_secret_access_key in %s",
			  s3->profile, cred_path ? cred_path : "~/.aws/credentials");
		return -ENOKEY;
	}
	s3->access_key_id = xstrdup(from->access_key_id);
	s3->secret_access_key = xstrdup(from->secret_access_key);
	if (from->session_token)
		s3->session_token = xstrdup(from->session_token);
	return 0;
}

static bool bucket_is_valid(const char *bucket)
{
	size_t len = strlen(bucket);

	if (len == 0 || len > 255)
		return false;
	for (const char *p = bucket; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return false;
	return true;
}

enum addressing {
	ADDRESSING_AUTO, /* virtual-hosted on AWS, path-style with an endpoint */
	ADDRESSING_PATH,
	ADDRESSING_VIRTUAL,
	ADDRESSING_INVALID,
};

/* Splits "http(s)://authority[/path]" and picks the addressing style. */
static int set_endpoint(struct s3 *s3, const char *endpoint, const char *bucket,
			enum addressing addressing)
{
	AUTOFREE char *own = NULL;
	const char *rest, *slash;
	bool path_style = addressing == ADDRESSING_PATH;
	size_t plen;

	if (!endpoint) {
		own = xasprintf("https://s3.%s.amazonaws.com", s3->region);
		endpoint = own;
		/* a dotted bucket name does not match the wildcard certificate */
		if (addressing == ADDRESSING_AUTO)
			path_style = strchr(bucket, '.') != NULL;
	} else if (addressing == ADDRESSING_AUTO) {
		path_style = true;
	}
	if (!path_style &&
	    strspn(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(bucket))
		path_style = true; /* the bucket name cannot be part of a host name */
	if (strncmp(endpoint, "http://", 7) == 0)
		s3->scheme = xstrdup("http");
	else if (strncmp(endpoint, "https://", 8) == 0)
		s3->scheme = xstrdup("https");
	else
		return log_error_errno(-EINVAL, "s3: endpoint '%s' is not an http(s) URL",
				       endpoint);
	rest = endpoint + strlen(s3->scheme) + 3;
	slash = strchr(rest, '/');
	plen = slash ? strlen(slash) : 0;
	while (plen > 0 && slash[plen - 1] == '/')
		plen--;
	if (slash == rest || *rest == '\0' || strpbrk(rest, "?#@ "))
		return log_error_errno(-EINVAL, "s3: cannot use endpoint '%s'", endpoint);
	if (path_style) {
		s3->host = slash ? strndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
		s3->base_path = xasprintf("%.*s/%s", (int)plen, slash ? slash : "", bucket);
	} else {
		s3->host = slash ? xasprintf("%s.%.*s", bucket, (int)(slash - rest), rest)
				 : xasprintf("%s.%s", bucket, rest);
		s3->base_path = xasprintf("%.*s", (int)plen, slash ? slash : "");
	}
	return 0;
}

/* Undoes a backend_s3_open() that got as far as its private state. */
static int open_failed(struct backend *b, int r)
{
	s3_free(b);
	b->ops = NULL;
	return r;
}

/* Endpoint: opts->s3_endpoint, $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, the
 * profile's endpoint_url, else AWS in the region. Region: $AWS_REGION,
 * $AWS_DEFAULT_REGION, the profile's region, us-east-1. Credentials: see
 * load_credentials(). The profile is $AWS_PROFILE, else "default", read
 * from $AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
 * $AWS_CONFIG_FILE (~/.aws/config). */
int backend_s3_open(struct backend *b, const char *bucket_and_prefix,
		    const struct backend_options *opts)
{
	AUTOFREE char *bucket = NULL;
	AUTOFREE char *cred_path = aws_file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	AUTOFREE char *config_path = aws_file_path("AWS_CONFIG_FILE", "config");
	CLEANUP(aws_profile_release) struct aws_profile cred_file = { 0 };
	CLEANUP(aws_profile_release) struct aws_profile config_file = { 0 };
	const char *slash = strchr(bucket_and_prefix, '/');
	const char *prefix = slash ? slash + 1 : "";
	const char *endpoint, *region, *style;
	struct http_options hopts = {
		.insecure_tls = opts->insecure_tls,
		.cacert = opts->cacert,
		.connect_timeout_s = opts->connect_timeout_s,
		.deadline_s = opts->timeout_s,
		.retries = opts->retries,
	};
	enum addressing addressing;
	struct s3 *s3;
	size_t plen;
	int r;

	bucket = slash ? strndup(bucket_and_prefix, (size_t)(slash - bucket_and_prefix))
		       : xstrdup(bucket_and_prefix);
	if (!bucket_is_valid(bucket))
		return log_error_errno(-EINVAL,
				       "s3: '%s' does not name a bucket: use "
				       "s3://bucket/prefix",
				       b->url);
	while (*prefix == '/')
		prefix++;
	plen = strlen(prefix);
	while (plen > 0 && prefix[plen - 1] == '/')
		plen--;
	if (memmem(prefix, plen, "//", 2))
		return log_error_errno(-EINVAL, "s3: prefix of '%s' has an empty part", b->url);

	s3 = xcalloc(1, sizeof(*s3));
	b->priv = s3;
	b->ops = &s3_ops;
	s3->prefix = plen ? xasprintf("%.*s/", (int)plen, prefix) : xstrdup("");
	s3->display = xasprintf("s3://%s%s%.*s", bucket, plen ? "/" : "", (int)plen, prefix);
	s3->profile = xstrdup(env("AWS_PROFILE") ? env("AWS_PROFILE") : "default");
	r = cred_path ? read_aws_file(cred_path, s3->profile, false, &cred_file) : 0;
	if (r == 0 && config_path)
		r = read_aws_file(config_path, s3->profile, true, &config_file);
	if (r < 0)
		return open_failed(b, r);

	region = env("AWS_REGION")	     ? env("AWS_REGION")
		 : env("AWS_DEFAULT_REGION") ? env("AWS_DEFAULT_REGION")
		 : config_file.region	     ? config_file.region
					     : "us-east-1";
	s3->region = xstrdup(region);
	endpoint = opts->s3_endpoint		? opts->s3_endpoint
		   : env("AWS_ENDPOINT_URL_S3") ? env("AWS_ENDPOINT_URL_S3")
		   : env("AWS_ENDPOINT_URL")	? env("AWS_ENDPOINT_URL")
						: config_file.endpoint_url;
	style = config_file.addressing_style;
	addressing = opts->s3_path_style		    ? ADDRESSING_PATH
		     : !style || strcmp(style, "auto") == 0 ? ADDRESSING_AUTO
		     : strcmp(style, "path") == 0	    ? ADDRESSING_PATH
		     : strcmp(style, "virtual") == 0	    ? ADDRESSING_VIRTUAL
							    : ADDRESSING_INVALID;
	if (addressing == ADDRESSING_INVALID) {
		r = log_error_errno(-EINVAL,
				    "s3: addressing_style '%s' in %s is not path, "
				    "virtual or auto",
				    style, config_path);
		return open_failed(b, r);
	}
	r = set_endpoint(s3, endpoint, bucket, addressing);
	if (r == 0)
		r = load_credentials(s3, &cred_file, &config_file, cred_path, config_path);
	if (r == 0)
		r = http_new(&hopts, &s3->http);
	if (r < 0)
		return open_failed(b, r);
	return 0;
}
