/*
 * fs-tree.c - inodes, names and listings of the mount, answered from the
 * catalog.
 *
 * Above the snapshots everything is synthetic (see fs-tree.h for the
 * numbering): directories owned by the mounting user, mode 0555, nlink two
 * plus their subdirectories, mtime the newest snapshot they lead to, and a
 * `latest` link per member. They are computed on each request from indexed
 * catalog queries, so they follow repo_sync() without any state here.
 *
 * Inside a snapshot every answer is the catalog's. A snapshot's tree enters
 * the catalog lazily: the first request that needs it (a lookup or listing
 * in its root, or anything on one of its inodes other than the root's
 * attributes, which the header carries) finds the catalog silent, asks
 * which snapshot owns the inode, and loads that snapshot's tree with
 * repo_ensure_tree() before asking again. A silent catalog for a loaded
 * snapshot is an honest "no such entry".
 *
 * Directory offsets: in synthetic directories the position of the entry
 * (".", "..", then the rest in catalog order), inside snapshots "." is 1,
 * ".." is 2 and every other entry its catalog cookie plus 2; cookies are
 * row ids, so they start at 1 and never collide with the dots.
 *
 * Everything here takes the caller's catalog connection and keeps no
 * state but tree->newest_sec, so it is safe on any number of threads with
 * one connection each.
 */
#include "fs-tree.h"
#include "base/log.h"

#include <assert.h>
#include <sys/stat.h>

/* Each of a snapshot's blocks is reported in units of this many bytes. */
#define FS_STATFS_BLOCK 4096

enum fs_ino_kind fs_ino_kind(uint64_t ino, int64_t *ret_id)
{
	if (ino == FS_INO_ROOT)
		return FS_INO_KIND_ROOT;
	if (ino == FS_INO_SNAPSHOTS)
		return FS_INO_KIND_SNAPSHOTS;
	if (ino >= CATALOG_FIRST_INO && ino < FS_INO_LATEST)
		return FS_INO_KIND_CONTENT;
	if ((ino & ~(FS_INO_LATEST | (uint64_t)(FS_ID_MAX - 1))) != FS_INO_SYNTHETIC)
		return FS_INO_KIND_NONE;
	int64_t id = (int64_t)(ino & (uint64_t)(FS_ID_MAX - 1));
	if (id == 0)
		return FS_INO_KIND_NONE;
	if (ret_id)
		*ret_id = id;
	return ino & FS_INO_LATEST ? FS_INO_KIND_LATEST : FS_INO_KIND_MEMBER;
}

static bool id_fits(int64_t id)
{
	return id > 0 && id < FS_ID_MAX;
}

uint64_t fs_member_ino(int64_t member_id)
{
	assert(id_fits(member_id));
	return FS_INO_SYNTHETIC | (uint64_t)member_id;
}

uint64_t fs_latest_ino(int64_t snapshot_id)
{
	assert(id_fits(snapshot_id));
	return FS_INO_SYNTHETIC | FS_INO_LATEST | (uint64_t)snapshot_id;
}

bool fs_ino_is_immutable(uint64_t ino)
{
	enum fs_ino_kind k = fs_ino_kind(ino, NULL);
	return k == FS_INO_KIND_CONTENT || k == FS_INO_KIND_LATEST;
}

/* --- attributes of synthetic entries --- */

static void synthetic_dir_attr(const struct fs_tree *t, uint64_t ino, uint64_t n_subdirs,
			       int64_t mtime_sec, uint32_t mtime_nsec, struct cat_attr *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->ino = ino;
	ret->mode = S_IFDIR | FS_SYNTHETIC_DIR_PERM;
	ret->uid = t->uid;
	ret->gid = t->gid;
	ret->nlink = (uint32_t)MIN(2 + n_subdirs, UINT32_MAX);
	ret->mtime_sec = mtime_sec;
	ret->mtime_nsec = mtime_nsec;
}

static void latest_attr(const struct fs_tree *t, const struct cat_snapshot *s, struct cat_attr *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->ino = fs_latest_ino(s->id);
	ret->mode = S_IFLNK | 0777;
	ret->uid = t->uid;
	ret->gid = t->gid;
	ret->nlink = 1;
	ret->size = strlen(s->name);
	ret->mtime_sec = s->time_sec;
	ret->mtime_nsec = s->time_nsec;
}

static int64_t newest_sec(const struct fs_tree *t)
{
	return __atomic_load_n(&t->newest_sec, __ATOMIC_RELAXED);
}

static int count_member(void *userdata, int64_t id UNUSED, const char *name UNUSED)
{
	(*(uint64_t *)userdata)++;
	return 0;
}

static int count_snapshot(void *userdata, const struct cat_snapshot *s UNUSED)
{
	(*(uint64_t *)userdata)++;
	return 0;
}

static int snapshots_dir_attr(struct fs_tree *t, struct catalog *c, struct cat_attr *ret)
{
	uint64_t n = 0;
	int r = catalog_list_members(c, count_member, &n);
	if (r < 0)
		return r;
	synthetic_dir_attr(t, FS_INO_SNAPSHOTS, n, newest_sec(t), 0, ret);
	return 0;
}

static int member_attr(struct fs_tree *t, struct catalog *c, int64_t id, const char *member,
		       struct cat_attr *ret)
{
	struct cat_snapshot latest;
	uint64_t n = 0;
	int r;

	if (!id_fits(id))
		return -EOVERFLOW;
	r = catalog_find_snapshot(c, member, "latest", &latest);
	if (r < 0)
		return r; /* -ENOENT: the member has no snapshot left */
	r = catalog_list_snapshots(c, member, count_snapshot, &n);
	if (r < 0)
		return r;
	synthetic_dir_attr(t, fs_member_ino(id), n, latest.time_sec, latest.time_nsec, ret);
	return 0;
}

/* --- snapshot contents --- */

static int load_tree(struct fs_tree *t, struct catalog *c, struct cat_snapshot *s)
{
	int r = repo_ensure_tree(t->repo, c, s);
	/* A missing tree object is damage, not a missing name. */
	return r == -ENOENT ? -EIO : r;
}

/* After a content query came back empty: loads the tree of the snapshot
 * that owns ino if that is why. 1: loaded now, ask again; 0: the answer
 * stands; < 0: an error. */
static int load_if_missing(struct fs_tree *t, struct catalog *c, uint64_t ino)
{
	struct cat_snapshot s;
	int r;

	r = catalog_snapshot_of_ino(c, ino, &s);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (s.loaded)
		return 0;
	r = load_tree(t, c, &s);
	return r < 0 ? r : 1;
}

static int content_getattr(struct fs_tree *t, struct catalog *c, uint64_t ino, struct cat_attr *ret)
{
	struct cat_snapshot s;
	int r;

	r = catalog_getattr(c, ino, ret);
	if (r != -ENOENT)
		return r;
	r = catalog_snapshot_of_ino(c, ino, &s);
	if (r < 0)
		return r;
	if (s.loaded)
		return -ENOENT;
	if (ino == s.ino_base) {
		*ret = s.root; /* listing snapshots loads no tree */
		return 0;
	}
	r = load_tree(t, c, &s);
	if (r < 0)
		return r;
	return catalog_getattr(c, ino, ret);
}

/* The attributes of a snapshot's root: its header's until the tree is
 * loaded, the tree's afterwards, as getattr answers. */
static int snapshot_root_attr(struct catalog *c, const struct cat_snapshot *s, struct cat_attr *ret)
{
	if (s->loaded) {
		int r = catalog_getattr(c, s->ino_base, ret);
		if (r != -ENOENT)
			return r;
	}
	*ret = s->root;
	return 0;
}

static int newer_time(void *userdata, const struct cat_snapshot *s)
{
	int64_t *newest = userdata;
	if (s->time_sec > *newest)
		*newest = s->time_sec;
	return 0;
}

int fs_tree_refresh(struct fs_tree *t, struct catalog *c)
{
	int64_t newest = 0;
	int r;

	r = catalog_list_snapshots(c, NULL, newer_time, &newest);
	if (r < 0)
		return r;
	__atomic_store_n(&t->newest_sec, newest, __ATOMIC_RELAXED);
	return 0;
}

int fs_tree_getattr(struct fs_tree *t, struct catalog *c, uint64_t ino, struct cat_attr *ret)
{
	char member[MEMBER_NAME_MAX + 1];
	struct cat_snapshot s;
	int64_t id = 0;
	int r;

	switch (fs_ino_kind(ino, &id)) {
	case FS_INO_KIND_ROOT:
		synthetic_dir_attr(t, FS_INO_ROOT, 1, newest_sec(t), 0, ret);
		return 0;
	case FS_INO_KIND_SNAPSHOTS:
		return snapshots_dir_attr(t, c, ret);
	case FS_INO_KIND_MEMBER:
		r = catalog_member_name(c, id, member);
		if (r < 0)
			return r;
		return member_attr(t, c, id, member, ret);
	case FS_INO_KIND_LATEST:
		r = catalog_snapshot_by_id(c, id, &s);
		if (r < 0)
			return r;
		latest_attr(t, &s, ret);
		return 0;
	case FS_INO_KIND_CONTENT:
		return content_getattr(t, c, ino, ret);
	case FS_INO_KIND_NONE:
		break;
	}
	return -ENOENT;
}

int fs_tree_lookup(struct fs_tree *t, struct catalog *c, uint64_t dir, const char *name,
		   struct cat_attr *ret)
{
	char member[MEMBER_NAME_MAX + 1];
	struct cat_snapshot s;
	size_t len = strlen(name);
	int64_t id = 0;
	int r;

	if (len > NAME_LEN_MAX)
		return -ENAMETOOLONG;
	switch (fs_ino_kind(dir, &id)) {
	case FS_INO_KIND_ROOT:
		if (strcmp(name, "snapshots") != 0)
			return -ENOENT;
		return snapshots_dir_attr(t, c, ret);
	case FS_INO_KIND_SNAPSHOTS:
		if (!member_name_is_valid(name))
			return -ENOENT;
		r = catalog_member_id(c, name, &id);
		if (r < 0)
			return r;
		return member_attr(t, c, id, name, ret);
	case FS_INO_KIND_MEMBER:
		if (len >= SNAPSHOT_NAME_MAX)
			return -ENOENT;
		r = catalog_member_name(c, id, member);
		if (r < 0)
			return r;
		r = catalog_find_snapshot(c, member, name, &s);
		if (r < 0)
			return r;
		if (!id_fits(s.id))
			return -EOVERFLOW;
		if (strcmp(name, "latest") == 0) {
			latest_attr(t, &s, ret);
			return 0;
		}
		return snapshot_root_attr(c, &s, ret);
	case FS_INO_KIND_LATEST:
		return -ENOTDIR;
	case FS_INO_KIND_CONTENT:
		r = catalog_lookup(c, dir, name, len, ret);
		if (r != -ENOENT)
			return r;
		r = load_if_missing(t, c, dir);
		if (r <= 0)
			return r < 0 ? r : -ENOENT;
		return catalog_lookup(c, dir, name, len, ret);
	case FS_INO_KIND_NONE:
		break;
	}
	return -ENOENT;
}

/* --- listings --- */

/* Hands entries to the caller's fn, numbering them for synthetic
 * directories: entry i resumes at i + 1, and entries before the offset
 * asked for are counted but not produced. */
struct emitter {
	struct fs_tree *tree;
	struct catalog *catalog;
	fs_tree_dirent_fn fn;
	void *userdata;
	bool with_attr;
	uint64_t skip;	/* entries before this index are not produced */
	uint64_t index; /* of the next entry */
};

/* True when the next entry is to be produced; otherwise counts it. */
static bool emit_wanted(struct emitter *e)
{
	if (e->index >= e->skip)
		return true;
	e->index++;
	return false;
}

static int emit(struct emitter *e, const char *name, const struct cat_attr *attr)
{
	return e->fn(e->userdata, ++e->index, name, attr);
}

static int emit_dot(struct emitter *e, const char *name, uint64_t ino)
{
	struct cat_attr attr = { .ino = ino, .mode = S_IFDIR };

	if (!emit_wanted(e))
		return 0;
	return emit(e, name, &attr);
}

static int emit_member(void *userdata, int64_t id, const char *name)
{
	struct emitter *e = userdata;
	struct cat_attr attr = { .mode = S_IFDIR };
	int r;

	if (!id_fits(id) || !emit_wanted(e))
		return 0;
	attr.ino = fs_member_ino(id);
	if (e->with_attr) {
		r = member_attr(e->tree, e->catalog, id, name, &attr);
		if (r < 0)
			return r;
	}
	return emit(e, name, &attr);
}

static int emit_snapshot(void *userdata, const struct cat_snapshot *s)
{
	struct emitter *e = userdata;
	struct cat_attr attr = { .ino = s->ino_base, .mode = S_IFDIR };
	int r;

	if (!emit_wanted(e))
		return 0;
	if (e->with_attr) {
		r = snapshot_root_attr(e->catalog, s, &attr);
		if (r < 0)
			return r;
	}
	return emit(e, s->name, &attr);
}

static int list_member(struct emitter *e, uint64_t dir, int64_t id)
{
	char member[MEMBER_NAME_MAX + 1];
	struct cat_snapshot latest;
	struct cat_attr attr;
	int r;

	r = catalog_member_name(e->catalog, id, member);
	if (r < 0)
		return r;
	r = catalog_find_snapshot(e->catalog, member, "latest", &latest);
	if (r < 0)
		return r;
	if (!id_fits(latest.id))
		return -EOVERFLOW;
	r = emit_dot(e, ".", dir);
	if (r == 0)
		r = emit_dot(e, "..", FS_INO_SNAPSHOTS);
	if (r == 0 && emit_wanted(e)) {
		latest_attr(e->tree, &latest, &attr);
		r = emit(e, "latest", &attr);
	}
	if (r == 0)
		r = catalog_list_snapshots(e->catalog, member, emit_snapshot, e);
	return r;
}

struct content_listing {
	fs_tree_dirent_fn fn;
	void *userdata;
};

static int emit_content(void *userdata, int64_t cookie, const uint8_t *name, size_t len,
			const struct cat_attr *attr)
{
	struct content_listing *l = userdata;
	char cname[NAME_LEN_MAX + 1];

	if (cookie < 1 || cookie > INT64_MAX - 2 || len == 0 || len > NAME_LEN_MAX ||
	    memchr(name, '\0', len))
		return log_error_errno(-EBADMSG, "catalog: bad entry in directory inode %" PRIu64,
				       attr->ino);
	memcpy(cname, name, len);
	cname[len] = '\0';
	return l->fn(l->userdata, (uint64_t)cookie + 2, cname, attr);
}

static int list_content(struct emitter *e, uint64_t dir, uint64_t off)
{
	struct content_listing l = { e->fn, e->userdata };
	struct cat_attr attr;
	int r;

	/* A directory whose inode is in the catalog has its tree loaded. */
	r = catalog_getattr(e->catalog, dir, &attr);
	if (r == -ENOENT) {
		r = load_if_missing(e->tree, e->catalog, dir);
		if (r > 0)
			r = catalog_getattr(e->catalog, dir, &attr);
		else if (r == 0)
			r = -ENOENT;
	}
	if (r < 0)
		return r;
	if (!S_ISDIR(attr.mode))
		return -ENOTDIR;
	if (off < 2) {
		struct cat_snapshot s;
		uint64_t parent = dir;

		/* The catalog keeps no parent links; a root's parent is its member. */
		r = catalog_snapshot_of_ino(e->catalog, dir, &s);
		if (r < 0)
			return r;
		if (dir == s.ino_base && id_fits(s.member_id))
			parent = fs_member_ino(s.member_id);
		r = emit_dot(e, ".", dir);
		if (r == 0)
			r = emit_dot(e, "..", parent);
		if (r != 0)
			return r;
		off = 2;
	}
	return catalog_readdir(e->catalog, dir, (int64_t)(off - 2), e->with_attr, emit_content, &l);
}

int fs_tree_readdir(struct fs_tree *t, struct catalog *c, uint64_t dir, uint64_t off,
		    bool with_attr, fs_tree_dirent_fn fn, void *userdata)
{
	struct emitter e = { t, c, fn, userdata, with_attr, off, 0 };
	struct cat_attr attr;
	int64_t id = 0;
	int r;

	switch (fs_ino_kind(dir, &id)) {
	case FS_INO_KIND_ROOT:
		r = emit_dot(&e, ".", FS_INO_ROOT);
		if (r == 0)
			r = emit_dot(&e, "..", FS_INO_ROOT);
		if (r == 0 && emit_wanted(&e)) {
			r = snapshots_dir_attr(t, c, &attr);
			if (r == 0)
				r = emit(&e, "snapshots", &attr);
		}
		break;
	case FS_INO_KIND_SNAPSHOTS:
		r = emit_dot(&e, ".", FS_INO_SNAPSHOTS);
		if (r == 0)
			r = emit_dot(&e, "..", FS_INO_ROOT);
		if (r == 0)
			r = catalog_list_members(c, emit_member, &e);
		break;
	case FS_INO_KIND_MEMBER:
		r = list_member(&e, dir, id);
		break;
	case FS_INO_KIND_CONTENT:
		r = list_content(&e, dir, off);
		break;
	case FS_INO_KIND_LATEST:
		return -ENOTDIR;
	default:
		return -ENOENT;
	}
	return r < 0 ? r : 0;
}

/* --- links, xattrs, holes, totals --- */

int fs_tree_readlink(struct fs_tree *t, struct catalog *c, uint64_t ino, struct buf *out)
{
	struct cat_snapshot s;
	int64_t id = 0;
	int r;

	switch (fs_ino_kind(ino, &id)) {
	case FS_INO_KIND_LATEST:
		r = catalog_snapshot_by_id(c, id, &s);
		if (r < 0)
			return r;
		buf_append(out, s.name, strlen(s.name));
		return 0;
	case FS_INO_KIND_CONTENT:
		r = catalog_readlink(c, ino, out);
		if (r != -ENOENT)
			return r;
		r = load_if_missing(t, c, ino);
		if (r <= 0)
			return r < 0 ? r : -ENOENT;
		return catalog_readlink(c, ino, out);
	case FS_INO_KIND_NONE:
		return -ENOENT;
	default:
		return -EINVAL;
	}
}

int fs_tree_listxattr(struct fs_tree *t, struct catalog *c, uint64_t ino, struct buf *out)
{
	size_t start = out->len;
	int r;

	if (fs_ino_kind(ino, NULL) != FS_INO_KIND_CONTENT)
		return 0;
	r = catalog_listxattr(c, ino, out);
	if (r < 0 || out->len > start)
		return r;
	r = load_if_missing(t, c, ino);
	if (r <= 0)
		return r;
	return catalog_listxattr(c, ino, out);
}

/* Names a tool asks of every file whether or not the file system has any:
 * security labels. ACL names are not among them: the kernel enforces ACLs
 * (FUSE_CAP_POSIX_ACL), asks for system.posix_acl_access in its permission
 * check and caches the answer per inode; "not supported" there would fail
 * the access itself (with EOPNOTSUPP) instead of meaning "no ACL". */
static bool is_probed_name(const char *name)
{
	return strncmp(name, "security.", 9) == 0;
}

int fs_tree_getxattr(struct fs_tree *t, struct catalog *c, uint64_t ino, const char *name,
		     struct buf *out)
{
	struct cat_snapshot s;
	int r;

	if (fs_ino_kind(ino, NULL) != FS_INO_KIND_CONTENT)
		return -ENODATA;
	r = catalog_getxattr(c, ino, name, out);
	if (r != -ENODATA)
		return r;
	r = load_if_missing(t, c, ino);
	if (r < 0)
		return r;
	if (r > 0) {
		r = catalog_getxattr(c, ino, name, out);
		if (r != -ENODATA)
			return r;
	}
	if (!is_probed_name(name))
		return -ENODATA;
	/* A snapshot with no ACLs (labels) at all answers like a file system
	 * without them, and GNU ls stops asking for the rest of the mount:
	 * one round trip to the daemon per listing instead of two per entry. */
	r = catalog_snapshot_of_ino(c, ino, &s);
	if (r < 0)
		return r == -ENOENT ? -ENODATA : r;
	r = catalog_has_xattr_named(c, name, s.ino_base, s.ino_base + s.n_inodes);
	if (r < 0)
		return r;
	return r ? -ENODATA : -EOPNOTSUPP;
}

int fs_tree_seek(struct fs_tree *t, struct catalog *c, uint64_t ino, uint64_t off, int whence,
		 uint64_t *ret)
{
	int r;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if (fs_ino_kind(ino, NULL) != FS_INO_KIND_CONTENT)
		return -ENXIO;
	r = catalog_seek(c, ino, off, whence, ret);
	if (r != -ENOENT)
		return r;
	r = load_if_missing(t, c, ino);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	return catalog_seek(c, ino, off, whence, ret);
}

struct totals {
	uint64_t bytes, inodes;
};

static int add_totals(void *userdata, const struct cat_snapshot *s)
{
	struct totals *tot = userdata;
	tot->bytes += s->n_bytes;
	tot->inodes += s->n_inodes;
	return 0;
}

int fs_tree_statfs(struct fs_tree *t UNUSED, struct catalog *c, struct statvfs *ret)
{
	struct totals tot = { 0, 0 };
	uint64_t n_members = 0;
	int r;

	r = catalog_list_snapshots(c, NULL, add_totals, &tot);
	if (r == 0)
		r = catalog_list_members(c, count_member, &n_members);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	ret->f_bsize = FS_STATFS_BLOCK;
	ret->f_frsize = FS_STATFS_BLOCK;
	ret->f_blocks = (tot.bytes + FS_STATFS_BLOCK - 1) / FS_STATFS_BLOCK;
	/* /, /snapshots, and per member its directory and `latest` */
	ret->f_files = tot.inodes + 2 + 2 * n_members;
	ret->f_namemax = NAME_LEN_MAX;
	ret->f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	return 0;
}
