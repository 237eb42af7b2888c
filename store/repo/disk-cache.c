/*
 * disk-cache.c - the on-disk cache of chunks' stored bytes.
 *
 * One mutex guards the table of known files, the LRU list, the charge and
 * the counters. Reading a file and writing a temporary one happen without
 * it; the rename that publishes a file, and every unlink, happen under it,
 * so that within one process the table and the directory agree. Another
 * process may delete or add files at any time: a file the table lists but
 * that is gone is forgotten when a get misses it, and a file the table
 * does not list is adopted when a get finds it.
 *
 * Turning off is a flag read without the lock (__atomic): once set, every
 * call returns at once.
 */
#include "repo/disk-cache.h"
#include "base/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DC_BLOCK 4096u
#define DC_BUCKETS_MIN 256
/* "ab/" + 64 hex digits, or "ab/.tmp-PID-COUNTER". */
#define DC_NAME_LEN (3 + HASH_HEX_LEN + 1)
#define DC_TMP_PREFIX ".tmp-"

struct dc_entry {
	uint8_t hash[HASH_LEN];
	uint64_t charge;	      /* bytes charged: the length in blocks */
	struct dc_entry *hash_next;   /* chain of its bucket */
	struct dc_entry *prev, *next; /* LRU list, most recent first */
};

struct disk_cache {
	pthread_mutex_t lock;
	char *dir;	/* immutable */
	int dir_fd;	/* immutable; -1 when off from the start */
	uint64_t max;	/* immutable */
	bool off;	/* __atomic */
	uint64_t n_tmp; /* __atomic; temporary names handed out */

	struct dc_entry **buckets;     /* guarded by lock */
	size_t n_buckets;	       /* guarded by lock; a power of two */
	struct dc_entry lru;	       /* guarded by lock; sentinel: lru.next is the most recent */
	struct disk_cache_stats stats; /* guarded by lock; used and n_files kept current */
};

static uint64_t charge_of(uint64_t len)
{
	return (len + DC_BLOCK - 1) / DC_BLOCK * DC_BLOCK;
}

static bool is_off(struct disk_cache *dc)
{
	return __atomic_load_n(&dc->off, __ATOMIC_RELAXED);
}

/* Turns the cache off after an I/O error r, saying so once. */
static void turn_off(struct disk_cache *dc, int r, const char *what)
{
	if (__atomic_exchange_n(&dc->off, true, __ATOMIC_RELAXED))
		return;
	log_warning_errno(r, "disk cache '%s': cannot %s; going on without it", dc->dir, what);
	if (r == -EACCES || r == -EPERM || r == -EROFS)
		log_warning("hint: make '%s' writable by this user, or pick another -o disk_cache=",
			    dc->dir);
	else if (r == -ENOSPC || r == -EDQUOT)
		log_warning("hint: free space there, or lower -o disk_cache_size=");
}

static void entry_name(const uint8_t hash[HASH_LEN], char name[DC_NAME_LEN])
{
	char hex[HASH_HEX_LEN + 1];

	hex_encode(hash, HASH_LEN, hex);
	snprintf(name, DC_NAME_LEN, "%.2s/%s", hex, hex);
}

static size_t bucket_of(const struct disk_cache *dc, const uint8_t hash[HASH_LEN])
{
	return (size_t)get_le64(hash) & (dc->n_buckets - 1);
}

static struct dc_entry *lookup(struct disk_cache *dc, const uint8_t hash[HASH_LEN])
{
	struct dc_entry *e = dc->buckets[bucket_of(dc, hash)];

	while (e && memcmp(e->hash, hash, HASH_LEN) != 0)
		e = e->hash_next;
	return e;
}

static void lru_unlink(struct dc_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_push(struct disk_cache *dc, struct dc_entry *e)
{
	e->prev = &dc->lru;
	e->next = dc->lru.next;
	dc->lru.next->prev = e;
	dc->lru.next = e;
}

static void grow(struct disk_cache *dc)
{
	size_t n = dc->n_buckets * 2;
	struct dc_entry **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < dc->n_buckets; i++) {
		struct dc_entry *e = dc->buckets[i], *next;
		for (; e; e = next) {
			size_t k = (size_t)get_le64(e->hash) & (n - 1);
			next = e->hash_next;
			e->hash_next = b[k];
			b[k] = e;
		}
	}
	free(dc->buckets);
	dc->buckets = b;
	dc->n_buckets = n;
}

/* Records (or updates) a file of the chunk hash as the most recently used. */
static void remember(struct disk_cache *dc, const uint8_t hash[HASH_LEN], uint64_t charge)
{
	struct dc_entry *e = lookup(dc, hash);

	if (e) {
		lru_unlink(e);
		dc->stats.used -= e->charge;
	} else {
		if (dc->stats.n_files >= dc->n_buckets)
			grow(dc);
		e = xcalloc(1, sizeof(*e));
		memcpy(e->hash, hash, HASH_LEN);
		size_t k = bucket_of(dc, hash);
		e->hash_next = dc->buckets[k];
		dc->buckets[k] = e;
		dc->stats.n_files++;
	}
	e->charge = charge;
	dc->stats.used += charge;
	lru_push(dc, e);
}

/* Takes the chunk hash out of the table; true when it was there. */
static bool forget(struct disk_cache *dc, const uint8_t hash[HASH_LEN])
{
	struct dc_entry **p = &dc->buckets[bucket_of(dc, hash)];

	for (; *p; p = &(*p)->hash_next) {
		struct dc_entry *e = *p;
		if (memcmp(e->hash, hash, HASH_LEN) != 0)
			continue;
		*p = e->hash_next;
		lru_unlink(e);
		dc->stats.used -= e->charge;
		dc->stats.n_files--;
		free(e);
		return true;
	}
	return false;
}

/* Deletes the file of the chunk hash; true when there was one. */
static bool unlink_entry(struct disk_cache *dc, const uint8_t hash[HASH_LEN])
{
	char name[DC_NAME_LEN];

	entry_name(hash, name);
	if (unlinkat(dc->dir_fd, name, 0) == 0)
		return true;
	if (errno != ENOENT)
		turn_off(dc, -errno, "delete a file");
	return false;
}

/* Deletes least recently used files until the charge fits the bound. */
static void evict(struct disk_cache *dc)
{
	while (dc->stats.used > dc->max && dc->lru.prev != &dc->lru) {
		struct dc_entry *victim = dc->lru.prev;
		uint8_t hash[HASH_LEN];

		memcpy(hash, victim->hash, HASH_LEN);
		forget(dc, hash);
		unlink_entry(dc, hash);
		dc->stats.evictions++;
	}
}

/* --- opening: creating the directory and scanning it --- */

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *dir)
{
	AUTOFREE char *p = xstrdup(dir);

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = c;
		if (!c)
			return 0;
	}
}

struct scanned {
	uint8_t hash[HASH_LEN];
	uint64_t charge;
	struct timespec mtime;
};

static int by_mtime(const void *a, const void *b)
{
	const struct scanned *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return memcmp(x->hash, y->hash, HASH_LEN);
}

/* Lowercase hex digits only: the names entry_name() makes. */
static bool is_hex_name(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Adds the files of one shard directory to *list, deleting stale
 * temporary files. Entries that are not ours are left alone. */
static int scan_shard(struct disk_cache *dc, const char *shard, struct scanned **list, size_t *n,
		      size_t *cap)
{
	int fd = openat(dc->dir_fd, shard, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d;
	struct dirent *de;
	time_t now = time(NULL);

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -errno;
	d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		struct scanned s;
		struct stat st;

		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (strncmp(de->d_name, DC_TMP_PREFIX, strlen(DC_TMP_PREFIX)) == 0) {
			if (st.st_mtime < now - DISK_CACHE_TMP_MAX_AGE)
				(void)unlinkat(fd, de->d_name, 0);
			continue;
		}
		if (!is_hex_name(de->d_name, HASH_HEX_LEN) || memcmp(de->d_name, shard, 2) != 0 ||
		    hex_decode(de->d_name, s.hash, HASH_LEN) < 0)
			continue;
		s.charge = charge_of((uint64_t)st.st_size);
		s.mtime = st.st_mtim;
		XGROW_ARRAY(*list, *cap, *n + 1);
		(*list)[(*n)++] = s;
	}
	int r = errno ? -errno : 0;
	closedir(d);
	return r;
}

static int scan(struct disk_cache *dc)
{
	AUTOFREE struct scanned *list = NULL;
	size_t n = 0, cap = 0;
	int fd, r = 0;
	DIR *d;
	struct dirent *de;

	fd = openat(dc->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while (r == 0 && (errno = 0, de = readdir(d)))
		if (is_hex_name(de->d_name, 2))
			r = scan_shard(dc, de->d_name, &list, &n, &cap);
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	if (r < 0)
		return r;
	/* Oldest first, each pushed to the front: the newest ends up first. */
	if (n)
		qsort(list, n, sizeof(*list), by_mtime);
	pthread_mutex_lock(&dc->lock);
	for (size_t i = 0; i < n; i++)
		remember(dc, list[i].hash, list[i].charge);
	evict(dc);
	pthread_mutex_unlock(&dc->lock);
	return 0;
}

/* Makes dc's directory usable and learns what it holds; on failure the
 * cache is turned off (and says why), which is not an error. */
static void start_cache(struct disk_cache *dc, const char *dir)
{
	char used[16], max[16];
	int r;

	r = make_dirs(dir);
	if (r < 0) {
		turn_off(dc, r, "create it");
		return;
	}
	dc->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dc->dir_fd < 0) {
		turn_off(dc, -errno, "open it");
		return;
	}
	r = scan(dc);
	if (r < 0) {
		turn_off(dc, r, "read it");
		return;
	}
	format_size(dc->stats.used, used);
	format_size(dc->max, max);
	log_debug("disk cache '%s': %" PRIu64 " chunks, %s of %s", dir, dc->stats.n_files, used,
		  max);
}

int disk_cache_open(const char *dir, uint64_t max_bytes, struct disk_cache **ret)
{
	struct disk_cache *dc;

	if (!dir || !*dir || max_bytes == 0)
		return log_error_errno(-EINVAL,
				       "a disk cache needs a directory and a size above 0");
	dc = xcalloc(1, sizeof(*dc));
	pthread_mutex_init(&dc->lock, NULL);
	dc->dir = xstrdup(dir);
	dc->dir_fd = -1;
	dc->max = max_bytes;
	dc->n_buckets = DC_BUCKETS_MIN;
	dc->buckets = xcalloc(dc->n_buckets, sizeof(*dc->buckets));
	dc->lru.next = dc->lru.prev = &dc->lru;
	dc->stats.max = max_bytes;
	start_cache(dc, dir);
	*ret = dc;
	return 0;
}

void disk_cache_close(struct disk_cache *dc)
{
	if (!dc)
		return;
	for (struct dc_entry *e = dc->lru.next, *next; e != &dc->lru; e = next) {
		next = e->next;
		free(e);
	}
	free(dc->buckets);
	if (dc->dir_fd >= 0)
		close(dc->dir_fd);
	pthread_mutex_destroy(&dc->lock);
	free(dc->dir);
	free(dc);
}

/* --- get, put, drop --- */

int disk_cache_get(struct disk_cache *dc, const uint8_t hash[HASH_LEN], uint8_t *dst, size_t len)
{
	char name[DC_NAME_LEN];
	AUTOCLOSE int fd = -1;
	struct stat st;
	bool wrong = false;

	if (is_off(dc))
		return -ENOENT;
	entry_name(hash, name);
	fd = openat(dc->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int r = -errno;
		if (r != -ENOENT && r != -ELOOP)
			turn_off(dc, r, "read a file");
		wrong = r == -ELOOP;
	} else if (fstat(fd, &st) < 0) {
		turn_off(dc, -errno, "read a file");
	} else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != len) {
		wrong = true;
	} else {
		ssize_t got = pread_full(fd, dst, len, 0);
		if (got < 0)
			turn_off(dc, (int)got, "read a file");
		else if ((size_t)got != len)
			wrong = true; /* truncated meanwhile */
		else {
			/* Keeps the use order across remounts; best effort. */
			(void)futimens(fd, NULL);
			pthread_mutex_lock(&dc->lock);
			remember(dc, hash, charge_of(len));
			dc->stats.hits++;
			evict(dc);
			pthread_mutex_unlock(&dc->lock);
			return 0;
		}
	}
	pthread_mutex_lock(&dc->lock);
	forget(dc, hash);
	if (wrong && !is_off(dc)) {
		log_debug("disk cache: dropping '%s': not %zu bytes", name, len);
		(void)unlink_entry(dc, hash);
		dc->stats.rejected++;
	}
	dc->stats.misses++;
	pthread_mutex_unlock(&dc->lock);
	return -ENOENT;
}

/* Writes data[0..len) to the new file tmp ("ab/.tmp-..."), creating its
 * shard directory when missing. */
static int write_tmp(struct disk_cache *dc, const char *tmp, const uint8_t *data, size_t len)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
	AUTOCLOSE int fd = -1;
	int r;

	fd = openat(dc->dir_fd, tmp, flags, 0600);
	if (fd < 0 && errno == ENOENT) {
		char shard[3] = { tmp[0], tmp[1], '\0' };
		if (mkdirat(dc->dir_fd, shard, 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = openat(dc->dir_fd, tmp, flags, 0600);
	}
	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (r < 0)
		return r;
	return close(TAKE_FD(fd)) < 0 ? -errno : 0;
}

void disk_cache_put(struct disk_cache *dc, const uint8_t hash[HASH_LEN], const uint8_t *data,
		    size_t len)
{
	uint64_t charge = charge_of(len);
	char name[DC_NAME_LEN], tmp[DC_NAME_LEN + 48];
	struct dc_entry *e;
	int r;

	if (is_off(dc) || charge > dc->max)
		return;
	pthread_mutex_lock(&dc->lock);
	e = lookup(dc, hash);
	if (e && e->charge == charge) {
		pthread_mutex_unlock(&dc->lock);
		return;
	}
	pthread_mutex_unlock(&dc->lock);

	entry_name(hash, name);
	snprintf(tmp, sizeof(tmp), "%.2s/" DC_TMP_PREFIX "%ld-%" PRIu64, name, (long)getpid(),
		 __atomic_add_fetch(&dc->n_tmp, 1, __ATOMIC_RELAXED));
	r = write_tmp(dc, tmp, data, len);
	if (r < 0) {
		(void)unlinkat(dc->dir_fd, tmp, 0);
		turn_off(dc, r, "write a file");
		return;
	}
	pthread_mutex_lock(&dc->lock);
	if (renameat(dc->dir_fd, tmp, dc->dir_fd, name) < 0) {
		r = -errno;
		pthread_mutex_unlock(&dc->lock);
		(void)unlinkat(dc->dir_fd, tmp, 0);
		turn_off(dc, r, "rename a file");
		return;
	}
	remember(dc, hash, charge);
	dc->stats.stores++;
	evict(dc);
	pthread_mutex_unlock(&dc->lock);
}

bool disk_cache_drop(struct disk_cache *dc, const uint8_t hash[HASH_LEN])
{
	bool had;

	if (dc->dir_fd < 0)
		return false;
	pthread_mutex_lock(&dc->lock);
	forget(dc, hash);
	had = unlink_entry(dc, hash);
	if (had)
		dc->stats.rejected++;
	pthread_mutex_unlock(&dc->lock);
	return had;
}

void disk_cache_get_stats(struct disk_cache *dc, struct disk_cache_stats *ret)
{
	pthread_mutex_lock(&dc->lock);
	*ret = dc->stats;
	pthread_mutex_unlock(&dc->lock);
	ret->off = is_off(dc);
}
