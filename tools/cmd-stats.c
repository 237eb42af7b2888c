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

static void print_json(struct buf *out, const struct repo_stats *st, const char *member)
{
	const struct cat_usage *u = &st->usage;
	char dedup[32], comp[32];

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
		   ",\n  \"dedup_ratio\": %s, \"compression_ratio\": %s,\n  \"packs\": {\"count\": "
		   "%" PRIu64 ", \"bytes\": %" PRIu64 ", \"unused\": %" PRIu64 ", \"listed\": %s},"
		   " \"reclaimable_bytes\": %" PRIu64 "}\n",
		   st->n_snapshots, st->n_members, st->n_files, st->raw_bytes, u->data_bytes,
		   u->unique_bytes, u->stored_bytes, u->stored_raw_bytes, u->n_extents, u->n_unique,
		   u->n_stored, dedup, comp, st->n_packs, st->pack_bytes, st->n_unused_packs,
		   st->packs_listed ? "true" : "false", st->reclaimable_bytes);
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
	if (r == 0) {
		if (ctx->json)
			print_json(&out, &st, ctx->member);
		else
			print_text(&out, &st, ctx->member);
		r = write_all(STDOUT_FILENO, out.ptr, out.len);
	}
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}

const struct cmd_def cmd_stats = {
	.usage = "cairn stats -r REPO [--member M] [--json]",
	.run = stats_run,
};
