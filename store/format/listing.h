/*
 * listing.h - the payload of the snapshot list ("snapshot-list", kind
 * OBJECT_LISTING): every snapshot's id with its header carried along, so a
 * fresh machine learns every snapshot from one object instead of one
 * request per snapshot. The layout is in listing.c and cairn-repository(5).
 */
#ifndef CAIRN_LISTING_H
#define CAIRN_LISTING_H

#include "base/buf.h"
#include "base/crypto.h"

struct listing_entry {
	uint8_t id[HASH_LEN];
	/* The raw payload of the header object "snapshots/<id>", borrowed;
	 * NULL with header_len 0 when the list does not carry it (the writer
	 * could not read it), so a reader fetches that one object. */
	const uint8_t *header;
	uint32_t header_len;
};

/* Appends the payload of entries v[0..n), whose ids must be strictly
 * ascending. */
void listing_encode(const struct listing_entry *v, size_t n, struct buf *out);

/* Decodes an untrusted payload of len bytes at data into a malloc'd array
 * of entries whose headers point into data (keep it while they are used).
 * The ids are strictly ascending (so no id twice), the count is what the
 * bytes hold, each header is within SNAPSHOT_HEADER_MAX, and each carried
 * header has the id crypto_id(keys, header) (keys: the repository's, NULL
 * when it is unencrypted), so a list cannot pass off one header as
 * another's. -EBADMSG when any of that fails. */
int listing_decode(const struct crypto_keys *keys, const uint8_t *data, size_t len,
		   struct listing_entry **ret, size_t *ret_n) WARN_UNUSED;

/* The entry for id in v[0..n) (ascending), or NULL. */
const struct listing_entry *listing_find(const struct listing_entry *v, size_t n,
					 const uint8_t id[HASH_LEN]);

#endif
