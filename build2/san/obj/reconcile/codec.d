build2/san/obj/reconcile/codec.o: reconcile/codec.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/codec.h \
 reconcile/base/diag.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/codec.h:
reconcile/base/diag.h:
reconcile/base/xmem.h:
