/*
 * snapshot.h - the small object that describes a snapshot
 * ("snapshots/<id>"): the member, the time, the counts and the root
 * directory's attributes, and the id of its tree (format/tree.h). Listing
 * snapshots reads headers only. Immutable, and named by the SHA-256 of its
 * raw payload. The layout is in snapshot.c and cairn-repository(5).
 */
#ifndef CAIRN_SNAPSHOT_H
#define CAIRN_SNAPSHOT_H

#include "base/buf.h"
#include "base/crypto.h"

#define MEMBER_NAME_MAX 128
#define TAG_LEN_MAX 128
#define TAGS_MAX 64
#define HOST_LEN_MAX 255

/* True for a valid member name: [A-Za-z0-9][A-Za-z0-9._-]*, at most MEMBER_NAME_MAX. */
bool member_name_is_valid(const char *name);

struct snapshot_header {
	char member[MEMBER_NAME_MAX + 1];
	int64_t time_sec; /* backup start, UTC */
	uint32_t time_nsec;
	uint8_t tree_id[HASH_LEN];
	char host[HOST_LEN_MAX + 1];
	char *tags[TAGS_MAX]; /* owned */
	uint32_t n_tags;
	uint64_t n_files; /* regular files (inodes) */
	uint64_t n_dirs;
	uint64_t n_bytes;  /* sum of regular files' apparent sizes */
	uint64_t n_stored; /* bytes of new packs this backup wrote */
	uint32_t n_inodes; /* of the tree, to reserve inode numbers before loading it */
	/* the root directory, so a listing of snapshots needs no tree */
	uint32_t root_perm, root_uid, root_gid, root_nlink;
	int64_t root_mtime_sec;
	uint32_t root_mtime_nsec;
};

void snapshot_header_release(struct snapshot_header *h);
void snapshot_header_encode(const struct snapshot_header *h, struct buf *out);
int snapshot_header_decode(const uint8_t *data, size_t len,
			   struct snapshot_header *ret) WARN_UNUSED;

/* The directory name of a snapshot time: "2026-11-22T205328Z" (19 bytes + NUL). */
#define SNAPSHOT_TIME_NAME_LEN 20
void snapshot_time_name(int64_t time_sec, char out[SNAPSHOT_TIME_NAME_LEN]);
/* Parses "2026-11-22T205328Z", "2026-11-22T20:53:28Z", "2026-11-22 20:53:28",
 * "2026-11-22" or "@<unix seconds>" as UTC. -EINVAL otherwise. */
int snapshot_time_parse(const char *s, int64_t *ret_sec) WARN_UNUSED;

#endif
