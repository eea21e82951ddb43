build2/san/obj/cmd/fakecdn/fk_state.o: cmd/fakecdn/fk_state.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/fakecdn/fk_state.h \
 cmd/fakecdn/fk_http.h reconcile/base/diag.h cmd/fakecdn/fk_util.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/fakecdn/fk_state.h:
cmd/fakecdn/fk_http.h:
reconcile/base/diag.h:
cmd/fakecdn/fk_util.h:
reconcile/base/xmem.h:
