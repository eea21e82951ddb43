/*
 * el_parse (reconcile/edgelogic.c) on arbitrary bytes, then the evaluator on a few paths.
 * Properties: a failure names a reason; a parsed document has well-formed locations and a
 * region range inside the text; replacing the region and parsing again keeps every foreign
 * location and gives a region whose hash verifies.
 */
#include "reconcile/base/compat.h"

#include "reconcile/base/sb.h"
#include "reconcile/edgelogic.h"
#include "reconcile/sem_edgelogic.h"
#include "tests/fuzz/fuzz.h"

static const char *const probe_paths[] = {"/", "/a/b.jpg", "/index.html", "/static/x.CSS"};

static void check_eval(const struct el_doc *d)
{
	struct el_eval *ev;
	struct cf_err e;
	if (el_eval_open(d, &ev, &e) != 0) {
		FUZZ_CHECK(e.msg[0] != '\0');
		return;
	}
	for (size_t i = 0; i < CF_ARRAY_LEN(probe_paths); i++) {
		struct el_result r;
		el_eval_path(ev, probe_paths[i], &r);
		FUZZ_CHECK(r.loc >= -1 && r.loc < (int)d->n);
		FUZZ_CHECK((r.loc == -1) == (r.step == EL_STEP_NONE));
	}
	el_eval_close(ev);
}

static void check_replace(const char *text, size_t len, const struct el_doc *d)
{
	struct cache c = {.ignore_query_string = true};
	struct sb region;
	struct el_doc d2;
	struct cf_err e;
	size_t foreign = 0, foreign2 = 0;
	sb_init(&region, SB_DEFAULT_MAX);
	el_compile(&c, "o", false, &region);
	char *out = el_replace_region(text, len, d, region.buf);
	if (el_parse(out, strlen(out), &d2, &e) == 0) {
		FUZZ_CHECK(d2.has_region && d2.hash_ok);
		for (size_t i = 0; i < d->n; i++)
			foreign += !d->locs[i].owned;
		for (size_t i = 0; i < d2.n; i++)
			foreign2 += !d2.locs[i].owned;
		FUZZ_CHECK(foreign == foreign2);
		el_doc_release(&d2);
	}
	free(out);
	sb_release(&region);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct el_doc d;
	struct cf_err e = {0};
	if (size > EL_TEXT_MAX + 16)
		return 0;
	if (el_parse((const char *)data, size, &d, &e) != 0) {
		FUZZ_CHECK(e.msg[0] != '\0');
		return 0;
	}
	for (size_t i = 0; i < d.n; i++)
		FUZZ_CHECK(d.locs[i].pattern != NULL && d.locs[i].ttl >= 0);
	if (d.has_region)
		FUZZ_CHECK(d.region_begin <= d.body_begin && d.body_begin <= d.body_end &&
			   d.body_end <= d.region_end && d.region_end <= size);
	check_eval(&d);
	if (!memchr(data, '\0', size))
		check_replace((const char *)data, size, &d);
	el_doc_release(&d);
	return 0;
}
