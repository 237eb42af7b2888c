/*
 * restore.h - recreate a snapshot, or a subtree of it, in a local
 * directory: contents, holes, modes, owners, nanosecond mtimes, symlinks,
 * hardlinks, xattrs, fifos, sockets and device nodes.
 */
#ifndef CAIRN_RESTORE_H
#define CAIRN_RESTORE_H

#include "repo/repo.h"

#define RESTORE_WORKERS_DEFAULT 4
/* Prefix of the temporary names restore gives entries before renaming them
 * into place; leftovers of an interrupted restore are removed by the next
 * restore with overwrite. */
#define RESTORE_TMP_PREFIX ".cairn-restore."

struct restore_stats {
	uint64_t total_files;	  /* regular files to restore; 0 when unknown */
	uint64_t total_bytes;	  /* their apparent size; 0 when unknown */
	uint64_t n_files;	  /* regular files written */
	uint64_t n_dirs;	  /* directories */
	uint64_t n_links;	  /* extra names of multiply-linked entries */
	uint64_t n_other;	  /* symlinks, fifos, sockets, devices */
	uint64_t n_bytes;	  /* apparent bytes of regular files written, holes included */
	uint64_t n_data;	  /* bytes of file data written (holes excluded) */
	uint64_t n_fetched;	  /* chunks fetched from the repository */
	uint64_t n_copied;	  /* chunks copied from a file restored earlier in this run */
	uint64_t n_verified;	  /* files read back and checked (with verify) */
	uint64_t n_verified_data; /* bytes of file data read back and hashed */
	uint64_t n_errors;	  /* entries that could not be restored (each logged) */
	uint64_t n_not_owned;	  /* entries whose owner could not be set */
	uint64_t n_skipped;	  /* device nodes that could not be created (not root) */
	uint64_t n_xattr_lost;	  /* xattrs outside user.* that could not be set */
	uint64_t n_unsafe;	  /* set-id bits stripped, device nodes left out (by option) */
};

/* Which xattrs restore sets: all of them, or user.* only (no security.*,
 * trusted.* or system.*, so no file capabilities or ACLs). */
enum restore_xattrs {
	RESTORE_XATTRS_ALL,
	RESTORE_XATTRS_USER,
};

typedef void (*restore_progress_fn)(void *userdata, const struct restore_stats *s, bool done);

struct restore_options {
	const char *target; /* directory; created (one level) if missing */
	bool overwrite;	    /* allow a non-empty target; replace what the snapshot has */
	bool verify;	    /* read every file back and check its chunks' hashes */
	/* Against a repository that others can write (cairn(1), RESTORING AS
	 * ROOT): as root, restore otherwise recreates what the snapshot says,
	 * setuid-root files and device nodes included. */
	bool no_same_owner;	    /* leave entries owned by the restoring user */
	bool no_setuid;		    /* clear set-user-id and set-group-id bits of non-directories */
	bool no_devices;	    /* do not create character and block devices */
	enum restore_xattrs xattrs; /* RESTORE_XATTRS_ALL by default */
	unsigned n_workers;	    /* threads writing files; 0: RESTORE_WORKERS_DEFAULT */
	uint64_t cache_size;	    /* decoded chunk cache; 0: CACHE_BUDGET_DEFAULT */
	restore_progress_fn progress; /* called now and then, and once at the end; may be NULL */
	void *progress_data;
};

/* Restores path (see walk_resolve(); "" for everything) of snapshot s into
 * opts->target. A directory's contents go into the target, and the target
 * takes the directory's owner, mode, xattrs and mtime; anything else is
 * restored into the target under its own name. Nothing is ever created,
 * changed or followed outside the target: every path is opened one
 * component at a time from the target with O_NOFOLLOW, and entries get
 * their final name only once complete (by rename), so an interrupted
 * restore leaves no partial file under a real name and can be run again
 * with overwrite.
 *
 * What an unprivileged user cannot do (owners, device nodes, xattrs
 * outside user.*) is counted in *ret and logged once as a warning listing
 * examples; it is not a failure. Every other problem is logged naming the
 * path and counted in ret->n_errors, and the restore goes on with the other
 * entries; the result is then -EIO. -ENOTEMPTY (logged, with a hint) for a
 * non-empty target without overwrite; -ENOENT etc. (logged) when path does
 * not resolve. *ret is filled in either case. */
int restore_run(struct repo *r, struct catalog *c, struct cat_snapshot *s, const char *path,
		const struct restore_options *opts, struct restore_stats *ret) WARN_UNUSED;

/* Removes path and everything below it, following no symlink and first
 * giving the owner access back to directories whose mode keeps them out
 * (what a restore may leave). -errno of the first failure. */
int restore_remove(const char *path) WARN_UNUSED;

#endif
