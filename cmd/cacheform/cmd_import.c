/*
 * cacheform import: read one live azure-china or azure endpoint through its driver and write
 * endpoints/NAME.yaml so that a plan right after shows no change for it. It never overwrites:
 * an existing file, endpoint name or remote in the repository is refused (delete or rename
 * first), since two files managing one endpoint would fight. The written file is validated
 * with the rest of the repository and removed again if it does not pass.
 */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"
#include "cmd/cacheform/cmd_load.h"
#include "reconcile/engine.h"
#include "reconcile/http.h"
#include "reconcile/import.h"
#include "reconcile/provider.h"
#include "reconcile/repo.h"
#include "reconcile/base/afile.h"
#include "reconcile/base/near.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"
#include "schema/check.h"
#include "schema/report.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMPORT_AZURE_HOST_SUFFIX ".azureedge.net" /* an azure endpoint's default host name */
#define IMPORT_FILE_MODE	 0644
#define IMPORT_DIR_MODE		 0755

static const char *opt_account, *opt_name, *opt_repo;
static struct svec opt_remote, opt_hosts;
static bool opt_all;
static unsigned opt_parallelism;

const struct opt import_opts[] = {
    {"account", 0, OPT_STR, &opt_account, "NAME", "account in cacheform.yaml (required)"},
    {"all", 0, OPT_BOOL, &opt_all, NULL,
     "import every endpoint the account's provider lists that the repository does not "
     "manage yet (azure-china: the subscription's endpoints, named and hosted by their "
     "custom domain; azure: every classic profile's endpoints)"},
    {"host", 0, OPT_STRLIST, &opt_hosts, "HOST",
     "host name the endpoint serves (repeatable; required for azure-china, default for azure "
     "ENDPOINT" IMPORT_AZURE_HOST_SUFFIX ")"},
    {"parallelism", 0, OPT_UINT, &opt_parallelism, "N",
     "concurrent reads for --all (default 8, at most 1024)"},
    {"name", 0, OPT_STR, &opt_name, "NAME",
     "endpoint name and file name (default for azure: the remote endpoint)"},
    {"remote", 0, OPT_STRLIST, &opt_remote, "KEY=VALUE",
     "where the endpoint lives: endpoint_id= (azure-china); resource_group=, profile=, "
     "endpoint= (azure)"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

struct import_run {
	struct repo_src *src;
	struct config *cfg;
	struct endpoint ep;
	struct live_state live;
	char *path; /* absolute path of the file written */
};

/* ---- the endpoint to read, from the command line ---- */

static struct sval *remote_slot(struct remote *r, enum provider_kind p, const char *key)
{
	if (p == PROV_AZURE_CHINA && strcmp(key, "endpoint_id") == 0)
		return &r->endpoint_id;
	if (p == PROV_AZURE && strcmp(key, "resource_group") == 0)
		return &r->resource_group;
	if (p == PROV_AZURE && strcmp(key, "profile") == 0)
		return &r->profile;
	if (p == PROV_AZURE && strcmp(key, "endpoint") == 0)
		return &r->endpoint;
	return NULL;
}

static int parse_remote(struct endpoint *ep, enum provider_kind p, struct cf_err *e)
{
	for (size_t i = 0; i < opt_remote.n; i++) {
		const char *kv = opt_remote.v[i].s, *eq = strchr(kv, '=');
		char *key = eq ? xstrndup(kv, (size_t)(eq - kv)) : NULL;
		struct sval *slot = key ? remote_slot(&ep->remote, p, key) : NULL;
		free(key);
		if (!slot || !eq[1])
			return err_set(e, CF_EINVAL,
				       "--remote '%s': not a KEY=VALUE a %s endpoint has", kv,
				       provider_name(p));
		sval_set(slot, eq + 1, NULL);
	}
	bool ok = p == PROV_AZURE_CHINA ? ep->remote.endpoint_id.s != NULL
					: ep->remote.resource_group.s && ep->remote.profile.s &&
					      ep->remote.endpoint.s;
	if (!ok)
		return err_set(e, CF_EINVAL, "--remote needs %s",
			       p == PROV_AZURE_CHINA ? "endpoint_id=ID"
						     : "resource_group=, profile= and endpoint=");
	return CF_OK;
}

static struct account *find_account(struct config *cfg, struct cf_err *e)
{
	struct account *a = config_account(cfg, opt_account);
	if (!a) {
		struct near n;
		near_init(&n, opt_account);
		for (size_t i = 0; i < cfg->naccounts; i++)
			near_offer(&n, cfg->accounts[i].name.s);
		if (near_result(&n))
			err_set(e, CF_EINVAL, "unknown account '%s'; did you mean '%s'?",
				opt_account, near_result(&n));
		else
			err_set(e, CF_EINVAL, "unknown account '%s'", opt_account);
		return NULL;
	}
	if (a->provider == PROV_CDNPRO) {
		err_set(e, CF_EINVAL,
			"account '%s' is cdnpro: its cache rules live in Edge Logic, so there "
			"is nothing to import (write a purge-only endpoint by hand)",
			opt_account);
		return NULL;
	}
	if (a->provider != PROV_AZURE_CHINA && a->provider != PROV_AZURE) {
		err_set(e, CF_EINVAL,
			"import reads azure-china and azure endpoints; account '%s' is %s",
			opt_account, provider_name(a->provider));
		return NULL;
	}
	return a;
}

static int build_endpoint(struct import_run *run, struct cf_err *e)
{
	struct endpoint *ep = &run->ep;
	struct account *a = find_account(run->cfg, e);
	if (!a)
		return CF_EINVAL;
	ep->account = a;
	sval_set(&ep->account_name, opt_account, NULL);
	int rc = parse_remote(ep, a->provider, e);
	if (rc < 0)
		return rc;
	const char *name = opt_name ? opt_name : ep->remote.endpoint.s;
	if (!name)
		return err_set(e, CF_EINVAL, "--name NAME is required for %s endpoints",
			       provider_name(a->provider));
	/* the name becomes endpoints/NAME.yaml: never a path, never a file the loader skips */
	if (!check_name_valid(name))
		return err_set(e, CF_EINVAL,
			       "--name '%s' must be 1 to %d letters, digits, '.', '_' or '-', "
			       "starting with a letter or digit",
			       name, CHECK_NAME_MAX);
	sval_set(&ep->name, name, NULL);
	for (size_t i = 0; i < opt_hosts.n; i++)
		svec_push(&ep->hosts, opt_hosts.v[i].s, NULL);
	if (!ep->hosts.n && a->provider == PROV_AZURE) {
		struct sb h;
		sb_init(&h, 0);
		sb_addf(&h, "%s" IMPORT_AZURE_HOST_SUFFIX, ep->remote.endpoint.s);
		svec_push(&ep->hosts, h.buf, NULL);
		sb_release(&h);
	}
	if (!ep->hosts.n)
		return err_set(e, CF_EINVAL,
			       "--host HOST is required: the rules API does not return the host "
			       "names, and purges are expanded against them");
	ep->mode = MODE_MANAGE;
	ep->has_cache = true;
	return CF_OK;
}

static bool same_remote(const struct endpoint *a, const struct endpoint *b)
{
	const struct sval *x[] = {&a->remote.endpoint_id, &a->remote.resource_group,
				  &a->remote.profile, &a->remote.endpoint};
	const struct sval *y[] = {&b->remote.endpoint_id, &b->remote.resource_group,
				  &b->remote.profile, &b->remote.endpoint};
	if (a->account != b->account)
		return false;
	for (size_t i = 0; i < CF_ARRAY_LEN(x); i++)
		if ((x[i]->s == NULL) != (y[i]->s == NULL) ||
		    (x[i]->s && strcmp(x[i]->s, y[i]->s) != 0))
			return false;
	return true;
}

/* Refuses a name or remote the repository already has. */
static int check_unclaimed(const struct import_run *run, struct cf_err *e)
{
	const struct endpoint *ep = &run->ep;
	if (config_endpoint(run->cfg, ep->name.s))
		return err_set(e, CF_EINVAL, "endpoint '%s' already exists in the repository",
			       ep->name.s);
	for (size_t i = 0; i < run->cfg->nendpoints; i++)
		if (same_remote(&run->cfg->endpoints[i], ep))
			return err_set(e, CF_EINVAL, "%s already manages that remote endpoint",
				       run->cfg->endpoints[i].file);
	return CF_OK;
}

/* ---- reading the live endpoint ---- */

/* One request of the (possibly multi-request) read; returns read_parse's answer. */
static int read_step(const struct prov_ops *ops, struct prov_account *pa, struct http_client *http,
		     struct import_run *run, struct cf_err *e)
{
	struct http_req req;
	struct http_resp resp;
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	int rc = run->live.step == 0 ? ops->read_req(pa, &run->ep, &req, e)
		 : ops->read_next    ? ops->read_next(pa, &run->ep, &run->live, &req, e)
				     : err_set(e, CF_EINVAL, "the driver asked for a second read");
	if (rc == 0) {
		(void)http_run(http, &req, &resp, 1);
		rc = ops->read_parse(&run->ep, &resp, &run->live, e);
	}
	http_req_release(&req);
	http_resp_release(&resp);
	return rc;
}

/* The provider's account, opened and made able to sign once for every read of a run. */
struct import_conn {
	const struct prov_ops *ops;
	struct prov_account *pa;
	struct http_client *http;
};

static int conn_open(struct import_conn *c, const struct account *a, const struct repo_src *src,
		     struct cf_err *e)
{
	c->ops = prov_get(a->provider);
	c->pa = NULL;
	struct http_opts ho = {0};
	ho.parallelism = opt_parallelism;
	c->http = http_new(&ho);
	engine_account_bucket(c->http, a, 1);
	int rc = c->ops->account_open(a, repo_src_root(src), &c->pa, e);
	if (rc == 0)
		rc = c->ops->account_ready(c->pa, c->http, e);
	return rc;
}

static void conn_close(struct import_conn *c)
{
	if (c->pa)
		c->ops->account_close(c->pa);
	http_free(c->http);
	memset(c, 0, sizeof(*c));
}

static int read_with(struct import_conn *c, struct import_run *run, struct cf_err *e)
{
	int rc;
	while ((rc = read_step(c->ops, c->pa, c->http, run, e)) == PROV_MORE)
		run->live.step++;
	if (rc == 0 && !run->live.exists)
		rc = err_set(e, CF_EAPI, "endpoint '%s' does not exist at the provider",
			     run->ep.name.s);
	return rc;
}

static int read_live(struct import_run *run, struct cf_err *e)
{
	struct import_conn c;
	int rc = conn_open(&c, run->ep.account, run->src, e);
	if (rc == 0)
		rc = read_with(&c, run, e);
	conn_close(&c);
	return rc;
}

/* ---- writing and checking the file ---- */

static int write_file(struct import_run *run, struct cf_err *e)
{
	struct sb path, text;
	sb_init(&path, 0);
	sb_init(&text, 0);
	sb_addf(&path, "%s/endpoints", repo_src_root(run->src));
	if (mkdir(path.buf, IMPORT_DIR_MODE) != 0 && errno != EEXIST) {
		int rc = err_set(e, CF_EIO, "cannot create '%s': %s", path.buf, strerror(errno));
		sb_release(&path);
		return rc;
	}
	sb_addf(&path, "/%s.yaml", run->ep.name.s);
	import_yaml(&run->ep, &run->live, &text);
	int rc = afile_write(path.buf, text.buf, text.len, IMPORT_FILE_MODE, AFILE_CREATE,
			     "endpoint file", e);
	run->path = sb_detach(&path);
	sb_release(&text);
	return rc;
}

/* Loads and checks the repository with the new file in it; prints findings on stderr. */
static int validate_repo(const char *what, struct config **cfg, struct repo_src **src,
			 struct cf_err *e)
{
	struct cmd_repo r;
	int rc = cmd_load(opt_repo, NULL, NULL, &r);
	if (rc < 0) {
		(void)cmd_load_print(stderr, &r);
		rc = err_set(e, CF_EINVAL, "%s does not validate", what);
	}
	cmd_repo_take(&r, src, cfg);
	cmd_repo_release(&r);
	return rc;
}

static int recheck(struct import_run *run, struct cf_err *e)
{
	struct config *cfg = NULL;
	struct repo_src *src = NULL;
	int rc = validate_repo("the imported file", &cfg, &src, e);
	if (rc < 0)
		(void)unlink(run->path);
	config_free(cfg);
	repo_src_free(src);
	return rc;
}

/* The endpoint belongs to no config, so its parts are released here. */
static void import_ep_release(struct import_run *run)
{
	free(run->ep.name.s);
	free(run->ep.account_name.s);
	free(run->ep.remote.endpoint_id.s);
	free(run->ep.remote.resource_group.s);
	free(run->ep.remote.profile.s);
	free(run->ep.remote.endpoint.s);
	svec_release(&run->ep.hosts);
	live_state_release(&run->live);
	free(run->path);
	memset(&run->ep, 0, sizeof(run->ep));
	run->path = NULL;
}

/* The repository with every written file in it must validate; the caller removes them if not. */
static int recheck_all(const struct svec *written, struct cf_err *e)
{
	struct config *cfg = NULL;
	struct repo_src *src = NULL;
	CF_UNUSED(written);
	int rc = validate_repo("the imported files", &cfg, &src, e);
	config_free(cfg);
	repo_src_free(src);
	return rc;
}

static void import_release(struct import_run *run)
{
	import_ep_release(run);
	config_free(run->cfg);
	repo_src_free(run->src);
}

static int import_parse_args(int argc, char **argv)
{
	int npos;
	if (opt_parse("import", import_opts, argc, argv, &npos) < 0)
		return -1;
	if (npos > 0) {
		fprintf(stderr, "cacheform import: unexpected argument '%s'\n", argv[0]);
		return -1;
	}
	if (opt_parallelism > HTTP_PARALLELISM_MAX) {
		fprintf(stderr,
			"cacheform import: --parallelism %u: at most %d concurrent requests\n",
			opt_parallelism, HTTP_PARALLELISM_MAX);
		return -1;
	}
	if (opt_all && (opt_remote.n || opt_name || opt_hosts.n)) {
		fprintf(stderr,
			"cacheform import: --all takes the remotes, names and hosts from "
			"the provider's listing; --remote, --name and --host go without it\n");
		return -1;
	}
	if (!opt_account || (!opt_remote.n && !opt_all)) {
		fprintf(stderr,
			"cacheform import: --account NAME and --remote KEY=VALUE (or --all) "
			"are required\n");
		return -1;
	}
	return 0;
}

/* ---- import --all ---- */

static void report_written(const struct import_run *run)
{
	printf("wrote endpoints/%s.yaml: %zu rule%s from %s account '%s'", run->ep.name.s,
	       run->live.cache.nrules, run->live.cache.nrules == 1 ? "" : "s",
	       provider_name(run->ep.account->provider), opt_account);
	if (run->live.nforeign)
		printf(" (%zu foreign delivery rule%s left at the provider)", run->live.nforeign,
		       run->live.nforeign == 1 ? "" : "s");
	putchar('\n');
}

static int list_all(struct import_conn *c, struct prov_listing *l, struct cf_err *e)
{
	if (!c->ops->list_req)
		return err_set(e, CF_EINVAL, "%s cannot list its endpoints",
			       provider_name(c->ops->kind));
	int rc;
	do {
		struct http_req req;
		struct http_resp resp;
		memset(&resp, 0, sizeof(resp));
		rc = c->ops->list_req(c->pa, l, &req, e);
		if (rc != 0)
			return rc;
		(void)http_run(c->http, &req, &resp, 1);
		rc = c->ops->list_parse(c->pa, &resp, l, e);
		http_req_release(&req);
		http_resp_release(&resp);
	} while (rc == PROV_MORE);
	return rc;
}

/* Fills run->ep from one listed endpoint; returns false (saying why) when it is skipped. */
static bool adopt_found(struct import_run *run, struct account *a, const struct prov_found *f)
{
	struct endpoint *ep = &run->ep;
	struct cf_err e;
	ep->account = a;
	sval_set(&ep->account_name, opt_account, NULL);
	sval_set(&ep->name, f->name, NULL);
	struct sval *from[] = {
	    (struct sval *)&f->remote.endpoint_id, (struct sval *)&f->remote.resource_group,
	    (struct sval *)&f->remote.profile, (struct sval *)&f->remote.endpoint};
	struct sval *to[] = {&ep->remote.endpoint_id, &ep->remote.resource_group,
			     &ep->remote.profile, &ep->remote.endpoint};
	for (size_t k = 0; k < CF_ARRAY_LEN(to); k++)
		if (from[k]->s)
			sval_set(to[k], from[k]->s, NULL);
	if (f->host)
		svec_push(&ep->hosts, f->host, NULL);
	ep->mode = MODE_MANAGE;
	ep->has_cache = true;
	err_clear(&e);
	if (!check_name_valid(f->name))
		printf("skipped '%s': not a usable endpoint name; import it with --name\n",
		       f->name);
	else if (!ep->hosts.n)
		printf("skipped '%s': the provider lists no host name; import it with --host\n",
		       f->name);
	else if (check_unclaimed(run, &e) < 0)
		printf("skipped '%s': %s\n", f->name, e.msg);
	else
		return true;
	return false;
}

static int import_all(struct import_run *run, struct cf_err *e)
{
	struct account *a = find_account(run->cfg, e);
	struct import_conn c;
	struct prov_listing l;
	struct svec written = {0};
	size_t skipped = 0;
	memset(&l, 0, sizeof(l));
	memset(&c, 0, sizeof(c));
	int rc = a ? conn_open(&c, a, run->src, e) : CF_EINVAL;
	if (rc == 0)
		rc = list_all(&c, &l, e);
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		if (!adopt_found(run, a, &l.v[i])) {
			skipped++;
		} else if ((rc = read_with(&c, run, e)) == 0 && (rc = write_file(run, e)) == 0) {
			svec_push(&written, run->path, NULL);
			report_written(run);
		}
		import_ep_release(run);
	}
	conn_close(&c);
	if (rc == 0 && written.n && (rc = recheck_all(&written, e)) == 0)
		printf("imported %zu endpoint%s, skipped %zu; next: git add endpoints/, then "
		       "'cacheform plan' shows no change for them\n",
		       written.n, written.n == 1 ? "" : "s", skipped);
	else if (rc == 0)
		printf("imported nothing: the provider lists %zu endpoint%s, skipped %zu\n", l.n,
		       l.n == 1 ? "" : "s", skipped);
	if (rc != 0) /* all or nothing: a half-imported fleet would be a surprise */
		for (size_t i = 0; i < written.n; i++)
			(void)unlink(written.v[i].s);
	svec_release(&written);
	prov_listing_release(&l);
	return rc;
}

int cmd_import(int argc, char **argv)
{
	struct import_run run;
	struct cf_err e;
	int ret = EXIT_ERROR;
	memset(&run, 0, sizeof(run));
	err_clear(&e);
	if (import_parse_args(argc, argv) < 0) {
		ret = EXIT_USAGE;
		goto done;
	}
	if (opt_all) {
		if (validate_repo("the repository", &run.cfg, &run.src, &e) < 0 ||
		    import_all(&run, &e) < 0)
			fprintf(stderr, "cacheform import: %s\n", e.msg);
		else
			ret = EXIT_OK;
		goto done;
	}
	if (validate_repo("the repository", &run.cfg, &run.src, &e) < 0 ||
	    build_endpoint(&run, &e) < 0 || check_unclaimed(&run, &e) < 0 ||
	    read_live(&run, &e) < 0 || write_file(&run, &e) < 0 || recheck(&run, &e) < 0) {
		fprintf(stderr, "cacheform import: %s\n", e.msg);
		goto done;
	}
	report_written(&run);
	printf("next: git add endpoints/%s.yaml, then 'cacheform plan -e %s' shows no change\n",
	       run.ep.name.s, run.ep.name.s);
	ret = EXIT_OK;
done:
	import_release(&run);
	svec_release(&opt_remote);
	svec_release(&opt_hosts);
	opt_all = false;
	return ret;
}
