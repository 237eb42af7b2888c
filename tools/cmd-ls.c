/*
 * cmd-ls.c - cairn ls: list a directory of a snapshot (or, with -R, a
 * whole subtree) from the catalog, without reading any file data.
 *
 * Text output has one entry a line; names are escaped as buf_append_escaped()
 * does (like ls -b: control characters, backslashes and bytes that are not
 * UTF-8 as C escapes), so every line is one entry. --json gives one array;
 * a name that is not valid UTF-8 comes as "name" with each stray byte as a
 * \u00XX escape and, exactly, as "name_base64" (the same for symlink
 * targets), so no byte is lost.
 */
#include "cmd.h"
#include "base/log.h"
#include "ops/walk.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#define LS_FLUSH (64u << 10)

struct ls {
	struct catalog *cat;
	bool long_format, recursive, json;
	unsigned n;
	struct buf out;
	int error; /* the first write error */
};

static void mode_string(uint32_t mode, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	char type;

	switch (mode & S_IFMT) {
	case S_IFDIR:
		type = 'd';
		break;
	case S_IFLNK:
		type = 'l';
		break;
	case S_IFIFO:
		type = 'p';
		break;
	case S_IFCHR:
		type = 'c';
		break;
	case S_IFBLK:
		type = 'b';
		break;
	case S_IFSOCK:
		type = 's';
		break;
	default:
		type = '-';
		break;
	}
	out[0] = type;
	for (int i = 0; i < 9; i++)
		out[1 + i] = mode & (0400u >> i) ? rwx[i] : '-';
	if (mode & S_ISUID)
		out[3] = out[3] == 'x' ? 's' : 'S';
	if (mode & S_ISGID)
		out[6] = out[6] == 'x' ? 's' : 'S';
	if (mode & S_ISVTX)
		out[9] = out[9] == 'x' ? 't' : 'T';
	out[10] = '\0';
}

/* "2026-11-22 20:53:28" (UTC) into out, for -l. */
static void format_time(int64_t sec, char out[40])
{
	struct tm tm;
	time_t t = (time_t)sec;

	if (!gmtime_r(&t, &tm) || strftime(out, 40, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, 40, "@%" PRId64, sec);
}

static void flush(struct ls *l, bool force)
{
	if (l->out.len == 0 || (!force && l->out.len < LS_FLUSH))
		return;
	if (l->error == 0 && write_all(STDOUT_FILENO, l->out.ptr, l->out.len) < 0)
		l->error = log_error_errno(-errno, "cannot write the listing");
	buf_reset(&l->out);
}

static void json_bytes(struct buf *b, const char *key, const void *s, size_t len)
{
	buf_printf(b, ", \"%s\": ", key);
	buf_append_json_string(b, s, len);
	if (!buf_is_utf8(s, len)) {
		buf_printf(b, ", \"%s_base64\": \"", key);
		buf_append_base64(b, s, len);
		buf_append_u8(b, '"');
	}
}

static int json_entry(struct ls *l, const struct walk_entry *e, const struct buf *target)
{
	AUTOBUF struct buf names = BUF_INIT;
	AUTOBUF struct buf value = BUF_INIT;
	const struct cat_attr *a = &e->attr;
	struct buf *b = &l->out;
	char mode[11], when[40];
	int r;

	mode_string(a->mode, mode);
	format_iso_time(a->mtime_sec, a->mtime_nsec, when);
	buf_printf(b, "%s\n  {\"type\": \"%s\"", l->n++ ? "," : "", mode_type_name(a->mode));
	json_bytes(b, "name", e->name, e->name_len);
	json_bytes(b, "path", e->path, strlen(e->path));
	buf_printf(b,
		   ", \"mode\": \"%04o\", \"mode_string\": \"%s\", \"nlink\": %u, "
		   "\"uid\": %u, \"gid\": %u, \"size\": %" PRIu64 ", \"blocks\": %" PRIu64
		   ", \"mtime\": \"%s\", \"mtime_sec\": %" PRId64 ", \"mtime_nsec\": %u, "
		   "\"inode\": %" PRIu64,
		   a->mode & 07777, mode, a->nlink, a->uid, a->gid, a->size, a->blocks, when,
		   a->mtime_sec, a->mtime_nsec, a->ino);
	if (S_ISCHR(a->mode) || S_ISBLK(a->mode))
		buf_printf(b, ", \"rdev_major\": %u, \"rdev_minor\": %u", major((dev_t)a->rdev),
			   minor((dev_t)a->rdev));
	if (target)
		json_bytes(b, "target", target->ptr, target->len);
	buf_printf(b, ", \"xattrs\": {");
	r = catalog_listxattr(l->cat, a->ino, &names);
	if (r < 0)
		return r;
	bool first = true;
	for (size_t off = 0; off < names.len;) {
		const char *xn = (const char *)names.ptr + off;
		size_t len = strnlen(xn, names.len - off);
		off += len + 1;
		buf_reset(&value);
		r = catalog_getxattr(l->cat, a->ino, xn, &value);
		if (r < 0)
			return r;
		buf_printf(b, "%s", first ? "" : ", ");
		first = false;
		buf_append_json_string(b, xn, len);
		buf_printf(b, ": \"");
		buf_append_base64(b, value.ptr, value.len);
		buf_append_u8(b, '"');
	}
	buf_printf(b, "}}");
	return 0;
}

static void text_entry(struct ls *l, const struct walk_entry *e, const struct buf *target)
{
	const struct cat_attr *a = &e->attr;
	const char *shown = l->recursive ? e->path : e->name;
	struct buf *b = &l->out;

	if (l->long_format) {
		char mode[11], when[40];
		mode_string(a->mode, mode);
		format_time(a->mtime_sec, when);
		buf_printf(b, "%s %3u %5u %5u ", mode, a->nlink, a->uid, a->gid);
		if (S_ISCHR(a->mode) || S_ISBLK(a->mode))
			buf_printf(b, "%5u, %5u", major((dev_t)a->rdev), minor((dev_t)a->rdev));
		else
			buf_printf(b, "%12" PRIu64, a->size);
		buf_printf(b, " %s ", when);
	}
	buf_append_escaped(b, shown, strlen(shown));
	if (l->long_format && target) {
		buf_printf(b, " -> ");
		buf_append_escaped(b, target->ptr, target->len);
	}
	buf_append_u8(b, '\n');
}

static int list_entry(void *userdata, enum walk_event ev, const struct walk_entry *e)
{
	AUTOBUF struct buf target = BUF_INIT;
	struct ls *l = userdata;
	bool is_dir = S_ISDIR(e->attr.mode);
	int r;

	if (ev == WALK_LEAVE)
		return 0;
	/* A directory named on the command line is listed, not shown. */
	if (e->depth == 0 && is_dir)
		return 0;
	if (S_ISLNK(e->attr.mode) && (l->long_format || l->json)) {
		r = catalog_readlink(l->cat, e->attr.ino, &target);
		if (r < 0)
			return r;
	}
	if (l->json) {
		r = json_entry(l, e, S_ISLNK(e->attr.mode) ? &target : NULL);
		if (r < 0)
			return r;
	} else {
		text_entry(l, e, S_ISLNK(e->attr.mode) ? &target : NULL);
	}
	flush(l, false);
	if (l->error)
		return l->error;
	return is_dir && !l->recursive ? WALK_SKIP : 0;
}

static int ls_option(struct cmd_ctx *ctx, int opt, const char *arg UNUSED)
{
	struct ls *l = ctx->opts;

	switch (opt) {
	case 'l':
		l->long_format = true;
		return EXIT_OK;
	case 'R':
		l->recursive = true;
		return EXIT_OK;
	}
	return cmd_usage_error(ctx, "unknown option");
}

static int ls_run(struct cmd_ctx *ctx)
{
	struct ls *l = ctx->opts;
	AUTOFREE char *name = NULL;
	struct cat_attr root;
	int r;

	l->cat = ctx->cat;
	l->json = ctx->json;
	l->out = BUF_INIT;
	r = walk_resolve(ctx->repo, ctx->cat, &ctx->snap, ctx->path, &root, &name);
	if (r == 0) {
		if (l->json)
			buf_printf(&l->out, "[");
		r = walk_subtree(ctx->cat, &root, S_ISDIR(root.mode) ? "" : name, list_entry, l);
		if (l->json)
			buf_printf(&l->out, "%s]\n", l->n ? "\n" : "");
		if (r == 0)
			flush(l, true);
		if (r < 0 && r != l->error)
			log_error_errno(r, "cannot list '%s' of %s/%s", ctx->path, ctx->snap.member,
					ctx->snap.name);
	}
	if (r == 0 && l->error)
		r = l->error;
	buf_release(&l->out);
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}

const struct cmd_def cmd_ls = {
	.usage = "cairn ls -r REPO SNAP [PATH] [-l] [-R] [--json]",
	.options =
		(const struct option[]){
			{ "long", no_argument, NULL, 'l' },
			{ "recursive", no_argument, NULL, 'R' },
			{ NULL, 0, NULL, 0 },
		},
	.short_options = "lR",
	.opts_size = sizeof(struct ls),
	.option = ls_option,
	.run = ls_run,
};
