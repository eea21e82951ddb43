#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_state.h"
#include "cmd/fakecdn/fk_afd.h"
#include "cmd/fakecdn/fk_azure.h"
#include "cmd/fakecdn/fk_azurecn.h"
#include "cmd/fakecdn/fk_cdnpro_prop.h"
#include "cmd/fakecdn/fk_edge.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/xmem.h"

#include <errno.h>
#include <stddef.h>
#include <strings.h>
#include <unistd.h>

#define DEFAULT_TASK_DELAY_MS	1000
#define DEFAULT_RETRY_AFTER_S	1
#define DEFAULT_TOKEN_EXPIRY_S	3599
#define DEFAULT_CHINA_WINDOW_S	900
#define DEFAULT_CDNPRO_WINDOW_S 300
#define DEFAULT_CDNPRO_RATE	30
#define DEFAULT_CDNPRO_BURST	60
/* CDN Pro: validations take ~5 s and deployments 2-5 min on the service (reference §2.3-2.4);
 * scaled down like task_delay_ms. The version cap is not published: the reference's example. */
#define DEFAULT_CDNPRO_VALIDATION_MS 1000
#define DEFAULT_CDNPRO_DEPLOY_MS     2000
#define DEFAULT_CDNPRO_VERSION_CAP   100
#define TASKS_MAX		     10000
#define TASK_RETENTION_MS	     (30LL * 24 * 3600 * 1000)
#define STATE_FILE_MAX		     (1024L << 20) /* 100,000 endpoints are ~110 MiB (make bench fleet) */

enum knob_type { KNOB_INT, KNOB_RATE, KNOB_BOOL, KNOB_STR, KNOB_FOR_MS };

struct knob_def {
	const char *name;
	enum knob_type type;
	size_t off;
};

#define KNOB(n, t, f)                                                                              \
	{                                                                                          \
		n, t, offsetof(struct fk_knobs, f)                                                 \
	}
static const struct knob_def knob_defs[] = {
    KNOB("latency_ms", KNOB_INT, latency_ms),
    KNOB("error_rate", KNOB_RATE, error_rate),
    KNOB("throttle_every", KNOB_INT, throttle_every),
    KNOB("throttle_for_ms", KNOB_FOR_MS, throttle_until_ms),
    KNOB("retry_after_s", KNOB_INT, retry_after_s),
    KNOB("drop_rate", KNOB_RATE, drop_rate),
    KNOB("truncate_rate", KNOB_RATE, truncate_rate),
    KNOB("malformed_rate", KNOB_RATE, malformed_rate),
    KNOB("act_drop_rate", KNOB_RATE, act_drop_rate),
    KNOB("status_elsewhere", KNOB_BOOL, status_elsewhere),
    KNOB("echo_secrets", KNOB_BOOL, echo_secrets),
    KNOB("task_delay_ms", KNOB_INT, task_delay_ms),
    KNOB("task_fail", KNOB_BOOL, task_fail),
    KNOB("afd_op_ms", KNOB_INT, afd_op_ms),
    KNOB("read_padding_bytes", KNOB_INT, read_padding_bytes),
    KNOB("token_expiry_s", KNOB_INT, token_expiry_s),
    KNOB("china_date_window_s", KNOB_INT, china_date_window_s),
    KNOB("cdnpro_date_window_s", KNOB_INT, cdnpro_date_window_s),
    KNOB("cdnpro_rate_per_minute", KNOB_INT, cdnpro_rate_per_minute),
    KNOB("cdnpro_burst", KNOB_INT, cdnpro_burst),
    KNOB("arm_rate_per_minute", KNOB_INT, arm_rate_per_minute),
    KNOB("arm_burst", KNOB_INT, arm_burst),
    KNOB("cdnpro_validation_ms", KNOB_INT, cdnpro_validation_ms),
    KNOB("cdnpro_deploy_ms", KNOB_INT, cdnpro_deploy_ms),
    KNOB("cdnpro_version_cap", KNOB_INT, cdnpro_version_cap),
    KNOB("only", KNOB_STR, only),
};

static void knobs_default(struct fk_knobs *k)
{
	memset(k, 0, sizeof(*k));
	k->task_delay_ms = DEFAULT_TASK_DELAY_MS;
	k->afd_op_ms = DEFAULT_TASK_DELAY_MS;
	k->retry_after_s = DEFAULT_RETRY_AFTER_S;
	k->token_expiry_s = DEFAULT_TOKEN_EXPIRY_S;
	k->china_date_window_s = DEFAULT_CHINA_WINDOW_S;
	k->cdnpro_date_window_s = DEFAULT_CDNPRO_WINDOW_S;
	k->cdnpro_rate_per_minute = DEFAULT_CDNPRO_RATE;
	k->cdnpro_burst = DEFAULT_CDNPRO_BURST;
	k->cdnpro_validation_ms = DEFAULT_CDNPRO_VALIDATION_MS;
	k->cdnpro_deploy_ms = DEFAULT_CDNPRO_DEPLOY_MS;
	k->cdnpro_version_cap = DEFAULT_CDNPRO_VERSION_CAP;
}

static const char *const providers[] = {"",	  "azure-china", "azure",
					"cdnpro", "token",	 "azure-frontdoor"};

static int apply_one(struct fk_knobs *k, const struct knob_def *d, struct json_object *v,
		     int64_t now_ms, char *msg, size_t msgsz)
{
	void *field = (void *)((char *)k + d->off);
	enum json_type t = json_object_get_type(v);
	bool num = t == json_type_int || t == json_type_double;

	switch (d->type) {
	case KNOB_INT:
	case KNOB_FOR_MS:
		if (t != json_type_int || json_object_get_int64(v) < 0)
			break;
		*(int64_t *)field = json_object_get_int64(v);
		if (d->type == KNOB_FOR_MS)
			*(int64_t *)field += now_ms;
		return 0;
	case KNOB_RATE:
		if (!num || json_object_get_double(v) < 0 || json_object_get_double(v) > 1)
			break;
		*(double *)field = json_object_get_double(v);
		return 0;
	case KNOB_BOOL:
		if (t != json_type_boolean)
			break;
		*(bool *)field = json_object_get_boolean(v);
		return 0;
	case KNOB_STR:
		for (size_t i = 0; t == json_type_string && i < CF_ARRAY_LEN(providers); i++)
			if (strcmp(json_object_get_string(v), providers[i]) == 0) {
				snprintf(field, sizeof(k->only), "%s", providers[i]);
				return 0;
			}
		break;
	}
	snprintf(msg, msgsz, "bad value for knob '%s'", d->name);
	return -1;
}

int fk_knobs_apply(struct fk_knobs *k, struct json_object *o, int64_t now_ms, char *msg,
		   size_t msgsz)
{
	struct fk_knobs next = *k;

	if (!o || !json_object_is_type(o, json_type_object)) {
		snprintf(msg, msgsz, "knobs must be a JSON object");
		return -1;
	}
	json_object_object_foreach(o, key, val)
	{
		const struct knob_def *d = NULL;

		for (size_t i = 0; i < CF_ARRAY_LEN(knob_defs); i++)
			if (strcmp(knob_defs[i].name, key) == 0)
				d = &knob_defs[i];
		if (!d) {
			snprintf(msg, msgsz, "unknown knob '%s'", key);
			return -1;
		}
		if (apply_one(&next, d, val, now_ms, msg, msgsz) < 0)
			return -1;
	}
	if (next.cdnpro_rate_per_minute < 1 || next.cdnpro_burst < 1) {
		snprintf(msg, msgsz, "cdnpro_rate_per_minute and cdnpro_burst must be at least 1");
		return -1;
	}
	if (next.arm_rate_per_minute > 0 && next.arm_burst < 1) {
		snprintf(msg, msgsz, "arm_rate_per_minute needs an arm_burst of at least 1");
		return -1;
	}
	*k = next;
	return 0;
}

struct json_object *fk_knobs_json(const struct fk_knobs *k, int64_t now_ms)
{
	struct json_object *o = json_object_new_object();

	for (size_t i = 0; i < CF_ARRAY_LEN(knob_defs); i++) {
		const struct knob_def *d = &knob_defs[i];
		const void *field = (const void *)((const char *)k + d->off);
		struct json_object *v = NULL;
		int64_t left;

		switch (d->type) {
		case KNOB_INT:
			v = json_object_new_int64(*(const int64_t *)field);
			break;
		case KNOB_FOR_MS:
			left = *(const int64_t *)field - now_ms;
			v = json_object_new_int64(left > 0 ? left : 0);
			break;
		case KNOB_RATE:
			v = json_object_new_double(*(const double *)field);
			break;
		case KNOB_BOOL:
			v = json_object_new_boolean(*(const bool *)field);
			break;
		case KNOB_STR:
			v = json_object_new_string(field);
			break;
		}
		json_object_object_add(o, d->name, v);
	}
	return o;
}

static struct json_object *load_file(const char *path, struct cf_err *e)
{
	FILE *f = fopen(path, "rb");
	struct json_object *o = NULL;
	char *buf = NULL;
	long len;

	if (!f) {
		err_set(e, CF_EIO, "cannot open state file '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > STATE_FILE_MAX ||
	    fseek(f, 0, SEEK_SET) != 0) {
		err_set(e, CF_EIO, "cannot read state file '%s' (at most %ld MiB)", path,
			STATE_FILE_MAX >> 20);
		goto out;
	}
	buf = xmalloc((size_t)len + 1);
	if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
		err_set(e, CF_EIO, "cannot read state file '%s'", path);
		goto out;
	}
	buf[len] = '\0';
	o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
		err_set(e, CF_EINVAL, "state file '%s' is not a JSON object", path);
	}
out:
	free(buf);
	fclose(f);
	return o;
}

int fk_app_init(struct fk_app *app, const char *state_path, struct cf_err *e)
{
	char msg[256];

	memset(app, 0, sizeof(*app));
	pthread_mutex_init(&app->mu, NULL);
	pthread_mutex_init(&app->jmu, NULL);
	knobs_default(&app->knobs);
	app->seed = load_file(state_path, e);
	if (!app->seed)
		return -1;
	app->state_path = xstrdup(state_path);
	if (fk_jobj(app->seed, "settings") &&
	    fk_knobs_apply(&app->knobs, fk_jobj(app->seed, "settings"), 0, msg, sizeof(msg)) < 0)
		return err_set(e, CF_EINVAL, "state file '%s': settings: %s", state_path, msg), -1;
	app->seed_knobs = app->knobs;
	json_object_deep_copy(app->seed, &app->state, NULL);
	fk_jarr_ensure(app->state, "tasks");
	if (fk_cdnpro_prop_seed(app, fk_now_ms(), msg, sizeof(msg)) < 0)
		return err_set(e, CF_EINVAL, "state file '%s': cdnpro.properties: %s", state_path,
			       msg),
		       -1;
	fk_app_fill_buckets(app, fk_now_ms());
	return 0;
}

void fk_app_fill_buckets(struct fk_app *app, int64_t now_ms)
{
	app->bucket = (struct fk_bucket){(double)app->knobs.cdnpro_burst, now_ms};
	app->arm_bucket = (struct fk_bucket){(double)app->knobs.arm_burst, now_ms};
}

static void forget_tokens(struct fk_app *app)
{
	for (size_t i = 0; i < app->ntokens; i++)
		free(app->tokens[i].tenant);
	app->ntokens = 0;
}

void fk_app_release(struct fk_app *app)
{
	forget_tokens(app);
	free(app->tokens);
	fk_edge_release(app);
	fk_azure_index_drop(app);
	fk_afd_index_drop(app);
	fk_azurecn_index_drop(app);
	json_object_put(app->state);
	json_object_put(app->seed);
	free(app->state_path);
	if (app->journal)
		fclose(app->journal);
	pthread_mutex_destroy(&app->mu);
	pthread_mutex_destroy(&app->jmu);
	memset(app, 0, sizeof(*app));
}

void fk_app_reset(struct fk_app *app)
{
	fk_azure_index_drop(app);
	fk_afd_index_drop(app);
	fk_azurecn_index_drop(app);
	char msg[256];

	json_object_put(app->state);
	app->state = NULL;
	json_object_deep_copy(app->seed, &app->state, NULL);
	fk_jarr_ensure(app->state, "tasks");
	/* The seed loaded once, so it converts again. */
	(void)fk_cdnpro_prop_seed(app, fk_now_ms(), msg, sizeof(msg));
	app->knobs = app->seed_knobs;
	app->provider_requests = 0;
	forget_tokens(app);
	fk_edge_reset(app);
	fk_app_fill_buckets(app, fk_now_ms());
	app->tasks_next_due_ms = 0;
	app->dirty = true;
}

int fk_app_save(struct fk_app *app, struct cf_err *e)
{
	char tmp[4096];
	const char *text;
	FILE *f;
	int ok;

	if (!app->save || !app->dirty)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", app->state_path, (long)getpid());
	f = fopen(tmp, "wb");
	if (!f)
		return err_set(e, CF_EIO, "cannot write '%s': %s", tmp, strerror(errno)), -1;
	text = json_object_to_json_string_ext(app->state, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	ok =
	    fputs(text, f) >= 0 && fputc('\n', f) != EOF && fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	/* rename() replaces the file in one step, so a reader never sees half a state. */
	if (!ok || rename(tmp, app->state_path) != 0) {
		unlink(tmp);
		return err_set(e, CF_EIO, "cannot save state to '%s': %s", app->state_path,
			       strerror(errno)),
		       -1;
	}
	app->dirty = false;
	return 0;
}

void fk_state_changed(struct fk_app *app, struct fk_resp *resp)
{
	app->dirty = true;
	if (resp)
		resp->changed = true;
}

struct json_object *fk_task_new(struct fk_app *app, const char *kind, const char *id,
				int64_t now_ms)
{
	struct json_object *tasks = fk_jarr_ensure(app->state, "tasks");
	struct json_object *t = json_object_new_object();

	json_object_object_add(t, "id", json_object_new_string(id));
	json_object_object_add(t, "kind", json_object_new_string(kind));
	json_object_object_add(t, "created_ms", json_object_new_int64(now_ms));
	json_object_object_add(t, "due_ms",
			       json_object_new_int64(now_ms + app->knobs.task_delay_ms));
	json_object_object_add(t, "fail", json_object_new_boolean(app->knobs.task_fail));
	json_object_object_add(t, "status", json_object_new_string("running"));
	json_object_array_add(tasks, t);
	app->tasks_next_due_ms = 0; /* its caller may still set its due_ms */
	return t;
}

struct json_object *fk_task_find(struct fk_app *app, const char *kind, const char *id)
{
	struct json_object *tasks = fk_jarr(app->state, "tasks");

	/* newest first: a poll mostly asks for a task made moments ago (ids are unique) */
	for (size_t i = tasks ? json_object_array_length(tasks) : 0; i-- > 0;) {
		struct json_object *t = json_object_array_get_idx(tasks, i);
		const char *tid = fk_jstr(t, "id"), *tk = fk_jstr(t, "kind");

		if (tid && tk && strcmp(tk, kind) == 0 && strcmp(tid, id) == 0)
			return t;
	}
	return NULL;
}

const char *fk_task_status(struct json_object *task)
{
	const char *s = fk_jstr(task, "status");

	return s ? s : "running";
}

/* A cache-rules task applies its staged policy when it succeeds. */
static void apply_staged_rules(struct fk_app *app, struct json_object *t)
{
	struct json_object *ep =
	    fk_azurecn_endpoint(app, fk_jstr(t, "subscription"), fk_jstr(t, "endpoint"));
	struct json_object *rules = fk_jobj(t, "rules");

	if (ep && rules)
		json_object_object_add(ep, "cacherules", json_object_get(rules));
}

static bool prune_tasks(struct json_object *tasks, int64_t now_ms)
{
	size_t n = json_object_array_length(tasks), drop = 0;

	while (drop < n) {
		struct json_object *t = json_object_array_get_idx(tasks, drop);
		bool old = fk_jint(t, "created_ms", 0) < now_ms - TASK_RETENTION_MS;

		if (!old && n - drop <= TASKS_MAX)
			break;
		drop++;
	}
	if (drop)
		json_object_array_del_idx(tasks, 0, drop);
	return drop > 0;
}

bool fk_tasks_advance(struct fk_app *app, int64_t now_ms)
{
	struct json_object *tasks = fk_jarr(app->state, "tasks");
	size_t n = tasks ? json_object_array_length(tasks) : 0;
	bool changed = false;
	int64_t next = INT64_MAX;

	/* Every request comes here: with thousands of tasks a scan each time was quadratic in a
	 * fleet-size apply (issue 17). Nothing is due before the earliest running task. */
	bool scan = app->tasks_next_due_ms <= now_ms;
	if (scan)
		app->tasks_next_due_ms = INT64_MAX; /* a task made meanwhile sets it to 0 */
	else
		n = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(tasks, i);
		if (strcmp(fk_task_status(t), "running") != 0)
			continue;
		int64_t due = fk_jint(t, "due_ms", 0);
		if (due > now_ms) {
			next = due < next ? due : next;
			continue;
		}
		bool fail = fk_jbool(t, "fail", false);
		const char *kind = fk_jstr(t, "kind");

		if (fk_cdnpro_prop_task(kind))
			fk_cdnpro_prop_task_done(app, t, fail, due);
		else if (!fail && kind && strcmp(kind, "cacherules") == 0)
			apply_staged_rules(app, t);
		else if (!fail)
			fk_edge_task_done(app, t, now_ms);
		json_object_object_add(t, "status",
				       json_object_new_string(fail ? "failed" : "succeeded"));
		json_object_object_add(t, "finished_ms", json_object_new_int64(due));
		json_object_object_del(t, "rules");
		changed = true;
	}
	if (scan && app->tasks_next_due_ms != 0)
		app->tasks_next_due_ms = next;
	if (tasks && prune_tasks(tasks, now_ms))
		changed = true;
	if (changed)
		app->dirty = true;
	return changed;
}
