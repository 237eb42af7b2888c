/*
 * pack.h - pack objects: many chunk envelopes in one immutable object of a
 * few MiB, so object stores see few large objects, and a reader fetches one
 * chunk by byte range. Layout in pack.c.
 */
#ifndef CAIRN_PACK_H
#define CAIRN_PACK_H

#include "base/buf.h"
#include "base/crypto.h"
#include "format/names.h"

#define PACK_SIZE_DEFAULT (16u << 20)
#define PACK_SIZE_MAX (256u << 20)

struct pack_entry {
	uint8_t hash[HASH_LEN];
	uint64_t off;	     /* of the chunk's envelope within the pack */
	uint32_t stored_len; /* envelope length */
	uint32_t raw_len;
};

struct pack_writer;

/* keys (borrowed for the writer's life) encrypt the trailer; NULL for an
 * unencrypted repository. */
struct pack_writer *pack_writer_new(const struct crypto_keys *keys);
void pack_writer_free(struct pack_writer *w);
DEFINE_FREEP(struct pack_writer, pack_writer_free)
/* Appends one chunk envelope (from envelope_encode, kind OBJECT_CHUNK) and
 * returns its entry. The envelope bytes are copied. */
void pack_writer_add(struct pack_writer *w, const uint8_t hash[HASH_LEN], const void *envelope,
		     size_t len, uint32_t raw_len, struct pack_entry *ret);
/* Bytes buffered so far. */
size_t pack_writer_size(const struct pack_writer *w);
uint32_t pack_writer_count(const struct pack_writer *w);
/* Appends the trailer, moves the finished pack's bytes into out (which must
 * be empty), writes its id (SHA-256 of all its bytes), and leaves the writer
 * empty for the next pack. */
void pack_writer_finish(struct pack_writer *w, struct buf *out, uint8_t ret_id[HASH_LEN]);
/* The entries of the pack being built (valid until the next add/finish). */
const struct pack_entry *pack_writer_entries(const struct pack_writer *w);

/* Rebuilds the finished pack in bytes, whose n entries are *entries, with
 * one more chunk of 32 random bytes at its end, so that it gets a new id
 * (written to ret_id) while every other chunk keeps its offset. *entries
 * grows by that chunk's entry. A backup does this when its pack would
 * otherwise have the name of one prune is about to delete. */
int pack_add_salt(const struct crypto_keys *keys, struct buf *bytes, struct pack_entry **entries,
		  uint32_t *n, uint8_t ret_id[HASH_LEN]) WARN_UNUSED;

/* Writes "packs/ab/<hex>" for id: object_name() for OBJECT_PACK_TRAILER. */
void pack_name(const uint8_t id[HASH_LEN], char out[PACK_NAME_LEN]);

/* Parses the trailer of a whole pack (untrusted): fills a malloc'd array of
 * entries, each checked to lie inside the pack before the trailer.
 * -EBADMSG when the pack is truncated or the trailer damaged. */
int pack_parse_trailer(const struct crypto_keys *keys, const uint8_t *pack, size_t len,
		       struct pack_entry **ret_entries, uint32_t *ret_n) WARN_UNUSED;
/* The same from only the last tail_len bytes of a pack of pack_size bytes,
 * so a checker reads a trailer with a range request. When the trailer is
 * longer than the tail, returns -EAGAIN and sets *ret_need (may be NULL) to
 * the tail length that holds it. */
int pack_parse_trailer_tail(const struct crypto_keys *keys, const uint8_t *tail, size_t tail_len,
			    uint64_t pack_size, struct pack_entry **ret_entries, uint32_t *ret_n,
			    size_t *ret_need) WARN_UNUSED;

#endif
