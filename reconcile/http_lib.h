/*
 * libcurl on demand: reconcile/http_lib.c defines the curl_* functions reconcile/http.c calls
 * and loads libcurl (dlopen) the first time one of them runs, so commands that never reach
 * the network do not carry it (README: "Memory"). A libcurl that cannot be loaded ends the
 * process with a message naming it, as a missing library at startup would.
 */
#ifndef CF_HTTP_LIB_H
#define CF_HTTP_LIB_H

#include <stdbool.h>

/* True once libcurl was loaded in this process. */
bool http_lib_loaded(void);

#endif
