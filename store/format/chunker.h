/*
 * chunker.h - content-defined chunking (FastCDC with normalized chunking).
 * A cut point depends only on the 64 bytes before it, so an insertion or
 * deletion moves the boundaries near it and no others.
 */
#ifndef CAIRN_CHUNKER_H
#define CAIRN_CHUNKER_H

#include "base/util.h"

#define CHUNK_SIZE_MIN_LIMIT (4u << 10)	 /* smallest configurable minimum */
#define CHUNK_SIZE_MAX_LIMIT (16u << 20) /* largest configurable maximum */

struct chunker_params {
	uint32_t min_size; /* no cut before this many bytes */
	uint32_t avg_size; /* power of two; the expected chunk size */
	uint32_t max_size; /* always cut here */
};

/* The defaults: 256 KiB / 1 MiB / 4 MiB. */
struct chunker_params chunker_default_params(void);
/* Derives min = avg/4 and max = avg*4 from an average (rounded to a power of
 * two); -EINVAL when the result falls outside the limits above. */
int chunker_params_from_avg(uint64_t avg, struct chunker_params *ret) WARN_UNUSED;
/* -EINVAL unless min <= avg <= max, avg is a power of two, and all lie
 * within the limits. Used on values read from a repository config. */
int chunker_params_check(const struct chunker_params *p) WARN_UNUSED;

/* Returns the length of the next chunk at the start of data[0..len). When
 * len < max_size, the caller must pass at_end = true only if no more data
 * follows; with at_end false and len < max_size the result may be 0,
 * meaning "give me more bytes". Pure function; thread-safe. */
size_t chunker_cut(const struct chunker_params *p, const uint8_t *data, size_t len, bool at_end);

#endif
