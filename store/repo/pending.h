/*
 * pending.h - the "prune-pending" object: the packs and trees that prune
 * found unreferenced, each with the time it first found so. Prune deletes
 * one only once no backup that started before that time (plus a margin for
 * clock skew) is still running, and backups never deduplicate against a
 * pending pack, so nothing they write can come to depend on one.
 */
#ifndef CAIRN_PENDING_H
#define CAIRN_PENDING_H

#include "backend/backend.h"
#include "base/crypto.h"
#include "format/names.h"

enum pending_kind {
	PENDING_PACK = 1,
	PENDING_TREE = 2,
};

struct pending_entry {
	enum pending_kind kind;
	uint8_t id[HASH_LEN];
	int64_t since; /* UTC seconds (prune's clock) when first found unreferenced */
};

struct pending {
	struct pending_entry *entries; /* owned; sorted by (kind, id) after read */
	size_t n, cap;
};

void pending_release(struct pending *p);
void pending_add(struct pending *p, enum pending_kind kind, const uint8_t id[HASH_LEN],
		 int64_t since);
/* The entry for (kind, id), or NULL. p must be sorted (pending_sort()). */
const struct pending_entry *pending_find(const struct pending *p, enum pending_kind kind,
					 const uint8_t id[HASH_LEN]);
void pending_sort(struct pending *p);

/* Parses the payload of a prune-pending object (untrusted) into *ret,
 * sorted. 0 or -EBADMSG. */
int pending_decode(const uint8_t *data, size_t len, struct pending *ret) WARN_UNUSED;
/* Reads the object (an empty set when there is none). -EBADMSG (logged)
 * when it is damaged. */
int pending_read(struct backend *b, const struct crypto_keys *keys,
		 struct pending *ret) WARN_UNUSED;
/* Replaces the object with p (or removes it when p is empty). */
int pending_write(struct backend *b, const struct crypto_keys *keys,
		  const struct pending *p) WARN_UNUSED;

#endif
