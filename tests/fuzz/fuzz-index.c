/*
 * fuzz-index.c - index_decode() on untrusted index payloads (the raw bytes
 * inside an "index/<id>" envelope), which a backup merges into its catalog
 * to deduplicate. Properties of an accepted index: every entry has a
 * plausible length and an end offset that does not overflow, and
 * index_encode() gives back exactly the input bytes.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "format/chunker.h"
#include "format/envelope.h"
#include "format/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct index ix;
	AUTOBUF struct buf out = BUF_INIT;
	int r;

	r = index_decode(data, size, &ix);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG);
		return 0;
	}
	for (uint32_t i = 0; i < ix.n_packs; i++) {
		const struct index_pack *p = &ix.packs[i];
		for (uint32_t j = 0; j < p->n; j++) {
			const struct pack_entry *e = &p->entries[j];
			FUZZ_CHECK(e->stored_len >= ENVELOPE_HEADER_SIZE);
			FUZZ_CHECK(e->raw_len > 0 && e->raw_len <= CHUNK_SIZE_MAX_LIMIT);
			FUZZ_CHECK(e->off + e->stored_len >= e->off);
		}
	}
	index_encode(&ix, &out);
	FUZZ_CHECK(out.len == size && memcmp(out.ptr, data, size) == 0);
	index_release(&ix);
	return 0;
}
