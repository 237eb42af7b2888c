/*
 * index.h - index objects ("index/<id>"): which chunks each pack written by
 * one backup holds. A machine that has never seen the repository reads
 * these (far smaller than trees) to deduplicate against everything stored.
 */
#ifndef CAIRN_INDEX_H
#define CAIRN_INDEX_H

#include "base/buf.h"
#include "format/pack.h"

struct index_pack {
	uint8_t id[HASH_LEN];
	struct pack_entry *entries; /* owned */
	uint32_t n;
};

struct index {
	struct index_pack *packs; /* owned */
	uint32_t n_packs;
	size_t cap;
};

void index_init(struct index *ix);
void index_release(struct index *ix);
/* Adds a pack with a copy of its entries. */
void index_add(struct index *ix, const uint8_t id[HASH_LEN], const struct pack_entry *entries,
	       uint32_t n);
void index_encode(const struct index *ix, struct buf *out);
/* Parses an untrusted payload; -EBADMSG when malformed. */
int index_decode(const uint8_t *data, size_t len, struct index *ret) WARN_UNUSED;

#endif
