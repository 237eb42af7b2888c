/*
 * test-check.c - check_run() on real repositories in a mkdtemp() directory,
 * with objects crafted through the library: a tree that places a chunk at
 * the wrong offset of its pack, an index object that disagrees with a
 * pack's trailer, and --read-data=PERCENT reading a share of the packs that
 * changes from run to run. Each problem is reported once, names the object,
 * and lists exactly the files it affects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "ops/backup.h"
#include "ops/check.h"
#include "format/index.h"
#include "repo/inventory.h"
#include "repo/object.h"
#include "base/log.h"
#include "unit.h"

struct fixture {
	struct unit_repo u;
	struct buf report;
	struct check_result res;
};

/* Adds a file of len bytes to directory dir of the fixture and backs the
 * directory up as member at time. */
static void backup_file(struct fixture *f, const char *member, const char *dir, const char *name,
			size_t len, int64_t time, uint8_t ret_snap[HASH_LEN])
{
	char src[192], path[256];

	snprintf(src, sizeof(src), "%s/%s", f->u.dir, dir);
	mkdir(src, 0755);
	snprintf(path, sizeof(path), "%s/%s", src, name);
	assert_int_equal(unit_write_file(path, len, (uint64_t)len + (uint64_t)time), 0);
	assert_int_equal(unit_repo_backup(&f->u, member, src, time, ret_snap), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || unit_repo_setup(&f->u, "check", NULL) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	buf_release(&f->report);
	unit_repo_teardown(&f->u);
	free(f);
	return 0;
}

static void collect(void *userdata, enum check_level level UNUSED, const char *text)
{
	struct buf *b = userdata;
	if (b->len > 0 && b->ptr[b->len - 1] == 0)
		b->len--;
	buf_append(b, text, strlen(text));
	buf_append_u8(b, 0);
}

static const char *run_check(struct fixture *f, bool read_data, unsigned percent)
{
	struct check_options o = {
		.read_data = read_data,
		.read_percent = percent,
		.report = collect,
		.report_data = &f->report,
	};
	buf_reset(&f->report);
	buf_append_u8(&f->report, 0);
	assert_int_equal(repo_sync(f->u.repo, f->u.cat, NULL), 0);
	assert_int_equal(check_run(f->u.repo, f->u.cat, &o, &f->res), 0);
	return (const char *)f->report.ptr;
}

static void put(struct fixture *f, enum object_kind kind, const struct buf *raw,
		uint8_t ret_id[HASH_LEN])
{
	AUTOBUF struct buf obj = BUF_INIT;
	char name[OBJECT_NAME_MAX];

	assert_true(envelope_encode(NULL, kind, raw->ptr, raw->len, 0, NULL, &obj, ret_id) > 0);
	object_name(kind, ret_id, name);
	assert_int_equal(backend_put(repo_backend(f->u.repo), name, obj.ptr, obj.len), 0);
}

static void test_clean_repository(void **state)
{
	struct fixture *f = *state;

	backup_file(f, "m", "src", "a", 100000, 1000, NULL);
	const char *out = run_check(f, true, 100);
	assert_string_equal(out, "");
	assert_int_equal(f->res.n_errors, 0);
	assert_int_equal(f->res.n_snapshots, 1);
	assert_int_equal(f->res.n_packs_read, 1);
	assert_true(f->res.n_chunks >= 1);
}

/* The snapshot's header is replaced by one whose tree says the chunk of
 * "b" lies one byte later in its pack than it does. */
static void test_tree_disagrees_with_trailer(void **state)
{
	struct fixture *f = *state;
	struct backend *b = repo_backend(f->u.repo);
	uint8_t snap[HASH_LEN], tree_id[HASH_LEN], head_id[HASH_LEN];
	AUTOBUF struct buf raw = BUF_INIT;
	struct snapshot_header h;
	struct tree *t = NULL;
	char name[OBJECT_NAME_MAX];

	backup_file(f, "m", "src", "a", 100000, 1000, NULL);
	backup_file(f, "m", "src", "b", 5000, 2000, snap);
	assert_int_equal(object_fetch_header(b, NULL, snap, &h), 0);
	assert_int_equal(object_fetch_tree(b, NULL, h.tree_id, &t), 0);
	/* the chunk of /b: the one this backup added */
	assert_int_equal(t->n_chunks, 2);
	uint32_t c = t->chunks[0].raw_len == 5000 ? 0 : 1;
	t->chunks[c].off += 1;
	assert_int_equal(tree_encode(t, &raw), 0);
	put(f, OBJECT_TREE, &raw, tree_id);
	memcpy(h.tree_id, tree_id, HASH_LEN);
	buf_reset(&raw);
	snapshot_header_encode(&h, &raw);
	put(f, OBJECT_SNAPSHOT, &raw, head_id);
	object_name(OBJECT_SNAPSHOT, snap, name);
	assert_int_equal(backend_delete(b, name), 0);
	snapshot_header_release(&h);
	tree_free(t);

	const char *out = run_check(f, false, 0);
	assert_int_equal(f->res.n_errors, 1);
	assert_non_null(strstr(out, "error: pack 'packs/"));
	assert_non_null(strstr(out, "1 chunk that snapshots refer to is not where the trees say"));
	assert_non_null(strstr(out, "no chunk of the trailer starts there"));
	assert_non_null(strstr(out, "  m/1970-01-01T003320Z: /b\n"));
	assert_null(strstr(out, "/a\n"));
}

/* A second index object lists the pack with one entry off by one byte. */
static void test_index_disagrees_with_trailer(void **state)
{
	struct fixture *f = *state;
	struct backend *b = repo_backend(f->u.repo);
	AUTOBUF struct buf payload = BUF_INIT;
	AUTOBUF struct buf raw = BUF_INIT;
	struct inventory inv;
	struct index ix;
	uint8_t id[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];

	backup_file(f, "m", "src", "a", 3000000, 1000, NULL);
	assert_int_equal(inventory_list(f->u.repo, &inv), 0);
	assert_int_equal(inv.indexes.n, 1);
	assert_int_equal(object_fetch(b, NULL, OBJECT_INDEX, inv.indexes.ids[0], &payload), 0);
	inventory_release(&inv);
	assert_int_equal(index_decode(payload.ptr, payload.len, &ix), 0);
	assert_true(ix.packs[0].n >= 2);
	ix.packs[0].entries[1].off += 1;
	index_encode(&ix, &raw);
	index_release(&ix);
	put(f, OBJECT_INDEX, &raw, id);
	hex_encode(id, HASH_LEN, hex);

	const char *out = run_check(f, false, 0);
	assert_int_equal(f->res.n_errors, 1);
	char want[256];
	snprintf(want, sizeof(want), "error: index object 'index/%s' disagrees with the trailer",
		 hex);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "entry 1: the index says chunk"));
	/* Snapshots are intact: no file is named. */
	assert_null(strstr(out, "/a\n"));
}

/* --read-data=50 reads half the packs, a different half from run to run
 * (packs of different sizes tell the halves apart by bytes read). */
static void test_read_share_varies(void **state)
{
	struct fixture *f = *state;
	uint64_t seen[8];
	size_t n_seen = 0;

	for (int i = 1; i <= 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		backup_file(f, name, name, name, (size_t)i * 200000, 1000 * i, NULL);
	}
	for (int run = 0; run < 30 && n_seen < 2; run++) {
		run_check(f, true, 50);
		assert_int_equal(f->res.n_errors, 0);
		assert_int_equal(f->res.n_packs, 4);
		assert_int_equal(f->res.n_packs_read, 2);
		bool known = false;
		for (size_t j = 0; j < n_seen; j++)
			known |= seen[j] == f->res.bytes_read;
		if (!known)
			seen[n_seen++] = f->res.bytes_read;
	}
	/* Two runs choosing the same 2 of 4 packs 30 times: odds of 6^-29. */
	assert_true(n_seen >= 2);
}

int main(void)
{
	log_setup("test-check", LOG_TARGET_STDERR, LOG_WARNING);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_repository, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree_disagrees_with_trailer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_disagrees_with_trailer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_share_varies, setup, teardown),
	};
	return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
