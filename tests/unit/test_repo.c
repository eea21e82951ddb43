/* Unit tests: reading the repository from the working tree and from git commits (--ref). */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "reconcile/repo.h"
#include "reconcile/base/sb.h"

#define T_CMD_MAX 8192

static char tmpdir[256];

CF_PRINTF(1, 2)
static void sh(const char *fmt, ...)
{
	struct sb sb;
	va_list ap;
	sb_init(&sb, T_CMD_MAX);
	(void)sb_addf(&sb, "cd '%s' && { ", tmpdir);
	va_start(ap, fmt);
	(void)sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	(void)sb_adds(&sb, "; } >/dev/null 2>&1");
	int r = system(sb.buf);
	if (r != 0)
		fail_msg("command failed (%d): %s", r, sb.buf);
	sb_release(&sb);
}

/* Two commits: the first has endpoints/a.yaml "v1", the second changes it to "v2". */
static int setup(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/cf-repo-XXXXXX", base);
	if (!mkdtemp(tmpdir))
		return -1;
	sh("git init -q -b main . && git config user.email t@example.com && "
	   "git config user.name t && mkdir -p endpoints purges sub/endpoints && "
	   "printf 'version: 1\\n' > cacheform.yaml && printf v1 > endpoints/a.yaml && "
	   "printf b > endpoints/b.yml && printf c > endpoints/README.md && "
	   "printf h > endpoints/.hidden.yaml && printf s > sub/endpoints/s.yaml && "
	   "ln -s a.yaml endpoints/link.yaml && ln -s ../../cacheform.yaml sub/endpoints/up.yaml "
	   "&& "
	   "git add -A && git commit -qm one && git tag first && "
	   "printf v2 > endpoints/a.yaml && git commit -qam two && printf v3 > endpoints/a.yaml");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sh("cd / && rm -rf '%s'", tmpdir);
	return 0;
}

static char *read_all(struct repo_src *src, const char *path, size_t max, struct cf_err *e, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	*rc = repo_src_read(src, path, max, &buf, &len, e);
	if (*rc == 0)
		assert_int_equal(strlen(buf), len);
	return buf;
}

/* Returns repo_src_read's result, discarding the content. */
static int try_read(struct repo_src *src, const char *path, size_t max, struct cf_err *e)
{
	char *buf = NULL;
	size_t len;
	int rc = repo_src_read(src, path, max, &buf, &len, e);
	free(buf);
	return rc;
}

static void test_repo__worktree(void **state)
{
	(void)state;
	struct repo_src *src;
	struct cf_err e;
	struct svec names = {0};
	int rc;
	assert_int_equal(repo_src_open(tmpdir, NULL, &src, &e), 0);
	assert_null(repo_src_ref(src));
	/* endpoints/a.yaml has an uncommitted edit: what is read is no commit, not HEAD */
	assert_string_equal(repo_src_commit(src), "");
	assert_true(repo_src_dirty(src));
	assert_int_equal(repo_src_list(src, "endpoints", &names, &e), 0);
	assert_int_equal(names.n, 3);
	assert_string_equal(names.v[0].s, "endpoints/a.yaml");
	assert_string_equal(names.v[1].s, "endpoints/b.yml");
	assert_string_equal(names.v[2].s, "endpoints/link.yaml");
	char *buf = read_all(src, "endpoints/a.yaml", 100, &e, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(buf, "v3"); /* the uncommitted edit */
	free(buf);
	buf = read_all(src, "endpoints/link.yaml", 100, &e, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(buf, "v3");
	free(buf);
	svec_release(&names);
	assert_int_equal(repo_src_list(src, "purges", &names, &e), 0);
	assert_int_equal(repo_src_list(src, "nothing", &names, &e), 0);
	assert_int_equal(names.n, 0);
	repo_src_free(src);
}

/* drift's deferred check: HEAD until settled, then what the eager check says, once */
static void test_repo__deferred_check(void **state)
{
	(void)state;
	struct repo_src *src, *eager;
	struct cf_err e;
	assert_int_equal(repo_src_open(tmpdir, NULL, &eager, &e), 0);
	assert_int_equal(repo_src_open_deferred(tmpdir, NULL, &src, &e), 0);
	assert_int_equal(strlen(repo_src_commit(src)), 40);
	assert_false(repo_src_dirty(src));
	/* endpoints/a.yaml has an uncommitted edit */
	assert_true(repo_src_settle(src));
	assert_true(repo_src_dirty(src));
	assert_string_equal(repo_src_commit(src), repo_src_commit(eager));
	assert_string_equal(repo_src_commit(src), "");
	assert_true(repo_src_settle(src));
	/* settling an eager source changes nothing */
	assert_true(repo_src_settle(eager));
	assert_string_equal(repo_src_commit(eager), "");
	/* --ref has nothing to settle */
	repo_src_free(src);
	assert_int_equal(repo_src_open_deferred(tmpdir, "HEAD", &src, &e), 0);
	assert_false(repo_src_settle(src));
	assert_int_equal(strlen(repo_src_commit(src)), 40);
	repo_src_free(src);
	repo_src_free(eager);
}

/*
 * drift's settle on a thread of its own (repo_src_settle_start): the same answer as the eager
 * check and as a settle without a thread, for each working-tree state; a source freed while
 * its check still runs is joined (no leak, no use after free under the sanitizers).
 */
static void test_repo__settle_in_background(void **state)
{
	(void)state;
	static const struct {
		const char *prepare; /* shell, in the repository */
		const char *undo;
		bool dirty;
	} cases[] = {
	    {"true", "true", true}, /* endpoints/a.yaml has an uncommitted edit (setup) */
	    {"git stash -q", "git stash pop -q", false},
	    {"git stash -q && printf n > purges/new.yaml", "rm purges/new.yaml && git stash pop -q",
	     true},
	    {"git stash -q && printf x > README.md", "rm README.md && git stash pop -q", false},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct repo_src *bg, *fg, *eager, *dropped;
		struct cf_err e;
		sh("%s", cases[i].prepare);
		assert_int_equal(repo_src_open(tmpdir, NULL, &eager, &e), 0);
		assert_int_equal(repo_src_open_deferred(tmpdir, NULL, &bg, &e), 0);
		assert_int_equal(repo_src_open_deferred(tmpdir, NULL, &fg, &e), 0);
		assert_int_equal(repo_src_open_deferred(tmpdir, NULL, &dropped, &e), 0);
		repo_src_settle_start(bg);
		repo_src_settle_start(bg); /* a second start is a no-op */
		repo_src_settle_start(dropped);
		assert_int_equal(strlen(repo_src_commit(bg)), 40); /* HEAD until settled */
		assert_int_equal(repo_src_settle(bg), cases[i].dirty);
		assert_int_equal(repo_src_settle(fg), cases[i].dirty);
		assert_int_equal(repo_src_dirty(eager), cases[i].dirty);
		assert_string_equal(repo_src_commit(bg), repo_src_commit(eager));
		assert_string_equal(repo_src_commit(fg), repo_src_commit(eager));
		assert_int_equal(repo_src_settle(bg), cases[i].dirty); /* settled once */
		repo_src_free(dropped);
		repo_src_free(bg);
		repo_src_free(fg);
		repo_src_free(eager);
		sh("%s", cases[i].undo);
	}
	/* nothing deferred (--ref, an eager open): starting is a no-op */
	struct repo_src *src;
	struct cf_err e;
	assert_int_equal(repo_src_open_deferred(tmpdir, "HEAD", &src, &e), 0);
	repo_src_settle_start(src);
	assert_false(repo_src_settle(src));
	assert_int_equal(strlen(repo_src_commit(src)), 40);
	repo_src_free(src);
}

/* Files of every size around the read chunk (64 KiB) and the limit read back whole: a short
 * read ends the file, a full one reads on. */
static void test_repo__read_sizes(void **state)
{
	(void)state;
	static const struct {
		size_t size, max;
		int rc;
	} cases[] = {
	    {0, 100, 0},	     {1, 100, 0},
	    {99, 100, 0},	     {100, 100, 0},
	    {101, 100, CF_ELIMIT},   {65535, 1 << 20, 0},
	    {65536, 1 << 20, 0},     {65537, 1 << 20, 0},
	    {200000, 1 << 20, 0},    {131072, 131072, 0},
	    {131073, 131072, CF_ELIMIT},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct repo_src *src;
		struct cf_err e;
		char *buf = NULL;
		size_t len = 0;
		sh("head -c %zu /dev/zero | tr '\\0' y > sized.yaml", cases[i].size);
		assert_int_equal(repo_src_open(tmpdir, NULL, &src, &e), 0);
		int rc = repo_src_read(src, "sized.yaml", cases[i].max, &buf, &len, &e);
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_int_equal(len, cases[i].size);
			assert_int_equal(strspn(buf, "y"), cases[i].size);
			assert_int_equal(buf[len], '\0');
		}
		free(buf);
		repo_src_free(src);
	}
	sh("rm -f sized.yaml");
}

static void test_repo__refs(void **state)
{
	(void)state;
	static const struct {
		const char *ref, *want;
	} cases[] = {{"HEAD", "v2"}, {"HEAD~1", "v1"}, {"first", "v1"}, {"main", "v2"}};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct repo_src *src;
		struct cf_err e;
		int rc;
		assert_int_equal(repo_src_open(tmpdir, cases[i].ref, &src, &e), 0);
		char *buf = read_all(src, "endpoints/a.yaml", 100, &e, &rc);
		assert_int_equal(rc, 0);
		assert_string_equal(buf, cases[i].want);
		free(buf);
		buf = read_all(src, "endpoints/link.yaml", 100, &e, &rc);
		assert_int_equal(rc, 0);
		assert_string_equal(buf, cases[i].want); /* in-tree link followed */
		free(buf);
		struct svec names = {0};
		assert_int_equal(repo_src_list(src, "endpoints", &names, &e), 0);
		assert_int_equal(names.n, 3);
		assert_string_equal(names.v[1].s, "endpoints/b.yml");
		svec_release(&names);
		assert_int_equal(strlen(repo_src_commit(src)), 40);
		repo_src_free(src);
	}
}

static void test_repo__commit_id_matches_git(void **state)
{
	(void)state;
	struct repo_src *src;
	struct cf_err e;
	char want[64] = "";
	struct sb cmd;
	sb_init(&cmd, T_CMD_MAX);
	(void)sb_addf(&cmd, "git -C '%s' rev-parse HEAD~1", tmpdir);
	FILE *p = popen(cmd.buf, "r");
	assert_non_null(p);
	assert_non_null(fgets(want, sizeof(want), p));
	pclose(p);
	want[strcspn(want, "\n")] = '\0';
	assert_int_equal(repo_src_open(tmpdir, "HEAD~1", &src, &e), 0);
	assert_string_equal(repo_src_commit(src), want);
	repo_src_free(src);
	sb_release(&cmd);
}

static void test_repo__subdirectory_ref(void **state)
{
	(void)state;
	struct repo_src *src;
	struct cf_err e;
	struct sb dir;
	int rc;
	sb_init(&dir, 0);
	(void)sb_addf(&dir, "%s/sub", tmpdir);
	assert_int_equal(repo_src_open(dir.buf, "HEAD", &src, &e), 0);
	char *buf = read_all(src, "endpoints/s.yaml", 100, &e, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(buf, "s");
	free(buf);
	/* ../../cacheform.yaml from sub/endpoints leaves sub/, the source's root. */
	assert_int_equal(try_read(src, "endpoints/up.yaml", 100, &e), CF_EINVAL);
	assert_string_equal(e.code, REPO_CODE_ESCAPE);
	repo_src_free(src);
	assert_int_equal(repo_src_open(dir.buf, NULL, &src, &e), 0);
	assert_int_equal(try_read(src, "endpoints/up.yaml", 100, &e), CF_EINVAL);
	assert_string_equal(e.code, REPO_CODE_ESCAPE);
	repo_src_free(src);
	sb_release(&dir);
}

static void test_repo__refusals(void **state)
{
	(void)state;
	static const char *const bad_paths[] = {
	    "../x.yaml", "/etc/passwd", "a//b", "a/./b", "endpoints/../cacheform.yaml", "", "a/"};
	const char *refs[] = {NULL, "HEAD"};
	struct repo_src *src;
	struct cf_err e;
	sh("ln -sf /etc/hostname endpoints/evil.yaml && head -c 5000 /dev/zero > big.yaml");
	for (size_t r = 0; r < CF_ARRAY_LEN(refs); r++) {
		assert_int_equal(repo_src_open(tmpdir, refs[r], &src, &e), 0);
		for (size_t i = 0; i < CF_ARRAY_LEN(bad_paths); i++) {
			assert_int_equal(try_read(src, bad_paths[i], 100, &e), CF_EINVAL);
			assert_string_equal(e.code, REPO_CODE_ESCAPE);
		}
		assert_int_equal(try_read(src, "missing.yaml", 100, &e), CF_EIO);
		assert_string_equal(e.code, REPO_CODE_IO);
		assert_string_equal(e.pos.file, "missing.yaml");
		assert_int_equal(try_read(src, "endpoints", 100, &e), CF_EIO);
		assert_int_equal(try_read(src, "endpoints/a.yaml", 1, &e), CF_ELIMIT);
		assert_string_equal(e.code, REPO_CODE_SIZE);
		repo_src_free(src);
	}
	/* Only the working tree has these two. */
	assert_int_equal(repo_src_open(tmpdir, NULL, &src, &e), 0);
	assert_int_equal(try_read(src, "endpoints/evil.yaml", 100, &e), CF_EINVAL);
	assert_string_equal(e.code, REPO_CODE_ESCAPE);
	assert_int_equal(try_read(src, "big.yaml", 4096, &e), CF_ELIMIT);
	assert_non_null(strstr(e.msg, "5000 bytes"));
	repo_src_free(src);
	sh("rm -f endpoints/evil.yaml big.yaml");
}

static void test_repo__open_errors(void **state)
{
	(void)state;
	struct repo_src *src = NULL;
	struct cf_err e;
	struct sb dir;
	sb_init(&dir, 0);
	assert_int_equal(repo_src_open(tmpdir, "no-such-branch", &src, &e), CF_EINVAL);
	assert_non_null(strstr(e.msg, "no-such-branch"));
	(void)sb_addf(&dir, "%s/nope", tmpdir);
	assert_int_equal(repo_src_open(dir.buf, NULL, &src, &e), CF_EIO);
	/* A directory outside any git repository: fine without --ref, refused with it. */
	assert_int_equal(repo_src_open("/", NULL, &src, &e), 0);
	assert_string_equal(repo_src_commit(src), "");
	repo_src_free(src);
	assert_int_equal(repo_src_open("/", "HEAD", &src, &e), CF_EIO);
	sb_release(&dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_repo__worktree),
	    cmocka_unit_test(test_repo__deferred_check),
	    cmocka_unit_test(test_repo__settle_in_background),
	    cmocka_unit_test(test_repo__read_sizes),
	    cmocka_unit_test(test_repo__refs),
	    cmocka_unit_test(test_repo__commit_id_matches_git),
	    cmocka_unit_test(test_repo__subdirectory_ref),
	    cmocka_unit_test(test_repo__refusals),
	    cmocka_unit_test(test_repo__open_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
