/* Drift as GitLab Code Quality and JUnit XML (see driftci.h). */
#include "reconcile/base/compat.h"
#include "reconcile/driftci.h"
#include "reconcile/base/cirep.h"
#include "reconcile/revdiff.h"

#define DRIFTCI_ROOT_FILE  "cacheform.yaml" /* where an endpoint without a known file is placed */
#define DRIFTCI_JUNIT_NAME "cacheform drift"
#define DRIFTCI_SUITE	   "drift"

/* GitLab check names and severities per class: a pending change is what a pull request is
 * for; a change behind cacheform's back, or an endpoint nobody could check, needs a person. */
static const struct {
	const char *check;
	enum cirep_severity sev;
} driftci_class[] = {
    [DRIFT_IN_SYNC] = {"cacheform/drift-in-sync", CIREP_INFO},
    [DRIFT_PENDING] = {"cacheform/drift-pending", CIREP_MINOR},
    [DRIFT_EXTERNAL] = {"cacheform/drift-external", CIREP_MAJOR},
    [DRIFT_BOTH] = {"cacheform/drift-both", CIREP_MAJOR},
    [DRIFT_ERROR] = {"cacheform/drift-not-checked", CIREP_MAJOR},
};

static void ep_path(struct sb *sb, const struct driftci_opts *o, const struct drift_ep *d)
{
	(void)cirep_path(sb, o->path_prefix, d->file && *d->file ? d->file : DRIFTCI_ROOT_FILE);
}

/* "endpoint 'NAME' (PROVIDER, account ACCOUNT): CLASS: REASON" ("not checked: WHY" on error) */
static void ep_summary(struct sb *sb, const struct drift_ep *d)
{
	sb_addf(sb, "endpoint '%s' (%s, account %s): ", d->name, provider_name(d->provider),
		d->account);
	if (d->cls != DRIFT_ERROR)
		sb_addf(sb, "%s: ", drift_class_name(d->cls));
	drift_reason(sb, d);
}

static void render_gitlab(struct sb *out, const struct drift_report *r,
			  const struct driftci_opts *o)
{
	struct sb path, desc;
	bool first = true;
	sb_init(&path, 0);
	sb_init(&desc, 0);
	sb_addc(out, '[');
	for (size_t i = 0; i < r->n; i++) {
		const struct drift_ep *d = &r->v[i];
		if (d->cls == DRIFT_IN_SYNC)
			continue;
		sb_reset(&path);
		sb_reset(&desc);
		ep_path(&path, o, d);
		ep_summary(&desc, d);
		struct cirep_issue is = {
		    driftci_class[d->cls].check, desc.buf, path.buf, d->line ? d->line : 1,
		    driftci_class[d->cls].sev,	 d->name};
		(void)cirep_cq_issue(out, &is, first);
		first = false;
	}
	sb_adds(out, "\n]\n");
	sb_release(&path);
	sb_release(&desc);
}

static void junit_ep(struct cirep_suite *s, const struct driftci_opts *o, const struct drift_ep *d)
{
	struct sb path, cls, msg, body;
	sb_init(&path, 0);
	sb_init(&cls, 0);
	sb_init(&msg, 0);
	sb_init(&body, 0);
	ep_path(&path, o, d);
	sb_addf(&cls, "drift.%s", d->account);
	ep_summary(&msg, d);
	if (d->cls != DRIFT_IN_SYNC && d->cls != DRIFT_ERROR)
		revdiff_cache_lines(&body, "", &d->live, &d->desired, &d->diff);
	while (body.len && body.buf[body.len - 1] == '\n')
		sb_truncate(&body, body.len - 1);
	struct cirep_case c = {cls.buf,
			       d->name,
			       path.buf,
			       d->line,
			       d->cls == DRIFT_IN_SYNC ? CIREP_PASS
			       : d->cls == DRIFT_ERROR ? CIREP_ERROR
						       : CIREP_FAILURE,
			       d->cls == DRIFT_ERROR ? "not-checked" : drift_class_name(d->cls),
			       msg.buf,
			       body.buf};
	(void)cirep_suite_add(s, &c);
	sb_release(&path);
	sb_release(&cls);
	sb_release(&msg);
	sb_release(&body);
}

static int render_junit(struct sb *out, const struct drift_report *r, const struct driftci_opts *o)
{
	struct cirep_suite s;
	struct cirep_counts total = {0, 0, 0, 0};
	struct sb suites;
	int rc;
	cirep_suite_init(&s);
	sb_init(&suites, 0);
	for (size_t i = 0; i < r->n; i++)
		junit_ep(&s, o, &r->v[i]);
	rc = cirep_suite_flush(&suites, &s, o->suite ? o->suite : DRIFTCI_SUITE, &total);
	if (rc == 0)
		rc = cirep_junit_doc(out, DRIFTCI_JUNIT_NAME, &total, &suites);
	cirep_suite_release(&s);
	sb_release(&suites);
	return rc;
}

int driftci_write(struct sb *out, const struct drift_report *r, const struct driftci_opts *o)
{
	switch (o->format) {
	case OUT_GITLAB:
		render_gitlab(out, r, o);
		break;
	case OUT_JUNIT:
		if (render_junit(out, r, o) < 0)
			return -1;
		break;
	default: /* not a CI format: the caller renders the others */
		return -1;
	}
	return out->overflow ? -1 : 0;
}
