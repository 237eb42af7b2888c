/*
 * cmd-restore.c - cairn restore: recreate a snapshot, or a subtree of it,
 * in a local directory (store/ops/restore.c does the work).
 */
#include "cmd.h"
#include "base/log.h"
#include "base/parse.h"
#include "ops/restore.h"

enum { OPT_TARGET = OPT_FIRST_COMMAND_OPTION, OPT_OVERWRITE, OPT_VERIFY, OPT_JOBS, OPT_CACHE };

struct progress_state {
	uint64_t start_ns;
};

static void show_progress(void *userdata, const struct restore_stats *s, bool done)
{
	const struct progress_state *p = userdata;
	cmd_progress_line(p->start_ns, "files", s->n_files, s->total_files, s->n_bytes,
			  s->total_bytes, done);
}

struct restore_cli {
	struct restore_options ro;
	struct progress_state ps;
};

static void restore_init(struct cmd_ctx *ctx)
{
	struct restore_cli *c = ctx->opts;
	c->ps.start_ns = now_ns();
}

static int restore_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct restore_options *ro = &((struct restore_cli *)ctx->opts)->ro;
	uint64_t v;

	switch (opt) {
	case 't':
	case OPT_TARGET:
		ro->target = arg;
		return EXIT_OK;
	case OPT_OVERWRITE:
		ro->overwrite = true;
		return EXIT_OK;
	case OPT_VERIFY:
		ro->verify = true;
		return EXIT_OK;
	case OPT_JOBS:
		if (parse_uint(arg, &v) < 0 || v < 1 || v > 64)
			return cmd_usage_error(ctx, "invalid --jobs '%s' (1 to 64)", arg);
		ro->n_workers = (unsigned)v;
		return EXIT_OK;
	case OPT_CACHE:
		if (parse_size(arg, &v) < 0 || v < (64u << 20))
			return cmd_usage_error(ctx, "invalid --cache-size '%s' (at least 64M)",
					       arg);
		ro->cache_size = v;
		return EXIT_OK;
	}
	return cmd_usage_error(ctx, "unknown option");
}

static int restore_check(struct cmd_ctx *ctx)
{
	struct restore_cli *c = ctx->opts;

	if (!c->ro.target || !*c->ro.target)
		return cmd_usage_error(ctx, "--target DIR is required");
	if (cmd_progress_wanted(ctx)) {
		c->ro.progress = show_progress;
		c->ro.progress_data = &c->ps;
	}
	return EXIT_OK;
}

static int restore_run_cmd(struct cmd_ctx *ctx)
{
	struct restore_options *ro = &((struct restore_cli *)ctx->opts)->ro;
	struct cat_snapshot *snap = &ctx->snap;
	const char *path = ctx->path;
	struct restore_stats st;
	int r;

	r = restore_run(ctx->repo, ctx->cat, snap, path, ro, &st);
	if (r == 0 || r == -EIO) {
		char bytes[16], data[16];
		format_size(st.n_bytes, bytes);
		format_size(st.n_data, data);
		log_info("restored %s/%s%s%s into '%s': %" PRIu64 " files (%s, %s of data), "
			 "%" PRIu64 " directories, %" PRIu64 " other entries, %" PRIu64
			 " extra hardlinks; %" PRIu64 " chunks fetched, %" PRIu64
			 " copied from files already restored",
			 snap->member, snap->name, *path ? ":" : "", path, ro->target, st.n_files,
			 bytes, data, st.n_dirs, st.n_other, st.n_links, st.n_fetched, st.n_copied);
		if (ro->verify) {
			format_size(st.n_verified_data, data);
			log_info("verified %" PRIu64 " files: %s of data read back match "
				 "the snapshot's hashes",
				 st.n_verified, data);
		}
	}
	if (r == -EIO && st.n_errors > 0)
		log_error("%" PRIu64 " entries could not be restored (see above)", st.n_errors);
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}

const struct cmd_def cmd_restore = {
	.usage = "cairn restore -r REPO SNAP [PATH] --target DIR [--overwrite] [--verify] "
		 "[--jobs N] [--cache-size SIZE]",
	.options =
		(const struct option[]){
			{ "target", required_argument, NULL, OPT_TARGET },
			{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
			{ "verify", no_argument, NULL, OPT_VERIFY },
			{ "jobs", required_argument, NULL, OPT_JOBS },
			{ "cache-size", required_argument, NULL, OPT_CACHE },
			{ NULL, 0, NULL, 0 },
		},
	.short_options = "t:",
	.opts_size = sizeof(struct restore_cli),
	.init = restore_init,
	.option = restore_option,
	.check = restore_check,
	.run = restore_run_cmd,
};
