/*
 * fs-ops.h - the libfuse low-level operations of cairnfs. The session's
 * userdata must be the mount's struct fs.
 */
#ifndef CAIRN_FS_OPS_H
#define CAIRN_FS_OPS_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse_lowlevel.h>

/* Largest read and write the kernel is asked to send: the most libfuse's
 * request buffer holds (FUSE_MAX_MAX_PAGES pages). */
#define FS_MAX_IO (1u << 20)

extern const struct fuse_lowlevel_ops fs_ops;

#endif
