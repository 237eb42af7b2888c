/*
 * cmd-prune.c - cairn prune: delete the packs and trees no snapshot
 * references, repacking packs that are mostly garbage; and the report of
 * what it reclaimed, shared with cairn forget --prune.
 */
#include "cmd.h"
#include "base/log.h"
#include "base/parse.h"
#include "ops/prune.h"

enum { OPT_DRY_RUN = OPT_FIRST_COMMAND_OPTION, OPT_REPACK };

struct progress_state {
	bool shown;
};

static void show_progress(void *userdata, const struct prune_progress *p)
{
	struct progress_state *ps = userdata;
	fprintf(stderr, "\r\033[Kprune: %s %" PRIu64 "/%" PRIu64, p->phase, p->done, p->total);
	ps->shown = true;
}

void prune_report(const struct prune_result *res, bool dry_run)
{
	const char *would = dry_run ? "would " : "";
	char a[16], b[16];

	format_size(res->live_bytes, a);
	format_size(res->pack_bytes, b);
	log_info("%" PRIu64 " snapshots use %s of chunks in %" PRIu64 " packs of %s",
		 res->n_snapshots, a, res->n_packs, b);
	if (res->n_packs_repacked > 0) {
		format_size(res->repacked_bytes, a);
		format_size(res->written_bytes, b);
		log_info("%srepack %" PRIu64 " mostly unused packs (%s), copying the %s still in "
			 "use into new packs",
			 would, res->n_packs_repacked, a, b);
		if (!dry_run)
			log_info("rewrote %" PRIu64 " snapshots to use the new packs (their ids "
				 "change, their names do not)",
				 res->n_snapshots_rewritten);
	}
	format_size(res->pack_bytes_deleted, a);
	format_size(res->tree_bytes_deleted, b);
	log_info("%sdelete %" PRIu64 " packs (%s) and %" PRIu64 " trees (%s)", would,
		 res->n_packs_deleted, a, res->n_trees_deleted, b);
	if (res->n_deferred > 0) {
		format_size(res->deferred_bytes, a);
		log_info("%skeep %" PRIu64 " unreferenced objects (%s) for %" PRIu64
			 " running backups",
			 would, res->n_deferred, a, res->n_running);
	}
	uint64_t freed = res->pack_bytes_deleted + res->tree_bytes_deleted;
	format_size(freed > res->written_bytes ? freed - res->written_bytes : 0, a);
	log_info("%s %s", dry_run ? "would reclaim" : "reclaimed", a);
}

struct prune_cli {
	struct progress_state ps;
	struct prune_options o;
};

static int prune_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct prune_options *o = &((struct prune_cli *)ctx->opts)->o;

	switch (opt) {
	case 'n':
	case OPT_DRY_RUN:
		o->dry_run = true;
		return EXIT_OK;
	case OPT_REPACK:
		if (parse_percent(arg, &o->repack_percent) < 0)
			return cmd_usage_error(ctx,
					       "invalid --repack-threshold '%s' (a "
					       "percentage, 1 to 100; 100 never repacks)",
					       arg);
		return EXIT_OK;
	}
	return cmd_usage_error(ctx, "unknown option");
}

static int prune_run_cmd(struct cmd_ctx *ctx)
{
	struct prune_cli *p = ctx->opts;
	struct prune_result res = { 0 };
	int r;

	if (cmd_progress_wanted(ctx)) {
		p->o.progress = show_progress;
		p->o.progress_data = &p->ps;
	}
	r = prune_run(ctx->repo, ctx->cat, &p->o, &res);
	if (p->ps.shown)
		fprintf(stderr, "\r\033[K");
	if (r == 0)
		prune_report(&res, p->o.dry_run);
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}

const struct cmd_def cmd_prune = {
	.usage = "cairn prune -r REPO [--dry-run] [--repack-threshold PERCENT]",
	.options =
		(const struct option[]){
			{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
			{ "repack-threshold", required_argument, NULL, OPT_REPACK },
			{ NULL, 0, NULL, 0 },
		},
	.short_options = "n",
	.opts_size = sizeof(struct prune_cli),
	.option = prune_option,
	.run = prune_run_cmd,
};
