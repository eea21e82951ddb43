/*
 * The generated header lives in the build directory ($(BUILD)/gen), written by the Makefile
 * from `git describe`, a release tarball's VERSION file, or the development fallback; it is
 * rewritten only when its content changes, so this is the only object rebuilt for a new
 * commit.
 */
#include "reconcile/base/compat.h"
#include "reconcile/base/version.h"

#if defined(__has_include)
#if __has_include("reconcile/base/version_gen.h")
#include "reconcile/base/version_gen.h"
#endif
#endif

/* A build without the generated header (an IDE, a hand-written compile line). */
#ifndef CF_GEN_VERSION
#define CF_GEN_VERSION	  "0.2.0-dev"
#define CF_GEN_COMMIT	  "unknown"
#define CF_GEN_BUILD_DATE "unknown"
#define CF_GEN_HOME_URL	  "https://github.com/cacheform/cacheform"
#endif

const char *cf_version(void)
{
	return CF_GEN_VERSION;
}

const char *cf_commit(void)
{
	return CF_GEN_COMMIT;
}

const char *cf_build_date(void)
{
	return CF_GEN_BUILD_DATE;
}

const char *cf_home_url(void)
{
	return CF_GEN_HOME_URL;
}
