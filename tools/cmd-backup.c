/*
 * cmd-backup.c - cairn backup: store a snapshot of a member from local
 * paths, a tar stream (--tar) or standard input (--stdin NAME [-- CMD]; see
 * backup-source.c), with file selection (select.h), the --before/--after hooks
 * (hook.h), progress on a terminal and a summary (a line on stderr, or a
 * JSON document on stdout with --json). Exit 3 when the snapshot was
 * written without some entries (each reported by path); 1 when the backup
 * or a hook failed, or the backup was interrupted.
 */
#include "ops/backup.h"
#include "cmd.h"
#include "hook.h"
#include "base/log.h"

#include <time.h>

enum {
	OPT_BACKUP_MEMBER = OPT_FIRST_COMMAND_OPTION,
	OPT_TIME,
	OPT_TAG,
	OPT_EXCLUDE,
	OPT_EXCLUDE_FILE,
	OPT_FILES_FROM,
	OPT_ONE_FILE_SYSTEM,
	OPT_EXCLUDE_CACHES,
	OPT_FORCE_READ,
	OPT_BEFORE,
	OPT_AFTER,
	OPT_TAR,
	OPT_STDIN,
	OPT_STRIP_UNSAFE,
};

struct progress_state {
	uint64_t start_ns;
};

static void show_progress(void *userdata, const struct backup_stats *s, const char *path, bool done)
{
	struct progress_state *p = userdata;
	double secs = (double)(now_ns() - p->start_ns) / 1e9;
	char read[16], stored[16];
	size_t len = strlen(path);

	format_size(s->n_read, read);
	format_size(s->n_stored, stored);
	fprintf(stderr,
		"\r\033[K%" PRIu64 " files, %s read (%.0f MiB/s), %s stored, %.0fs%s%s%.40s%s",
		s->n_files, read, secs > 0 ? (double)s->n_read / secs / 1048576 : 0.0, stored, secs,
		len ? " " : "", len > 40 ? "..." : "", len > 40 ? path + len - 37 : path,
		done ? "\n" : "");
}

static void print_summary(const char *member, const char *name, const char *hex,
			  const struct backup_stats *s, double secs)
{
	char rd[16], added[16], stored[16], bytes[16];
	format_size(s->n_bytes, bytes);
	format_size(s->n_read, rd);
	format_size(s->n_new_bytes, added);
	format_size(s->n_stored, stored);
	log_info("snapshot %.8s saved as %s/%s: %" PRIu64 " files (%" PRIu64 " new, %" PRIu64
		 " changed, %" PRIu64 " unchanged), %s; %s read, %s added, %s stored; %.1fs",
		 hex, member, name, s->n_files, s->n_files_new, s->n_files_changed,
		 s->n_files_unchanged, bytes, rd, added, stored, secs);
}

static int print_json(const char *status, const char *member, const char *name, const char *hex,
		      const struct backup_stats *s, double secs)
{
	AUTOBUF struct buf out = BUF_INIT;
	buf_printf(&out, "{\"status\": \"%s\", \"member\": ", status);
	buf_append_json_string(&out, member, strlen(member));
	if (hex) {
		buf_printf(&out, ", \"snapshot_id\": \"%s\", \"name\": ", hex);
		buf_append_json_string(&out, name, strlen(name));
	} else {
		buf_printf(&out, ", \"snapshot_id\": null, \"name\": null");
	}
	buf_printf(&out,
		   ",\n  \"files\": %" PRIu64 ", \"files_new\": %" PRIu64
		   ", \"files_changed\": %" PRIu64 ", \"files_unchanged\": %" PRIu64
		   ", \"dirs\": %" PRIu64 ", \"other\": %" PRIu64 ",\n  \"bytes\": %" PRIu64
		   ", \"bytes_read\": %" PRIu64 ", \"bytes_added\": %" PRIu64
		   ", \"bytes_stored\": %" PRIu64 ", \"chunks\": %" PRIu64
		   ", \"chunks_new\": %" PRIu64 ",\n  \"errors\": %" PRIu64
		   ", \"unstable\": %" PRIu64 ", \"duration_seconds\": %.3f}\n",
		   s->n_files, s->n_files_new, s->n_files_changed, s->n_files_unchanged, s->n_dirs,
		   s->n_other, s->n_bytes, s->n_read, s->n_new_bytes, s->n_stored, s->n_chunks,
		   s->n_new, s->n_errors, s->n_unstable, secs);
	return write_all(STDOUT_FILENO, out.ptr, out.len);
}

struct backup_cli {
	struct backup_options bo;
	const char **tags; /* room for every argument */
	struct progress_state ps;
	struct selection sel;
	const char *before, *after;
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
	select_init(&o->sel);
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
	select_release(&o->sel);
}

static int backup_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct backup_cli *o = ctx->opts;

	switch (opt) {
	case OPT_BACKUP_MEMBER:
		o->bo.member = arg;
		ctx->metrics.member = arg; /* named even if the repository cannot be opened */
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
	case OPT_EXCLUDE:
		if (select_add_exclude(&o->sel, arg) < 0)
			return cmd_usage_error(ctx, "invalid --exclude '%s'", arg);
		o->bo.select = &o->sel;
		return EXIT_OK;
	case OPT_EXCLUDE_FILE:
		if (select_add_exclude_file(&o->sel, arg) < 0)
			return EXIT_USAGE;
		o->bo.select = &o->sel;
		return EXIT_OK;
	case OPT_FILES_FROM:
		if (select_add_files_from(&o->sel, arg) < 0)
			return EXIT_USAGE;
		o->bo.select = &o->sel;
		return EXIT_OK;
	case OPT_ONE_FILE_SYSTEM:
		o->bo.one_file_system = true;
		return EXIT_OK;
	case OPT_EXCLUDE_CACHES:
		o->bo.exclude_caches = true;
		return EXIT_OK;
	case OPT_FORCE_READ:
		o->bo.force_read = true;
		return EXIT_OK;
	case OPT_BEFORE:
		o->before = arg;
		return EXIT_OK;
	case OPT_AFTER:
		o->after = arg;
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
	if ((src->tar || src->stdin_name) &&
	    (bo->select || bo->one_file_system || bo->exclude_caches || bo->force_read))
		return cmd_usage_error(ctx, "--exclude, --exclude-file, --files-from, "
					    "--one-file-system, --exclude-caches and --force-read "
					    "apply to PATHs, not to --tar or --stdin");
	if (!src->tar && !src->stdin_name && n_paths < 1)
		return cmd_usage_error(ctx, "no PATH to back up");
	if (o->sel.has_includes && !o->sel.include_all && o->sel.included.n == 0)
		return cmd_usage_error(ctx, "the --files-from list names no path");
	bo->paths = (const char *const *)ctx->args;
	bo->n_paths = (size_t)n_paths;
	if (cmd_progress_wanted(ctx)) {
		bo->progress = show_progress;
		bo->progress_data = &o->ps;
	}
	return EXIT_OK;
}

/* Runs the backup itself: EXIT_OK, EXIT_PARTIAL or EXIT_FAILURE_; fills
 * ret_hex (empty on failure). */
static int run_backup(struct cmd_ctx *ctx, char ret_hex[HASH_HEX_LEN + 1])
{
	struct backup_cli *o = ctx->opts;
	struct backup_result res = { 0 };
	uint64_t start = now_ns();
	char name[SNAPSHOT_NAME_MAX] = "";
	int r;

	ret_hex[0] = '\0';
	if (o->src.tar || o->src.stdin_name)
		r = backup_from_source(ctx->repo, ctx->cat, &o->bo, &o->src, &res);
	else
		r = backup_run(ctx->repo, ctx->cat, &o->bo, &res);
	double secs = (double)(now_ns() - start) / 1e9;
	ctx->metrics.bytes_read = res.stats.n_read;
	ctx->metrics.bytes_added = res.stats.n_new_bytes;
	ctx->metrics.bytes_stored = res.stats.n_stored;
	ctx->metrics.files = res.stats.n_files;
	ctx->metrics.errors = res.stats.n_errors;
	if (r == 0) {
		struct cat_snapshot s;
		hex_encode(res.snap_id, HASH_LEN, ret_hex);
		if (catalog_find_snapshot_by_prefix(ctx->cat, ret_hex, &s) == 0)
			snprintf(name, sizeof(name), "%s", s.name);
		print_summary(o->bo.member, name, ret_hex, &res.stats, secs);
		if (res.stats.n_errors > 0)
			log_warning("%" PRIu64 " entries could not be read and are missing from "
				    "the snapshot",
				    res.stats.n_errors);
	}
	if (ctx->json &&
	    print_json(r < 0		    ? "failure"
		       : res.stats.n_errors ? "partial"
					    : "success",
		       o->bo.member, name, r < 0 ? NULL : ret_hex, &res.stats, secs) < 0)
		r = r < 0 ? r : -EIO;
	if (r < 0)
		return EXIT_FAILURE_;
	return res.stats.n_errors > 0 ? EXIT_PARTIAL : EXIT_OK;
}

/* --before, the backup, and --after whatever happened once --before
 * started. The repository is open by now: one that cannot be reached
 * fails the backup before any service is stopped. */
static int backup_run_cmd(struct cmd_ctx *ctx)
{
	struct backup_cli *o = ctx->opts;
	char hex[HASH_HEX_LEN + 1] = "";
	int status = EXIT_OK, r;

	hook_catch_signals();
	o->bo.cancel = &hook_signal;
	AUTOFREE char *env_member = xasprintf("CAIRN_MEMBER=%s", o->bo.member);
	if (o->before) {
		const char *env[] = { env_member };
		r = hook_run("--before", o->before, env, ARRAY_SIZE(env));
		if (r != 0) {
			if (r > 0)
				log_error("the --before command failed (exit status %d); nothing "
					  "was backed up",
					  r);
			status = EXIT_FAILURE_;
		} else if (hook_signal) {
			log_error("interrupted by signal %d; nothing was backed up",
				  (int)hook_signal);
			status = EXIT_FAILURE_;
		}
	}
	if (status == EXIT_OK)
		status = run_backup(ctx, hex);
	if (o->after) {
		AUTOFREE char *env_status =
			xasprintf("CAIRN_BACKUP_STATUS=%s",
				  status == EXIT_FAILURE_ ? "failure" : "success");
		AUTOFREE char *env_id = xasprintf("CAIRN_SNAPSHOT_ID=%s", hex);
		const char *env[] = { env_member, env_status, env_id };
		r = hook_run("--after", o->after, env, ARRAY_SIZE(env));
		if (r != 0) {
			if (r > 0)
				log_error("the --after command failed (exit status %d)", r);
			status = EXIT_FAILURE_;
		}
	}
	return status;
}

const struct cmd_def cmd_backup = {
	.usage =
		"cairn backup -r REPO --member M [--time TS] [--tag T]... [--force-read] [--json]\n"
		"             [--metrics-file FILE]\n"
		"             [SELECT] [HOOKS] PATH...\n"
		"       cairn backup -r REPO --member M [...] [HOOKS] --tar FILE|- [--strip-unsafe]\n"
		"       cairn backup -r REPO --member M [...] [HOOKS] --stdin NAME [-- CMD [ARG]...]\n"
		"  SELECT: [--exclude PATTERN]... [--exclude-file F]... [--files-from F]...\n"
		"          [--one-file-system] [--exclude-caches]\n"
		"  HOOKS:  [--before CMD] [--after CMD]",
	.options =
		(const struct option[]){
			{ "member", required_argument, NULL, OPT_BACKUP_MEMBER },
			{ "time", required_argument, NULL, OPT_TIME },
			{ "tag", required_argument, NULL, OPT_TAG },
			{ "exclude", required_argument, NULL, OPT_EXCLUDE },
			{ "exclude-file", required_argument, NULL, OPT_EXCLUDE_FILE },
			{ "files-from", required_argument, NULL, OPT_FILES_FROM },
			{ "one-file-system", no_argument, NULL, OPT_ONE_FILE_SYSTEM },
			{ "exclude-caches", no_argument, NULL, OPT_EXCLUDE_CACHES },
			{ "force-read", no_argument, NULL, OPT_FORCE_READ },
			{ "before", required_argument, NULL, OPT_BEFORE },
			{ "after", required_argument, NULL, OPT_AFTER },
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
