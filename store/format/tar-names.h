/*
 * tar-names.h - the names a tar stream creates, checked the way a careful
 * `tar -x` would, without a filesystem: which paths are unsafe (absolute,
 * with a ".." component, or reaching through an earlier symlink entry or
 * through a non-directory), which directories exist, and which entry a name
 * means once later entries have replaced earlier ones.
 *
 * Nodes are numbered from 0 (the root) in creation order, so a node's
 * parent always has a lower number. A node replaced by a later entry of the
 * same name is marked dead; so, in effect, is everything below it. Each
 * node carries a value for its owner (ingest-tar.c keeps an inode there).
 * Pure data structure; not thread-safe.
 */
#ifndef CAIRN_TAR_NAMES_H
#define CAIRN_TAR_NAMES_H

#include "base/buf.h"
#include "base/hmap.h"

enum tar_node_kind {
	TAR_NODE_DIR,
	TAR_NODE_SYMLINK,
	TAR_NODE_OTHER, /* files, devices, fifos, sockets */
};

/* What tar_names_resolve() found wrong with a path (or TAR_PATH_OK). */
enum tar_path_verdict {
	TAR_PATH_OK = 0,
	TAR_PATH_ABSOLUTE,	  /* starts with '/' */
	TAR_PATH_DOTDOT,	  /* has a ".." component */
	TAR_PATH_THROUGH_SYMLINK, /* a leading component is an earlier symlink */
	TAR_PATH_NOT_DIR,	  /* a leading component is an earlier non-directory */
	TAR_PATH_BAD_NAME,	  /* a component longer than 255 bytes, or a NUL */
	TAR_PATH_NOT_FOUND,	  /* (lookups only) no such entry */
};

#define TAR_NODE_IMPLICIT UINT32_MAX /* value of a directory no entry named */

struct tar_node {
	uint32_t parent;
	uint64_t name_off; /* in tar_names.arena */
	uint32_t name_len;
	enum tar_node_kind kind;
	bool live;	/* not replaced by a later entry */
	uint32_t value; /* the owner's; TAR_NODE_IMPLICIT for implied directories */
};

struct tar_names {
	struct tar_node *nodes;
	uint32_t n_nodes;
	size_t cap_nodes;
	struct hmap children; /* hash of (parent, name) -> live node */
	struct buf arena;
};

/* Starts with the root directory, node 0, whose value is root_value. */
void tar_names_init(struct tar_names *t, uint32_t root_value);
void tar_names_release(struct tar_names *t);

/* A one-line explanation of a verdict ("has a '..' component"), static. */
const char *tar_path_verdict_str(enum tar_path_verdict v);

/*
 * Checks path[0..len) and finds the directory its entry goes into: "./",
 * empty and "." components are skipped, trailing slashes ignored. On
 * TAR_PATH_OK sets *ret_parent to that directory's node and *ret_name,
 * *ret_name_len to the last component (a pointer into path; length 0 when
 * the path names the root itself). Leading components that no entry has
 * named yet are created as implicit directories when create is set, else
 * give TAR_PATH_NOT_FOUND. On any other verdict nothing was created and
 * *ret_bad_len is the length of the prefix of path at fault (the symlink,
 * say), when there is one (0 otherwise). Never fails otherwise.
 */
enum tar_path_verdict tar_names_resolve(struct tar_names *t, const char *path, size_t len,
					bool create, uint32_t *ret_parent, const char **ret_name,
					size_t *ret_name_len, size_t *ret_bad_len);

/* The live node named name in directory parent, or UINT32_MAX. */
uint32_t tar_names_child(const struct tar_names *t, uint32_t parent, const void *name, size_t len);

/* Enters name in directory parent as a new node of kind and value, replacing
 * (marking dead) a live node of that name, and returns its number; except
 * that a directory entered over a live directory keeps that node (and what
 * is below it): its number is returned and *ret_kept set, and the caller
 * may update its value. name must be a valid component (1..255 bytes, no
 * '/' or NUL, not "." or ".."), as tar_names_resolve() returns it. */
uint32_t tar_names_enter(struct tar_names *t, uint32_t parent, const void *name, size_t len,
			 enum tar_node_kind kind, uint32_t value, bool *ret_kept);

/* Marks in reachable[0 .. n_nodes) the nodes that are live with every
 * ancestor live: those that a `tar -x` of the whole stream leaves. */
void tar_names_reachable(const struct tar_names *t, bool *reachable);

#endif
