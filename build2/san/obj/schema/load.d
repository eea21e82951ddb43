build2/san/obj/schema/load.o: schema/load.c reconcile/base/compat.h \
 reconcile/base/banned.h schema/load.h reconcile/base/diag.h \
 reconcile/base/model.h reconcile/base/source.h schema/yread.h \
 schema/ytree.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
schema/load.h:
reconcile/base/diag.h:
reconcile/base/model.h:
reconcile/base/source.h:
schema/yread.h:
schema/ytree.h:
reconcile/base/xmem.h:
