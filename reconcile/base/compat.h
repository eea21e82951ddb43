/* First include of every .c file: feature macros, then the banned list. */
#ifndef CF_COMPAT_H
#define CF_COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/banned.h"

#define CF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CF_UNUSED(x)	(void)(x)
#define CF_PRINTF(f, a) __attribute__((format(printf, f, a)))

#endif
