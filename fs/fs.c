/*
 * fs.c - the life of a mount's shared state.
 *
 * Threads: libfuse's workers run the handlers, each with its own catalog
 * connection (SQLite connections are not shared), opened on first use and
 * kept in a pthread key whose destructor closes it when the worker exits.
 * The refresh thread runs repo_sync() every refresh interval with its own
 * connection, then updates the newest snapshot time, so new snapshots
 * appear and vanished ones go without a remount; it sleeps on a condition
 * variable, so fs_stop() ends it at once unless a sync is running, which
 * the backend's timeouts bound. The cache's prefetch workers belong to the
 * cache. Every thread started here starts with all signals blocked, so
 * SIGINT and SIGTERM reach libfuse's handler on the main thread.
 *
 * Nothing here is created before fs_start(), which cairnfs calls after it
 * daemonized: threads and SQLite connections do not survive fork().
 *
 * Errors reach the kernel through fs_errno(), the one place that decides
 * which errors mean something to a caller and which become EIO.
 */
#include "fs.h"
#include "base/log.h"
#include "base/parallel.h"
#include "base/parse.h"

#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void close_thread_catalog(void *c)
{
	catalog_close(c);
}

int fs_new(const struct fs_options *opts, uint32_t uid, uint32_t gid, struct fs **ret)
{
	struct fs *fs;
	pthread_condattr_t ca;
	int r;

	fs = xcalloc(1, sizeof(*fs));
	fs->opts = *opts;
	/* Untouched anonymous memory reads as the shared zero page: holes
	 * cost no memory. */
	void *zeros = mmap(NULL, FS_ZEROS_LEN, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (zeros == MAP_FAILED) {
		r = -errno;
		free(fs);
		return log_error_errno(r, "cannot map memory");
	}
	fs->zeros = zeros;
	fs->tree.uid = uid;
	fs->tree.gid = gid;
	fs->synthetic_timeout = opts->refresh_s ? (double)opts->refresh_s : FS_CONTENT_TIMEOUT;
	r = -pthread_key_create(&fs->catalog_key, close_thread_catalog);
	if (r < 0) {
		munmap(zeros, FS_ZEROS_LEN);
		free(fs);
		return log_error_errno(r, "cannot create a thread key");
	}
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->files_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fs->wake, &ca);
	pthread_condattr_destroy(&ca);
	*ret = fs;
	return 0;
}

int fs_open_repo(struct fs *fs, const char *url, const char *password_file)
{
	struct catalog *c = NULL;
	unsigned changes = 0;
	int r;

	assert(!fs->repo);
	r = repo_open(url, &fs->opts.backend, &fs->repo);
	if (r < 0)
		return r; /* repo_open() said what and how to fix it */
	r = repo_unlock_with(fs->repo, password_file);
	if (r < 0)
		return r;
	fs->tree.repo = fs->repo;
	r = repo_catalog_open(fs->repo, &c);
	if (r < 0)
		return r;
	r = repo_sync(fs->repo, c, &changes);
	catalog_close(c);
	if (r < 0)
		return r; /* repo_sync() or the catalog said what failed */
	log_debug("catalog synced with '%s': %u change%s", url, changes, changes == 1 ? "" : "s");
	return 0;
}

int fs_catalog(struct fs *fs, struct catalog **ret)
{
	struct catalog *c = pthread_getspecific(fs->catalog_key);
	int r;

	if (!c) {
		r = repo_catalog_open(fs->repo, &c);
		if (r < 0)
			return r;
		r = catalog_set_cache_size(c, FS_CATALOG_CACHE_KIB);
		if (r < 0) {
			catalog_close(c);
			return r;
		}
		r = -pthread_setspecific(fs->catalog_key, c);
		if (r < 0) {
			catalog_close(c);
			return log_error_errno(r, "cannot keep a catalog connection");
		}
	}
	*ret = c;
	return 0;
}

void fs_find_device(struct fs *fs, const char *mountpoint)
{
	AUTOFCLOSE FILE *f = fopen("/proc/self/mountinfo", "re");
	AUTOFREE char *line = NULL;
	size_t cap = 0;

	fs->bdi[0] = '\0';
	if (!f) {
		log_debug("cannot read /proc/self/mountinfo: %s", log_strerror(-errno));
		return;
	}
	/* "ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ..."; the last match is the
	 * mount on top. */
	while (getline(&line, &cap, f) > 0) {
		char dev[MOUNTINFO_DEV_MAX], point[MOUNTINFO_POINT_MAX];
		if (parse_mountinfo_line(line, dev, point) < 0)
			continue;
		if (strcmp(point, mountpoint) == 0)
			snprintf(fs->bdi, sizeof(fs->bdi), "%s", dev);
	}
	if (!fs->bdi[0])
		log_debug("'%s' is not in /proc/self/mountinfo", mountpoint);
}

uint64_t fs_readahead_max(const struct fs *fs)
{
	return MIN(fs->opts.readahead, cache_budget(fs->cache) / 4);
}

void fs_tune_kernel_readahead(struct fs *fs)
{
	uint64_t kib = MIN(fs_readahead_max(fs) / 2, (uint64_t)FS_KERNEL_RA_MAX) >> 10;
	char path[64], value[32];
	AUTOCLOSE int fd = -1;
	int n;

	if (__atomic_exchange_n(&fs->ra_tuned, true, __ATOMIC_RELAXED))
		return;
	if (!fs->bdi[0] || kib <= 128)
		return; /* the kernel's default is 128 KiB */
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", fs->bdi);
	n = snprintf(value, sizeof(value), "%" PRIu64, kib);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, (size_t)n) != n) {
		/* Only root may; the mount works with the default. */
		log_debug("cannot set '%s' to %s: %s", path, value, log_strerror(-errno));
		return;
	}
	log_debug("kernel readahead for the mount: %" PRIu64 " KiB", kib);
}

int fs_errno(int r)
{
	assert(r < 0);
	switch (-r) {
	case ENOENT:
	case ENOTDIR:
	case EISDIR:
	case EROFS:
	case ENODATA:
	case ERANGE:
	case ENXIO:
	case EINVAL:
	case ENAMETOOLONG:
	case ENOMEM:
	case EPERM:
	case ENOSYS:
	case EOPNOTSUPP:
		return -r;
	default:
		/* Damage (EBADMSG), backend trouble, refused credentials
		 * (EACCES, which the kernel would read as a permission problem
		 * of the file), catalog errors. */
		return EIO;
	}
}

static void *refresh_main(void *arg)
{
	struct fs *fs = arg;
	bool failing = false;

	pthread_mutex_lock(&fs->lock);
	while (!fs->stopping) {
		struct timespec deadline;
		unsigned changes = 0;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += fs->opts.refresh_s;
		while (!fs->stopping &&
		       pthread_cond_timedwait(&fs->wake, &fs->lock, &deadline) != ETIMEDOUT)
			;
		if (fs->stopping)
			break;
		pthread_mutex_unlock(&fs->lock);

		r = repo_sync(fs->repo, fs->refresh_catalog, &changes);
		if (r == 0 && changes > 0)
			r = fs_tree_refresh(&fs->tree, fs->refresh_catalog);
		if (r < 0 && !failing)
			log_warning_errno(r,
					  "cannot refresh the snapshot list; retrying every %u s",
					  fs->opts.refresh_s);
		else if (r == 0 && failing)
			log_info("the snapshot list refreshes again");
		else if (r == 0 && changes > 0)
			log_info("snapshot list refreshed: %u change%s", changes,
				 changes == 1 ? "" : "s");
		failing = r < 0;

		pthread_mutex_lock(&fs->lock);
	}
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

/*
 * With a disk cache, chunks come from it where it has them, and chunks
 * fetched from the store go to it once their hash checks out. A run whose
 * chunks are all on disk needs no request; otherwise one request covers
 * the chunks from the first missing one to the last, and the others are
 * copied in from disk. Gaps between envelopes are left as zeros (decoding
 * never looks at them).
 */
static int fetch_chunks(void *userdata, const struct chunk_loc *locs, size_t n, struct buf *out)
{
	struct fs *fs = userdata;
	AUTOBUF struct buf part = BUF_INIT;
	uint64_t base = locs[0].off, end = base;
	size_t first_miss = n, last_miss = 0;
	int r;

	if (!fs->disk_cache)
		return repo_fetch_chunks(fs->repo, locs, n, out);
	for (size_t i = 0; i < n; i++) {
		const struct chunk_loc *l = &locs[i];
		if (l->off < end || l->off > UINT64_MAX - l->stored_len ||
		    l->off + l->stored_len - base > REPO_FETCH_MAX)
			/* Implausible: repo_fetch_chunks() says what is wrong. */
			return repo_fetch_chunks(fs->repo, locs, n, out);
		end = l->off + l->stored_len;
	}
	buf_reserve(out, (size_t)(end - base));
	end = base;
	for (size_t i = 0; i < n; i++) {
		const struct chunk_loc *l = &locs[i];
		memset(out->ptr + (end - base), 0, (size_t)(l->off - end));
		if (disk_cache_get(fs->disk_cache, l->hash, out->ptr + (l->off - base),
				   l->stored_len) < 0) {
			first_miss = MIN(first_miss, i);
			last_miss = i;
		}
		end = l->off + l->stored_len;
	}
	if (first_miss == 0 && last_miss == n - 1)
		return repo_fetch_chunks(fs->repo, locs, n, out);
	if (first_miss < n) {
		r = repo_fetch_chunks(fs->repo, locs + first_miss, last_miss - first_miss + 1,
				      &part);
		if (r < 0)
			return r;
		memcpy(out->ptr + (locs[first_miss].off - base), part.ptr, part.len);
	}
	out->len = (size_t)(end - base);
	return 0;
}

/* With a disk cache, a chunk that fails verification may be a damaged
 * file of the disk cache: that file goes, and the chunk is fetched from
 * the store again, so a damaged disk cache never fails a read. (The bytes
 * may have come from the store instead; then the second attempt fails the
 * same way and says which pack is damaged, at the cost of one request.) */
static int decode_chunk(void *userdata, const struct chunk_loc *loc, const uint8_t *stored,
			struct buf *out)
{
	struct fs *fs = userdata;
	AUTOBUF struct buf again = BUF_INIT;
	int r;

	if (!fs->disk_cache)
		return repo_decode_chunk(fs->repo, loc, stored, out);
	r = repo_decode_chunk_quiet(fs->repo, loc, stored, out);
	if (r == 0) {
		disk_cache_put(fs->disk_cache, loc->hash, stored, loc->stored_len);
		return 0;
	}
	if (disk_cache_drop(fs->disk_cache, loc->hash)) {
		char hex[HASH_HEX_LEN + 1];
		hex_encode(loc->hash, HASH_LEN, hex);
		log_warning("disk cache: chunk %s was damaged; deleted it, fetching the chunk again",
			    hex);
	}
	r = repo_fetch_chunks(fs->repo, loc, 1, &again);
	if (r < 0)
		return r;
	r = repo_decode_chunk(fs->repo, loc, again.ptr, out);
	if (r == 0)
		disk_cache_put(fs->disk_cache, loc->hash, again.ptr, loc->stored_len);
	return r;
}

int fs_start(struct fs *fs)
{
	struct cache_options co = {
		.budget = fs->opts.cache_size,
		.n_workers = FS_PREFETCH_WORKERS,
		.fetch = fetch_chunks,
		.decode = decode_chunk,
		.userdata = fs,
	};
	int r;

	if (fs->opts.disk_cache) {
		r = disk_cache_open(fs->opts.disk_cache, fs->opts.disk_cache_size, &fs->disk_cache);
		if (r < 0)
			return r;
	}
	r = cache_new(&co, &fs->cache);
	if (r < 0)
		return r;
	r = repo_catalog_open(fs->repo, &fs->refresh_catalog);
	if (r == 0)
		r = catalog_set_cache_size(fs->refresh_catalog, FS_CATALOG_CACHE_KIB);
	if (r < 0)
		return r;
	r = fs_tree_refresh(&fs->tree, fs->refresh_catalog);
	if (r < 0)
		return r;
	if (fs->opts.refresh_s == 0)
		return 0;
	r = thread_start(&fs->refresh_thread, refresh_main, fs);
	if (r < 0)
		return log_error_errno(r, "cannot start the refresh thread");
	fs->has_refresh_thread = true;
	return 0;
}

void fs_stop(struct fs *fs)
{
	if (!fs->has_refresh_thread)
		return;
	pthread_mutex_lock(&fs->lock);
	fs->stopping = true;
	pthread_cond_signal(&fs->wake);
	pthread_mutex_unlock(&fs->lock);
	pthread_join(fs->refresh_thread, NULL);
	fs->has_refresh_thread = false;
}

void fs_free(struct fs *fs)
{
	if (!fs)
		return;
	fs_stop(fs);
	catalog_close(fs->refresh_catalog);
	catalog_close(pthread_getspecific(fs->catalog_key));
	pthread_setspecific(fs->catalog_key, NULL);
	pthread_key_delete(fs->catalog_key);
	if (fs->cache) {
		struct cache_stats st;
		cache_get_stats(fs->cache, &st);
		log_debug("chunk cache: %" PRIu64 " hits, %" PRIu64 " waits, %" PRIu64
			  " chunks fetched in %" PRIu64 " requests (%" PRIu64
			  " coalesced), %" PRIu64 " failed, %" PRIu64 " evicted (%" PRIu64
			  " recycled); prefetch: %" PRIu64 " queued, %" PRIu64 " dropped, %" PRIu64
			  " evicted unread, %" PRIu64
			  " decoded by readers; compressed tier: %" PRIu64
			  " chunks packed, %" PRIu64 " hits, %" PRIu64 " MiB; at most %" PRIu64
			  " MiB charged",
			  st.hits, st.waits, st.fetches, st.requests, st.coalesced, st.failures,
			  st.evictions, st.recycled, st.prefetches, st.prefetch_dropped,
			  st.prefetch_unused, st.decoded_by_reader, st.demoted, st.packed_hits,
			  st.packed >> 20, st.used_max >> 20);
	}
	cache_free(fs->cache);
	if (fs->disk_cache) {
		struct disk_cache_stats st;
		char used[16], max[16];
		disk_cache_get_stats(fs->disk_cache, &st);
		format_size(st.used, used);
		format_size(st.max, max);
		log_info("disk cache: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64
			 " stored, %" PRIu64 " evicted, %" PRIu64 " rejected; %s of %s used%s",
			 st.hits, st.misses, st.stores, st.evictions, st.rejected, used, max,
			 st.off ? " (turned off)" : "");
	}
	disk_cache_close(fs->disk_cache);
	repo_close(fs->repo);
	pthread_cond_destroy(&fs->wake);
	pthread_mutex_destroy(&fs->lock);
	pthread_mutex_destroy(&fs->files_lock);
	munmap((void *)fs->zeros, FS_ZEROS_LEN);
	free(fs);
}
