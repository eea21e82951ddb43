build2/san/obj/reconcile/repo.o: reconcile/repo.c reconcile/base/compat.h \
 reconcile/base/banned.h reconcile/repo.h reconcile/base/diag.h \
 reconcile/base/model.h reconcile/base/source.h reconcile/base/sb.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/repo.h:
reconcile/base/diag.h:
reconcile/base/model.h:
reconcile/base/source.h:
reconcile/base/sb.h:
reconcile/base/xmem.h:
