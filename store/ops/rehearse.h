/*
 * rehearse.h - a restore rehearsal: restore a snapshot (or a subtree) into
 * a scratch directory, check what landed there against the snapshot, byte
 * for byte and entry for entry, and clean up; or compare the snapshot with
 * live data the same way.
 */
#ifndef CAIRN_REHEARSE_H
#define CAIRN_REHEARSE_H

#include "ops/diff.h"
#include "ops/restore.h"

/* Scratch directories are made in $TMPDIR, else here, named
 * "cairn-rehearse.XXXXXX". */
#define REHEARSE_SCRATCH_DEFAULT "/var/tmp"

struct rehearse_options {
	const char *path;    /* the subtree to rehearse ("" or NULL: everything) */
	const char *target;  /* restore here (absent or empty) instead of a scratch dir */
	const char *against; /* compare with this live directory; restore nothing */
	bool keep;	     /* leave the restored tree in place (its path is logged) */
	unsigned n_workers;  /* restore threads; 0: the restore default */
	uint64_t cache_size; /* 0: the default */
	diff_fn report;	     /* each difference found, in path order; may be NULL */
	void *report_data;
	restore_progress_fn progress; /* restore progress; may be NULL */
	void *progress_data;
};

struct rehearse_result {
	struct restore_stats restore; /* what was restored (zero with against) */
	struct diff_stats diff;	      /* the comparison */
	uint64_t n_differences;	      /* reported through o->report */
	uint64_t n_damaged;	      /* entries the restore could not recreate */
	uint64_t n_excused;	      /* differences that an unprivileged restore cannot avoid
				       * (owners, xattrs outside user.*, device nodes) */
	uint64_t n_files, n_bytes;    /* regular files and their bytes compared by content */
	uint64_t duration_ns;
};

/* Rehearses a restore of o->path of snapshot s (see the top of rehearse.c).
 * Every file's data is read back from the restored tree (or from
 * o->against) and hashed against the snapshot's chunk hashes; every entry's
 * type, mode, owner, mtime, xattrs, symlink target and device number is
 * compared with the snapshot's. Differences go to o->report; damage the
 * restore meets is logged by path. Returns the number of problems
 * (differences plus damaged entries; 0: clean), or an error that stopped
 * the rehearsal (logged): -ENOENT for a path not in the snapshot, -ENOTEMPTY
 * for a non-empty target, -errno of the scratch directory. *ret is filled
 * in whenever the rehearsal ran. */
int rehearse_run(struct repo *r, struct catalog *c, struct cat_snapshot *s,
		 const struct rehearse_options *o, struct rehearse_result *ret) WARN_UNUSED;

#endif
