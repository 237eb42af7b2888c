/*
 * ingest.h - snapshots from a stream rather than from local paths: a tar
 * archive (any dialect and compression libarchive reads), or the bytes of
 * one file (a dump on standard input, or a command's output). Both read
 * the stream once, front to back, with memory bounded by a few chunks and
 * the tree, and write the snapshot only once the stream has ended well.
 */
#ifndef CAIRN_INGEST_H
#define CAIRN_INGEST_H

#include "ops/backup.h"

struct tar_options {
	int fd;		   /* the archive, read to its end (not closed) */
	const char *name;  /* for messages: its file name, or "standard input" */
	bool strip_unsafe; /* drop unsafe entries (each reported) instead of failing */
};

/*
 * Backs up the tar archive read from o->fd as a snapshot (opts as for
 * backup_run(), without paths): the tree `tar -x` would make of it, with
 * numeric owners, modes, nanosecond mtimes, holes of sparse entries,
 * xattrs and hardlinks; a later entry of the same name replaces an earlier
 * one, except that a directory over a directory updates it. An entry "."
 * gives the root its attributes. Directories that only appear inside paths
 * get mode 0755, the running user and the snapshot's time.
 * Errors (each logged, naming the archive and the entry): -EPERM for an
 * unsafe entry (absolute path, a ".." component, a path through an earlier
 * symlink or non-directory entry, a hardlink to such a path or to nothing)
 * unless o->strip_unsafe; -EPROTO for a malformed, truncated or empty
 * archive; backend errors. No snapshot is written on any error.
 */
int backup_tar(struct repo *r, struct catalog *c, const struct backup_options *opts,
	       const struct tar_options *o, struct backup_result *ret) WARN_UNUSED;

/* Called once the stream has ended, before the snapshot is written; a
 * negative return (already logged) fails the backup. */
typedef int (*stream_finish_fn)(void *userdata);

struct stream_options {
	int fd;			 /* read to its end (not closed) */
	const char *name;	 /* the file's name in the snapshot: one valid component */
	stream_finish_fn finish; /* may be NULL */
	void *finish_data;
};

/* Backs up the bytes read from o->fd as a snapshot holding one file,
 * o->name (mode 0600, the running user, the snapshot's time), in a root
 * directory of mode 0755. Read errors, o->finish's error, backend errors;
 * no snapshot is written on any. */
int backup_stream(struct repo *r, struct catalog *c, const struct backup_options *opts,
		  const struct stream_options *o, struct backup_result *ret) WARN_UNUSED;

#endif
