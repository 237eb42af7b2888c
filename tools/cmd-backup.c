/*
 * cmd-backup.c - cairn backup: store a snapshot of a member from local
 * paths, a tar stream (--tar) or standard input (--stdin NAME [-- CMD]; see
 * backup-source.c). Exit 3 when the snapshot was written without some
 * entries (each reported by path).
 */
#include "ops/backup.h"
#include "cmd.h"
#include "base/log.h"

#include <time.h>

enum {
	OPT_BACKUP_MEMBER = OPT_FIRST_COMMAND_OPTION,
	OPT_TIME,
	OPT_TAG,
	OPT_TAR,
	OPT_STDIN,
	OPT_STRIP_UNSAFE,
};

struct progress_state {
	uint64_t start_ns;
};

static void show_progress(void *userdata, const struct backup_stats *s, bool done)
{
	struct progress_state *p = userdata;
	double secs = (double)(now_ns() - p->start_ns) / 1e9;
	char read[16], stored[16];

	format_size(s->n_read, read);
	format_size(s->n_stored, stored);
	fprintf(stderr, "\r\033[K%" PRIu64 " files, %s read (%.0f MiB/s), %s stored, %.0fs%s",
		s->n_files, read, secs > 0 ? (double)s->n_read / secs / 1048576 : 0.0, stored, secs,
		done ? "\n" : "");
}

struct backup_cli {
	struct backup_options bo;
	const char **tags; /* room for every argument */
	struct progress_state ps;
	struct backup_source src;
	char **after_dashes; /* the words after "--", NULL-terminated, or NULL */
	int n_after_dashes;
};

static void backup_init(struct cmd_ctx *ctx)
{
	struct backup_cli *o = ctx->opts;
	o->tags = xcalloc((size_t)ctx->argc, sizeof(char *));
	o->bo.tags = o->tags;
	o->ps.start_ns = now_ns();
	/* With --stdin, what follows "--" is CMD: noted before the parser
	 * permutes argv (the words after "--" end up last among the operands). */
	for (int i = 1; i < ctx->argc; i++) {
		if (strcmp(ctx->argv[i], "--") == 0) {
			o->n_after_dashes = ctx->argc - i - 1;
			o->after_dashes = xcalloc((size_t)o->n_after_dashes + 1, sizeof(char *));
			memcpy(o->after_dashes, ctx->argv + i + 1,
			       (size_t)o->n_after_dashes * sizeof(char *));
			break;
		}
	}
}

static void backup_release(struct cmd_ctx *ctx)
{
	struct backup_cli *o = ctx->opts;
	free(o->tags);
	free(o->after_dashes);
}

static int backup_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct backup_cli *o = ctx->opts;

	switch (opt) {
	case OPT_BACKUP_MEMBER:
		o->bo.member = arg;
		return EXIT_OK;
	case OPT_TIME:
		if (snapshot_time_parse(arg, &o->bo.time_sec) < 0)
			return cmd_usage_error(ctx,
					       "invalid --time '%s' (use UTC like "
					       "2026-11-22T205328Z or @UNIXSECONDS)",
					       arg);
		return EXIT_OK;
	case OPT_TAG:
		if (!*arg || strchr(arg, ',') || strlen(arg) > TAG_LEN_MAX ||
		    o->bo.n_tags >= TAGS_MAX)
			return cmd_usage_error(ctx,
					       "invalid --tag '%s' (1..%d bytes, no commas, "
					       "at most %d tags)",
					       arg, TAG_LEN_MAX, TAGS_MAX);
		o->tags[o->bo.n_tags++] = arg;
		return EXIT_OK;
	case OPT_TAR:
		o->src.tar = arg;
		return EXIT_OK;
	case OPT_STDIN:
		o->src.stdin_name = arg;
		return EXIT_OK;
	case OPT_STRIP_UNSAFE:
		o->src.strip_unsafe = true;
		return EXIT_OK;
	}
	return cmd_usage_error(ctx, "unknown option");
}

static int backup_check(struct cmd_ctx *ctx)
{
	struct backup_cli *o = ctx->opts;
	struct backup_options *bo = &o->bo;

	if (!bo->member)
		return cmd_usage_error(ctx, "--member is required");
	if (!member_name_is_valid(bo->member))
		return cmd_usage_error(ctx,
				       "invalid member name '%s' (letters, digits, '.', '_', '-'; "
				       "starting with a letter or digit)",
				       bo->member);
	struct backup_source *src = &o->src;
	int n_paths = ctx->n_args;
	if (src->tar && src->stdin_name)
		return cmd_usage_error(ctx, "--tar and --stdin exclude each other");
	if (src->strip_unsafe && !src->tar)
		return cmd_usage_error(ctx, "--strip-unsafe applies to --tar only");
	if (src->stdin_name && !name_is_valid_component(src->stdin_name, strlen(src->stdin_name)))
		return cmd_usage_error(ctx,
				       "invalid --stdin name '%s' (one file name: no '/', not "
				       "'.' or '..')",
				       src->stdin_name);
	if (src->stdin_name && o->after_dashes) {
		n_paths -= o->n_after_dashes;
		if (n_paths > 0 || o->n_after_dashes == 0)
			return cmd_usage_error(ctx, "--stdin NAME takes no PATH; give the command "
						    "after '--'");
		src->cmd = o->after_dashes;
	}
	if ((src->tar || src->stdin_name) && n_paths > 0)
		return cmd_usage_error(ctx, "--tar and --stdin take no PATH");
	if (!src->tar && !src->stdin_name && n_paths < 1)
		return cmd_usage_error(ctx, "no PATH to back up");
	bo->paths = (const char *const *)ctx->args;
	bo->n_paths = (size_t)n_paths;
	if (cmd_progress_wanted(ctx)) {
		bo->progress = show_progress;
		bo->progress_data = &o->ps;
	}
	return EXIT_OK;
}

static int backup_run_cmd(struct cmd_ctx *ctx)
{
	struct backup_cli *o = ctx->opts;
	struct backup_result res;
	int r;

	if (o->src.tar || o->src.stdin_name)
		r = backup_from_source(ctx->repo, ctx->cat, &o->bo, &o->src, &res);
	else
		r = backup_run(ctx->repo, ctx->cat, &o->bo, &res);
	if (r < 0)
		return EXIT_FAILURE_;
	char hex[HASH_HEX_LEN + 1], bytes[16], stored[16];
	hex_encode(res.snap_id, HASH_LEN, hex);
	format_size(res.stats.n_bytes, bytes);
	format_size(res.stats.n_stored, stored);
	struct cat_snapshot s;
	const char *name = catalog_find_snapshot_by_prefix(ctx->cat, hex, &s) == 0 ? s.name : "";
	log_info("snapshot %.8s saved as %s/%s: %" PRIu64 " files, %s, %s new in the "
		 "repository",
		 hex, o->bo.member, name, res.stats.n_files, bytes, stored);
	if (res.stats.n_errors > 0) {
		log_warning("%" PRIu64 " entries could not be read and are missing from "
			    "the snapshot",
			    res.stats.n_errors);
		return EXIT_PARTIAL;
	}
	return EXIT_OK;
}

const struct cmd_def cmd_backup = {
	.usage = "cairn backup -r REPO --member M [--time TS] [--tag T]... PATH...\n"
		 "       cairn backup -r REPO --member M [...] --tar FILE|- [--strip-unsafe]\n"
		 "       cairn backup -r REPO --member M [...] --stdin NAME [-- CMD [ARG]...]",
	.options =
		(const struct option[]){
			{ "member", required_argument, NULL, OPT_BACKUP_MEMBER },
			{ "time", required_argument, NULL, OPT_TIME },
			{ "tag", required_argument, NULL, OPT_TAG },
			{ "tar", required_argument, NULL, OPT_TAR },
			{ "stdin", required_argument, NULL, OPT_STDIN },
			{ "strip-unsafe", no_argument, NULL, OPT_STRIP_UNSAFE },
			{ NULL, 0, NULL, 0 },
		},
	.opts_size = sizeof(struct backup_cli),
	.init = backup_init,
	.option = backup_option,
	.check = backup_check,
	.run = backup_run_cmd,
	.release = backup_release,
};
