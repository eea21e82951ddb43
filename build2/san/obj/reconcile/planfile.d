build2/san/obj/reconcile/planfile.o: reconcile/planfile.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/planfile.h \
 reconcile/base/diag.h reconcile/base/model.h reconcile/plan.h \
 reconcile/diff.h reconcile/ledger.h reconcile/base/sb.h \
 reconcile/provider.h reconcile/http.h reconcile/planfile_int.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/planfile.h:
reconcile/base/diag.h:
reconcile/base/model.h:
reconcile/plan.h:
reconcile/diff.h:
reconcile/ledger.h:
reconcile/base/sb.h:
reconcile/provider.h:
reconcile/http.h:
reconcile/planfile_int.h:
reconcile/base/xmem.h:
