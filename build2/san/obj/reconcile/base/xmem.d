build2/san/obj/reconcile/base/xmem.o: reconcile/base/xmem.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/base/xmem.h:
