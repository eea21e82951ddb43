build2/san/obj/reconcile/prov_token.o: reconcile/prov_token.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/codec.h \
 reconcile/base/diag.h reconcile/prov_int.h reconcile/provider.h \
 reconcile/base/model.h reconcile/http.h reconcile/base/sb.h \
 reconcile/redact.h reconcile/secret.h reconcile/sign.h \
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
reconcile/redact.h:
reconcile/secret.h:
reconcile/sign.h:
reconcile/base/xmem.h:
