/*
 * fuzz-config.c - repo_config_decode() on untrusted config payloads (the raw
 * bytes inside the "config" envelope, the first object every command reads).
 * Properties of an accepted config: the chunker parameters pass
 * chunker_params_check(), the zstd level and pack size are in range, and
 * repo_config_encode() gives back exactly the input bytes.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "format/pack.h"
#include "repo/repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repo_config cfg;
	AUTOBUF struct buf out = BUF_INIT;
	int r;

	r = repo_config_decode(data, size, &cfg);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT || r == -EKEYREJECTED);
		return 0;
	}
	FUZZ_CHECK(cfg.version == REPO_FORMAT_VERSION);
	FUZZ_CHECK(chunker_params_check(&cfg.chunker) == 0);
	FUZZ_CHECK(cfg.zstd_level >= 0 && cfg.zstd_level <= 22);
	FUZZ_CHECK(cfg.pack_size >= cfg.chunker.max_size && cfg.pack_size <= PACK_SIZE_MAX);
	repo_config_encode(&cfg, &out);
	FUZZ_CHECK(out.len == size && memcmp(out.ptr, data, size) == 0);
	return 0;
}
