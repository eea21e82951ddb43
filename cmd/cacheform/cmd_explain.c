/*
 * cacheform explain: for each path or URL and each selected endpoint, which desired rule
 * decides it and the TTL (cacheform's meaning, sem_desired); with --live, what the live
 * configuration does under the provider's own semantics (sem_eval on what was read, foreign
 * rules included) and whether the two agree.
 */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"
#include "cmd/cacheform/cmd_load.h"

#include <strings.h>

#include "reconcile/engine.h"
#include "reconcile/sem.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define EXPLAIN_DUR_MAX 32

static const char *opt_repo, *opt_ref, *opt_format;
static struct svec opt_only;
static bool opt_live;

const struct opt explain_opts[] = {
    {"endpoint", 'e', OPT_STRLIST, &opt_only, "NAME", "explain for this endpoint (repeatable)"},
    {"format", 0, OPT_STR, &opt_format, "FMT", "text (default) or json"},
    {"live", 0, OPT_BOOL, &opt_live, NULL,
     "also read the live configuration and evaluate it as the provider does"},
    {"ref", 0, OPT_STR, &opt_ref, "REV", "read the desired state from this commit"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

/* One path or URL from the command line. */
struct query {
	const char *arg;
	char host[256]; /* "" for a plain path */
	char path[SEM_PATH_MAX];
};

static int query_parse(const char *arg, struct query *q)
{
	q->arg = arg;
	q->host[0] = '\0';
	if (!strncasecmp(arg, "http://", 7) || !strncasecmp(arg, "https://", 8)) {
		const char *h = strstr(arg, "//") + 2;
		size_t n = strcspn(h, "/?#:");
		if (n == 0 || n >= sizeof(q->host))
			return -1;
		memcpy(q->host, h, n);
		q->host[n] = '\0';
	}
	return sem_path_of(arg, q->path, sizeof(q->path));
}

/* By default an endpoint is asked about a URL when it serves the URL's host; a plain path
 * goes to every selected endpoint. Purge-only endpoints have no managed rules. */
static bool endpoint_wanted(const struct endpoint *ep, const struct query *q)
{
	if (ep->mode == MODE_PURGE_ONLY)
		return false;
	if (!q->host[0] || opt_only.n > 0)
		return true;
	for (size_t i = 0; i < ep->hosts.n; i++)
		if (strcasecmp(ep->hosts.v[i].s, q->host) == 0)
			return true;
	return false;
}

static void text_outcome(struct sb *o, const struct sem_result *r)
{
	char d[EXPLAIN_DUR_MAX];
	duration_format(r->ttl, d, sizeof(d));
	switch (r->mode) {
	case SEM_ORIGIN:
		sb_adds(o, "provider default (origin headers decide)");
		break;
	case SEM_BYPASS:
		sb_adds(o, "not cached");
		break;
	case SEM_OVERRIDE:
		sb_addf(o, "cached %s (origin Cache-Control ignored%s)", d,
			r->yields_to_no_store ? ", except no-store/private/no-cache" : "");
		break;
	case SEM_IF_MISSING:
		sb_addf(o, "cached %s when the origin sends no Cache-Control", d);
		break;
	}
}

static void text_live_rule(struct sb *o, const struct sem_cfg *cfg, const struct sem_result *r)
{
	if (r->rule == SEM_NO_RULE) {
		sb_adds(o, "no rule");
		return;
	}
	if (cfg->kind == SEM_AZURE)
		sb_addf(o, "delivery rule '%s' (order %d%s)", r->rule_id ? r->rule_id : "",
			cfg->az.rules[r->rule].order,
			cfg->az.rules[r->rule].foreign ? ", foreign" : "");
	else if (cfg->kind == SEM_CDNPRO && r->rule_id)
		sb_addf(o, "Edge Logic %s", r->rule_id);
	else
		sb_addf(o, "rule %d", r->rule + 1);
}

static void text_result(struct sb *o, const struct endpoint *ep, const struct query *q,
			const struct sem_result *want, const struct eng_endpoint *x,
			const struct sem_result *got)
{
	sb_addf(o, "%s (%s) %s: ", ep->name.s, provider_name(ep->account->provider), q->path);
	if (want->rule == SEM_NO_RULE)
		sb_adds(o, "no rule");
	else
		/* a rule is always in its endpoint's file */
		sb_addf(o, "rule %d (%s:%u)", want->rule + 1, ep->file,
			(unsigned)ep->cache.rules[want->rule].pos.line);
	sb_adds(o, ", ");
	text_outcome(o, want);
	sb_addc(o, '\n');
	if (!x)
		return;
	sb_adds(o, "  live: ");
	if (x->rc != 0 || !x->read) {
		sb_addf(o, "not read: %s\n",
			engine_ep_why(x)[0] ? engine_ep_why(x) : "no live state");
		return;
	}
	text_live_rule(o, &x->live.sem, got);
	sb_adds(o, ", ");
	text_outcome(o, got);
	sb_addf(o, "%s: %s\n",
		got->uncertain ? " (a rule with a non-path condition may apply)" : "",
		sem_same(want, got) ? "agrees" : "DIFFERS from the desired rules");
}

static void json_outcome(struct sb *o, const struct sem_result *r)
{
	if (r->mode == SEM_ORIGIN)
		sb_adds(o, "\"ttl\":null,\"cached\":null,\"mode\":\"origin\"");
	else
		sb_addf(o, "\"ttl\":%lld,\"cached\":%s,\"mode\":\"%s\"", (long long)r->ttl,
			r->mode == SEM_BYPASS ? "false" : "true",
			r->mode == SEM_BYPASS	  ? "bypass"
			: r->mode == SEM_OVERRIDE ? "override"
						  : "if_missing");
}

static void json_result(struct sb *o, const struct endpoint *ep, const struct query *q,
			const struct sem_result *want, const struct eng_endpoint *x,
			const struct sem_result *got)
{
	sb_adds(o, "{\"endpoint\":");
	sb_add_json_str(o, ep->name.s);
	sb_addf(o, ",\"provider\":\"%s\",\"path\":", provider_name(ep->account->provider));
	sb_add_json_str(o, q->path);
	sb_adds(o, ",\"desired\":{\"rule\":");
	if (want->rule == SEM_NO_RULE) {
		sb_adds(o, "null");
	} else {
		sb_adds(o, "{\"file\":");
		sb_add_json_str(o, ep->file);
		sb_addf(o, ",\"line\":%u,\"index\":%d}",
			(unsigned)ep->cache.rules[want->rule].pos.line, want->rule + 1);
	}
	sb_addc(o, ',');
	json_outcome(o, want);
	sb_addc(o, '}');
	if (x && (x->rc != 0 || !x->read)) {
		sb_adds(o, ",\"live\":null,\"live_error\":");
		sb_add_json_str(o, engine_ep_why(x));
	} else if (x) {
		sb_adds(o, ",\"live\":{\"rule\":");
		if (got->rule == SEM_NO_RULE)
			sb_adds(o, "null");
		else
			sb_addf(o, "{\"file\":null,\"line\":null,\"index\":%d}", got->rule + 1);
		sb_adds(o, ",\"rule_id\":");
		if (got->rule_id)
			sb_add_json_str(o, got->rule_id);
		else
			sb_adds(o, "null");
		sb_addc(o, ',');
		json_outcome(o, got);
		sb_addf(o, ",\"uncertain\":%s},\"agree\":%s", got->uncertain ? "true" : "false",
			sem_same(want, got) ? "true" : "false");
	}
	sb_addc(o, '}');
}

/* Explains every query on every wanted endpoint; returns how many (endpoint, path) pairs. */
static size_t explain_all(const struct engine *en, const struct query *qs, size_t nq, bool json,
			  struct sb *o, bool *live_failed)
{
	size_t n = 0;
	for (size_t i = 0; i < nq; i++)
		for (size_t j = 0; j < en->neps; j++) {
			const struct eng_endpoint *x = &en->eps[j];
			if (!x->ep->account || !endpoint_wanted(x->ep, &qs[i]))
				continue;
			struct sem_result want, got;
			sem_desired(&x->ep->cache, qs[i].path, &want);
			const struct eng_endpoint *lx = opt_live ? x : NULL;
			if (lx && lx->read && lx->rc == 0)
				sem_eval(&lx->live.sem, qs[i].path, &got);
			else
				memset(&got, 0, sizeof(got));
			*live_failed = *live_failed || (lx && (lx->rc != 0 || !lx->read));
			if (json) {
				sb_adds(o, n ? "," : "");
				json_result(o, x->ep, &qs[i], &want, lx, &got);
			} else {
				text_result(o, x->ep, &qs[i], &want, lx, &got);
			}
			n++;
		}
	return n;
}

static int parse_args(int argc, char **argv, struct query **qs, bool *json)
{
	int npos;
	if (opt_parse("explain", explain_opts, argc, argv, &npos) < 0)
		return -1;
	if (npos == 0) {
		fprintf(stderr, "cacheform explain: give at least one path or URL\n");
		return -1;
	}
	*json = opt_format && strcmp(opt_format, "json") == 0;
	if (opt_format && !*json && strcmp(opt_format, "text") != 0) {
		fprintf(stderr, "cacheform explain: --format must be text or json\n");
		return -1;
	}
	*qs = xcalloc((size_t)npos, sizeof(**qs));
	for (int i = 0; i < npos; i++)
		if (query_parse(argv[i], &(*qs)[i]) < 0) {
			fprintf(stderr,
				"cacheform explain: '%s' is not a path (starting with '/') or an "
				"http(s) URL with a valid percent-encoding\n",
				argv[i]);
			return -1;
		}
	return npos;
}

int cmd_explain(int argc, char **argv)
{
	struct engine en;
	struct query *qs = NULL;
	struct cf_err e;
	struct sb o;
	bool json = false, live_failed = false;
	int ret = EXIT_ERROR;
	int nq = parse_args(argc, argv, &qs, &json);
	if (nq < 0) {
		free(qs);
		svec_release(&opt_only);
		return EXIT_USAGE;
	}
	err_clear(&e);
	sb_init(&o, 0);
	struct engine_opts eo = {NULL, NULL, &opt_only, 0, false, NULL, NULL};
	if (cmd_engine_open(&en, opt_repo, opt_ref, &eo, &e) < 0 ||
	    (opt_live && (engine_connect(&en, &e) < 0 || engine_read_all(&en) < 0))) {
		err_print(&e);
		goto out;
	}
	sb_adds(&o, json ? "{\"format_version\":1,\"results\":[" : "");
	size_t n = explain_all(&en, qs, (size_t)nq, json, &o, &live_failed);
	sb_adds(&o, json ? "]}\n" : "");
	if (n == 0 && !json)
		sb_adds(&o, "no selected endpoint serves these paths\n");
	if (fwrite(o.buf, 1, o.len, stdout) != o.len) {
		fprintf(stderr, "cacheform explain: cannot write the answer\n");
		goto out;
	}
	ret = live_failed || n == 0 ? EXIT_ERROR : EXIT_OK;
out:
	sb_release(&o);
	free(qs);
	engine_close(&en);
	svec_release(&opt_only);
	return ret;
}
