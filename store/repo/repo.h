/*
 * repo.h - a repository: its backend, its config, and its local catalog.
 * The entry point for fs/ and tools/.
 *
 * Layout of a repository (details in cairn-repository(5)):
 *   config                 format version, id, chunker, compression, encryption
 *   keys                   encrypted repositories: the wrapped master key
 *   packs/<ab>/<id>        pack objects of chunk envelopes
 *   index/<id>             which chunks each pack of one backup holds
 *   trees/<id>             a snapshot's full tree
 *   snapshots/<id>         a snapshot's header; its existence is the commit
 *   snapshot-list          every snapshot's id and header, for readers that
 *                          cannot list and for fresh catalogs (one request)
 *
 * A struct repo is thread-safe: repo_read_chunk() and repo_ensure_tree()
 * may be called from many threads, each with its own catalog connection.
 */
#ifndef CAIRN_REPO_H
#define CAIRN_REPO_H

#include "backend/backend.h"
#include "catalog/catalog.h"
#include "format/chunker.h"
#include "base/crypto.h"
#include "repo/pending.h"

#define REPO_FORMAT_VERSION 2
#define REPO_ID_LEN 16

struct repo_config {
	uint32_t version;
	uint8_t id[REPO_ID_LEN];
	struct chunker_params chunker;
	int zstd_level;	     /* 0: store chunks uncompressed */
	uint32_t pack_size;  /* target pack size in bytes */
	uint32_t encryption; /* enum repo_encryption */
};

enum repo_encryption {
	REPO_ENCRYPTION_NONE = 0,
	REPO_ENCRYPTION_AES256GCM = 1, /* AES-256-GCM objects, HMAC-SHA-256 ids, keys */
};

struct repo;

/* The defaults for init: 1 MiB average chunks, zstd level 3, 16 MiB packs. */
struct repo_config repo_config_default(void);

/* The raw payload of the config object (layout in repo.c). Decoding an
 * untrusted payload returns -EBADMSG when it is malformed or out of range,
 * -EPROTONOSUPPORT for another format version or an unknown encryption
 * scheme. */
void repo_config_encode(const struct repo_config *cfg, struct buf *out);
int repo_config_decode(const uint8_t *data, size_t len, struct repo_config *ret) WARN_UNUSED;

/* Creates a repository at url with cfg (a fresh random id is drawn). When
 * cfg->encryption is not NONE, a random master key is drawn and wrapped
 * under password with kdf into the "keys" object. -EEXIST (logged) when url
 * already holds one. */
int repo_init(const char *url, const struct backend_options *bo, const struct repo_config *cfg,
	      const char *password, const struct scrypt_params *kdf) WARN_UNUSED;

/* Opens the repository at url: reads and checks its config and prepares the
 * cache directory ($CAIRN_CACHE_DIR/<id>, else $XDG_CACHE_HOME/cairn/<id>,
 * else ~/.cache/cairn/<id>, mode 0700). Does not yet sync the catalog. An
 * encrypted repository must then be unlocked before anything else. */
int repo_open(const char *url, const struct backend_options *bo, struct repo **ret) WARN_UNUSED;
void repo_close(struct repo *r);
DEFINE_FREEP(struct repo, repo_close)

/* True when the repository is encrypted (repo_unlock() needed). */
bool repo_is_encrypted(const struct repo *r);
/* Unwraps the master key with password (tried against every key) and
 * derives the object keys. Logs "wrong password, or no key of this
 * repository matches it" and returns -EKEYREJECTED when none opens;
 * -EBADMSG (logged) for a damaged or hostile keys object. A no-op for an
 * unencrypted repository. Not thread-safe: call before sharing r. */
int repo_unlock(struct repo *r, const char *password) WARN_UNUSED;
/* repo_unlock() with the password from password_read(password_file) (see
 * repo/password.h), when the repository is encrypted. Errors logged. */
int repo_unlock_with(struct repo *r, const char *password_file) WARN_UNUSED;
/* The object keys once unlocked; NULL for an unencrypted repository. Valid
 * until repo_close(). */
const struct crypto_keys *repo_keys(const struct repo *r);
/* The id of the key that unlocked the repository (0 when none did). */
uint64_t repo_key_in_use(const struct repo *r);

const struct repo_config *repo_get_config(const struct repo *r);
struct backend *repo_backend(const struct repo *r);
/* Hex repository id; valid until repo_close(). */
const char *repo_id_hex(const struct repo *r);
/* The local cache directory (it exists); valid until repo_close(). */
const char *repo_cache_dir(const struct repo *r);

/* Opens a new connection to the repository's catalog (one per thread). */
int repo_catalog_open(struct repo *r, struct catalog **ret) WARN_UNUSED;

/* Brings the catalog's snapshot list up to date with the repository: the
 * set of snapshots from one listing of snapshots/ (or, where the backend
 * cannot list, from the published snapshot list), the headers the catalog
 * lacks from the published snapshot list in one request when many are
 * missing (a fresh catalog; a few new ones are fetched on their own, as is
 * any the list does not carry), and removal of snapshots that are gone.
 * *ret_changes (may be
 * NULL) counts additions and removals. */
int repo_sync(struct repo *r, struct catalog *c, unsigned *ret_changes) WARN_UNUSED;

/* Rewrites the known-name object "snapshot-list" (the ids of all
 * snapshots from a listing of snapshots/, each with its header), so that
 * readers that cannot list (static HTTP servers) find every snapshot and
 * every reader gets all headers in one request. Carries over the headers
 * the old list holds and fetches the others. Called after every change to
 * the set of snapshots; a no-op on read-only backends. */
int repo_publish_listing(struct repo *r) WARN_UNUSED;

/* Reads the published snapshot list (not a listing): a malloc'd array of
 * sorted snapshot ids, and in *ret_n_bare (may be NULL) how many of them
 * it lists without their header. Errors are logged. */
int repo_read_snapshot_list(struct repo *r, uint8_t (**ret_ids)[HASH_LEN], size_t *ret_n,
			    size_t *ret_n_bare) WARN_UNUSED;

/* Brings the catalog's deduplication data in step with the repository:
 * the packs "prune-pending" lists (never to be deduplicated against), the
 * chunk locations of every index object it has not merged, and forgets
 * merged index objects that are gone. A backup calls it after taking its
 * lock. The pending set it read goes to *ret_pending (may be NULL; the
 * caller releases it). -EBADMSG (logged) when "prune-pending" is damaged. */
int repo_sync_index(struct repo *r, struct catalog *c, struct pending *ret_pending) WARN_UNUSED;

/* Makes sure snapshot s's tree is in the catalog, fetching and checking it
 * when it is not. Concurrent callers for one snapshot fetch it once. On
 * success s->loaded is set. */
int repo_ensure_tree(struct repo *r, struct catalog *c, struct cat_snapshot *s) WARN_UNUSED;

/* Fetches one chunk's envelope by byte range, decodes it and checks that its
 * SHA-256 is loc->hash; appends the data to out. -EBADMSG (logged, naming
 * the pack) when it is damaged, a backend error when it cannot be fetched. */
int repo_read_chunk(struct repo *r, const struct chunk_loc *loc, struct buf *out) WARN_UNUSED;

/* The most bytes one repo_fetch_chunks() may span. */
#define REPO_FETCH_MAX (64u << 20)
/* Fetches the envelopes of chunks locs[0..n), n >= 1, which must lie in one
 * pack in ascending order without overlapping, with one range request:
 * appends the pack's bytes from the first envelope to the end of the last,
 * gaps included, to out. -EBADMSG (logged) for an implausible length or a
 * pack shorter than the catalog says, -EIO (logged) for a missing pack,
 * -EINVAL when the span exceeds REPO_FETCH_MAX, else the backend's error
 * (logged). Thread-safe. */
int repo_fetch_chunks(struct repo *r, const struct chunk_loc *locs, size_t n,
		      struct buf *out) WARN_UNUSED;
/* Decodes the chunk loc from its loc->stored_len envelope bytes at stored
 * and checks that its SHA-256 is loc->hash; appends the data to out.
 * -EBADMSG (logged, naming the pack) when it is damaged. Thread-safe. */
int repo_decode_chunk(struct repo *r, const struct chunk_loc *loc, const uint8_t *stored,
		      struct buf *out) WARN_UNUSED;
/* The same, logging nothing: for a caller that has another copy to try. */
int repo_decode_chunk_quiet(const struct repo *r, const struct chunk_loc *loc,
			    const uint8_t *stored, struct buf *out) WARN_UNUSED;

/* Resolves a snapshot reference: "MEMBER/TIMESTAMP", "MEMBER/latest", or a
 * unique prefix of a snapshot id (at least 4 hex digits). When nothing
 * matches, logs what does exist (members, or the member's snapshots) and
 * returns -ENOENT; -ENOTUNIQ for an ambiguous prefix. */
int repo_resolve_snapshot(struct repo *r, struct catalog *c, const char *ref,
			  struct cat_snapshot *ret) WARN_UNUSED;
/* The same without a word when nothing matches: 0, -ENOENT (including a
 * reference of the wrong shape), -ENOTUNIQ, or a catalog error. */
int repo_lookup_snapshot(struct catalog *c, const char *ref, struct cat_snapshot *ret) WARN_UNUSED;

#endif
