build2/san/obj/reconcile/prov_azure.o: reconcile/prov_azure.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/codec.h \
 reconcile/base/diag.h reconcile/prov_int.h reconcile/provider.h \
 reconcile/base/model.h reconcile/http.h reconcile/base/sb.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/codec.h:
reconcile/base/diag.h:
reconcile/prov_int.h:
reconcile/provider.h:
reconcile/base/model.h:
reconcile/http.h:
reconcile/base/sb.h:
reconcile/base/xmem.h:
