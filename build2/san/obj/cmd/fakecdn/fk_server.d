build2/san/obj/cmd/fakecdn/fk_server.o: cmd/fakecdn/fk_server.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/fakecdn/fk_server.h \
 cmd/fakecdn/fk_state.h cmd/fakecdn/fk_http.h reconcile/base/diag.h \
 cmd/fakecdn/fk_app.h reconcile/base/sb.h reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/fakecdn/fk_server.h:
cmd/fakecdn/fk_state.h:
cmd/fakecdn/fk_http.h:
reconcile/base/diag.h:
cmd/fakecdn/fk_app.h:
reconcile/base/sb.h:
reconcile/base/xmem.h:
