#include "reconcile/base/compat.h"
#include "reconcile/ledger.h"

#include <stdlib.h>
#include <string.h>

#include "reconcile/codec.h"
#include "reconcile/planfile.h"
#include "reconcile/base/xmem.h"

#define LEDGER_MAX_DEPTH 16

/* Records are cacheform's own documents; every member is optional (older records lack some). */
#define LF (CODEC_FILE | CODEC_OPTIONAL)

const char *ledger_status_name(enum ledger_status s)
{
	static const char *const names[] = {"submitted", "succeeded", "failed",
					    "marked",	 "unknown",   "claimed"};
	return (size_t)s < CF_ARRAY_LEN(names) ? names[s] : "?";
}

bool ledger_status_final(enum ledger_status s)
{
	return s != LEDGER_SUBMITTED && s != LEDGER_UNKNOWN && s != LEDGER_CLAIMED;
}

static int ledger_status_parse(const char *s, enum ledger_status *out)
{
	for (int i = LEDGER_SUBMITTED; i <= LEDGER_CLAIMED; i++)
		if (strcmp(s, ledger_status_name((enum ledger_status)i)) == 0) {
			*out = (enum ledger_status)i;
			return 0;
		}
	return -1;
}

const char *ledger_task_state_name(enum ledger_task_state s)
{
	static const char *const names[] = {"running", "succeeded", "failed", "unknown"};
	return (size_t)s < CF_ARRAY_LEN(names) ? names[s] : "?";
}

static int ledger_task_state_parse(const char *s, enum ledger_task_state *out)
{
	for (int i = LTASK_RUNNING; i <= LTASK_UNKNOWN; i++)
		if (strcmp(s, ledger_task_state_name((enum ledger_task_state)i)) == 0) {
			*out = (enum ledger_task_state)i;
			return 0;
		}
	return -1;
}

void ledger_init(struct ledger *l)
{
	memset(l, 0, sizeof(*l));
}

void ledger_purge_release(struct ledger_purge *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->endpoint);
	free(p->account);
	free(p->message);
	free(p->claim_by);
	ledger_purge_clear_tasks(p);
	memset(p, 0, sizeof(*p));
}

void ledger_purge_clear_tasks(struct ledger_purge *p)
{
	for (size_t i = 0; i < p->ntasks; i++) {
		free(p->tasks[i].id);
		free(p->tasks[i].poll_url);
	}
	free(p->tasks);
	p->tasks = NULL;
	p->ntasks = p->tcap = 0;
}

void ledger_endpoint_release(struct ledger_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->name);
	free(ep->account);
	cache_release(&ep->cache);
	memset(ep, 0, sizeof(*ep));
}

void ledger_release(struct ledger *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->npurges; i++)
		ledger_purge_release(&l->purges[i]);
	free(l->purges);
	for (size_t i = 0; i < l->nendpoints; i++)
		ledger_endpoint_release(&l->endpoints[i]);
	free(l->endpoints);
	memset(l, 0, sizeof(*l));
}

void ledger_purge_add_task(struct ledger_purge *p, const char *id, const char *poll_url,
			   bool preload)
{
	xgrow(&p->tasks, &p->tcap, p->ntasks + 1, sizeof(*p->tasks));
	struct ledger_task *t = &p->tasks[p->ntasks++];
	t->id = xstrdup(id ? id : "");
	t->poll_url = xstrdup(poll_url);
	t->preload = preload;
	t->batch = -1;
	t->state = LTASK_RUNNING;
}

void ledger_purge_push_task(struct ledger_purge *p, const struct ledger_task *t)
{
	ledger_purge_add_task(p, t->id, t->poll_url, t->preload);
	p->tasks[p->ntasks - 1].batch = t->batch;
	p->tasks[p->ntasks - 1].state = t->state;
}

void ledger_purge_copy(struct ledger_purge *dst, const struct ledger_purge *src)
{
	*dst = *src;
	dst->id = xstrdup(src->id);
	dst->endpoint = xstrdup(src->endpoint);
	dst->account = xstrdup(src->account);
	dst->message = xstrdup(src->message);
	dst->claim_by = xstrdup(src->claim_by);
	dst->tasks = NULL;
	dst->ntasks = dst->tcap = 0;
	for (size_t i = 0; i < src->ntasks; i++)
		ledger_purge_push_task(dst, &src->tasks[i]);
}

void ledger_endpoint_copy(struct ledger_endpoint *dst, const struct ledger_endpoint *src)
{
	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->account = xstrdup(src->account);
	cache_copy(&dst->cache, &src->cache);
}

struct ledger_purge *ledger_find_purge(const struct ledger *l, const char *id, const char *endpoint)
{
	for (size_t i = 0; i < l->npurges; i++)
		if (strcmp(l->purges[i].id, id) == 0 &&
		    strcmp(l->purges[i].endpoint, endpoint) == 0)
			return &l->purges[i];
	return NULL;
}

struct ledger_endpoint *ledger_find_endpoint(const struct ledger *l, const char *name)
{
	for (size_t i = 0; i < l->nendpoints; i++)
		if (strcmp(l->endpoints[i].name, name) == 0)
			return &l->endpoints[i];
	return NULL;
}

void ledger_put_purge(struct ledger *l, const struct ledger_purge *p)
{
	struct ledger_purge *old = ledger_find_purge(l, p->id, p->endpoint);
	if (old) {
		struct ledger_purge copy;
		ledger_purge_copy(&copy, p);
		ledger_purge_release(old);
		*old = copy;
		return;
	}
	xgrow(&l->purges, &l->pcap, l->npurges + 1, sizeof(*l->purges));
	ledger_purge_copy(&l->purges[l->npurges++], p);
}

void ledger_put_endpoint(struct ledger *l, const struct ledger_endpoint *ep)
{
	struct ledger_endpoint *old = ledger_find_endpoint(l, ep->name);
	if (old) {
		struct ledger_endpoint copy;
		ledger_endpoint_copy(&copy, ep);
		ledger_endpoint_release(old);
		*old = copy;
		return;
	}
	xgrow(&l->endpoints, &l->ecap, l->nendpoints + 1, sizeof(*l->endpoints));
	ledger_endpoint_copy(&l->endpoints[l->nendpoints++], ep);
}

/* a + b for a, b >= 0, stopping at INT64_MAX: counts come from records other pipelines push,
 * and an absurd one must read as "quota spent", not overflow. */
static int64_t add_saturating(int64_t a, int64_t b)
{
	return b > INT64_MAX - a ? INT64_MAX : a + b;
}

void ledger_usage(const struct ledger *l, const char *account, int64_t since, int64_t until,
		  int64_t *files, int64_t *dirs)
{
	*files = *dirs = 0;
	for (size_t i = 0; i < l->npurges; i++) {
		const struct ledger_purge *p = &l->purges[i];
		if (!p->account || strcmp(p->account, account) != 0 || p->status == LEDGER_MARKED)
			continue;
		if (p->submitted_at < since || p->submitted_at >= until)
			continue;
		*files = add_saturating(*files, p->files);
		*dirs = add_saturating(*dirs, p->dirs);
	}
}

void ledger_path_component(const char *s, struct sb *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '_' || c == '-' || (c == '.' && i > 0);
		if (keep) {
			sb_addc(out, (char)c);
		} else {
			sb_addc(out, '%');
			sb_addc(out, hex[c >> 4]);
			sb_addc(out, hex[c & 15]);
		}
	}
}

/* ---- codec ---- */

static struct json_object *jtime(int64_t t)
{
	if (!t)
		return NULL;
	char buf[32];
	planfile_time_format(t, buf, sizeof(buf));
	return codec_new_str(buf);
}

static int emit(struct json_object *o, struct sb *out)
{
	int rc = codec_write(out, o, CODEC_PRETTY) < 0 || sb_addc(out, '\n') < 0 ? -1 : 0;
	codec_put(o);
	return rc;
}

int ledger_purge_encode(const struct ledger_purge *p, struct sb *out)
{
	struct json_object *o = codec_new_obj();
	codec_add(o, "format_version", codec_new_int(LEDGER_FORMAT_VERSION));
	codec_add(o, "purge", codec_new_str(p->id));
	codec_add(o, "endpoint", codec_new_str(p->endpoint));
	codec_add(o, "account", codec_new_str(p->account));
	codec_add(o, "content_hash", codec_new_str(p->content_hash));
	codec_add(o, "status", codec_new_str(ledger_status_name(p->status)));
	struct json_object *tasks = codec_new_arr();
	for (size_t i = 0; i < p->ntasks; i++) {
		struct json_object *t = codec_new_obj();
		codec_add(t, "id", codec_new_str(p->tasks[i].id));
		codec_add(t, "poll_url", codec_new_str(p->tasks[i].poll_url));
		codec_add(t, "preload", codec_new_bool(p->tasks[i].preload));
		if (p->tasks[i].batch >= 0)
			codec_add(t, "batch", codec_new_int(p->tasks[i].batch));
		codec_add(t, "state", codec_new_str(ledger_task_state_name(p->tasks[i].state)));
		codec_push(tasks, t);
	}
	codec_add(o, "tasks", tasks);
	codec_add(o, "batches", codec_new_int((int64_t)p->batches));
	codec_add(o, "files", codec_new_int(p->files));
	codec_add(o, "dirs", codec_new_int(p->dirs));
	codec_add(o, "submitted_at", jtime(p->submitted_at));
	codec_add(o, "finished_at", jtime(p->finished_at));
	codec_add(o, "desired_commit", p->commit[0] ? codec_new_str(p->commit) : NULL);
	codec_add(o, "message", codec_new_str(p->message));
	if (p->claim_by) {
		codec_add(o, "claim_by", codec_new_str(p->claim_by));
		codec_add(o, "claimed_at", jtime(p->claimed_at));
		codec_add(o, "claims", codec_new_int(p->claims));
	}
	return emit(o, out);
}

int ledger_endpoint_encode(const struct ledger_endpoint *ep, struct sb *out)
{
	struct json_object *o = codec_new_obj();
	codec_add(o, "format_version", codec_new_int(LEDGER_FORMAT_VERSION));
	codec_add(o, "endpoint", codec_new_str(ep->name));
	codec_add(o, "account", codec_new_str(ep->account));
	codec_add(o, "desired_commit", ep->commit[0] ? codec_new_str(ep->commit) : NULL);
	codec_add(o, "live_digest", codec_new_str(ep->digest));
	codec_add(o, "applied_at", jtime(ep->applied_at));
	codec_add(o, "rules_applied", codec_new_int((int64_t)ep->cache.nrules));
	codec_add(o, "cache", planfile_cache_to_json(&ep->cache));
	return emit(o, out);
}

static struct json_object *parse(const char *json, size_t len, struct cf_err *e)
{
	if (len > LEDGER_RECORD_MAX) {
		err_set(e, CF_ELIMIT, "ledger record larger than %zu bytes", LEDGER_RECORD_MAX);
		return NULL;
	}
	const char *why;
	size_t at;
	struct json_object *o = codec_parse_doc(json, len, LEDGER_MAX_DEPTH, &why, &at);
	if (!o || codec_type_of(o) != CODEC_OBJECT) {
		err_set(e, CF_EINVAL, "ledger record is not a JSON object%s%s", why ? ": " : "",
			why ? why : "");
		codec_put(o);
		o = NULL;
	}
	return o;
}

/* Optional string member, copied (NULL when absent or null). */
static int opt_str(struct json_object *o, const char *at, const char *k, char **dst,
		   struct cf_err *e)
{
	const char *s;
	*dst = NULL;
	if (codec_str(o, at, k, LF, &s, e) < 0)
		return CF_EINVAL;
	*dst = s ? xstrdup(s) : NULL;
	return 0;
}

static int opt_fixed(struct json_object *o, const char *k, char *dst, size_t n, struct cf_err *e)
{
	const char *s;
	dst[0] = 0;
	if (codec_str(o, "", k, LF, &s, e) < 0)
		return CF_EINVAL;
	if (s && strlen(s) >= n)
		return codec_err(e, CODEC_FILE, k, "too long");
	if (s)
		memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int opt_int(struct json_object *o, const char *k, int64_t *dst, struct cf_err *e)
{
	*dst = 0;
	return codec_int(o, "", k, LF, 0, INT64_MAX, dst, NULL, e);
}

/*
 * A record written by a newer cacheform (another format_version) is refused rather than read
 * with this version's meaning; a record without one predates the field.
 */
static int check_format(struct json_object *o, struct cf_err *e)
{
	int64_t v;
	if (opt_int(o, "format_version", &v, e) < 0)
		return CF_EINVAL;
	if (v != 0 && v != LEDGER_FORMAT_VERSION)
		return err_set(e, CF_EINVAL,
			       "ledger record has format_version %lld; this cacheform reads %d "
			       "(upgrade cacheform)",
			       (long long)v, LEDGER_FORMAT_VERSION);
	return 0;
}

static int opt_time(struct json_object *o, const char *k, int64_t *dst, struct cf_err *e)
{
	char buf[40];
	*dst = 0;
	if (opt_fixed(o, k, buf, sizeof(buf), e) < 0)
		return CF_EINVAL;
	if (buf[0] && planfile_time_parse(buf, dst) < 0)
		return codec_err(e, CODEC_FILE, k, "not a UTC time");
	return 0;
}

/* One task of "tasks": an id, and batch and state when present (older records lack them). */
static int task_from_json(struct json_object *t, const char *at, struct ledger_task *lt,
			  struct cf_err *e)
{
	const char *state = NULL;
	int64_t batch = -1;
	lt->state = LTASK_RUNNING;
	if (codec_is(t, at, CODEC_OBJECT, CODEC_FILE, e) < 0 ||
	    opt_str(t, at, "id", &lt->id, e) < 0 ||
	    opt_str(t, at, "poll_url", &lt->poll_url, e) < 0 ||
	    codec_bool(t, at, "preload", LF, &lt->preload, NULL, e) < 0 ||
	    codec_int(t, at, "batch", LF, 0, LEDGER_MAX_TASKS - 1, &batch, NULL, e) < 0 ||
	    codec_str(t, at, "state", LF, &state, e) < 0)
		return CF_EINVAL;
	struct codec_path p;
	if (state && ledger_task_state_parse(state, &lt->state) < 0)
		return codec_err(e, CODEC_FILE, codec_path_key(&p, at, "state"),
				 "not a known state");
	if (!lt->id)
		return codec_err(e, CODEC_FILE, codec_path_key(&p, at, "id"), "missing");
	lt->batch = batch;
	return 0;
}

static int purge_tasks(struct json_object *o, struct ledger_purge *p, struct cf_err *e)
{
	struct json_object *a;
	size_t n;
	if (codec_arr(o, "", "tasks", CODEC_FILE, &a, &n, e) < 0)
		return CF_EINVAL;
	if (n > LEDGER_MAX_TASKS)
		return err_set(e, CF_ELIMIT, "ledger record has too many tasks");
	for (size_t i = 0; i < n; i++) {
		struct ledger_task lt = {0};
		struct codec_path at;
		int rc = task_from_json(codec_at(a, i), codec_path_idx(&at, "tasks", i), &lt, e);
		if (rc == 0)
			ledger_purge_push_task(p, &lt);
		free(lt.id);
		free(lt.poll_url);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int ledger_purge_decode(const char *json, size_t len, struct ledger_purge *out, struct cf_err *e)
{
	memset(out, 0, sizeof(*out));
	struct json_object *o = parse(json, len, e);
	if (!o)
		return CF_EINVAL;
	char status[16];
	int64_t batches = 0;
	int rc = CF_EINVAL;
	if (check_format(o, e) < 0 || opt_str(o, "", "purge", &out->id, e) < 0 ||
	    opt_str(o, "", "endpoint", &out->endpoint, e) < 0 ||
	    opt_str(o, "", "account", &out->account, e) < 0 ||
	    opt_fixed(o, "content_hash", out->content_hash, sizeof(out->content_hash), e) < 0 ||
	    opt_fixed(o, "status", status, sizeof(status), e) < 0 || purge_tasks(o, out, e) < 0 ||
	    opt_int(o, "batches", &batches, e) < 0 || opt_int(o, "files", &out->files, e) < 0 ||
	    opt_int(o, "dirs", &out->dirs, e) < 0 ||
	    opt_time(o, "submitted_at", &out->submitted_at, e) < 0 ||
	    opt_time(o, "finished_at", &out->finished_at, e) < 0 ||
	    opt_fixed(o, "desired_commit", out->commit, sizeof(out->commit), e) < 0 ||
	    opt_str(o, "", "message", &out->message, e) < 0 ||
	    opt_str(o, "", "claim_by", &out->claim_by, e) < 0 ||
	    opt_time(o, "claimed_at", &out->claimed_at, e) < 0 ||
	    opt_int(o, "claims", &out->claims, e) < 0)
		goto out;
	if (!out->id || !out->endpoint || ledger_status_parse(status, &out->status) < 0) {
		err_set(e, CF_EINVAL, "ledger record lacks purge, endpoint or a known status");
		goto out;
	}
	out->batches = (size_t)batches;
	rc = 0;
out:
	if (rc < 0)
		ledger_purge_release(out);
	codec_put(o);
	return rc;
}

int ledger_endpoint_decode(const char *json, size_t len, struct ledger_endpoint *out,
			   struct cf_err *e)
{
	memset(out, 0, sizeof(*out));
	struct json_object *o = parse(json, len, e), *cache;
	if (!o)
		return CF_EINVAL;
	int rc = CF_EINVAL;
	if (check_format(o, e) < 0 || opt_str(o, "", "endpoint", &out->name, e) < 0 ||
	    opt_str(o, "", "account", &out->account, e) < 0 ||
	    opt_fixed(o, "desired_commit", out->commit, sizeof(out->commit), e) < 0 ||
	    opt_fixed(o, "live_digest", out->digest, sizeof(out->digest), e) < 0 ||
	    opt_time(o, "applied_at", &out->applied_at, e) < 0)
		goto out;
	if (!out->name) {
		err_set(e, CF_EINVAL, "ledger endpoint record lacks 'endpoint'");
		goto out;
	}
	if (codec_obj(o, "", "cache", LF, &cache, e) < 0 ||
	    (cache && planfile_cache_from_json(cache, &out->cache, e) < 0))
		goto out;
	rc = 0;
out:
	if (rc < 0)
		ledger_endpoint_release(out);
	codec_put(o);
	return rc;
}
