/*
 * ingest-stdin.c - a snapshot of one file whose bytes arrive on a file
 * descriptor: a dump piped into `cairn backup --stdin NAME`, or the output
 * of the command `--stdin NAME -- CMD` runs (tools/ starts it and hands us
 * the pipe, and a finish callback that waits for it).
 *
 * The bytes are chunked as they arrive (backup-stream.c), so a dump of any
 * size needs a few chunks of memory. The finish callback runs after the
 * last byte and before anything refers to what was stored: a dump whose
 * command failed leaves no snapshot, only packs that prune reclaims or the
 * next backup reuses.
 */
#include "ops/ingest.h"
#include "ops/backup-internal.h"
#include "base/log.h"

#define READ_SIZE (1u << 20)

struct ingest_stdin {
	const struct stream_options *o;
};

static int stdin_fill(struct backup *b, void *userdata)
{
	struct ingest_stdin *is = userdata;
	const struct stream_options *o = is->o;
	const struct backup_options *bo = backup_options(b);
	struct backup_stats *st = backup_stats(b);
	struct tree *t = backup_tree(b);
	struct backup_stream s;
	AUTOFREE uint8_t *buf = xmalloc(READ_SIZE);
	uint64_t off = 0;
	int r = 0;

	struct tree_inode root = {
		.type = NODE_DIR,
		.perm = 0755,
		.uid = getuid(),
		.gid = getgid(),
		.mtime_sec = bo->time_sec,
		.mtime_nsec = bo->time_nsec,
	};
	struct tree_inode file = root;
	file.type = NODE_FILE;
	file.perm = 0600;

	backup_stream_init(&s, b);
	file.first_extent = backup_stream_begin(&s);
	for (;;) {
		ssize_t n = read(o->fd, buf, READ_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = log_error_errno(-errno, "cannot read the data for '%s'", o->name);
			break;
		}
		if (n == 0)
			break;
		r = backup_stream_write(&s, off, buf, (size_t)n);
		if (r < 0)
			break;
		off += (uint64_t)n;
	}
	if (r == 0)
		r = backup_stream_end(&s, &file.n_extents);
	backup_stream_release(&s);
	if (r == 0 && o->finish)
		r = o->finish(o->finish_data);
	if (r < 0)
		return r;
	file.size = off;
	tree_add_inode(t, &root);
	uint32_t idx = tree_add_inode(t, &file);
	tree_add_dirent(t, 0, idx, o->name, strlen(o->name));
	st->n_dirs = 1;
	st->n_files = 1;
	st->n_bytes = off;
	return 0;
}

int backup_stream(struct repo *r, struct catalog *c, const struct backup_options *opts,
		  const struct stream_options *o, struct backup_result *ret)
{
	struct ingest_stdin is = { .o = o };
	struct backup_options bo = *opts;

	if (!name_is_valid_component(o->name, strlen(o->name)))
		return log_error_errno(-EINVAL, "cannot store a file named '%s'", o->name);
	bo.paths = NULL;
	bo.n_paths = 0;
	bo.fill = stdin_fill;
	bo.fill_data = &is;
	return backup_run(r, c, &bo, ret);
}
