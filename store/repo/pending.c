/*
 * pending.c - read and write the "prune-pending" object (an envelope of
 * kind OBJECT_PENDING, rewritten whole by each prune):
 *
 *   size      meaning
 *   4         format version (1)
 *   4         number of entries n
 *   41 * n    kind 1 (1 pack, 2 tree), object id 32,
 *             time first found unreferenced 8 (UTC seconds)
 */
#include "repo/pending.h"
#include "format/envelope.h"
#include "base/log.h"
#include "base/rbuf.h"

#define PENDING_VERSION 1
#define PENDING_ENTRY_SIZE 41

void pending_release(struct pending *p)
{
	free(p->entries);
	*p = (struct pending){ 0 };
}

void pending_add(struct pending *p, enum pending_kind kind, const uint8_t id[HASH_LEN],
		 int64_t since)
{
	XGROW_ARRAY(p->entries, p->cap, p->n + 1);
	struct pending_entry *e = &p->entries[p->n++];
	e->kind = kind;
	memcpy(e->id, id, HASH_LEN);
	e->since = since;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct pending_entry *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return memcmp(x->id, y->id, HASH_LEN);
}

void pending_sort(struct pending *p)
{
	if (p->n > 0)
		qsort(p->entries, p->n, sizeof(*p->entries), entry_cmp);
}

const struct pending_entry *pending_find(const struct pending *p, enum pending_kind kind,
					 const uint8_t id[HASH_LEN])
{
	struct pending_entry key = { .kind = kind };
	memcpy(key.id, id, HASH_LEN);
	if (p->n == 0)
		return NULL;
	return bsearch(&key, p->entries, p->n, sizeof(*p->entries), entry_cmp);
}

int pending_decode(const uint8_t *data, size_t len, struct pending *ret)
{
	struct pending p = { 0 };
	struct rbuf rb = rbuf_make(data, len);
	uint32_t version = rbuf_le32(&rb), n = rbuf_le32(&rb);

	if (!rbuf_ok(&rb) || version != PENDING_VERSION ||
	    rbuf_left(&rb) != (size_t)n * PENDING_ENTRY_SIZE)
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t kind = rbuf_u8(&rb);
		uint8_t id[HASH_LEN];
		rbuf_copy(&rb, id, HASH_LEN);
		int64_t since = (int64_t)rbuf_le64(&rb);
		if (kind != PENDING_PACK && kind != PENDING_TREE) {
			pending_release(&p);
			return -EBADMSG;
		}
		pending_add(&p, (enum pending_kind)kind, id, since);
	}
	pending_sort(&p);
	*ret = p;
	return 0;
}

int pending_read(struct backend *b, const struct crypto_keys *keys, struct pending *ret)
{
	AUTOBUF struct buf obj = BUF_INIT;
	AUTOBUF struct buf raw = BUF_INIT;
	struct pending p = { 0 };
	int r;

	r = backend_get(b, PENDING_NAME, &obj);
	if (r == -ENOENT) {
		*ret = p;
		return 0;
	}
	if (r < 0)
		return log_error_errno(r, "cannot read '%s'", PENDING_NAME);
	r = object_decode(keys, obj.ptr, obj.len, OBJECT_PENDING, NULL, &raw);
	if (r == 0)
		r = pending_decode(raw.ptr, raw.len, ret);
	if (r < 0)
		return log_error_errno(-EBADMSG, "'%s' is damaged", PENDING_NAME);
	return 0;
}

int pending_write(struct backend *b, const struct crypto_keys *keys, const struct pending *p)
{
	AUTOBUF struct buf raw = BUF_INIT;
	AUTOBUF struct buf obj = BUF_INIT;
	int r;

	if (p->n == 0) {
		r = backend_delete(b, PENDING_NAME);
		return r < 0 ? log_error_errno(r, "cannot remove '%s'", PENDING_NAME) : 0;
	}
	buf_append_le32(&raw, PENDING_VERSION);
	buf_append_le32(&raw, (uint32_t)p->n);
	for (size_t i = 0; i < p->n; i++) {
		buf_append_u8(&raw, (uint8_t)p->entries[i].kind);
		buf_append(&raw, p->entries[i].id, HASH_LEN);
		buf_append_le64(&raw, (uint64_t)p->entries[i].since);
	}
	r = envelope_encode(keys, OBJECT_PENDING, raw.ptr, raw.len, 3, NULL, &obj, NULL);
	if (r >= 0)
		r = backend_put(b, PENDING_NAME, obj.ptr, obj.len);
	return r < 0 ? log_error_errno(r, "cannot write '%s'", PENDING_NAME) : 0;
}
