#include "reconcile/base/compat.h"
#include "schema/report.h"
#include "reconcile/base/cirep.h"
#include "reconcile/base/tty.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/version.h"
#include "reconcile/base/xmem.h"
#include "schema/codes.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPORT_MAX_BYTES    ((size_t)256 << 20) /* one rendered document */
#define REPORT_MAX_RULES    1024		/* distinct codes listed in SARIF */
#define REPORT_SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"
#define REPORT_CODES_PAGE   "/blob/main/schema/codes.md" /* under the home page, for helpUri */
#define REPORT_ROOT_FILE    "cacheform.yaml" /* where findings without a file are placed */
#define REPORT_NO_CODE	    "CF000"
#define REPORT_JUNIT_NAME   "cacheform validate" /* the JUnit <testsuites> name */

int report_format_parse(const char *name, enum out_format *out)
{
	return out_format_parse(name,
				OUT_BIT(OUT_TEXT) | OUT_BIT(OUT_JSON) | OUT_BIT(OUT_GITHUB) |
				    OUT_BIT(OUT_SARIF) | OUT_BIT(OUT_GITLAB) | OUT_BIT(OUT_JUNIT),
				out);
}

static const char *sev_name(enum diag_sev s)
{
	return s == DIAG_ERROR ? "error" : s == DIAG_WARNING ? "warning" : "notice";
}

/* Appends the file name as the user should see it (with the --repo prefix); safe: escaped
 * for text output (a file name may carry ESC or a newline and "::error"). */
static void add_path_as(struct sb *sb, const struct report_opts *o, const char *file, bool safe)
{
	const char *pre = o->path_prefix;
	if (pre && *pre && strcmp(pre, ".") != 0) {
		size_t n = strlen(pre);
		while (n > 1 && pre[n - 1] == '/')
			n--;
		(void)sb_add(sb, pre, n);
		(void)sb_addc(sb, '/');
	}
	if (safe)
		(void)sb_add_safe(sb, file);
	else
		(void)sb_adds(sb, file);
}

static void add_path(struct sb *sb, const struct report_opts *o, const char *file)
{
	add_path_as(sb, o, file, false);
}

static void render_text(struct sb *sb, const struct diag_list *d, const struct report_opts *o,
			bool colour)
{
	static const char *const col[] = {"\033[1;31m", "\033[1;33m", "\033[1;36m"};
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		if (g->pos.file) {
			add_path_as(sb, o, g->pos.file, true);
			if (g->pos.line)
				(void)sb_addf(sb, ":%u:%u", g->pos.line, g->pos.col);
			(void)sb_adds(sb, ": ");
		}
		(void)sb_addf(sb, "%s%s%s: %s", colour ? col[g->sev] : "", sev_name(g->sev),
			      colour ? "\033[0m" : "", g->msg);
		if (g->code[0])
			(void)sb_addf(sb, " [%s]", g->code);
		(void)sb_addc(sb, '\n');
	}
	if (d->nerrors || d->nwarnings)
		(void)sb_addf(sb, "%zu error%s, %zu warning%s\n", d->nerrors,
			      d->nerrors == 1 ? "" : "s", d->nwarnings,
			      d->nwarnings == 1 ? "" : "s");
}

static void json_path(struct sb *sb, const struct report_opts *o, const char *file)
{
	struct sb p;
	sb_init(&p, 0);
	add_path(&p, o, file);
	(void)sb_add_json_str(sb, p.buf);
	sb_release(&p);
}

static void render_json(struct sb *sb, const struct diag_list *d, const struct report_opts *o)
{
	(void)sb_addf(sb,
		      "{\"format_version\":1,\"valid\":%s,\"errors\":%zu,\"warnings\":%zu,"
		      "\"diagnostics\":[",
		      d->nerrors ? "false" : "true", d->nerrors, d->nwarnings);
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		(void)sb_addf(sb, "%s\n{\"severity\":\"%s\",\"code\":", i ? "," : "",
			      sev_name(g->sev));
		(void)sb_add_json_str(sb, g->code);
		(void)sb_adds(sb, ",\"file\":");
		if (g->pos.file)
			json_path(sb, o, g->pos.file);
		else
			(void)sb_adds(sb, "null");
		(void)sb_addf(sb, ",\"line\":%u,\"column\":%u,\"message\":", g->pos.line,
			      g->pos.col);
		(void)sb_add_json_str(sb, g->msg);
		(void)sb_addc(sb, '}');
	}
	(void)sb_adds(sb, "]}\n");
}

/* Workflow-command escaping: data needs % CR LF encoded, properties also ':' and ','. */
static void gh_escape(struct sb *sb, const char *s, bool property)
{
	for (; *s; s++) {
		if (*s == '%')
			(void)sb_adds(sb, "%25");
		else if (*s == '\r')
			(void)sb_adds(sb, "%0D");
		else if (*s == '\n')
			(void)sb_adds(sb, "%0A");
		else if (property && *s == ':')
			(void)sb_adds(sb, "%3A");
		else if (property && *s == ',')
			(void)sb_adds(sb, "%2C");
		else
			(void)sb_addc(sb, *s);
	}
}

static void render_github(struct sb *sb, const struct diag_list *d, const struct report_opts *o)
{
	struct sb p;
	sb_init(&p, 0);
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		const char *sep = " ";
		(void)sb_addf(sb, "::%s", sev_name(g->sev));
		if (g->pos.file) {
			sb_reset(&p);
			add_path(&p, o, g->pos.file);
			(void)sb_adds(sb, " file=");
			gh_escape(sb, p.buf, true);
			if (g->pos.line)
				(void)sb_addf(sb, ",line=%u,col=%u", g->pos.line, g->pos.col);
			sep = ",";
		}
		if (g->code[0]) {
			(void)sb_addf(sb, "%stitle=", sep);
			gh_escape(sb, g->code, true);
		}
		(void)sb_adds(sb, "::");
		gh_escape(sb, g->msg, false);
		(void)sb_addc(sb, '\n');
	}
	sb_release(&p);
}

/*
 * SARIF wants a URI: relative to the checkout when the command ran inside it (what code
 * scanning maps to files), else a file:// URI; bytes outside the unreserved set are
 * percent-encoded.
 */
static void sarif_uri(struct sb *sb, const struct report_opts *o, const char *file)
{
	struct sb p, u;
	sb_init(&p, 0);
	sb_init(&u, 0);
	add_path(&p, o, file);
	if (p.buf[0] == '/')
		(void)sb_adds(&u, "file://");
	for (const unsigned char *c = (const unsigned char *)p.buf; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("-._~/", *c))
			(void)sb_addc(&u, (char)*c);
		else
			(void)sb_addf(&u, "%%%02X", *c);
	}
	(void)sb_add_json_str(sb, u.buf);
	sb_release(&p);
	sb_release(&u);
}

/* The catalogue's entry, or a stand-in for a code it lacks (so a rule is never bare). */
static struct code_info sarif_code(const char *code, enum diag_sev sev)
{
	const struct code_info *ci = code_find(code);
	if (ci)
		return *ci;
	struct code_info none = {code, sev, "cacheform finding", "A finding of cacheform."};
	return none;
}

static void sarif_rule(struct sb *sb, const struct code_info *ci)
{
	static const char *const level[] = {"error", "warning", "note"};
	char anchor[16];
	size_t i = 0;
	for (; ci->code[i] && i + 1 < sizeof(anchor); i++)
		anchor[i] = (char)(ci->code[i] >= 'A' && ci->code[i] <= 'Z' ? ci->code[i] + 32
									    : ci->code[i]);
	anchor[i] = '\0';
	(void)sb_adds(sb, "{\"id\":");
	(void)sb_add_json_str(sb, ci->code);
	(void)sb_adds(sb, ",\"shortDescription\":{\"text\":");
	(void)sb_add_json_str(sb, ci->short_desc);
	(void)sb_adds(sb, "},\"fullDescription\":{\"text\":");
	(void)sb_add_json_str(sb, ci->full_desc);
	(void)sb_addf(sb, "},\"helpUri\":\"%s" REPORT_CODES_PAGE "#%s\"", cf_home_url(), anchor);
	/* GitHub code scanning shows help as the rule's documentation (it requires it). */
	(void)sb_adds(sb, ",\"help\":{\"text\":");
	(void)sb_add_json_str(sb, ci->full_desc);
	struct sb md;
	sb_init(&md, 0);
	(void)sb_addf(&md, "**%s: %s**\n\n%s\n\n[Reference](%s" REPORT_CODES_PAGE "#%s)", ci->code,
		      ci->short_desc, ci->full_desc, cf_home_url(), anchor);
	(void)sb_adds(sb, ",\"markdown\":");
	(void)sb_add_json_str(sb, md.buf);
	sb_release(&md);
	(void)sb_addc(sb, '}');
	(void)sb_addf(sb, ",\"defaultConfiguration\":{\"level\":\"%s\"}}", level[ci->sev]);
}

/* Distinct codes in first-seen order; idx[i] is result i's rule index. */
static size_t sarif_rules(struct sb *sb, const struct diag_list *d, size_t *idx)
{
	const char *seen[REPORT_MAX_RULES];
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++) {
		const char *code = d->v[i].code[0] ? d->v[i].code : REPORT_NO_CODE;
		size_t j = 0;
		while (j < n && strcmp(seen[j], code) != 0)
			j++;
		idx[i] = j;
		if (j < n)
			continue;
		if (n == REPORT_MAX_RULES) {
			idx[i] = SIZE_MAX;
			continue;
		}
		seen[n] = code;
		if (n++)
			(void)sb_addc(sb, ',');
		struct code_info ci = sarif_code(code, d->v[i].sev);
		sarif_rule(sb, &ci);
	}
	return n;
}

/* FNV-1a over code, file and message: stable when lines move, so alerts are not reopened. */
static uint64_t sarif_fingerprint(const struct diag *g, const char *file)
{
	uint64_t h = 1469598103934665603ULL;
	const char *parts[] = {g->code, file, g->msg};
	for (size_t i = 0; i < CF_ARRAY_LEN(parts); i++) {
		for (const char *c = parts[i] ? parts[i] : ""; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

/*
 * Code scanning drops a whole upload when a result has no location, so a finding about the
 * repository as a whole (no file) is placed on its root document, cacheform.yaml, line 1.
 */
static void sarif_result(struct sb *sb, const struct diag *g, size_t rule,
			 const struct report_opts *o)
{
	static const char *const level[] = {"error", "warning", "note"};
	const char *file = g->pos.file ? g->pos.file : REPORT_ROOT_FILE;
	unsigned line = g->pos.file && g->pos.line ? g->pos.line : 1;
	unsigned col = g->pos.file && g->pos.col ? g->pos.col : 1;
	(void)sb_adds(sb, "{\"ruleId\":");
	(void)sb_add_json_str(sb, g->code[0] ? g->code : REPORT_NO_CODE);
	if (rule != SIZE_MAX)
		(void)sb_addf(sb, ",\"ruleIndex\":%zu", rule);
	(void)sb_addf(sb, ",\"level\":\"%s\",\"message\":{\"text\":", level[g->sev]);
	(void)sb_add_json_str(sb, g->msg && *g->msg ? g->msg : g->code);
	(void)sb_adds(sb, "},\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":");
	sarif_uri(sb, o, file);
	(void)sb_addf(sb, "},\"region\":{\"startLine\":%u,\"startColumn\":%u}}}]", line, col);
	(void)sb_addf(sb, ",\"partialFingerprints\":{\"cacheform/v1\":\"%016" PRIx64 "\"}}",
		      sarif_fingerprint(g, file));
}

static void render_sarif(struct sb *sb, const struct diag_list *d, const struct report_opts *o)
{
	(void)sb_adds(sb, "{\"$schema\":\"" REPORT_SARIF_SCHEMA "\",\"version\":\"2.1.0\","
			  "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"cacheform\",\"version\":");
	(void)sb_add_json_str(sb, o->tool_version ? o->tool_version : cf_version());
	(void)sb_adds(sb, ",\"informationUri\":");
	(void)sb_add_json_str(sb, cf_home_url());
	(void)sb_adds(sb, ",\"rules\":[");
	size_t *idx = xcalloc(d->n ? d->n : 1, sizeof(*idx));
	sarif_rules(sb, d, idx);
	(void)sb_adds(sb, "]}},\"columnKind\":\"unicodeCodePoints\",\"results\":[");
	for (size_t i = 0; i < d->n; i++) {
		if (i)
			(void)sb_addc(sb, ',');
		sarif_result(sb, &d->v[i], idx[i], o);
	}
	free(idx);
	(void)sb_adds(sb, "]}]}\n");
}

/* Where a finding is placed in the CI formats: findings without a file go to the root document
 * (GitLab needs a path on every issue; JUnit groups by file), line 1. */
static const char *ci_file(const struct diag *g)
{
	return g->pos.file ? g->pos.file : REPORT_ROOT_FILE;
}

static unsigned ci_line(const struct diag *g)
{
	return g->pos.file && g->pos.line ? g->pos.line : 1;
}

/* GitLab Code Quality: errors rank above warnings in the merge request widget. */
static void render_gitlab(struct sb *sb, const struct diag_list *d, const struct report_opts *o)
{
	static const enum cirep_severity sev[] = {CIREP_MAJOR, CIREP_MINOR, CIREP_INFO};
	struct sb p;
	sb_init(&p, 0);
	(void)sb_addc(sb, '[');
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		sb_reset(&p);
		(void)cirep_path(&p, o->path_prefix, ci_file(g));
		struct cirep_issue is = {g->code[0] ? g->code : REPORT_NO_CODE,
					 g->msg && *g->msg ? g->msg : g->code,
					 p.buf,
					 ci_line(g),
					 sev[g->sev],
					 NULL};
		(void)cirep_cq_issue(sb, &is, i == 0);
	}
	(void)sb_adds(sb, "\n]\n");
	sb_release(&p);
}

/* One testcase per finding: errors fail, warnings and notices pass with the text as output. */
static void junit_finding(struct cirep_suite *s, const struct diag *g, const char *path)
{
	struct sb name, msg;
	sb_init(&name, 0);
	sb_init(&msg, 0);
	const char *code = g->code[0] ? g->code : REPORT_NO_CODE;
	(void)sb_addf(&name, "%s at %u:%u", code, ci_line(g), g->pos.file ? g->pos.col : 0);
	if (g->sev != DIAG_ERROR)
		(void)sb_addf(&msg, "%s: ", sev_name(g->sev));
	(void)sb_addf(&msg, "%s:%u:%u: %s [%s]", path, ci_line(g), g->pos.file ? g->pos.col : 0,
		      g->msg ? g->msg : "", code);
	struct cirep_case c = {path,
			       name.buf,
			       path,
			       ci_line(g),
			       g->sev == DIAG_ERROR ? CIREP_FAILURE : CIREP_PASS,
			       code,
			       g->sev == DIAG_ERROR ? msg.buf : NULL,
			       g->sev == DIAG_ERROR ? NULL : msg.buf};
	(void)cirep_suite_add(s, &c);
	sb_release(&name);
	sb_release(&msg);
}

/* The testsuite of one file: its findings g[0..n), or one passing "valid" testcase. */
static void junit_file(struct sb *suites, struct cirep_suite *s, const struct diag *const *g,
		       size_t n, const struct report_opts *o, const char *file,
		       struct cirep_counts *total)
{
	struct sb p;
	sb_init(&p, 0);
	(void)cirep_path(&p, o->path_prefix, file);
	for (size_t i = 0; i < n; i++)
		junit_finding(s, g[i], p.buf);
	if (n == 0) {
		struct cirep_case c = {p.buf, "valid", p.buf, 0, CIREP_PASS, NULL, NULL, NULL};
		(void)cirep_suite_add(s, &c);
	}
	if (cirep_suite_flush(suites, s, p.buf, total) < 0)
		suites->overflow = true; /* report_write then refuses the document */
	sb_release(&p);
}

/* By file, then in list order (the sort is not stable; the pointers' order is the list's). */
static int cmp_by_file(const void *a, const void *b)
{
	const struct diag *x = *(const struct diag *const *)a, *y = *(const struct diag *const *)b;
	int c = strcmp(ci_file(x), ci_file(y));
	return c ? c : (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Index of the first finding about file in byfile (sorted by cmp_by_file), or n. */
static size_t first_of(const struct diag *const *byfile, size_t n, const char *file)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(ci_file(byfile[mid]), file) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Length of the run of findings about the file of byfile[i]. */
static size_t run_len(const struct diag *const *byfile, size_t n, size_t i, const char *file)
{
	size_t j = i;
	while (j < n && strcmp(ci_file(byfile[j]), file) == 0)
		j++;
	return j - i;
}

/*
 * A suite per file read (o->files, in their order), then one per other file findings name
 * (sorted). Findings are grouped through a sorted index, so a fleet of thousands of files
 * with thousands of findings stays O(n log n).
 */
static void render_junit(struct sb *sb, const struct diag_list *d, const struct report_opts *o)
{
	struct sb suites;
	struct cirep_suite s;
	struct cirep_counts total = {0, 0, 0, 0};
	const struct diag **byfile = xcalloc(d->n ? d->n : 1, sizeof(*byfile));
	const char **known = xcalloc(o->nfiles ? o->nfiles : 1, sizeof(*known));
	sb_init(&suites, REPORT_MAX_BYTES);
	cirep_suite_init(&s);
	for (size_t i = 0; i < d->n; i++)
		byfile[i] = &d->v[i];
	qsort(byfile, d->n, sizeof(*byfile), cmp_by_file);
	for (size_t i = 0; i < o->nfiles; i++) {
		known[i] = o->files[i];
		size_t at = first_of(byfile, d->n, o->files[i]);
		junit_file(&suites, &s, byfile + at, run_len(byfile, d->n, at, o->files[i]), o,
			   o->files[i], &total);
	}
	qsort(known, o->nfiles, sizeof(*known), cmp_str);
	for (size_t i = 0, n; i < d->n; i += n) {
		const char *f = ci_file(byfile[i]);
		n = run_len(byfile, d->n, i, f);
		if (!bsearch(&f, known, o->nfiles, sizeof(*known), cmp_str))
			junit_file(&suites, &s, byfile + i, n, o, f, &total);
	}
	if (cirep_junit_doc(sb, REPORT_JUNIT_NAME, &total, &suites) < 0)
		sb->overflow = true;
	cirep_suite_release(&s);
	sb_release(&suites);
	free(byfile);
	free(known);
}

int report_write(FILE *f, const struct diag_list *d, const struct report_opts *o)
{
	struct sb sb;
	int ret = 0;
	sb_init(&sb, REPORT_MAX_BYTES);
	switch (o->format) {
	case OUT_TEXT:
		render_text(&sb, d, o, tty_colour(fileno(f)));
		break;
	case OUT_JSON:
		render_json(&sb, d, o);
		break;
	case OUT_GITHUB:
		render_github(&sb, d, o);
		break;
	case OUT_SARIF:
		render_sarif(&sb, d, o);
		break;
	case OUT_GITLAB:
		render_gitlab(&sb, d, o);
		break;
	case OUT_JUNIT:
		render_junit(&sb, d, o);
		break;
	default: /* not a validation format: report_format_parse never yields one */
		sb_release(&sb);
		return err_set(NULL, CF_EINVAL, "no such report format");
	}
	if (sb.overflow)
		ret = err_set(NULL, CF_EIO, "report too large");
	else if (fwrite(sb.buf, 1, sb.len, f) != sb.len || fflush(f) != 0)
		ret = CF_EIO;
	sb_release(&sb);
	return ret;
}
