/*
 * fakecdn's CDN Pro Edge Logic checks (cmd/fakecdn/fk_elcheck.c, compiled in here: fuzz
 * targets link only the library) on arbitrary bytes, the untrusted edgeLogic of a version body.
 * Properties: a synchronous error has a known code and a message; a validation failure names
 * the generated file and a line; the verdict is the same on a second run (no hidden state).
 */
#include "reconcile/base/compat.h"

#include "cmd/fakecdn/fk_elcheck.c"
#include "tests/fuzz/fuzz.h"

static const char *const origins[] = {"o", "origin1"};
static const char *const granted[] = {"proxy_cache_vary"};
static const char *const codes[] = {"InvalidDirective", "UnauthorizedDirective",
				    "InvalidEdgeLogic"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fk_el_report a, b;
	bool known = false;

	if (size > EL_TEXT_MAX + 16)
		return 0;
	fk_el_check((const char *)data, size, origins, CF_ARRAY_LEN(origins), granted,
		    CF_ARRAY_LEN(granted), &a);
	for (size_t i = 0; a.code && i < CF_ARRAY_LEN(codes); i++)
		known = known || strcmp(a.code, codes[i]) == 0;
	FUZZ_CHECK(!a.code || (known && a.message[0] != '\0'));
	FUZZ_CHECK(!a.failed || strstr(a.details, " in " FK_EL_CONF_FILE ":") != NULL);
	fk_el_check((const char *)data, size, origins, CF_ARRAY_LEN(origins), granted,
		    CF_ARRAY_LEN(granted), &b);
	FUZZ_CHECK((a.code == NULL) == (b.code == NULL) && a.failed == b.failed &&
		   strcmp(a.details, b.details) == 0 && a.directives == b.directives);
	return 0;
}
