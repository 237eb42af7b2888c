/*
 * http.c - every HTTP request cairn makes goes through http_request(): the
 * S3 backend signs its requests and hands them here, the HTTP backend sends
 * them as they are.
 *
 * Connections: a client keeps a small locked pool of curl multi handles,
 * each with its connection cache. A thread takes one for a request and
 * gives it back, so keep-alive connections, the DNS cache and TLS sessions
 * outlive the request and are reused by whichever thread comes next; as
 * many requests run at once as there are threads asking. Every attempt of
 * every request runs on an easy handle of its own, never a reused one:
 * libcurl 7.88 (Debian 12) keeps a pointer to the last header a transfer
 * stored after freeing it, and a reused handle whose next reply starts its
 * headers with a folded line (a space or a tab) writes through it (a use
 * after free a hostile server can send; fixed in curl 8.1.0, curl#11101;
 * found by fuzz-http-reply).
 *
 * Failures: an attempt that fails in transit (reset, timeout, truncated
 * body) or gets 408, 429 or a 5xx is tried again after an exponential
 * backoff with jitter, bounded both in attempts and in time, so a reader
 * gets an answer or an error in bounded time and never hangs: every attempt
 * has a connect timeout, a low-speed limit and a whole-request timeout, and
 * with a deadline (cairnfs sets one) the attempts and backoff together end
 * by it, so a read of an unanswering store fails in bounded time. The
 * final failure is mapped to -errno once, here, and logged with what the
 * caller named the request ("get 's3://bucket/prefix/config'") and the HTTP
 * status or curl's error. URLs and header lines are never logged: they can
 * carry presigned queries and Authorization headers.
 *
 * Ranges: a request with has_range sends "Range: bytes=a-b" and accepts only
 * exactly those bytes: a 206 whose Content-Range starts elsewhere is
 * malformed, one that ends early because the object does is -EBADMSG, one
 * that is merely cut short is retried. A server that ignores Range and sends
 * the whole object (200) is handled too: the slice is kept as it streams by
 * and the transfer stops once the slice is complete.
 *
 * Bounds: a reply without a range may be at most req->body_max bytes (the
 * backend's bound for that kind of object); past it the transfer stops and
 * the request fails with -EFBIG, so an endless or enormous reply costs a
 * reader a bounded amount of memory. Captured headers and error bodies stay
 * under 64 KiB.
 */
#include "backend/http.h"
#include "base/log.h"

#include <assert.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <time.h>

#define POOL_MAX 32		/* idle handles kept per client */
#define CAPTURE_MAX (64 * 1024) /* bound on captured headers and error bodies */
#define LOW_SPEED_BYTES 1024	/* slower than this ... */
#define LOW_SPEED_SECONDS 30	/* ... for this long aborts an attempt */
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 5000
#define ATTEMPT_MIN_MS 500 /* no retry starts with less time than this before the deadline */

struct http {
	struct http_options opts; /* defaults filled in; opts.cacert points to cacert */
	char *cacert;		  /* owned copy, or NULL */
	pthread_mutex_t lock;
	CURLM *idle[POOL_MAX]; /* guarded by lock */
	size_t n_idle;	       /* guarded by lock */
};

/* The state of one attempt, shared with curl's callbacks. */
struct transfer {
	const struct http_request *req;
	CURL *curl;
	struct buf *out;  /* where a 2xx body goes, or NULL */
	size_t out_start; /* out->len before the request */
	struct http_response *resp;
	uint64_t body_seen; /* bytes of a 2xx body received */
	size_t read_off;    /* upload position */
	bool got_enough;    /* a 200 reply to a range request was stopped once the slice was in */
	bool overflow;	    /* a 206 reply was longer than asked */
	bool too_big;	    /* a reply without a range passed req->body_max */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc; /* written once under global_once */

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_new(const struct http_options *opts, struct http **ret)
{
	struct http *h;

	pthread_once(&global_once, global_init);
	if (global_rc == CURLE_FAILED_INIT)
		return -ELIBACC; /* libcurl could not be loaded: curl-load.c said why */
	if (global_rc != CURLE_OK)
		return log_error_errno(-ENOMEM, "cannot initialise libcurl: %s",
				       curl_easy_strerror(global_rc));
	h = xcalloc(1, sizeof(*h));
	h->opts = *opts;
	if (opts->cacert)
		h->cacert = xstrdup(opts->cacert);
	h->opts.cacert = h->cacert;
	if (!h->opts.connect_timeout_s)
		h->opts.connect_timeout_s = 10;
	if (!h->opts.timeout_s)
		h->opts.timeout_s = 300;
	if (!h->opts.retries)
		h->opts.retries = 4;
	if (!h->opts.retry_budget_s)
		h->opts.retry_budget_s = 60;
	if (h->opts.deadline_s) {
		h->opts.retry_budget_s = MIN(h->opts.retry_budget_s, h->opts.deadline_s);
		h->opts.timeout_s = MIN(h->opts.timeout_s, h->opts.deadline_s);
		h->opts.connect_timeout_s = MIN(h->opts.connect_timeout_s, h->opts.deadline_s);
	}
	pthread_mutex_init(&h->lock, NULL);
	*ret = h;
	return 0;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_idle; i++)
		curl_multi_cleanup(h->idle[i]);
	pthread_mutex_destroy(&h->lock);
	free(h->cacert);
	free(h);
}

static CURLM *pool_take(struct http *h)
{
	CURLM *m = NULL;

	pthread_mutex_lock(&h->lock);
	if (h->n_idle > 0)
		m = h->idle[--h->n_idle];
	pthread_mutex_unlock(&h->lock);
	return m ? m : curl_multi_init();
}

static void pool_give(struct http *h, CURLM *m)
{
	pthread_mutex_lock(&h->lock);
	if (h->n_idle < POOL_MAX) {
		h->idle[h->n_idle++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	if (m)
		curl_multi_cleanup(m);
}

/* Runs the transfer of easy handle c on m, whose connection cache it shares
 * with the requests before it, and waits for it to end. */
static CURLcode perform(CURLM *m, CURL *c)
{
	CURLcode rc = CURLE_OK;
	CURLMsg *msg;
	int running = 1, left;

	if (curl_multi_add_handle(m, c) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	while (running) {
		CURLMcode mc = curl_multi_perform(m, &running);
		if (mc == CURLM_OK && running)
			mc = curl_multi_poll(m, NULL, 0, 1000, NULL);
		if (mc != CURLM_OK) {
			rc = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_SEND_ERROR;
			break;
		}
	}
	while ((msg = curl_multi_info_read(m, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == c)
			rc = msg->data.result;
	curl_multi_remove_handle(m, c);
	return rc;
}

void http_response_release(struct http_response *resp)
{
	if (!resp)
		return;
	buf_release(&resp->headers);
	buf_release(&resp->error_body);
	resp->status = 0;
}

static void append_bounded(struct buf *b, const char *data, size_t len)
{
	if (b->len < CAPTURE_MAX)
		buf_append(b, data, MIN(len, CAPTURE_MAX - b->len));
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * n;

	/* a new status line: a 100 Continue or a redirect came before */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		buf_reset(&t->resp->headers);
		buf_reset(&t->resp->error_body);
	}
	append_bounded(&t->resp->headers, data, len);
	return len;
}

/* Keeps the part of a whole-object (200) reply that the range asked for. */
static size_t keep_slice(struct transfer *t, const char *data, size_t len)
{
	uint64_t lo = t->req->range_off, hi = lo + t->req->range_len;
	uint64_t from = MAX(t->body_seen, lo), to = MIN(t->body_seen + len, hi);

	if (from < to)
		buf_append(t->out, data + (from - t->body_seen), (size_t)(to - from));
	t->body_seen += len;
	if (t->body_seen >= hi) {
		t->got_enough = true;
		return 0; /* stop the transfer: the rest is not wanted */
	}
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * n;
	long status = 0;

	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		append_bounded(&t->resp->error_body, data, len);
		return len;
	}
	if (!t->out)
		return len;
	if (!t->req->has_range) {
		size_t max = t->req->body_max ? t->req->body_max : HTTP_BODY_MAX;
		if (len > max - MIN(max, t->body_seen)) {
			t->too_big = true;
			return 0; /* stop: this is not an object of ours */
		}
		buf_append(t->out, data, len);
		t->body_seen += len;
		return len;
	}
	if (status != 206)
		return keep_slice(t, data, len);
	if (len > t->req->range_len - (t->out->len - t->out_start)) {
		t->overflow = true;
		return 0;
	}
	buf_append(t->out, data, len);
	t->body_seen += len;
	return len;
}

static size_t on_read(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = MIN(size * n, t->req->body_len - t->read_off);

	memcpy(data, (const char *)t->req->body + t->read_off, len);
	t->read_off += len;
	return len;
}

static int on_seek(void *userdata, curl_off_t off, int origin)
{
	struct transfer *t = userdata;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > t->req->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	t->read_off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

/* Sets up one attempt, which may last at most time_left_ms, on its new
 * easy handle. */
static void setup(struct http *h, struct transfer *t, struct curl_slist *headers, char *errbuf,
		  uint64_t time_left_ms)
{
	CURL *c = t->curl;
	const struct http_request *req = t->req;

	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cairn");
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)MIN(h->opts.connect_timeout_s * 1000ULL, time_left_ms));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 (long)MIN(h->opts.timeout_s * 1000ULL, time_left_ms));
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
			 (long)MIN(LOW_SPEED_SECONDS, h->opts.timeout_s));
	if (h->opts.insecure_tls) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (h->opts.cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->opts.cacert);
	if (h->opts.follow_redirects) {
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);

	switch (req->method) {
	case HTTP_GET:
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		break;
	case HTTP_HEAD:
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		break;
	case HTTP_PUT:
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, t);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
		break;
	case HTTP_POST:
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		break;
	case HTTP_DELETE:
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
		break;
	}
}

static int curl_err(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return -ECONNRESET;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	/* Our URLs are http or https: this is what curl says of a reply
	 * without an HTTP/1.x status line (HTTP/0.9), a malformed reply. */
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_PARTIAL_FILE:
	case CURLE_WRITE_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
		return -EPROTO;
	default:
		return -EIO;
	}
}

/* Failures worth another attempt: the next one may well succeed. */
static bool curl_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

int http_status_errno(long status)
{
	if (status >= 200 && status <= 299)
		return 0;
	switch (status) {
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 405:
	case 501:
		return -EOPNOTSUPP;
	case 408:
		return -ETIMEDOUT;
	case 416:
		return -EBADMSG;
	default:
		return status >= 500 || status == 429 ? -EIO : -EPROTO;
	}
}

static bool status_transient(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status != 501);
}

void http_range_value(uint64_t off, size_t len, char out[HTTP_RANGE_MAX])
{
	assert(len > 0);
	snprintf(out, HTTP_RANGE_MAX, "bytes=%" PRIu64 "-%" PRIu64, off, off + len - 1);
}

char *http_response_header(const struct http_response *resp, const char *name)
{
	const char *p = (const char *)resp->headers.ptr;
	const char *end = p ? p + resp->headers.len : NULL; /* NULL: no headers */
	size_t nlen = strlen(name);

	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;
		if ((size_t)(line_end - p) > nlen && strncasecmp(p, name, nlen) == 0 &&
		    p[nlen] == ':') {
			const char *v = p + nlen + 1;
			while (v < line_end && (*v == ' ' || *v == '\t'))
				v++;
			/* not strchr(): it would find the NUL too */
			while (line_end > v && (line_end[-1] == ' ' || line_end[-1] == '\t' ||
						line_end[-1] == '\r'))
				line_end--;
			size_t len = (size_t)(line_end - v);
			if (memchr(v, '\0', len))
				return NULL; /* a NUL is never valid in a field value */
			/* not strndup(): the block has no NUL at its end to stop
			 * ASan's strict string checks */
			char *value = xmalloc(len + 1);
			memcpy(value, v, len);
			value[len] = '\0';
			return value;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* Parses decimal digits at *p (at least one, no sign, no overflow). */
static int parse_u64(const char **p, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -EPROTO;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*ret = v;
	return 0;
}

int http_parse_content_range(const char *value, uint64_t *ret_first, uint64_t *ret_last,
			     uint64_t *ret_total)
{
	uint64_t first = UINT64_MAX, last = UINT64_MAX, total = UINT64_MAX;
	const char *p = value;

	if (strncmp(p, "bytes ", 6) != 0)
		return -EPROTO;
	p += 6;
	if (*p == '*') {
		p++;
	} else if (parse_u64(&p, &first) < 0 || *p++ != '-' || parse_u64(&p, &last) < 0 ||
		   last < first) {
		return -EPROTO;
	}
	if (*p++ != '/')
		return -EPROTO;
	if (*p == '*')
		p++;
	else if (parse_u64(&p, &total) < 0 || (last != UINT64_MAX && last >= total))
		return -EPROTO;
	if (*p != '\0' || (first == UINT64_MAX && total == UINT64_MAX))
		return -EPROTO;
	*ret_first = first;
	*ret_last = last;
	*ret_total = total;
	return 0;
}

/* Checks a 2xx reply to a range request. Sets *retry when the reply was
 * merely cut short. */
static int check_range(const struct transfer *t, long status, bool *retry)
{
	const struct http_request *req = t->req;
	size_t got = t->out->len - t->out_start;
	uint64_t end = req->range_off + req->range_len; /* exclusive */
	AUTOFREE char *cr = NULL;
	uint64_t first, last, total;

	*retry = false;
	if (status == 206) {
		cr = http_response_header(t->resp, "content-range");
		if (!cr || http_parse_content_range(cr, &first, &last, &total) < 0 ||
		    first != req->range_off) {
			AUTOFREE char *shown = cr ? str_printable(cr, strlen(cr)) : NULL;
			return log_error_errno(-EPROTO, "%s: reply to a range request has %s '%s'",
					       req->what, cr ? "Content-Range" : "no Content-Range",
					       shown ? shown : "");
		}
		if (got == req->range_len)
			return 0;
		if ((total != UINT64_MAX && total < end) || last + 1 < end)
			return log_error_errno(-EBADMSG,
					       "%s: the object ends at byte %" PRIu64
					       ", before the range does",
					       req->what, last + 1);
	} else {
		if (got == req->range_len)
			return 0;
		if (!t->got_enough && t->body_seen < end)
			return log_error_errno(-EBADMSG,
					       "%s: the object ends at byte %" PRIu64
					       ", before the range does",
					       req->what, t->body_seen);
	}
	*retry = true;
	return -EPROTO;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* Exponential backoff with jitter: half the step plus a random part of it,
 * so clients that failed together do not come back together. */
static unsigned backoff_ms(unsigned attempt)
{
	unsigned step = BACKOFF_FIRST_MS << MIN(attempt, 5u);
	uint64_t r = mix64(now_ns() ^ (uint64_t)(uintptr_t)&step);

	step = MIN(step, BACKOFF_MAX_MS);
	return step / 2 + (unsigned)(r % (step / 2 + 1));
}

/* Milliseconds left before the request's deadline; UINT64_MAX without one. */
static uint64_t time_left_ms(const struct http *h, uint64_t started)
{
	uint64_t spent_ms = (now_ns() - started) / 1000000ULL;
	uint64_t limit_ms = h->opts.deadline_s * 1000ULL;

	if (!h->opts.deadline_s)
		return UINT64_MAX;
	return spent_ms >= limit_ms ? 1 : limit_ms - spent_ms;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct curl_slist *build_headers(const struct http_request *req)
{
	struct curl_slist *list = NULL, *next;
	char range[HTTP_RANGE_MAX + 8];

	/* no "Expect: 100-continue" round trip before a body */
	list = curl_slist_append(list, "Expect:");
	for (size_t i = 0; list && i < req->n_headers; i++) {
		next = curl_slist_append(list, req->headers[i]);
		if (!next)
			break;
		list = next;
	}
	if (list && req->has_range) {
		memcpy(range, "Range: ", 7);
		http_range_value(req->range_off, req->range_len, range + 7);
		next = curl_slist_append(list, range);
		if (next)
			list = next;
	}
	return list;
}

int http_request(struct http *h, const struct http_request *req, struct buf *out,
		 struct http_response *resp)
{
	struct http_response local = HTTP_RESPONSE_INIT;
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE];
	uint64_t started = now_ns();
	size_t out_start = out ? out->len : 0;
	CURLcode rc = CURLE_OK;
	unsigned attempt;
	bool retry = false, overflow = false, too_big = false;
	long status;
	CURLM *m;
	CURL *c;
	int r;

	assert(!req->has_range || (out && req->range_len > 0));
	if (!resp)
		resp = &local;
	*resp = HTTP_RESPONSE_INIT;
	m = pool_take(h);
	headers = build_headers(req);
	if (!m || !headers) {
		if (m)
			pool_give(h, m);
		curl_slist_free_all(headers);
		return log_error_errno(-ENOMEM, "%s: cannot set up the request", req->what);
	}

	for (attempt = 0;; attempt++) {
		struct transfer t = { .req = req, .out = out, .out_start = out_start, .resp = resp };

		if (out)
			out->len = out_start;
		buf_reset(&resp->headers);
		buf_reset(&resp->error_body);
		resp->status = 0;
		errbuf[0] = '\0';
		c = curl_easy_init();
		t.curl = c;
		if (!c) {
			rc = CURLE_OUT_OF_MEMORY;
			r = -ENOMEM;
			break;
		}
		setup(h, &t, headers, errbuf, time_left_ms(h, started));
		rc = perform(m, c);
		if (rc == CURLE_WRITE_ERROR && t.got_enough)
			rc = CURLE_OK;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		if (rc != CURLE_OK && t.too_big) {
			r = -EFBIG;
			retry = false;
			too_big = true;
		} else if (rc != CURLE_OK) {
			r = t.overflow ? -EPROTO : curl_err(rc);
			retry = curl_transient(rc);
			overflow = t.overflow;
		} else if (resp->status >= 200 && resp->status <= 299) {
			r = req->has_range ? check_range(&t, resp->status, &retry) : 0;
		} else {
			r = http_status_errno(resp->status);
			retry = status_transient(resp->status);
		}
		curl_easy_cleanup(c); /* its connection stays in m's cache */
		if (r == 0 || !retry || attempt >= h->opts.retries)
			break;
		unsigned delay = backoff_ms(attempt);
		if (now_ns() - started + delay * 1000000ULL >
		    h->opts.retry_budget_s * 1000000000ULL)
			break;
		if (time_left_ms(h, started) < delay + ATTEMPT_MIN_MS)
			break; /* no time left for a useful attempt before the deadline */
		if (rc != CURLE_OK)
			log_info("%s: %s, trying again in %u ms", req->what,
				 errbuf[0] ? errbuf : curl_easy_strerror(rc), delay);
		else if (resp->status < 200 || resp->status > 299)
			log_info("%s: HTTP %ld, trying again in %u ms", req->what, resp->status,
				 delay);
		else
			log_info("%s: the reply was cut short, trying again in %u ms", req->what,
				 delay);
		sleep_ms(delay);
	}
	resp->attempts = attempt + 1;
	pool_give(h, m);
	curl_slist_free_all(headers);
	status = resp->status;
	http_response_release(&local);
	if (r == 0)
		return 0;
	if (out)
		out->len = out_start;
	if (too_big)
		return log_error_errno(r,
				       "%s: the reply is larger than %zu bytes, more than any "
				       "object of this kind",
				       req->what, req->body_max ? req->body_max : HTTP_BODY_MAX);
	if (rc != CURLE_OK)
		return log_error_errno(r, "%s: %s (%u %s)", req->what,
				       overflow	   ? "the reply is longer than the range asked for"
				       : errbuf[0] ? errbuf
						   : curl_easy_strerror(rc),
				       attempt + 1, attempt ? "attempts" : "attempt");
	if (status < 200 || status > 299) {
		if (status == 404 || req->quiet)
			return r;
		return log_error_errno(r, "%s: HTTP %ld%s", req->what, status,
				       attempt ? " (after retries)" : "");
	}
	if (retry)
		return log_error_errno(r, "%s: the reply was cut short (%u %s)", req->what,
				       attempt + 1, attempt ? "attempts" : "attempt");
	return r; /* check_range() said what was wrong */
}
