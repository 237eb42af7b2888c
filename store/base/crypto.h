/*
 * crypto.h - hashing, randomness, AES-256-GCM, the subkeys of a master key
 * and scrypt, all from OpenSSL libcrypto. No cairn types: the envelope and
 * the key files (repo/keys.c) build the repository format on top.
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

#define CRYPTO_KEY_LEN 32   /* AES-256 and HMAC keys, and the master key */
#define CRYPTO_NONCE_LEN 12 /* a random 96-bit GCM nonce per message */
#define CRYPTO_TAG_LEN 16
#define CRYPTO_OVERHEAD (CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)

/* The keys of an encrypted repository, derived from its master key. Lives
 * in locked memory that core dumps leave out (crypto_keys_new()). */
struct crypto_keys {
	uint8_t master[CRYPTO_KEY_LEN]; /* kept to wrap it under new passwords */
	uint8_t enc[CRYPTO_KEY_LEN];	/* AES-256-GCM key of every object */
	uint8_t id[CRYPTO_KEY_LEN];	/* HMAC-SHA-256 key that names objects */
	/* An EVP_MAC_CTX keyed with id, copied for each crypto_id(): keying
	 * HMAC anew cost 3 us a chunk, twice a small file's read. OpenSSL
	 * keeps its state in its own heap, which is why the processes that
	 * hold keys are not dumpable. */
	void *id_mac;
};

/* Allocates keys derived from master (HKDF-Expand of RFC 5869 with SHA-256,
 * master as the pseudorandom key, info "cairn enc" and "cairn id"), in a
 * page that is mlock()ed where the limits allow and marked MADV_DONTDUMP.
 * Aborts on out of memory. */
struct crypto_keys *crypto_keys_new(const uint8_t master[CRYPTO_KEY_LEN]);
/* Wipes and frees; accepts NULL. */
void crypto_keys_free(struct crypto_keys *k);

/* The id of an object or chunk with raw content data: HMAC-SHA-256 under
 * k->id, or the plain SHA-256 when k is NULL (an unencrypted repository).
 * Thread-safe. */
void crypto_id(const struct crypto_keys *k, const void *data, size_t len, uint8_t out[HASH_LEN]);

/* AES-256-GCM with a fresh random nonce: writes nonce, ciphertext and tag
 * (len + CRYPTO_OVERHEAD bytes) to out, authenticating aad too. in may be
 * out + CRYPTO_NONCE_LEN (encryption in place); no other overlap. -EIO when
 * the random generator or the cipher fails. Thread-safe. */
int crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len, const void *in,
		size_t len, uint8_t *out) WARN_UNUSED;
/* Reverses crypto_seal(): in holds nonce, ciphertext and tag (len bytes,
 * at least CRYPTO_OVERHEAD); writes len - CRYPTO_OVERHEAD plaintext bytes
 * to out. -EBADMSG when authentication fails (a wrong key, or any changed
 * byte of in or aad); out is then wiped. Thread-safe. */
int crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len,
		const uint8_t *in, size_t len, uint8_t *out) WARN_UNUSED;

/* scrypt cost parameters (RFC 7914): N (a power of two), r and p. */
struct scrypt_params {
	uint64_t n;
	uint32_t r;
	uint32_t p;
};
/* The bounds every parameter set read from a repository must meet, so a
 * hostile key file cannot make cairn allocate or compute without end:
 * N a power of two from 2^4 to 2^20, r 1..32, p 1..16, and at most
 * CRYPTO_SCRYPT_MEM_MAX bytes of memory (128 * N * r). */
#define CRYPTO_SCRYPT_MEM_MAX (1ull << 30)
/* 0 when p lies within the bounds above, else -EINVAL. */
int crypto_scrypt_params_check(const struct scrypt_params *p) WARN_UNUSED;
/* Parameters that take about target_ms on this machine with r = 8, p = 1
 * (measured once, so this costs a few tens of ms). */
struct scrypt_params crypto_scrypt_tune(unsigned target_ms);
/* Derives out_len bytes from password and salt. -EINVAL for parameters out
 * of bounds, -ENOMEM when scrypt cannot get its memory. */
int crypto_scrypt(const char *password, size_t password_len, const uint8_t *salt, size_t salt_len,
		  const struct scrypt_params *p, uint8_t *out, size_t out_len) WARN_UNUSED;

#endif
