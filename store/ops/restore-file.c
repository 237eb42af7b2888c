/*
 * restore-file.c - regular files, written by a small pool of worker
 * threads that take jobs (a file, and a descriptor of its directory) from
 * a bounded queue the walk fills.
 *
 * A worker writes into an unnamed O_TMPFILE inode, or a temporary name
 * where the filesystem has no O_TMPFILE, writes only the extents, so that
 * holes stay holes, and sets the size when the file ends in one. A chunk
 * already written to a file in place comes from there
 * (copy_file_range(2)); any other comes through the shared chunk cache,
 * whose threads prefetch the next window of the file's chunks. Then owner, mode, xattrs and mtime; with
 * verify, every extent is read back and hashed and every hole must read as
 * zeros; only then does the file get its name (linkat, or rename over what
 * is there), and its chunks go into the map of chunks written.
 */
#include "format/chunker.h"
#include "base/log.h"
#include "base/parallel.h"
#include "ops/restore-internal.h"
#include "ops/walk.h"

#include <assert.h>
#include <fcntl.h>
#include <sys/stat.h>

static bool already_written(void *userdata, const struct cat_extent *e)
{
	struct restore *rs = userdata;
	pthread_mutex_lock(&rs->lock);
	bool found = hmap_get(&rs->written, e->loc.hash) != NULL;
	pthread_mutex_unlock(&rs->lock);
	return found;
}

/* Copies extent e from the file in place that holds its chunk: 0, or
 * < 0 when there is none or it cannot be read (the caller fetches). */
static int copy_written(struct restore *rs, struct worker *w, int fd, const struct cat_extent *e)
{
	struct written src;
	uint64_t *v;

	pthread_mutex_lock(&rs->lock);
	v = hmap_get(&rs->written, e->loc.hash);
	if (v)
		src = rs->wr[*v];
	pthread_mutex_unlock(&rs->lock);
	if (!v)
		return -ENOENT;
	if (w->src_node != src.node) {
		AUTOFREE char *name = NULL;
		if (w->src_fd >= 0)
			close(w->src_fd);
		w->src_fd = -1;
		w->src_node = src.node;
		int dfd = restore_node_open(rs, src.node, true, &name);
		if (dfd >= 0) {
			w->src_fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
			close(dfd);
		}
	}
	if (w->src_fd < 0)
		return -EACCES;
	loff_t in = (loff_t)src.off, out = (loff_t)e->file_off;
	size_t left = e->loc.raw_len;
	while (left > 0) {
		ssize_t n = copy_file_range(w->src_fd, &in, fd, &out, left, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		left -= (size_t)n;
	}
	return 0;
}

static int write_extent(struct restore *rs, struct worker *w, int fd, const struct cat_extent *e)
{
	struct cache_entry *ent = NULL;
	const uint8_t *data;
	size_t len;
	int r;

	if (copy_written(rs, w, fd, e) == 0) {
		restore_count(&rs->stats.n_copied, 1);
		return 0;
	}
	r = cache_get(rs->cache, &e->loc, &ent);
	if (r < 0)
		return r;
	data = cache_entry_data(ent, &len);
	r = pwrite_all(fd, data, len, e->file_off);
	cache_put(rs->cache, ent);
	return r;
}

/* Checks that [from, to) of fd reads as zeros, skipping holes. */
static int check_zero(struct worker *w, int fd, uint64_t from, uint64_t to)
{
	uint64_t pos = from;

	while (pos < to) {
		off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
		if (d < 0 && errno == ENXIO)
			return 0;
		if (d < 0)
			return -errno;
		if ((uint64_t)d >= to)
			return 0;
		off_t h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		uint64_t end = MIN((uint64_t)h, to);
		for (pos = (uint64_t)d; pos < end;) {
			size_t n = (size_t)MIN(end - pos, (uint64_t)CHUNK_SIZE_MAX_LIMIT);
			ssize_t got = pread_full(fd, w->buf, n, pos);
			if (got < 0)
				return (int)got;
			if ((size_t)got != n)
				return -EBADMSG;
			for (size_t i = 0; i < n; i++)
				if (w->buf[i])
					return -EBADMSG;
			pos += n;
		}
	}
	return 0;
}

/* Reads the file back and checks every extent's hash and every hole. */
static int verify_file(struct restore *rs, struct worker *w, int fd, const struct rjob *j)
{
	struct extent_iter it;
	struct cat_extent e;
	uint64_t pos = 0;
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != j->attr.size)
		return -EBADMSG;
	extent_iter_init(&it, w->cat, NULL, &j->attr, 0);
	while ((r = extent_iter_next(&it, &e)) > 0) {
		uint8_t got[HASH_LEN];
		r = check_zero(w, fd, pos, e.file_off);
		if (r < 0)
			return r;
		ssize_t n = pread_full(fd, w->buf, e.loc.raw_len, e.file_off);
		if (n < 0)
			return (int)n;
		if ((size_t)n != e.loc.raw_len)
			return -EBADMSG;
		crypto_id(repo_keys(rs->repo), w->buf, e.loc.raw_len, got);
		if (memcmp(got, e.loc.hash, HASH_LEN) != 0)
			return -EBADMSG;
		restore_count(&rs->stats.n_verified_data, e.loc.raw_len);
		pos = e.file_off + e.loc.raw_len;
	}
	if (r < 0)
		return r;
	r = check_zero(w, fd, pos, j->attr.size);
	if (r < 0)
		return r;
	restore_count(&rs->stats.n_verified, 1);
	return 0;
}

/* Gives the finished file fd its name: links the O_TMPFILE inode (or
 * renames tmp, when it has one) into place, replacing what is there. */
static int link_into_place(struct restore *rs, int fd, int dirfd, const char *tmp, const char *name)
{
	char t2[64];

	if (tmp)
		return restore_rename_into_place(dirfd, tmp, name);
	for (int pass = 0; pass < 2; pass++) {
		const char *to = name;
		if (pass == 1) {
			restore_tmp_name(rs, t2);
			to = t2;
		}
		int r;
		if (rs->link_at_empty) {
			r = linkat(fd, "", dirfd, to, AT_EMPTY_PATH);
		} else {
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
			r = linkat(AT_FDCWD, proc, dirfd, to, AT_SYMLINK_FOLLOW);
		}
		if (r == 0)
			return pass == 1 ? restore_rename_into_place(dirfd, t2, name) : 0;
		if (errno != EEXIST || pass == 1)
			return -errno;
	}
	return -EEXIST;
}

/* Remembers where the chunks of a file now in place are, so that later
 * files copy them instead of fetching them again. */
static void remember_chunks(struct restore *rs, struct rjob *j, const uint64_t *offs,
			    const uint8_t (*hashes)[HASH_LEN], size_t n)
{
	uint32_t node = j->node;

	if (n == 0)
		return;
	if (node == NO_NODE)
		node = restore_node_add(rs, j->parent_node, j->name, strlen(j->name));
	pthread_mutex_lock(&rs->lock);
	for (size_t i = 0; i < n && rs->n_wr < RESTORE_WRITTEN_MAX; i++) {
		if (hmap_get(&rs->written, hashes[i]))
			continue;
		rs->wr[rs->n_wr] = (struct written){ node, offs[i] };
		hmap_put(&rs->written, hashes[i], rs->n_wr++);
	}
	pthread_mutex_unlock(&rs->lock);
}

static bool written_full(struct restore *rs)
{
	pthread_mutex_lock(&rs->lock);
	bool full = rs->n_wr >= RESTORE_WRITTEN_MAX;
	pthread_mutex_unlock(&rs->lock);
	return full;
}

/* An unnamed file is made with the permissions it is to have (less the
 * set-id and sticky bits), as nobody can open it before it is linked in;
 * restore_apply_meta() then sets them only when the umask or a default ACL
 * changed them. A named temporary is made 0600, since others could open it. */
static int create_file(struct restore *rs, int dirfd, uint32_t perm, char tmp[64], bool *ret_named)
{
	int fd;

	if (rs->use_tmpfile) {
		fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, (mode_t)(perm & 0777));
		if (fd >= 0) {
			*ret_named = false;
			return fd;
		}
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -errno;
	}
	restore_tmp_name(rs, tmp);
	fd = openat(dirfd, tmp, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	*ret_named = true;
	return fd;
}

/* Writes job j's data and metadata into fd, the file create_file() made
 * (named tmp when *named), and links it into place. Failures are
 * reported; write_file() cleans up after them. */
static int fill_file(struct restore *rs, struct worker *w, struct rjob *j, int fd, const char *tmp,
		     bool *named)
{
	AUTOFREE uint64_t *offs = NULL;
	AUTOFREE uint8_t(*hashes)[HASH_LEN] = NULL;
	struct extent_iter it;
	struct cat_extent e;
	size_t n_offs = 0, cap_offs = 0;
	uint64_t data = 0, end = 0;
	bool keep = !written_full(rs);
	int r;

	extent_iter_init(&it, w->cat, rs->cache, &j->attr, rs->window);
	it.skip_prefetch = already_written;
	it.userdata = rs;
	while ((r = extent_iter_next(&it, &e)) > 0) {
		r = write_extent(rs, w, fd, &e);
		if (r < 0)
			break;
		data += e.loc.raw_len;
		if (e.file_off + e.loc.raw_len > end)
			end = e.file_off + e.loc.raw_len;
		restore_count(&rs->stats.n_data, e.loc.raw_len);
		restore_count(&rs->stats.n_bytes, e.loc.raw_len);
		if (keep && n_offs < RESTORE_WRITTEN_PER_FILE) {
			if (n_offs == cap_offs) {
				size_t cap = cap_offs; /* the two arrays grow alike */
				XGROW_ARRAY(offs, cap, n_offs + 1);
				XGROW_ARRAY(hashes, cap_offs, n_offs + 1);
				assert(cap == cap_offs);
			}
			offs[n_offs] = e.file_off;
			memcpy(hashes[n_offs++], e.loc.hash, HASH_LEN);
		}
	}
	if (r < 0)
		return restore_fail(rs, r, "write", j->path);
	/* Writes past the end leave holes before them; a hole at the end
	 * needs the size set (the file is new, so it only grows). */
	if (end < j->attr.size && ftruncate(fd, (off_t)j->attr.size) < 0)
		return restore_fail(rs, -errno, "write", j->path);
	restore_count(&rs->stats.n_bytes, j->attr.size - data); /* the holes */
	r = restore_apply_meta(rs, w->cat, fd, -1, NULL, &j->attr, !*named, j->path);
	if (r < 0)
		return r;
	if (rs->o->verify) {
		r = verify_file(rs, w, fd, j);
		if (r < 0)
			return restore_fail(rs, r, "verify", j->path);
	}
	r = link_into_place(rs, fd, j->dirfd, *named ? tmp : NULL, j->name);
	if (r < 0) {
		*named = false; /* already removed */
		return restore_fail(rs, r, "put in place", j->path);
	}
	restore_count(&rs->stats.n_files, 1);
	remember_chunks(rs, j, offs, (const uint8_t(*)[HASH_LEN])hashes, n_offs);
	return 0;
}

static int write_file(struct restore *rs, struct worker *w, struct rjob *j)
{
	AUTOCLOSE int fd = -1;
	bool named = false;
	char tmp[64];
	int r;

	fd = create_file(rs, j->dirfd, j->attr.mode & 07777, tmp, &named);
	if (fd < 0)
		return restore_fail(rs, fd, "create", j->path);
	r = fill_file(rs, w, j, fd, tmp, &named);
	if (r < 0) {
		if (named)
			(void)unlinkat(j->dirfd, tmp, 0);
		restore_node_set_failed(rs, j->node);
	}
	return r;
}

void restore_job_free(struct rjob *j)
{
	if (!j)
		return;
	if (j->dirfd >= 0)
		close(j->dirfd);
	free(j->name);
	free(j->path);
	free(j);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct restore *rs = w->rs;

	unsigned in_read = 0; /* jobs done in the open read transaction */
	bool reading = false;

	pthread_mutex_lock(&rs->lock);
	for (;;) {
		if (reading && (rs->q_len == 0 || in_read >= RESTORE_JOBS_PER_READ)) {
			pthread_mutex_unlock(&rs->lock);
			catalog_read_end(w->cat);
			reading = false;
			pthread_mutex_lock(&rs->lock);
		}
		while (!rs->stopping && rs->q_len == 0)
			pthread_cond_wait(&rs->job_ready, &rs->lock);
		if (rs->q_len == 0)
			break;
		struct rjob *j = rs->queue[rs->q_head];
		rs->q_head = (rs->q_head + 1) % RESTORE_QUEUE_MAX;
		rs->q_len--;
		rs->busy++;
		if (rs->refill_wait && rs->q_len <= RESTORE_QUEUE_MAX / 2)
			pthread_cond_signal(&rs->job_taken);
		pthread_mutex_unlock(&rs->lock);

		/* One read transaction over many files: each query on its own
		 * would take and drop SQLite's shared lock (three system calls). */
		if (!reading) {
			reading = catalog_read_begin(w->cat) == 0;
			in_read = 0;
		}
		in_read++;
		int UNUSED r = write_file(rs, w, j); /* logged and counted */
		restore_job_free(j);

		pthread_mutex_lock(&rs->lock);
		rs->busy--;
		if (rs->drain_wait && rs->q_len == 0 && rs->busy == 0)
			pthread_cond_signal(&rs->job_taken);
	}
	pthread_mutex_unlock(&rs->lock);
	if (reading)
		catalog_read_end(w->cat);
	if (w->src_fd >= 0)
		close(w->src_fd);
	w->src_fd = -1;
	return NULL;
}

void restore_queue_job(struct restore *rs, struct rjob *j)
{
	pthread_mutex_lock(&rs->lock);
	if (rs->q_len == RESTORE_QUEUE_MAX) {
		pthread_mutex_unlock(&rs->lock);
		restore_wait_queue(rs, false);
		pthread_mutex_lock(&rs->lock);
	}
	rs->queue[(rs->q_head + rs->q_len) % RESTORE_QUEUE_MAX] = j;
	rs->q_len++;
	pthread_cond_signal(&rs->job_ready);
	pthread_mutex_unlock(&rs->lock);
}

/* Waits until the queue is at most half full (drain = false) or is drained
 * with no job in progress (drain = true), showing progress meanwhile. A
 * walk that found the queue full refills half of it at a time: waking it
 * for every job taken made one thread switch per file. */
void restore_wait_queue(struct restore *rs, bool drain)
{
	pthread_mutex_lock(&rs->lock);
	for (;;) {
		if (drain ? rs->q_len == 0 && rs->busy == 0 : rs->q_len <= RESTORE_QUEUE_MAX / 2)
			break;
		if (drain)
			rs->drain_wait = true;
		else
			rs->refill_wait = true;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&rs->job_taken, &rs->lock, &ts);
		pthread_mutex_unlock(&rs->lock);
		restore_progress(rs, false);
		pthread_mutex_lock(&rs->lock);
	}
	rs->refill_wait = rs->drain_wait = false;
	pthread_mutex_unlock(&rs->lock);
}

int restore_start_workers(struct restore *rs)
{
	int r = 0;

	rs->workers = xcalloc(rs->n_workers, sizeof(*rs->workers));
	for (unsigned i = 0; i < rs->n_workers; i++) {
		struct worker *w = &rs->workers[i];
		w->rs = rs;
		w->src_fd = -1;
		w->src_node = NO_NODE;
		w->buf = xmalloc(CHUNK_SIZE_MAX_LIMIT);
		r = repo_catalog_open(rs->repo, &w->cat);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < rs->n_workers && r == 0; i++) {
		r = thread_start(&rs->workers[i].thread, worker_main, &rs->workers[i]);
		rs->workers[i].started = r == 0;
	}
	if (r < 0)
		return log_error_errno(r, "cannot start the restore threads");
	return 0;
}

void restore_stop_workers(struct restore *rs)
{
	pthread_mutex_lock(&rs->lock);
	rs->stopping = true;
	pthread_cond_broadcast(&rs->job_ready);
	pthread_mutex_unlock(&rs->lock);
	for (unsigned i = 0; rs->workers && i < rs->n_workers; i++) {
		struct worker *w = &rs->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
		catalog_close(w->cat);
		w->cat = NULL;
		free(w->buf);
		w->buf = NULL;
	}
	free(rs->workers);
	rs->workers = NULL;
	/* A job left queued (when a thread failed to start) is dropped. */
	while (rs->q_len > 0) {
		restore_job_free(rs->queue[rs->q_head]);
		rs->q_head = (rs->q_head + 1) % RESTORE_QUEUE_MAX;
		rs->q_len--;
	}
}
