/*
 * cmd-snapshots.c - cairn snapshots: list snapshots, from the catalog
 * (synced with the repository's snapshot headers; no tree is read).
 */
#include "cmd.h"
#include "base/log.h"

struct listing {
	bool json;
	unsigned n;
	struct buf out;
};

static int print_snapshot(void *userdata, const struct cat_snapshot *s)
{
	struct listing *l = userdata;
	char hex[HASH_HEX_LEN + 1], size[16], when[40];

	hex_encode(s->snap_id, HASH_LEN, hex);
	if (!l->json) {
		if (l->n++ == 0)
			buf_printf(&l->out, "%-20s %-22s %-10s %10s %10s  %s\n", "MEMBER",
				   "TIMESTAMP", "ID", "FILES", "SIZE", "TAGS");
		format_size(s->n_bytes, size);
		buf_printf(&l->out, "%-20s %-22s %.8s   %10" PRIu64 " %10s  %s\n", s->member,
			   s->name, hex, s->n_files, size, s->tags);
		return 0;
	}
	format_iso_time(s->time_sec, s->time_nsec, when);
	buf_printf(&l->out, "%s\n  {\"member\": ", l->n++ ? "," : "");
	buf_append_json_string(&l->out, s->member, strlen(s->member));
	buf_printf(&l->out,
		   ", \"timestamp\": \"%s\", \"id\": \"%s\", \"time\": \"%s\", \"files\": %" PRIu64
		   ", \"dirs\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"stored\": %" PRIu64
		   ", \"host\": ",
		   s->name, hex, when, s->n_files, s->n_dirs, s->n_bytes, s->n_stored);
	buf_append_json_string(&l->out, s->host, strlen(s->host));
	buf_printf(&l->out, ", \"tags\": [");
	const char *t = s->tags;
	for (bool first = true; *t; first = false) {
		size_t len = strcspn(t, ",");
		buf_printf(&l->out, "%s", first ? "" : ", ");
		buf_append_json_string(&l->out, t, len);
		t += len + (t[len] == ',');
	}
	buf_printf(&l->out, "]}");
	return 0;
}

static int snapshots_run(struct cmd_ctx *ctx)
{
	struct listing l = { .json = ctx->json, .out = BUF_INIT };
	int r;

	if (l.json)
		buf_printf(&l.out, "[");
	r = catalog_list_snapshots(ctx->cat, ctx->member, print_snapshot, &l);
	if (l.json)
		buf_printf(&l.out, "%s]\n", l.n ? "\n" : "");
	if (r == 0 && write_all(STDOUT_FILENO, l.out.ptr, l.out.len) < 0)
		r = -EIO;
	buf_release(&l.out);
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}

const struct cmd_def cmd_snapshots = {
	.usage = "cairn snapshots -r REPO [--member M] [--json]",
	.run = snapshots_run,
};
