/*
 * The JSON layer (reconcile/codec.h) and the one string escaper (sb_add_json_strn) on
 * arbitrary bytes. Properties: whatever the bytes, the escaper writes one JSON string that the
 * strict parser accepts, and that reads back as the input when the input was UTF-8 without a
 * NUL; a document the strict parser accepts is written, compact and pretty, as text the strict
 * parser accepts again, and both read back as the same document.
 */
#include "reconcile/base/compat.h"

#include <string.h>

#include "reconcile/codec.h"
#include "reconcile/base/sb.h"
#include "tests/fuzz/fuzz.h"

/* True when the n bytes at s are UTF-8 as the escaper keeps it (it replaces the rest). */
static bool plain_utf8(const char *s, size_t n)
{
	struct sb sb;
	sb_init(&sb, 0);
	sb_add_json_strn(&sb, s, n);
	bool plain = !memchr(s, '\0', n) && !strstr(sb.buf, SB_JSON_INVALID_UTF8);
	sb_release(&sb);
	return plain;
}

static void check_escaper(const char *s, size_t n)
{
	struct sb sb;
	struct json_object *o = NULL;
	sb_init(&sb, 0);
	FUZZ_CHECK(sb_add_json_strn(&sb, s, n) == 0);
	FUZZ_CHECK(codec_parse(sb.buf, sb.len, &o, NULL) == 0);
	FUZZ_CHECK(codec_type_of(o) == CODEC_STRING);
	if (plain_utf8(s, n))
		FUZZ_CHECK(codec_slen(o) == n && memcmp(codec_s(o), s, n) == 0);
	codec_put(o);
	sb_release(&sb);
}

/* The compact text of the document written as text in style (which must parse); caller frees. */
static char *through(struct json_object *o, enum codec_style style)
{
	struct json_object *back = NULL;
	struct sb sb;
	sb_init(&sb, 0);
	FUZZ_CHECK(codec_write(&sb, o, style) == 0);
	/* as the plan and ledger writers end it: json-c takes a bare top-level number only when
	 * something follows it */
	FUZZ_CHECK(sb_addc(&sb, '\n') == 0);
	FUZZ_CHECK(codec_parse(sb.buf, sb.len, &back, NULL) == 0);
	char *text = codec_dup_text(back);
	codec_put(back);
	sb_release(&sb);
	return text;
}

static void check_writer(const char *s, size_t n)
{
	struct json_object *o = NULL;
	if (codec_parse(s, n, &o, NULL) != 0)
		return;
	char *compact = through(o, CODEC_COMPACT), *pretty = through(o, CODEC_PRETTY);
	FUZZ_CHECK(strcmp(compact, pretty) == 0);
	free(compact);
	free(pretty);
	codec_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_escaper((const char *)data, size);
	check_writer((const char *)data, size);
	return 0;
}
