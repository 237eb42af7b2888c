/*
 * cmd-export.c - cairn export: write a snapshot, or a subtree of it, to
 * stdout as a tar archive (store/ops/export.c does the work), for
 * `cairn export ... | tar xf - -C DIR` where a restore cannot run.
 */
#include "cmd.h"
#include "ops/export.h"
#include "base/log.h"

#include <signal.h>

enum { OPT_FORMAT = OPT_FIRST_COMMAND_OPTION };

struct progress_state {
	uint64_t start_ns;
};

static void show_progress(void *userdata, const struct export_stats *s, bool done)
{
	const struct progress_state *p = userdata;
	cmd_progress_line(p->start_ns, "entries", s->n_entries, 0, s->n_bytes, s->total_bytes,
			  done);
}

int cmd_export(int argc, char **argv)
{
	static const struct option options[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		COMMON_OPTIONS,
	};
	struct cmd_ctx ctx = {
		.prog = "cairn export",
		.usage = "cairn export -r REPO SNAP [PATH] [--format pax|tar] > out.tar",
	};
	struct export_options eo = { .format = EXPORT_FORMAT_PAX, .fd = STDOUT_FILENO };
	struct progress_state ps = { now_ns() };
	struct export_stats st;
	struct repo *repo = NULL;
	struct catalog *cat = NULL;
	struct cat_snapshot snap;
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORT, options, NULL)) != -1) {
		if (cmd_common_option(&ctx, opt, optarg))
			continue;
		switch (opt) {
		case OPT_FORMAT:
			if (strcmp(optarg, "pax") == 0)
				eo.format = EXPORT_FORMAT_PAX;
			else if (strcmp(optarg, "tar") == 0 || strcmp(optarg, "gnutar") == 0)
				eo.format = EXPORT_FORMAT_GNUTAR;
			else
				return cmd_usage_error(&ctx, "invalid --format '%s' (pax or tar)",
						       optarg);
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
	if (isatty(STDOUT_FILENO)) {
		log_error("refusing to write a tar archive to a terminal");
		log_error("hint: redirect it ('> out.tar') or pipe it ('| tar xf - -C DIR')");
		return EXIT_FAILURE_;
	}
	if (progress_wanted() && ctx.verbosity >= 0) {
		eo.progress = show_progress;
		eo.progress_data = &ps;
	}
	/* A reader that goes away makes write() fail with EPIPE, which is
	 * reported, instead of killing us silently. */
	signal(SIGPIPE, SIG_IGN);

	r = cmd_open(&ctx, &repo, &cat);
	if (r < 0)
		return EXIT_FAILURE_;
	r = repo_resolve_snapshot(repo, cat, ref, &snap);
	if (r == 0)
		r = export_run(repo, cat, &snap, path, &eo, &st);
	if (r == 0 && st.n_xattrs_lost)
		log_warning("the tar format keeps no xattrs: %" PRIu64 " entries lost theirs "
			    "(use --format pax)",
			    st.n_xattrs_lost);
	if (r == 0 && st.n_sockets)
		log_warning("tar cannot hold sockets: %" PRIu64 " left out", st.n_sockets);
	if (r == 0 && st.n_sparse_lost)
		log_warning("the tar format keeps no holes: %" PRIu64 " sparse files were written "
			    "in full (use --format pax)",
			    st.n_sparse_lost);
	if (r == 0 && ctx.verbosity > 0) {
		char bytes[16], data[16];
		format_size(st.n_bytes, bytes);
		format_size(st.n_data, data);
		log_info("exported %s/%s: %" PRIu64 " entries, %s (%s of data)", snap.member,
			 snap.name, st.n_entries, bytes, data);
	}
	cmd_close(&ctx, repo, cat);
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}
