build2/san/obj/cmd/cacheform/cmd_load.o: cmd/cacheform/cmd_load.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/cacheform/cmd_load.h \
 reconcile/base/diag.h reconcile/base/model.h reconcile/engine.h \
 reconcile/http.h reconcile/ledger.h reconcile/base/sb.h reconcile/plan.h \
 reconcile/diff.h reconcile/provider.h schema/check.h reconcile/repo.h \
 reconcile/base/source.h schema/load.h schema/report.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/cacheform/cmd_load.h:
reconcile/base/diag.h:
reconcile/base/model.h:
reconcile/engine.h:
reconcile/http.h:
reconcile/ledger.h:
reconcile/base/sb.h:
reconcile/plan.h:
reconcile/diff.h:
reconcile/provider.h:
schema/check.h:
reconcile/repo.h:
reconcile/base/source.h:
schema/load.h:
schema/report.h:
