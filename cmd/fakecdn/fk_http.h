/*
 * The emulator's view of one HTTP exchange, independent of libmicrohttpd so that the
 * provider handlers can be driven from unit tests. The request owns copies of everything.
 */
#ifndef FK_HTTP_H
#define FK_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <json-c/json.h>

#define FK_RESP_MAX_HDRS 8

struct fk_kv {
	char *name;
	char *value;
};

struct fk_req {
	char *method;
	char *path;	    /* raw path as sent, percent-encoding kept (it is what gets signed) */
	char *query;	    /* raw query string without '?', "" when absent */
	struct fk_kv *args; /* decoded query arguments in request order */
	size_t nargs, args_cap;
	struct fk_kv *hdrs;
	size_t nhdrs, hdrs_cap;
	char *body; /* NUL-terminated; may contain NULs before body_len */
	size_t body_len;
	int64_t now_ms;
	bool staging; /* arrived on the CDN Pro staging listener (edge: staging versions) */
};

struct fk_resp {
	int status;
	struct fk_kv hdrs[FK_RESP_MAX_HDRS];
	size_t nhdrs;
	char *body; /* owned; NULL = empty body */
	size_t body_len;
	const char *ctype; /* static string */
	/* Journal fields: static strings set by the handler. */
	const char *provider;
	const char *op;
	bool auth;
	bool changed;
};

/* Initialises req from a method and a raw request target ("/p?a=b"). Returns -1 on a bad
 * query escape (the request is still usable; the bad argument is skipped). */
int fk_req_init(struct fk_req *req, const char *method, const char *target);
void fk_req_add_header(struct fk_req *req, const char *name, const char *value);
void fk_req_set_body(struct fk_req *req, const char *body, size_t len);
void fk_req_release(struct fk_req *req);
/* Header value by case-insensitive name; NULL when absent. */
const char *fk_req_header(const struct fk_req *req, const char *name);
/* First value of a query argument; NULL when absent. */
const char *fk_req_arg(const struct fk_req *req, const char *name);
/* Parses the body as JSON; NULL when it is not JSON. Caller puts the result. */
struct json_object *fk_req_json(const struct fk_req *req);

void fk_resp_init(struct fk_resp *resp);
void fk_resp_release(struct fk_resp *resp);
/* Adds a header (copied); silently ignored past FK_RESP_MAX_HDRS. */
void fk_resp_header(struct fk_resp *resp, const char *name, const char *value);
/* Replaces the body with o serialised (o is not consumed). */
void fk_resp_json(struct fk_resp *resp, int status, struct json_object *o);
/* Replaces the body with len bytes of JSON text, taking ownership of the malloc'd text. */
void fk_resp_json_text(struct fk_resp *resp, int status, char *text, size_t len);
/* Replaces the body with text (copied; NULL = empty). */
void fk_resp_text(struct fk_resp *resp, int status, const char *ctype, const char *text);

#endif
