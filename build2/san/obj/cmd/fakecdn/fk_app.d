build2/san/obj/cmd/fakecdn/fk_app.o: cmd/fakecdn/fk_app.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/fakecdn/fk_app.h \
 cmd/fakecdn/fk_http.h cmd/fakecdn/fk_state.h reconcile/base/diag.h \
 cmd/fakecdn/fk_admin.h cmd/fakecdn/fk_arm.h cmd/fakecdn/fk_china.h \
 cmd/fakecdn/fk_pro.h cmd/fakecdn/fk_util.h reconcile/base/sb.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/fakecdn/fk_app.h:
cmd/fakecdn/fk_http.h:
cmd/fakecdn/fk_state.h:
reconcile/base/diag.h:
cmd/fakecdn/fk_admin.h:
cmd/fakecdn/fk_arm.h:
cmd/fakecdn/fk_china.h:
cmd/fakecdn/fk_pro.h:
cmd/fakecdn/fk_util.h:
reconcile/base/sb.h:
reconcile/base/xmem.h:
