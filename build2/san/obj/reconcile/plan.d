build2/san/obj/reconcile/plan.o: reconcile/plan.c reconcile/base/compat.h \
 reconcile/base/banned.h reconcile/plan.h reconcile/base/diag.h \
 reconcile/diff.h reconcile/base/model.h reconcile/ledger.h \
 reconcile/base/sb.h reconcile/provider.h reconcile/http.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/plan.h:
reconcile/base/diag.h:
reconcile/diff.h:
reconcile/base/model.h:
reconcile/ledger.h:
reconcile/base/sb.h:
reconcile/provider.h:
reconcile/http.h:
reconcile/base/xmem.h:
