/*
 * fuzz-mountinfo.c - parse_mountinfo_line(), which cairnfs uses to find its
 * own mount in /proc/self/mountinfo (mount points are chosen by users, so
 * their names are anyone's). Properties: an accepted line gives a device and
 * a mount point within their buffers, and the unescaped point is never
 * longer than the escaped one.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "base/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AUTOFREE char *line = xmalloc(size + 1);
	char dev[MOUNTINFO_DEV_MAX], point[MOUNTINFO_POINT_MAX];

	memcpy(line, data, size);
	line[size] = '\0';
	if (parse_mountinfo_line(line, dev, point) < 0)
		return 0;
	FUZZ_CHECK(strlen(dev) < MOUNTINFO_DEV_MAX);
	FUZZ_CHECK(strlen(point) < MOUNTINFO_POINT_MAX);
	FUZZ_CHECK(strlen(point) <= size);
	return 0;
}
