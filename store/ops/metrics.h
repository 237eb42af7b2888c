/*
 * metrics.h - the outcome of one cairn command as Prometheus metrics, in a
 * file for node_exporter's textfile collector (--metrics-file).
 */
#ifndef CAIRN_METRICS_H
#define CAIRN_METRICS_H

#include "base/util.h"

#include <stdbool.h>
#include <stdint.h>

/* Bounds on what an existing metrics file may hold before it is refused. */
#define METRICS_FILE_MAX (4u << 20)
#define METRICS_SERIES_MAX 4096

/* One run of a command. The strings are borrowed for the call. */
struct metrics_run {
	const char *repo;    /* the repository as named (-r); never holds credentials */
	const char *command; /* "backup", "check", "prune", "restore", "rehearse" */
	const char *member;  /* the member it was about, or NULL/"" for the repository */
	bool success;
	uint64_t duration_ns;
	uint64_t bytes_read;   /* data read: of files (backup), packs (check), ... */
	uint64_t bytes_added;  /* new data the run added to the repository (raw) */
	uint64_t bytes_stored; /* bytes of objects written to the repository */
	uint64_t files;	       /* regular files handled */
	uint64_t errors;       /* problems found or entries that failed */
};

/* Records run in the metrics file path: reads what the file holds (series
 * of other repositories, commands and members are kept, and on failure the
 * last success time of this one), replaces this series, and writes the
 * result to a temporary file beside it, renamed over path, so a collector
 * never sees half a file. Concurrent writers are serialized by an flock()
 * on "PATH.lock". now_sec is the wall-clock time of the attempt. Lines of
 * the old file that are not cairn's series are dropped. Errors (logged,
 * naming path): -errno of the file operations, -EBADMSG for a file beyond
 * METRICS_FILE_MAX or METRICS_SERIES_MAX. Not thread-safe within one
 * process for one path. */
int metrics_write(const char *path, const struct metrics_run *run, double now_sec) WARN_UNUSED;

#endif
