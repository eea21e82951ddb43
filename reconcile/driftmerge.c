#include "reconcile/base/compat.h"
#include "reconcile/driftmerge.h"

#include <stdlib.h>
#include <string.h>

#include "reconcile/codec.h"
#include "reconcile/drift.h"
#include "reconcile/base/xmem.h"

#define DM_HASH_MIN 64 /* smallest endpoint-name table */

struct dm_shard {
	char *name; /* the file it came from */
	struct json_object *doc;
};

struct driftmerge {
	struct dm_shard *shards;
	size_t nshards;
	unsigned count; /* the shards' --shard N; 0 until the first report */
	char *commit, *ledger, *budget;
	bool ledgers_differ, drift;
	int64_t sums[DRIFT_ERROR + 1]; /* summary counts summed over the shards */
	struct json_object **eps;      /* borrowed from the shards' documents */
	size_t neps, epcap;
	char **seen; /* open-addressing set of endpoint names (borrowed) */
	size_t seencap;
};

struct driftmerge *driftmerge_new(void)
{
	return xcalloc(1, sizeof(struct driftmerge));
}

void driftmerge_free(struct driftmerge *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nshards; i++) {
		free(m->shards[i].name);
		codec_put(m->shards[i].doc);
	}
	free(m->shards);
	free(m->commit);
	free(m->ledger);
	free(m->budget);
	free(m->eps);
	free(m->seen);
	free(m);
}

static uint64_t dm_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

/* Inserts name; returns false when it was there already. */
static bool seen_insert(struct driftmerge *m, const char *name)
{
	if ((m->neps + 1) * 2 > m->seencap) {
		size_t cap = m->seencap ? m->seencap * 2 : DM_HASH_MIN;
		char **t = xcalloc(cap, sizeof(*t));
		for (size_t i = 0; i < m->seencap; i++)
			if (m->seen[i]) {
				size_t j = dm_hash(m->seen[i]) & (cap - 1);
				while (t[j])
					j = (j + 1) & (cap - 1);
				t[j] = m->seen[i];
			}
		free(m->seen);
		m->seen = t;
		m->seencap = cap;
	}
	size_t j = dm_hash(name) & (m->seencap - 1);
	for (; m->seen[j]; j = (j + 1) & (m->seencap - 1))
		if (strcmp(m->seen[j], name) == 0)
			return false;
	m->seen[j] = (char *)name;
	return true;
}

/* Prefixes e's message with "name: " and what (e's own buffer cannot be its own argument). */
static int in_file(struct cf_err *e, const char *name, const char *what)
{
	char msg[sizeof(e->msg)];
	snprintf(msg, sizeof(msg), "%s", e->msg);
	return err_set(e, CF_EINVAL, "%s: %s%s", name, what, msg);
}

/* Reads the shard member: index, count and budget; an unsharded report is 1 of 1, whole. */
static int read_shard(struct json_object *doc, const char *name, unsigned *index, unsigned *count,
		      const char **budget, struct cf_err *e)
{
	struct json_object *sh = NULL;
	int64_t i = 1, n = 1;
	*budget = "whole";
	if (codec_get(doc, "", "shard", CODEC_OBJECT, CODEC_FILE | CODEC_OPTIONAL, &sh, e) < 0)
		goto bad;
	if (sh && (codec_int(sh, "shard", "index", CODEC_FILE, 1, DRIFTMERGE_MAX_FILES, &i, NULL,
			     e) < 0 ||
		   codec_int(sh, "shard", "count", CODEC_FILE, i, DRIFTMERGE_MAX_FILES, &n, NULL,
			     e) < 0 ||
		   codec_str(sh, "shard", "budget", CODEC_FILE | CODEC_OPTIONAL, budget, e) < 0))
		goto bad;
	if (!*budget)
		*budget = "whole";
	*index = (unsigned)i;
	*count = (unsigned)n;
	return CF_OK;
bad:
	return in_file(e, name, "");
}

static int same(struct cf_err *e, const char *name, const char *what, char **have, const char *got)
{
	if (!*have) {
		*have = xstrdup(got);
		return CF_OK;
	}
	if (strcmp(*have, got) == 0)
		return CF_OK;
	return err_set(e, CF_EINVAL, "%s: %s %s differs from the other shards' %s", name, what, got,
		       *have);
}

/* Checks the header against the shards so far; on success the shard slot is taken. */
static int add_header(struct driftmerge *m, const char *name, struct json_object *doc,
		      struct cf_err *e)
{
	int64_t ver = 0;
	const char *commit = NULL, *ledger = NULL, *budget = NULL;
	unsigned index = 0, count = 0;
	if (codec_int(doc, "", "format_version", CODEC_FILE, 2, 2, &ver, NULL, e) < 0 ||
	    codec_str(doc, "", "commit", CODEC_FILE, &commit, e) < 0 ||
	    codec_str(doc, "", "ledger", CODEC_FILE, &ledger, e) < 0)
		return in_file(e, name, "not a drift --format json report: ");
	if (read_shard(doc, name, &index, &count, &budget, e) < 0 ||
	    same(e, name, "commit", &m->commit, commit) < 0 ||
	    same(e, name, "--shard-budget", &m->budget, budget) < 0)
		return e->rc;
	if (!m->ledger)
		m->ledger = xstrdup(ledger);
	else if (strcmp(m->ledger, ledger) != 0)
		m->ledgers_differ = true;
	if (m->count && m->count != count)
		return err_set(e, CF_EINVAL, "%s: shard %u/%u, but the other shards are of %u",
			       name, index, count, m->count);
	m->count = count;
	for (size_t i = 0; i < m->nshards; i++) {
		unsigned other = 0, c = 0;
		const char *b = NULL;
		(void)read_shard(m->shards[i].doc, m->shards[i].name, &other, &c, &b, e);
		if (other == index)
			return err_set(e, CF_EINVAL, "%s: shard %u/%u is also in %s", name, index,
				       count, m->shards[i].name);
	}
	return CF_OK;
}

static int add_summary(struct driftmerge *m, const char *name, struct json_object *doc,
		       struct cf_err *e)
{
	struct json_object *sum = NULL;
	bool drift = false;
	if (codec_bool(doc, "", "drift", CODEC_FILE, &drift, NULL, e) < 0 ||
	    codec_obj(doc, "", "summary", CODEC_FILE, &sum, e) < 0)
		return in_file(e, name, "");
	m->drift |= drift;
	for (int c = DRIFT_IN_SYNC; c <= DRIFT_ERROR; c++) {
		int64_t n = 0;
		if (codec_int(sum, "summary", drift_class_name(c), CODEC_FILE, 0, INT32_MAX, &n,
			      NULL, e) < 0)
			return in_file(e, name, "");
		m->sums[c] += n;
	}
	return CF_OK;
}

static int add_endpoints(struct driftmerge *m, const char *name, struct json_object *doc,
			 struct cf_err *e)
{
	struct json_object *arr = NULL;
	size_t n = 0;
	if (codec_arr(doc, "", "endpoints", CODEC_FILE, &arr, &n, e) < 0)
		return in_file(e, name, "");
	for (size_t i = 0; i < n; i++) {
		struct json_object *ep = codec_at(arr, i);
		struct codec_path p;
		const char *epname = NULL;
		if (codec_is(ep, codec_path_idx(&p, "endpoints", i), CODEC_OBJECT, CODEC_FILE, e) <
			0 ||
		    codec_str(ep, p.s, "name", CODEC_FILE, &epname, e) < 0)
			return in_file(e, name, "");
		if (!seen_insert(m, epname))
			return err_set(e, CF_EINVAL,
				       "%s: endpoint %s is also in another shard's report "
				       "(were the shards run with different --shard-budget or "
				       "configurations?)",
				       name, epname);
		if (m->neps == m->epcap) {
			m->epcap = m->epcap ? m->epcap * 2 : DM_HASH_MIN;
			m->eps = xreallocarray(m->eps, m->epcap, sizeof(*m->eps));
		}
		m->eps[m->neps++] = ep;
	}
	return CF_OK;
}

int driftmerge_add(struct driftmerge *m, const char *name, const char *text, size_t len,
		   struct cf_err *e)
{
	const char *why = NULL;
	size_t at = 0;
	if (m->nshards >= DRIFTMERGE_MAX_FILES)
		return err_set(e, CF_EINVAL, "%s: more than %d reports", name,
			       DRIFTMERGE_MAX_FILES);
	struct json_object *doc = codec_parse_doc(text, len, DRIFTMERGE_MAX_DEPTH, &why, &at);
	if (!doc || codec_type_of(doc) != CODEC_OBJECT) {
		codec_put(doc);
		return err_set(e, CF_EINVAL, "%s: not a drift --format json report: %s at byte %zu",
			       name, why ? why : "not an object", at);
	}
	int rc = add_header(m, name, doc, e);
	if (rc == 0) {
		m->shards = xreallocarray(m->shards, m->nshards + 1, sizeof(*m->shards));
		m->shards[m->nshards].name = xstrdup(name);
		m->shards[m->nshards].doc = doc;
		m->nshards++;
		rc = add_summary(m, name, doc, e);
	} else {
		codec_put(doc);
		return rc;
	}
	return rc < 0 ? rc : add_endpoints(m, name, doc, e);
}

static int by_name(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a;
	struct json_object *y = *(struct json_object *const *)b;
	const char *nx = NULL, *ny = NULL;
	struct cf_err e;
	(void)codec_str(x, "", "name", CODEC_FILE, &nx, &e);
	(void)codec_str(y, "", "name", CODEC_FILE, &ny, &e);
	return strcmp(nx ? nx : "", ny ? ny : "");
}

static int check_complete(const struct driftmerge *m, struct cf_err *e)
{
	if (!m->nshards)
		return err_set(e, CF_EINVAL, "no reports to merge");
	bool *have = xcalloc(m->count + 1, sizeof(*have));
	struct cf_err ignored;
	for (size_t i = 0; i < m->nshards; i++) {
		unsigned index = 0, count = 0;
		const char *b = NULL;
		(void)read_shard(m->shards[i].doc, m->shards[i].name, &index, &count, &b, &ignored);
		have[index] = true;
	}
	unsigned missing = 0;
	for (unsigned i = 1; i <= m->count && !missing; i++)
		if (!have[i])
			missing = i;
	free(have);
	if (missing)
		return err_set(e, CF_EINVAL,
			       "shard %u/%u is missing: the merged report would not "
			       "cover the fleet",
			       missing, m->count);
	return CF_OK;
}

int driftmerge_write(struct driftmerge *m, struct sb *out, bool *drift, size_t *errors,
		     bool *ledgers_differ, struct cf_err *e)
{
	if (check_complete(m, e) < 0)
		return e->rc;
	if (m->neps > 1) /* qsort of no array is undefined even for 0 elements */
		qsort(m->eps, m->neps, sizeof(*m->eps), by_name);
	*drift = m->drift;
	*errors = (size_t)m->sums[DRIFT_ERROR];
	*ledgers_differ = m->ledgers_differ;
	sb_adds(out, "{\"format_version\":2,\"commit\":");
	sb_add_json_str(out, m->commit);
	sb_adds(out, ",\"ledger\":");
	sb_add_json_str(out, m->ledger);
	sb_addf(out, ",\"ledgers_differ\":%s,\"shard\":null,\"merged\":{\"count\":%u,\"budget\":",
		m->ledgers_differ ? "true" : "false", m->count);
	sb_add_json_str(out, m->budget);
	sb_addf(out, "},\"drift\":%s,\"summary\":{", m->drift ? "true" : "false");
	for (int c = DRIFT_IN_SYNC; c <= DRIFT_ERROR; c++)
		sb_addf(out, "%s\"%s\":%lld", c ? "," : "", drift_class_name(c),
			(long long)m->sums[c]);
	sb_adds(out, "},\"endpoints\":[");
	for (size_t i = 0; i < m->neps; i++) {
		sb_adds(out, i ? ",\n" : "\n");
		(void)codec_write(out, m->eps[i], CODEC_COMPACT);
	}
	sb_adds(out, "]}\n");
	return out->overflow ? err_set(e, CF_EIO, "the merged report is too large") : CF_OK;
}
