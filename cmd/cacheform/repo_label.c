#include "reconcile/base/compat.h"
#include "cmd/cacheform/repo_label.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* True when path/.git exists (a directory, or the file of a linked work tree). */
static bool has_git(const char *path, size_t len)
{
	struct sb p;
	sb_init(&p, PATH_MAX);
	sb_add(&p, path, len);
	sb_adds(&p, len == 1 && path[0] == '/' ? ".git" : "/.git");
	struct stat st;
	bool ok = !p.overflow && stat(p.buf, &st) == 0;
	sb_release(&p);
	return ok;
}

void repo_label(const char *dir, struct sb *out)
{
	const char *given = dir ? dir : ".";
	char *abs = realpath(given, NULL);
	if (!abs) {
		sb_adds(out, given);
		return;
	}
	size_t len = strlen(abs);
	for (;;) {
		if (has_git(abs, len)) {
			const char *rest = abs + len + (abs[len] == '/');
			sb_adds(out, *rest ? rest : ".");
			break;
		}
		char *slash = len > 1 ? memrchr(abs, '/', len) : NULL;
		if (!slash) {
			sb_adds(out, given);
			break;
		}
		len = slash == abs ? 1 : (size_t)(slash - abs);
	}
	free(abs);
}
