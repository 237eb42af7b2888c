/*
 * fuzz-s3-list.c - the S3 ListObjectsV2 reply parser (backend_s3_list_page()
 * and its entity decoding), reached through backend_list() the way every
 * caller lists, with a backend whose server answers with the input.
 * Properties: every name a caller is given starts with the prefix it asked
 * for and is a valid object name (callers such as repo_sync_index() cut the
 * prefix off), sizes parse, and a continuation token is a non-empty string
 * of at most 4096 bytes.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "backend/backend-internal.h"
#include "base/log.h"

struct fake {
	const char *key_prefix; /* the repository's prefix in the bucket */
	const uint8_t *page;
	size_t len;
};

static int fake_list(struct backend *b, const char *prefix, backend_list_fn fn, void *userdata)
{
	const struct fake *f = b->priv;
	AUTOBUF struct buf page = BUF_INIT;
	char *token = NULL;
	int r;

	(void)prefix; /* the server ignores it: it answers with the input */
	buf_append(&page, f->page, f->len);
	r = backend_s3_list_page("s3://fuzz", f->key_prefix, &page, fn, userdata, &token);
	if (r < 0) {
		FUZZ_CHECK(r == -EPROTO || r == -ECANCELED);
		FUZZ_CHECK(!token);
		return r;
	}
	if (token) {
		size_t n = strlen(token);
		FUZZ_CHECK(n > 0 && n <= 4096);
		free(token);
	}
	return 0;
}

static const struct backend_ops fake_ops = {
	.scheme = "fuzz",
	.can_list = true,
	.list = fake_list,
};

struct seen {
	const char *prefix;
	unsigned n;
};

static int on_name(void *userdata, const char *name, uint64_t size)
{
	struct seen *s = userdata;

	(void)size;
	FUZZ_CHECK(strncmp(name, s->prefix, strlen(s->prefix)) == 0);
	for (const char *p = name; *p; p++)
		FUZZ_CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '/' ||
			   *p == '-' || *p == '_' || *p == '.');
	/* stop after many names, as a callback may */
	return ++s->n >= 1000 ? -ECANCELED : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const key_prefixes[] = { "", "repo/one/" };
	static const char *const prefixes[] = { "", "index/", "snapshots/" };
	static char url[] = "s3://fuzz";
	static bool quiet;

	if (!quiet) {
		log_setup("fuzz-s3-list", LOG_TARGET_STDERR, LOG_CRIT);
		quiet = true;
	}
	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < 3; j++) {
			struct fake f = { key_prefixes[i], data, size };
			struct backend b = { .ops = &fake_ops, .url = url, .priv = &f };
			struct seen s = { prefixes[j], 0 };
			int r = backend_list(&b, prefixes[j], on_name, &s);
			FUZZ_CHECK(r == 0 || r == -EPROTO || r == -ECANCELED);
		}
	}
	return 0;
}
