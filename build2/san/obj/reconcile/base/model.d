build2/san/obj/reconcile/base/model.o: reconcile/base/model.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/base/model.h \
 reconcile/base/diag.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/base/model.h:
reconcile/base/diag.h:
reconcile/base/xmem.h:
