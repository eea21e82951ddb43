/* Host-name predicates (see host.h for why there is one home). */
#include "reconcile/base/compat.h"
#include "reconcile/base/host.h"

#include <strings.h>

#define HOST_IPV4_PARTS	   4
#define HOST_IPV4_PART_MAX 255UL
#define HOST_IPV4_DIGITS   3
#define HOST_LOOPBACK_NET  127UL

static bool equal_ci(const char *h, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(h, word, n) == 0;
}

/* Parses exactly four dotted decimal parts; *first gets the first one. */
static bool ipv4_parse(const char *h, size_t n, unsigned long *first)
{
	size_t parts = 0, i = 0;
	while (i < n && parts < HOST_IPV4_PARTS) {
		unsigned long v = 0;
		size_t start = i;
		while (i < n && h[i] >= '0' && h[i] <= '9' && i - start < HOST_IPV4_DIGITS)
			v = v * 10 + (unsigned long)(h[i++] - '0');
		if (i == start || v > HOST_IPV4_PART_MAX)
			return false;
		if (parts++ == 0)
			*first = v;
		if (i < n && h[i] == '.' && parts < HOST_IPV4_PARTS)
			i++;
		else
			break;
	}
	return parts == HOST_IPV4_PARTS && i == n;
}

bool host_is_loopback(const char *h, size_t n)
{
	unsigned long first = 0;
	if (!h)
		return false;
	if (equal_ci(h, n, "localhost") || equal_ci(h, n, "[::1]"))
		return true;
	return ipv4_parse(h, n, &first) && first == HOST_LOOPBACK_NET;
}
