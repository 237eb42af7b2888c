/*
 * rehearse.c - restore rehearsals: practise the restore, and prove it.
 *
 * A rehearsal is restore_run() followed by diff_live() of the snapshot
 * against what the restore wrote, with file contents compared: the restored
 * tree is read back from disk and each piece of each file hashed against
 * the chunk hash the snapshot records, and every entry's metadata compared
 * with the snapshot's. So a clean rehearsal says that the repository's data
 * decodes to what the backup read (restore checks each chunk's hash as it
 * fetches it), that it reaches the disk intact, and that what the restore
 * produced is what the snapshot describes. Nothing here restores or
 * compares by itself: restore.c and diff.c do, and their rules hold (a
 * restored PATH is laid out as `cairn restore SNAP PATH --target` lays it
 * out, which is what diff_options.live_is_subtree reads).
 *
 * The scratch directory is made with mkdtemp() in $TMPDIR or /var/tmp, or
 * is the caller's target (absent or empty); either way the restored tree is
 * removed at the end unless asked to keep it (a target that existed stays,
 * emptied).
 *
 * Differences that an unprivileged restore cannot avoid and reports itself
 * (owners, xattrs outside user.*, device nodes) are counted as excused, not
 * as problems: a rehearsal as a normal user checks everything else.
 *
 * With `against`, nothing is restored: the live directory is compared with
 * the snapshot in the same way, which answers "is this replica what its
 * backup holds".
 */
#include "ops/rehearse.h"
#include "ops/walk.h"
#include "base/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

struct filter {
	const struct rehearse_options *o;
	const struct restore_stats *rs; /* NULL with against */
	struct rehearse_result *res;
};

/* Passes on a difference unless the restore already explained it. */
static int filter_difference(void *userdata, const struct diff_entry *e)
{
	struct filter *f = userdata;
	struct diff_entry copy = *e;

	if (f->rs && e->kind == DIFF_CHANGED) {
		if (f->rs->n_not_owned > 0)
			copy.changes &= ~(unsigned)DIFF_OWNER;
		if (f->rs->n_xattr_lost > 0)
			copy.changes &= ~(unsigned)DIFF_XATTRS;
		if (copy.changes == 0) {
			f->res->n_excused++;
			return 0;
		}
	}
	if (f->rs && e->kind == DIFF_REMOVED && f->rs->n_skipped > 0 &&
	    (S_ISCHR(e->old->mode) || S_ISBLK(e->old->mode))) {
		f->res->n_excused++;
		return 0;
	}
	f->res->n_differences++;
	return f->o->report ? f->o->report(f->o->report_data, &copy) : 0;
}

/* Removes what dir holds, and dir itself unless keep_dir. */
static int remove_restored(const char *dir, bool keep_dir)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (!keep_dir)
		return restore_remove(dir);
	(void)chmod(dir, 0700); /* a restored root may forbid writing into it */
	d = opendir(dir);
	if (!d)
		return -errno;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		AUTOFREE char *p = xasprintf("%s/%s", dir, de->d_name);
		r = restore_remove(p);
	}
	if (r == 0 && errno != 0)
		r = -errno;
	closedir(d);
	return r;
}

/* The directory to restore into: the target, or a fresh scratch
 * directory. *ret_existed says whether it was there before. */
static int make_scratch(const struct rehearse_options *o, char **ret, bool *ret_existed)
{
	struct stat st;

	if (o->target) {
		*ret_existed = stat(o->target, &st) == 0;
		if (*ret_existed) {
			DIR *d = opendir(o->target);
			struct dirent *de;
			bool empty = true;
			if (!d)
				return log_error_errno(-errno, "cannot rehearse into '%s'",
						       o->target);
			while (empty && (de = readdir(d)))
				empty = strcmp(de->d_name, ".") == 0 ||
					strcmp(de->d_name, "..") == 0;
			closedir(d);
			if (!empty) {
				log_error("cannot rehearse into '%s': it is not empty", o->target);
				log_error(
					"hint: name an empty or new directory; the rehearsal removes "
					"what it restores");
				return -ENOTEMPTY;
			}
		}
		*ret = xstrdup(o->target);
		return 0;
	}
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = REHEARSE_SCRATCH_DEFAULT;
	char *dir = xasprintf("%s/cairn-rehearse.XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		int r = -errno;
		free(dir);
		log_error_errno(r, "cannot make a scratch directory in '%s'", tmp);
		log_error("hint: set TMPDIR to a directory with room for the restore, or pass "
			  "--target DIR");
		return r;
	}
	*ret_existed = false;
	*ret = dir;
	return 0;
}

static int compare(struct repo *repo, struct catalog *c, struct cat_snapshot *s, const char *dir,
		   const struct rehearse_options *o, struct filter *f)
{
	struct diff_options d = {
		.keys = repo_keys(repo), /* chunk ids are keyed in an encrypted repository */
		.path = o->path && *o->path ? o->path : NULL,
		.content = true,
		.live_is_subtree = true,
		.fn = filter_difference,
		.userdata = f,
	};
	int r = diff_live(c, s, dir, &d, &f->res->diff);
	return r < 0 ? r : 0;
}

int rehearse_run(struct repo *r, struct catalog *c, struct cat_snapshot *s,
		 const struct rehearse_options *o, struct rehearse_result *ret)
{
	struct rehearse_result res = { 0 };
	struct filter f = { .o = o, .res = &res };
	AUTOFREE char *dir = NULL;
	struct cat_attr root;
	uint64_t start = now_ns();
	bool existed = false;
	int e;

	/* Loads the tree, and names a path that is not there before anything
	 * is made. */
	e = walk_resolve(r, c, s, o->path ? o->path : "", &root, NULL);
	if (e < 0)
		return e;

	if (o->against) {
		e = compare(r, c, s, o->against, o, &f);
	} else {
		e = make_scratch(o, &dir, &existed);
		if (e < 0)
			return e;
		struct restore_options ro = {
			.target = dir,
			.n_workers = o->n_workers,
			.cache_size = o->cache_size,
			.progress = o->progress,
			.progress_data = o->progress_data,
		};
		log_info("restoring %s/%s%s%s into '%s'", s->member, s->name,
			 o->path && *o->path ? ":" : "", o->path ? o->path : "", dir);
		e = restore_run(r, c, s, o->path ? o->path : "", &ro, &res.restore);
		res.n_damaged = res.restore.n_errors;
		if (e == 0 || e == -EIO) {
			f.rs = &res.restore;
			e = compare(r, c, s, dir, o, &f);
		}
		if (o->keep) {
			log_info("the restored tree is kept in '%s'", dir);
		} else {
			int rm = remove_restored(dir, existed);
			if (rm < 0)
				log_error_errno(rm, "cannot remove the restored tree in '%s'", dir);
		}
	}
	res.n_bytes = res.diff.n_hashed_bytes;
	res.n_files = o->against ? res.diff.n_compared : res.restore.n_files;
	res.duration_ns = now_ns() - start;
	*ret = res;
	if (e < 0)
		return e;
	uint64_t n = res.n_differences + res.n_damaged + res.diff.n_errors;
	return n > INT32_MAX ? INT32_MAX : (int)n;
}
