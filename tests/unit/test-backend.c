/*
 * test-backend.c - one conformance suite for every backend. The backend is
 * the URL in $CAIRN_TEST_BACKEND_URL (default: a fresh local directory that
 * the group teardown removes); tests/integration/backend-conformance.sh runs
 * it against a local directory, S3 (Swift with s3api) and HTTP.
 *
 * Fixed fixtures ("conformance/fixtures/...": 0 bytes, 1 byte, 5 MiB of a
 * position-dependent pattern) are written first and left in place. A
 * read-only backend cannot be written, so $CAIRN_TEST_BACKEND_READONLY_FROM
 * names the local directory served at the URL, and the fixtures are written
 * there through the local backend; the tests then only read through the URL
 * (and check that writes are refused). Everything else a test writes lives
 * under "conformance/run-<random>/" and is deleted by the test.
 *
 * Tests that only apply to some backends (listing, a wrong S3 secret) are
 * left out of the list for the others, so every test that runs asserts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>

#include "backend/backend.h"
#include "base/crypto.h"
#include "base/log.h"
#include "unit.h"

#define BIG_SIZE (5u << 20)
#define N_MANY 1100 /* more than one ListObjectsV2 page of 1,000 */
#define N_THREADS 8
#define RANGES_PER_THREAD 64
#define ROUND_TRIP_SHIFT 7 /* round trips store the pattern from here, unlike the fixtures */

struct ctx {
	char *url;
	char *tmpdir; /* the default local repository, removed at the end */
	struct backend *b;
	bool read_only;
	bool is_s3;
	char run[32]; /* "conformance/run-<hex>/" */
	uint8_t *big; /* the pattern: the big fixture, and ROUND_TRIP_SHIFT bytes more */
};

static const struct {
	const char *name;
	size_t size;
} fixtures[] = {
	{ "conformance/fixtures/empty", 0 },
	{ "conformance/fixtures/one", 1 },
	{ "conformance/fixtures/big", BIG_SIZE },
};

/* Byte i of every test object: depends on the position, so a range read
 * from the wrong offset cannot match. */
static void fill_pattern(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ULL;
		x ^= x >> 29;
		p[i] = (uint8_t)(x >> (8 * (i & 7)));
	}
}

static char *run_name(const struct ctx *c, const char *fmt, ...) PRINTF_LIKE(2, 3);
static char *run_name(const struct ctx *c, const char *fmt, ...)
{
	AUTOFREE char *tail = NULL;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&tail, fmt, ap) >= 0);
	va_end(ap);
	return xasprintf("%s%s", c->run, tail);
}

static int write_fixtures(struct backend *w)
{
	AUTOFREE uint8_t *data = xmalloc(BIG_SIZE);

	fill_pattern(data, BIG_SIZE);
	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		int r = backend_put(w, fixtures[i].name, data, fixtures[i].size);
		if (r < 0)
			return r;
	}
	return 0;
}

static int group_setup(void **state)
{
	const char *url = getenv("CAIRN_TEST_BACKEND_URL");
	const char *ro_from = getenv("CAIRN_TEST_BACKEND_READONLY_FROM");
	struct ctx *c = xcalloc(1, sizeof(*c));
	struct backend *writer = NULL;
	uint8_t rnd[6];
	char hex[13];
	int r;

	log_setup("test-backend", LOG_TARGET_STDERR, LOG_WARNING);
	if (url && *url) {
		c->url = xstrdup(url);
	} else {
		char tmpl[PATH_MAX];
		assert_int_equal(unit_mkdtemp(tmpl, sizeof(tmpl), "backend"), 0);
		c->tmpdir = xstrdup(tmpl);
		c->url = xasprintf("%s/repo", tmpl);
	}
	c->is_s3 = strncmp(c->url, "s3://", 5) == 0;
	assert_int_equal(crypto_random(rnd, sizeof(rnd)), 0);
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(c->run, sizeof(c->run), "conformance/run-%s/", hex);
	c->big = xmalloc(BIG_SIZE + ROUND_TRIP_SHIFT);
	fill_pattern(c->big, BIG_SIZE + ROUND_TRIP_SHIFT);

	r = backend_open(c->url, NULL, &c->b);
	if (r < 0) {
		fprintf(stderr, "cannot open '%s': %s\n", c->url, strerror(-r));
		return -1;
	}
	c->read_only = backend_is_read_only(c->b);
	if (c->read_only) {
		if (!ro_from || !*ro_from) {
			fprintf(stderr,
				"'%s' is read-only: set CAIRN_TEST_BACKEND_READONLY_FROM to "
				"the local directory it serves\n",
				c->url);
			return -1;
		}
		r = backend_open(ro_from, NULL, &writer);
		if (r == 0)
			r = write_fixtures(writer);
		backend_free(writer);
	} else {
		r = write_fixtures(c->b);
	}
	if (r < 0) {
		fprintf(stderr, "cannot write the fixtures: %s\n", strerror(-r));
		return -1;
	}
	*state = c;
	return 0;
}

static int group_teardown(void **state)
{
	struct ctx *c = *state;

	backend_free(c->b);
	if (c->tmpdir)
		unit_rm_rf(c->tmpdir);
	free(c->tmpdir);
	free(c->url);
	free(c->big);
	free(c);
	return 0;
}

/* Gets name and checks it holds the first len bytes of the pattern. */
static void assert_object(struct backend *b, const char *name, const uint8_t *want, size_t len)
{
	struct buf out = BUF_INIT;

	assert_int_equal(backend_get(b, name, &out), 0);
	assert_int_equal(out.len, len);
	if (len)
		assert_memory_equal(out.ptr, want, len);
	buf_release(&out);
}

static void test_put_get_round_trip(void **state)
{
	struct ctx *c = *state;

	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++)
		assert_object(c->b, fixtures[i].name, c->big, fixtures[i].size);
	if (c->read_only) {
		assert_int_equal(backend_put(c->b, "conformance/x", "x", 1), -EROFS);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		AUTOFREE char *name = run_name(c, "round-trip-%zu", fixtures[i].size);
		const uint8_t *data = c->big + ROUND_TRIP_SHIFT;
		assert_int_equal(backend_put(c->b, name, data, fixtures[i].size), 0);
		assert_object(c->b, name, data, fixtures[i].size);
		assert_int_equal(backend_delete(c->b, name), 0);
	}
}

static void test_get_missing_is_enoent(void **state)
{
	struct ctx *c = *state;
	AUTOFREE char *name = run_name(c, "missing");
	struct buf out = BUF_INIT;
	uint64_t size = 0;

	assert_int_equal(backend_get(c->b, name, &out), -ENOENT);
	assert_int_equal(out.len, 0);
	assert_int_equal(backend_get_range(c->b, name, 0, 1, &out), -ENOENT);
	assert_int_equal(out.len, 0);
	assert_int_equal(backend_size(c->b, name, &size), -ENOENT);
	buf_release(&out);
}

static void check_range(struct backend *b, const char *name, const uint8_t *content, uint64_t off,
			size_t len)
{
	struct buf out = BUF_INIT;

	buf_append(&out, "ab", 2); /* ranges append: what was there stays */
	assert_int_equal(backend_get_range(b, name, off, len, &out), 0);
	assert_int_equal(out.len, 2 + len);
	assert_memory_equal(out.ptr, "ab", 2);
	assert_memory_equal(out.ptr + 2, content + off, len);
	buf_release(&out);
}

static void test_get_range_is_exact(void **state)
{
	struct ctx *c = *state;
	const char *big = fixtures[2].name;
	const uint64_t past_end[][2] = {
		{ BIG_SIZE - 1, 2 },
		{ BIG_SIZE, 1 },
		{ BIG_SIZE + 100, 5 },
		{ 0, BIG_SIZE + 1 },
	};
	struct buf out = BUF_INIT;

	check_range(c->b, big, c->big, 0, 1);
	check_range(c->b, big, c->big, 1, 7);
	check_range(c->b, big, c->big, 12345, 100000);
	check_range(c->b, big, c->big, BIG_SIZE - 10, 10);
	check_range(c->b, big, c->big, BIG_SIZE - 1, 1); /* the last byte */
	check_range(c->b, big, c->big, 0, BIG_SIZE);
	check_range(c->b, fixtures[1].name, c->big, 0, 1);
	for (size_t i = 0; i < ARRAY_SIZE(past_end); i++) {
		buf_append(&out, "ab", 2);
		assert_int_equal(backend_get_range(c->b, big, past_end[i][0],
						   (size_t)past_end[i][1], &out),
				 -EBADMSG);
		assert_int_equal(out.len, 2);
		buf_reset(&out);
	}
	assert_int_equal(backend_get_range(c->b, fixtures[0].name, 0, 1, &out), -EBADMSG);
	assert_int_equal(out.len, 0);
	buf_release(&out);
}

static void test_size(void **state)
{
	struct ctx *c = *state;

	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		uint64_t size = UINT64_MAX;
		assert_int_equal(backend_size(c->b, fixtures[i].name, &size), 0);
		assert_int_equal(size, fixtures[i].size);
	}
}

static void test_delete(void **state)
{
	struct ctx *c = *state;
	AUTOFREE char *name = run_name(c, "deleted");
	struct buf out = BUF_INIT;
	uint64_t size;

	if (c->read_only) {
		const char *names[] = { fixtures[1].name };
		assert_int_equal(backend_delete(c->b, fixtures[1].name), -EROFS);
		assert_int_equal(backend_delete_many(c->b, names, 1), -EROFS);
		assert_object(c->b, fixtures[1].name, c->big, 1);
		return;
	}
	assert_int_equal(backend_put(c->b, name, "gone", 4), 0);
	assert_int_equal(backend_delete(c->b, name), 0);
	assert_int_equal(backend_get(c->b, name, &out), -ENOENT);
	assert_int_equal(backend_size(c->b, name, &size), -ENOENT);
	assert_int_equal(backend_delete(c->b, name), 0); /* deleting a missing object is fine */
	buf_release(&out);

	/* several at once, one of them missing; the others stay */
	AUTOFREE char *a = run_name(c, "many-deleted/a");
	AUTOFREE char *b = run_name(c, "many-deleted/b");
	AUTOFREE char *kept = run_name(c, "many-deleted/kept");
	const char *names[] = { a, name, b };
	assert_int_equal(backend_put(c->b, a, "a", 1), 0);
	assert_int_equal(backend_put(c->b, b, "bb", 2), 0);
	assert_int_equal(backend_put(c->b, kept, "kept", 4), 0);
	assert_int_equal(backend_delete_many(c->b, names, ARRAY_SIZE(names)), 0);
	assert_int_equal(backend_size(c->b, a, &size), -ENOENT);
	assert_int_equal(backend_size(c->b, b, &size), -ENOENT);
	assert_int_equal(backend_size(c->b, kept, &size), 0);
	assert_int_equal(size, 4);
	assert_int_equal(backend_delete_many(c->b, names, 0), 0);
	assert_int_equal(backend_delete(c->b, kept), 0);
}

struct listing {
	char **names;
	uint64_t *sizes;
	size_t n;
	int stop_after; /* return -ECANCELED after this many; 0 = never */
};

static int collect(void *userdata, const char *name, uint64_t size)
{
	struct listing *l = userdata;

	l->names = xrealloc(l->names, (l->n + 1) * sizeof(*l->names));
	l->sizes = xrealloc(l->sizes, (l->n + 1) * sizeof(*l->sizes));
	l->names[l->n] = xstrdup(name);
	l->sizes[l->n++] = size;
	return l->stop_after && (int)l->n >= l->stop_after ? -ECANCELED : 0;
}

static void listing_release(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->sizes);
	*l = (struct listing){ 0 };
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists prefix and checks the names (relative to the run) are exactly want. */
static void assert_listing(struct ctx *c, const char *prefix, const char *const *want,
			   size_t n_want)
{
	AUTOFREE char *full = run_name(c, "%s", prefix);
	struct listing l = { 0 };

	assert_int_equal(backend_list(c->b, full, collect, &l), 0);
	assert_int_equal(l.n, n_want);
	if (l.n > 1)
		qsort(l.names, l.n, sizeof(*l.names), str_cmp);
	for (size_t i = 0; i < n_want; i++) {
		AUTOFREE char *name = run_name(c, "%s", want[i]);
		assert_string_equal(l.names[i], name);
	}
	listing_release(&l);
}

static void test_list_prefix(void **state)
{
	struct ctx *c = *state;
	const char *names[] = { "list/a/1", "list/a/2", "list/ab", "list/b/1" };
	const char *under_a_dir[] = { "list/a/1", "list/a/2" };
	const char *under_a[] = { "list/a/1", "list/a/2", "list/ab" };
	struct listing l = { .stop_after = 2 };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		AUTOFREE char *name = run_name(c, "%s", names[i]);
		assert_int_equal(backend_put(c->b, name, c->big, i + 1), 0);
	}
	assert_listing(c, "list/a/", under_a_dir, ARRAY_SIZE(under_a_dir));
	assert_listing(c, "list/a", under_a, ARRAY_SIZE(under_a));
	assert_listing(c, "list/", names, ARRAY_SIZE(names));
	assert_listing(c, "nothing/", NULL, 0);

	/* sizes are reported, and a callback's error stops the listing */
	AUTOFREE char *all = run_name(c, "list/");
	assert_int_equal(backend_list(c->b, all, collect, &l), -ECANCELED);
	assert_int_equal(l.n, 2);
	for (size_t i = 0; i < l.n; i++)
		for (size_t j = 0; j < ARRAY_SIZE(names); j++)
			if (strcmp(l.names[i] + strlen(c->run), names[j]) == 0)
				assert_int_equal(l.sizes[i], j + 1);
	listing_release(&l);

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		AUTOFREE char *name = run_name(c, "%s", names[i]);
		assert_int_equal(backend_delete(c->b, name), 0);
	}
}

static void test_list_unsupported(void **state)
{
	struct ctx *c = *state;
	struct listing l = { 0 };

	assert_false(backend_can_list(c->b));
	assert_int_equal(backend_list(c->b, "conformance/", collect, &l), -EOPNOTSUPP);
	assert_int_equal(l.n, 0);
}

struct worker {
	struct ctx *c;
	unsigned index;
	bool put; /* put (else delete) objects index, index + N_THREADS, ... */
	int r;	  /* the first failure */
};

static void *many_worker(void *arg)
{
	struct worker *w = arg;

	for (unsigned i = w->index; i < N_MANY && w->r == 0; i += N_THREADS) {
		AUTOFREE char *name = run_name(w->c, "many/%04u", i);
		w->r = w->put ? backend_put(w->c->b, name, &i, sizeof(i))
			      : backend_delete(w->c->b, name);
	}
	return NULL;
}

static void run_many(struct ctx *c, bool put)
{
	pthread_t t[N_THREADS];
	struct worker w[N_THREADS];

	for (unsigned i = 0; i < N_THREADS; i++) {
		w[i] = (struct worker){ c, i, put, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, many_worker, &w[i]), 0);
	}
	for (unsigned i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (unsigned i = 0; i < N_THREADS; i++)
		assert_int_equal(w[i].r, 0);
}

static void test_list_more_than_a_page(void **state)
{
	struct ctx *c = *state;
	AUTOFREE char *prefix = run_name(c, "many/");
	struct listing l = { 0 };

	run_many(c, true);
	assert_int_equal(backend_list(c->b, prefix, collect, &l), 0);
	assert_int_equal(l.n, N_MANY);
	qsort(l.names, l.n, sizeof(*l.names), str_cmp);
	for (unsigned i = 0; i < N_MANY; i++) {
		AUTOFREE char *name = run_name(c, "many/%04u", i);
		assert_string_equal(l.names[i], name); /* each once: no page lost or repeated */
		assert_int_equal(l.sizes[i], sizeof(unsigned));
	}
	/* one delete_many of more names than one S3 request takes */
	AUTOFREE char **names = xcalloc(N_MANY, sizeof(*names));
	for (unsigned i = 0; i < N_MANY; i++)
		names[i] = xstrdup(l.names[i]);
	listing_release(&l);
	assert_int_equal(backend_delete_many(c->b, (const char *const *)names, N_MANY), 0);
	assert_int_equal(backend_list(c->b, prefix, collect, &l), 0);
	assert_int_equal(l.n, 0);
	for (unsigned i = 0; i < N_MANY; i++)
		free(names[i]);
}

struct reader {
	struct ctx *c;
	uint64_t seed;
	int r;	       /* the first failure */
	bool mismatch; /* bytes differed */
};

static void *range_reader(void *arg)
{
	struct reader *rd = arg;
	struct buf out = BUF_INIT;
	uint64_t x = rd->seed;

	for (int i = 0; i < RANGES_PER_THREAD && rd->r == 0 && !rd->mismatch; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		size_t len = 1 + (size_t)((x >> 20) % (256 * 1024));
		uint64_t off = (x >> 40) % (BIG_SIZE - len + 1);
		buf_reset(&out);
		rd->r = backend_get_range(rd->c->b, fixtures[2].name, off, len, &out);
		if (rd->r == 0)
			rd->mismatch =
				out.len != len || memcmp(out.ptr, rd->c->big + off, len) != 0;
	}
	buf_release(&out);
	return NULL;
}

static void test_concurrent_ranges(void **state)
{
	struct ctx *c = *state;
	pthread_t t[N_THREADS];
	struct reader rd[N_THREADS];

	for (unsigned i = 0; i < N_THREADS; i++) {
		rd[i] = (struct reader){ c, 0x1234567ULL * (i + 1), 0, false };
		assert_int_equal(pthread_create(&t[i], NULL, range_reader, &rd[i]), 0);
	}
	for (unsigned i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (unsigned i = 0; i < N_THREADS; i++) {
		assert_int_equal(rd[i].r, 0);
		assert_false(rd[i].mismatch);
	}
}

static void test_wrong_secret_is_eacces(void **state)
{
	struct ctx *c = *state;
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	AUTOFREE char *saved = secret ? xstrdup(secret) : NULL;
	AUTOFREE char *name = run_name(c, "refused");
	struct backend *b = NULL;
	struct buf out = BUF_INIT;
	uint64_t size;

	assert_non_null(saved); /* the S3 run passes credentials in the environment */
	assert_int_equal(setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1), 0);
	assert_int_equal(backend_open(c->url, NULL, &b), 0);
	assert_int_equal(setenv("AWS_SECRET_ACCESS_KEY", saved, 1), 0);
	assert_int_equal(backend_get(b, fixtures[1].name, &out), -EACCES);
	assert_int_equal(backend_put(b, name, "x", 1), -EACCES);
	assert_int_equal(backend_size(b, fixtures[1].name, &size), -EACCES);
	assert_int_equal(out.len, 0);
	backend_free(b);
	/* nothing was written with the refused credentials */
	assert_int_equal(backend_size(c->b, name, &size), -ENOENT);
	buf_release(&out);
}

int main(void)
{
	struct CMUnitTest tests[16];
	size_t n = 0;
	const char *url = getenv("CAIRN_TEST_BACKEND_URL");
	bool is_s3 = url && strncmp(url, "s3://", 5) == 0;
	bool listable = !url || !*url || (strstr(url, "://") == NULL) ||
			strncmp(url, "file://", 7) == 0 || is_s3;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_put_get_round_trip);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_get_missing_is_enoent);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_get_range_is_exact);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_size);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_delete);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_concurrent_ranges);
	if (listable) {
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_list_prefix);
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_list_more_than_a_page);
	} else {
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_list_unsupported);
	}
	if (is_s3)
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_wrong_secret_is_eacces);
	return _cmocka_run_group_tests(url && *url ? url : "local", tests, n, group_setup,
				       group_teardown);
}
