build2/san/obj/cmd/cacheform/cmd_drift.o: cmd/cacheform/cmd_drift.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/cacheform/cmd.h \
 cmd/cacheform/opt.h reconcile/base/model.h reconcile/base/diag.h \
 cmd/cacheform/cmd_load.h reconcile/engine.h reconcile/http.h \
 reconcile/ledger.h reconcile/base/sb.h reconcile/plan.h reconcile/diff.h \
 reconcile/provider.h schema/check.h reconcile/drift.h reconcile/shard.h \
 reconcile/render.h reconcile/repo_ledger.h reconcile/revdiff.h
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
reconcile/drift.h:
reconcile/shard.h:
reconcile/render.h:
reconcile/repo_ledger.h:
reconcile/revdiff.h:
