/*
 * chunker.c - FastCDC (Xia et al., USENIX ATC 2016) with normalized chunking.
 *
 * A rolling "gear" fingerprint fp = (fp << 1) + gear[byte] is updated per
 * byte; since each step shifts one bit out, bit k of fp depends only on the
 * last k+1 bytes, and the top bits on the last 64. A cut is made after the
 * byte where the masked top bits are all zero. Before the average size the
 * mask has two bits more than log2(avg) (cuts are rarer), after it two bits
 * fewer (cuts are likelier), which narrows the distribution of chunk sizes
 * around the average. No cut happens before min_size; one always happens at
 * max_size.
 *
 * The gear table is part of the repository format: entry i is the first
 * eight bytes (little-endian) of SHA-256("cairn-gear" || byte i). Changing it
 * would change every cut point and so defeat deduplication against old
 * snapshots.
 */
#include "format/chunker.h"
#include "base/crypto.h"

#include <pthread.h>

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

static void gear_init(void)
{
	for (int i = 0; i < 256; i++) {
		uint8_t seed[11], h[HASH_LEN];
		memcpy(seed, "cairn-gear", 10);
		seed[10] = (uint8_t)i;
		crypto_sha256(seed, sizeof(seed), h);
		gear[i] = get_le64(h);
	}
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

struct chunker_params chunker_default_params(void)
{
	return (struct chunker_params){ 256u << 10, 1u << 20, 4u << 20 };
}

int chunker_params_check(const struct chunker_params *p)
{
	if (!is_pow2(p->avg_size) || p->min_size < CHUNK_SIZE_MIN_LIMIT ||
	    p->max_size > CHUNK_SIZE_MAX_LIMIT || p->min_size > p->avg_size ||
	    p->avg_size > p->max_size)
		return -EINVAL;
	return 0;
}

int chunker_params_from_avg(uint64_t avg, struct chunker_params *ret)
{
	uint64_t a = 1;

	while (a < avg && a < ((uint64_t)1 << 40))
		a <<= 1;
	struct chunker_params p = { (uint32_t)MIN(a / 4, UINT32_MAX), (uint32_t)MIN(a, UINT32_MAX),
				    (uint32_t)MIN(a * 4, UINT32_MAX) };
	if (a > CHUNK_SIZE_MAX_LIMIT || chunker_params_check(&p) < 0)
		return -EINVAL;
	*ret = p;
	return 0;
}

static uint64_t top_mask(unsigned bits)
{
	return bits >= 64 ? ~0ull : ~0ull << (64 - bits);
}

size_t chunker_cut(const struct chunker_params *p, const uint8_t *data, size_t len, bool at_end)
{
	pthread_once(&gear_once, gear_init);

	if (len <= p->min_size)
		return at_end ? len : 0;

	unsigned bits = (unsigned)__builtin_ctz(p->avg_size);
	uint64_t mask_small = top_mask(bits + 2), mask_large = top_mask(bits > 2 ? bits - 2 : 1);
	size_t end = MIN(len, (size_t)p->max_size);
	size_t normal = MIN(end, (size_t)p->avg_size);
	uint64_t fp = 0;
	size_t i = p->min_size;

	/* Warm the fingerprint over the 64 bytes before min_size, so the cut
	 * decision at any position depends on the same window it would have
	 * if the chunk had started elsewhere. */
	for (size_t j = i >= 64 ? i - 64 : 0; j < i; j++)
		fp = (fp << 1) + gear[data[j]];

	for (; i < normal; i++) {
		fp = (fp << 1) + gear[data[i]];
		if (!(fp & mask_small))
			return i + 1;
	}
	for (; i < end; i++) {
		fp = (fp << 1) + gear[data[i]];
		if (!(fp & mask_large))
			return i + 1;
	}
	if (end == p->max_size || at_end)
		return end;
	return 0;
}
