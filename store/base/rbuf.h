/*
 * rbuf.h - bounded reader over untrusted bytes (repository objects, tar
 * headers, server replies). Every getter checks that the bytes exist before
 * touching them; after the first failure the reader is poisoned and every
 * later getter fails too, so a parser can read a whole record and test
 * rbuf_ok() once.
 */
#ifndef CAIRN_RBUF_H
#define CAIRN_RBUF_H

#include "base/util.h"

struct rbuf {
	const uint8_t *ptr; /* borrowed */
	size_t len;
	size_t off;
	bool failed;
};

static inline struct rbuf rbuf_make(const void *ptr, size_t len)
{
	return (struct rbuf){ ptr, len, 0, false };
}

static inline size_t rbuf_left(const struct rbuf *r)
{
	return r->failed ? 0 : r->len - r->off;
}

static inline bool rbuf_ok(const struct rbuf *r)
{
	return !r->failed;
}

/* Returns a pointer to the next n bytes and consumes them, or NULL. */
static inline const uint8_t *rbuf_take(struct rbuf *r, size_t n)
{
	if (r->failed || n > r->len - r->off) {
		r->failed = true;
		return NULL;
	}
	const uint8_t *p = r->ptr + r->off;
	r->off += n;
	return p;
}

static inline uint8_t rbuf_u8(struct rbuf *r)
{
	const uint8_t *p = rbuf_take(r, 1);
	return p ? p[0] : 0;
}

static inline uint16_t rbuf_le16(struct rbuf *r)
{
	const uint8_t *p = rbuf_take(r, 2);
	return p ? get_le16(p) : 0;
}

static inline uint32_t rbuf_le32(struct rbuf *r)
{
	const uint8_t *p = rbuf_take(r, 4);
	return p ? get_le32(p) : 0;
}

static inline uint64_t rbuf_le64(struct rbuf *r)
{
	const uint8_t *p = rbuf_take(r, 8);
	return p ? get_le64(p) : 0;
}

/* Copies n bytes into out (zeroed on failure). */
static inline void rbuf_copy(struct rbuf *r, void *out, size_t n)
{
	const uint8_t *p = rbuf_take(r, n);
	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

/* Reads a u32 length (which must be <= max) and borrows that many bytes. */
static inline const uint8_t *rbuf_blob32(struct rbuf *r, uint32_t max, uint32_t *ret_len)
{
	uint32_t n = rbuf_le32(r);
	if (n > max)
		r->failed = true;
	const uint8_t *p = rbuf_take(r, n);
	*ret_len = p ? n : 0;
	return p;
}

#endif
