/*
 * fuzz.h - what every fuzz target shares: the libFuzzer entry points and a
 * check that aborts (so both libFuzzer and the replay driver report the
 * input) when a property of a decoder does not hold.
 *
 * A target must never crash, leak or hit undefined behaviour on any input;
 * where a decoder has an encoder, it also checks that what decodes encodes
 * back to the same bytes.
 */
#ifndef CAIRN_FUZZ_H
#define CAIRN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                    \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                     \
			abort();                                                            \
		}                                                                           \
	} while (0)

#endif
