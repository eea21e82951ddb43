build2/san/obj/cmd/fakecdn/main.o: cmd/fakecdn/main.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/fakecdn/fk_app.h \
 cmd/fakecdn/fk_http.h cmd/fakecdn/fk_state.h reconcile/base/diag.h \
 cmd/fakecdn/fk_server.h cmd/fakecdn/fk_util.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/fakecdn/fk_app.h:
cmd/fakecdn/fk_http.h:
cmd/fakecdn/fk_state.h:
reconcile/base/diag.h:
cmd/fakecdn/fk_server.h:
cmd/fakecdn/fk_util.h:
reconcile/base/xmem.h:
