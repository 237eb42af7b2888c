/*
 * test-restore.c - restore never writes outside its target, whatever a
 * snapshot (crafted here with the tree builders and written into a real
 * local repository) or a target already holding files contains: symlinks
 * pointing out of the target followed by directories and files of the
 * same names, hardlinks whose later name is a symlink in the target, names
 * that climb out ("..", "a/b") in the tree object or in a tampered
 * catalog. And a chunk shared by two files is fetched once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "ops/backup.h"
#include "format/envelope.h"
#include "base/log.h"
#include "repo/repo.h"
#include "ops/restore.h"
#include "unit.h"

struct fixture {
	struct unit_repo u;
	char target[128];
	char outside[128];
	int64_t next_time;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct repo_config cfg = repo_config_default();

	if (!f)
		return -1;
	cfg.chunker.min_size = 16 << 10;
	cfg.chunker.avg_size = 64 << 10;
	cfg.chunker.max_size = 256 << 10;
	if (unit_repo_setup(&f->u, "restore", &cfg) < 0)
		return -1;
	snprintf(f->target, sizeof(f->target), "%s/target", f->u.dir);
	snprintf(f->outside, sizeof(f->outside), "%s/outside", f->u.dir);
	if (mkdir(f->outside, 0755) < 0)
		return -1;
	f->next_time = 1700000000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unit_repo_teardown(&f->u);
	free(f);
	return 0;
}

/* --- crafting snapshots --- */

static uint32_t add_root(struct tree *t)
{
	struct tree_inode ino = { .type = NODE_DIR, .perm = 0755, .mtime_sec = 1600000000 };
	return tree_add_inode(t, &ino);
}

static uint32_t add(struct tree *t, uint32_t parent, const char *name, enum node_type type,
		    const char *target)
{
	struct tree_inode ino = { .type = type,
				  .perm = type == NODE_DIR ? 0755 : 0644,
				  .mtime_sec = 1600000000 };
	if (target) {
		ino.target = tree_add_str(t, target, strlen(target));
		ino.size = strlen(target);
		ino.perm = 0777;
	}
	uint32_t i = tree_add_inode(t, &ino);
	tree_add_dirent(t, parent, i, name, strlen(name));
	return i;
}

static void put(struct fixture *f, enum object_kind kind, const struct buf *raw,
		uint8_t id[HASH_LEN])
{
	AUTOBUF struct buf obj = BUF_INIT;
	char name[OBJECT_NAME_MAX];

	assert_true(envelope_encode(NULL, kind, raw->ptr, raw->len, 0, NULL, &obj, id) > 0);
	object_name(kind, id, name);
	assert_int_equal(backend_put(repo_backend(f->u.repo), name, obj.ptr, obj.len), 0);
}

/* Writes tree t as a new snapshot of member "m" and returns it. */
static void put_snapshot(struct fixture *f, struct tree *t, struct cat_snapshot *ret)
{
	AUTOBUF struct buf raw = BUF_INIT;
	struct snapshot_header h = { 0 };
	uint8_t id[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];

	assert_int_equal(tree_encode(t, &raw), 0);
	put(f, OBJECT_TREE, &raw, h.tree_id);
	strcpy(h.member, "m");
	h.time_sec = f->next_time++;
	h.n_inodes = t->n_inodes;
	h.root_perm = 0755;
	h.root_nlink = 2;
	h.root_mtime_sec = 1600000000;
	buf_reset(&raw);
	snapshot_header_encode(&h, &raw);
	put(f, OBJECT_SNAPSHOT, &raw, id);
	assert_int_equal(repo_sync(f->u.repo, f->u.cat, NULL), 0);
	hex_encode(id, HASH_LEN, hex);
	assert_int_equal(catalog_find_snapshot_by_prefix(f->u.cat, hex, ret), 0);
}

static int restore(struct fixture *f, struct cat_snapshot *s, bool overwrite,
		   struct restore_stats *st)
{
	struct restore_options o = { .target = f->target, .overwrite = overwrite };
	struct restore_stats ignored;
	return restore_run(f->u.repo, f->u.cat, s, "", &o, st ? st : &ignored);
}

static unsigned count_entries(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "find '%s' -mindepth 1 | wc -l", dir);
	FILE *p = popen(cmd, "r");
	unsigned n = 0;
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%u", &n), 1);
	pclose(p);
	return n;
}

static bool is_type(const char *dir, const char *name, mode_t type)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void assert_text(const char *dir, const char *name, const char *text)
{
	char path[512], got[64] = "";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	size_t n = fread(got, 1, sizeof(got) - 1, fp);
	got[n] = '\0';
	fclose(fp);
	assert_string_equal(got, text);
}

/* --- tests --- */

/* A first snapshot leaves symlinks into "outside"; a second one, restored
 * over it, has directories and files of the same names. */
static void test_symlinks_then_directories_stay_inside(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot a, b;
	char rel[160];

	struct tree *t = tree_new();
	uint32_t root = add_root(t);
	add(t, root, "evil", NODE_SYMLINK, f->outside);
	snprintf(rel, sizeof(rel), "../outside");
	add(t, root, "rel", NODE_SYMLINK, rel);
	add(t, root, "file-link", NODE_SYMLINK, f->outside);
	put_snapshot(f, t, &a);
	tree_free(t);

	t = tree_new();
	root = add_root(t);
	uint32_t d = add(t, root, "evil", NODE_DIR, NULL);
	add(t, d, "pwned", NODE_FILE, NULL);
	add(t, d, "pwned-fifo", NODE_FIFO, NULL);
	add(t, d, "pwned-link", NODE_SYMLINK, "x");
	d = add(t, root, "rel", NODE_DIR, NULL);
	uint32_t sub = add(t, d, "sub", NODE_DIR, NULL);
	add(t, sub, "pwned", NODE_FILE, NULL);
	add(t, root, "file-link", NODE_FILE, NULL);
	put_snapshot(f, t, &b);
	tree_free(t);

	assert_int_equal(restore(f, &a, false, NULL), 0);
	assert_true(is_type(f->target, "evil", S_IFLNK));
	assert_true(is_type(f->target, "rel", S_IFLNK));
	assert_int_equal(restore(f, &b, false, NULL), -ENOTEMPTY);
	assert_int_equal(count_entries(f->outside), 0);
	assert_int_equal(restore(f, &b, true, NULL), 0);

	assert_int_equal(count_entries(f->outside), 0);
	assert_true(is_type(f->target, "evil", S_IFDIR));
	assert_true(is_type(f->target, "evil/pwned", S_IFREG));
	assert_true(is_type(f->target, "evil/pwned-fifo", S_IFIFO));
	assert_true(is_type(f->target, "evil/pwned-link", S_IFLNK));
	assert_true(is_type(f->target, "rel/sub/pwned", S_IFREG));
	assert_true(is_type(f->target, "file-link", S_IFREG));
}

/* The target already holds symlinks where the snapshot has a file, a
 * directory, and the second name of a hardlink. */
static void test_existing_symlinks_are_replaced_not_followed(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s;
	char path[256];

	struct tree *t = tree_new();
	uint32_t root = add_root(t);
	add(t, root, "f", NODE_FILE, NULL);
	uint32_t d = add(t, root, "d", NODE_DIR, NULL);
	add(t, d, "x", NODE_FILE, NULL);
	uint32_t h = add(t, root, "h1", NODE_FILE, NULL);
	tree_add_dirent(t, root, h, "h2", 2);
	uint32_t l = add(t, root, "l1", NODE_SYMLINK, "target");
	tree_add_dirent(t, root, l, "l2", 2);
	put_snapshot(f, t, &s);
	tree_free(t);

	write_text(f->outside, "victim", "secret");
	assert_int_equal(mkdir(f->target, 0755), 0);
	snprintf(path, sizeof(path), "%s/victim", f->outside);
	char link[256];
	snprintf(link, sizeof(link), "%s/f", f->target);
	assert_int_equal(symlink(path, link), 0);
	snprintf(link, sizeof(link), "%s/h2", f->target);
	assert_int_equal(symlink(path, link), 0);
	snprintf(link, sizeof(link), "%s/l2", f->target);
	assert_int_equal(symlink(path, link), 0);
	snprintf(link, sizeof(link), "%s/d", f->target);
	assert_int_equal(symlink(f->outside, link), 0);

	assert_int_equal(restore(f, &s, true, NULL), 0);

	assert_int_equal(count_entries(f->outside), 1);
	assert_text(f->outside, "victim", "secret");
	assert_true(is_type(f->target, "f", S_IFREG));
	assert_true(is_type(f->target, "d", S_IFDIR));
	assert_true(is_type(f->target, "d/x", S_IFREG));
	struct stat a, b;
	snprintf(path, sizeof(path), "%s/h1", f->target);
	assert_int_equal(lstat(path, &a), 0);
	snprintf(path, sizeof(path), "%s/h2", f->target);
	assert_int_equal(lstat(path, &b), 0);
	assert_true(S_ISREG(b.st_mode));
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(b.st_nlink, 2);
	snprintf(path, sizeof(path), "%s/l2", f->target);
	char got[64] = "";
	assert_int_equal(readlink(path, got, sizeof(got) - 1), 6);
	assert_string_equal(got, "target");
}

/* A tree object with a name that climbs out is refused whole. */
static void test_tree_with_bad_names_is_refused(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = { "..", ".", "a/b", "../outside" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cat_snapshot s;
		struct tree *t = tree_new();
		uint32_t root = add_root(t);
		uint32_t d = add(t, root, bad[i], NODE_DIR, NULL);
		add(t, d, "pwned", NODE_FILE, NULL);
		put_snapshot(f, t, &s);
		tree_free(t);
		assert_true(restore(f, &s, true, NULL) < 0);
		assert_int_equal(count_entries(f->outside), 0);
		assert_false(is_type(f->u.dir, "pwned", S_IFREG));
	}
}

/* The catalog is a local cache; names in it are checked again. */
static void test_tampered_catalog_names_are_refused(void **state)
{
	struct fixture *f = *state;
	struct cat_snapshot s;
	struct restore_options o = { .target = f->target };
	struct restore_stats st;
	char db_path[256];
	sqlite3 *db;

	struct tree *t = tree_new();
	uint32_t root = add_root(t);
	uint32_t d = add(t, root, "innocent", NODE_DIR, NULL);
	add(t, d, "pwned", NODE_FILE, NULL);
	put_snapshot(f, t, &s);
	tree_free(t);
	assert_int_equal(repo_ensure_tree(f->u.repo, f->u.cat, &s), 0);

	snprintf(db_path, sizeof(db_path), "%s/cache/%s/catalog.db", f->u.dir,
		 repo_id_hex(f->u.repo));
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE dirents SET name = CAST('../outside' AS BLOB)"
				      " WHERE name = CAST('innocent' AS BLOB)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);

	assert_int_equal(restore_run(f->u.repo, f->u.cat, &s, "", &o, &st), -EBADMSG);
	assert_int_equal(count_entries(f->outside), 0);
	assert_int_equal(count_entries(f->target), 0);
}

/* Two files with the same content: one fetch, one copy. */
static void test_shared_chunk_is_fetched_once(void **state)
{
	struct fixture *f = *state;
	struct restore_options o = { .target = f->target, .n_workers = 1 };
	struct backup_options bo = { .member = "data" };
	struct backup_result res;
	struct restore_stats st;
	struct cat_snapshot s;
	char src[160], path[256];
	const char *paths[1] = { src };

	snprintf(src, sizeof(src), "%s", f->u.src);
	AUTOFREE uint8_t *data = malloc(100000);
	assert_non_null(data);
	for (size_t i = 0; i < 100000; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/copy%d", src, i);
		int fd = open(path, O_WRONLY | O_CREAT, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write_all(fd, data, 100000), 0);
		close(fd);
	}
	bo.paths = paths;
	bo.n_paths = 1;
	assert_int_equal(backup_run(f->u.repo, f->u.cat, &bo, &res), 0);
	assert_int_equal(repo_resolve_snapshot(f->u.repo, f->u.cat, "data/latest", &s), 0);

	o.verify = true;
	assert_int_equal(restore_run(f->u.repo, f->u.cat, &s, "", &o, &st), 0);
	assert_int_equal(st.n_files, 2);
	assert_int_equal(st.n_verified, 2);
	assert_int_equal(st.n_verified_data, 200000);
	assert_true(st.n_fetched >= 1);
	assert_int_equal(st.n_copied, st.n_fetched); /* each chunk: fetched once, copied once */
	for (int i = 0; i < 2; i++) {
		uint8_t back[100000];
		snprintf(path, sizeof(path), "%s/copy%d", f->target, i);
		int fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(pread_full(fd, back, sizeof(back), 0), 100000);
		close(fd);
		assert_memory_equal(back, data, 100000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_symlinks_then_directories_stay_inside, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_existing_symlinks_are_replaced_not_followed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree_with_bad_names_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tampered_catalog_names_are_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shared_chunk_is_fetched_once, setup, teardown),
	};
	log_setup("test-restore", LOG_TARGET_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
