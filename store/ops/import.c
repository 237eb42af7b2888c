/*
 * import.c - a history of tar archives as snapshots (import.h).
 *
 * The archives are listed first (for a layout, DIR/<member>/<file> where
 * <member> is a valid member name and <file> ends in .tar, .tar.gz, .tgz,
 * .tar.zst, .tar.xz, .txz, .tar.bz2 or .tbz2; anything else is passed over
 * with a note), each given its time, then sorted by time, member and name
 * and imported one by one with backup_tar(), so the snapshots of a member
 * come in the order the archives were made.
 *
 * What was imported is recorded in the snapshot itself, as a tag naming the
 * archive's file name and size: the catalog lists every snapshot's tags, so
 * the check costs no reads of the repository, and a repository cloned
 * elsewhere still knows what it holds. The name and size, not the mtime,
 * identify an archive: copying a folder of backups (cp, rsync without -t)
 * changes every mtime, and must not import them all again. Hashing the
 * content would be sturdier still, but costs a full read of every archive
 * on every run.
 */
#include "ops/import.h"
#include "ops/ingest.h"
#include "base/log.h"
#include "base/name-time.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

static const char *const archive_exts[] = {
	".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.zstd", ".tar.xz", ".txz", ".tar.bz2", ".tbz2",
};

struct candidate {
	char *path;
	char *member;
	const char *base; /* in path */
	int64_t time;
	uint64_t size;
	bool time_from_name;
};

struct import {
	struct repo *repo;
	struct catalog *cat;
	const struct import_options *opts;
	struct candidate *c;
	size_t n, cap;
	struct import_result res;
};

/* Length of name without its archive extension, or 0 if it has none. */
static size_t stem_len(const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < ARRAY_SIZE(archive_exts); i++) {
		size_t el = strlen(archive_exts[i]);
		if (len > el && strcasecmp(name + len - el, archive_exts[i]) == 0)
			return len - el;
	}
	return 0;
}

static int add_candidate(struct import *im, const char *path, const char *member)
{
	struct stat st;
	struct candidate c = { 0 };

	if (stat(path, &st) < 0)
		return log_error_errno(-errno, "cannot import '%s'", path);
	if (!S_ISREG(st.st_mode))
		return log_error_errno(-EINVAL, "cannot import '%s': not a regular file", path);
	c.path = xstrdup(path);
	c.member = xstrdup(member);
	const char *slash = strrchr(c.path, '/');
	c.base = slash ? slash + 1 : c.path;
	c.size = (uint64_t)st.st_size;
	size_t stem = stem_len(c.base);
	if (im->opts->time_sec != 0) {
		c.time = im->opts->time_sec;
	} else if (name_time_parse(c.base, stem ? stem : strlen(c.base), &c.time) == 0) {
		c.time_from_name = true;
	} else {
		c.time = st.st_mtim.tv_sec;
		log_info("'%s': no time in its name; using its mtime", path);
	}
	XGROW_ARRAY(im->c, im->cap, im->n + 1);
	im->c[im->n++] = c;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in dir, but "." and ".." and hidden ones. */
static int list_dir(const char *dir, char ***ret, size_t *ret_n)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	DIR *d = opendir(dir);
	if (!d)
		return log_error_errno(-errno, "cannot list '%s'", dir);
	errno = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		XGROW_ARRAY(names, cap, n + 1);
		names[n++] = xstrdup(de->d_name);
	}
	int r = errno ? -errno : 0;
	closedir(d);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return log_error_errno(r, "cannot list '%s'", dir);
	}
	if (n > 1)
		qsort(names, n, sizeof(char *), name_cmp);
	*ret = names;
	*ret_n = n;
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int scan_layout(struct import *im)
{
	const char *dir = im->opts->layout;
	char **members = NULL;
	size_t n_members = 0;
	int r;

	r = list_dir(dir, &members, &n_members);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_members && r >= 0; i++) {
		AUTOFREE char *mdir = xasprintf("%s/%s", dir, members[i]);
		struct stat st;
		if (stat(mdir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!member_name_is_valid(members[i])) {
			log_warning("'%s' is not a member name (letters, digits, '.', '_', '-'); "
				    "its archives are not imported",
				    mdir);
			continue;
		}
		char **files = NULL;
		size_t n_files = 0;
		r = list_dir(mdir, &files, &n_files);
		for (size_t j = 0; j < n_files && r >= 0; j++) {
			AUTOFREE char *path = xasprintf("%s/%s", mdir, files[j]);
			if (stem_len(files[j]) == 0) {
				log_info("'%s' is not named like a tar archive; passed over", path);
				continue;
			}
			r = add_candidate(im, path, members[i]);
			if (r == -EINVAL) {
				im->res.n_failed++;
				r = 0;
			}
		}
		if (files)
			free_names(files, n_files);
	}
	free_names(members, n_members);
	return r;
}

static int candidate_cmp(const void *pa, const void *pb)
{
	const struct candidate *a = pa, *b = pb;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	int c = strcmp(a->member, b->member);
	return c ? c : strcmp(a->base, b->base);
}

/* "import:SIZE:NAME", or with the name's hash where it would not fit. */
static void import_tag(const struct candidate *c, char out[TAG_LEN_MAX + 1])
{
	char size[24];
	bool plain = true;

	snprintf(size, sizeof(size), "%" PRIu64, c->size);
	size_t len = strlen(c->base);
	if (len == 0 || strlen("import::") + strlen(size) + len > TAG_LEN_MAX)
		plain = false;
	for (size_t i = 0; plain && i < len; i++) {
		unsigned char ch = (unsigned char)c->base[i];
		if (ch < 0x21 || ch > 0x7e || ch == ',')
			plain = false;
	}
	if (plain) {
		int n = snprintf(out, TAG_LEN_MAX + 1, "import:%s:", size);
		memcpy(out + n, c->base, len); /* fits: checked above */
		out[(size_t)n + len] = '\0';
		return;
	}
	uint8_t h[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];
	crypto_sha256(c->base, len, h);
	hex_encode(h, HASH_LEN, hex);
	snprintf(out, TAG_LEN_MAX + 1, "import:%s:sha256-%.32s", size, hex);
}

struct find_tag {
	const char *tag;
	char name[SNAPSHOT_NAME_MAX];
	bool found;
};

static int has_tag(void *userdata, const struct cat_snapshot *s)
{
	struct find_tag *f = userdata;
	size_t len = strlen(f->tag);

	for (const char *p = s->tags; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == len && memcmp(p, f->tag, len) == 0) {
			snprintf(f->name, sizeof(f->name), "%s", s->name);
			f->found = true;
			return 1;
		}
		p += n + (comma ? 1 : 0);
	}
	return 0;
}

static int import_one(struct import *im, const struct candidate *c)
{
	const struct import_options *o = im->opts;
	char tag[TAG_LEN_MAX + 1];
	struct find_tag f = { .tag = tag };
	struct backup_result res;
	int r;

	import_tag(c, tag);
	r = catalog_list_snapshots(im->cat, c->member, has_tag, &f);
	if (r < 0)
		return r;
	if (f.found) {
		log_info("'%s' is already imported as %s/%s; skipped", c->path, c->member, f.name);
		im->res.n_skipped++;
		return 0;
	}
	AUTOCLOSE int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error_errno(-errno, "cannot open '%s'; it is not imported", c->path);
		im->res.n_failed++;
		return 0;
	}
	const char *tags[] = { tag };
	struct backup_options bo = {
		.member = c->member,
		.time_sec = c->time,
		.tags = tags,
		.n_tags = 1,
		.progress = o->progress,
		.progress_data = o->progress_data,
	};
	struct tar_options to = { .fd = fd, .name = c->path, .strip_unsafe = o->strip_unsafe };
	r = backup_tar(im->repo, im->cat, &bo, &to, &res);
	if (r == -EPROTO || r == -EPERM) {
		log_error("'%s' is not imported; the other archives are", c->path);
		im->res.n_failed++;
		return 0;
	}
	if (r < 0)
		return r;
	char hex[HASH_HEX_LEN + 1], when[SNAPSHOT_TIME_NAME_LEN];
	struct cat_snapshot s;
	hex_encode(res.snap_id, HASH_LEN, hex);
	snapshot_time_name(c->time, when);
	log_info("imported '%s' as %s/%s", c->path, c->member,
		 catalog_find_snapshot_by_prefix(im->cat, hex, &s) == 0 ? s.name : when);
	im->res.n_imported++;
	im->res.n_bytes += c->size;
	im->res.n_stored += res.stats.n_stored;
	return 0;
}

int import_run(struct repo *r, struct catalog *c, const struct import_options *opts,
	       struct import_result *ret)
{
	struct import im = { .repo = r, .cat = c, .opts = opts };
	int rc = 0;

	if (opts->layout) {
		rc = scan_layout(&im);
	} else {
		if (!member_name_is_valid(opts->member))
			return log_error_errno(-EINVAL, "invalid member name '%s'", opts->member);
		for (size_t i = 0; i < opts->n_archives && rc >= 0; i++) {
			rc = add_candidate(&im, opts->archives[i], opts->member);
			if (rc < 0) {
				im.res.n_failed++;
				rc = 0;
			}
		}
	}
	if (rc >= 0 && im.n > 1)
		qsort(im.c, im.n, sizeof(*im.c), candidate_cmp);
	if (rc >= 0 && im.n == 0 && im.res.n_failed == 0)
		log_warning("no archives to import");
	for (size_t i = 0; i < im.n && rc >= 0; i++)
		rc = import_one(&im, &im.c[i]);
	for (size_t i = 0; i < im.n; i++) {
		free(im.c[i].path);
		free(im.c[i].member);
	}
	free(im.c);
	*ret = im.res;
	if (rc < 0)
		return rc;
	return im.res.n_failed > 0 ? -EPROTO : 0;
}
