/*
 * Functions that overflow buffers, keep hidden state or lose errors. Their names are
 * redefined so a use fails to compile; use sb_* and strtol-based parsers instead.
 * Included after the system headers that declare them (through compat.h, which includes
 * no system header that declares them).
 */
#ifndef CF_BANNED_H
#define CF_BANNED_H

#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#define CF_BANNED(func) sorry_##func##_is_banned

#undef strcpy
#define strcpy(a, b) CF_BANNED(strcpy)
#undef strcat
#define strcat(a, b) CF_BANNED(strcat)
#undef strncpy
#define strncpy(a, b, n) CF_BANNED(strncpy)
#undef strncat
#define strncat(a, b, n) CF_BANNED(strncat)
#undef sprintf
#define sprintf(...) CF_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) CF_BANNED(vsprintf)
#undef strtok
#define strtok(a, b) CF_BANNED(strtok)
#undef atoi
#define atoi(a) CF_BANNED(atoi)
#undef atol
#define atol(a) CF_BANNED(atol)
#undef gmtime
#define gmtime(t) CF_BANNED(gmtime)
#undef localtime
#define localtime(t) CF_BANNED(localtime)

#endif
