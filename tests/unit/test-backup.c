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
#include "repo/object.h"
#include "base/log.h"
#include "repo/pending.h"
#include "unit.h"

struct fixture {
	struct unit_repo u;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[192];

	if (!f || unit_repo_setup(&f->u, "backup", NULL) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/big", f->u.src);
	if (unit_write_file(path, 3 << 20, 1) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/small", f->u.src);
	if (unit_write_file(path, 1000, 2) < 0)
		return -1;
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

/* Backs up f->u.src as member m at a fixed time; returns the snapshot's tree. */
static struct tree *backup(struct fixture *f, uint8_t tree_id[HASH_LEN])
{
	uint8_t snap_id[HASH_LEN];
	struct snapshot_header h;
	struct tree *t = NULL;

	assert_int_equal(unit_repo_backup(&f->u, "m", NULL, 1000000, snap_id), 0);
	assert_int_equal(object_fetch_header(repo_backend(f->u.repo), NULL, snap_id, &h), 0);
	memcpy(tree_id, h.tree_id, HASH_LEN);
	snapshot_header_release(&h);
	assert_int_equal(object_fetch_tree(repo_backend(f->u.repo), NULL, tree_id, &t), 0);
	/* Whatever it refers to exists. */
	for (uint32_t i = 0; i < t->n_chunks; i++) {
		char name[PACK_NAME_LEN];
		uint64_t size;
		pack_name(t->packs[t->chunks[i].pack], name);
		assert_int_equal(backend_size(repo_backend(f->u.repo), name, &size), 0);
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
	assert_int_equal(pending_write(repo_backend(f->u.repo), NULL, &p), 0);
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
	assert_int_equal(backend_list(repo_backend(f->u.repo), "locks/", count_locks, &n), 0);
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
