/*
 * metrics.c - Prometheus textfile metrics of cairn commands.
 *
 * The file holds one series per (repo, command, member) for each metric
 * below, in the text exposition format 0.0.4, grouped by metric with its
 * HELP and TYPE lines, series sorted by their labels so that the file is
 * stable:
 *
 *   cairn_last_attempt_timestamp_seconds{repo="...",command="backup",member="m"} 1764712345.120
 *
 * Every command run with --metrics-file reads the file, replaces its own
 * series and writes the whole file anew: to "PATH.tmp.PID" (node_exporter
 * reads only *.prom, so the temporary file is never collected), fsync'd,
 * then renamed over PATH, so a collector reads either the old file or the
 * new one. Writers of one file are serialized by flock() on "PATH.lock",
 * so that two members backing up at once both end up in the file. A failed
 * run keeps the series' last success time from the file, which is what an
 * alert on a stale success needs.
 *
 * The file read back is untrusted: its size and series count are bounded,
 * label values are unescaped with bounds, and lines that are not one of the
 * metrics below (comments included) are dropped.
 */
#include "ops/metrics.h"
#include "base/buf.h"
#include "base/log.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

enum metric {
	M_ATTEMPT,
	M_SUCCESS_TIME,
	M_LAST_OK,
	M_DURATION,
	M_READ,
	M_ADDED,
	M_STORED,
	M_FILES,
	M_ERRORS,
	N_METRICS,
};

static const struct {
	const char *name;
	const char *help;
	bool is_integer;
} metrics[N_METRICS] = {
	[M_ATTEMPT] = { "cairn_last_attempt_timestamp_seconds",
			"Unix time the command last finished, successfully or not.", false },
	[M_SUCCESS_TIME] = { "cairn_last_success_timestamp_seconds",
			     "Unix time the command last finished successfully.", false },
	[M_LAST_OK] = { "cairn_last_success", "1 if the last run succeeded, 0 if it failed.",
			true },
	[M_DURATION] = { "cairn_last_duration_seconds", "Wall-clock duration of the last run.",
			 false },
	[M_READ] = { "cairn_last_read_bytes",
		     "Bytes of data the last run read (files, packs or restored data).", true },
	[M_ADDED] = { "cairn_last_added_bytes",
		      "Bytes of new data the last run added to the repository, before compression.",
		      true },
	[M_STORED] = { "cairn_last_stored_bytes",
		       "Bytes of objects the last run wrote to the repository.", true },
	[M_FILES] = { "cairn_last_files", "Regular files the last run handled.", true },
	[M_ERRORS] = { "cairn_last_errors",
		       "Problems the last run found or entries it could not handle.", true },
};

#define LABEL_MAX 4096

struct series {
	char *repo, *command, *member;
	double v[N_METRICS];
	bool has[N_METRICS];
};

struct table {
	struct series *v;
	size_t n, cap;
};

static void table_release(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].repo);
		free(t->v[i].command);
		free(t->v[i].member);
	}
	free(t->v);
}

static struct series *table_get(struct table *t, const char *repo, const char *command,
				const char *member)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].repo, repo) == 0 && strcmp(t->v[i].command, command) == 0 &&
		    strcmp(t->v[i].member, member) == 0)
			return &t->v[i];
	if (t->n >= METRICS_SERIES_MAX)
		return NULL;
	XGROW_ARRAY(t->v, t->cap, t->n + 1);
	struct series *s = &t->v[t->n++];
	*s = (struct series){ .repo = xstrdup(repo),
			      .command = xstrdup(command),
			      .member = xstrdup(member) };
	return s;
}

/* Reads one label value after its opening quote into out (NUL-terminated);
 * returns the position after the closing quote, or NULL. */
static const char *parse_value(const char *p, const char *end, char out[LABEL_MAX])
{
	size_t n = 0;

	while (p < end && *p != '"') {
		char c = *p++;
		if (c == '\\') {
			if (p >= end)
				return NULL;
			c = *p++;
			c = c == 'n' ? '\n' : c;
			if (c != '\n' && c != '\\' && c != '"')
				return NULL;
		}
		if (n + 1 >= LABEL_MAX)
			return NULL;
		out[n++] = c;
	}
	if (p >= end)
		return NULL;
	out[n] = '\0';
	return p + 1;
}

/* Parses "NAME{repo="..",command="..",member=".."} VALUE" into the table;
 * other lines are ignored. Returns -EBADMSG only when the table is full. */
static int parse_line(struct table *t, const char *p, const char *end)
{
	char labels[3][LABEL_MAX];
	static const char *const keys[3] = { "repo", "command", "member" };
	const char *brace = memchr(p, '{', (size_t)(end - p));
	size_t m;

	if (!brace)
		return 0;
	for (m = 0; m < N_METRICS; m++)
		if ((size_t)(brace - p) == strlen(metrics[m].name) &&
		    memcmp(p, metrics[m].name, (size_t)(brace - p)) == 0)
			break;
	if (m == N_METRICS)
		return 0;
	p = brace + 1;
	bool seen[3] = { false };
	while (p < end && *p != '}') {
		size_t k;
		for (k = 0; k < 3; k++) {
			size_t kl = strlen(keys[k]);
			if ((size_t)(end - p) > kl + 1 && memcmp(p, keys[k], kl) == 0 &&
			    p[kl] == '=' && p[kl + 1] == '"')
				break;
		}
		if (k == 3)
			return 0;
		p = parse_value(p + strlen(keys[k]) + 2, end, labels[k]);
		if (!p)
			return 0;
		seen[k] = true;
		if (p < end && *p == ',')
			p++;
	}
	if (p >= end || !seen[0] || !seen[1] || !seen[2])
		return 0;
	p++;
	while (p < end && *p == ' ')
		p++;
	char num[64];
	size_t len = 0; /* the line need not end in a NUL: scan to end only */
	while (p + len < end && p[len] != ' ' && p[len] != '\n')
		len++;
	if (len == 0 || len >= sizeof(num))
		return 0;
	memcpy(num, p, len);
	num[len] = '\0';
	char *stop;
	double v = strtod(num, &stop);
	if (*stop || !isfinite(v))
		return 0;
	struct series *s = table_get(t, labels[0], labels[1], labels[2]);
	if (!s)
		return -EBADMSG;
	s->v[m] = v;
	s->has[m] = true;
	return 0;
}

static int read_table(const char *path, struct table *t)
{
	AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	AUTOBUF struct buf data = BUF_INIT;
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? 0 : log_error_errno(-errno, "cannot read '%s'", path);
	if (fstat(fd, &st) < 0)
		return log_error_errno(-errno, "cannot read '%s'", path);
	if (!S_ISREG(st.st_mode))
		return log_error_errno(-EINVAL, "cannot use '%s' for metrics: not a regular file",
				       path);
	if ((uint64_t)st.st_size > METRICS_FILE_MAX)
		return log_error_errno(-EBADMSG, "'%s' is larger than a metrics file may be (%u)",
				       path, METRICS_FILE_MAX);
	buf_reserve(&data, (size_t)st.st_size + 1);
	ssize_t n = pread_full(fd, data.ptr, (size_t)st.st_size, 0);
	if (n < 0)
		return log_error_errno((int)n, "cannot read '%s'", path);
	data.len = (size_t)n;
	const char *p = (const char *)data.ptr, *end = p + data.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		if (parse_line(t, p, eol) < 0)
			return log_error_errno(-EBADMSG, "'%s' holds more than %u series", path,
					       METRICS_SERIES_MAX);
		p = eol + 1;
	}
	return 0;
}

static void append_label(struct buf *out, const char *key, const char *v, bool last)
{
	buf_printf(out, "%s=\"", key);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			buf_printf(out, "\\n");
		else
			buf_append_u8(out, (uint8_t)*v);
	}
	buf_printf(out, "\"%s", last ? "" : ",");
}

static int compare_series(const void *pa, const void *pb)
{
	const struct series *a = pa, *b = pb;
	int c = strcmp(a->repo, b->repo);
	if (c == 0)
		c = strcmp(a->command, b->command);
	return c ? c : strcmp(a->member, b->member);
}

static void format_table(struct table *t, struct buf *out)
{
	qsort(t->v, t->n, sizeof(*t->v), compare_series);
	for (size_t m = 0; m < N_METRICS; m++) {
		buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", metrics[m].name, metrics[m].help,
			   metrics[m].name);
		for (size_t i = 0; i < t->n; i++) {
			const struct series *s = &t->v[i];
			if (!s->has[m])
				continue;
			buf_printf(out, "%s{", metrics[m].name);
			append_label(out, "repo", s->repo, false);
			append_label(out, "command", s->command, false);
			append_label(out, "member", s->member, true);
			buf_printf(out, metrics[m].is_integer ? "} %.0f\n" : "} %.3f\n", s->v[m]);
		}
	}
}

static int write_file(const char *path, const struct buf *data)
{
	AUTOFREE char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	AUTOCLOSE int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	int r;

	if (fd < 0)
		return log_error_errno(-errno, "cannot write '%s'", tmp);
	r = write_all(fd, data->ptr, data->len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return log_error_errno(r, "cannot write metrics to '%s'", path);
	}
	return 0;
}

int metrics_write(const char *path, const struct metrics_run *run, double now_sec)
{
	AUTOFREE char *lock_path = xasprintf("%s.lock", path);
	AUTOCLOSE int lock = -1;
	AUTOBUF struct buf out = BUF_INIT;
	struct table t = { 0 };
	int r;

	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lock < 0)
		return log_error_errno(-errno, "cannot create the lock file '%s'", lock_path);
	while ((r = flock(lock, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return log_error_errno(-errno, "cannot lock '%s'", lock_path);
	r = read_table(path, &t);
	struct series *s = NULL;
	if (r == 0) {
		s = table_get(&t, run->repo ? run->repo : "", run->command,
			      run->member ? run->member : "");
		if (!s)
			r = log_error_errno(-EBADMSG, "'%s' holds more than %u series", path,
					    METRICS_SERIES_MAX);
	}
	if (r == 0) {
		const double v[N_METRICS] = {
			[M_ATTEMPT] = now_sec,
			[M_SUCCESS_TIME] = now_sec,
			[M_LAST_OK] = run->success ? 1 : 0,
			[M_DURATION] = (double)run->duration_ns / 1e9,
			[M_READ] = (double)run->bytes_read,
			[M_ADDED] = (double)run->bytes_added,
			[M_STORED] = (double)run->bytes_stored,
			[M_FILES] = (double)run->files,
			[M_ERRORS] = (double)run->errors,
		};
		for (size_t m = 0; m < N_METRICS; m++) {
			if (m == M_SUCCESS_TIME && !run->success)
				continue; /* keep when it last worked */
			s->v[m] = v[m];
			s->has[m] = true;
		}
		format_table(&t, &out);
		r = write_file(path, &out);
	}
	table_release(&t);
	return r;
}
