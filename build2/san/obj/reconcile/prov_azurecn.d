build2/san/obj/reconcile/prov_azurecn.o: reconcile/prov_azurecn.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/codec.h \
 reconcile/base/diag.h reconcile/prov_int.h reconcile/provider.h \
 reconcile/base/model.h reconcile/http.h reconcile/base/sb.h \
 reconcile/sign.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/codec.h:
reconcile/base/diag.h:
reconcile/prov_int.h:
reconcile/provider.h:
reconcile/base/model.h:
reconcile/http.h:
reconcile/base/sb.h:
reconcile/sign.h:
reconcile/base/xmem.h:
