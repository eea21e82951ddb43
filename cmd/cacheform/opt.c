#include "reconcile/base/compat.h"
#include "cmd/cacheform/opt.h"

#include <errno.h>

#include "reconcile/base/near.h"

#define OPT_UINT_MAX 1000000u

static const struct opt *opt_find_long(const struct opt *opts, const char *name, size_t n)
{
	for (; opts->lname; opts++)
		if (strlen(opts->lname) == n && strncmp(opts->lname, name, n) == 0)
			return opts;
	return NULL;
}

static const struct opt *opt_find_short(const struct opt *opts, char c)
{
	for (; opts->lname; opts++)
		if (opts->sname && opts->sname == c)
			return opts;
	return NULL;
}

static int opt_store(const char *cmd, const struct opt *o, const char *val)
{
	switch (o->type) {
	case OPT_BOOL:
		*(bool *)o->dest = true;
		return 0;
	case OPT_STR:
		*(const char **)o->dest = val;
		return 0;
	case OPT_STRLIST:
		svec_push(o->dest, val, NULL);
		return 0;
	case OPT_UINT: {
		char *end;
		errno = 0;
		unsigned long v = strtoul(val, &end, 10);
		if (errno || end == val || *end || val[0] == '-' || v > OPT_UINT_MAX) {
			fprintf(stderr,
				"cacheform %s: --%s: '%s' is not a number between 0 and %u\n", cmd,
				o->lname, val, OPT_UINT_MAX);
			return -1;
		}
		*(unsigned *)o->dest = (unsigned)v;
		return 0;
	}
	}
	return -1;
}

static int opt_need_value(const char *cmd, const struct opt *o, int *i, int argc, char **argv,
			  const char *inline_val, const char **val)
{
	if (o->type == OPT_BOOL) {
		if (inline_val) {
			fprintf(stderr, "cacheform %s: --%s takes no value\n", cmd, o->lname);
			return -1;
		}
		*val = NULL;
		return 0;
	}
	if (inline_val) {
		*val = inline_val;
		return 0;
	}
	if (*i + 1 >= argc) {
		fprintf(stderr, "cacheform %s: --%s needs a value\n", cmd, o->lname);
		return -1;
	}
	*val = argv[++*i];
	return 0;
}

/* "unknown option '--dry-run'; did you mean '--detailed-exitcode'?" */
static void unknown_option(const char *cmd, const struct opt *opts, const char *a)
{
	struct near n;
	const char *eq = strchr(a, '=');
	char word[NEAR_WORD_MAX + 1];
	snprintf(word, sizeof(word), "%.*s", (int)(eq ? eq - a : (ptrdiff_t)strlen(a)), a);
	near_init(&n, word + strspn(word, "-"));
	for (; opts->lname; opts++)
		near_offer(&n, opts->lname);
	fprintf(stderr, "cacheform %s: unknown option '%s'", cmd, a);
	if (near_result(&n))
		fprintf(stderr, "; did you mean '--%s'?", near_result(&n));
	fprintf(stderr, " (see 'cacheform help %s')\n", cmd);
}

int opt_parse(const char *cmd, const struct opt *opts, int argc, char **argv, int *npos)
{
	int np = 0;
	bool only_pos = false;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		const struct opt *o = NULL;
		const char *inline_val = NULL, *val;
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			argv[np++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			o = opt_find_long(opts, a + 2, n);
			inline_val = eq ? eq + 1 : NULL;
		} else if (a[2] == '\0') {
			o = opt_find_short(opts, a[1]);
		}
		if (!o) {
			unknown_option(cmd, opts, a);
			return -1;
		}
		if (opt_need_value(cmd, o, &i, argc, argv, inline_val, &val) < 0 ||
		    opt_store(cmd, o, val) < 0)
			return -1;
	}
	*npos = np;
	return 0;
}

void opt_usage(FILE *f, const struct opt *opts)
{
	for (; opts->lname; opts++) {
		char left[64];
		if (opts->sname)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", opts->sname, opts->lname,
				 opts->argname ? " " : "", opts->argname ? opts->argname : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", opts->lname,
				 opts->argname ? " " : "", opts->argname ? opts->argname : "");
		fprintf(f, "  %-30s %s\n", left, opts->help);
	}
}
