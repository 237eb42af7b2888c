/*
 * cairnfs.c - main() of the FUSE daemon: mounts a cairn repository
 * read-only at MOUNTPOINT.
 *
 *   cairnfs REPO MOUNTPOINT [-f] [-d] [-s] [-o allow_other,cache_size=SIZE,refresh=SECONDS,
 *                                             readahead=SIZE,disk_cache=DIR,
 *                                             disk_cache_size=SIZE,...]
 *
 * For remote repositories -o also takes timeout=, connect_timeout=,
 * retries=, s3_endpoint=, s3_path_style, cacert= and insecure_tls (the
 * struct backend_options of store/backend/backend.h); a fetch from the store gives
 * up after timeout seconds (FS_TIMEOUT_DEFAULT), so a read of a store that
 * stopped answering fails with EIO instead of hanging. When it ends the
 * daemon logs how many backend requests and bytes the mount cost.
 *
 * Startup is ordered so that every error a user can fix is printed on the
 * terminal, with a hint, before anything is mounted, and so that nothing
 * that cannot survive fork() exists when fuse_daemonize() forks: parse the
 * command line (usage errors exit 2), create the session (which checks
 * FUSE's own options), check the mountpoint, open the repository and sync
 * its snapshot list into the catalog (reading the password of an encrypted
 * one: -o password_file=, $CAIRN_PASSWORD, $CAIRN_PASSWORD_FILE, or a
 * prompt on the terminal), mount, daemonize (the command returns
 * only now, with the mount ready), switch logging to syslog unless -f, then
 * start the threads and serve. SIGINT and SIGTERM (even when inherited as
 * ignored, as a shell does for background jobs), SIGHUP unless ignored, and
 * `fusermount3 -u` end the loop; the daemon then stops its
 * threads, unmounts and exits 0. A failure after daemonizing is logged
 * and exits 1.
 *
 * mount(8) and fstab: `mount -t fuse.cairnfs REPO MNT -o OPTS` runs
 * mount.fuse3, which runs `cairnfs REPO MNT -o OPTS`. What only mount(8),
 * systemd or the fstab line mean (_netdev, nofail, noauto, auto, user,
 * users, nouser, defaults, rw, comment=, x-*) is accepted and dropped here,
 * so one options string serves both; rw is dropped because the mount is
 * read-only whatever it says. Secrets never travel in the options string:
 * credentials_file=F names an AWS credentials file (it becomes
 * $AWS_SHARED_CREDENTIALS_FILE, with profile= as $AWS_PROFILE), refused
 * when group or others may read it; cache_dir= sets $CAIRN_CACHE_DIR, for
 * mounts started where the environment cannot be set.
 *
 * Local repository paths and cache directories (-o disk_cache= too) are
 * made absolute first,
 * because fuse_daemonize() changes to the root directory.
 */
#include "fs-ops.h"
#include "fs.h"
#include "base/log.h"
#include "base/parse.h"

#include <fuse_opt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define EXIT_USAGE 2
#define FS_MALLOC_ARENAS 2
#define FS_MALLOC_MMAP_MIN (128 << 10) /* glibc's default, made fixed */

struct cmdline {
	char *repo;		/* first non-option argument */
	char *cache_size;	/* -o cache_size= */
	char *refresh;		/* -o refresh= */
	char *timeout;		/* -o timeout= */
	char *connect_timeout;	/* -o connect_timeout= */
	char *retries;		/* -o retries= */
	char *s3_endpoint;	/* -o s3_endpoint= */
	char *cacert;		/* -o cacert= */
	int s3_path_style;	/* -o s3_path_style */
	int insecure_tls;	/* -o insecure_tls */
	char *readahead;	/* -o readahead= */
	char *disk_cache;	/* -o disk_cache= */
	char *disk_cache_size;	/* -o disk_cache_size= */
	char *credentials_file; /* -o credentials_file= */
	char *profile;		/* -o profile= */
	char *cache_dir;	/* -o cache_dir= */
	char *password_file;	/* -o password_file= */
};

#define OPT(templ, field, value)                              \
	{                                                     \
		templ, offsetof(struct cmdline, field), value \
	}
static const struct fuse_opt cmdline_spec[] = {
	OPT("cache_size=%s", cache_size, 0),
	OPT("refresh=%s", refresh, 0),
	OPT("timeout=%s", timeout, 0),
	OPT("connect_timeout=%s", connect_timeout, 0),
	OPT("retries=%s", retries, 0),
	OPT("s3_endpoint=%s", s3_endpoint, 0),
	OPT("cacert=%s", cacert, 0),
	OPT("s3_path_style", s3_path_style, 1),
	OPT("insecure_tls", insecure_tls, 1),
	OPT("readahead=%s", readahead, 0),
	OPT("disk_cache=%s", disk_cache, 0),
	OPT("disk_cache_size=%s", disk_cache_size, 0),
	OPT("credentials_file=%s", credentials_file, 0),
	OPT("profile=%s", profile, 0),
	OPT("cache_dir=%s", cache_dir, 0),
	OPT("password_file=%s", password_file, 0),
	FUSE_OPT_END,
};
#undef OPT

/* True for an option that only mount(8), systemd or fstab give meaning to. */
static bool is_fstab_option(const char *opt)
{
	static const char *const names[] = { "_netdev", "nofail", "noauto",   "auto", "user",
					     "users",	"nouser", "defaults", "rw" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(opt, names[i]) == 0)
			return true;
	return strncmp(opt, "x-", 2) == 0 || strncmp(opt, "comment=", 8) == 0;
}

static int take_repo(void *data, const char *arg, int key, struct fuse_args *outargs UNUSED)
{
	struct cmdline *cl = data;

	if (key == FUSE_OPT_KEY_OPT && is_fstab_option(arg))
		return 0; /* dropped */
	if (key == FUSE_OPT_KEY_NONOPT && !cl->repo) {
		cl->repo = xstrdup(arg);
		return 0; /* consumed; the next non-option is the mountpoint */
	}
	return 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cairnfs REPO MOUNTPOINT [-f] [-d] [-s] [-o OPTION[,OPTION...]]\n"
		"\n"
		"Mounts the cairn repository REPO read-only at MOUNTPOINT.\n"
		"\n"
		"cairnfs options:\n"
		"    -o cache_size=SIZE     memory for decoded chunks (default 256M)\n"
		"    -o refresh=SECONDS     look for new snapshots this often (default 60, 0 never)\n"
		"    -o readahead=SIZE      prefetch up to this far ahead of a sequential reader\n"
		"                           (default 32M, at most a quarter of cache_size, 0 off)\n"
		"    -o disk_cache=DIR      keep fetched chunks in DIR too, across remounts\n"
		"    -o disk_cache_size=SIZE  at most this much in DIR (default 1G)\n"
		"    -o allow_other         let other users in (owners and modes are enforced)\n"
		"    -o password_file=FILE  the password of an encrypted repository (mode 0600;\n"
		"                           else $CAIRN_PASSWORD, $CAIRN_PASSWORD_FILE, a prompt)\n"
		"    -o cache_dir=DIR       the catalog cache (else $CAIRN_CACHE_DIR, $XDG_CACHE_HOME)\n"
		"\n"
		"fstab and mount(8) (mount -t fuse.cairnfs REPO MOUNTPOINT -o ...):\n"
		"    _netdev, nofail, noauto, auto, user, users, nouser, defaults, rw, comment=,\n"
		"    x-systemd.* and other x-* options are accepted and ignored by cairnfs\n"
		"\n"
		"remote repositories (s3://, http://, https://):\n"
		"    -o timeout=SECONDS     a read that needs the store fails with EIO after this,\n"
		"                           retries included (default %d)\n"
		"    -o connect_timeout=SECONDS  bound on one connection attempt (default 10)\n"
		"    -o retries=N           attempts after the first for a failed request (default 4)\n"
		"    -o s3_endpoint=URL     S3 endpoint (else $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL)\n"
		"    -o s3_path_style       path-style S3 addressing\n"
		"    -o cacert=FILE         also trust the CA certificates in FILE\n"
		"    -o insecure_tls        do not verify TLS certificates\n"
		"    -o credentials_file=FILE  AWS credentials file (mode 0600) for s3://\n"
		"    -o profile=NAME        the profile in it (else $AWS_PROFILE, default)\n"
		"\n",
		FS_TIMEOUT_DEFAULT);
}

/* Makes a relative local path absolute (fuse_daemonize() changes to /).
 * URLs and absolute paths come back unchanged; a path that does not resolve
 * too, so that repo_open() can say what is wrong with it. */
static char *absolute_repo(const char *repo)
{
	const char *path = repo;
	char resolved[PATH_MAX];

	if (strncmp(repo, "file://", 7) == 0)
		path = repo + 7;
	else if (strstr(repo, "://"))
		return xstrdup(repo);
	if (path[0] == '/' || !realpath(path, resolved))
		return xstrdup(repo);
	return path == repo ? xstrdup(resolved) : xasprintf("file://%s", resolved);
}

static void absolute_env(const char *name)
{
	const char *v = getenv(name);
	char resolved[PATH_MAX];

	if (v && *v && v[0] != '/' && realpath(v, resolved))
		setenv(name, resolved, 1);
}

static int check_mountpoint(const char *mountpoint)
{
	struct stat st;

	if (stat(mountpoint, &st) < 0) {
		int r = -errno;
		log_error_errno(r, "cannot mount on '%s'", mountpoint);
		if (r == -ENOENT)
			log_error("hint: create it first: mkdir -p '%s'", mountpoint);
		else if (r == -ENOTCONN)
			log_error("hint: a dead mount is in the way: fusermount3 -u '%s'",
				  mountpoint);
		return r;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_error("cannot mount on '%s': not a directory", mountpoint);
		return -ENOTDIR;
	}
	return 0;
}

/* Parses -o NAME=SECONDS (1 s up to a day) into *ret. */
static int parse_seconds(const char *name, const char *value, unsigned *ret)
{
	uint64_t v;

	if (!value)
		return 0;
	if (parse_duration(value, &v) < 0 || v < 1 || v > 86400) {
		log_error("bad %s '%s': want seconds from 1 to 86400, like 30 or 2m", name, value);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

static int parse_options(const struct cmdline *cl, struct fs_options *ret)
{
	uint64_t v;

	*ret = (struct fs_options){ .cache_size = CACHE_BUDGET_DEFAULT,
				    .refresh_s = FS_REFRESH_DEFAULT,
				    .backend = {
					    .s3_endpoint = cl->s3_endpoint,
					    .s3_path_style = cl->s3_path_style,
					    .insecure_tls = cl->insecure_tls,
					    .cacert = cl->cacert,
					    .timeout_s = FS_TIMEOUT_DEFAULT,
				    },
				    .readahead = FS_READAHEAD_DEFAULT };
	if (parse_seconds("timeout", cl->timeout, &ret->backend.timeout_s) < 0 ||
	    parse_seconds("connect_timeout", cl->connect_timeout, &ret->backend.connect_timeout_s) <
		    0)
		return -EINVAL;
	if (cl->retries) {
		if (parse_uint(cl->retries, &v) < 0 || v < 1 || v > 20) {
			log_error("bad retries '%s': want a count from 1 to 20", cl->retries);
			return -EINVAL;
		}
		ret->backend.retries = (unsigned)v;
	}
	if (cl->cache_size) {
		if (parse_size(cl->cache_size, &v) < 0 || v < (1u << 20)) {
			log_error("bad cache_size '%s': want a size of at least 1M, like 256M or 2G",
				  cl->cache_size);
			return -EINVAL;
		}
		ret->cache_size = v;
	}
	if (cl->refresh) {
		if (parse_duration(cl->refresh, &v) < 0 || v > UINT32_MAX) {
			log_error("bad refresh '%s': want seconds, like 60 or 5m (0 to never refresh)",
				  cl->refresh);
			return -EINVAL;
		}
		ret->refresh_s = (unsigned)v;
	}
	if (cl->readahead) {
		if (parse_size(cl->readahead, &v) < 0 || v > (1ull << 40)) {
			log_error("bad readahead '%s': want a size, like 32M (0 turns prefetching off)",
				  cl->readahead);
			return -EINVAL;
		}
		ret->readahead = v;
	}
	if (cl->disk_cache_size && !cl->disk_cache) {
		log_error("disk_cache_size needs disk_cache=DIR too");
		return -EINVAL;
	}
	if (cl->disk_cache) {
		if (!cl->disk_cache[0]) {
			log_error("bad disk_cache '': want a directory, like ~/.cache/cairnfs");
			return -EINVAL;
		}
		ret->disk_cache = cl->disk_cache;
		ret->disk_cache_size = DISK_CACHE_SIZE_DEFAULT;
	}
	if (cl->disk_cache_size) {
		if (parse_size(cl->disk_cache_size, &v) < 0 || v < (1u << 20)) {
			log_error("bad disk_cache_size '%s': want a size of at least 1M, like 1G",
				  cl->disk_cache_size);
			return -EINVAL;
		}
		ret->disk_cache_size = v;
	}
	return 0;
}

/* Turns credentials_file=, profile= and cache_dir= into the environment
 * the store reads them from. */
static int apply_environment(const struct cmdline *cl)
{
	struct stat st;

	if (cl->credentials_file) {
		if (stat(cl->credentials_file, &st) < 0) {
			log_error_errno(-errno, "cannot use credentials_file '%s'",
					cl->credentials_file);
			return -EINVAL;
		}
		if (st.st_mode & 0077) {
			log_error("refusing credentials_file '%s': group or others may read it",
				  cl->credentials_file);
			log_error("hint: chmod 600 '%s'", cl->credentials_file);
			return -EINVAL;
		}
		setenv("AWS_SHARED_CREDENTIALS_FILE", cl->credentials_file, 1);
	}
	if (cl->profile)
		setenv("AWS_PROFILE", cl->profile, 1);
	if (cl->cache_dir) {
		if (!cl->cache_dir[0]) {
			log_error("bad cache_dir '': want a directory, like /var/cache/cairn");
			return -EINVAL;
		}
		setenv("CAIRN_CACHE_DIR", cl->cache_dir, 1);
	}
	return 0;
}

/* What the mount cost in backend requests and bytes, for measurements. */
static void log_backend_stats(struct fs *fs)
{
	struct backend_stats st;

	if (!fs->repo)
		return;
	backend_get_stats(repo_backend(fs->repo), &st);
	log_info("backend: %" PRIu64 " requests (%" PRIu64 " reads, %" PRIu64 " listings), %" PRIu64
		 " bytes in",
		 st.n_requests, st.n_get, st.n_list, st.bytes_in);
}

/* Keeps the heap small: glibc would give each of the many threads an arena
 * of its own, where memory freed by other threads (a chunk fetched by a
 * worker and evicted by a reader) stays. The cache maps its chunk buffers
 * itself, so what remains in the heap is small and short-lived.
 *
 * And keeps large blocks out of it: glibc raises its mmap threshold to the
 * size of each large block freed (up to 32 MiB), after which the cache's
 * run buffers (the stored bytes of one fetch, up to 4 MiB) come from the
 * heap, where they stay resident once freed. Setting the threshold turns
 * that off: blocks of FS_MALLOC_MMAP_MIN or more are mapped, go back to the
 * kernel when freed, and keep their pages when realloc() grows them.
 * Random reads with cache_size=32M peaked at 74 MiB without this, 62 MiB
 * with it (tests/integration/mount-memory-bound.sh). */
static void limit_malloc(void)
{
	mallopt(M_ARENA_MAX, FS_MALLOC_ARENAS);
	mallopt(M_MMAP_THRESHOLD, FS_MALLOC_MMAP_MIN);
}

static int serve(struct fuse_session *se, const struct fuse_cmdline_opts *o)
{
	struct fuse_loop_config *cfg;
	int r;

	if (o->singlethread)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned)o->clone_fd);
	fuse_loop_cfg_set_max_threads(cfg, o->max_threads);
	if (o->max_idle_threads != UINT_MAX) /* libfuse's "no limit" */
		fuse_loop_cfg_set_idle_threads(cfg, o->max_idle_threads);
	r = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return r;
}

static void cmdline_release(struct cmdline *cl)
{
	free(cl->repo);
	free(cl->cache_size);
	free(cl->refresh);
	free(cl->timeout);
	free(cl->connect_timeout);
	free(cl->retries);
	free(cl->s3_endpoint);
	free(cl->cacert);
	free(cl->readahead);
	free(cl->disk_cache);
	free(cl->disk_cache_size);
	free(cl->credentials_file);
	free(cl->profile);
	free(cl->cache_dir);
	free(cl->password_file);
}

static void cmdline_opts_release(struct fuse_cmdline_opts *o)
{
	free(o->mountpoint);
}

static void session_destroyp(struct fuse_session **se)
{
	if (*se)
		fuse_session_destroy(*se);
}

int main(int argc, char *argv[])
{
	CLEANUP(fuse_opt_free_args) struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	CLEANUP(cmdline_release) struct cmdline cl = { 0 };
	CLEANUP(cmdline_opts_release) struct fuse_cmdline_opts o = { 0 };
	struct fs_options fo;
	CLEANUP(fs_freep) struct fs *fs = NULL;
	CLEANUP(session_destroyp) struct fuse_session *se = NULL; /* destroyed before fs */
	AUTOFREE char *repo = NULL;
	char mountpoint[PATH_MAX];
	int r, status = 1;

	/* The daemon holds the repository's keys for its whole life: no core
	 * dump and no ptrace by other users may reach them. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_setup("cairnfs", LOG_TARGET_STDERR, LOG_INFO);
	limit_malloc();
	/* A copy libfuse may grow; ours first, so the user's -o may override fsname. */
	r = fuse_opt_add_arg(&args, argv[0]);
	if (r == 0)
		r = fuse_opt_add_arg(&args, "-oro,default_permissions,fsname=cairn,subtype=cairn");
	for (int i = 1; r == 0 && i < argc; i++)
		r = fuse_opt_add_arg(&args, argv[i]);
	if (r < 0 || fuse_opt_parse(&args, &cl, cmdline_spec, take_repo) < 0 ||
	    fuse_parse_cmdline(&args, &o) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.show_help) {
		usage(stdout);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		return 0;
	}
	if (o.show_version) {
		printf("cairnfs %s\n", CAIRN_VERSION);
		fuse_lowlevel_version();
		return 0;
	}
	if (!cl.repo || !o.mountpoint) {
		log_error("%s", !cl.repo ? "missing REPO and MOUNTPOINT" : "missing MOUNTPOINT");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (cl.cacert && cl.cacert[0] != '/') {
		char resolved[PATH_MAX];
		if (realpath(cl.cacert, resolved)) {
			free(cl.cacert);
			cl.cacert = xstrdup(resolved);
		}
	}
	if (cl.disk_cache && cl.disk_cache[0] && cl.disk_cache[0] != '/') {
		/* It may not exist yet: made absolute, not resolved. */
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd))) {
			char *abs = xasprintf("%s/%s", cwd, cl.disk_cache);
			free(cl.disk_cache);
			cl.disk_cache = abs;
		}
	}
	if (apply_environment(&cl) < 0 || parse_options(&cl, &fo) < 0) {
		return EXIT_USAGE;
	}
	if (o.debug)
		log_setup("cairnfs", LOG_TARGET_STDERR, LOG_DEBUG);

	r = fs_new(&fo, (uint32_t)getuid(), (uint32_t)getgid(), &fs);
	if (r < 0)
		return status;
	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), fs);
	if (!se) {
		/* libfuse said which option it did not take */
		log_error("hint: see 'cairnfs --help' for the options");
		return EXIT_USAGE;
	}
	if (check_mountpoint(o.mountpoint) < 0)
		return status;
	repo = absolute_repo(cl.repo);
	absolute_env("CAIRN_CACHE_DIR");
	absolute_env("XDG_CACHE_HOME");
	absolute_env("AWS_SHARED_CREDENTIALS_FILE");
	absolute_env("AWS_CONFIG_FILE");

	/* Before daemonizing: the password may come from the terminal. */
	if (fs_open_repo(fs, repo, cl.password_file) < 0)
		return status;
	/* A shell starts background jobs with SIGINT ignored, and libfuse only
	 * takes over signals left at their default: SIGINT and SIGTERM must
	 * unmount however cairnfs was started. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (fuse_set_signal_handlers(se) < 0) {
		log_error("cannot install signal handlers");
		return status;
	}
	if (fuse_session_mount(se, o.mountpoint) < 0) {
		/* libfuse printed why */
		log_error("cannot mount '%s' on '%s'", repo, o.mountpoint);
		log_error("hint: is /dev/fuse there and fusermount3 installed? "
			  "Is '%s' already a mount?",
			  o.mountpoint);
		fuse_remove_signal_handlers(se);
		return status;
	}
	if (realpath(o.mountpoint, mountpoint))
		fs_find_device(fs, mountpoint);
	fuse_daemonize(o.foreground);
	if (!o.foreground)
		log_setup("cairnfs", LOG_TARGET_SYSLOG, o.debug ? LOG_DEBUG : LOG_INFO);

	r = fs_start(fs);
	if (r == 0) {
		log_info("serving '%s' on '%s'", repo, o.mountpoint);
		r = serve(se, &o);
		if (r < 0)
			log_error_errno(r, "the FUSE session failed");
		else
			status = 0; /* unmounted, or a signal: both are a clean end */
	}
	fs_stop(fs);
	fuse_remove_signal_handlers(se);
	fuse_session_unmount(se);
	log_backend_stats(fs);
	return status;
}
