/*
 * fuzz-pending.c - pending_decode() on the raw payload of "prune-pending",
 * reached directly (behind the envelope only inputs with the right SHA-256
 * would get here). Properties of an accepted set: it is sorted by (kind,
 * id) and pending_find() finds each entry.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "base/log.h"
#include "repo/pending.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct pending p = { 0 };

	if (!quiet) {
		log_setup("fuzz-pending", LOG_TARGET_STDERR, LOG_CRIT);
		quiet = true;
	}
	int r = pending_decode(data, size, &p);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG);
		FUZZ_CHECK(p.n == 0 && p.entries == NULL);
		return 0;
	}
	for (size_t i = 0; i < p.n; i++) {
		const struct pending_entry *e = &p.entries[i];
		FUZZ_CHECK(pending_find(&p, e->kind, e->id) != NULL);
		if (i > 0)
			FUZZ_CHECK(p.entries[i - 1].kind < e->kind ||
				   (p.entries[i - 1].kind == e->kind &&
				    memcmp(p.entries[i - 1].id, e->id, HASH_LEN) <= 0));
	}
	pending_release(&p);
	return 0;
}
