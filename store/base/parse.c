/*
 * parse.c - strict parsers for user-typed values: no sign, no trailing
 * junk, no silent wrap-around.
 */
#include "base/parse.h"

#include <ctype.h>

int parse_uint(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (*s)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Splits s into a number and a suffix; the suffix is returned borrowed. */
static int split_number(const char *s, uint64_t *ret, const char **ret_suffix)
{
	uint64_t v = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*ret = v;
	*ret_suffix = s;
	return 0;
}

static int scale(uint64_t v, uint64_t mult, uint64_t *ret)
{
	if (mult && v > UINT64_MAX / mult)
		return -EINVAL;
	*ret = v * mult;
	return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "KMGTP";
	const char *suffix;
	uint64_t v, mult = 1;
	int r;

	r = split_number(s, &v, &suffix);
	if (r < 0)
		return r;
	if (*suffix) {
		const char *u = strchr(units, toupper((unsigned char)*suffix));
		if (!u)
			return -EINVAL;
		for (const char *p = units; p <= u; p++)
			mult *= 1024;
		suffix++;
		if (strcmp(suffix, "") != 0 && strcmp(suffix, "B") != 0 &&
		    strcmp(suffix, "iB") != 0)
			return -EINVAL;
	}
	return scale(v, mult, ret);
}

int parse_percent(const char *s, unsigned *ret)
{
	size_t len = strlen(s);
	uint64_t v;

	if (len == 0 || len > 4)
		return -EINVAL;
	char copy[5];
	memcpy(copy, s, len + 1);
	if (copy[len - 1] == '%')
		copy[len - 1] = '\0';
	if (parse_uint(copy, &v) < 0 || v < 1 || v > 100)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

int parse_duration(const char *s, uint64_t *ret_seconds)
{
	const char *suffix;
	uint64_t v, mult;
	int r;

	r = split_number(s, &v, &suffix);
	if (r < 0)
		return r;
	if (strcmp(suffix, "") == 0 || strcmp(suffix, "s") == 0)
		mult = 1;
	else if (strcmp(suffix, "m") == 0)
		mult = 60;
	else if (strcmp(suffix, "h") == 0)
		mult = 3600;
	else if (strcmp(suffix, "d") == 0)
		mult = 86400;
	else if (strcmp(suffix, "w") == 0)
		mult = 7 * 86400;
	else if (strcmp(suffix, "y") == 0)
		mult = 365 * 86400;
	else
		return -EINVAL;
	return scale(v, mult, ret_seconds);
}

int parse_compression(const char *s, int *ret_level)
{
	uint64_t level;

	if (strcmp(s, "none") == 0) {
		*ret_level = 0;
		return 0;
	}
	if (strcmp(s, "zstd") == 0) {
		*ret_level = 3;
		return 0;
	}
	if (strncmp(s, "zstd:", 5) != 0 || parse_uint(s + 5, &level) < 0 || level < 1 || level > 19)
		return -EINVAL;
	*ret_level = (int)level;
	return 0;
}

int parse_mountinfo_line(const char *line, char dev[MOUNTINFO_DEV_MAX],
			 char point[MOUNTINFO_POINT_MAX])
{
	if (sscanf(line, "%*s %*s %31s %*s %4096s", dev, point) != 2)
		return -EINVAL;
	char *out = point;
	for (const char *s = point; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
	return 0;
}
