/*
 * Host-name predicates shared by validation (schema/urlcheck.c) and transport
 * (reconcile/http.c), so the two can never disagree on what "loopback" means.
 */
#ifndef CF_HOST_H
#define CF_HOST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when the n bytes at h name a loopback host: "localhost" (any case), "[::1]", or a
 * dotted quad 127.a.b.c (four decimal parts of 1-3 digits, each <= 255). Nothing else:
 * no trailing dot, no shortened or octal/hex forms, no "localhost.example".
 */
bool host_is_loopback(const char *h, size_t n);

#endif
