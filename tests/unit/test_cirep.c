/*
 * Unit tests: the GitLab Code Quality and JUnit XML renderers (reconcile/base/cirep.c, their use
 * by validate in schema/report.c and by drift in reconcile/driftci.c).
 */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reconcile/base/cirep.h"
#include "reconcile/base/xmem.h"
#include "reconcile/driftci.h"
#include "schema/report.h"

struct esc_case {
	const char *in, *xml, *json;
};

/* What names from a pull request become: entities, visible control bytes, U+FFFD. */
static const struct esc_case esc_cases[] = {
    {"plain.yaml", "plain.yaml", "\"plain.yaml\""},
    {"a<b>&\"c'", "a&lt;b&gt;&amp;&quot;c&apos;", "\"a<b>&\\\"c'\""},
    {"x\x1b[31mred", "x\\x1b[31mred", "\"x\\u001b[31mred\""},
    {"t\tn\nr\r", "t&#9;n&#10;r&#13;", "\"t\\tn\\nr\\r\""},
    {"del\x7f", "del\\x7f", "\"del\x7f\""},
    {"\x01\x1f", "\\x01\\x1f", "\"\\u0001\\u001f\""},
    {"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80",
     "\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80\""},
    {"bad\xff", "bad\xef\xbf\xbd", "\"bad\xef\xbf\xbd\""},		      /* not UTF-8 */
    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", "\"\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong '/' */
    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},		    /* a surrogate */
    {"\xef\xbf\xbe", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", NULL}, /* U+FFFE: not in XML */
    {"cut\xe6\x97", "cut\xef\xbf\xbd\xef\xbf\xbd", "\"cut\xef\xbf\xbd\xef\xbf\xbd\""},
    {"", "", "\"\""},
};

static void test_cirep__escape(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(esc_cases); i++) {
		struct sb x, j;
		sb_init(&x, 0);
		sb_init(&j, 0);
		assert_int_equal(cirep_xml(&x, esc_cases[i].in), 0);
		assert_int_equal(cirep_json(&j, esc_cases[i].in), 0);
		if (strcmp(x.buf, esc_cases[i].xml) != 0)
			fail_msg("case %zu xml: got '%s', want '%s'", i, x.buf, esc_cases[i].xml);
		if (esc_cases[i].json && strcmp(j.buf, esc_cases[i].json) != 0)
			fail_msg("case %zu json: got '%s', want '%s'", i, j.buf, esc_cases[i].json);
		assert_null(strchr(x.buf, '\x1b'));
		assert_null(strchr(j.buf, '\x1b'));
		sb_release(&x);
		sb_release(&j);
	}
}

struct path_case {
	const char *prefix, *file, *want;
};

static const struct path_case path_cases[] = {
    {NULL, "endpoints/a.yaml", "endpoints/a.yaml"},
    {".", "endpoints/a.yaml", "endpoints/a.yaml"},
    {"", "cacheform.yaml", "cacheform.yaml"},
    {"examples", "endpoints/a.yaml", "examples/endpoints/a.yaml"},
    {"examples//", "cacheform.yaml", "examples/cacheform.yaml"},
    {"/", "cacheform.yaml", "/cacheform.yaml"},
};

static void test_cirep__path(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(path_cases); i++) {
		struct sb sb;
		sb_init(&sb, 0);
		assert_int_equal(cirep_path(&sb, path_cases[i].prefix, path_cases[i].file), 0);
		if (strcmp(sb.buf, path_cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, sb.buf, path_cases[i].want);
		sb_release(&sb);
	}
}

static void test_cirep__fingerprint(void **state)
{
	(void)state;
	const char *a[] = {"CF301", "endpoints/a.yaml", "8", "dir item"};
	const char *b[] = {"CF301", "endpoints/a.yaml", "9", "dir item"};
	const char *c[] = {"CF30", "1endpoints/a.yaml", "8", "dir item"};
	char fa[CIREP_FINGERPRINT_LEN + 1], fa2[CIREP_FINGERPRINT_LEN + 1],
	    fb[CIREP_FINGERPRINT_LEN + 1], fc[CIREP_FINGERPRINT_LEN + 1];
	cirep_fingerprint(a, 4, fa);
	cirep_fingerprint(a, 4, fa2);
	cirep_fingerprint(b, 4, fb);
	cirep_fingerprint(c, 4, fc);
	assert_int_equal(strlen(fa), CIREP_FINGERPRINT_LEN);
	assert_int_equal(strspn(fa, "0123456789abcdef"), CIREP_FINGERPRINT_LEN);
	assert_string_equal(fa, fa2);	 /* stable */
	assert_string_not_equal(fa, fb); /* the line counts */
	assert_string_not_equal(fa, fc); /* part boundaries count */
	assert_string_equal(
	    fa, "f22d7913f367dbe5d2a20779cdfc60ae"); /* the same on every machine and release */
}

static void test_cirep__cq_issue(void **state)
{
	(void)state;
	struct sb sb;
	sb_init(&sb, 0);
	struct cirep_issue is = {
	    "CF301", "dir item '/a*b/' contains '*'", "ex/endpoints/a.yaml", 8, CIREP_MAJOR, NULL};
	struct cirep_issue no_line = {"CF100", "cannot read", "cacheform.yaml",
				      0,       CIREP_INFO,    NULL};
	assert_int_equal(cirep_cq_issue(&sb, &is, true), 0);
	assert_int_equal(cirep_cq_issue(&sb, &no_line, false), 0);
	const char *parts[] = {"CF301", "ex/endpoints/a.yaml", "8",
			       "dir item '/a*b/' contains '*'"};
	char fp[CIREP_FINGERPRINT_LEN + 1];
	cirep_fingerprint(parts, 4, fp);
	char want[512];
	snprintf(want, sizeof(want),
		 "\n{\"description\":\"dir item '/a*b/' contains '*'\",\"check_name\":\"CF301\","
		 "\"fingerprint\":\"%s\",\"severity\":\"major\",\"location\":{\"path\":"
		 "\"ex/endpoints/a.yaml\",\"lines\":{\"begin\":8}}}",
		 fp);
	assert_memory_equal(sb.buf, want, strlen(want));
	/* a finding without a line is placed on line 1, which GitLab requires */
	assert_non_null(strstr(sb.buf + strlen(want),
			       ",\n{\"description\":\"cannot read\",\"check_name\":\"CF100\""));
	assert_non_null(strstr(sb.buf, "\"severity\":\"info\",\"location\":{\"path\":"
				       "\"cacheform.yaml\",\"lines\":{\"begin\":1}}}"));
	sb_release(&sb);
}

/* The fingerprint of issue is in sb after "fingerprint":" */
static void fingerprint_of(const struct cirep_issue *is, char out[CIREP_FINGERPRINT_LEN + 1])
{
	struct sb sb;
	sb_init(&sb, 0);
	assert_int_equal(cirep_cq_issue(&sb, is, true), 0);
	const char *at = strstr(sb.buf, "\"fingerprint\":\"");
	assert_non_null(at);
	snprintf(out, CIREP_FINGERPRINT_LEN + 1, "%s", at + strlen("\"fingerprint\":\""));
	sb_release(&sb);
}

struct key_case {
	struct cirep_issue a, b;
	bool same;
};

/* A keyed issue (a drifted endpoint) keeps its fingerprint when its wording or line
 * changes. */
static const struct key_case key_cases[] = {
    {{"drift-external", "since abc", "e/www.yaml", 3, CIREP_MAJOR, "www"},
     {"drift-external", "since def", "e/www.yaml", 4, CIREP_MAJOR, "www"},
     true},
    {{"drift-external", "x", "e/www.yaml", 3, CIREP_MAJOR, "www"},
     {"drift-external", "x", "e/www.yaml", 3, CIREP_MAJOR, "img"},
     false},
    {{"drift-external", "x", "e/www.yaml", 3, CIREP_MAJOR, "www"},
     {"drift-pending", "x", "e/www.yaml", 3, CIREP_MAJOR, "www"},
     false},
    {{"CF301", "m", "a.yaml", 3, CIREP_MAJOR, NULL},
     {"CF301", "m", "a.yaml", 4, CIREP_MAJOR, NULL},
     false},
    {{"CF301", "m", "a.yaml", 3, CIREP_MAJOR, NULL},
     {"CF301", "n", "a.yaml", 3, CIREP_MAJOR, NULL},
     false},
    {{"CF301", "m", "a.yaml", 3, CIREP_MAJOR, NULL},
     {"CF301", "m", "a.yaml", 3, CIREP_MINOR, NULL},
     true},
};

static void test_cirep__fingerprint_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(key_cases); i++) {
		char fa[CIREP_FINGERPRINT_LEN + 1], fb[CIREP_FINGERPRINT_LEN + 1];
		fingerprint_of(&key_cases[i].a, fa);
		fingerprint_of(&key_cases[i].b, fb);
		if ((strcmp(fa, fb) == 0) != key_cases[i].same)
			fail_msg("case %zu: %s vs %s, want %s", i, fa, fb,
				 key_cases[i].same ? "equal" : "different");
	}
}

struct junit_case {
	struct cirep_case c;
	const char *want; /* the testcase element */
};

static const struct junit_case junit_cases[] = {
    {{"f.yaml", "valid", "f.yaml", 0, CIREP_PASS, NULL, NULL, NULL},
     "    <testcase name=\"valid\" classname=\"f.yaml\" file=\"f.yaml\"/>\n"},
    {{"c", "n", NULL, 3, CIREP_PASS, NULL, NULL, "out<"},
     "    <testcase name=\"n\" classname=\"c\">\n      <system-out>out&lt;</system-out>\n"
     "    </testcase>\n"},
    {{"c", "CF1 at 2:3", "a&b.yaml", 2, CIREP_FAILURE, "CF1", "a&b.yaml:2:3: bad", NULL},
     "    <testcase name=\"CF1 at 2:3\" classname=\"c\" file=\"a&amp;b.yaml\" line=\"2\">\n"
     "      <failure type=\"CF1\" message=\"a&amp;b.yaml:2:3: bad\"/>\n    </testcase>\n"},
    {{"c", "www", "e.yaml", 1, CIREP_FAILURE, "external", "drifted", "~ rule 1: ttl 1d"},
     "    <testcase name=\"www\" classname=\"c\" file=\"e.yaml\" line=\"1\">\n"
     "      <failure type=\"external\" message=\"drifted\">~ rule 1: ttl 1d</failure>\n"
     "    </testcase>\n"},
    {{"c", "img", NULL, 0, CIREP_ERROR, "not-checked", "not checked: 503\x1b[2J", NULL},
     "    <testcase name=\"img\" classname=\"c\">\n"
     "      <error type=\"not-checked\" message=\"not checked: 503\\x1b[2J\"/>\n"
     "    </testcase>\n"},
    {{"c", "p", NULL, 0, CIREP_SKIPPED, NULL, "purge only", NULL},
     "    <testcase name=\"p\" classname=\"c\">\n      <skipped message=\"purge only\"/>\n"
     "    </testcase>\n"},
};

static void test_cirep__junit_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(junit_cases); i++) {
		struct cirep_suite s;
		cirep_suite_init(&s);
		assert_int_equal(cirep_suite_add(&s, &junit_cases[i].c), 0);
		if (strcmp(s.cases.buf, junit_cases[i].want) != 0)
			fail_msg("case %zu: got\n%s\nwant\n%s", i, s.cases.buf,
				 junit_cases[i].want);
		cirep_suite_release(&s);
	}
}

static void test_cirep__junit_doc(void **state)
{
	(void)state;
	struct cirep_suite s;
	struct cirep_counts total = {0, 0, 0, 0};
	struct sb suites, doc;
	cirep_suite_init(&s);
	sb_init(&suites, 0);
	sb_init(&doc, 0);
	for (size_t i = 0; i < CF_ARRAY_LEN(junit_cases); i++)
		assert_int_equal(cirep_suite_add(&s, &junit_cases[i].c), 0);
	assert_int_equal(cirep_suite_flush(&suites, &s, "one", &total), 0);
	assert_int_equal(cirep_suite_add(&s, &junit_cases[0].c), 0);
	assert_int_equal(cirep_suite_flush(&suites, &s, "two\"", &total), 0);
	assert_int_equal(cirep_junit_doc(&doc, "t", &total, &suites), 0);
	assert_true(strncmp(doc.buf,
			    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"t\" "
			    "tests=\"7\" failures=\"2\" errors=\"1\" skipped=\"1\">\n"
			    "  <testsuite name=\"one\" tests=\"6\" failures=\"2\" errors=\"1\" "
			    "skipped=\"1\">\n",
			    150) == 0);
	assert_non_null(strstr(doc.buf,
			       "  <testsuite name=\"two&quot;\" tests=\"1\" failures=\"0\" "
			       "errors=\"0\" skipped=\"0\">\n    <testcase name=\"valid\""));
	assert_non_null(strstr(doc.buf, "  </testsuite>\n</testsuites>\n"));
	cirep_suite_release(&s);
	sb_release(&suites);
	sb_release(&doc);
}

/* report_write into a string. */
static char *report_string(const struct diag_list *d, const struct report_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(report_write(f, d, o), 0);
	fclose(f);
	return buf;
}

struct report_case {
	enum out_format format;
	const char *want[6]; /* substrings, in order */
};

static const struct report_case report_cases[] = {
    {OUT_GITLAB,
     {"[\n{\"description\":\"dir item contains '*'\",\"check_name\":\"CF301\",",
      "\"severity\":\"major\",\"location\":{\"path\":\"ex/endpoints/x<\\u001b.yaml\","
      "\"lines\":{\"begin\":8}}}",
      ",\n{\"description\":\"retired\",\"check_name\":\"CF222\",",
      "\"severity\":\"minor\",\"location\":{\"path\":\"ex/cacheform.yaml\",\"lines\":{"
      "\"begin\":1}}}",
      "\n]\n", NULL}},
    {OUT_JUNIT,
     {"<testsuites name=\"cacheform validate\" tests=\"3\" failures=\"1\" errors=\"0\"",
      "<testsuite name=\"ex/endpoints/ok.yaml\" tests=\"1\" failures=\"0\"",
      "<testcase name=\"valid\" classname=\"ex/endpoints/ok.yaml\"",
      "<testsuite name=\"ex/endpoints/x&lt;\\x1b.yaml\" tests=\"1\" failures=\"1\"",
      "<failure type=\"CF301\" message=\"ex/endpoints/x&lt;\\x1b.yaml:8:13: dir item "
      "contains &apos;*&apos; [CF301]\"/>",
      "<system-out>warning: ex/cacheform.yaml:1:0: retired [CF222]</system-out>"}},
};

static void test_cirep__report(void **state)
{
	(void)state;
	struct diag_list d;
	diag_init(&d);
	struct loc p = {"endpoints/x<\x1b.yaml", 8, 13};
	diag_add(&d, DIAG_ERROR, &p, "CF301", "dir item contains '*'");
	diag_add(&d, DIAG_WARNING, NULL, "CF222", "retired");
	char *files[] = {(char *)"endpoints/ok.yaml", (char *)"endpoints/x<\x1b.yaml"};
	for (size_t i = 0; i < CF_ARRAY_LEN(report_cases); i++) {
		struct report_opts o = {.format = report_cases[i].format,
					.path_prefix = "ex",
					.files = files,
					.nfiles = 2};
		char *out = report_string(&d, &o);
		const char *at = out;
		for (size_t j = 0; j < CF_ARRAY_LEN(report_cases[i].want); j++) {
			const char *w = report_cases[i].want[j];
			if (!w)
				break;
			const char *hit = strstr(at, w);
			if (!hit)
				fail_msg("case %zu: '%s' not found after offset %zu in\n%s", i, w,
					 (size_t)(at - out), out);
			at = hit + strlen(w);
		}
		assert_null(strchr(out, '\x1b'));
		free(out);
	}
	diag_release(&d);
}

/* A drift report of three endpoints: in sync, external, not checked. */
static void drift_fixture(struct drift_report *r)
{
	static const struct {
		const char *name, *file;
		unsigned line;
		enum drift_class cls;
	} eps[] = {
	    {"www", "endpoints/www.yaml", 1, DRIFT_IN_SYNC},
	    {"img<&>", "endpoints/img.yaml", 2, DRIFT_EXTERNAL},
	    {"cn\x1b]0;x", "", 0, DRIFT_ERROR},
	};
	memset(r, 0, sizeof(*r));
	r->v = xcalloc(CF_ARRAY_LEN(eps), sizeof(*r->v));
	for (size_t i = 0; i < CF_ARRAY_LEN(eps); i++) {
		struct drift_ep *d = &r->v[r->n++];
		d->name = xstrdup(eps[i].name);
		d->account = xstrdup("cn");
		d->file = xstrdup(eps[i].file);
		d->line = eps[i].line;
		d->cls = eps[i].cls;
		d->mode = MODE_MANAGE;
		if (d->cls == DRIFT_ERROR)
			d->error = xstrdup("HTTP 503 <html>");
		r->counts[d->cls]++;
	}
}

struct driftci_case {
	enum out_format format;
	const char *want[6];
};

static const struct driftci_case driftci_cases[] = {
    {OUT_GITLAB,
     {"[\n{\"description\":\"endpoint 'img<&>' (azure-china, account cn): external: live "
      "differs from the repository (observe mode: cacheform never writes it)\",",
      "\"check_name\":\"cacheform/drift-external\",",
      "\"severity\":\"major\",\"location\":{\"path\":\"r/endpoints/img.yaml\",\"lines\":{"
      "\"begin\":2}}}",
      ",\n{\"description\":\"endpoint 'cn\\u001b]0;x' (azure-china, account cn): not "
      "checked: "
      "HTTP 503 <html>\",\"check_name\":\"cacheform/drift-not-checked\",",
      "\"path\":\"r/cacheform.yaml\",\"lines\":{\"begin\":1}}}\n]\n", NULL}},
    {OUT_JUNIT,
     {"<testsuites name=\"cacheform drift\" tests=\"3\" failures=\"1\" errors=\"1\" "
      "skipped=\"0\">",
      "<testsuite name=\"scope\" tests=\"3\"",
      "<testcase name=\"www\" classname=\"drift.cn\" file=\"r/endpoints/www.yaml\" "
      "line=\"1\"/>",
      "<testcase name=\"img&lt;&amp;&gt;\" classname=\"drift.cn\" "
      "file=\"r/endpoints/img.yaml\" line=\"2\">\n      <failure type=\"external\"",
      "<testcase name=\"cn\\x1b]0;x\" classname=\"drift.cn\" file=\"r/cacheform.yaml\">\n"
      "      <error type=\"not-checked\" message=\"endpoint &apos;cn\\x1b]0;x&apos; "
      "(azure-china, account cn): not checked: HTTP 503 &lt;html&gt;\"/>",
      "</testsuites>\n"}},
};

static void test_cirep__drift(void **state)
{
	(void)state;
	struct drift_report r;
	drift_fixture(&r);
	for (size_t i = 0; i < CF_ARRAY_LEN(driftci_cases); i++) {
		struct sb out;
		sb_init(&out, 0);
		struct driftci_opts o = {driftci_cases[i].format, "r", "scope"};
		assert_int_equal(driftci_write(&out, &r, &o), 0);
		const char *at = out.buf;
		for (size_t j = 0; j < CF_ARRAY_LEN(driftci_cases[i].want); j++) {
			const char *w = driftci_cases[i].want[j];
			if (!w)
				break;
			const char *hit = strstr(at, w);
			if (!hit)
				fail_msg("case %zu: '%s' not found after offset %zu in\n%s", i, w,
					 (size_t)(at - out.buf), out.buf);
			at = hit + strlen(w);
		}
		assert_null(strchr(out.buf, '\x1b'));
		sb_release(&out);
	}
	struct sb out;
	sb_init(&out, 0);
	struct driftci_opts text = {OUT_TEXT, NULL, NULL};
	assert_int_equal(driftci_write(&out, &r, &text), -1); /* not a CI format */
	sb_release(&out);
	drift_report_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cirep__escape),
	    cmocka_unit_test(test_cirep__path),
	    cmocka_unit_test(test_cirep__fingerprint),
	    cmocka_unit_test(test_cirep__cq_issue),
	    cmocka_unit_test(test_cirep__fingerprint_key),
	    cmocka_unit_test(test_cirep__junit_cases),
	    cmocka_unit_test(test_cirep__junit_doc),
	    cmocka_unit_test(test_cirep__report),
	    cmocka_unit_test(test_cirep__drift),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
