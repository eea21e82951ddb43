/*
 * Allocation-failure injection. cacheform does not thread allocation failure through its
 * code: every allocation goes through reconcile/xmem.c, which prints "out of memory" and exits
 * 1. This test checks that design holds along whole runs of the loader and of the plan code
 * (diff, plan model, quota accounting, plan-file encode and decode): for N = 1..K it forks a
 * child in which the Nth allocation fails, and requires the child to either
 *   - exit 1 with "cacheform: out of memory" on stderr (xmem's path), or
 *   - finish normally (the allocation belonged to a library that copes, e.g. a cache), or
 *   - return the scenario's own error, with a message that says memory ran out (a library
 *     such as libyaml, libgit2 or the C library reported its failure as an error and
 *     cacheform passed that on; a misleading message such as "YAML syntax error" fails),
 * and never crash, hang, or print a sanitizer report.
 *
 * How allocations are failed: this file defines malloc, calloc, realloc and free, which
 * preempt the C library's (and, in the ASan build, the sanitizer runtime's) definitions for
 * the whole process, including libyaml, json-c and libgit2. They forward to the next
 * definition (dlsym(RTLD_NEXT)): under ASan that is the sanitizer's allocator, so heap
 * checking stays on for the code under test. Counting and failing only happen between
 * oom_begin() and oom_end(), and only in the forked children that set a target.
 * Children turn leak checking off: exiting on OOM leaks by design.
 */
#include "reconcile/base/compat.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "reconcile/rulediff.h"
#include "reconcile/ledger.h"
#include "reconcile/base/model.h"
#include "reconcile/plan.h"
#include "reconcile/planfile.h"
#include "reconcile/provider.h"
#include "reconcile/repo.h"
#include "reconcile/repo_lib.h" /* git_libgit2_init: loads libgit2 and holds it */
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"
#include "schema/load.h"

/* ---- the interposed allocator ---- */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

/* dlsym may allocate before the real functions are known: serve it from here. */
static _Alignas(16) char oom_boot[16384];
static size_t oom_boot_used;
static int oom_resolving;

static volatile long oom_count;	  /* allocations seen since oom_begin() */
static volatile long oom_fail_at; /* 1-based allocation to fail; 0 = none */
static volatile int oom_armed;

static void oom_resolve(void)
{
	if (real_free || oom_resolving)
		return;
	oom_resolving = 1;
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	oom_resolving = 0;
}

static void *oom_boot_alloc(size_t n)
{
	size_t need = (n + 15) & ~(size_t)15;
	if (need > sizeof(oom_boot) - oom_boot_used)
		return NULL;
	void *p = oom_boot + oom_boot_used;
	oom_boot_used += need;
	return p;
}

static bool oom_is_boot(const void *p)
{
	return (const char *)p >= oom_boot && (const char *)p < oom_boot + sizeof(oom_boot);
}

static bool oom_should_fail(void)
{
	if (!oom_armed)
		return false;
	oom_count++;
	return oom_fail_at != 0 && oom_count == oom_fail_at;
}

void *malloc(size_t n)
{
	oom_resolve();
	if (!real_malloc)
		return oom_boot_alloc(n);
	if (oom_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	oom_resolve();
	if (!real_calloc) {
		if (size && n > SIZE_MAX / size)
			return NULL;
		return oom_boot_alloc(n * size); /* static storage: already zero */
	}
	if (oom_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	oom_resolve();
	if (oom_is_boot(p)) {
		void *q = malloc(n);
		if (q)
			memcpy(q, p, n);
		return q;
	}
	if (oom_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_realloc(p, n);
}

void free(void *p)
{
	if (!p || oom_is_boot(p))
		return;
	oom_resolve();
	real_free(p);
}

static void oom_begin(void)
{
	oom_count = 0;
	oom_armed = 1;
}

static void oom_end(void)
{
	oom_armed = 0;
}

/* LeakSanitizer's switch, when the runtime is linked in (weak: absent in plain builds). */
void __lsan_disable(void) __attribute__((weak));

/* ---- fixtures ---- */

static const char settings_yaml[] = "version: 1\n"
				    "accounts:\n"
				    "  cn:\n"
				    "    provider: azure-china\n"
				    "    subscription: e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb\n"
				    "    key_id: {env: OOM_KEY_ID}\n"
				    "    key_value: {env: OOM_KEY_VALUE}\n"
				    "  global:\n"
				    "    provider: azure\n"
				    "    subscription: {env: OOM_SUB}\n"
				    "    tenant: {env: OOM_TENANT}\n"
				    "    client_id: {env: OOM_CLIENT}\n"
				    "    client_secret: {file: secrets/azure}\n"
				    "    base_url: http://127.0.0.1:8080\n"
				    "    timeout: 30s\n"
				    "  pro:\n"
				    "    provider: cdnpro\n"
				    "    user: {env: OOM_USER}\n"
				    "    api_key: {env: OOM_API_KEY}\n"
				    "    rate_limit: {per_minute: 30, burst: 60}\n"
				    "safety:\n"
				    "  max_change_pct: 30\n"
				    "  min_rules: 5\n";

static const char endpoint_cn_yaml[] = "endpoint: www\n"
				       "account: cn\n"
				       "remote:\n"
				       "  endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a611\n"
				       "hosts: [www.example.com, img.example.com]\n"
				       "scheme: https\n"
				       "cache:\n"
				       "  ignore_cache_control: false\n"
				       "  ignore_cookie: false\n"
				       "  ignore_query_string: true\n"
				       "  rules:\n"
				       "    - dir: [/pic/, /doc/]\n"
				       "      ttl: 1d\n"
				       "    - suffix: [jpg, png, .gif]\n"
				       "      ttl: 30d\n"
				       "    - path: [/index.html]\n"
				       "      ttl: 0\n"
				       "    - dir: [/static/]\n"
				       "      ttl: 1h30m\n"
				       "    - suffix: [css, js]\n"
				       "      ttl: 604800\n";

static const char endpoint_azure_yaml[] =
    "endpoint: shop\n"
    "account: global\n"
    "remote: {resource_group: web-rg, profile: web-cdn, endpoint: shop}\n"
    "hosts: [shop.example.com]\n"
    "mode: observe\n"
    "cache:\n"
    "  ignore_cache_control: true\n"
    "  ignore_query_string: false\n"
    "  rules:\n"
    "    - name: images\n"
    "      suffix: [jpg]\n"
    "      ttl: 7d\n"
    "    - dir: [/api/]\n"
    "      ttl: 0\n";

static const char endpoint_pro_yaml[] = "endpoint: dl\n"
					"account: pro\n"
					"remote: {target: production}\n"
					"hosts: [dl.example.com]\n"
					"mode: purge-only\n";

static const char purge_yaml[] = "purge: 2026-11-21-logo\n"
				 "endpoints: [www]\n"
				 "files: [/logo.png, https://www.example.com/app.js]\n"
				 "dirs: [/img/]\n"
				 "preload: [/index.html]\n";

static const char purge_pro_yaml[] = "purge: 2026-11-21-dl\n"
				     "endpoints: [dl]\n"
				     "files: [/a.bin, /b.bin]\n"
				     "patterns: ['https://dl.example.com/assets/*.css']\n"
				     "regex: ['https://dl.example.com/v[0-9]+/.*\\.js']\n"
				     "action: delete\n";

static const struct {
	const char *path;
	const char *text;
} repo_files[] = {
    {"cacheform.yaml", settings_yaml},
    {"endpoints/www.yaml", endpoint_cn_yaml},
    {"endpoints/shop.yaml", endpoint_azure_yaml},
    {"endpoints/dl.yaml", endpoint_pro_yaml},
    {"purges/2026-11-21-logo.yaml", purge_yaml},
    {"purges/2026-11-21-dl.yaml", purge_pro_yaml},
};

static char repo_dir[256];

static void write_file(const char *dir, const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	size_t n = strlen(text);
	assert_true(write(fd, text, n) == (ssize_t)n);
	close(fd);
}

static int setup_repo(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(repo_dir, sizeof repo_dir, "%s/cf-oom-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(repo_dir))
		return -1;
	char path[512];
	snprintf(path, sizeof path, "%s/endpoints", repo_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/purges", repo_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/secrets", repo_dir);
	mkdir(path, 0700);
	for (size_t i = 0; i < CF_ARRAY_LEN(repo_files); i++)
		write_file(repo_dir, repo_files[i].path, repo_files[i].text);
	write_file(repo_dir, "secrets/azure", "not-a-real-secret\n");
	return 0;
}

static int teardown_repo(void **state)
{
	(void)state;
	static const char *const rels[] = {"cacheform.yaml",
					   "endpoints/www.yaml",
					   "endpoints/shop.yaml",
					   "endpoints/dl.yaml",
					   "purges/2026-11-21-logo.yaml",
					   "purges/2026-11-21-dl.yaml",
					   "secrets/azure",
					   "endpoints",
					   "purges",
					   "secrets"};
	char path[512];
	for (size_t i = 0; i < CF_ARRAY_LEN(rels); i++) {
		snprintf(path, sizeof path, "%s/%s", repo_dir, rels[i]);
		remove(path);
	}
	rmdir(repo_dir);
	return 0;
}

/* ---- scenarios: return 0 on success, non-zero for an error they reported cleanly ---- */

/* The loader over a working-tree repository: open, list, read, parse, build the model. */
static int scenario_load(void)
{
	struct diag_list d;
	struct repo_src *src = NULL;
	struct config *c = NULL;
	struct cf_err e;
	err_clear(&e);
	diag_init(&d);
	oom_begin();
	int rc = repo_src_open(repo_dir, NULL, &src, &e);
	if (rc == 0) {
		{
			struct cf_source ls = repo_src_source(src);
			rc = load_repo(&ls, &c, &d);
		}
		config_free(c);
		repo_src_free(src);
	}
	oom_end();
	if (rc != 0) /* what the error said, for the parent to judge */
		for (size_t i = 0; i < d.n || (i == 0 && e.msg[0]); i++)
			fprintf(stderr, "error: %s\n", d.n ? d.v[i].msg : e.msg);
	diag_release(&d);
	return rc;
}

/* A config loaded (outside the measured region) from the fixture texts. */
static struct config *load_fixture(void)
{
	struct config *c = config_new();
	struct diag_list d;
	diag_init(&d);
	static const enum load_kind kinds[] = {LOAD_SETTINGS, LOAD_ENDPOINT, LOAD_ENDPOINT,
					       LOAD_ENDPOINT, LOAD_PURGE,    LOAD_PURGE};
	for (size_t i = 0; i < CF_ARRAY_LEN(repo_files); i++)
		if (load_buffer(c, kinds[i], repo_files[i].path, repo_files[i].text,
				strlen(repo_files[i].text), &d) != 0) {
			fprintf(stderr, "fixture %s does not load\n", repo_files[i].path);
			abort();
		}
	diag_release(&d);
	for (size_t i = 0; i < c->nendpoints; i++)
		c->endpoints[i].account = config_account(c, c->endpoints[i].account_name.s);
	return c;
}

/* A live state that differs from ep's desired cache: one rule gone, one TTL changed, one
 * extra rule, flags flipped. */
static void make_live(const struct endpoint *ep, struct live_state *ls)
{
	memset(ls, 0, sizeof *ls);
	ls->exists = true;
	cache_copy(&ls->cache, &ep->cache);
	ls->cache.ignore_query_string = !ls->cache.ignore_query_string;
	if (ls->cache.nrules > 1)
		ls->cache.rules[1].ttl += 60;
	struct rule *r = cache_add_rule(&ls->cache);
	r->kind = RULE_DIR;
	r->ttl = 3600;
	svec_push(&r->items, "/legacy/", NULL);
	prov_digest(ls);
}

/* The plan code: diffs, plan model, purge splitting, ledger states, quotas, plan file. */
static int scenario_plan(void)
{
	struct config *c = load_fixture();
	struct live_state live[8];
	size_t nlive = c->nendpoints < 8 ? c->nendpoints : 8;
	for (size_t i = 0; i < nlive; i++)
		make_live(&c->endpoints[i], &live[i]);
	struct ledger led;
	ledger_init(&led);
	struct ledger_purge lp;
	memset(&lp, 0, sizeof lp);
	lp.id = xstrdup("2026-11-21-dl");
	lp.endpoint = xstrdup("dl");
	lp.account = xstrdup("pro");
	lp.status = LEDGER_SUCCEEDED;
	snprintf(lp.content_hash, sizeof lp.content_hash, "%064d", 0);
	ledger_put_purge(&led, &lp);
	ledger_purge_release(&lp);

	int rc = 0;
	oom_begin();
	struct plan p;
	plan_init(&p);
	struct cf_err e;
	err_clear(&e);
	for (size_t i = 0; i < nlive && rc == 0; i++) {
		const struct endpoint *ep = &c->endpoints[i];
		const struct live_state *ls = ep->mode == MODE_PURGE_ONLY ? NULL : &live[i];
		if (!plan_add_endpoint(&p, ep, ls, NULL, &c->safety, &e))
			rc = 1;
	}
	for (size_t i = 0; i < c->npurges && rc == 0; i++) {
		const struct purge *m = &c->purges[i];
		for (size_t k = 0; k < m->endpoints.n; k++) {
			const struct endpoint *ep = config_endpoint(c, m->endpoints.v[k].s);
			if (!ep || !ep->account)
				continue;
			struct purge_batch *b = NULL;
			size_t nb = prov_get(ep->account->provider)->split(ep, m, &b);
			plan_add_purge(&p, m, ep, b, nb, &led);
			for (size_t j = 0; j < nb; j++)
				purge_batch_release(&b[j]);
			free(b);
		}
	}
	plan_set_quota(&p, "cn", PROV_AZURE_CHINA, true, 1, 500);
	plan_set_quota(&p, "pro", PROV_CDNPRO, true, 5000, 20);
	plan_check_quotas(&p);
	struct plan_counts counts;
	plan_count(&p, &counts);
	struct sb sb;
	sb_init(&sb, 0);
	if (rc == 0 && planfile_encode(&p, &sb) != 0)
		rc = 2;
	struct planfile pf;
	memset(&pf, 0, sizeof pf);
	if (rc == 0 && planfile_decode(sb.buf, sb.len, &pf, &e) != 0)
		rc = 3;
	planfile_release(&pf);
	sb_release(&sb);
	plan_release(&p);
	oom_end();
	if (rc != 0)
		fprintf(stderr, "error: %s\n", e.msg);

	ledger_release(&led);
	for (size_t i = 0; i < nlive; i++)
		live_state_release(&live[i]);
	config_free(c);
	return rc;
}

/* ---- the sweep ---- */

struct sweep {
	long total; /* allocations in one run */
	long step;  /* every step-th allocation is failed */
	long runs, oom_exits, completed, clean_errors, bad;
};

#define OOM_MAX_RUNS 700
#define OOM_DENSE    100

/* Crash signals and their handlers before cmocka installed its own (the sanitizer's, which
 * print a report, or the defaults): children put them back. */
static const int oom_sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static struct sigaction oom_saved_sig[CF_ARRAY_LEN(oom_sigs)];
#define OOM_CHILD_SECONDS 20

static void read_all(int fd, struct sb *out)
{
	char buf[4096];
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			sb_add(out, buf, (size_t)r);
}

static bool has_sanitizer_report(const char *s)
{
	return strstr(s, "AddressSanitizer") || strstr(s, "LeakSanitizer") ||
	       strstr(s, "runtime error:") || strstr(s, "UndefinedBehaviorSanitizer");
}

/* Runs scenario in a child with allocation n failing; classifies the outcome into sw. */
static void run_child(int (*scenario)(void), long n, struct sweep *sw, const char *name)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka's handlers would resume the test run inside the child */
		for (size_t i = 0; i < CF_ARRAY_LEN(oom_sigs); i++)
			sigaction(oom_sigs[i], &oom_saved_sig[i], NULL);
		if (__lsan_disable)
			__lsan_disable();
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[1]);
		alarm(OOM_CHILD_SECONDS);
		oom_fail_at = n;
		int rc = scenario();
		fflush(NULL);
		_exit(rc == 0 ? 0 : 3);
	}
	close(fds[1]);
	struct sb out;
	sb_init(&out, 1 << 20);
	read_all(fds[0], &out);
	close(fds[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	sw->runs++;
	bool sanitizer = has_sanitizer_report(out.buf);
	const char *verdict = NULL;
	if (WIFEXITED(st) && !sanitizer) {
		int code = WEXITSTATUS(st);
		if (code == 0) {
			sw->completed++;
		} else if (code == 1 && strstr(out.buf, "cacheform: out of memory")) {
			sw->oom_exits++;
		} else if (code == 3 && (strstr(out.buf, "memory") || out.len == 0)) {
			sw->clean_errors++;
		} else if (code == 3) {
			verdict = "an error that does not say memory ran out";
		} else {
			verdict = "unexpected exit status";
		}
	} else if (sanitizer) {
		verdict = "sanitizer report";
	} else {
		verdict = WTERMSIG(st) == SIGALRM ? "hang" : "killed by a signal";
	}
	if (verdict) {
		sw->bad++;
		if (sw->bad <= 3) {
			size_t tail = out.len > 3000 ? out.len - 3000 : 0;
			fprintf(stderr,
				"# %s: failing allocation %ld of %ld: %s (wait status 0x%x)\n%s\n",
				name, n, sw->total, verdict, st, out.buf + tail);
		}
	}
	sb_release(&out);
}

static void sweep(int (*scenario)(void), const char *name)
{
	struct sweep sw;
	memset(&sw, 0, sizeof sw);
	/* The first run pays one-time library initialisation; the second is what children
	 * (forked after it) repeat. Both must succeed without injected failures. */
	assert_int_equal(scenario(), 0);
	assert_int_equal(scenario(), 0);
	sw.total = oom_count;
	assert_true(sw.total > 0);
	/* The first OOM_DENSE allocations (setup paths, library initialisation) one by one,
	 * then a spread over the rest. */
	sw.step = sw.total / OOM_MAX_RUNS + 1;
	for (long n = 1; n <= sw.total; n += n < OOM_DENSE ? 1 : sw.step)
		run_child(scenario, n, &sw, name);
	/* One past the end: nothing fails, the run must complete. */
	run_child(scenario, sw.total + 1, &sw, name);
	fprintf(stderr,
		"# oom %s: %ld allocations per run, %ld runs (every %ld): %ld out-of-memory exits, "
		"%ld completed, %ld clean errors, %ld bad\n",
		name, sw.total, sw.runs, sw.step, sw.oom_exits, sw.completed, sw.clean_errors,
		sw.bad);
	assert_int_equal(sw.bad, 0);
	/* xmem's path must actually be taken: most allocations are cacheform's own. */
	assert_true(sw.oom_exits > 0);
}

static void test_oom__loader(void **state)
{
	(void)state;
	sweep(scenario_load, "loader");
}

static void test_oom__plan(void **state)
{
	(void)state;
	sweep(scenario_plan, "plan");
}

/* The wrapper itself: a size that overflows ends the process the same way, before any
 * allocator is asked. */
static int scenario_huge(void)
{
	void *p = xreallocarray(NULL, SIZE_MAX / 2, 4);
	free(p);
	return 0;
}

static void test_oom__xmem_huge_request(void **state)
{
	(void)state;
	struct sweep sw;
	memset(&sw, 0, sizeof sw);
	run_child(scenario_huge, 0, &sw, "huge");
	assert_int_equal(sw.bad, 0);
	assert_int_equal(sw.oom_exits, 1);
}

int main(void)
{
	/* libgit2 1.5 crashes when an allocation fails inside its own global initialisation
	 * (a NULL dereference in git_libgit2_init, outside cacheform). repo_src_open pairs
	 * git_libgit2_init with a shutdown in repo_src_free, so every open re-runs that
	 * initialisation; holding one reference here keeps it to this single, unmeasured call. */
	git_libgit2_init();
	for (size_t i = 0; i < CF_ARRAY_LEN(oom_sigs); i++)
		sigaction(oom_sigs[i], NULL, &oom_saved_sig[i]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_oom__xmem_huge_request),
	    cmocka_unit_test_setup_teardown(test_oom__loader, setup_repo, teardown_repo),
	    cmocka_unit_test(test_oom__plan),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	return failed;
}
