/*
 * libgit2, loaded while the repository modules use it (reconcile/repo_lib.h).
 *
 * libgit2 brings 13 more libraries (mbedtls, libssh2, krb5, http-parser, ...: 2.6 MB resident
 * in a validate), and an open repository keeps its index, object cache and mapped packs (17 MB
 * at 100,000 endpoints). A working-tree source needs them only until it knows its commit and
 * whether the files are as committed (reconcile/repo.c), so they are gone before the files
 * are read and no longer add to what the files themselves take.
 */
#include "reconcile/base/compat.h"
#define REPO_LIB_IMPL /* the names below are libgit2's own, not repo_lib.h's macros */
#include "reconcile/repo_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef REPO_LIBGIT2_SONAME
#error "REPO_LIBGIT2_SONAME: the soname of the libgit2 built against (the Makefile defines it)"
#endif

struct repo_lib repo_lib;

/* Users of the loaded library: git_libgit2_init calls not yet shut down. */
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned lib_users;
static void *lib_handle;

/*
 * Like a library missing at startup, a libgit2 that cannot be loaded ends the process: no
 * caller of a git_* function could go on without it.
 */
static void lib_die(const char *what)
{
	const char *why = dlerror();
	fprintf(stderr, "cacheform: cannot load %s (%s): %s\n", REPO_LIBGIT2_SONAME, what,
		why ? why : "unknown error");
	exit(1);
}

static void lib_load(void)
{
	/* RTLD_LOCAL: its symbols stay out of the global scope of later dlopens */
	void *h = dlopen(REPO_LIBGIT2_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		lib_die("dlopen");
#define REPO_LIB_LOOKUP(f)                                                                         \
	if (!(*(void **)&repo_lib.f = dlsym(h, #f)))                                               \
		lib_die(#f);
	REPO_LIB_FUNCTIONS(REPO_LIB_LOOKUP)
	REPO_LIB_LOOKUP(git_libgit2_init)
	REPO_LIB_LOOKUP(git_libgit2_shutdown)
#undef REPO_LIB_LOOKUP
	lib_handle = h;
}

int repo_lib_init(void)
{
	pthread_mutex_lock(&lib_lock);
	if (!lib_handle)
		lib_load();
	lib_users++;
	int r = repo_lib.git_libgit2_init();
	pthread_mutex_unlock(&lib_lock);
	return r;
}

int repo_lib_shutdown(void)
{
	int r = -1; /* libgit2's answer to a shutdown with no init outstanding */
	pthread_mutex_lock(&lib_lock);
	if (lib_users > 0) {
		r = repo_lib.git_libgit2_shutdown();
		/* the last user gone, libgit2 has freed what it held: its pages can go too */
		if (--lib_users == 0) {
			(void)dlclose(lib_handle);
			lib_handle = NULL;
			memset(&repo_lib, 0, sizeof(repo_lib));
		}
	}
	pthread_mutex_unlock(&lib_lock);
	return r;
}

bool repo_lib_loaded(void)
{
	pthread_mutex_lock(&lib_lock);
	bool loaded = lib_handle != NULL;
	pthread_mutex_unlock(&lib_lock);
	return loaded;
}
