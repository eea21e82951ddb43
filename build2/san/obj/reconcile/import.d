build2/san/obj/reconcile/import.o: reconcile/import.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/import.h \
 reconcile/base/model.h reconcile/base/diag.h reconcile/provider.h \
 reconcile/http.h reconcile/base/sb.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/import.h:
reconcile/base/model.h:
reconcile/base/diag.h:
reconcile/provider.h:
reconcile/http.h:
reconcile/base/sb.h:
