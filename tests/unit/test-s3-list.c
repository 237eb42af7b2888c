/*
 * test-s3-list.c - listing through untrusted replies: the S3 ListObjectsV2
 * page parser (keys under the repository's prefix, entities, continuation
 * tokens, malformed pages refused with -EPROTO), and backend_list()'s guard,
 * which hands callers only valid object names under the prefix they asked
 * for, whatever a server reports. Pages are handmade after the AWS
 * documentation; backend_list() runs over a fake backend that reports fixed
 * names, so no server is needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend/backend-internal.h"
#include "base/log.h"

struct names {
	char text[4096]; /* "name=size;" for each name reported */
	unsigned n;
};

static int collect(void *userdata, const char *name, uint64_t size)
{
	struct names *l = userdata;
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof(l->text) - len, "%s=%" PRIu64 ";", name, size);
	l->n++;
	return 0;
}

static int stop_at_second(void *userdata, const char *name, uint64_t size)
{
	struct names *l = userdata;
	if (l->n == 1)
		return -ECANCELED;
	return collect(userdata, name, size);
}

static const char page_head[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>bucket</Name><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>";

/* Parses page_head + body with key prefix "repo/one/". */
static int parse(const char *body, backend_list_fn fn, struct names *l, char **ret_token)
{
	AUTOBUF struct buf page = BUF_INIT;

	buf_printf(&page, "%s%s", page_head, body);
	return backend_s3_list_page("s3://bucket/repo/one", "repo/one/", &page, fn, l, ret_token);
}

static void test_page_reports_keys_under_the_prefix(void **state)
{
	struct names l = { 0 };
	char *token = (char *)"unset";

	(void)state;
	assert_int_equal(parse("<IsTruncated>false</IsTruncated>"
			       "<Contents><Key>repo/one/index/ab</Key><Size>182</Size></Contents>"
			       "<Contents><Key>repo/other/index/cd</Key><Size>1</Size></Contents>"
			       "<Contents><Key>repo/one/</Key><Size>0</Size></Contents>"
			       "<Contents><ETag>&quot;x&quot;</ETag><Size>0</Size>"
			       "<Key>repo/one/snapshots/ef</Key></Contents></ListBucketResult>",
			       collect, &l, &token),
			 0);
	assert_string_equal(l.text, "index/ab=182;snapshots/ef=0;");
	assert_null(token);
}

static void test_page_decodes_entities(void **state)
{
	struct names l = { 0 };
	char *token = NULL;

	(void)state;
	assert_int_equal(parse("<Contents><Key>repo/one/a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;"
			       "</Key><Size>7</Size></Contents></ListBucketResult>",
			       collect, &l, &token),
			 0);
	assert_string_equal(l.text, "a&b<>\"'AB=7;");
}

static void test_truncated_page_gives_its_token(void **state)
{
	struct names l = { 0 };
	char *token = NULL;

	(void)state;
	assert_int_equal(parse("<IsTruncated>true</IsTruncated>"
			       "<Contents><Key>repo/one/a</Key><Size>1</Size></Contents>"
			       "<NextContinuationToken>1ueGcx/wm36Hy=</NextContinuationToken>"
			       "</ListBucketResult>",
			       collect, &l, &token),
			 0);
	assert_non_null(token);
	assert_string_equal(token, "1ueGcx/wm36Hy=");
	free(token);
}

static void test_malformed_pages_are_eproto(void **state)
{
	static const char *const bodies[] = {
		/* truncated without a token */
		"<IsTruncated>true</IsTruncated></ListBucketResult>",
		"<IsTruncated>true</IsTruncated><NextContinuationToken></NextContinuationToken>",
		"<Contents><Key>repo/one/a</Key><Size>1</Size>",	     /* unterminated */
		"<Contents><Key>repo/one/a</Key></Contents>",		     /* no size */
		"<Contents><Key>repo/one/a</Key><Size>-1</Size></Contents>", /* bad size */
		"<Contents><Size>1</Size></Contents>",			     /* no key */
		"<Contents><Key>repo/one/a&#0;</Key><Size>1</Size></Contents>",
		"<Contents><Key>repo/one/a&#128;</Key><Size>1</Size></Contents>",
		"<Contents><Key>repo/one/a&zz;</Key><Size>1</Size></Contents>",
		"<Contents><Key>repo/one/a&#;</Key><Size>1</Size></Contents>",
	};
	AUTOBUF struct buf error = BUF_INIT;
	struct names l = { 0 };
	char *token = NULL;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		print_message("page %zu\n", i);
		assert_int_equal(parse(bodies[i], collect, &l, &token), -EPROTO);
		assert_null(token);
	}
	buf_printf(&error, "<Error><Code>AccessDenied</Code></Error>");
	assert_int_equal(backend_s3_list_page("s3://b", "", &error, collect, &l, &token), -EPROTO);
	assert_int_equal(l.n, 0);
}

static void test_callback_stops_the_page(void **state)
{
	struct names l = { 0 };
	char *token = NULL;

	(void)state;
	assert_int_equal(parse("<Contents><Key>repo/one/a</Key><Size>1</Size></Contents>"
			       "<Contents><Key>repo/one/b</Key><Size>1</Size></Contents>"
			       "<Contents><Key>repo/one/c</Key><Size>1</Size></Contents>"
			       "</ListBucketResult>",
			       stop_at_second, &l, &token),
			 -ECANCELED);
	assert_string_equal(l.text, "a=1;");
}

/* A backend whose listing reports fixed names, whatever the prefix. */
static const char *const reported[] = {
	"x",	       /* shorter than the prefix: callers cut "index/" off it */
	"index/ab",    /* the one good name */
	"snapshots/c", /* outside the prefix */
	"INDEX/AB",    /* bytes no object name has */
	"index//a",    "index/../x", "index/.hidden", "index/a b",
};

static int fake_list(struct backend *b, const char *prefix, backend_list_fn fn, void *userdata)
{
	(void)b;
	(void)prefix;
	for (size_t i = 0; i < ARRAY_SIZE(reported); i++) {
		int r = fn(userdata, reported[i], i);
		if (r < 0)
			return r;
	}
	return 0;
}

static void test_backend_list_passes_only_valid_names_under_the_prefix(void **state)
{
	static const struct backend_ops ops = { .scheme = "fake",
						.can_list = true,
						.list = fake_list };
	static char url[] = "fake://";
	struct backend b = { .ops = &ops, .url = url };
	struct names l = { 0 };

	(void)state;
	assert_int_equal(backend_list(&b, "index/", collect, &l), 0);
	assert_string_equal(l.text, "index/ab=1;");

	memset(&l, 0, sizeof(l));
	assert_int_equal(backend_list(&b, "", collect, &l), 0);
	assert_string_equal(l.text, "x=0;index/ab=1;snapshots/c=2;");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_reports_keys_under_the_prefix),
		cmocka_unit_test(test_page_decodes_entities),
		cmocka_unit_test(test_truncated_page_gives_its_token),
		cmocka_unit_test(test_malformed_pages_are_eproto),
		cmocka_unit_test(test_callback_stops_the_page),
		cmocka_unit_test(test_backend_list_passes_only_valid_names_under_the_prefix),
	};

	log_setup("test-s3-list", LOG_TARGET_STDERR, LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
