/*
 * envelope.c - frame, compress and verify repository objects.
 *
 *   offset  size  meaning
 *   0       4     magic "CRN\x1e"
 *   4       1     format version (1)
 *   5       1     object kind (enum object_kind)
 *   6       1     flags: bit 0 zstd-compressed, bit 1 encrypted
 *   7       1     reserved, 0
 *   8       4     stored payload length, little-endian
 *   12      4     raw payload length (after decompression), little-endian
 *   16      32    id of the raw payload: SHA-256, or HMAC-SHA-256 under the
 *                 repository's id key when encrypted
 *   48      ...   payload (stored length bytes)
 *
 * An encrypted payload (bit 1) is
 *
 *   0       12    random nonce
 *   12      n     AES-256-GCM ciphertext of the zstd frame, or of the raw
 *                 bytes when bit 0 is clear (then n = raw length)
 *   12+n    16    GCM tag; the 48 header bytes are the additional data
 *
 * The hash makes every object self-verifying: a flipped bit anywhere in the
 * payload is caught after decompression, and zstd is never asked to produce
 * more than the declared raw length, which is bounded before any allocation.
 * Before anything is allocated, the raw length is bounded per kind
 * (object_kind_max(): a snapshot header never needs more than 64 KiB) and,
 * for metadata, by the stored length times ENVELOPE_RATIO_MAX: a
 * repository written by an attacker can make a reader spend memory in
 * proportion to the bytes it really sent, not to what a tiny zstd frame
 * claims.
 * For chunks the hash is also the chunk's id, so a reader verifies that it
 * got the chunk it asked for and not merely an intact one. Encrypted, the
 * tag authenticates header and payload together, so no byte of either can
 * change undetected, and the keyed id names nothing an outsider could
 * compute from the plain data. A reader with keys refuses plain objects:
 * anyone who can write the bucket could make one.
 *
 * zstd contexts are cached per thread (created on first use, freed when the
 * thread exits), since creating one costs more than decoding a small chunk.
 * An encrypted, compressed payload is decrypted into a scratch buffer
 * before zstd reads it; a few of those are kept for reuse (see
 * scratch_get()).
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

/* A buffer per decrypted frame, taken fresh from malloc, is a new mapping
 * at these sizes (the daemon fixes the mmap threshold at 128 KiB): a page
 * fault and a zeroed page per 4 KiB, which made a first read through the
 * mount of an encrypted repository take twice the faults of a plain one.
 * So up to SCRATCH_KEEP buffers of at most SCRATCH_KEEP_MAX bytes go back
 * to a small free list; what stays allocated is bounded by their product,
 * whatever the number of threads. */
#define SCRATCH_KEEP 4
#define SCRATCH_KEEP_MAX ((size_t)1 << 20)

struct scratch {
	uint8_t *p;
	size_t cap;
};

static pthread_mutex_t scratch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct scratch scratch_free[SCRATCH_KEEP];
static unsigned n_scratch_free;

static struct scratch scratch_get(size_t len)
{
	struct scratch s = { NULL, 0 };

	pthread_mutex_lock(&scratch_lock);
	if (n_scratch_free > 0)
		s = scratch_free[--n_scratch_free];
	pthread_mutex_unlock(&scratch_lock);
	if (s.cap < len) {
		free(s.p);
		s.cap = len < SCRATCH_KEEP_MAX ? MAX(len, (size_t)256 << 10) : len;
		s.p = xmalloc(s.cap);
	}
	return s;
}

static void scratch_put(struct scratch s)
{
	if (s.cap <= SCRATCH_KEEP_MAX) {
		pthread_mutex_lock(&scratch_lock);
		if (n_scratch_free < SCRATCH_KEEP) {
			scratch_free[n_scratch_free++] = s;
			s.p = NULL;
		}
		pthread_mutex_unlock(&scratch_lock);
	}
	free(s.p);
}

/* Compresses raw[0..len) into dst (ZSTD_compressBound(len) bytes) when
 * that shrinks it; returns the compressed length, or 0 to keep it raw. */
static size_t compress_into(const void *raw, size_t len, int zstd_level, uint8_t *dst)
{
	if (zstd_level <= 0 || len == 0)
		return 0;
	struct zstd_ctxs *z = zstd_ctxs();
	ZSTD_CCtx_reset(z->c, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, zstd_level);
	size_t n = ZSTD_compress2(z->c, dst, ZSTD_compressBound(len), raw, len);
	return !ZSTD_isError(n) && n < len ? n : 0;
}

static void put_header(uint8_t *hdr, enum object_kind kind, unsigned flags, size_t stored,
		       size_t len, const uint8_t h[HASH_LEN])
{
	memcpy(hdr, envelope_magic, 4);
	hdr[4] = ENVELOPE_VERSION;
	hdr[5] = (uint8_t)kind;
	hdr[6] = (uint8_t)flags;
	hdr[7] = 0;
	put_le32(hdr + 8, (uint32_t)stored);
	put_le32(hdr + 12, (uint32_t)len);
	memcpy(hdr + 16, h, HASH_LEN);
}

int envelope_encode(const struct crypto_keys *keys, enum object_kind kind, const void *raw,
		    size_t len, int zstd_level, const uint8_t *hash, struct buf *out,
		    uint8_t *ret_hash)
{
	uint8_t h[HASH_LEN];
	size_t start = out->len;
	size_t stored = len;
	unsigned flags = 0;
	int r;

	if (len > ENVELOPE_RAW_MAX)
		return -EINVAL;
	if (hash)
		memcpy(h, hash, HASH_LEN);
	else
		crypto_id(keys, raw, len, h);

	if (!keys) {
		buf_reserve(out, ENVELOPE_HEADER_SIZE + ZSTD_compressBound(len));
		uint8_t *hdr = out->ptr + start;
		uint8_t *payload = hdr + ENVELOPE_HEADER_SIZE;
		size_t n = compress_into(raw, len, zstd_level, payload);
		if (n > 0) {
			stored = n;
			flags |= ENVELOPE_ZSTD;
		} else if (len > 0) {
			memcpy(payload, raw, len);
		}
		put_header(hdr, kind, flags, stored, len, h);
	} else {
		/* The header is the GCM's additional data, so it is written
		 * first and nothing in it can change undetected. The frame is
		 * compressed straight to where its ciphertext goes, and
		 * encrypted there in place: no copy, no buffer per chunk. */
		buf_reserve(out, ENVELOPE_HEADER_SIZE + CRYPTO_OVERHEAD + ZSTD_compressBound(len));
		uint8_t *hdr = out->ptr + start;
		uint8_t *ct = hdr + ENVELOPE_HEADER_SIZE + CRYPTO_NONCE_LEN;
		const void *plain = raw;
		size_t n = compress_into(raw, len, zstd_level, ct);
		if (n > 0) {
			plain = ct;
			stored = n;
			flags |= ENVELOPE_ZSTD;
		}
		flags |= ENVELOPE_ENCRYPTED;
		put_header(hdr, kind, flags, stored + CRYPTO_OVERHEAD, len, h);
		r = crypto_seal(keys->enc, hdr, ENVELOPE_HEADER_SIZE, plain, stored,
				hdr + ENVELOPE_HEADER_SIZE);
		if (r < 0)
			return r;
		stored += CRYPTO_OVERHEAD;
	}
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
	if ((data[6] & ENVELOPE_ENCRYPTED) &&
	    (stored < CRYPTO_OVERHEAD ||
	     (!(data[6] & ENVELOPE_ZSTD) && stored - CRYPTO_OVERHEAD != raw)))
		return -EBADMSG;
	ret->kind = (enum object_kind)data[5];
	ret->flags = data[6];
	ret->stored_len = stored;
	ret->raw_len = raw;
	memcpy(ret->hash, data + 16, HASH_LEN);
	return 0;
}

/* The second half of envelope_decode(): decrypts (into *plain, from the
 * scratch list), decompresses and verifies the payload of an object whose
 * header h has been checked. */
static int open_payload(const struct crypto_keys *keys, const uint8_t *data,
			const struct envelope_header *h, struct scratch *plain, struct buf *out,
			uint8_t *ret_hash)
{
	const uint8_t *payload = data + ENVELOPE_HEADER_SIZE;
	size_t payload_len = h->stored_len;
	uint8_t got[HASH_LEN];
	int r;
	size_t start = out->len;
	if (h->flags & ENVELOPE_ENCRYPTED) {
		payload_len -= CRYPTO_OVERHEAD;
		if (h->flags & ENVELOPE_ZSTD) {
			/* The compressed frame is never larger than what the
			 * raw length allows for. */
			if (payload_len > ZSTD_compressBound(h->raw_len))
				return -EBADMSG;
			*plain = scratch_get(payload_len + 1);
			r = crypto_open(keys->enc, data, ENVELOPE_HEADER_SIZE, payload,
					h->stored_len, plain->p);
			if (r < 0)
				return r;
			payload = plain->p;
		} else {
			/* Stored raw: decrypt straight into out, which must not
			 * grow past raw_len (the chunk cache hands in a buffer of
			 * exactly that size). */
			uint8_t none;
			buf_reserve(out, h->raw_len);
			r = crypto_open(keys->enc, data, ENVELOPE_HEADER_SIZE, payload,
					h->stored_len, h->raw_len ? out->ptr + start : &none);
			if (r < 0)
				return r;
			payload = NULL;
		}
	}
	if (h->flags & ENVELOPE_ZSTD) {
		/* The frame must decode to exactly raw_len bytes: a frame that
		 * claims more fails here instead of growing the buffer. */
		unsigned long long content = ZSTD_getFrameContentSize(payload, payload_len);
		if (content != h->raw_len)
			return -EBADMSG;
		/* Exactly one frame: bytes after it are damage, not data. */
		if (ZSTD_findFrameCompressedSize(payload, payload_len) != payload_len)
			return -EBADMSG;
	}
	/* Only now, with a frame that agrees with the header, may raw_len
	 * (up to max_raw) be allocated. */
	buf_reserve(out, h->raw_len);
	/* An empty payload into an empty buf leaves out->ptr NULL, and even
	 * NULL + 0 is undefined. */
	uint8_t *dst = h->raw_len > 0 ? out->ptr + start : NULL;
	if (h->flags & ENVELOPE_ZSTD) {
		struct zstd_ctxs *z = zstd_ctxs();
		size_t n = ZSTD_decompressDCtx(z->d, dst, h->raw_len, payload, payload_len);
		if (ZSTD_isError(n) || n != h->raw_len)
			return -EBADMSG;
	} else if (payload && h->raw_len > 0) {
		memcpy(dst, payload, h->raw_len);
	}
	crypto_id(keys, dst, h->raw_len, got);
	if (memcmp(got, h->hash, HASH_LEN) != 0)
		return -EBADMSG;
	out->len = start + h->raw_len;
	if (ret_hash)
		memcpy(ret_hash, got, HASH_LEN);
	return 0;
}

int envelope_decode(const struct crypto_keys *keys, const uint8_t *data, size_t len,
		    enum object_kind expect, size_t max_raw, struct buf *out, uint8_t *ret_hash)
{
	struct envelope_header h;
	struct scratch plain = { NULL, 0 };
	int r;

	r = envelope_parse_header(data, len, &h);
	if (r < 0)
		return r;
	if (h.kind != expect || h.raw_len > max_raw || h.raw_len > object_kind_max(expect))
		return -EBADMSG;
	if (expect != OBJECT_CHUNK && h.raw_len > ENVELOPE_RATIO_FLOOR &&
	    h.raw_len / ENVELOPE_RATIO_MAX > h.stored_len)
		return -EBADMSG; /* a ratio bomb, not metadata */
	if ((size_t)h.stored_len != len - ENVELOPE_HEADER_SIZE)
		return -EBADMSG;
	if ((h.flags & ENVELOPE_ENCRYPTED) && !keys)
		return -EKEYREJECTED;
	/* In an encrypted repository a plain object is a forgery: anyone can
	 * write one, so it is refused before anything else looks at it. */
	if (!(h.flags & ENVELOPE_ENCRYPTED) && keys)
		return -EBADMSG;

	r = open_payload(keys, data, &h, &plain, out, ret_hash);
	if (plain.p)
		scratch_put(plain);
	return r;
}

int object_decode(const struct crypto_keys *keys, const uint8_t *data, size_t len,
		  enum object_kind kind, const uint8_t *id, struct buf *out)
{
	uint8_t got[HASH_LEN];
	size_t start = out->len;
	int r;

	r = envelope_decode(keys, data, len, kind, object_kind_max(kind), out, got);
	if (r == 0 && id && memcmp(got, id, HASH_LEN) != 0) {
		out->len = start;
		r = -EBADMSG;
	}
	return r;
}

int chunk_decode(const struct crypto_keys *keys, const uint8_t *stored, uint32_t stored_len,
		 uint32_t raw_len, const uint8_t hash[HASH_LEN], struct buf *out)
{
	uint8_t got[HASH_LEN];
	size_t start = out->len;
	int r;

	r = envelope_decode(keys, stored, stored_len, OBJECT_CHUNK, raw_len, out, got);
	if (r == 0 && (memcmp(got, hash, HASH_LEN) != 0 || out->len - start != raw_len))
		r = -EBADMSG;
	if (r < 0)
		out->len = start;
	return r;
}
