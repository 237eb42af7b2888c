/*
 * ingest-tar.c - a snapshot from a tar stream, as `tar -x` would leave it.
 *
 * libarchive parses the stream (every tar dialect: ustar, pax, GNU with
 * long names and sparse entries, Solaris and SCHILY xattrs; any compression
 * it can take off); this module only decides what each entry means. Entries
 * arrive in stream order and are applied in it:
 *
 *   - the path is checked (format/tar-names.c): absolute paths, ".."
 *     components and paths through an earlier symlink or non-directory
 *     entry are refused, or with strip_unsafe dropped, each by name;
 *   - a file's data goes through a backup_stream, block by block as
 *     libarchive hands it over with its offset, so a sparse entry's holes
 *     stay holes and nothing is ever buffered beyond a few chunks;
 *   - every entry becomes a staged inode; a hardlink entry names the
 *     staged inode of its target; a later entry of the same name replaces
 *     the earlier one (a directory over a directory only updates it).
 *
 * Only at the end of the stream is the tree built, from what is still
 * reachable: replaced entries and what hung below them are left out, with
 * their extents and xattrs, so the tree holds exactly the final namespace.
 * Chunks of replaced files stay stored (they are in packs already) and are
 * reclaimed by prune like any unreferenced chunk.
 *
 * Owners are kept as the numbers in the archive, never mapped through the
 * names (uname/gname) to this host's users: a pod's /etc/passwd is not the
 * backup host's. `tar -x --numeric-owner` makes the same tree.
 */
#include "ops/ingest.h"
#include "ops/backup-internal.h"
#include "format/tar-names.h"
#include "base/log.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define TAR_BLOCK_SIZE (1u << 20)

struct ingest_tar {
	struct backup *b;
	const struct tar_options *o;
	struct archive *a;
	struct tar_names names;
	struct tree_inode *staged; /* by staged number; 0 is the root */
	uint32_t n_staged, cap_staged;
	struct backup_stream stream;
	uint64_t n_entries, n_dropped;
	struct backup_result result;
};

static uint32_t stage(struct ingest_tar *it, const struct tree_inode *ino)
{
	if (it->n_staged == it->cap_staged) {
		it->cap_staged = it->cap_staged ? it->cap_staged * 2 : 256;
		it->staged = xrealloc(it->staged, (size_t)it->cap_staged * sizeof(*it->staged));
	}
	it->staged[it->n_staged] = *ino;
	return it->n_staged++;
}

/* The directory a path implies: 0755, the running user, the snapshot time. */
static struct tree_inode implicit_dir(const struct ingest_tar *it)
{
	const struct backup_options *o = backup_options(it->b);
	return (struct tree_inode){
		.type = NODE_DIR,
		.perm = 0755,
		.uid = getuid(),
		.gid = getgid(),
		.mtime_sec = o->time_sec,
		.mtime_nsec = o->time_nsec,
	};
}

static int archive_fail(struct ingest_tar *it, const char *path)
{
	const char *why = archive_error_string(it->a);
	if (path)
		log_error("cannot read tar stream '%s' at entry '%s': %s", it->o->name, path,
			  why ? why : "unknown error");
	else
		log_error("cannot read tar stream '%s': %s", it->o->name,
			  why ? why : "unknown error");
	return -EPROTO;
}

/* Refuses or (with strip_unsafe) drops an entry. Returns 1 when dropped. */
static int unsafe(struct ingest_tar *it, const char *path, const char *what, const char *why,
		  size_t bad_len, const char *bad)
{
	AUTOBUF struct buf msg = BUF_INIT;

	buf_append_escaped(&msg, path, strlen(path));
	buf_printf(&msg, "'");
	if (what)
		buf_printf(&msg, " (%s)", what);
	buf_printf(&msg, ": it %s", why);
	if (bad_len > 0) {
		buf_printf(&msg, " ('");
		buf_append_escaped(&msg, bad, bad_len);
		buf_printf(&msg, "')");
	}
	buf_append_u8(&msg, 0);
	if (it->o->strip_unsafe) {
		log_warning("tar stream '%s': dropping entry '%s", it->o->name, (char *)msg.ptr);
		it->n_dropped++;
		return 1;
	}
	log_error("tar stream '%s': refusing entry '%s", it->o->name, (char *)msg.ptr);
	log_error("hint: nothing was backed up; pass --strip-unsafe to leave such entries out "
		  "instead");
	return -EPERM;
}

static int read_xattrs(struct ingest_tar *it, struct archive_entry *e, struct tree_inode *ino,
		       const char *path)
{
	struct tree *t = backup_tree(it->b);
	const char *name;
	const void *value;
	size_t len;

	ino->first_xattr = t->n_xattrs;
	ino->n_xattrs = 0;
	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	while (archive_entry_xattr_next(e, &name, &value, &len) == ARCHIVE_OK) {
		size_t nlen = name ? strlen(name) : 0;
		if (nlen == 0 || nlen > XATTR_NAME_LEN_MAX || len > XATTR_VALUE_LEN_MAX) {
			log_warning("tar stream '%s': entry '%s' has an xattr '%s' too large to "
				    "keep; it is left out",
				    it->o->name, path, name ? name : "");
			continue;
		}
		/* one name twice (SCHILY and LIBARCHIVE forms): keep the last */
		bool dup = false;
		for (uint32_t i = 0; i < ino->n_xattrs && !dup; i++) {
			struct tree_xattr *x = &t->xattrs[ino->first_xattr + i];
			if (x->name.len == nlen &&
			    memcmp(tree_str_ptr(t, x->name), name, nlen) == 0) {
				x->value = tree_add_str(t, value, len);
				dup = true;
			}
		}
		if (!dup) {
			tree_add_xattr(t, name, nlen, value ? value : "", len);
			ino->n_xattrs++;
		}
	}
	return 0;
}

static int read_file_data(struct ingest_tar *it, struct tree_inode *ino, const char *path)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	ino->first_extent = backup_stream_begin(&it->stream);
	for (;;) {
		int ar = archive_read_data_block(it->a, &buf, &len, &off);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN)
			return archive_fail(it, path);
		if (off < 0 || (uint64_t)off > ino->size || len > ino->size - (uint64_t)off)
			return log_error_errno(-EPROTO,
					       "tar stream '%s': entry '%s' has data outside its "
					       "size",
					       it->o->name, path);
		if (len == 0)
			continue;
		r = backup_stream_write(&it->stream, (uint64_t)off, buf, len);
		if (r == -EPROTO)
			return log_error_errno(r,
					       "tar stream '%s': entry '%s' has data out of order",
					       it->o->name, path);
		if (r < 0)
			return r;
	}
	return backup_stream_end(&it->stream, &ino->n_extents);
}

/* Fills ino from the entry's header: type, mode, owner, time, device. */
static int entry_inode(struct ingest_tar *it, struct archive_entry *e, const char *path,
		       struct tree_inode *ino)
{
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	long nsec = archive_entry_mtime_nsec(e);

	memset(ino, 0, sizeof(*ino));
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		ino->type = NODE_DIR;
		break;
	case AE_IFREG:
		ino->type = NODE_FILE;
		break;
	case AE_IFLNK:
		ino->type = NODE_SYMLINK;
		break;
	case AE_IFCHR:
		ino->type = NODE_CHR;
		break;
	case AE_IFBLK:
		ino->type = NODE_BLK;
		break;
	case AE_IFIFO:
		ino->type = NODE_FIFO;
		break;
	case AE_IFSOCK:
		ino->type = NODE_SOCK;
		break;
	default:
		return log_error_errno(-EPROTO,
				       "tar stream '%s': entry '%s' is of a type cairn does not "
				       "know (mode %o)",
				       it->o->name, path, (unsigned)archive_entry_filetype(e));
	}
	if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
		return log_error_errno(-EPROTO,
				       "tar stream '%s': entry '%s' has an owner out of range",
				       it->o->name, path);
	ino->perm = archive_entry_perm(e) & 07777;
	ino->uid = (uint32_t)uid;
	ino->gid = (uint32_t)gid;
	ino->mtime_sec = archive_entry_mtime(e);
	ino->mtime_nsec = nsec >= 0 && nsec < 1000000000 ? (uint32_t)nsec : 0;
	if (ino->type == NODE_CHR || ino->type == NODE_BLK)
		ino->rdev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
	if (ino->type == NODE_FILE) {
		la_int64_t size = archive_entry_size(e);
		if (size < 0)
			return log_error_errno(-EPROTO,
					       "tar stream '%s': entry '%s' has a negative size",
					       it->o->name, path);
		ino->size = (uint64_t)size;
	}
	if (ino->type == NODE_SYMLINK) {
		const char *target = archive_entry_symlink(e);
		size_t tlen = target ? strlen(target) : 0;
		if (tlen == 0 || tlen > TARGET_LEN_MAX)
			return log_error_errno(-EPROTO,
					       "tar stream '%s': symlink '%s' has an empty or "
					       "overlong target",
					       it->o->name, path);
		ino->target = tree_add_str(backup_tree(it->b), target, tlen);
		ino->size = tlen;
	}
	return 0;
}

static enum tar_node_kind node_kind(enum node_type t)
{
	return t == NODE_DIR ? TAR_NODE_DIR : t == NODE_SYMLINK ? TAR_NODE_SYMLINK : TAR_NODE_OTHER;
}

/* A hardlink entry: name gets the staged inode of the target. */
static int add_hardlink(struct ingest_tar *it, const char *path, const char *target,
			uint32_t parent, const char *name, size_t name_len)
{
	uint32_t tparent = 0;
	const char *tname;
	size_t tname_len, bad = 0;
	bool kept;

	enum tar_path_verdict v = tar_names_resolve(&it->names, target, strlen(target), false,
						    &tparent, &tname, &tname_len, &bad);
	uint32_t node = UINT32_MAX;
	if (v == TAR_PATH_OK && tname_len > 0)
		node = tar_names_child(&it->names, tparent, tname, tname_len);
	if (v == TAR_PATH_OK && node == UINT32_MAX)
		v = TAR_PATH_NOT_FOUND;
	if (v == TAR_PATH_OK && it->names.nodes[node].kind == TAR_NODE_DIR)
		v = TAR_PATH_NOT_DIR;
	if (v != TAR_PATH_OK) {
		AUTOFREE char *what = xasprintf("a hardlink to '%s'", target);
		const char *why = v == TAR_PATH_NOT_DIR && bad == 0 ? "links to a directory"
								    : tar_path_verdict_str(v);
		AUTOFREE char *full = xasprintf("has a target that %s", why);
		int r = unsafe(it, path, what,
			       v == TAR_PATH_NOT_FOUND ? "links to no earlier entry" : full, bad,
			       target);
		return r;
	}
	const struct tar_node *tn = &it->names.nodes[node];
	tar_names_enter(&it->names, parent, name, name_len, tn->kind, tn->value, &kept);
	return 0;
}

static int add_entry(struct ingest_tar *it, struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e);
	const char *hardlink = archive_entry_hardlink(e);
	const char *name;
	size_t name_len, bad = 0;
	uint32_t parent = 0;
	struct tree_inode ino;
	bool kept;
	int r;

	if (!path)
		path = archive_entry_pathname_utf8(e);
	if (!path || !*path)
		return log_error_errno(-EPROTO, "tar stream '%s': an entry has no name",
				       it->o->name);
	it->n_entries++;
	enum tar_path_verdict v = tar_names_resolve(&it->names, path, strlen(path), true, &parent,
						    &name, &name_len, &bad);
	if (v != TAR_PATH_OK)
		return unsafe(it, path, NULL, tar_path_verdict_str(v), bad, path);
	if (name_len == 0 && (hardlink || archive_entry_filetype(e) != AE_IFDIR))
		return unsafe(it, path, NULL, "names the root of the archive but is no directory",
			      0, NULL);
	if (hardlink)
		return add_hardlink(it, path, hardlink, parent, name, name_len);

	r = entry_inode(it, e, path, &ino);
	if (r < 0)
		return r;
	r = read_xattrs(it, e, &ino, path);
	if (r < 0)
		return r;
	if (ino.type == NODE_FILE) {
		r = read_file_data(it, &ino, path);
		if (r < 0)
			return r;
	}
	if (name_len == 0) {
		it->staged[0] = ino; /* "." */
		return 0;
	}
	uint32_t idx = stage(it, &ino);
	uint32_t node = tar_names_enter(&it->names, parent, name, name_len, node_kind(ino.type),
					idx, &kept);
	if (kept) {
		struct tar_node *n = &it->names.nodes[node];
		if (n->value == TAR_NODE_IMPLICIT)
			n->value = idx;
		else
			it->staged[n->value] = ino;
	}
	return 0;
}

/* Moves the extents and xattrs of the inodes that stay into arrays of
 * their own, in inode order: those of replaced entries must not remain. */
static void compact(struct tree *t)
{
	uint64_t n_ext = 0;
	uint32_t n_xa = 0;

	for (uint32_t i = 0; i < t->n_inodes; i++) {
		n_ext += t->inodes[i].n_extents;
		n_xa += t->inodes[i].n_xattrs;
	}
	struct tree_extent *ext = xmalloc(MAX(n_ext, 1) * sizeof(*ext));
	struct tree_xattr *xa = xmalloc(MAX(n_xa, 1) * sizeof(*xa));
	uint64_t e = 0;
	uint32_t x = 0;
	for (uint32_t i = 0; i < t->n_inodes; i++) {
		struct tree_inode *ino = &t->inodes[i];
		/* (the arrays are NULL while empty) */
		if (ino->n_extents > 0)
			memcpy(ext + e, t->extents + ino->first_extent,
			       ino->n_extents * sizeof(*ext));
		if (ino->n_xattrs > 0)
			memcpy(xa + x, t->xattrs + ino->first_xattr, ino->n_xattrs * sizeof(*xa));
		ino->first_extent = (uint32_t)e;
		ino->first_xattr = x;
		e += ino->n_extents;
		x += ino->n_xattrs;
	}
	free(t->extents);
	free(t->xattrs);
	t->extents = ext;
	t->cap_extents = MAX(n_ext, 1);
	t->n_extents = n_ext;
	t->xattrs = xa;
	t->cap_xattrs = MAX(n_xa, 1);
	t->n_xattrs = n_xa;
}

/* The tree of what the whole stream leaves: reachable names only. */
static void build_tree(struct ingest_tar *it)
{
	struct tar_names *nm = &it->names;
	struct tree *t = backup_tree(it->b);
	struct backup_stats *st = backup_stats(it->b);
	AUTOFREE bool *reach = xcalloc(nm->n_nodes, sizeof(bool));
	AUTOFREE uint32_t *final = NULL;

	for (uint32_t i = 1; i < nm->n_nodes; i++) {
		if (nm->nodes[i].value == TAR_NODE_IMPLICIT) {
			struct tree_inode d = implicit_dir(it);
			d.first_xattr = t->n_xattrs;
			d.first_extent = (uint32_t)t->n_extents;
			nm->nodes[i].value = stage(it, &d);
		}
	}
	tar_names_reachable(nm, reach);
	final = xmalloc((size_t)it->n_staged * sizeof(uint32_t));
	for (uint32_t i = 0; i < it->n_staged; i++)
		final[i] = UINT32_MAX;
	final[0] = tree_add_inode(t, &it->staged[0]);
	for (uint32_t i = 1; i < nm->n_nodes; i++) {
		uint32_t v = nm->nodes[i].value;
		if (!reach[i] || final[v] != UINT32_MAX)
			continue;
		final[v] = tree_add_inode(t, &it->staged[v]);
	}
	for (uint32_t i = 1; i < nm->n_nodes; i++) {
		const struct tar_node *n = &nm->nodes[i];
		if (!reach[i])
			continue;
		tree_add_dirent(t, final[nm->nodes[n->parent].value], final[n->value],
				nm->arena.ptr + n->name_off, n->name_len);
	}
	compact(t);
	for (uint32_t i = 0; i < t->n_inodes; i++) {
		const struct tree_inode *ino = &t->inodes[i];
		if (ino->type == NODE_DIR) {
			st->n_dirs++;
		} else if (ino->type == NODE_FILE) {
			st->n_files++;
			st->n_bytes += ino->size;
		} else {
			st->n_other++;
		}
	}
}

static int tar_fill(struct backup *b, void *userdata)
{
	struct ingest_tar *it = userdata;
	struct archive_entry *e;
	int r = 0;

	it->b = b;
	struct tree_inode root = implicit_dir(it);
	stage(it, &root);
	tar_names_init(&it->names, 0);
	backup_stream_init(&it->stream, b);
	for (;;) {
		int ar = archive_read_next_header(it->a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar == ARCHIVE_WARN) {
			/* A name that is not UTF-8 in a pax header is kept as its
			 * bytes, as `tar -x` keeps it: worth no warning. */
			const char *why = archive_error_string(it->a);
			if (why && strstr(why, "can't be converted"))
				log_debug("tar stream '%s': %s", it->o->name, why);
			else
				log_warning("tar stream '%s': %s", it->o->name,
					    why ? why : "a warning");
		} else if (ar != ARCHIVE_OK) {
			r = archive_fail(it, NULL);
			break;
		}
		r = add_entry(it, e);
		if (r < 0)
			break;
		r = 0;
	}
	if (r == 0 && it->n_entries == 0) {
		log_error("tar stream '%s' holds no entries: an empty archive is no backup",
			  it->o->name);
		r = -EPROTO;
	}
	if (r == 0 && it->n_entries == it->n_dropped)
		r = log_error_errno(-EPROTO,
				    "tar stream '%s': every entry was dropped as unsafe; nothing "
				    "to back up",
				    it->o->name);
	if (r == 0)
		build_tree(it);
	backup_stream_release(&it->stream);
	tar_names_release(&it->names);
	return r;
}

static int tar_read(struct repo *r, struct catalog *c, struct backup_options *bo,
		    struct ingest_tar *it)
{
	const struct tar_options *o = it->o;
	int rc;

	archive_read_support_filter_all(it->a);
	archive_read_support_format_tar(it->a);
	archive_read_support_format_gnutar(it->a);
	archive_read_support_format_empty(it->a);
	if (archive_read_open_fd(it->a, o->fd, TAR_BLOCK_SIZE) != ARCHIVE_OK) {
		rc = archive_fail(it, NULL);
		archive_read_free(it->a);
		return rc;
	}
	bo->paths = NULL;
	bo->n_paths = 0;
	bo->fill = tar_fill;
	bo->fill_data = it;
	rc = backup_run(r, c, bo, &it->result);
	if (rc == 0 && it->n_dropped > 0)
		log_warning("tar stream '%s': %" PRIu64 " unsafe entries were left out", o->name,
			    it->n_dropped);
	archive_read_free(it->a);
	free(it->staged);
	return rc;
}

int backup_tar(struct repo *r, struct catalog *c, const struct backup_options *opts,
	       const struct tar_options *o, struct backup_result *ret)
{
	struct ingest_tar it = { .o = o };
	struct backup_options bo = *opts;
	int rc;

	/* pax names are UTF-8; libarchive turns them into the locale's
	 * charset, and in the C locale fails on every non-ASCII name. Under
	 * C.UTF-8, for this thread only, names come out as the bytes `tar -x`
	 * writes, and names that are not UTF-8 at all (ustar, GNU, pax with
	 * hdrcharset=BINARY) pass through unchanged either way. */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t saved = utf8 ? uselocale(utf8) : (locale_t)0;
	it.a = archive_read_new();
	if (!it.a)
		rc = -ENOMEM;
	else
		rc = tar_read(r, c, &bo, &it);
	if (utf8) {
		uselocale(saved);
		freelocale(utf8);
	}
	if (rc == 0)
		*ret = it.result;
	return rc;
}
