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

enum {
	OPT_IMPORT_MEMBER = OPT_FIRST_COMMAND_OPTION,
	OPT_LAYOUT,
	OPT_TIME,
	OPT_STRIP_UNSAFE,
};

struct import_cli {
	struct import_options io;
	uint64_t start_ns;
};

static void show_progress(void *userdata, const struct backup_stats *s, bool done)
{
	struct import_cli *o = userdata;
	(void)done;
	cmd_progress_line(o->start_ns, "files", s->n_files, 0, s->n_read, 0, false);
}

static int import_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct import_options *io = &((struct import_cli *)ctx->opts)->io;

	switch (opt) {
	case OPT_IMPORT_MEMBER:
		io->member = arg;
		return EXIT_OK;
	case OPT_LAYOUT:
		io->layout = arg;
		return EXIT_OK;
	case OPT_TIME:
		if (snapshot_time_parse(arg, &io->time_sec) < 0)
			return cmd_usage_error(ctx,
					       "invalid --time '%s' (use UTC like "
					       "2026-11-22T205328Z or @UNIXSECONDS)",
					       arg);
		return EXIT_OK;
	case OPT_STRIP_UNSAFE:
		io->strip_unsafe = true;
		return EXIT_OK;
	}
	return cmd_usage_error(ctx, "unknown option");
}

static int import_check(struct cmd_ctx *ctx)
{
	struct import_cli *o = ctx->opts;
	struct import_options *io = &o->io;

	if (io->layout) {
		if (io->member || ctx->n_args > 0 || io->time_sec)
			return cmd_usage_error(ctx, "--layout DIR takes no --member, --time or "
						    "ARCHIVE (members are its folders, times the "
						    "archives' names)");
	} else {
		if (!io->member)
			return cmd_usage_error(ctx, "--member (or --layout DIR) is required");
		if (!member_name_is_valid(io->member))
			return cmd_usage_error(ctx,
					       "invalid member name '%s' (letters, digits, '.', "
					       "'_', '-'; starting with a letter or digit)",
					       io->member);
		if (ctx->n_args < 1)
			return cmd_usage_error(ctx, "no ARCHIVE to import");
		io->archives = (const char *const *)ctx->args;
		io->n_archives = (size_t)ctx->n_args;
	}
	if (cmd_progress_wanted(ctx)) {
		o->start_ns = now_ns();
		io->progress = show_progress;
		io->progress_data = o;
	}
	return EXIT_OK;
}

static int import_run_cmd(struct cmd_ctx *ctx)
{
	struct import_cli *o = ctx->opts;
	struct import_result res = { 0 };
	char bytes[16], stored[16];

	int r = import_run(ctx->repo, ctx->cat, &o->io, &res);
	if (o->io.progress)
		fprintf(stderr, "\r\033[K");
	format_size(res.n_bytes, bytes);
	format_size(res.n_stored, stored);
	log_info("%" PRIu64 " archives imported (%s read, %s new in the repository), %" PRIu64
		 " already imported, %" PRIu64 " failed",
		 res.n_imported, bytes, stored, res.n_skipped, res.n_failed);
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}

const struct cmd_def cmd_import = {
	.usage = "cairn import -r REPO --member M [--time TS] [--strip-unsafe] ARCHIVE...\n"
		 "       cairn import -r REPO --layout DIR [--strip-unsafe]",
	.options =
		(const struct option[]){
			{ "member", required_argument, NULL, OPT_IMPORT_MEMBER },
			{ "layout", required_argument, NULL, OPT_LAYOUT },
			{ "time", required_argument, NULL, OPT_TIME },
			{ "strip-unsafe", no_argument, NULL, OPT_STRIP_UNSAFE },
			{ NULL, 0, NULL, 0 },
		},
	.opts_size = sizeof(struct import_cli),
	.option = import_option,
	.check = import_check,
	.run = import_run_cmd,
};
