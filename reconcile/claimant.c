#include "reconcile/base/compat.h"
#include "reconcile/claimant.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define CLAIMANT_BOOT_ID     "/proc/sys/kernel/random/boot_id"
#define CLAIMANT_PIDNS	     "/proc/self/ns/pid"
#define CLAIMANT_STAT	     "/proc/%ld/stat"
#define CLAIMANT_READ	     1024 /* a /proc/PID/stat line, comm included, fits */
#define CLAIMANT_BOOT	     40	  /* a boot id (36 characters) with room */
#define CLAIMANT_NS	     64	  /* "pid:[4026531836]" with room */
#define CLAIMANT_START_FIELD 22	  /* starttime in proc(5) */
#define CLAIMANT_CLONE	     48	  /* "DEV.INO" of a git directory with room */

/* The clone this process claims from (claimant_bind); "" until bound. */
static char bound_clone[CLAIMANT_CLONE];

void claimant_bind(const char *gitdir)
{
	struct stat st;
	bound_clone[0] = 0;
	if (gitdir && stat(gitdir, &st) == 0)
		snprintf(bound_clone, sizeof(bound_clone), "%llu.%llu",
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

/* Reads a small /proc file into buf without its trailing newline; false when unreadable. */
static bool read_small(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	if (r <= 0)
		return false;
	buf[r] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return true;
}

/* The start time of a running pid; false when no such process. */
static bool start_of(long pid, unsigned long long *start)
{
	char path[64], line[CLAIMANT_READ];
	snprintf(path, sizeof(path), CLAIMANT_STAT, pid);
	if (!read_small(path, line, sizeof(line)))
		return false;
	/* comm may hold spaces and parentheses: fields count from the last ')' */
	const char *p = strrchr(line, ')');
	int field = 2;
	while (p && *p && field < CLAIMANT_START_FIELD) {
		p = strchr(p + 1, ' ');
		field++;
	}
	if (!p)
		return false;
	char *end;
	errno = 0;
	*start = strtoull(p + 1, &end, 10);
	return errno == 0 && end != p + 1;
}

/* This boot's id and this process's pid namespace; false when /proc cannot tell. */
static bool here(char *boot, size_t bn, char *ns, size_t nn)
{
	if (!read_small(CLAIMANT_BOOT_ID, boot, bn))
		return false;
	ssize_t r = readlink(CLAIMANT_PIDNS, ns, nn - 1);
	if (r <= 0)
		return false;
	ns[r] = 0;
	return true;
}

void claimant_name(char *buf, size_t n)
{
	char host[CLAIMANT_HOST_MAX] = "";
	if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
		snprintf(host, sizeof(host), "unknown-host");
	snprintf(buf, n, "%ld@%s", (long)getpid(), host);
}

void claimant_self(char *buf, size_t n)
{
	char boot[CLAIMANT_BOOT], ns[CLAIMANT_NS];
	unsigned long long start;
	long pid = (long)getpid();
	buf[0] = 0;
	if (n < CLAIMANT_PROC_MAX || !bound_clone[0] || !here(boot, sizeof(boot), ns, sizeof(ns)) ||
	    !start_of(pid, &start))
		return;
	snprintf(buf, n, "%ld:%llu:%s:%s:%s", pid, start, bound_clone, ns, boot);
}

bool claimant_gone(const char *proc)
{
	char boot[CLAIMANT_BOOT], ns[CLAIMANT_NS];
	if (!proc || !proc[0] || !bound_clone[0] || !here(boot, sizeof(boot), ns, sizeof(ns)))
		return false;
	char *end;
	errno = 0;
	long pid = strtol(proc, &end, 10);
	if (errno || end == proc || *end != ':' || pid <= 0)
		return false;
	const char *p = end + 1;
	errno = 0;
	unsigned long long start = strtoull(p, &end, 10);
	if (errno || end == p || *end != ':')
		return false;
	/* the rest is "CLONE:NS:BOOT" and must be ours, exactly */
	p = end + 1;
	size_t cl = strlen(bound_clone);
	if (strncmp(p, bound_clone, cl) != 0 || p[cl] != ':')
		return false;
	p += cl + 1;
	size_t nl = strlen(ns);
	if (strncmp(p, ns, nl) != 0 || p[nl] != ':' || strcmp(p + nl + 1, boot) != 0)
		return false;
	unsigned long long now;
	return !start_of(pid, &now) || now != start;
}
