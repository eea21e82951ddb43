/* plan --urls; see planurls.h. */
#include "reconcile/base/compat.h"

#include <strings.h>

#include "reconcile/planurls.h"
#include "reconcile/sem.h"

/* Whether the entry concerns ep: a path always, a URL when ep serves its host. */
static bool serves(const struct endpoint *ep, const char *entry)
{
	if (strncasecmp(entry, "http://", 7) != 0 && strncasecmp(entry, "https://", 8) != 0)
		return true;
	const char *h = strstr(entry, "//") + 2;
	size_t n = strcspn(h, "/?#:");
	for (size_t i = 0; i < ep->hosts.n; i++)
		if (strlen(ep->hosts.v[i].s) == n && strncasecmp(ep->hosts.v[i].s, h, n) == 0)
			return true;
	return false;
}

static void endpoint_effects(struct plan *p, const struct eng_endpoint *x, const struct svec *urls)
{
	struct sem_cfg after;
	struct cf_err e;
	char path[SEM_PATH_MAX];
	err_clear(&e);
	if (prov_sem_write(x->ep, &x->live, &after, &e) != 0)
		return;
	for (size_t i = 0; i < urls->n; i++) {
		struct sem_result b, a;
		if (!serves(x->ep, urls->v[i].s) || sem_path_of(urls->v[i].s, path, sizeof(path)))
			continue;
		sem_eval(&x->live.sem, path, &b);
		sem_eval(&after, path, &a);
		if (!sem_same(&b, &a))
			plan_add_url_effect(p, x->ep->name.s, path, &b, &a);
	}
	sem_cfg_release(&after);
}

void planurls_add(struct plan *p, const struct engine *en, const struct svec *urls)
{
	p->urls_given = true;
	for (size_t i = 0; i < p->neps; i++) {
		const struct plan_endpoint *pe = &p->eps[i];
		if (pe->action != PLAN_EP_UPDATE && pe->action != PLAN_EP_DRIFT)
			continue;
		const struct eng_endpoint *x = engine_endpoint(en, pe->name);
		if (x && x->read && x->rc == 0)
			endpoint_effects(p, x, urls);
	}
}
