/*
 * cmd-import.c - cairn import: existing tar archives become snapshots,
 * either named one by one for a member, or a whole DIR/<member>/<archive>
 * folder at once (store/ops/import.c does the work and says why it is
 * idempotent). Exit 1 when any archive could not be imported; the others
 * are imported all the same.
 */
#include "ops/import.h"
#include "cmd.h"
#include "base/log.h"

enum { OPT_MEMBER = OPT_FIRST_COMMAND_OPTION, OPT_LAYOUT, OPT_TIME, OPT_STRIP_UNSAFE };

struct progress_state {
	uint64_t start_ns;
};

static void show_progress(void *userdata, const struct backup_stats *s, bool done)
{
	struct progress_state *p = userdata;
	(void)done;
	cmd_progress_line(p->start_ns, "files", s->n_files, 0, s->n_read, 0, false);
}

int cmd_import(int argc, char **argv)
{
	static const struct option options[] = {
		{ "member", required_argument, NULL, OPT_MEMBER },
		{ "layout", required_argument, NULL, OPT_LAYOUT },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "strip-unsafe", no_argument, NULL, OPT_STRIP_UNSAFE },
		COMMON_OPTIONS,
	};
	struct cmd_ctx ctx = {
		.prog = "cairn import",
		.usage = "cairn import -r REPO --member M [--time TS] [--strip-unsafe] ARCHIVE...\n"
			 "       cairn import -r REPO --layout DIR [--strip-unsafe]",
	};
	struct import_options io = { 0 };
	struct import_result res = { 0 };
	struct progress_state ps = { now_ns() };
	struct repo *repo = NULL;
	struct catalog *cat = NULL;
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORT, options, NULL)) != -1) {
		if (cmd_common_option(&ctx, opt, optarg))
			continue;
		switch (opt) {
		case OPT_MEMBER:
			io.member = optarg;
			break;
		case OPT_LAYOUT:
			io.layout = optarg;
			break;
		case OPT_TIME:
			if (snapshot_time_parse(optarg, &io.time_sec) < 0)
				return cmd_usage_error(&ctx,
						       "invalid --time '%s' (use UTC like "
						       "2026-11-22T205328Z or @UNIXSECONDS)",
						       optarg);
			break;
		case OPT_STRIP_UNSAFE:
			io.strip_unsafe = true;
			break;
		default:
			return cmd_usage_error(&ctx, "unknown option");
		}
	}
	r = cmd_finish_options(&ctx);
	if (r != EXIT_OK)
		return r;
	if (io.layout) {
		if (io.member || optind < argc || io.time_sec)
			return cmd_usage_error(&ctx, "--layout DIR takes no --member, --time or "
						     "ARCHIVE (members are its folders, times the "
						     "archives' names)");
	} else {
		if (!io.member)
			return cmd_usage_error(&ctx, "--member (or --layout DIR) is required");
		if (!member_name_is_valid(io.member))
			return cmd_usage_error(&ctx,
					       "invalid member name '%s' (letters, digits, '.', "
					       "'_', '-'; starting with a letter or digit)",
					       io.member);
		if (optind >= argc)
			return cmd_usage_error(&ctx, "no ARCHIVE to import");
		io.archives = (const char *const *)argv + optind;
		io.n_archives = (size_t)(argc - optind);
	}
	if (progress_wanted() && ctx.verbosity >= 0) {
		io.progress = show_progress;
		io.progress_data = &ps;
	}

	r = cmd_open(&ctx, &repo, &cat);
	if (r < 0)
		return EXIT_FAILURE_;
	r = import_run(repo, cat, &io, &res);
	if (progress_wanted() && ctx.verbosity >= 0)
		fprintf(stderr, "\r\033[K");
	char bytes[16], stored[16];
	format_size(res.n_bytes, bytes);
	format_size(res.n_stored, stored);
	log_info("%" PRIu64 " archives imported (%s read, %s new in the repository), %" PRIu64
		 " already imported, %" PRIu64 " failed",
		 res.n_imported, bytes, stored, res.n_skipped, res.n_failed);
	cmd_close(&ctx, repo, cat);
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}
