/*
 * inflight_parse (reconcile/inflight.c) on arbitrary bytes: an in-flight journal sits in the git
 * directory, where anything with write access to the repository can change it, and a crash can
 * tear its last line; it is read before every plan.
 * Properties: failures carry a message; accepted records have their strings, one per (manifest,
 * endpoint), at most PENDING_MAX_RECORDS; the torn tail holds no newline and is never decoded
 * (the input without it parses to the same records, nothing torn).
 */
#include "reconcile/base/compat.h"

#include <string.h>

#include "reconcile/inflight.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pending p = {0}, back = {0};
	struct cf_err e;
	size_t torn = 0, torn2 = 0;
	const char *buf = (const char *)data;
	err_clear(&e);
	if (inflight_parse(buf, size, &p, &torn, &e) < 0) {
		FUZZ_CHECK(e.rc != 0 && e.msg[0] != '\0');
		pending_release(&p);
		return 0;
	}
	FUZZ_CHECK(p.n <= PENDING_MAX_RECORDS && torn <= size);
	FUZZ_CHECK(memchr(buf + size - torn, '\n', torn) == NULL);
	for (size_t i = 0; i < p.n; i++) {
		FUZZ_CHECK(p.v[i].id && p.v[i].endpoint);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(p.v[i].id, p.v[k].id) != 0 ||
				   strcmp(p.v[i].endpoint, p.v[k].endpoint) != 0);
	}
	err_clear(&e);
	FUZZ_CHECK(inflight_parse(buf, size - torn, &back, &torn2, &e) == 0);
	FUZZ_CHECK(torn2 == 0 && back.n == p.n);
	for (size_t i = 0; i < p.n; i++) {
		FUZZ_CHECK(strcmp(back.v[i].id, p.v[i].id) == 0);
		FUZZ_CHECK(back.v[i].ntasks == p.v[i].ntasks);
	}
	pending_release(&back);
	pending_release(&p);
	return 0;
}
