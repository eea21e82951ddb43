/* Unit tests: plan file JSON round trip, refusal of bad documents, stale-plan detection. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <unistd.h>

#include "reconcile/apply.h"
#include "reconcile/planfile.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define COMMIT "0123456789abcdef0123456789abcdef01234567"

struct world {
	struct account acct;
	struct endpoint ep;
	struct live_state live;
	struct purge m;
	struct safety safety;
};

static void world_init(struct world *w, int64_t ttl, const char *digest)
{
	memset(w, 0, sizeof(*w));
	sval_set(&w->acct.name, "cn", NULL);
	w->acct.provider = PROV_AZURE_CHINA;
	sval_set(&w->ep.name, "www", NULL);
	sval_set(&w->ep.account_name, "cn", NULL);
	w->ep.account = &w->acct;
	struct rule *r = cache_add_rule(&w->ep.cache);
	r->kind = RULE_SUFFIX;
	r->ttl = ttl;
	svec_push(&r->items, "jpg", NULL);
	svec_push(&r->items, "png", NULL);
	w->ep.cache.ignore_query_string = true;
	w->live.exists = true;
	memcpy(w->live.digest, digest, 65);
	sval_set(&w->m.id, "logo", NULL);
	memcpy(w->m.content_hash, HASH_A, 65);
	w->safety.max_change_pct = 30;
	w->safety.min_rules = 5;
}

static void world_release(struct world *w)
{
	free(w->acct.name.s);
	free(w->ep.name.s);
	free(w->ep.account_name.s);
	free(w->m.id.s);
	cache_release(&w->ep.cache);
	live_state_release(&w->live);
}

static void world_plan(struct world *w, struct plan *p)
{
	struct purge_batch b = {0};
	svec_push(&b.files, "https://www.example.com/logo.png", NULL);
	plan_init(p);
	memcpy(p->commit, COMMIT, 41);
	assert_non_null(plan_add_endpoint(p, &w->ep, &w->live, NULL, &w->safety, NULL));
	assert_non_null(plan_add_purge(p, &w->m, &w->ep, &b, 1, NULL));
	purge_batch_release(&b);
}

static void test_planfile__roundtrip(void **state)
{
	(void)state;
	struct world w;
	struct plan p;
	struct planfile pf;
	struct sb sb;
	world_init(&w, 3600, HASH_B);
	world_plan(&w, &p);
	sb_init(&sb, 0);
	assert_int_equal(planfile_encode(&p, &sb), 0);
	assert_int_equal(planfile_decode(sb.buf, sb.len, &pf, NULL), 0);
	assert_string_equal(pf.commit, COMMIT);
	assert_int_equal(pf.neps, 1);
	assert_string_equal(pf.eps[0].name, "www");
	assert_string_equal(pf.eps[0].digest, HASH_B);
	assert_int_equal(pf.eps[0].action, PLAN_EP_UPDATE);
	assert_true(cache_equal(&pf.eps[0].desired, &w.ep.cache));
	assert_int_equal(pf.npurges, 1);
	assert_string_equal(pf.purges[0].id, "logo");
	assert_string_equal(pf.purges[0].content_hash, HASH_A);
	assert_int_equal(pf.purges[0].state, PLAN_PURGE_RUN);
	planfile_release(&pf);

	/* the file form: written atomically, read back */
	char path[] = "/tmp/cf-planfile-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(planfile_write(&p, path, NULL), 0);
	assert_int_equal(planfile_read(path, &pf, NULL), 0);
	assert_int_equal(pf.neps, 1);
	planfile_release(&pf);
	unlink(path);
	sb_release(&sb);
	plan_release(&p);
	world_release(&w);
}

/* A small plan document that decodes; each rejection row below breaks one thing in it. */
#define Q(s)	  "\"" s "\""
#define RULE_OK	  "{\"kind\": \"suffix\", \"items\": [\"jpg\"], \"ttl\": 60}"
#define CACHE(rules)                                                                          \
	"{\"ignore_cache_control\": false, \"ignore_cookie\": false, "                        \
	"\"ignore_query_string\": false, \"rules\": [" rules "]}"
#define EPX(name, action, read, digest, rules, extra)                                         \
	"{\"name\": " name ", \"action\": " action ", \"live_state\": {\"read\": " read            \
	", \"digest\": " digest "}, \"desired\": " CACHE(rules) extra "}"
#define EP(name, action, read, digest, rules) EPX(name, action, read, digest, rules, "")
#define EP_OK	 EP(Q("www"), Q("update"), "true", Q(HASH_B), RULE_OK)
#define EP_RULES(rules) EP(Q("www"), Q("update"), "true", Q(HASH_B), rules)
#define PURGEX(id, ep, state, hash, extra)                                                    \
	"{\"id\": " id ", \"endpoint\": " ep ", \"state\": " state ", \"content_hash\": " hash    \
	extra "}"
#define PURGE_OK PURGEX(Q("logo"), Q("www"), Q("run"), Q(HASH_A), "")
#define DOCX(ver, commit, eps, purges, extra)                                                 \
	"{\"format_version\": " ver ", \"desired_commit\": " commit ", \"no_purges\": false, "  \
	"\"endpoints\": [" eps "], \"purges\": [" purges "]" extra "}"
#define DOC(eps, purges) DOCX("1", Q(COMMIT), eps, purges, "")

static void test_planfile__minimal_accepted(void **state)
{
	(void)state;
	static const char *const good[] = {
		DOC(EP_OK, PURGE_OK),
		DOCX("1", "null", EP_OK, PURGE_OK, ", \"summary\": {\"update\": 1}"),
		DOC(EP(Q("www"), Q("error"), "false", "null", RULE_OK), ""),
		DOC(EPX(Q("www"), Q("update"), "true", Q(HASH_B), RULE_OK,
			", \"rule_changes\": [{\"before_index\": null, \"after_index\": 0}]"),
		    ""),
		DOC(EP_OK, PURGEX(Q("logo"), Q("www"), Q("edited"), Q(HASH_A),
				  ", \"recorded_hash\": " Q(HASH_B) ", \"files\": 0")),
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(good); i++) {
		struct planfile pf;
		struct cf_err e;
		err_clear(&e);
		if (planfile_decode(good[i], strlen(good[i]), &pf, &e) != 0)
			fail_msg("case %zu was refused: %s", i, e.msg);
		planfile_release(&pf);
	}
}

static void test_planfile__rejects(void **state)
{
	(void)state;
	static const struct {
		const char *doc;
		const char *want; /* in the one-line message */
	} bad[] = {
		/* syntax: json-c's own description and the byte offset, never "continue" */
		{"", "not valid JSON: empty document at byte 0"},
		{" \n", "not valid JSON: empty document at byte 2"},
		{"{", "not valid JSON: unexpected end of input at byte 1"},
		{"{\"format_version\": 1", "not valid JSON: unexpected end of input at byte 20"},
		{"{\"format_version\": 1, \"a\": \"x", "unexpected end of input at byte 29"},
		{"{\"a\": tru", "unexpected end of input at byte 9"},
		{"{\"a\": [1,]]", "at byte 10"},
		{"{} trailing", "not valid JSON: unexpected data after the document at byte 3"},
		{"{\"a\": @}", "not valid JSON: unexpected character at byte 6"},
		{"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]"
		 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		 "not valid JSON: nesting too deep at byte 32"},
		/* the document's shape */
		{"null", "expected a JSON object, found null"},
		{"1", "expected a JSON object, found int"},
		{"[]", "expected a JSON object, found array"},
		{"{\"endpoints\": [], \"purges\": [], \"no_purges\": false}", "format_version: missing"},
		{DOCX("2", Q(COMMIT), "", "", ""), "format_version: 2 is not supported (expected 1)"},
		{DOCX("\"1\"", Q(COMMIT), "", "", ""), "format_version: expected int, found string"},
		{DOCX("1.0", Q(COMMIT), "", "", ""), "format_version: expected int, found double"},
		{DOCX("1", Q("../../etc"), "", "", ""), "desired_commit: expected 40 lowercase hex"},
		{DOCX("1", Q("0123456789abcdef"), "", "", ""), "desired_commit: expected 40"},
		{"{\"format_version\": 1, \"no_purges\": false, \"endpoints\": {}, \"purges\": []}",
		 "endpoints: expected array, found object"},
		{DOCX("1", Q(COMMIT), "", "", ", \"summary\": {\"update\": -1}"),
		 "summary.update: -1 is negative"},
		/* endpoints */
		{DOC("7", ""), "endpoints[0]: expected object, found int"},
		{DOC("{\"name\": \"x\"}", ""), "endpoints[0].action: missing"},
		{DOC(EP(Q("www"), Q("delete-everything"), "true", Q(HASH_B), RULE_OK), ""),
		 "endpoints[0].action: unknown action"},
		{DOC(EP(Q("a b"), Q("update"), "true", Q(HASH_B), RULE_OK), ""),
		 "endpoints[0].name: not a valid name"},
		{DOC(EP(Q("www\\u0000x"), Q("update"), "true", Q(HASH_B), RULE_OK), ""),
		 "endpoints[0].name: not a valid name"},
		{DOC(EP(Q(""), Q("update"), "true", Q(HASH_B), RULE_OK), ""),
		 "endpoints[0].name: not a valid name"},
		{DOC(EP_OK "," EP(Q("api"), Q("none"), "true", Q(HASH_A), RULE_OK) "," EP_OK, ""),
		 "endpoints[2].name: same as endpoints[0].name"},
		{DOC(EP(Q("www"), Q("update"), "true", Q("abc"), RULE_OK), ""),
		 "endpoints[0].live_state.digest: expected 64 lowercase hex digits"},
		{DOC(EP(Q("www"), Q("update"), "true", Q(HASH_B "b"), RULE_OK), ""),
		 "endpoints[0].live_state.digest: expected 64 lowercase hex digits"},
		{DOC(EP(Q("www"), Q("update"), "true",
			Q("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"), RULE_OK),
		     ""),
		 "endpoints[0].live_state.digest: expected 64 lowercase hex digits"},
		{DOC(EP(Q("www"), Q("update"), "true", "null", RULE_OK), ""),
		 "endpoints[0].live_state.digest: missing for an endpoint that was read"},
		{DOC(EP(Q("www"), Q("error"), "false", Q(HASH_B), RULE_OK), ""),
		 "endpoints[0].live_state.digest: set for an endpoint that was not read"},
		{DOC(EP(Q("www"), Q("update"), "1", Q(HASH_B), RULE_OK), ""),
		 "endpoints[0].live_state.read: expected boolean, found int"},
		{DOC(EPX(Q("www"), Q("update"), "true", Q(HASH_B), RULE_OK,
			 ", \"rule_changes\": [{\"before_index\": -1}]"),
		     ""),
		 "endpoints[0].rule_changes[0].before_index: -1 is negative"},
		{DOC(EPX(Q("www"), Q("update"), "true", Q(HASH_B), RULE_OK,
			 ", \"rule_changes\": [{\"after_index\": 1}]"),
		     ""),
		 "endpoints[0].rule_changes[0].after_index: no such desired rule"},
		/* desired rules */
		{DOC(EP_RULES("[]"), ""), "endpoints[0].desired.rules[0]: expected object, found array"},
		{DOC(EP_RULES(RULE_OK ", {\"kind\": \"suffix\", \"items\": [], \"ttl\": 60}"), ""),
		 "endpoints[0].desired.rules[1].items: empty list"},
		{DOC(EP_RULES("{\"kind\": \"suffix\", \"items\": [\"\"], \"ttl\": 60}"), ""),
		 "endpoints[0].desired.rules[0].items[0]: empty item"},
		{DOC(EP_RULES("{\"kind\": \"suffix\", \"items\": [\"jpg\", 7], \"ttl\": 60}"), ""),
		 "endpoints[0].desired.rules[0].items[1]: expected string, found int"},
		{DOC(EP_RULES("{\"kind\": \"suffix\", \"items\": [\"j\\npg\"], \"ttl\": 60}"), ""),
		 "endpoints[0].desired.rules[0].items[0]: control character in item"},
		{DOC(EP_RULES("{\"kind\": \"regex\", \"items\": [\"jpg\"], \"ttl\": 60}"), ""),
		 "endpoints[0].desired.rules[0].kind: unknown rule kind"},
		{DOC(EP_RULES("{\"kind\": \"suffix\", \"items\": [\"jpg\"], \"ttl\": -1}"), ""),
		 "endpoints[0].desired.rules[0].ttl: -1 is negative"},
		{DOC(EP_RULES("{\"kind\": \"suffix\", \"items\": [\"jpg\"], \"ttl\": 3153600001}"), ""),
		 "endpoints[0].desired.rules[0].ttl: 3153600001 is out of range"},
		{DOC(EP_RULES("{\"kind\": \"suffix\", \"items\": [\"jpg\"], \"ttl\": 1.5}"), ""),
		 "endpoints[0].desired.rules[0].ttl: expected int, found double"},
		{DOC(EP_RULES("{\"kind\": \"suffix\", \"items\": [\"jpg\"], \"ttl\": 1, \"name\": 3}"),
		     ""),
		 "endpoints[0].desired.rules[0].name: expected string, found int"},
		/* purges */
		{DOC(EP_OK, PURGEX(Q("logo"), Q("www"), Q("exploded"), Q(HASH_A), "")),
		 "purges[0].state: unknown purge state"},
		{DOC(EP_OK, PURGEX(Q("logo"), Q("www"), Q("run"), Q("XYZ"), "")),
		 "purges[0].content_hash: expected 64 lowercase hex digits"},
		{DOC(EP_OK, PURGEX(Q("logo"), Q("www"), Q("run"), "null", "")),
		 "purges[0].content_hash: expected string, found null"},
		{DOC(EP_OK, PURGEX(Q("logo"), Q("www"), Q("run"), Q(HASH_A), ", \"files\": -3")),
		 "purges[0].files: -3 is negative"},
		{DOC(EP_OK, PURGEX(Q("logo"), Q("www"), Q("run"), Q(HASH_A),
				   ", \"recorded_hash\": \"x\"")),
		 "purges[0].recorded_hash: expected 64 lowercase hex digits"},
		{DOC(EP_OK, PURGEX(Q("logo"), Q("api"), Q("run"), Q(HASH_A), "")),
		 "purges[0].endpoint: not an endpoint of this plan"},
		{DOC(EP_OK, PURGEX(Q("../x"), Q("www"), Q("run"), Q(HASH_A), "")),
		 "purges[0].id: not a valid name"},
		{DOC(EP_OK, PURGE_OK "," PURGE_OK), "purges[1]: same id and endpoint as purges[0]"},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		struct planfile pf;
		struct cf_err e;
		err_clear(&e);
		if (planfile_decode(bad[i].doc, strlen(bad[i].doc), &pf, &e) == 0)
			fail_msg("case %zu was accepted", i);
		if (e.rc != CF_EINVAL || !strstr(e.msg, bad[i].want) || strchr(e.msg, '\n'))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, e.msg, bad[i].want);
	}
	struct planfile pf;
	struct cf_err e;
	err_clear(&e);
	assert_int_equal(planfile_read("/nonexistent/plan.json", &pf, &e), CF_EIO);
}

/* planfile_read names the file, then the JSON path: "plan.json: endpoints[0]...". */
static void test_planfile__read_names_file(void **state)
{
	(void)state;
	static const char doc[] = DOC(EP_RULES("{\"kind\": \"dir\", \"items\": [], \"ttl\": 1}"), "");
	char path[] = "/tmp/cf-planfile-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, doc, sizeof(doc) - 1), (ssize_t)(sizeof(doc) - 1));
	close(fd);
	struct planfile pf;
	struct cf_err e;
	err_clear(&e);
	assert_int_equal(planfile_read(path, &pf, &e), CF_EINVAL);
	char want[128];
	snprintf(want, sizeof(want), "%s: endpoints[0].desired.rules[0].items: empty list", path);
	assert_string_equal(e.msg, want);
	unlink(path);
}

/* A plan saved, then the live endpoint changes: apply must see it as stale. */
static void test_planfile__stale(void **state)
{
	(void)state;
	struct world w, now;
	struct plan saved, fresh;
	struct planfile pf;
	struct sb sb;
	struct cf_err e;
	world_init(&w, 3600, HASH_B);
	world_plan(&w, &saved);
	sb_init(&sb, 0);
	assert_int_equal(planfile_encode(&saved, &sb), 0);
	assert_int_equal(planfile_decode(sb.buf, sb.len, &pf, NULL), 0);

	/* same live digest, same desired: holds */
	world_init(&now, 3600, HASH_B);
	world_plan(&now, &fresh);
	assert_int_equal(apply_check_planfile(&fresh, &pf, NULL), 0);
	assert_int_equal(fresh.npurges, 1);
	plan_release(&fresh);
	world_release(&now);

	/* an admin changed the endpoint: digest differs */
	world_init(&now, 3600, HASH_A);
	world_plan(&now, &fresh);
	err_clear(&e);
	assert_int_equal(apply_check_planfile(&fresh, &pf, &e), CF_ECONFLICT);
	assert_non_null(strstr(e.msg, "changed since the plan was made"));
	plan_release(&fresh);
	world_release(&now);

	/* the repository changed: desired differs */
	world_init(&now, 7200, HASH_B);
	world_plan(&now, &fresh);
	assert_int_equal(apply_check_planfile(&fresh, &pf, &e), CF_ECONFLICT);
	assert_non_null(strstr(e.msg, "desired rules"));
	plan_release(&fresh);
	world_release(&now);

	/* a purge the saved plan did not run is dropped, not run */
	planfile_release(&pf);
	assert_int_equal(planfile_decode(sb.buf, sb.len, &pf, NULL), 0);
	free(pf.purges[0].id);
	pf.purges[0].id = xstrdup("other");
	world_init(&now, 3600, HASH_B);
	world_plan(&now, &fresh);
	assert_int_equal(apply_check_planfile(&fresh, &pf, NULL), 0);
	assert_int_equal(fresh.npurges, 0);
	plan_release(&fresh);
	world_release(&now);

	planfile_release(&pf);
	sb_release(&sb);
	plan_release(&saved);
	world_release(&w);
}

/* The fresh plan's purges against the saved plan's, by (id, endpoint): which stay, in order. */
struct keep_case {
	const char *fresh;  /* "id@ep" words: the fresh plan's purges, in order */
	const char *saved;  /* "id@ep:S" words, S = r(un) p(ending) d (edited: not run) */
	const char *edited; /* one "id@ep" whose saved hash differs, or NULL */
	int rc;
	const char *kept; /* the fresh purges left, "id@ep" words */
};

static const struct keep_case keep_cases[] = {
    {"a@x b@x c@y", "a@x:r b@x:d c@y:p", NULL, 0, "a@x c@y"},
    {"a@x a@y a@z", "a@z:r a@x:r", NULL, 0, "a@x a@z"},
    {"m@x n@x o@x p@x", "", NULL, 0, ""},
    {"b@x a@x", "a@x:r b@x:r", NULL, 0, "b@x a@x"},
    {"a@x b@x", "a@x:d b@x:r", "b@x", CF_ECONFLICT, "a@x b@x"}, /* refused: nothing dropped */
    {"a@x b@x", "a@x:d b@x:d", "b@x", 0, ""}, /* a purge not run again is not checked */
};

static void split_key(const char *w, size_t n, char **id, char **ep, char *state)
{
	const char *at = memchr(w, '@', n), *colon = memchr(w, ':', n);
	size_t end = colon ? (size_t)(colon - w) : n;
	*id = xstrndup(w, (size_t)(at - w));
	*ep = xstrndup(at + 1, end - (size_t)(at - w) - 1);
	*state = colon ? colon[1] : 0;
}

static void fill_keep_case(const struct keep_case *c, struct plan *fresh, struct planfile *pf)
{
	plan_init(fresh);
	memset(pf, 0, sizeof(*pf));
	for (const char *w = c->fresh; *w;) {
		size_t n = strcspn(w, " ");
		char st;
		xgrow(&fresh->purges, &fresh->pcap, fresh->npurges + 1, sizeof(*fresh->purges));
		struct plan_purge *pp = &fresh->purges[fresh->npurges++];
		memset(pp, 0, sizeof(*pp));
		split_key(w, n, &pp->id, &pp->endpoint, &st);
		w += n + (w[n] == ' ');
	}
	for (const char *w = c->saved; *w;) {
		size_t n = strcspn(w, " ");
		char st;
		xgrow(&pf->purges, &pf->pcap, pf->npurges + 1, sizeof(*pf->purges));
		struct planfile_purge *sp = &pf->purges[pf->npurges++];
		memset(sp, 0, sizeof(*sp));
		split_key(w, n, &sp->id, &sp->endpoint, &st);
		sp->state = st == 'r'	? PLAN_PURGE_RUN
			    : st == 'p' ? PLAN_PURGE_PENDING
					: PLAN_PURGE_EDITED;
		char key[64];
		snprintf(key, sizeof(key), "%s@%s", sp->id, sp->endpoint);
		if (c->edited && strcmp(key, c->edited) == 0)
			sp->content_hash[0] = 'X';
		w += n + (w[n] == ' ');
	}
}

static void test_planfile__purges_kept(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(keep_cases); i++) {
		const struct keep_case *c = &keep_cases[i];
		struct plan fresh;
		struct planfile pf;
		struct sb got;
		struct cf_err e;
		err_clear(&e);
		fill_keep_case(c, &fresh, &pf);
		assert_int_equal(apply_check_planfile(&fresh, &pf, &e), c->rc);
		sb_init(&got, 0);
		for (size_t j = 0; j < fresh.npurges; j++)
			sb_addf(&got, "%s%s@%s", j ? " " : "", fresh.purges[j].id,
				fresh.purges[j].endpoint);
		assert_string_equal(got.len ? got.buf : "", c->kept);
		sb_release(&got);
		plan_release(&fresh);
		planfile_release(&pf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_planfile__roundtrip),
		cmocka_unit_test(test_planfile__minimal_accepted),
		cmocka_unit_test(test_planfile__rejects),
		cmocka_unit_test(test_planfile__read_names_file),
		cmocka_unit_test(test_planfile__stale),
		cmocka_unit_test(test_planfile__purges_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
