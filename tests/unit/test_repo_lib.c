/* Unit tests: libgit2 loaded while used (reconcile/repo_lib.c): by the first git_libgit2_init,
 * unloaded by the git_libgit2_shutdown that leaves it no user, loaded again after that. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "reconcile/repo_lib.h"

/* A call into the library proves its pointers are those of a loaded libgit2. */
static void assert_git_answers(void)
{
	int major = -1, minor = -1, rev = -1;
	assert_int_equal(git_libgit2_version(&major, &minor, &rev), 0);
	assert_int_equal(major, LIBGIT2_VER_MAJOR);
	assert_int_equal(minor, LIBGIT2_VER_MINOR);
}

/* Unloaded, no pointer is left behind to call into unmapped pages. */
static bool table_empty(void)
{
	static const struct repo_lib none;
	return memcmp(&repo_lib, &none, sizeof(none)) == 0;
}

static void test_repo_lib__loaded_while_used(void **state)
{
	(void)state;
	/* each row: the call, then the users libgit2 reports and whether it is loaded */
	static const struct {
		bool init; /* git_libgit2_init, else git_libgit2_shutdown */
		int users;
		bool loaded;
	} steps[] = {
	    {true, 1, true},   /* first use loads it */
	    {true, 2, true},   /* a second user */
	    {false, 1, true},  /* one left: stays */
	    {false, 0, false}, /* the last one gone: unloaded */
	    {true, 1, true},   /* and loaded again on the next use */
	    {false, 0, false},
	};
	assert_false(repo_lib_loaded());
	assert_true(table_empty());
	for (size_t i = 0; i < CF_ARRAY_LEN(steps); i++) {
		int users = steps[i].init ? git_libgit2_init() : git_libgit2_shutdown();
		assert_int_equal(users, steps[i].users);
		assert_int_equal(repo_lib_loaded(), steps[i].loaded);
		if (steps[i].loaded)
			assert_git_answers();
		else
			assert_true(table_empty());
	}
	/* a shutdown with no user is an error, not an unload of nothing */
	assert_true(git_libgit2_shutdown() < 0);
	assert_false(repo_lib_loaded());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_repo_lib__loaded_while_used),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
