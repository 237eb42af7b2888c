/*
 * object.h - the one way repository objects are stored and read back:
 * encoded in an envelope of their kind, named by their id (format/names.h),
 * and on the way back decoded within their kind's size bound and checked
 * against the id they were fetched by, so an object swapped for another
 * valid one is caught as surely as a flipped bit. Logs nothing but what
 * object_put() says it could not store; callers say which object failed and
 * what that costs. keys are the repository's (repo_keys()), NULL when it
 * is unencrypted: they encrypt what is stored and authenticate what is
 * read. All functions are thread-safe.
 */
#ifndef CAIRN_OBJECT_H
#define CAIRN_OBJECT_H

#include "backend/backend.h"
#include "format/index.h"
#include "format/names.h"
#include "format/snapshot.h"
#include "format/tree.h"

/* Fetches the object of kind named by id, decodes it with
 * object_decode() and appends its raw payload to out. -ENOENT when it is
 * missing, -EBADMSG when damaged or not what its name says, other backend
 * errors as they come; out is unchanged on failure. */
int object_fetch(struct backend *b, const struct crypto_keys *keys, enum object_kind kind,
		 const uint8_t id[HASH_LEN], struct buf *out) WARN_UNUSED;
/* The same for an object found under name (a listing's, which may differ
 * from the name id gives when the listing holds strays). */
int object_fetch_name(struct backend *b, const struct crypto_keys *keys, const char *name,
		      enum object_kind kind, const uint8_t id[HASH_LEN],
		      struct buf *out) WARN_UNUSED;
/* Fetches and decodes snapshot header id, as object_fetch(). */
int object_fetch_header(struct backend *b, const struct crypto_keys *keys,
			const uint8_t id[HASH_LEN], struct snapshot_header *ret) WARN_UNUSED;
/* Fetches and decodes tree id, as object_fetch(). */
int object_fetch_tree(struct backend *b, const struct crypto_keys *keys, const uint8_t id[HASH_LEN],
		      struct tree **ret) WARN_UNUSED;

/* Fetches and decodes index object id, as object_fetch(). */
int object_fetch_index(struct backend *b, const struct crypto_keys *keys,
		       const uint8_t id[HASH_LEN], struct index *ret) WARN_UNUSED;

/* Encodes raw as an object of kind (zstd level, 0 for none), stores it
 * under the name its id gives and writes the id to ret_id, and the bytes
 * stored to *ret_stored when that is not NULL. Errors are logged. */
int object_put(struct backend *b, const struct crypto_keys *keys, enum object_kind kind,
	       const struct buf *raw, int level, uint8_t ret_id[HASH_LEN],
	       uint64_t *ret_stored) WARN_UNUSED;

#endif
