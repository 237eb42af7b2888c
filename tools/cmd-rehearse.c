/*
 * cmd-rehearse.c - cairn rehearse: restore a snapshot into a scratch
 * directory, verify every byte and every entry against the snapshot, report
 * and clean up; or, with --against DIR, compare live data with the snapshot
 * (store/ops/rehearse.c does the work). Differences go to stdout, one a
 * line ("M  /path  (content, mtime)", "+ ", "- "), or as JSON with --json;
 * the summary to stderr, and with --metrics-file as metrics (the record of
 * when a restore was last rehearsed). Exit 0 clean, 1 on any difference,
 * damage or failure, 2 on a usage error.
 */
#include "cmd.h"
#include "ops/rehearse.h"
#include "base/log.h"
#include "base/parse.h"

enum {
	OPT_TARGET = OPT_FIRST_COMMAND_OPTION,
	OPT_AGAINST,
	OPT_KEEP,
	OPT_JOBS,
	OPT_CACHE,
};

struct printer {
	bool json;
	uint64_t n;
	struct buf out;
	uint64_t start_ns;
};

struct rehearse_cli {
	struct rehearse_options o;
	struct printer p;
};

static int print_difference(void *userdata, const struct diff_entry *e)
{
	static const char *const status[] = { [DIFF_ADDED] = "added",
					      [DIFF_REMOVED] = "removed",
					      [DIFF_CHANGED] = "changed" };
	struct printer *p = userdata;
	bool first = true;

	if (p->json) {
		buf_printf(&p->out, "%s\n    {\"path\": ", p->n ? "," : "");
		buf_append_json_string(&p->out, e->path, e->path_len);
		buf_printf(&p->out, ", \"status\": \"%s\", \"changes\": [", status[e->kind]);
	} else {
		buf_printf(&p->out, "%c  ", e->kind);
		buf_append_escaped(&p->out, e->path, e->path_len);
		buf_printf(&p->out, e->kind == DIFF_CHANGED ? "  (" : "\n");
	}
	for (unsigned bit = 1; e->kind == DIFF_CHANGED && bit <= DIFF_CHANGE_LAST; bit <<= 1)
		if (e->changes & bit) {
			buf_printf(&p->out, p->json ? "%s\"%s\"" : "%s%s", first ? "" : ", ",
				   diff_change_name(bit));
			first = false;
		}
	if (p->json)
		buf_printf(&p->out, "]}");
	else if (e->kind == DIFF_CHANGED)
		buf_printf(&p->out, ")\n");
	p->n++;
	if (p->json || p->out.len < (64u << 10))
		return 0; /* JSON goes out whole, after its head */
	int r = write_all(STDOUT_FILENO, p->out.ptr, p->out.len);
	buf_reset(&p->out);
	return r < 0 ? log_error_errno(r, "cannot write the differences") : 0;
}

static void show_progress(void *userdata, const struct restore_stats *s, bool done)
{
	const struct printer *p = userdata;
	cmd_progress_line(p->start_ns, "files", s->n_files, s->total_files, s->n_bytes,
			  s->total_bytes, done);
}

static const char *verdict(int r, const struct rehearse_result *res)
{
	if (r < 0)
		return "failed";
	if (res->n_damaged > 0)
		return "damaged";
	if (res->diff.n_errors > 0)
		return "unverified"; /* restored, but not all of it could be read back */
	return res->n_differences > 0 ? "different" : "clean";
}

static void summary(const struct cat_snapshot *s, const char *path, const char *against, int r,
		    const struct rehearse_result *res)
{
	char bytes[16];
	double secs = (double)res->duration_ns / 1e9;

	format_size(res->n_bytes, bytes);
	if (r < 0)
		return; /* already said why */
	log_info("%s %s/%s%s%s: %" PRIu64 " %s, %s verified against the snapshot's hashes in "
		 "%.1fs: %s",
		 against ? "compared" : "rehearsed", s->member, s->name, *path ? ":" : "", path,
		 res->n_files, against ? "entries" : "files", bytes, secs, verdict(r, res));
	if (res->n_differences > 0)
		log_error("%" PRIu64 " difference%s (listed on stdout)", res->n_differences,
			  res->n_differences == 1 ? "" : "s");
	if (res->n_damaged > 0)
		log_error("%" PRIu64 " entries could not be restored (see above)", res->n_damaged);
	if (res->diff.n_errors > 0)
		log_error("%" PRIu64 " entries could not be read back (see above)",
			  res->diff.n_errors);
	if (res->n_excused > 0)
		log_warning("%" PRIu64 " differences in owners, xattrs or device nodes are what "
			    "this user cannot restore (rehearse as root to check them)",
			    res->n_excused);
}

static void json_summary(struct printer *p, const struct cat_snapshot *s, const char *path,
			 const char *against, int r, const struct rehearse_result *res)
{
	struct buf *o = &p->out;
	struct buf diffs = p->out;

	p->out = BUF_INIT;
	buf_printf(o, "{\"snapshot\": \"%s/%s\", \"path\": ", s->member, s->name);
	buf_append_json_string(o, path, strlen(path));
	buf_printf(o, ", \"mode\": \"%s\"", against ? "against" : "restore");
	if (against) {
		buf_printf(o, ", \"directory\": ");
		buf_append_json_string(o, against, strlen(against));
	}
	buf_printf(o,
		   ", \"result\": \"%s\", \"files\": %" PRIu64 ", \"bytes\": %" PRIu64
		   ", \"seconds\": %.3f, \"damaged\": %" PRIu64 ", \"unreadable\": %" PRIu64
		   ", \"excused\": %" PRIu64 ",\n  \"differences\": [",
		   verdict(r, res), res->n_files, res->n_bytes, (double)res->duration_ns / 1e9,
		   res->n_damaged, res->diff.n_errors, res->n_excused);
	buf_append(o, diffs.ptr, diffs.len);
	buf_printf(o, "%s]}\n", p->n ? "\n  " : "");
	buf_release(&diffs);
}

static void rehearse_init(struct cmd_ctx *ctx)
{
	struct rehearse_cli *c = ctx->opts;

	c->p = (struct printer){ .out = BUF_INIT, .start_ns = now_ns() };
	c->o.report = print_difference;
	c->o.report_data = &c->p;
}

static int rehearse_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct rehearse_options *o = &((struct rehearse_cli *)ctx->opts)->o;
	uint64_t v;

	switch (opt) {
	case 't':
	case OPT_TARGET:
		o->target = arg;
		return EXIT_OK;
	case OPT_AGAINST:
		o->against = arg;
		return EXIT_OK;
	case OPT_KEEP:
		o->keep = true;
		return EXIT_OK;
	case OPT_JOBS:
		if (parse_uint(arg, &v) < 0 || v < 1 || v > 64)
			return cmd_usage_error(ctx, "invalid --jobs '%s' (1 to 64)", arg);
		o->n_workers = (unsigned)v;
		return EXIT_OK;
	case OPT_CACHE:
		if (parse_size(arg, &v) < 0 || v < (64u << 20))
			return cmd_usage_error(ctx, "invalid --cache-size '%s' (at least 64M)",
					       arg);
		o->cache_size = v;
		return EXIT_OK;
	}
	return cmd_usage_error(ctx, "unknown option");
}

static int rehearse_check(struct cmd_ctx *ctx)
{
	struct rehearse_cli *c = ctx->opts;

	if (c->o.against && (c->o.target || c->o.keep))
		return cmd_usage_error(ctx, "--against restores nothing: it takes no --target "
					    "or --keep");
	if ((c->o.target && !*c->o.target) || (c->o.against && !*c->o.against))
		return cmd_usage_error(ctx, "an empty directory name");
	c->p.json = ctx->json;
	c->o.path = ctx->path;
	if (!c->o.against && cmd_progress_wanted(ctx)) {
		c->o.progress = show_progress;
		c->o.progress_data = &c->p;
	}
	return EXIT_OK;
}

static int rehearse_run_cmd(struct cmd_ctx *ctx)
{
	struct rehearse_cli *c = ctx->opts;
	struct rehearse_result res = { 0 };
	int r;

	r = rehearse_run(ctx->repo, ctx->cat, &ctx->snap, &c->o, &res);
	if (c->p.json && r >= 0)
		json_summary(&c->p, &ctx->snap, ctx->path, c->o.against, r, &res);
	if (r >= 0 && write_all(STDOUT_FILENO, c->p.out.ptr, c->p.out.len) < 0)
		r = log_error_errno(-EIO, "cannot write the differences");
	summary(&ctx->snap, ctx->path, c->o.against, r, &res);
	ctx->metrics.bytes_read = res.n_bytes;
	ctx->metrics.files = res.n_files;
	ctx->metrics.errors = res.n_differences + res.n_damaged + res.diff.n_errors;
	return r == 0 ? EXIT_OK : EXIT_FAILURE_;
}

static void rehearse_release(struct cmd_ctx *ctx)
{
	struct rehearse_cli *c = ctx->opts;
	buf_release(&c->p.out);
}

const struct cmd_def cmd_rehearse = {
	.usage = "cairn rehearse -r REPO SNAP [PATH] [--target DIR] [--keep] [--jobs N] "
		 "[--cache-size SIZE] [--json] [--metrics-file FILE]\n"
		 "       cairn rehearse -r REPO SNAP [PATH] --against DIR [--json] "
		 "[--metrics-file FILE]",
	.options =
		(const struct option[]){
			{ "target", required_argument, NULL, OPT_TARGET },
			{ "against", required_argument, NULL, OPT_AGAINST },
			{ "keep", no_argument, NULL, OPT_KEEP },
			{ "jobs", required_argument, NULL, OPT_JOBS },
			{ "cache-size", required_argument, NULL, OPT_CACHE },
			{ NULL, 0, NULL, 0 },
		},
	.short_options = "t:",
	.opts_size = sizeof(struct rehearse_cli),
	.init = rehearse_init,
	.option = rehearse_option,
	.check = rehearse_check,
	.run = rehearse_run_cmd,
	.release = rehearse_release,
};
