/* The output formats (see outfmt.h for why there is one enum). */
#include "reconcile/base/compat.h"
#include "reconcile/base/outfmt.h"

static const char *const out_names[OUT__COUNT] = {
    [OUT_TEXT] = "text",     [OUT_JSON] = "json",   [OUT_MARKDOWN] = "markdown",
    [OUT_GITHUB] = "github", [OUT_SARIF] = "sarif", [OUT_GITLAB] = "gitlab",
    [OUT_JUNIT] = "junit",
};

const char *out_format_name(enum out_format f)
{
	return (unsigned)f < OUT__COUNT ? out_names[f] : "?";
}

int out_format_parse(const char *s, unsigned allowed, enum out_format *out)
{
	for (unsigned i = 0; s && i < OUT__COUNT; i++)
		if ((allowed & OUT_BIT(i)) && strcmp(s, out_names[i]) == 0) {
			*out = (enum out_format)i;
			return 0;
		}
	return -1;
}
