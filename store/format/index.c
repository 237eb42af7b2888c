/*
 * index.c - encode and decode index objects.
 *
 *   size      meaning
 *   4         index format version (1)
 *   4         number of packs
 *   per pack  pack id 32, number of entries n 4, then n entries of
 *             hash 32, envelope offset 8, envelope length 4, raw length 4
 *
 * An index lists only packs whose upload finished before it was written, so
 * everything it names exists unless prune removed it since.
 */
#include "format/index.h"
#include "format/chunker.h"
#include "format/envelope.h"
#include "base/rbuf.h"

#define INDEX_VERSION 1
#define ENTRY_SIZE 48

void index_init(struct index *ix)
{
	*ix = (struct index){ 0 };
}

void index_release(struct index *ix)
{
	for (uint32_t i = 0; i < ix->n_packs; i++)
		free(ix->packs[i].entries);
	free(ix->packs);
	*ix = (struct index){ 0 };
}

void index_add(struct index *ix, const uint8_t id[HASH_LEN], const struct pack_entry *entries,
	       uint32_t n)
{
	XGROW_ARRAY(ix->packs, ix->cap, (size_t)ix->n_packs + 1);
	struct index_pack *p = &ix->packs[ix->n_packs++];
	memcpy(p->id, id, HASH_LEN);
	p->entries = xmalloc((size_t)n * sizeof(*entries));
	memcpy(p->entries, entries, (size_t)n * sizeof(*entries));
	p->n = n;
}

void index_encode(const struct index *ix, struct buf *out)
{
	buf_append_le32(out, INDEX_VERSION);
	buf_append_le32(out, ix->n_packs);
	for (uint32_t i = 0; i < ix->n_packs; i++) {
		const struct index_pack *p = &ix->packs[i];
		buf_append(out, p->id, HASH_LEN);
		buf_append_le32(out, p->n);
		for (uint32_t j = 0; j < p->n; j++) {
			buf_append(out, p->entries[j].hash, HASH_LEN);
			buf_append_le64(out, p->entries[j].off);
			buf_append_le32(out, p->entries[j].stored_len);
			buf_append_le32(out, p->entries[j].raw_len);
		}
	}
}

int index_decode(const uint8_t *data, size_t len, struct index *ret)
{
	struct rbuf r = rbuf_make(data, len);
	CLEANUP(index_release) struct index ix;

	index_init(&ix);
	uint32_t version = rbuf_le32(&r), n_packs = rbuf_le32(&r);
	if (!rbuf_ok(&r) || version != INDEX_VERSION || n_packs > rbuf_left(&r) / (HASH_LEN + 4))
		return -EBADMSG;
	for (uint32_t i = 0; i < n_packs; i++) {
		uint8_t id[HASH_LEN];
		rbuf_copy(&r, id, HASH_LEN);
		uint32_t n = rbuf_le32(&r);
		if (!rbuf_ok(&r) || n > rbuf_left(&r) / ENTRY_SIZE)
			return -EBADMSG;
		AUTOFREE struct pack_entry *entries = xcalloc(n, sizeof(*entries));
		for (uint32_t j = 0; j < n; j++) {
			struct pack_entry *e = &entries[j];
			rbuf_copy(&r, e->hash, HASH_LEN);
			e->off = rbuf_le64(&r);
			e->stored_len = rbuf_le32(&r);
			e->raw_len = rbuf_le32(&r);
			if (e->stored_len < ENVELOPE_HEADER_SIZE || e->raw_len == 0 ||
			    e->raw_len > CHUNK_SIZE_MAX_LIMIT ||
			    e->stored_len > e->raw_len + ENVELOPE_OVERHEAD_MAX ||
			    e->off > UINT64_MAX - e->stored_len)
				return -EBADMSG;
		}
		index_add(&ix, id, entries, n);
	}
	if (!rbuf_ok(&r) || rbuf_left(&r) != 0)
		return -EBADMSG;
	*ret = TAKE_STRUCT(ix);
	return 0;
}
