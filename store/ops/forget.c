/*
 * forget.c - retention policies, as restic applies them.
 *
 * A member's snapshots are walked from the newest. Each bucket rule
 * (last, hourly, daily, weekly, monthly, yearly) keeps a snapshot when its
 * period (its own index for "last"; the UTC hour, day, ISO week, month or
 * year of its time otherwise) differs from that of the last snapshot the
 * rule kept, while the rule has count left; so a rule keeps the newest
 * snapshot of each of the N most recent periods that have snapshots, and
 * periods without snapshots do not count. The rules are independent: one
 * snapshot may be kept by several, and every rule counts it. --keep-within
 * keeps every snapshot no older than the member's newest snapshot minus the
 * duration (measured from the newest snapshot rather than from now, so a
 * member whose backups stopped does not lose its history to the clock);
 * --keep-tag keeps every snapshot carrying one of the tags.
 *
 * Removing a snapshot deletes only its header, the object whose existence
 * is the snapshot; its tree and data become garbage for prune.
 */
#include "ops/forget.h"
#include "repo/inventory.h"
#include "repo/lock.h"
#include "base/log.h"

#include <time.h>

struct rule {
	unsigned reason;
	unsigned count; /* left to keep */
	char last[24];	/* period of the last snapshot this rule kept */
	bool any;	/* last is set */
};

/* The period of time tm (snapshot number i) for a rule, in UTC. */
static void period_of(unsigned reason, const struct tm *tm, size_t i, char out[24])
{
	switch (reason) {
	case KEEP_HOURLY:
		strftime(out, 24, "%Y-%m-%d %H", tm);
		break;
	case KEEP_DAILY:
		strftime(out, 24, "%Y-%m-%d", tm);
		break;
	case KEEP_WEEKLY:
		strftime(out, 24, "%G-W%V", tm); /* ISO 8601 week-numbering year and week */
		break;
	case KEEP_MONTHLY:
		strftime(out, 24, "%Y-%m", tm);
		break;
	case KEEP_YEARLY:
		strftime(out, 24, "%Y", tm);
		break;
	default: /* KEEP_LAST: each snapshot is a period of its own */
		snprintf(out, 24, "#%zu", i);
		break;
	}
}

bool forget_policy_is_empty(const struct forget_policy *p)
{
	return !p->last && !p->hourly && !p->daily && !p->weekly && !p->monthly && !p->yearly &&
	       !p->within_s && p->n_tags == 0;
}

static bool has_tag(const char *tags, const char *tag)
{
	size_t len = strlen(tag);
	for (const char *t = tags; *t;) {
		size_t n = strcspn(t, ",");
		if (n == len && memcmp(t, tag, len) == 0)
			return true;
		t += n + (t[n] == ',');
	}
	return false;
}

void forget_apply(const struct forget_policy *p, struct forget_item *items, size_t n)
{
	struct rule rules[] = {
		{ KEEP_LAST, p->last, "", false },	 { KEEP_HOURLY, p->hourly, "", false },
		{ KEEP_DAILY, p->daily, "", false },	 { KEEP_WEEKLY, p->weekly, "", false },
		{ KEEP_MONTHLY, p->monthly, "", false }, { KEEP_YEARLY, p->yearly, "", false },
	};

	for (size_t i = 0; i < n; i++) {
		struct forget_item *it = &items[i];
		time_t t = (time_t)it->time_sec;
		struct tm tm;

		it->reasons = 0;
		gmtime_r(&t, &tm);
		for (size_t j = 0; j < ARRAY_SIZE(rules); j++) {
			struct rule *r = &rules[j];
			char period[24];
			if (r->count == 0)
				continue;
			period_of(r->reason, &tm, i, period);
			if (r->any && strcmp(period, r->last) == 0)
				continue;
			memcpy(r->last, period, sizeof(period));
			r->any = true;
			r->count--;
			it->reasons |= r->reason;
		}
		if (p->within_s > 0 && n > 0 &&
		    (uint64_t)(items[0].time_sec - it->time_sec) <= p->within_s)
			it->reasons |= KEEP_WITHIN;
		for (size_t j = 0; j < p->n_tags; j++)
			if (it->tags && has_tag(it->tags, p->tags[j]))
				it->reasons |= KEEP_TAG;
	}
}

void forget_reasons_text(unsigned reasons, char *out, size_t size)
{
	static const char *const names[] = { "last",	"hourly", "daily",  "weekly",
					     "monthly", "yearly", "within", "tag" };
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(reasons & (1u << i)))
			continue;
		int w = snprintf(out + len, size - len, "%s%s", len ? ", " : "", names[i]);
		if (w < 0 || (size_t)w >= size - len)
			break;
		len += (size_t)w;
	}
}

struct member_snaps {
	struct cat_snapshot *snaps;
	size_t n, cap;
};

static int collect_snapshot(void *userdata, const struct cat_snapshot *s)
{
	struct member_snaps *m = userdata;
	XGROW_ARRAY(m->snaps, m->cap, m->n + 1);
	m->snaps[m->n++] = *s;
	return 0;
}

struct member_names {
	char **names;
	size_t n, cap;
};

static void member_names_release(struct member_names *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->names[i]);
	free(m->names);
}

static int collect_member(void *userdata, int64_t id UNUSED, const char *name)
{
	struct member_names *m = userdata;
	XGROW_ARRAY(m->names, m->cap, m->n + 1);
	m->names[m->n++] = xstrdup(name);
	return 0;
}

static int delete_snapshot(struct repo *r, struct catalog *c, const struct cat_snapshot *s)
{
	char name[OBJECT_NAME_MAX];
	int res;

	object_name(OBJECT_SNAPSHOT, s->snap_id, name);
	res = backend_delete(repo_backend(r), name);
	if (res < 0)
		return log_error_errno(res, "cannot remove snapshot %s/%s ('%s')", s->member,
				       s->name, name);
	return catalog_remove_snapshot(c, s->id);
}

static int forget_member(struct repo *r, struct catalog *c, const struct forget_options *o,
			 const char *member, struct forget_result *res)
{
	struct member_snaps m = { 0 };
	int rc;

	rc = catalog_list_snapshots(c, member, collect_snapshot, &m);
	if (rc < 0 || m.n == 0) {
		free(m.snaps);
		return rc;
	}
	/* Listed oldest first; the policy walks from the newest. */
	struct forget_item *items = xcalloc(m.n, sizeof(*items));
	struct forget_decision *d = xcalloc(m.n, sizeof(*d));
	for (size_t i = 0; i < m.n; i++) {
		const struct cat_snapshot *s = &m.snaps[m.n - 1 - i];
		items[i] = (struct forget_item){ s->time_sec, s->time_nsec, s->tags, 0 };
	}
	forget_apply(&o->policy, items, m.n);
	for (size_t i = 0; i < m.n; i++) {
		d[i].snap = &m.snaps[m.n - 1 - i];
		d[i].reasons = items[i].reasons;
	}
	if (o->report)
		o->report(o->report_data, member, d, m.n);
	for (size_t i = 0; rc >= 0 && i < m.n; i++) {
		if (d[i].reasons) {
			res->n_kept++;
			continue;
		}
		if (!o->dry_run)
			rc = delete_snapshot(r, c, d[i].snap);
		if (rc >= 0)
			res->n_removed++;
	}
	free(items);
	free(d);
	free(m.snaps);
	return rc;
}

int forget_run(struct repo *r, struct catalog *c, const struct forget_options *o,
	       struct forget_result *ret)
{
	CLEANUP(member_names_release) struct member_names members = { 0 };
	struct forget_result res = { 0 };
	CLEANUP(lock_releasep) struct repo_lock *lock = NULL;
	int rc;

	if (forget_policy_is_empty(&o->policy))
		return log_error_errno(-EINVAL, "a retention policy that keeps nothing");
	if (!o->dry_run) {
		rc = lock_acquire(repo_backend(r), repo_keys(r), LOCK_EXCLUSIVE, "forget", &lock);
		if (rc < 0)
			return rc;
	}
	/* What the repository holds now, not when the command started. */
	rc = repo_sync(r, c, NULL);
	if (rc < 0)
		return rc;
	if (o->member) {
		AUTOFREE char *ref = xasprintf("%s/latest", o->member);
		struct cat_snapshot s;
		rc = repo_resolve_snapshot(r, c, ref, &s); /* says which members exist */
		if (rc < 0)
			return rc;
		collect_member(&members, 0, o->member);
	} else {
		rc = catalog_list_members(c, collect_member, &members);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; rc >= 0 && i < members.n; i++)
		rc = forget_member(r, c, o, members.names[i], &res);
	if (!o->dry_run && res.n_removed > 0) {
		int e = repo_publish_listing(r);
		if (e < 0 && rc >= 0)
			log_warning("the snapshots are removed, but readers over plain HTTP still "
				    "list them until the snapshot list is published again");
	}
	if (rc < 0)
		return rc;
	*ret = res;
	return 0;
}
