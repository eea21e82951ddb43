/*
 * Shared by every fuzz target (tests/fuzz/fuzz_*.c). Each target defines
 * LLVMFuzzerTestOneInput; libFuzzer or tests/fuzz/replay.c supplies main().
 * A target checks properties with FUZZ_CHECK, which aborts (a crash libFuzzer records and the
 * replayer turns into a non-zero exit) so a broken property can never pass silently.
 */
#ifndef CF_FUZZ_H
#define CF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__,   \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
