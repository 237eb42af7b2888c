/*
 * keys.c - the master key of an encrypted repository, wrapped under each
 * password that may open it, in one object "keys" (an envelope of kind
 * OBJECT_KEY, itself plain: it must be read before any key is known).
 *
 *   size   meaning
 *   4      keys format version (1)
 *   4      number of entries n (1..64)
 *   n times:
 *     8    key id (random)
 *     8    created, Unix seconds (signed)
 *     1    host name length h (0..64), then h bytes
 *     1    log2 of scrypt's N
 *     4    scrypt r
 *     4    scrypt p
 *     32   scrypt salt
 *     60   nonce 12, AES-256-GCM ciphertext of the 32-byte master key, tag 16
 *
 * The wrapping key is scrypt(password, salt, N, r, p); the bytes of the entry
 * before the wrapped key are the GCM's additional data, so the id, date,
 * host and parameters cannot be changed without the entry failing to open.
 * Parameters are bounded when read (crypto_scrypt_params_check()). Each
 * entry wraps the same master key, so adding or removing a password
 * rewrites only this object; nothing encrypted under the master key
 * changes. The object is rewritten whole by `cairn key`, the second object
 * (after "snapshot-list") that is not immutable.
 */
#include "repo/keys.h"
#include "format/envelope.h"
#include "base/log.h"
#include "base/rbuf.h"

#include <assert.h>
#include <assert.h>
#include <openssl/crypto.h>
#include <time.h>

#define KEYS_VERSION 1
/* The bound of names.h holds every keys object cairn can write. */
static_assert(8 + KEYS_MAX * (8 + 8 + 1 + KEY_HOST_MAX + 9 + KEY_SALT_LEN + KEY_WRAPPED_LEN) <=
		      KEYS_OBJECT_MAX,
	      "KEYS_OBJECT_MAX holds KEYS_MAX keys");

void key_set_release(struct key_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static void entry_head(const struct key_entry *e, struct buf *out)
{
	size_t h = strlen(e->host);
	unsigned log2n = 0;

	while (((uint64_t)1 << log2n) < e->kdf.n)
		log2n++;
	buf_append_le64(out, e->id);
	buf_append_le64(out, (uint64_t)e->created);
	buf_append_u8(out, (uint8_t)h);
	buf_append(out, e->host, h);
	buf_append_u8(out, (uint8_t)log2n);
	buf_append_le32(out, e->kdf.r);
	buf_append_le32(out, e->kdf.p);
	buf_append(out, e->salt, KEY_SALT_LEN);
}

void key_set_encode(const struct key_set *s, struct buf *out)
{
	buf_append_le32(out, KEYS_VERSION);
	buf_append_le32(out, (uint32_t)s->n);
	for (size_t i = 0; i < s->n; i++) {
		entry_head(&s->v[i], out);
		buf_append(out, s->v[i].wrapped, KEY_WRAPPED_LEN);
	}
}

int key_set_decode(const uint8_t *data, size_t len, struct key_set *ret)
{
	struct rbuf rb = rbuf_make(data, len);
	uint32_t version = rbuf_le32(&rb), n = rbuf_le32(&rb);
	int r = 0;

	if (!rbuf_ok(&rb) || version != KEYS_VERSION || n == 0 || n > KEYS_MAX)
		return -EBADMSG;
	AUTOFREE struct key_entry *v = xcalloc(n, sizeof(*v));
	for (uint32_t i = 0; i < n; i++) {
		struct key_entry *e = &v[i];
		e->id = rbuf_le64(&rb);
		e->created = (int64_t)rbuf_le64(&rb);
		uint8_t h = rbuf_u8(&rb);
		if (h > KEY_HOST_MAX)
			return -EBADMSG;
		rbuf_copy(&rb, e->host, h);
		e->host[h] = '\0';
		uint8_t log2n = rbuf_u8(&rb);
		e->kdf.r = rbuf_le32(&rb);
		e->kdf.p = rbuf_le32(&rb);
		rbuf_copy(&rb, e->salt, KEY_SALT_LEN);
		rbuf_copy(&rb, e->wrapped, KEY_WRAPPED_LEN);
		if (!rbuf_ok(&rb))
			return -EBADMSG;
		if (memchr(e->host, '\0', h))
			return -EBADMSG;
		if (log2n > 40) {
			r = -EINVAL;
			continue;
		}
		e->kdf.n = (uint64_t)1 << log2n;
		if (crypto_scrypt_params_check(&e->kdf) < 0)
			r = -EINVAL;
	}
	if (rbuf_left(&rb) != 0)
		return -EBADMSG;
	if (r < 0)
		return r;
	ret->v = TAKE(v);
	ret->n = n;
	return 0;
}

static int derive(const struct key_entry *e, const char *password, uint8_t kek[CRYPTO_KEY_LEN])
{
	return crypto_scrypt(password, strlen(password), e->salt, KEY_SALT_LEN, &e->kdf, kek,
			     CRYPTO_KEY_LEN);
}

int key_set_add(struct key_set *s, const uint8_t master[CRYPTO_KEY_LEN], const char *password,
		const struct scrypt_params *kdf, uint64_t *ret_id)
{
	struct key_entry e = { .kdf = *kdf, .created = (int64_t)time(NULL) };
	AUTOBUF struct buf head = BUF_INIT;
	uint8_t kek[CRYPTO_KEY_LEN];
	int r;

	if (crypto_scrypt_params_check(kdf) < 0)
		return -EINVAL;
	if (s->n >= KEYS_MAX)
		return -E2BIG;
	if (gethostname(e.host, sizeof(e.host)) < 0)
		strcpy(e.host, "unknown");
	e.host[KEY_HOST_MAX] = '\0';
	r = crypto_random(&e.id, sizeof(e.id));
	if (r == 0)
		r = crypto_random(e.salt, KEY_SALT_LEN);
	if (r < 0)
		return r;
	r = derive(&e, password, kek);
	if (r < 0)
		return r;
	entry_head(&e, &head);
	r = crypto_seal(kek, head.ptr, head.len, master, CRYPTO_KEY_LEN, e.wrapped);
	OPENSSL_cleanse(kek, sizeof(kek));
	if (r < 0)
		return r;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = e;
	if (ret_id)
		*ret_id = e.id;
	return 0;
}

int key_entry_unwrap(const struct key_entry *e, const char *password,
		     uint8_t ret_master[CRYPTO_KEY_LEN])
{
	AUTOBUF struct buf head = BUF_INIT;
	uint8_t kek[CRYPTO_KEY_LEN];
	int r;

	r = derive(e, password, kek);
	if (r < 0)
		return r;
	entry_head(e, &head);
	r = crypto_open(kek, head.ptr, head.len, e->wrapped, KEY_WRAPPED_LEN, ret_master);
	OPENSSL_cleanse(kek, sizeof(kek));
	return r == -EBADMSG ? -EKEYREJECTED : r;
}

int key_set_unlock(const struct key_set *s, const char *password,
		   uint8_t ret_master[CRYPTO_KEY_LEN], size_t *ret_index)
{
	for (size_t i = 0; i < s->n; i++) {
		int r = key_entry_unwrap(&s->v[i], password, ret_master);
		if (r == -EKEYREJECTED)
			continue;
		if (r < 0)
			return r;
		if (ret_index)
			*ret_index = i;
		return 0;
	}
	return -EKEYREJECTED;
}

int key_set_find(const struct key_set *s, uint64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].id == id)
			return (int)i;
	return -ENOENT;
}

void key_set_remove(struct key_set *s, size_t i)
{
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
	s->n--;
}

int keys_read(struct backend *b, struct key_set *ret)
{
	AUTOBUF struct buf obj = BUF_INIT;
	AUTOBUF struct buf raw = BUF_INIT;
	int r;

	r = backend_get(b, KEYS_NAME, &obj);
	if (r < 0)
		return r;
	r = object_decode(NULL, obj.ptr, obj.len, OBJECT_KEY, NULL, &raw);
	if (r < 0)
		return -EBADMSG;
	return key_set_decode(raw.ptr, raw.len, ret);
}

int keys_write(struct backend *b, const struct key_set *s)
{
	AUTOBUF struct buf raw = BUF_INIT;
	AUTOBUF struct buf obj = BUF_INIT;
	int r;

	key_set_encode(s, &raw);
	r = envelope_encode(NULL, OBJECT_KEY, raw.ptr, raw.len, 0, NULL, &obj, NULL);
	if (r < 0)
		return r;
	return backend_put(b, KEYS_NAME, obj.ptr, obj.len);
}

void key_id_hex(uint64_t id, char out[KEY_ID_HEX_LEN + 1])
{
	snprintf(out, KEY_ID_HEX_LEN + 1, "%016" PRIx64, id);
}

int key_id_parse(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (strlen(s) != KEY_ID_HEX_LEN)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	*ret = v;
	return 0;
}

static int read_for_change(struct repo *r, struct key_set *ks)
{
	struct backend *b = repo_backend(r);
	int res;

	if (!repo_keys(r))
		return log_error_errno(-EINVAL, "repository '%s' is not encrypted: it has no keys",
				       backend_url(b));
	if (backend_is_read_only(b))
		return log_error_errno(-EROFS, "cannot change the keys of '%s' (read-only backend)",
				       backend_url(b));
	res = keys_read(b, ks);
	if (res < 0)
		return log_error_errno(res, "cannot read the keys of '%s'", backend_url(b));
	return 0;
}

static int write_changed(struct repo *r, const struct key_set *ks)
{
	int res = keys_write(repo_backend(r), ks);
	if (res < 0)
		return log_error_errno(res, "cannot write the keys of '%s'",
				       backend_url(repo_backend(r)));
	return 0;
}

int keys_add(struct repo *r, const char *password, const struct scrypt_params *kdf,
	     uint64_t *ret_id)
{
	CLEANUP(key_set_releasep) struct key_set ks = { 0 };
	int res;

	res = read_for_change(r, &ks);
	if (res < 0)
		return res;
	res = key_set_add(&ks, repo_keys(r)->master, password, kdf, ret_id);
	if (res == -E2BIG)
		return log_error_errno(res, "the repository already has %d keys", KEYS_MAX);
	if (res < 0)
		return log_error_errno(res, "cannot make a new key");
	return write_changed(r, &ks);
}

int keys_remove(struct repo *r, uint64_t id, bool force)
{
	CLEANUP(key_set_releasep) struct key_set ks = { 0 };
	char hex[KEY_ID_HEX_LEN + 1];
	int res, i;

	key_id_hex(id, hex);
	res = read_for_change(r, &ks);
	if (res < 0)
		return res;
	i = key_set_find(&ks, id);
	if (i < 0) {
		log_error("the repository has no key '%s'", hex);
		log_error("hint: 'cairn key list' shows the ids");
		return -ENOENT;
	}
	if (ks.n == 1) {
		log_error("key '%s' is the last key of the repository: removing it would lose "
			  "everything",
			  hex);
		log_error("hint: add another key first with 'cairn key add'");
		return -EBUSY;
	}
	if (id == repo_key_in_use(r) && !force) {
		log_error("key '%s' is the one in use (it matches the password given)", hex);
		log_error("hint: pass --force to remove it anyway, or use 'cairn key passwd'");
		return -EBUSY;
	}
	key_set_remove(&ks, (size_t)i);
	return write_changed(r, &ks);
}

int keys_passwd(struct repo *r, const char *password, const struct scrypt_params *kdf,
		uint64_t *ret_id)
{
	CLEANUP(key_set_releasep) struct key_set ks = { 0 };
	int res, i;

	res = read_for_change(r, &ks);
	if (res < 0)
		return res;
	res = key_set_add(&ks, repo_keys(r)->master, password, kdf, ret_id);
	if (res < 0)
		return log_error_errno(res, "cannot make a new key");
	i = key_set_find(&ks, repo_key_in_use(r));
	if (i >= 0)
		key_set_remove(&ks, (size_t)i);
	/* One write: the new key and the removal of the old land together. */
	return write_changed(r, &ks);
}
