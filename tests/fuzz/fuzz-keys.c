/*
 * fuzz-keys.c - key_set_decode() on untrusted "keys" payloads (the raw bytes
 * inside the envelope of the object an encrypted repository is opened with,
 * before any key is known). Properties of an accepted set: 1 to KEYS_MAX
 * keys, host names within bounds, scrypt parameters within the bounds that
 * keep a hostile object from making cairn allocate or compute without end,
 * and key_set_encode() gives back exactly the input bytes. scrypt itself is
 * never run here.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "repo/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct key_set ks = { 0 };
	AUTOBUF struct buf out = BUF_INIT;
	int r;

	r = key_set_decode(data, size, &ks);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EINVAL);
		return 0;
	}
	FUZZ_CHECK(ks.n >= 1 && ks.n <= KEYS_MAX);
	for (size_t i = 0; i < ks.n; i++) {
		FUZZ_CHECK(strlen(ks.v[i].host) <= KEY_HOST_MAX);
		FUZZ_CHECK(crypto_scrypt_params_check(&ks.v[i].kdf) == 0);
		FUZZ_CHECK(128 * ks.v[i].kdf.n * ks.v[i].kdf.r <= CRYPTO_SCRYPT_MEM_MAX);
	}
	key_set_encode(&ks, &out);
	FUZZ_CHECK(out.len == size && memcmp(out.ptr, data, size) == 0);
	key_set_release(&ks);
	return 0;
}
