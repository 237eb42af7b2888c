/*
 * name-time.h - the time a file name says it was made, for `cairn import`:
 * "db-2026-11-22T205328Z.tar.gz" was made at 2026-11-22 20:53:28 UTC.
 */
#ifndef CAIRN_NAME_TIME_H
#define CAIRN_NAME_TIME_H

#include "base/util.h"

/*
 * Finds the first timestamp in name[0..len) and returns it as seconds since
 * the epoch in *ret_sec. Understood, at the leftmost position where any
 * matches (the longest form there), and only where no digit touches it on
 * either side:
 *
 *   2026-11-22T205328Z        2026-11-22T20:53:28Z     ISO 8601, extended
 *   2026-11-22T20:53:28.5+01:00   2026-11-22 20:53:28  (fraction dropped)
 *   20261122T205328Z  20261122T205328+0100             ISO 8601, basic
 *   20261122-205328   20261122205328                   date and time run together
 *   2026-11-22_20-53-28                                as shell scripts write it
 *   2026-11-22T20:53Z  2026-11-22                      minutes, or a date alone
 *   1795380808                                         Unix time, 10 digits
 *
 * A time is UTC unless it carries an offset (Z, +HH, +HHMM, +HH:MM, or the
 * same with '-'). Dates and times must exist (no February 30th, no hour
 * 24, no leap second) and lie in 1970..9999. Returns -ENOENT when the name
 * holds none. Pure function; thread-safe.
 */
int name_time_parse(const char *name, size_t len, int64_t *ret_sec) WARN_UNUSED;

#endif
