/*
 * snapshot.c - encode and decode snapshot headers, and name and parse
 * snapshot times.
 *
 * A header is a raw payload inside an envelope of kind OBJECT_SNAPSHOT;
 * integers are little-endian, "blob" is a u32 length followed by that many
 * bytes.
 *
 * Snapshot header payload:
 *
 *   size   meaning
 *   4      header format version (1)
 *   blob   member name
 *   8, 4   time: seconds since the epoch (UTC), nanoseconds
 *   32     tree id
 *   blob   host name
 *   4      n_tags, then each tag as a blob
 *   8 x 4  n_files, n_dirs, n_bytes, n_stored
 *   4      n_inodes of the tree
 *   4 x 4  root perm, uid, gid, nlink
 *   8, 4   root mtime seconds, nanoseconds
 *
 * Decoding trusts nothing: strings are bounded and NUL-free, the member
 * name is valid, tags are non-empty without commas, and times are real.
 */
#include "format/snapshot.h"
#include "base/rbuf.h"

#include <ctype.h>
#include <time.h>

#define HEADER_VERSION 1
/* Year 9999 ends here; keeps every time printable as a 4-digit year. */
#define TIME_MAX 253402300799LL

bool member_name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > MEMBER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

void snapshot_header_release(struct snapshot_header *h)
{
	for (uint32_t i = 0; i < h->n_tags; i++)
		free(h->tags[i]);
	h->n_tags = 0;
}

void snapshot_header_encode(const struct snapshot_header *h, struct buf *out)
{
	buf_append_le32(out, HEADER_VERSION);
	buf_append_blob32(out, h->member, strlen(h->member));
	buf_append_le64(out, (uint64_t)h->time_sec);
	buf_append_le32(out, h->time_nsec);
	buf_append(out, h->tree_id, HASH_LEN);
	buf_append_blob32(out, h->host, strlen(h->host));
	buf_append_le32(out, h->n_tags);
	for (uint32_t i = 0; i < h->n_tags; i++)
		buf_append_blob32(out, h->tags[i], strlen(h->tags[i]));
	buf_append_le64(out, h->n_files);
	buf_append_le64(out, h->n_dirs);
	buf_append_le64(out, h->n_bytes);
	buf_append_le64(out, h->n_stored);
	buf_append_le32(out, h->n_inodes);
	buf_append_le32(out, h->root_perm);
	buf_append_le32(out, h->root_uid);
	buf_append_le32(out, h->root_gid);
	buf_append_le32(out, h->root_nlink);
	buf_append_le64(out, (uint64_t)h->root_mtime_sec);
	buf_append_le32(out, h->root_mtime_nsec);
}

/* Copies a blob into a NUL-terminated string of at most max bytes with no
 * NUL inside. */
static bool take_cstr(struct rbuf *r, char *out, uint32_t max)
{
	uint32_t len;
	const uint8_t *p = rbuf_blob32(r, max, &len);
	if (!p || memchr(p, '\0', len))
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

int snapshot_header_decode(const uint8_t *data, size_t len, struct snapshot_header *ret)
{
	struct rbuf r = rbuf_make(data, len);
	struct snapshot_header h = { 0 };
	bool ok;

	ok = rbuf_le32(&r) == HEADER_VERSION;
	ok = ok && take_cstr(&r, h.member, MEMBER_NAME_MAX) && member_name_is_valid(h.member);
	h.time_sec = (int64_t)rbuf_le64(&r);
	h.time_nsec = rbuf_le32(&r);
	rbuf_copy(&r, h.tree_id, HASH_LEN);
	ok = ok && take_cstr(&r, h.host, HOST_LEN_MAX);
	uint32_t n_tags = rbuf_le32(&r);
	ok = ok && rbuf_ok(&r) && n_tags <= TAGS_MAX;
	for (uint32_t i = 0; ok && i < n_tags; i++) {
		char tag[TAG_LEN_MAX + 1];
		ok = take_cstr(&r, tag, TAG_LEN_MAX) && tag[0] && !strchr(tag, ',');
		if (ok)
			h.tags[h.n_tags++] = xstrdup(tag);
	}
	h.n_files = rbuf_le64(&r);
	h.n_dirs = rbuf_le64(&r);
	h.n_bytes = rbuf_le64(&r);
	h.n_stored = rbuf_le64(&r);
	h.n_inodes = rbuf_le32(&r);
	h.root_perm = rbuf_le32(&r);
	h.root_uid = rbuf_le32(&r);
	h.root_gid = rbuf_le32(&r);
	h.root_nlink = rbuf_le32(&r);
	h.root_mtime_sec = (int64_t)rbuf_le64(&r);
	h.root_mtime_nsec = rbuf_le32(&r);
	ok = ok && rbuf_ok(&r) && rbuf_left(&r) == 0;
	ok = ok && h.time_sec >= 0 && h.time_sec <= TIME_MAX && h.time_nsec < 1000000000u;
	ok = ok && h.n_inodes >= 1 && h.root_perm <= 07777 && h.root_mtime_nsec < 1000000000u;
	if (!ok) {
		snapshot_header_release(&h);
		return -EBADMSG;
	}
	*ret = h;
	return 0;
}

void snapshot_time_name(int64_t time_sec, char out[SNAPSHOT_TIME_NAME_LEN])
{
	struct tm tm;
	time_t t = (time_t)time_sec;

	if (!gmtime_r(&t, &tm) ||
	    strftime(out, SNAPSHOT_TIME_NAME_LEN, "%Y-%m-%dT%H%M%SZ", &tm) == 0)
		snprintf(out, SNAPSHOT_TIME_NAME_LEN, "invalid-time");
}

int snapshot_time_parse(const char *s, int64_t *ret_sec)
{
	static const char *const formats[] = {
		"%Y-%m-%dT%H%M%SZ",  "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S",
		"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H%M%S",	   "%Y-%m-%d",
	};

	if (s[0] == '@') {
		char *end;
		errno = 0;
		long long v = strtoll(s + 1, &end, 10);
		if (errno || end == s + 1 || *end || v < 0 || v > TIME_MAX)
			return -EINVAL;
		*ret_sec = v;
		return 0;
	}
	/* strptime() skips leading spaces and takes February 30th; a time
	 * that names a snapshot must be exact, so neither is accepted. */
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		struct tm tm = { 0 }, back;
		const char *end = strptime(s, formats[i], &tm);
		if (!end || *end)
			continue;
		struct tm want = tm;
		time_t t = timegm(&tm);
		if (t < 0 || t > TIME_MAX || !gmtime_r(&t, &back))
			return -EINVAL;
		if (back.tm_year != want.tm_year || back.tm_mon != want.tm_mon ||
		    back.tm_mday != want.tm_mday || back.tm_hour != want.tm_hour ||
		    back.tm_min != want.tm_min || back.tm_sec != want.tm_sec)
			return -EINVAL; /* a date that does not exist, or a leap second */
		*ret_sec = t;
		return 0;
	}
	return -EINVAL;
}
