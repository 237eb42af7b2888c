/*
 * crypto.h - hashing and randomness from OpenSSL libcrypto. Encryption
 * (AES-256-GCM under a wrapped master key) will live here too.
 */
#ifndef CAIRN_CRYPTO_H
#define CAIRN_CRYPTO_H

#include "base/util.h"

#define HASH_LEN 32
#define HASH_HEX_LEN (2 * HASH_LEN)

/* SHA-256 of data into out. Thread-safe. */
void crypto_sha256(const void *data, size_t len, uint8_t out[HASH_LEN]);

/* Incremental SHA-256 for streams. */
struct sha256_ctx;
struct sha256_ctx *sha256_new(void);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[HASH_LEN]);
void sha256_free(struct sha256_ctx *c);

/* HMAC-SHA-256 of data under key into out. */
void crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			uint8_t out[HASH_LEN]);

/* Fills out with cryptographically random bytes; -EIO if the generator fails. */
int crypto_random(void *out, size_t len) WARN_UNUSED;

#endif
