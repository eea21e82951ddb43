build2/san/obj/reconcile/drift.o: reconcile/drift.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/drift.h \
 reconcile/base/diag.h reconcile/diff.h reconcile/base/model.h \
 reconcile/engine.h reconcile/http.h reconcile/ledger.h \
 reconcile/base/sb.h reconcile/plan.h reconcile/provider.h \
 reconcile/shard.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/drift.h:
reconcile/base/diag.h:
reconcile/diff.h:
reconcile/base/model.h:
reconcile/engine.h:
reconcile/http.h:
reconcile/ledger.h:
reconcile/base/sb.h:
reconcile/plan.h:
reconcile/provider.h:
reconcile/shard.h:
reconcile/base/xmem.h:
