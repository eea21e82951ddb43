build2/san/obj/cmd/cacheform/opt.o: cmd/cacheform/opt.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/cacheform/opt.h \
 reconcile/base/model.h reconcile/base/diag.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/cacheform/opt.h:
reconcile/base/model.h:
reconcile/base/diag.h:
