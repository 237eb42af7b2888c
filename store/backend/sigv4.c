/*
 * sigv4.c - AWS Signature Version 4, header and query-string (presigned)
 * modes. A signature is built in four steps, each kept as a string so tests
 * can compare it with AWS's published vectors byte for byte:
 *
 *   canonical request  METHOD \n URI \n QUERY \n HEADERS \n \n SIGNED-HEADERS \n PAYLOAD-HASH
 *   string to sign     AWS4-HMAC-SHA256 \n DATE \n SCOPE \n hex(sha256(canonical request))
 *   signing key        HMAC chain "AWS4"+secret -> yyyymmdd -> region -> service -> "aws4_request"
 *   signature          hex(HMAC(signing key, string to sign))
 *
 * The canonical URI follows S3's rule (the path exactly as sent, already
 * encoded once) or the generic rule (normalise, then encode once); the query
 * is decoded and re-encoded, then sorted by name and value; header names are
 * lower-cased and sorted, values trimmed with inner runs of blanks collapsed,
 * and repeated headers joined with ','. The secret and the derived keys are
 * wiped after use. Nothing here does I/O or logs: callers decide what a
 * failure means, and no credential can reach a log from this module.
 */
#include "backend/sigv4.h"
#include "base/crypto.h"

#include <assert.h>
#include <openssl/crypto.h>

#define ALGORITHM "AWS4-HMAC-SHA256"

/* One query parameter or header, both parts owned. */
struct pair {
	char *name;
	char *value;
	size_t index; /* position in the input, so sorting keeps repeats in order */
};

struct pairs {
	struct pair *v;
	size_t n, cap;
};

static void pairs_add(struct pairs *p, char *name, char *value)
{
	XGROW_ARRAY(p->v, p->cap, p->n + 1);
	p->v[p->n] = (struct pair){ name, value, p->n };
	p->n++;
}

static void pairs_release(struct pairs *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].value);
	}
	free(p->v);
	*p = (struct pairs){ 0 };
}

static void pairs_releasep(struct pairs *p)
{
	pairs_release(p);
}

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c == 0)
		c = x->index < y->index ? -1 : x->index > y->index;
	return c;
}

/* Orders query parameters by name, then value (both already encoded). */
static int param_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static char *buf_to_string(struct buf *b)
{
	buf_append_u8(b, '\0');
	return (char *)buf_detach(b, NULL);
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

void sigv4_uri_encode(struct buf *out, const char *s, size_t len, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			buf_append_u8(out, c);
		} else {
			char esc[3] = { '%', digits[c >> 4], digits[c & 15] };
			buf_append(out, esc, 3);
		}
	}
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes len bytes of percent-encoded s and encodes them again the SigV4
 * way, so "%7e", "~" and "%7E" all become "~". */
static int reencode(const char *s, size_t len, char **ret)
{
	AUTOBUF struct buf raw = BUF_INIT;
	AUTOBUF struct buf enc = BUF_INIT;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			buf_append_u8(&raw, (uint8_t)s[i]);
			continue;
		}
		if (len - i < 3)
			return -EINVAL;
		int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		buf_append_u8(&raw, (uint8_t)(hi << 4 | lo));
		i += 2;
	}
	sigv4_uri_encode(&enc, (const char *)raw.ptr, raw.len, false);
	*ret = buf_to_string(&enc);
	return 0;
}

/* Splits "a=1&b&c=%2F" into encoded name/value pairs; "b" becomes "b=". */
static int parse_query(const char *query, struct pairs *out)
{
	const char *p = query ? query : "";

	while (*p) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t nlen = eq ? (size_t)(eq - p) : len;
		char *name = NULL, *value = NULL;
		int r;

		if (len > 0) {
			r = reencode(p, nlen, &name);
			if (r == 0)
				r = eq ? reencode(eq + 1, len - nlen - 1, &value)
				       : reencode("", 0, &value);
			if (r < 0) {
				free(name);
				return r;
			}
			pairs_add(out, name, value);
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}

/* Adds an X-Amz-* parameter given unencoded. */
static void add_param(struct pairs *params, const char *name, const char *value)
{
	AUTOBUF struct buf v = BUF_INIT;

	sigv4_uri_encode(&v, value, strlen(value), false);
	pairs_add(params, xstrdup(name), buf_to_string(&v));
}

static void append_query(struct buf *out, const struct pairs *params)
{
	for (size_t i = 0; i < params->n; i++)
		buf_printf(out, "%s%s=%s", i ? "&" : "", params->v[i].name, params->v[i].value);
}

/* Removes "." and ".." segments and empty segments; keeps a trailing '/'. */
static void normalize_path(struct buf *out, const char *path)
{
	size_t n_segs = 0, cap = 8;
	AUTOFREE const char **seg = xmalloc(cap * sizeof(*seg));
	AUTOFREE size_t *seg_len = xmalloc(cap * sizeof(*seg_len));
	size_t len = strlen(path);

	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (n_segs > 0)
				n_segs--;
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (n_segs == cap) {
				size_t cap2 = cap; /* the two arrays grow alike */
				XGROW_ARRAY(seg, cap2, n_segs + 1);
				XGROW_ARRAY(seg_len, cap, n_segs + 1);
				assert(cap2 == cap);
			}
			seg[n_segs] = p;
			seg_len[n_segs++] = n;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	for (size_t i = 0; i < n_segs; i++) {
		buf_append_u8(out, '/');
		buf_append(out, seg[i], seg_len[i]);
	}
	if (n_segs == 0 || (len > 0 && path[len - 1] == '/'))
		buf_append_u8(out, '/');
}

static void canonical_uri(struct buf *out, const char *path, enum sigv4_path mode)
{
	AUTOBUF struct buf norm = BUF_INIT;

	if (!path || !*path)
		path = "/";
	switch (mode) {
	case SIGV4_PATH_AS_SENT:
		buf_append(out, path, strlen(path));
		break;
	case SIGV4_PATH_ENCODE:
		sigv4_uri_encode(out, path, strlen(path), true);
		break;
	case SIGV4_PATH_NORMALIZE_ENCODE:
		normalize_path(&norm, path);
		sigv4_uri_encode(out, (const char *)norm.ptr, norm.len, true);
		break;
	}
}

static bool is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", c);
}

/* Lower-cases the name and trims and collapses the value. */
static int add_header(struct pairs *hdrs, const char *name, const char *value)
{
	AUTOBUF struct buf v = BUF_INIT;
	size_t nlen = strlen(name);
	char *lname;

	if (nlen == 0)
		return -EINVAL;
	for (size_t i = 0; i < nlen; i++)
		if (!is_token_char((unsigned char)name[i]))
			return -EINVAL;
	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == ' ' || c == '\t') {
			if (v.len > 0 && v.ptr[v.len - 1] != ' ')
				buf_append_u8(&v, ' ');
		} else if (c < 0x20 || c == 0x7f) {
			return -EINVAL; /* CR, LF or NUL would split or forge a header */
		} else {
			buf_append_u8(&v, c);
		}
	}
	if (v.len > 0 && v.ptr[v.len - 1] == ' ')
		v.len--;
	lname = xstrdup(name);
	for (char *p = lname; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	pairs_add(hdrs, lname, buf_to_string(&v));
	return 0;
}

/* Appends "name:value\n" lines (repeats joined with ',') to out and the
 * names joined with ';' to names. hdrs must be sorted. */
static void append_headers(struct buf *out, struct buf *names, const struct pairs *hdrs)
{
	for (size_t i = 0; i < hdrs->n; i++) {
		bool repeat = i > 0 && strcmp(hdrs->v[i - 1].name, hdrs->v[i].name) == 0;
		if (repeat) {
			buf_printf(out, ",%s", hdrs->v[i].value);
			continue;
		}
		if (i > 0)
			buf_append_u8(out, '\n');
		buf_printf(out, "%s:%s", hdrs->v[i].name, hdrs->v[i].value);
		buf_printf(names, "%s%s", names->len ? ";" : "", hdrs->v[i].name);
	}
	buf_append_u8(out, '\n');
}

static void hmac(const uint8_t key[HASH_LEN], const char *data, uint8_t out[HASH_LEN])
{
	crypto_hmac_sha256(key, HASH_LEN, data, strlen(data), out);
}

static void compute_signature(const char *secret, const char *date8, const char *region,
			      const char *service, const char *string_to_sign,
			      char out[SIGV4_SIGNATURE_LEN + 1])
{
	AUTOFREE char *k_secret = xasprintf("AWS4%s", secret);
	uint8_t key[HASH_LEN], sig[HASH_LEN];

	crypto_hmac_sha256(k_secret, strlen(k_secret), date8, strlen(date8), key);
	OPENSSL_cleanse(k_secret, strlen(k_secret));
	hmac(key, region, key);
	hmac(key, service, key);
	hmac(key, "aws4_request", key);
	hmac(key, string_to_sign, sig);
	OPENSSL_cleanse(key, sizeof(key));
	hex_encode(sig, sizeof(sig), out);
}

enum mode {
	MODE_HEADER,
	MODE_QUERY,
};

static int sign(const struct sigv4_request *req, const struct sigv4_credentials *cred,
		enum mode mode, unsigned expires_s, struct sigv4_result *ret)
{
	CLEANUP(pairs_releasep) struct pairs hdrs = { 0 };
	CLEANUP(pairs_releasep) struct pairs params = { 0 };
	AUTOBUF struct buf canon = BUF_INIT;
	AUTOBUF struct buf hdr_lines = BUF_INIT;
	AUTOBUF struct buf names = BUF_INIT;
	AUTOBUF struct buf sts = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;
	AUTOFREE char *scope = NULL;
	AUTOFREE char *credential = NULL;
	struct sigv4_result res = { 0 };
	bool has_token = cred->session_token && *cred->session_token;
	bool sign_token = has_token && !req->omit_session_token;
	char date8[9];
	uint8_t digest[HASH_LEN];
	char digest_hex[HASH_HEX_LEN + 1];
	struct tm tm;
	size_t n_given;
	int r;

	if (!req->method || !*req->method || !req->payload_hash || !req->region || !req->service ||
	    !cred->access_key_id || !cred->secret_access_key)
		return -EINVAL;
	if (!gmtime_r(&req->time, &tm) ||
	    strftime(res.amz_date, sizeof(res.amz_date), "%Y%m%dT%H%M%SZ", &tm) != SIGV4_DATE_LEN)
		return -EINVAL;
	memcpy(date8, res.amz_date, 8);
	date8[8] = '\0';
	scope = xasprintf("%s/%s/%s/aws4_request", date8, req->region, req->service);
	credential = xasprintf("%s/%s", cred->access_key_id, scope);

	r = parse_query(req->query, &params);
	if (r < 0)
		return r;
	for (size_t i = 0; i < req->n_headers; i++) {
		r = add_header(&hdrs, req->headers[i].name, req->headers[i].value);
		if (r < 0)
			return r;
	}
	if (mode == MODE_HEADER) {
		r = add_header(&hdrs, "x-amz-date", res.amz_date);
		if (r == 0 && sign_token)
			r = add_header(&hdrs, "x-amz-security-token", cred->session_token);
		if (r < 0)
			return r;
	}
	/* nothing below fails */
	if (hdrs.n > 1)
		qsort(hdrs.v, hdrs.n, sizeof(*hdrs.v), pair_cmp);
	append_headers(&hdr_lines, &names, &hdrs);
	res.signed_headers = buf_to_string(&names);

	n_given = params.n;
	if (mode == MODE_QUERY) {
		char expires[16];
		snprintf(expires, sizeof(expires), "%u", expires_s);
		add_param(&params, "X-Amz-Algorithm", ALGORITHM);
		add_param(&params, "X-Amz-Credential", credential);
		add_param(&params, "X-Amz-Date", res.amz_date);
		add_param(&params, "X-Amz-Expires", expires);
		add_param(&params, "X-Amz-SignedHeaders", res.signed_headers);
		if (sign_token)
			add_param(&params, "X-Amz-Security-Token", cred->session_token);
	}
	if (params.n > 1)
		qsort(params.v, params.n, sizeof(*params.v), param_cmp);

	buf_printf(&canon, "%s\n", req->method);
	canonical_uri(&canon, req->path, req->path_mode);
	buf_append_u8(&canon, '\n');
	append_query(&canon, &params);
	buf_append_u8(&canon, '\n');
	buf_append(&canon, hdr_lines.ptr, hdr_lines.len);
	buf_printf(&canon, "\n%s\n%s", res.signed_headers, req->payload_hash);

	crypto_sha256(canon.ptr, canon.len, digest);
	hex_encode(digest, sizeof(digest), digest_hex);
	buf_printf(&sts, "%s\n%s\n%s\n%s", ALGORITHM, res.amz_date, scope, digest_hex);
	res.string_to_sign = buf_to_string(&sts);
	compute_signature(cred->secret_access_key, date8, req->region, req->service,
			  res.string_to_sign, res.signature);

	if (mode == MODE_HEADER) {
		res.authorization =
			xasprintf("%s Credential=%s, SignedHeaders=%s, Signature=%s", ALGORITHM,
				  credential, res.signed_headers, res.signature);
	} else {
		/* the caller's parameters as given, then ours in canonical order */
		if (req->query && *req->query)
			buf_printf(&out, "%s&", req->query);
		for (size_t i = 0; i < params.n; i++)
			if (params.v[i].index >= n_given)
				buf_printf(&out, "%s=%s&", params.v[i].name, params.v[i].value);
		if (has_token && !sign_token) {
			buf_append(&out, "X-Amz-Security-Token=", 21);
			sigv4_uri_encode(&out, cred->session_token, strlen(cred->session_token),
					 false);
			buf_append_u8(&out, '&');
		}
		buf_printf(&out, "X-Amz-Signature=%s", res.signature);
		res.query = buf_to_string(&out);
	}
	res.canonical_request = buf_to_string(&canon);
	*ret = res;
	return 0;
}

int sigv4_sign_header(const struct sigv4_request *req, const struct sigv4_credentials *cred,
		      struct sigv4_result *ret)
{
	return sign(req, cred, MODE_HEADER, 0, ret);
}

int sigv4_presign(const struct sigv4_request *req, const struct sigv4_credentials *cred,
		  unsigned expires_s, struct sigv4_result *ret)
{
	return sign(req, cred, MODE_QUERY, expires_s, ret);
}

void sigv4_result_release(struct sigv4_result *r)
{
	if (!r)
		return;
	free(r->canonical_request);
	free(r->string_to_sign);
	free(r->signed_headers);
	free(r->authorization);
	free(r->query);
	OPENSSL_cleanse(r->signature, sizeof(r->signature));
	*r = (struct sigv4_result){ 0 };
}
