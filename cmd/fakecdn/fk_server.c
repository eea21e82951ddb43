#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_server.h"
#include "cmd/fakecdn/fk_app.h"
#include "cmd/fakecdn/fk_delay.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define BODY_MAX	 ((size_t)1 << 20)
#define PEM_MAX		 ((size_t)1 << 20)
#define CONN_TIMEOUT_S	 120
#define CONN_LIMIT	 2000
#define LOOP_EVENTS	 2   /* libmicrohttpd's epoll descriptor and the stop eventfd */
#define LOOP_SLACK_NS	 1UL /* the loop thread's timer slack (the kernel's default: 50 us) */
#define MALFORMED_FILLER "{\"malformed"

struct fk_server {
	struct MHD_Daemon *d;
	struct fk_app *app;
	struct fk_delay *delay; /* resumes the connections the latency knob suspended */
	pthread_t loop;		/* runs the daemon and the delay */
	bool looping;		/* loop was started */
	int ep;			/* the loop's epoll: the daemon's epoll descriptor and stop */
	int stop;		/* eventfd: readable = the loop must end */
	bool no_pwait2;		/* the kernel has no epoll_pwait2: sleep in milliseconds */
	char *cert, *key;
	unsigned port;
	bool staging; /* the CDN Pro staging listener: its requests reach staging versions */
};

/* Per-request context, created by the URI logger so the raw target (with its query
 * string exactly as sent) is kept for signature checks. */
struct conn_req {
	char *uri;
	struct sb body;
	bool started;
	bool too_big;
	bool begun;   /* req, resp and x are set: fk_app_begin() ran */
	bool waiting; /* suspended for the latency; the next call answers */
	struct fk_req req;
	struct fk_resp resp;
	struct fk_exchange x;
};

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn_req *r = xcalloc(1, sizeof(*r));

	CF_UNUSED(cls);
	CF_UNUSED(c);
	r->uri = xstrdup(uri);
	sb_init(&r->body, BODY_MAX);
	return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct conn_req *r = *con_cls;

	CF_UNUSED(cls);
	CF_UNUSED(c);
	CF_UNUSED(toe);
	if (!r)
		return;
	if (r->begun) {
		fk_resp_release(&r->resp);
		fk_req_release(&r->req);
	}
	free(r->uri);
	sb_release(&r->body);
	free(r);
	*con_cls = NULL;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	CF_UNUSED(kind);
	fk_req_add_header(cls, key, value ? value : "");
	return MHD_YES;
}

/* Truncation: the body reader hands out the first half, then reports an error, so the
 * connection closes with fewer bytes than Content-Length announced. */
struct trunc_body {
	char *data;
	size_t half;
};

static ssize_t trunc_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct trunc_body *t = cls;
	size_t n;

	if (pos >= t->half)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = t->half - (size_t)pos;
	if (n > max)
		n = max;
	memcpy(buf, t->data + pos, n);
	return (ssize_t)n;
}

static void trunc_free(void *cls)
{
	struct trunc_body *t = cls;

	free(t->data);
	free(t);
}

static struct MHD_Response *make_response(struct fk_resp *resp, enum fk_fault fault)
{
	const char *body = resp->body ? resp->body : "";
	size_t len = resp->body_len;
	struct MHD_Response *r;

	if (fault == FK_FAULT_TRUNCATE && len >= 2) {
		struct trunc_body *t = xmalloc(sizeof(*t));

		t->data = xstrndup(body, len);
		t->half = len / 2;
		r = MHD_create_response_from_callback(len, 4096, trunc_reader, t, trunc_free);
	} else if (fault == FK_FAULT_MALFORMED) {
		/* Half a JSON document with a Content-Length that matches what is sent. */
		if (len >= 2) {
			len /= 2;
		} else {
			body = MALFORMED_FILLER;
			len = strlen(MALFORMED_FILLER);
		}
		r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	} else {
		r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	}
	if (!r)
		return NULL;
	for (size_t i = 0; i < resp->nhdrs; i++)
		MHD_add_response_header(r, resp->hdrs[i].name, resp->hdrs[i].value);
	if (resp->ctype && len)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->ctype);
	return r;
}

/* Sends r's answer (or, for a dropped one, closes the connection). */
static enum MHD_Result answer(struct MHD_Connection *c, struct conn_req *r, enum fk_fault fault)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;

	if (fault == FK_FAULT_DROP)
		return MHD_NO; /* closes the connection: that is how a dropped request looks */
	mr = make_response(&r->resp, fault);
	if (!mr)
		return MHD_NO;
	ret = MHD_queue_response(c, (unsigned)r->resp.status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static void resume(void *arg)
{
	MHD_resume_connection(arg);
}

/* The whole request is in: draws its faults, then answers at once or, with latency, suspends
 * the connection until the delay thread resumes it (on_request then calls answer). */
static enum MHD_Result serve(struct fk_server *s, struct MHD_Connection *c, const char *method,
			     struct conn_req *r)
{
	struct fk_app *app = s->app;
	int64_t wait_ms;

	fk_req_init(&r->req, method, r->uri);
	MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, &r->req);
	fk_req_set_body(&r->req, r->body.buf, r->body.len);
	r->req.staging = s->staging;
	fk_resp_init(&r->resp);
	r->begun = true;
	if (r->too_big) {
		fk_error_admin(&r->resp, 413, "request body too large");
		fk_journal_write(app, &r->req, &r->resp, NULL);
		return answer(c, r, FK_FAULT_NONE);
	}
	wait_ms = fk_app_begin(app, &r->req, &r->resp, &r->x);
	if (wait_ms < 0)
		return answer(c, r, FK_FAULT_DROP);
	if (wait_ms > 0) {
		r->waiting = true;
		MHD_suspend_connection(c);
		fk_delay_add(s->delay, wait_ms, c);
		return MHD_YES;
	}
	return answer(c, r, fk_app_finish(app, &r->x, &r->req, &r->resp));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct fk_server *s = cls;
	struct conn_req *r = *con_cls;

	CF_UNUSED(url);
	CF_UNUSED(version);
	if (!r)
		return MHD_NO;
	if (!r->started) {
		r->started = true;
		return MHD_YES;
	}
	if (r->waiting) {
		/* resumed: the latency has passed */
		r->waiting = false;
		return answer(c, r, fk_app_finish(s->app, &r->x, &r->req, &r->resp));
	}
	if (r->begun)
		return MHD_NO; /* answered already: nothing more to say */
	if (*upload_size) {
		if (sb_add(&r->body, upload_data, *upload_size) < 0)
			r->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	return serve(s, c, method, r);
}

static char *read_pem(const char *path, struct cf_err *e)
{
	FILE *f = fopen(path, "rb");
	struct sb sb;
	char buf[4096];
	size_t n;

	if (!f) {
		err_set(e, CF_EIO, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	sb_init(&sb, PEM_MAX);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_add(&sb, buf, n);
	fclose(f);
	if (sb.overflow || sb.len == 0) {
		sb_release(&sb);
		err_set(e, CF_EIO, "'%s' is empty or too large", path);
		return NULL;
	}
	return sb_detach(&sb);
}

static int load_tls(struct fk_server *s, const char *cert, const char *key, struct cf_err *e)
{
	if (!cert && !key)
		return 0;
	if (!cert || !key)
		return err_set(e, CF_EINVAL, "--tls-cert and --tls-key go together"), -1;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return err_set(e, CF_EINVAL, "this libmicrohttpd was built without TLS support"),
		       -1;
	s->cert = read_pem(cert, e);
	s->key = s->cert ? read_pem(key, e) : NULL;
	return s->key ? 0 : -1;
}

struct fk_server *fk_server_start(struct fk_app *app, unsigned port, const char *cert,
				  const char *key, struct cf_err *e)
{
	return fk_server_start_at(app, NULL, port, cert, key, false, e);
}

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S  INT64_C(1000000000)

/* Nanoseconds the loop may sleep: until the daemon's next timeout or the next due answer,
 * whichever is first; -1 = until something happens. */
static int64_t loop_timeout_ns(struct fk_server *s)
{
	MHD_UNSIGNED_LONG_LONG mhd_ms;
	int64_t ns = fk_delay_next_ns(s->delay);

	if (MHD_get_timeout(s->d, &mhd_ms) == MHD_YES &&
	    mhd_ms < (MHD_UNSIGNED_LONG_LONG)(INT64_MAX / NS_PER_MS) &&
	    (ns < 0 || (int64_t)mhd_ms * NS_PER_MS < ns))
		ns = (int64_t)mhd_ms * NS_PER_MS;
	return ns;
}

/* Sleeps on the loop's epoll for at most ns. epoll_pwait2 (Linux 5.11) keeps an answer's due
 * time to the microsecond; epoll_wait counts whole milliseconds, rounded up, so each answer
 * would wait up to a millisecond past its latency. */
static int loop_wait(struct fk_server *s, struct epoll_event *ev, int nev, int64_t ns)
{
	struct timespec ts = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
	int n;

	if (!s->no_pwait2) {
		n = epoll_pwait2(s->ep, ev, nev, ns < 0 ? NULL : &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		s->no_pwait2 = true;
	}
	if (ns < 0)
		return epoll_wait(s->ep, ev, nev, -1);
	ns = (ns + NS_PER_MS - 1) / NS_PER_MS;
	return epoll_wait(s->ep, ev, nev, ns > INT_MAX ? INT_MAX : (int)ns);
}

/*
 * The server's one thread: sleeps until the daemon has work, an answer's latency is over or
 * stop is signalled; resumes one due connection, then lets the daemon run, and again at once
 * while more are due. One at a time, because libmicrohttpd writes an answer made for a
 * resumed connection only on its next pass: resuming a whole wave made each answer wait for
 * every other answer of the wave to be built first (at --parallelism 32, ~1.5 ms a cycle).
 */
static void *serve_loop(void *cls)
{
	struct fk_server *s = cls;
	struct epoll_event ev[LOOP_EVENTS];

	/* every answer's wait ends in this thread's sleep: without this, each one may end up
	 * to 50 us late (best effort: the latency stays a lower bound either way) */
	(void)prctl(PR_SET_TIMERSLACK, LOOP_SLACK_NS, 0UL, 0UL, 0UL);
	for (;;) {
		int n = loop_wait(s, ev, LOOP_EVENTS, loop_timeout_ns(s));

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++)
			if (ev[i].data.fd == s->stop)
				return NULL;
		(void)fk_delay_run_one(s->delay);
		MHD_run(s->d);
	}
	return NULL;
}

static int loop_start(struct fk_server *s, struct cf_err *e)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
	struct epoll_event ev = {.events = EPOLLIN};
	int rc;

	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!info || s->ep < 0 || s->stop < 0)
		return err_set(e, CF_EIO, "cannot set up the event loop: %s", strerror(errno)), -1;
	ev.data.fd = info->epoll_fd;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, info->epoll_fd, &ev) < 0)
		return err_set(e, CF_EIO, "cannot set up the event loop: %s", strerror(errno)), -1;
	ev.data.fd = s->stop;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->stop, &ev) < 0)
		return err_set(e, CF_EIO, "cannot set up the event loop: %s", strerror(errno)), -1;
	rc = pthread_create(&s->loop, NULL, serve_loop, s);
	if (rc != 0)
		return err_set(e, CF_EIO, "cannot start the server thread: %s", strerror(rc)), -1;
	s->looping = true;
	return 0;
}

struct fk_server *fk_server_start_at(struct fk_app *app, const char *ip, unsigned port,
				     const char *cert, const char *key, bool staging,
				     struct cf_err *e)
{
	struct fk_server *s = xcalloc(1, sizeof(*s));
	struct sockaddr_in sa;
	/* One thread (serve_loop) runs the daemon over epoll for every connection; a delayed
	 * answer is a suspended connection, not a sleeping thread (a thread per connection cost
	 * a wake-up and context switches per request, most of the emulator's CPU). */
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
	const union MHD_DaemonInfo *info;

	s->ep = s->stop = -1;
	if (load_tls(s, cert, key, e) < 0)
		goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ip && inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		err_set(e, CF_EINVAL, "'%s' is not an IPv4 address", ip);
		goto fail;
	}
	s->app = app;
	s->staging = staging;
	if (!staging)
		app->tls = s->cert != NULL;
	struct MHD_OptionItem opts[] = {
	    {MHD_OPTION_SOCK_ADDR, 0, &sa},
	    {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_logger, NULL},
	    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, NULL},
	    {MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S, NULL},
	    {MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT, NULL},
	    {s->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, s->key},
	    {MHD_OPTION_END, 0, NULL},
	};
	if (s->cert)
		flags |= MHD_USE_TLS;
	s->delay = fk_delay_new(resume);
	s->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY,
				opts, MHD_OPTION_END);
	if (!s->d) {
		err_set(e, CF_EIO, "cannot listen on %s:%u", ip ? ip : "127.0.0.1", port);
		goto fail;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	if (loop_start(s, e) < 0)
		goto fail;
	return s;
fail:
	if (s->d)
		MHD_stop_daemon(s->d);
	if (s->ep >= 0)
		close(s->ep);
	if (s->stop >= 0)
		close(s->stop);
	fk_delay_free(s->delay);
	free(s->cert);
	free(s->key);
	free(s);
	return NULL;
}

unsigned fk_server_port(const struct fk_server *s)
{
	return s->port;
}

void fk_server_stop(struct fk_server *s)
{
	if (!s)
		return;
	if (s->looping) {
		uint64_t one = 1;

		if (write(s->stop, &one, sizeof(one)) != (ssize_t)sizeof(one))
			perror("fakecdn: cannot stop the server thread");
		pthread_join(s->loop, NULL);
	}
	/* libmicrohttpd must not stop with a connection suspended: resume the waiting ones
	 * (the loop is gone, so none is answered; stopping closes them). */
	fk_delay_flush(s->delay);
	MHD_stop_daemon(s->d);
	close(s->ep);
	close(s->stop);
	fk_delay_free(s->delay);
	free(s->cert);
	free(s->key);
	free(s);
}
