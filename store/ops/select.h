/*
 * select.h - which entries a backup takes: exclude patterns (--exclude,
 * --exclude-file) and include lists (--files-from). The semantics are in
 * cairn(1) under SELECTING FILES; select.c has the matcher.
 *
 * Paths given to the queries are relative to the snapshot's root, as they
 * appear in the snapshot ("etc/nginx/nginx.conf"): no leading '/', no
 * trailing '/', components separated by one '/'.
 */
#ifndef CAIRN_SELECT_H
#define CAIRN_SELECT_H

#include "base/hmap.h"

struct select_pattern {
	char *glob;    /* owned; the pattern without leading and trailing '/' */
	bool anchored; /* had a '/' inside: matched against the whole path */
	bool dir_only; /* had a trailing '/': matches directories only */
};

struct selection {
	struct select_pattern *excludes; /* owned */
	size_t n_excludes;
	bool has_includes;     /* --files-from was given */
	bool include_all;      /* one of its entries named the root itself */
	struct hmap included;  /* SHA-256 of a listed path -> 1 */
	struct hmap ancestors; /* SHA-256 of a directory above a listed path -> 1 */
};

enum select_verdict {
	SELECT_SKIP,	/* not in the backup */
	SELECT_PARTIAL, /* a directory above an included path: only what is listed below */
	SELECT_ALL,	/* in the backup, with everything below it (but excludes) */
};

void select_init(struct selection *s);
void select_release(struct selection *s);
static inline void select_releasep(struct selection **s)
{
	select_release(*s);
}

/* Adds one exclude pattern. -EINVAL for an empty pattern (or only '/'). */
int select_add_exclude(struct selection *s, const char *pattern) WARN_UNUSED;
/* Adds the patterns of a file, one a line ('#' comments and blank lines
 * ignored, surrounding blanks trimmed). Errors are logged naming the file
 * and line: -errno when it cannot be read, -EINVAL for a bad line. */
int select_add_exclude_file(struct selection *s, const char *path) WARN_UNUSED;
/* Adds the entries of an include list (the same line rules); each is a
 * path relative to the snapshot root (a leading '/' or "./" is dropped).
 * -EINVAL (logged) for an entry with a ".." component. */
int select_add_files_from(struct selection *s, const char *path) WARN_UNUSED;
/* Adds one include entry, normalised as select_add_files_from() does. */
int select_add_include(struct selection *s, const char *entry) WARN_UNUSED;

/* True when the glob matches all of str ('*' and '?' stop at '/', '**'
 * crosses it, "[...]" a set, '\' quotes). */
bool select_glob_match(const char *glob, const char *str);
/* True when path (relative, see above) is excluded by a pattern. */
bool select_is_excluded(const struct selection *s, const char *path, bool is_dir);
/* Whether path is in the include list, given its parent's verdict. Without
 * --files-from every path is SELECT_ALL. */
enum select_verdict select_include(const struct selection *s, const char *path,
				   enum select_verdict parent);

#endif
