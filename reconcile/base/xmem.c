#include "reconcile/base/compat.h"
#include "reconcile/base/xmem.h"

#include <unistd.h>

#define XMEM_MIN_GROW 8

static void xmem_die(size_t n) __attribute__((noreturn));

/*
 * exit() from a second thread (reconcile/base/workq.h) would run the libraries' exit
 * handlers (OpenSSL's cleanup) under the main thread's feet; there, end the process at once.
 */
static void xmem_exit(void) __attribute__((noreturn));

static void xmem_exit(void)
{
	if (gettid() != getpid())
		_exit(1);
	exit(1);
}

static void xmem_die(size_t n)
{
	fprintf(stderr, "cacheform: out of memory (allocating %zu bytes)\n", n);
	xmem_exit();
}

void xmem_oom(const char *what)
{
	fprintf(stderr, "cacheform: out of memory (in %s)\n", what);
	xmem_exit();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		xmem_die(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		xmem_die(n * size);
	return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		xmem_die(SIZE_MAX);
	size_t bytes = n * size;
	void *q = realloc(p, bytes ? bytes : 1);
	if (!q)
		xmem_die(n * size);
	return q;
}

char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void xgrow(void *arr, size_t *cap, size_t need, size_t esz)
{
	void **a = arr;
	if (need <= *cap)
		return;
	size_t ncap = *cap ? *cap : XMEM_MIN_GROW;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			xmem_die(SIZE_MAX);
		ncap *= 2;
	}
	*a = xreallocarray(*a, ncap, esz);
	*cap = ncap;
}
