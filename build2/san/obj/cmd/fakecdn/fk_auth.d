build2/san/obj/cmd/fakecdn/fk_auth.o: cmd/fakecdn/fk_auth.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/fakecdn/fk_auth.h \
 cmd/fakecdn/fk_http.h cmd/fakecdn/fk_util.h reconcile/base/sb.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/fakecdn/fk_auth.h:
cmd/fakecdn/fk_http.h:
cmd/fakecdn/fk_util.h:
reconcile/base/sb.h:
reconcile/base/xmem.h:
