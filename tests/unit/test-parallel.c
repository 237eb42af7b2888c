/*
 * test-parallel.c - thread_start() and parallel_for(): a started thread
 * has every signal blocked while its starter's mask is left alone; a
 * thread that cannot start is a negative errno, not an abort (and
 * thread_start_all() says how many did start); and
 * parallel_for() runs each item once, stopping at the first failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "base/parallel.h"

static void *record_mask(void *arg)
{
	sigset_t *mask = arg;
	pthread_sigmask(SIG_BLOCK, NULL, mask);
	return NULL;
}

static void test_thread_start_blocks_signals_in_the_thread_only(void **state)
{
	(void)state;
	sigset_t in_thread, after;
	pthread_t t;

	sigemptyset(&in_thread);
	assert_int_equal(thread_start(&t, record_mask, &in_thread), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(sigismember(&in_thread, SIGINT));
	assert_true(sigismember(&in_thread, SIGTERM));
	assert_true(sigismember(&in_thread, SIGHUP));
	assert_true(sigismember(&in_thread, SIGUSR1));
	pthread_sigmask(SIG_BLOCK, NULL, &after);
	assert_false(sigismember(&after, SIGINT));
	assert_false(sigismember(&after, SIGTERM));
	assert_false(sigismember(&after, SIGUSR1));
}

static void *nothing(void *arg)
{
	return arg;
}

static void test_thread_start_failure_is_negative_errno(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* needs to become another user to lower its thread limit */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* As nobody with a limit of 0 processes, no thread can start;
		 * root ignores the limit, so drop root first. */
		struct rlimit none = { 0, 0 };
		sigset_t before, after;
		pthread_t t;
		if (setgid(65534) < 0 || setuid(65534) < 0 || setrlimit(RLIMIT_NPROC, &none) < 0)
			_exit(2);
		pthread_sigmask(SIG_BLOCK, NULL, &before);
		int r = thread_start(&t, nothing, NULL);
		pthread_sigmask(SIG_BLOCK, NULL, &after);
		if (r != -EAGAIN)
			_exit(3);
		if (sigismember(&after, SIGINT) != sigismember(&before, SIGINT))
			_exit(4); /* the caller's mask must be restored on failure too */
		pthread_t ts[3];
		unsigned started = 99;
		if (thread_start_all(ts, 3, nothing, NULL, &started) != -EAGAIN || started != 0)
			_exit(5);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void *bump(void *arg)
{
	__atomic_fetch_add((unsigned *)arg, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void test_thread_start_all_starts_every_thread(void **state)
{
	(void)state;
	pthread_t ts[5];
	unsigned started = 0, ran = 0;

	assert_int_equal(thread_start_all(ts, 5, bump, &ran, &started), 0);
	assert_int_equal(started, 5);
	for (unsigned i = 0; i < started; i++)
		assert_int_equal(pthread_join(ts[i], NULL), 0);
	assert_int_equal(ran, 5);
	assert_int_equal(thread_start_all(ts, 0, bump, &ran, &started), 0);
	assert_int_equal(started, 0);
}

struct count {
	unsigned *hits;
	size_t fail_at; /* SIZE_MAX: none */
};

static int count_item(void *userdata, size_t i)
{
	struct count *c = userdata;
	__atomic_fetch_add(&c->hits[i], 1, __ATOMIC_RELAXED);
	return i == c->fail_at ? -EIO : 0;
}

static void test_parallel_for_runs_each_item_once(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct count c = { .hits = calloc(N, sizeof(unsigned)), .fail_at = SIZE_MAX };

	assert_int_equal(parallel_for(N, 8, count_item, &c), 0);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(c.hits[i], 1);
	assert_int_equal(parallel_for(0, 8, count_item, &c), 0);
	free(c.hits);
}

static void test_parallel_for_stops_at_the_first_failure(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct count c = { .hits = calloc(N, sizeof(unsigned)), .fail_at = 10 };
	size_t ran = 0;

	assert_int_equal(parallel_for(N, 4, count_item, &c), -EIO);
	for (size_t i = 0; i < N; i++) {
		assert_true(c.hits[i] <= 1);
		ran += c.hits[i];
	}
	assert_int_equal(c.hits[10], 1);
	/* items already handed out finish; no new ones start */
	assert_true(ran < N);
	free(c.hits);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_start_blocks_signals_in_the_thread_only),
		cmocka_unit_test(test_thread_start_failure_is_negative_errno),
		cmocka_unit_test(test_thread_start_all_starts_every_thread),
		cmocka_unit_test(test_parallel_for_runs_each_item_once),
		cmocka_unit_test(test_parallel_for_stops_at_the_first_failure),
	};
	return cmocka_run_group_tests_name("parallel", tests, NULL, NULL);
}
