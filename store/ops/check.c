/*
 * check.c - verify a repository and name what each problem affects.
 *
 * The check never trusts the catalog: it lists the repository, fetches
 * every snapshot header and every tree, and records each chunk reference
 * the trees make (usage.h). Then, for every pack, it reads the trailer with
 * a range request (or the whole pack with read_data) and holds each
 * reference against it: the trailer must list that chunk at that offset
 * with those lengths. Index objects are compared with the trailers through
 * a digest of their entries, so they need not be kept in memory. With
 * read_data, every chunk envelope of the chosen packs is decoded and its
 * SHA-256 compared with its id.
 *
 * A problem marks the references it breaks. Once every pack is done, the
 * trees of the snapshots that use a marked reference are fetched again and
 * walked, so each problem can list the snapshots and file paths whose data
 * it affects (a pass that costs nothing on a healthy repository).
 *
 * Headers, trees, index objects and packs are fetched on a few threads;
 * workers share the problem list and the usage tables under one mutex,
 * and only the worker of a pack touches the marks of that pack's
 * references. Problems are reported sorted by level, then text, so the
 * report is the same from run to run.
 */
#include "ops/check.h"
#include "format/index.h"
#include "repo/inventory.h"
#include "repo/lock.h"
#include "repo/object.h"
#include "base/log.h"
#include "format/pack.h"
#include "base/parallel.h"
#include "repo/pending.h"
#include "ops/usage.h"

#include <pthread.h>
#include <stdarg.h>

#define CHECK_THREADS 8
#define TAIL_READ (64u << 10)
#define PATHS_PER_SNAPSHOT 100
#define EXAMPLES_MAX 3
#define PROGRESS_INTERVAL_NS 200000000ull
#define LABEL_MAX (MEMBER_NAME_MAX + SNAPSHOT_NAME_MAX + 2)

struct problem {
	enum check_level level;
	char *text;	      /* the first line, without the level */
	struct buf affected;  /* "  LABEL: PATH\n" lines */
	const void *cur_snap; /* capping paths per snapshot */
	size_t n_cur, n_more;
};

struct csnap {
	uint8_t id[HASH_LEN];
	uint8_t tree_id[HASH_LEN];
	char label[LABEL_MAX]; /* "member/timestamp" */
	bool tree_ok;
	uint32_t *packs; /* usage pack indices of its tree */
	uint32_t n_packs;
};

/* Index object `index` says pack `pack` holds n entries whose encoding
 * hashes to digest. */
struct claim {
	uint32_t index; /* into inv.indexes */
	uint32_t pack;	/* into u.packs */
	uint32_t n;
	uint8_t digest[HASH_LEN];
	uint32_t next; /* next claim on the same pack, or USAGE_NONE */
};

struct pack_state {
	uint32_t first_claim;
	bool read_whole; /* chosen for read_data */
	bool has_bad;	 /* a reference into it is marked */
};

struct name_entry {
	uint8_t id[HASH_LEN];
	char label[LABEL_MAX];
};

struct check {
	struct repo *repo;
	struct backend *b;
	const struct check_options *o;
	struct inventory inv;
	struct pending pending;
	struct name_entry *names; /* snapshot labels from the catalog, sorted by id */
	size_t n_names, cap_names;
	struct csnap *snaps;
	size_t n_snaps;
	struct usage u;	       /* guarded by lock while workers add to it */
	struct pack_state *ps; /* one per u.packs */
	struct claim *claims;  /* guarded by lock */
	size_t n_claims, cap_claims;
	pthread_mutex_t lock;
	struct problem *problems; /* guarded by lock */
	size_t n_problems, cap_problems;
	struct check_result res;      /* guarded by lock */
	struct check_progress prog;   /* guarded by lock */
	uint64_t last_progress;	      /* guarded by lock */
	char own_lock[LOCK_NAME_LEN]; /* our own lock, left out of the report */
	bool trees_incomplete;	      /* a header or tree is unreadable; guarded by lock */
};

/* "missing", "damaged", or "unreadable: <why>" for a failed fetch. */
static const char *fetch_failure(int r)
{
	static __thread char text[96];
	if (r == -ENOENT)
		return "missing";
	if (r == -EBADMSG)
		return "damaged";
	snprintf(text, sizeof(text), "unreadable: %s", log_strerror(r));
	return text;
}

/* --- problems --- */

/* Adds a problem and returns its mark (index + 1). Thread-safe. */
static uint32_t PRINTF_LIKE(3, 4)
	problem_add(struct check *k, enum check_level level, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	pthread_mutex_lock(&k->lock);
	XGROW_ARRAY(k->problems, k->cap_problems, k->n_problems + 1);
	struct problem *p = &k->problems[k->n_problems++];
	*p = (struct problem){ .level = level, .text = s, .affected = BUF_INIT };
	uint32_t mark = (uint32_t)k->n_problems;
	pthread_mutex_unlock(&k->lock);
	return mark;
}

/* Appends an affected line to problem mark. Only called single-threaded
 * (setup and the final pass) or for a problem only its creator knows. */
static void PRINTF_LIKE(3, 4) problem_line(struct check *k, uint32_t mark, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&k->lock);
	struct problem *p = &k->problems[mark - 1];
	buf_append(&p->affected, "  ", 2);
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	buf_printf(&p->affected, "%s\n", s);
	free(s);
	pthread_mutex_unlock(&k->lock);
}

static void flush_more(struct problem *p, const char *label)
{
	if (p->n_more > 0)
		buf_printf(&p->affected, "  %s: ... and %zu more files\n", label, p->n_more);
	p->n_more = 0;
}

/* Appends "LABEL: path" for snapshot s to problem mark, at most
 * PATHS_PER_SNAPSHOT of them per snapshot. Single-threaded. */
static void problem_path(struct check *k, uint32_t mark, const struct csnap *s,
			 const struct buf *path)
{
	struct problem *p = &k->problems[mark - 1];
	if (p->cur_snap != s) {
		if (p->cur_snap)
			flush_more(p, ((const struct csnap *)p->cur_snap)->label);
		p->cur_snap = s;
		p->n_cur = 0;
	}
	if (p->n_cur++ >= PATHS_PER_SNAPSHOT) {
		p->n_more++;
		return;
	}
	buf_printf(&p->affected, "  %s: ", s->label);
	buf_append(&p->affected, path->ptr, path->len);
	buf_append_u8(&p->affected, '\n');
}

/* --- progress --- */

static void progress(struct check *k, const char *phase, uint64_t done, uint64_t total,
		     uint64_t bytes, bool force)
{
	if (!k->o->progress)
		return;
	pthread_mutex_lock(&k->lock);
	k->prog = (struct check_progress){ phase, done, total, bytes };
	uint64_t now = now_ns();
	if (force || now - k->last_progress >= PROGRESS_INTERVAL_NS) {
		k->last_progress = now;
		k->o->progress(k->o->progress_data, &k->prog);
	}
	pthread_mutex_unlock(&k->lock);
}

static void step(struct check *k, const char *phase, uint64_t total, uint64_t bytes)
{
	if (!k->o->progress)
		return;
	pthread_mutex_lock(&k->lock);
	uint64_t done = ++k->prog.done;
	uint64_t b = k->prog.bytes + bytes;
	pthread_mutex_unlock(&k->lock);
	progress(k, phase, done, total, b, done == total);
}

/* --- snapshots and trees --- */

static int collect_label(void *userdata, const struct cat_snapshot *s)
{
	struct check *k = userdata;
	XGROW_ARRAY(k->names, k->cap_names, k->n_names + 1);
	struct name_entry *e = &k->names[k->n_names++];
	memcpy(e->id, s->snap_id, HASH_LEN);
	snprintf(e->label, sizeof(e->label), "%s/%s", s->member, s->name);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);
}

static void snapshot_label(struct check *k, struct csnap *s, const struct snapshot_header *h)
{
	const struct name_entry *e =
		k->n_names ? bsearch(s->id, k->names, k->n_names, sizeof(*k->names), name_cmp)
			   : NULL;
	if (e) {
		snprintf(s->label, sizeof(s->label), "%s", e->label);
		return;
	}
	char when[SNAPSHOT_TIME_NAME_LEN];
	snapshot_time_name(h->time_sec, when);
	snprintf(s->label, sizeof(s->label), "%s/%s", h->member, when);
}

static int check_snapshot(void *userdata, size_t i)
{
	struct check *k = userdata;
	struct csnap *s = &k->snaps[i];
	struct snapshot_header h;
	struct tree *t = NULL;
	char name[OBJECT_NAME_MAX], tname[OBJECT_NAME_MAX];
	int r;

	object_name(OBJECT_SNAPSHOT, s->id, name);
	snprintf(s->label, sizeof(s->label), "%s", name);
	r = object_fetch_header(k->b, repo_keys(k->repo), s->id, &h);
	if (r == -ENOENT && k->inv.can_list) {
		/* forget or prune removed it since the listing */
		step(k, "snapshots", k->n_snaps, 0);
		return 0;
	}
	if (r < 0) {
		uint32_t m = problem_add(k, CHECK_ERROR, "snapshot header '%s' is %s", name,
					 fetch_failure(r));
		problem_line(k, m, "%s: the whole snapshot (its member and time are unknown)",
			     name);
		pthread_mutex_lock(&k->lock);
		k->trees_incomplete = true;
		pthread_mutex_unlock(&k->lock);
		step(k, "snapshots", k->n_snaps, 0);
		return 0;
	}
	snapshot_label(k, s, &h);
	memcpy(s->tree_id, h.tree_id, HASH_LEN);
	object_name(OBJECT_TREE, h.tree_id, tname);
	r = object_fetch_tree(k->b, repo_keys(k->repo), h.tree_id, &t);
	if (r == 0 && t->n_inodes != h.n_inodes) {
		uint32_t m = problem_add(k, CHECK_ERROR,
					 "tree '%s' does not match the header '%s' of %s (%" PRIu32
					 " inodes, the header says %" PRIu32 ")",
					 tname, name, s->label, t->n_inodes, h.n_inodes);
		problem_line(k, m, "%s: the whole snapshot", s->label);
	} else if (r < 0) {
		uint32_t m = problem_add(k, CHECK_ERROR, "tree '%s' of snapshot %s is %s", tname,
					 s->label, fetch_failure(r));
		problem_line(k, m, "%s: the whole snapshot", s->label);
	}
	snapshot_header_release(&h);
	if (r == 0) {
		pthread_mutex_lock(&k->lock);
		usage_add_tree(&k->u, t, NULL);
		s->packs = xmalloc(((size_t)t->n_packs + 1) * sizeof(uint32_t));
		s->n_packs = t->n_packs;
		for (uint32_t j = 0; j < t->n_packs; j++)
			s->packs[j] = usage_find_pack(&k->u, t->packs[j]);
		s->tree_ok = true;
		k->res.n_snapshots++;
		pthread_mutex_unlock(&k->lock);
		tree_free(t);
	} else {
		pthread_mutex_lock(&k->lock);
		k->res.n_snapshots++;
		k->trees_incomplete = true;
		pthread_mutex_unlock(&k->lock);
	}
	step(k, "snapshots", k->n_snaps, 0);
	return 0;
}

/* --- index objects --- */

static void entries_digest(const struct pack_entry *e, uint32_t n, uint8_t out[HASH_LEN])
{
	AUTOBUF struct buf b = BUF_INIT;
	for (uint32_t i = 0; i < n; i++) {
		buf_append(&b, e[i].hash, HASH_LEN);
		buf_append_le64(&b, e[i].off);
		buf_append_le32(&b, e[i].stored_len);
		buf_append_le32(&b, e[i].raw_len);
	}
	crypto_sha256(b.ptr, b.len, out);
}

static int check_index(void *userdata, size_t i)
{
	struct check *k = userdata;
	char name[OBJECT_NAME_MAX];
	struct index ix;
	int r;

	object_name(OBJECT_INDEX, k->inv.indexes.ids[i], name);
	r = object_fetch_index(k->b, repo_keys(k->repo), k->inv.indexes.ids[i], &ix);
	if (r == -ENOENT) {
		/* prune rewrote it since the listing */
		step(k, "indexes", k->inv.indexes.n, 0);
		return 0;
	}
	if (r < 0) {
		problem_add(k, CHECK_ERROR,
			    "index object '%s' is %s (backups do not deduplicate against the "
			    "packs it lists; nothing else needs it)",
			    name, fetch_failure(r));
		step(k, "indexes", k->inv.indexes.n, 0);
		return 0;
	}
	for (uint32_t j = 0; j < ix.n_packs; j++) {
		struct claim c = { .index = (uint32_t)i, .n = ix.packs[j].n };
		entries_digest(ix.packs[j].entries, ix.packs[j].n, c.digest);
		pthread_mutex_lock(&k->lock);
		c.pack = usage_pack(&k->u, ix.packs[j].id);
		XGROW_ARRAY(k->claims, k->cap_claims, k->n_claims + 1);
		k->claims[k->n_claims++] = c;
		pthread_mutex_unlock(&k->lock);
	}
	index_release(&ix);
	step(k, "indexes", k->inv.indexes.n, 0);
	return 0;
}

/* --- packs --- */

static void hash8(const uint8_t h[HASH_LEN], char out[17])
{
	hex_encode(h, 8, out);
}

/* Marks every reference into pack i with mark (keeping earlier marks). */
static void mark_all(struct check *k, uint32_t i, uint32_t mark)
{
	for (uint32_t r = k->u.packs[i].first_ref; r != USAGE_NONE; r = k->u.refs[r].next_in_pack)
		if (k->u.refs[r].mark == 0)
			k->u.refs[r].mark = mark;
	if (k->u.packs[i].n_refs > 0)
		k->ps[i].has_bad = true;
}

static void mark_ref(struct check *k, uint32_t i, uint32_t ref, uint32_t mark)
{
	if (k->u.refs[ref].mark == 0)
		k->u.refs[ref].mark = mark;
	k->ps[i].has_bad = true;
}

static void pack_missing(struct check *k, uint32_t i, const char *name)
{
	if (k->u.packs[i].n_refs > 0)
		mark_all(k, i, problem_add(k, CHECK_ERROR, "pack '%s' is missing", name));
	for (uint32_t c = k->ps[i].first_claim; c != USAGE_NONE; c = k->claims[c].next) {
		char iname[OBJECT_NAME_MAX];
		uint64_t size;
		object_name(OBJECT_INDEX, k->inv.indexes.ids[k->claims[c].index], iname);
		/* A prune elsewhere rewrites index objects before it deletes
		 * packs: an index that is gone now was replaced meanwhile. */
		if (backend_size(k->b, iname, &size) == -ENOENT)
			continue;
		uint32_t m = problem_add(k, CHECK_ERROR,
					 "index object '%s' names pack '%s', which is "
					 "missing",
					 iname, name);
		problem_line(k, m,
			     "a backup that deduplicated against it would refer to missing "
			     "data; 'cairn prune' drops it from the index");
	}
}

static int entry_off_cmp(const void *a, const void *b)
{
	const struct pack_entry *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static const struct pack_entry *entry_at(const struct pack_entry *sorted, uint32_t n, uint64_t off)
{
	struct pack_entry key = { .off = off };
	return n ? bsearch(&key, sorted, n, sizeof(*sorted), entry_off_cmp) : NULL;
}

/* Each reference into pack i must be an entry of its trailer. */
static void compare_refs(struct check *k, uint32_t i, const char *name,
			 const struct pack_entry *entries, uint32_t n)
{
	AUTOFREE struct pack_entry *sorted = xmalloc(((size_t)n + 1) * sizeof(*sorted));
	AUTOFREE uint32_t *bad = NULL;
	AUTOBUF struct buf examples = BUF_INIT;
	uint32_t n_bad = 0;

	memcpy(sorted, entries, (size_t)n * sizeof(*sorted));
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), entry_off_cmp);
	bad = xmalloc(((size_t)k->u.packs[i].n_refs + 1) * sizeof(uint32_t));
	for (uint32_t r = k->u.packs[i].first_ref; r != USAGE_NONE; r = k->u.refs[r].next_in_pack) {
		const struct usage_ref *ref = &k->u.refs[r];
		const struct pack_entry *e = entry_at(sorted, n, ref->off);
		if (e && memcmp(e->hash, ref->hash, HASH_LEN) == 0 &&
		    e->stored_len == ref->stored_len && e->raw_len == ref->raw_len)
			continue;
		if (n_bad < EXAMPLES_MAX) {
			char want[17], got[17];
			hash8(ref->hash, want);
			buf_printf(&examples, "%schunk %s at offset %" PRIu64 ": ",
				   n_bad > 0 ? "; " : "", want, ref->off);
			if (e) {
				hash8(e->hash, got);
				buf_printf(&examples,
					   "the trailer has chunk %s there (%" PRIu32
					   " bytes, the tree says %" PRIu32 ")",
					   got, e->stored_len, ref->stored_len);
			} else {
				buf_printf(&examples, "no chunk of the trailer starts there");
			}
		}
		bad[n_bad++] = r;
	}
	if (n_bad == 0)
		return;
	buf_append_u8(&examples, 0);
	uint32_t mark = problem_add(k, CHECK_ERROR,
				    "pack '%s': %" PRIu32 " chunk%s that snapshots refer to %s not "
				    "where the trees say (%s%s)",
				    name, n_bad, n_bad == 1 ? "" : "s", n_bad == 1 ? "is" : "are",
				    (char *)examples.ptr, n_bad > EXAMPLES_MAX ? "; ..." : "");
	for (uint32_t j = 0; j < n_bad; j++)
		mark_ref(k, i, bad[j], mark);
}

/* Describes the first difference between what index object ix says of
 * pack id and the trailer's entries. */
static void describe_claim(struct check *k, uint32_t index, const uint8_t id[HASH_LEN],
			   const struct pack_entry *entries, uint32_t n, struct buf *out)
{
	struct index ix;

	if (object_fetch_index(k->b, repo_keys(k->repo), k->inv.indexes.ids[index], &ix) < 0) {
		buf_printf(out, "the index changed while it was checked");
		return;
	}
	for (uint32_t j = 0; j < ix.n_packs; j++) {
		const struct index_pack *p = &ix.packs[j];
		if (memcmp(p->id, id, HASH_LEN) != 0)
			continue;
		for (uint32_t e = 0; e < MIN(p->n, n); e++) {
			const struct pack_entry *a = &p->entries[e], *b = &entries[e];
			if (memcmp(a, b, sizeof(*a)) == 0 ||
			    (memcmp(a->hash, b->hash, HASH_LEN) == 0 && a->off == b->off &&
			     a->stored_len == b->stored_len && a->raw_len == b->raw_len))
				continue;
			char ha[17], hb[17];
			hash8(a->hash, ha);
			hash8(b->hash, hb);
			buf_printf(out,
				   "entry %" PRIu32 ": the index says chunk %s at offset %" PRIu64
				   " (%" PRIu32 " bytes), the trailer chunk %s at offset %" PRIu64
				   " (%" PRIu32 " bytes)",
				   e, ha, a->off, a->stored_len, hb, b->off, b->stored_len);
			index_release(&ix);
			return;
		}
		buf_printf(out, "the index lists %" PRIu32 " chunks, the trailer %" PRIu32, p->n,
			   n);
		break;
	}
	index_release(&ix);
}

/* Every index object that names pack i must list exactly its trailer. */
static void compare_claims(struct check *k, uint32_t i, const char *name,
			   const struct pack_entry *entries, uint32_t n)
{
	uint8_t digest[HASH_LEN];

	entries_digest(entries, n, digest);
	for (uint32_t c = k->ps[i].first_claim; c != USAGE_NONE; c = k->claims[c].next) {
		const struct claim *cl = &k->claims[c];
		if (cl->n == n && memcmp(cl->digest, digest, HASH_LEN) == 0)
			continue;
		AUTOBUF struct buf why = BUF_INIT;
		char iname[OBJECT_NAME_MAX];
		object_name(OBJECT_INDEX, k->inv.indexes.ids[cl->index], iname);
		describe_claim(k, cl->index, k->u.packs[i].id, entries, n, &why);
		buf_append_u8(&why, 0);
		uint32_t m =
			problem_add(k, CHECK_ERROR,
				    "index object '%s' disagrees with the trailer of pack '%s': %s",
				    iname, name, (char *)why.ptr);
		problem_line(k, m,
			     "backups that deduplicate against it may refer to the wrong "
			     "data; 'cairn prune' rewrites index objects");
	}
}

/* Decodes the chunk envelope of reference-like (off, stored_len, raw_len,
 * hash) in data; 0 when it holds that chunk. */
static int verify_chunk(const struct crypto_keys *keys, const struct buf *data, uint64_t off,
			uint32_t stored_len, uint32_t raw_len, const uint8_t hash[HASH_LEN],
			struct buf *scratch)
{
	if (off > data->len || stored_len > data->len - off)
		return -EBADMSG;
	buf_reset(scratch);
	return chunk_decode(keys, data->ptr + off, stored_len, raw_len, hash, scratch);
}

/* read_data: every chunk of the trailer must decode to its hash. */
static void verify_data(struct check *k, uint32_t i, const char *name, const struct buf *data,
			const struct pack_entry *entries, uint32_t n)
{
	AUTOBUF struct buf scratch = BUF_INIT;
	AUTOBUF struct buf examples = BUF_INIT;
	AUTOFREE uint64_t *bad = xmalloc(((size_t)n + 1) * sizeof(uint64_t));
	uint32_t n_bad = 0;
	uint8_t id[HASH_LEN];

	for (uint32_t e = 0; e < n; e++) {
		if (verify_chunk(repo_keys(k->repo), data, entries[e].off, entries[e].stored_len,
				 entries[e].raw_len, entries[e].hash, &scratch) == 0)
			continue;
		if (n_bad < EXAMPLES_MAX) {
			char h[17];
			hash8(entries[e].hash, h);
			buf_printf(&examples, "%schunk %s at offset %" PRIu64, n_bad ? ", " : "", h,
				   entries[e].off);
		}
		bad[n_bad++] = entries[e].off;
	}
	pthread_mutex_lock(&k->lock);
	k->res.n_chunks += n;
	pthread_mutex_unlock(&k->lock);
	crypto_sha256(data->ptr, data->len, id);
	bool name_ok = memcmp(id, k->u.packs[i].id, HASH_LEN) == 0;
	if (n_bad == 0) {
		if (!name_ok)
			problem_add(k, CHECK_ERROR,
				    "pack '%s' is damaged: its bytes do not hash to its name, "
				    "though every chunk in it is intact",
				    name);
		return;
	}
	buf_append_u8(&examples, 0);
	uint32_t mark = problem_add(k, CHECK_ERROR,
				    "pack '%s' is damaged: %" PRIu32 " of its %" PRIu32
				    " chunks fail verification (%s%s)",
				    name, n_bad, n, (char *)examples.ptr,
				    n_bad > EXAMPLES_MAX ? ", ..." : "");
	for (uint32_t r = k->u.packs[i].first_ref; r != USAGE_NONE; r = k->u.refs[r].next_in_pack)
		for (uint32_t j = 0; j < n_bad; j++)
			if (k->u.refs[r].off == bad[j])
				mark_ref(k, i, r, mark);
}

/* The trailer is unreadable: tell which references still decode from the
 * whole pack, so the report names only the files really lost. */
static void salvage(struct check *k, uint32_t i, const char *name, const struct buf *data,
		    uint64_t size)
{
	AUTOBUF struct buf scratch = BUF_INIT;
	uint32_t mark;

	mark = problem_add(k, CHECK_ERROR,
			   "pack '%s' is damaged: its trailer is unreadable (%" PRIu64
			   " bytes; truncated or overwritten)",
			   name, size);
	for (uint32_t r = k->u.packs[i].first_ref; r != USAGE_NONE; r = k->u.refs[r].next_in_pack) {
		const struct usage_ref *ref = &k->u.refs[r];
		if (verify_chunk(repo_keys(k->repo), data, ref->off, ref->stored_len, ref->raw_len,
				 ref->hash, &scratch) < 0)
			mark_ref(k, i, r, mark);
	}
	pthread_mutex_lock(&k->lock);
	k->res.n_chunks += k->u.packs[i].n_refs;
	pthread_mutex_unlock(&k->lock);
}

/* Reads pack name's trailer: by range from its end, or the whole pack into
 * data when whole is set. -EBADMSG when the trailer is unreadable. */
static int read_trailer(struct check *k, const char *name, uint64_t size, bool whole,
			struct buf *data, struct pack_entry **ret_entries, uint32_t *ret_n)
{
	AUTOBUF struct buf tail = BUF_INIT;
	size_t need = 0;
	int r;

	if (whole) {
		r = backend_get(k->b, name, data);
		if (r < 0)
			return r;
		return pack_parse_trailer(repo_keys(k->repo), data->ptr, data->len, ret_entries,
					  ret_n);
	}
	size_t want = (size_t)MIN(size, (uint64_t)TAIL_READ);
	if (want < 8)
		return -EBADMSG;
	r = backend_get_range(k->b, name, size - want, want, &tail);
	if (r < 0)
		return r;
	r = pack_parse_trailer_tail(repo_keys(k->repo), tail.ptr, tail.len, size, ret_entries,
				    ret_n, &need);
	if (r != -EAGAIN)
		return r;
	buf_reset(&tail);
	r = backend_get_range(k->b, name, size - need, need, &tail);
	if (r < 0)
		return r;
	r = pack_parse_trailer_tail(repo_keys(k->repo), tail.ptr, tail.len, size, ret_entries,
				    ret_n, NULL);
	return r == -EAGAIN ? -EBADMSG : r;
}

static void unreferenced(struct check *k, uint32_t i, const char *name, uint64_t size)
{
	const struct pending_entry *pe = pending_find(&k->pending, PENDING_PACK, k->u.packs[i].id);
	char sz[16];

	pthread_mutex_lock(&k->lock);
	k->res.n_unreferenced++;
	k->res.unreferenced_bytes += size;
	pthread_mutex_unlock(&k->lock);
	format_size(size, sz);
	if (pe) {
		char when[SNAPSHOT_TIME_NAME_LEN];
		snapshot_time_name(pe->since, when);
		problem_add(k, CHECK_INFO,
			    "pack '%s' (%s) is referenced by no snapshot; prune marked it for "
			    "deletion at %s",
			    name, sz, when);
	} else {
		problem_add(k, CHECK_INFO,
			    "pack '%s' (%s) is referenced by no snapshot; 'cairn prune' deletes it",
			    name, sz);
	}
}

/* Checks pack i, reading into data what it reads; *whole says whether
 * that was all of it. Problems go to the report. */
static void inspect_pack(struct check *k, uint32_t i, struct buf *data, bool *whole)
{
	struct usage_pack *p = &k->u.packs[i];
	AUTOFREE struct pack_entry *entries = NULL;
	uint32_t n = 0;
	char name[PACK_NAME_LEN];
	uint64_t size = p->size;
	bool present = p->is_listed;
	int r;

	pack_name(p->id, name);
	if (!present && !k->inv.can_list) {
		r = backend_size(k->b, name, &size);
		if (r == 0)
			present = true;
		else if (r != -ENOENT) {
			mark_all(k, i,
				 problem_add(k, CHECK_ERROR, "cannot read pack '%s': %s", name,
					     log_strerror(r)));
			return;
		}
	}
	if (!present) {
		pack_missing(k, i, name);
		return;
	}
	r = read_trailer(k, name, size, *whole, data, &entries, &n);
	if (r == -ENOENT) {
		pack_missing(k, i, name);
		return;
	}
	if (r == -EBADMSG && !*whole) {
		/* Read it all to tell the chunks that survive from the lost. */
		buf_reset(data);
		r = backend_get(k->b, name, data);
		if (r == 0)
			r = -EBADMSG;
		*whole = true;
	}
	if (r == -EBADMSG && data->len > 0) {
		salvage(k, i, name, data, data->len);
		return;
	}
	if (r < 0) {
		mark_all(k, i,
			 problem_add(k, CHECK_ERROR, "cannot read pack '%s': %s", name,
				     log_strerror(r)));
		return;
	}
	pthread_mutex_lock(&k->lock);
	k->res.n_packs++;
	pthread_mutex_unlock(&k->lock);
	compare_refs(k, i, name, entries, n);
	compare_claims(k, i, name, entries, n);
	if (*whole)
		verify_data(k, i, name, data, entries, n);
	/* With a snapshot unreadable, what is unreferenced is unknown. */
	if (p->n_refs == 0 && present && !k->trees_incomplete)
		unreferenced(k, i, name, *whole ? data->len : size);
}

static int check_pack(void *userdata, size_t idx)
{
	struct check *k = userdata;
	uint32_t i = (uint32_t)idx;
	AUTOBUF struct buf data = BUF_INIT;
	bool whole = k->ps[i].read_whole;

	inspect_pack(k, i, &data, &whole);
	if (whole) {
		pthread_mutex_lock(&k->lock);
		k->res.n_packs_read++;
		k->res.bytes_read += data.len;
		pthread_mutex_unlock(&k->lock);
	}
	step(k, "packs", k->u.n_packs, data.len);
	return 0;
}

/* --- what each problem affects --- */

/* Appends "/a/b/name" for dirent d to out; control bytes and backslashes
 * are written as \xHH so that a line stays one line. */
static void dirent_path(const struct tree *t, const uint32_t *dir_name, uint32_t d, struct buf *out)
{
	uint32_t *chain = NULL;
	size_t n = 0, cap = 0;

	for (uint32_t cur = d;;) {
		XGROW_ARRAY(chain, cap, n + 1);
		chain[n++] = cur;
		uint32_t parent = t->dirents[cur].parent;
		if (parent == 0 || dir_name[parent] == USAGE_NONE)
			break;
		cur = dir_name[parent];
	}
	buf_reset(out);
	while (n-- > 0) {
		const struct tree_dirent *de = &t->dirents[chain[n]];
		const uint8_t *p = tree_str_ptr(t, de->name);
		buf_append_u8(out, '/');
		for (uint32_t j = 0; j < de->name.len; j++) {
			if (p[j] < 0x20 || p[j] == 0x7f || p[j] == '\\')
				buf_printf(out, "\\x%02x", p[j]);
			else
				buf_append_u8(out, p[j]);
		}
	}
	free(chain);
}

static void affected_in(struct check *k, const struct csnap *s)
{
	AUTOBUF struct buf path = BUF_INIT;
	struct tree *t = NULL;

	if (object_fetch_tree(k->b, repo_keys(k->repo), s->tree_id, &t) < 0)
		return; /* it decoded moments ago; nothing more to say */
	uint32_t *marks = xcalloc((size_t)t->n_chunks + 1, sizeof(uint32_t));
	uint32_t *dir_name = xmalloc(((size_t)t->n_inodes + 1) * sizeof(uint32_t));
	for (uint32_t c = 0; c < t->n_chunks; c++) {
		uint32_t r = usage_find_ref(&k->u, t, &t->chunks[c]);
		marks[c] = r == USAGE_NONE ? 0 : k->u.refs[r].mark;
	}
	for (uint32_t i = 0; i < t->n_inodes; i++)
		dir_name[i] = USAGE_NONE;
	for (uint32_t d = 0; d < t->n_dirents; d++)
		if (t->inodes[t->dirents[d].inode].type == NODE_DIR)
			dir_name[t->dirents[d].inode] = d;
	for (uint32_t d = 0; d < t->n_dirents; d++) {
		const struct tree_inode *ino = &t->inodes[t->dirents[d].inode];
		uint32_t found[8];
		size_t n_found = 0;
		if (ino->type != NODE_FILE)
			continue;
		for (uint32_t e = 0; e < ino->n_extents; e++) {
			uint32_t m = marks[t->extents[ino->first_extent + e].chunk];
			bool seen = m == 0;
			for (size_t j = 0; !seen && j < n_found; j++)
				seen = found[j] == m;
			if (!seen && n_found < ARRAY_SIZE(found))
				found[n_found++] = m;
		}
		if (n_found == 0)
			continue;
		dirent_path(t, dir_name, d, &path);
		for (size_t j = 0; j < n_found; j++)
			problem_path(k, found[j], s, &path);
	}
	free(marks);
	free(dir_name);
	tree_free(t);
}

static int label_cmp(const void *a, const void *b)
{
	const struct csnap *x = a, *y = b;
	return strcmp(x->label, y->label);
}

static void find_affected(struct check *k)
{
	size_t n_hit = 0, done = 0;

	qsort(k->snaps, k->n_snaps, sizeof(*k->snaps), label_cmp);
	for (size_t i = 0; i < k->n_snaps; i++) {
		struct csnap *s = &k->snaps[i];
		bool hit = false;
		for (uint32_t j = 0; s->tree_ok && !hit && j < s->n_packs; j++)
			hit = s->packs[j] != USAGE_NONE && k->ps[s->packs[j]].has_bad;
		s->tree_ok = hit; /* from here on: "worth walking" */
		n_hit += hit;
	}
	for (size_t i = 0; i < k->n_snaps; i++) {
		if (!k->snaps[i].tree_ok)
			continue;
		affected_in(k, &k->snaps[i]);
		done++;
		progress(k, "files", done, n_hit, k->res.bytes_read, done == n_hit);
	}
	for (size_t i = 0; i < k->n_problems; i++) {
		struct problem *p = &k->problems[i];
		if (p->cur_snap)
			flush_more(p, ((const struct csnap *)p->cur_snap)->label);
	}
}

/* --- the rest of the repository --- */

static void check_trees(struct check *k)
{
	struct id_list used = { 0 };

	if (k->trees_incomplete)
		return;
	for (size_t i = 0; i < k->n_snaps; i++)
		if (k->snaps[i].label[0] &&
		    strncmp(k->snaps[i].label, SNAPSHOTS_DIR, strlen(SNAPSHOTS_DIR)) != 0)
			id_list_add(&used, k->snaps[i].tree_id, 0);
	id_list_sort(&used);
	for (size_t i = 0; i < k->inv.trees.n; i++) {
		if (id_list_find(&used, k->inv.trees.ids[i]) >= 0)
			continue;
		char name[OBJECT_NAME_MAX];
		object_name(OBJECT_TREE, k->inv.trees.ids[i], name);
		if (pending_find(&k->pending, PENDING_TREE, k->inv.trees.ids[i]))
			problem_add(k, CHECK_INFO,
				    "tree '%s' belongs to no snapshot; prune marked it for deletion",
				    name);
		else
			problem_add(k, CHECK_INFO,
				    "tree '%s' belongs to no snapshot; 'cairn prune' deletes it",
				    name);
	}
	id_list_release(&used);
}

static void check_listing(struct check *k)
{
	uint8_t(*ids)[HASH_LEN] = NULL;
	size_t n = 0, missing = 0, extra = 0, bare = 0;

	if (!k->inv.can_list || backend_is_read_only(k->b))
		return;
	if (repo_read_snapshot_list(k->repo, &ids, &n, &bare) < 0) {
		problem_add(k, CHECK_WARNING,
			    "the snapshot list 'snapshot-list' cannot be read, so readers over "
			    "plain HTTP see no snapshots; the next backup, forget or prune rewrites "
			    "it");
		return;
	}
	struct id_list published = { 0 };
	for (size_t i = 0; i < n; i++)
		id_list_add(&published, ids[i], 0);
	id_list_sort(&published);
	for (size_t i = 0; i < k->inv.snapshots.n; i++)
		missing += id_list_find(&published, k->inv.snapshots.ids[i]) < 0;
	for (size_t i = 0; i < published.n; i++)
		extra += id_list_find(&k->inv.snapshots, published.ids[i]) < 0;
	if (missing || extra)
		problem_add(k, CHECK_WARNING,
			    "the snapshot list 'snapshot-list' is out of date (%zu snapshots "
			    "missing from it, %zu in it that do not exist), so readers over plain "
			    "HTTP see the wrong snapshots; the next backup, forget or prune "
			    "rewrites it",
			    missing, extra);
	if (bare)
		problem_add(k, CHECK_INFO,
			    "the snapshot list 'snapshot-list' lists %zu snapshots without their "
			    "headers, so a fresh machine fetches those one by one; the next backup, "
			    "forget or prune carries them again if they can be read",
			    bare);
	id_list_release(&published);
	free(ids);
}

static int report_lock(void *userdata, const struct lock_info *li)
{
	struct check *k = userdata;
	char when[SNAPSHOT_TIME_NAME_LEN];

	if (strcmp(li->name, k->own_lock) == 0)
		return 0;
	snapshot_time_name(li->created, when);
	if (li->is_damaged)
		problem_add(k, CHECK_WARNING,
			    "lock '%s' is damaged; prune takes it for a running backup and defers "
			    "deletions until it is removed",
			    li->name);
	else {
		AUTOFREE char *host = str_printable(li->host, strlen(li->host));
		problem_add(k, CHECK_INFO,
			    "lock '%s': %s by host '%s' (pid %" PRIu32 "), since %s%s", li->name,
			    li->kind == LOCK_EXCLUSIVE ? "forget or prune" : "backup or check",
			    host, li->pid, when, li->is_stale ? ", stale" : "");
	}
	return 0;
}

static void choose_reads(struct check *k)
{
	uint32_t *cand = xmalloc(((size_t)k->u.n_packs + 1) * sizeof(uint32_t));
	uint32_t n = 0;
	uint64_t x = 0;

	if (!k->o->read_data) {
		free(cand);
		return;
	}
	for (uint32_t i = 0; i < k->u.n_packs; i++)
		if (k->u.packs[i].is_listed || !k->inv.can_list)
			cand[n++] = i;
	uint64_t want =
		k->o->read_percent >= 100 ? n : ((uint64_t)n * k->o->read_percent + 99) / 100;
	/* A new random subset every run (Fisher-Yates over the first want),
	 * so regular partial checks cover every pack over time. */
	if (crypto_random(&x, sizeof(x)) < 0 || x == 0)
		x = now_ns() | 1;
	for (uint32_t i = 0; i < want && i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint32_t j = i + (uint32_t)(x % (n - i));
		uint32_t t = cand[i];
		cand[i] = cand[j];
		cand[j] = t;
		k->ps[cand[i]].read_whole = true;
	}
	free(cand);
}

static int problem_cmp(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;
	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	return strcmp(x->text, y->text);
}

static void emit(struct check *k)
{
	static const char *const levels[] = { "error", "warning", "info" };
	AUTOBUF struct buf text = BUF_INIT;

	if (k->n_problems > 1)
		qsort(k->problems, k->n_problems, sizeof(*k->problems), problem_cmp);
	for (size_t i = 0; i < k->n_problems; i++) {
		struct problem *p = &k->problems[i];
		buf_reset(&text);
		buf_printf(&text, "%s: %s\n", levels[p->level], p->text);
		buf_append(&text, p->affected.ptr, p->affected.len);
		buf_append_u8(&text, 0);
		k->o->report(k->o->report_data, p->level, (const char *)text.ptr);
		if (p->level == CHECK_ERROR)
			k->res.n_errors++;
		else if (p->level == CHECK_WARNING)
			k->res.n_warnings++;
		else
			k->res.n_infos++;
	}
}

static void check_free(struct check *k)
{
	for (size_t i = 0; i < k->n_problems; i++) {
		free(k->problems[i].text);
		buf_release(&k->problems[i].affected);
	}
	free(k->problems);
	for (size_t i = 0; i < k->n_snaps; i++)
		free(k->snaps[i].packs);
	free(k->snaps);
	free(k->names);
	free(k->claims);
	free(k->ps);
	usage_release(&k->u);
	pending_release(&k->pending);
	inventory_release(&k->inv);
	pthread_mutex_destroy(&k->lock);
}

int check_run(struct repo *r, struct catalog *c, const struct check_options *o,
	      struct check_result *ret)
{
	CLEANUP(check_free) struct check k = { .repo = r, .b = repo_backend(r), .o = o };
	CLEANUP(lock_releasep) struct repo_lock *lock = NULL;
	unsigned threads = o->n_threads ? o->n_threads : CHECK_THREADS;
	int res;

	pthread_mutex_init(&k.lock, NULL);
	usage_init(&k.u);
	if (!backend_is_read_only(k.b) &&
	    lock_acquire(k.b, repo_keys(r), LOCK_SHARED, "check", &lock) < 0)
		log_warning("checking without a lock: a prune running meanwhile may delete what "
			    "this check is about to read");
	res = inventory_list(r, &k.inv);
	if (res < 0)
		return res;
	if (k.inv.has_pending && pending_read(k.b, repo_keys(k.repo), &k.pending) < 0)
		problem_add(&k, CHECK_ERROR,
			    "'%s' is damaged; backups refuse to run until 'cairn prune' rewrites it",
			    PENDING_NAME);
	res = catalog_list_snapshots(c, NULL, collect_label, &k);
	if (res < 0)
		return res;
	if (k.n_names > 1)
		qsort(k.names, k.n_names, sizeof(*k.names), name_cmp);

	k.n_snaps = k.inv.snapshots.n;
	k.snaps = xcalloc(k.n_snaps + 1, sizeof(*k.snaps));
	for (size_t i = 0; i < k.n_snaps; i++)
		memcpy(k.snaps[i].id, k.inv.snapshots.ids[i], HASH_LEN);
	res = parallel_for(k.n_snaps, threads, check_snapshot, &k);
	k.prog.done = 0;
	if (res == 0)
		res = parallel_for(k.inv.indexes.n, threads, check_index, &k);
	k.prog.done = 0;
	k.prog.bytes = 0;
	if (res < 0)
		return res;

	for (size_t i = 0; i < k.inv.packs.n; i++) {
		uint32_t p = usage_pack(&k.u, k.inv.packs.ids[i]);
		k.u.packs[p].size = k.inv.packs.sizes[i];
		k.u.packs[p].is_listed = true;
	}
	k.ps = xcalloc((size_t)k.u.n_packs + 1, sizeof(*k.ps));
	for (uint32_t i = 0; i < k.u.n_packs; i++)
		k.ps[i].first_claim = USAGE_NONE;
	for (size_t i = k.n_claims; i-- > 0;) {
		k.claims[i].next = k.ps[k.claims[i].pack].first_claim;
		k.ps[k.claims[i].pack].first_claim = (uint32_t)i;
	}
	choose_reads(&k);
	res = parallel_for(k.u.n_packs, threads, check_pack, &k);
	if (res < 0)
		return res;

	check_trees(&k);
	check_listing(&k);
	for (size_t i = 0; i < k.inv.n_strays; i++)
		problem_add(&k, CHECK_INFO, "object '%s' is not part of a cairn repository",
			    k.inv.strays[i]);
	if (k.inv.can_list) {
		if (lock)
			snprintf(k.own_lock, sizeof(k.own_lock), "%s", lock_self(lock)->name);
		res = lock_list(k.b, repo_keys(r), report_lock, &k);
		if (res < 0)
			return res;
	}
	find_affected(&k);
	emit(&k);
	*ret = k.res;
	return 0;
}
