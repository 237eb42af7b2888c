/*
 * crypto.c - SHA-256, HMAC, random bytes, AES-256-GCM and scrypt through
 * OpenSSL's EVP layer, which picks the SHA-NI and AES-NI code paths where
 * the CPU has them. The digest and cipher methods are fetched once per
 * process, not per call.
 *
 * Nonces are random, 96 bits, drawn per message from OpenSSL's CSPRNG; the
 * bound that follows (NIST SP 800-38D: at most 2^32 messages per key for a
 * collision chance below 2^-32) is discussed in cairn-repository(5).
 * Subkeys come from HKDF-Expand (RFC 5869) with the random master key as
 * the pseudorandom key: for one 32-byte output that is one HMAC of
 * info || 0x01, which is all this file computes.
 */
#include "base/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <sys/mman.h>

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256_md)
		abort();
}

static const EVP_MD *md(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md;
}

void crypto_sha256(const void *data, size_t len, uint8_t out[HASH_LEN])
{
	unsigned n = HASH_LEN;
	if (!EVP_Digest(data, len, out, &n, md(), NULL))
		abort();
}

struct sha256_ctx {
	EVP_MD_CTX *ctx;
};

struct sha256_ctx *sha256_new(void)
{
	struct sha256_ctx *c = xmalloc(sizeof(*c));
	c->ctx = EVP_MD_CTX_new();
	if (!c->ctx || !EVP_DigestInit_ex(c->ctx, md(), NULL))
		abort();
	return c;
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	if (!EVP_DigestUpdate(c->ctx, data, len))
		abort();
}

void sha256_final(struct sha256_ctx *c, uint8_t out[HASH_LEN])
{
	unsigned n = HASH_LEN;
	if (!EVP_DigestFinal_ex(c->ctx, out, &n))
		abort();
}

void sha256_free(struct sha256_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->ctx);
	free(c);
}

void crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			uint8_t out[HASH_LEN])
{
	unsigned n = HASH_LEN;
	if (!HMAC(md(), key, (int)key_len, data, len, out, &n))
		abort();
}

int crypto_random(void *out, size_t len)
{
	return RAND_bytes(out, (int)len) == 1 ? 0 : -EIO;
}

void crypto_id(const struct crypto_keys *k, const void *data, size_t len, uint8_t out[HASH_LEN])
{
	if (!k) {
		crypto_sha256(data, len, out);
		return;
	}
	if (!k->id_mac) { /* keys not made by crypto_keys_new() */
		crypto_hmac_sha256(k->id, sizeof(k->id), data, len, out);
		return;
	}
	/* Duplicating only reads the template, so threads share it. */
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(k->id_mac);
	size_t n = 0;
	if (!c || !EVP_MAC_update(c, data, len) || !EVP_MAC_final(c, out, &n, HASH_LEN) ||
	    n != HASH_LEN)
		abort();
	EVP_MAC_CTX_free(c);
}

static void hkdf_expand(const uint8_t prk[CRYPTO_KEY_LEN], const char *info,
			uint8_t out[CRYPTO_KEY_LEN])
{
	uint8_t msg[64];
	size_t n = strlen(info);

	assert(n < sizeof(msg));
	memcpy(msg, info, n);
	msg[n] = 1;
	crypto_hmac_sha256(prk, CRYPTO_KEY_LEN, msg, n + 1, out);
}

static EVP_MAC *hmac_mac;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!hmac_mac)
		abort();
}

/* An HMAC-SHA-256 context keyed with key, to be copied, never used itself. */
static EVP_MAC_CTX *id_mac_new(const uint8_t key[CRYPTO_KEY_LEN])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};

	pthread_once(&hmac_once, hmac_fetch);
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(hmac_mac);
	if (!c || !EVP_MAC_init(c, key, CRYPTO_KEY_LEN, params))
		abort();
	return c;
}

struct crypto_keys *crypto_keys_new(const uint8_t master[CRYPTO_KEY_LEN])
{
	long page = sysconf(_SC_PAGESIZE);
	void *mem = NULL;

	static_assert(sizeof(struct crypto_keys) <= 4096, "keys fit in one page");
	if (page < (long)sizeof(struct crypto_keys))
		page = 4096;
	if (posix_memalign(&mem, (size_t)page, (size_t)page) != 0)
		abort();
	/* Best effort: RLIMIT_MEMLOCK may be 0 for unprivileged users. */
	(void)mlock(mem, (size_t)page);
	(void)madvise(mem, (size_t)page, MADV_DONTDUMP);
	struct crypto_keys *k = mem;
	memcpy(k->master, master, CRYPTO_KEY_LEN);
	hkdf_expand(master, "cairn enc", k->enc);
	hkdf_expand(master, "cairn id", k->id);
	k->id_mac = id_mac_new(k->id);
	return k;
}

void crypto_keys_free(struct crypto_keys *k)
{
	if (!k)
		return;
	EVP_MAC_CTX_free(k->id_mac);
	OPENSSL_cleanse(k, sizeof(*k));
	(void)munlock(k, (size_t)sysconf(_SC_PAGESIZE));
	free(k);
}

static EVP_CIPHER *gcm_cipher;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void gcm_fetch(void)
{
	gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (!gcm_cipher)
		abort();
}

static const EVP_CIPHER *gcm(void)
{
	pthread_once(&gcm_once, gcm_fetch);
	return gcm_cipher;
}

static void cipher_ctx_freep(EVP_CIPHER_CTX **c)
{
	EVP_CIPHER_CTX_free(*c);
}

int crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len, const void *in,
		size_t len, uint8_t *out)
{
	CLEANUP(cipher_ctx_freep) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t *nonce = out, *ct = out + CRYPTO_NONCE_LEN;
	int n = 0, fin = 0;

	if (!c || len > INT_MAX || aad_len > INT_MAX)
		return -EIO;
	if (RAND_bytes(nonce, CRYPTO_NONCE_LEN) != 1)
		return -EIO;
	if (!EVP_EncryptInit_ex2(c, gcm(), key, nonce, NULL))
		return -EIO;
	if (aad_len > 0 && !EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len))
		return -EIO;
	if (len > 0 && !EVP_EncryptUpdate(c, ct, &n, in, (int)len))
		return -EIO;
	if (!EVP_EncryptFinal_ex(c, ct + n, &fin))
		return -EIO;
	if (!EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN, ct + len))
		return -EIO;
	return 0;
}

int crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len,
		const uint8_t *in, size_t len, uint8_t *out)
{
	CLEANUP(cipher_ctx_freep) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;

	if (len < CRYPTO_OVERHEAD)
		return -EBADMSG;
	size_t ct_len = len - CRYPTO_OVERHEAD;
	const uint8_t *nonce = in, *ct = in + CRYPTO_NONCE_LEN, *tag = ct + ct_len;
	if (!c || ct_len > INT_MAX || aad_len > INT_MAX)
		return -EIO;
	if (!EVP_DecryptInit_ex2(c, gcm(), key, nonce, NULL))
		return -EIO;
	if (aad_len > 0 && !EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len))
		return -EIO;
	if (ct_len > 0 && !EVP_DecryptUpdate(c, out, &n, ct, (int)ct_len))
		return -EIO;
	if (!EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN, (void *)tag))
		return -EIO;
	if (EVP_DecryptFinal_ex(c, out + n, &fin) != 1) {
		OPENSSL_cleanse(out, ct_len);
		return -EBADMSG;
	}
	return 0;
}

int crypto_scrypt_params_check(const struct scrypt_params *p)
{
	if (p->n < 16 || p->n > (1u << 20) || (p->n & (p->n - 1)) != 0)
		return -EINVAL;
	if (p->r < 1 || p->r > 32 || p->p < 1 || p->p > 16)
		return -EINVAL;
	if (128 * p->n * p->r > CRYPTO_SCRYPT_MEM_MAX)
		return -EINVAL;
	return 0;
}

int crypto_scrypt(const char *password, size_t password_len, const uint8_t *salt, size_t salt_len,
		  const struct scrypt_params *p, uint8_t *out, size_t out_len)
{
	if (crypto_scrypt_params_check(p) < 0)
		return -EINVAL;
	/* maxmem: scrypt's V (128 N r) plus B (128 r p), with room to spare. */
	uint64_t maxmem = 128 * p->n * p->r + 128ull * p->r * p->p + (1u << 20);
	if (EVP_PBE_scrypt(password, password_len, salt, salt_len, p->n, p->r, p->p, maxmem, out,
			   out_len) != 1)
		return -ENOMEM;
	return 0;
}

struct scrypt_params crypto_scrypt_tune(unsigned target_ms)
{
	struct scrypt_params p = { .n = 1u << 14, .r = 8, .p = 1 };
	uint8_t out[CRYPTO_KEY_LEN], salt[16] = { 0 };

	uint64_t t0 = now_ns();
	if (crypto_scrypt("tune", 4, salt, sizeof(salt), &p, out, sizeof(out)) < 0)
		return p;
	uint64_t ms = (now_ns() - t0) / 1000000 + 1;
	/* The cost is linear in N: double it while the estimate stays below
	 * the target, within the bounds readers accept. */
	while (ms * 2 <= target_ms && p.n < (1u << 20)) {
		p.n *= 2;
		ms *= 2;
	}
	return p;
}
