/*
 * lock.h - lock objects ("locks/<random>") that say who is working on a
 * repository, so prune can tell which backups are still running.
 *
 * A backup (and check) holds a shared lock, forget and prune an exclusive
 * one. Exclusive locks exclude each other; shared locks exclude nothing:
 * a backup never waits for prune. Prune instead reads the shared locks to
 * learn which backups started before it found an object unreferenced, and
 * defers deleting that object until they are gone (see prune.c and
 * cairn-repository(5), CONCURRENCY).
 *
 * The holder rewrites its lock every LOCK_REFRESH_S from a thread; a lock
 * not refreshed for LOCK_STALE_S, or whose process is known to be gone (same
 * machine, dead pid), is stale and ignored. A holder that could not refresh
 * for LOCK_STALE_S / 2 must assume others may have ignored it:
 * lock_verify() says so, and a backup then refuses to commit.
 */
#ifndef CAIRN_LOCK_H
#define CAIRN_LOCK_H

#include "backend/backend.h"
#include "base/crypto.h"
#include "format/names.h"
#include "format/snapshot.h"

enum lock_kind {
	LOCK_SHARED = 1,    /* backup, check */
	LOCK_EXCLUSIVE = 2, /* forget, prune */
};

#define LOCK_REFRESH_S (5 * 60)
#define LOCK_STALE_S (30 * 60)
/* Clocks of two hosts may differ by this much; comparisons of one host's
 * time with another's leave this margin. */
#define LOCK_SKEW_S (10 * 60)

struct lock_info {
	char name[LOCK_NAME_LEN];
	enum lock_kind kind;
	char host[HOST_LEN_MAX + 1];
	uint32_t pid;
	int64_t created;   /* UTC seconds, by the holder's clock */
	int64_t refreshed; /* UTC seconds, by the holder's clock */
	bool is_stale;	   /* not refreshed for LOCK_STALE_S, or its process is gone */
	bool is_damaged;   /* unreadable: treated as a live shared lock created at 0 */
};

/* The largest payload of a lock object, and of the machine key in it. */
#define LOCK_MACHINE_MAX 128

/* Parses a lock object's payload (untrusted) into li (kind, pid, times,
 * host; not the name or the flags) and machine, its holder's machine key.
 * 0 or -EBADMSG. */
int lock_decode(const uint8_t *data, size_t len, struct lock_info *li,
		char machine[LOCK_MACHINE_MAX + 1]) WARN_UNUSED;

struct repo_lock;

/* Writes a new lock of kind to b, encrypted under keys (NULL: an
 * unencrypted repository; keys must outlive the lock), and starts
 * refreshing it. For an
 * exclusive lock, then lists the others: when another live exclusive lock
 * exists, removes its own and returns -EBUSY, having logged who holds it
 * and a hint. what ("prune", "backup") is for those messages. -EROFS on a
 * read-only backend. */
int lock_acquire(struct backend *b, const struct crypto_keys *keys, enum lock_kind kind,
		 const char *what, struct repo_lock **ret) WARN_UNUSED;
/* Stops refreshing and deletes the lock object. Accepts NULL. */
void lock_release(struct repo_lock *l);
DEFINE_FREEP(struct repo_lock, lock_release)
/* 0 while the lock has been refreshed in time, else -ESTALE (logged): others
 * may have taken it for stale, so work done under it must not be committed. */
int lock_verify(struct repo_lock *l) WARN_UNUSED;
/* The lock's own description (name, creation time); valid until release. */
const struct lock_info *lock_self(const struct repo_lock *l);

typedef int (*lock_list_fn)(void *userdata, const struct lock_info *info);
/* Calls fn for every lock object of b, decrypted with keys (a lock deleted
 * meanwhile is skipped; one that does not decrypt is damaged). A non-zero return from fn stops and is returned. */
int lock_list(struct backend *b, const struct crypto_keys *keys, lock_list_fn fn,
	      void *userdata) WARN_UNUSED;

/* Current UTC time in seconds. */
int64_t lock_now(void);

#endif
