/*
 * unit.c - helpers shared by the unit tests (see unit.h). They report
 * failure by return value rather than cmocka assertions, so that group
 * setups can use them too.
 */
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "catalog/catalog.h"
#include "ops/backup.h"

int unit_mkdtemp(char *buf, size_t size, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(buf, size, "%s/cairn-test-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(buf) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

int unit_rm_rf(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void unit_fill_random(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
}

int unit_write_file(const char *path, size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len ? len : 1);
	int fd, r = -1;

	if (!p)
		return -1;
	unit_fill_random(p, len, seed);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		r = write_all(fd, p, len) < 0 ? -1 : 0;
		if (close(fd) < 0)
			r = -1;
	}
	free(p);
	return r;
}

static int write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	r = write_all(fd, text, strlen(text)) < 0 ? -1 : 0;
	return close(fd) < 0 ? -1 : r;
}

int unit_small_tree(const char *dir)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s/big", dir);
	if (write_text(dir, "a", "hello\n") < 0 || unit_write_file(a, 200 << 10, 7) < 0)
		return -1;
	snprintf(a, sizeof(a), "%s/d", dir);
	snprintf(b, sizeof(b), "%s/d/e", dir);
	if (mkdir(a, 0755) < 0 || mkdir(b, 0755) < 0 || write_text(a, "b", "x\n") < 0)
		return -1;
	snprintf(a, sizeof(a), "%s/link", dir);
	if (symlink("a", a) < 0)
		return -1;
	snprintf(a, sizeof(a), "%s/d/b", dir);
	snprintf(b, sizeof(b), "%s/hard", dir);
	if (link(a, b) < 0)
		return -1;
	return 7;
}

int unit_repo_setup(struct unit_repo *u, const char *name, const struct repo_config *cfg)
{
	struct repo_config def = repo_config_default();
	char cache[128];

	memset(u, 0, sizeof(*u));
	if (unit_mkdtemp(u->dir, sizeof(u->dir), name) < 0)
		return -1;
	snprintf(cache, sizeof(cache), "%s/cache", u->dir);
	setenv("CAIRN_CACHE_DIR", cache, 1);
	snprintf(u->url, sizeof(u->url), "%s/repo", u->dir);
	snprintf(u->src, sizeof(u->src), "%s/src", u->dir);
	if (mkdir(u->src, 0755) < 0 || repo_init(u->url, NULL, cfg ? cfg : &def, NULL, NULL) < 0 ||
	    repo_open(u->url, NULL, &u->repo) < 0 || repo_catalog_open(u->repo, &u->cat) < 0) {
		unit_repo_teardown(u);
		return -1;
	}
	return 0;
}

int unit_repo_backup(struct unit_repo *u, const char *member, const char *path, int64_t time_sec,
		     uint8_t ret_snap[HASH_LEN])
{
	const char *paths[] = { path ? path : u->src };
	struct backup_options o = {
		.member = member,
		.time_sec = time_sec,
		.paths = paths,
		.n_paths = 1,
	};
	struct backup_result res;
	int r = backup_run(u->repo, u->cat, &o, &res);

	if (r < 0)
		return r;
	if (ret_snap)
		memcpy(ret_snap, res.snap_id, HASH_LEN);
	return 0;
}

int unit_repo_fresh_catalog(struct unit_repo *u)
{
	static const char *const files[] = { "catalog.db", "catalog.db-wal", "catalog.db-shm",
					     "catalog.db-journal" };
	char cache[128], path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	catalog_close(u->cat);
	u->cat = NULL;
	snprintf(cache, sizeof(cache), "%s/cache", u->dir);
	d = opendir(cache);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		for (size_t i = 0; de->d_name[0] != '.' && i < ARRAY_SIZE(files); i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", cache, de->d_name, files[i]);
			if (unlink(path) < 0 && errno != ENOENT && errno != ENOTDIR) {
				closedir(d);
				return -1;
			}
		}
	closedir(d);
	if (repo_catalog_open(u->repo, &u->cat) < 0 || repo_sync(u->repo, u->cat, NULL) < 0)
		return -1;
	return 0;
}

void unit_repo_teardown(struct unit_repo *u)
{
	catalog_close(u->cat);
	repo_close(u->repo);
	u->cat = NULL;
	u->repo = NULL;
	if (u->dir[0])
		unit_rm_rf(u->dir);
	u->dir[0] = '\0';
}
