/*
 * names.h - the one home of what a repository's objects are called, which
 * kind of envelope each holds, and how large each kind may be once decoded.
 *
 *   name               kind                 raw payload at most
 *   config             OBJECT_CONFIG        CONFIG_MAX
 *   snapshot-list      OBJECT_LISTING       LISTING_MAX
 *   prune-pending      OBJECT_PENDING       PENDING_MAX
 *   snapshots/<hex>    OBJECT_SNAPSHOT      SNAPSHOT_HEADER_MAX
 *   trees/<hex>        OBJECT_TREE          TREE_MAX
 *   index/<hex>        OBJECT_INDEX         INDEX_MAX
 *   locks/<hex>        OBJECT_LOCK          LOCK_PAYLOAD_MAX
 *   keys               OBJECT_KEY           KEYS_OBJECT_MAX
 *   packs/ab/<hex>     OBJECT_CHUNK each, then one OBJECT_PACK_TRAILER
 *
 * <hex> is 64 lowercase hex digits: the id of the raw payload (SHA-256, or
 * HMAC-SHA-256 under the id key in an encrypted repository), the SHA-256 of the
 * whole pack for packs ("ab" is its first two digits), and random for
 * locks. Every name built or recognised anywhere comes from here.
 */
#ifndef CAIRN_NAMES_H
#define CAIRN_NAMES_H

#include "base/crypto.h"
#include "base/util.h"

#include <stdbool.h>
#include <stddef.h>

enum object_kind {
	OBJECT_CONFIG = 1,
	OBJECT_CHUNK = 2,
	OBJECT_PACK_TRAILER = 3, /* the end of a pack; names the pack: packs/ab/<id> */
	OBJECT_TREE = 4,
	OBJECT_SNAPSHOT = 5,
	OBJECT_INDEX = 6,
	OBJECT_LISTING = 7,
	OBJECT_LOCK = 8,    /* locks/<random>: who works on the repository (lock.c) */
	OBJECT_PENDING = 9, /* prune-pending: what prune found unreferenced, and when */
	OBJECT_KEY = 10,    /* keys: the master key wrapped under each password (keys.c) */
	OBJECT_KIND_MAX = OBJECT_KEY,
};

/* Largest decompressed payload any envelope may claim (trees of very large
 * snapshots are the biggest objects). */
#define ENVELOPE_RAW_MAX (1u << 30)
/* Per kind: the largest raw payload a reader accepts. */
#define CONFIG_MAX 4096
#define SNAPSHOT_HEADER_MAX (64u << 10) /* 128-byte member, 255-byte host, 64 tags */
#define TREE_MAX ENVELOPE_RAW_MAX
#define INDEX_MAX ENVELOPE_RAW_MAX
#define LISTING_MAX (256u << 20) /* a million snapshots with their headers */
#define PENDING_MAX (256u << 20) /* six million unreferenced packs and trees */
#define LOCK_PAYLOAD_MAX 4096
#define KEYS_OBJECT_MAX 16384 /* 64 keys of at most 190 bytes */

/* The largest raw payload of an object of kind, from the table above.
 * Chunks and pack trailers have bounds of their own (the chunk's recorded
 * length, the pack's size), so for them it is ENVELOPE_RAW_MAX. */
size_t object_kind_max(enum object_kind kind);

#define CONFIG_NAME "config"
#define LISTING_NAME "snapshot-list"
#define PENDING_NAME "prune-pending"
#define KEYS_NAME "keys"

/* The longest name of an object named by an id, plus its NUL. */
#define OBJECT_NAME_MAX (12 + HASH_HEX_LEN)
/* "packs/ab/<64 hex>" + NUL */
#define PACK_NAME_LEN (6 + 3 + HASH_HEX_LEN + 1)
/* "locks/<64 hex>" + NUL */
#define LOCK_NAME_LEN (6 + HASH_HEX_LEN + 1)

/* The folders of objects named by an id, with their slash. */
#define SNAPSHOTS_DIR "snapshots/"
#define TREES_DIR "trees/"
#define INDEX_DIR "index/"
#define LOCKS_DIR "locks/"
#define PACKS_DIR "packs/"

/* The folder of objects of kind, with its slash ("snapshots/", "trees/",
 * "index/", "locks/", "packs/" for OBJECT_PACK_TRAILER), for listings;
 * NULL for kinds not named by an id. */
const char *object_kind_dir(enum object_kind kind);
/* Writes the name of the object of kind named by id into out (at least
 * OBJECT_NAME_MAX bytes; PACK_NAME_LEN and LOCK_NAME_LEN suffice for
 * theirs). kind must be one object_kind_dir() knows. */
void object_name(enum object_kind kind, const uint8_t id[HASH_LEN], char *out);
/* True when name is exactly what object_name() writes for kind and some id,
 * with lowercase hex; the id goes to ret_id. */
bool object_name_parse(enum object_kind kind, const char *name, uint8_t ret_id[HASH_LEN]);

#endif
