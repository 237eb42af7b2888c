/*
 * check.h - verify a repository: every snapshot header and tree parses,
 * every chunk a tree references lies in its pack where the tree says (by
 * the pack's trailer), index objects agree with the trailers, and with
 * read_data, that every chunk of (a random share of) the packs decodes to
 * its hash. Each problem names the damaged object and the snapshots and
 * file paths it affects.
 */
#ifndef CAIRN_CHECK_H
#define CAIRN_CHECK_H

#include "repo/repo.h"

enum check_level {
	CHECK_ERROR,   /* damage or inconsistency: check fails */
	CHECK_WARNING, /* worth a look, but nothing is lost (a stale snapshot list) */
	CHECK_INFO,    /* expected states: unreferenced packs, locks */
};

struct check_progress {
	const char *phase; /* "snapshots", "indexes", "packs", "files" */
	uint64_t done, total;
	uint64_t bytes; /* pack bytes read so far */
};

/* Receives the report one problem at a time: a line "error: ...",
 * "warning: ..." or "info: ...", then the affected snapshots and files,
 * each line indented. text holds all of them, newline-terminated. */
typedef void (*check_report_fn)(void *userdata, enum check_level level, const char *text);
typedef void (*check_progress_fn)(void *userdata, const struct check_progress *p);

struct check_options {
	bool read_data;		/* download packs and verify every chunk */
	unsigned read_percent;	/* with read_data: this share of packs (1..100), drawn anew */
	unsigned n_threads;	/* concurrent fetches; 0: 8 */
	check_report_fn report; /* required */
	void *report_data;
	check_progress_fn progress; /* now and then; may be NULL */
	void *progress_data;
};

struct check_result {
	uint64_t n_errors, n_warnings, n_infos;
	uint64_t n_snapshots;			     /* headers read */
	uint64_t n_packs;			     /* packs whose trailer was read */
	uint64_t n_packs_read;			     /* packs downloaded whole */
	uint64_t n_chunks;			     /* chunk envelopes decoded and hashed */
	uint64_t bytes_read;			     /* pack bytes downloaded */
	uint64_t n_unreferenced, unreferenced_bytes; /* packs no snapshot uses */
};

/* Checks the repository r (the catalog c only supplies snapshot names for
 * messages). Problems are reported through o->report and counted in
 * *ret; the return value is < 0 only when the check itself could not run
 * (the repository cannot be listed), logged. Takes a shared lock on
 * writable backends, so a prune elsewhere defers deletions meanwhile. */
int check_run(struct repo *r, struct catalog *c, const struct check_options *o,
	      struct check_result *ret) WARN_UNUSED;

#endif
