/*
 * cacheform version: what was built (version, commit, build date) and which library
 * versions the process really loaded, asked of each library at run time through the module
 * that owns it, because a bug report needs the shared objects in use, not the headers the
 * build saw.
 */
#include "reconcile/base/compat.h"
#include "cmd/cacheform/cmd.h"

#include <stdio.h>
#include <string.h>

#include "reconcile/base/sb.h"
#include "reconcile/base/version.h"
#include "reconcile/codec.h"
#include "reconcile/http.h"
#include "reconcile/repo.h"
#include "reconcile/sign.h"
#include "schema/urlcheck.h"
#include "schema/ytree.h"

#define VERSION_JSON_MAX ((size_t)4 << 10)

static const char *opt_format;

const struct opt version_opts[] = {
    {"format", 0, OPT_STR, &opt_format, "FMT", "text (default) or json"},
    {NULL, 0, OPT_BOOL, NULL, NULL, NULL},
};

struct libver {
	const char *name;
	const char *(*fn)(void);
};

static const struct libver libs[] = {
    {"libcurl", http_lib_version}, {"libgit2", repo_lib_version}, {"libyaml", ytree_lib_version},
    {"json-c", codec_lib_version}, {"openssl", sign_lib_version}, {"pcre2", urlcheck_lib_version},
};

static void kv(struct sb *sb, const char *k, const char *v, bool last)
{
	sb_add_json_str(sb, k);
	sb_addc(sb, ':');
	sb_add_json_str(sb, v);
	if (!last)
		sb_addc(sb, ',');
}

static int print_json(void)
{
	struct sb sb;
	sb_init(&sb, VERSION_JSON_MAX);
	sb_addc(&sb, '{');
	kv(&sb, "version", cf_version(), false);
	kv(&sb, "commit", cf_commit(), false);
	kv(&sb, "build_date", cf_build_date(), false);
	kv(&sb, "home", cf_home_url(), false);
	sb_adds(&sb, "\"libraries\":{");
	for (size_t i = 0; i < CF_ARRAY_LEN(libs); i++)
		kv(&sb, libs[i].name, libs[i].fn(), i + 1 == CF_ARRAY_LEN(libs));
	sb_adds(&sb, "}}\n");
	int rc = sb.overflow ? -1 : 0;
	if (rc == 0)
		fputs(sb.buf, stdout);
	sb_release(&sb);
	return rc == 0 ? EXIT_OK : EXIT_ERROR;
}

int cmd_version(int argc, char **argv)
{
	int npos = 0;
	opt_format = NULL;
	if (opt_parse("version", version_opts, argc, argv, &npos) != 0)
		return EXIT_USAGE;
	if (npos > 0) {
		fprintf(stderr, "cacheform version: unexpected argument '%s'\n", argv[0]);
		return EXIT_USAGE;
	}
	if (opt_format && strcmp(opt_format, "json") == 0)
		return print_json();
	if (opt_format && strcmp(opt_format, "text") != 0) {
		fprintf(stderr, "cacheform version: unknown format '%s' (text or json)\n",
			opt_format);
		return EXIT_USAGE;
	}
	printf("cacheform %s\ncommit %s\nbuilt %s\n", cf_version(), cf_commit(), cf_build_date());
	for (size_t i = 0; i < CF_ARRAY_LEN(libs); i++)
		printf("%s %s\n", libs[i].name, libs[i].fn());
	return EXIT_OK;
}
