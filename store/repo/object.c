/*
 * object.c - store and fetch repository objects by kind and id.
 *
 * Every read of an id-named object comes through object_fetch_name(): the
 * backend's bytes, then object_decode(), which applies the kind's bound
 * from format/names.h before anything is allocated and compares the
 * payload's hash with the id. Chunks are the exception, read by byte range
 * from their pack with their recorded length as the bound (repo.c).
 */
#include "repo/object.h"
#include "base/log.h"
#include "format/envelope.h"

int object_fetch_name(struct backend *b, const struct crypto_keys *keys, const char *name,
		      enum object_kind kind, const uint8_t id[HASH_LEN], struct buf *out)
{
	AUTOBUF struct buf obj = BUF_INIT;
	int r;

	r = backend_get(b, name, &obj);
	if (r < 0)
		return r;
	return object_decode(keys, obj.ptr, obj.len, kind, id, out);
}

int object_fetch(struct backend *b, const struct crypto_keys *keys, enum object_kind kind,
		 const uint8_t id[HASH_LEN], struct buf *out)
{
	char name[OBJECT_NAME_MAX];

	object_name(kind, id, name);
	return object_fetch_name(b, keys, name, kind, id, out);
}

int object_fetch_header(struct backend *b, const struct crypto_keys *keys,
			const uint8_t id[HASH_LEN], struct snapshot_header *ret)
{
	AUTOBUF struct buf payload = BUF_INIT;
	int r;

	r = object_fetch(b, keys, OBJECT_SNAPSHOT, id, &payload);
	if (r < 0)
		return r;
	return snapshot_header_decode(payload.ptr, payload.len, ret);
}

int object_fetch_tree(struct backend *b, const struct crypto_keys *keys, const uint8_t id[HASH_LEN],
		      struct tree **ret)
{
	AUTOBUF struct buf payload = BUF_INIT;
	int r;

	r = object_fetch(b, keys, OBJECT_TREE, id, &payload);
	if (r < 0)
		return r;
	return tree_decode(payload.ptr, payload.len, ret);
}

int object_fetch_index(struct backend *b, const struct crypto_keys *keys,
		       const uint8_t id[HASH_LEN], struct index *ret)
{
	AUTOBUF struct buf payload = BUF_INIT;
	int r;

	r = object_fetch(b, keys, OBJECT_INDEX, id, &payload);
	if (r < 0)
		return r;
	return index_decode(payload.ptr, payload.len, ret);
}

int object_put(struct backend *b, const struct crypto_keys *keys, enum object_kind kind,
	       const struct buf *raw, int level, uint8_t ret_id[HASH_LEN], uint64_t *ret_stored)
{
	AUTOBUF struct buf obj = BUF_INIT;
	const char *dir = object_kind_dir(kind);
	char name[OBJECT_NAME_MAX];
	int r;

	r = envelope_encode(keys, kind, raw->ptr, raw->len, level, NULL, &obj, ret_id);
	if (r < 0)
		return log_error_errno(r, "cannot encode a %.*s object", (int)strlen(dir) - 1, dir);
	object_name(kind, ret_id, name);
	r = backend_put(b, name, obj.ptr, obj.len);
	if (r < 0)
		return log_error_errno(r, "cannot store '%s'", name);
	if (ret_stored)
		*ret_stored = obj.len;
	return 0;
}
