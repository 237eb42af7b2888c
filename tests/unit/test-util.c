/*
 * test-util.c - grow_array(), the one way arrays grow: contents survive,
 * capacity doubles from GROW_ARRAY_MIN, a size that would overflow is
 * -EOVERFLOW and one the allocator refuses is -ENOMEM, both leaving the
 * array and its capacity as they were; XGROW_ARRAY() aborts instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "base/util.h"

/* The -ENOMEM tests ask for more than any machine has. ASan, as the suite
 * runs it (allocator_may_return_null=0), ends the process for such a
 * request instead of failing it, so there they are skipped. */
#if defined(__SANITIZE_ADDRESS__)
#define SKIP_UNDER_ASAN() skip()
#else
#define SKIP_UNDER_ASAN() ((void)0)
#endif

static void test_grow_array_keeps_contents_and_doubles(void **state)
{
	(void)state;
	uint32_t *v = NULL;
	size_t cap = 0, n = 0, last_cap = 0;

	for (uint32_t i = 0; i < 1000; i++) {
		assert_int_equal(GROW_ARRAY(v, cap, n + 1), 0);
		assert_true(cap >= n + 1);
		if (cap != last_cap) {
			/* first GROW_ARRAY_MIN, then each growth doubles */
			assert_int_equal(cap, last_cap ? 2 * last_cap : GROW_ARRAY_MIN);
			last_cap = cap;
		}
		v[n++] = i * 7;
	}
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(v[i], i * 7);
	assert_int_equal(cap, 1024);
	free(v);
}

static void test_grow_array_jumps_to_a_large_need(void **state)
{
	(void)state;
	uint8_t *v = NULL;
	size_t cap = 0;

	assert_int_equal(GROW_ARRAY(v, cap, 1000), 0);
	assert_true(cap >= 1000);
	memset(v, 1, 1000); /* ASan checks the room is really there */
	free(v);
}

static void test_grow_array_with_room_changes_nothing(void **state)
{
	(void)state;
	uint64_t *v = NULL;
	size_t cap = 0;

	assert_int_equal(GROW_ARRAY(v, cap, 3), 0);
	uint64_t *before = v;
	size_t cap_before = cap;
	assert_int_equal(GROW_ARRAY(v, cap, cap_before), 0);
	assert_int_equal(GROW_ARRAY(v, cap, 0), 0);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, cap_before);
	free(v);
}

static void test_grow_array_overflow_leaves_array(void **state)
{
	(void)state;
	uint64_t *v = NULL;
	size_t cap = 0;

	assert_int_equal(GROW_ARRAY(v, cap, 5), 0);
	v[4] = 42;
	uint64_t *before = v;
	size_t cap_before = cap;
	/* need * 8 does not fit in a size_t */
	assert_int_equal(GROW_ARRAY(v, cap, SIZE_MAX / 8 + 1), -EOVERFLOW);
	assert_int_equal(GROW_ARRAY(v, cap, SIZE_MAX), -EOVERFLOW);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, cap_before);
	assert_int_equal(v[4], 42);
	free(v);
}

static void test_grow_array_refused_allocation_leaves_array(void **state)
{
	(void)state;
	SKIP_UNDER_ASAN();
	uint64_t *v = NULL;
	size_t cap = 0;

	assert_int_equal(GROW_ARRAY(v, cap, 5), 0);
	v[4] = 42;
	uint64_t *before = v;
	size_t cap_before = cap;
	/* fits in a size_t, but no allocator gives half the address space */
	assert_int_equal(GROW_ARRAY(v, cap, SIZE_MAX / 16), -ENOMEM);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, cap_before);
	assert_int_equal(v[4], 42);
	free(v);
}

static void test_grow_array_near_the_limit_does_not_wrap(void **state)
{
	(void)state;
	/* A capacity whose doubling would pass SIZE_MAX / elem must clamp, not
	 * wrap to a small number: the request is refused, not undersized. */
	SKIP_UNDER_ASAN();
	void *p = NULL;
	size_t cap = SIZE_MAX / 4 / 2 + 1;

	assert_int_equal(grow_array(&p, &cap, cap + 1, 4), -ENOMEM);
	assert_null(p);
	assert_int_equal(cap, SIZE_MAX / 4 / 2 + 1);
}

static void test_xgrow_array_aborts_on_overflow(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint64_t *v = NULL;
		size_t cap = 0;
		fclose(stderr); /* the message is expected */
		XGROW_ARRAY(v, cap, SIZE_MAX / 8 + 1);
		_exit(0); /* not reached */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_array_keeps_contents_and_doubles),
		cmocka_unit_test(test_grow_array_jumps_to_a_large_need),
		cmocka_unit_test(test_grow_array_with_room_changes_nothing),
		cmocka_unit_test(test_grow_array_overflow_leaves_array),
		cmocka_unit_test(test_grow_array_refused_allocation_leaves_array),
		cmocka_unit_test(test_grow_array_near_the_limit_does_not_wrap),
		cmocka_unit_test(test_xgrow_array_aborts_on_overflow),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
