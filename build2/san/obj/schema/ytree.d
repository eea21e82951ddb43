build2/san/obj/schema/ytree.o: schema/ytree.c reconcile/base/compat.h \
 reconcile/base/banned.h schema/ytree.h reconcile/base/diag.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
schema/ytree.h:
reconcile/base/diag.h:
reconcile/base/xmem.h:
