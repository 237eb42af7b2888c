/*
 * fuzz-pack-trailer.c - pack_parse_trailer(), which makes a pack
 * self-describing (check and index rebuilds read it from untrusted packs).
 *
 * Each input is tried twice:
 *  1. as a whole pack, as stored ("packs/ab/<id>");
 *  2. as the raw payload of a trailer, sealed into a valid envelope with the
 *     right hash behind FILLER bytes of chunk data, so mutations reach the
 *     entry checks instead of stopping at the hash.
 * Properties of an accepted trailer: every entry lies inside the pack before
 * the trailer and is at least an envelope header long; in form 2 the entries
 * are exactly those the payload lists.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "format/envelope.h"
#include "format/pack.h"

#define FILLER 4096

static void check_entries(const struct pack_entry *e, uint32_t n, size_t tstart)
{
	for (uint32_t i = 0; i < n; i++) {
		FUZZ_CHECK(e[i].stored_len >= ENVELOPE_HEADER_SIZE);
		FUZZ_CHECK(e[i].off <= tstart && e[i].stored_len <= tstart - e[i].off);
	}
}

static void as_pack(const uint8_t *data, size_t size)
{
	struct pack_entry *entries = NULL;
	uint32_t n = 0;
	int r = pack_parse_trailer(NULL, data, size, &entries, &n);

	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EKEYREJECTED);
		return;
	}
	FUZZ_CHECK(size >= 8);
	uint32_t tlen = get_le32(data + size - 8);
	check_entries(entries, n, size - 8 - tlen);
	free(entries);
}

static void as_trailer_payload(const uint8_t *data, size_t size)
{
	AUTOBUF struct buf pack = BUF_INIT;
	struct pack_entry *entries = NULL;
	uint32_t n = 0;
	int len;

	buf_append_zero(&pack, FILLER);
	len = envelope_encode(NULL, OBJECT_PACK_TRAILER, data, size, size & 1 ? 0 : 3, NULL, &pack,
			      NULL);
	if (len < 0)
		return;
	buf_append_le32(&pack, (uint32_t)len);
	buf_append(&pack, "CPK1", 4);
	int r = pack_parse_trailer(NULL, pack.ptr, pack.len, &entries, &n);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG);
		return;
	}
	FUZZ_CHECK(size == 4 + (size_t)n * 48 && get_le32(data) == n);
	check_entries(entries, n, FILLER);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *rec = data + 4 + (size_t)i * 48;
		FUZZ_CHECK(memcmp(entries[i].hash, rec, HASH_LEN) == 0);
		FUZZ_CHECK(entries[i].off == get_le64(rec + 32));
		FUZZ_CHECK(entries[i].stored_len == get_le32(rec + 40));
		FUZZ_CHECK(entries[i].raw_len == get_le32(rec + 44));
	}
	free(entries);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_pack(data, size);
	as_trailer_payload(data, size);
	return 0;
}
