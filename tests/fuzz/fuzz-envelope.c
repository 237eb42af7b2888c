/*
 * fuzz-envelope.c - the frame around every object: envelope_parse_header()
 * and envelope_decode() for each object kind, with the bound on the raw
 * length that the kind's reader uses. Properties: a decode succeeds for the
 * header's kind only, appends exactly raw_len bytes whose SHA-256 is the
 * header's hash, leaves the output untouched when it fails, and what decodes
 * encodes back (byte for byte when it was stored uncompressed) and decodes
 * again to the same payload. The payload then goes to its kind's decoder,
 * as a reader would send it.
 *
 * Inputs: whole objects as stored (config, snapshots/, trees/, index/,
 * snapshot-list, locks/, prune-pending, chunk envelopes cut out of packs).
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "format/chunker.h"
#include "format/envelope.h"
#include "format/index.h"
#include "format/listing.h"
#include "repo/lock.h"
#include "format/tree.h"
#include "format/snapshot.h"
#include "repo/pending.h"
#include "repo/keys.h"
#include "repo/repo.h"

/* The largest payload each reader accepts (repo.c, cache.c). */
static size_t max_raw(enum object_kind kind)
{
	switch (kind) {
	case OBJECT_CONFIG:
		return 4096;
	case OBJECT_CHUNK:
		return CHUNK_SIZE_MAX_LIMIT;
	case OBJECT_SNAPSHOT:
		return 1u << 20;
	case OBJECT_LOCK:
		return LOCK_PAYLOAD_MAX;
	case OBJECT_KEY:
		return 16384;
	case OBJECT_PACK_TRAILER:
	case OBJECT_TREE:
	case OBJECT_INDEX:
	case OBJECT_LISTING:
	case OBJECT_PENDING:
		break;
	}
	return ENVELOPE_RAW_MAX;
}

/* Hands a verified payload to the decoder of its kind. */
static void decode_payload(enum object_kind kind, const uint8_t *p, size_t len)
{
	switch (kind) {
	case OBJECT_CONFIG: {
		struct repo_config cfg;
		if (repo_config_decode(p, len, &cfg) == 0)
			FUZZ_CHECK(chunker_params_check(&cfg.chunker) == 0);
		break;
	}
	case OBJECT_KEY: {
		struct key_set ks = { 0 };
		if (key_set_decode(p, len, &ks) == 0)
			key_set_release(&ks);
		break;
	}
	case OBJECT_TREE: {
		struct tree *t;
		if (tree_decode(p, len, &t) == 0)
			tree_free(t);
		break;
	}
	case OBJECT_SNAPSHOT: {
		struct snapshot_header h;
		if (snapshot_header_decode(p, len, &h) == 0)
			snapshot_header_release(&h);
		break;
	}
	case OBJECT_INDEX: {
		struct index ix;
		if (index_decode(p, len, &ix) == 0)
			index_release(&ix);
		break;
	}
	case OBJECT_LISTING: {
		struct listing_entry *v;
		size_t n;
		if (listing_decode(NULL, p, len, &v, &n) == 0)
			free(v);
		break;
	}
	case OBJECT_LOCK: {
		struct lock_info li;
		char machine[LOCK_MACHINE_MAX + 1];
		if (lock_decode(p, len, &li, machine) == 0)
			FUZZ_CHECK((li.kind == LOCK_SHARED || li.kind == LOCK_EXCLUSIVE) &&
				   strlen(li.host) <= HOST_LEN_MAX &&
				   strlen(machine) <= LOCK_MACHINE_MAX);
		break;
	}
	case OBJECT_PENDING: {
		struct pending pd;
		if (pending_decode(p, len, &pd) == 0) {
			for (size_t i = 1; i < pd.n; i++)
				FUZZ_CHECK(pd.entries[i - 1].kind < pd.entries[i].kind ||
					   (pd.entries[i - 1].kind == pd.entries[i].kind &&
					    memcmp(pd.entries[i - 1].id, pd.entries[i].id,
						   HASH_LEN) <= 0));
			pending_release(&pd);
		}
		break;
	}
	case OBJECT_CHUNK:
	case OBJECT_PACK_TRAILER:
		break; /* chunk bytes are opaque; trailers have fuzz-pack-trailer */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope_header h;
	int parsed = envelope_parse_header(data, size, &h);

	FUZZ_CHECK(parsed == 0 || parsed == -EBADMSG);
	FUZZ_CHECK(parsed < 0 || (h.kind >= OBJECT_CONFIG && h.kind <= OBJECT_KIND_MAX &&
				  h.raw_len <= ENVELOPE_RAW_MAX));

	for (int k = OBJECT_CONFIG; k <= OBJECT_KIND_MAX; k++) {
		enum object_kind kind = (enum object_kind)k;
		AUTOBUF struct buf out = BUF_INIT;
		uint8_t hash[HASH_LEN], check[HASH_LEN];
		int r;

		/* a byte already in out must survive, and a failure append nothing */
		buf_append_u8(&out, 0xa5);
		r = envelope_decode(NULL, data, size, kind, max_raw(kind), &out, hash);
		if (r < 0) {
			FUZZ_CHECK(r == -EBADMSG || r == -EKEYREJECTED);
			FUZZ_CHECK(out.len == 1 && out.ptr[0] == 0xa5);
			continue;
		}
		FUZZ_CHECK(parsed == 0 && h.kind == kind && !(h.flags & ENVELOPE_ENCRYPTED));
		FUZZ_CHECK(size == ENVELOPE_HEADER_SIZE + (size_t)h.stored_len);
		FUZZ_CHECK(out.len == 1 + (size_t)h.raw_len && out.ptr[0] == 0xa5);
		FUZZ_CHECK(h.raw_len <= max_raw(kind));
		crypto_sha256(out.ptr + 1, h.raw_len, check);
		FUZZ_CHECK(memcmp(hash, h.hash, HASH_LEN) == 0);
		FUZZ_CHECK(memcmp(check, h.hash, HASH_LEN) == 0);

		AUTOBUF struct buf again = BUF_INIT;
		AUTOBUF struct buf back = BUF_INIT;
		bool zstd = h.flags & ENVELOPE_ZSTD;
		int n = envelope_encode(NULL, kind, out.ptr + 1, h.raw_len, zstd ? 3 : 0, NULL,
					&again, NULL);
		FUZZ_CHECK(n >= ENVELOPE_HEADER_SIZE && (size_t)n == again.len);
		if (!zstd)
			FUZZ_CHECK(again.len == size && memcmp(again.ptr, data, size) == 0);
		FUZZ_CHECK(envelope_decode(NULL, again.ptr, again.len, kind, max_raw(kind), &back,
					   NULL) == 0);
		FUZZ_CHECK(back.len == h.raw_len);
		FUZZ_CHECK(h.raw_len == 0 || memcmp(back.ptr, out.ptr + 1, h.raw_len) == 0);

		decode_payload(kind, out.ptr + 1, h.raw_len);
	}
	return 0;
}
