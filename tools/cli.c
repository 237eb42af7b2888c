/*
 * cli.c - option handling and repository opening shared by every cairn
 * subcommand, so that -r, the backend options and the error wording are the
 * same everywhere.
 */
#include "cmd.h"
#include "base/log.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

int cmd_common_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	switch (opt) {
	case 'r':
		ctx->repo = arg;
		return 1;
	case OPT_S3_ENDPOINT:
		ctx->bo.s3_endpoint = arg;
		return 1;
	case OPT_S3_PATH_STYLE:
		ctx->bo.s3_path_style = true;
		return 1;
	case OPT_INSECURE_TLS:
		ctx->bo.insecure_tls = true;
		return 1;
	case OPT_CACERT:
		ctx->bo.cacert = arg;
		return 1;
	case OPT_PASSWORD_FILE:
		ctx->password_file = arg;
		return 1;
	case 'v':
		ctx->verbosity++;
		return 1;
	case 'q':
		ctx->verbosity--;
		return 1;
	case OPT_HELP:
		printf("usage: %s\n", ctx->usage);
		printf("common options: -r/--repo REPO (or $CAIRN_REPO), --s3-endpoint URL, "
		       "--s3-path-style,\n  --insecure-tls, --cacert FILE, --password-file FILE, "
		       "-v/--verbose, -q/--quiet\nsee cairn(1)\n");
		exit(EXIT_OK);
	default:
		return 0;
	}
}

int cmd_usage_error(const struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", ctx->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n", ctx->usage);
	return EXIT_USAGE;
}

int cmd_finish_options(struct cmd_ctx *ctx)
{
	int level = LOG_INFO + ctx->verbosity;
	if (level < LOG_ERR)
		level = LOG_ERR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	log_setup("cairn", LOG_TARGET_STDERR, level);
	if (!ctx->repo) {
		const char *env = getenv("CAIRN_REPO");
		if (env && *env)
			ctx->repo = env;
	}
	if (!ctx->repo)
		return cmd_usage_error(ctx, "no repository given (use -r REPO or set CAIRN_REPO)");
	return EXIT_OK;
}

int cmd_open(struct cmd_ctx *ctx, struct repo **ret_repo, struct catalog **ret_cat)
{
	struct repo *repo = NULL;
	struct catalog *cat = NULL;
	int r;

	r = repo_open(ctx->repo, &ctx->bo, &repo);
	if (r < 0)
		return r;
	r = repo_unlock_with(repo, ctx->password_file);
	if (r == 0)
		r = repo_catalog_open(repo, &cat);
	if (r == 0)
		r = repo_sync(repo, cat, NULL);
	if (r < 0) {
		catalog_close(cat);
		repo_close(repo);
		return r;
	}
	*ret_repo = repo;
	*ret_cat = cat;
	return 0;
}

int cmd_parse_kdf_params(const char *s, struct scrypt_params *ret)
{
	unsigned long long n;
	unsigned r, p;
	int used = 0;

	if (sscanf(s, "%llu,%u,%u%n", &n, &r, &p, &used) != 3 || s[used] != '\0')
		return -EINVAL;
	struct scrypt_params k = { .n = n, .r = r, .p = p };
	if (crypto_scrypt_params_check(&k) < 0)
		return -EINVAL;
	*ret = k;
	return 0;
}

void cmd_close(const struct cmd_ctx *ctx, struct repo *repo, struct catalog *cat)
{
	if (repo && ctx->verbosity > 0) {
		struct backend_stats st;
		char in[16], out[16];
		backend_get_stats(repo_backend(repo), &st);
		format_size(st.bytes_in, in);
		format_size(st.bytes_out, out);
		log_info("backend: %" PRIu64 " requests (%" PRIu64 " reads, %" PRIu64
			 " writes, %" PRIu64 " listings), %s in, %s out",
			 st.n_requests, st.n_get, st.n_put, st.n_list, in, out);
	}
	catalog_close(cat);
	repo_close(repo);
}

int cmd_snap_operands(const struct cmd_ctx *ctx, int argc, char **argv, const char **ret_snap,
		      const char **ret_path)
{
	if (optind >= argc)
		return cmd_usage_error(ctx, "no SNAP given");
	if (argc - optind > 2)
		return cmd_usage_error(ctx, "unexpected argument '%s'", argv[optind + 2]);
	*ret_snap = argv[optind];
	*ret_path = argc - optind == 2 ? argv[optind + 1] : "";
	return EXIT_OK;
}

void cmd_progress_line(uint64_t start_ns, const char *what, uint64_t n, uint64_t total_n,
		       uint64_t bytes, uint64_t total_bytes, bool done)
{
	double secs = (double)(now_ns() - start_ns) / 1e9;
	double rate = secs > 0 ? (double)bytes / secs : 0;
	char b[16], tb[16], count[48] = "", eta[32] = "";

	format_size(bytes, b);
	format_size(total_bytes, tb);
	if (total_n)
		snprintf(count, sizeof(count), "/%" PRIu64, total_n);
	if (total_bytes > bytes && rate > 0 && !done)
		snprintf(eta, sizeof(eta), ", ETA %.0fs", (double)(total_bytes - bytes) / rate);
	fprintf(stderr, "\r\033[K%" PRIu64 "%s %s, %s%s%s (%.0f MiB/s), %.0fs%s%s", n, count, what,
		b, total_bytes ? "/" : "", total_bytes ? tb : "", rate / 1048576, secs, eta,
		done ? "\n" : "");
}

bool progress_wanted(void)
{
	return isatty(STDERR_FILENO) == 1;
}

void format_iso_time(int64_t sec, uint32_t nsec, char out[40])
{
	struct tm tm;
	time_t t = (time_t)sec;
	gmtime_r(&t, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%09uZ", nsec);
}

const char *mode_type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "symlink";
	case S_IFIFO:
		return "fifo";
	case S_IFCHR:
		return "char";
	case S_IFBLK:
		return "block";
	case S_IFSOCK:
		return "socket";
	default:
		return "unknown";
	}
}

int cmd_check_member(struct repo *repo, struct catalog *cat, const char *member)
{
	struct cat_snapshot s;
	int64_t id;
	int r = catalog_member_id(cat, member, &id);
	if (r != -ENOENT)
		return r;
	AUTOFREE char *ref = xasprintf("%s/latest", member);
	r = repo_resolve_snapshot(repo, cat, ref, &s); /* fails, naming the members */
	return r < 0 ? r : -ENOENT;
}

struct snapshot_array {
	struct cat_snapshot *v;
	size_t n, cap;
};

static int add_snapshot(void *userdata, const struct cat_snapshot *s)
{
	struct snapshot_array *a = userdata;
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = *s;
	return 0;
}

int cmd_list_snapshots(struct catalog *cat, const char *member, struct cat_snapshot **ret,
		       size_t *ret_n)
{
	struct snapshot_array a = { 0 };
	int r = catalog_list_snapshots(cat, member, add_snapshot, &a);
	if (r < 0) {
		free(a.v);
		return r;
	}
	*ret = a.v;
	*ret_n = a.n;
	return 0;
}

int cmd_load_trees(struct repo *repo, struct catalog *cat, struct cat_snapshot *snaps, size_t n)
{
	size_t missing = 0;
	int r = 0;

	for (size_t i = 0; i < n; i++)
		missing += !snaps[i].loaded;
	if (missing)
		log_info("loading %zu snapshot tree%s into the local catalog (fetched from the "
			 "repository once)",
			 missing, missing == 1 ? "" : "s");
	for (size_t i = 0; r == 0 && i < n; i++)
		r = repo_ensure_tree(repo, cat, &snaps[i]);
	return r;
}
