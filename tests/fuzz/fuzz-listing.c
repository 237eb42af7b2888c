/*
 * fuzz-listing.c - listing_decode() on untrusted "snapshot-list" payloads
 * (how readers of a static HTTP server, and fresh catalogs anywhere, learn
 * the snapshots and their headers). Properties of an accepted list: the
 * ids are strictly ascending, each carried header lies inside the input,
 * is within its bound and hashes to its id, and the format is canonical:
 * encoding the entries gives back the input byte for byte.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "format/listing.h"
#include "format/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AUTOFREE struct listing_entry *v = NULL;
	AUTOBUF struct buf out = BUF_INIT;
	size_t n;
	int r;

	r = listing_decode(NULL, data, size, &v, &n);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(i == 0 || memcmp(v[i - 1].id, v[i].id, HASH_LEN) < 0);
		FUZZ_CHECK(v[i].header_len <= SNAPSHOT_HEADER_MAX);
		if (!v[i].header) {
			FUZZ_CHECK(v[i].header_len == 0);
			continue;
		}
		FUZZ_CHECK(v[i].header >= data && v[i].header + v[i].header_len <= data + size);
		uint8_t id[HASH_LEN];
		crypto_id(NULL, v[i].header, v[i].header_len, id);
		FUZZ_CHECK(memcmp(id, v[i].id, HASH_LEN) == 0);
		FUZZ_CHECK(listing_find(v, n, v[i].id) == &v[i]);
	}
	listing_encode(v, n, &out);
	FUZZ_CHECK(out.len == size && memcmp(out.ptr, data, size) == 0);
	return 0;
}
