/*
 * test-fs-tree.c - what the mount shows, without FUSE: fs/fs-tree.c against
 * a real catalog rebuilt from a real repository (two members, three
 * snapshots of a small tree, no tree loaded, as a fresh mount starts).
 * Inode numbering, the synthetic directories and their attributes, lookups
 * and listings inside snapshots (loading a tree on first use), resuming a
 * listing from any offset it handed out, links, seeks and the errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs-tree.h"
#include "base/log.h"
#include "unit.h"

/* 1000 s, 1500 s and 2000 s after the epoch, as snapshot names. */
#define T1 "1970-01-01T001640Z"
#define T2 "1970-01-01T003320Z"
#define T_BETA "1970-01-01T002500Z"

struct fixture {
	struct unit_repo u;
	struct fs_tree tree;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[192];

	if (!f || unit_repo_setup(&f->u, "fs-tree", NULL) < 0 || unit_small_tree(f->u.src) < 0 ||
	    unit_repo_backup(&f->u, "alpha", NULL, 1000, NULL) < 0 ||
	    unit_repo_backup(&f->u, "beta", NULL, 1500, NULL) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/new", f->u.src);
	if (unit_write_file(path, 10, 3) < 0 ||
	    unit_repo_backup(&f->u, "alpha", NULL, 2000, NULL) < 0 ||
	    unit_repo_fresh_catalog(&f->u) < 0)
		return -1;
	f->tree.repo = f->u.repo;
	f->tree.uid = 1234;
	f->tree.gid = 5678;
	if (fs_tree_refresh(&f->tree, f->u.cat) < 0)
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

/* A listing, as the kernel would collect it. */
struct listing {
	char names[16][64];
	uint64_t next_off[16];
	struct cat_attr attr[16];
	size_t n;
	size_t stop_after; /* stop (return 1) once this many are taken; 0: never */
};

static int collect(void *userdata, uint64_t next_off, const char *name, const struct cat_attr *a)
{
	struct listing *l = userdata;

	if (l->stop_after && l->n == l->stop_after)
		return 1;
	assert_true(l->n < 16);
	snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
	l->next_off[l->n] = next_off;
	l->attr[l->n] = *a;
	l->n++;
	return 0;
}

static bool listed(const struct listing *l, const char *name, size_t *ret_i)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0) {
			if (ret_i)
				*ret_i = i;
			return true;
		}
	return false;
}

static void test_inode_numbers_classify(void **state UNUSED)
{
	int64_t id = 0;

	assert_int_equal(fs_ino_kind(FS_INO_ROOT, NULL), FS_INO_KIND_ROOT);
	assert_int_equal(fs_ino_kind(FS_INO_SNAPSHOTS, NULL), FS_INO_KIND_SNAPSHOTS);
	assert_int_equal(fs_ino_kind(fs_member_ino(5), &id), FS_INO_KIND_MEMBER);
	assert_int_equal(id, 5);
	assert_int_equal(fs_ino_kind(fs_latest_ino(9), &id), FS_INO_KIND_LATEST);
	assert_int_equal(id, 9);
	assert_int_equal(fs_ino_kind(fs_member_ino(FS_ID_MAX - 1), &id), FS_INO_KIND_MEMBER);
	assert_int_equal(id, FS_ID_MAX - 1);
	assert_int_equal(fs_ino_kind(CATALOG_FIRST_INO, NULL), FS_INO_KIND_CONTENT);
	assert_int_equal(fs_ino_kind(0, NULL), FS_INO_KIND_NONE);
	assert_int_equal(fs_ino_kind(FS_INO_SYNTHETIC, NULL), FS_INO_KIND_NONE);
	assert_int_equal(fs_ino_kind(FS_INO_SYNTHETIC | FS_INO_LATEST, NULL), FS_INO_KIND_NONE);
	assert_int_equal(fs_ino_kind(UINT64_MAX, NULL), FS_INO_KIND_NONE);

	/* Only what can never change may be cached for ever. */
	assert_false(fs_ino_is_immutable(FS_INO_ROOT));
	assert_false(fs_ino_is_immutable(FS_INO_SNAPSHOTS));
	assert_false(fs_ino_is_immutable(fs_member_ino(5)));
	assert_true(fs_ino_is_immutable(fs_latest_ino(9)));
	assert_true(fs_ino_is_immutable(CATALOG_FIRST_INO));
	assert_false(fs_ino_is_immutable(0));
}

static void test_synthetic_directories(void **state)
{
	struct fixture *f = *state;
	struct fs_tree *t = &f->tree;
	struct catalog *c = f->u.cat;
	struct listing l = { 0 };
	struct cat_attr a, m;

	assert_int_equal(fs_tree_getattr(t, c, FS_INO_ROOT, &a), 0);
	assert_true(S_ISDIR(a.mode));
	assert_int_equal(a.mode & 07777, FS_SYNTHETIC_DIR_PERM);
	assert_int_equal(a.uid, 1234);
	assert_int_equal(a.gid, 5678);
	assert_int_equal(a.nlink, 3);
	assert_int_equal(a.mtime_sec, 2000); /* the newest snapshot */

	assert_int_equal(fs_tree_lookup(t, c, FS_INO_ROOT, "snapshots", &a), 0);
	assert_int_equal(a.ino, FS_INO_SNAPSHOTS);
	assert_int_equal(a.nlink, 2 + 2); /* two members */
	assert_int_equal(fs_tree_lookup(t, c, FS_INO_ROOT, "other", &a), -ENOENT);

	assert_int_equal(fs_tree_readdir(t, c, FS_INO_SNAPSHOTS, 0, true, collect, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.names[0], ".");
	assert_string_equal(l.names[1], "..");
	assert_true(listed(&l, "alpha", NULL) && listed(&l, "beta", NULL));

	assert_int_equal(fs_tree_lookup(t, c, FS_INO_SNAPSHOTS, "alpha", &m), 0);
	assert_int_equal(fs_ino_kind(m.ino, NULL), FS_INO_KIND_MEMBER);
	assert_int_equal(m.nlink, 2 + 2); /* two snapshots */
	assert_int_equal(m.mtime_sec, 2000);
	assert_int_equal(fs_tree_getattr(t, c, m.ino, &a), 0);
	assert_memory_equal(&a, &m, sizeof(a));
	assert_int_equal(fs_tree_lookup(t, c, FS_INO_SNAPSHOTS, "beta", &a), 0);
	assert_int_equal(a.mtime_sec, 1500);
	assert_int_equal(fs_tree_lookup(t, c, FS_INO_SNAPSHOTS, "gamma", &a), -ENOENT);
	assert_int_equal(fs_tree_lookup(t, c, FS_INO_SNAPSHOTS, "-bad", &a), -ENOENT);
	assert_int_equal(fs_tree_lookup(t, c, FS_INO_SNAPSHOTS, "..", &a), -ENOENT);

	/* Nothing in the synthetic part has xattrs or link targets. */
	AUTOBUF struct buf b = BUF_INIT;
	assert_int_equal(fs_tree_listxattr(t, c, m.ino, &b), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(fs_tree_readlink(t, c, m.ino, &b), -EINVAL);
}

static void test_member_lists_snapshots_and_latest(void **state)
{
	struct fixture *f = *state;
	struct fs_tree *t = &f->tree;
	struct catalog *c = f->u.cat;
	AUTOBUF struct buf target = BUF_INIT;
	struct listing l = { 0 };
	struct cat_attr m, latest, a;
	size_t i = 0;

	assert_int_equal(fs_tree_lookup(t, c, FS_INO_SNAPSHOTS, "alpha", &m), 0);
	assert_int_equal(fs_tree_readdir(t, c, m.ino, 0, true, collect, &l), 0);
	assert_int_equal(l.n, 5);
	assert_true(listed(&l, T1, NULL) && listed(&l, T2, NULL));
	assert_true(listed(&l, "latest", &i));
	assert_true(S_ISLNK(l.attr[i].mode));

	assert_int_equal(fs_tree_lookup(t, c, m.ino, "latest", &latest), 0);
	assert_int_equal(fs_ino_kind(latest.ino, NULL), FS_INO_KIND_LATEST);
	assert_int_equal(latest.ino, l.attr[i].ino);
	assert_int_equal(latest.size, strlen(T2));
	assert_int_equal(fs_tree_readlink(t, c, latest.ino, &target), 0);
	assert_int_equal(target.len, strlen(T2));
	assert_memory_equal(target.ptr, T2, target.len);
	assert_int_equal(fs_tree_getattr(t, c, latest.ino, &a), 0);
	assert_int_equal(a.mtime_sec, 2000);
	assert_int_equal(fs_tree_lookup(t, c, latest.ino, "x", &a), -ENOTDIR);

	assert_int_equal(fs_tree_lookup(t, c, m.ino, T1, &a), 0);
	assert_true(S_ISDIR(a.mode));
	assert_int_equal(fs_ino_kind(a.ino, NULL), FS_INO_KIND_CONTENT);
	assert_int_equal(fs_tree_lookup(t, c, m.ino, T_BETA, &a), -ENOENT); /* beta's */
	assert_int_equal(fs_tree_lookup(t, c, m.ino, "1970-01-01T000000Z", &a), -ENOENT);

	/* Resuming from every offset handed out gives the rest, unchanged. */
	for (size_t k = 0; k < l.n; k++) {
		struct listing rest = { 0 };
		assert_int_equal(fs_tree_readdir(t, c, m.ino, l.next_off[k], false, collect, &rest),
				 0);
		assert_int_equal(rest.n, l.n - k - 1);
		for (size_t j = 0; j < rest.n; j++)
			assert_string_equal(rest.names[j], l.names[k + 1 + j]);
	}
}

static void test_snapshot_contents_load_on_first_use(void **state)
{
	struct fixture *f = *state;
	struct fs_tree *t = &f->tree;
	struct catalog *c = f->u.cat;
	AUTOBUF struct buf target = BUF_INIT;
	struct cat_snapshot s;
	struct cat_attr m, root, a, d, b, hard;

	assert_int_equal(catalog_find_snapshot(c, "beta", "latest", &s), 0);
	assert_false(s.loaded);
	assert_int_equal(fs_tree_lookup(t, c, FS_INO_SNAPSHOTS, "beta", &m), 0);
	assert_int_equal(fs_tree_lookup(t, c, m.ino, T_BETA, &root), 0);
	assert_int_equal(root.ino, s.ino_base);
	/* The root's attributes come from the header: still nothing loaded. */
	assert_int_equal(fs_tree_getattr(t, c, root.ino, &a), 0);
	assert_int_equal(a.ino, root.ino);
	assert_int_equal(catalog_find_snapshot(c, "beta", "latest", &s), 0);
	assert_false(s.loaded);

	/* A name inside it loads the tree. */
	assert_int_equal(fs_tree_lookup(t, c, root.ino, "a", &a), 0);
	assert_true(S_ISREG(a.mode));
	assert_int_equal(a.size, 6);
	assert_int_equal(catalog_find_snapshot(c, "beta", "latest", &s), 0);
	assert_true(s.loaded);

	assert_int_equal(fs_tree_lookup(t, c, root.ino, "d", &d), 0);
	assert_true(S_ISDIR(d.mode));
	assert_int_equal(fs_tree_lookup(t, c, d.ino, "b", &b), 0);
	assert_int_equal(b.size, 2);
	assert_int_equal(fs_tree_lookup(t, c, root.ino, "hard", &hard), 0);
	assert_int_equal(hard.ino, b.ino); /* one inode, two names */
	assert_int_equal(hard.nlink, 2);
	assert_int_equal(fs_tree_lookup(t, c, root.ino, "link", &a), 0);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(fs_tree_readlink(t, c, a.ino, &target), 0);
	assert_int_equal(target.len, 1);
	assert_memory_equal(target.ptr, "a", 1);
	assert_int_equal(fs_tree_readlink(t, c, d.ino, &target), -EINVAL);

	assert_int_equal(fs_tree_lookup(t, c, root.ino, "new", &a), -ENOENT); /* written after */
	assert_int_equal(fs_tree_lookup(t, c, root.ino, "missing", &a), -ENOENT);
	/* The kernel never looks names up in a file; the catalog knows none. */
	assert_int_equal(fs_tree_lookup(t, c, b.ino, "x", &a), -ENOENT);

	struct listing l = { 0 };
	assert_int_equal(fs_tree_readdir(t, c, b.ino, 0, false, collect, &l), -ENOTDIR);
	assert_int_equal(fs_tree_readdir(t, c, d.ino, 0, true, collect, &l), 0);
	assert_int_equal(l.n, 4); /* ., .., b, e */
	assert_string_equal(l.names[0], ".");
	assert_int_equal(l.attr[0].ino, d.ino);
	/* The catalog keeps no parent links: ".." below a snapshot's root
	 * names the directory itself (the kernel resolves ".." on its own). */
	assert_string_equal(l.names[1], "..");
	assert_int_equal(l.attr[1].ino, d.ino);
	size_t i = 0;
	assert_true(listed(&l, "b", &i));
	assert_int_equal(l.attr[i].size, 2);
	assert_true(listed(&l, "e", &i));
	assert_true(S_ISDIR(l.attr[i].mode));
}

static void test_listing_stops_and_resumes(void **state)
{
	struct fixture *f = *state;
	struct fs_tree *t = &f->tree;
	struct catalog *c = f->u.cat;
	struct listing all = { 0 }, part = { .stop_after = 3 };
	struct cat_attr m, root;

	/* alpha's first snapshot, never touched before: readdir loads it. */
	assert_int_equal(fs_tree_lookup(t, c, FS_INO_SNAPSHOTS, "alpha", &m), 0);
	assert_int_equal(fs_tree_lookup(t, c, m.ino, T1, &root), 0);
	assert_int_equal(fs_tree_readdir(t, c, root.ino, 0, false, collect, &all), 0);
	assert_int_equal(all.n, 2 + 5); /* ., .., a, big, d, hard, link; no "new" yet */
	assert_string_equal(all.names[1], "..");
	assert_int_equal(all.attr[1].ino, m.ino); /* a snapshot's parent is its member */
	assert_false(listed(&all, "new", NULL));

	/* The kernel's buffer fills after three: the rest comes from the last
	 * offset taken, with nothing repeated or lost. */
	assert_int_equal(fs_tree_readdir(t, c, root.ino, 0, false, collect, &part), 0);
	assert_int_equal(part.n, 3);
	while (part.n < all.n) {
		size_t before = part.n;
		part.stop_after = part.n + 2;
		assert_int_equal(fs_tree_readdir(t, c, root.ino, part.next_off[part.n - 1], false,
						 collect, &part),
				 0);
		assert_true(part.n > before);
	}
	assert_int_equal(part.n, all.n);
	for (size_t i = 0; i < all.n; i++) {
		assert_string_equal(part.names[i], all.names[i]);
		assert_int_equal(part.next_off[i], all.next_off[i]);
	}
	/* Past the end there is nothing more. */
	struct listing none = { 0 };
	assert_int_equal(fs_tree_readdir(t, c, root.ino, all.next_off[all.n - 1], false, collect,
					 &none),
			 0);
	assert_int_equal(none.n, 0);
}

static void test_seek_and_statfs(void **state)
{
	struct fixture *f = *state;
	struct fs_tree *t = &f->tree;
	struct catalog *c = f->u.cat;
	struct cat_attr m, root, big;
	struct statvfs sv;
	uint64_t off;

	assert_int_equal(fs_tree_lookup(t, c, FS_INO_SNAPSHOTS, "alpha", &m), 0);
	assert_int_equal(fs_tree_lookup(t, c, m.ino, T2, &root), 0);
	assert_int_equal(fs_tree_lookup(t, c, root.ino, "big", &big), 0);
	assert_int_equal(big.size, 200 << 10);
	assert_int_equal(fs_tree_seek(t, c, big.ino, 0, SEEK_DATA, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(fs_tree_seek(t, c, big.ino, 4096, SEEK_HOLE, &off), 0);
	assert_int_equal(off, big.size); /* no holes: the end */
	assert_int_equal(fs_tree_seek(t, c, big.ino, big.size, SEEK_DATA, &off), -ENXIO);

	assert_int_equal(fs_tree_statfs(t, c, &sv), 0);
	assert_true(sv.f_blocks > 0);
	assert_int_equal(sv.f_bfree, 0);
	assert_int_equal(sv.f_bavail, 0);
	assert_true(sv.f_flag & ST_RDONLY);
}

static void test_unknown_inodes(void **state)
{
	struct fixture *f = *state;
	struct fs_tree *t = &f->tree;
	struct catalog *c = f->u.cat;
	struct listing l = { 0 };
	struct cat_attr a;

	assert_int_equal(fs_tree_getattr(t, c, 0, &a), -ENOENT);
	assert_int_equal(fs_tree_getattr(t, c, FS_INO_LATEST - 1, &a), -ENOENT);
	assert_true(fs_tree_getattr(t, c, fs_member_ino(999999), &a) < 0);
	assert_true(fs_tree_getattr(t, c, fs_latest_ino(999999), &a) < 0);
	assert_int_equal(fs_tree_lookup(t, c, 0, "x", &a), -ENOENT);
	assert_true(fs_tree_readdir(t, c, 0, 0, false, collect, &l) < 0);
	assert_int_equal(l.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inode_numbers_classify),
		cmocka_unit_test(test_synthetic_directories),
		cmocka_unit_test(test_member_lists_snapshots_and_latest),
		cmocka_unit_test(test_snapshot_contents_load_on_first_use),
		cmocka_unit_test(test_listing_stops_and_resumes),
		cmocka_unit_test(test_seek_and_statfs),
		cmocka_unit_test(test_unknown_inodes),
	};

	log_setup("test-fs-tree", LOG_TARGET_STDERR, LOG_WARNING);
	return cmocka_run_group_tests_name("fs-tree", tests, setup, teardown);
}
