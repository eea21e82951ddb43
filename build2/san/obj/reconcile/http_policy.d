build2/san/obj/reconcile/http_policy.o: reconcile/http_policy.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/http.h \
 reconcile/base/diag.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/http.h:
reconcile/base/diag.h:
