build2/san/obj/reconcile/diff.o: reconcile/diff.c reconcile/base/compat.h \
 reconcile/base/banned.h reconcile/diff.h reconcile/base/diag.h \
 reconcile/base/model.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/diff.h:
reconcile/base/diag.h:
reconcile/base/model.h:
reconcile/base/xmem.h:
