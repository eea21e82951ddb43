/*
 * `cacheform fmt` (schema/fmt.c, fmt_buffer) on arbitrary bytes, read as each of the three file
 * kinds. Properties, checked here independently of fmt's own proof: a file the loader refuses is
 * refused with errors and no text; otherwise the text loads without error to the same model
 * (fmt_model_dump), keeps every comment line, says `changed` exactly when it differs from the
 * input, and formatting it again changes nothing (idempotence).
 */
#include "reconcile/base/compat.h"

#include "schema/fmt.h"
#include "tests/fuzz/fuzz.h"

/* Loads buf as kind into out's dump; returns the number of errors. */
static size_t meaning(enum load_kind kind, const char *buf, size_t len, struct sb *out)
{
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	(void)load_buffer(c, kind, "fuzz.yaml", buf, len, &d);
	fmt_model_dump(c, out);
	size_t n = d.nerrors;
	diag_release(&d);
	config_free(c);
	return n;
}

static void check_kind(enum load_kind kind, const char *buf, size_t len)
{
	struct fmt_result r, again;
	struct diag_list d;
	struct sb before, after;
	diag_init(&d);
	sb_init(&before, 0);
	sb_init(&after, 0);
	int rc = fmt_buffer(kind, "fuzz.yaml", buf, len, &r, &d);
	size_t nerr = meaning(kind, buf, len, &before);
	FUZZ_CHECK((rc == 0) == (nerr == 0));
	FUZZ_CHECK((rc == 0) == (d.nerrors == 0));
	if (rc < 0) {
		FUZZ_CHECK(r.text == NULL);
		goto out;
	}
	FUZZ_CHECK(r.text != NULL);
	FUZZ_CHECK(r.changed == (r.len != len || memcmp(r.text, buf, len) != 0));
	FUZZ_CHECK(!r.changed || r.kept == NULL);
	FUZZ_CHECK(meaning(kind, r.text, r.len, &after) == 0);
	FUZZ_CHECK(before.len == after.len && memcmp(before.buf, after.buf, before.len) == 0);
	FUZZ_CHECK(fmt_comments_kept(buf, len, r.text, r.len));
	FUZZ_CHECK(fmt_buffer(kind, "fuzz.yaml", r.text, r.len, &again, &d) == 0);
	FUZZ_CHECK(!again.changed);
	FUZZ_CHECK(again.len == r.len && memcmp(again.text, r.text, r.len) == 0);
	fmt_result_release(&again);
out:
	fmt_result_release(&r);
	sb_release(&before);
	sb_release(&after);
	diag_release(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum load_kind kinds[] = {LOAD_SETTINGS, LOAD_ENDPOINT, LOAD_PURGE};
	if (size > LOAD_MAX_FILE_BYTES)
		return 0;
	for (size_t k = 0; k < CF_ARRAY_LEN(kinds); k++)
		check_kind(kinds[k], (const char *)data, size);
	return 0;
}
