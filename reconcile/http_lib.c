/*
 * libcurl, loaded when the first curl_* function is called (reconcile/http_lib.h).
 *
 * Every libcurl function reconcile/http.c calls is defined here under its own name and
 * forwards to the library's, looked up with dlsym after dlopen. cacheform is not linked
 * against libcurl, so the commands that never reach the network (validate, fmt, diff,
 * explain, ...) do not map it: libcurl and what it depends on (gnutls, ldap, ssh2, krb5...)
 * were 3.6 MB of every process's 12 MB resident before a single file was read.
 *
 * A function missing here fails the link (undefined reference), never the run.
 */
#define CURL_DISABLE_TYPECHECK /* the definitions below would expand its setopt/getinfo macros */
#include "reconcile/http_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

#ifndef HTTP_LIBCURL_SONAME
#define HTTP_LIBCURL_SONAME "libcurl.so.4" /* what libcurl4-openssl-dev links against */
#endif

/* X(name): one line per libcurl function used anywhere in cacheform */
#define HTTP_LIB_FUNCTIONS(X)                                                                      \
	X(curl_easy_cleanup)                                                                       \
	X(curl_easy_getinfo)                                                                       \
	X(curl_easy_init)                                                                          \
	X(curl_easy_reset)                                                                         \
	X(curl_easy_setopt)                                                                        \
	X(curl_easy_strerror)                                                                      \
	X(curl_free)                                                                               \
	X(curl_global_cleanup)                                                                     \
	X(curl_global_init)                                                                        \
	X(curl_multi_add_handle)                                                                   \
	X(curl_multi_assign)                                                                       \
	X(curl_multi_cleanup)                                                                      \
	X(curl_multi_info_read)                                                                    \
	X(curl_multi_init)                                                                         \
	X(curl_multi_remove_handle)                                                                \
	X(curl_multi_setopt)                                                                       \
	X(curl_multi_socket_action)                                                                \
	X(curl_slist_append)                                                                       \
	X(curl_slist_free_all)                                                                     \
	X(curl_url)                                                                                \
	X(curl_url_cleanup)                                                                        \
	X(curl_url_get)                                                                            \
	X(curl_url_set)                                                                            \
	X(curl_version_info)

#define HTTP_LIB_POINTER(f) __typeof__(f) *f;
static struct {
	HTTP_LIB_FUNCTIONS(HTTP_LIB_POINTER)
} lib;
#undef HTTP_LIB_POINTER

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static bool lib_loaded;

/*
 * Like a library missing at startup, a libcurl that cannot be loaded ends the process: no
 * caller of a curl_* function could go on without it.
 */
static void lib_die(const char *what)
{
	const char *why = dlerror();
	fprintf(stderr, "cacheform: cannot load %s (%s): %s\n", HTTP_LIBCURL_SONAME, what,
		why ? why : "unknown error");
	exit(1);
}

static void lib_load(void)
{
	/* RTLD_LOCAL: its symbols never interpose on the definitions in this file */
	void *h = dlopen(HTTP_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		lib_die("dlopen");
#define HTTP_LIB_LOOKUP(f)                                                                         \
	if (!(*(void **)&lib.f = dlsym(h, #f)))                                                    \
		lib_die(#f);
	HTTP_LIB_FUNCTIONS(HTTP_LIB_LOOKUP)
#undef HTTP_LIB_LOOKUP
	lib_loaded = true;
}

static void need(void)
{
	pthread_once(&lib_once, lib_load);
}

bool http_lib_loaded(void)
{
	return lib_loaded;
}

/* ---- the functions without variable arguments ---- */

void curl_easy_cleanup(CURL *h)
{
	need();
	lib.curl_easy_cleanup(h);
}

CURL *curl_easy_init(void)
{
	need();
	return lib.curl_easy_init();
}

void curl_easy_reset(CURL *h)
{
	need();
	lib.curl_easy_reset(h);
}

const char *curl_easy_strerror(CURLcode c)
{
	need();
	return lib.curl_easy_strerror(c);
}

void curl_free(void *p)
{
	need();
	lib.curl_free(p);
}

void curl_global_cleanup(void)
{
	need();
	lib.curl_global_cleanup();
}

CURLcode curl_global_init(long flags)
{
	need();
	return lib.curl_global_init(flags);
}

CURLMcode curl_multi_add_handle(CURLM *m, CURL *h)
{
	need();
	return lib.curl_multi_add_handle(m, h);
}

CURLMcode curl_multi_assign(CURLM *m, curl_socket_t s, void *p)
{
	need();
	return lib.curl_multi_assign(m, s, p);
}

CURLMcode curl_multi_cleanup(CURLM *m)
{
	need();
	return lib.curl_multi_cleanup(m);
}

CURLMsg *curl_multi_info_read(CURLM *m, int *left)
{
	need();
	return lib.curl_multi_info_read(m, left);
}

CURLM *curl_multi_init(void)
{
	need();
	return lib.curl_multi_init();
}

CURLMcode curl_multi_socket_action(CURLM *m, curl_socket_t s, int ev_bitmask, int *running)
{
	need();
	return lib.curl_multi_socket_action(m, s, ev_bitmask, running);
}

CURLMcode curl_multi_remove_handle(CURLM *m, CURL *h)
{
	need();
	return lib.curl_multi_remove_handle(m, h);
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	need();
	return lib.curl_slist_append(l, s);
}

void curl_slist_free_all(struct curl_slist *l)
{
	need();
	lib.curl_slist_free_all(l);
}

CURLU *curl_url(void)
{
	need();
	return lib.curl_url();
}

void curl_url_cleanup(CURLU *u)
{
	need();
	lib.curl_url_cleanup(u);
}

CURLUcode curl_url_get(CURLU *u, CURLUPart what, char **part, unsigned int flags)
{
	need();
	return lib.curl_url_get(u, what, part, flags);
}

CURLUcode curl_url_set(CURLU *u, CURLUPart what, const char *part, unsigned int flags)
{
	need();
	return lib.curl_url_set(u, what, part, flags);
}

curl_version_info_data *curl_version_info(CURLversion v)
{
	need();
	return lib.curl_version_info(v);
}

/* ---- the variadic ones: the option number says the argument's type (curl.h's
 * CURLOPTTYPE_* ranges, shared by easy and multi options), so it is read as that type and
 * passed on as it ---- */

typedef void (*http_lib_fn)(void);

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;
	need();
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = lib.curl_easy_setopt(h, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = lib.curl_easy_setopt(h, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = lib.curl_easy_setopt(h, opt, va_arg(ap, http_lib_fn));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = lib.curl_easy_setopt(h, opt, va_arg(ap, curl_off_t));
	else
		rc = lib.curl_easy_setopt(h, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLMcode curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
	va_list ap;
	CURLMcode rc;
	need();
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = lib.curl_multi_setopt(m, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = lib.curl_multi_setopt(m, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = lib.curl_multi_setopt(m, opt, va_arg(ap, http_lib_fn));
	else
		rc = lib.curl_multi_setopt(m, opt, va_arg(ap, curl_off_t));
	va_end(ap);
	return rc;
}

/* every CURLINFO_* argument is a pointer to where the answer goes */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;
	need();
	va_start(ap, info);
	rc = lib.curl_easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}
