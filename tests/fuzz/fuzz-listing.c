/*
 * fuzz-listing.c - repo_listing_decode() on untrusted "snapshot-list"
 * payloads (how readers of a static HTTP server find snapshots).
 * Properties of an accepted listing: the ids come back sorted, there are as
 * many as the payload holds, encoding them gives a payload of the input's
 * length (the input itself when it was sorted) that decodes to the same ids.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "repo/repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AUTOFREE uint8_t(*ids)[HASH_LEN] = NULL;
	AUTOFREE uint8_t(*ids2)[HASH_LEN] = NULL;
	AUTOBUF struct buf out = BUF_INIT;
	size_t n, n2;
	bool sorted = true;
	int r;

	r = repo_listing_decode(data, size, &ids, &n);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG);
		return 0;
	}
	FUZZ_CHECK(size == 8 + n * HASH_LEN);
	for (size_t i = 1; i < n; i++) {
		FUZZ_CHECK(memcmp(ids[i - 1], ids[i], HASH_LEN) <= 0);
		if (memcmp(data + 8 + (i - 1) * HASH_LEN, data + 8 + i * HASH_LEN, HASH_LEN) > 0)
			sorted = false;
	}
	repo_listing_encode((const uint8_t(*)[HASH_LEN])ids, n, &out);
	FUZZ_CHECK(out.len == size);
	if (sorted)
		FUZZ_CHECK(memcmp(out.ptr, data, size) == 0);
	FUZZ_CHECK(repo_listing_decode(out.ptr, out.len, &ids2, &n2) == 0);
	FUZZ_CHECK(n2 == n && (n == 0 || memcmp(ids, ids2, n * HASH_LEN) == 0));
	return 0;
}
