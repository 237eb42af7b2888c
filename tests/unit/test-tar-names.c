/*
 * test-tar-names.c - the path checks of tar ingest (format/tar-names.c):
 * absolute paths, ".." components, paths through an earlier symlink or
 * file entry are refused, naming the prefix at fault; "./", "." and "//"
 * are tidied; missing directories are implied; a later entry replaces an
 * earlier one (a directory over a directory is kept), and what hangs below
 * a replaced directory is no longer reachable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "format/tar-names.h"

struct resolved {
	enum tar_path_verdict v;
	uint32_t parent;
	char name[300];
	size_t bad;
};

static struct resolved resolve(struct tar_names *t, const char *path, bool create)
{
	struct resolved res = { .parent = 12345 };
	const char *name = NULL;
	size_t len = 0;

	res.v = tar_names_resolve(t, path, strlen(path), create, &res.parent, &name, &len,
				  &res.bad);
	if (res.v == TAR_PATH_OK) {
		memcpy(res.name, name, len);
		res.name[len] = 0;
	}
	return res;
}

/* Resolves and enters path as an entry of kind; returns its node. */
static uint32_t add(struct tar_names *t, const char *path, enum tar_node_kind kind, uint32_t value)
{
	struct resolved r = resolve(t, path, true);
	bool kept;

	if (r.v != TAR_PATH_OK)
		fail_msg("'%s' refused: %s", path, tar_path_verdict_str(r.v));
	return tar_names_enter(t, r.parent, r.name, strlen(r.name), kind, value, &kept);
}

static void test_unsafe_paths_are_refused(void **state)
{
	struct tar_names t;
	(void)state;

	tar_names_init(&t, 0);
	assert_int_equal(resolve(&t, "/etc/passwd", true).v, TAR_PATH_ABSOLUTE);
	assert_int_equal(resolve(&t, "//x", true).v, TAR_PATH_ABSOLUTE);
	assert_int_equal(resolve(&t, "../x", true).v, TAR_PATH_DOTDOT);
	assert_int_equal(resolve(&t, "a/../../x", true).v, TAR_PATH_DOTDOT);
	assert_int_equal(resolve(&t, "a/b/..", true).v, TAR_PATH_DOTDOT);
	assert_int_equal(resolve(&t, "./..", true).v, TAR_PATH_DOTDOT);
	/* names that merely start with dots are fine */
	assert_int_equal(resolve(&t, "..x/...", true).v, TAR_PATH_OK);
	char longname[300];
	memset(longname, 'n', 256);
	longname[256] = 0;
	assert_int_equal(resolve(&t, longname, true).v, TAR_PATH_BAD_NAME);
	longname[255] = 0;
	assert_int_equal(resolve(&t, longname, true).v, TAR_PATH_OK);
	/* a refused path creates nothing, not even its leading directories */
	uint32_t before = t.n_nodes;
	assert_int_equal(resolve(&t, "new/dir/../x", true).v, TAR_PATH_DOTDOT);
	assert_int_equal(t.n_nodes, before);
	tar_names_release(&t);
}

static void test_symlink_then_file_through_it(void **state)
{
	struct tar_names t;
	(void)state;

	tar_names_init(&t, 0);
	add(&t, "./tmp", TAR_NODE_SYMLINK, 1);
	struct resolved r = resolve(&t, "./tmp/x", true);
	assert_int_equal(r.v, TAR_PATH_THROUGH_SYMLINK);
	assert_int_equal(r.bad, strlen("./tmp")); /* the prefix that is the symlink */
	assert_int_equal(resolve(&t, "tmp//deeper/x", true).v, TAR_PATH_THROUGH_SYMLINK);
	/* the symlink itself may be replaced, as tar -x replaces it */
	r = resolve(&t, "tmp", true);
	assert_int_equal(r.v, TAR_PATH_OK);
	assert_string_equal(r.name, "tmp");
	/* a file in the way is no directory either */
	add(&t, "f", TAR_NODE_OTHER, 2);
	assert_int_equal(resolve(&t, "f/x", true).v, TAR_PATH_NOT_DIR);
	/* once a directory replaces the symlink, paths through it are fine */
	add(&t, "tmp/", TAR_NODE_DIR, 3);
	assert_int_equal(resolve(&t, "tmp/x", true).v, TAR_PATH_OK);
	tar_names_release(&t);
}

static void test_paths_are_tidied_and_parents_implied(void **state)
{
	struct tar_names t;
	(void)state;

	tar_names_init(&t, 0);
	struct resolved r = resolve(&t, "./", true);
	assert_int_equal(r.v, TAR_PATH_OK);
	assert_int_equal(r.parent, 0);
	assert_string_equal(r.name, ""); /* the root itself */
	assert_string_equal(resolve(&t, ".", true).name, "");
	r = resolve(&t, "./a//b/./c/", true);
	assert_int_equal(r.v, TAR_PATH_OK);
	assert_string_equal(r.name, "c");
	uint32_t a = tar_names_child(&t, 0, "a", 1);
	assert_int_not_equal(a, UINT32_MAX);
	assert_int_equal(t.nodes[a].value, TAR_NODE_IMPLICIT);
	uint32_t b = tar_names_child(&t, a, "b", 1);
	assert_int_equal(r.parent, b);
	/* lookups create nothing */
	assert_int_equal(resolve(&t, "x/y", false).v, TAR_PATH_NOT_FOUND);
	assert_int_equal(tar_names_child(&t, 0, "x", 1), UINT32_MAX);
	tar_names_release(&t);
}

static void test_later_entries_replace_earlier(void **state)
{
	struct tar_names t;
	bool reach[64];
	bool kept;
	(void)state;

	tar_names_init(&t, 0);
	uint32_t d = add(&t, "d/", TAR_NODE_DIR, 1);
	uint32_t f = add(&t, "d/f", TAR_NODE_OTHER, 2);
	/* a directory over a directory keeps it, and what is in it */
	struct resolved r = resolve(&t, "d", true);
	assert_int_equal(tar_names_enter(&t, r.parent, "d", 1, TAR_NODE_DIR, 3, &kept), d);
	assert_true(kept);
	/* a file over a file replaces it */
	uint32_t f2 = add(&t, "d/f", TAR_NODE_OTHER, 4);
	assert_int_not_equal(f2, f);
	assert_int_equal(tar_names_child(&t, d, "f", 1), f2);
	/* a file over the directory drops the directory and all below it */
	uint32_t g = add(&t, "d", TAR_NODE_OTHER, 5);
	assert_true(t.n_nodes <= ARRAY_SIZE(reach));
	tar_names_reachable(&t, reach);
	assert_true(reach[0]);
	assert_true(reach[g]);
	assert_false(reach[d]);
	assert_false(reach[f]);
	assert_false(reach[f2]); /* live, but its directory is gone */
	assert_true(t.nodes[f2].live);
	tar_names_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsafe_paths_are_refused),
		cmocka_unit_test(test_symlink_then_file_through_it),
		cmocka_unit_test(test_paths_are_tidied_and_parents_implied),
		cmocka_unit_test(test_later_entries_replace_earlier),
	};
	return cmocka_run_group_tests_name("tar-names", tests, NULL, NULL);
}
