/*
 * test-crypto.c - encryption at rest: AES-256-GCM against a published test
 * vector and in round trips, the rejection of every single-bit flip of an
 * encrypted envelope, keyed ids, the wrapping of one master key under two
 * passwords, the wrong-password path on a real local repository, and the
 * bounds on scrypt parameters read from untrusted bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "format/envelope.h"
#include "repo/keys.h"
#include "repo/repo.h"
#include "unit.h"

/* Cheap but valid scrypt parameters, so the tests stay fast. */
static const struct scrypt_params fast = { .n = 16, .r = 1, .p = 1 };

static void unhex(const char *s, uint8_t *out)
{
	assert_int_equal(hex_decode(s, out, strlen(s) / 2), 0);
}

static struct crypto_keys *test_keys(uint8_t seed)
{
	uint8_t master[CRYPTO_KEY_LEN];
	memset(master, seed, sizeof(master));
	return crypto_keys_new(master);
}

/* Test Case 14 of McGrew and Viega, "The Galois/Counter Mode of Operation"
 * (2005): a zero 256-bit key, a zero 96-bit IV, 16 zero bytes. */
static void test_gcm_matches_the_published_vector(void **state UNUSED)
{
	uint8_t key[32] = { 0 }, in[12 + 16 + 16], out[16], want[16 + 16];

	memset(in, 0, 12);
	unhex("cea7403d4d606b6e074ec5d3baf39d18"
	      "d0d1c8a799996bf0265b98b5d48ab919",
	      want);
	memcpy(in + 12, want, sizeof(want));
	assert_int_equal(crypto_open(key, NULL, 0, in, sizeof(in), out), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0);
}

static void test_gcm_round_trip_and_fresh_nonces(void **state UNUSED)
{
	uint8_t key[32], msg[1000], a[1000 + CRYPTO_OVERHEAD], b[1000 + CRYPTO_OVERHEAD];
	uint8_t back[1000];

	unit_fill_random(key, sizeof(key), 1);
	unit_fill_random(msg, sizeof(msg), 2);
	assert_int_equal(crypto_seal(key, "aad", 3, msg, sizeof(msg), a), 0);
	assert_int_equal(crypto_seal(key, "aad", 3, msg, sizeof(msg), b), 0);
	/* A random nonce per message: the same plaintext never encrypts alike. */
	assert_memory_not_equal(a, b, CRYPTO_NONCE_LEN);
	assert_memory_not_equal(a + CRYPTO_NONCE_LEN, b + CRYPTO_NONCE_LEN, sizeof(msg));
	assert_int_equal(crypto_open(key, "aad", 3, a, sizeof(a), back), 0);
	assert_memory_equal(back, msg, sizeof(msg));
	/* Other additional data, or another key, fails authentication. */
	assert_int_equal(crypto_open(key, "aae", 3, a, sizeof(a), back), -EBADMSG);
	key[0] ^= 1;
	assert_int_equal(crypto_open(key, "aad", 3, a, sizeof(a), back), -EBADMSG);
	assert_int_equal(crypto_open(key, NULL, 0, a, CRYPTO_OVERHEAD - 1, back), -EBADMSG);
}

/* Encodes a sample object (compressible, so the zstd path is covered too,
 * or not) and checks that flipping any single bit of it is refused. */
static void flip_every_bit(int level)
{
	struct crypto_keys *k = test_keys(7);
	AUTOBUF struct buf env = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;
	uint8_t raw[600];

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = level ? (uint8_t) "replica "[i % 8] : (uint8_t)(i * 151 + 7);
	if (!level)
		unit_fill_random(raw, sizeof(raw), 3);
	int n = envelope_encode(k, OBJECT_TREE, raw, sizeof(raw), level, NULL, &env, NULL);
	assert_true(n > 0);
	assert_true(env.ptr[6] & ENVELOPE_ENCRYPTED);
	assert_int_equal(!!(env.ptr[6] & ENVELOPE_ZSTD), !!level);
	assert_int_equal(envelope_decode(k, env.ptr, env.len, OBJECT_TREE, 1 << 20, &out, NULL), 0);
	assert_memory_equal(out.ptr, raw, sizeof(raw));
	for (size_t bit = 0; bit < env.len * 8; bit++) {
		env.ptr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		buf_reset(&out);
		int r = envelope_decode(k, env.ptr, env.len, OBJECT_TREE, 1 << 20, &out, NULL);
		if (r != -EBADMSG)
			fail_msg("flipping bit %zu of %zu gave %d", bit, env.len * 8, r);
		assert_int_equal(out.len, 0);
		env.ptr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	crypto_keys_free(k);
}

static void test_every_bit_flip_is_rejected(void **state UNUSED)
{
	flip_every_bit(0);
	flip_every_bit(3);
}

static void test_keys_and_plain_objects_do_not_mix(void **state UNUSED)
{
	struct crypto_keys *k = test_keys(1), *other = test_keys(2);
	AUTOBUF struct buf env = BUF_INIT;
	AUTOBUF struct buf plain = BUF_INIT;
	AUTOBUF struct buf out = BUF_INIT;
	static const char data[] = "MARKER-0123 a line of user data";

	assert_true(envelope_encode(k, OBJECT_CHUNK, data, sizeof(data), 0, NULL, &env, NULL) > 0);
	/* The plain bytes appear nowhere in the object. */
	assert_null(memmem(env.ptr, env.len, "MARKER-0123", 11));
	assert_int_equal(envelope_decode(other, env.ptr, env.len, OBJECT_CHUNK, 4096, &out, NULL),
			 -EBADMSG);
	assert_int_equal(envelope_decode(NULL, env.ptr, env.len, OBJECT_CHUNK, 4096, &out, NULL),
			 -EKEYREJECTED);
	/* A plain object in an encrypted repository is a forgery. */
	assert_true(envelope_encode(NULL, OBJECT_CHUNK, data, sizeof(data), 0, NULL, &plain, NULL) >
		    0);
	assert_int_equal(envelope_decode(k, plain.ptr, plain.len, OBJECT_CHUNK, 4096, &out, NULL),
			 -EBADMSG);
	assert_int_equal(out.len, 0);
	crypto_keys_free(k);
	crypto_keys_free(other);
}

static void test_ids_are_keyed(void **state UNUSED)
{
	struct crypto_keys *a = test_keys(1), *b = test_keys(2);
	uint8_t plain[HASH_LEN], ka[HASH_LEN], kb[HASH_LEN], again[HASH_LEN];
	static const char data[] = "the same file in two repositories";

	crypto_id(NULL, data, sizeof(data), plain);
	crypto_id(a, data, sizeof(data), ka);
	crypto_id(b, data, sizeof(data), kb);
	crypto_id(a, data, sizeof(data), again);
	uint8_t sha[HASH_LEN];
	crypto_sha256(data, sizeof(data), sha);
	assert_memory_equal(plain, sha, HASH_LEN);
	assert_memory_not_equal(ka, sha, HASH_LEN);
	assert_memory_not_equal(ka, kb, HASH_LEN);
	assert_memory_equal(ka, again, HASH_LEN);
	/* The id is HMAC-SHA-256 under the id key (the keyed context crypto_id
	 * copies gives what keying HMAC for each call gives), for every length
	 * around the block size. */
	uint8_t buf[300], want[HASH_LEN], got[HASH_LEN];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	for (size_t len = 0; len <= sizeof(buf); len += len < 70 ? 1 : 23) {
		crypto_hmac_sha256(a->id, sizeof(a->id), buf, len, want);
		crypto_id(a, buf, len, got);
		assert_memory_equal(got, want, HASH_LEN);
	}
	/* The subkeys differ from the master key and from each other. */
	assert_memory_not_equal(a->enc, a->id, CRYPTO_KEY_LEN);
	assert_memory_not_equal(a->enc, a->master, CRYPTO_KEY_LEN);
	crypto_keys_free(a);
	crypto_keys_free(b);
}

static void test_two_keys_wrap_one_master_key(void **state UNUSED)
{
	CLEANUP(key_set_releasep) struct key_set ks = { 0 };
	CLEANUP(key_set_releasep) struct key_set back = { 0 };
	AUTOBUF struct buf enc = BUF_INIT;
	uint8_t master[CRYPTO_KEY_LEN], got[CRYPTO_KEY_LEN];
	uint64_t id1, id2;
	size_t i;

	unit_fill_random(master, sizeof(master), 9);
	assert_int_equal(key_set_add(&ks, master, "first", &fast, &id1), 0);
	assert_int_equal(key_set_add(&ks, master, "second", &fast, &id2), 0);
	assert_true(id1 != id2);
	key_set_encode(&ks, &enc);
	assert_int_equal(key_set_decode(enc.ptr, enc.len, &back), 0);
	assert_int_equal(back.n, 2);

	assert_int_equal(key_set_unlock(&back, "first", got, &i), 0);
	assert_int_equal(i, 0);
	assert_memory_equal(got, master, sizeof(master));
	assert_int_equal(key_set_unlock(&back, "second", got, &i), 0);
	assert_int_equal(i, 1);
	assert_memory_equal(got, master, sizeof(master));
	assert_int_equal(key_set_unlock(&back, "third", got, &i), -EKEYREJECTED);

	/* Each entry's metadata is bound to its wrapped key. */
	back.v[0].created++;
	assert_int_equal(key_entry_unwrap(&back.v[0], "first", got), -EKEYREJECTED);
	back.v[0].created--;
	key_set_remove(&back, 0);
	assert_int_equal(key_set_unlock(&back, "first", got, &i), -EKEYREJECTED);
	assert_int_equal(key_set_unlock(&back, "second", got, &i), 0);
	assert_int_equal(i, 0);
}

static void test_scrypt_bounds(void **state UNUSED)
{
	static const struct scrypt_params bad[] = {
		{ .n = 0, .r = 8, .p = 1 },	     { .n = 8, .r = 8, .p = 1 },
		{ .n = 1000, .r = 8, .p = 1 },	     { .n = 1u << 21, .r = 1, .p = 1 },
		{ .n = 1ull << 40, .r = 8, .p = 1 }, { .n = 1024, .r = 0, .p = 1 },
		{ .n = 1024, .r = 33, .p = 1 },	     { .n = 1024, .r = 8, .p = 0 },
		{ .n = 1024, .r = 8, .p = 17 },	     { .n = 1u << 20, .r = 16, .p = 1 },
	};
	uint8_t out[32], salt[16] = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(crypto_scrypt_params_check(&bad[i]), -EINVAL);
		assert_int_equal(crypto_scrypt("pw", 2, salt, sizeof(salt), &bad[i], out, 32),
				 -EINVAL);
	}
	struct scrypt_params ok = { .n = 1u << 20, .r = 8, .p = 1 };
	assert_int_equal(crypto_scrypt_params_check(&ok), 0);
	assert_int_equal(crypto_scrypt_params_check(&fast), 0);

	/* The same from untrusted bytes: a keys object asking for 2^40. */
	CLEANUP(key_set_releasep) struct key_set ks = { 0 };
	CLEANUP(key_set_releasep) struct key_set back = { 0 };
	AUTOBUF struct buf enc = BUF_INIT;
	uint8_t master[CRYPTO_KEY_LEN] = { 0 };
	assert_int_equal(key_set_add(&ks, master, "pw", &fast, NULL), 0);
	key_set_encode(&ks, &enc);
	size_t log2n_at = 8 + 8 + 8 + 1 + strlen(ks.v[0].host);
	assert_int_equal(enc.ptr[log2n_at], 4);
	for (unsigned v = 0; v < 256; v++) {
		enc.ptr[log2n_at] = (uint8_t)v;
		int r = key_set_decode(enc.ptr, enc.len, &back);
		if (v >= 4 && v <= 20) {
			assert_int_equal(r, 0);
			key_set_release(&back);
		} else {
			assert_int_equal(r, -EINVAL);
		}
	}
	/* And truncated or padded bytes are malformed. */
	enc.ptr[log2n_at] = 4;
	assert_int_equal(key_set_decode(enc.ptr, enc.len - 1, &back), -EBADMSG);
	buf_append_u8(&enc, 0);
	assert_int_equal(key_set_decode(enc.ptr, enc.len, &back), -EBADMSG);
}

/* A real local repository: the right password opens it, a wrong one gives
 * -EKEYREJECTED and leaves it locked, the objects need the keys. */
static void test_wrong_password_on_a_repository(void **state UNUSED)
{
	char dir[128], url[160], cache[160];
	struct repo *r = NULL;
	struct repo_config cfg = repo_config_default();

	assert_int_equal(unit_mkdtemp(dir, sizeof(dir), "crypto"), 0);
	snprintf(url, sizeof(url), "%s/repo", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	setenv("CAIRN_CACHE_DIR", cache, 1);
	cfg.encryption = REPO_ENCRYPTION_AES256GCM;
	assert_int_equal(repo_init(url, NULL, &cfg, "right", &fast), 0);
	assert_int_equal(repo_open(url, NULL, &r), 0);
	assert_true(repo_is_encrypted(r));
	assert_null(repo_keys(r));
	assert_int_equal(repo_unlock(r, "wrong"), -EKEYREJECTED);
	assert_null(repo_keys(r));
	assert_int_equal(repo_unlock(r, "right"), 0);
	assert_non_null(repo_keys(r));
	assert_true(repo_key_in_use(r) != 0);

	/* A second key opens it too, and names itself as the one in use. */
	uint64_t id2;
	uint64_t id1 = repo_key_in_use(r);
	assert_int_equal(keys_add(r, "other", &fast, &id2), 0);
	assert_int_equal(keys_remove(r, id1, false), -EBUSY); /* in use */
	repo_close(r);
	assert_int_equal(repo_open(url, NULL, &r), 0);
	assert_int_equal(repo_unlock(r, "other"), 0);
	assert_true(repo_key_in_use(r) == id2);
	assert_int_equal(keys_remove(r, id1, false), 0);
	assert_int_equal(keys_remove(r, id2, true), -EBUSY); /* the last one */
	repo_close(r);
	assert_int_equal(repo_open(url, NULL, &r), 0);
	assert_int_equal(repo_unlock(r, "right"), -EKEYREJECTED);
	repo_close(r);
	unit_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_matches_the_published_vector),
		cmocka_unit_test(test_gcm_round_trip_and_fresh_nonces),
		cmocka_unit_test(test_every_bit_flip_is_rejected),
		cmocka_unit_test(test_keys_and_plain_objects_do_not_mix),
		cmocka_unit_test(test_ids_are_keyed),
		cmocka_unit_test(test_two_keys_wrap_one_master_key),
		cmocka_unit_test(test_scrypt_bounds),
		cmocka_unit_test(test_wrong_password_on_a_repository),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
