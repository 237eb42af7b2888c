/*
 * buf.h - the one growable byte buffer. Embedded by value: buf_init() /
 * buf_release(). Appends abort on out-of-memory (sizes are bounded by callers
 * before anything untrusted is appended).
 */
#ifndef CAIRN_BUF_H
#define CAIRN_BUF_H

#include "base/util.h"

struct buf {
	uint8_t *ptr; /* owned; NULL while empty and never grown */
	size_t len;   /* bytes in use */
	size_t cap;   /* bytes allocated */
};

#define BUF_INIT ((struct buf){ NULL, 0, 0 })

void buf_init(struct buf *b);
void buf_release(struct buf *b);
/* Makes room for at least n more bytes. */
void buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_append_zero(struct buf *b, size_t len);
void buf_append_u8(struct buf *b, uint8_t v);
void buf_append_le16(struct buf *b, uint16_t v);
void buf_append_le32(struct buf *b, uint32_t v);
void buf_append_le64(struct buf *b, uint64_t v);
/* Appends a u32 length then the bytes. */
void buf_append_blob32(struct buf *b, const void *data, size_t len);
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Appends s as a JSON string literal (quotes included); bytes that are not
 * valid UTF-8 are written as \u00XX escapes of each byte. */
void buf_append_json_string(struct buf *b, const void *s, size_t len);
/* Appends a name or path as ls -b writes it: a backslash before a space or
 * backslash, C escapes for control characters (\n, \t, ...), and \ooo for
 * every other byte that is not part of printable UTF-8, so the result holds
 * no whitespace and names in any bytes stay readable and distinct. */
void buf_append_escaped(struct buf *b, const void *s, size_t len);
/* Text from a repository or a server (a tag, a host name, an error message
 * of S3) made safe for a terminal or a log: escaped as buf_append_escaped()
 * does, but with spaces kept, so no control character or escape sequence
 * gets through. A new NUL-terminated string the caller frees. */
char *str_printable(const void *s, size_t len);
/* True when all len bytes at s are valid UTF-8. */
bool buf_is_utf8(const void *s, size_t len);
/* Appends the standard base64 encoding of data (with '=' padding). */
void buf_append_base64(struct buf *b, const void *data, size_t len);
/* Hands the bytes to the caller (who frees them) and empties b. */
uint8_t *buf_detach(struct buf *b, size_t *ret_len);
void buf_reset(struct buf *b);

static inline void buf_releasep(struct buf *b)
{
	buf_release(b);
}
#define AUTOBUF CLEANUP(buf_releasep)

#endif
