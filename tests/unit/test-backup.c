/*
 * test-backup.c - what a backup does about prune: it never writes a pack or
 * a tree under the name of one "prune-pending" lists (objects are named by
 * their content, so backing up what a forgotten snapshot held would
 * otherwise recreate the very objects prune is about to delete), it never
 * deduplicates against a pending pack, and it leaves no lock behind. Runs
 * real backups into a local repository in a mkdtemp() directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "ops/backup.h"
#include "repo/inventory.h"
#include "base/log.h"
#include "repo/pending.h"
#include "unit.h"

struct fixture {
	char dir[64];
	char repo_url[128];
	char src[128];
	struct repo *repo;
	struct catalog *cat;
};

static void write_file(const char *path, size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len);
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, p, len), 0);
	close(fd);
	free(p);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[192];

	if (!f)
		return -1;
	if (unit_mkdtemp(f->dir, sizeof(f->dir), "backup") < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/cache", f->dir);
	setenv("CAIRN_CACHE_DIR", path, 1);
	snprintf(f->repo_url, sizeof(f->repo_url), "%s/repo", f->dir);
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	mkdir(f->src, 0755);
	snprintf(path, sizeof(path), "%s/big", f->src);
	write_file(path, 3 << 20, 1);
	snprintf(path, sizeof(path), "%s/small", f->src);
	write_file(path, 1000, 2);
	struct repo_config cfg = repo_config_default();
	if (repo_init(f->repo_url, NULL, &cfg, NULL, NULL) < 0 ||
	    repo_open(f->repo_url, NULL, &f->repo) < 0 || repo_catalog_open(f->repo, &f->cat) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	catalog_close(f->cat);
	repo_close(f->repo);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Backs up f->src as member m at a fixed time; returns the snapshot's tree. */
static struct tree *backup(struct fixture *f, uint8_t tree_id[HASH_LEN])
{
	const char *paths[] = { f->src };
	struct backup_options o = { .member = "m",
				    .time_sec = 1000000,
				    .paths = paths,
				    .n_paths = 1 };
	struct backup_result res;
	struct snapshot_header h;
	struct tree *t = NULL;

	assert_int_equal(backup_run(f->repo, f->cat, &o, &res), 0);
	assert_int_equal(object_fetch_header(repo_backend(f->repo), NULL, res.snap_id, &h), 0);
	memcpy(tree_id, h.tree_id, HASH_LEN);
	snapshot_header_release(&h);
	assert_int_equal(object_fetch_tree(repo_backend(f->repo), NULL, tree_id, &t), 0);
	/* Whatever it refers to exists. */
	for (uint32_t i = 0; i < t->n_chunks; i++) {
		char name[PACK_NAME_LEN];
		uint64_t size;
		pack_name(t->packs[t->chunks[i].pack], name);
		assert_int_equal(backend_size(repo_backend(f->repo), name, &size), 0);
	}
	return t;
}

static void set_pending(struct fixture *f, const struct tree *t, const uint8_t tree_id[HASH_LEN],
			bool packs, bool tree)
{
	struct pending p = { 0 };
	for (uint32_t i = 0; packs && i < t->n_packs; i++)
		pending_add(&p, PENDING_PACK, t->packs[i], 0);
	if (tree)
		pending_add(&p, PENDING_TREE, tree_id, 0);
	assert_int_equal(pending_write(repo_backend(f->repo), NULL, &p), 0);
	pending_release(&p);
}

static bool uses_pack(const struct tree *t, const uint8_t id[HASH_LEN])
{
	for (uint32_t i = 0; i < t->n_chunks; i++)
		if (memcmp(t->packs[t->chunks[i].pack], id, HASH_LEN) == 0)
			return true;
	return false;
}

/* The same data backed up again gives the same tree: the clash is real. */
static void test_same_data_same_tree(void **state)
{
	struct fixture *f = *state;
	uint8_t a[HASH_LEN], b[HASH_LEN];

	tree_free(backup(f, a));
	tree_free(backup(f, b));
	assert_memory_equal(a, b, HASH_LEN);
}

/* With the tree pending (its packs not), the new tree gets another name,
 * while still deduplicating against the packs. */
static void test_pending_tree_is_not_rewritten(void **state)
{
	struct fixture *f = *state;
	uint8_t a[HASH_LEN], b[HASH_LEN];

	struct tree *t1 = backup(f, a);
	set_pending(f, t1, a, false, true);
	struct tree *t2 = backup(f, b);
	assert_memory_not_equal(a, b, HASH_LEN);
	for (uint32_t i = 0; i < t1->n_packs; i++)
		assert_true(uses_pack(t2, t1->packs[i]));
	tree_free(t1);
	tree_free(t2);
}

/* With the packs pending, the backup stores the data again, in packs whose
 * names differ from the pending ones although their chunks are the same. */
static void test_pending_packs_are_neither_reused_nor_rewritten(void **state)
{
	struct fixture *f = *state;
	uint8_t a[HASH_LEN], b[HASH_LEN];

	struct tree *t1 = backup(f, a);
	set_pending(f, t1, a, true, false);
	struct tree *t2 = backup(f, b);
	for (uint32_t i = 0; i < t1->n_packs; i++)
		assert_false(uses_pack(t2, t1->packs[i]));
	assert_int_equal(t2->n_chunks, t1->n_chunks);
	for (uint32_t i = 0; i < t1->n_chunks; i++) {
		assert_memory_equal(t2->chunks[i].hash, t1->chunks[i].hash, HASH_LEN);
		assert_int_equal(t2->chunks[i].off, t1->chunks[i].off); /* same layout */
	}
	tree_free(t1);
	tree_free(t2);
}

static int count_locks(void *userdata, const char *name UNUSED, uint64_t size UNUSED)
{
	(*(int *)userdata)++;
	return 0;
}

static void test_no_lock_left_behind(void **state)
{
	struct fixture *f = *state;
	uint8_t a[HASH_LEN];
	int n = 0;

	tree_free(backup(f, a));
	assert_int_equal(backend_list(repo_backend(f->repo), "locks/", count_locks, &n), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	log_setup("test-backup", LOG_TARGET_STDERR, LOG_WARNING);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_data_same_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_tree_is_not_rewritten, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pending_packs_are_neither_reused_nor_rewritten,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_lock_left_behind, setup, teardown),
	};
	return cmocka_run_group_tests_name("backup", tests, NULL, NULL);
}
