/*
 * cacheform migrate --to ACCOUNT: translate azure-china and azure endpoints into endpoints of
 * an azure-frontdoor account with the same meaning (reconcile/migrate.c), show every gap with
 * its code and, for classic azure endpoints, Microsoft's own cdnCanMigrateToAfd answer (asked
 * through the azure account's driver; without network access that is said and the rest goes
 * on). With --write: the new files are created (never over an existing one), the old files
 * get `mode: observe`, and the whole repository must validate, else everything written is
 * put back as it was (all or nothing).
 */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"
#include "cmd/cacheform/cmd_load.h"
#include "reconcile/http.h"
#include "reconcile/migrate.h"
#include "reconcile/prov_azure.h"
#include "reconcile/provider.h"
#include "reconcile/repo.h"
#include "reconcile/base/afile.h"
#include "reconcile/base/limits.h"
#include "reconcile/base/near.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIGRATE_FILE_MODE     0644
#define MIGRATE_FILE_MAX      (4u << 20) /* bytes of an endpoint file read for the mode edit */
#define MIGRATE_JSON_VERSION  1
#define MIGRATE_REMOTE_KEYS_N 5

static const char *opt_to, *opt_repo, *opt_format;
static struct svec opt_only, opt_remote;
static bool opt_write;

const struct opt migrate_opts[] = {
    {"to", 0, OPT_STR, &opt_to, "ACCOUNT", "the azure-frontdoor account to move to (required)"},
    {"endpoint", 'e', OPT_STRLIST, &opt_only, "NAME",
     "translate this azure-china or azure endpoint (repeatable; default: all of them)"},
    {"remote", 0, OPT_STRLIST, &opt_remote, "KEY=VALUE",
     "Front Door location for every translated endpoint: resource_group=, profile=, endpoint=, "
     "route=, rule_set= (defaults: the classic endpoint's group, profile and name; route "
     "default-route; rule set cacheformNAME)"},
    {"format", 0, OPT_STR, &opt_format, "FMT", "text (default) or json"},
    {"write", 0, OPT_BOOL, &opt_write, NULL,
     "write endpoints/NAME-fd.yaml and set the old endpoints to mode: observe"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

/* Microsoft's answer for one classic endpoint's profile. */
struct mig_check {
	int state; /* 0 not asked (not azure), 1 answered, -1 could not ask */
	struct prov_azure_migrate answer;
	char *error; /* owned, state -1 */
};

struct mig_item {
	const struct endpoint *old;
	struct migrate_result res;
	struct mig_check check;
	char *text; /* owned: the new file's text */
};

struct mig_run {
	struct cmd_repo repo;
	struct account *to;
	struct migrate_target target;
	struct mig_item *items;
	size_t n;
	bool blocked;
};

/* ---- the command line ---- */

static int parse_target(struct migrate_target *t, struct cf_err *e)
{
	static const char *const keys[MIGRATE_REMOTE_KEYS_N] = {"resource_group", "profile",
								"endpoint", "route", "rule_set"};
	const char **slots[MIGRATE_REMOTE_KEYS_N] = {&t->resource_group, &t->profile, &t->endpoint,
						     &t->route, &t->rule_set};
	for (size_t i = 0; i < opt_remote.n; i++) {
		const char *kv = opt_remote.v[i].s, *eq = strchr(kv, '=');
		size_t k = 0;
		while (eq && eq[1] && k < MIGRATE_REMOTE_KEYS_N &&
		       (strlen(keys[k]) != (size_t)(eq - kv) ||
			strncmp(kv, keys[k], (size_t)(eq - kv)) != 0))
			k++;
		if (!eq || !eq[1] || k == MIGRATE_REMOTE_KEYS_N)
			return err_set(e, CF_EINVAL,
				       "--remote '%s': not resource_group=, profile=, endpoint=, "
				       "route= or rule_set= with a value",
				       kv);
		*slots[k] = eq + 1;
	}
	return CF_OK;
}

static int unknown_name(const char *what, const char *name, const char *const *names, size_t n,
			struct cf_err *e)
{
	struct near nr;
	near_init(&nr, name);
	for (size_t i = 0; i < n; i++)
		near_offer(&nr, names[i]);
	if (near_result(&nr))
		return err_set(e, CF_EINVAL, "unknown %s '%s'; did you mean '%s'?", what, name,
			       near_result(&nr));
	return err_set(e, CF_EINVAL, "unknown %s '%s'", what, name);
}

static int find_to(struct mig_run *run, struct cf_err *e)
{
	struct config *cfg = run->repo.cfg;
	run->to = config_account(cfg, opt_to);
	if (!run->to) {
		const char **names = xcalloc(cfg->naccounts + 1, sizeof(*names));
		for (size_t i = 0; i < cfg->naccounts; i++)
			names[i] = cfg->accounts[i].name.s;
		int rc = unknown_name("account", opt_to, names, cfg->naccounts, e);
		free(names);
		return rc;
	}
	if (run->to->provider != PROV_AZURE_FRONTDOOR)
		return err_set(e, CF_EINVAL,
			       "--to '%s' is a %s account; migrate moves endpoints to an "
			       "azure-frontdoor account",
			       opt_to, provider_name(run->to->provider));
	const struct mval *api = &run->to->api_version;
	run->target.account = run->to;
	run->target.account_name = opt_to;
	run->target.batch = api->kind == MVAL_ABSENT || (api->kind == MVAL_LITERAL &&
							 strcmp(api->text, AFD_BATCH_API_MIN) >= 0);
	return parse_target(&run->target, e);
}

static bool migratable(const struct endpoint *ep)
{
	return ep->account &&
	       (ep->account->provider == PROV_AZURE_CHINA || ep->account->provider == PROV_AZURE);
}

static void add_item(struct mig_run *run, const struct endpoint *ep)
{
	for (size_t i = 0; i < run->n; i++)
		if (run->items[i].old == ep)
			return;
	run->items = xreallocarray(run->items, run->n + 1, sizeof(*run->items));
	memset(&run->items[run->n], 0, sizeof(run->items[0]));
	run->items[run->n++].old = ep;
}

static int select_endpoints(struct mig_run *run, struct cf_err *e)
{
	struct config *cfg = run->repo.cfg;
	for (size_t i = 0; i < opt_only.n; i++) {
		const struct endpoint *ep = config_endpoint(cfg, opt_only.v[i].s);
		if (!ep) {
			const char **names = xcalloc(cfg->nendpoints + 1, sizeof(*names));
			for (size_t j = 0; j < cfg->nendpoints; j++)
				names[j] = cfg->endpoints[j].name.s;
			int rc =
			    unknown_name("endpoint", opt_only.v[i].s, names, cfg->nendpoints, e);
			free(names);
			return rc;
		}
		if (!migratable(ep))
			return err_set(e, CF_EINVAL,
				       "endpoint '%s' is %s: migrate translates azure-china and "
				       "azure endpoints",
				       ep->name.s,
				       ep->account ? provider_name(ep->account->provider) : "?");
		add_item(run, ep);
	}
	for (size_t i = 0; !opt_only.n && i < cfg->nendpoints; i++)
		if (migratable(&cfg->endpoints[i]))
			add_item(run, &cfg->endpoints[i]);
	if (!run->n)
		return err_set(e, CF_EINVAL, "the repository has no azure-china or azure endpoint");
	return CF_OK;
}

/* ---- Microsoft's check, through the azure account's driver ---- */

static int ask_one(struct prov_account *pa, struct http_client *http, struct mig_item *it,
		   struct cf_err *e)
{
	struct http_req req;
	struct http_resp resp;
	memset(&resp, 0, sizeof(resp));
	int rc = prov_azure_can_migrate_req(pa, it->old, &req, e);
	if (rc == 0) {
		(void)http_run(http, &req, &resp, 1);
		rc = prov_azure_can_migrate_parse(it->old, &resp, &it->check.answer, e);
	}
	http_req_release(&req);
	http_resp_release(&resp);
	return rc;
}

/* Asks for every classic endpoint of account a, through one signed-in client. */
static void ask_account(struct mig_run *run, const struct account *a)
{
	const struct prov_ops *ops = prov_get(PROV_AZURE);
	struct prov_account *pa = NULL;
	struct http_client *http = http_new(NULL);
	struct cf_err e;
	err_clear(&e);
	int rc = ops->account_open(a, repo_src_root(run->repo.src), &pa, &e);
	if (rc == 0)
		rc = ops->account_ready(pa, http, &e);
	for (size_t i = 0; i < run->n; i++) {
		struct mig_item *it = &run->items[i];
		if (it->old->account != a)
			continue;
		if (rc == 0) {
			struct cf_err one;
			err_clear(&one);
			bool ok = ask_one(pa, http, it, &one) == 0;
			it->check.state = ok ? 1 : -1;
			if (!ok)
				it->check.error = xstrdup(one.msg);
		} else {
			it->check.state = -1;
			it->check.error = xstrdup(e.msg);
		}
	}
	if (pa)
		ops->account_close(pa);
	http_free(http);
}

static void ask_microsoft(struct mig_run *run)
{
	for (size_t i = 0; i < run->n; i++) {
		const struct account *a = run->items[i].old->account;
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= run->items[j].old->account == a;
		if (a->provider == PROV_AZURE && !seen)
			ask_account(run, a);
	}
}

/* ---- output ---- */

static const char *sev_name(enum diag_sev s)
{
	return s == DIAG_ERROR ? "error" : s == DIAG_WARNING ? "warning" : "notice";
}

static void print_check(const struct mig_check *c)
{
	if (c->state == 0)
		return;
	if (c->state < 0) {
		printf("  cdnCanMigrateToAfd: not checked (%s); continuing offline\n", c->error);
		return;
	}
	printf("  cdnCanMigrateToAfd: %s", c->answer.can ? "can migrate" : "cannot migrate");
	if (c->answer.default_sku)
		printf(" (default SKU %s)", c->answer.default_sku);
	putchar('\n');
	for (size_t i = 0; i < c->answer.errors.n; i++)
		printf("    %s\n", c->answer.errors.v[i].s);
}

static void print_text(const struct mig_run *run)
{
	size_t blocked = 0;
	for (size_t i = 0; i < run->n; i++) {
		const struct mig_item *it = &run->items[i];
		const struct migrate_result *r = &it->res;
		const struct remote *rm = &r->ep.remote;
		printf("%s (%s, %s) -> %s (endpoints/%s.yaml)%s\n", it->old->name.s,
		       provider_name(it->old->account->provider), it->old->file, r->ep.name.s,
		       r->ep.name.s, r->blocked ? ": NOT TRANSLATED" : "");
		printf(
		    "  remote: resource_group %s, profile %s, endpoint %s, route %s, rule_set %s\n",
		    rm->resource_group.s ? rm->resource_group.s : "?",
		    rm->profile.s ? rm->profile.s : "?", rm->endpoint.s, rm->route.s,
		    rm->rule_set.s);
		printf("  %zu rule%s; same meaning on %zu of %zu probe paths\n", r->ep.cache.nrules,
		       r->ep.cache.nrules == 1 ? "" : "s", r->probes - r->differ, r->probes);
		for (size_t g = 0; g < r->ngaps; g++)
			printf("  %s %s: %s\n", sev_name(r->gaps[g].sev), r->gaps[g].code,
			       r->gaps[g].msg);
		print_check(&it->check);
		blocked += r->blocked;
	}
	printf("%zu endpoint%s: %zu translated, %zu not translated%s\n", run->n,
	       run->n == 1 ? "" : "s", run->n - blocked, blocked,
	       opt_write ? "" : " (dry run: nothing written; --write writes)");
}

static void json_check(struct sb *o, const struct mig_check *c)
{
	if (c->state == 0) {
		sb_adds(o, "null");
		return;
	}
	if (c->state < 0) {
		sb_adds(o, "{\"checked\": false, \"error\": ");
		sb_add_json_str(o, c->error);
		sb_addc(o, '}');
		return;
	}
	sb_addf(o, "{\"checked\": true, \"can_migrate\": %s, \"default_sku\": ",
		c->answer.can ? "true" : "false");
	if (c->answer.default_sku)
		sb_add_json_str(o, c->answer.default_sku);
	else
		sb_adds(o, "null");
	sb_adds(o, ", \"errors\": [");
	for (size_t i = 0; i < c->answer.errors.n; i++) {
		sb_adds(o, i ? ", " : "");
		sb_add_json_str(o, c->answer.errors.v[i].s);
	}
	sb_adds(o, "]}");
}

static void json_item(struct sb *o, const struct mig_item *it)
{
	const struct migrate_result *r = &it->res;
	const struct sval *rv[] = {&r->ep.remote.resource_group, &r->ep.remote.profile,
				   &r->ep.remote.endpoint, &r->ep.remote.route,
				   &r->ep.remote.rule_set};
	static const char *const rk[] = {"resource_group", "profile", "endpoint", "route",
					 "rule_set"};
	sb_adds(o, "{\"endpoint\": ");
	sb_add_json_str(o, it->old->name.s);
	sb_adds(o, ", \"provider\": ");
	sb_add_json_str(o, provider_name(it->old->account->provider));
	sb_adds(o, ", \"file\": ");
	sb_add_json_str(o, it->old->file);
	sb_adds(o, ", \"new_endpoint\": ");
	sb_add_json_str(o, r->ep.name.s);
	struct sb f;
	sb_init(&f, 0);
	sb_addf(&f, "endpoints/%s.yaml", r->ep.name.s);
	sb_adds(o, ", \"new_file\": ");
	sb_add_json_str(o, f.buf);
	sb_release(&f);
	sb_adds(o, ", \"remote\": {");
	for (size_t i = 0; i < CF_ARRAY_LEN(rk); i++) {
		sb_addf(o, "%s\"%s\": ", i ? ", " : "", rk[i]);
		if (rv[i]->s)
			sb_add_json_str(o, rv[i]->s);
		else
			sb_adds(o, "null");
	}
	sb_addf(o, "}, \"translated\": %s, \"rules\": %zu, \"probes\": %zu, \"differ\": %zu",
		r->blocked ? "false" : "true", r->ep.cache.nrules, r->probes, r->differ);
	sb_adds(o, ", \"gaps\": [");
	for (size_t g = 0; g < r->ngaps; g++) {
		sb_addf(o,
			"%s{\"code\": \"%s\", \"severity\": \"%s\", \"message\": ", g ? ", " : "",
			r->gaps[g].code, sev_name(r->gaps[g].sev));
		sb_add_json_str(o, r->gaps[g].msg);
		sb_addc(o, '}');
	}
	sb_adds(o, "], \"cdn_can_migrate_to_afd\": ");
	json_check(o, &it->check);
	sb_addc(o, '}');
}

static int print_json(const struct mig_run *run, bool written)
{
	struct sb o;
	sb_init(&o, 0);
	sb_addf(&o, "{\"format_version\": %d, \"to\": ", MIGRATE_JSON_VERSION);
	sb_add_json_str(&o, opt_to);
	sb_addf(&o, ", \"written\": %s, \"endpoints\": [", written ? "true" : "false");
	for (size_t i = 0; i < run->n; i++) {
		sb_adds(&o, i ? ", " : "");
		json_item(&o, &run->items[i]);
	}
	sb_adds(&o, "]}\n");
	int rc = fwrite(o.buf, 1, o.len, stdout) == o.len ? 0 : CF_EIO;
	sb_release(&o);
	return rc;
}

/* ---- writing ---- */

/* What --write changed, so a failure can put everything back. */
struct mig_undo {
	struct svec created; /* absolute paths of new files */
	struct svec edited;  /* absolute paths of old files rewritten */
	char **before;	     /* their previous text, parallel to edited */
	size_t *before_len;
	mode_t *perm; /* their permissions, kept by the edit and the restore */
};

static void undo(struct mig_undo *u)
{
	struct cf_err e;
	for (size_t i = 0; i < u->created.n; i++)
		(void)unlink(u->created.v[i].s);
	for (size_t i = 0; i < u->edited.n; i++) {
		err_clear(&e);
		if (afile_write(u->edited.v[i].s, u->before[i], u->before_len[i], u->perm[i],
				AFILE_REPLACE, "endpoint file", &e) < 0)
			fprintf(stderr, "cacheform migrate: cannot restore %s: %s\n",
				u->edited.v[i].s, e.msg);
	}
}

static void undo_release(struct mig_undo *u)
{
	for (size_t i = 0; i < u->edited.n; i++)
		free(u->before[i]);
	free(u->before);
	free(u->before_len);
	free(u->perm);
	svec_release(&u->created);
	svec_release(&u->edited);
}

static int write_new(struct mig_run *run, struct mig_item *it, struct mig_undo *u, struct cf_err *e)
{
	struct sb path;
	sb_init(&path, 0);
	sb_addf(&path, "%s/endpoints/%s.yaml", repo_src_root(run->repo.src), it->res.ep.name.s);
	int rc = afile_write(path.buf, it->text, strlen(it->text), MIGRATE_FILE_MODE, AFILE_CREATE,
			     "endpoint file", e);
	if (rc == 0)
		svec_push(&u->created, path.buf, NULL);
	sb_release(&path);
	return rc;
}

static int set_observe(struct mig_run *run, const struct endpoint *old, struct mig_undo *u,
		       struct cf_err *e)
{
	char *text = NULL;
	size_t len = 0;
	struct sb path, out;
	int rc = repo_src_read(run->repo.src, old->file, MIGRATE_FILE_MAX, &text, &len, e);
	if (rc != 0)
		return rc;
	sb_init(&out, 0);
	sb_init(&path, 0);
	sb_addf(&path, "%s/%s", repo_src_root(run->repo.src), old->file);
	if (migrate_observe_text(text, len, &out) != 0)
		rc = err_set(e, CF_EINVAL,
			     "%s: mode is not set on a line of its own; set 'mode: observe' by "
			     "hand",
			     old->file);
	struct stat st;
	mode_t perm = lstat(path.buf, &st) == 0 ? (st.st_mode & 07777) : MIGRATE_FILE_MODE;
	if (rc == 0)
		rc = afile_write(path.buf, out.buf, out.len, perm, AFILE_REPLACE, "endpoint file",
				 e);
	if (rc == 0) {
		size_t k = u->edited.n;
		u->before = xreallocarray(u->before, k + 1, sizeof(*u->before));
		u->before_len = xreallocarray(u->before_len, k + 1, sizeof(*u->before_len));
		u->before[k] = text;
		u->before_len[k] = len;
		u->perm = xreallocarray(u->perm, k + 1, sizeof(*u->perm));
		u->perm[k] = perm;
		svec_push(&u->edited, path.buf, NULL);
		text = NULL;
	}
	free(text);
	sb_release(&path);
	sb_release(&out);
	return rc;
}

/* The repository with every change in it must validate; findings go to stderr. */
static int recheck(struct cf_err *e)
{
	struct cmd_repo r;
	int rc = cmd_load(opt_repo, NULL, NULL, &r);
	if (rc < 0) {
		(void)cmd_load_print(stderr, &r);
		rc = err_set(e, CF_EINVAL,
			     "the migrated repository does not validate; "
			     "everything written was put back");
	}
	cmd_repo_release(&r);
	return rc;
}

static int write_all(struct mig_run *run, struct cf_err *e)
{
	struct mig_undo u;
	struct sb dir;
	int rc = 0;
	memset(&u, 0, sizeof(u));
	sb_init(&dir, 0);
	sb_addf(&dir, "%s/endpoints", repo_src_root(run->repo.src));
	if (mkdir(dir.buf, 0755) != 0 && errno != EEXIST)
		rc = err_set(e, CF_EIO, "cannot create '%s': %s", dir.buf, strerror(errno));
	sb_release(&dir);
	for (size_t i = 0; rc == 0 && i < run->n; i++)
		rc = write_new(run, &run->items[i], &u, e);
	for (size_t i = 0; rc == 0 && i < run->n; i++)
		if (run->items[i].old->mode != MODE_OBSERVE)
			rc = set_observe(run, run->items[i].old, &u, e);
	if (rc == 0)
		rc = recheck(e);
	if (rc != 0)
		undo(&u);
	undo_release(&u);
	return rc;
}

/* ---- the command ---- */

static int migrate_parse_args(int argc, char **argv)
{
	int npos;
	if (opt_parse("migrate", migrate_opts, argc, argv, &npos) < 0)
		return -1;
	if (npos > 0) {
		fprintf(stderr, "cacheform migrate: unexpected argument '%s'\n", argv[0]);
		return -1;
	}
	if (!opt_to) {
		fprintf(stderr, "cacheform migrate: --to ACCOUNT is required\n");
		return -1;
	}
	if (opt_format && strcmp(opt_format, "text") != 0 && strcmp(opt_format, "json") != 0) {
		fprintf(stderr, "cacheform migrate: --format is text or json, not '%s'\n",
			opt_format);
		return -1;
	}
	return 0;
}

static void translate_all(struct mig_run *run)
{
	for (size_t i = 0; i < run->n; i++) {
		struct mig_item *it = &run->items[i];
		struct sb text;
		migrate_endpoint(run->repo.cfg, it->old, &run->target, &it->res);
		sb_init(&text, 0);
		migrate_yaml(it->old, &it->res, &text);
		it->text = sb_detach(&text);
		run->blocked |= it->res.blocked;
	}
}

static void run_release(struct mig_run *run)
{
	for (size_t i = 0; i < run->n; i++) {
		migrate_result_release(&run->items[i].res);
		prov_azure_migrate_release(&run->items[i].check.answer);
		free(run->items[i].check.error);
		free(run->items[i].text);
	}
	free(run->items);
	cmd_repo_release(&run->repo);
	svec_release(&opt_only);
	svec_release(&opt_remote);
	opt_write = false;
	opt_to = opt_repo = opt_format = NULL;
}

int cmd_migrate(int argc, char **argv)
{
	struct mig_run run;
	struct cf_err e;
	int ret = EXIT_ERROR;
	memset(&run, 0, sizeof(run));
	err_clear(&e);
	if (migrate_parse_args(argc, argv) < 0) {
		ret = EXIT_USAGE;
		goto done;
	}
	if (cmd_load(opt_repo, NULL, NULL, &run.repo) < 0) {
		(void)cmd_load_print(stderr, &run.repo);
		fprintf(stderr, "cacheform migrate: the repository does not validate\n");
		goto done;
	}
	if (find_to(&run, &e) < 0 || select_endpoints(&run, &e) < 0) {
		fprintf(stderr, "cacheform migrate: %s\n", e.msg);
		goto done;
	}
	translate_all(&run);
	ask_microsoft(&run);
	bool write = opt_write && !run.blocked;
	if (write && write_all(&run, &e) < 0) {
		fprintf(stderr, "cacheform migrate: %s\n", e.msg);
		goto done;
	}
	if (opt_format && strcmp(opt_format, "json") == 0)
		(void)print_json(&run, write);
	else
		print_text(&run);
	if (run.blocked)
		fprintf(
		    stderr,
		    "cacheform migrate: an endpoint cannot be translated (error gaps above)%s\n",
		    opt_write ? "; nothing written" : "");
	else if (write)
		printf(
		    "wrote %zu file%s and set the old endpoints to mode: observe; next: git add, "
		    "then 'cacheform apply' the new endpoints\n",
		    run.n, run.n == 1 ? "" : "s");
	ret = run.blocked ? EXIT_ERROR : EXIT_OK;
done:
	run_release(&run);
	return ret;
}
