/*
 * Sharding of endpoints for `drift --shard I/N`: a scheduler (CI matrix, Kubernetes Indexed
 * Job) runs N copies, each checking a part of the fleet.
 *
 * What bounds a large fleet is the provider's rate limit, not CPU, and a limit is shared by
 * every account of one rate domain (CDN Pro: the customer; ARM: the principal in a
 * subscription). So by default a shard takes whole rate domains, chosen by rendezvous
 * hashing (highest random weight) of the domain key: changing N from N to N+1 moves about
 * 1/(N+1) of the domains and nothing else. With fewer domains than shards that leaves shards
 * idle; SHARD_SPLIT then spreads every domain's endpoints over all shards by name and gives
 * each shard 1/N of each account's budget, so N shards together never exceed it.
 *
 * Shards are numbered 1..N (like GitLab's CI_NODE_INDEX and a GitHub matrix [1, 2, 3, 4]);
 * a Kubernetes Indexed Job, whose JOB_COMPLETION_INDEX starts at 0, passes index + 1.
 * The hash is FNV-1a 64 of the endpoint name's bytes and never changes between versions, so
 * an endpoint stays in the same shard for a given N and its job logs stay comparable.
 */
#ifndef CF_SHARD_H
#define CF_SHARD_H

#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"
#include "reconcile/base/sb.h"

#define SHARD_MAX_COUNT 4096u /* more shards than this is a typo, not a fleet */

enum shard_budget {
	SHARD_WHOLE, /* whole rate domains per shard, each with its full budget (default) */
	SHARD_SPLIT, /* every domain over every shard, each shard 1/N of the budget */
};

struct shard {
	unsigned index; /* 1..count */
	unsigned count; /* 1..SHARD_MAX_COUNT; count 1 selects everything */
	enum shard_budget budget;
};

/* Parses "I/N" (decimal, 1 <= I <= N <= SHARD_MAX_COUNT). Returns 0 or CF_EINVAL with e. */
int shard_parse(const char *text, struct shard *out, struct cf_err *e);

/* FNV-1a 64 of name. */
uint64_t shard_hash(const char *name);

/* Returns the 1-based shard of name among count shards (count >= 1). */
unsigned shard_of(const char *name, unsigned count);

/* True when name belongs to shard s by its own hash (what SHARD_SPLIT uses). */
bool shard_contains(const struct shard *s, const char *name);

/* Parses "whole" or "split" (--shard-budget). Returns 0 or CF_EINVAL with e. */
int shard_budget_parse(const char *text, enum shard_budget *out, struct cf_err *e);

/*
 * Appends a's rate-domain key to out: "domain:" + its rate_domain when set, otherwise the
 * identity the provider meters (cdnpro base_url + user, ARM tenant + client + subscription,
 * azure-china subscription + key id; a secret reference counts by its name, never its value).
 */
void shard_domain_key(const struct account *a, struct sb *out);

/* Returns the 1-based shard that takes the whole domain key among count shards. */
unsigned shard_of_domain(const char *key, unsigned count);

/* True when shard s takes the endpoint name of account a (by domain, or by name when split). */
bool shard_takes(const struct shard *s, const struct account *a, const char *name);

/* A shard's part of a budget of amount (per minute or burst) split over count shards: never
 * below 1, and count parts never sum above amount when amount >= count. */
unsigned shard_share(unsigned amount, unsigned count);

/* A shard's burst when a domain is split over count shards: half of shard_share(burst, count),
 * never below 1; the whole burst when count <= 1. */
unsigned shard_burst_share(unsigned burst, unsigned count);

#endif
