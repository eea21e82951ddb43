#include "reconcile/base/compat.h"
#include "schema/report.h"
#include "reconcile/base/sb.h"

#include <unistd.h>

#define REPORT_MAX_BYTES    ((size_t)256 << 20) /* one rendered document */
#define REPORT_MAX_RULES    1024		/* distinct codes listed in SARIF */
#define REPORT_SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

static const char *const format_names[] = {
    [REPORT_TEXT] = "text",
    [REPORT_JSON] = "json",
    [REPORT_GITHUB] = "github",
    [REPORT_SARIF] = "sarif",
};

int report_format_parse(const char *name, enum report_format *out)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(format_names); i++) {
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum report_format)i;
			return 0;
		}
	}
	return -1;
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

static void sarif_rules(struct sb *sb, const struct diag_list *d)
{
	const char *seen[REPORT_MAX_RULES];
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++) {
		const char *code = d->v[i].code;
		size_t j = 0;
		while (j < n && strcmp(seen[j], code) != 0)
			j++;
		if (!code[0] || j < n || n == REPORT_MAX_RULES)
			continue;
		seen[n] = code;
		(void)sb_addf(sb, "%s{\"id\":", n++ ? "," : "");
		(void)sb_add_json_str(sb, code);
		(void)sb_addc(sb, '}');
	}
}

static void sarif_result(struct sb *sb, const struct diag *g, const struct report_opts *o)
{
	static const char *const level[] = {"error", "warning", "note"};
	(void)sb_adds(sb, "{\"ruleId\":");
	(void)sb_add_json_str(sb, g->code[0] ? g->code : "CF000");
	(void)sb_addf(sb, ",\"level\":\"%s\",\"message\":{\"text\":", level[g->sev]);
	(void)sb_add_json_str(sb, g->msg);
	(void)sb_addc(sb, '}');
	if (g->pos.file) {
		(void)sb_adds(sb, ",\"locations\":[{\"physicalLocation\":{\"artifactLocation\":"
				  "{\"uri\":");
		json_path(sb, o, g->pos.file);
		(void)sb_addc(sb, '}');
		if (g->pos.line)
			(void)sb_addf(sb, ",\"region\":{\"startLine\":%u,\"startColumn\":%u}",
				      g->pos.line, g->pos.col ? g->pos.col : 1);
		(void)sb_adds(sb, "}}]");
	}
	(void)sb_addc(sb, '}');
}

static void render_sarif(struct sb *sb, const struct diag_list *d, const struct report_opts *o)
{
	(void)sb_adds(sb, "{\"$schema\":\"" REPORT_SARIF_SCHEMA "\",\"version\":\"2.1.0\","
			  "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"cacheform\"");
	if (o->tool_version) {
		(void)sb_adds(sb, ",\"version\":");
		(void)sb_add_json_str(sb, o->tool_version);
	}
	(void)sb_adds(sb, ",\"rules\":[");
	sarif_rules(sb, d);
	(void)sb_adds(sb, "]}},\"results\":[");
	for (size_t i = 0; i < d->n; i++) {
		if (i)
			(void)sb_addc(sb, ',');
		sarif_result(sb, &d->v[i], o);
	}
	(void)sb_adds(sb, "]}]}\n");
}

int report_write(FILE *f, const struct diag_list *d, const struct report_opts *o)
{
	struct sb sb;
	int ret = 0;
	sb_init(&sb, REPORT_MAX_BYTES);
	switch (o->format) {
	case REPORT_TEXT:
		render_text(&sb, d, o, isatty(fileno(f)) && !getenv("NO_COLOR"));
		break;
	case REPORT_JSON:
		render_json(&sb, d, o);
		break;
	case REPORT_GITHUB:
		render_github(&sb, d, o);
		break;
	case REPORT_SARIF:
		render_sarif(&sb, d, o);
		break;
	}
	if (sb.overflow)
		ret = err_set(NULL, CF_EIO, "report too large");
	else if (fwrite(sb.buf, 1, sb.len, f) != sb.len || fflush(f) != 0)
		ret = CF_EIO;
	sb_release(&sb);
	return ret;
}
