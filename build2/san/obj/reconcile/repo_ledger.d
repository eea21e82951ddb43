build2/san/obj/reconcile/repo_ledger.o: reconcile/repo_ledger.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/repo_ledger.h \
 reconcile/base/diag.h reconcile/ledger.h reconcile/base/model.h \
 reconcile/base/sb.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/repo_ledger.h:
reconcile/base/diag.h:
reconcile/ledger.h:
reconcile/base/model.h:
reconcile/base/sb.h:
reconcile/base/xmem.h:
