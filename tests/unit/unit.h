/*
 * unit.h - what the cmocka unit tests share: a scratch directory per test
 * group, deterministic pseudo-random bytes, and a real local repository
 * (struct unit_repo) with its catalog, for the tests that need one: made in
 * the scratch directory, filled by real backups, removed at teardown.
 */
#ifndef CAIRN_TESTS_UNIT_H
#define CAIRN_TESTS_UNIT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"

/* Makes a fresh directory $TMPDIR/cairn-test-NAME.XXXXXX (TMPDIR defaults
 * to /tmp) and writes its path to buf (size bytes). 0, or -1 with errno
 * set (ENAMETOOLONG when the path does not fit). */
int unit_mkdtemp(char *buf, size_t size, const char *name);

/* Removes dir and everything below it, not following symlinks. 0 or -1. */
int unit_rm_rf(const char *dir);

/* Fills p with len bytes of xorshift output, the same for the same seed. */
void unit_fill_random(uint8_t *p, size_t len, uint64_t seed);

/* Writes len pseudo-random bytes (unit_fill_random(seed)) to a new file at
 * path. 0, or -1 with errno set. */
int unit_write_file(const char *path, size_t len, uint64_t seed);

/* A local repository in a scratch directory, open with its catalog. */
struct unit_repo {
	char dir[64];  /* the scratch directory; everything below lies in it */
	char url[128]; /* dir/repo */
	char src[128]; /* dir/src: an empty directory to put files to back up in */
	struct repo *repo;
	struct catalog *cat;
};

/* Makes the scratch directory (unit_mkdtemp(name)), points $CAIRN_CACHE_DIR
 * at dir/cache, creates a repository at dir/repo with cfg (the defaults
 * when NULL), and opens it and its catalog. 0, or -1 (u is then released). */
int unit_repo_setup(struct unit_repo *u, const char *name, const struct repo_config *cfg);

/* Backs up the directory path (u->src when NULL) as member at time_sec
 * (backup_run() enters the snapshot in the catalog); ret_snap (may be NULL)
 * gets the snapshot id. 0, or the negative errno of the backup. */
int unit_repo_backup(struct unit_repo *u, const char *member, const char *path, int64_t time_sec,
		     uint8_t ret_snap[HASH_LEN]);

/* Writes the small tree below into dir (which must exist) and returns the
 * number of entries it made (its root not counted), or -1:
 *   a          6 bytes, "hello\n"
 *   big        200 KiB of unit_fill_random(7), several chunks
 *   d/         a directory
 *   d/b        2 bytes, "x\n"
 *   d/e/       an empty directory
 *   link       a symlink to "a"
 *   hard       a second name of d/b */
int unit_small_tree(const char *dir);

/* Replaces u->cat by a new catalog rebuilt from the repository (the catalog's
 * files removed, then repo_sync()), which knows the snapshots from
 * their headers and has loaded none of their trees, as a fresh mount
 * starts. 0 or -1. */
int unit_repo_fresh_catalog(struct unit_repo *u);

/* Closes the repository and catalog and removes the scratch directory. */
void unit_repo_teardown(struct unit_repo *u);

#endif
