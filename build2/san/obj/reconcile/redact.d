build2/san/obj/reconcile/redact.o: reconcile/redact.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/redact.h \
 reconcile/base/sb.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/redact.h:
reconcile/base/sb.h:
reconcile/base/xmem.h:
