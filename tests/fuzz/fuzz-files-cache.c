/*
 * fuzz-files-cache.c - files_cache_parse() on the bytes of a files cache
 * (the per-member file in the local cache directory that lets a backup skip
 * unchanged files; a damaged one must be refused, never trusted). Every
 * record of an accepted cache can be looked up by its path, and each
 * chunk record lies inside the bytes.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "ops/files-cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct files_cache *fc = NULL;
	uint8_t *copy = xmalloc(size ? size : 1);
	memcpy(copy, data, size);

	int r = files_cache_parse(copy, size, &fc);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG);
		return 0;
	}
	/* walk the bytes again: header, pack table, then each record's path
	 * blob, fixed fields (52 bytes) and chunk records (60 bytes each) */
	uint32_t n_packs = get_le32(data + 8 + 32);
	FUZZ_CHECK(n_packs == fc->n_packs);
	size_t off = 8 + 32 + 4 + (size_t)n_packs * 32 + 8;
	while (off < size) {
		uint32_t len = get_le32(data + off);
		AUTOFREE char *path = xmalloc((size_t)len + 1);
		memcpy(path, data + off + 4, len);
		path[len] = '\0';
		struct files_cache_entry e;
		if (strlen(path) == len && files_cache_find(fc, path, &e) == 0) {
			FUZZ_CHECK(e.chunks >= fc->data && e.chunks <= fc->data + fc->len);
			FUZZ_CHECK((size_t)(fc->data + fc->len - e.chunks) >=
				   (size_t)e.n_chunks * 60);
			for (uint32_t i = 0; i < e.n_chunks; i++) {
				struct files_cache_chunk c;
				files_cache_chunk_at(&e, i, &c);
				const uint8_t *pack = files_cache_pack(fc, c.pack);
				FUZZ_CHECK(!pack ||
					   (pack >= fc->data && pack + 32 <= fc->data + fc->len));
			}
		}
		off += 4 + len + 52;
		uint32_t n_chunks = get_le32(data + off);
		off += 4 + (size_t)n_chunks * 60;
	}
	FUZZ_CHECK(off == size);
	files_cache_free(fc);
	return 0;
}
