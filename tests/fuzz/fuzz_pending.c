/*
 * pending_parse (reconcile/pending.c) on arbitrary bytes: the pending journal sits in the git
 * directory, where anything with write access to the repository can change it, and it is read
 * before every apply plans, so a hostile or torn journal must be refused with a message naming
 * the line, or read into well-formed records.
 * Properties: failures carry a message and leave no records; accepted records have their
 * strings, one per (manifest, endpoint), at most PENDING_MAX_RECORDS; the journal re-encodes to
 * one line per record and parses back to the same keys and statuses; and overlaying it on a
 * ledger never replaces a final record.
 */
#include "reconcile/base/compat.h"

#include <string.h>

#include "reconcile/pending.h"
#include "reconcile/base/sb.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_SB_CAP ((size_t)16 << 20)

static void check_overlay(const struct pending *p)
{
	struct ledger l;
	ledger_init(&l);
	for (size_t i = 0; i < p->n; i++) {
		struct ledger_purge fin;
		ledger_purge_copy(&fin, &p->v[i]);
		fin.status = LEDGER_SUCCEEDED;
		ledger_put_purge(&l, &fin);
		ledger_purge_release(&fin);
	}
	pending_overlay(p, &l);
	for (size_t i = 0; i < p->n; i++) {
		const struct ledger_purge *got = ledger_find_purge(&l, p->v[i].id, p->v[i].endpoint);
		FUZZ_CHECK(got && got->status == LEDGER_SUCCEEDED);
	}
	ledger_release(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pending p, back;
	struct cf_err e;
	err_clear(&e);
	if (pending_parse((const char *)data, size, &p, &e) < 0) {
		FUZZ_CHECK(e.rc != 0 && e.msg[0] != '\0');
		FUZZ_CHECK(p.n == 0 && p.v == NULL);
		return 0;
	}
	FUZZ_CHECK(p.n <= PENDING_MAX_RECORDS);
	for (size_t i = 0; i < p.n; i++) {
		FUZZ_CHECK(p.v[i].id && p.v[i].endpoint);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(p.v[i].id, p.v[k].id) != 0 ||
				   strcmp(p.v[i].endpoint, p.v[k].endpoint) != 0);
	}
	struct sb sb;
	sb_init(&sb, FUZZ_SB_CAP);
	if (pending_encode(p.v, p.n, &sb) == 0) {
		size_t lines = 0;
		for (size_t k = 0; k < sb.len; k++)
			lines += sb.buf[k] == '\n';
		FUZZ_CHECK(lines == p.n);
		err_clear(&e);
		FUZZ_CHECK(pending_parse(sb.buf, sb.len, &back, &e) == 0);
		FUZZ_CHECK(back.n == p.n);
		for (size_t i = 0; i < p.n; i++) {
			FUZZ_CHECK(strcmp(back.v[i].id, p.v[i].id) == 0);
			FUZZ_CHECK(strcmp(back.v[i].endpoint, p.v[i].endpoint) == 0);
			FUZZ_CHECK(back.v[i].status == p.v[i].status);
			FUZZ_CHECK(back.v[i].ntasks == p.v[i].ntasks);
		}
		pending_release(&back);
	}
	sb_release(&sb);
	check_overlay(&p);
	pending_release(&p);
	return 0;
}
