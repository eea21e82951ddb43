build2/san/obj/reconcile/apply_purge.o: reconcile/apply_purge.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/apply_int.h \
 reconcile/apply.h reconcile/base/diag.h reconcile/engine.h \
 reconcile/http.h reconcile/ledger.h reconcile/base/model.h \
 reconcile/base/sb.h reconcile/plan.h reconcile/diff.h \
 reconcile/provider.h reconcile/planfile.h reconcile/redact.h \
 reconcile/repo_ledger.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/apply_int.h:
reconcile/apply.h:
reconcile/base/diag.h:
reconcile/engine.h:
reconcile/http.h:
reconcile/ledger.h:
reconcile/base/model.h:
reconcile/base/sb.h:
reconcile/plan.h:
reconcile/diff.h:
reconcile/provider.h:
reconcile/planfile.h:
reconcile/redact.h:
reconcile/repo_ledger.h:
reconcile/base/xmem.h:
