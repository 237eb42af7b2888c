/*
 * select.c - exclude patterns and include lists for backups.
 *
 * Patterns follow rsync and restic: '*' matches any run of bytes but '/',
 * '?' one byte but '/', "[...]" one byte of a set ("[!...]" or "[^...]"
 * negated, "a-z" ranges, never '/'), '**' any run including '/', and "**\/"
 * zero or more whole directories; '\' takes the next byte literally. A
 * pattern with a '/' inside is anchored: it must match the whole path from
 * the snapshot's root (a leading '/' is dropped). A pattern without one
 * matches any single name, at any depth. A trailing '/' restricts a pattern
 * to directories. An excluded directory is not read at all, so nothing
 * below it is backed up.
 *
 * An include list names paths relative to the snapshot root; a listed
 * directory brings everything below it, and the directories above a listed
 * path are stored (with their own attributes) holding only what is listed.
 * Both are sets of SHA-256 of the normalised paths, so each entry the walk
 * meets costs one hash and one probe.
 *
 * The matcher backtracks; patterns and paths are short and bounded
 * (PATH_MAX), and '**' is tried at each '/' or byte only once per position
 * of the pattern, which keeps ordinary patterns linear in practice.
 */
#include "ops/select.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/log.h"

#include <ctype.h>
#include <stdio.h>

void select_init(struct selection *s)
{
	memset(s, 0, sizeof(*s));
	hmap_init(&s->included);
	hmap_init(&s->ancestors);
}

void select_release(struct selection *s)
{
	for (size_t i = 0; i < s->n_excludes; i++)
		free(s->excludes[i].glob);
	free(s->excludes);
	hmap_release(&s->included);
	hmap_release(&s->ancestors);
	memset(s, 0, sizeof(*s));
}

/* Matches a "[...]" set at *pp against c; advances *pp past the set.
 * Returns -1 when the set is not closed (then '[' is literal). */
static int match_set(const char **pp, unsigned char c)
{
	const char *p = *pp + 1;
	bool negate = false, hit = false;

	if (*p == '!' || *p == '^') {
		negate = true;
		p++;
	}
	const char *first = p;
	while (*p && (*p != ']' || p == first)) {
		unsigned char lo = (unsigned char)*p, hi;
		if (lo == '\\' && p[1])
			lo = (unsigned char)*++p;
		p++;
		hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			p++;
			hi = (unsigned char)*p;
			if (hi == '\\' && p[1])
				hi = (unsigned char)*++p;
			p++;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	if (*p != ']')
		return -1;
	*pp = p + 1;
	return c != '/' && hit != negate;
}

bool select_glob_match(const char *p, const char *s)
{
	while (*p) {
		if (p[0] == '*' && p[1] == '*') {
			const char *rest = p + 2;
			while (*rest == '*')
				rest++;
			if (*rest == '/') {
				/* "**" then '/': zero or more whole directories */
				if (select_glob_match(rest + 1, s))
					return true;
				for (const char *t = s; *t; t++)
					if (*t == '/' && select_glob_match(rest + 1, t + 1))
						return true;
				return false;
			}
			for (const char *t = s;; t++) {
				if (select_glob_match(rest, t))
					return true;
				if (!*t)
					return false;
			}
		}
		if (*p == '*') {
			const char *rest = p + 1;
			for (const char *t = s;; t++) {
				if (select_glob_match(rest, t))
					return true;
				if (!*t || *t == '/')
					return false;
			}
		}
		if (!*s)
			return false;
		if (*p == '?') {
			if (*s == '/')
				return false;
			p++;
			s++;
			continue;
		}
		if (*p == '[') {
			const char *q = p;
			int m = match_set(&q, (unsigned char)*s);
			if (m == 0)
				return false;
			if (m == 1) {
				p = q;
				s++;
				continue;
			}
			/* an unclosed '[' is an ordinary byte */
		}
		if (*p == '\\' && p[1])
			p++;
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	return *s == '\0';
}

int select_add_exclude(struct selection *s, const char *pattern)
{
	struct select_pattern sp = { 0 };
	size_t len = strlen(pattern);

	while (len > 0 && pattern[len - 1] == '/') {
		sp.dir_only = true;
		len--;
	}
	while (len > 0 && *pattern == '/') {
		sp.anchored = true;
		pattern++;
		len--;
	}
	if (len == 0)
		return -EINVAL;
	sp.glob = xmalloc(len + 1);
	memcpy(sp.glob, pattern, len);
	sp.glob[len] = '\0';
	if (strchr(sp.glob, '/'))
		sp.anchored = true;
	s->excludes = xrealloc(s->excludes, (s->n_excludes + 1) * sizeof(*s->excludes));
	s->excludes[s->n_excludes++] = sp;
	return 0;
}

bool select_is_excluded(const struct selection *s, const char *path, bool is_dir)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;

	for (size_t i = 0; i < s->n_excludes; i++) {
		const struct select_pattern *sp = &s->excludes[i];
		if (sp->dir_only && !is_dir)
			continue;
		if (select_glob_match(sp->glob, sp->anchored ? path : base))
			return true;
	}
	return false;
}

static void path_key(const char *path, size_t len, uint8_t key[HMAP_KEY_LEN])
{
	crypto_sha256(path, len, key);
}

int select_add_include(struct selection *s, const char *entry)
{
	AUTOBUF struct buf norm = BUF_INIT;
	const char *p = entry;
	uint8_t key[HMAP_KEY_LEN];

	s->has_includes = true;
	/* Component by component: drop empty and "." ones, refuse "..". */
	while (*p) {
		while (*p == '/')
			p++;
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (norm.len > 0)
				buf_append_u8(&norm, '/');
			buf_append(&norm, p, len);
		}
		p = end;
	}
	if (norm.len == 0) {
		s->include_all = true;
		return 0;
	}
	path_key((const char *)norm.ptr, norm.len, key);
	hmap_put(&s->included, key, 1);
	for (size_t i = norm.len; i-- > 0;) {
		if (norm.ptr[i] != '/')
			continue;
		path_key((const char *)norm.ptr, i, key);
		hmap_put(&s->ancestors, key, 1);
	}
	return 0;
}

enum select_verdict select_include(const struct selection *s, const char *path,
				   enum select_verdict parent)
{
	uint8_t key[HMAP_KEY_LEN];

	if (!s->has_includes || s->include_all || parent == SELECT_ALL)
		return SELECT_ALL;
	path_key(path, strlen(path), key);
	if (hmap_get(&s->included, key))
		return SELECT_ALL;
	if (hmap_get(&s->ancestors, key))
		return SELECT_PARTIAL;
	return SELECT_SKIP;
}

typedef int (*line_fn)(struct selection *s, const char *line);

/* Calls fn for each meaningful line of the file at path. */
static int read_list(struct selection *s, const char *path, const char *what, line_fn fn)
{
	CLEANUP(cleanup_fclose) FILE *f = fopen(path, "re");
	AUTOFREE char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t n;

	if (!f)
		return log_error_errno(-errno, "cannot read %s '%s'", what, path);
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		char *p = line;
		size_t len = (size_t)n;
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		p[len] = '\0';
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (fn(s, p) < 0)
			return log_error_errno(-EINVAL, "%s '%s', line %u: invalid entry '%s'",
					       what, path, lineno, p);
	}
	if (ferror(f))
		return log_error_errno(-EIO, "cannot read %s '%s'", what, path);
	return 0;
}

int select_add_exclude_file(struct selection *s, const char *path)
{
	return read_list(s, path, "exclude file", select_add_exclude);
}

int select_add_files_from(struct selection *s, const char *path)
{
	s->has_includes = true; /* even when empty: then it names nothing */
	return read_list(s, path, "include list", select_add_include);
}
