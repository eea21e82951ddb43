build2/san/obj/reconcile/http.o: reconcile/http.c reconcile/base/compat.h \
 reconcile/base/banned.h reconcile/http.h reconcile/base/diag.h \
 reconcile/redact.h reconcile/base/sb.h reconcile/sign.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/http.h:
reconcile/base/diag.h:
reconcile/redact.h:
reconcile/base/sb.h:
reconcile/sign.h:
reconcile/base/xmem.h:
