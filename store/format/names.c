/*
 * names.c - build and recognise the names of repository objects (the
 * table is in names.h).
 *
 * Recognising is strict: an object counts only when its name is exactly
 * what a writer would have produced, so a stray or half-uploaded object
 * never passes for one.
 */
#include "format/names.h"

#include <assert.h>
#include <string.h>

size_t object_kind_max(enum object_kind kind)
{
	switch (kind) {
	case OBJECT_CONFIG:
		return CONFIG_MAX;
	case OBJECT_SNAPSHOT:
		return SNAPSHOT_HEADER_MAX;
	case OBJECT_TREE:
		return TREE_MAX;
	case OBJECT_INDEX:
		return INDEX_MAX;
	case OBJECT_LISTING:
		return LISTING_MAX;
	case OBJECT_PENDING:
		return PENDING_MAX;
	case OBJECT_LOCK:
		return LOCK_PAYLOAD_MAX;
	case OBJECT_KEY:
		return KEYS_OBJECT_MAX;
	case OBJECT_CHUNK:
	case OBJECT_PACK_TRAILER:
		break;
	}
	return ENVELOPE_RAW_MAX;
}

const char *object_kind_dir(enum object_kind kind)
{
	switch (kind) {
	case OBJECT_SNAPSHOT:
		return SNAPSHOTS_DIR;
	case OBJECT_TREE:
		return TREES_DIR;
	case OBJECT_INDEX:
		return INDEX_DIR;
	case OBJECT_LOCK:
		return LOCKS_DIR;
	case OBJECT_PACK_TRAILER:
		return PACKS_DIR;
	case OBJECT_CONFIG:
	case OBJECT_CHUNK:
	case OBJECT_LISTING:
	case OBJECT_PENDING:
	case OBJECT_KEY:
		break;
	}
	return NULL;
}

void object_name(enum object_kind kind, const uint8_t id[HASH_LEN], char *out)
{
	const char *dir = object_kind_dir(kind);
	size_t dlen;

	assert(dir);
	dlen = strlen(dir);
	memcpy(out, dir, dlen);
	out += dlen;
	if (kind == OBJECT_PACK_TRAILER) {
		char hex[HASH_HEX_LEN + 1];
		hex_encode(id, HASH_LEN, hex);
		memcpy(out, hex, 2);
		out[2] = '/';
		out += 3;
	}
	hex_encode(id, HASH_LEN, out);
}

bool object_name_parse(enum object_kind kind, const char *name, uint8_t ret_id[HASH_LEN])
{
	const char *dir = object_kind_dir(kind);
	const char *hex;
	size_t dlen;

	if (!dir)
		return false;
	dlen = strlen(dir);
	if (strncmp(name, dir, dlen) != 0)
		return false;
	hex = name + dlen;
	if (kind == OBJECT_PACK_TRAILER) {
		if (strlen(hex) != 3 + HASH_HEX_LEN || hex[2] != '/' || hex[0] != hex[3] ||
		    hex[1] != hex[4])
			return false;
		hex += 3;
	}
	if (strlen(hex) != HASH_HEX_LEN)
		return false;
	for (const char *p = hex; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			return false;
	return hex_decode(hex, ret_id, HASH_LEN) == 0;
}
