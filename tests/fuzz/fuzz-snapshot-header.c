/*
 * fuzz-snapshot-header.c - snapshot_header_decode() on untrusted header
 * payloads (the raw bytes inside a "snapshots/<id>" envelope). Properties of
 * an accepted header: the member is a valid member name, strings are
 * NUL-terminated within their bounds, tags are non-empty without commas,
 * and snapshot_header_encode() gives back exactly the input bytes.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "format/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot_header h;
	AUTOBUF struct buf out = BUF_INIT;
	char name[SNAPSHOT_TIME_NAME_LEN];
	int r;

	r = snapshot_header_decode(data, size, &h);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG);
		return 0;
	}
	FUZZ_CHECK(memchr(h.member, '\0', sizeof(h.member)) && member_name_is_valid(h.member));
	FUZZ_CHECK(memchr(h.host, '\0', sizeof(h.host)));
	FUZZ_CHECK(h.n_tags <= TAGS_MAX);
	for (uint32_t i = 0; i < h.n_tags; i++)
		FUZZ_CHECK(h.tags[i][0] && strlen(h.tags[i]) <= TAG_LEN_MAX &&
			   !strchr(h.tags[i], ','));
	FUZZ_CHECK(h.time_nsec < 1000000000u && h.root_mtime_nsec < 1000000000u);
	FUZZ_CHECK(h.n_inodes >= 1 && h.root_perm <= 07777);
	/* every accepted time names a snapshot directory: "2026-11-22T205328Z" */
	snapshot_time_name(h.time_sec, name);
	FUZZ_CHECK(strlen(name) == 18 && name[10] == 'T' && name[17] == 'Z');

	snapshot_header_encode(&h, &out);
	FUZZ_CHECK(out.len == size && memcmp(out.ptr, data, size) == 0);
	snapshot_header_release(&h);
	return 0;
}
