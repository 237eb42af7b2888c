/*
 * unit.h - what the cmocka unit tests share: a scratch directory per test
 * group, and deterministic pseudo-random bytes.
 */
#ifndef CAIRN_TESTS_UNIT_H
#define CAIRN_TESTS_UNIT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* Makes a fresh directory $TMPDIR/cairn-test-NAME.XXXXXX (TMPDIR defaults
 * to /tmp) and writes its path to buf (size bytes). 0, or -1 with errno
 * set (ENAMETOOLONG when the path does not fit). */
int unit_mkdtemp(char *buf, size_t size, const char *name);

/* Removes dir and everything below it, not following symlinks. 0 or -1. */
int unit_rm_rf(const char *dir);

/* Fills p with len bytes of xorshift output, the same for the same seed. */
void unit_fill_random(uint8_t *p, size_t len, uint64_t seed);

#endif
