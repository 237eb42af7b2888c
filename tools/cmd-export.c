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

struct export_cli {
	struct export_options eo;
	struct progress_state ps;
};

static void export_init(struct cmd_ctx *ctx)
{
	struct export_cli *c = ctx->opts;
	c->eo.format = EXPORT_FORMAT_PAX;
	c->eo.fd = STDOUT_FILENO;
	c->ps.start_ns = now_ns();
}

static int export_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct export_options *eo = &((struct export_cli *)ctx->opts)->eo;

	if (opt != OPT_FORMAT)
		return cmd_usage_error(ctx, "unknown option");
	if (strcmp(arg, "pax") == 0)
		eo->format = EXPORT_FORMAT_PAX;
	else if (strcmp(arg, "tar") == 0 || strcmp(arg, "gnutar") == 0)
		eo->format = EXPORT_FORMAT_GNUTAR;
	else
		return cmd_usage_error(ctx, "invalid --format '%s' (pax or tar)", arg);
	return EXIT_OK;
}

static int export_check(struct cmd_ctx *ctx)
{
	struct export_cli *c = ctx->opts;

	if (isatty(STDOUT_FILENO)) {
		log_error("refusing to write a tar archive to a terminal");
		log_error("hint: redirect it ('> out.tar') or pipe it ('| tar xf - -C DIR')");
		return EXIT_FAILURE_;
	}
	if (cmd_progress_wanted(ctx)) {
		c->eo.progress = show_progress;
		c->eo.progress_data = &c->ps;
	}
	/* A reader that goes away makes write() fail with EPIPE, which is
	 * reported, instead of killing us silently. */
	signal(SIGPIPE, SIG_IGN);
	return EXIT_OK;
}

static int export_run_cmd(struct cmd_ctx *ctx)
{
	struct export_options *eo = &((struct export_cli *)ctx->opts)->eo;
	struct cat_snapshot *snap = &ctx->snap;
	struct export_stats st;
	int r;

	r = export_run(ctx->repo, ctx->cat, snap, ctx->path, eo, &st);
	if (r < 0)
		return EXIT_FAILURE_;
	if (st.n_xattrs_lost)
		log_warning("the tar format keeps no xattrs: %" PRIu64 " entries lost theirs "
			    "(use --format pax)",
			    st.n_xattrs_lost);
	if (st.n_sockets)
		log_warning("tar cannot hold sockets: %" PRIu64 " left out", st.n_sockets);
	if (st.n_sparse_lost)
		log_warning("the tar format keeps no holes: %" PRIu64 " sparse files were written "
			    "in full (use --format pax)",
			    st.n_sparse_lost);
	if (ctx->verbosity > 0) {
		char bytes[16], data[16];
		format_size(st.n_bytes, bytes);
		format_size(st.n_data, data);
		log_info("exported %s/%s: %" PRIu64 " entries, %s (%s of data)", snap->member,
			 snap->name, st.n_entries, bytes, data);
	}
	return EXIT_OK;
}

const struct cmd_def cmd_export = {
	.usage = "cairn export -r REPO SNAP [PATH] [--format pax|tar] > out.tar",
	.options =
		(const struct option[]){
			{ "format", required_argument, NULL, OPT_FORMAT },
			{ NULL, 0, NULL, 0 },
		},
	.opts_size = sizeof(struct export_cli),
	.init = export_init,
	.option = export_option,
	.check = export_check,
	.run = export_run_cmd,
};
