/*
 * lock.c - write, refresh, list and remove lock objects.
 *
 * A lock object ("locks/<64 random hex digits>", an envelope of kind
 * OBJECT_LOCK) is the one kind of object besides the snapshot list that is
 * rewritten in place: its holder rewrites it every LOCK_REFRESH_S. Its
 * payload:
 *
 *   size  meaning
 *   4     lock format version (1)
 *   1     kind: 1 shared (backup, check), 2 exclusive (forget, prune)
 *   4     process id of the holder
 *   8     creation time, UTC seconds (holder's clock)
 *   8     time of the last refresh, UTC seconds (holder's clock)
 *   blob  host name
 *   blob  machine key: the kernel's boot id and the pid namespace, so that
 *         a process on the same machine can tell that the holder is gone
 *
 * Locks use the holders' clocks, so hosts must keep their clocks within
 * LOCK_SKEW_S of each other (NTP does far better). Acquiring an exclusive
 * lock is "write, then list": of two processes doing so at once, at least
 * one sees the other's lock and backs off, given a backend whose listings
 * show what was written before them (local directories, S3).
 */
#include "repo/lock.h"
#include "format/envelope.h"
#include "base/log.h"
#include "base/parallel.h"
#include "base/rbuf.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#define LOCK_VERSION 1
#define MACHINE_KEY_MAX LOCK_MACHINE_MAX
/* After a failed refresh, try again this soon. */
#define LOCK_RETRY_S 30

struct repo_lock {
	struct backend *backend;	/* borrowed; outlives the lock */
	const struct crypto_keys *keys; /* borrowed; NULL: unencrypted */
	struct lock_info info;		/* info.refreshed guarded by lock */
	char machine[MACHINE_KEY_MAX + 1];
	pthread_t thread;
	bool has_thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;	     /* guarded by lock */
	uint64_t last_ok_ns; /* monotonic time of the last successful write; guarded by lock */
};

int64_t lock_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* "<boot id>/<pid namespace inode>", or "" when either is unknown. */
static void machine_key(char out[MACHINE_KEY_MAX + 1])
{
	char boot[64] = "";
	struct stat st;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	out[0] = '\0';
	if (!f)
		return;
	bool ok = fgets(boot, sizeof(boot), f) != NULL;
	fclose(f);
	boot[strcspn(boot, "\n")] = '\0';
	if (!ok || !boot[0] || stat("/proc/self/ns/pid", &st) < 0)
		return;
	snprintf(out, MACHINE_KEY_MAX + 1, "%s/%llu", boot, (unsigned long long)st.st_ino);
}

static void lock_encode(const struct lock_info *li, const char *machine, struct buf *out)
{
	buf_append_le32(out, LOCK_VERSION);
	buf_append_u8(out, (uint8_t)li->kind);
	buf_append_le32(out, li->pid);
	buf_append_le64(out, (uint64_t)li->created);
	buf_append_le64(out, (uint64_t)li->refreshed);
	buf_append_blob32(out, li->host, strlen(li->host));
	buf_append_blob32(out, machine, strlen(machine));
}

int lock_decode(const uint8_t *data, size_t len, struct lock_info *li,
		char machine[LOCK_MACHINE_MAX + 1])
{
	struct rbuf r = rbuf_make(data, len);
	uint32_t hlen, mlen;

	uint32_t version = rbuf_le32(&r);
	uint8_t kind = rbuf_u8(&r);
	li->pid = rbuf_le32(&r);
	li->created = (int64_t)rbuf_le64(&r);
	li->refreshed = (int64_t)rbuf_le64(&r);
	const uint8_t *host = rbuf_blob32(&r, HOST_LEN_MAX, &hlen);
	const uint8_t *mach = rbuf_blob32(&r, MACHINE_KEY_MAX, &mlen);
	if (!rbuf_ok(&r) || rbuf_left(&r) != 0 || version != LOCK_VERSION ||
	    (kind != LOCK_SHARED && kind != LOCK_EXCLUSIVE) || memchr(host, 0, hlen) ||
	    memchr(mach, 0, mlen))
		return -EBADMSG;
	li->kind = (enum lock_kind)kind;
	memcpy(li->host, host, hlen);
	li->host[hlen] = '\0';
	memcpy(machine, mach, mlen);
	machine[mlen] = '\0';
	return 0;
}

static int lock_write(struct repo_lock *l, int64_t refreshed)
{
	AUTOBUF struct buf raw = BUF_INIT;
	AUTOBUF struct buf obj = BUF_INIT;
	struct lock_info li = l->info;
	int r;

	li.refreshed = refreshed;
	lock_encode(&li, l->machine, &raw);
	r = envelope_encode(l->keys, OBJECT_LOCK, raw.ptr, raw.len, 0, NULL, &obj, NULL);
	if (r >= 0)
		r = backend_put(l->backend, l->info.name, obj.ptr, obj.len);
	return r < 0 ? r : 0;
}

static void *refresh_main(void *arg)
{
	struct repo_lock *l = arg;
	unsigned wait_s = LOCK_REFRESH_S;

	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_s;
		pthread_cond_timedwait(&l->wake, &l->lock, &until);
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->lock);
		int64_t t = lock_now();
		int r = lock_write(l, t);
		pthread_mutex_lock(&l->lock);
		if (r == 0) {
			l->info.refreshed = t;
			l->last_ok_ns = now_ns();
			wait_s = LOCK_REFRESH_S;
		} else {
			log_warning_errno(r, "cannot refresh lock '%s'; trying again",
					  l->info.name);
			wait_s = LOCK_RETRY_S;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

static void lock_free(struct repo_lock *l)
{
	if (!l)
		return;
	if (l->has_thread) {
		pthread_mutex_lock(&l->lock);
		l->stop = true;
		pthread_cond_signal(&l->wake);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->thread, NULL);
	}
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->wake);
	free(l);
}

struct exclusive_scan {
	const char *own;
	struct lock_info holder;
	bool found;
};

static int find_exclusive(void *userdata, const struct lock_info *li)
{
	struct exclusive_scan *s = userdata;
	if (strcmp(li->name, s->own) == 0 || li->is_stale || li->kind != LOCK_EXCLUSIVE)
		return 0;
	s->holder = *li;
	s->found = true;
	return 1;
}

int lock_acquire(struct backend *b, const struct crypto_keys *keys, enum lock_kind kind,
		 const char *what, struct repo_lock **ret)
{
	uint8_t rnd[HASH_LEN];
	int r;

	if (backend_is_read_only(b))
		return log_error_errno(-EROFS, "cannot lock '%s' for %s: the backend is read-only",
				       backend_url(b), what);
	r = crypto_random(rnd, sizeof(rnd));
	if (r < 0)
		return r;
	struct repo_lock *l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	l->backend = b;
	l->keys = keys;
	object_name(OBJECT_LOCK, rnd, l->info.name);
	l->info.kind = kind;
	l->info.pid = (uint32_t)getpid();
	if (gethostname(l->info.host, sizeof(l->info.host) - 1) < 0)
		l->info.host[0] = '\0';
	l->info.created = l->info.refreshed = lock_now();
	machine_key(l->machine);

	r = lock_write(l, l->info.created);
	if (r < 0) {
		log_error_errno(r, "cannot write lock '%s' for %s", l->info.name, what);
		lock_free(l);
		return r;
	}
	l->last_ok_ns = now_ns();

	if (kind == LOCK_EXCLUSIVE) {
		struct exclusive_scan s = { .own = l->info.name };
		r = lock_list(b, keys, find_exclusive, &s);
		if (r >= 0 && s.found) {
			char when[SNAPSHOT_TIME_NAME_LEN];
			snapshot_time_name(s.holder.created, when);
			AUTOFREE char *host = str_printable(s.holder.host, strlen(s.holder.host));
			log_error("cannot %s: the repository is locked by another forget or prune "
				  "(host '%s', pid %u, since %s, lock '%s')",
				  what, host, s.holder.pid, when, s.holder.name);
			log_error("hint: wait for it to finish; a lock that its holder stops "
				  "refreshing is ignored %d minutes after its last refresh",
				  LOCK_STALE_S / 60);
			r = -EBUSY;
		}
		if (r < 0) {
			int UNUSED e = backend_delete(b, l->info.name);
			lock_free(l);
			return r;
		}
	}

	/* The refresh thread takes no signals: they belong to the main thread. */
	r = thread_start(&l->thread, refresh_main, l);
	if (r < 0) {
		int UNUSED e = backend_delete(b, l->info.name);
		lock_free(l);
		return log_error_errno(r, "cannot start the lock refresh thread");
	}
	l->has_thread = true;
	*ret = l;
	return 0;
}

void lock_release(struct repo_lock *l)
{
	if (!l)
		return;
	struct backend *b = l->backend;
	char name[LOCK_NAME_LEN];
	memcpy(name, l->info.name, sizeof(name));
	lock_free(l);
	int r = backend_delete(b, name);
	if (r < 0)
		log_warning_errno(r, "cannot remove lock '%s'; it expires by itself in %d minutes",
				  name, LOCK_STALE_S / 60);
}

int lock_verify(struct repo_lock *l)
{
	pthread_mutex_lock(&l->lock);
	uint64_t age = now_ns() - l->last_ok_ns;
	pthread_mutex_unlock(&l->lock);
	if (age / 1000000000u < LOCK_STALE_S / 2)
		return 0;
	log_error("lock '%s' was not refreshed for %" PRIu64 " minutes; a prune elsewhere may "
		  "have taken it for abandoned",
		  l->info.name, age / 60000000000u);
	return -ESTALE;
}

const struct lock_info *lock_self(const struct repo_lock *l)
{
	return &l->info;
}

struct lock_names {
	char **names;
	size_t n, cap;
};

static int collect_lock(void *userdata, const char *name, uint64_t size UNUSED)
{
	struct lock_names *l = userdata;
	if (strlen(name) != LOCK_NAME_LEN - 1)
		return 0; /* not a lock of ours */
	XGROW_ARRAY(l->names, l->cap, l->n + 1);
	l->names[l->n++] = xstrdup(name);
	return 0;
}

/* Fills li from lock object name. -ENOENT when it vanished meanwhile. */
static int read_lock(struct backend *b, const struct crypto_keys *keys, const char *name,
		     const char *own_machine, struct lock_info *li)
{
	AUTOBUF struct buf obj = BUF_INIT;
	AUTOBUF struct buf raw = BUF_INIT;
	char machine[MACHINE_KEY_MAX + 1];
	int r;

	memset(li, 0, sizeof(*li));
	snprintf(li->name, sizeof(li->name), "%s", name);
	r = backend_get(b, name, &obj);
	if (r < 0)
		return r;
	r = object_decode(keys, obj.ptr, obj.len, OBJECT_LOCK, NULL, &raw);
	if (r == 0)
		r = lock_decode(raw.ptr, raw.len, li, machine);
	if (r < 0) {
		/* Unreadable: assume the worst, a backup running since ever. */
		li->kind = LOCK_SHARED;
		li->created = li->refreshed = 0;
		li->is_damaged = true;
		return 0;
	}
	int64_t now = lock_now();
	li->is_stale = li->refreshed < now - LOCK_STALE_S;
	/* A holder on this very machine (same boot, same pid namespace) whose
	 * process is gone will never refresh or remove its lock. */
	if (own_machine[0] && strcmp(machine, own_machine) == 0 && li->pid > 0 &&
	    kill((pid_t)li->pid, 0) < 0 && errno == ESRCH)
		li->is_stale = true;
	return 0;
}

int lock_list(struct backend *b, const struct crypto_keys *keys, lock_list_fn fn, void *userdata)
{
	struct lock_names l = { 0 };
	char machine[MACHINE_KEY_MAX + 1];
	int r;

	machine_key(machine);
	r = backend_list(b, LOCKS_DIR, collect_lock, &l);
	if (r < 0)
		log_error_errno(r, "cannot list the locks of '%s'", backend_url(b));
	for (size_t i = 0; r >= 0 && i < l.n; i++) {
		struct lock_info li;
		r = read_lock(b, keys, l.names[i], machine, &li);
		if (r == -ENOENT) {
			r = 0; /* released meanwhile */
			continue;
		}
		if (r < 0) {
			log_error_errno(r, "cannot read lock '%s'", l.names[i]);
			break;
		}
		if (li.is_damaged)
			log_warning("lock '%s' is damaged; it is taken for a running backup until "
				    "it is removed",
				    li.name);
		r = fn(userdata, &li);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
	return r;
}
