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

int cmd_restore(int argc, char **argv)
{
	static const struct option options[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "jobs", required_argument, NULL, OPT_JOBS },
		{ "cache-size", required_argument, NULL, OPT_CACHE },
		METRICS_OPTION,
		COMMON_OPTIONS,
	};
	struct cmd_ctx ctx = {
		.prog = "cairn restore",
		.usage = "cairn restore -r REPO SNAP [PATH] --target DIR [--overwrite] [--verify] "
			 "[--jobs N] [--cache-size SIZE] [--metrics-file FILE]",
	};
	struct restore_options ro = { 0 };
	struct progress_state ps = { now_ns() };
	struct restore_stats st = { 0 };
	const char *metrics_file = NULL;
	struct repo *repo = NULL;
	struct catalog *cat = NULL;
	struct cat_snapshot snap;
	uint64_t v;
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORT "t:", options, NULL)) != -1) {
		if (cmd_common_option(&ctx, opt, optarg))
			continue;
		switch (opt) {
		case 't':
		case OPT_TARGET:
			ro.target = optarg;
			break;
		case OPT_OVERWRITE:
			ro.overwrite = true;
			break;
		case OPT_VERIFY:
			ro.verify = true;
			break;
		case OPT_JOBS:
			if (parse_uint(optarg, &v) < 0 || v < 1 || v > 64)
				return cmd_usage_error(&ctx, "invalid --jobs '%s' (1 to 64)",
						       optarg);
			ro.n_workers = (unsigned)v;
			break;
		case OPT_CACHE:
			if (parse_size(optarg, &v) < 0 || v < (64u << 20))
				return cmd_usage_error(&ctx,
						       "invalid --cache-size '%s' (at least 64M)",
						       optarg);
			ro.cache_size = v;
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
	const char *ref, *path;
	r = cmd_snap_operands(&ctx, argc, argv, &ref, &path);
	if (r != EXIT_OK)
		return r;
	if (!ro.target || !*ro.target)
		return cmd_usage_error(&ctx, "--target DIR is required");
	if (progress_wanted() && ctx.verbosity >= 0) {
		ro.progress = show_progress;
		ro.progress_data = &ps;
	}

	/* Named in the metrics even when the snapshot cannot be resolved. */
	AUTOFREE char *member = xstrdup(ref);
	member[strcspn(member, "/")] = '\0';
	struct metrics_run m = { .command = "restore", .member = strchr(ref, '/') ? member : NULL };
	r = cmd_open(&ctx, &repo, &cat);
	if (r == 0)
		r = repo_resolve_snapshot(repo, cat, ref, &snap);
	if (r == 0)
		m.member = snap.member;
	if (r == 0) {
		r = restore_run(repo, cat, &snap, path, &ro, &st);
		if (r == 0 || r == -EIO) {
			char bytes[16], data[16];
			format_size(st.n_bytes, bytes);
			format_size(st.n_data, data);
			log_info("restored %s/%s%s%s into '%s': %" PRIu64
				 " files (%s, %s of data), "
				 "%" PRIu64 " directories, %" PRIu64 " other entries, %" PRIu64
				 " extra hardlinks; %" PRIu64 " chunks fetched, %" PRIu64
				 " copied from files already restored",
				 snap.member, snap.name, *path ? ":" : "", path, ro.target,
				 st.n_files, bytes, data, st.n_dirs, st.n_other, st.n_links,
				 st.n_fetched, st.n_copied);
			if (ro.verify) {
				format_size(st.n_verified_data, data);
				log_info("verified %" PRIu64 " files: %s of data read back match "
					 "the snapshot's hashes",
					 st.n_verified, data);
			}
		}
		if (r == -EIO && st.n_errors > 0)
			log_error("%" PRIu64 " entries could not be restored (see above)",
				  st.n_errors);
	}
	m.success = r == 0;
	m.bytes_read = st.n_data;
	m.files = st.n_files;
	m.errors = r < 0 && st.n_errors == 0 ? 1 : st.n_errors;
	cmd_write_metrics(&ctx, metrics_file, &m, ps.start_ns);
	cmd_close(&ctx, repo, cat);
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}
