build2/san/obj/reconcile/base/sb.o: reconcile/base/sb.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/base/sb.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/base/sb.h:
reconcile/base/xmem.h:
