#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_server.h"
#include "cmd/fakecdn/fk_app.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#define BODY_MAX	 ((size_t)1 << 20)
#define PEM_MAX		 ((size_t)1 << 20)
#define CONN_TIMEOUT_S	 120
#define CONN_LIMIT	 2000
#define THREAD_STACK	 ((size_t)256 << 10)
#define MALFORMED_FILLER "{\"malformed"

struct fk_server {
	struct MHD_Daemon *d;
	struct fk_app *app;
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

static enum MHD_Result serve(struct fk_server *s, struct MHD_Connection *c, const char *method,
			     struct conn_req *r)
{
	struct fk_app *app = s->app;
	struct fk_req req;
	struct fk_resp resp;
	struct MHD_Response *mr;
	enum fk_fault fault = FK_FAULT_NONE;
	enum MHD_Result ret = MHD_NO;

	fk_req_init(&req, method, r->uri);
	MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, &req);
	fk_req_set_body(&req, r->body.buf, r->body.len);
	req.staging = s->staging;
	fk_resp_init(&resp);
	if (r->too_big) {
		fk_error_admin(&resp, 413, "request body too large");
		fk_journal_write(app, &req, &resp, NULL);
	} else {
		fault = fk_app_handle(app, &req, &resp);
	}
	if (fault != FK_FAULT_DROP) {
		mr = make_response(&resp, fault);
		if (mr) {
			ret = MHD_queue_response(c, (unsigned)resp.status, mr);
			MHD_destroy_response(mr);
		}
	}
	fk_resp_release(&resp);
	fk_req_release(&req);
	return ret; /* MHD_NO closes the connection: that is how a dropped request looks */
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct conn_req *r = *con_cls;

	CF_UNUSED(url);
	CF_UNUSED(version);
	if (!r)
		return MHD_NO;
	if (!r->started) {
		r->started = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (sb_add(&r->body, upload_data, *upload_size) < 0)
			r->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	return serve(cls, c, method, r);
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

struct fk_server *fk_server_start_at(struct fk_app *app, const char *ip, unsigned port,
				     const char *cert, const char *key, bool staging,
				     struct cf_err *e)
{
	struct fk_server *s = xcalloc(1, sizeof(*s));
	struct sockaddr_in sa;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	const union MHD_DaemonInfo *info;

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
	    {MHD_OPTION_THREAD_STACK_SIZE, (intptr_t)THREAD_STACK, NULL},
	    {s->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, s->key},
	    {MHD_OPTION_END, 0, NULL},
	};
	if (s->cert)
		flags |= MHD_USE_TLS;
	s->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY,
				opts, MHD_OPTION_END);
	if (!s->d) {
		err_set(e, CF_EIO, "cannot listen on %s:%u", ip ? ip : "127.0.0.1", port);
		goto fail;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	return s;
fail:
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
	MHD_stop_daemon(s->d);
	free(s->cert);
	free(s->key);
	free(s);
}
