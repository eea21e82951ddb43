build2/san/obj/schema/urlcheck.o: schema/urlcheck.c \
 reconcile/base/compat.h reconcile/base/banned.h schema/urlcheck.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
schema/urlcheck.h:
reconcile/base/xmem.h:
