/*
 * test-metrics.c - the Prometheus textfile writer: a run replaces its own
 * series and keeps the others; a failure keeps the last success time;
 * label values are escaped and read back; a hostile file (junk lines, bad
 * escapes, too many series, a symlink) is bounded and never trusted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/metrics.h"
#include "base/buf.h"
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char dir[PATH_MAX];
	char file[PATH_MAX + 16];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f || unit_mkdtemp(f->dir, sizeof(f->dir), "metrics") < 0)
		return -1;
	snprintf(f->file, sizeof(f->file), "%s/cairn.prom", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char *s = calloc(1, 1 << 20);
	assert_non_null(s);
	size_t n = fread(s, 1, (1 << 20) - 1, fp);
	s[n] = '\0';
	fclose(fp);
	return s;
}

static void spit(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_runs_merge_by_member_and_command(void **state)
{
	struct fixture *f = *state;
	struct metrics_run a = { .repo = "r",
				 .command = "backup",
				 .member = "m1",
				 .success = true,
				 .duration_ns = 1500000000,
				 .bytes_read = 10,
				 .files = 2 };
	struct metrics_run b = { .repo = "r", .command = "check", .success = true };

	assert_int_equal(metrics_write(f->file, &a, 1000), 0);
	assert_int_equal(metrics_write(f->file, &b, 2000), 0);
	a.member = "m2";
	a.bytes_read = 20;
	assert_int_equal(metrics_write(f->file, &a, 3000), 0);
	AUTOFREE char *s = slurp(f->file);
	assert_non_null(
		strstr(s,
		       "cairn_last_read_bytes{repo=\"r\",command=\"backup\",member=\"m1\"} 10\n"));
	assert_non_null(
		strstr(s,
		       "cairn_last_read_bytes{repo=\"r\",command=\"backup\",member=\"m2\"} 20\n"));
	assert_non_null(
		strstr(s, "cairn_last_success{repo=\"r\",command=\"check\",member=\"\"} 1\n"));
	assert_non_null(strstr(
		s,
		"cairn_last_duration_seconds{repo=\"r\",command=\"backup\",member=\"m1\"} 1.500\n"));
	/* One HELP and TYPE per metric, all its series below it. */
	char *type = strstr(s, "# TYPE cairn_last_success gauge\n");
	assert_non_null(type);
	assert_null(strstr(type + 1, "# TYPE cairn_last_success gauge"));
	char *next = strstr(type, "# HELP cairn_last_duration_seconds");
	assert_non_null(next);
	char *m1 = strstr(s, "cairn_last_success{repo=\"r\",command=\"backup\",member=\"m1\"}");
	assert_true(m1 > type && m1 < next);
}

static void test_failure_keeps_last_success(void **state)
{
	struct fixture *f = *state;
	struct metrics_run a = { .repo = "r", .command = "backup", .member = "m", .success = true };

	assert_int_equal(metrics_write(f->file, &a, 1000.25), 0);
	a.success = false;
	a.errors = 3;
	assert_int_equal(metrics_write(f->file, &a, 5000), 0);
	AUTOFREE char *s = slurp(f->file);
	assert_non_null(strstr(
		s,
		"cairn_last_success_timestamp_seconds{repo=\"r\",command=\"backup\",member=\"m\"} 1000.250\n"));
	assert_non_null(strstr(
		s,
		"cairn_last_attempt_timestamp_seconds{repo=\"r\",command=\"backup\",member=\"m\"} 5000.000\n"));
	assert_non_null(
		strstr(s, "cairn_last_success{repo=\"r\",command=\"backup\",member=\"m\"} 0\n"));
	assert_non_null(
		strstr(s, "cairn_last_errors{repo=\"r\",command=\"backup\",member=\"m\"} 3\n"));
}

static void test_labels_escaped_and_read_back(void **state)
{
	struct fixture *f = *state;
	struct metrics_run a = { .repo = "/srv/a \"b\"\\c\nd",
				 .command = "rehearse",
				 .member = "m",
				 .success = true };
	struct metrics_run b = { .repo = "other", .command = "check", .success = true };

	assert_int_equal(metrics_write(f->file, &a, 1), 0);
	assert_int_equal(metrics_write(f->file, &b, 2), 0); /* reads a's series back */
	AUTOFREE char *s = slurp(f->file);
	assert_non_null(
		strstr(s,
		       "cairn_last_success{repo=\"/srv/a \\\"b\\\"\\\\c\\nd\",command=\"rehearse\","
		       "member=\"m\"} 1\n"));
	assert_non_null(strstr(s, "repo=\"other\""));
}

static void test_hostile_file(void **state)
{
	struct fixture *f = *state;
	struct metrics_run a = { .repo = "r", .command = "prune", .success = true };

	spit(f->file, "junk\n"
		      "cairn_last_success{repo=\"r\",command=\"x\",member=\"bad\\q\"} 1\n"
		      "cairn_last_success{repo=\"r\",command=\"y\",member=\"ok\"} nan\n"
		      "cairn_last_success{repo=\"r\",command=\"z\",member=\"unterminated} 1\n"
		      "cairn_last_success{repo=\"r\",command=\"kept\",member=\"k\"} 1\n"
		      "other_metric{repo=\"r\",command=\"w\",member=\"\"} 1\n");
	assert_int_equal(metrics_write(f->file, &a, 1), 0);
	AUTOFREE char *s = slurp(f->file);
	assert_null(strstr(s, "junk"));
	assert_null(strstr(s, "command=\"x\""));
	assert_null(strstr(s, "command=\"y\""));
	assert_null(strstr(s, "command=\"z\""));
	assert_null(strstr(s, "other_metric"));
	assert_non_null(strstr(s, "command=\"kept\""));

	/* More series than allowed: refused, and the file is left as it was. */
	struct buf big = BUF_INIT;
	for (int i = 0; i <= METRICS_SERIES_MAX; i++)
		buf_printf(&big, "cairn_last_files{repo=\"r\",command=\"c\",member=\"m%d\"} 1\n",
			   i);
	buf_append_u8(&big, 0);
	spit(f->file, (const char *)big.ptr);
	assert_int_equal(metrics_write(f->file, &a, 1), -EBADMSG);
	AUTOFREE char *after = slurp(f->file);
	assert_string_equal(after, (const char *)big.ptr);
	buf_release(&big);

	/* A symlink in place of the file is not followed. */
	char target[PATH_MAX + 16];
	snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
	spit(target, "precious\n");
	unlink(f->file);
	assert_int_equal(symlink(target, f->file), 0);
	assert_true(metrics_write(f->file, &a, 1) < 0);
	AUTOFREE char *t = slurp(target);
	assert_string_equal(t, "precious\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_runs_merge_by_member_and_command, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failure_keeps_last_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_labels_escaped_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_file, setup, teardown),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
