/*
 * cmd-backup.c - cairn backup: store a snapshot of a member from local
 * paths. Exit 3 when the snapshot was written without some entries (each
 * reported by path).
 */
#include "ops/backup.h"
#include "cmd.h"
#include "base/log.h"

#include <time.h>

enum { OPT_MEMBER = OPT_FIRST_COMMAND_OPTION, OPT_TIME, OPT_TAG };

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

int cmd_backup(int argc, char **argv)
{
	static const struct option options[] = {
		{ "member", required_argument, NULL, OPT_MEMBER },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "tag", required_argument, NULL, OPT_TAG },
		METRICS_OPTION,
		COMMON_OPTIONS,
	};
	struct cmd_ctx ctx = {
		.prog = "cairn backup",
		.usage =
			"cairn backup -r REPO --member M [--time TS] [--tag T]... [--metrics-file FILE] PATH...",
	};
	struct backup_options bo = { 0 };
	struct progress_state ps = { now_ns() };
	AUTOFREE const char **tags = xcalloc((size_t)argc, sizeof(char *));
	struct repo *repo = NULL;
	struct catalog *cat = NULL;
	struct backup_result res = { 0 };
	const char *metrics_file = NULL;
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORT, options, NULL)) != -1) {
		if (cmd_common_option(&ctx, opt, optarg))
			continue;
		switch (opt) {
		case OPT_MEMBER:
			bo.member = optarg;
			break;
		case OPT_TIME:
			if (snapshot_time_parse(optarg, &bo.time_sec) < 0)
				return cmd_usage_error(&ctx,
						       "invalid --time '%s' (use UTC like "
						       "2026-11-22T205328Z or @UNIXSECONDS)",
						       optarg);
			break;
		case OPT_TAG:
			if (!*optarg || strchr(optarg, ',') || strlen(optarg) > TAG_LEN_MAX ||
			    bo.n_tags >= TAGS_MAX)
				return cmd_usage_error(&ctx,
						       "invalid --tag '%s' (1..%d bytes, no commas, "
						       "at most %d tags)",
						       optarg, TAG_LEN_MAX, TAGS_MAX);
			tags[bo.n_tags++] = optarg;
			break;
		case OPT_METRICS_FILE:
			metrics_file = optarg;
			break;
		default:
			return cmd_usage_error(&ctx, "unknown option");
		}
	}
	r = cmd_finish_options(&ctx);
	if (r != EXIT_OK)
		return r;
	if (!bo.member)
		return cmd_usage_error(&ctx, "--member is required");
	if (!member_name_is_valid(bo.member))
		return cmd_usage_error(&ctx,
				       "invalid member name '%s' (letters, digits, '.', '_', '-'; "
				       "starting with a letter or digit)",
				       bo.member);
	if (optind >= argc)
		return cmd_usage_error(&ctx, "no PATH to back up");
	bo.paths = (const char *const *)argv + optind;
	bo.n_paths = (size_t)(argc - optind);
	bo.tags = tags;
	if (progress_wanted() && ctx.verbosity >= 0) {
		bo.progress = show_progress;
		bo.progress_data = &ps;
	}

	r = cmd_open(&ctx, &repo, &cat);
	if (r < 0)
		return EXIT_FAILURE_;
	r = backup_run(repo, cat, &bo, &res);
	if (r == 0) {
		char hex[HASH_HEX_LEN + 1], bytes[16], stored[16];
		hex_encode(res.snap_id, HASH_LEN, hex);
		format_size(res.stats.n_bytes, bytes);
		format_size(res.stats.n_stored, stored);
		struct cat_snapshot s;
		const char *name = catalog_find_snapshot_by_prefix(cat, hex, &s) == 0 ? s.name : "";
		log_info("snapshot %.8s saved as %s/%s: %" PRIu64 " files, %s, %s new in the "
			 "repository",
			 hex, bo.member, name, res.stats.n_files, bytes, stored);
		if (res.stats.n_errors > 0)
			log_warning("%" PRIu64 " entries could not be read and are missing from "
				    "the snapshot",
				    res.stats.n_errors);
	}
	struct metrics_run m = {
		.command = "backup",
		.member = bo.member,
		.success = r == 0 && res.stats.n_errors == 0,
		.bytes_read = res.stats.n_read,
		.bytes_added = res.stats.n_new_bytes,
		.bytes_stored = res.stats.n_stored,
		.files = res.stats.n_files,
		.errors = r < 0 ? 1 : res.stats.n_errors,
	};
	cmd_write_metrics(&ctx, metrics_file, &m, ps.start_ns);
	cmd_close(&ctx, repo, cat);
	if (r < 0)
		return EXIT_FAILURE_;
	return res.stats.n_errors > 0 ? EXIT_PARTIAL : EXIT_OK;
}
