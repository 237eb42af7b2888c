/*
 * util.h - small helpers every module uses: cleanup attributes for ownership,
 * little-endian load/store for on-disk formats, hex encoding, and the
 * attributes that make dropped errors fail the build.
 */
#ifndef CAIRN_UTIL_H
#define CAIRN_UTIL_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WARN_UNUSED __attribute__((warn_unused_result))
#define UNUSED __attribute__((unused))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define CLEANUP(fn) __attribute__((cleanup(fn)))
#define AUTOFREE CLEANUP(cleanup_free)
#define AUTOCLOSE CLEANUP(cleanup_close)
#define AUTOFCLOSE CLEANUP(cleanup_fclose)
#define TAKE(p)                            \
	({                                 \
		__typeof__(p) take_ = (p); \
		(p) = NULL;                \
		take_;                     \
	})
/* TAKE() for a struct owned by value: hands it on and leaves it zeroed, so
 * its CLEANUP(x_release) has nothing left to free. */
#define TAKE_STRUCT(s)                      \
	({                                  \
		__typeof__(s) take_ = (s);  \
		(s) = (__typeof__(s)){ 0 }; \
		take_;                      \
	})
#define TAKE_FD(fd)               \
	({                        \
		int take_ = (fd); \
		(fd) = -1;        \
		take_;            \
	})

/* DEFINE_FREEP(struct pack_writer, pack_writer_free) defines
 * pack_writer_freep(), the cleanup companion of a destructor that accepts
 * NULL, so an owning local reads
 *	CLEANUP(pack_writer_freep) struct pack_writer *w = NULL;
 * Every destructor of a heap object has one, next to its declaration. */
#define DEFINE_FREEP(type, fn)             \
	static inline void fn##p(type **p) \
	{                                  \
		fn(*p);                    \
	}

static inline void cleanup_free(void *pp)
{
	free(*(void **)pp);
}

static inline void cleanup_close(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cleanup_fclose(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Writes 2*len lowercase hex digits and a NUL to out (2*len+1 bytes). */
static inline void hex_encode(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Parses exactly 2*len hex digits; returns 0 or -EINVAL. */
static inline int hex_decode(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < 2 * len; i++) {
		char c = hex[i];
		int v;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return -EINVAL;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return hex[2 * len] == '\0' ? 0 : -EINVAL;
}

/* Allocation that aborts on failure: for small bookkeeping only, never for
 * sizes that come from untrusted input (bound those first). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* The capacity a growing array starts from. */
#define GROW_ARRAY_MIN 16
/* Makes room in *p, an array with room for *cap elements of elem bytes, for
 * at least need elements. The capacity at least doubles (from
 * GROW_ARRAY_MIN), so n appends cost O(n). Returns 0; -EOVERFLOW when need
 * elements of elem bytes would not fit in a size_t; -ENOMEM when realloc()
 * fails. *p and *cap are unchanged on failure. */
int grow_array(void **p, size_t *cap, size_t need, size_t elem) WARN_UNUSED;
/* grow_array() for bookkeeping arrays: aborts where it fails, as xrealloc()
 * does. */
void xgrow_array(void **p, size_t *cap, size_t need, size_t elem);
/* The same for a typed array arr whose capacity is the size_t cap:
 *	if (GROW_ARRAY(l->v, l->cap, l->n + 1) < 0) return -ENOMEM;
 *	XGROW_ARRAY(l->v, l->cap, l->n + 1); */
#define GROW_ARRAY(arr, cap, need)                                                  \
	({                                                                          \
		void *grow_p_ = (arr);                                              \
		int grow_r_ = grow_array(&grow_p_, &(cap), (need), sizeof(*(arr))); \
		(arr) = grow_p_;                                                    \
		grow_r_;                                                            \
	})
#define XGROW_ARRAY(arr, cap, need)                                     \
	do {                                                            \
		void *xgrow_p_ = (arr);                                 \
		xgrow_array(&xgrow_p_, &(cap), (need), sizeof(*(arr))); \
		(arr) = xgrow_p_;                                       \
	} while (0)

/* Human-readable size, "1.5 GiB", into out (16 bytes). */
void format_size(uint64_t bytes, char out[16]);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* Writes all of buf to fd, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len) WARN_UNUSED;
/* The same at offset off, with pwrite(2). */
int pwrite_all(int fd, const void *buf, size_t len, uint64_t off) WARN_UNUSED;

/* Reads up to len bytes at off, stopping early only at end of file.
 * Returns the number of bytes read or -errno. */
ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off) WARN_UNUSED;

#endif
