build2/san/obj/schema/check.o: schema/check.c reconcile/base/compat.h \
 reconcile/base/banned.h schema/check.h reconcile/base/diag.h \
 reconcile/base/model.h reconcile/base/xmem.h schema/check_int.h \
 schema/urlcheck.h
reconcile/base/compat.h:
reconcile/base/banned.h:
schema/check.h:
reconcile/base/diag.h:
reconcile/base/model.h:
reconcile/base/xmem.h:
schema/check_int.h:
schema/urlcheck.h:
