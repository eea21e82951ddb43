/* Unit tests: secret resolution from literals, the environment and private files. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reconcile/base/sb.h"
#include "reconcile/secret.h"

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/cf-secret-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void write_file(const char *dir, const char *name, const char *data, size_t len, mode_t mode)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int resolve(enum mval_kind kind, const char *text, const char *root, char **out,
		   struct cf_err *e)
{
	struct mval m = {.kind = kind, .text = (char *)text};
	return secret_resolve(&m, NULL, root, "account 'prod': key_value", out, e);
}

static void test_secret__literal_and_env(void **state)
{
	(void)state;
	struct cf_err e;
	char *v = NULL;
	assert_int_equal(resolve(MVAL_LITERAL, "lit", NULL, &v, &e), 0);
	assert_string_equal(v, "lit");
	secret_free(v);

	setenv("CF_TEST_SECRET", "from-env", 1);
	assert_int_equal(resolve(MVAL_ENV, "CF_TEST_SECRET", NULL, &v, &e), 0);
	assert_string_equal(v, "from-env");
	secret_free(v);

	unsetenv("CF_TEST_MISSING");
	assert_int_equal(resolve(MVAL_ENV, "CF_TEST_MISSING", NULL, &v, &e), CF_EINVAL);
	assert_null(v);
	assert_non_null(strstr(e.msg, "'CF_TEST_MISSING' is not set"));
	assert_non_null(strstr(e.msg, "account 'prod': key_value"));

	setenv("CF_TEST_EMPTY", "", 1);
	assert_int_equal(resolve(MVAL_ENV, "CF_TEST_EMPTY", NULL, &v, &e), CF_EINVAL);
	assert_non_null(strstr(e.msg, "'CF_TEST_EMPTY' is empty"));

	struct mval absent = {.kind = MVAL_ABSENT};
	assert_int_equal(secret_resolve(&absent, NULL, NULL, "x", &v, &e), CF_EINVAL);

	/* an error names the account's file and the value's line and column */
	struct mval at = {
	    .kind = MVAL_ENV, .text = (char *)"CF_TEST_EMPTY", .pos = pos_make(1, 9, 14)};
	assert_int_equal(secret_resolve(&at, "cacheform.yaml", NULL, "x", &v, &e), CF_EINVAL);
	assert_string_equal(e.pos.file, "cacheform.yaml");
	assert_int_equal(e.pos.line, 9);
	assert_int_equal(e.pos.col, 14);
}

struct file_case {
	const char *name;
	const char *data;
	size_t len;
	mode_t mode;
	int rc;
	const char *want;    /* value on success */
	const char *msgpart; /* message fragment on failure */
};

static const struct file_case file_cases[] = {
    {"lf", "k3y\n", 4, 0600, 0, "k3y", NULL},
    {"crlf", "k3y\r\n", 5, 0400, 0, "k3y", NULL},
    {"none", "k3y", 3, 0600, 0, "k3y", NULL},
    {"twolines", "a\nb\n", 4, 0600, 0, "a\nb", NULL},
    {"group", "k3y\n", 4, 0640, CF_EIO, NULL,
     "readable by group or others (mode 0640); chmod 600 it"},
    {"world", "k3y\n", 4, 0644, CF_EIO, NULL, "(mode 0644)"},
    {"gwrite", "k3y\n", 4, 0620, CF_EIO, NULL, "(mode 0620)"},
    {"empty", "\n", 1, 0600, CF_EINVAL, NULL, "is empty"},
    {"nul", "a\0b", 3, 0600, CF_EINVAL, NULL, "NUL"},
};

static void test_secret__files(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < CF_ARRAY_LEN(file_cases); i++) {
		const struct file_case *c = &file_cases[i];
		struct cf_err e;
		char *v = NULL;
		write_file(f->dir, c->name, c->data, c->len, c->mode);
		int rc = resolve(MVAL_FILE, c->name, f->dir, &v, &e);
		assert_int_equal(rc, c->rc);
		if (rc == 0) {
			assert_string_equal(v, c->want);
		} else {
			assert_null(v);
			assert_non_null(strstr(e.msg, c->msgpart));
			/* the file's content never reaches the message */
			assert_null(strstr(e.msg, "k3y"));
		}
		secret_free(v);
	}
}

static void test_secret__file_paths(void **state)
{
	struct fixture *f = *state;
	struct cf_err e;
	char *v = NULL, abs[256], sub[256];
	write_file(f->dir, "abs", "v1\n", 3, 0600);
	snprintf(abs, sizeof(abs), "%s/abs", f->dir);
	assert_int_equal(resolve(MVAL_FILE, abs, "/nonexistent-root", &v, &e), 0);
	assert_string_equal(v, "v1");
	secret_free(v);

	assert_int_equal(resolve(MVAL_FILE, "missing", f->dir, &v, &e), CF_EIO);
	assert_non_null(strstr(e.msg, "cannot open secret file 'missing'"));

	/* a directory and a FIFO are not regular files (the FIFO must not hang) */
	snprintf(sub, sizeof(sub), "%s/dir", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(resolve(MVAL_FILE, "dir", f->dir, &v, &e), CF_EIO);
	assert_non_null(strstr(e.msg, "not a regular file"));
	snprintf(sub, sizeof(sub), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(sub, 0600), 0);
	assert_int_equal(resolve(MVAL_FILE, "fifo", f->dir, &v, &e), CF_EIO);
	assert_non_null(strstr(e.msg, "not a regular file"));

	/* over the size cap */
	size_t big = SECRET_FILE_MAX + 10;
	char *data = malloc(big);
	memset(data, 'x', big);
	write_file(f->dir, "big", data, big, 0600);
	free(data);
	assert_int_equal(resolve(MVAL_FILE, "big", f->dir, &v, &e), CF_EIO);
	assert_non_null(strstr(e.msg, "larger than"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret__literal_and_env),
	    cmocka_unit_test_setup_teardown(test_secret__files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret__file_paths, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
