/*
 * fs-tree.h - what cairnfs shows, without FUSE: inode numbers, the synthetic
 * directories above the snapshots, names, attributes and directory
 * listings, each answered from a catalog connection the caller owns. Unit
 * tests reach everything here with a real catalog and no mount.
 *
 *   /                                   FS_INO_ROOT
 *   /snapshots                          FS_INO_SNAPSHOTS
 *   /snapshots/<member>                 FS_INO_SYNTHETIC | member id
 *   /snapshots/<member>/latest          FS_INO_SYNTHETIC | FS_INO_LATEST | snapshot id
 *   /snapshots/<member>/<name>/...      the catalog's inode numbers
 *
 * `latest` is numbered after the snapshot it points to, so a given inode
 * never changes its target: the kernel may cache the link for ever, and a
 * new snapshot shows up as a new inode once the member directory's entry
 * for `latest` expires.
 */
#ifndef CAIRN_FS_TREE_H
#define CAIRN_FS_TREE_H

#include "base/buf.h"
#include "catalog/catalog.h"
#include "repo/repo.h"

#include <sys/statvfs.h>

#define FS_INO_ROOT 1
#define FS_INO_SNAPSHOTS 2
#define FS_INO_SYNTHETIC (1ull << 62)
#define FS_INO_LATEST (1ull << 61)
/* Catalog ids used in synthetic inode numbers stay below this. */
#define FS_ID_MAX (1ll << 60)

/* The permissions of the synthetic directories (dr-xr-xr-x). */
#define FS_SYNTHETIC_DIR_PERM 0555

enum fs_ino_kind {
	FS_INO_KIND_NONE,      /* no inode has this number */
	FS_INO_KIND_ROOT,      /* / */
	FS_INO_KIND_SNAPSHOTS, /* /snapshots */
	FS_INO_KIND_MEMBER,    /* /snapshots/<member>; id: member id */
	FS_INO_KIND_LATEST,    /* /snapshots/<member>/latest; id: snapshot id */
	FS_INO_KIND_CONTENT,   /* a snapshot's root or anything in it; from the catalog */
};

struct fs_tree {
	struct repo *repo;  /* loads trees on demand; borrowed; thread-safe */
	uint32_t uid, gid;  /* owner of the synthetic entries; immutable */
	int64_t newest_sec; /* newest snapshot's time, the mtime of / and /snapshots;
			     * read and written with __atomic builtins, no lock */
};

/* Classifies an inode number; *ret_id (may be NULL) gets the member id or
 * snapshot id for FS_INO_KIND_MEMBER and FS_INO_KIND_LATEST. Pure. */
enum fs_ino_kind fs_ino_kind(uint64_t ino, int64_t *ret_id);
uint64_t fs_member_ino(int64_t member_id);
uint64_t fs_latest_ino(int64_t snapshot_id);
/* True when the inode's attributes and, for directories, entries never
 * change while it exists: snapshot contents and `latest` links. Pure. */
bool fs_ino_is_immutable(uint64_t ino);

/* Recomputes tree->newest_sec from the catalog (after a sync). */
int fs_tree_refresh(struct fs_tree *t, struct catalog *c) WARN_UNUSED;

/* The attributes of ino. A snapshot's root is answered from its header
 * until its tree is loaded; any other inode of a snapshot loads its tree
 * first. -ENOENT for an inode that does not exist (any more); -EIO when a
 * tree cannot be loaded (the repository said why in the log). */
int fs_tree_getattr(struct fs_tree *t, struct catalog *c, uint64_t ino,
		    struct cat_attr *ret) WARN_UNUSED;

/* Looks up name (NUL-terminated, any bytes) in directory dir; loads a
 * snapshot's tree when looking inside its root. -ENOENT, -ENOTDIR, -EIO. */
int fs_tree_lookup(struct fs_tree *t, struct catalog *c, uint64_t dir, const char *name,
		   struct cat_attr *ret) WARN_UNUSED;

/* One directory entry: name is NUL-terminated and borrowed for the call;
 * next_off is the offset that resumes the listing after this entry. For
 * "." and ".." attr carries only ino and the type bits of mode; for the
 * rest, all of attr when with_attr was asked, else ino and type bits.
 * Return 0 to go on, > 0 to stop (the entry was not taken), < 0 to fail. */
typedef int (*fs_tree_dirent_fn)(void *userdata, uint64_t next_off, const char *name,
				 const struct cat_attr *attr);
/* Lists directory dir from offset off (0: the start; else a next_off that
 * an earlier call passed to fn). Offsets stay valid while the directory
 * exists: catalog cookies inside snapshots, indexes in synthetic
 * directories (where a refresh in between may repeat or skip an entry).
 * Returns 0 at the end or when fn stopped, else fn's or the catalog's error;
 * -ENOTDIR for a non-directory. */
int fs_tree_readdir(struct fs_tree *t, struct catalog *c, uint64_t dir, uint64_t off,
		    bool with_attr, fs_tree_dirent_fn fn, void *userdata) WARN_UNUSED;

/* Appends a symlink's target to out. -EINVAL for an inode that is not a
 * symlink. */
int fs_tree_readlink(struct fs_tree *t, struct catalog *c, uint64_t ino,
		     struct buf *out) WARN_UNUSED;
/* Appends the NUL-terminated xattr names of ino (none for synthetic ones). */
int fs_tree_listxattr(struct fs_tree *t, struct catalog *c, uint64_t ino,
		      struct buf *out) WARN_UNUSED;
/* Appends the value of xattr name of ino; -ENODATA when there is none, or
 * -EOPNOTSUPP when name is an ACL (system.posix_acl_*) or a security label
 * (security.*) and no inode of ino's snapshot has one by that name, as a
 * file system without them would answer. */
int fs_tree_getxattr(struct fs_tree *t, struct catalog *c, uint64_t ino, const char *name,
		     struct buf *out) WARN_UNUSED;
/* SEEK_DATA or SEEK_HOLE from off in regular file ino; -ENXIO past the end
 * or, for SEEK_DATA, when only a hole follows. */
int fs_tree_seek(struct fs_tree *t, struct catalog *c, uint64_t ino, uint64_t off, int whence,
		 uint64_t *ret) WARN_UNUSED;
/* Totals for statfs(2): logical bytes and inodes of every snapshot, in
 * 4 KiB blocks, none free, read-only. */
int fs_tree_statfs(struct fs_tree *t, struct catalog *c, struct statvfs *ret) WARN_UNUSED;

#endif
