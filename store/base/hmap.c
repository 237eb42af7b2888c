/*
 * hmap.c - linear probing over a power-of-two table. Keys are mixed with a
 * 64-bit finaliser, so keys that are not already uniformly distributed
 * (device and inode numbers) spread as well as SHA-256 hashes do.
 */
#include "base/hmap.h"

static uint64_t mix(const uint8_t *key)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < HMAP_KEY_LEN; i += 8) {
		h ^= get_le64(key + i);
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return h;
}

void hmap_init(struct hmap *m)
{
	*m = (struct hmap){ 0 };
}

void hmap_release(struct hmap *m)
{
	free(m->slots);
	*m = (struct hmap){ 0 };
}

static struct hmap_slot *find(const struct hmap *m, const uint8_t *key)
{
	size_t i = mix(key) & (m->cap - 1);
	while (m->slots[i].used && memcmp(m->slots[i].key, key, HMAP_KEY_LEN) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

uint64_t *hmap_get(const struct hmap *m, const uint8_t key[HMAP_KEY_LEN])
{
	if (m->cap == 0)
		return NULL;
	struct hmap_slot *s = find(m, key);
	return s->used ? &s->value : NULL;
}

void hmap_put(struct hmap *m, const uint8_t key[HMAP_KEY_LEN], uint64_t value)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct hmap old = *m;
		m->cap = old.cap ? old.cap * 2 : 256;
		m->slots = xcalloc(m->cap, sizeof(*m->slots));
		m->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.slots[i].used)
				hmap_put(m, old.slots[i].key, old.slots[i].value);
		free(old.slots);
	}
	struct hmap_slot *s = find(m, key);
	if (!s->used) {
		s->used = true;
		memcpy(s->key, key, HMAP_KEY_LEN);
		m->n++;
	}
	s->value = value;
}
