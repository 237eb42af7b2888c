/*
 * parse.h - parsers for values users type, shared by cairn and cairnfs, so
 * "256M" or "zstd:3" mean the same everywhere and store/ only sees numbers.
 */
#ifndef CAIRN_PARSE_H
#define CAIRN_PARSE_H

#include "base/util.h"

/* "4096", "64K", "256M", "1G", "2T" (binary units, optional "iB"/"B").
 * -EINVAL for anything else or an overflow. */
int parse_size(const char *s, uint64_t *ret) WARN_UNUSED;
/* A non-negative integer with no suffix; -EINVAL otherwise. */
int parse_uint(const char *s, uint64_t *ret) WARN_UNUSED;
/* "10" or "10%": a whole percentage from 1 to 100. -EINVAL otherwise. */
int parse_percent(const char *s, unsigned *ret) WARN_UNUSED;
/* "90", "90s", "15m", "2h", "7d", "2w", "1y" into seconds. */
int parse_duration(const char *s, uint64_t *ret_seconds) WARN_UNUSED;
/* "zstd", "zstd:LEVEL" (1..19), or "none" (level 0). */
int parse_compression(const char *s, int *ret_level) WARN_UNUSED;

/* One line of /proc/self/mountinfo ("ID PARENT MAJOR:MINOR ROOT MOUNTPOINT
 * ..."): the device ("0:42") into dev and the mount point, its octal
 * escapes (\040 for a space) undone, into point. -EINVAL for a line
 * without those fields or with longer ones. */
#define MOUNTINFO_DEV_MAX 32
#define MOUNTINFO_POINT_MAX 4097
int parse_mountinfo_line(const char *line, char dev[MOUNTINFO_DEV_MAX],
			 char point[MOUNTINFO_POINT_MAX]) WARN_UNUSED;

#endif
