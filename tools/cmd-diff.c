/*
 * cmd-diff.c - cairn diff: what differs between two snapshots, or between a
 * snapshot and a live directory (diff_snapshots(), diff_live()). Exit
 * status as diff(1)'s: 0 identical, 1 different, 2 trouble.
 *
 * The second argument is a directory when it starts with '/', './' or
 * '../' (or is '.' or '..'); otherwise a snapshot when it names one, and a
 * directory when it names an existing one. A name that is both is taken as
 * the snapshot, with a warning.
 */
#include "cmd.h"
#include "ops/diff.h"
#include "base/log.h"

#include <sys/stat.h>

enum { OPT_CONTENT = OPT_FIRST_COMMAND_OPTION };

enum { DIFF_SAME = 0, DIFF_DIFFERENT = 1, DIFF_TROUBLE = 2 };

#define FLUSH_AT (64u << 10)

struct printer {
	bool json;
	uint64_t n;
	struct buf out;
	int err;
};

static int flush(struct printer *p)
{
	int r = write_all(STDOUT_FILENO, p->out.ptr, p->out.len);
	buf_reset(&p->out);
	return r < 0 ? log_error_errno(r, "cannot write the differences") : 0;
}

/* "4.0 KiB" for a file, the type for anything else. */
static void describe(const struct cat_attr *a, char out[16])
{
	if (S_ISREG(a->mode))
		format_size(a->size, out);
	else
		snprintf(out, 16, "%s", mode_type_name(a->mode));
}

static void print_text(struct printer *p, const struct diff_entry *e)
{
	char old[16], new[16];

	buf_printf(&p->out, "%c  ", e->kind);
	buf_append_escaped(&p->out, e->path, e->path_len);
	if (e->kind != DIFF_CHANGED) {
		describe(e->old ? e->old : e->new, old);
		buf_printf(&p->out, "  %s\n", old);
		return;
	}
	buf_printf(&p->out, "  (");
	for (unsigned bit = 1, first = 1; bit <= DIFF_CHANGE_LAST; bit <<= 1)
		if (e->changes & bit) {
			buf_printf(&p->out, "%s%s", first ? "" : ", ", diff_change_name(bit));
			first = 0;
		}
	describe(e->old, old);
	describe(e->new, new);
	if (strcmp(old, new) != 0)
		buf_printf(&p->out, ")  %s -> %s\n", old, new);
	else if (S_ISREG(e->old->mode) && e->old->size != e->new->size)
		buf_printf(&p->out, ")  %" PRIu64 " B -> %" PRIu64 " B\n", e->old->size,
			   e->new->size);
	else
		buf_printf(&p->out, ")  %s\n", new);
}

static void print_node(struct buf *out, const struct cat_attr *a)
{
	char when[40];

	if (!a) {
		buf_printf(out, "null");
		return;
	}
	format_iso_time(a->mtime_sec, a->mtime_nsec, when);
	buf_printf(out,
		   "{\"type\": \"%s\", \"size\": %" PRIu64 ", \"mode\": \"%04o\", \"uid\": %u,"
		   " \"gid\": %u, \"mtime\": \"%s\"}",
		   mode_type_name(a->mode), a->size, a->mode & 07777, a->uid, a->gid, when);
}

static void print_json(struct printer *p, const struct diff_entry *e)
{
	static const char *const status[] = { [DIFF_ADDED] = "added",
					      [DIFF_REMOVED] = "removed",
					      [DIFF_CHANGED] = "changed" };

	buf_printf(&p->out, "%s\n    {\"path\": ", p->n ? "," : "");
	buf_append_json_string(&p->out, e->path, e->path_len);
	buf_printf(&p->out, ", \"status\": \"%s\", \"changes\": [", status[e->kind]);
	for (unsigned bit = 1, first = 1; bit <= DIFF_CHANGE_LAST; bit <<= 1)
		if (e->changes & bit) {
			buf_printf(&p->out, "%s\"%s\"", first ? "" : ", ", diff_change_name(bit));
			first = 0;
		}
	buf_printf(&p->out, "], \"old\": ");
	print_node(&p->out, e->old);
	buf_printf(&p->out, ", \"new\": ");
	print_node(&p->out, e->new);
	buf_printf(&p->out, "}");
}

static int print_entry(void *userdata, const struct diff_entry *e)
{
	struct printer *p = userdata;

	if (p->json)
		print_json(p, e);
	else
		print_text(p, e);
	p->n++;
	return p->out.len >= FLUSH_AT ? flush(p) : 0;
}

static bool looks_like_path(const char *arg)
{
	return arg[0] == '/' || strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0 ||
	       strncmp(arg, "./", 2) == 0 || strncmp(arg, "../", 3) == 0;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void json_head(struct printer *p, const struct cat_snapshot *a, const struct cat_snapshot *b,
		      const char *dir, bool content)
{
	buf_printf(&p->out, "{\"from\": \"%s/%s\", ", a->member, a->name);
	if (dir) {
		buf_printf(&p->out, "\"directory\": ");
		buf_append_json_string(&p->out, dir, strlen(dir));
		buf_printf(&p->out, ", \"content_compared\": %s", content ? "true" : "false");
	} else {
		buf_printf(&p->out, "\"to\": \"%s/%s\"", b->member, b->name);
	}
	buf_printf(&p->out, ",\n  \"differences\": [");
}

static void json_tail(struct printer *p, const struct diff_stats *st)
{
	buf_printf(&p->out,
		   "%s],\n  \"added\": %" PRIu64 ", \"removed\": %" PRIu64 ", \"changed\": %" PRIu64
		   ", \"compared\": %" PRIu64 ", \"not_read\": %" PRIu64 ", \"errors\": %" PRIu64
		   "}\n",
		   p->n ? "\n  " : "", st->n_added, st->n_removed, st->n_changed, st->n_compared,
		   st->n_assumed, st->n_errors);
}

static int diff_option(struct cmd_ctx *ctx, int opt, const char *arg UNUSED)
{
	struct diff_options *o = ctx->opts;

	if (opt != OPT_CONTENT)
		return cmd_usage_error(ctx, "unknown option");
	o->content = true;
	return EXIT_OK;
}

static int diff_operands(struct cmd_ctx *ctx)
{
	struct diff_options *o = ctx->opts;

	if (ctx->n_args < 2)
		return cmd_usage_error(ctx, "expected a snapshot and a snapshot or directory");
	if (ctx->n_args > 3)
		return cmd_usage_error(ctx, "unexpected argument '%s'", ctx->args[3]);
	o->path = ctx->n_args == 3 ? ctx->args[2] : NULL;
	return EXIT_OK;
}

static int diff_check(struct cmd_ctx *ctx)
{
	const struct diff_options *o = ctx->opts;
	const char *second = ctx->args[1];

	if (o->content && !looks_like_path(second) && !is_dir(second))
		return cmd_usage_error(ctx, "--content applies to a comparison with a directory");
	return EXIT_OK;
}

/* The second operand: a directory (returned), or a snapshot (in *ret). */
static int resolve_second(struct cmd_ctx *ctx, const char *second, const char **ret_dir,
			  struct cat_snapshot *ret)
{
	int r;

	*ret_dir = NULL;
	if (looks_like_path(second)) {
		*ret_dir = second;
		return 0;
	}
	r = cmd_resolve_snapshot(ctx, second, true, ret);
	if (r == 0) {
		if (is_dir(second))
			log_warning("'%s' names a snapshot and a local directory; comparing "
				    "with the snapshot (write './%s' for the directory)",
				    second, second);
		return 0;
	}
	if (is_dir(second)) {
		*ret_dir = second;
		return 0;
	}
	r = cmd_resolve_snapshot(ctx, second, false, ret);
	if (r < 0)
		log_error("hint: to compare with a local directory, name one that "
			  "exists (a leading / or ./ always means a directory)");
	return r;
}

static int diff_run(struct cmd_ctx *ctx)
{
	struct diff_options *o = ctx->opts;
	struct printer p = { .json = ctx->json, .out = BUF_INIT };
	struct cat_snapshot snaps[2];
	struct diff_stats st = { 0 };
	const char *dir = NULL;
	int r;

	o->fn = print_entry;
	o->userdata = &p;
	r = cmd_resolve_snapshot(ctx, ctx->args[0], false, &snaps[0]);
	if (r == 0)
		r = resolve_second(ctx, ctx->args[1], &dir, &snaps[1]);
	if (r == 0 && o->content && !dir)
		return cmd_usage_error(ctx, "--content applies to a comparison with a directory");
	if (r == 0)
		r = cmd_load_trees(ctx->repo, ctx->cat, snaps, dir ? 1 : 2);
	if (r == 0) {
		if (p.json)
			json_head(&p, &snaps[0], &snaps[1], dir, o->content);
		o->keys = repo_keys(ctx->repo);
		r = dir ? diff_live(ctx->cat, &snaps[0], dir, o, &st)
			: diff_snapshots(ctx->cat, &snaps[0], &snaps[1], o, &st);
	}
	if (r >= 0 && p.json)
		json_tail(&p, &st);
	if (r >= 0) {
		int w = flush(&p);
		r = w < 0 ? w : r;
	}
	buf_release(&p.out);
	if (r >= 0 && dir && !o->content && st.n_assumed > 0)
		log_info("note: file data was not read: %" PRIu64 " file%s of equal size count as "
			 "unchanged in content (--content reads and compares them)",
			 st.n_assumed, st.n_assumed == 1 ? "" : "s");
	if (r < 0 || st.n_errors > 0)
		return DIFF_TROUBLE;
	return r > 0 ? DIFF_DIFFERENT : DIFF_SAME;
}

const struct cmd_def cmd_diff = {
	.usage = "cairn diff -r REPO [--json] SNAP SNAP [PATH]\n"
		 "       cairn diff -r REPO [--json] [--content] SNAP DIR [PATH]",
	.options =
		(const struct option[]){
			{ "content", no_argument, NULL, OPT_CONTENT },
			{ NULL, 0, NULL, 0 },
		},
	.opts_size = sizeof(struct diff_options),
	.option = diff_option,
	.operands = diff_operands,
	.check = diff_check,
	.run = diff_run,
};
