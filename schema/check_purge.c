/*
 * Purge manifests (SPEC 2.3, codes CF401-CF427, CF203, CF205, CF215, CF217): endpoint
 * references, URL and path entries against the endpoints' hosts, cdnpro-only lists and regex,
 * azure preload paths, duplicates. Part of the check module (schema/check_int.h).
 */
#include "reconcile/base/compat.h"
#include "schema/check.h"

#include <strings.h>

#include "reconcile/base/xmem.h"
#include "schema/check_int.h"
#include "schema/urlcheck.h"

struct purge_ctx {
	const struct purge *p;
	struct endpoint **eps; /* resolved, distinct */
	size_t n;
	/* Over the resolved endpoints; unknown ones are reported on their own. */
	bool any_azure, any_other, any_other_than_cdnpro;
	const struct endpoint *staging; /* a cdnpro endpoint with target: staging */
	const char *no_preload; /* provider name of an endpoint that has no preload, or NULL */
};

#define HEADER_NAME_MAX	 256 /* fileHeaders name: no documented limit; a sane one */
#define HEADER_VALUE_MAX 4096
/* RFC 9110 token characters besides letters and digits */
static const char header_tchar[] = "!#$%&'*+-.^_`|~";

static const char *const problem_code[] = {
    [URL_ETOOLONG] = "CF404",	 [URL_EFORM] = "CF402",		[URL_ESCHEME] = "CF402",
    [URL_EHOST] = "CF402",	 [URL_ECRLF] = "CF409",		[URL_ECTRL] = "CF407",
    [URL_EUNSAFE] = "CF407",	 [URL_EPERCENT] = "CF406",	[URL_EDOTSEG] = "CF408",
    [URL_ESTAR] = "CF405",	 [URL_ELOADCHARS] = "CF422",	[URL_ERE_PREFIX] = "CF414",
    [URL_ERE_LONG] = "CF415",	 [URL_ERE_UNLIMITED] = "CF416", [URL_ERE_BOUND] = "CF417",
    [URL_ERE_COMPILE] = "CF418", [URL_EUTF8] = "CF406",
};

static void url_err(struct check_ctx *x, const struct sval *v, const char *list,
		    enum url_problem up, size_t off, const char *code)
{
	struct check_qbuf b;
	if (!code)
		code = (unsigned)up < CF_ARRAY_LEN(problem_code) && problem_code[up]
			   ? problem_code[up]
			   : "CF402";
	ERR(x, &v->pos, code, "%s entry '%s': %s (at character %zu)", list, check_quote(&b, v->s),
	    url_problem_str(up), off + 1);
}

static bool ep_serves(const struct endpoint *e, const char *h, size_t n)
{
	for (size_t i = 0; i < e->hosts.n; i++)
		if (e->hosts.v[i].s && url_host_equal(h, n, e->hosts.v[i].s))
			return true;
	return false;
}

/* An absolute URL goes to every endpoint of the manifest, so each must serve its host. */
static void check_host(struct check_ctx *x, const struct purge_ctx *pc, const struct sval *v,
		       const char *h, size_t n)
{
	struct check_qbuf b, b2;
	for (size_t i = 0; i < pc->n; i++)
		if (!ep_serves(pc->eps[i], h, n))
			ERR(x, &v->pos, "CF403",
			    "host '%.*s' of '%s' is not a host of endpoint '%s'",
			    (int)(n > CHECK_QUOTE_MAX ? CHECK_QUOTE_MAX : n), h,
			    check_quote(&b, v->s), check_quote(&b2, pc->eps[i]->name.s));
}

/* A path is expanded to scheme://host/path for every host; the result must fit too. */
static void check_expanded_len(struct check_ctx *x, const struct purge_ctx *pc,
			       const struct sval *v)
{
	struct check_qbuf b;
	size_t len = strlen(v->s);
	for (size_t i = 0; i < pc->n; i++) {
		const struct endpoint *e = pc->eps[i];
		size_t sl = e->scheme.s ? strlen(e->scheme.s) : strlen("https");
		for (size_t h = 0; h < e->hosts.n; h++) {
			if (e->hosts.v[h].s &&
			    sl + CHECK_SCHEME_SEP_LEN + strlen(e->hosts.v[h].s) + len > URL_MAX) {
				ERR(x, &v->pos, "CF404",
				    "'%.20s...' expanded with host '%s' is longer than %d "
				    "characters",
				    v->s, check_quote(&b, e->hosts.v[h].s), URL_MAX);
				return;
			}
		}
	}
}

static void check_url_entry(struct check_ctx *x, const struct purge_ctx *pc, const struct sval *v,
			    const char *list, unsigned flags)
{
	struct url_parts u;
	size_t off = 0;
	enum url_problem up;
	struct check_qbuf b;
	if (!v->s)
		return;
	if ((up = url_check(v->s, URL_MAX, flags, &u, &off)) != URL_OK) {
		url_err(x, v, list, up, off, NULL);
		return;
	}
	if (strcmp(list, "dirs") == 0 && v->s[strlen(v->s) - 1] != '/')
		ERR(x, &v->pos, "CF410", "dirs entry '%s' must end with '/'",
		    check_quote(&b, v->s));
	if (u.scheme_len)
		check_host(x, pc, v, u.host, u.host_len);
	else
		check_expanded_len(x, pc, v);
}

static void check_regex_entry(struct check_ctx *x, const struct purge_ctx *pc, const struct sval *v)
{
	char msg[CF_ERR_MSG_MAX / 4];
	const char *h = NULL;
	size_t hl = 0, off = 0;
	struct check_qbuf b;
	enum url_problem up = url_check_regex(v->s, &h, &hl, msg, sizeof(msg), &off);
	if (up == URL_ERE_COMPILE)
		ERR(x, &v->pos, "CF418", "regex '%s' does not compile: %s (at character %zu)",
		    check_quote(&b, v->s), msg, off + 1);
	else if (up != URL_OK)
		url_err(x, v, "regex", up, off, NULL);
	/* h is set once a scheme prefix matched; a malformed host is the CF414 itself. */
	if (h && up != URL_ERE_PREFIX)
		check_host(x, pc, v, h, hl);
}

static const struct pos *list_pos(const struct svec *v, const struct purge *p)
{
	return check_at(v->n ? &v->v[0].pos : &v->pos, check_at(&v->pos, &p->pos));
}

static void check_cdnpro_lists(struct check_ctx *x, const struct purge_ctx *pc)
{
	const struct purge *p = pc->p;
	if (p->patterns.n && pc->any_other_than_cdnpro)
		ERR(x, list_pos(&p->patterns, p), "CF411",
		    "patterns are only supported for cdnpro endpoints");
	else
		for (size_t i = 0; i < p->patterns.n; i++)
			check_url_entry(x, pc, &p->patterns.v[i], "patterns", URL_F_ALLOW_STAR);
	if (p->action == PURGE_DELETE && pc->any_other_than_cdnpro)
		ERR(x, check_at(&p->action_pos, &p->pos), "CF419",
		    "action 'delete' is only supported for cdnpro endpoints");
	if (p->regex.n && pc->any_other_than_cdnpro) {
		ERR(x, list_pos(&p->regex, p), "CF412",
		    "regex is only supported for cdnpro endpoints");
		return;
	}
	if (p->regex.n > URL_REGEX_PER_REQUEST)
		ERR(x, &p->regex.v[URL_REGEX_PER_REQUEST].pos, "CF413",
		    "at most %d regex per manifest (cdnpro takes %d per request, one request per "
		    "endpoint)",
		    URL_REGEX_PER_REQUEST, URL_REGEX_PER_REQUEST);
	for (size_t i = 0; i < p->regex.n; i++)
		if (p->regex.v[i].s)
			check_regex_entry(x, pc, &p->regex.v[i]);
}

static void report_dup_entry(struct check_ctx *x, const struct sval *dup, const struct sval *first,
			     const void *arg)
{
	struct check_qbuf b;
	CF_UNUSED(arg);
	WARN(x, &dup->pos, "CF423", "'%s' is listed twice (first on line %u)",
	     check_quote(&b, dup->s), first->pos.line);
}

static void check_purge_lists(struct check_ctx *x, const struct purge_ctx *pc)
{
	const struct purge *p = pc->p;
	const struct svec *lists[] = {&p->files, &p->dirs, &p->patterns, &p->regex, &p->preload};
	for (size_t i = 0; i < p->files.n; i++)
		check_url_entry(x, pc, &p->files.v[i], "files", URL_F_ALLOW_PATH);
	for (size_t i = 0; i < p->dirs.n; i++)
		check_url_entry(x, pc, &p->dirs.v[i], "dirs", URL_F_ALLOW_PATH);
	check_cdnpro_lists(x, pc);
	/* Azure's load existed on Verizon/Edgio profiles only (retired 2025-01-15); Front
	 * Door has none (SPEC §2.3). */
	if (p->preload.n && pc->no_preload)
		ERR(x, list_pos(&p->preload, p), "CF425",
		    "preload is not offered by %s (Azure's load was Verizon/Edgio-only, retired "
		    "2025-01-15; Front Door has none)",
		    pc->no_preload);
	for (size_t i = 0; i < p->preload.n && !pc->no_preload; i++)
		if (p->preload.v[i].s)
			check_url_entry(x, pc, &p->preload.v[i], "preload", URL_F_ALLOW_PATH);
	for (size_t i = 0; i < CF_ARRAY_LEN(lists); i++)
		check_find_dups(x, lists[i], report_dup_entry, NULL);
}

static bool header_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > HEADER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr(header_tchar, c))))
			return false;
	}
	return true;
}

static bool header_value_ok(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < ' ' && s[i] != '\t') || s[i] == 0x7f)
			return false;
	return n <= HEADER_VALUE_MAX;
}

/* fileHeaders: cdnpro only; the API refuses duplicate names (DuplicateFileHeaderName), and
 * header names compare case-insensitively. */
static void check_file_headers(struct check_ctx *x, const struct purge_ctx *pc)
{
	const struct purge *p = pc->p;
	const struct svec *nm = &p->header_names, *val = &p->header_values;
	struct check_qbuf b;
	if (nm->n && pc->any_other_than_cdnpro) {
		ERR(x, list_pos(nm, p), "CF426",
		    "file_headers are only supported for cdnpro endpoints");
		return;
	}
	for (size_t i = 0; i < nm->n; i++) {
		if (!header_name_ok(nm->v[i].s))
			ERR(x, &nm->v[i].pos, "CF427", "file_headers: '%s' is not a header name",
			    check_quote(&b, nm->v[i].s));
		else if (!header_value_ok(val->v[i].s))
			ERR(x, &val->v[i].pos, "CF427",
			    "file_headers: the value of '%s' has control characters or is longer "
			    "than %d",
			    check_quote(&b, nm->v[i].s), HEADER_VALUE_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(nm->v[i].s, nm->v[j].s) == 0) {
				ERR(x, &nm->v[i].pos, "CF427",
				    "file_headers: '%s' is given twice (header names ignore case; "
				    "first on line %u)",
				    check_quote(&b, nm->v[i].s), nm->v[j].pos.line);
				break;
			}
	}
	if (nm->n && !p->files.n)
		WARN(x, list_pos(nm, p), "CF427",
		     "file_headers apply only to files, and there are none");
}

/* Prefetch is production-only on CDN Pro: refuse now rather than fail at every apply. */
static void check_staging_preload(struct check_ctx *x, const struct purge_ctx *pc)
{
	struct check_qbuf b;
	if (pc->p->preload.n && pc->staging)
		ERR(x, list_pos(&pc->p->preload, pc->p), "CF425",
		    "preload is not offered on staging: endpoint '%s' has remote.target staging "
		    "(CDN Pro prefetches production only)",
		    check_quote(&b, pc->staging->name.s));
}

static void report_dup_ref(struct check_ctx *x, const struct sval *dup, const struct sval *first,
			   const void *arg)
{
	struct check_qbuf b;
	CF_UNUSED(first);
	CF_UNUSED(arg);
	ERR(x, &dup->pos, "CF215", "endpoint '%s' is listed twice", check_quote(&b, dup->s));
}

/* Resolves the endpoint names of p into pc (each endpoint once). */
static void resolve_refs(struct check_ctx *x, const struct purge *p, struct purge_ctx *pc)
{
	struct check_qbuf b;
	size_t k;
	pc->eps = xcalloc(p->endpoints.n ? p->endpoints.n : 1, sizeof(*pc->eps));
	check_find_dups(x, &p->endpoints, report_dup_ref, NULL);
	for (size_t i = 0; i < p->endpoints.n; i++) {
		const struct sval *v = &p->endpoints.v[i];
		if (!v->s || !check_nidx_get(&x->endpoints, v->s, &k)) {
			ERR(x, check_at(&v->pos, &p->pos), "CF205", "unknown endpoint '%s'",
			    check_quote(&b, v->s ? v->s : ""));
			continue;
		}
		struct endpoint *e = &x->c->endpoints[k];
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = p->endpoints.v[j].s && strcmp(p->endpoints.v[j].s, v->s) == 0;
		if (seen || !e->account)
			continue; /* reported as a duplicate, or its account is unknown */
		if (e->mode == MODE_OBSERVE)
			WARN(x, &v->pos, "CF424",
			     "endpoint '%s' is in observe mode: this purge will not run",
			     check_quote(&b, e->name.s));
		/* CDN Pro prefetches only hosts deployed to production: on a staging target every
		 * apply would fail on it, so it is refused here */
		if (p->preload.n && e->account->provider == PROV_CDNPRO && e->remote.target.s &&
		    strcmp(e->remote.target.s, "staging") == 0)
			ERR(x, check_at(&p->preload.pos, &v->pos), "CF425",
			    "endpoint '%s' targets cdnpro staging: preload (prefetch) works only "
			    "on "
			    "hosts deployed to production",
			    check_quote(&b, e->name.s));
		pc->eps[pc->n++] = e;
		pc->any_azure |= e->account->provider == PROV_AZURE;
		pc->any_other |= e->account->provider != PROV_AZURE;
		pc->any_other_than_cdnpro |= e->account->provider != PROV_CDNPRO;
		if (e->account->provider == PROV_CDNPRO && e->remote.target.s &&
		    strcmp(e->remote.target.s, "staging") == 0 && !pc->staging)
			pc->staging = e;
		if (e->account->provider == PROV_AZURE ||
		    e->account->provider == PROV_AZURE_FRONTDOOR)
			pc->no_preload = provider_name(e->account->provider);
	}
}

static void check_purge(struct check_ctx *x, const struct purge *p, struct check_nidx *ids,
			size_t i)
{
	struct purge_ctx pc = {.p = p};
	size_t prev;
	struct check_qbuf b;
	if (check_name(x, &p->id, &p->pos, "purge") && !check_nidx_put(ids, p->id.s, i, &prev)) {
		const struct pos *f = &x->c->purges[prev].id.pos;
		ERR(x, check_at(&p->id.pos, &p->pos), "CF203",
		    "purge '%s' is already defined at %s:%u:%u", check_quote(&b, p->id.s),
		    check_fname(x, f), (unsigned)f->line, (unsigned)f->col);
	}
	if (!p->files.n && !p->dirs.n && !p->patterns.n && !p->regex.n && !p->preload.n)
		ERR(x, &p->pos, "CF401",
		    "purge has nothing to do: give files, dirs, patterns, regex or preload");
	if (!p->endpoints.n)
		ERR(x, check_at(&p->endpoints.pos, &p->pos), "CF217", "missing 'endpoints'");
	resolve_refs(x, p, &pc);
	check_purge_lists(x, &pc);
	check_file_headers(x, &pc);
	check_staging_preload(x, &pc);
	free(pc.eps);
}

void check_purges(struct check_ctx *x)
{
	struct check_nidx ids;
	check_nidx_init(&ids, x->c->npurges);
	for (size_t i = 0; i < x->c->npurges; i++)
		check_purge(x, &x->c->purges[i], &ids, i);
	check_nidx_release(&ids);
}
