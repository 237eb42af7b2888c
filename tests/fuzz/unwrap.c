/*
 * unwrap.c - the corpus helper of make-corpus.sh (not a fuzz target): takes
 * repository objects apart with the library itself, so every payload it
 * writes was verified the way a reader verifies it.
 *
 *   unwrap payload OBJECT OUT          the decoded raw payload of an envelope
 *   unwrap pack PACK OUTPREFIX         each chunk envelope of a pack as
 *                                      OUTPREFIX-chunk-N, and the decoded
 *                                      trailer payload as OUTPREFIX-trailer
 *   unwrap seal KIND LEVEL RAW OUT     RAW wrapped in an envelope of KIND (1..7)
 *                                      with zstd LEVEL (0: stored raw)
 */
#include <errno.h>
#include <stdio.h>

#include "format/envelope.h"
#include "format/pack.h"

static int read_file(const char *path, struct buf *out)
{
	AUTOFCLOSE FILE *f = fopen(path, "rb");
	uint8_t block[65536];
	size_t n;

	if (!f)
		return -errno;
	while ((n = fread(block, 1, sizeof(block), f)) > 0)
		buf_append(out, block, n);
	return ferror(f) ? -EIO : 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -errno;
	if (len && fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) == 0 ? 0 : -errno;
}

static int cmd_payload(const char *in, const char *out)
{
	AUTOBUF struct buf obj = BUF_INIT;
	AUTOBUF struct buf raw = BUF_INIT;
	struct envelope_header h;
	int r;

	r = read_file(in, &obj);
	if (r == 0)
		r = envelope_parse_header(obj.ptr, obj.len, &h);
	if (r == 0)
		r = envelope_decode(NULL, obj.ptr, obj.len, h.kind, ENVELOPE_RAW_MAX, &raw, NULL);
	if (r == 0)
		r = write_file(out, raw.ptr, raw.len);
	return r;
}

static int cmd_pack(const char *in, const char *prefix)
{
	AUTOBUF struct buf pack = BUF_INIT;
	AUTOBUF struct buf raw = BUF_INIT;
	AUTOFREE struct pack_entry *entries = NULL;
	AUTOFREE char *trailer = NULL;
	uint32_t n;
	int r;

	r = read_file(in, &pack);
	if (r == 0)
		r = pack_parse_trailer(NULL, pack.ptr, pack.len, &entries, &n);
	for (uint32_t i = 0; r == 0 && i < n; i++) {
		AUTOFREE char *name = xasprintf("%s-chunk-%u", prefix, i);
		r = write_file(name, pack.ptr + entries[i].off, entries[i].stored_len);
	}
	if (r < 0)
		return r;
	/* the trailer envelope sits before the 8-byte footer */
	uint32_t tlen = get_le32(pack.ptr + pack.len - 8);
	r = envelope_decode(NULL, pack.ptr + pack.len - 8 - tlen, tlen, OBJECT_PACK_TRAILER,
			    ENVELOPE_RAW_MAX, &raw, NULL);
	trailer = xasprintf("%s-trailer", prefix);
	if (r == 0)
		r = write_file(trailer, raw.ptr, raw.len);
	return r;
}

static int cmd_seal(const char *kind, const char *level, const char *in, const char *out)
{
	AUTOBUF struct buf raw = BUF_INIT;
	AUTOBUF struct buf obj = BUF_INIT;
	int r;

	r = read_file(in, &raw);
	if (r == 0)
		r = envelope_encode(NULL, (enum object_kind)atoi(kind), raw.ptr, raw.len,
				    atoi(level), NULL, &obj, NULL);
	if (r >= 0)
		r = write_file(out, obj.ptr, obj.len);
	return r;
}

int main(int argc, char **argv)
{
	int r;

	if (argc == 4 && strcmp(argv[1], "payload") == 0)
		r = cmd_payload(argv[2], argv[3]);
	else if (argc == 4 && strcmp(argv[1], "pack") == 0)
		r = cmd_pack(argv[2], argv[3]);
	else if (argc == 6 && strcmp(argv[1], "seal") == 0)
		r = cmd_seal(argv[2], argv[3], argv[4], argv[5]);
	else {
		fprintf(stderr, "usage: unwrap payload OBJECT OUT | pack PACK OUTPREFIX | "
				"seal KIND LEVEL RAW OUT\n");
		return 2;
	}
	if (r < 0) {
		fprintf(stderr, "unwrap %s %s: %s\n", argv[1], argv[2], strerror(-r));
		return 1;
	}
	return 0;
}
