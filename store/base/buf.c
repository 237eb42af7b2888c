/*
 * buf.c - growable byte buffer with little-endian and JSON appenders.
 * Capacity doubles, so appending n bytes one at a time costs O(n).
 */
#include "base/buf.h"

#include <openssl/evp.h>
#include <stdarg.h>

void buf_init(struct buf *b)
{
	*b = BUF_INIT;
}

void buf_release(struct buf *b)
{
	free(b->ptr);
	*b = BUF_INIT;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
}

void buf_reserve(struct buf *b, size_t n)
{
	if (n <= b->cap - b->len)
		return;
	size_t want = b->len + n;
	if (want < b->len)
		abort(); /* overflow: a caller forgot to bound a size */
	size_t cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	b->ptr = xrealloc(b->ptr, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t len)
{
	if (len == 0)
		return;
	buf_reserve(b, len);
	memcpy(b->ptr + b->len, data, len);
	b->len += len;
}

void buf_append_zero(struct buf *b, size_t len)
{
	buf_reserve(b, len);
	memset(b->ptr + b->len, 0, len);
	b->len += len;
}

void buf_append_u8(struct buf *b, uint8_t v)
{
	buf_append(b, &v, 1);
}

void buf_append_le16(struct buf *b, uint16_t v)
{
	uint8_t p[2];
	put_le16(p, v);
	buf_append(b, p, 2);
}

void buf_append_le32(struct buf *b, uint32_t v)
{
	uint8_t p[4];
	put_le32(p, v);
	buf_append(b, p, 4);
}

void buf_append_le64(struct buf *b, uint64_t v)
{
	uint8_t p[8];
	put_le64(p, v);
	buf_append(b, p, 8);
}

void buf_append_blob32(struct buf *b, const void *data, size_t len)
{
	buf_append_le32(b, (uint32_t)len);
	buf_append(b, data, len);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		buf_append(b, small, (size_t)n);
		return;
	}
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0. */
static size_t utf8_seq_len(const uint8_t *s, size_t len)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void buf_append_json_string(struct buf *b, const void *data, size_t len)
{
	const uint8_t *s = data;

	buf_append_u8(b, '"');
	for (size_t i = 0; i < len;) {
		uint8_t c = s[i];
		if (c == '"' || c == '\\') {
			buf_append_u8(b, '\\');
			buf_append_u8(b, c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\u%04x", c);
			i++;
		} else {
			size_t n = utf8_seq_len(s + i, len - i);
			if (n == 0) {
				/* not UTF-8: keep the byte visible and distinct */
				buf_printf(b, "\\u%04x", c);
				i++;
			} else {
				buf_append(b, s + i, n);
				i += n;
			}
		}
	}
	buf_append_u8(b, '"');
}

/* The letter of a C escape for c ('\n' -> 'n'), or 0. */
static char c_escape(uint8_t c)
{
	switch (c) {
	case '\a':
		return 'a';
	case '\b':
		return 'b';
	case '\t':
		return 't';
	case '\n':
		return 'n';
	case '\v':
		return 'v';
	case '\f':
		return 'f';
	case '\r':
		return 'r';
	case '\\':
		return '\\';
	case ' ':
		return ' ';
	default:
		return 0;
	}
}

static void append_escaped(struct buf *b, const void *data, size_t len, bool keep_spaces)
{
	const uint8_t *s = data;

	for (size_t i = 0; i < len;) {
		uint8_t c = s[i];
		char e = keep_spaces && c == ' ' ? 0 : c_escape(c);
		size_t n = c >= 0x80 ? utf8_seq_len(s + i, len - i) : 0;
		if (e) {
			buf_append_u8(b, '\\');
			buf_append_u8(b, (uint8_t)e);
			i++;
		} else if ((c > ' ' || (keep_spaces && c == ' ')) && c < 0x7f) {
			buf_append_u8(b, c);
			i++;
		} else if (n > 0 && !(c == 0xc2 && s[i + 1] < 0xa0)) {
			/* printable UTF-8 (U+0080..U+009F are controls) */
			buf_append(b, s + i, n);
			i += n;
		} else {
			buf_printf(b, "\\%03o", c);
			i++;
		}
	}
}

void buf_append_escaped(struct buf *b, const void *data, size_t len)
{
	append_escaped(b, data, len, false);
}

char *str_printable(const void *s, size_t len)
{
	struct buf b = BUF_INIT;

	append_escaped(&b, s, len, true);
	buf_append_u8(&b, '\0');
	return (char *)buf_detach(&b, NULL);
}

bool buf_is_utf8(const void *data, size_t len)
{
	const uint8_t *s = data;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(s + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

void buf_append_base64(struct buf *b, const void *data, size_t len)
{
	const uint8_t *s = data;

	/* EVP_EncodeBlock takes an int length; go in slices of whole triples. */
	for (size_t off = 0; off < len;) {
		size_t n = MIN(len - off, (size_t)3 << 20);
		buf_reserve(b, 4 * ((n + 2) / 3) + 1);
		int w = EVP_EncodeBlock(b->ptr + b->len, s + off, (int)n);
		b->len += (size_t)w;
		off += n;
	}
}

uint8_t *buf_detach(struct buf *b, size_t *ret_len)
{
	uint8_t *p = b->ptr;
	if (ret_len)
		*ret_len = b->len;
	if (!p)
		p = xmalloc(1);
	*b = BUF_INIT;
	return p;
}
