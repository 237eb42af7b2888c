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
	OPT_MEMBER,
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

int cmd_forget(int argc, char **argv)
{
	static const struct option options[] = {
		{ "keep-last", required_argument, NULL, OPT_KEEP_LAST },
		{ "keep-hourly", required_argument, NULL, OPT_KEEP_HOURLY },
		{ "keep-daily", required_argument, NULL, OPT_KEEP_DAILY },
		{ "keep-weekly", required_argument, NULL, OPT_KEEP_WEEKLY },
		{ "keep-monthly", required_argument, NULL, OPT_KEEP_MONTHLY },
		{ "keep-yearly", required_argument, NULL, OPT_KEEP_YEARLY },
		{ "keep-within", required_argument, NULL, OPT_KEEP_WITHIN },
		{ "keep-tag", required_argument, NULL, OPT_KEEP_TAG },
		{ "member", required_argument, NULL, OPT_MEMBER },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "prune", no_argument, NULL, OPT_PRUNE },
		{ "repack-threshold", required_argument, NULL, OPT_REPACK },
		COMMON_OPTIONS,
	};
	struct cmd_ctx ctx = {
		.prog = "cairn forget",
		.usage = "cairn forget -r REPO [--member M] [--keep-last N] [--keep-hourly N] "
			 "[--keep-daily N]\n"
			 "         [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] "
			 "[--keep-within DURATION]\n"
			 "         [--keep-tag TAG]... [--dry-run] [--prune [--repack-threshold "
			 "PERCENT]]",
	};
	AUTOFREE const char **tags = xcalloc((size_t)argc + 1, sizeof(char *));
	struct forget_options o = { 0 };
	struct prune_options po = { 0 };
	struct report rep = { .out = BUF_INIT };
	struct forget_result res = { 0 };
	struct repo *repo = NULL;
	struct catalog *cat = NULL;
	bool prune = false;
	unsigned *count = NULL;
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORT "n", options, NULL)) != -1) {
		if (cmd_common_option(&ctx, opt, optarg))
			continue;
		switch (opt) {
		case OPT_KEEP_LAST:
			count = &o.policy.last;
			break;
		case OPT_KEEP_HOURLY:
			count = &o.policy.hourly;
			break;
		case OPT_KEEP_DAILY:
			count = &o.policy.daily;
			break;
		case OPT_KEEP_WEEKLY:
			count = &o.policy.weekly;
			break;
		case OPT_KEEP_MONTHLY:
			count = &o.policy.monthly;
			break;
		case OPT_KEEP_YEARLY:
			count = &o.policy.yearly;
			break;
		case OPT_KEEP_WITHIN:
			if (parse_duration(optarg, &o.policy.within_s) < 0 ||
			    o.policy.within_s == 0)
				return cmd_usage_error(&ctx,
						       "invalid --keep-within '%s' (a duration "
						       "like 36h, 14d, 8w or 2y)",
						       optarg);
			continue;
		case OPT_KEEP_TAG:
			tags[o.policy.n_tags++] = optarg;
			continue;
		case OPT_MEMBER:
			o.member = optarg;
			continue;
		case 'n':
		case OPT_DRY_RUN:
			o.dry_run = true;
			continue;
		case OPT_PRUNE:
			prune = true;
			continue;
		case OPT_REPACK:
			if (parse_percent(optarg, &po.repack_percent) < 0)
				return cmd_usage_error(&ctx,
						       "invalid --repack-threshold '%s' (a "
						       "percentage, 1 to 100)",
						       optarg);
			continue;
		default:
			return cmd_usage_error(&ctx, "unknown option");
		}
		if (parse_count(optarg, count) < 0)
			return cmd_usage_error(&ctx,
					       "invalid count '%s' for --%s (a whole number "
					       "of at least 1)",
					       optarg, options[opt - OPT_KEEP_LAST].name);
	}
	if (optind < argc)
		return cmd_usage_error(&ctx, "unexpected argument '%s'", argv[optind]);
	r = cmd_finish_options(&ctx);
	if (r != EXIT_OK)
		return r;
	o.policy.tags = tags;
	if (forget_policy_is_empty(&o.policy)) {
		fprintf(stderr, "cairn forget: no --keep-* option given: that would remove every "
				"snapshot\n");
		fprintf(stderr,
			"hint: say what to keep, for example --keep-daily 7 --keep-weekly 5 "
			"--keep-monthly 12\n");
		return EXIT_USAGE;
	}
	if (o.member && !member_name_is_valid(o.member))
		return cmd_usage_error(&ctx, "invalid member name '%s'", o.member);
	rep.dry_run = o.dry_run;
	o.report = report_member;
	o.report_data = &rep;

	r = cmd_open(&ctx, &repo, &cat);
	if (r < 0)
		return EXIT_FAILURE_;
	r = forget_run(repo, cat, &o, &res);
	if (rep.out.len && write_all(STDOUT_FILENO, rep.out.ptr, rep.out.len) < 0 && r == 0)
		r = -EIO;
	if (r == 0)
		log_info("%s %" PRIu64 " snapshots, kept %" PRIu64 "%s",
			 o.dry_run ? "would remove" : "removed", res.n_removed, res.n_kept,
			 res.n_removed && !prune && !o.dry_run
				 ? "; 'cairn prune' deletes the data only they used"
				 : "");
	if (r == 0 && prune) {
		struct prune_result pr = { 0 };
		po.dry_run = o.dry_run;
		r = prune_run(repo, cat, &po, &pr);
		if (r == 0)
			prune_report(&pr, po.dry_run);
	}
	buf_release(&rep.out);
	cmd_close(&ctx, repo, cat);
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}
