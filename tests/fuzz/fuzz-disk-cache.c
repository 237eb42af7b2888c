/*
 * fuzz-disk-cache.c - the scan of a disk cache directory that another
 * process (or a crash, or a user) may have left in any state. The input
 * describes entries, laid out in a fresh directory before disk_cache_open()
 * scans it: per entry one kind byte (a file, a directory, a symlink, a
 * stale temporary file), a name length byte, the name (NUL and '/' become
 * 'x'), and a length byte for a file (in 512-byte steps). Names are put
 * into the shard their first two bytes name when those are hex, else at the
 * top. Properties: the cache opens, its charge stays within the bound after
 * the scan, a get of each hex-named file of the right length agrees with
 * the stats, and nothing outside the directory is touched (the symlinks
 * point at a file that must survive).
 */
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#include "base/log.h"
#include "repo/disk-cache.h"

#define MAX_BYTES (64u << 10)

static char base[64];
static char outside[96];

static int rm_rf(const char *path)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

static void remove_base(void)
{
	if (rm_rf(base) != 0)
		fprintf(stderr, "fuzz-disk-cache: cannot remove %s\n", base);
}

static void lay_out(const char *dir, const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 2 <= size;) {
		uint8_t kind = data[i] % 4, nlen = data[i + 1] % 70;
		i += 2;
		if (nlen == 0 || i + nlen > size)
			return;
		char name[72];
		memcpy(name, data + i, nlen);
		name[nlen] = '\0';
		i += nlen;
		for (size_t k = 0; k < nlen; k++)
			if (name[k] == '/' || name[k] == '\0')
				name[k] = 'x';
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		size_t flen = 0;
		if (kind == 0 || kind == 3) {
			if (i >= size)
				return;
			flen = (size_t)data[i++] * 512;
		}
		char path[256];
		bool hex = nlen >= 2 && strchr("0123456789abcdef", name[0]) &&
			   strchr("0123456789abcdef", name[1]);
		if (hex) {
			snprintf(path, sizeof(path), "%s/%.2s", dir, name);
			(void)mkdir(path, 0700);
			snprintf(path, sizeof(path), "%s/%.2s/%s%s", dir, name,
				 kind == 3 ? ".tmp-1-" : "", name);
		} else {
			snprintf(path, sizeof(path), "%s/%s", dir, name);
		}
		if (kind == 1) {
			(void)mkdir(path, 0700);
		} else if (kind == 2) {
			(void)symlink(outside, path);
		} else {
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
			if (fd >= 0) {
				if (flen && ftruncate(fd, (off_t)flen) < 0) {
					/* a smaller file is as good an input */
				}
				close(fd);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base[0]) {
		log_setup("fuzz-disk-cache", LOG_TARGET_STDERR, LOG_CRIT);
		const char *tmp = getenv("TMPDIR");
		snprintf(base, sizeof(base), "%s/cairn-fuzz-dc.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		FUZZ_CHECK(mkdtemp(base) != NULL);
		snprintf(outside, sizeof(outside), "%s/outside", base);
		atexit(remove_base);
	}
	char dir[96];
	snprintf(dir, sizeof(dir), "%s/dc", base);
	FUZZ_CHECK(rm_rf(dir) == 0);
	int ofd = open(outside, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FUZZ_CHECK(ofd >= 0 && write(ofd, "keep", 4) == 4);
	close(ofd);
	FUZZ_CHECK(mkdir(dir, 0700) == 0);
	lay_out(dir, data, size);

	struct disk_cache *dc = NULL;
	FUZZ_CHECK(disk_cache_open(dir, MAX_BYTES, &dc) == 0);
	struct disk_cache_stats st;
	disk_cache_get_stats(dc, &st);
	FUZZ_CHECK(st.off || st.used <= st.max);
	uint8_t hash[HASH_LEN] = { 0 }, buf[512];
	memset(buf, 0x5a, sizeof(buf));
	if (disk_cache_get(dc, hash, buf, sizeof(buf)) == 0)
		FUZZ_CHECK(!st.off);
	disk_cache_put(dc, hash, buf, sizeof(buf));
	disk_cache_get_stats(dc, &st);
	FUZZ_CHECK(st.off || st.used <= st.max);
	disk_cache_close(dc);

	struct stat os;
	FUZZ_CHECK(lstat(outside, &os) == 0 && S_ISREG(os.st_mode) && os.st_size == 4);
	return 0;
}
