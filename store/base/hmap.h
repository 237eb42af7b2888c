/*
 * hmap.h - open-addressing hash map from 32-byte keys (hashes, or small keys
 * zero-padded) to 64-bit values. Grows at 50% load; no deletion, since its
 * users (a backup's chunk and hardlink tables) only add. Not thread-safe.
 */
#ifndef CAIRN_HMAP_H
#define CAIRN_HMAP_H

#include "base/util.h"

#define HMAP_KEY_LEN 32

struct hmap_slot {
	uint8_t key[HMAP_KEY_LEN];
	uint64_t value;
	bool used;
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

void hmap_init(struct hmap *m);
void hmap_release(struct hmap *m);
/* Returns a pointer to the value for key, or NULL. Valid until the next put. */
uint64_t *hmap_get(const struct hmap *m, const uint8_t key[HMAP_KEY_LEN]);
/* Inserts or overwrites. */
void hmap_put(struct hmap *m, const uint8_t key[HMAP_KEY_LEN], uint64_t value);

#endif
