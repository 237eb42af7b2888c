/*
 * cmd-forget.c - cairn forget: apply a retention policy per member, say
 * for every snapshot whether it is kept and by which rules, and remove the
 * rest (--dry-run only says); --prune then deletes their data.
 */
#include "cmd.h"
#include "ops/forget.h"
#include "base/log.h"
#include "base/parse.h"
#include "ops/prune.h"

enum {
	OPT_KEEP_LAST = OPT_FIRST_COMMAND_OPTION,
	OPT_KEEP_HOURLY,
	OPT_KEEP_DAILY,
	OPT_KEEP_WEEKLY,
	OPT_KEEP_MONTHLY,
	OPT_KEEP_YEARLY,
	OPT_KEEP_WITHIN,
	OPT_KEEP_TAG,
	OPT_FORGET_MEMBER, /* its own: a filter forget_run() checks */
	OPT_DRY_RUN,
	OPT_PRUNE,
	OPT_REPACK,
};

struct report {
	struct buf out;
	bool dry_run;
};

static void report_member(void *userdata, const char *member, const struct forget_decision *d,
			  size_t n)
{
	struct report *rep = userdata;
	size_t kept = 0;

	for (size_t i = 0; i < n; i++)
		kept += d[i].reasons != 0;
	buf_printf(&rep->out, "%s: %zu snapshots, %s %zu, %s %zu\n", member, n,
		   rep->dry_run ? "would keep" : "keeping", kept,
		   rep->dry_run ? "would remove" : "removing", n - kept);
	for (size_t i = 0; i < n; i++) {
		char hex[HASH_HEX_LEN + 1], why[96];
		hex_encode(d[i].snap->snap_id, HASH_LEN, hex);
		forget_reasons_text(d[i].reasons, why, sizeof(why));
		buf_printf(&rep->out, "  %-6s  %s/%-22s %.8s  %s\n",
			   d[i].reasons ? "keep" : "remove", member, d[i].snap->name, hex, why);
	}
}

static int parse_count(const char *arg, unsigned *ret)
{
	uint64_t v;
	if (parse_uint(arg, &v) < 0 || v < 1 || v > 1000000)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

static const struct option forget_options[] = {
	{ "keep-last", required_argument, NULL, OPT_KEEP_LAST },
	{ "keep-hourly", required_argument, NULL, OPT_KEEP_HOURLY },
	{ "keep-daily", required_argument, NULL, OPT_KEEP_DAILY },
	{ "keep-weekly", required_argument, NULL, OPT_KEEP_WEEKLY },
	{ "keep-monthly", required_argument, NULL, OPT_KEEP_MONTHLY },
	{ "keep-yearly", required_argument, NULL, OPT_KEEP_YEARLY },
	{ "keep-within", required_argument, NULL, OPT_KEEP_WITHIN },
	{ "keep-tag", required_argument, NULL, OPT_KEEP_TAG },
	{ "member", required_argument, NULL, OPT_FORGET_MEMBER },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "prune", no_argument, NULL, OPT_PRUNE },
	{ "repack-threshold", required_argument, NULL, OPT_REPACK },
	{ NULL, 0, NULL, 0 },
};

struct forget_cli {
	struct forget_options o;
	struct prune_options po;
	const char **tags; /* room for every argument */
	bool prune;
};

static void forget_init(struct cmd_ctx *ctx)
{
	struct forget_cli *f = ctx->opts;
	f->tags = xcalloc((size_t)ctx->argc + 1, sizeof(char *));
	f->o.policy.tags = f->tags;
}

static void forget_release(struct cmd_ctx *ctx)
{
	struct forget_cli *f = ctx->opts;
	free(f->tags);
}

static int forget_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct forget_cli *f = ctx->opts;
	struct forget_options *o = &f->o;
	unsigned *count = NULL;

	switch (opt) {
	case OPT_KEEP_LAST:
		count = &o->policy.last;
		break;
	case OPT_KEEP_HOURLY:
		count = &o->policy.hourly;
		break;
	case OPT_KEEP_DAILY:
		count = &o->policy.daily;
		break;
	case OPT_KEEP_WEEKLY:
		count = &o->policy.weekly;
		break;
	case OPT_KEEP_MONTHLY:
		count = &o->policy.monthly;
		break;
	case OPT_KEEP_YEARLY:
		count = &o->policy.yearly;
		break;
	case OPT_KEEP_WITHIN:
		if (parse_duration(arg, &o->policy.within_s) < 0 || o->policy.within_s == 0)
			return cmd_usage_error(ctx,
					       "invalid --keep-within '%s' (a duration "
					       "like 36h, 14d, 8w or 2y)",
					       arg);
		return EXIT_OK;
	case OPT_KEEP_TAG:
		f->tags[o->policy.n_tags++] = arg;
		return EXIT_OK;
	case OPT_FORGET_MEMBER:
		o->member = arg;
		return EXIT_OK;
	case 'n':
	case OPT_DRY_RUN:
		o->dry_run = true;
		return EXIT_OK;
	case OPT_PRUNE:
		f->prune = true;
		return EXIT_OK;
	case OPT_REPACK:
		if (parse_percent(arg, &f->po.repack_percent) < 0)
			return cmd_usage_error(ctx,
					       "invalid --repack-threshold '%s' (a "
					       "percentage, 1 to 100)",
					       arg);
		return EXIT_OK;
	default:
		return cmd_usage_error(ctx, "unknown option");
	}
	if (parse_count(arg, count) < 0)
		return cmd_usage_error(ctx,
				       "invalid count '%s' for --%s (a whole number "
				       "of at least 1)",
				       arg, forget_options[opt - OPT_KEEP_LAST].name);
	return EXIT_OK;
}

static int forget_check(struct cmd_ctx *ctx)
{
	struct forget_options *o = &((struct forget_cli *)ctx->opts)->o;

	if (forget_policy_is_empty(&o->policy)) {
		fprintf(stderr, "cairn forget: no --keep-* option given: that would remove every "
				"snapshot\n");
		fprintf(stderr,
			"hint: say what to keep, for example --keep-daily 7 --keep-weekly 5 "
			"--keep-monthly 12\n");
		return EXIT_USAGE;
	}
	if (o->member && !member_name_is_valid(o->member))
		return cmd_usage_error(ctx, "invalid member name '%s'", o->member);
	return EXIT_OK;
}

static int forget_run_cmd(struct cmd_ctx *ctx)
{
	struct forget_cli *f = ctx->opts;
	struct forget_options *o = &f->o;
	struct report rep = { .out = BUF_INIT, .dry_run = o->dry_run };
	struct forget_result res = { 0 };
	int r;

	o->report = report_member;
	o->report_data = &rep;
	r = forget_run(ctx->repo, ctx->cat, o, &res);
	if (rep.out.len && write_all(STDOUT_FILENO, rep.out.ptr, rep.out.len) < 0 && r == 0)
		r = -EIO;
	if (r == 0)
		log_info("%s %" PRIu64 " snapshots, kept %" PRIu64 "%s",
			 o->dry_run ? "would remove" : "removed", res.n_removed, res.n_kept,
			 res.n_removed && !f->prune && !o->dry_run
				 ? "; 'cairn prune' deletes the data only they used"
				 : "");
	if (r == 0 && f->prune) {
		struct prune_result pr = { 0 };
		f->po.dry_run = o->dry_run;
		r = prune_run(ctx->repo, ctx->cat, &f->po, &pr);
		if (r == 0)
			prune_report(&pr, f->po.dry_run);
	}
	buf_release(&rep.out);
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}

const struct cmd_def cmd_forget = {
	.usage = "cairn forget -r REPO [--member M] [--keep-last N] [--keep-hourly N] "
		 "[--keep-daily N]\n"
		 "         [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] "
		 "[--keep-within DURATION]\n"
		 "         [--keep-tag TAG]... [--dry-run] [--prune [--repack-threshold "
		 "PERCENT]]",
	.options = forget_options,
	.short_options = "n",
	.opts_size = sizeof(struct forget_cli),
	.init = forget_init,
	.option = forget_option,
	.check = forget_check,
	.run = forget_run_cmd,
	.release = forget_release,
};
