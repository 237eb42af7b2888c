/*
 * test-sigv4.c - checks the SigV4 signer against every case of AWS's own
 * suite (v4/) and the S3 cases (s3/) in $CAIRN_TEST_DATA/aws-sigv4 (default
 * tests/data). Each case is a request.txt and a context.json; the canonical
 * request, string to sign and signature must equal the expected files byte
 * for byte, in header mode and, where the case has the files, query mode.
 * The Authorization value (header mode) and the set of query parameters
 * (query mode) are compared with the signed-request files too.
 *
 * context.json files are flat but for one nested "credentials" object and
 * every key is unique, so a purpose-built lookup by key stands in for a JSON
 * parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <time.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "backend/sigv4.h"

#define N_V4_CASES 38
#define N_S3_CASES 12

struct vector {
	char *dir;  /* <data>/aws-sigv4/<set>/<case> */
	char *name; /* "<set>/<case> header" */
	bool is_s3;
	bool query; /* query-string mode */
};

static char *data_dir(void)
{
	const char *d = getenv("CAIRN_TEST_DATA");
	return xasprintf("%s/aws-sigv4", d && *d ? d : "tests/data");
}

/* Reads a whole file into a NUL-terminated string. */
static char *slurp(const char *dir, const char *file)
{
	AUTOFREE char *path = xasprintf("%s/%s", dir, file);
	AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;

	if (fd < 0)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	assert_true(n == 0);
	buf_append_u8(&b, '\0');
	return (char *)buf_detach(&b, NULL);
}

static bool exists(const char *dir, const char *file)
{
	AUTOFREE char *path = xasprintf("%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

/* The value after "key": in json, or NULL. */
static const char *json_find(const char *json, const char *key)
{
	AUTOFREE char *quoted = xasprintf("\"%s\"", key);
	const char *p = strstr(json, quoted);

	if (!p)
		return NULL;
	p += strlen(quoted);
	p += strspn(p, " \t\n");
	assert_true(*p == ':');
	p++;
	return p + strspn(p, " \t\n");
}

/* A string value (escapes \" \\ \/ only, all these files use), or NULL. */
static char *json_string(const char *json, const char *key)
{
	const char *p = json_find(json, key);
	struct buf b = BUF_INIT;

	if (!p)
		return NULL;
	assert_true(*p == '"');
	for (p++; *p != '"'; p++) {
		assert_true(*p != '\0');
		if (*p == '\\') {
			p++;
			assert_true(*p == '"' || *p == '\\' || *p == '/');
		}
		buf_append_u8(&b, (uint8_t)*p);
	}
	buf_append_u8(&b, '\0');
	return (char *)buf_detach(&b, NULL);
}

static bool json_bool(const char *json, const char *key)
{
	const char *p = json_find(json, key);
	if (!p)
		return false;
	if (strncmp(p, "true", 4) == 0)
		return true;
	assert_true(strncmp(p, "false", 5) == 0);
	return false;
}

static unsigned json_uint(const char *json, const char *key, unsigned dflt)
{
	const char *p = json_find(json, key);
	return p ? (unsigned)strtoul(p, NULL, 10) : dflt;
}

/* A parsed request.txt: every pointer points into text, which it owns. */
struct request {
	char *text;
	char *method;
	char *path;
	char *query; /* NULL without '?' */
	struct sigv4_header headers[16];
	size_t n_headers;
	const char *body;
	size_t body_len;
};

static void request_release(struct request *r)
{
	for (size_t i = 0; i < r->n_headers; i++)
		free((char *)r->headers[i].value);
	free(r->text);
}

/* Splits "METHOD TARGET HTTP/1.1" (the target may hold spaces). */
static void parse_request_line(char *line, char **method, char **path, char **query)
{
	char *sp = strchr(line, ' ');
	char *proto = strrchr(line, ' ');

	assert_non_null(sp);
	assert_true(proto > sp && strcmp(proto, " HTTP/1.1") == 0);
	*sp = '\0';
	*proto = '\0';
	*method = line;
	*path = sp + 1;
	*query = strchr(*path, '?');
	if (*query)
		*(*query)++ = '\0';
}

/* Parses headers "Name:value" with folded continuation lines, then the body. */
static void parse_request(const char *dir, struct request *r)
{
	char *p, *eol;

	*r = (struct request){ .text = slurp(dir, "request.txt") };
	eol = strchr(r->text, '\n');
	assert_non_null(eol);
	*eol = '\0';
	parse_request_line(r->text, &r->method, &r->path, &r->query);
	for (p = eol + 1; *p && *p != '\n'; p = eol + 1) {
		eol = strchr(p, '\n');
		assert_non_null(eol);
		*eol = '\0';
		if (*p == ' ' || *p == '\t') {
			/* obs-fold: the line continues the previous header's value */
			assert_true(r->n_headers > 0);
			char *prev = (char *)r->headers[r->n_headers - 1].value;
			r->headers[r->n_headers - 1].value = xasprintf("%s %s", prev, p);
			free(prev);
			continue;
		}
		char *colon = strchr(p, ':');
		assert_non_null(colon);
		assert_true(r->n_headers < ARRAY_SIZE(r->headers));
		*colon = '\0';
		r->headers[r->n_headers++] = (struct sigv4_header){ p, xstrdup(colon + 1) };
	}
	r->body = *p == '\n' ? p + 1 : p;
	r->body_len = strlen(r->body);
}

static time_t parse_time(const char *iso)
{
	struct tm tm = { 0 };
	const char *end = strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	assert_true(end && *end == '\0');
	return timegm(&tm);
}

/* The value of "Name:" in a signed-request file. */
static char *header_in(const char *text, const char *name)
{
	AUTOFREE char *needle = xasprintf("\n%s:", name);
	const char *p = strstr(text, needle);

	assert_non_null(p);
	p += strlen(needle);
	return strndup(p, strcspn(p, "\n"));
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The '&'-separated parameters of query, sorted and joined by '\n'. */
static char *sorted_params(const char *query)
{
	AUTOFREE char *copy = xstrdup(query);
	struct buf out = BUF_INIT;
	char *v[64];
	size_t n = 0;

	for (char *s = strtok(copy, "&"); s; s = strtok(NULL, "&")) {
		assert_true(n < ARRAY_SIZE(v));
		v[n++] = s;
	}
	qsort(v, n, sizeof(*v), str_cmp);
	for (size_t i = 0; i < n; i++)
		buf_printf(&out, "%s\n", v[i]);
	buf_append_u8(&out, '\0');
	return (char *)buf_detach(&out, NULL);
}

static void check_file(const char *dir, const char *file, const char *got)
{
	AUTOFREE char *want = slurp(dir, file);
	if (strcmp(want, got) != 0)
		print_error("%s/%s differs\n--- want\n%s\n--- got\n%s\n", dir, file, want, got);
	assert_string_equal(got, want);
}

static void test_vector(void **state)
{
	const struct vector *v = *state;
	const char *prefix = v->query ? "query" : "header";
	AUTOFREE char *ctx = slurp(v->dir, "context.json");
	AUTOFREE char *akid = json_string(ctx, "access_key_id");
	AUTOFREE char *secret = json_string(ctx, "secret_access_key");
	AUTOFREE char *token = json_string(ctx, "token");
	AUTOFREE char *region = json_string(ctx, "region");
	AUTOFREE char *service = json_string(ctx, "service");
	AUTOFREE char *timestamp = json_string(ctx, "timestamp");
	AUTOFREE char *payload_hash = json_string(ctx, "payload_hash");
	AUTOFREE char *file = NULL;
	AUTOFREE char *signed_req = NULL;
	struct sigv4_credentials cred = { akid, secret, token };
	struct sigv4_result res;
	struct request req;
	char body_hash[HASH_HEX_LEN + 1];
	uint8_t digest[HASH_LEN];

	assert_non_null(akid);
	assert_non_null(secret);
	assert_non_null(timestamp);
	parse_request(v->dir, &req);
	if (!payload_hash) {
		crypto_sha256(req.body, req.body_len, digest);
		hex_encode(digest, sizeof(digest), body_hash);
	}
	if (!v->query && json_bool(ctx, "sign_body")) {
		assert_true(req.n_headers < ARRAY_SIZE(req.headers));
		req.headers[req.n_headers++] =
			(struct sigv4_header){ "X-Amz-Content-Sha256", xstrdup(body_hash) };
	}

	struct sigv4_request sreq = {
		.method = req.method,
		.path = req.path,
		.path_mode = v->is_s3			   ? SIGV4_PATH_AS_SENT
			     : json_bool(ctx, "normalize") ? SIGV4_PATH_NORMALIZE_ENCODE
							   : SIGV4_PATH_ENCODE,
		.query = req.query,
		.headers = req.headers,
		.n_headers = req.n_headers,
		.payload_hash = payload_hash ? payload_hash : body_hash,
		.region = region,
		.service = service,
		.time = parse_time(timestamp),
		.omit_session_token = json_bool(ctx, "omit_session_token"),
	};
	if (v->query)
		assert_int_equal(sigv4_presign(&sreq, &cred,
					       json_uint(ctx, "expiration_in_seconds", 3600), &res),
				 0);
	else
		assert_int_equal(sigv4_sign_header(&sreq, &cred, &res), 0);

	file = xasprintf("%s-canonical-request.txt", prefix);
	check_file(v->dir, file, res.canonical_request);
	free(file);
	file = xasprintf("%s-string-to-sign.txt", prefix);
	check_file(v->dir, file, res.string_to_sign);
	free(file);
	file = xasprintf("%s-signature.txt", prefix);
	check_file(v->dir, file, res.signature);
	free(file);

	file = xasprintf("%s-signed-request.txt", prefix);
	signed_req = slurp(v->dir, file);
	if (v->query) {
		char *method, *path, *query;
		char *eol = strchr(signed_req, '\n');
		assert_non_null(eol);
		*eol = '\0';
		parse_request_line(signed_req, &method, &path, &query);
		assert_non_null(query);
		AUTOFREE char *ours = sorted_params(res.query);
		AUTOFREE char *theirs = sorted_params(query);
		assert_string_equal(ours, theirs);
	} else {
		AUTOFREE char *auth = header_in(signed_req, "Authorization");
		assert_string_equal(res.authorization, auth);
	}
	sigv4_result_release(&res);
	request_release(&req);
}

/* Query values are decoded and encoded again: escapes of unreserved bytes
 * unfold, lower-case hex becomes upper-case, and '+' stays a literal plus. */
static void test_query_reencoded(void **state)
{
	(void)state;
	struct sigv4_header host = { "Host", "h" };
	struct sigv4_credentials cred = { "AK", "SK", NULL };
	struct sigv4_request req = {
		.method = "GET",
		.path = "/k",
		.query = "b=%7e%2f+&a",
		.headers = &host,
		.n_headers = 1,
		.payload_hash = "UNSIGNED-PAYLOAD",
		.region = "r",
		.service = "s3",
		.time = 0,
	};
	struct sigv4_result res;

	assert_int_equal(sigv4_sign_header(&req, &cred, &res), 0);
	assert_non_null(strstr(res.canonical_request, "\na=&b=~%2F%2B\n"));
	sigv4_result_release(&res);
}

/* A header value with a line break would forge a header: refused. */
static void test_rejects_bad_input(void **state)
{
	(void)state;
	struct sigv4_header bad_value[] = { { "Host", "h" }, { "X-A", "1\r\nX-B: 2" } };
	struct sigv4_header bad_name[] = { { "Host", "h" }, { "X A", "1" } };
	struct sigv4_credentials cred = { "AK", "SK", NULL };
	struct sigv4_request req = {
		.method = "GET",
		.path = "/",
		.headers = bad_value,
		.n_headers = 2,
		.payload_hash = "UNSIGNED-PAYLOAD",
		.region = "r",
		.service = "s3",
	};
	struct sigv4_result res;

	assert_int_equal(sigv4_sign_header(&req, &cred, &res), -EINVAL);
	req.headers = bad_name;
	assert_int_equal(sigv4_sign_header(&req, &cred, &res), -EINVAL);
	req.headers = bad_value;
	req.n_headers = 1;
	req.query = "a=%zz";
	assert_int_equal(sigv4_sign_header(&req, &cred, &res), -EINVAL);
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Adds one test per case and mode found under <data>/<set>; returns the
 * number of cases. */
static size_t add_vectors(const char *data, const char *set, struct CMUnitTest **tests,
			  size_t *n_tests)
{
	AUTOFREE char *dir = xasprintf("%s/%s", data, set);
	struct dirent **ents;
	int n = scandir(dir, &ents, not_dot, name_cmp);

	if (n < 0) {
		fprintf(stderr, "cannot read %s: %s\nhint: set CAIRN_TEST_DATA to tests/data\n",
			dir, strerror(errno));
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		for (int q = 0; q < 2; q++) {
			struct vector *v = xcalloc(1, sizeof(*v));
			v->dir = xasprintf("%s/%s", dir, ents[i]->d_name);
			v->is_s3 = strcmp(set, "s3") == 0;
			v->query = q;
			if (!exists(v->dir, q ? "query-canonical-request.txt"
					      : "header-canonical-request.txt")) {
				free(v->dir);
				free(v);
				continue;
			}
			v->name =
				xasprintf("%s/%s %s", set, ents[i]->d_name, q ? "query" : "header");
			*tests = xrealloc(*tests, (*n_tests + 1) * sizeof(**tests));
			(*tests)[(*n_tests)++] = (struct CMUnitTest){
				.name = v->name,
				.test_func = test_vector,
				.initial_state = v,
			};
		}
		free(ents[i]);
	}
	free(ents);
	return (size_t)n;
}

int main(void)
{
	AUTOFREE char *data = data_dir();
	AUTOFREE struct CMUnitTest *tests = NULL;
	size_t n_tests = 0;
	int r;

	tests = xcalloc(2, sizeof(*tests));
	tests[n_tests++] =
		(struct CMUnitTest){ "query_reencoded", test_query_reencoded, NULL, NULL, NULL };
	tests[n_tests++] = (struct CMUnitTest){ "rejects_bad_input", test_rejects_bad_input, NULL,
						NULL, NULL };
	/* a short or missing suite must fail, not pass with fewer cases */
	if (add_vectors(data, "v4", &tests, &n_tests) != N_V4_CASES ||
	    add_vectors(data, "s3", &tests, &n_tests) != N_S3_CASES) {
		fprintf(stderr, "%s: expected %d v4 and %d s3 cases\n", data, N_V4_CASES,
			N_S3_CASES);
		return 1;
	}
	r = _cmocka_run_group_tests("sigv4", tests, n_tests, NULL, NULL);
	for (size_t i = 2; i < n_tests; i++) {
		struct vector *v = tests[i].initial_state;
		free(v->name);
		free(v->dir);
		free(v);
	}
	return r;
}
