/*
 * cmd-backup.c - cairn backup: store a snapshot of a member from local
 * paths, with file selection (select.h), the --before/--after hooks
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
	OPT_MEMBER = OPT_FIRST_COMMAND_OPTION,
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
	OPT_JSON,
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

struct backup_cmd {
	struct cmd_ctx ctx;
	struct backup_options bo;
	struct selection sel;
	const char *before, *after;
	bool json;
};

/* Runs the backup itself: 0, EXIT_PARTIAL or EXIT_FAILURE_; fills *ret_hex
 * (empty on failure). */
static int run_backup(struct backup_cmd *c, char ret_hex[HASH_HEX_LEN + 1])
{
	struct repo *repo = NULL;
	struct catalog *cat = NULL;
	struct backup_result res = { 0 };
	uint64_t start = now_ns();
	char name[SNAPSHOT_NAME_MAX] = "";
	int r;

	ret_hex[0] = '\0';
	r = cmd_open(&c->ctx, &repo, &cat);
	if (r < 0)
		return EXIT_FAILURE_;
	r = backup_run(repo, cat, &c->bo, &res);
	double secs = (double)(now_ns() - start) / 1e9;
	if (r == 0) {
		struct cat_snapshot s;
		hex_encode(res.snap_id, HASH_LEN, ret_hex);
		if (catalog_find_snapshot_by_prefix(cat, ret_hex, &s) == 0)
			snprintf(name, sizeof(name), "%s", s.name);
		print_summary(c->bo.member, name, ret_hex, &res.stats, secs);
		if (res.stats.n_errors > 0)
			log_warning("%" PRIu64 " entries could not be read and are missing from "
				    "the snapshot",
				    res.stats.n_errors);
	}
	if (c->json && print_json(r < 0		       ? "failure"
				  : res.stats.n_errors ? "partial"
						       : "success",
				  c->bo.member, name, r < 0 ? NULL : ret_hex, &res.stats, secs) < 0)
		r = r < 0 ? r : -EIO;
	cmd_close(&c->ctx, repo, cat);
	if (r < 0)
		return EXIT_FAILURE_;
	return res.stats.n_errors > 0 ? EXIT_PARTIAL : EXIT_OK;
}

/* --before, the backup, and --after whatever happened once --before
 * started. */
static int run_with_hooks(struct backup_cmd *c)
{
	char hex[HASH_HEX_LEN + 1] = "";
	int status = EXIT_OK, r;

	hook_catch_signals();
	c->bo.cancel = &hook_signal;
	AUTOFREE char *env_member = xasprintf("CAIRN_MEMBER=%s", c->bo.member);
	if (c->before) {
		const char *env[] = { env_member };
		r = hook_run("--before", c->before, env, ARRAY_SIZE(env));
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
		status = run_backup(c, hex);
	if (c->after) {
		AUTOFREE char *env_status =
			xasprintf("CAIRN_BACKUP_STATUS=%s",
				  status == EXIT_FAILURE_ ? "failure" : "success");
		AUTOFREE char *env_id = xasprintf("CAIRN_SNAPSHOT_ID=%s", hex);
		const char *env[] = { env_member, env_status, env_id };
		r = hook_run("--after", c->after, env, ARRAY_SIZE(env));
		if (r != 0) {
			if (r > 0)
				log_error("the --after command failed (exit status %d)", r);
			status = EXIT_FAILURE_;
		}
	}
	return status;
}

int cmd_backup(int argc, char **argv)
{
	static const struct option options[] = {
		{ "member", required_argument, NULL, OPT_MEMBER },
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
		{ "json", no_argument, NULL, OPT_JSON },
		COMMON_OPTIONS,
	};
	struct backup_cmd c = {
		.ctx = {
			.prog = "cairn backup",
			.usage = "cairn backup -r REPO --member M [--time TS] [--tag T]... "
				 "[--exclude PATTERN]... [--exclude-file F]... [--files-from F]... "
				 "[--one-file-system] [--exclude-caches] [--force-read] "
				 "[--before CMD] [--after CMD] [--json] PATH...",
		},
	};
	struct progress_state ps = { now_ns() };
	AUTOFREE const char **tags = xcalloc((size_t)argc, sizeof(char *));
	int opt, r;

	select_init(&c.sel);
	CLEANUP(select_releasep) struct selection *sel = &c.sel;
	while ((opt = getopt_long(argc, argv, COMMON_SHORT, options, NULL)) != -1) {
		if (cmd_common_option(&c.ctx, opt, optarg))
			continue;
		switch (opt) {
		case OPT_MEMBER:
			c.bo.member = optarg;
			break;
		case OPT_TIME:
			if (snapshot_time_parse(optarg, &c.bo.time_sec) < 0)
				return cmd_usage_error(&c.ctx,
						       "invalid --time '%s' (use UTC like "
						       "2026-11-22T205328Z or @UNIXSECONDS)",
						       optarg);
			break;
		case OPT_TAG:
			if (!*optarg || strchr(optarg, ',') || strlen(optarg) > TAG_LEN_MAX ||
			    c.bo.n_tags >= TAGS_MAX)
				return cmd_usage_error(&c.ctx,
						       "invalid --tag '%s' (1..%d bytes, no commas, "
						       "at most %d tags)",
						       optarg, TAG_LEN_MAX, TAGS_MAX);
			tags[c.bo.n_tags++] = optarg;
			break;
		case OPT_EXCLUDE:
			if (select_add_exclude(sel, optarg) < 0)
				return cmd_usage_error(&c.ctx, "invalid --exclude '%s'", optarg);
			c.bo.select = sel;
			break;
		case OPT_EXCLUDE_FILE:
			if (select_add_exclude_file(sel, optarg) < 0)
				return EXIT_USAGE;
			c.bo.select = sel;
			break;
		case OPT_FILES_FROM:
			if (select_add_files_from(sel, optarg) < 0)
				return EXIT_USAGE;
			c.bo.select = sel;
			break;
		case OPT_ONE_FILE_SYSTEM:
			c.bo.one_file_system = true;
			break;
		case OPT_EXCLUDE_CACHES:
			c.bo.exclude_caches = true;
			break;
		case OPT_FORCE_READ:
			c.bo.force_read = true;
			break;
		case OPT_BEFORE:
			c.before = optarg;
			break;
		case OPT_AFTER:
			c.after = optarg;
			break;
		case OPT_JSON:
			c.json = true;
			break;
		default:
			return cmd_usage_error(&c.ctx, "unknown option");
		}
	}
	r = cmd_finish_options(&c.ctx);
	if (r != EXIT_OK)
		return r;
	if (!c.bo.member)
		return cmd_usage_error(&c.ctx, "--member is required");
	if (!member_name_is_valid(c.bo.member))
		return cmd_usage_error(&c.ctx,
				       "invalid member name '%s' (letters, digits, '.', '_', '-'; "
				       "starting with a letter or digit)",
				       c.bo.member);
	if (optind >= argc)
		return cmd_usage_error(&c.ctx, "no PATH to back up");
	if (sel->has_includes && !sel->include_all && sel->included.n == 0)
		return cmd_usage_error(&c.ctx, "the --files-from list names no path");
	c.bo.paths = (const char *const *)argv + optind;
	c.bo.n_paths = (size_t)(argc - optind);
	c.bo.tags = tags;
	if (progress_wanted() && c.ctx.verbosity >= 0) {
		c.bo.progress = show_progress;
		c.bo.progress_data = &ps;
	}
	return run_with_hooks(&c);
}
