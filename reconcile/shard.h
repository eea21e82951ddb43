/*
 * Sharding of endpoints for `drift --shard I/N`: a scheduler (CI matrix, Kubernetes Indexed
 * Job) runs N copies, each checking only the endpoints whose name hashes to its shard.
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

#define SHARD_MAX_COUNT 4096u /* more shards than this is a typo, not a fleet */

struct shard {
	unsigned index; /* 1..count */
	unsigned count; /* 1..SHARD_MAX_COUNT; count 1 selects everything */
};

/* Parses "I/N" (decimal, 1 <= I <= N <= SHARD_MAX_COUNT). Returns 0 or CF_EINVAL with e. */
int shard_parse(const char *text, struct shard *out, struct cf_err *e);

/* FNV-1a 64 of name. */
uint64_t shard_hash(const char *name);

/* Returns the 1-based shard of name among count shards (count >= 1). */
unsigned shard_of(const char *name, unsigned count);

/* True when name belongs to shard s. */
bool shard_contains(const struct shard *s, const char *name);

#endif
