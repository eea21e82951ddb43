/*
 * Front Door: the YAML rule list compiled into the rules of cacheform's rule set, the
 * behavioural comparison of two rule sets, and the sequence of per-rule writes that turns a
 * live rule set into the desired one. Pure computation (no I/O, no JSON): prov_afd.c encodes
 * and decodes, tests/unit/test_prov_afd.c checks it.
 *
 * Encoding (reference §4.6 (a)): every matching Front Door rule runs and the last override
 * wins, so the YAML's first rule is emitted last: YAML rule i of n gets evaluation position
 * n-1-i, all rules Continue (never Stop, which would also silence the route's later rule
 * sets). dir -> UrlPath BeginsWith "d/" (no leading '/'; dir [/] -> no condition, matches
 * every request), path -> UrlPath Equal (no leading '/', the root stays "/"), suffix ->
 * UrlFileExtension Equal with a Lowercase transform and lower-case values. ttl 0 -> an override
 * without cacheConfiguration (no caching); otherwise OverrideAlways (ignore_cache_control) or
 * OverrideIfOriginMissing with the duration and the route's query-string key.
 */
#ifndef CF_AFD_COMPILE_H
#define CF_AFD_COMPILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/model.h"
#include "reconcile/sem_afd.h"

#define AFD_ORDER_STEP	 10 /* spacing of orders cacheform picks, so inserts rarely renumber */
#define AFD_NAME_BUF	 64
#define AFD_DURATION_BUF 32

/* Rule name for YAML rule i of c: its `name`, else "cf" + a hash of kind and items, so a TTL
 * change keeps the name (one write) and an insertion does not rename its neighbours. Names
 * are unique within c (a clash gets the rule number appended). */
void afd_rule_name(const struct cache *c, size_t i, char *buf, size_t n);

/*
 * Fills out (zeroed by the caller) with c's rules in evaluation order, named, orders unset
 * (0), out->owned set. Compression is the encoder's business (it copies the route's).
 */
void afd_compile(const struct cache *c, struct sem_afd_set *out);

/* True when rules a and b behave alike (conditions as sets, values as sets with one leading
 * '/' dropped from UrlPath values, transforms as sets, durations as seconds, null = HonorOrigin;
 * name and order not compared). */
bool afd_rule_same(const struct sem_afd_rule *a, const struct sem_afd_rule *b);

/* True when sets a and b (each sorted by order) hold behaviourally equal rules in the same
 * relative order. */
bool afd_set_same(const struct sem_afd_set *a, const struct sem_afd_set *b);

/* [d.]hh:mm:ss as cacheform writes it (no "0." day prefix); parse accepts every spelling the
 * service returns ("1.00:00:00", "24:00:00" is refused as hh > 23, "00:00:00"). */
void afd_duration_format(int64_t secs, char *buf, size_t n);
int afd_duration_parse(const char *s, int64_t *out);

/* ---- per-rule write sequence ---- */

enum afd_op_kind { AFD_OP_DELETE, AFD_OP_PUT };

struct afd_op {
	enum afd_op_kind kind;
	size_t idx;    /* DELETE: index into live; PUT: index into desired */
	int64_t order; /* PUT: the order to write */
	bool temp; /* PUT to a temporary order (breaks a cycle of moves; a second PUT follows) */
};

/*
 * The fewest writes that turn live (sorted by order, names unique) into want (evaluation
 * order, named): rules matched by name; a matched rule that behaves alike and whose order can
 * stay is not written; the largest such set keeps its orders (longest chain whose gaps leave
 * room for the rules between), every other rule is PUT with an order that fits. Deletes come
 * first; then each PUT goes only when no other rule holds its order at that moment, so the
 * service never sees two rules with one order; a cycle of moves costs one temporary PUT.
 * Returns the count; *ops owned by the caller (free).
 */
size_t afd_plan_writes(const struct sem_afd_set *live, const struct sem_afd_set *want,
		       struct afd_op **ops);

#endif
