build2/san/obj/reconcile/engine.o: reconcile/engine.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/engine.h \
 reconcile/base/diag.h reconcile/http.h reconcile/ledger.h \
 reconcile/base/model.h reconcile/base/sb.h reconcile/plan.h \
 reconcile/diff.h reconcile/provider.h reconcile/repo.h \
 reconcile/base/source.h reconcile/repo_ledger.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/engine.h:
reconcile/base/diag.h:
reconcile/http.h:
reconcile/ledger.h:
reconcile/base/model.h:
reconcile/base/sb.h:
reconcile/plan.h:
reconcile/diff.h:
reconcile/provider.h:
reconcile/repo.h:
reconcile/base/source.h:
reconcile/repo_ledger.h:
reconcile/base/xmem.h:
