/*
 * listing.c - encode and decode the snapshot list.
 *
 * The payload (integers little-endian):
 *
 *   size  meaning
 *   4     list format version (2)
 *   4     count of snapshots
 *   then for each snapshot, ids strictly ascending:
 *   32    snapshot id
 *   4     header length L (at most SNAPSHOT_HEADER_MAX; 0: not carried)
 *   L     the raw payload of the snapshot's header object
 *
 * Version 1 (repository format 1) held the ids alone. The list lives
 * inside an envelope like every object (encrypted in an encrypted
 * repository), and each carried header must hash to its id exactly as the
 * header object "snapshots/<id>" must, so the list proves no less than the
 * objects it stands for.
 */
#include "format/listing.h"
#include "format/names.h"
#include "base/rbuf.h"

#define LISTING_VERSION 2
/* The fewest bytes an entry takes: its id and its header length. */
#define ENTRY_MIN (HASH_LEN + 4)

void listing_encode(const struct listing_entry *v, size_t n, struct buf *out)
{
	buf_append_le32(out, LISTING_VERSION);
	buf_append_le32(out, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		buf_append(out, v[i].id, HASH_LEN);
		buf_append_blob32(out, v[i].header, v[i].header ? v[i].header_len : 0);
	}
}

int listing_decode(const struct crypto_keys *keys, const uint8_t *data, size_t len,
		   struct listing_entry **ret, size_t *ret_n)
{
	struct rbuf r = rbuf_make(data, len);
	uint32_t version = rbuf_le32(&r), n = rbuf_le32(&r);

	if (!rbuf_ok(&r) || version != LISTING_VERSION || n > rbuf_left(&r) / ENTRY_MIN)
		return -EBADMSG;
	struct listing_entry *v = xcalloc((size_t)n + 1, sizeof(*v));
	bool ok = true;
	for (uint32_t i = 0; ok && i < n; i++) {
		uint8_t hash[HASH_LEN];
		rbuf_copy(&r, v[i].id, HASH_LEN);
		v[i].header = rbuf_blob32(&r, SNAPSHOT_HEADER_MAX, &v[i].header_len);
		ok = rbuf_ok(&r) && (i == 0 || memcmp(v[i - 1].id, v[i].id, HASH_LEN) < 0);
		if (ok && v[i].header_len == 0)
			v[i].header = NULL;
		if (ok && v[i].header) {
			crypto_id(keys, v[i].header, v[i].header_len, hash);
			ok = memcmp(hash, v[i].id, HASH_LEN) == 0;
		}
	}
	if (!ok || rbuf_left(&r) != 0) {
		free(v);
		return -EBADMSG;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int entry_cmp(const void *key, const void *e)
{
	return memcmp(key, ((const struct listing_entry *)e)->id, HASH_LEN);
}

const struct listing_entry *listing_find(const struct listing_entry *v, size_t n,
					 const uint8_t id[HASH_LEN])
{
	return n ? bsearch(id, v, n, sizeof(*v), entry_cmp) : NULL;
}
