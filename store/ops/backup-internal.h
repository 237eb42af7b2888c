/*
 * backup-internal.h - what the sources of a backup other than the directory
 * walk (tar streams, standard input: ingest-tar.c, ingest-stdin.c) use of a
 * running backup. backup_run() calls the source's fill function (struct
 * backup_options.fill) where it would walk paths; the function adds chunks
 * and builds the whole tree (inode 0 the root directory), and backup_run()
 * then writes packs, index, tree and header as for a walk. Only files of
 * store/ops include this header.
 */
#ifndef CAIRN_BACKUP_INTERNAL_H
#define CAIRN_BACKUP_INTERNAL_H

#include "ops/backup.h"
#include "format/chunker.h"

/* The tree under construction (empty when fill starts), the statistics the
 * source keeps up to date (n_files, n_dirs, n_other, n_bytes, n_read), the
 * options the backup runs with, and the repository's chunker parameters.
 * Borrowed for the backup's life. */
struct tree *backup_tree(struct backup *b);
struct backup_stats *backup_stats(struct backup *b);
const struct backup_options *backup_options(const struct backup *b);
const struct chunker_params *backup_chunker(const struct backup *b);

/* Stores (or deduplicates) one chunk of raw data, which the caller keeps;
 * sets *ret to its index in the tree. Backend and compression errors. */
int backup_add_chunk(struct backup *b, const uint8_t *data, size_t len, uint32_t *ret) WARN_UNUSED;
/* Reports progress, at most every quarter second. */
void backup_progress(struct backup *b);

/*
 * A file's data as it arrives from a stream, in pieces at ascending file
 * offsets: consecutive pieces form one data segment, a gap between them is
 * a hole. Each segment is cut into content-defined chunks exactly as the
 * directory walk cuts a file's data segment, so the same bytes give the
 * same chunks from either source. Memory: one buffer of a few max-size
 * chunks, whatever the file's size.
 */
struct backup_stream {
	struct backup *b;
	uint8_t *buf;
	size_t cap, have; /* buf[0 .. have) is data at file offset pos */
	uint64_t pos;
	uint64_t first; /* the file's first extent in the tree */
};

void backup_stream_init(struct backup_stream *s, struct backup *b);
void backup_stream_release(struct backup_stream *s);
/* Starts a file at offset 0: its extents will be appended to the tree from
 * here on; returns the index of its first extent. */
uint32_t backup_stream_begin(struct backup_stream *s);
/* Adds data at file offset off, which must not lie before the end of the
 * previous piece (-EPROTO). Counts stats.n_read. */
int backup_stream_write(struct backup_stream *s, uint64_t off, const void *data,
			size_t len) WARN_UNUSED;
/* Ends the file: chunks what is buffered and returns, in *ret_n_extents,
 * how many extents the file has (they follow the one begin returned). */
int backup_stream_end(struct backup_stream *s, uint32_t *ret_n_extents) WARN_UNUSED;

#endif
