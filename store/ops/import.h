/*
 * import.h - turn existing tar archives (a folder of old per-member
 * backups) into snapshots, each at the time the archive was made.
 */
#ifndef CAIRN_IMPORT_H
#define CAIRN_IMPORT_H

#include "ops/backup.h"

struct import_options {
	const char *member;	     /* the member of archives[] */
	const char *const *archives; /* archive files, any order */
	size_t n_archives;
	const char *layout;	     /* instead: DIR/<member>/<archive>, every member */
	int64_t time_sec;	     /* snapshot time of archives[]; 0 = each one's own */
	bool strip_unsafe;	     /* drop unsafe entries instead of failing the archive */
	backup_progress_fn progress; /* per archive, as for backup_run(); may be NULL */
	void *progress_data;
};

struct import_result {
	uint64_t n_imported, n_skipped, n_failed; /* archives */
	uint64_t n_bytes;			  /* archive bytes read by those imported */
	uint64_t n_stored;			  /* bytes they added to the repository */
};

/*
 * Imports each archive (tar, compressed or not) as one snapshot, oldest
 * first, with the tree `tar -x` would make of it (backup_tar()). An
 * archive's time is opts->time_sec if set, else the first timestamp in its
 * file name before the extension (name-time.h), else its mtime.
 *
 * Each snapshot gets the tag "import:SIZE:NAME" (the archive's size in
 * bytes and its file name; NAME is "sha256-" and 32 hex digits of the
 * name's hash when the name does not fit a tag); an archive whose tag a
 * snapshot of its member already has is skipped, so importing a folder
 * again adds only what is new in it. Renaming an archive, or changing its
 * size, makes it new; touching it does not.
 *
 * An archive that cannot be read (empty, truncated, corrupt, unsafe) is
 * logged by name, counted in n_failed and imports nothing; the others are
 * still imported, and the call then returns -EPROTO. Other errors (an
 * unreadable layout folder, a backend failure) are returned as they are.
 */
int import_run(struct repo *r, struct catalog *c, const struct import_options *opts,
	       struct import_result *ret) WARN_UNUSED;

#endif
