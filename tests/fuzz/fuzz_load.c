/*
 * The YAML loader (schema/load.c, load_buffer) on arbitrary bytes, read as each of the three
 * file kinds (cacheform.yaml, an endpoint, a purge manifest). Properties: the return code
 * agrees with the diagnostics (0 exactly when no error was added), every diagnostic has a
 * code and a message and points into the config's file table, and whatever the loader put in
 * the model is within the model's documented ranges.
 */
#include "reconcile/base/compat.h"

#include "schema/load.h"
#include "tests/fuzz/fuzz.h"

static bool interned(const struct config *c, const char *file)
{
	if (!file)
		return true;
	for (size_t i = 0; i < c->nfiles; i++)
		if (c->files[i] == file)
			return true;
	return false;
}

static void check_model(const struct config *c)
{
	for (size_t i = 0; i < c->nendpoints; i++) {
		const struct endpoint *ep = &c->endpoints[i];
		FUZZ_CHECK(interned(c, ep->file));
		for (size_t r = 0; r < ep->cache.nrules; r++) {
			const struct rule *rl = &ep->cache.rules[r];
			FUZZ_CHECK(rl->ttl >= 0 && rl->ttl <= MODEL_TTL_MAX);
			/* cmd_explain names a rule's file by its endpoint's */
			FUZZ_CHECK(config_file_name(c, rl->pos.file) == ep->file);
			for (size_t k = 0; k < rl->items.n; k++)
				FUZZ_CHECK(rl->items.v[k].s != NULL);
		}
		for (size_t h = 0; h < ep->hosts.n; h++)
			FUZZ_CHECK(ep->hosts.v[h].s != NULL);
	}
	for (size_t i = 0; i < c->npurges; i++) {
		const struct purge *p = &c->purges[i];
		FUZZ_CHECK(interned(c, p->file));
		FUZZ_CHECK(strlen(p->content_hash) == 64 || p->content_hash[0] == '\0');
	}
	for (size_t i = 0; i < c->naccounts; i++)
		FUZZ_CHECK(c->accounts[i].timeout_s >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		enum load_kind kind;
		const char *file;
	} kinds[] = {
	    {LOAD_SETTINGS, "cacheform.yaml"},
	    {LOAD_ENDPOINT, "endpoints/fuzz.yaml"},
	    {LOAD_PURGE, "purges/fuzz.yaml"},
	};
	if (size > LOAD_MAX_FILE_BYTES + 16)
		return 0;
	for (size_t k = 0; k < CF_ARRAY_LEN(kinds); k++) {
		struct config *c = config_new();
		struct diag_list d;
		diag_init(&d);
		int rc = load_buffer(c, kinds[k].kind, kinds[k].file, (const char *)data, size, &d);
		FUZZ_CHECK((rc == 0) == (d.nerrors == 0));
		for (size_t i = 0; i < d.n; i++) {
			FUZZ_CHECK(d.v[i].msg != NULL && d.v[i].msg[0] != '\0');
			FUZZ_CHECK(d.v[i].code[0] != '\0');
			FUZZ_CHECK(interned(c, d.v[i].pos.file));
		}
		check_model(c);
		diag_release(&d);
		config_free(c);
	}
	return 0;
}
