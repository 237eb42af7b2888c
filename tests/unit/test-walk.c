/*
 * test-walk.c - store/ops/walk.c on a real repository and catalog: paths
 * resolved inside a snapshot (and the ones refused), the depth-first walk
 * with its events, order, paths and depths, skipping and stopping it, and
 * the extents of a file in order and covering it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>

#include "base/log.h"
#include "ops/walk.h"
#include "unit.h"

struct fixture {
	struct unit_repo u;
	struct cat_snapshot snap;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || unit_repo_setup(&f->u, "walk", NULL) < 0 || unit_small_tree(f->u.src) < 0 ||
	    unit_repo_backup(&f->u, "m", NULL, 1000, NULL) < 0 ||
	    unit_repo_fresh_catalog(&f->u) < 0 ||
	    repo_resolve_snapshot(f->u.repo, f->u.cat, "m/latest", &f->snap) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	unit_repo_teardown(&f->u);
	free(f);
	return 0;
}

static void test_resolve_paths(void **state)
{
	struct fixture *f = *state;
	struct repo *r = f->u.repo;
	struct catalog *c = f->u.cat;
	struct cat_attr root, a;
	char *name = NULL;

	/* The first call loads the tree the fresh catalog lacks. */
	assert_false(f->snap.loaded);
	assert_int_equal(walk_resolve(r, c, &f->snap, "", &root, &name), 0);
	assert_true(S_ISDIR(root.mode));
	assert_string_equal(name, "");
	free(name);
	assert_int_equal(walk_resolve(r, c, &f->snap, "/", &a, NULL), 0);
	assert_int_equal(a.ino, root.ino);

	assert_int_equal(walk_resolve(r, c, &f->snap, "d/b", &a, &name), 0);
	assert_true(S_ISREG(a.mode));
	assert_int_equal(a.size, 2);
	assert_string_equal(name, "b");
	free(name);
	uint64_t b_ino = a.ino;
	assert_int_equal(walk_resolve(r, c, &f->snap, "/./d//b/", &a, NULL), 0);
	assert_int_equal(a.ino, b_ino);
	assert_int_equal(walk_resolve(r, c, &f->snap, "hard", &a, NULL), 0);
	assert_int_equal(a.ino, b_ino);
	assert_int_equal(walk_resolve(r, c, &f->snap, "d/e", &a, NULL), 0);
	assert_true(S_ISDIR(a.mode));

	/* A symlink is an entry, never followed. */
	assert_int_equal(walk_resolve(r, c, &f->snap, "link", &a, NULL), 0);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(walk_resolve(r, c, &f->snap, "link/x", &a, NULL), -ENOTDIR);
	assert_int_equal(walk_resolve(r, c, &f->snap, "a/x", &a, NULL), -ENOTDIR);
	assert_int_equal(walk_resolve(r, c, &f->snap, "nope", &a, NULL), -ENOENT);
	assert_int_equal(walk_resolve(r, c, &f->snap, "d/nope", &a, NULL), -ENOENT);
	assert_int_equal(walk_resolve(r, c, &f->snap, "..", &a, NULL), -EINVAL);
	assert_int_equal(walk_resolve(r, c, &f->snap, "d/../a", &a, NULL), -EINVAL);
}

/* The events of a walk, one line each: "+path@depth" or "-path@depth". */
struct trace {
	char text[1024];
	size_t len;
	const char *skip; /* a path to answer WALK_SKIP for */
	const char *fail; /* a path to fail at */
	uint64_t root_ino, d_ino;
	bool parents_ok;
};

static int record(void *userdata, enum walk_event ev, const struct walk_entry *e)
{
	struct trace *t = userdata;
	int n = snprintf(t->text + t->len, sizeof(t->text) - t->len, "%c%s@%u ",
			 ev == WALK_ENTER ? '+' : '-', e->path, e->depth);

	assert_true(n > 0 && (size_t)n < sizeof(t->text) - t->len);
	t->len += (size_t)n;
	assert_int_equal(strlen(e->name), e->name_len);
	if (e->depth == 0)
		t->root_ino = e->attr.ino;
	if (e->depth == 0 && e->parent != 0)
		t->parents_ok = false;
	if (e->depth == 1 && e->parent != t->root_ino)
		t->parents_ok = false;
	if (strcmp(e->path, "d") == 0)
		t->d_ino = e->attr.ino;
	if (e->depth == 2 && e->parent != t->d_ino)
		t->parents_ok = false;
	if (ev == WALK_ENTER && t->fail && strcmp(e->path, t->fail) == 0)
		return -ECANCELED;
	if (ev == WALK_ENTER && t->skip && strcmp(e->path, t->skip) == 0)
		return WALK_SKIP;
	return 0;
}

static void test_walk_order_and_events(void **state)
{
	struct fixture *f = *state;
	struct catalog *c = f->u.cat;
	struct trace t = { .parents_ok = true };
	struct cat_attr root, d;

	assert_int_equal(walk_resolve(f->u.repo, c, &f->snap, "", &root, NULL), 0);
	assert_int_equal(walk_subtree(c, &root, "", record, &t), 0);
	assert_string_equal(t.text, "+@0 +a@1 +big@1 +d@1 +d/b@2 +d/e@2 -d/e@2 -d@1 +hard@1 "
				    "+link@1 -@0 ");
	assert_true(t.parents_ok);

	/* From a subtree, paths start with the name given for its root. */
	struct trace sub = { .parents_ok = true };
	assert_int_equal(walk_resolve(f->u.repo, c, &f->snap, "d", &d, NULL), 0);
	assert_int_equal(walk_subtree(c, &d, "d", record, &sub), 0);
	assert_string_equal(sub.text, "+d@0 +d/b@1 +d/e@1 -d/e@1 -d@0 ");

	/* A file as the root: one entry, no LEAVE. */
	struct trace one = { .parents_ok = true };
	struct cat_attr a;
	assert_int_equal(walk_resolve(f->u.repo, c, &f->snap, "a", &a, NULL), 0);
	assert_int_equal(walk_subtree(c, &a, "a", record, &one), 0);
	assert_string_equal(one.text, "+a@0 ");
}

static void test_walk_skips_and_stops(void **state)
{
	struct fixture *f = *state;
	struct catalog *c = f->u.cat;
	struct trace skip = { .skip = "d", .parents_ok = true };
	struct trace fail = { .fail = "d/b", .parents_ok = true };
	struct cat_attr root;

	assert_int_equal(walk_resolve(f->u.repo, c, &f->snap, "", &root, NULL), 0);
	/* WALK_SKIP drops a directory's contents and its LEAVE. */
	assert_int_equal(walk_subtree(c, &root, "", record, &skip), 0);
	assert_string_equal(skip.text, "+@0 +a@1 +big@1 +d@1 +hard@1 +link@1 -@0 ");
	/* An error stops the walk at once, and is returned. */
	assert_int_equal(walk_subtree(c, &root, "", record, &fail), -ECANCELED);
	assert_string_equal(fail.text, "+@0 +a@1 +big@1 +d@1 +d/b@2 ");
}

static void test_extents_cover_the_file_in_order(void **state)
{
	struct fixture *f = *state;
	struct catalog *c = f->u.cat;
	struct extent_iter it;
	struct cat_extent e;
	struct cat_attr big, dir;
	uint64_t pos = 0, n = 0;
	int r;

	assert_int_equal(walk_resolve(f->u.repo, c, &f->snap, "big", &big, NULL), 0);
	assert_int_equal(big.size, 200 << 10);
	extent_iter_init(&it, c, NULL, &big, 0);
	while ((r = extent_iter_next(&it, &e)) == 1) {
		assert_int_equal(e.file_off, pos); /* no holes in this file */
		assert_true(e.loc.raw_len > 0);
		pos += e.loc.raw_len;
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(pos, big.size);
	assert_true(n >= 1);
	assert_int_equal(extent_iter_next(&it, &e), 0); /* stays at the end */

	/* Every chunk reads back as the bytes that were backed up. */
	AUTOFREE uint8_t *want = malloc(big.size);
	AUTOBUF struct buf got = BUF_INIT;
	assert_non_null(want);
	unit_fill_random(want, big.size, 7);
	extent_iter_init(&it, c, NULL, &big, 0);
	while ((r = extent_iter_next(&it, &e)) == 1) {
		buf_reset(&got);
		assert_int_equal(repo_read_chunk(f->u.repo, &e.loc, &got), 0);
		assert_int_equal(got.len, e.loc.raw_len);
		assert_memory_equal(got.ptr, want + e.file_off, got.len);
	}
	assert_int_equal(r, 0);

	/* A directory has no extents. */
	assert_int_equal(walk_resolve(f->u.repo, c, &f->snap, "d", &dir, NULL), 0);
	extent_iter_init(&it, c, NULL, &dir, 0);
	assert_int_equal(extent_iter_next(&it, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_paths),
		cmocka_unit_test(test_walk_order_and_events),
		cmocka_unit_test(test_walk_skips_and_stops),
		cmocka_unit_test(test_extents_cover_the_file_in_order),
	};

	log_setup("test-walk", LOG_TARGET_STDERR, LOG_CRIT);
	return cmocka_run_group_tests_name("walk", tests, setup, teardown);
}
