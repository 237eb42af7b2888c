/*
 * repo.c - open and create repositories, keep the catalog in step with
 * them, and read chunks and trees back with verification.
 *
 * The config object ("config", an envelope of kind OBJECT_CONFIG):
 *
 *   size  meaning
 *   4     repository format version (2; 1 had a snapshot list of ids alone,
 *         and is refused)
 *   16    repository id (random; names the local cache directory)
 *   4,4,4 chunker minimum, average and maximum sizes
 *   4     zstd level (0 = chunks stored uncompressed)
 *   4     target pack size
 *   4     encryption scheme (0 = none, 1 = AES-256-GCM under the master key
 *         that the "keys" object wraps; see keys.c)
 *
 * The snapshot list ("snapshot-list", kind OBJECT_LISTING, layout in
 * format/listing.c) is the one object that is rewritten: every snapshot's
 * id with its header carried along. Static web servers cannot list, so a
 * reader there finds snapshots through it alone. Backends that can list
 * take the set of snapshots from the real listing of snapshots/ and the
 * headers a catalog lacks from this list (one request, not one per
 * snapshot), fetching only those it does not carry: a snapshot committed
 * after the list was last written, or one whose header the writer could
 * not read. Every backup, forget and prune rewrites it after its header
 * objects are written (or deleted), so it is at most one operation behind.
 *
 * Objects other than the config are named by the SHA-256 of their raw
 * payload, and every read checks that name against the envelope's hash, so
 * an object swapped for another valid one is caught as surely as a flipped
 * bit. The catalog is only a cache: repo_sync() makes its snapshot list
 * equal to the repository's, and trees are fetched when first needed.
 */
#include "repo/repo.h"
#include "repo/private-dir.h"
#include "format/envelope.h"
#include "format/index.h"
#include "format/listing.h"
#include "base/log.h"
#include "base/parallel.h"
#include "repo/keys.h"
#include "repo/object.h"
#include "repo/password.h"
#include "repo/pending.h"
#include "base/rbuf.h"

#include <openssl/crypto.h>

#include <assert.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/stat.h>

struct repo {
	struct backend *backend;
	struct repo_config config;
	char id_hex[2 * REPO_ID_LEN + 1];
	char *cache_dir;
	char *catalog_path;
	pthread_mutex_t tree_lock; /* serialises tree loading */
	struct crypto_keys *keys;  /* set once by repo_unlock(); NULL when plain */
	uint64_t key_id;	   /* the key that unlocked it */
};

struct repo_config repo_config_default(void)
{
	return (struct repo_config){
		.version = REPO_FORMAT_VERSION,
		.chunker = chunker_default_params(),
		/* Level 1, not 3: on this project's datasets it stores 1.5% (many
		 * small files) to 6% (large logs and text) more, and backs up
		 * with a quarter less CPU, which a backup taken while the service
		 * is stopped turns straight into less downtime. */
		.zstd_level = 1,
		.pack_size = PACK_SIZE_DEFAULT,
	};
}

void repo_config_encode(const struct repo_config *cfg, struct buf *out)
{
	buf_append_le32(out, cfg->version);
	buf_append(out, cfg->id, REPO_ID_LEN);
	buf_append_le32(out, cfg->chunker.min_size);
	buf_append_le32(out, cfg->chunker.avg_size);
	buf_append_le32(out, cfg->chunker.max_size);
	buf_append_le32(out, (uint32_t)cfg->zstd_level);
	buf_append_le32(out, cfg->pack_size);
	buf_append_le32(out, cfg->encryption);
}

int repo_config_decode(const uint8_t *data, size_t len, struct repo_config *ret)
{
	struct rbuf r = rbuf_make(data, len);
	struct repo_config cfg;

	cfg.version = rbuf_le32(&r);
	rbuf_copy(&r, cfg.id, REPO_ID_LEN);
	cfg.chunker.min_size = rbuf_le32(&r);
	cfg.chunker.avg_size = rbuf_le32(&r);
	cfg.chunker.max_size = rbuf_le32(&r);
	cfg.zstd_level = (int32_t)rbuf_le32(&r);
	cfg.pack_size = rbuf_le32(&r);
	cfg.encryption = rbuf_le32(&r);
	if (!rbuf_ok(&r) || rbuf_left(&r) != 0)
		return -EBADMSG;
	if (cfg.version != REPO_FORMAT_VERSION)
		return -EPROTONOSUPPORT;
	if (cfg.encryption > REPO_ENCRYPTION_AES256GCM)
		return -EPROTONOSUPPORT;
	if (chunker_params_check(&cfg.chunker) < 0 || cfg.zstd_level < 0 || cfg.zstd_level > 22 ||
	    cfg.pack_size < cfg.chunker.max_size || cfg.pack_size > PACK_SIZE_MAX)
		return -EBADMSG;
	*ret = cfg;
	return 0;
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);
}

/* Stores the snapshot list of entries v[0..n) (ids ascending). */
static int put_listing(struct backend *b, const struct crypto_keys *keys,
		       const struct listing_entry *v, size_t n)
{
	AUTOBUF struct buf raw = BUF_INIT;
	AUTOBUF struct buf obj = BUF_INIT;
	int r;

	listing_encode(v, n, &raw);
	r = envelope_encode(keys, OBJECT_LISTING, raw.ptr, raw.len, 3, NULL, &obj, NULL);
	if (r >= 0)
		r = backend_put(b, LISTING_NAME, obj.ptr, obj.len);
	return r < 0 ? r : 0;
}

static int list_any(void *userdata, const char *name UNUSED, uint64_t size UNUSED)
{
	*(bool *)userdata = true;
	return 1; /* one is enough */
}

static void keys_freep(struct crypto_keys **k)
{
	crypto_keys_free(*k);
}

int repo_init(const char *url, const struct backend_options *bo, const struct repo_config *cfg,
	      const char *password, const struct scrypt_params *kdf)
{
	CLEANUP(backend_freep) struct backend *b = NULL;
	AUTOBUF struct buf payload = BUF_INIT;
	AUTOBUF struct buf obj = BUF_INIT;
	CLEANUP(key_set_releasep) struct key_set ks = { 0 };
	CLEANUP(keys_freep) struct crypto_keys *keys = NULL;
	struct repo_config c = *cfg;
	bool any = false;
	int r;

	assert(c.encryption == REPO_ENCRYPTION_NONE || (password && kdf));

	r = backend_open(url, bo, &b);
	if (r < 0)
		return r;
	if (backend_is_read_only(b))
		return log_error_errno(-EROFS,
				       "cannot create a repository at '%s' (read-only backend)",
				       url);
	r = backend_list(b, "", list_any, &any);
	if (r < 0)
		return r;
	if (any) {
		uint64_t size;
		r = backend_size(b, CONFIG_NAME, &size) == 0 ? -EEXIST : -ENOTEMPTY;
		log_error_errno(r, "cannot create a repository at '%s'", url);
		if (r == -ENOTEMPTY)
			log_error("hint: choose an empty directory or bucket prefix");
		return r;
	}
	c.version = REPO_FORMAT_VERSION;
	r = crypto_random(c.id, REPO_ID_LEN);
	if (r < 0)
		return r;
	if (c.encryption != REPO_ENCRYPTION_NONE) {
		uint8_t master[CRYPTO_KEY_LEN];
		r = crypto_random(master, sizeof(master));
		if (r == 0)
			r = key_set_add(&ks, master, password, kdf, NULL);
		if (r == 0)
			keys = crypto_keys_new(master);
		OPENSSL_cleanse(master, sizeof(master));
		if (r == 0)
			r = keys_write(b, &ks);
		if (r < 0)
			return log_error_errno(r,
					       "cannot store the key of the new repository at '%s'",
					       url);
	}
	/* The config comes last but for the layout: until it exists, no one
	 * takes the half-made repository for a real one. */
	repo_config_encode(&c, &payload);
	r = put_listing(b, keys, NULL, 0);
	if (r >= 0)
		r = envelope_encode(NULL, OBJECT_CONFIG, payload.ptr, payload.len, 0, NULL, &obj,
				    NULL);
	if (r >= 0)
		r = backend_put(b, CONFIG_NAME, obj.ptr, obj.len);
	if (r >= 0)
		r = backend_create_layout(b);
	return r < 0 ? r : 0;
}

static char *cache_base(void)
{
	const char *e = getenv("CAIRN_CACHE_DIR");
	if (e && *e)
		return xstrdup(e);
	e = getenv("XDG_CACHE_HOME");
	if (e && *e)
		return xasprintf("%s/cairn", e);
	e = getenv("HOME");
	/* No shared fallback (a /tmp path another user could create first). */
	return e && *e ? xasprintf("%s/.cache/cairn", e) : NULL;
}

int repo_open(const char *url, const struct backend_options *bo, struct repo **ret)
{
	AUTOBUF struct buf obj = BUF_INIT;
	AUTOBUF struct buf payload = BUF_INIT;
	AUTOFREE char *base = NULL;
	CLEANUP(repo_closep) struct repo *repo = NULL;
	int r;

	repo = xcalloc(1, sizeof(*repo));
	pthread_mutex_init(&repo->tree_lock, NULL);
	r = backend_open(url, bo, &repo->backend);
	if (r < 0)
		return r;
	r = backend_get(repo->backend, CONFIG_NAME, &obj);
	if (r == -ENOENT) {
		log_error("no repository at '%s' (it has no config object)", url);
		log_error("hint: create one with 'cairn init -r %s', or check -r", url);
		return r;
	}
	if (r < 0)
		return log_error_errno(r, "cannot read the config of repository '%s'", url);
	r = object_decode(NULL, obj.ptr, obj.len, OBJECT_CONFIG, NULL, &payload);
	if (r == 0)
		r = repo_config_decode(payload.ptr, payload.len, &repo->config);
	if (r == -EPROTONOSUPPORT && payload.len >= 4 &&
	    get_le32(payload.ptr) < REPO_FORMAT_VERSION) {
		log_error("repository '%s' has format version %" PRIu32 ", which this cairn no "
			  "longer reads (it reads version %d)",
			  url, get_le32(payload.ptr), REPO_FORMAT_VERSION);
		log_error("hint: there is no migration: read it with the cairn that wrote it, "
			  "and back up into a new repository made with 'cairn init'");
		return r;
	}
	if (r == -EPROTONOSUPPORT) {
		log_error("repository '%s' has a format version or encryption scheme this cairn "
			  "does not know",
			  url);
		log_error("hint: upgrade cairn");
		return r;
	}
	if (r < 0)
		return log_error_errno(r, "the config of repository '%s' is damaged", url);
	if (!repo_is_encrypted(repo)) {
		/* Someone who can write the bucket could rewrite the plain
		 * config to say "unencrypted", so that the next backup stores
		 * plain data: a repository with keys is refused instead. */
		uint64_t size;
		if (backend_size(repo->backend, KEYS_NAME, &size) == 0) {
			log_error("the config of repository '%s' says it is not encrypted, but it "
				  "has keys: the config was tampered with",
				  url);
			return -EBADMSG;
		}
	}
	hex_encode(repo->config.id, REPO_ID_LEN, repo->id_hex);

	base = cache_base();
	if (!base) {
		r = log_error_errno(-ENOENT, "no cache directory: HOME, XDG_CACHE_HOME and "
					     "CAIRN_CACHE_DIR are all unset");
		log_error("hint: set CAIRN_CACHE_DIR to a directory only you can write to");
		return r;
	}
	repo->cache_dir = xasprintf("%s/%s", base, repo->id_hex);
	/* The directory named (CAIRN_CACHE_DIR, or .../cairn) first, so that
	 * one of ours that others could write (a Kubernetes emptyDir is 0777)
	 * is narrowed, not refused as the parent of the repository's. */
	r = private_dir_make(base, "cache directory");
	if (r == 0)
		r = private_dir_make(repo->cache_dir, "cache directory");
	if (r < 0) {
		log_error("hint: set CAIRN_CACHE_DIR to a directory only you can write to, "
			  "or fix the owner and mode of the one named");
		return r;
	}
	repo->catalog_path = xasprintf("%s/catalog.db", repo->cache_dir);
	/* 0600, never through a symlink, ours (SQLite would create it 0644).
	 * Here, once, before this process opens it: closing any descriptor of
	 * the file would drop the fcntl locks SQLite holds on it, and another
	 * process could then reset the WAL index under our mapping (SIGBUS). */
	r = private_file_prepare(repo->catalog_path);
	if (r < 0)
		return r;
	*ret = TAKE(repo);
	return 0;
}

void repo_close(struct repo *r)
{
	if (!r)
		return;
	backend_free(r->backend);
	crypto_keys_free(r->keys);
	pthread_mutex_destroy(&r->tree_lock);
	free(r->cache_dir);
	free(r->catalog_path);
	free(r);
}

bool repo_is_encrypted(const struct repo *r)
{
	return r->config.encryption != REPO_ENCRYPTION_NONE;
}

int repo_unlock(struct repo *r, const char *password)
{
	CLEANUP(key_set_releasep) struct key_set ks = { 0 };
	uint8_t master[CRYPTO_KEY_LEN];
	size_t i;
	int res;

	if (!repo_is_encrypted(r) || r->keys)
		return 0;
	res = keys_read(r->backend, &ks);
	if (res == -ENOENT)
		return log_error_errno(-EBADMSG, "repository '%s' is encrypted but has no keys",
				       backend_url(r->backend));
	if (res == -EINVAL)
		return log_error_errno(-EBADMSG,
				       "the keys of repository '%s' ask for scrypt parameters "
				       "out of bounds",
				       backend_url(r->backend));
	if (res == -EBADMSG)
		return log_error_errno(res, "the keys of repository '%s' are damaged",
				       backend_url(r->backend));
	if (res < 0)
		return log_error_errno(res, "cannot read the keys of repository '%s'",
				       backend_url(r->backend));
	res = key_set_unlock(&ks, password, master, &i);
	if (res == -EKEYREJECTED) {
		log_error("wrong password, or no key of this repository matches it");
		return res;
	}
	if (res < 0)
		return log_error_errno(res, "cannot derive the key of repository '%s'",
				       backend_url(r->backend));
	r->keys = crypto_keys_new(master);
	OPENSSL_cleanse(master, sizeof(master));
	r->key_id = ks.v[i].id;
	return 0;
}

int repo_unlock_with(struct repo *r, const char *password_file)
{
	AUTOPASSWORD char *pw = NULL;
	int res;

	if (!repo_is_encrypted(r) || r->keys)
		return 0;
	res = password_read(password_file, &pw);
	if (res < 0)
		return res;
	return repo_unlock(r, pw);
}

const struct crypto_keys *repo_keys(const struct repo *r)
{
	return r->keys;
}

uint64_t repo_key_in_use(const struct repo *r)
{
	return r->key_id;
}

const struct repo_config *repo_get_config(const struct repo *r)
{
	return &r->config;
}

struct backend *repo_backend(const struct repo *r)
{
	return r->backend;
}

const char *repo_id_hex(const struct repo *r)
{
	return r->id_hex;
}

const char *repo_cache_dir(const struct repo *r)
{
	return r->cache_dir;
}

int repo_catalog_open(struct repo *r, struct catalog **ret)
{
	return catalog_open(r->catalog_path, ret);
}

/* object_fetch_name(), saying what failed. */
static int fetch_object(struct repo *r, const char *name, enum object_kind kind,
			const uint8_t id[HASH_LEN], struct buf *out)
{
	AUTOBUF struct buf obj = BUF_INIT;
	int res;

	res = backend_get(r->backend, name, &obj);
	if (res == -ENOENT)
		return log_error_errno(res, "object '%s' is missing from '%s'", name,
				       backend_url(r->backend));
	if (res < 0)
		return log_error_errno(res, "cannot fetch '%s'", name);
	res = object_decode(r->keys, obj.ptr, obj.len, kind, id, out);
	if (res < 0)
		return log_error_errno(res, "object '%s' is damaged", name);
	return 0;
}

/* --- syncing the snapshot list --- */

struct listed {
	uint8_t (*ids)[HASH_LEN];
	size_t n, cap;
};

static void listed_release(struct listed *l)
{
	free(l->ids);
}

static int collect_id(void *userdata, const char *name, uint64_t size UNUSED)
{
	struct listed *l = userdata;
	const char *base = strrchr(name, '/');
	uint8_t id[HASH_LEN];

	if (!base || hex_decode(base + 1, id, HASH_LEN) < 0)
		return 0; /* not ours; check reports strays */
	XGROW_ARRAY(l->ids, l->cap, l->n + 1);
	memcpy(l->ids[l->n++], id, HASH_LEN);
	return 0;
}

/* A decoded snapshot list; the entries point into raw. */
struct snaplist {
	struct buf raw;
	struct listing_entry *v;
	size_t n;
};

static void snaplist_release(struct snaplist *l)
{
	buf_release(&l->raw);
	free(l->v);
	*l = (struct snaplist){ 0 };
}

/* Reads the published snapshot list into l, logging nothing: -EBADMSG
 * when it is damaged, else the backend's error. */
static int fetch_snaplist(struct repo *r, struct snaplist *l)
{
	AUTOBUF struct buf obj = BUF_INIT;
	int res;

	res = backend_get(r->backend, LISTING_NAME, &obj);
	if (res < 0)
		return res;
	res = object_decode(r->keys, obj.ptr, obj.len, OBJECT_LISTING, NULL, &l->raw);
	if (res == 0)
		res = listing_decode(r->keys, l->raw.ptr, l->raw.len, &l->v, &l->n);
	if (res < 0) {
		snaplist_release(l);
		return -EBADMSG;
	}
	return 0;
}

/* fetch_snaplist(), saying what failed. */
static int read_snaplist(struct repo *r, struct snaplist *l)
{
	int res = fetch_snaplist(r, l);
	if (res == -EBADMSG)
		return log_error_errno(res, "the snapshot list of '%s' is damaged",
				       backend_url(r->backend));
	if (res < 0)
		return log_error_errno(res, "cannot read the snapshot list '%s' of '%s'",
				       LISTING_NAME, backend_url(r->backend));
	return 0;
}

/* The ids of all snapshots, sorted: from a listing where the backend can
 * list, else from the published snapshot list, which is then left in sl
 * (untouched otherwise). */
static int list_snapshot_ids(struct repo *r, struct listed *l, struct snaplist *sl)
{
	int res;

	if (!backend_can_list(r->backend)) {
		res = read_snaplist(r, sl);
		if (res < 0)
			return res;
		l->ids = xmalloc(sl->n * HASH_LEN + 1);
		for (size_t i = 0; i < sl->n; i++)
			memcpy(l->ids[i], sl->v[i].id, HASH_LEN);
		l->n = l->cap = sl->n;
		return 0;
	}
	res = backend_list(r->backend, SNAPSHOTS_DIR, collect_id, l);
	if (res < 0)
		return log_error_errno(res, "cannot list the snapshots of '%s'",
				       backend_url(r->backend));
	if (l->n > 0)
		qsort(l->ids, l->n, HASH_LEN, hash_cmp);
	/* A listing that names a key twice (a hostile server) counts it once. */
	size_t kept = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (kept == 0 || memcmp(l->ids[kept - 1], l->ids[i], HASH_LEN) != 0)
			memmove(l->ids[kept++], l->ids[i], HASH_LEN);
	}
	l->n = kept;
	return 0;
}

int repo_read_snapshot_list(struct repo *r, uint8_t (**ret_ids)[HASH_LEN], size_t *ret_n,
			    size_t *ret_n_bare)
{
	CLEANUP(snaplist_release) struct snaplist sl = { 0 };
	size_t bare = 0;
	int res = read_snaplist(r, &sl);

	if (res < 0)
		return res;
	uint8_t(*ids)[HASH_LEN] = xmalloc(sl.n * HASH_LEN + 1);
	for (size_t i = 0; i < sl.n; i++) {
		memcpy(ids[i], sl.v[i].id, HASH_LEN);
		bare += !sl.v[i].header;
	}
	*ret_ids = ids;
	*ret_n = sl.n;
	if (ret_n_bare)
		*ret_n_bare = bare;
	return 0;
}

/* The headers a sync or a publish must fetch, fetched by a few threads at
 * once: each fetch is a round trip. */
#define SYNC_FETCH_THREADS 8

/* The raw headers of ids[0..n): raw[i] holds that of ids[i] where
 * results[i] is 0, else results[i] says why not. */
struct headers {
	const uint8_t (*ids)[HASH_LEN];
	size_t n;
	struct buf *raw;
	int *results;
};

static void headers_release(struct headers *h)
{
	for (size_t i = 0; i < h->n; i++)
		buf_release(&h->raw[i]);
	free(h->raw);
	free(h->results);
	*h = (struct headers){ 0 };
}

/* Where in another struct headers (ids ascending) the header of id is, or
 * NULL. */
static const struct buf *headers_find(const struct headers *h, const uint8_t id[HASH_LEN])
{
	const uint8_t(*p)[HASH_LEN] = h->n ? bsearch(id, h->ids, h->n, HASH_LEN, hash_cmp) : NULL;
	if (!p || h->results[p - h->ids] != 0)
		return NULL;
	return &h->raw[p - h->ids];
}

struct header_fetch {
	struct repo *repo;
	struct headers *h;
	size_t *todo; /* the indexes of h to fetch */
	bool quiet;
};

/* One header for parallel_for(); a failure is kept for its snapshot and
 * does not stop the others. */
static int fetch_header(void *userdata, size_t k)
{
	struct header_fetch *f = userdata;
	size_t i = f->todo[k];
	char name[OBJECT_NAME_MAX];

	object_name(OBJECT_SNAPSHOT, f->h->ids[i], name);
	if (f->quiet)
		f->h->results[i] = object_fetch_name(f->repo->backend, f->repo->keys, name,
						     OBJECT_SNAPSHOT, f->h->ids[i], &f->h->raw[i]);
	else
		f->h->results[i] =
			fetch_object(f->repo, name, OBJECT_SNAPSHOT, f->h->ids[i], &f->h->raw[i]);
	return 0;
}

/* Gathers the raw headers of ids[0..n) (ascending) into ret: those that the
 * snapshot list sl (may be NULL) or an earlier gathering prev (may be NULL)
 * carries are taken from there, the others fetched in parallel (quiet: no
 * log for a header that cannot be fetched). Fails only when a thread
 * cannot be had; a header that cannot be had is a result of its own. */
static int gather_headers(struct repo *r, const uint8_t (*ids)[HASH_LEN], size_t n,
			  const struct snaplist *sl, const struct headers *prev, bool quiet,
			  struct headers *ret)
{
	struct headers h = {
		.ids = ids,
		.n = n,
		.raw = xcalloc(n + 1, sizeof(struct buf)),
		.results = xcalloc(n + 1, sizeof(int)),
	};
	AUTOFREE size_t *todo = xmalloc((n + 1) * sizeof(size_t));
	size_t n_todo = 0;
	int res = 0;

	for (size_t i = 0; i < n; i++) {
		const struct listing_entry *e = sl ? listing_find(sl->v, sl->n, ids[i]) : NULL;
		const struct buf *b = prev ? headers_find(prev, ids[i]) : NULL;
		if (e && e->header)
			buf_append(&h.raw[i], e->header, e->header_len);
		else if (b)
			buf_append(&h.raw[i], b->ptr, b->len);
		else
			todo[n_todo++] = i;
	}
	if (n_todo > 0) {
		struct header_fetch f = { .repo = r, .h = &h, .todo = todo, .quiet = quiet };
		/* fetch_header() never fails, so every header is tried;
		 * parallel_for() fetches on this thread too, so a thread that
		 * cannot start costs speed only */
		res = parallel_for(n_todo, SYNC_FETCH_THREADS, fetch_header, &f);
	}
	if (res < 0) {
		headers_release(&h);
		return res;
	}
	*ret = h;
	return 0;
}

int repo_publish_listing(struct repo *r)
{
	CLEANUP(snaplist_release) struct snaplist old = { 0 };
	CLEANUP(headers_release) struct headers prev = { 0 };
	struct listed prev_ids = { 0 };
	int res = 0;

	if (backend_is_read_only(r->backend) || !backend_can_list(r->backend))
		return 0;
	/* The headers the list carries now are carried on; only those of
	 * snapshots new since it was written are fetched. A damaged or
	 * missing list costs a fetch of every header, once. */
	if (fetch_snaplist(r, &old) < 0)
		log_debug("the snapshot list of '%s' cannot be read; fetching every header",
			  backend_url(r->backend));
	/* Another host may add a snapshot between our listing and our write;
	 * list again after writing and repeat until the two agree. */
	for (int attempt = 0; attempt < 5; attempt++) {
		struct listed before = { 0 }, after = { 0 };
		struct headers h = { 0 };
		res = list_snapshot_ids(r, &before, NULL);
		if (res == 0)
			res = gather_headers(r, (const uint8_t(*)[HASH_LEN])before.ids, before.n,
					     &old, &prev, true, &h);
		if (res == 0) {
			struct listing_entry *v = xcalloc(before.n + 1, sizeof(*v));
			for (size_t i = 0; i < before.n; i++) {
				memcpy(v[i].id, before.ids[i], HASH_LEN);
				if (h.results[i] == 0) {
					v[i].header = h.raw[i].ptr;
					v[i].header_len = (uint32_t)h.raw[i].len;
				}
			}
			res = put_listing(r->backend, r->keys, v, before.n);
			free(v);
		}
		if (res == 0)
			res = list_snapshot_ids(r, &after, NULL);
		bool same =
			res == 0 && before.n == after.n &&
			(before.n == 0 || memcmp(before.ids, after.ids, before.n * HASH_LEN) == 0);
		if (same) {
			/* A header that stays unreadable after the listing
			 * agreed is damaged or unreachable, not just gone. */
			for (size_t i = 0; i < h.n; i++) {
				if (h.results[i] == 0)
					continue;
				char hex[HASH_HEX_LEN + 1];
				hex_encode(h.ids[i], HASH_LEN, hex);
				log_warning_errno(h.results[i],
						  "the snapshot list does not carry the header "
						  "'snapshots/%s': it cannot be read",
						  hex);
			}
		}
		/* This attempt's headers serve the next; their ids stay. */
		headers_release(&prev);
		listed_release(&prev_ids);
		prev = h;
		prev_ids = before;
		free(after.ids);
		if (res < 0 || same)
			break;
	}
	headers_release(&prev);
	listed_release(&prev_ids);
	if (res < 0)
		return log_error_errno(res, "cannot publish the snapshot list of '%s'",
				       backend_url(r->backend));
	return 0;
}

struct gone {
	const struct listed *listed;
	int64_t *ids;
	size_t n, cap;
};

static void gone_release(struct gone *g)
{
	free(g->ids);
}

static int collect_gone(void *userdata, const struct cat_snapshot *s)
{
	struct gone *g = userdata;
	if (bsearch(s->snap_id, g->listed->ids, g->listed->n, HASH_LEN, hash_cmp))
		return 0;
	XGROW_ARRAY(g->ids, g->cap, g->n + 1);
	g->ids[g->n++] = s->id;
	return 0;
}

/* Adds the snapshots ids[0..n) (ascending) to the catalog, their headers
 * from the snapshot list sl (may be NULL) where it carries them, else
 * fetched in parallel. A damaged or vanished header hides one snapshot,
 * not the repository: it was logged, and check reports it. *ret_added
 * counts the snapshots added. */
static int add_snapshots(struct repo *r, struct catalog *c, const uint8_t (*ids)[HASH_LEN],
			 size_t n, const struct snaplist *sl, unsigned *ret_added)
{
	CLEANUP(headers_release) struct headers h = { 0 };
	int res = gather_headers(r, ids, n, sl, NULL, false, &h);

	for (size_t i = 0; res >= 0 && i < n; i++) {
		struct snapshot_header sh;

		res = h.results[i];
		if (res == 0) {
			res = snapshot_header_decode(h.raw[i].ptr, h.raw[i].len, &sh);
			if (res < 0) {
				char hex[HASH_HEX_LEN + 1];
				hex_encode(ids[i], HASH_LEN, hex);
				log_error_errno(res, "snapshot header 'snapshots/%s' is malformed",
						hex);
			}
		}
		if (res == 0) {
			res = catalog_add_snapshot(c, ids[i], &sh);
			snapshot_header_release(&sh);
			if (res == 0)
				(*ret_added)++;
		}
		if (res == -EBADMSG || res == -ENOENT)
			res = 0;
	}
	return res;
}

int repo_sync(struct repo *r, struct catalog *c, unsigned *ret_changes)
{
	CLEANUP(listed_release) struct listed l = { 0 };
	CLEANUP(gone_release) struct gone g = { .listed = &l };
	CLEANUP(snaplist_release) struct snaplist sl = { 0 };
	AUTOFREE uint8_t(*missing)[HASH_LEN] = NULL;
	size_t n_missing = 0;
	unsigned changes = 0;
	int res;

	res = list_snapshot_ids(r, &l, &sl);
	if (res < 0)
		return res;
	res = catalog_list_snapshots(c, NULL, collect_gone, &g);
	for (size_t i = 0; res == 0 && i < g.n; i++) {
		res = catalog_remove_snapshot(c, g.ids[i]);
		changes++;
	}
	missing = xmalloc((l.n + 1) * HASH_LEN);
	for (size_t i = 0; res >= 0 && i < l.n; i++) {
		res = catalog_has_snapshot(c, l.ids[i]);
		if (res == 0)
			memcpy(missing[n_missing++], l.ids[i], HASH_LEN);
		if (res > 0)
			res = 0;
	}
	if (res < 0)
		return res;
	/* Where the listing named the snapshots, the headers come from the
	 * published list in one request when many are missing: more than one
	 * parallel round of fetches, or an eighth of all (a fresh catalog).
	 * A few new snapshots of a large repository (a mount's refresh) are
	 * cheaper fetched alone than a list of every header. The list is a
	 * shortcut there: damaged or gone, each header is fetched. */
	bool many = n_missing > SYNC_FETCH_THREADS || (n_missing > 1 && n_missing * 8 >= l.n);
	if (many && backend_can_list(r->backend) && fetch_snaplist(r, &sl) < 0)
		log_debug("the snapshot list of '%s' cannot be read; fetching %zu headers",
			  backend_url(r->backend), n_missing);
	if (n_missing > 0)
		res = add_snapshots(r, c, (const uint8_t(*)[HASH_LEN])missing, n_missing, &sl,
				    &changes);
	if (res < 0)
		return res;
	if (ret_changes)
		*ret_changes = changes;
	return 0;
}

struct index_names {
	char **names;
	size_t n, cap;
};

static int collect_name(void *userdata, const char *name, uint64_t size UNUSED)
{
	struct index_names *l = userdata;
	XGROW_ARRAY(l->names, l->cap, l->n + 1);
	l->names[l->n++] = xstrdup(name);
	return 0;
}

static int merge_index(struct repo *r, struct catalog *c, const char *name)
{
	AUTOBUF struct buf payload = BUF_INIT;
	struct index ix;
	uint8_t id[HASH_LEN];
	int res;

	if (hex_decode(name + strlen(INDEX_DIR), id, HASH_LEN) < 0)
		return 0;
	res = catalog_has_index(c, id);
	if (res != 0)
		return res < 0 ? res : 0;
	res = fetch_object(r, name, OBJECT_INDEX, id, &payload);
	if (res < 0)
		return res;
	res = index_decode(payload.ptr, payload.len, &ix);
	if (res < 0)
		return log_error_errno(res, "index object '%s' is malformed", name);
	res = catalog_add_index(c, id, &ix);
	index_release(&ix);
	return res;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Forgets a merged index object that is no longer in the listing l (prune
 * rewrote or removed it, and may have deleted packs it named). */
static int drop_vanished(void *userdata, const uint8_t id[HASH_LEN])
{
	void **args = userdata;
	const struct index_names *l = args[0];
	struct catalog *c = args[1];
	char name[OBJECT_NAME_MAX];

	object_name(OBJECT_INDEX, id, name);
	const char *key = name;
	if (l->n > 0 && bsearch(&key, l->names, l->n, sizeof(char *), name_cmp))
		return 0;
	return catalog_remove_index(c, id);
}

/* Tells the catalog which packs prune may delete (p, read before the
 * index objects were listed), so that they are never deduplicated against. */
static int apply_pending(struct catalog *c, const struct pending *p)
{
	uint8_t(*ids)[HASH_LEN] = xmalloc((p->n + 1) * HASH_LEN);
	size_t n = 0;
	int res;

	for (size_t i = 0; i < p->n; i++)
		if (p->entries[i].kind == PENDING_PACK)
			memcpy(ids[n++], p->entries[i].id, HASH_LEN);
	res = catalog_set_pending_packs(c, (const uint8_t(*)[HASH_LEN])ids, n);
	free(ids);
	return res;
}

int repo_sync_index(struct repo *r, struct catalog *c, struct pending *ret_pending)
{
	struct index_names l = { 0 };
	struct pending p = { 0 };
	int res;

	/* The pending set first: a pack prune marks after this read belongs to
	 * a prune that saw this backup's lock (taken before), and waits for it. */
	res = pending_read(r->backend, r->keys, &p);
	if (res == -EBADMSG)
		log_error("hint: 'cairn prune' rewrites it");
	if (res == 0)
		res = backend_list(r->backend, INDEX_DIR, collect_name, &l);
	for (size_t i = 0; res >= 0 && i < l.n; i++) {
		res = merge_index(r, c, l.names[i]);
		/* A damaged index only costs deduplication. */
		if (res == -EBADMSG)
			res = 0;
	}
	if (res >= 0) {
		if (l.n > 0)
			qsort(l.names, l.n, sizeof(char *), name_cmp);
		void *args[2] = { &l, c };
		res = catalog_list_indexes(c, drop_vanished, args);
	}
	if (res >= 0)
		res = apply_pending(c, &p);
	if (res >= 0 && ret_pending)
		*ret_pending = p;
	else
		pending_release(&p);
	for (size_t i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
	return res < 0 ? res : 0;
}

/* repo_ensure_tree() under r->tree_lock. */
static int load_tree_locked(struct repo *r, struct catalog *c, const struct cat_snapshot *s)
{
	AUTOBUF struct buf payload = BUF_INIT;
	CLEANUP(tree_freep) struct tree *t = NULL;
	struct cat_snapshot cur;
	char name[OBJECT_NAME_MAX];
	int res;

	/* Another thread or process may have loaded it meanwhile. */
	res = catalog_snapshot_by_id(c, s->id, &cur);
	if (res < 0 || cur.loaded)
		return res;
	object_name(OBJECT_TREE, s->tree_id, name);
	res = fetch_object(r, name, OBJECT_TREE, s->tree_id, &payload);
	if (res < 0)
		return res;
	res = tree_decode_buf(&payload, &t);
	if (res < 0)
		return log_error_errno(res, "tree '%s' of snapshot %s/%s is malformed", name,
				       s->member, s->name);
	return catalog_load_tree(c, s->id, t);
}

int repo_ensure_tree(struct repo *r, struct catalog *c, struct cat_snapshot *s)
{
	int res;

	if (s->loaded)
		return 0;
	pthread_mutex_lock(&r->tree_lock);
	res = load_tree_locked(r, c, s);
	pthread_mutex_unlock(&r->tree_lock);
	if (res == 0)
		s->loaded = true;
	return res;
}

int repo_fetch_chunks(struct repo *r, const struct chunk_loc *locs, size_t n, struct buf *out)
{
	char name[PACK_NAME_LEN];
	uint64_t first, end;
	size_t start = out->len;
	int res;

	assert(n >= 1);
	pack_name(locs[0].pack, name);
	first = locs[0].off;
	end = first;
	for (size_t i = 0; i < n; i++) {
		const struct chunk_loc *l = &locs[i];
		if (l->stored_len < ENVELOPE_HEADER_SIZE || l->raw_len > CHUNK_SIZE_MAX_LIMIT ||
		    l->off > UINT64_MAX - l->stored_len)
			return log_error_errno(-EBADMSG,
					       "pack '%s': chunk at %" PRIu64 " has a bad length",
					       name, l->off);
		/* The caller's promise: one pack, ascending, no overlap. */
		assert(memcmp(l->pack, locs[0].pack, HASH_LEN) == 0 && l->off >= end);
		end = l->off + l->stored_len;
	}
	if (end - first > REPO_FETCH_MAX)
		return log_error_errno(-EINVAL,
				       "pack '%s': a fetch of %" PRIu64 " bytes is too large", name,
				       end - first);
	res = backend_get_range(r->backend, name, first, (size_t)(end - first), out);
	if (res == -ENOENT) {
		/* A missing pack is damage, not a missing file: callers turn
		 * ENOENT into "no such file", so say EIO. */
		log_error("pack '%s' is missing from the repository", name);
		return -EIO;
	}
	if (res < 0)
		return log_error_errno(res, "cannot fetch %zu chunk%s from pack '%s'", n,
				       n == 1 ? "" : "s", name);
	if (out->len - start != end - first) {
		out->len = start;
		return log_error_errno(-EBADMSG, "pack '%s' is shorter than its index says", name);
	}
	return 0;
}

int repo_decode_chunk_quiet(const struct repo *r, const struct chunk_loc *loc,
			    const uint8_t *stored, struct buf *out)
{
	return chunk_decode(r->keys, stored, loc->stored_len, loc->raw_len, loc->hash, out);
}

int repo_decode_chunk(struct repo *r, const struct chunk_loc *loc, const uint8_t *stored,
		      struct buf *out)
{
	int res = repo_decode_chunk_quiet(r, loc, stored, out);

	if (res < 0) {
		char name[PACK_NAME_LEN];
		pack_name(loc->pack, name);
		return log_error_errno(res, "pack '%s': chunk at offset %" PRIu64 " is damaged",
				       name, loc->off);
	}
	return 0;
}

int repo_read_chunk(struct repo *r, const struct chunk_loc *loc, struct buf *out)
{
	AUTOBUF struct buf obj = BUF_INIT;
	int res;

	res = repo_fetch_chunks(r, loc, 1, &obj);
	if (res < 0)
		return res;
	return repo_decode_chunk(r, loc, obj.ptr, out);
}

/* --- resolving snapshot references --- */

struct name_list {
	struct buf text;
	unsigned n;
};

static int add_member_name(void *userdata, int64_t id UNUSED, const char *name)
{
	struct name_list *l = userdata;
	if (l->n++ < 20)
		buf_printf(&l->text, "%s%s", l->n > 1 ? ", " : "", name);
	return 0;
}

static int add_snapshot_name(void *userdata, const struct cat_snapshot *s)
{
	struct name_list *l = userdata;
	buf_printf(&l->text, "%s%s", l->n++ ? ", " : "", s->name);
	return 0;
}

int repo_lookup_snapshot(struct catalog *c, const char *ref, struct cat_snapshot *ret)
{
	const char *slash = strchr(ref, '/');

	if (!slash)
		return strlen(ref) >= 4 ? catalog_find_snapshot_by_prefix(c, ref, ret) : -ENOENT;
	if (strchr(slash + 1, '/'))
		return -ENOENT;
	AUTOFREE char *member = strndup(ref, (size_t)(slash - ref));
	if (!member)
		return -ENOMEM;
	return catalog_find_snapshot(c, member, slash + 1, ret);
}

int repo_resolve_snapshot(struct repo *r UNUSED, struct catalog *c, const char *ref,
			  struct cat_snapshot *ret)
{
	struct name_list l = { BUF_INIT, 0 };
	const char *slash = strchr(ref, '/');
	int res;

	if (!slash) {
		res = repo_lookup_snapshot(c, ref, ret);
		if (res == -ENOTUNIQ)
			return log_error_errno(res, "snapshot id prefix '%s' is ambiguous", ref);
		if (res == -ENOENT) {
			log_error("no snapshot '%s': expected MEMBER/TIMESTAMP, MEMBER/latest or a "
				  "snapshot id prefix of at least 4 hex digits",
				  ref);
			log_error("hint: 'cairn snapshots' lists them");
		}
		return res;
	}
	AUTOFREE char *member = strndup(ref, (size_t)(slash - ref));
	const char *name = slash + 1;
	int64_t member_id;

	if (!member)
		return -ENOMEM;
	res = catalog_member_id(c, member, &member_id);
	if (res == -ENOENT) {
		int UNUSED e = catalog_list_members(c, add_member_name, &l);
		buf_append_u8(&l.text, 0);
		log_error("no member '%s' in the repository", member);
		log_error("hint: members are: %s", l.n ? (char *)l.text.ptr : "(none yet)");
		buf_release(&l.text);
		return res;
	}
	if (res < 0)
		return res;
	res = catalog_find_snapshot(c, member, name, ret);
	if (res == -ENOENT) {
		int UNUSED e = catalog_list_snapshots(c, member, add_snapshot_name, &l);
		buf_append_u8(&l.text, 0);
		log_error("member '%s' has no snapshot '%s'", member, name);
		log_error("hint: its snapshots are: %s, latest", (char *)l.text.ptr);
		buf_release(&l.text);
	}
	return res;
}
