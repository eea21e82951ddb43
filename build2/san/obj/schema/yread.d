build2/san/obj/schema/yread.o: schema/yread.c reconcile/base/compat.h \
 reconcile/base/banned.h schema/yread.h reconcile/base/model.h \
 reconcile/base/diag.h schema/ytree.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
schema/yread.h:
reconcile/base/model.h:
reconcile/base/diag.h:
schema/ytree.h:
reconcile/base/xmem.h:
