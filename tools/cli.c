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

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

/* What a common option does to struct cmd_ctx (as fuse_opt fills typed
 * fields by offset). */
enum common_action {
	SET_STRING, /* the field, a const char *, gets the argument */
	SET_TRUE,   /* the field, a bool, becomes true */
	ADD_ONE,    /* the field, an int, goes up by one */
	SUB_ONE,    /* ... or down */
	SHOW_HELP,  /* prints the usage and this table's help, and exits 0 */
};

struct common_option {
	struct option opt; /* for getopt_long(); a letter as val is the short option too */
	unsigned flag;	   /* offered only to commands with this CMD_ flag; 0: to all */
	enum common_action action;
	size_t field;	  /* offsetof(struct cmd_ctx, ...) that the action writes */
	const char *help; /* its words in --help; NULL: only in the usage lines */
};

/* One line of the table: long name, argument, getopt value, CMD_ flag,
 * action, field of struct cmd_ctx, words for --help. */
#define COMMON(name, arg, val, flag, action, field, help)                                     \
	{                                                                                     \
		{ name, arg, NULL, val }, flag, action, offsetof(struct cmd_ctx, field), help \
	}

/* The options the commands share; one line here (and a field in struct
 * cmd_ctx) adds one. --help lists them in this order. */
static const struct common_option common_options[] = {
	COMMON("json", no_argument, OPT_JSON, CMD_JSON, SET_TRUE, json, NULL),
	COMMON("member", required_argument, OPT_MEMBER, CMD_MEMBER, SET_STRING, member, NULL),
	COMMON("repo", required_argument, 'r', 0, SET_STRING, repo_name,
	       "-r/--repo REPO (or $CAIRN_REPO)"),
	COMMON("s3-endpoint", required_argument, OPT_S3_ENDPOINT, 0, SET_STRING, bo.s3_endpoint,
	       "--s3-endpoint URL"),
	COMMON("s3-path-style", no_argument, OPT_S3_PATH_STYLE, 0, SET_TRUE, bo.s3_path_style,
	       "--s3-path-style"),
	COMMON("insecure-tls", no_argument, OPT_INSECURE_TLS, 0, SET_TRUE, bo.insecure_tls,
	       "--insecure-tls"),
	COMMON("cacert", required_argument, OPT_CACERT, 0, SET_STRING, bo.cacert, "--cacert FILE"),
	COMMON("password-file", required_argument, OPT_PASSWORD_FILE, CMD_REPO, SET_STRING,
	       password_file, "--password-file FILE"),
	COMMON("verbose", no_argument, 'v', 0, ADD_ONE, verbosity, "-v/--verbose"),
	COMMON("quiet", no_argument, 'q', 0, SUB_ONE, verbosity, "-q/--quiet"),
	COMMON("help", no_argument, OPT_HELP, 0, SHOW_HELP, verbosity, NULL),
};

/* Lines of --help wrap before this column. */
#define HELP_WIDTH 84

static bool offered(const struct command *cmd, const struct common_option *o)
{
	return (cmd->flags & o->flag) == o->flag;
}

static void show_help(const struct cmd_ctx *ctx)
{
	const char *sep = "common options:";
	size_t col = 0, n_help = 0, done = 0;

	for (size_t i = 0; i < ARRAY_SIZE(common_options); i++)
		n_help += common_options[i].help != NULL;
	printf("usage: %s\n%s", ctx->usage, sep);
	col = strlen(sep);
	for (size_t i = 0; i < ARRAY_SIZE(common_options); i++) {
		const char *help = common_options[i].help;
		if (!help)
			continue;
		bool last = ++done == n_help;
		size_t need = 1 + strlen(help) + !last;
		if (col + need > HELP_WIDTH) {
			printf("\n ");
			col = 1;
		}
		printf(" %s%s", help, last ? "" : ",");
		col += need;
	}
	printf("\nsee cairn(1)\n");
}

/* Handles an option every command shares. Returns 1 if it was one, 0 if
 * not, and exits for --help. */
static int common_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(common_options); i++) {
		const struct common_option *o = &common_options[i];
		char *field = (char *)ctx + o->field;

		if (o->opt.val != opt || !offered(ctx->cmd, o))
			continue;
		switch (o->action) {
		case SET_STRING:
			*(const char **)(void *)field = arg;
			break;
		case SET_TRUE:
			*(bool *)field = true;
			break;
		case ADD_ONE:
			(*(int *)(void *)field)++;
			break;
		case SUB_ONE:
			(*(int *)(void *)field)--;
			break;
		case SHOW_HELP:
			show_help(ctx);
			exit(EXIT_OK);
		}
		return 1;
	}
	return 0;
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

/* The command's long options followed by the common ones offered to it, as
 * one getopt_long() table (malloc'd), and the short options (malloc'd). */
static struct option *option_table(const struct command *cmd, char **ret_short)
{
	const struct cmd_def *def = cmd->def;
	AUTOBUF struct buf short_options = BUF_INIT;
	size_t n_own = 0, n = 0;

	while (def->options && def->options[n_own].name)
		n_own++;
	struct option *t = xcalloc(n_own + ARRAY_SIZE(common_options) + 1, sizeof(*t));
	for (size_t i = 0; i < n_own; i++)
		t[n++] = def->options[i];
	for (size_t i = 0; i < ARRAY_SIZE(common_options); i++) {
		const struct common_option *o = &common_options[i];
		if (!offered(cmd, o))
			continue;
		t[n++] = o->opt;
		if (o->opt.val < 0x80 && isalpha(o->opt.val)) {
			buf_append_u8(&short_options, (uint8_t)o->opt.val);
			if (o->opt.has_arg == required_argument)
				buf_append_u8(&short_options, ':');
		}
	}
	if (def->short_options)
		buf_append(&short_options, def->short_options, strlen(def->short_options));
	buf_append_u8(&short_options, '\0');
	*ret_short = (char *)buf_detach(&short_options, NULL);
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
	if (r == 0)
		r = repo_unlock_with(ctx->repo, ctx->password_file);
	if (r < 0 || (ctx->cmd->flags & CMD_CATALOG) != CMD_CATALOG)
		return r;
	r = repo_catalog_open(ctx->repo, &ctx->cat);
	if (r == 0)
		r = repo_sync(ctx->repo, ctx->cat, NULL);
	return r;
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

/* Step 8. With report and -v, first says what backend requests and bytes
 * the command cost (not after a failure to open: nothing to speak of). */
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
	XGROW_ARRAY(a->v, a->cap, a->n + 1);
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
