/*
 * fakecdn: a local emulator of the three CDN provider APIs cacheform talks to
 * (azure-china, azure ARM + Entra ID tokens, cdnpro), with a JSON state file, a journal of
 * every request and fault injection. See examples/fakecdn/README.md.
 */
#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_app.h"
#include "cmd/fakecdn/fk_azure.h"
#include "cmd/fakecdn/fk_azurecn.h"
#include "cmd/fakecdn/fk_server.h"
#include "cmd/fakecdn/fk_state.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/xmem.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#define FAKECDN_VERSION "0.1.0"
#define DEFAULT_PORT	8480
#define MAX_PORT	65535
#define EXIT_USAGE	2
/* CDN Pro's staging servers: a second listener on this loopback address, on the API's port
 * (GET /cdn/stagingServers names it; curl --connect-to HOST:80:127.0.0.2:PORT reaches it). */
#define DEFAULT_STAGING_IP "127.0.0.2"

struct options {
	const char *state, *port_file, *journal, *cert, *key, *staging_ip;
	unsigned port;
	bool save;
	struct json_object *knobs; /* knob overrides from the command line */
};

static const char usage_text[] =
    "usage: fakecdn --state FILE [--port N] [--port-file FILE] [--journal FILE] [--save]\n"
    "               [--task-delay MS] [--latency MS] [--error-rate P] [--throttle every=N|for=MS]\n"
    "               [--drop-rate P] [--truncate-rate P] [--malformed-rate P] [--task-fail]\n"
    "               [--tls-cert FILE --tls-key FILE] [--staging-ip ADDR|off]\n"
    "Serves azure-china, azure (ARM + token) and cdnpro on 127.0.0.1; admin under /_fakecdn/.\n"
    "--port 0 picks a free port and writes it to --port-file. Stops on SIGTERM or SIGINT.\n";

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "fakecdn: %s\n", msg);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int knob_int(struct options *o, const char *name, const char *arg)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (!*arg || *end || errno || v < 0)
		return -1;
	json_object_object_add(o->knobs, name, json_object_new_int64(v));
	return 0;
}

static int knob_rate(struct options *o, const char *name, const char *arg)
{
	char *end;
	double v = strtod(arg, &end);

	if (!*arg || *end || v < 0 || v > 1)
		return -1;
	json_object_object_add(o->knobs, name, json_object_new_double(v));
	return 0;
}

static int knob_throttle(struct options *o, const char *arg)
{
	if (strncmp(arg, "every=", 6) == 0)
		return knob_int(o, "throttle_every", arg + 6);
	if (strncmp(arg, "for=", 4) == 0)
		return knob_int(o, "throttle_for_ms", arg + 4);
	return knob_int(o, "throttle_every", arg);
}

enum {
	OPT_PORT_FILE = 256,
	OPT_TASK_DELAY,
	OPT_ERROR_RATE,
	OPT_DROP_RATE,
	OPT_TRUNCATE_RATE,
	OPT_MALFORMED_RATE,
	OPT_TASK_FAIL,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_STAGING_IP,
	OPT_VERSION
};

static const struct option long_opts[] = {
    {"state", required_argument, NULL, 's'},
    {"port", required_argument, NULL, 'p'},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {"journal", required_argument, NULL, 'j'},
    {"save", no_argument, NULL, 'S'},
    {"task-delay", required_argument, NULL, OPT_TASK_DELAY},
    {"latency", required_argument, NULL, 'l'},
    {"error-rate", required_argument, NULL, OPT_ERROR_RATE},
    {"throttle", required_argument, NULL, 't'},
    {"drop-rate", required_argument, NULL, OPT_DROP_RATE},
    {"truncate-rate", required_argument, NULL, OPT_TRUNCATE_RATE},
    {"malformed-rate", required_argument, NULL, OPT_MALFORMED_RATE},
    {"task-fail", no_argument, NULL, OPT_TASK_FAIL},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"staging-ip", required_argument, NULL, OPT_STAGING_IP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns 0 to run, 1 to exit 0 (help, version), -1 on a usage error. */
static int parse_one(struct options *o, int c, const char *arg)
{
	char *end;
	long port;

	switch (c) {
	case 's':
		o->state = arg;
		return 0;
	case OPT_PORT_FILE:
		o->port_file = arg;
		return 0;
	case 'j':
		o->journal = arg;
		return 0;
	case 'S':
		o->save = true;
		return 0;
	case OPT_TLS_CERT:
		o->cert = arg;
		return 0;
	case OPT_TLS_KEY:
		o->key = arg;
		return 0;
	case OPT_STAGING_IP:
		o->staging_ip = arg;
		return 0;
	case 'p':
		port = strtol(arg, &end, 10);
		if (!*arg || *end || port < 0 || port > MAX_PORT)
			return -1;
		o->port = (unsigned)port;
		return 0;
	case OPT_TASK_DELAY:
		return knob_int(o, "task_delay_ms", arg);
	case 'l':
		return knob_int(o, "latency_ms", arg);
	case OPT_ERROR_RATE:
		return knob_rate(o, "error_rate", arg);
	case 't':
		return knob_throttle(o, arg);
	case OPT_DROP_RATE:
		return knob_rate(o, "drop_rate", arg);
	case OPT_TRUNCATE_RATE:
		return knob_rate(o, "truncate_rate", arg);
	case OPT_MALFORMED_RATE:
		return knob_rate(o, "malformed_rate", arg);
	case OPT_TASK_FAIL:
		json_object_object_add(o->knobs, "task_fail", json_object_new_boolean(true));
		return 0;
	case OPT_VERSION:
		printf("fakecdn %s\n", FAKECDN_VERSION);
		return 1;
	case 'h':
		fputs(usage_text, stdout);
		return 1;
	default:
		return -1;
	}
}

static int parse_args(struct options *o, int argc, char **argv)
{
	int c, rc;

	o->port = DEFAULT_PORT;
	o->staging_ip = DEFAULT_STAGING_IP;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		rc = parse_one(o, c, optarg);
		if (rc < 0)
			return usage(c == '?' ? NULL : "bad option value"), -1;
		if (rc > 0)
			return 1;
	}
	if (optind < argc)
		return usage("unexpected argument"), -1;
	if (!o->state)
		return usage("--state is required"), -1;
	return 0;
}

/* Writes the port through a temporary file and rename, so a waiter never reads "" or half. */
static int write_port_file(const char *path, unsigned port, struct cf_err *e)
{
	char tmp[4096];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return err_set(e, CF_EIO, "cannot write '%s': %s", tmp, strerror(errno)), -1;
	ok = fprintf(f, "%u\n", port) > 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return err_set(e, CF_EIO, "cannot write port file '%s'", path), -1;
	}
	return 0;
}

static int setup(struct fk_app *app, const struct options *o, struct cf_err *e)
{
	char msg[256];

	if (fk_app_init(app, o->state, e) < 0)
		return -1;
	app->save = o->save;
	if (fk_knobs_apply(&app->knobs, o->knobs, fk_now_ms(), msg, sizeof(msg)) < 0)
		return err_set(e, CF_EINVAL, "%s", msg), -1;
	app->seed_knobs = app->knobs;
	fk_app_fill_buckets(app, fk_now_ms());
	if (o->journal && fk_journal_open(app, o->journal, e) < 0)
		return -1;
	return 0;
}

/* Blocks until SIGTERM or SIGINT (blocked in every thread, so only sigwait sees them). */
static void wait_for_signal(const sigset_t *set)
{
	int sig = 0;

	while (sigwait(set, &sig) != 0)
		;
}

int main(int argc, char **argv)
{
	struct options o;
	struct fk_app app;
	struct fk_server *srv = NULL, *stg = NULL;
	struct cf_err e;
	sigset_t set;
	int rc, status = 1;

	memset(&o, 0, sizeof(o));
	memset(&app, 0, sizeof(app));
	o.knobs = json_object_new_object();
	rc = parse_args(&o, argc, argv);
	if (rc != 0) {
		json_object_put(o.knobs);
		return rc > 0 ? 0 : EXIT_USAGE;
	}
	err_clear(&e);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (setup(&app, &o, &e) < 0)
		goto out;
	/* the endpoint indexes are built before the first client can arrive, not by its request */
	fk_azure_index_build(&app);
	fk_azurecn_index_build(&app);
	srv = fk_server_start(&app, o.port, o.cert, o.key, &e);
	if (!srv)
		goto out;
	if (strcmp(o.staging_ip, "off") != 0) {
		struct cf_err se;

		err_clear(&se);
		stg = fk_server_start_at(&app, o.staging_ip, fk_server_port(srv), o.cert, o.key,
					 true, &se);
		/* Without it the emulator still runs: GET /cdn/stagingServers lists none. */
		if (stg) {
			pthread_mutex_lock(&app.mu);
			snprintf(app.staging_ip, sizeof(app.staging_ip), "%s", o.staging_ip);
			pthread_mutex_unlock(&app.mu);
			fprintf(stderr, "fakecdn: CDN Pro staging edge on %s:%u\n", o.staging_ip,
				fk_server_port(srv));
		} else {
			fprintf(stderr, "fakecdn: no CDN Pro staging edge: %s\n", se.msg);
		}
	}
	if (o.port_file && write_port_file(o.port_file, fk_server_port(srv), &e) < 0)
		goto out;
	fprintf(stderr, "fakecdn: listening on %s://127.0.0.1:%u\n", app.tls ? "https" : "http",
		fk_server_port(srv));
	wait_for_signal(&set);
	status = 0;
out:
	if (status)
		err_print(&e);
	fk_server_stop(stg);
	fk_server_stop(srv);
	if (app.state) {
		/* Tasks that fell due since the last request are recorded before exiting. */
		fk_tasks_advance(&app, fk_now_ms());
		if (fk_app_save(&app, &e) < 0) {
			err_print(&e);
			status = 1;
		}
	}
	/* fk_app_init ran (it initialises the locks first), even when it failed part-way. */
	fk_app_release(&app);
	json_object_put(o.knobs);
	return status;
}
