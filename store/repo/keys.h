/*
 * keys.h - the "keys" object of an encrypted repository: the master key,
 * wrapped once under each password that may open it. Layout in keys.c.
 */
#ifndef CAIRN_KEYS_H
#define CAIRN_KEYS_H

#include "backend/backend.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "format/names.h"
#include "repo/repo.h"

#define KEYS_MAX 64	  /* entries one keys object may hold */
#define KEY_HOST_MAX 64	  /* bytes of a key's host name */
#define KEY_SALT_LEN 32	  /* scrypt salt */
#define KEY_ID_HEX_LEN 16 /* a key id as hex, without the NUL */
#define KEY_WRAPPED_LEN (CRYPTO_KEY_LEN + CRYPTO_OVERHEAD)

struct key_entry {
	uint64_t id;		     /* random; shown as 16 hex digits */
	int64_t created;	     /* Unix seconds */
	char host[KEY_HOST_MAX + 1]; /* where it was made, NUL-terminated */
	struct scrypt_params kdf;    /* checked against the bounds when read */
	uint8_t salt[KEY_SALT_LEN];
	uint8_t wrapped[KEY_WRAPPED_LEN]; /* nonce, AES-256-GCM(master key), tag */
};

struct key_set {
	struct key_entry *v; /* malloc'd */
	size_t n;
};

void key_set_release(struct key_set *s);
static inline void key_set_releasep(struct key_set *s)
{
	key_set_release(s);
}

/* The payload of the keys object. Decoding untrusted bytes returns -EBADMSG
 * when they are malformed or hold more than KEYS_MAX entries, and -EINVAL
 * when an entry's scrypt parameters lie outside the bounds of
 * crypto_scrypt_params_check() (so no hostile object makes cairn allocate
 * gigabytes or spin for hours). */
void key_set_encode(const struct key_set *s, struct buf *out);
int key_set_decode(const uint8_t *data, size_t len, struct key_set *ret) WARN_UNUSED;

/* Wraps master under password with kdf (a fresh salt, a random id, now and
 * this host) and appends the entry to s. -EINVAL for kdf out of bounds,
 * -E2BIG when s is full. */
int key_set_add(struct key_set *s, const uint8_t master[CRYPTO_KEY_LEN], const char *password,
		const struct scrypt_params *kdf, uint64_t *ret_id) WARN_UNUSED;
/* Unwraps entry e with password into ret_master. -EKEYREJECTED when the
 * password does not open it. */
int key_entry_unwrap(const struct key_entry *e, const char *password,
		     uint8_t ret_master[CRYPTO_KEY_LEN]) WARN_UNUSED;
/* Tries every entry of s; the index of the one that opened goes to
 * *ret_index. -EKEYREJECTED when none does. */
int key_set_unlock(const struct key_set *s, const char *password,
		   uint8_t ret_master[CRYPTO_KEY_LEN], size_t *ret_index) WARN_UNUSED;
/* The index of the entry with id, or -ENOENT. */
int key_set_find(const struct key_set *s, uint64_t id) WARN_UNUSED;
/* Removes entry i (i < s->n). */
void key_set_remove(struct key_set *s, size_t i);

/* Reads and decodes the keys object of b; -ENOENT when it has none, other
 * errors as key_set_decode() and the backend return them (not logged). */
int keys_read(struct backend *b, struct key_set *ret) WARN_UNUSED;
/* Writes s as the keys object of b (replacing it). */
int keys_write(struct backend *b, const struct key_set *s) WARN_UNUSED;

/* What `cairn key` does, on an unlocked encrypted repository r. Each reads
 * the keys object afresh and rewrites it whole; errors are logged.
 * keys_add wraps the master key under password (the new key's id goes to
 * *ret_id). keys_remove removes key id: -ENOENT when there is none,
 * -EBUSY when it is the last key (never removed) or the key in use (unless
 * force). keys_passwd adds a key for password and removes the one in use. */
int keys_add(struct repo *r, const char *password, const struct scrypt_params *kdf,
	     uint64_t *ret_id) WARN_UNUSED;
int keys_remove(struct repo *r, uint64_t id, bool force) WARN_UNUSED;
int keys_passwd(struct repo *r, const char *password, const struct scrypt_params *kdf,
		uint64_t *ret_id) WARN_UNUSED;

/* "0123456789abcdef" for id into out. */
void key_id_hex(uint64_t id, char out[KEY_ID_HEX_LEN + 1]);
/* Parses a hex id (all 16 digits, or a unique prefix is left to callers:
 * this takes exactly 16). -EINVAL when malformed. */
int key_id_parse(const char *s, uint64_t *ret) WARN_UNUSED;

#endif
