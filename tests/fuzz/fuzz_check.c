/*
 * Loader + validators (schema/check.c): the whole `cacheform validate` pipeline minus file
 * I/O. An input is a small repository: sections that start with a line "#@ PATH"
 * (cacheform.yaml, endpoints/NAME.yaml, purges/NAME.yaml); text before the first marker, or
 * an input without markers, is endpoints/fuzz.yaml next to a fixed valid cacheform.yaml.
 * The first byte's low bit turns on --strict.
 *
 * Properties: diagnostics are well formed, and a configuration the validators accept holds
 * the promises the rest of cacheform relies on: every endpoint names a known account of the
 * right provider, no secret is written literally, purge URLs name only the endpoints' hosts, every
 * base URL is https (or loopback http), and no host, purge URL or cache item carries a control byte
 * (header injection).
 */
#include "reconcile/base/compat.h"

#include "schema/check.h"
#include "schema/load.h"
#include "schema/urlcheck.h"
#include "tests/fuzz/fuzz.h"

static const char default_settings[] = "version: 1\n"
				       "accounts:\n"
				       "  cn:\n"
				       "    provider: azure-china\n"
				       "    subscription: e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb\n"
				       "    key_id: {env: AZURECDN_KEY_ID}\n"
				       "    key_value: {env: AZURECDN_KEY_VALUE}\n"
				       "  global:\n"
				       "    provider: azure\n"
				       "    subscription: {env: AZURE_SUBSCRIPTION_ID}\n"
				       "    tenant: {env: AZURE_TENANT_ID}\n"
				       "    client_id: {env: AZURE_CLIENT_ID}\n"
				       "    client_secret: {env: AZURE_CLIENT_SECRET}\n"
				       "  pro:\n"
				       "    provider: cdnpro\n"
				       "    user: {env: CDNPRO_USER}\n"
				       "    api_key: {env: CDNPRO_API_KEY}\n";

static void load_one(struct config *c, const char *path, const char *buf, size_t len,
		     struct diag_list *d)
{
	enum load_kind kind = LOAD_ENDPOINT;
	if (strcmp(path, "cacheform.yaml") == 0)
		kind = LOAD_SETTINGS;
	else if (strncmp(path, "purges/", 7) == 0)
		kind = LOAD_PURGE;
	load_buffer(c, kind, path, buf, len, d);
}

static void no_ctl(const char *s)
{
	if (!s)
		return;
	for (; *s; s++)
		FUZZ_CHECK((unsigned char)*s >= 0x20 && *s != 0x7f);
}

static void check_secret(const struct mval *m)
{
	FUZZ_CHECK(m->kind != MVAL_LITERAL);
}

static void check_base(const struct mval *m)
{
	if (m->kind == MVAL_LITERAL)
		FUZZ_CHECK(url_check_base(m->text) == URL_OK);
}

static void check_svec(const struct svec *v)
{
	for (size_t i = 0; i < v->n; i++)
		no_ctl(v->v[i].s);
}

static void check_valid(const struct config *c)
{
	for (size_t i = 0; i < c->naccounts; i++) {
		const struct account *a = &c->accounts[i];
		switch (a->provider) {
		case PROV_AZURE_CHINA:
			check_secret(&a->key_value);
			break;
		case PROV_AZURE:
			check_secret(&a->client_secret);
			break;
		case PROV_CDNPRO:
			check_secret(&a->api_key);
			break;
		default:
			FUZZ_CHECK(!"unknown provider");
		}
		check_base(&a->base_url);
		check_base(&a->login_url);
	}
	for (size_t i = 0; i < c->nendpoints; i++) {
		const struct endpoint *ep = &c->endpoints[i];
		FUZZ_CHECK(ep->account != NULL);
		FUZZ_CHECK(ep->account == config_account(c, ep->account_name.s));
		FUZZ_CHECK(ep->hosts.n > 0);
		check_svec(&ep->hosts);
		for (size_t h = 0; h < ep->hosts.n; h++)
			FUZZ_CHECK(url_host_valid(ep->hosts.v[h].s, strlen(ep->hosts.v[h].s)));
		for (size_t r = 0; r < ep->cache.nrules; r++) {
			FUZZ_CHECK(ep->cache.rules[r].items.n > 0);
			check_svec(&ep->cache.rules[r].items);
		}
		if (ep->account->provider == PROV_CDNPRO)
			FUZZ_CHECK(ep->mode == MODE_PURGE_ONLY);
	}
	for (size_t i = 0; i < c->npurges; i++) {
		const struct purge *p = &c->purges[i];
		FUZZ_CHECK(p->endpoints.n > 0);
		for (size_t k = 0; k < p->endpoints.n; k++)
			FUZZ_CHECK(config_endpoint(c, p->endpoints.v[k].s) != NULL);
		check_svec(&p->files);
		check_svec(&p->dirs);
		check_svec(&p->patterns);
		check_svec(&p->regex);
		check_svec(&p->preload);
		for (size_t k = 0; k < p->files.n; k++) {
			const char *f = p->files.v[k].s;
			struct url_parts u;
			FUZZ_CHECK(strchr(f, '*') == NULL);
			FUZZ_CHECK(url_check(f, 0, URL_F_ALLOW_PATH, &u, NULL) == URL_OK);
			if (u.scheme_len == 0)
				continue;
			/* an absolute URL names a host every listed endpoint serves */
			for (size_t e = 0; e < p->endpoints.n; e++) {
				const struct endpoint *ep = config_endpoint(c, p->endpoints.v[e].s);
				bool served = false;
				for (size_t h = 0; h < ep->hosts.n; h++)
					served |=
					    url_host_equal(u.host, u.host_len, ep->hosts.v[h].s);
				FUZZ_CHECK(served);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (size_t)1 << 20)
		return 0;
	struct check_opts opts = {.strict = data[0] & 1};
	const char *in = (const char *)data + 1;
	size_t n = size - 1;

	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	bool have_settings = false;
	const char *path = "endpoints/fuzz.yaml";
	char pathbuf[128];
	size_t start = 0, i = 0;
	for (;;) {
		bool at_marker =
		    i + 3 <= n && (i == 0 || in[i - 1] == '\n') && memcmp(in + i, "#@ ", 3) == 0;
		if (i == n || at_marker) {
			if (i > start || (i == n && start == 0)) {
				load_one(c, path, in + start, i - start, &d);
				have_settings |= strcmp(path, "cacheform.yaml") == 0;
			}
			if (i == n)
				break;
			size_t e = i + 3;
			while (e < n && in[e] != '\n')
				e++;
			size_t plen = e - (i + 3);
			if (plen >= sizeof pathbuf)
				plen = sizeof pathbuf - 1;
			memcpy(pathbuf, in + i + 3, plen);
			pathbuf[plen] = '\0';
			path = pathbuf;
			start = i = e < n ? e + 1 : e;
			continue;
		}
		i++;
	}
	if (!have_settings)
		load_one(c, "cacheform.yaml", default_settings, sizeof default_settings - 1, &d);

	int rc = check_config(c, &opts, &d);
	for (size_t k = 0; k < d.n; k++) {
		FUZZ_CHECK(d.v[k].msg != NULL && d.v[k].msg[0] != '\0');
		FUZZ_CHECK(d.v[k].code[0] != '\0');
	}
	if (opts.strict)
		FUZZ_CHECK(d.nwarnings == 0);
	if (rc == 0 && d.nerrors == 0)
		check_valid(c);
	diag_release(&d);
	config_free(c);
	return 0;
}
