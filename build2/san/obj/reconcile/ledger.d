build2/san/obj/reconcile/ledger.o: reconcile/ledger.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/ledger.h \
 reconcile/base/diag.h reconcile/base/model.h reconcile/base/sb.h \
 reconcile/planfile.h reconcile/plan.h reconcile/diff.h \
 reconcile/provider.h reconcile/http.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/ledger.h:
reconcile/base/diag.h:
reconcile/base/model.h:
reconcile/base/sb.h:
reconcile/planfile.h:
reconcile/plan.h:
reconcile/diff.h:
reconcile/provider.h:
reconcile/http.h:
reconcile/base/xmem.h:
