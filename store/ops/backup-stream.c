/*
 * backup-stream.c - cut a file that arrives as a stream (a tar entry,
 * standard input) into content-defined chunks, hole by hole.
 *
 * The buffer holds the not yet chunked tail of the current data segment.
 * A chunk is cut only once the buffer holds max_size bytes or the segment
 * has ended, which is what the directory walk does with a file it reads
 * (backup.c, backup_segment), so cut points and chunk hashes are the same
 * whether a file came from a directory or from a tar stream: a tar of a
 * tree deduplicates against a backup of the tree itself.
 */
#include "ops/backup-internal.h"
#include "format/tree.h"

void backup_stream_init(struct backup_stream *s, struct backup *b)
{
	const struct chunker_params *cp = backup_chunker(b);

	*s = (struct backup_stream){ .b = b };
	s->cap = MAX((size_t)cp->max_size * 4, (size_t)8 << 20);
	s->buf = xmalloc(s->cap);
}

void backup_stream_release(struct backup_stream *s)
{
	free(s->buf);
	s->buf = NULL;
}

uint32_t backup_stream_begin(struct backup_stream *s)
{
	s->have = 0;
	s->pos = 0;
	s->first = backup_tree(s->b)->n_extents;
	return (uint32_t)s->first;
}

/* Cuts chunks off the buffer: all of it at the end of a segment, else as
 * long as a full max_size chunk's worth remains. */
static int cut(struct backup_stream *s, bool at_end)
{
	const struct chunker_params *cp = backup_chunker(s->b);
	struct tree *t = backup_tree(s->b);
	size_t head = 0;
	int r;

	while (s->have - head > 0 && (at_end || s->have - head >= cp->max_size)) {
		size_t n = chunker_cut(cp, s->buf + head, s->have - head, at_end);
		if (n == 0)
			break; /* not at_end and short of max_size: cannot happen here */
		uint32_t idx = 0;
		r = backup_add_chunk(s->b, s->buf + head, n, &idx);
		if (r < 0)
			return r;
		tree_add_extent(t, s->pos, idx);
		head += n;
		s->pos += n;
	}
	memmove(s->buf, s->buf + head, s->have - head);
	s->have -= head;
	backup_progress(s->b);
	return 0;
}

int backup_stream_write(struct backup_stream *s, uint64_t off, const void *data, size_t len)
{
	const uint8_t *p = data;
	int r;

	if (off < s->pos + s->have)
		return -EPROTO;
	if (off > s->pos + s->have) {
		/* a hole: the segment before it ends */
		r = cut(s, true);
		if (r < 0)
			return r;
		s->pos = off;
	}
	backup_stats(s->b)->n_read += len;
	while (len > 0) {
		size_t n = MIN(len, s->cap - s->have);
		memcpy(s->buf + s->have, p, n);
		s->have += n;
		p += n;
		len -= n;
		if (s->have == s->cap) {
			r = cut(s, false);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int backup_stream_end(struct backup_stream *s, uint32_t *ret_n_extents)
{
	int r = cut(s, true);
	if (r < 0)
		return r;
	*ret_n_extents = (uint32_t)(backup_tree(s->b)->n_extents - s->first);
	return 0;
}
