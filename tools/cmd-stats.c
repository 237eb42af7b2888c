/*
 * cmd-stats.c - cairn stats: what the snapshots hold and what storing them
 * costs (stats_compute()); the definitions of the figures are in cairn(1).
 */
#include "cmd.h"
#include "base/log.h"
#include "ops/stats.h"

/* num / den with two decimals, or "-" (JSON: null) when den is 0. */
static void ratio(uint64_t num, uint64_t den, bool json, char out[32])
{
	if (den == 0)
		snprintf(out, 32, "%s", json ? "null" : "-");
	else
		snprintf(out, 32, "%.2f", (double)num / (double)den);
}

static void line(struct buf *out, const char *what, uint64_t bytes, const char *note)
{
	char size[16];
	format_size(bytes, size);
	buf_printf(out, "%-18s %-11s %-16" PRIu64 " %s\n", what, size, bytes, note);
}

static void print_text(struct buf *out, const struct repo_stats *st, const char *member)
{
	const struct cat_usage *u = &st->usage;
	char dedup[32], comp[32], size[16];

	ratio(u->data_bytes, u->unique_bytes, false, dedup);
	ratio(u->stored_raw_bytes, u->stored_bytes, false, comp);
	if (member)
		buf_printf(out, "%-18s %s\n", "member", member);
	buf_printf(out, "%-18s %" PRIu64 " (%" PRIu64 " member%s)\n", "snapshots", st->n_snapshots,
		   st->n_members, st->n_members == 1 ? "" : "s");
	buf_printf(out, "%-18s %" PRIu64 "\n", "files", st->n_files);
	line(out, "raw bytes", st->raw_bytes, "sum of the snapshots' sizes");
	line(out, "data bytes", u->data_bytes, "the same without sparse files' holes");
	line(out, "unique bytes", u->unique_bytes, "distinct chunks, uncompressed");
	line(out, "stored bytes", u->stored_bytes, "the chunks as stored (compressed)");
	buf_printf(out, "%-18s %-11s %-16s %s\n", "dedup ratio", dedup, "",
		   "data bytes / unique bytes");
	buf_printf(out, "%-18s %-11s %-16s %s\n", "compression ratio", comp, "",
		   "uncompressed / stored size of the stored chunks");
	format_size(st->pack_bytes, size);
	buf_printf(out, "%-18s %" PRIu64 " (%s in all%s; %" PRIu64 " unused)\n", "packs",
		   st->n_packs, size, st->packs_listed ? "" : ", chunks only, from the catalog",
		   st->n_unused_packs);
	line(out, "reclaimable", st->reclaimable_bytes, "what prune could free in the repository");
}

/* Raw and stored size and their ratio, per member and in total. */
static void print_members_text(struct buf *out, const struct repo_stats *st,
			       const struct member_stats *m, size_t n)
{
	char raw[16], stored[16], r[32];

	buf_printf(out, "\n%-24s %9s %11s %11s %7s\n", "member", "snapshots", "raw", "stored",
		   "ratio");
	for (size_t i = 0; i < n; i++) {
		format_size(m[i].raw_bytes, raw);
		format_size(m[i].usage.stored_bytes, stored);
		ratio(m[i].raw_bytes, m[i].usage.stored_bytes, false, r);
		buf_printf(out, "%-24s %9" PRIu64 " %11s %11s %7s\n", m[i].name, m[i].n_snapshots,
			   raw, stored, r);
	}
	format_size(st->raw_bytes, raw);
	format_size(st->usage.stored_bytes, stored);
	ratio(st->raw_bytes, st->usage.stored_bytes, false, r);
	buf_printf(out, "%-24s %9" PRIu64 " %11s %11s %7s\n", "total", st->n_snapshots, raw, stored,
		   r);
}

static void print_members_json(struct buf *out, const struct member_stats *m, size_t n)
{
	char r[32];

	buf_printf(out, ",\n  \"per_member\": [");
	for (size_t i = 0; i < n; i++) {
		ratio(m[i].raw_bytes, m[i].usage.stored_bytes, true, r);
		buf_printf(out, "%s\n    {\"member\": ", i ? "," : "");
		buf_append_json_string(out, m[i].name, strlen(m[i].name));
		buf_printf(out,
			   ", \"snapshots\": %" PRIu64 ", \"files\": %" PRIu64
			   ", \"raw_bytes\": %" PRIu64 ", \"data_bytes\": %" PRIu64
			   ", \"unique_bytes\": %" PRIu64 ", \"stored_bytes\": %" PRIu64
			   ", \"ratio\": %s}",
			   m[i].n_snapshots, m[i].n_files, m[i].raw_bytes, m[i].usage.data_bytes,
			   m[i].usage.unique_bytes, m[i].usage.stored_bytes, r);
	}
	buf_printf(out, "]");
}

static void print_json(struct buf *out, const struct repo_stats *st, const char *member,
		       const struct member_stats *m, size_t n)
{
	const struct cat_usage *u = &st->usage;
	char dedup[32], comp[32], total[32];

	ratio(st->raw_bytes, u->stored_bytes, true, total);
	ratio(u->data_bytes, u->unique_bytes, true, dedup);
	ratio(u->stored_raw_bytes, u->stored_bytes, true, comp);
	buf_printf(out, "{\"member\": ");
	if (member)
		buf_append_json_string(out, member, strlen(member));
	else
		buf_printf(out, "null");
	buf_printf(out,
		   ", \"snapshots\": %" PRIu64 ", \"members\": %" PRIu64 ", \"files\": %" PRIu64
		   ",\n  \"raw_bytes\": %" PRIu64 ", \"data_bytes\": %" PRIu64
		   ", \"unique_bytes\": %" PRIu64 ", \"stored_bytes\": %" PRIu64
		   ", \"stored_raw_bytes\": %" PRIu64 ",\n  \"chunks\": %" PRIu64
		   ", \"unique_chunks\": %" PRIu64 ", \"stored_chunks\": %" PRIu64
		   ",\n  \"dedup_ratio\": %s, \"compression_ratio\": %s, \"ratio\": %s,\n  "
		   "\"packs\": {\"count\": "
		   "%" PRIu64 ", \"bytes\": %" PRIu64 ", \"unused\": %" PRIu64 ", \"listed\": %s},"
		   " \"reclaimable_bytes\": %" PRIu64,
		   st->n_snapshots, st->n_members, st->n_files, st->raw_bytes, u->data_bytes,
		   u->unique_bytes, u->stored_bytes, u->stored_raw_bytes, u->n_extents, u->n_unique,
		   u->n_stored, dedup, comp, total, st->n_packs, st->pack_bytes, st->n_unused_packs,
		   st->packs_listed ? "true" : "false", st->reclaimable_bytes);
	if (!member)
		print_members_json(out, m, n);
	buf_printf(out, "}\n");
}

static int stats_run(struct cmd_ctx *ctx)
{
	AUTOBUF struct buf out = BUF_INIT;
	AUTOFREE struct cat_snapshot *all = NULL;
	struct repo_stats st;
	size_t n = 0;
	int r;

	r = cmd_list_snapshots(ctx->cat, NULL, &all, &n);
	if (r == 0)
		r = cmd_load_trees(ctx->repo, ctx->cat, all, n);
	if (r == 0)
		r = stats_compute(ctx->repo, ctx->cat, ctx->member, &st);
	AUTOFREE struct member_stats *members = NULL;
	size_t n_members = 0;
	if (r == 0 && !ctx->member)
		r = stats_members(ctx->cat, &members, &n_members);
	if (r == 0) {
		if (ctx->json) {
			print_json(&out, &st, ctx->member, members, n_members);
		} else {
			print_text(&out, &st, ctx->member);
			if (!ctx->member)
				print_members_text(&out, &st, members, n_members);
		}
		r = write_all(STDOUT_FILENO, out.ptr, out.len);
	}
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}

const struct cmd_def cmd_stats = {
	.usage = "cairn stats -r REPO [--member M] [--json]",
	.run = stats_run,
};
