/*
 * usage.c - tables of packs and chunk references built from trees.
 *
 * A reference is identified by all of (hash, pack, offset, stored length,
 * raw length): two trees that disagree about any of them make two
 * references, so check can tell which of them is wrong. References with
 * one hash are chained from ref_by_hash; references into one pack from the
 * pack's first_ref.
 */
#include "ops/usage.h"

void usage_init(struct usage *u)
{
	*u = (struct usage){ 0 };
	hmap_init(&u->pack_by_id);
	hmap_init(&u->ref_by_hash);
}

void usage_release(struct usage *u)
{
	free(u->packs);
	free(u->refs);
	hmap_release(&u->pack_by_id);
	hmap_release(&u->ref_by_hash);
	*u = (struct usage){ 0 };
}

uint32_t usage_find_pack(const struct usage *u, const uint8_t id[HASH_LEN])
{
	uint64_t *v = hmap_get(&u->pack_by_id, id);
	return v ? (uint32_t)*v : USAGE_NONE;
}

uint32_t usage_pack(struct usage *u, const uint8_t id[HASH_LEN])
{
	uint32_t i = usage_find_pack(u, id);
	if (i != USAGE_NONE)
		return i;
	XGROW_ARRAY(u->packs, u->cap_packs, (size_t)u->n_packs + 1);
	i = u->n_packs++;
	u->packs[i] = (struct usage_pack){ .first_ref = USAGE_NONE };
	memcpy(u->packs[i].id, id, HASH_LEN);
	hmap_put(&u->pack_by_id, id, i);
	return i;
}

static uint32_t find_ref(const struct usage *u, uint32_t pack, const struct tree_chunk *c)
{
	uint64_t *v = hmap_get(&u->ref_by_hash, c->hash);
	for (uint32_t i = v ? (uint32_t)*v : USAGE_NONE; i != USAGE_NONE;
	     i = u->refs[i].next_same_hash) {
		const struct usage_ref *r = &u->refs[i];
		if (r->pack == pack && r->off == c->off && r->stored_len == c->stored_len &&
		    r->raw_len == c->raw_len)
			return i;
	}
	return USAGE_NONE;
}

uint32_t usage_find_ref(const struct usage *u, const struct tree *t, const struct tree_chunk *c)
{
	uint32_t pack = usage_find_pack(u, t->packs[c->pack]);
	return pack == USAGE_NONE ? USAGE_NONE : find_ref(u, pack, c);
}

static uint32_t add_ref(struct usage *u, uint32_t pack, const struct tree_chunk *c)
{
	uint32_t i = find_ref(u, pack, c);
	if (i != USAGE_NONE)
		return i;
	XGROW_ARRAY(u->refs, u->cap_refs, (size_t)u->n_refs + 1);
	i = u->n_refs++;
	struct usage_pack *p = &u->packs[pack];
	uint64_t *head = hmap_get(&u->ref_by_hash, c->hash);
	u->refs[i] = (struct usage_ref){
		.pack = pack,
		.off = c->off,
		.stored_len = c->stored_len,
		.raw_len = c->raw_len,
		.next_in_pack = p->first_ref,
		.next_same_hash = head ? (uint32_t)*head : USAGE_NONE,
	};
	memcpy(u->refs[i].hash, c->hash, HASH_LEN);
	hmap_put(&u->ref_by_hash, c->hash, i);
	p->first_ref = i;
	p->n_refs++;
	p->live_bytes += c->stored_len;
	return i;
}

void usage_add_tree(struct usage *u, const struct tree *t, uint32_t **ret_refs)
{
	uint32_t *packs = xmalloc(((size_t)t->n_packs + 1) * sizeof(uint32_t));
	uint32_t *refs = ret_refs ? xmalloc(((size_t)t->n_chunks + 1) * sizeof(uint32_t)) : NULL;

	for (uint32_t i = 0; i < t->n_packs; i++)
		packs[i] = usage_pack(u, t->packs[i]);
	for (uint32_t i = 0; i < t->n_chunks; i++) {
		uint32_t r = add_ref(u, packs[t->chunks[i].pack], &t->chunks[i]);
		if (refs)
			refs[i] = r;
	}
	free(packs);
	if (ret_refs)
		*ret_refs = refs;
}
