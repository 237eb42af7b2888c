/*
 * envelope.h - the frame around every object the repository stores: the
 * config, each chunk blob inside a pack, pack trailers, trees, snapshot
 * headers and index objects. See envelope.c for the layout.
 */
#ifndef CAIRN_ENVELOPE_H
#define CAIRN_ENVELOPE_H

#include "base/buf.h"
#include "base/crypto.h"

#define ENVELOPE_HEADER_SIZE 48
#define ENVELOPE_VERSION 1
/* Largest decompressed payload any envelope may claim (trees of very large
 * snapshots are the biggest objects). */
#define ENVELOPE_RAW_MAX (1u << 30)

enum object_kind {
	OBJECT_CONFIG = 1,
	OBJECT_CHUNK = 2,
	OBJECT_PACK_TRAILER = 3,
	OBJECT_TREE = 4,
	OBJECT_SNAPSHOT = 5,
	OBJECT_INDEX = 6,
	OBJECT_LISTING = 7,
	OBJECT_LOCK = 8,    /* locks/<random>: who works on the repository (lock.c) */
	OBJECT_PENDING = 9, /* prune-pending: what prune found unreferenced, and when */
	OBJECT_KIND_MAX = OBJECT_PENDING,
};

enum envelope_flags {
	ENVELOPE_ZSTD = 1 << 0,	     /* payload is one zstd frame */
	ENVELOPE_ENCRYPTED = 1 << 1, /* reserved for AES-256-GCM; not produced yet */
};

struct envelope_header {
	enum object_kind kind;
	unsigned flags;		/* enum envelope_flags */
	uint32_t stored_len;	/* payload bytes after the header */
	uint32_t raw_len;	/* payload bytes once decompressed */
	uint8_t hash[HASH_LEN]; /* SHA-256 of the raw payload */
};

/* Appends an envelope of kind around raw[0..len) to out. zstd_level > 0
 * compresses, and the payload is kept raw when compression does not shrink
 * it. hash, when not NULL, is the caller's SHA-256 of raw (saves hashing it
 * again); the hash used is written to ret_hash when that is not NULL.
 * Returns the number of bytes appended, or -EINVAL when len exceeds
 * ENVELOPE_RAW_MAX. Thread-safe. */
int envelope_encode(enum object_kind kind, const void *raw, size_t len, int zstd_level,
		    const uint8_t *hash, struct buf *out, uint8_t *ret_hash) WARN_UNUSED;

/* Parses and checks the 48-byte header at data (len bytes available).
 * -EBADMSG when the magic, version, kind, flags or lengths are wrong. */
int envelope_parse_header(const uint8_t *data, size_t len, struct envelope_header *ret) WARN_UNUSED;

/* The largest raw payload an object of kind may claim, whatever a caller
 * allows: 64 KiB for configs, snapshot headers and locks, the chunk size
 * limit for chunks, 64 MiB for snapshot lists, 256 MiB for pack trailers
 * and prune-pending, and ENVELOPE_RAW_MAX for trees and index objects. */
size_t envelope_kind_raw_max(enum object_kind kind);

/* Compressed metadata (every kind but chunks) may claim at most this many
 * times its stored size once it claims more than ENVELOPE_RATIO_FLOOR
 * bytes: a small object cannot make a reader reserve gigabytes. Real
 * trees, indexes and lists compress by well under 20 (hashes and names). */
#define ENVELOPE_RATIO_MAX 256
#define ENVELOPE_RATIO_FLOOR (4u << 20)

/* Decodes a whole envelope of exactly len bytes: header checks, kind must be
 * expect, raw_len <= max_raw and <= envelope_kind_raw_max(expect), a
 * compression ratio within ENVELOPE_RATIO_MAX for metadata, decompression to exactly raw_len bytes, and the
 * SHA-256 of the result must match. The payload is appended to out; its
 * hash is written to ret_hash when not NULL. -EBADMSG on any mismatch,
 * -EKEYREJECTED for encrypted objects (not yet readable). Thread-safe. */
int envelope_decode(const uint8_t *data, size_t len, enum object_kind expect, size_t max_raw,
		    struct buf *out, uint8_t *ret_hash) WARN_UNUSED;

#endif
