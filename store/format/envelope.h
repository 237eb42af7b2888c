/*
 * envelope.h - the frame around every object the repository stores: the
 * config, each chunk blob inside a pack, pack trailers, trees, snapshot
 * headers and index objects. See envelope.c for the layout.
 */
#ifndef CAIRN_ENVELOPE_H
#define CAIRN_ENVELOPE_H

#include "base/buf.h"
#include "base/crypto.h"
#include "format/names.h"

#define ENVELOPE_HEADER_SIZE 48
#define ENVELOPE_VERSION 1
/* The most an envelope adds to its raw payload: header, and nonce and tag
 * when encrypted (a payload is kept raw when zstd does not shrink it). */
#define ENVELOPE_OVERHEAD_MAX (ENVELOPE_HEADER_SIZE + CRYPTO_OVERHEAD)

enum envelope_flags {
	ENVELOPE_ZSTD = 1 << 0,	     /* payload is one zstd frame */
	ENVELOPE_ENCRYPTED = 1 << 1, /* payload is nonce, AES-256-GCM ciphertext, tag */
};

struct envelope_header {
	enum object_kind kind;
	unsigned flags;		/* enum envelope_flags */
	uint32_t stored_len;	/* payload bytes after the header */
	uint32_t raw_len;	/* payload bytes once decompressed */
	uint8_t hash[HASH_LEN]; /* crypto_id() of the raw payload */
};

/* Appends an envelope of kind around raw[0..len) to out. keys, when not
 * NULL, encrypts it (an encrypted repository); NULL leaves it plain.
 * zstd_level > 0 compresses, and the payload is kept raw when compression
 * does not shrink it. hash, when not NULL, is the caller's crypto_id(keys,
 * raw) (saves hashing it again); the hash used is written to ret_hash when
 * that is not NULL. Returns the number of bytes appended, -EINVAL when len
 * exceeds ENVELOPE_RAW_MAX, -EIO when the cipher fails. Thread-safe. */
int envelope_encode(const struct crypto_keys *keys, enum object_kind kind, const void *raw,
		    size_t len, int zstd_level, const uint8_t *hash, struct buf *out,
		    uint8_t *ret_hash) WARN_UNUSED;

/* Parses and checks the 48-byte header at data (len bytes available).
 * -EBADMSG when the magic, version, kind, flags or lengths are wrong. */
int envelope_parse_header(const uint8_t *data, size_t len, struct envelope_header *ret) WARN_UNUSED;

/* Decodes a whole envelope of exactly len bytes: header checks, kind must be
 * expect, raw_len <= max_raw, authentication under keys (the repository's,
 * or NULL when it is unencrypted), decompression to exactly raw_len bytes,
 * and the crypto_id() of the result must match. The payload is appended to
 * out; its hash is written to ret_hash when not NULL. -EBADMSG on any
 * mismatch or failed authentication, and for a plain object when keys is
 * given; -EKEYREJECTED for an encrypted object when keys is NULL.
 * Thread-safe. */
int envelope_decode(const struct crypto_keys *keys, const uint8_t *data, size_t len,
		    enum object_kind expect, size_t max_raw, struct buf *out,
		    uint8_t *ret_hash) WARN_UNUSED;

/* Decodes an object of kind with envelope_decode() under keys (NULL for an
 * unencrypted repository), its raw payload bounded by
 * object_kind_max(kind), and, when id is not NULL, requires that payload to
 * hash to id. Appends the payload to out, which is unchanged on failure.
 * -EBADMSG on any mismatch, -EKEYREJECTED for encrypted objects without
 * keys. Thread-safe. */
int object_decode(const struct crypto_keys *keys, const uint8_t *data, size_t len,
		  enum object_kind kind, const uint8_t *id, struct buf *out) WARN_UNUSED;
/* Decodes a chunk envelope of stored_len bytes at stored, under keys, whose
 * payload must be exactly raw_len bytes with id hash (what the index or
 * tree recorded for it: a chunk's own bound). Appends the data to out, which
 * is unchanged on failure; -EBADMSG otherwise. Thread-safe. */
int chunk_decode(const struct crypto_keys *keys, const uint8_t *stored, uint32_t stored_len,
		 uint32_t raw_len, const uint8_t hash[HASH_LEN], struct buf *out) WARN_UNUSED;

#endif
