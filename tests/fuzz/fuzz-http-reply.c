/*
 * fuzz-http-reply.c - http_request() on whatever a server answers: status
 * line, headers (Content-Length, Content-Range, Transfer-Encoding) and body
 * come from the input, sent by a thread of this target over a loopback
 * socket, so the reply goes through libcurl and then through http.c's body,
 * range and bound handling exactly as from a real server. The first input
 * byte picks the request: a plain GET with a 4 KiB body limit, or a range
 * of 1 to 64 bytes at an offset from the second byte. Properties: a plain
 * GET that succeeds returned at most the limit; a range request that
 * succeeds returned exactly the range; a failure appends nothing; every
 * error is one of the documented ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

#include "backend/http.h"
#include "base/log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* What the server sends: a copy of the input owned here, since a late
 * connection (a retry the client gave up on) may still be answered after
 * the input is gone; replaced only under lock, which a write holds. */
static uint8_t *reply;	 /* guarded by lock */
static size_t reply_len; /* guarded by lock */
static int listen_fd = -1;
static char url[64];

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		/* Read the request's header block (or give up after a while). */
		char req[8192];
		size_t got = 0;
		struct timeval tv = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (got < sizeof(req) - 1) {
			ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		pthread_mutex_lock(&lock);
		if (reply_len > 0 && write(fd, reply, reply_len) < 0) {
			/* the client went away: fine */
		}
		pthread_mutex_unlock(&lock);
		shutdown(fd, SHUT_RDWR);
		close(fd);
	}
	return NULL;
}

static struct http *setup(void)
{
	static struct http *h;
	if (h)
		return h;
	log_setup("fuzz-http-reply", LOG_TARGET_STDERR, LOG_CRIT);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(listen_fd >= 0);
	FUZZ_CHECK(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	FUZZ_CHECK(listen(listen_fd, 16) == 0);
	FUZZ_CHECK(getsockname(listen_fd, (struct sockaddr *)&a, &alen) == 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/object", ntohs(a.sin_port));
	pthread_t t;
	FUZZ_CHECK(pthread_create(&t, NULL, serve, NULL) == 0);
	pthread_detach(t);
	struct http_options o = {
		.connect_timeout_s = 2,
		.timeout_s = 2,
		.deadline_s = 3,
		.retries = 1,
		.retry_budget_s = 1,
	};
	FUZZ_CHECK(http_new(&o, &h) == 0);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http *h = setup();
	AUTOBUF struct buf out = BUF_INIT;

	if (size < 2)
		return 0;
	bool ranged = data[0] & 1;
	struct http_request req = {
		.method = HTTP_GET,
		.url = url,
		.what = "get 'fuzz'",
		.has_range = ranged,
		.range_off = data[1],
		.range_len = 1 + (data[0] >> 2) % 64,
		.body_max = 4096,
	};
	pthread_mutex_lock(&lock);
	free(reply);
	reply = xmalloc(size - 2);
	memcpy(reply, data + 2, size - 2);
	reply_len = size - 2;
	pthread_mutex_unlock(&lock);
	buf_append(&out, "pre", 3);
	int r = http_request(h, &req, &out, NULL);
	if (r == 0) {
		if (ranged)
			FUZZ_CHECK(out.len == 3 + req.range_len);
		else
			FUZZ_CHECK(out.len <= 3 + req.body_max);
	} else {
		FUZZ_CHECK(out.len == 3);
		FUZZ_CHECK(r == -ENOENT || r == -EACCES || r == -EBADMSG || r == -EPROTO ||
			   r == -ETIMEDOUT || r == -ECONNREFUSED || r == -EHOSTUNREACH ||
			   r == -ECONNRESET || r == -EIO || r == -EOPNOTSUPP || r == -EFBIG ||
			   r == -ENOMEM);
	}
	FUZZ_CHECK(memcmp(out.ptr, "pre", 3) == 0);
	return 0;
}
