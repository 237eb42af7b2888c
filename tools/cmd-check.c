/*
 * cmd-check.c - cairn check: verify the repository's structure and, with
 * --read-data, its data. The report goes to stdout, one problem after
 * another with the snapshots and files it affects; progress to stderr on a
 * terminal. Exit 1 when anything is wrong.
 */
#include "ops/check.h"
#include "cmd.h"
#include "base/log.h"
#include "base/parse.h"

enum { OPT_READ_DATA = OPT_FIRST_COMMAND_OPTION };

struct check_cli {
	bool verbose; /* print info lines too */
	uint64_t start_ns;
	bool progress_shown;
	int write_error;
};

static void print_problem(void *userdata, enum check_level level, const char *text)
{
	struct check_cli *cli = userdata;

	if (level == CHECK_INFO && !cli->verbose)
		return;
	if (cli->progress_shown) {
		fprintf(stderr, "\r\033[K");
		cli->progress_shown = false;
	}
	if (write_all(STDOUT_FILENO, text, strlen(text)) < 0)
		cli->write_error = -EIO;
}

static void show_progress(void *userdata, const struct check_progress *p)
{
	struct check_cli *cli = userdata;
	double secs = (double)(now_ns() - cli->start_ns) / 1e9;
	char bytes[16];

	format_size(p->bytes, bytes);
	fprintf(stderr, "\r\033[Kchecking %s: %" PRIu64 "/%" PRIu64, p->phase, p->done, p->total);
	if (p->bytes > 0)
		fprintf(stderr, ", %s read (%.0f MiB/s)", bytes,
			secs > 0 ? (double)p->bytes / secs / 1048576 : 0.0);
	if (p->done > 0 && p->done < p->total)
		fprintf(stderr, ", ETA %.0fs",
			secs * (double)(p->total - p->done) / (double)p->done);
	cli->progress_shown = true;
}

struct check_opts {
	struct check_cli cli;
	struct check_options o;
};

static void check_init(struct cmd_ctx *ctx)
{
	struct check_opts *c = ctx->opts;
	c->cli.start_ns = now_ns();
	c->o.report = print_problem;
	c->o.report_data = &c->cli;
}

static int check_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct check_options *o = &((struct check_opts *)ctx->opts)->o;

	if (opt != OPT_READ_DATA)
		return cmd_usage_error(ctx, "unknown option");
	o->read_data = true;
	o->read_percent = 100;
	if (arg && parse_percent(arg, &o->read_percent) < 0)
		return cmd_usage_error(ctx,
				       "invalid --read-data=%s (a percentage of "
				       "packs, 1 to 100)",
				       arg);
	return EXIT_OK;
}

static int check_run_cmd(struct cmd_ctx *ctx)
{
	struct check_opts *c = ctx->opts;
	struct check_cli *cli = &c->cli;
	struct check_options *o = &c->o;
	struct check_result res = { 0 };
	int r;

	cli->verbose = ctx->verbosity > 0;
	if (cmd_progress_wanted(ctx)) {
		o->progress = show_progress;
		o->progress_data = cli;
	}
	r = check_run(ctx->repo, ctx->cat, o, &res);
	if (cli->progress_shown)
		fprintf(stderr, "\r\033[K");
	if (r == 0) {
		char bytes[16], garbage[16];
		double secs = (double)(now_ns() - cli->start_ns) / 1e9;
		format_size(res.bytes_read, bytes);
		format_size(res.unreferenced_bytes, garbage);
		log_info("checked %" PRIu64 " snapshots and %" PRIu64 " packs%s in %.1fs",
			 res.n_snapshots, res.n_packs, "", secs);
		if (o->read_data)
			log_info("read %" PRIu64
				 " packs whole (%s, %.0f MiB/s) and verified %" PRIu64 " chunks",
				 res.n_packs_read, bytes,
				 secs > 0 ? (double)res.bytes_read / secs / 1048576 : 0.0,
				 res.n_chunks);
		if (res.n_unreferenced > 0)
			log_info("%" PRIu64 " packs (%s) are referenced by no snapshot%s",
				 res.n_unreferenced, garbage,
				 cli->verbose ? ""
					      : " (-v lists them); 'cairn prune' removes them");
		if (res.n_errors > 0)
			log_error("%" PRIu64 " problem%s found", res.n_errors,
				  res.n_errors == 1 ? "" : "s");
		else
			log_info("no problems found%s",
				 res.n_warnings ? " (but see the warnings above)" : "");
	}
	if (r == 0 && cli->write_error < 0)
		r = cli->write_error;
	return r < 0 || res.n_errors > 0 ? EXIT_FAILURE_ : EXIT_OK;
}

const struct cmd_def cmd_check = {
	.usage = "cairn check -r REPO [--read-data[=PERCENT]]",
	.options =
		(const struct option[]){
			{ "read-data", optional_argument, NULL, OPT_READ_DATA },
			{ NULL, 0, NULL, 0 },
		},
	.opts_size = sizeof(struct check_opts),
	.init = check_init,
	.option = check_option,
	.run = check_run_cmd,
};
