/*
 * Unit tests: engine_read queues at most en->read_chunk reads at once (issue 17) and still
 * reads every endpoint, multi-request reads included, whatever the chunk and parallelism.
 * The driver is a fake: its requests go to a closed loopback port (refused at once, never
 * retried) and its read_parse asks for as many further requests as the endpoint's number says.
 */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/engine.h"
#include "reconcile/http.h"
#include "reconcile/provider.h"
#include "reconcile/base/xmem.h"

#define T_MAX_EPS    40
#define T_CLOSED_URL "http://127.0.0.1:1/read" /* port 1: nothing listens, refused */
#define T_TIMEOUT_MS 5000

static struct endpoint t_eps[T_MAX_EPS];
static char t_name[] = "ep";
static unsigned t_parsed[T_MAX_EPS]; /* read_parse calls per endpoint */
static unsigned t_built[T_MAX_EPS];  /* requests built per endpoint */

/* Endpoint i takes 1 + i % 3 requests; every seventh cannot build its first one. */
static size_t t_index(const struct endpoint *ep)
{
	return (size_t)(ep - t_eps);
}

static unsigned t_extra(size_t i)
{
	return (unsigned)(i % 3);
}

static bool t_refused(size_t i)
{
	return i % 7 == 6;
}

static int t_req(const struct endpoint *ep, struct http_req *req)
{
	t_built[t_index(ep)]++;
	http_req_init(req, "GET", T_CLOSED_URL, "fake read");
	req->retry = HTTP_RETRY_NEVER;
	req->timeout_ms = T_TIMEOUT_MS;
	return 0;
}

static int t_read_req(struct prov_account *pa, const struct endpoint *ep, struct http_req *req,
		      struct cf_err *e)
{
	(void)pa;
	if (t_refused(t_index(ep)))
		return err_set(e, CF_EINVAL, "endpoint '%s': cannot build", ep->name.s);
	return t_req(ep, req);
}

static int t_read_next(struct prov_account *pa, const struct endpoint *ep,
		       const struct live_state *live, struct http_req *req, struct cf_err *e)
{
	(void)pa;
	(void)e;
	/* the engine counts the requests parsed: this is the step-th further one */
	assert_int_equal(live->step, t_parsed[t_index(ep)]);
	return t_req(ep, req);
}

static int t_read_parse(const struct endpoint *ep, const struct http_resp *resp,
			struct live_state *out, struct cf_err *e)
{
	(void)e;
	size_t i = t_index(ep);
	assert_true(resp->rc != 0); /* refused: the fake decodes nothing */
	assert_int_equal(out->step, t_parsed[i]);
	t_parsed[i]++;
	if (out->step < t_extra(i))
		return PROV_MORE;
	out->exists = true;
	return 0;
}

static const struct prov_ops t_ops = {
    .read_req = t_read_req,
    .read_parse = t_read_parse,
    .read_next = t_read_next,
};

static const struct {
	size_t n;	      /* endpoints read */
	size_t chunk;	      /* en.read_chunk (0 = the default) */
	unsigned parallelism; /* client's */
} read_cases[] = {
    {0, 3, 2}, {1, 1, 1}, {10, 3, 2}, {10, 0, 4}, {7, 7, 3}, {8, 7, 3}, {25, 4, 8}, {40, 1, 2},
};

static void test_engine_read__chunks(void **state)
{
	(void)state;
	for (size_t c = 0; c < CF_ARRAY_LEN(read_cases); c++) {
		size_t n = read_cases[c].n;
		struct engine en;
		memset(&en, 0, sizeof(en));
		struct http_opts ho = {0};
		ho.parallelism = read_cases[c].parallelism;
		en.http = http_new(&ho);
		en.read_chunk = read_cases[c].chunk;
		struct eng_account acct;
		memset(&acct, 0, sizeof(acct));
		acct.ops = &t_ops;
		struct eng_endpoint *xs = xcalloc(n + 1, sizeof(*xs));
		struct eng_endpoint **v = xcalloc(n + 1, sizeof(*v));
		memset(t_parsed, 0, sizeof(t_parsed));
		memset(t_built, 0, sizeof(t_built));
		for (size_t i = 0; i < n; i++) {
			memset(&t_eps[i], 0, sizeof(t_eps[i]));
			t_eps[i].name.s = t_name;
			xs[i].ep = &t_eps[i];
			xs[i].acct = &acct;
			v[i] = &xs[i];
		}
		assert_int_equal(engine_read(&en, v, n), 0);
		for (size_t i = 0; i < n; i++) {
			unsigned want = t_refused(i) ? 0 : 1 + t_extra(i);
			if (t_parsed[i] != want || t_built[i] != want)
				fail_msg("case %zu, endpoint %zu: %u parsed, %u built, want %u", c,
					 i, t_parsed[i], t_built[i], want);
			assert_int_equal(xs[i].read, !t_refused(i));
			assert_int_equal(xs[i].rc < 0, t_refused(i));
			if (!t_refused(i)) {
				assert_true(xs[i].live.exists);
				assert_int_equal(xs[i].live.step, t_extra(i));
			}
			live_state_release(&xs[i].live);
			engine_ep_ok(&xs[i]); /* frees a refused endpoint's err */
		}
		free(v);
		free(xs);
		http_free(en.http);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_engine_read__chunks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
