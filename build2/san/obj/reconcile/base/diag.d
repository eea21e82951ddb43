build2/san/obj/reconcile/base/diag.o: reconcile/base/diag.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/base/diag.h \
 reconcile/base/sb.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/base/diag.h:
reconcile/base/sb.h:
reconcile/base/xmem.h:
