/*
 * private-dir.h - directories and files that only their user can change:
 * the catalog cache and the disk cache, which the mount trusts for modes,
 * owners and chunk locations, must not be replaceable by another local user.
 */
#ifndef CAIRN_PRIVATE_DIR_H
#define CAIRN_PRIVATE_DIR_H

#include "base/util.h"

/*
 * Makes path (absolute, or relative to the working directory) a directory
 * that only the effective user can change, creating what is missing with
 * mode 0700. Every existing component is checked with lstat(): ancestors
 * must belong to root or the user and, when group or others may write to
 * them, carry the sticky bit (as /tmp does); a symbolic link is accepted
 * only above the last component and only when root owns it. The directory
 * itself must belong to the user, and is narrowed to 0700 (with a warning
 * when others could write to it). Logs the component that
 * fails, with what as the directory's role ("cache directory"); returns
 * -ELOOP (a symlink), -ENOTDIR, -EPERM (owner or mode), or mkdir's error.
 */
int private_dir_make(const char *path, const char *what) WARN_UNUSED;

/*
 * Creates path with mode 0600 if missing (never through a symlink) and
 * checks that it is a regular file of the user's, narrowing its mode to
 * 0600 (and that of path-wal and path-shm, SQLite's companions, when they
 * exist). Logs and returns -ELOOP, -EPERM or open's error. Call it before
 * this process opens the database: it opens and closes descriptors of
 * those files, and a close drops every fcntl lock the process holds on
 * the file, SQLite's included.
 */
int private_file_prepare(const char *path) WARN_UNUSED;

#endif
