/*
 * test-lock.c - lock objects in a local repository directory: an exclusive
 * lock excludes another exclusive one but not shared ones, a lock lists
 * with its kind, host, pid and times, release removes it, a lock whose
 * process died on this machine is stale at once, and a damaged lock is
 * taken for a running backup. Every case runs on an unencrypted and on an
 * encrypted repository; in the latter a lock shows no host name in its
 * bytes, and one sealed under another key is damaged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include "repo/lock.h"
#include "base/log.h"
#include "unit.h"

struct fixture {
	char dir[64];
	struct backend *b;
	struct crypto_keys *keys; /* NULL in the unencrypted group */
};

static bool encrypted; /* which group runs */

struct seen {
	struct lock_info locks[8];
	size_t n;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	if (unit_mkdtemp(f->dir, sizeof(f->dir), "lock") < 0 ||
	    backend_open(f->dir, NULL, &f->b) < 0)
		return -1;
	if (encrypted) {
		uint8_t master[CRYPTO_KEY_LEN];
		memset(master, 0x5a, sizeof(master));
		f->keys = crypto_keys_new(master);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	backend_free(f->b);
	crypto_keys_free(f->keys);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

static int collect(void *userdata, const struct lock_info *li)
{
	struct seen *s = userdata;
	if (s->n < 8)
		s->locks[s->n++] = *li;
	return 0;
}

static struct seen list(struct fixture *f)
{
	struct seen s = { .n = 0 };
	assert_int_equal(lock_list(f->b, f->keys, collect, &s), 0);
	return s;
}

static void test_exclusive_excludes_exclusive_only(void **state)
{
	struct fixture *f = *state;
	struct repo_lock *x = NULL, *y = NULL, *sh = NULL;

	assert_int_equal(lock_acquire(f->b, f->keys, LOCK_EXCLUSIVE, "prune", &x), 0);
	assert_int_equal(lock_acquire(f->b, f->keys, LOCK_EXCLUSIVE, "prune", &y), -EBUSY);
	assert_int_equal(lock_acquire(f->b, f->keys, LOCK_SHARED, "back up", &sh), 0);
	struct seen s = list(f);
	assert_int_equal(s.n, 2); /* the refused one removed its own */
	for (size_t i = 0; i < s.n; i++) {
		assert_false(s.locks[i].is_stale);
		assert_int_equal(s.locks[i].pid, (uint32_t)getpid());
		assert_true(s.locks[i].created > 0 && s.locks[i].created <= lock_now());
		bool ours = strcmp(s.locks[i].name, lock_self(x)->name) == 0;
		assert_int_equal(s.locks[i].kind, ours ? LOCK_EXCLUSIVE : LOCK_SHARED);
	}
	assert_int_equal(lock_verify(x), 0);
	lock_release(x);
	lock_release(sh);
	assert_int_equal(list(f).n, 0);
	/* Free again. */
	assert_int_equal(lock_acquire(f->b, f->keys, LOCK_EXCLUSIVE, "prune", &y), 0);
	lock_release(y);
}

static void test_dead_holder_is_stale(void **state)
{
	struct fixture *f = *state;
	struct repo_lock *x = NULL;
	int st = 0;

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct repo_lock *l = NULL;
		_exit(lock_acquire(f->b, f->keys, LOCK_EXCLUSIVE, "prune", &l) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(st, 0);
	struct seen s = list(f);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.locks[0].pid, (uint32_t)pid);
	assert_true(s.locks[0].is_stale);
	/* A dead prune does not hold the repository. */
	assert_int_equal(lock_acquire(f->b, f->keys, LOCK_EXCLUSIVE, "prune", &x), 0);
	lock_release(x);
}

static void test_damaged_lock_counts_as_running(void **state)
{
	struct fixture *f = *state;
	const char name[] =
		"locks/0000000000000000000000000000000000000000000000000000000000000000";

	assert_int_equal(backend_put(f->b, name, "garbage", 7), 0);
	struct seen s = list(f);
	assert_int_equal(s.n, 1);
	assert_true(s.locks[0].is_damaged);
	assert_false(s.locks[0].is_stale);
	assert_int_equal(s.locks[0].kind, LOCK_SHARED);
	assert_int_equal(s.locks[0].created, 0);
}

/* The bytes of the lock object name, read straight from the backend. */
static void read_object(struct fixture *f, const char *name, struct buf *out)
{
	assert_int_equal(backend_get(f->b, name, out), 0);
}

static void test_encrypted_lock_hides_its_holder(void **state)
{
	struct fixture *f = *state;
	struct repo_lock *x = NULL;
	AUTOBUF struct buf obj = BUF_INIT;
	char host[HOST_LEN_MAX + 1] = "";

	if (!f->keys)
		skip(); /* only meaningful in the encrypted group */
	assert_int_equal(lock_acquire(f->b, f->keys, LOCK_SHARED, "back up", &x), 0);
	struct seen s = list(f);
	assert_int_equal(s.n, 1);
	assert_false(s.locks[0].is_damaged);
	assert_string_equal(s.locks[0].host, lock_self(x)->host);
	read_object(f, lock_self(x)->name, &obj);
	snprintf(host, sizeof(host), "%s", lock_self(x)->host);
	assert_true(strlen(host) >= 2);
	assert_null(memmem(obj.ptr, obj.len, host, strlen(host)));

	/* Under another repository's key the lock does not open: damaged. */
	uint8_t other[CRYPTO_KEY_LEN];
	memset(other, 0xa5, sizeof(other));
	struct crypto_keys *k2 = crypto_keys_new(other);
	struct seen s2 = { .n = 0 };
	assert_int_equal(lock_list(f->b, k2, collect, &s2), 0);
	crypto_keys_free(k2);
	assert_int_equal(s2.n, 1);
	assert_true(s2.locks[0].is_damaged);
	lock_release(x);
}

static int run_group(const char *name)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exclusive_excludes_exclusive_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dead_holder_is_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_lock_counts_as_running, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_encrypted_lock_hides_its_holder, setup,
						teardown),
	};
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int main(void)
{
	log_setup("test-lock", LOG_TARGET_STDERR, LOG_CRIT);
	int failed = run_group("lock, unencrypted");
	encrypted = true;
	return failed | run_group("lock, encrypted");
}
