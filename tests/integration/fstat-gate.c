/*
 * fstat-gate.c - an LD_PRELOAD shim for integration tests: the first
 * fstat() of an open file whose name starts with "gate-" returns only once
 * the file $GATE_RELEASE exists (at most five minutes), after creating
 * $GATE_REACHED. A test thereby changes a file between the fstat a backup
 * makes before reading it and the read, exactly, on whichever thread reads.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef int (*fstat_fn)(int fd, struct stat *st);
typedef int (*fstat64_fn)(int fd, struct stat64 *st);

static int gated; /* set once, by the first gated call */

static void gate(int fd)
{
	const char *reached = getenv("GATE_REACHED"), *release = getenv("GATE_RELEASE");
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	char link[64], path[4096];
	struct stat st;

	if (!reached || !release)
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return;
	path[n] = '\0';
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strncmp(base, "gate-", 5) != 0 || __atomic_exchange_n(&gated, 1, __ATOMIC_SEQ_CST))
		return;
	int out = open(reached, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (out >= 0)
		close(out);
	for (int i = 0; i < 5 * 60 * 100 && stat(release, &st) != 0; i++)
		nanosleep(&tick, NULL);
}

/* With _FILE_OFFSET_BITS=64 (as cairn is built) calls go to fstat64. */
int fstat64(int fd, struct stat64 *st)
{
	static fstat64_fn real;
	if (!real)
		real = (fstat64_fn)dlsym(RTLD_NEXT, "fstat64");
	int r = real(fd, st);
	if (r == 0 && S_ISREG(st->st_mode))
		gate(fd);
	return r;
}

int fstat(int fd, struct stat *st)
{
	static fstat_fn real;
	if (!real)
		real = (fstat_fn)dlsym(RTLD_NEXT, "fstat");
	int r = real(fd, st);
	if (r == 0 && S_ISREG(st->st_mode))
		gate(fd);
	return r;
}
