/*
 * duration_parse (reconcile/model.c) on arbitrary bytes. Properties: a success is within
 * 0..MODEL_TTL_MAX, failures name a reason, and duration_format's output parses back to the
 * same number of seconds.
 */
#include "reconcile/base/compat.h"

#include "reconcile/base/model.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	int64_t secs = -42;
	const char *why = NULL;
	if (duration_parse(s, &secs, &why) == 0) {
		FUZZ_CHECK(secs >= 0 && secs <= MODEL_TTL_MAX);
		char buf[64];
		duration_format(secs, buf, sizeof buf);
		int64_t back = -1;
		const char *why2 = NULL;
		FUZZ_CHECK(duration_parse(buf, &back, &why2) == 0);
		FUZZ_CHECK(back == secs);
	} else {
		FUZZ_CHECK(why != NULL && *why != '\0');
	}
	free(s);
	return 0;
}
