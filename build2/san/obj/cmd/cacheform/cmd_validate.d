build2/san/obj/cmd/cacheform/cmd_validate.o: cmd/cacheform/cmd_validate.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/cacheform/cmd.h \
 cmd/cacheform/opt.h reconcile/base/model.h reconcile/base/diag.h \
 cmd/cacheform/cmd_load.h reconcile/engine.h reconcile/http.h \
 reconcile/ledger.h reconcile/base/sb.h reconcile/plan.h reconcile/diff.h \
 reconcile/provider.h schema/check.h schema/report.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/cacheform/cmd.h:
cmd/cacheform/opt.h:
reconcile/base/model.h:
reconcile/base/diag.h:
cmd/cacheform/cmd_load.h:
reconcile/engine.h:
reconcile/http.h:
reconcile/ledger.h:
reconcile/base/sb.h:
reconcile/plan.h:
reconcile/diff.h:
reconcile/provider.h:
schema/check.h:
schema/report.h:
