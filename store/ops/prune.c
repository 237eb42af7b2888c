/*
 * prune.c - collect garbage without stopping backups.
 *
 * What is garbage: prune reads every snapshot header and every tree from
 * the repository (never the catalog) and records each chunk reference
 * (usage.h). A listed pack no tree references is garbage; so is every
 * tree no header names. A pack where more than repack_percent of its chunk
 * bytes (known from the index objects, else the pack's size) are
 * unreferenced is repacked: its live chunk envelopes are copied verbatim,
 * after verification, into new packs with a new index object, and every
 * tree that used the old pack is rewritten to point at the copies, which
 * makes a new tree and a new snapshot header (the same member, time and
 * everything else; only the id changes). The old header goes once the new
 * one is stored, and the old pack and tree become garbage like any other.
 *
 * When garbage may go: a backup that started before prune looked may still
 * commit a snapshot that uses a pack prune found unreferenced (it
 * deduplicated against it, or wrote it itself and has not committed yet).
 * So garbage is first published in "prune-pending" with the time prune
 * first found it, and deleted only when every backup that holds a live lock
 * started more than LOCK_SKEW_S after that time. A backup reads
 * "prune-pending" after taking its lock and never deduplicates against a
 * pending pack, so a backup that started after an object became pending
 * cannot come to need it. Snapshots committed while prune ran are read
 * again after the locks are listed, and whatever they use is spared. With
 * no backup running, one prune deletes everything at once; otherwise what
 * is deferred goes in a later prune. The full argument is in
 * cairn-repository(5), CONCURRENCY.
 *
 * Order of writes, each durable before the next, so that an interrupted
 * prune leaves nothing any snapshot or backup trips over: new packs, their
 * index, new trees and headers, removal of replaced headers, the pending
 * set, replacement index objects (without the packs about to go), removal
 * of the old index objects, deletion of packs and trees, and last the
 * pending set without what was deleted.
 */
#include "ops/prune.h"
#include "format/envelope.h"
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

#define PRUNE_THREADS 8
#define PROGRESS_INTERVAL_NS 200000000ull
#define LABEL_MAX (MEMBER_NAME_MAX + SNAPSHOT_TIME_NAME_LEN + 2)

struct psnap {
	uint8_t id[HASH_LEN];
	uint8_t tree_id[HASH_LEN]; /* after a rewrite: the new tree */
	char label[LABEL_MAX];
	uint32_t *packs; /* usage indices of the packs its tree uses */
	uint32_t n_packs;
	bool is_rewritten; /* id is now that of the new header */
};

struct ppack {
	uint64_t chunk_bytes; /* stored bytes of all its chunks, from an index; 0 unknown */
	bool is_garbage;
	bool is_repacked;
};

/* An index object, and the packs it names. */
struct pindex {
	uint8_t id[HASH_LEN];
	uint8_t (*packs)[HASH_LEN];
	uint32_t n_packs;
	bool is_damaged;
};

struct prune {
	struct repo *repo;
	struct backend *b;
	const struct prune_options *o;
	int64_t now;
	struct inventory inv;
	struct pending old;    /* prune-pending as found, sorted */
	struct pending g;      /* garbage: what goes into prune-pending */
	struct usage u;	       /* guarded by lock while loading */
	uint64_t *chunk_bytes; /* per usage pack, while loading; guarded by lock */
	size_t cap_chunk_bytes;
	struct ppack *pp; /* per usage pack */
	struct psnap *snaps;
	size_t n_snaps;
	struct pindex *indexes;
	size_t n_indexes;
	uint8_t (*new_packs)[HASH_LEN]; /* written by the repack */
	size_t n_new, cap_new;
	struct index new_index;
	pthread_mutex_t lock;
	struct prune_progress prog; /* guarded by lock */
	uint64_t last_progress;	    /* guarded by lock */
	struct prune_result res;
};

static void progress(struct prune *p, const char *phase, uint64_t done, uint64_t total,
		     uint64_t bytes)
{
	if (!p->o->progress)
		return;
	pthread_mutex_lock(&p->lock);
	p->prog = (struct prune_progress){ phase, done, total, bytes };
	uint64_t now = now_ns();
	if (done == total || now - p->last_progress >= PROGRESS_INTERVAL_NS) {
		p->last_progress = now;
		p->o->progress(p->o->progress_data, &p->prog);
	}
	pthread_mutex_unlock(&p->lock);
}

static void step(struct prune *p, const char *phase, uint64_t total)
{
	if (!p->o->progress)
		return;
	pthread_mutex_lock(&p->lock);
	uint64_t done = ++p->prog.done;
	pthread_mutex_unlock(&p->lock);
	progress(p, phase, done, total, 0);
}

static void label_of(const struct snapshot_header *h, char out[LABEL_MAX])
{
	char when[SNAPSHOT_TIME_NAME_LEN];
	snapshot_time_name(h->time_sec, when);
	snprintf(out, LABEL_MAX, "%s/%s", h->member, when);
}

static int refuse(int r, const char *what, const char *name)
{
	log_error_errno(r, "cannot prune: %s '%s' is %s", what, name,
			r == -ENOENT ? "missing" : "unreadable");
	log_error("hint: prune must read every snapshot to know what is garbage; 'cairn check' "
		  "names the damage and what it affects");
	return r == -ENOENT ? -EBADMSG : r;
}

/* --- what the snapshots use --- */

/* Fetches header and tree of snapshot id and records what the tree uses.
 * ret_packs, when not NULL, receives the usage indices of its packs. */
static int load_snapshot(struct prune *p, const uint8_t id[HASH_LEN], struct psnap *s)
{
	struct snapshot_header h;
	struct tree *t = NULL;
	char name[OBJECT_NAME_MAX];
	int r;

	object_name(OBJECT_SNAPSHOT, id, name);
	r = object_fetch_header(p->b, repo_keys(p->repo), id, &h);
	if (r < 0)
		return refuse(r, "snapshot header", name);
	memcpy(s->id, id, HASH_LEN);
	memcpy(s->tree_id, h.tree_id, HASH_LEN);
	label_of(&h, s->label);
	snapshot_header_release(&h);
	object_name(OBJECT_TREE, s->tree_id, name);
	r = object_fetch_tree(p->b, repo_keys(p->repo), s->tree_id, &t);
	if (r < 0)
		return refuse(r, "the tree of snapshot", s->label);
	pthread_mutex_lock(&p->lock);
	usage_add_tree(&p->u, t, NULL);
	s->packs = xmalloc(((size_t)t->n_packs + 1) * sizeof(uint32_t));
	s->n_packs = t->n_packs;
	for (uint32_t j = 0; j < t->n_packs; j++)
		s->packs[j] = usage_find_pack(&p->u, t->packs[j]);
	pthread_mutex_unlock(&p->lock);
	tree_free(t);
	return 0;
}

static int load_one(void *userdata, size_t i)
{
	struct prune *p = userdata;
	int r = load_snapshot(p, p->inv.snapshots.ids[i], &p->snaps[i]);
	step(p, "snapshots", p->n_snaps);
	return r;
}

static int load_index(void *userdata, size_t i)
{
	struct prune *p = userdata;
	struct pindex *pi = &p->indexes[i];
	struct index ix;
	int r;

	memcpy(pi->id, p->inv.indexes.ids[i], HASH_LEN);
	r = object_fetch_index(p->b, repo_keys(p->repo), pi->id, &ix);
	if (r == -EBADMSG || r == -ENOENT) {
		char name[OBJECT_NAME_MAX];
		object_name(OBJECT_INDEX, pi->id, name);
		log_warning("index object '%s' is %s; prune leaves it alone", name,
			    r == -ENOENT ? "gone" : "damaged");
		pi->is_damaged = true;
		return 0;
	}
	if (r < 0)
		return log_error_errno(r, "cannot read index object %zu", i);
	pi->packs = xmalloc(((size_t)ix.n_packs + 1) * HASH_LEN);
	pi->n_packs = ix.n_packs;
	pthread_mutex_lock(&p->lock);
	for (uint32_t j = 0; j < ix.n_packs; j++) {
		memcpy(pi->packs[j], ix.packs[j].id, HASH_LEN);
		uint32_t k = usage_pack(&p->u, ix.packs[j].id);
		if (k >= p->cap_chunk_bytes) {
			size_t old = p->cap_chunk_bytes;
			XGROW_ARRAY(p->chunk_bytes, p->cap_chunk_bytes, (size_t)k + 1);
			memset(p->chunk_bytes + old, 0,
			       (p->cap_chunk_bytes - old) * sizeof(uint64_t));
		}
		uint64_t sum = 0;
		for (uint32_t e = 0; e < ix.packs[j].n; e++)
			sum += ix.packs[j].entries[e].stored_len;
		if (p->chunk_bytes[k] == 0)
			p->chunk_bytes[k] = sum;
	}
	pthread_mutex_unlock(&p->lock);
	index_release(&ix);
	return 0;
}

/* --- deciding --- */

static int64_t since_of(const struct prune *p, enum pending_kind kind, const uint8_t id[HASH_LEN])
{
	const struct pending_entry *e = pending_find(&p->old, kind, id);
	return e ? e->since : p->now;
}

static int classify(struct prune *p)
{
	unsigned percent =
		p->o->repack_percent ? p->o->repack_percent : PRUNE_REPACK_PERCENT_DEFAULT;

	for (size_t i = 0; i < p->inv.packs.n; i++) {
		uint32_t k = usage_pack(&p->u, p->inv.packs.ids[i]);
		p->u.packs[k].size = p->inv.packs.sizes[i];
		p->u.packs[k].is_listed = true;
	}
	p->pp = xcalloc((size_t)p->u.n_packs + 1, sizeof(*p->pp));
	for (uint32_t k = 0; k < p->u.n_packs; k++) {
		struct usage_pack *up = &p->u.packs[k];
		struct ppack *pp = &p->pp[k];
		pp->chunk_bytes = k < p->cap_chunk_bytes ? p->chunk_bytes[k] : 0;
		if (up->n_refs > 0 && !up->is_listed) {
			char name[PACK_NAME_LEN];
			pack_name(up->id, name);
			return refuse(-ENOENT, "pack", name);
		}
		if (!up->is_listed)
			continue;
		p->res.n_packs++;
		p->res.pack_bytes += up->size;
		p->res.live_bytes += up->live_bytes;
		if (up->n_refs == 0) {
			pp->is_garbage = true;
			continue;
		}
		uint64_t total = pp->chunk_bytes ? pp->chunk_bytes : up->size;
		uint64_t garbage = total > up->live_bytes ? total - up->live_bytes : 0;
		if (percent < 100 && garbage * 100 > total * percent)
			pp->is_repacked = true;
	}
	return 0;
}

/* --- repacking --- */

static int flush_pack(struct prune *p, struct pack_writer *w)
{
	AUTOBUF struct buf bytes = BUF_INIT;
	char name[PACK_NAME_LEN];
	uint8_t id[HASH_LEN];
	uint32_t n = pack_writer_count(w);
	int r;

	if (n == 0)
		return 0;
	AUTOFREE struct pack_entry *entries = xmalloc(n * sizeof(*entries));
	memcpy(entries, pack_writer_entries(w), n * sizeof(*entries));
	pack_writer_finish(w, &bytes, id);
	pack_name(id, name);
	r = backend_put(p->b, name, bytes.ptr, bytes.len);
	if (r < 0)
		return log_error_errno(r, "cannot store pack '%s'", name);
	XGROW_ARRAY(p->new_packs, p->cap_new, p->n_new + 1);
	memcpy(p->new_packs[p->n_new++], id, HASH_LEN);
	index_add(&p->new_index, id, entries, n);
	p->res.n_packs_written++;
	p->res.written_bytes += bytes.len;
	return 0;
}

static int ref_off_cmp(const void *a, const void *b, void *arg)
{
	const struct usage *u = arg;
	uint64_t x = u->refs[*(const uint32_t *)a].off, y = u->refs[*(const uint32_t *)b].off;
	return x < y ? -1 : x > y;
}

/* Copies the live chunks of pack k into the pack being written, verifying
 * each; records where each went (ref.mark: new pack number + 1). */
static int repack_one(struct prune *p, struct pack_writer *w, uint32_t k, struct buf *data)
{
	const struct repo_config *cfg = repo_get_config(p->repo);
	struct usage_pack *up = &p->u.packs[k];
	AUTOBUF struct buf scratch = BUF_INIT;
	AUTOFREE uint32_t *refs = xmalloc(((size_t)up->n_refs + 1) * sizeof(uint32_t));
	char name[PACK_NAME_LEN];
	uint32_t n = 0;
	int r;

	pack_name(up->id, name);
	buf_reset(data);
	r = backend_get(p->b, name, data);
	if (r < 0)
		return log_error_errno(r, "cannot read pack '%s' to repack it", name);
	for (uint32_t i = up->first_ref; i != USAGE_NONE; i = p->u.refs[i].next_in_pack)
		refs[n++] = i;
	qsort_r(refs, n, sizeof(uint32_t), ref_off_cmp, &p->u);
	for (uint32_t j = 0; j < n; j++) {
		struct usage_ref *ref = &p->u.refs[refs[j]];
		struct pack_entry e;
		buf_reset(&scratch);
		r = ref->off <= data->len && ref->stored_len <= data->len - ref->off
			    ? chunk_decode(repo_keys(p->repo), data->ptr + ref->off,
					   ref->stored_len, ref->raw_len, ref->hash, &scratch)
			    : -EBADMSG;
		if (r < 0) {
			log_error_errno(r,
					"pack '%s': the chunk at offset %" PRIu64 " is damaged; "
					"prune does not copy damaged data",
					name, ref->off);
			log_error("hint: 'cairn check --read-data' names the files it affects");
			return r;
		}
		if (pack_writer_count(w) > 0 &&
		    pack_writer_size(w) + ref->stored_len > cfg->pack_size) {
			r = flush_pack(p, w);
			if (r < 0)
				return r;
		}
		pack_writer_add(w, ref->hash, data->ptr + ref->off, ref->stored_len, ref->raw_len,
				&e);
		ref->mark = (uint32_t)p->n_new + 1;
		ref->new_off = e.off;
	}
	p->res.n_packs_repacked++;
	p->res.repacked_bytes += up->size;
	return 0;
}

/* Points the tree of snapshot s at the copies, and replaces its header. */
static int rewrite_snapshot(struct prune *p, struct psnap *s)
{
	const struct repo_config *cfg = repo_get_config(p->repo);
	AUTOBUF struct buf raw = BUF_INIT;
	struct snapshot_header h = { 0 };
	struct tree *t = NULL;
	struct hmap ids;
	char name[OBJECT_NAME_MAX];
	uint8_t new_id[HASH_LEN];
	int r;

	r = object_fetch_header(p->b, repo_keys(p->repo), s->id, &h);
	if (r == 0)
		r = object_fetch_tree(p->b, repo_keys(p->repo), s->tree_id, &t);
	if (r < 0) {
		snapshot_header_release(&h);
		return log_error_errno(r, "snapshot %s changed while prune ran", s->label);
	}
	hmap_init(&ids);
	uint8_t(*packs)[HASH_LEN] = xmalloc(((size_t)t->n_chunks + 1) * HASH_LEN);
	uint32_t n_packs = 0;
	for (uint32_t i = 0; i < t->n_chunks; i++) {
		struct tree_chunk *c = &t->chunks[i];
		const uint8_t *id = t->packs[c->pack];
		uint32_t k = usage_find_pack(&p->u, id);
		if (k != USAGE_NONE && k < p->u.n_packs && p->pp[k].is_repacked) {
			uint32_t ri = usage_find_ref(&p->u, t, c);
			if (ri == USAGE_NONE || p->u.refs[ri].mark == 0 ||
			    p->u.refs[ri].mark > p->n_new) {
				r = log_error_errno(-EIO,
						    "snapshot %s refers to a chunk prune did not "
						    "copy",
						    s->label);
				break;
			}
			id = p->new_packs[p->u.refs[ri].mark - 1];
			c->off = p->u.refs[ri].new_off;
		}
		uint64_t *v = hmap_get(&ids, id);
		if (!v) {
			memcpy(packs[n_packs], id, HASH_LEN);
			hmap_put(&ids, id, n_packs);
			c->pack = n_packs++;
		} else {
			c->pack = (uint32_t)*v;
		}
	}
	hmap_release(&ids);
	free(t->packs);
	t->packs = packs;
	t->n_packs = t->cap_packs = n_packs;
	if (r == 0) {
		r = tree_encode(t, &raw);
		if (r < 0)
			log_error_errno(r, "cannot encode the new tree of %s", s->label);
	}
	if (r == 0)
		r = object_put(p->b, repo_keys(p->repo), OBJECT_TREE, &raw, MAX(cfg->zstd_level, 1),
			       h.tree_id, NULL);
	if (r == 0) {
		buf_reset(&raw);
		snapshot_header_encode(&h, &raw);
		r = object_put(p->b, repo_keys(p->repo), OBJECT_SNAPSHOT, &raw, 0, new_id, NULL);
	}
	/* The new header is stored: the old one may go. */
	if (r == 0 && memcmp(new_id, s->id, HASH_LEN) != 0) {
		object_name(OBJECT_SNAPSHOT, s->id, name);
		r = backend_delete(p->b, name);
		if (r < 0)
			log_error_errno(r, "cannot remove the replaced header '%s'", name);
	}
	if (r == 0) {
		memcpy(s->id, new_id, HASH_LEN);
		memcpy(s->tree_id, h.tree_id, HASH_LEN);
		s->is_rewritten = true;
		p->res.n_snapshots_rewritten++;
	}
	snapshot_header_release(&h);
	tree_free(t);
	return r;
}

static int repack(struct prune *p)
{
	struct pack_writer *w = pack_writer_new(repo_keys(p->repo));
	AUTOBUF struct buf data = BUF_INIT;
	AUTOBUF struct buf raw = BUF_INIT;
	uint64_t n = 0, done = 0;
	int r = 0;

	for (uint32_t k = 0; k < p->u.n_packs; k++)
		n += p->pp[k].is_repacked;
	for (uint32_t k = 0; r == 0 && k < p->u.n_packs; k++) {
		if (!p->pp[k].is_repacked)
			continue;
		r = repack_one(p, w, k, &data);
		progress(p, "repack", ++done, n, 0);
	}
	if (r == 0)
		r = flush_pack(p, w);
	pack_writer_free(w);
	if (r == 0 && p->new_index.n_packs > 0) {
		uint8_t id[HASH_LEN];
		index_encode(&p->new_index, &raw);
		r = object_put(p->b, repo_keys(p->repo), OBJECT_INDEX, &raw, 3, id, NULL);
	}
	for (size_t i = 0; r == 0 && i < p->n_snaps; i++) {
		struct psnap *s = &p->snaps[i];
		bool uses = false;
		for (uint32_t j = 0; !uses && j < s->n_packs; j++)
			uses = p->pp[s->packs[j]].is_repacked;
		if (uses)
			r = rewrite_snapshot(p, s);
	}
	/* What was copied is garbage now, like any unreferenced pack. A new
	 * pack can have the name of an old garbage one (an interrupted prune
	 * wrote the same copy before): it is in use now. */
	for (uint32_t k = 0; r == 0 && k < p->u.n_packs; k++)
		if (p->pp[k].is_repacked)
			p->pp[k].is_garbage = true;
	for (size_t i = 0; r == 0 && i < p->n_new; i++) {
		uint32_t k = usage_find_pack(&p->u, p->new_packs[i]);
		if (k != USAGE_NONE && k < p->u.n_packs)
			p->pp[k].is_garbage = false;
	}
	return r;
}

/* --- what may go now --- */

static void collect_garbage(struct prune *p)
{
	struct id_list used = { 0 };

	for (uint32_t k = 0; k < p->u.n_packs; k++)
		if (p->pp[k].is_garbage)
			pending_add(&p->g, PENDING_PACK, p->u.packs[k].id,
				    since_of(p, PENDING_PACK, p->u.packs[k].id));
	for (size_t i = 0; i < p->n_snaps; i++)
		id_list_add(&used, p->snaps[i].tree_id, 0);
	id_list_sort(&used);
	for (size_t i = 0; i < p->inv.trees.n; i++)
		if (id_list_find(&used, p->inv.trees.ids[i]) < 0)
			pending_add(&p->g, PENDING_TREE, p->inv.trees.ids[i],
				    since_of(p, PENDING_TREE, p->inv.trees.ids[i]));
	id_list_release(&used);
	pending_sort(&p->g);
}

struct blockers {
	const char *own;
	int64_t *created; /* of each live backup lock */
	size_t n, cap;
	struct buf text; /* who they are, for the report */
	char **stale;	 /* names of stale locks, removed at the end */
	size_t n_stale, cap_stale;
};

static void blockers_release(struct blockers *bl)
{
	for (size_t i = 0; i < bl->n_stale; i++)
		free(bl->stale[i]);
	free(bl->stale);
	free(bl->created);
	buf_release(&bl->text);
}

static int add_blocker(void *userdata, const struct lock_info *li)
{
	struct blockers *bl = userdata;
	char when[SNAPSHOT_TIME_NAME_LEN];

	if (strcmp(li->name, bl->own) == 0)
		return 0;
	if (li->is_stale) {
		XGROW_ARRAY(bl->stale, bl->cap_stale, bl->n_stale + 1);
		bl->stale[bl->n_stale++] = xstrdup(li->name);
		return 0;
	}
	XGROW_ARRAY(bl->created, bl->cap, bl->n + 1);
	bl->created[bl->n++] = li->created;
	snapshot_time_name(li->created, when);
	if (li->is_damaged)
		buf_printf(&bl->text, "%s  damaged lock '%s' (remove it if no backup runs)",
			   bl->text.len ? "\n" : "", li->name);
	else {
		AUTOFREE char *host = str_printable(li->host, strlen(li->host));
		buf_printf(&bl->text, "%s  %s on host '%s' (pid %" PRIu32 ") since %s",
			   bl->text.len ? "\n" : "",
			   li->kind == LOCK_SHARED ? "backup or check" : "forget or prune", host,
			   li->pid, when);
	}
	return 0;
}

static bool may_delete(const struct blockers *bl, int64_t since)
{
	for (size_t i = 0; i < bl->n; i++)
		if (bl->created[i] <= since + LOCK_SKEW_S)
			return false;
	return true;
}

/* Snapshots committed since prune listed them: what they use is spared.
 * Returns false when one cannot be read (then nothing may be deleted). */
static bool spare_new_snapshots(struct prune *p)
{
	struct inventory now = { 0 };
	struct id_list known = { 0 };
	bool ok = true;

	if (inventory_list(p->repo, &now) < 0)
		return false;
	for (size_t i = 0; i < p->n_snaps; i++)
		id_list_add(&known, p->snaps[i].id, 0);
	id_list_sort(&known);
	for (size_t i = 0; ok && i < now.snapshots.n; i++) {
		struct psnap s = { 0 };
		if (id_list_find(&known, now.snapshots.ids[i]) >= 0)
			continue;
		if (load_snapshot(p, now.snapshots.ids[i], &s) < 0) {
			ok = false;
			break;
		}
		for (uint32_t j = 0; j < s.n_packs; j++) {
			struct pending_entry *e =
				(struct pending_entry *)pending_find(&p->g, PENDING_PACK,
								     p->u.packs[s.packs[j]].id);
			if (e)
				e->since = -1; /* referenced after all */
		}
		struct pending_entry *e =
			(struct pending_entry *)pending_find(&p->g, PENDING_TREE, s.tree_id);
		if (e)
			e->since = -1;
		free(s.packs);
	}
	id_list_release(&known);
	inventory_release(&now);
	return ok;
}

/* --- deleting --- */

struct deletions {
	struct id_list packs; /* sorted */
	struct id_list trees;
};

static void deletions_release(struct deletions *d)
{
	id_list_release(&d->packs);
	id_list_release(&d->trees);
}

/* Replaces each index object that names a pack about to be deleted (or
 * already gone) by one without it. */
static int rewrite_indexes(struct prune *p, const struct deletions *d)
{
	struct id_list present = { 0 };
	AUTOBUF struct buf raw = BUF_INIT;
	int r;

	/* Listed now, after the index objects were: a pack an index named
	 * then that is not here now is gone for good. */
	struct inventory now = { 0 };
	r = inventory_list(p->repo, &now);
	if (r < 0)
		return r;
	present = now.packs;
	now.packs = (struct id_list){ 0 };
	inventory_release(&now);

	for (size_t i = 0; r == 0 && i < p->n_indexes; i++) {
		struct pindex *pi = &p->indexes[i];
		bool drop = false;
		for (uint32_t j = 0; !drop && !pi->is_damaged && j < pi->n_packs; j++)
			drop = id_list_find(&d->packs, pi->packs[j]) >= 0 ||
			       id_list_find(&present, pi->packs[j]) < 0;
		if (!drop)
			continue;
		struct index ix, keep;
		r = object_fetch_index(p->b, repo_keys(p->repo), pi->id, &ix);
		if (r < 0) {
			r = 0; /* vanished or damaged meanwhile: leave it */
			continue;
		}
		index_init(&keep);
		for (uint32_t j = 0; j < ix.n_packs; j++)
			if (id_list_find(&d->packs, ix.packs[j].id) < 0 &&
			    id_list_find(&present, ix.packs[j].id) >= 0)
				index_add(&keep, ix.packs[j].id, ix.packs[j].entries,
					  ix.packs[j].n);
		if (keep.n_packs > 0) {
			uint8_t id[HASH_LEN];
			buf_reset(&raw);
			index_encode(&keep, &raw);
			r = object_put(p->b, repo_keys(p->repo), OBJECT_INDEX, &raw, 3, id, NULL);
		}
		if (r == 0) {
			char name[OBJECT_NAME_MAX];
			object_name(OBJECT_INDEX, pi->id, name);
			r = backend_delete(p->b, name);
			if (r < 0)
				log_error_errno(r, "cannot remove index object '%s'", name);
		}
		if (r == 0)
			p->res.n_indexes_rewritten++;
		index_release(&ix);
		index_release(&keep);
	}
	id_list_release(&present);
	return r;
}

static int delete_objects(struct prune *p, const struct deletions *d)
{
	uint64_t total = d->packs.n + d->trees.n, done = 0;
	char name[OBJECT_NAME_MAX];
	int r = 0;

	for (size_t i = 0; r == 0 && i < d->packs.n; i++) {
		object_name(OBJECT_PACK_TRAILER, d->packs.ids[i], name);
		r = backend_delete(p->b, name);
		if (r == 0) {
			p->res.n_packs_deleted++;
			p->res.pack_bytes_deleted += d->packs.sizes[i];
		}
		progress(p, "delete", ++done, total, 0);
	}
	for (size_t i = 0; r == 0 && i < d->trees.n; i++) {
		object_name(OBJECT_TREE, d->trees.ids[i], name);
		r = backend_delete(p->b, name);
		if (r == 0) {
			p->res.n_trees_deleted++;
			p->res.tree_bytes_deleted += d->trees.sizes[i];
		}
		progress(p, "delete", ++done, total, 0);
	}
	if (r < 0)
		log_error_errno(r, "cannot delete '%s'", name);
	return r;
}

static uint64_t size_of(const struct prune *p, const struct pending_entry *e)
{
	const struct id_list *l = e->kind == PENDING_PACK ? &p->inv.packs : &p->inv.trees;
	ssize_t i = id_list_find(l, e->id);
	return i >= 0 ? l->sizes[i] : 0;
}

/* Decides what of the garbage may go now, writes the pending set, and
 * deletes. */
static int sweep(struct prune *p, struct repo_lock *lock)
{
	CLEANUP(blockers_release)
	struct blockers bl = { .own = lock ? lock_self(lock)->name : "", .text = BUF_INIT };
	CLEANUP(deletions_release) struct deletions d = { 0 };
	CLEANUP(pending_release) struct pending left = { 0 };
	int r;

	if (!p->o->dry_run) {
		r = pending_write(p->b, repo_keys(p->repo), &p->g);
		if (r < 0)
			return r;
	}
	/* Locks after the pending set is out: a backup that locks later
	 * reads it and keeps off everything in it. */
	r = lock_list(p->b, repo_keys(p->repo), add_blocker, &bl);
	if (r < 0)
		return r;
	bool spare_ok = spare_new_snapshots(p);
	if (!spare_ok)
		log_warning("a snapshot committed while prune ran cannot be read; nothing is "
			    "deleted this time");
	for (size_t i = 0; i < p->g.n; i++) {
		const struct pending_entry *e = &p->g.entries[i];
		if (e->since < 0)
			continue;
		if (spare_ok && may_delete(&bl, e->since)) {
			id_list_add(e->kind == PENDING_PACK ? &d.packs : &d.trees, e->id,
				    size_of(p, e));
			continue;
		}
		pending_add(&left, e->kind, e->id, e->since);
		p->res.n_deferred++;
		p->res.deferred_bytes += size_of(p, e);
	}
	p->res.n_running = bl.n;
	if (p->res.n_deferred > 0 && bl.n > 0) {
		buf_append_u8(&bl.text, 0);
		log_info("%" PRIu64 " unreferenced objects wait for these to finish (they started "
			 "before the objects became garbage):\n%s",
			 p->res.n_deferred, (char *)bl.text.ptr);
		log_info("hint: run 'cairn prune' again once they are done");
	}
	id_list_sort(&d.packs);
	id_list_sort(&d.trees);
	if (p->o->dry_run) {
		for (size_t i = 0; i < d.packs.n; i++) {
			p->res.n_packs_deleted++;
			p->res.pack_bytes_deleted += d.packs.sizes[i];
		}
		for (size_t i = 0; i < d.trees.n; i++) {
			p->res.n_trees_deleted++;
			p->res.tree_bytes_deleted += d.trees.sizes[i];
		}
		return r;
	}
	if (lock) {
		r = lock_verify(lock);
		if (r < 0)
			return r;
	}
	r = rewrite_indexes(p, &d);
	if (r == 0)
		r = delete_objects(p, &d);
	if (r == 0)
		r = pending_write(p->b, repo_keys(p->repo), &left);
	/* Housekeeping: locks of processes that died. A backup that is only
	 * cut off would rewrite its lock, but refuses to commit anyway. */
	for (size_t i = 0; r == 0 && i < bl.n_stale; i++)
		if (backend_delete(p->b, bl.stale[i]) == 0)
			log_info("removed the stale lock '%s'", bl.stale[i]);
	return r;
}

/* --- the whole run --- */

static void prune_free(struct prune *p)
{
	for (size_t i = 0; i < p->n_snaps; i++)
		free(p->snaps[i].packs);
	free(p->snaps);
	for (size_t i = 0; i < p->n_indexes; i++)
		free(p->indexes[i].packs);
	free(p->indexes);
	free(p->new_packs);
	free(p->chunk_bytes);
	free(p->pp);
	index_release(&p->new_index);
	usage_release(&p->u);
	pending_release(&p->old);
	pending_release(&p->g);
	inventory_release(&p->inv);
	pthread_mutex_destroy(&p->lock);
}

int prune_run(struct repo *r, struct catalog *c, const struct prune_options *o,
	      struct prune_result *ret)
{
	CLEANUP(prune_free)
	struct prune p = { .repo = r, .b = repo_backend(r), .o = o, .now = lock_now() };
	CLEANUP(lock_releasep) struct repo_lock *lock = NULL;
	int res;

	pthread_mutex_init(&p.lock, NULL);
	usage_init(&p.u);
	index_init(&p.new_index);
	if (!backend_can_list(p.b))
		return log_error_errno(-EROFS, "cannot prune '%s': the backend cannot list objects",
				       backend_url(p.b));
	if (!o->dry_run) {
		res = lock_acquire(p.b, repo_keys(r), LOCK_EXCLUSIVE, "prune", &lock);
		if (res < 0)
			return res;
	}
	res = inventory_list(r, &p.inv);
	if (res < 0)
		return res;
	if (p.inv.has_pending && pending_read(p.b, repo_keys(p.repo), &p.old) < 0)
		log_warning("'%s' is damaged: every unreferenced object counts as found now, and "
			    "the object is rewritten",
			    PENDING_NAME);

	p.n_snaps = p.inv.snapshots.n;
	p.snaps = xcalloc(p.n_snaps + 1, sizeof(*p.snaps));
	res = parallel_for(p.n_snaps, PRUNE_THREADS, load_one, &p);
	if (res < 0)
		return res;
	p.res.n_snapshots = p.n_snaps;
	p.n_indexes = p.inv.indexes.n;
	p.indexes = xcalloc(p.n_indexes + 1, sizeof(*p.indexes));
	p.prog.done = 0;
	res = parallel_for(p.n_indexes, PRUNE_THREADS, load_index, &p);
	if (res < 0)
		return res;
	res = classify(&p);
	if (res < 0)
		return res;
	if (o->dry_run) {
		/* What a repack would copy and free, without doing it. */
		for (uint32_t k = 0; k < p.u.n_packs; k++) {
			if (!p.pp[k].is_repacked)
				continue;
			p.res.n_packs_repacked++;
			p.res.repacked_bytes += p.u.packs[k].size;
			p.res.written_bytes += p.u.packs[k].live_bytes;
			p.pp[k].is_garbage = true;
		}
	} else {
		res = repack(&p);
		if (res < 0)
			return res;
	}
	/* New garbage counts from now, just before prune-pending holds it:
	 * a backup whose lock is younger than that (plus the skew margin)
	 * has read it there. */
	p.now = lock_now();
	collect_garbage(&p);
	res = sweep(&p, lock);
	if (res < 0)
		return res;
	if (!o->dry_run) {
		/* Always, not only after rewriting a header: a forget that
		 * stopped between deleting headers and publishing left a list
		 * that still carries them, and readers over plain HTTP would
		 * show those snapshots. What this prune marks is deleted by a
		 * later one, after this list no longer names them. */
		if (repo_publish_listing(r) < 0)
			log_warning("readers over plain HTTP see the old snapshot list until it is "
				    "published again");
		/* The catalog learns of the rewritten snapshots and index
		 * objects; it is a cache, so failing here costs a later sync. */
		if (repo_sync(r, c, NULL) < 0 || repo_sync_index(r, c, NULL) < 0)
			log_warning("the repository is pruned, but the local catalog could not be "
				    "updated");
	}
	*ret = p.res;
	return res;
}
