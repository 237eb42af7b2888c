/*
 * crypto.c - SHA-256, HMAC and random bytes through OpenSSL's EVP layer,
 * which picks the SHA-NI code path where the CPU has it. The digest method is
 * fetched once per process, not per call.
 */
#include "base/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>

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
