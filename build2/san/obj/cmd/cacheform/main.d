build2/san/obj/cmd/cacheform/main.o: cmd/cacheform/main.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/cacheform/cmd.h \
 cmd/cacheform/opt.h reconcile/base/model.h reconcile/base/diag.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/cacheform/cmd.h:
cmd/cacheform/opt.h:
reconcile/base/model.h:
reconcile/base/diag.h:
