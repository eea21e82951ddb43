build2/san/obj/reconcile/sign.o: reconcile/sign.c reconcile/base/compat.h \
 reconcile/base/banned.h reconcile/sign.h reconcile/base/sb.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/sign.h:
reconcile/base/sb.h:
reconcile/base/xmem.h:
