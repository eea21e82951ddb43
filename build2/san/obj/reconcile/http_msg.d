build2/san/obj/reconcile/http_msg.o: reconcile/http_msg.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/http.h \
 reconcile/base/diag.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/http.h:
reconcile/base/diag.h:
reconcile/base/xmem.h:
