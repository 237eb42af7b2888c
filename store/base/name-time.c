/*
 * name-time.c - find the timestamp in an archive's file name (name-time.h).
 *
 * A hand-written scanner rather than strptime(): strptime skips spaces,
 * takes February 30th and knows nothing of "first match anywhere in the
 * name", and sscanf cannot tell 14 digits from 10. Every form is tried at
 * each position from the left; the first position where one matches wins,
 * and there the longest form. A digit right before or after a match makes
 * it no match, so a 14-digit stamp is never read as a 10-digit Unix time.
 */
#include "base/name-time.h"

#include <ctype.h>

struct scan {
	const char *p, *end;
};

static bool is_digit_at(const struct scan *s)
{
	return s->p < s->end && isdigit((unsigned char)*s->p);
}

/* Exactly n digits. */
static bool take_digits(struct scan *s, int n, int64_t *ret)
{
	int64_t v = 0;

	if (s->end - s->p < n)
		return false;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s->p[i]))
			return false;
		v = v * 10 + (s->p[i] - '0');
	}
	s->p += n;
	*ret = v;
	return true;
}

static bool take_char(struct scan *s, const char *set)
{
	if (s->p < s->end && *s->p && strchr(set, *s->p)) {
		s->p++;
		return true;
	}
	return false;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = y / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool date_ok(int64_t y, int64_t m, int64_t d)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= dim[m - 1] + (m == 2 && leap);
}

struct stamp {
	int64_t y, mo, d, h, mi, s;
	int64_t offset; /* seconds east of UTC */
};

/* Z, +HH, +HHMM, +HH:MM (or '-'); nothing at all is UTC too. */
static bool take_offset(struct scan *s, struct stamp *st)
{
	struct scan save = *s;
	int64_t h = 0, m = 0;

	if (take_char(s, "Zz"))
		return true;
	if (s->p >= s->end || (*s->p != '+' && *s->p != '-'))
		return true;
	int sign = *s->p == '-' ? -1 : 1;
	s->p++;
	if (!take_digits(s, 2, &h)) {
		*s = save; /* "-backup": not an offset, and not ours */
		return true;
	}
	struct scan mins = *s;
	bool colon = take_char(&mins, ":");
	if (take_digits(&mins, 2, &m))
		*s = mins;
	else if (colon)
		m = 0; /* "+01:" is "+01" followed by a colon */
	if (h > 23 || m > 59)
		return false;
	st->offset = sign * (h * 3600 + m * 60);
	return true;
}

/* A fraction of a second, dropped. */
static void skip_fraction(struct scan *s)
{
	struct scan f = *s;
	if (take_char(&f, ".,") && is_digit_at(&f)) {
		while (is_digit_at(&f))
			f.p++;
		*s = f;
	}
}

/* The time after an extended date: HH:MM[:SS], HHMMSS or HH-MM-SS. */
static bool take_ext_time(struct scan *s, struct stamp *st, bool offsets)
{
	struct scan t = *s;
	bool seconds = true;

	if (!take_digits(&t, 2, &st->h))
		return false;
	if (take_char(&t, ":")) {
		if (!take_digits(&t, 2, &st->mi))
			return false;
		struct scan sec = t;
		if (take_char(&sec, ":") && take_digits(&sec, 2, &st->s))
			t = sec;
		else
			seconds = false, st->s = 0;
	} else if (take_char(&t, "-")) {
		if (!take_digits(&t, 2, &st->mi) || !take_char(&t, "-") ||
		    !take_digits(&t, 2, &st->s))
			return false;
		offsets = false;
	} else if (!take_digits(&t, 2, &st->mi) || !take_digits(&t, 2, &st->s)) {
		return false;
	}
	if (seconds)
		skip_fraction(&t);
	if (offsets && !take_offset(&t, st))
		return false;
	*s = t;
	return true;
}

/* YYYY-MM-DD, then a time after 'T', ' ' or '_', or none. */
static bool match_extended(struct scan *s, struct stamp *st)
{
	if (!take_digits(s, 4, &st->y) || !take_char(s, "-") || !take_digits(s, 2, &st->mo) ||
	    !take_char(s, "-") || !take_digits(s, 2, &st->d))
		return false;
	struct scan t = *s;
	if (t.p < t.end) {
		char sep = *t.p++;
		struct stamp full = *st;
		if ((sep == 'T' || sep == 't' || sep == ' ' || sep == '_') &&
		    take_ext_time(&t, &full, sep != '_') && !is_digit_at(&t)) {
			*st = full;
			*s = t;
			return true;
		}
	}
	st->h = st->mi = st->s = 0; /* a date alone */
	return true;
}

/* YYYYMMDD then HHMMSS, after 'T' (offsets allowed), '-', '_' or nothing. */
static bool match_basic(struct scan *s, struct stamp *st)
{
	if (!take_digits(s, 4, &st->y) || !take_digits(s, 2, &st->mo) || !take_digits(s, 2, &st->d))
		return false;
	bool t_sep = take_char(s, "Tt");
	if (!t_sep)
		take_char(s, "-_");
	if (!take_digits(s, 2, &st->h) || !take_digits(s, 2, &st->mi) || !take_digits(s, 2, &st->s))
		return false;
	skip_fraction(s);
	return !t_sep || take_offset(s, st);
}

static bool stamp_time(const struct stamp *st, int64_t *ret)
{
	if (!date_ok(st->y, st->mo, st->d) || st->h > 23 || st->mi > 59 || st->s > 59)
		return false;
	int64_t t = days_from_civil(st->y, st->mo, st->d) * 86400 + st->h * 3600 + st->mi * 60 +
		    st->s - st->offset;
	if (t < 0)
		return false;
	*ret = t;
	return true;
}

int name_time_parse(const char *name, size_t len, int64_t *ret_sec)
{
	const char *end = name + len;

	for (const char *p = name; p < end; p++) {
		if (!isdigit((unsigned char)*p) || (p > name && isdigit((unsigned char)p[-1])))
			continue;
		bool (*const forms[])(struct scan *, struct stamp *) = { match_extended,
									 match_basic };
		for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
			struct scan s = { p, end };
			struct stamp st = { 0 };
			int64_t t;
			if (forms[i](&s, &st) && !is_digit_at(&s) && stamp_time(&st, &t)) {
				*ret_sec = t;
				return 0;
			}
		}
		struct scan s = { p, end };
		int64_t v;
		if (*p != '0' && take_digits(&s, 10, &v) && !is_digit_at(&s)) {
			*ret_sec = v;
			return 0;
		}
	}
	return -ENOENT;
}
