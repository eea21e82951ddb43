/*
 * libmicrohttpd glue: one epoll thread for every connection, bound to 127.0.0.1, optionally
 * TLS (GnuTLS inside libmicrohttpd). The latency knob suspends only the connection it delays
 * (fk_delay.h resumes it), so other connections are answered meanwhile.
 */
#ifndef FK_SERVER_H
#define FK_SERVER_H

#include "cmd/fakecdn/fk_state.h"

struct fk_server;

/* Starts serving app on 127.0.0.1:port (0 = any free port). cert/key: PEM files or NULL.
 * Returns NULL with e filled on failure. */
struct fk_server *fk_server_start(struct fk_app *app, unsigned port, const char *cert,
				  const char *key, struct cf_err *e);
/* The same on ip (IPv4, NULL = 127.0.0.1); staging marks its requests (fk_req.staging). */
struct fk_server *fk_server_start_at(struct fk_app *app, const char *ip, unsigned port,
				     const char *cert, const char *key, bool staging,
				     struct cf_err *e);
/* The port actually bound. */
unsigned fk_server_port(const struct fk_server *s);
/* Stops accepting, closes every connection, joins the threads and frees s. */
void fk_server_stop(struct fk_server *s);

#endif
