/*
 * open-gate.c - an LD_PRELOAD shim for integration tests: open() of a file
 * whose name starts with "gate-" first creates the file $GATE_REACHED, then
 * waits until the file $GATE_RELEASE exists (at most five minutes). A test
 * thereby holds a process at a known point of its work, say a backup in
 * the middle of its tree, and does something else meanwhile, without
 * guessing how long anything takes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef int (*open_fn)(const char *path, int flags, ...);

static void gate(const char *path, open_fn real)
{
	const char *base = strrchr(path, '/');
	const char *reached = getenv("GATE_REACHED"), *release = getenv("GATE_RELEASE");
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct stat st;

	base = base ? base + 1 : path;
	if (strncmp(base, "gate-", 5) != 0 || !reached || !release)
		return;
	int fd = real(reached, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 5 * 60 * 100 && stat(release, &st) != 0; i++)
		nanosleep(&tick, NULL);
}

#define WRAP(name)                                                           \
	int name(const char *path, int flags, ...)                           \
	{                                                                    \
		static open_fn real;                                         \
		mode_t mode = 0;                                             \
		if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) { \
			va_list ap;                                          \
			va_start(ap, flags);                                 \
			mode = va_arg(ap, mode_t);                           \
			va_end(ap);                                          \
		}                                                            \
		if (!real)                                                   \
			real = (open_fn)dlsym(RTLD_NEXT, #name);             \
		gate(path, real);                                            \
		return real(path, flags, mode);                              \
	}

WRAP(open)
WRAP(open64)
