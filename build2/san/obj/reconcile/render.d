build2/san/obj/reconcile/render.o: reconcile/render.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/render.h \
 reconcile/plan.h reconcile/base/diag.h reconcile/diff.h \
 reconcile/base/model.h reconcile/ledger.h reconcile/base/sb.h \
 reconcile/provider.h reconcile/http.h reconcile/planfile.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/render.h:
reconcile/plan.h:
reconcile/base/diag.h:
reconcile/diff.h:
reconcile/base/model.h:
reconcile/ledger.h:
reconcile/base/sb.h:
reconcile/provider.h:
reconcile/http.h:
reconcile/planfile.h:
