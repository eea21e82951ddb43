/*
 * cacheform fmt: rewrite the repository's YAML files into the canonical form (schema/fmt.h),
 * or with --check only say which files are not in it. The files are the loader's own list
 * (load_files). Nothing is written unless every selected file loads: a half-formatted
 * repository would be worse than none.
 */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"

#include <string.h>
#include <sys/stat.h>

#include "reconcile/base/afile.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"
#include "reconcile/repo.h"
#include "schema/fmt.h"
#include "schema/report.h"

#define FMT_FILE_MODE	 0644 /* for a file whose mode cannot be read */
#define FMT_HINT_CONTEXT 1    /* unchanged lines shown before the first difference */

static const char *opt_repo;
static bool opt_check, opt_purges;

const struct opt fmt_opts[] = {
    {"check", 0, OPT_BOOL, &opt_check, NULL,
     "write nothing; list the files not in canonical form, exit 1 if any"},
    {"purges", 0, OPT_BOOL, &opt_purges, NULL,
     "also purge manifests (their content hash changes: an applied one shows as edited)"},
    {"repo", 0, OPT_STR, &opt_repo, "DIR", "desired-state repository (default .)"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

struct fmt_file {
	struct load_file lf;
	bool selected;
	char *orig;
	size_t olen;
	struct fmt_result res;
};

struct fmt_run {
	struct repo_src *src;
	struct fmt_file *f;
	size_t n;
	struct diag_list diags;
};

/* "DIR/path" as the user would type it from where they ran the command. */
static void fmt_name(struct sb *sb, const char *path)
{
	sb_reset(sb);
	if (opt_repo && strcmp(opt_repo, ".") != 0) {
		(void)sb_add_safe(sb, opt_repo);
		if (sb->len && sb->buf[sb->len - 1] != '/')
			(void)sb_addc(sb, '/');
	}
	(void)sb_add_safe(sb, path);
}

/* The repository-relative form of a file argument: "./x", "DIR/x" and "x" all name x. */
static const char *fmt_rel(const char *arg)
{
	size_t n = opt_repo ? strlen(opt_repo) : 0;
	while (n && opt_repo[n - 1] == '/')
		n--;
	if (n && strncmp(arg, opt_repo, n) == 0 && arg[n] == '/')
		arg += n + 1;
	while (strncmp(arg, "./", 2) == 0)
		arg += 2;
	return arg;
}

/* Marks the files to format: those named, or every file (purge manifests with --purges). */
static int fmt_select(struct fmt_run *r, int npos, char **argv)
{
	for (size_t i = 0; i < r->n; i++)
		r->f[i].selected = npos == 0 && (opt_purges || r->f[i].lf.kind != LOAD_PURGE);
	for (int a = 0; a < npos; a++) {
		const char *rel = fmt_rel(argv[a]);
		size_t i = 0;
		while (i < r->n && strcmp(r->f[i].lf.path, rel) != 0)
			i++;
		if (i == r->n) {
			fprintf(
			    stderr,
			    "cacheform fmt: '%s' is not a file cacheform reads (cacheform.yaml, "
			    "endpoints/*.yaml, purges/*.yaml)\n",
			    argv[a]);
			return -1;
		}
		r->f[i].selected = true;
	}
	return 0;
}

static void fmt_run_release(struct fmt_run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->f[i].lf.path);
		free(r->f[i].orig);
		fmt_result_release(&r->f[i].res);
	}
	free(r->f);
	diag_release(&r->diags);
	repo_src_free(r->src);
}

/* Lists the loader's files; returns 0 or -1 after adding the error to r->diags. */
static int fmt_open(struct fmt_run *r)
{
	struct cf_err e;
	struct load_file *lf;
	size_t n;
	err_clear(&e);
	if (repo_src_open(opt_repo, NULL, &r->src, &e) < 0) {
		diag_add_err(&r->diags, &e);
		return -1;
	}
	struct cf_source s = repo_src_source(r->src);
	int rc = load_files(&s, &lf, &n, &r->diags);
	r->f = xcalloc(n ? n : 1, sizeof(*r->f));
	r->n = n;
	for (size_t i = 0; i < n; i++)
		r->f[i].lf = lf[i];
	free(lf); /* the paths now belong to r->f */
	return rc < 0 ? -1 : 0;
}

static void fmt_one(struct fmt_run *r, struct fmt_file *f)
{
	struct cf_err e;
	err_clear(&e);
	if (repo_src_read(r->src, f->lf.path, LOAD_MAX_FILE_BYTES, &f->orig, &f->olen, &e) < 0) {
		e.pos.file = f->lf.path;
		e.pos.line = e.pos.col = 1;
		diag_add_err(&r->diags, &e);
		return;
	}
	(void)fmt_buffer(f->lf.kind, f->lf.path, f->orig, f->olen, &f->res, &r->diags);
}

/* Line n (1-based) of t: its start, and its length without the '\n'. */
static const char *fmt_line(const char *t, size_t len, size_t n, size_t *ll)
{
	const char *p = t, *end = t + len;
	for (size_t i = 1; i < n && p < end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	*ll = (size_t)((nl ? nl : end) - p);
	return p;
}

/* On stderr, a unified-style hint at the first line that differs. */
static void fmt_hint(const char *name, const struct fmt_file *f)
{
	const char *a = f->orig, *b = f->res.text;
	size_t line = 1, i = 0, n = f->olen < f->res.len ? f->olen : f->res.len;
	for (; i < n && a[i] == b[i]; i++)
		if (a[i] == '\n')
			line++;
	size_t from = line > FMT_HINT_CONTEXT ? line - FMT_HINT_CONTEXT : 1, ll;
	fprintf(stderr, "--- %s\n+++ %s (canonical)\n@@ line %zu @@\n", name, name, line);
	for (size_t l = from; l < line; l++) {
		const char *s = fmt_line(a, f->olen, l, &ll);
		fprintf(stderr, " %.*s\n", (int)ll, s);
	}
	const char *s = fmt_line(a, f->olen, line, &ll);
	fprintf(stderr, "-%.*s\n", (int)ll, s);
	s = fmt_line(b, f->res.len, line, &ll);
	fprintf(stderr, "+%.*s\n", (int)ll, s);
}

/* Writes f's canonical text in place, keeping its permissions. */
static int fmt_write(const struct fmt_run *r, const struct fmt_file *f, const char *name)
{
	struct cf_err e;
	struct sb path;
	struct stat st;
	sb_init(&path, 0);
	sb_addf(&path, "%s/%s", repo_src_root(r->src), f->lf.path);
	mode_t mode = lstat(path.buf, &st) == 0 ? (st.st_mode & 07777) : FMT_FILE_MODE;
	err_clear(&e);
	int rc =
	    afile_write(path.buf, f->res.text, f->res.len, mode, AFILE_REPLACE, "YAML file", &e);
	if (rc < 0)
		fprintf(stderr, "cacheform fmt: cannot write %s: %s\n", name, e.msg);
	sb_release(&path);
	return rc;
}

/* Prints (and with write, writes) each file that changes; returns how many, or -1. */
static int fmt_finish(const struct fmt_run *r, bool write)
{
	struct sb name;
	int nchanged = 0, failed = 0;
	sb_init(&name, 0);
	for (size_t i = 0; i < r->n; i++) {
		const struct fmt_file *f = &r->f[i];
		if (!f->selected || !f->res.text)
			continue;
		fmt_name(&name, f->lf.path);
		if (f->res.kept)
			fprintf(stderr, "cacheform fmt: %s: left as it is: %s\n", name.buf,
				f->res.kept);
		if (!f->res.changed)
			continue;
		if (write && fmt_write(r, f, name.buf) < 0) {
			failed++;
			continue;
		}
		printf("%s\n", name.buf);
		if (!write) {
			/* the name first, then its hint, also when both go to one log */
			(void)fflush(stdout);
			fmt_hint(name.buf, f);
		}
		nchanged++;
	}
	sb_release(&name);
	return failed ? -1 : nchanged;
}

int cmd_fmt(int argc, char **argv)
{
	struct fmt_run r;
	struct report_opts ro = {.format = OUT_TEXT};
	int npos, ret = EXIT_ERROR;
	if (opt_parse("fmt", fmt_opts, argc, argv, &npos) < 0)
		return EXIT_USAGE;
	memset(&r, 0, sizeof(r));
	diag_init(&r.diags);
	ro.path_prefix = opt_repo;
	if (fmt_open(&r) < 0)
		goto report;
	if (fmt_select(&r, npos, argv) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < r.n; i++)
		if (r.f[i].selected)
			fmt_one(&r, &r.f[i]);
	if (r.diags.nerrors)
		goto report;
	int n = fmt_finish(&r, !opt_check);
	ret = n < 0 || (opt_check && n > 0) ? EXIT_ERROR : EXIT_OK;
	goto out;
report:
	diag_sort(&r.diags);
	(void)report_write(stderr, &r.diags, &ro);
	fprintf(stderr, "cacheform fmt: nothing written: %zu error%s\n", r.diags.nerrors,
		r.diags.nerrors == 1 ? "" : "s");
out:
	fmt_run_release(&r);
	return ret;
}
