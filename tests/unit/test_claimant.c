/* Unit tests: a purge claim's holder judged gone only when this machine can tell
 * (reconcile/claimant.c). */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "reconcile/claimant.h"

/* An identity like claimant_self's, with pid, start and the rest swapped in. */
static void forge(char *out, size_t n, const char *self, long pid, const char *start,
		  const char *rest)
{
	const char *a = strchr(self, ':'), *b = a ? strchr(a + 1, ':') : NULL;
	assert_non_null(b);
	const char *tail = rest ? rest : b + 1;
	if (!start) {
		char st[32];
		snprintf(st, sizeof(st), "%.*s", (int)(b - a - 1), a + 1);
		snprintf(out, n, "%ld:%s:%s", pid, st, tail);
	} else {
		snprintf(out, n, "%ld:%s:%s", pid, start, tail);
	}
}

/* A pid that existed in this namespace and no longer runs. */
static long dead_pid(void)
{
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0)
		_exit(0);
	int st;
	assert_int_equal(waitpid(p, &st, 0), p);
	return (long)p;
}

static void test_claimant__gone(void **state)
{
	(void)state;
	char self[CLAIMANT_PROC_MAX];
	claimant_bind(NULL);
	claimant_self(self, sizeof(self));
	assert_string_equal(self, ""); /* no clone: no identity */
	claimant_bind(".");
	claimant_self(self, sizeof(self));
	assert_true(self[0] != 0);
	assert_int_equal(strtol(self, NULL, 10), (long)getpid());
	long dead = dead_pid(), me = (long)getpid();
	char buf[7][CLAIMANT_PROC_MAX + 64];
	/* the rest after the start is "CLONE:NS:BOOT"; another pid namespace keeps our clone */
	const char *rest = strchr(strchr(self, ':') + 1, ':') + 1;
	char other_ns[CLAIMANT_PROC_MAX];
	snprintf(other_ns, sizeof(other_ns), "%.*s:pid:[1]:00000000-0000-0000-0000-000000000000",
		 (int)(strchr(rest, ':') - rest), rest);
	forge(buf[0], sizeof(buf[0]), self, dead, NULL, NULL);
	forge(buf[1], sizeof(buf[1]), self, me, "1", NULL); /* our pid, another start */
	forge(buf[2], sizeof(buf[2]), self, dead, NULL, other_ns);
	forge(buf[3], sizeof(buf[3]), self, dead, "x", NULL);
	snprintf(buf[4], sizeof(buf[4]), "%s", self);
	buf[4][strlen(buf[4]) - 1] ^= 1; /* another boot */
	forge(buf[5], sizeof(buf[5]), self, dead, NULL, NULL);
	buf[5][strlen(buf[5]) - 2] = 0; /* a cut boot id */
	forge(buf[6], sizeof(buf[6]), self, dead, NULL, NULL);
	buf[6][strcspn(buf[6], ".")] = 'x'; /* another clone's token */
	static const struct {
		int which; /* index into buf, -1 NULL, -2 "" , -3 self, -4 garbage */
		bool gone;
	} rows[] = {
	    {-3, false}, /* this process runs */
	    {0, true},	 /* exited, same boot and namespace */
	    {1, true},	 /* the pid now belongs to a process started at another time */
	    {2, false},	 /* another pid namespace: cannot tell */
	    {3, false},	 /* malformed start */
	    {4, false},	 /* another boot */
	    {5, false},	 /* a cut identity */
	    {6, false},	 /* another clone on this machine: it may have sent, its racer waits */
	    {-1, false}, /* a claim from before identities */
	    {-2, false}, /* an apply that could not tell its own */
	    {-4, false}, /* garbage */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *id = rows[i].which >= 0    ? buf[rows[i].which]
				 : rows[i].which == -1 ? NULL
				 : rows[i].which == -2 ? ""
				 : rows[i].which == -3 ? self
						       : "12:zz";
		if (claimant_gone(id) != rows[i].gone)
			fail_msg("row %zu (%s): expected gone=%d", i, id ? id : "(null)",
				 rows[i].gone);
	}
}

static void test_claimant__small_buffer(void **state)
{
	(void)state;
	char small[8] = "x";
	claimant_bind(".");
	claimant_self(small, sizeof(small));
	assert_string_equal(small, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_claimant__gone),
	    cmocka_unit_test(test_claimant__small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
