/*
 * util.c - allocation that cannot fail quietly, clocks, and full reads and
 * writes that hide EINTR and short transfers from callers.
 */
#include "base/util.h"

#include <stdarg.h>
#include <time.h>

static void out_of_memory(void)
{
	fputs("cairn: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

int grow_array(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t max = elem ? SIZE_MAX / elem : SIZE_MAX;
	size_t n;
	void *q;

	if (need <= *cap)
		return 0;
	if (need > max)
		return -EOVERFLOW;
	n = *cap ? *cap : GROW_ARRAY_MIN;
	while (n < need)
		n = n > max / 2 ? need : n * 2;
	n = MIN(n, max);
	q = realloc(*p, MAX(n * elem, (size_t)1));
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

void xgrow_array(void **p, size_t *cap, size_t need, size_t elem)
{
	int r = grow_array(p, cap, need, elem);

	if (r == -ENOMEM)
		out_of_memory();
	if (r < 0) {
		fputs("cairn: an array would outgrow the address space\n", stderr);
		abort();
	}
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		out_of_memory();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		out_of_memory();
	va_end(ap);
	return p;
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

void format_size(uint64_t bytes, char out[16])
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, 16, "%" PRIu64 " B", bytes);
	else
		snprintf(out, 16, "%.1f %s", v, units[u]);
}
