build2/san/obj/cmd/fakecdn/fk_http.o: cmd/fakecdn/fk_http.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/fakecdn/fk_http.h \
 cmd/fakecdn/fk_util.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/fakecdn/fk_http.h:
cmd/fakecdn/fk_util.h:
reconcile/base/xmem.h:
