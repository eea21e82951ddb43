/*
 * CDN Pro property lifecycle for cacheform's Edge Logic region (see prov_cdnpro_el.h;
 * CDN Pro API docs, docs.cdnetworks.com/cdn/apidocs: properties, versions, validations,
 * deploymentTasks).
 */
#include "reconcile/base/compat.h"
#include "reconcile/prov_cdnpro_el.h"

#include <strings.h>
#include <time.h>

#include "reconcile/codec.h"
#include "reconcile/edgelogic.h"
#include "reconcile/sem_edgelogic.h"
#include "reconcile/textdiff.h"
#include "reconcile/sign.h"
#include "reconcile/base/xmem.h"

#define EL_VERSION_MAX	  INT64_C(1000000000)
#define EL_VERSIONS_PAGE  200 /* the list's limit maximum: newest first */
#define EL_DEPLOY_NAME	  "cacheform"
#define EL_PATH_MAX	  256
#define EL_NOTE_PATHS_MAX 5 /* paths named in one foreign-location note ("and N more") */

#define OP_PROPERTY "read property"
#define OP_VERSIONS "list property versions"
#define OP_VERSION  "read property version"
#define OP_WRITE    "write property version"
#define OP_VALIDATE "validate property version"
#define OP_DEPLOY   "deploy property version"
#define OP_REREAD   "re-read the draft version"
#define OP_STAGING  "list staging servers"
#define OP_QUOTA_EL "read the service quota"

/* write_parse's answer to a 412 on the draft's PATCH: write_next re-reads the draft once */
#define EL_CONFLICT_ID "412"
/* write_parse's id for a re-read's Last-Modified: "since:" + the RFC 1123 date */
#define EL_SINCE_PREFIX "since:"

/* The write step write_next builds next (the re-read and re-PATCH only after a 412). */
enum el_phase { PH_VALIDATE, PH_REWRITE, PH_DEPLOY, PH_DONE };

#define OPT CODEC_OPTIONAL

static const struct prov_err_shape el_err = {NULL, false, "code", "message", 0};

/* What the read found, kept for the write (live_state.priv). */
struct pro_el {
	int64_t in_staging, in_production;	/* 0 = none */
	int64_t staging_at, production_at;	/* deployment times (unix s), 0 = unknown */
	int64_t newest;				/* highest version number, 0 = none */
	int64_t draft;				/* our undeployed draft, 0 = none */
	char draft_date[SIGN_RFC1123_DATE_MAX]; /* its lastUpdateTime as RFC 1123 */
	int64_t base;		 /* the version read: deployed to target, else newest */
	char *configs;		 /* owned: base's configs as JSON text */
	char *edge;		 /* owned: base's edgeLogic */
	char *origin;		 /* owned: origins[0].name */
	struct prov_account *pa; /* borrowed (read_next): the account's service-quota answer */
	bool quota_reader;	 /* this read also reads the service quota (step 3) */
	struct el_doc doc;
	int64_t written; /* the version the write created or updated */
	enum el_phase next;
	bool retried; /* the draft was re-read after a 412 (once per write) */
};

static void el_free(void *p)
{
	struct pro_el *pe = p;
	free(pe->configs);
	free(pe->edge);
	free(pe->origin);
	el_doc_release(&pe->doc);
	free(pe);
}

static bool is_staging(const struct endpoint *ep)
{
	return ep->remote.target.s && strcmp(ep->remote.target.s, "staging") == 0;
}

static int property_path(const struct endpoint *ep, const char *tail, struct sb *out)
{
	sb_init(out, EL_PATH_MAX);
	sb_adds(out, "/cdn/properties/");
	if (prov_add_segment(out, ep->remote.property_id.s ? ep->remote.property_id.s : "") != 0)
		return -1;
	sb_adds(out, tail);
	return 0;
}

static int get(struct prov_account *pa, const struct endpoint *ep, const char *tail, const char *op,
	       struct http_req *req, struct cf_err *e)
{
	struct sb p;
	memset(req, 0, sizeof(*req));
	if (property_path(ep, tail, &p) != 0) {
		sb_release(&p);
		return err_set(e, CF_EINVAL, "endpoint '%s': bad property_id", ep->name.s);
	}
	int rc = pro_request(pa, ep, "GET", p.buf, op, req, e);
	sb_release(&p);
	return rc;
}

int pro_el_read_req(struct prov_account *pa, const struct endpoint *ep, struct http_req *req,
		    struct cf_err *e)
{
	return get(pa, ep, "", OP_PROPERTY, req, e);
}

int pro_el_read_next(struct prov_account *pa, const struct endpoint *ep,
		     const struct live_state *ls, struct http_req *req, struct cf_err *e)
{
	struct pro_el *pe = ls->priv;
	char tail[EL_PATH_MAX];
	pe->pa = pa;
	if (ls->step == 3) {
		memset(req, 0, sizeof(*req));
		return pro_request(pa, ep, "GET", "/cdn/serviceQuotas/customer/me", OP_QUOTA_EL,
				   req, e);
	}
	if (ls->step == 1)
		snprintf(tail, sizeof(tail), "/versions?sortBy=version&sortOrder=desc&limit=%d",
			 EL_VERSIONS_PAGE);
	else
		snprintf(tail, sizeof(tail), "/versions/%lld", (long long)pe->base);
	return get(pa, ep, tail, ls->step == 1 ? OP_VERSIONS : OP_VERSION, req, e);
}

/* ---- read steps ---- */

/* "2026-11-21T12:00:42Z" (fractions dropped) as unix seconds; 0 when malformed. */
static int64_t rfc3339_secs(const char *s)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
		return 0;
	tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
	tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
	time_t t = timegm(&tm);
	return t == (time_t)-1 ? 0 : (int64_t)t;
}

static int decode_property(struct json_object *root, void *out, struct cf_err *e)
{
	struct pro_el *pe = out;
	const char *st = NULL, *pt = NULL;
	int rc = codec_int(root, "", "versionInStaging", OPT, 0, EL_VERSION_MAX, &pe->in_staging,
			   NULL, e);
	if (rc == 0)
		rc = codec_int(root, "", "versionInProduction", OPT, 0, EL_VERSION_MAX,
			       &pe->in_production, NULL, e);
	if (rc == 0)
		rc = codec_str(root, "", "stagingDeploymentTime", OPT, &st, e);
	if (rc == 0)
		rc = codec_str(root, "", "productionDeploymentTime", OPT, &pt, e);
	pe->staging_at = rfc3339_secs(st);
	pe->production_at = rfc3339_secs(pt);
	return rc;
}

/* "2026-11-21T12:00:42Z" (fractions dropped) as an RFC 1123 date; false when malformed. */
static bool rfc3339_to_1123(const char *s, char *out, size_t n)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
		return false;
	tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
	tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	sign_rfc1123_date(t, out, n);
	return true;
}

static int decode_version_item(struct json_object *it, size_t i, struct pro_el *pe,
			       struct cf_err *e)
{
	int64_t v = 0;
	bool frozen = true;
	const char *desc = NULL, *upd = NULL;
	char what[48];
	snprintf(what, sizeof(what), "propertyVersions[%zu]", i);
	int rc = codec_is(it, what, CODEC_OBJECT, 0, e);
	if (rc == 0)
		rc = codec_int(it, "", "version", 0, 1, EL_VERSION_MAX, &v, NULL, e);
	if (rc == 0)
		rc = codec_bool(it, "", "frozen", OPT, &frozen, NULL, e);
	if (rc == 0)
		rc = codec_str(it, "", "description", OPT, &desc, e);
	if (rc == 0)
		rc = codec_str(it, "", "lastUpdateTime", OPT, &upd, e);
	if (rc != 0)
		return rc;
	pe->newest = v > pe->newest ? v : pe->newest;
	/* the newest unfrozen draft of ours is the one to reuse */
	if (!frozen && desc && strncmp(desc, PRO_DRAFT_MARK, strlen(PRO_DRAFT_MARK)) == 0 &&
	    v > pe->draft) {
		pe->draft = v;
		pe->draft_date[0] = '\0';
		if (upd)
			(void)rfc3339_to_1123(upd, pe->draft_date, sizeof(pe->draft_date));
	}
	return 0;
}

static int decode_versions(struct json_object *root, void *out, struct cf_err *e)
{
	struct json_object *arr;
	size_t n;
	int rc = codec_arr(root, "", "propertyVersions", 0, &arr, &n, e);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = decode_version_item(codec_at(arr, i), i, out, e);
	return rc;
}

static int decode_version(struct json_object *root, void *out, struct cf_err *e)
{
	struct pro_el *pe = out;
	struct json_object *cfg, *origins;
	const char *edge = NULL, *origin = NULL;
	size_t no;
	int rc = codec_obj(root, "", "configs", 0, &cfg, e);
	if (rc == 0)
		rc = codec_str(cfg, "", "edgeLogic", OPT, &edge, e);
	if (rc == 0)
		rc = codec_arr(cfg, "", "origins", OPT, &origins, &no, e);
	if (rc == 0 && no > 0)
		rc = codec_str(codec_at(origins, 0), "", "name", OPT, &origin, e);
	if (rc != 0)
		return rc;
	pe->configs = codec_dup_text(cfg);
	pe->edge = xstrdup(edge ? edge : "");
	pe->origin = origin ? xstrdup(origin) : NULL;
	return 0;
}

/* The region the endpoint's rules compile to, against the foreign Edge Logic read. */
static char *desired_region(const struct endpoint *ep, const struct pro_el *pe)
{
	struct sb sb;
	sb_init(&sb, (size_t)EL_TEXT_MAX * 2);
	el_compile(&ep->cache, pe->origin ? pe->origin : "origin", !pe->doc.root_foreign, &sb);
	char *s = sb_detach(&sb);
	return s ? s : xstrdup("");
}

/* A foreign location's paths, for its note. */
struct fnote {
	size_t loc;
	enum el_step step;
	struct svec paths;
	size_t more;
};

/* The probe paths of the desired rules and of every location's pattern. */
static void probe_paths(const struct endpoint *ep, const struct el_doc *d, struct svec *out)
{
	struct sem_probe p;
	memset(&p, 0, sizeof(p));
	sem_probe_add_cache(&p, &ep->cache);
	el_probe_add(d, &p);
	sem_probe_paths(&p, out);
	sem_probe_release(&p);
}

/* The line, in the live Edge Logic, of after's foreign location i (foreign locations are
 * the same, in the same order, on both sides: only the region changes). */
static unsigned live_line(const struct el_doc *live, const struct el_doc *after, size_t i)
{
	size_t nth = 0;
	for (size_t k = 0; k < i; k++)
		nth += !after->locs[k].owned;
	for (size_t k = 0; k < live->n; k++)
		if (!live->locs[k].owned && nth-- == 0)
			return live->locs[k].line;
	return after->locs[i].line;
}

/* Whether a location's caching is what cacheform's meaning says for the path. */
static bool el_agrees(const struct el_result *r, const struct sem_result *d)
{
	if ((int)r->mode != (int)d->mode)
		return false;
	return r->mode == EL_ORIGIN || r->mode == EL_BYPASS || r->ttl == d->ttl;
}

/* Records that foreign location r.loc takes path (once per path, EL_NOTE_PATHS_MAX named). */
static void note_path(struct fnote *notes, size_t *nn, const struct el_result *r, const char *path)
{
	struct fnote *f = NULL;
	for (size_t k = 0; k < *nn && !f; k++)
		if (notes[k].loc == (size_t)r->loc)
			f = &notes[k];
	if (!f) {
		f = &notes[(*nn)++];
		f->loc = (size_t)r->loc;
		f->step = r->step;
	}
	if (svec_contains(&f->paths, path))
		return;
	if (f->paths.n < EL_NOTE_PATHS_MAX)
		svec_push(&f->paths, path, NULL);
	else
		f->more++;
}

/* The paths foreign locations take from the YAML's meaning: those a YAML rule decides are
 * named first (pass 0), then those the YAML leaves to the origin (pass 1). */
static size_t collect_notes(const struct endpoint *ep, const struct el_eval *ev,
			    const struct svec *probes, struct fnote *notes)
{
	size_t nn = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < probes->n; i++) {
			struct el_result r;
			struct sem_result d;
			el_eval_path(ev, probes->v[i].s, &r);
			sem_desired(&ep->cache, probes->v[i].s, &d);
			if (r.loc < 0 || r.owned || r.uncertain || el_agrees(&r, &d) ||
			    (d.rule == SEM_NO_RULE) != (pass == 1))
				continue;
			note_path(notes, &nn, &r, probes->v[i].s);
		}
	return nn;
}

/* One sentence per foreign location that takes paths, with nginx's step that chose it. */
static void add_notes(const struct pro_el *pe, const struct el_doc *after, struct fnote *notes,
		      size_t nn, struct live_state *out)
{
	for (size_t k = 0; k < nn; k++) {
		const struct el_location *l = &after->locs[notes[k].loc];
		struct sb sb;
		sb_init(&sb, 0);
		sb_addf(&sb, "foreign location '%s%s' (Edge Logic line %u) takes ",
			el_match_mod(l->match), l->pattern,
			live_line(&pe->doc, after, notes[k].loc));
		for (size_t i = 0; i < notes[k].paths.n; i++)
			sb_addf(&sb, "%s%s", i ? ", " : "", notes[k].paths.v[i].s);
		if (notes[k].more)
			sb_addf(&sb, " and %zu more", notes[k].more);
		sb_addf(&sb, " (%s): not cached as the YAML says", el_step_name(notes[k].step));
		svec_push(&out->notes, sb.buf, NULL);
		sb_release(&sb);
		svec_release(&notes[k].paths);
	}
}

/*
 * Notes naming the paths a foreign location takes from the YAML's meaning once the desired
 * region is in place, with the step of nginx's search that chose it (exact match, ^~ prefix,
 * earlier regex, longer prefix): one note per foreign location.
 */
static void foreign_notes(const struct endpoint *ep, const struct pro_el *pe, const char *want,
			  struct live_state *out)
{
	char *text = el_replace_region(pe->edge, strlen(pe->edge), &pe->doc, want);
	struct el_doc after;
	struct el_eval *ev = NULL;
	struct svec probes = {0};
	struct fnote *notes = NULL;
	struct cf_err e;
	memset(&after, 0, sizeof(after));
	if (el_parse(text, strlen(text), &after, &e) != 0 || el_eval_open(&after, &ev, &e) != 0)
		goto done; /* what cannot be parsed fails validation, and the plan says so */
	probe_paths(ep, &after, &probes);
	notes = xcalloc(after.n + 1, sizeof(*notes));
	add_notes(pe, &after, notes, collect_notes(ep, ev, &probes, notes), out);
done:
	free(notes);
	svec_release(&probes);
	el_eval_close(ev);
	el_doc_release(&after);
	free(text);
}

/* The live region's cache-key flags; the YAML's when no region of ours says (then the
 * probes alone tell whether the write changes what a request sees). */
static void region_flags(const struct endpoint *ep, const struct pro_el *pe, struct cache *c)
{
	c->ignore_query_string = ep->cache.ignore_query_string;
	c->ignore_cookie = ep->cache.ignore_cookie;
	el_region_flags(pe->edge, &pe->doc, &c->ignore_query_string, &c->ignore_cookie);
}

/* Makes text (Edge Logic) the SEM_CDNPRO configuration *out. */
static int sem_of_text(const char *text, struct sem_cfg *out, struct cf_err *e)
{
	struct el_doc d;
	memset(&d, 0, sizeof(d));
	out->kind = SEM_CDNPRO;
	int rc = el_parse(text, strlen(text), &d, e);
	return rc == 0 ? sem_el_hook(&d, &out->hook, e) : rc;
}

/*
 * The live rules read back from a region that is exactly what el_compile writes for them
 * (el_decode), in this write's context: the property's origin, and `location /` only when
 * no foreign one exists. Returns NULL with out->cache filled, else why not (into why).
 */
static const char *decode_region(const struct endpoint *ep, const struct pro_el *pe,
				 struct live_state *out, struct sb *why)
{
	const struct el_doc *d = &pe->doc;
	const char *origin = pe->origin ? pe->origin : "origin";
	struct cache c;
	char *o = NULL;
	bool root = false;
	if (!d->has_region)
		return "Edge Logic has no cacheform region";
	if (!d->hash_ok)
		return "the cacheform region was edited by hand (hash mismatch)";
	if (el_decode(pe->edge, d, &ep->cache, &c, &o, &root) != 0)
		return "the cacheform region holds what cacheform does not write";
	if (o && strcmp(o, origin) != 0)
		sb_addf(why,
			"the cacheform region passes to origin '%.64s', not to the property's "
			"first origin '%.64s'",
			o, origin);
	else if (root != !d->root_foreign)
		sb_adds(why, root ? "the cacheform region has its own 'location /' and Edge Logic "
				    "has another"
				  : "the cacheform region has no 'location /' and Edge Logic has "
				    "none outside it");
	free(o);
	if (why->len) {
		cache_release(&c);
		return why->buf;
	}
	out->cache = c;
	/* Edge Logic says Cache-Control only in cached locations */
	out->cache_control_unknown = true;
	for (size_t i = 0; i < c.nrules; i++)
		out->cache_control_unknown &= c.rules[i].ttl == 0;
	return NULL;
}

/* Live rules: the desired ones when the region is byte for byte what they compile to (a
 * region is only ever written by this compiler), else the rules it decodes to; when it
 * decodes to none, a stated difference. */
static void live_from_region(const struct endpoint *ep, struct pro_el *pe, struct live_state *out)
{
	const struct el_doc *d = &pe->doc;
	char *want = desired_region(ep, pe);
	size_t rlen = d->region_end - d->region_begin;
	bool same = d->has_region && d->hash_ok && strlen(want) == rlen &&
		    memcmp(want, pe->edge + d->region_begin, rlen) == 0;
	if (same || (!d->has_region && ep->cache.nrules == 0)) {
		cache_copy(&out->cache, &ep->cache);
	} else {
		struct sb why, ctx;
		sb_init(&ctx, CF_ERR_MSG_MAX);
		const char *reason = decode_region(ep, pe, out, &ctx);
		if (reason) {
			sb_init(&why, CF_ERR_MSG_MAX);
			sb_addf(&why, "version %lld: %s", (long long)pe->base, reason);
			out->inexact = sb_detach(&why);
			region_flags(ep, pe, &out->cache);
		}
		sb_release(&ctx);
		/* what the write changes in the region, as text */
		struct sb diff;
		sb_init(&diff, (size_t)EL_TEXT_MAX * 4);
		if (textdiff_unified(d->has_region ? pe->edge + d->region_begin : "",
				     d->has_region ? rlen : 0, want, strlen(want), &diff) &&
		    !diff.overflow)
			out->text_diff = sb_detach(&diff);
		sb_release(&diff);
	}
	foreign_notes(ep, pe, want, out);
	free(want);
}

static int parse_last(const struct endpoint *ep, const struct http_resp *resp,
		      struct live_state *out, struct pro_el *pe, struct cf_err *e)
{
	int rc = prov_parse_json(ep, OP_VERSION, resp, &el_err, 0, decode_version, pe, e);
	if (rc != 0)
		return rc;
	rc = el_parse(pe->edge, strlen(pe->edge), &pe->doc, e);
	if (rc != 0)
		return prov_decode_error(ep, OP_VERSION, rc, e);
	out->exists = true;
	live_from_region(ep, pe, out);
	/* the whole document, foreign locations too: a regex nginx refuses leaves no evaluator,
	 * and then no behaviour is claimed (pro_el_sem_write refuses as well) */
	struct cf_err se;
	if (sem_of_text(pe->edge, &out->sem, &se) != 0)
		sem_cfg_release(&out->sem);
	prov_digest(out);
	return 0;
}

int pro_el_sem_write(const struct endpoint *ep, const struct live_state *live, struct sem_cfg *out,
		     struct cf_err *e)
{
	const struct pro_el *pe = live ? live->priv : NULL;
	memset(out, 0, sizeof(*out));
	if (ep->mode == MODE_PURGE_ONLY || !pe || !pe->edge || !live->sem.hook.eval)
		return err_set(e, CF_EINVAL, "endpoint '%s': no Edge Logic was read", ep->name.s);
	char *want = desired_region(ep, pe);
	char *text = el_replace_region(pe->edge, strlen(pe->edge), &pe->doc, want);
	int rc = sem_of_text(text, out, e);
	if (rc != 0)
		sem_cfg_release(out);
	free(text);
	free(want);
	return rc;
}

static int decode_quota_el(struct json_object *root, void *out, struct cf_err *e)
{
	bool allow = false, present = false;
	int rc = codec_bool(root, "", "allowProduction", OPT, &allow, &present, e);
	*(int *)out = rc == 0 && present ? allow : -1;
	return rc;
}

/* The service quota's answer (step 3): never fails the read, an unknown stays unknown. */
static int parse_quota(const struct endpoint *ep, const struct http_resp *resp, struct pro_el *pe)
{
	struct cf_err e;
	int allow = -1;
	if (resp->rc == 0 && resp->status == 200 &&
	    prov_parse_json(ep, OP_QUOTA_EL, resp, &el_err, 0, decode_quota_el, &allow, &e) != 0)
		allow = -1;
	if (pe->pa)
		pe->pa->el_allow_production = allow;
	return 0;
}

int pro_el_read_parse(const struct endpoint *ep, const struct http_resp *resp,
		      struct live_state *out, struct cf_err *e)
{
	struct pro_el *pe = out->priv;
	int rc;
	if (out->step == 3)
		return parse_quota(ep, resp, pe);
	if (out->step == 0) {
		pe = xcalloc(1, sizeof(*pe));
		out->priv = pe;
		out->priv_free = el_free;
		rc = prov_parse_json(ep, OP_PROPERTY, resp, &el_err, 0, decode_property, pe, e);
		return rc == 0 ? PROV_MORE : rc;
	}
	if (out->step == 1) {
		rc = prov_parse_json(ep, OP_VERSIONS, resp, &el_err, 0, decode_versions, pe, e);
		if (rc != 0)
			return rc;
		pe->base = is_staging(ep) ? pe->in_staging : pe->in_production;
		if (pe->base == 0)
			pe->base = pe->newest;
		if (pe->base == 0)
			return err_set(e, CF_EAPI, "endpoint '%s': property %s has no version",
				       ep->name.s, ep->remote.property_id.s);
		return PROV_MORE;
	}
	rc = parse_last(ep, resp, out, pe, e);
	/* the first production endpoint of the account reads the service quota once */
	if (rc == 0 && !is_staging(ep) && pe->pa && !pe->pa->el_quota_claimed) {
		pe->pa->el_quota_claimed = true;
		pe->pa->el_allow_production = -1;
		pe->quota_reader = true;
		return PROV_MORE;
	}
	return rc;
}

int pro_el_write_check(const struct endpoint *ep, const struct live_state *live, struct cf_err *e)
{
	const struct pro_el *pe = live->priv;
	if (!pe || !pe->pa || is_staging(ep) || pe->pa->el_allow_production != 0)
		return 0;
	return err_set(e, CF_EAPI,
		       "endpoint '%s' (cdnpro): the customer's service quota says allowProduction: "
		       "false, so CDN Pro refuses deployments to production; nothing was written "
		       "(use target: staging or apply --stage staging, or ask CDNetworks to allow "
		       "production)",
		       ep->name.s);
}

/* ---- write steps ---- */

/* The base version's config with the new Edge Logic and our draft marker. */
static int version_body(const struct endpoint *ep, const struct pro_el *pe, struct sb *out,
			struct cf_err *e)
{
	struct json_object *cfg = NULL;
	char hex[EL_HASH_HEX + 1], desc[128];
	int rc = codec_parse_obj(pe->configs, strlen(pe->configs), &cfg, e);
	if (rc != 0)
		return rc;
	char *region = desired_region(ep, pe);
	char *edge = el_replace_region(pe->edge, strlen(pe->edge), &pe->doc, region);
	el_hash(region, strlen(region), hex);
	snprintf(desc, sizeof(desc), "%s base=%lld region=%.16s", PRO_DRAFT_MARK,
		 (long long)pe->base, hex);
	if (strlen(edge) > EL_TEXT_MAX)
		rc = err_set(e, CF_ELIMIT,
			     "endpoint '%s': the new Edge Logic is %zu bytes, over CDN Pro's %d",
			     ep->name.s, strlen(edge), EL_TEXT_MAX);
	codec_add(cfg, "edgeLogic", codec_new_str(edge));
	codec_add(cfg, "description", codec_new_str(desc));
	if (rc == 0)
		codec_write(out, cfg, CODEC_COMPACT);
	codec_put(cfg);
	free(edge);
	free(region);
	return rc;
}

/* The PATCH of the draft (If-Unmodified-Since its lastUpdateTime) or the POST of a new version. */
static int build_write(struct prov_account *pa, const struct endpoint *ep, struct pro_el *pe,
		       struct http_req *req, struct cf_err *e)
{
	struct sb body, path;
	char tail[64];
	sb_init(&body, (size_t)EL_TEXT_MAX * 4);
	int rc = version_body(ep, pe, &body, e);
	if (pe->draft)
		snprintf(tail, sizeof(tail), "/versions/%lld", (long long)pe->draft);
	else
		snprintf(tail, sizeof(tail), "/versions");
	if (rc == 0 && property_path(ep, tail, &path) == 0)
		rc = pro_request(pa, ep, pe->draft ? "PATCH" : "POST", path.buf, OP_WRITE, req, e);
	else if (rc == 0)
		rc = err_set(e, CF_EINVAL, "endpoint '%s': bad property_id", ep->name.s);
	sb_release(&path);
	if (rc == 0 && pe->draft && pe->draft_date[0])
		http_req_header(req, "If-Unmodified-Since", pe->draft_date);
	if (rc == 0)
		rc = prov_req_json(req, &body, e);
	/* a new version's number comes from the 201's Location (write_next); this guess is
	 * kept only when the answer has none */
	pe->written = pe->draft ? pe->draft : pe->newest + 1;
	pe->next = PH_VALIDATE;
	sb_release(&body);
	if (rc != 0)
		http_req_release(req);
	return rc;
}

int pro_el_write_req(struct prov_account *pa, const struct endpoint *ep,
		     const struct live_state *live, struct http_req *req, struct cf_err *e)
{
	struct pro_el *pe = live->priv;
	memset(req, 0, sizeof(*req));
	if (!pe || !pe->configs)
		return err_set(e, CF_EINVAL, "endpoint '%s': the property was not read",
			       ep->name.s);
	pe->retried = false;
	return build_write(pa, ep, pe, req, e);
}

static int post_json(struct prov_account *pa, const struct endpoint *ep, const char *path,
		     const char *op, struct sb *body, struct http_req *req, struct cf_err *e)
{
	int rc = pro_request(pa, ep, "POST", path, op, req, e);
	if (rc == 0)
		rc = prov_req_json(req, body, e);
	if (rc != 0)
		http_req_release(req);
	return rc;
}

/* "staging" or "production": where the endpoint deploys. */
static const char *target_name(const struct endpoint *ep)
{
	return is_staging(ep) ? "staging" : "production";
}

/* One deploy_property action per endpoint, in one task for their common target. */
static void deploy_body(const struct endpoint *const *eps, const struct live_state *const *lives,
			size_t n, struct sb *body)
{
	sb_addf(body, "{\"name\":\"%s\",\"target\":\"%s\",\"actions\":[", EL_DEPLOY_NAME,
		target_name(eps[0]));
	for (size_t i = 0; i < n; i++) {
		struct pro_el *pe = lives[i]->priv;
		sb_adds(body, i ? ",{\"action\":\"deploy_property\",\"propertyId\":"
				: "{\"action\":\"deploy_property\",\"propertyId\":");
		sb_add_json_str(body, eps[i]->remote.property_id.s);
		sb_addf(body, ",\"version\":%lld}", (long long)pe->written);
		pe->next = PH_DONE;
	}
	sb_adds(body, "]}");
}

/* A decimal version number (a created version's Location), or 0. */
static int64_t version_of(const char *id)
{
	int64_t v = 0;
	if (!id || !id[0] || strlen(id) > 10)
		return 0;
	for (const char *p = id; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (*p - '0');
	}
	return v <= EL_VERSION_MAX ? v : 0;
}

/* After a 412 on the draft's PATCH: GET the draft once for its new Last-Modified. */
static int reread_draft(struct prov_account *pa, const struct endpoint *ep, struct pro_el *pe,
			struct http_req *req, struct cf_err *e)
{
	char tail[64];
	if (pe->retried || !pe->draft)
		return err_set(e, CF_ECONFLICT,
			       "endpoint '%s' (cdnpro): %s %lld: HTTP 412: cacheform's draft "
			       "version changed again after it was re-read (someone else writes "
			       "it); run plan again",
			       ep->name.s, OP_WRITE, (long long)pe->draft);
	pe->retried = true;
	pe->next = PH_REWRITE;
	snprintf(tail, sizeof(tail), "/versions/%lld", (long long)pe->draft);
	int rc = get(pa, ep, tail, OP_REREAD, req, e);
	return rc < 0 ? rc : PROV_MORE;
}

int pro_el_write_next(struct prov_account *pa, const struct endpoint *ep,
		      const struct live_state *live, struct http_req *req, struct cf_err *e)
{
	struct pro_el *pe = live->priv;
	const char *prev = live->wprev_id;
	struct sb body;
	int rc;
	memset(req, 0, sizeof(*req));
	if (prev && strcmp(prev, EL_CONFLICT_ID) == 0)
		return reread_draft(pa, ep, pe, req, e);
	if (pe->next == PH_REWRITE) {
		if (prev && strncmp(prev, EL_SINCE_PREFIX, strlen(EL_SINCE_PREFIX)) == 0)
			snprintf(pe->draft_date, sizeof(pe->draft_date), "%s",
				 prev + strlen(EL_SINCE_PREFIX));
		rc = build_write(pa, ep, pe, req, e);
		return rc < 0 ? rc : PROV_MORE;
	}
	if (pe->next == PH_DONE)
		return 0;
	sb_init(&body, EL_PATH_MAX * 2);
	if (pe->next == PH_VALIDATE) {
		if (version_of(prev))
			pe->written = version_of(prev);
		sb_adds(&body, "{\"propertyId\":");
		sb_add_json_str(&body, ep->remote.property_id.s);
		sb_addf(&body, ",\"version\":%lld}", (long long)pe->written);
		rc = post_json(pa, ep, "/cdn/validations", OP_VALIDATE, &body, req, e);
		pe->next = PH_DEPLOY;
	} else {
		deploy_body(&ep, &live, 1, &body);
		rc = post_json(pa, ep, "/cdn/deploymentTasks", OP_DEPLOY, &body, req, e);
	}
	sb_release(&body);
	return rc < 0 ? rc : PROV_MORE;
}

const char *pro_el_write_join(const struct endpoint *ep, const struct live_state *live, char *buf,
			      size_t n)
{
	const struct pro_el *pe = live->priv;
	if (!pe || pe->next != PH_DEPLOY ||
	    (live->wprev_id && strcmp(live->wprev_id, EL_CONFLICT_ID) == 0))
		return NULL;
	snprintf(buf, n, "deploy %s", target_name(ep));
	return buf;
}

int pro_el_write_join_req(struct prov_account *pa, const struct endpoint *const *eps,
			  const struct live_state *const *lives, size_t n, struct http_req *req,
			  struct cf_err *e)
{
	struct sb body;
	memset(req, 0, sizeof(*req));
	if (n == 0)
		return err_set(e, CF_EINVAL, "a deployment task without a property");
	sb_init(&body, (size_t)EL_PATH_MAX * (n + 1));
	deploy_body(eps, lives, n, &body);
	int rc = body.overflow
		     ? err_set(e, CF_ELIMIT, "the deployment task's body is too large")
		     : post_json(pa, eps[0], "/cdn/deploymentTasks", OP_DEPLOY, &body, req, e);
	sb_release(&body);
	return rc;
}

/* 201 + Location of a validation or deployment task: poll it under base_url by its id. */
static int task_from_location(const struct endpoint *ep, const struct http_resp *resp,
			      const char *prefix, const char *op, struct task *t, struct cf_err *e)
{
	const char *loc = http_resp_header(resp, "location");
	char *id = loc && prov_header_url_ok(loc) ? prov_last_segment(prov_url_path(loc)) : NULL;
	if (!id || !prov_valid_id(id) || strspn(id, ".") == strlen(id)) {
		free(id);
		return prov_decode_error(
		    ep, op,
		    err_set(e, CF_EAPI, "no usable Location header ('%.80s')", loc ? loc : ""), e);
	}
	struct sb p;
	sb_init(&p, EL_PATH_MAX);
	sb_addf(&p, "%s%s", prefix, id);
	prov_task_running(t, resp, id, p.buf);
	sb_release(&p);
	return 0;
}

/* Appends what to do to e's message (cut at its capacity). */
static void el_hint(struct cf_err *e, const char *hint)
{
	size_t len = strlen(e->msg);
	snprintf(e->msg + len, sizeof(e->msg) - len, "%s", hint);
}

/*
 * A refused write, with what to do for the two refusals a user cannot read from the code
 * alone: a production deployment CDN Pro does not allow (403: the service quota's
 * allowProduction, or the API account's deploymentTasks permission, reference §2.6) and an
 * advanced directive the customer is not granted (UnauthorizedDirective).
 */
static int el_api_error(const struct endpoint *ep, const char *op, const struct http_resp *resp,
			struct cf_err *e)
{
	struct json_object *root = NULL;
	const char *code = NULL, *msg = NULL;
	prov_error_fields(resp, &el_err, &root, &code, &msg);
	bool refused =
	    resp->status == 403 && !is_staging(ep) &&
	    (!code || strcmp(code, "AccessDenied") == 0 || strcmp(code, "Forbidden") == 0);
	/* a refusal of production is the deployment's (the error has no Location to tell) */
	int rc = prov_api_error(ep, refused ? OP_DEPLOY : op, resp, &el_err, e);
	if (refused)
		el_hint(e, " (production is refused: the customer's service quota lacks "
			   "allowProduction, or the API account's deploymentTasks permission is "
			   "'staging'; deploy with target: staging or ask CDNetworks)");
	else if (code && strcmp(code, "UnauthorizedDirective") == 0)
		el_hint(e, " (cacheform's region uses standard directives only: the directive "
			   "is in the property's own Edge Logic, and the customer's "
			   "allowedCacheDirectives must grant it; nothing was written)");
	codec_put(root);
	return rc;
}

int pro_el_write_parse(const struct endpoint *ep, const struct http_resp *resp, struct task *out,
		       struct cf_err *e)
{
	int rc = prov_resp_transport(resp, e);
	memset(out, 0, sizeof(*out));
	if (rc != 0)
		return rc;
	const char *loc = http_resp_header(resp, "location");
	const char *path = loc && prov_header_url_ok(loc) ? prov_url_path(loc) : "";
	bool validation = strstr(path, "/cdn/validations/") != NULL;
	bool deployment = strstr(path, "/cdn/deploymentTasks/") != NULL;
	const char *op = validation ? OP_VALIDATE : deployment ? OP_DEPLOY : OP_WRITE;
	if (resp->status == 412) {
		/* the draft changed since it was read: write_next re-reads it once */
		out->state = TASK_SUCCEEDED;
		out->id = xstrdup(EL_CONFLICT_ID);
		return 0;
	}
	if (resp->status != 201 && resp->status != 204 && resp->status != 200)
		return el_api_error(ep, op, resp, e);
	if (validation)
		return task_from_location(ep, resp, "/cdn/validations/", op, out, e);
	if (deployment)
		return task_from_location(ep, resp, "/cdn/deploymentTasks/", op, out, e);
	out->state = TASK_SUCCEEDED;
	if (resp->status == 201 && strstr(path, "/versions/")) {
		/* a created version: its number is the Location's last segment */
		out->id = prov_last_segment(path);
		if (out->id && !version_of(out->id)) {
			free(out->id);
			out->id = NULL;
		}
	} else if (resp->status == 200 && http_resp_header(resp, "last-modified")) {
		/* the draft re-read after a 412: its new date for the next PATCH */
		struct sb id;
		sb_init(&id, SIGN_RFC1123_DATE_MAX + sizeof(EL_SINCE_PREFIX));
		sb_addf(&id, "%s%s", EL_SINCE_PREFIX, http_resp_header(resp, "last-modified"));
		out->id = id.overflow ? NULL : sb_detach(&id);
		sb_release(&id);
	}
	return 0;
}

/* ---- staging and promotion (apply --stage staging, apply --promote) ---- */

int pro_el_deployed(const struct live_state *ls, struct pro_el_deployed *out)
{
	const struct pro_el *pe = ls->priv;
	memset(out, 0, sizeof(*out));
	if (!pe)
		return CF_EINVAL;
	out->staging = pe->in_staging;
	out->production = pe->in_production;
	out->staging_at = pe->staging_at;
	out->production_at = pe->production_at;
	return 0;
}

int pro_el_promote_req(struct prov_account *pa, const struct endpoint *const *eps,
		       const int64_t *versions, size_t n, struct http_req *req, struct cf_err *e)
{
	struct sb body;
	memset(req, 0, sizeof(*req));
	if (n == 0)
		return err_set(e, CF_EINVAL, "a deployment task without a property");
	sb_init(&body, (size_t)EL_PATH_MAX * (n + 1));
	sb_addf(&body, "{\"name\":\"%s promote\",\"target\":\"production\",\"actions\":[",
		EL_DEPLOY_NAME);
	for (size_t i = 0; i < n; i++) {
		sb_adds(&body, i ? "," : "");
		sb_adds(&body, "{\"action\":\"deploy_property\",\"propertyId\":");
		sb_add_json_str(&body, eps[i]->remote.property_id.s);
		sb_addf(&body, ",\"version\":%lld}", (long long)versions[i]);
	}
	sb_adds(&body, "]}");
	int rc = body.overflow
		     ? err_set(e, CF_ELIMIT, "the deployment task's body is too large")
		     : post_json(pa, eps[0], "/cdn/deploymentTasks", OP_DEPLOY, &body, req, e);
	sb_release(&body);
	return rc;
}

int pro_el_staging_req(struct prov_account *pa, const struct endpoint *ep, struct http_req *req,
		       struct cf_err *e)
{
	memset(req, 0, sizeof(*req));
	return pro_request(pa, ep, "GET", "/cdn/stagingServers", OP_STAGING, req, e);
}

struct staging_ip {
	char *buf;
	size_t n;
};

static int decode_staging(struct json_object *root, void *out, struct cf_err *e)
{
	struct staging_ip *o = out;
	struct json_object *arr;
	size_t n;
	int rc = codec_arr(root, "", "stagingServers", 0, &arr, &n, e);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *ip = NULL;
		int64_t v = 4;
		rc = codec_str(codec_at(arr, i), "", "ip", 0, &ip, e);
		if (rc == 0)
			rc = codec_int(codec_at(arr, i), "", "ipVersion", OPT, 4, 6, &v, NULL, e);
		/* the first IPv4 server: a "HOST:PORT" connect_to takes no brackets */
		if (rc == 0 && v == 4 && !o->buf[0])
			snprintf(o->buf, o->n, "%s", ip);
	}
	if (rc == 0 && !o->buf[0])
		rc = err_set(e, CF_EAPI, "no IPv4 staging server listed");
	return rc;
}

int pro_el_staging_parse(const struct endpoint *ep, const struct http_resp *resp, char *ip,
			 size_t n, struct cf_err *e)
{
	struct staging_ip o = {ip, n};
	ip[0] = '\0';
	return prov_parse_json(ep, OP_STAGING, resp, &el_err, 0, decode_staging, &o, e);
}
