#ifndef CACHEFORM_CLAIMANT_H
#define CACHEFORM_CLAIMANT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Who holds a purge claim, as far as this machine can tell. A claim names its apply by
 * "PID@HOST" (for people) and by a process identity "PID:START:PIDNS:BOOT" (for machines):
 * the pid, its start time in clock ticks since boot, the pid namespace and the boot id. Only
 * a claim made in this boot and this pid namespace can be judged; any other stays alive until
 * its lease ends (LEDGER_CLAIM_LEASE_S).
 */

#define CLAIMANT_PROC_MAX 160 /* longest identity claimant_self writes, with its NUL */

/* Writes this process's identity into buf (n >= CLAIMANT_PROC_MAX); "" when /proc cannot
 * tell it (then no later apply can call the claim gone before its lease). */
void claimant_self(char *buf, size_t n);

/* True only when proc names a process of this boot and pid namespace that no longer runs
 * (its pid is free, or taken by a process started at another time). NULL, "", malformed or
 * foreign identities return false. */
bool claimant_gone(const char *proc);

#endif
