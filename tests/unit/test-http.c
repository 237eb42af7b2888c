/*
 * test-http.c - store/backend/http.c over real sockets: a static server with
 * byte ranges (tests/http-range-server.py) behind the fault proxy
 * (tests/fault-proxy.py), both started on free loopback ports by the group
 * setup, and Python's plain http.server, which ignores Range. Whole and
 * ranged reads, ranges past the end, a whole body for a range, the mapping of
 * statuses to -errno, which failures are retried and how often (503, 429,
 * a reset connection, a body cut short), which are not (403, 404, 405), the
 * retry count, and the deadline that bounds a request to a hanging server.
 * Also the pure helpers: Content-Range parsing, Range values and statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/http.h"
#include "base/log.h"
#include "unit.h"

#define OBJECT_SIZE (100u << 10)

struct fixture {
	char dir[64];
	pid_t server, proxy, plain;
	unsigned server_port, proxy_port, plain_port;
	uint8_t *object;      /* the bytes of dir/www/obj */
	struct http *http;    /* retries 3, no deadline */
	struct http *control; /* for /__fault/ requests */
};

/* The directory of the test scripts: $CAIRN_TEST_DATA/.. (run-tests.sh sets
 * it), else tests/ of the working directory. */
static void scripts_dir(char *out, size_t size)
{
	const char *data = getenv("CAIRN_TEST_DATA");
	snprintf(out, size, "%s", data && *data ? data : "tests/data");
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(out, size, ".");
}

static pid_t spawn(const char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Waits (polling, up to 20 s) for pid to write its port to path. */
static int wait_port(pid_t pid, const char *path, unsigned *ret)
{
	for (int i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "r");
		if (f) {
			int n = fscanf(f, "%u", ret);
			fclose(f);
			if (n == 1 && *ret > 0)
				return 0;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1; /* it died */
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char scripts[PATH_MAX], prog[PATH_MAX + 32], www[128], pf[128], pf2[128], up[32], obj[160];

	if (!f || unit_mkdtemp(f->dir, sizeof(f->dir), "http") < 0)
		return -1;
	*state = f;
	f->object = malloc(OBJECT_SIZE);
	if (!f->object)
		return -1;
	unit_fill_random(f->object, OBJECT_SIZE, 11);
	snprintf(www, sizeof(www), "%s/www", f->dir);
	snprintf(obj, sizeof(obj), "%s/obj", www);
	if (mkdir(www, 0755) < 0 || unit_write_file(obj, OBJECT_SIZE, 11) < 0)
		return -1;

	scripts_dir(scripts, sizeof(scripts));
	snprintf(prog, sizeof(prog), "%s/http-range-server.py", scripts);
	snprintf(pf, sizeof(pf), "%s/server.port", f->dir);
	const char *server_argv[] = { "python3",     prog, "--bind",	  "127.0.0.1",
				      "--directory", www,  "--port-file", pf,
				      "0",	     NULL };
	f->server = spawn(server_argv);
	if (f->server < 0 || wait_port(f->server, pf, &f->server_port) < 0)
		return -1;

	snprintf(prog, sizeof(prog), "%s/fault-proxy.py", scripts);
	snprintf(pf2, sizeof(pf2), "%s/proxy.port", f->dir);
	snprintf(up, sizeof(up), "127.0.0.1:%u", f->server_port);
	const char *proxy_argv[] = { "python3",	    prog, "--upstream", up,
				     "--port-file", pf2,  "0",		NULL };
	f->proxy = spawn(proxy_argv);
	if (f->proxy < 0 || wait_port(f->proxy, pf2, &f->proxy_port) < 0)
		return -1;

	/* Python's own static server, which ignores Range: every GET gets 200
	 * and the whole file. */
	snprintf(pf, sizeof(pf), "%s/plain.port", f->dir);
	const char *plain_argv[] = {
		"python3",
		"-c",
		"import functools, http.server, os, sys\n"
		"h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])\n"
		"h.log_message = lambda *a: None\n"
		"s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)\n"
		"open(sys.argv[2] + '.tmp', 'w').write(str(s.server_address[1]))\n"
		"os.replace(sys.argv[2] + '.tmp', sys.argv[2])\n"
		"s.serve_forever()\n",
		www,
		pf,
		NULL,
	};
	f->plain = spawn(plain_argv);
	if (f->plain < 0 || wait_port(f->plain, pf, &f->plain_port) < 0)
		return -1;

	struct http_options o = { .retries = 3, .timeout_s = 20 };
	struct http_options c = { .retries = 1, .timeout_s = 10 };
	if (http_new(&o, &f->http) < 0 || http_new(&c, &f->control) < 0)
		return -1;
	return 0;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	http_free(f->http);
	http_free(f->control);
	stop(f->proxy);
	stop(f->server);
	stop(f->plain);
	if (f->dir[0])
		unit_rm_rf(f->dir);
	free(f->object);
	free(f);
	return 0;
}

/* Sends a control request to the proxy: "arm?mode=status-503&count=2",
 * "clear", ... */
static void proxy_control(struct fixture *f, const char *what)
{
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/__fault/%s", f->proxy_port, what);
	struct http_request req = { .method = HTTP_GET, .url = url, .what = "fault control" };
	assert_int_equal(http_request(f->control, &req, NULL, NULL), 0);
}

/* GETs path through the proxy, with a range when len > 0. */
static int get(struct fixture *f, struct http *h, const char *path, uint64_t off, size_t len,
	       struct buf *out, unsigned *ret_attempts)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	char url[256];
	int r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/%s", f->proxy_port, path);
	struct http_request req = {
		.method = HTTP_GET,
		.url = url,
		.what = "get 'obj'",
		.has_range = len > 0,
		.range_off = off,
		.range_len = len,
	};
	r = http_request(h, &req, out, &resp);
	if (ret_attempts)
		*ret_attempts = resp.attempts;
	http_response_release(&resp);
	return r;
}

static void test_whole_and_ranged_reads(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf out = BUF_INIT;
	unsigned attempts;

	assert_int_equal(get(f, f->http, "obj", 0, 0, &out, &attempts), 0);
	assert_int_equal(attempts, 1);
	assert_int_equal(out.len, OBJECT_SIZE);
	assert_memory_equal(out.ptr, f->object, OBJECT_SIZE);

	/* A range is appended after what out holds. */
	assert_int_equal(get(f, f->http, "obj", 1000, 5000, &out, &attempts), 0);
	assert_int_equal(out.len, OBJECT_SIZE + 5000);
	assert_memory_equal(out.ptr + OBJECT_SIZE, f->object + 1000, 5000);

	buf_reset(&out);
	assert_int_equal(get(f, f->http, "obj", OBJECT_SIZE - 1, 1, &out, NULL), 0);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.ptr[0], f->object[OBJECT_SIZE - 1]);
	assert_int_equal(get(f, f->http, "obj", 0, OBJECT_SIZE, &out, NULL), 0);
	assert_memory_equal(out.ptr + 1, f->object, OBJECT_SIZE);
}

static void test_ranges_past_the_end(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf out = BUF_INIT;
	unsigned attempts;

	/* Starting past the end: 416. Not retried; nothing appended. */
	assert_int_equal(get(f, f->http, "obj", OBJECT_SIZE, 10, &out, &attempts), -EBADMSG);
	assert_int_equal(attempts, 1);
	assert_int_equal(out.len, 0);
	/* Reaching past the end: the server sends what there is, which is
	 * damage (the object is shorter than its index says), not a reason to
	 * ask again. */
	assert_int_equal(get(f, f->http, "obj", OBJECT_SIZE - 10, 100, &out, &attempts), -EBADMSG);
	assert_int_equal(attempts, 1);
	assert_int_equal(out.len, 0);
}

static void test_ranges_from_a_server_that_ignores_them(void **state)
{
	struct fixture *f = *state;
	struct http_response resp = HTTP_RESPONSE_INIT;
	AUTOBUF struct buf out = BUF_INIT;
	char url[256];

	/* A 200 with the whole object: only the range asked for is kept. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/obj", f->plain_port);
	struct http_request req = {
		.method = HTTP_GET,
		.url = url,
		.what = "get 'obj'",
		.has_range = true,
		.range_off = 30000,
		.range_len = 7000,
	};
	buf_append(&out, "kept", 4);
	assert_int_equal(http_request(f->http, &req, &out, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.attempts, 1);
	assert_int_equal(out.len, 4 + 7000);
	assert_memory_equal(out.ptr, "kept", 4);
	assert_memory_equal(out.ptr + 4, f->object + 30000, 7000);
	http_response_release(&resp);

	/* The first byte and the last. */
	buf_reset(&out);
	req.range_off = 0;
	req.range_len = 1;
	assert_int_equal(http_request(f->http, &req, &out, NULL), 0);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.ptr[0], f->object[0]);
	buf_reset(&out);
	req.range_off = OBJECT_SIZE - 1;
	assert_int_equal(http_request(f->http, &req, &out, NULL), 0);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.ptr[0], f->object[OBJECT_SIZE - 1]);

	/* An object that ends before the range does is damage: -EBADMSG, once,
	 * and nothing appended. */
	buf_reset(&out);
	req.range_off = OBJECT_SIZE - 10;
	req.range_len = 100;
	assert_int_equal(http_request(f->http, &req, &out, &resp), -EBADMSG);
	assert_int_equal(resp.attempts, 1);
	assert_int_equal(out.len, 0);
	http_response_release(&resp);
}

static void test_statuses_that_are_answers(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf out = BUF_INIT;
	unsigned attempts;

	assert_int_equal(get(f, f->http, "missing", 0, 0, &out, &attempts), -ENOENT);
	assert_int_equal(attempts, 1);
	proxy_control(f, "arm?mode=status-403&count=1");
	assert_int_equal(get(f, f->http, "obj", 0, 0, &out, &attempts), -EACCES);
	assert_int_equal(attempts, 1);
	proxy_control(f, "arm?mode=status-405&count=1");
	assert_int_equal(get(f, f->http, "obj", 0, 0, &out, &attempts), -EOPNOTSUPP);
	assert_int_equal(attempts, 1);
	assert_int_equal(out.len, 0); /* an error body is never the data */
	proxy_control(f, "clear");
}

static void test_transient_failures_are_retried(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf out = BUF_INIT;
	unsigned attempts;

	proxy_control(f, "arm?mode=status-503&count=2");
	assert_int_equal(get(f, f->http, "obj", 0, 0, &out, &attempts), 0);
	assert_int_equal(attempts, 3);
	assert_int_equal(out.len, OBJECT_SIZE);
	assert_memory_equal(out.ptr, f->object, OBJECT_SIZE);

	proxy_control(f, "arm?mode=status-429&count=1");
	buf_reset(&out);
	assert_int_equal(get(f, f->http, "obj", 2000, 3000, &out, &attempts), 0);
	assert_int_equal(attempts, 2);
	assert_memory_equal(out.ptr, f->object + 2000, 3000);

	/* Two resets: curl itself resends once when a kept-alive connection
	 * closes unanswered, so the first may cost no attempt of ours. */
	proxy_control(f, "arm?mode=reset&count=2");
	buf_reset(&out);
	assert_int_equal(get(f, f->http, "obj", 0, 0, &out, &attempts), 0);
	assert_in_range(attempts, 2, 3);
	assert_memory_equal(out.ptr, f->object, OBJECT_SIZE);

	/* A body cut short is retried, and out holds only the full reply. */
	proxy_control(f, "arm?mode=cut&count=1");
	buf_reset(&out);
	assert_int_equal(get(f, f->http, "obj", 0, 0, &out, &attempts), 0);
	assert_int_equal(attempts, 2);
	assert_int_equal(out.len, OBJECT_SIZE);
	assert_memory_equal(out.ptr, f->object, OBJECT_SIZE);

	proxy_control(f, "arm?mode=cut&count=1");
	buf_reset(&out);
	assert_int_equal(get(f, f->http, "obj", 10000, 50000, &out, &attempts), 0);
	assert_int_equal(attempts, 2);
	assert_int_equal(out.len, 50000);
	assert_memory_equal(out.ptr, f->object + 10000, 50000);
	proxy_control(f, "clear");
}

static void test_retries_run_out(void **state)
{
	struct fixture *f = *state;
	AUTOBUF struct buf out = BUF_INIT;
	unsigned attempts;

	/* retries = 3: four attempts, then the last status's error. */
	proxy_control(f, "arm?mode=status-503&count=10");
	assert_int_equal(get(f, f->http, "obj", 0, 0, &out, &attempts), -EIO);
	assert_int_equal(attempts, 4);
	assert_int_equal(out.len, 0);
	proxy_control(f, "clear");

	/* Nothing listening: refused, after the same attempts. */
	struct http_request req = { .method = HTTP_GET,
				    .url = "http://127.0.0.1:1/obj",
				    .what = "get 'obj' from a closed port" };
	struct http_response resp = HTTP_RESPONSE_INIT;
	assert_int_equal(http_request(f->http, &req, &out, &resp), -ECONNREFUSED);
	assert_int_equal(resp.attempts, 4);
	assert_int_equal(resp.status, 0);
	http_response_release(&resp);
}

static void test_deadline_bounds_a_hanging_server(void **state)
{
	struct fixture *f = *state;
	struct http_options o = { .deadline_s = 2, .retries = 10 };
	AUTOBUF struct buf out = BUF_INIT;
	struct http *h = NULL;
	unsigned attempts;

	assert_int_equal(http_new(&o, &h), 0);
	proxy_control(f, "arm?mode=hang&count=100");
	uint64_t start = now_ns();
	assert_int_equal(get(f, h, "obj", 0, 0, &out, &attempts), -ETIMEDOUT);
	uint64_t spent_s = (now_ns() - start) / 1000000000u;
	proxy_control(f, "clear");
	http_free(h);
	/* About the deadline, and nowhere near the 300 s an attempt may take
	 * or the 10 retries' backoff; the bound is loose for a loaded machine. */
	assert_true(spent_s < 2 + 6);
	assert_true(attempts >= 1);
	assert_int_equal(out.len, 0);
}

static void test_content_range_and_status_helpers(void **state UNUSED)
{
	uint64_t first, last, total;
	char v[HTTP_RANGE_MAX];

	assert_int_equal(http_parse_content_range("bytes 0-99/1000", &first, &last, &total), 0);
	assert_true(first == 0 && last == 99 && total == 1000);
	assert_int_equal(http_parse_content_range("bytes 5-9/*", &first, &last, &total), 0);
	assert_true(first == 5 && last == 9 && total == UINT64_MAX);
	assert_int_equal(http_parse_content_range("bytes */1000", &first, &last, &total), 0);
	assert_true(first == UINT64_MAX && last == UINT64_MAX && total == 1000);
	static const char *const bad[] = {
		"",
		"bytes",
		"bytes */*",
		"bytes 9-5/10",
		"bytes 0-99",
		"items 0-9/10",
		"bytes 0-18446744073709551616/1",
		"bytes -1-5/10",
		"bytes 0-9/10 extra",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(http_parse_content_range(bad[i], &first, &last, &total), -EPROTO);

	http_range_value(0, 1, v);
	assert_string_equal(v, "bytes=0-0");
	http_range_value(1000, 5000, v);
	assert_string_equal(v, "bytes=1000-5999");
	http_range_value(UINT64_MAX - 9, 10, v);
	assert_string_equal(v, "bytes=18446744073709551606-18446744073709551615");

	assert_int_equal(http_status_errno(200), 0);
	assert_int_equal(http_status_errno(206), 0);
	assert_int_equal(http_status_errno(404), -ENOENT);
	assert_int_equal(http_status_errno(403), -EACCES);
	assert_int_equal(http_status_errno(401), -EACCES);
	assert_int_equal(http_status_errno(416), -EBADMSG);
	assert_int_equal(http_status_errno(503), -EIO);
	assert_int_equal(http_status_errno(501), -EOPNOTSUPP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_range_and_status_helpers),
		cmocka_unit_test(test_whole_and_ranged_reads),
		cmocka_unit_test(test_ranges_past_the_end),
		cmocka_unit_test(test_ranges_from_a_server_that_ignores_them),
		cmocka_unit_test(test_statuses_that_are_answers),
		cmocka_unit_test(test_transient_failures_are_retried),
		cmocka_unit_test(test_retries_run_out),
		cmocka_unit_test(test_deadline_bounds_a_hanging_server),
	};

	log_setup("test-http", LOG_TARGET_STDERR, LOG_CRIT);
	/* The servers' replies must not kill us when a connection drops. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("http", tests, setup, teardown);
}
