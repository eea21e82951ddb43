build2/san/obj/schema/report.o: schema/report.c reconcile/base/compat.h \
 reconcile/base/banned.h schema/report.h reconcile/base/diag.h \
 reconcile/base/sb.h
reconcile/base/compat.h:
reconcile/base/banned.h:
schema/report.h:
reconcile/base/diag.h:
reconcile/base/sb.h:
