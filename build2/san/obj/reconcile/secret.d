build2/san/obj/reconcile/secret.o: reconcile/secret.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/secret.h \
 reconcile/base/diag.h reconcile/base/model.h reconcile/base/sb.h \
 reconcile/sign.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/secret.h:
reconcile/base/diag.h:
reconcile/base/model.h:
reconcile/base/sb.h:
reconcile/sign.h:
reconcile/base/xmem.h:
