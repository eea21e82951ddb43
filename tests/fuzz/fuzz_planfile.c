/*
 * planfile_decode (reconcile/planfile.c) on arbitrary bytes: a plan file is an artifact a
 * pipeline hands from one job to another, so apply must survive a corrupted or hostile one.
 * Properties: failures carry a message; an accepted plan has well-formed digests, commit and
 * content hashes (hex, NUL-terminated within their arrays), uniquely named endpoints and
 * purges, purges only for endpoints in the plan, and desired caches whose rules have items and
 * TTLs within the model's range.
 */
#include "reconcile/base/compat.h"

#include "reconcile/planfile.h"
#include "tests/fuzz/fuzz.h"

static void check_hex(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	FUZZ_CHECK(n < cap);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			   (s[i] >= 'A' && s[i] <= 'F'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct planfile pf;
	struct cf_err e;
	err_clear(&e);
	memset(&pf, 0, sizeof pf);
	if (planfile_decode((const char *)data, size, &pf, &e) == 0) {
		check_hex(pf.commit, sizeof pf.commit);
		for (size_t i = 0; i < pf.neps; i++) {
			const struct planfile_endpoint *ep = &pf.eps[i];
			FUZZ_CHECK(ep->name != NULL);
			check_hex(ep->digest, sizeof ep->digest);
			for (size_t r = 0; r < ep->desired.nrules; r++) {
				const struct rule *rl = &ep->desired.rules[r];
				FUZZ_CHECK(rl->ttl >= 0 && rl->ttl <= MODEL_TTL_MAX);
				FUZZ_CHECK(rl->items.n > 0);
				for (size_t k = 0; k < rl->items.n; k++)
					FUZZ_CHECK(rl->items.v[k].s != NULL);
			}
			FUZZ_CHECK(planfile_endpoint_find(&pf, ep->name) == ep); /* unique */
		}
		for (size_t i = 0; i < pf.npurges; i++) {
			const struct planfile_purge *pp = &pf.purges[i];
			FUZZ_CHECK(pp->id != NULL && pp->endpoint != NULL);
			check_hex(pp->content_hash, sizeof pp->content_hash);
			FUZZ_CHECK(planfile_purge_find(&pf, pp->id, pp->endpoint) == pp);
			FUZZ_CHECK(planfile_endpoint_find(&pf, pp->endpoint) != NULL);
		}
	} else {
		FUZZ_CHECK(e.rc != 0 && e.msg[0] != '\0');
	}
	planfile_release(&pf);
	return 0;
}
