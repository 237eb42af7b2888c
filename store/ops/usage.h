/*
 * usage.h - which chunks of which packs a set of trees uses: a table of
 * packs and a table of chunk references (hash, pack, offset, lengths), each
 * reference stored once however many trees use it. check verifies each
 * reference against pack trailers and data; prune sums them per pack to
 * find garbage and copies them when it repacks.
 *
 * Indexes are 32-bit: a repository of 4 billion distinct chunk references
 * (4 PiB at 1 MiB chunks) is beyond what one process would walk anyway.
 * Not thread-safe.
 */
#ifndef CAIRN_USAGE_H
#define CAIRN_USAGE_H

#include "base/hmap.h"
#include "format/tree.h"

#define USAGE_NONE UINT32_MAX

struct usage_pack {
	uint8_t id[HASH_LEN];
	uint64_t size;	    /* bytes, from a listing (0 when unknown) */
	bool is_listed;	    /* the listing has it */
	uint32_t first_ref; /* its references, linked by next_in_pack; USAGE_NONE */
	uint32_t n_refs;
	uint64_t live_bytes; /* sum of the references' stored lengths */
};

struct usage_ref {
	uint8_t hash[HASH_LEN];
	uint32_t pack;	     /* index into usage.packs */
	uint64_t off;	     /* of the chunk's envelope */
	uint32_t stored_len; /* envelope length */
	uint32_t raw_len;
	uint32_t next_in_pack; /* USAGE_NONE ends the list */
	uint32_t next_same_hash;
	uint32_t mark;	  /* for the caller; 0 when added */
	uint64_t new_off; /* for the caller (prune: where a copy went) */
};

struct usage {
	struct usage_pack *packs;
	uint32_t n_packs;
	size_t cap_packs;
	struct usage_ref *refs;
	uint32_t n_refs;
	size_t cap_refs;
	struct hmap pack_by_id;	 /* pack id -> index */
	struct hmap ref_by_hash; /* chunk hash -> first reference with that hash */
};

void usage_init(struct usage *u);
void usage_release(struct usage *u);
/* The index of pack id, adding it (unlisted, size 0) when new. */
uint32_t usage_pack(struct usage *u, const uint8_t id[HASH_LEN]);
/* The index of pack id, or USAGE_NONE. */
uint32_t usage_find_pack(const struct usage *u, const uint8_t id[HASH_LEN]);
/* Records every chunk reference of t. When ret_refs is not NULL it receives
 * a malloc'd array: the reference index of each of t's chunks. */
void usage_add_tree(struct usage *u, const struct tree *t, uint32_t **ret_refs);
/* The reference index for chunk c of tree t, or USAGE_NONE. */
uint32_t usage_find_ref(const struct usage *u, const struct tree *t, const struct tree_chunk *c);

#endif
