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

int cmd_check(int argc, char **argv)
{
	static const struct option options[] = {
		{ "read-data", optional_argument, NULL, OPT_READ_DATA },
		METRICS_OPTION,
		COMMON_OPTIONS,
	};
	struct cmd_ctx ctx = {
		.prog = "cairn check",
		.usage = "cairn check -r REPO [--read-data[=PERCENT]] [--metrics-file FILE]",
	};
	struct check_cli cli = { .start_ns = now_ns() };
	struct check_options o = { .report = print_problem, .report_data = &cli };
	struct check_result res = { 0 };
	struct repo *repo = NULL;
	struct catalog *cat = NULL;
	const char *metrics_file = NULL;
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORT, options, NULL)) != -1) {
		if (cmd_common_option(&ctx, opt, optarg))
			continue;
		switch (opt) {
		case OPT_READ_DATA:
			o.read_data = true;
			o.read_percent = 100;
			if (optarg && parse_percent(optarg, &o.read_percent) < 0)
				return cmd_usage_error(&ctx,
						       "invalid --read-data=%s (a percentage of "
						       "packs, 1 to 100)",
						       optarg);
			break;
		case OPT_METRICS_FILE:
			metrics_file = optarg;
			break;
		default:
			return cmd_usage_error(&ctx, "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(&ctx, "unexpected argument '%s'", argv[optind]);
	r = cmd_finish_options(&ctx);
	if (r != EXIT_OK)
		return r;
	cli.verbose = ctx.verbosity > 0;
	if (progress_wanted() && ctx.verbosity >= 0) {
		o.progress = show_progress;
		o.progress_data = &cli;
	}

	r = cmd_open(&ctx, &repo, &cat);
	if (r == 0)
		r = check_run(repo, cat, &o, &res);
	if (cli.progress_shown)
		fprintf(stderr, "\r\033[K");
	if (r == 0) {
		char bytes[16], garbage[16];
		double secs = (double)(now_ns() - cli.start_ns) / 1e9;
		format_size(res.bytes_read, bytes);
		format_size(res.unreferenced_bytes, garbage);
		log_info("checked %" PRIu64 " snapshots and %" PRIu64 " packs%s in %.1fs",
			 res.n_snapshots, res.n_packs, "", secs);
		if (o.read_data)
			log_info("read %" PRIu64
				 " packs whole (%s, %.0f MiB/s) and verified %" PRIu64 " chunks",
				 res.n_packs_read, bytes,
				 secs > 0 ? (double)res.bytes_read / secs / 1048576 : 0.0,
				 res.n_chunks);
		if (res.n_unreferenced > 0)
			log_info("%" PRIu64 " packs (%s) are referenced by no snapshot%s",
				 res.n_unreferenced, garbage,
				 cli.verbose ? "" : " (-v lists them); 'cairn prune' removes them");
		if (res.n_errors > 0)
			log_error("%" PRIu64 " problem%s found", res.n_errors,
				  res.n_errors == 1 ? "" : "s");
		else
			log_info("no problems found%s",
				 res.n_warnings ? " (but see the warnings above)" : "");
	}
	if (r == 0 && cli.write_error < 0)
		r = cli.write_error;
	struct metrics_run m = {
		.command = "check",
		.success = r == 0 && res.n_errors == 0,
		.bytes_read = res.bytes_read,
		.errors = r < 0 ? 1 : res.n_errors,
	};
	cmd_write_metrics(&ctx, metrics_file, &m, cli.start_ns);
	cmd_close(&ctx, repo, cat);
	return r < 0 || res.n_errors > 0 ? EXIT_FAILURE_ : EXIT_OK;
}
