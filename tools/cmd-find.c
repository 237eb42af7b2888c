/*
 * cmd-find.c - cairn find: every snapshot and path whose name matches a
 * pattern, answered from the catalog (catalog_find()); trees the catalog
 * lacks are fetched once first. Exit status as grep's: 0 when something
 * matched, 1 when nothing did, 2 for usage errors and trouble.
 */
#include "catalog/catalog-query.h"
#include "cmd.h"
#include "base/log.h"

enum { OPT_SINCE = OPT_FIRST_COMMAND_OPTION, OPT_UNTIL };

enum { FIND_MATCH = 0, FIND_NONE = 1, FIND_TROUBLE = 2 };

#define FLUSH_AT (64u << 10)

struct finder {
	bool json;
	bool has_since, has_until;
	int64_t since, until;
	struct cat_snapshot *snaps;
	size_t n;
	const struct cat_snapshot *cur;
	uint64_t n_found;
	struct buf out;
};

/* Keeps the snapshots within --since and --until. */
static void pick_snapshots(struct finder *f)
{
	size_t kept = 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct cat_snapshot *s = &f->snaps[i];
		if ((f->has_since && s->time_sec < f->since) ||
		    (f->has_until && s->time_sec > f->until))
			continue;
		f->snaps[kept++] = *s;
	}
	f->n = kept;
}

static int flush(struct finder *f)
{
	int r = write_all(STDOUT_FILENO, f->out.ptr, f->out.len);
	buf_reset(&f->out);
	return r < 0 ? log_error_errno(r, "cannot write the results") : 0;
}

static int print_found(void *userdata, const struct cat_found *m)
{
	struct finder *f = userdata;
	const struct cat_snapshot *s = f->cur;

	if (!f->json) {
		buf_printf(&f->out, "%s/%s/", s->member, s->name);
		buf_append_escaped(&f->out, m->path, m->path_len);
		buf_append_u8(&f->out, '\n');
	} else {
		char hex[HASH_HEX_LEN + 1], when[40];
		hex_encode(s->snap_id, HASH_LEN, hex);
		format_iso_time(m->attr.mtime_sec, m->attr.mtime_nsec, when);
		buf_printf(&f->out, "%s\n  {\"member\": ", f->n_found ? "," : "");
		buf_append_json_string(&f->out, s->member, strlen(s->member));
		buf_printf(&f->out, ", \"timestamp\": \"%s\", \"id\": \"%s\", \"path\": ", s->name,
			   hex);
		buf_append_json_string(&f->out, m->path, m->path_len);
		buf_printf(&f->out,
			   ", \"type\": \"%s\", \"size\": %" PRIu64 ", \"mode\": \"%04o\","
			   " \"uid\": %u, \"gid\": %u, \"mtime\": \"%s\"}",
			   mode_type_name(m->attr.mode), m->attr.size, m->attr.mode & 07777,
			   m->attr.uid, m->attr.gid, when);
	}
	f->n_found++;
	return f->out.len >= FLUSH_AT ? flush(f) : 0;
}

static int parse_time(const struct cmd_ctx *ctx, const char *opt, const char *arg, int64_t *ret)
{
	if (snapshot_time_parse(arg, ret) < 0)
		return cmd_usage_error(ctx,
				       "%s '%s' is not a time (2026-11-22T205328Z, "
				       "'2026-11-22 20:53:28', 2026-11-22 or @SECONDS, UTC)",
				       opt, arg);
	return 0;
}

static int find_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct finder *f = ctx->opts;

	switch (opt) {
	case OPT_SINCE:
		if (parse_time(ctx, "--since", arg, &f->since))
			return EXIT_USAGE;
		f->has_since = true;
		return EXIT_OK;
	case OPT_UNTIL:
		if (parse_time(ctx, "--until", arg, &f->until))
			return EXIT_USAGE;
		f->has_until = true;
		return EXIT_OK;
	}
	return cmd_usage_error(ctx, "unknown option");
}

static int find_operands(struct cmd_ctx *ctx)
{
	if (ctx->n_args < 1)
		return cmd_usage_error(ctx, "no pattern given");
	if (ctx->n_args > 1)
		return cmd_usage_error(ctx,
				       "unexpected argument '%s' (quote the pattern so the "
				       "shell does not expand it)",
				       ctx->args[1]);
	if (!*ctx->args[0])
		return cmd_usage_error(ctx, "the pattern is empty");
	return EXIT_OK;
}

static int find_run(struct cmd_ctx *ctx)
{
	struct finder *f = ctx->opts;
	const char *pattern = ctx->args[0];
	int r;

	f->json = ctx->json;
	f->out = BUF_INIT;
	r = cmd_list_snapshots(ctx->cat, ctx->member, &f->snaps, &f->n);
	if (r == 0) {
		pick_snapshots(f);
		r = cmd_load_trees(ctx->repo, ctx->cat, f->snaps, f->n);
	}
	if (r == 0 && f->json)
		buf_printf(&f->out, "[");
	bool whole_path = strchr(pattern, '/') != NULL;
	for (size_t i = 0; r == 0 && i < f->n; i++) {
		f->cur = &f->snaps[i];
		r = catalog_find(ctx->cat, f->cur, pattern, whole_path, print_found, f);
		r = r > 0 ? 0 : r;
	}
	if (r == 0 && f->json)
		buf_printf(&f->out, "%s]\n", f->n_found ? "\n" : "");
	if (r == 0)
		r = flush(f);
	buf_release(&f->out);
	free(f->snaps);
	if (r < 0)
		return FIND_TROUBLE;
	return f->n_found ? FIND_MATCH : FIND_NONE;
}

const struct cmd_def cmd_find = {
	.usage = "cairn find -r REPO [--member M] [--since T] [--until T] [--json] PATTERN",
	.options =
		(const struct option[]){
			{ "since", required_argument, NULL, OPT_SINCE },
			{ "until", required_argument, NULL, OPT_UNTIL },
			{ NULL, 0, NULL, 0 },
		},
	.opts_size = sizeof(struct finder),
	.option = find_option,
	.operands = find_operands,
	.run = find_run,
};
