/*
 * forget.h - retention: decide per member which snapshots a policy keeps,
 * and remove the others' snapshot headers. Their data stays until prune.
 */
#ifndef CAIRN_FORGET_H
#define CAIRN_FORGET_H

#include "repo/repo.h"

/* Why a snapshot is kept; several rules may keep one snapshot. */
enum forget_reason {
	KEEP_LAST = 1 << 0,
	KEEP_HOURLY = 1 << 1,
	KEEP_DAILY = 1 << 2,
	KEEP_WEEKLY = 1 << 3,
	KEEP_MONTHLY = 1 << 4,
	KEEP_YEARLY = 1 << 5,
	KEEP_WITHIN = 1 << 6,
	KEEP_TAG = 1 << 7,
};

struct forget_policy {
	unsigned last;		 /* the newest N snapshots */
	unsigned hourly;	 /* the newest snapshot of each of the N newest hours with one */
	unsigned daily;		 /* ... days (UTC) */
	unsigned weekly;	 /* ... ISO 8601 weeks (UTC, Monday to Sunday) */
	unsigned monthly;	 /* ... months */
	unsigned yearly;	 /* ... years */
	uint64_t within_s;	 /* every snapshot at most this much older than the newest */
	const char *const *tags; /* every snapshot with any of these tags */
	size_t n_tags;
};

/* One snapshot of a member, for forget_apply(). */
struct forget_item {
	int64_t time_sec;
	uint32_t time_nsec;
	const char *tags; /* comma-separated, borrowed */
	unsigned reasons; /* set by forget_apply(): enum forget_reason bits, 0 to remove */
};

/* True when the policy keeps nothing (no rule given). */
bool forget_policy_is_empty(const struct forget_policy *p);
/* Decides for one member's snapshots, given newest first: sets each
 * item's reasons. For each of hourly .. yearly, walking from the newest,
 * a snapshot is kept when it is the first seen of its period and fewer than
 * N periods were kept so far. Pure; thread-safe. */
void forget_apply(const struct forget_policy *p, struct forget_item *items, size_t n);
/* Writes "last, daily, weekly" (or "" for none) into out. */
void forget_reasons_text(unsigned reasons, char *out, size_t size);

struct forget_decision {
	const struct cat_snapshot *snap;
	unsigned reasons; /* 0: removed (or would be, with dry_run) */
};

/* Called for each member's snapshots, newest first, once decided. */
typedef void (*forget_report_fn)(void *userdata, const char *member,
				 const struct forget_decision *d, size_t n);

struct forget_options {
	struct forget_policy policy;
	const char *member; /* NULL: every member */
	bool dry_run;	    /* decide and report, change nothing */
	forget_report_fn report;
	void *report_data;
};

struct forget_result {
	uint64_t n_kept, n_removed;
};

/* Applies the policy to each member: takes the exclusive lock (unless
 * dry_run), syncs the catalog, reports the decisions, deletes the headers
 * of the snapshots to remove, republishes the snapshot list and updates
 * the catalog. -ENOENT (logged, naming the members) for an unknown member;
 * -EBUSY when another forget or prune holds the lock. */
int forget_run(struct repo *r, struct catalog *c, const struct forget_options *o,
	       struct forget_result *ret) WARN_UNUSED;

#endif
