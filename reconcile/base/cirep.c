/* Code Quality and JUnit pieces (see cirep.h for the escaping rules). */
#include "reconcile/base/compat.h"
#include "reconcile/base/cirep.h"

#include <inttypes.h>
#include <string.h>

#define CIREP_FNV_PRIME	  1099511628211ULL
#define CIREP_FNV_BASIS_A 1469598103934665603ULL /* the standard FNV-1a 64 offset */
#define CIREP_FNV_BASIS_B 0x84222325cbf29ce4ULL	 /* a second, independent half */
#define CIREP_REPLACEMENT "\xef\xbf\xbd"	 /* U+FFFD */

/*
 * Length of the well-formed UTF-8 sequence at p (1-4), or 0 when it is not one: overlong
 * forms, surrogates, values past U+10FFFF and the non-characters U+FFFE/U+FFFF (which XML
 * forbids) are refused.
 */
static size_t u8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (!n || p[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
		       (p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe)))
		return 0;
	if (n == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
		return 0;
	return n;
}

/* The XML entity or visible form of an ASCII byte, or NULL when it stands for itself. */
static const char *xml_special(unsigned char c, char tmp[8])
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&apos;";
	case '\t':
		return "&#9;";
	case '\n':
		return "&#10;";
	case '\r':
		return "&#13;";
	default:
		break;
	}
	if (c < 0x20 || c == 0x7f) { /* XML 1.0 has no form for these; the terminal must not */
		snprintf(tmp, 8, "\\x%02x", c);
		return tmp;
	}
	return NULL;
}

int cirep_xml(struct sb *sb, const char *s)
{
	int rc = 0;
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p && rc == 0) {
		char tmp[8];
		size_t n = u8_len(p);
		const char *sp = n == 1 ? xml_special(*p, tmp) : NULL;
		if (n == 0) {
			rc = sb_adds(sb, CIREP_REPLACEMENT);
			n = 1;
		} else if (sp) {
			rc = sb_adds(sb, sp);
		} else {
			rc = sb_add(sb, p, n);
		}
		p += n;
	}
	return rc;
}

/* Copies s into out with every byte that does not start well-formed UTF-8 replaced. */
static void u8_clean(struct sb *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		size_t n = u8_len(p);
		if (n)
			(void)sb_add(out, p, n);
		else
			(void)sb_adds(out, CIREP_REPLACEMENT);
		p += n ? n : 1;
	}
}

int cirep_json(struct sb *sb, const char *s)
{
	struct sb clean;
	sb_init(&clean, 0);
	u8_clean(&clean, s);
	int rc = clean.overflow ? -1 : sb_add_json_str(sb, clean.buf);
	sb_release(&clean);
	return rc;
}

int cirep_path(struct sb *sb, const char *prefix, const char *file)
{
	int rc = 0;
	if (prefix && *prefix && strcmp(prefix, ".") != 0) {
		size_t n = strlen(prefix);
		while (n > 1 && prefix[n - 1] == '/')
			n--;
		rc |= sb_add(sb, prefix, n);
		if (prefix[n - 1] != '/')
			rc |= sb_addc(sb, '/');
	}
	rc |= sb_adds(sb, file ? file : "");
	return rc ? -1 : 0;
}

static uint64_t fnv_parts(uint64_t h, const char *const *parts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (const char *c = parts[i] ? parts[i] : ""; *c; c++)
			h = (h ^ (unsigned char)*c) * CIREP_FNV_PRIME;
		h = (h ^ 0xff) * CIREP_FNV_PRIME; /* "ab","c" differs from "a","bc" */
	}
	return h;
}

void cirep_fingerprint(const char *const *parts, size_t n, char out[CIREP_FINGERPRINT_LEN + 1])
{
	snprintf(out, CIREP_FINGERPRINT_LEN + 1, "%016" PRIx64 "%016" PRIx64,
		 fnv_parts(CIREP_FNV_BASIS_A, parts, n), fnv_parts(CIREP_FNV_BASIS_B, parts, n));
}

int cirep_cq_issue(struct sb *sb, const struct cirep_issue *is, bool first)
{
	static const char *const sev[] = {"info", "minor", "major", "critical", "blocker"};
	char line[16], fp[CIREP_FINGERPRINT_LEN + 1];
	unsigned ln = is->line ? is->line : 1;
	snprintf(line, sizeof(line), "%u", ln);
	const char *parts[] = {is->check, is->path, line, is->description};
	const char *keyed[] = {is->check, is->path, is->key};
	if (is->key)
		cirep_fingerprint(keyed, CF_ARRAY_LEN(keyed), fp);
	else
		cirep_fingerprint(parts, CF_ARRAY_LEN(parts), fp);
	int rc = sb_adds(sb, first ? "\n{\"description\":" : ",\n{\"description\":");
	rc |= cirep_json(sb, is->description);
	rc |= sb_adds(sb, ",\"check_name\":");
	rc |= cirep_json(sb, is->check);
	rc |= sb_addf(sb, ",\"fingerprint\":\"%s\",\"severity\":\"%s\",\"location\":{\"path\":", fp,
		      sev[is->severity]);
	rc |= cirep_json(sb, is->path);
	rc |= sb_addf(sb, ",\"lines\":{\"begin\":%u}}}", ln);
	return rc ? -1 : 0;
}

void cirep_suite_init(struct cirep_suite *s)
{
	memset(s, 0, sizeof(*s));
	sb_init(&s->cases, 0);
}

void cirep_suite_release(struct cirep_suite *s)
{
	sb_release(&s->cases);
}

/* <failure type=".." message="..">body</failure> (or error); message falls back to type. */
static int junit_problem(struct sb *sb, const char *elem, const struct cirep_case *c)
{
	int rc = sb_addf(sb, "\n      <%s", elem);
	if (c->type) {
		rc |= sb_adds(sb, " type=\"");
		rc |= cirep_xml(sb, c->type);
		rc |= sb_addc(sb, '"');
	}
	rc |= sb_adds(sb, " message=\"");
	rc |= cirep_xml(sb, c->message ? c->message : c->type);
	rc |= sb_addc(sb, '"');
	if (c->body && *c->body) {
		rc |= sb_addc(sb, '>');
		rc |= cirep_xml(sb, c->body);
		rc |= sb_addf(sb, "</%s>", elem);
	} else {
		rc |= sb_adds(sb, "/>");
	}
	return rc;
}

static int junit_case_body(struct sb *sb, const struct cirep_case *c)
{
	switch (c->outcome) {
	case CIREP_FAILURE:
		return junit_problem(sb, "failure", c);
	case CIREP_ERROR:
		return junit_problem(sb, "error", c);
	case CIREP_SKIPPED: {
		int rc = sb_adds(sb, "\n      <skipped message=\"");
		rc |= cirep_xml(sb, c->message);
		return rc | sb_adds(sb, "\"/>");
	}
	case CIREP_PASS:
		break;
	}
	if (!c->body || !*c->body)
		return 0;
	int rc = sb_adds(sb, "\n      <system-out>");
	rc |= cirep_xml(sb, c->body);
	return rc | sb_adds(sb, "</system-out>");
}

int cirep_suite_add(struct cirep_suite *s, const struct cirep_case *c)
{
	struct sb *sb = &s->cases;
	int rc = sb_adds(sb, "    <testcase name=\"");
	rc |= cirep_xml(sb, c->name);
	rc |= sb_adds(sb, "\" classname=\"");
	rc |= cirep_xml(sb, c->classname);
	rc |= sb_addc(sb, '"');
	if (c->file) {
		rc |= sb_adds(sb, " file=\"");
		rc |= cirep_xml(sb, c->file);
		rc |= sb_addc(sb, '"');
		if (c->line)
			rc |= sb_addf(sb, " line=\"%u\"", c->line);
	}
	size_t mark = sb->len;
	rc |= sb_addc(sb, '>');
	rc |= junit_case_body(sb, c);
	if (sb->len == mark + 1) { /* nothing inside: an empty element */
		sb_truncate(sb, mark);
		rc |= sb_adds(sb, "/>\n");
	} else {
		rc |= sb_adds(sb, "\n    </testcase>\n");
	}
	s->n.tests++;
	s->n.failures += c->outcome == CIREP_FAILURE;
	s->n.errors += c->outcome == CIREP_ERROR;
	s->n.skipped += c->outcome == CIREP_SKIPPED;
	return rc ? -1 : 0;
}

static int counts_attrs(struct sb *sb, const struct cirep_counts *n)
{
	return sb_addf(sb, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"",
		       n->tests, n->failures, n->errors, n->skipped);
}

int cirep_suite_flush(struct sb *out, struct cirep_suite *s, const char *name,
		      struct cirep_counts *total)
{
	int rc = sb_adds(out, "  <testsuite name=\"");
	rc |= cirep_xml(out, name);
	rc |= sb_addc(out, '"');
	rc |= counts_attrs(out, &s->n);
	rc |= sb_adds(out, ">\n");
	rc |= sb_add(out, s->cases.buf, s->cases.len);
	rc |= sb_adds(out, "  </testsuite>\n");
	if (s->cases.overflow)
		rc = -1;
	total->tests += s->n.tests;
	total->failures += s->n.failures;
	total->errors += s->n.errors;
	total->skipped += s->n.skipped;
	sb_reset(&s->cases);
	s->cases.overflow = false;
	memset(&s->n, 0, sizeof(s->n));
	return rc ? -1 : 0;
}

int cirep_junit_doc(struct sb *out, const char *name, const struct cirep_counts *total,
		    const struct sb *suites)
{
	int rc = sb_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"");
	rc |= cirep_xml(out, name);
	rc |= sb_addc(out, '"');
	rc |= counts_attrs(out, total);
	rc |= sb_adds(out, ">\n");
	rc |= sb_add(out, suites->buf, suites->len);
	rc |= sb_adds(out, "</testsuites>\n");
	return rc || suites->overflow ? -1 : 0;
}
