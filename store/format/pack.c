/*
 * pack.c - build and parse pack objects.
 *
 *   offset        size  meaning
 *   0             ...   chunk envelopes, back to back (kind OBJECT_CHUNK)
 *   T             L     trailer envelope (kind OBJECT_PACK_TRAILER, encrypted in an
 *                       encrypted repository like every chunk), whose payload is
 *                         4      number of entries n
 *                         48*n   hash 32, envelope offset 8, envelope length 4, raw length 4
 *   T+L           4     L, little-endian
 *   T+L+4         4     magic "CPK1"
 *
 * A pack is named by the SHA-256 of all its bytes ("packs/<first two hex
 * digits>/<hex>"), so check can verify a pack whole, and two hosts writing
 * packs at once can never collide. The trailer makes a pack self-describing:
 * index objects and catalogs can be rebuilt from packs alone. Readers of one
 * chunk never need it: trees record each chunk's offset and length.
 */
#include "format/pack.h"
#include "format/envelope.h"
#include "base/rbuf.h"

#define PACK_ENTRY_SIZE 48
#define PACK_FOOTER_SIZE 8
static const uint8_t pack_magic[4] = { 'C', 'P', 'K', '1' };

struct pack_writer {
	const struct crypto_keys *keys; /* encrypts the trailer; NULL: plain */
	struct buf data;
	struct pack_entry *entries;
	uint32_t n;
	size_t cap;
};

struct pack_writer *pack_writer_new(const struct crypto_keys *keys)
{
	struct pack_writer *w = xcalloc(1, sizeof(struct pack_writer));
	w->keys = keys;
	return w;
}

void pack_writer_free(struct pack_writer *w)
{
	if (!w)
		return;
	buf_release(&w->data);
	free(w->entries);
	free(w);
}

void pack_writer_add(struct pack_writer *w, const uint8_t hash[HASH_LEN], const void *envelope,
		     size_t len, uint32_t raw_len, struct pack_entry *ret)
{
	XGROW_ARRAY(w->entries, w->cap, (size_t)w->n + 1);
	struct pack_entry *e = &w->entries[w->n++];
	memcpy(e->hash, hash, HASH_LEN);
	e->off = w->data.len;
	e->stored_len = (uint32_t)len;
	e->raw_len = raw_len;
	buf_append(&w->data, envelope, len);
	if (ret)
		*ret = *e;
}

size_t pack_writer_size(const struct pack_writer *w)
{
	return w->data.len;
}

uint32_t pack_writer_count(const struct pack_writer *w)
{
	return w->n;
}

const struct pack_entry *pack_writer_entries(const struct pack_writer *w)
{
	return w->entries;
}

void pack_writer_finish(struct pack_writer *w, struct buf *out, uint8_t ret_id[HASH_LEN])
{
	AUTOBUF struct buf trailer = BUF_INIT;

	buf_append_le32(&trailer, w->n);
	for (uint32_t i = 0; i < w->n; i++) {
		const struct pack_entry *e = &w->entries[i];
		buf_append(&trailer, e->hash, HASH_LEN);
		buf_append_le64(&trailer, e->off);
		buf_append_le32(&trailer, e->stored_len);
		buf_append_le32(&trailer, e->raw_len);
	}
	int n = envelope_encode(w->keys, OBJECT_PACK_TRAILER, trailer.ptr, trailer.len, 3, NULL,
				&w->data, NULL);
	if (n < 0)
		abort(); /* far below ENVELOPE_RAW_MAX; the cipher fails only without memory */
	buf_append_le32(&w->data, (uint32_t)n);
	buf_append(&w->data, pack_magic, 4);

	crypto_sha256(w->data.ptr, w->data.len, ret_id);
	buf_release(out);
	*out = w->data;
	w->data = BUF_INIT;
	w->n = 0;
}

void pack_name(const uint8_t id[HASH_LEN], char out[PACK_NAME_LEN])
{
	object_name(OBJECT_PACK_TRAILER, id, out);
}

int pack_add_salt(const struct crypto_keys *keys, struct buf *bytes, struct pack_entry **entries,
		  uint32_t *n, uint8_t ret_id[HASH_LEN])
{
	struct pack_writer *w = pack_writer_new(keys);
	AUTOBUF struct buf env = BUF_INIT;
	uint8_t salt[32], hash[HASH_LEN];
	int r;

	r = crypto_random(salt, sizeof(salt));
	if (r < 0) {
		pack_writer_free(w);
		return r;
	}
	for (uint32_t i = 0; i < *n; i++) {
		const struct pack_entry *e = &(*entries)[i];
		pack_writer_add(w, e->hash, bytes->ptr + e->off, e->stored_len, e->raw_len, NULL);
	}
	r = envelope_encode(keys, OBJECT_CHUNK, salt, sizeof(salt), 0, NULL, &env, hash);
	if (r < 0) {
		pack_writer_free(w);
		return r;
	}
	pack_writer_add(w, hash, env.ptr, env.len, sizeof(salt), NULL);
	*entries = xrealloc(*entries, ((size_t)*n + 1) * sizeof(**entries));
	memcpy(*entries, pack_writer_entries(w), ((size_t)*n + 1) * sizeof(**entries));
	(*n)++;
	buf_reset(bytes);
	pack_writer_finish(w, bytes, ret_id);
	pack_writer_free(w);
	return 0;
}

int pack_parse_trailer_tail(const struct crypto_keys *keys, const uint8_t *tail, size_t tail_len,
			    uint64_t pack_size, struct pack_entry **ret_entries, uint32_t *ret_n,
			    size_t *ret_need)
{
	AUTOBUF struct buf payload = BUF_INIT;
	int r;

	if (tail_len > pack_size || tail_len < PACK_FOOTER_SIZE ||
	    memcmp(tail + tail_len - 4, pack_magic, 4) != 0)
		return -EBADMSG;
	uint32_t tlen = get_le32(tail + tail_len - PACK_FOOTER_SIZE);
	if (tlen > pack_size - PACK_FOOTER_SIZE)
		return -EBADMSG;
	if (tlen > tail_len - PACK_FOOTER_SIZE) {
		if (ret_need)
			*ret_need = (size_t)tlen + PACK_FOOTER_SIZE;
		return -EAGAIN;
	}
	uint64_t tstart = pack_size - PACK_FOOTER_SIZE - tlen;
	const uint8_t *trailer = tail + tail_len - PACK_FOOTER_SIZE - tlen;
	/* The chunk envelopes before the trailer are disjoint and at least a
	 * header long, so there are at most tstart / 48 entries: a trailer
	 * claiming a larger payload is damaged, and is refused before it is
	 * inflated (it could otherwise ask for ENVELOPE_RAW_MAX bytes). */
	size_t max_raw = 4 + (size_t)MIN(tstart / ENVELOPE_HEADER_SIZE * PACK_ENTRY_SIZE,
					 (uint64_t)ENVELOPE_RAW_MAX - 4);
	r = envelope_decode(keys, trailer, tlen, OBJECT_PACK_TRAILER, max_raw, &payload, NULL);
	if (r < 0)
		return r;

	struct rbuf rb = rbuf_make(payload.ptr, payload.len);
	uint32_t n = rbuf_le32(&rb);
	if (!rbuf_ok(&rb) || rbuf_left(&rb) != (size_t)n * PACK_ENTRY_SIZE)
		return -EBADMSG;
	AUTOFREE struct pack_entry *entries = xcalloc(n, sizeof(*entries));
	for (uint32_t i = 0; i < n; i++) {
		struct pack_entry *e = &entries[i];
		rbuf_copy(&rb, e->hash, HASH_LEN);
		e->off = rbuf_le64(&rb);
		e->stored_len = rbuf_le32(&rb);
		e->raw_len = rbuf_le32(&rb);
		if (e->off > tstart || e->stored_len > tstart - e->off ||
		    e->stored_len < ENVELOPE_HEADER_SIZE)
			return -EBADMSG;
	}
	*ret_entries = TAKE(entries);
	*ret_n = n;
	return 0;
}

int pack_parse_trailer(const struct crypto_keys *keys, const uint8_t *pack, size_t len,
		       struct pack_entry **ret_entries, uint32_t *ret_n)
{
	int r = pack_parse_trailer_tail(keys, pack, len, len, ret_entries, ret_n, NULL);
	return r == -EAGAIN ? -EBADMSG : r;
}
