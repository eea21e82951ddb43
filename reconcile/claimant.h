#ifndef CACHEFORM_CLAIMANT_H
#define CACHEFORM_CLAIMANT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Who holds a purge claim, as far as this machine can tell. A claim names its apply by
 * "PID@HOST" (for people) and by a process identity "PID:START:CLONE:PIDNS:BOOT" (for
 * machines): the pid, its start time in clock ticks since boot, the clone it ran in (device and
 * inode of its git directory), the pid namespace and the boot id.
 *
 * Only a claim made from this clone, in this boot and pid namespace, can be judged; any other
 * stays alive until its lease ends (LEDGER_CLAIM_LEASE_S). The clone matters: an apply killed
 * after the provider accepted a purge and before the ledger took it may repeat that purge on
 * the next run (SPEC §5), but an apply racing it from another clone must not send it again.
 */

#define CLAIMANT_PROC_MAX 160 /* longest identity claimant_self writes, with its NUL */
#define CLAIMANT_HOST_MAX 256 /* host name kept in "PID@HOST" */
#define CLAIMANT_NAME_MAX (CLAIMANT_HOST_MAX + 32)

/* Writes "PID@HOST" (the name people read in claims and ledger locks) into buf, cut to n. */
void claimant_name(char *buf, size_t n);

/* Sets the clone this process claims from: gitdir's device and inode. Until it is called (or
 * when gitdir cannot be read) this process writes no identity and judges none. */
void claimant_bind(const char *gitdir);

/* Writes this process's identity into buf (n >= CLAIMANT_PROC_MAX); "" when /proc cannot
 * tell it (then no later apply can call the claim gone before its lease). */
void claimant_self(char *buf, size_t n);

/* True only when proc names a process of this clone, boot and pid namespace that no longer runs
 * (its pid is free, or taken by a process started at another time). NULL, "", malformed or
 * foreign identities return false. */
bool claimant_gone(const char *proc);

#endif
