/*
 * envelope.c - frame, compress and verify repository objects.
 *
 *   offset  size  meaning
 *   0       4     magic "CRN\x1e"
 *   4       1     format version (1)
 *   5       1     object kind (enum object_kind)
 *   6       1     flags: bit 0 zstd-compressed, bit 1 encrypted (reserved)
 *   7       1     reserved, 0
 *   8       4     stored payload length, little-endian
 *   12      4     raw payload length (after decompression), little-endian
 *   16      32    SHA-256 of the raw payload
 *   48      ...   payload (stored length bytes)
 *
 * The hash makes every object self-verifying: a flipped bit anywhere in the
 * payload is caught after decompression, and zstd is never asked to produce
 * more than the declared raw length, which is bounded before any allocation.
 * For chunks the hash is also the chunk's id, so a reader verifies that it
 * got the chunk it asked for and not merely an intact one. Encryption will
 * replace the plain payload by nonce, ciphertext and tag under the same
 * header with bit 1 set.
 *
 * zstd contexts are cached per thread (created on first use, freed when the
 * thread exits), since creating one costs more than decoding a small chunk.
 */
#include "format/envelope.h"

#include <pthread.h>
#include <zstd.h>

static const uint8_t envelope_magic[4] = { 'C', 'R', 'N', 0x1e };

static pthread_key_t zstd_key;
static pthread_once_t zstd_once = PTHREAD_ONCE_INIT;

struct zstd_ctxs {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
};

static void zstd_ctxs_free(void *p)
{
	struct zstd_ctxs *z = p;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

static void zstd_key_create(void)
{
	if (pthread_key_create(&zstd_key, zstd_ctxs_free) != 0)
		abort();
}

static struct zstd_ctxs *zstd_ctxs(void)
{
	pthread_once(&zstd_once, zstd_key_create);
	struct zstd_ctxs *z = pthread_getspecific(zstd_key);
	if (!z) {
		z = xcalloc(1, sizeof(*z));
		z->c = ZSTD_createCCtx();
		z->d = ZSTD_createDCtx();
		if (!z->c || !z->d)
			abort();
		pthread_setspecific(zstd_key, z);
	}
	return z;
}

int envelope_encode(enum object_kind kind, const void *raw, size_t len, int zstd_level,
		    const uint8_t *hash, struct buf *out, uint8_t *ret_hash)
{
	uint8_t h[HASH_LEN];
	size_t start = out->len;
	size_t stored = len;
	unsigned flags = 0;

	if (len > ENVELOPE_RAW_MAX)
		return -EINVAL;
	if (hash)
		memcpy(h, hash, HASH_LEN);
	else
		crypto_sha256(raw, len, h);

	buf_reserve(out, ENVELOPE_HEADER_SIZE + ZSTD_compressBound(len));
	uint8_t *hdr = out->ptr + start;
	uint8_t *payload = hdr + ENVELOPE_HEADER_SIZE;

	if (zstd_level > 0 && len > 0) {
		struct zstd_ctxs *z = zstd_ctxs();
		ZSTD_CCtx_reset(z->c, ZSTD_reset_session_and_parameters);
		ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, zstd_level);
		size_t n = ZSTD_compress2(z->c, payload, ZSTD_compressBound(len), raw, len);
		if (!ZSTD_isError(n) && n < len) {
			stored = n;
			flags |= ENVELOPE_ZSTD;
		}
	}
	if (!(flags & ENVELOPE_ZSTD) && len > 0)
		memcpy(payload, raw, len);

	memcpy(hdr, envelope_magic, 4);
	hdr[4] = ENVELOPE_VERSION;
	hdr[5] = (uint8_t)kind;
	hdr[6] = (uint8_t)flags;
	hdr[7] = 0;
	put_le32(hdr + 8, (uint32_t)stored);
	put_le32(hdr + 12, (uint32_t)len);
	memcpy(hdr + 16, h, HASH_LEN);
	out->len = start + ENVELOPE_HEADER_SIZE + stored;
	if (ret_hash)
		memcpy(ret_hash, h, HASH_LEN);
	return (int)(ENVELOPE_HEADER_SIZE + stored);
}

int envelope_parse_header(const uint8_t *data, size_t len, struct envelope_header *ret)
{
	if (len < ENVELOPE_HEADER_SIZE || memcmp(data, envelope_magic, 4) != 0)
		return -EBADMSG;
	if (data[4] != ENVELOPE_VERSION || data[7] != 0)
		return -EBADMSG;
	if (data[5] < OBJECT_CONFIG || data[5] > OBJECT_KIND_MAX)
		return -EBADMSG;
	if (data[6] & ~(ENVELOPE_ZSTD | ENVELOPE_ENCRYPTED))
		return -EBADMSG;
	uint32_t stored = get_le32(data + 8), raw = get_le32(data + 12);
	if (raw > ENVELOPE_RAW_MAX)
		return -EBADMSG;
	if (!(data[6] & (ENVELOPE_ZSTD | ENVELOPE_ENCRYPTED)) && stored != raw)
		return -EBADMSG;
	ret->kind = (enum object_kind)data[5];
	ret->flags = data[6];
	ret->stored_len = stored;
	ret->raw_len = raw;
	memcpy(ret->hash, data + 16, HASH_LEN);
	return 0;
}

int envelope_decode(const uint8_t *data, size_t len, enum object_kind expect, size_t max_raw,
		    struct buf *out, uint8_t *ret_hash)
{
	struct envelope_header h;
	uint8_t got[HASH_LEN];
	int r;

	r = envelope_parse_header(data, len, &h);
	if (r < 0)
		return r;
	if (h.kind != expect || h.raw_len > max_raw)
		return -EBADMSG;
	if ((size_t)h.stored_len != len - ENVELOPE_HEADER_SIZE)
		return -EBADMSG;
	if (h.flags & ENVELOPE_ENCRYPTED)
		return -EKEYREJECTED;

	const uint8_t *payload = data + ENVELOPE_HEADER_SIZE;
	size_t start = out->len;
	if (h.flags & ENVELOPE_ZSTD) {
		/* The frame must decode to exactly raw_len bytes: a frame that
		 * claims more fails here instead of growing the buffer. */
		unsigned long long content = ZSTD_getFrameContentSize(payload, h.stored_len);
		if (content != h.raw_len)
			return -EBADMSG;
		/* Exactly one frame: bytes after it are damage, not data. */
		if (ZSTD_findFrameCompressedSize(payload, h.stored_len) != h.stored_len)
			return -EBADMSG;
	}
	/* Only now, with a frame that agrees with the header, may raw_len
	 * (up to max_raw) be allocated. */
	buf_reserve(out, h.raw_len);
	/* An empty payload into an empty buf leaves out->ptr NULL, and even
	 * NULL + 0 is undefined. */
	uint8_t *dst = h.raw_len > 0 ? out->ptr + start : NULL;
	if (h.flags & ENVELOPE_ZSTD) {
		struct zstd_ctxs *z = zstd_ctxs();
		size_t n = ZSTD_decompressDCtx(z->d, dst, h.raw_len, payload, h.stored_len);
		if (ZSTD_isError(n) || n != h.raw_len)
			return -EBADMSG;
	} else if (h.raw_len > 0) {
		memcpy(dst, payload, h.raw_len);
	}
	crypto_sha256(dst, h.raw_len, got);
	if (memcmp(got, h.hash, HASH_LEN) != 0)
		return -EBADMSG;
	out->len = start + h.raw_len;
	if (ret_hash)
		memcpy(ret_hash, got, HASH_LEN);
	return 0;
}

int object_decode(const uint8_t *data, size_t len, enum object_kind kind, const uint8_t *id,
		  struct buf *out)
{
	uint8_t got[HASH_LEN];
	size_t start = out->len;
	int r;

	r = envelope_decode(data, len, kind, object_kind_max(kind), out, got);
	if (r == 0 && id && memcmp(got, id, HASH_LEN) != 0) {
		out->len = start;
		r = -EBADMSG;
	}
	return r;
}

int chunk_decode(const uint8_t *stored, uint32_t stored_len, uint32_t raw_len,
		 const uint8_t hash[HASH_LEN], struct buf *out)
{
	uint8_t got[HASH_LEN];
	size_t start = out->len;
	int r;

	r = envelope_decode(stored, stored_len, OBJECT_CHUNK, raw_len, out, got);
	if (r == 0 && (memcmp(got, hash, HASH_LEN) != 0 || out->len - start != raw_len))
		r = -EBADMSG;
	if (r < 0)
		out->len = start;
	return r;
}
