/*
 * cli.c - what every cairn subcommand shares, so that the options, the
 * operands, the error wording and the exit statuses are the same
 * everywhere: cmd_main() parses the common options and hands the command's
 * own to it, takes and resolves SNAP [PATH], opens the repository and its
 * catalog, runs the command and closes them (the steps and their order are
 * in cmd.h). A command never sees getopt's state nor opens anything itself.
 */
#include "cmd.h"
#include "base/log.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

/* The long options every command takes, then those some do (by flag). */
static const struct option common_options[] = {
	{ "repo", required_argument, NULL, 'r' },
	{ "s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT },
	{ "s3-path-style", no_argument, NULL, OPT_S3_PATH_STYLE },
	{ "insecure-tls", no_argument, NULL, OPT_INSECURE_TLS },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, OPT_HELP },
};
#define COMMON_SHORT "r:vq"
static const struct option json_option = { "json", no_argument, NULL, OPT_JSON };
static const struct option member_option = { "member", required_argument, NULL, OPT_MEMBER };

/* Handles an option every command shares. Returns 1 if it was one, 0 if
 * not, and exits for --help. */
static int common_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	switch (opt) {
	case 'r':
		ctx->repo_name = arg;
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
	case 'v':
		ctx->verbosity++;
		return 1;
	case 'q':
		ctx->verbosity--;
		return 1;
	case OPT_JSON:
		ctx->json = true;
		return 1;
	case OPT_MEMBER:
		ctx->member = arg;
		return 1;
	case OPT_HELP:
		printf("usage: %s\n", ctx->usage);
		printf("common options: -r/--repo REPO (or $CAIRN_REPO), --s3-endpoint URL, "
		       "--s3-path-style,\n  --insecure-tls, --cacert FILE, -v/--verbose, "
		       "-q/--quiet\nsee cairn(1)\n");
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

int cmd_failure(const struct cmd_ctx *ctx)
{
	return ctx->cmd->flags & CMD_TROUBLE_2 ? EXIT_USAGE : EXIT_FAILURE_;
}

/* The command's long options followed by the common ones its flags ask
 * for, as one getopt_long() table (malloc'd), and the short options. */
static struct option *option_table(const struct command *cmd, char **ret_short)
{
	const struct cmd_def *def = cmd->def;
	size_t n_own = 0, n = 0;

	while (def->options && def->options[n_own].name)
		n_own++;
	struct option *t = xcalloc(n_own + ARRAY_SIZE(common_options) + 3, sizeof(*t));
	for (size_t i = 0; i < n_own; i++)
		t[n++] = def->options[i];
	if (cmd->flags & CMD_JSON)
		t[n++] = json_option;
	if ((cmd->flags & CMD_MEMBER) == CMD_MEMBER)
		t[n++] = member_option;
	for (size_t i = 0; i < ARRAY_SIZE(common_options); i++)
		t[n++] = common_options[i];
	*ret_short = xasprintf(COMMON_SHORT "%s", def->short_options ? def->short_options : "");
	return t;
}

/* Steps 1 to 4 of cmd.h: everything before the repository is opened. */
static int parse(struct cmd_ctx *ctx)
{
	const struct command *cmd = ctx->cmd;
	const struct cmd_def *def = cmd->def;
	AUTOFREE char *short_options = NULL;
	AUTOFREE struct option *options = option_table(cmd, &short_options);
	int opt, r;

	while ((opt = getopt_long(ctx->argc, ctx->argv, short_options, options, NULL)) != -1) {
		if (common_option(ctx, opt, optarg))
			continue;
		if (opt == '?' || !def->option)
			return cmd_usage_error(ctx, "unknown option");
		r = def->option(ctx, opt, optarg);
		if (r != EXIT_OK)
			return r;
	}
	ctx->args = ctx->argv + optind;
	ctx->n_args = ctx->argc - optind;

	if ((cmd->flags & CMD_NO_OPERANDS) && ctx->n_args > 0)
		return cmd_usage_error(ctx, "unexpected argument '%s'", ctx->args[0]);
	if (def->operands) {
		r = def->operands(ctx);
		if (r != EXIT_OK)
			return r;
	}

	int level = LOG_INFO + ctx->verbosity;
	if (level < LOG_ERR)
		level = LOG_ERR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	log_setup("cairn", LOG_TARGET_STDERR, level);
	if ((cmd->flags & CMD_REPO) && !ctx->repo_name) {
		const char *env = getenv("CAIRN_REPO");
		if (env && *env)
			ctx->repo_name = env;
		if (!ctx->repo_name)
			return cmd_usage_error(ctx,
					       "no repository given (use -r REPO or set CAIRN_REPO)");
	}

	if ((cmd->flags & CMD_SNAP) == CMD_SNAP) {
		if (ctx->n_args < 1)
			return cmd_usage_error(ctx, "no SNAP given");
		if (ctx->n_args > 2)
			return cmd_usage_error(ctx, "unexpected argument '%s'", ctx->args[2]);
		ctx->snap_ref = ctx->args[0];
		ctx->path = ctx->n_args == 2 ? ctx->args[1] : "";
	}
	return def->check ? def->check(ctx) : EXIT_OK;
}

/* 0 when --member names a member with snapshots; else logs that it does
 * not, naming the members that exist, and returns -ENOENT. */
static int check_member(struct cmd_ctx *ctx)
{
	struct cat_snapshot s;
	int64_t id;
	int r = catalog_member_id(ctx->cat, ctx->member, &id);
	if (r != -ENOENT)
		return r;
	AUTOFREE char *ref = xasprintf("%s/latest", ctx->member);
	r = cmd_resolve_snapshot(ctx, ref, false, &s); /* fails, naming the members */
	return r < 0 ? r : -ENOENT;
}

/* Step 5: opens the repository, and its catalog brought in step with it.
 * Errors are logged. */
static int open_repository(struct cmd_ctx *ctx)
{
	int r = repo_open(ctx->repo_name, &ctx->bo, &ctx->repo);
	if (r < 0 || (ctx->cmd->flags & CMD_CATALOG) != CMD_CATALOG)
		return r;
	r = repo_catalog_open(ctx->repo, &ctx->cat);
	if (r == 0)
		r = repo_sync(ctx->repo, ctx->cat, NULL);
	return r;
}

/* Step 8. report: with -v, first say what backend requests and bytes the
 * command cost (not after a failure to open, which cost nothing to speak of). */
static void close_repository(struct cmd_ctx *ctx, bool report)
{
	if (ctx->repo && report && ctx->verbosity > 0) {
		struct backend_stats st;
		char in[16], out[16];
		backend_get_stats(repo_backend(ctx->repo), &st);
		format_size(st.bytes_in, in);
		format_size(st.bytes_out, out);
		log_info("backend: %" PRIu64 " requests (%" PRIu64 " reads, %" PRIu64
			 " writes, %" PRIu64 " listings), %s in, %s out",
			 st.n_requests, st.n_get, st.n_put, st.n_list, in, out);
	}
	catalog_close(TAKE(ctx->cat));
	repo_close(TAKE(ctx->repo));
}

/* Steps 5 and 6; errors are logged. */
static int open_and_resolve(struct cmd_ctx *ctx)
{
	unsigned flags = ctx->cmd->flags;
	int r = open_repository(ctx);
	if (r < 0) {
		close_repository(ctx, false);
		return r;
	}
	if (ctx->member && (flags & CMD_MEMBER) == CMD_MEMBER)
		r = check_member(ctx);
	if (r == 0 && (flags & CMD_SNAP) == CMD_SNAP)
		r = cmd_resolve_snapshot(ctx, ctx->snap_ref, false, &ctx->snap);
	if (r < 0)
		close_repository(ctx, true);
	return r;
}

int cmd_main(const struct command *cmd, int argc, char **argv)
{
	const struct cmd_def *def = cmd->def;
	AUTOFREE void *opts = def->opts_size ? xcalloc(1, def->opts_size) : NULL;
	struct cmd_ctx ctx = {
		.cmd = cmd,
		.usage = def->usage,
		.argc = argc,
		.argv = argv,
		.opts = opts,
	};
	int r;

	snprintf(ctx.prog, sizeof(ctx.prog), "cairn %s", cmd->name);
	if (def->init)
		def->init(&ctx);
	r = parse(&ctx);
	if (r == EXIT_OK) {
		if ((cmd->flags & CMD_OPEN) == CMD_OPEN && open_and_resolve(&ctx) < 0) {
			r = cmd_failure(&ctx);
		} else {
			r = def->run(&ctx);
			close_repository(&ctx, true);
		}
	}
	if (def->release)
		def->release(&ctx);
	return r;
}

int cmd_resolve_snapshot(struct cmd_ctx *ctx, const char *ref, bool quiet, struct cat_snapshot *ret)
{
	if (quiet)
		return repo_lookup_snapshot(ctx->cat, ref, ret);
	return repo_resolve_snapshot(ctx->repo, ctx->cat, ref, ret);
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

bool cmd_progress_wanted(const struct cmd_ctx *ctx)
{
	return isatty(STDERR_FILENO) == 1 && ctx->verbosity >= 0;
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
