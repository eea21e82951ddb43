/* Unit tests: the ledger writers' lock (reconcile/repo_lock.c): taking it, naming its holder
 * to the one kept waiting, its end with the holder's death, and the writability probe. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reconcile/claimant.h"
#include "reconcile/repo_lock.h"
#include "reconcile/base/sb.h"

#define SHORT_WAIT_MS 100

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cf-lock-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	char objects[96];
	snprintf(objects, sizeof(objects), "%s/objects", dir);
	return mkdir(objects, 0755);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A child that takes the lock, says so on the pipe and sleeps until killed. */
static pid_t child_holding(void)
{
	int fds[2];
	char c;
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct repo_lock lk;
		close(fds[0]);
		if (repo_lock_take(dir, SHORT_WAIT_MS, &lk, NULL) < 0)
			_exit(1);
		(void)write(fds[1], "x", 1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

static void test_lock__take_release_holder(void **state)
{
	(void)state;
	struct repo_lock lk;
	struct cf_err e;
	char who[REPO_LOCK_HOLDER_MAX], me[REPO_LOCK_HOLDER_MAX];
	err_clear(&e);
	assert_false(repo_lock_holder(dir, who, sizeof(who)));
	assert_int_equal(repo_lock_take(dir, SHORT_WAIT_MS, &lk, &e), 0);
	assert_true(lk.fd >= 0);
	repo_lock_release(&lk);
	assert_int_equal(lk.fd, -1);
	repo_lock_release(&lk); /* twice: harmless */

	pid_t pid = child_holding();
	assert_true(repo_lock_holder(dir, who, sizeof(who)));
	char want[32];
	snprintf(want, sizeof(want), "%ld@", (long)pid);
	assert_true(strncmp(who, want, strlen(want)) == 0);
	/* kept waiting: the holder is named, not "lost races" */
	assert_int_equal(repo_lock_take(dir, SHORT_WAIT_MS, &lk, &e), CF_ECONFLICT);
	assert_int_equal(lk.fd, -1);
	assert_non_null(strstr(e.msg, "ledger locked by "));
	assert_non_null(strstr(e.msg, want));
	assert_int_equal(repo_lock_probe(dir, SHORT_WAIT_MS, &e), CF_ECONFLICT);
	/* the holder dies (SIGKILL): the lock is free at once */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_false(repo_lock_holder(dir, who, sizeof(who)));
	assert_int_equal(repo_lock_take(dir, SHORT_WAIT_MS, &lk, &e), 0);
	/* the lock names its holder as claims do */
	claimant_name(me, sizeof(me));
	assert_true(repo_lock_holder(dir, who, sizeof(who)));
	assert_string_equal(who, me);
	repo_lock_release(&lk);
}

struct probe_case {
	const char *name;
	const char *sub; /* the git directory, under dir ("" = dir itself) */
	int rc;
	const char *msg;
};

static const struct probe_case probe_cases[] = {
    {"writable", "", 0, NULL},
    {"no such directory", "/missing", CF_EIO, "cannot create the lock"},
    {"objects is a file", "/broken", CF_EIO, "the ledger cannot be written"},
};

static void test_lock__probe_table(void **state)
{
	(void)state;
	char broken[256];
	snprintf(broken, sizeof(broken), "mkdir -p '%s/broken' && : > '%s/broken/objects'", dir,
		 dir);
	assert_int_equal(system(broken), 0);
	for (size_t i = 0; i < sizeof(probe_cases) / sizeof(probe_cases[0]); i++) {
		const struct probe_case *c = &probe_cases[i];
		char gitdir[128];
		struct cf_err e;
		err_clear(&e);
		snprintf(gitdir, sizeof(gitdir), "%s%s", dir, c->sub);
		int rc = repo_lock_probe(gitdir, SHORT_WAIT_MS, &e);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d (%s)", c->name, rc, c->rc, e.msg);
		if (c->msg && !strstr(e.msg, c->msg))
			fail_msg("%s: '%s' lacks '%s'", c->name, e.msg, c->msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lock__take_release_holder),
	    cmocka_unit_test(test_lock__probe_table),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
